/*
 * compose.c - load, interpolate, validate, normalise and merge compose files.
 *
 * The normalised shape (what convert.c may rely on):
 *  services.NAME.environment   map KEY -> string | null   (env_file folded in)
 *  services.NAME.labels, deploy.labels, sysctls, logging.options,
 *  networks.*.labels/driver_opts ...                map KEY -> string
 *  services.NAME.networks      map NAME -> null | {aliases, driver_opts, ...}
 *  services.NAME.ports         list of {target, published, protocol, mode}
 *  services.NAME.secrets, configs  list of {source, target, uid, gid, mode}
 *  services.NAME.volumes       list of {type, source, target, read_only, ...}
 *  services.NAME.command, entrypoint  list of strings
 *  services.NAME.extra_hosts   list of "host:ip"
 *  string-or-list keys (dns, dns_search, env_file, tmpfs)  list of strings
 *  networks/volumes/secrets/configs .NAME.external  {external: bool, name}
 */
#include "compose.h"
#include "compose_merge.h"
#include "envfile.h"
#include "source.h"

#include <sodium.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- scalar helpers ---------------- */

int compose_parse_bool(const char *s, int *out)
{
	static const char *t[] = {"y", "yes", "true", "on"};
	static const char *f[] = {"n", "no", "false", "off"};
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strcasecmp(s, t[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, f[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* docker/go-units RAMInBytes: binary multipliers, optional i and b. */
int compose_parse_bytes(const char *s, long long *out)
{
	const char *p = s;
	char *end;
	if (!isdigit((unsigned char)*p))
		return -1;
	double v = strtod(p, &end);
	p = end;
	if (*p == ' ')
		p++;
	double mul = 1;
	switch (tolower((unsigned char)*p)) {
	case 'k': mul = 1024.0; p++; break;
	case 'm': mul = 1024.0 * 1024; p++; break;
	case 'g': mul = 1024.0 * 1024 * 1024; p++; break;
	case 't': mul = 1024.0 * 1024 * 1024 * 1024; p++; break;
	case 'p': mul = 1024.0 * 1024 * 1024 * 1024 * 1024; p++; break;
	default: break;
	}
	if (mul > 1 && tolower((unsigned char)*p) == 'i')
		p++;
	if (tolower((unsigned char)*p) == 'b')
		p++;
	if (*p || !(v * mul <= 9.2e18)) /* the cast of a larger double is undefined */
		return -1;
	*out = (long long)(v * mul);
	return 0;
}

/* ---------------- schema ---------------- */

enum shape {
	SH_ANY,
	SH_STR,
	SH_INT,
	SH_NUM,
	SH_BOOL,
	SH_UINT,	/* integer >= 0 (the CLI decodes it into an unsigned type) */
	SH_UNUM,	/* number >= 0 */
	SH_STRLIST,	/* list of distinct strings */
	SH_STRSEQ,	/* list of strings */
	SH_STR_OR_LIST, /* string or list of distinct strings */
	SH_STR_OR_SEQ,	/* string or list of strings */
	SH_EXPOSE,	/* list of distinct strings or numbers */
	SH_LIST_OR_DICT, /* list of distinct "k=v" strings or map of string/number/null */
	SH_DICT_STR,	/* map of string/number */
	SH_DICT_STRN,	/* map of string/number/null */
	SH_SIZESTR,	/* string: 512m, 1g, 1048576 */
	SH_OBJ,		/* fixed keys: sub */
	SH_DICT_OBJ,	/* any keys, values SH_OBJ sub (or null when nullok) */
	SH_LIST_OBJ,	/* list of SH_OBJ sub */
	SH_SCALAR_OR_OBJ_LIST, /* list of scalar or SH_OBJ sub */
	SH_PORTS,	/* SH_SCALAR_OR_OBJ_LIST whose items are distinct */
	SH_BOOL_OR_OBJ,
	SH_STR_OR_OBJ,	/* string or SH_OBJ sub */
	SH_SVC_NETWORKS,
	SH_ULIMITS,
	SH_DUR,		/* Go duration string: 10s, 1m30s */
	SH_SIZE,	/* bytes: integer or 512m, 1GiB */
	SH_CONSTRAINTS, /* list of KEY ==|!= VALUE */
	SH_ORDER,	/* "start-first" or "stop-first" (the schema's enum) */
};

struct field {
	const char *name;
	enum shape sh;
	const struct field *sub;
	int nullok;
	int minv;  /* first compose 3.x minor version whose schema has the key */
	int req;   /* the object must have it */
	int names; /* SH_DICT_OBJ: keys must match [a-zA-Z0-9._-]+ (1), or
		      keys that do not are not checked at all (2) */
};

#define F(n, s) {n, s, NULL, 0, 0}
#define FS(n, s, sub) {n, s, sub, 0, 0}
#define END {NULL, SH_ANY, NULL, 0, 0}
/* key known only from version 3.v of the schema */
#define FV(n, s, v) {n, s, NULL, 0, v}
#define FSV(n, s, sub, v) {n, s, sub, 0, v}
#define FREQ(n, s, v) {n, s, NULL, 0, v, 1, 0}
/* Pseudo entries of an object's table: from version 3.v its x- keys are
 * allowed (the schema's patternProperties "^x-"), or any other key is
 * (no additionalProperties: false).  Objects without either refuse
 * every key not in their table, x- keys too. */
#define XKEYS(v) {"x-", SH_ANY, NULL, 0, v}
#define ANYKEY(v) {"*", SH_ANY, NULL, 0, v}

static const struct field f_ext[] = {F("name", SH_STR), END};
/* secrets' and configs' external: no additionalProperties: false */
static const struct field f_ext_open[] = {F("name", SH_STR), ANYKEY(0), END};
static const struct field f_ipam_cfg[] = {F("subnet", SH_STR), END};
static const struct field f_ipam[] = {F("driver", SH_STR), FS("config", SH_LIST_OBJ, f_ipam_cfg), END};
static const struct field f_network[] = {
	FV("name", SH_STR, 5), F("driver", SH_STR), F("driver_opts", SH_DICT_STR),
	FS("ipam", SH_OBJ, f_ipam), FS("external", SH_BOOL_OR_OBJ, f_ext), F("internal", SH_BOOL),
	FV("attachable", SH_BOOL, 2), F("labels", SH_LIST_OR_DICT), XKEYS(7), END};
static const struct field f_volume[] = {
	FV("name", SH_STR, 4), F("driver", SH_STR), F("driver_opts", SH_DICT_STR),
	FS("external", SH_BOOL_OR_OBJ, f_ext), F("labels", SH_LIST_OR_DICT), FV("x-cluster-spec", SH_ANY, 10),
	XKEYS(7), END};
static const struct field f_secret[] = {
	FV("name", SH_STR, 5), F("file", SH_STR), FS("external", SH_BOOL_OR_OBJ, f_ext_open),
	F("labels", SH_LIST_OR_DICT), FV("driver", SH_STR, 8), FV("driver_opts", SH_DICT_STR, 8),
	FV("template_driver", SH_STR, 8), XKEYS(7), END};
static const struct field f_config[] = {
	FV("name", SH_STR, 5), F("file", SH_STR), FS("external", SH_BOOL_OR_OBJ, f_ext_open),
	F("labels", SH_LIST_OR_DICT), FV("template_driver", SH_STR, 8), XKEYS(7), END};

static const struct field f_update[] = {
	F("parallelism", SH_UINT), F("delay", SH_DUR), F("failure_action", SH_STR), F("monitor", SH_DUR),
	F("max_failure_ratio", SH_NUM), FV("order", SH_ORDER, 4), END};
static const struct field f_limits[] = {F("cpus", SH_STR), F("memory", SH_SIZESTR), FV("pids", SH_INT, 9), END};
static const struct field f_discrete[] = {F("kind", SH_STR), F("value", SH_NUM), END};
static const struct field f_generic[] = {FS("discrete_resource_spec", SH_OBJ, f_discrete), END};
static const struct field f_reserv[] = {F("cpus", SH_STR), F("memory", SH_SIZESTR),
					FSV("generic_resources", SH_LIST_OBJ, f_generic, 5), END};
static const struct field f_resources[] = {FS("limits", SH_OBJ, f_limits), FS("reservations", SH_OBJ, f_reserv), END};
static const struct field f_restart[] = {F("condition", SH_STR), F("delay", SH_DUR), F("max_attempts", SH_UINT),
					 F("window", SH_DUR), END};
static const struct field f_pref[] = {F("spread", SH_STR), END};
static const struct field f_placement[] = {F("constraints", SH_CONSTRAINTS), FSV("preferences", SH_LIST_OBJ, f_pref, 3),
					   FV("max_replicas_per_node", SH_UINT, 8), END};
static const struct field f_deploy[] = {
	F("mode", SH_STR), FV("endpoint_mode", SH_STR, 2), F("replicas", SH_UINT), F("labels", SH_LIST_OR_DICT),
	FSV("rollback_config", SH_OBJ, f_update, 7), FS("update_config", SH_OBJ, f_update),
	FS("resources", SH_OBJ, f_resources), FS("restart_policy", SH_OBJ, f_restart),
	FS("placement", SH_OBJ, f_placement), END};
static const struct field f_cred[] = {FV("config", SH_STR, 8), F("file", SH_STR), F("registry", SH_STR), END};
static const struct field f_health[] = {
	F("disable", SH_BOOL), F("interval", SH_DUR), F("retries", SH_UNUM), F("test", SH_STR_OR_SEQ),
	F("timeout", SH_DUR), FV("start_period", SH_DUR, 4), FV("start_interval", SH_DUR, 12), END};
static const struct field f_logging[] = {F("driver", SH_STR), F("options", SH_DICT_STRN), END};
static const struct field f_port[] = {FV("mode", SH_STR, 2), FV("target", SH_UINT, 2), FV("published", SH_UINT, 2),
				      FV("protocol", SH_STR, 2), END};
/* a service's secrets and configs items: no additionalProperties: false */
static const struct field f_fileref[] = {F("source", SH_STR), F("target", SH_STR), F("uid", SH_STR),
					 F("gid", SH_STR), F("mode", SH_UINT), ANYKEY(0), END};
/* bind, volume and tmpfs options take any other key (the CLI reads
 * volume.subpath, which its schema does not list) */
static const struct field f_bind[] = {F("propagation", SH_STR), ANYKEY(0), END};
static const struct field f_volopt[] = {F("nocopy", SH_BOOL), ANYKEY(0), END};
static const struct field f_tmpfsopt[] = {F("size", SH_INT), ANYKEY(0), END};
static const struct field f_svcvol[] = {
	FREQ("type", SH_STR, 2), FV("source", SH_STR, 2), FV("target", SH_STR, 2), FV("read_only", SH_BOOL, 2),
	FV("consistency", SH_STR, 2), FSV("bind", SH_OBJ, f_bind, 2), FSV("volume", SH_OBJ, f_volopt, 2),
	FSV("tmpfs", SH_OBJ, f_tmpfsopt, 6), END};
static const struct field f_ulimit[] = {FREQ("hard", SH_INT, 0), FREQ("soft", SH_INT, 0), END};
static const struct field f_svcnet[] = {F("aliases", SH_STRLIST), F("ipv4_address", SH_STR),
					F("ipv6_address", SH_STR), FV("driver_opts", SH_DICT_STR, 13), END};
/* build is ignored by stack deploy, but its keys are checked: before 3.11
 * only these, each from its version */
static const struct field f_build[] = {
	F("context", SH_STR), F("dockerfile", SH_STR), F("args", SH_LIST_OR_DICT), FV("labels", SH_LIST_OR_DICT, 3),
	FV("cache_from", SH_STRLIST, 2), FV("network", SH_STR, 4), FV("target", SH_STR, 4),
	FV("shm_size", SH_SIZE, 5), FV("extra_hosts", SH_LIST_OR_DICT, 9), ANYKEY(11), END};

static const struct field f_service[] = {
	FS("build", SH_STR_OR_OBJ, f_build), F("cap_add", SH_STRLIST), F("cap_drop", SH_STRLIST), F("cgroup_parent", SH_STR),
	FV("cgroupns_mode", SH_STR, 9), F("command", SH_STR_OR_SEQ), FSV("configs", SH_SCALAR_OR_OBJ_LIST, f_fileref, 3),
	F("container_name", SH_STR), FSV("credential_spec", SH_OBJ, f_cred, 3), F("depends_on", SH_STRLIST),
	{"deploy", SH_OBJ, f_deploy, 1, 0}, F("devices", SH_STRLIST), F("dns", SH_STR_OR_LIST),
	F("dns_search", SH_STR_OR_LIST), F("domainname", SH_STR), F("entrypoint", SH_STR_OR_SEQ),
	F("env_file", SH_STR_OR_LIST), F("environment", SH_LIST_OR_DICT), F("expose", SH_EXPOSE),
	F("external_links", SH_STRLIST), F("extra_hosts", SH_LIST_OR_DICT), FS("healthcheck", SH_OBJ, f_health),
	F("hostname", SH_STR), F("image", SH_STR), FV("init", SH_BOOL, 7), F("ipc", SH_STR), FV("isolation", SH_STR, 5),
	F("labels", SH_LIST_OR_DICT), F("links", SH_STRLIST), FS("logging", SH_OBJ, f_logging),
	F("mac_address", SH_STR), F("network_mode", SH_STR), FS("networks", SH_SVC_NETWORKS, f_svcnet),
	FV("oom_score_adj", SH_INT, 13), {"pid", SH_STR, NULL, 1, 0}, FS("ports", SH_PORTS, f_port),
	F("privileged", SH_BOOL), F("read_only", SH_BOOL), F("restart", SH_STR),
	FSV("secrets", SH_SCALAR_OR_OBJ_LIST, f_fileref, 1), F("security_opt", SH_STRLIST), F("shm_size", SH_SIZE),
	F("stdin_open", SH_BOOL), F("stop_grace_period", SH_DUR), F("stop_signal", SH_STR),
	F("sysctls", SH_LIST_OR_DICT), F("tmpfs", SH_STR_OR_LIST), F("tty", SH_BOOL),
	FS("ulimits", SH_ULIMITS, f_ulimit), F("user", SH_STR), F("userns_mode", SH_STR),
	FS("volumes", SH_SCALAR_OR_OBJ_LIST, f_svcvol), F("working_dir", SH_STR), XKEYS(7), END};

/* Nullable dictionaries are flagged with nullok = 1. */
static const struct field f_top[] = {
	F("version", SH_STR), {"services", SH_DICT_OBJ, f_service, 0, 0, 0, 1},
	{"networks", SH_DICT_OBJ, f_network, 1, 0, 0, 2}, {"volumes", SH_DICT_OBJ, f_volume, 1, 0, 0, 1},
	{"secrets", SH_DICT_OBJ, f_secret, 0, 1, 0, 1}, {"configs", SH_DICT_OBJ, f_config, 0, 3, 0, 1}, XKEYS(4), END};

static const char *forbidden[][2] = {
	{"extends", "Support for `extends` is not implemented yet."},
	{"volume_driver", "Instead of setting the volume driver on the service, define a volume using the top-level `volumes` option and specify the driver there."},
	{"volumes_from", "To share a volume between services, define it using the top-level `volumes` option and reference it from each service that shares it using the service-level `volumes` option."},
	{"cpu_quota", "Set resource limits using deploy.resources"},
	{"cpu_shares", "Set resource limits using deploy.resources"},
	{"cpuset", "Set resource limits using deploy.resources"},
	{"mem_limit", "Set resource limits using deploy.resources"},
	{"memswap_limit", "Set resource limits using deploy.resources"},
};

/* sorted: docker prints them in this order */
static const char *unsupported[] = {
	"build", "cgroup_parent", "cgroupns_mode", "devices", "domainname", "external_links", "ipc", "links",
	"mac_address", "network_mode", "pid", "privileged", "restart", "security_opt", "shm_size", "userns_mode",
};

static const char *deprecated[][2] = {
	{"container_name", "Setting the container name is not supported."},
	{"expose", "Exposing ports is unnecessary - services on the same network can access each other's containers on any port."},
};

/*
 * Nodes found wrong by the schema or by interpolation.  They are cut from
 * the tree before it is normalised, and the rest goes on through the
 * checks that follow (undefined networks, the engine's rules ...), so a
 * run reports every error of every file, not the first kind found.
 */
struct badset {
	const struct ynode **v;
	size_t n, alloc;
	int sorted;
};

static void bad_add(struct badset *b, const struct ynode *n)
{
	if (!b || !n)
		return;
	if (b->n == b->alloc) {
		b->alloc = b->alloc ? 2 * b->alloc : 16;
		b->v = xrealloc(b->v, b->alloc * sizeof *b->v);
	}
	b->v[b->n++] = n;
	b->sorted = 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const struct ynode *const *)a, y = (uintptr_t) * (const struct ynode *const *)b;
	return (x > y) - (x < y);
}

static int bad_has(const struct badset *b, const struct ynode *n)
{
	return b->n && bsearch(&n, b->v, b->n, sizeof *b->v, cmp_ptr) != NULL;
}

/*
 * Drop every map entry (by key or value) and list item that is in b.  A
 * few holes would only bring more errors that are not the file's: a
 * service's image stands in as "stand-in", a network or volume definition as
 * {}, a secret or config definition (or its file) makes it external.
 * depth and sec say where n is: 0 the root, 1 a section (sec: its name),
 * 2 a service or a definition.
 */
static void prune(struct ynode *n, const struct badset *b, int depth, const char *sec)
{
	size_t k = 0;
	int objsec = depth >= 1 && (!strcmp(sec, "networks") || !strcmp(sec, "volumes") || !strcmp(sec, "secrets") ||
				    !strcmp(sec, "configs"));
	int filesec = objsec && (!strcmp(sec, "secrets") || !strcmp(sec, "configs"));
	int make_external = 0;
	for (size_t i = 0; i < n->n; i++) {
		int isbad = bad_has(b, n->v[i]) || (n->kind == Y_MAP && bad_has(b, n->k[i]));
		if (isbad && n->kind == Y_MAP && !bad_has(b, n->k[i])) {
			const char *key = ynode_str(n->k[i]);
			struct ynode *stand_in = NULL;
			if (depth == 2 && !strcmp(sec, "services") && !strcmp(key, "image"))
				stand_in = ynode_new_str("stand-in", n->v[i]);
			else if (depth == 1 && objsec)
				stand_in = ynode_new(Y_MAP, n->v[i]->file, n->v[i]->line, n->v[i]->col);
			else if (depth == 2 && filesec)
				make_external = 1;
			if (stand_in) {
				if (depth == 1 && filesec) {
					struct ynode *t = ynode_new_str("true", n->v[i]);
					t->stype = YS_BOOL;
					ynode_set(stand_in, "external", t, n->v[i]);
				}
				ynode_free(n->v[i]);
				n->v[i] = stand_in;
				isbad = 0;
			}
		}
		if (isbad) {
			ynode_free(n->v[i]);
			if (n->kind == Y_MAP)
				ynode_free(n->k[i]);
			continue;
		}
		prune(n->v[i], b, depth + 1, depth == 0 && n->kind == Y_MAP ? ynode_str(n->k[i]) : sec);
		n->v[k] = n->v[i];
		if (n->kind == Y_MAP)
			n->k[k] = n->k[i];
		k++;
	}
	n->n = k;
	if (make_external && n->kind == Y_MAP) {
		struct ynode *t = ynode_new_str("true", n);
		t->stype = YS_BOOL;
		ynode_set(n, "external", t, n);
		ynode_del(n, "file");
		ynode_del(n, "driver");
	}
}

static void prune_bad(struct ynode *root, struct badset *b)
{
	if (!b->n)
		return;
	qsort(b->v, b->n, sizeof *b->v, cmp_ptr);
	prune(root, b, 0, "");
	b->n = 0;
}

struct vctx {
	struct diags *d;
	int minor;	  /* the file's version: 3.minor */
	const char *version;
	struct badset *bad;
};

static void verr(struct vctx *v, const struct ynode *at, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void verr(struct vctx *v, const struct ynode *at, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	diags_add(v->d, DIAG_ERROR, at ? at->file : NULL, at ? at->line : 0, at ? at->col : 0, "%s%s%s",
		  path, *path ? " " : "", m);
	free(m);
	bad_add(v->bad, at);
}

/* The CLI reads a file into Go maps and hands them to its JSON schema
 * check: a mapping with a key that is not a string (1:, true:, 1.5:)
 * cannot be marshalled ("json: unsupported type: map[interface {}]
 * interface {}") and the file is refused, wherever the mapping is. */
static void check_keys(struct vctx *v, const struct ynode *n, const char *path)
{
	if (n->kind != Y_MAP && n->kind != Y_SEQ)
		return;
	for (size_t i = 0; i < n->n; i++) {
		char *p = n->kind == Y_MAP ? path_join(path, n->k[i]->s) : path_join_index(path, i);
		if (n->kind == Y_MAP && n->k[i]->kind == Y_SCALAR && n->k[i]->stype != YS_STR)
			diags_add(v->d, DIAG_ERROR, n->k[i]->file, n->k[i]->line, n->k[i]->col,
				  "%s: key %s is not a string (%s): docker reads only string keys (quote it)", p, n->k[i]->s,
				  ynode_kind_name(n->k[i]));
		check_keys(v, n->v[i], p);
		free(p);
	}
}

static int is_scalar(const struct ynode *n)
{
	return n && n->kind == Y_SCALAR;
}

/* flags: 1 the value may be null; SH_DICT_OBJ keys: 2 must be names
 * ([a-zA-Z0-9._-]+), 4 are not checked unless they are names */
static void check(struct vctx *v, const struct ynode *n, enum shape sh, const struct field *sub, int flags,
		  const char *path);

/* A placement constraint as swarmkit parses it: KEY (==|!=) VALUE.  A key
 * no node has is accepted by the engine but never matches: a warning. */
static void check_constraint(struct vctx *v, const struct ynode *n, const char *path)
{
	const char *s = n->s;
	const char *op = strstr(s, "==");
	if (!op)
		op = strstr(s, "!=");
	if (!op) {
		verr(v, n, path, "invalid constraint \"%s\": expected KEY == VALUE or KEY != VALUE", s);
		return;
	}
	char *key = xstrndup(s, (size_t)(op - s));
	size_t kl = strlen(key);
	while (kl && isspace((unsigned char)key[kl - 1]))
		key[--kl] = 0;
	const char *k = key, *val = op + 2;
	while (isspace((unsigned char)*k))
		k++;
	while (isspace((unsigned char)*val))
		val++;
	static const char *known[] = {"node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch"};
	int ok_key = str_has_prefix(k, "node.labels.") || str_has_prefix(k, "engine.labels.");
	for (size_t i = 0; i < ARRAY_SIZE(known); i++)
		ok_key |= !strcmp(k, known[i]);
	if (!*k || !*val)
		verr(v, n, path, "invalid constraint \"%s\": expected KEY == VALUE or KEY != VALUE", s);
	else if (!strcmp(k, "node.role") && strcmp(val, "manager") && strcmp(val, "worker"))
		verr(v, n, path, "invalid constraint \"%s\": node.role is manager or worker", s);
	else if (!ok_key)
		diags_add(v->d, DIAG_WARN, n->file, n->line, n->col,
			  "%s: constraint \"%s\": unknown key %s: no node can match (node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.*, engine.labels.*)",
			  path, s, k);
	free(key);
}

/* The table's pseudo entry name ("x-" or "*"), if the file's version has it. */
static int allows(const struct vctx *v, const struct field *tab, const char *pseudo)
{
	for (const struct field *f = tab; f->name; f++)
		if (!strcmp(f->name, pseudo))
			return f->minv <= v->minor;
	return 0;
}

static void check_obj(struct vctx *v, const struct ynode *n, const struct field *tab, const char *path)
{
	if (n->kind != Y_MAP) {
		verr(v, n, path, "must be a mapping, got %s", ynode_kind_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *key = ynode_str(n->k[i]);
		const struct field *f = tab;
		while (f->name && (strcmp(f->name, key) != 0 || !strcmp(key, "x-") || !strcmp(key, "*")))
			f++;
		int loose = (str_has_prefix(key, "x-") && allows(v, tab, "x-")) || allows(v, tab, "*");
		if (!f->name || (f->minv > v->minor && loose)) {
			if (!loose)
				verr(v, n->k[i], path, "additional property %s is not allowed", key);
			continue;
		}
		if (f->minv > v->minor) {
			verr(v, n->k[i], path, "additional property %s is not allowed (it needs version \"3.%d\" or later, the file says \"%s\")",
			     key, f->minv, v->version);
			continue;
		}
		char *p = path_join(path, key);
		check(v, n->v[i], f->sh, f->sub, f->nullok | f->names << 1, p);
		free(p);
	}
	for (const struct field *f = tab; f->name; f++)
		if (f->req && f->minv <= v->minor && !ynode_key(n, f->name))
			verr(v, n, path, "%s is required", f->name);
}

/* Like docker, a string stands for a number or a boolean only when it came
 * from interpolation (docker casts substituted values, not literals). */
static int scalar_is_int(const struct ynode *n)
{
	long long x;
	if (n->stype == YS_FLOAT) { /* the schema's "integer" takes 2.0 */
		double d = strtod(n->s, NULL);
		return isfinite(d) && d == floor(d);
	}
	return n->stype == YS_INT || (n->stype == YS_STR && n->interpolated && compose_parse_int(n->s, &x) == 0);
}

static int scalar_is_num(const struct ynode *n)
{
	if (n->stype == YS_INT || n->stype == YS_FLOAT)
		return 1;
	char *end;
	if (n->stype != YS_STR || !n->interpolated || !*n->s)
		return 0;
	strtod(n->s, &end);
	return *end == 0;
}

/* A node as the schema's uniqueItems compares it: strings by text, numbers
 * by value, mappings whatever their key order. */
static void canon(struct buf *b, const struct ynode *n)
{
	switch (n->kind) {
	case Y_NULL:
		buf_adds(b, "~");
		return;
	case Y_SCALAR:
		/* integers by their (decimal) text, exact at any size; a float
		 * equal to an integer as that integer (JSON: 80.0 is 80) */
		if (n->stype == YS_INT)
			buf_addf(b, "n%s;", n->s);
		else if (n->stype == YS_FLOAT && fabs(strtod(n->s, NULL)) < 0x1p53 &&
			 strtod(n->s, NULL) == floor(strtod(n->s, NULL)))
			buf_addf(b, "n%.0f;", strtod(n->s, NULL));
		else if (n->stype == YS_FLOAT)
			buf_addf(b, "n%.17g;", strtod(n->s, NULL));
		else
			buf_addf(b, "%c%zu:%s", n->stype == YS_BOOL ? 'b' : 's', strlen(n->s), n->s);
		return;
	case Y_SEQ:
		buf_adds(b, "[");
		for (size_t i = 0; i < n->n; i++)
			canon(b, n->v[i]);
		buf_adds(b, "]");
		return;
	case Y_MAP: {
		struct strv kv = {0};
		for (size_t i = 0; i < n->n; i++) {
			struct buf e;
			buf_init(&e, 0);
			buf_addf(&e, "%zu:%s=", strlen(ynode_str(n->k[i])), ynode_str(n->k[i]));
			canon(&e, n->v[i]);
			strv_push(&kv, buf_detach(&e));
		}
		strv_sort(&kv);
		buf_adds(b, "{");
		for (size_t i = 0; i < kv.n; i++)
			buf_adds(b, kv.v[i]);
		buf_adds(b, "}");
		strv_free(&kv);
		return;
	}
	}
}

struct item_key {
	char *key;
	size_t idx;
};

static int cmp_item_key(const void *a, const void *b)
{
	const struct item_key *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* uniqueItems: each item equal to an earlier one is an error at its own
 * position (sorted, not pairwise: a list may hold 100,000 items). */
static void check_unique(struct vctx *v, const struct ynode *n, const char *path)
{
	if (n->kind != Y_SEQ || n->n < 2)
		return;
	struct item_key *ks = xcalloc(n->n, sizeof *ks);
	for (size_t i = 0; i < n->n; i++) {
		struct buf b;
		buf_init(&b, 0); /* no cap: a capped buffer drops what passes it */
		canon(&b, n->v[i]);
		ks[i].key = buf_detach(&b);
		ks[i].idx = i;
	}
	qsort(ks, n->n, sizeof *ks, cmp_item_key);
	for (size_t i = 1, first = 0; i < n->n; i++) {
		if (strcmp(ks[i].key, ks[first].key) != 0) {
			first = i;
			continue;
		}
		char *p = path_join_index(path, ks[i].idx);
		verr(v, n->v[ks[i].idx], p, "is the same as item %zu: items must be unique", ks[first].idx);
		free(p);
	}
	for (size_t i = 0; i < n->n; i++)
		free(ks[i].key);
	free(ks);
}

/* The list's items must be scalars of the given kinds (strings, or strings
 * and numbers). */
static void check_items(struct vctx *v, const struct ynode *n, int numbers_too, const char *path)
{
	for (size_t i = 0; i < n->n; i++) {
		const struct ynode *it = n->v[i];
		if (is_scalar(it) && (it->stype == YS_STR || (numbers_too && (it->stype == YS_INT || it->stype == YS_FLOAT))))
			continue;
		char *p = path_join_index(path, i);
		verr(v, it, p, "must be a string%s, got %s", numbers_too ? " or number" : "", ynode_kind_name(it));
		free(p);
	}
}

static int scalar_is_nonneg(const struct ynode *n)
{
	const char *s = n->s;
	while (isspace((unsigned char)*s))
		s++;
	return *s != '-';
}

/* The schema's pattern for service, network, volume, secret and config
 * names. */
static int is_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return 0;
	return 1;
}

static void check(struct vctx *v, const struct ynode *n, enum shape sh, const struct field *sub, int flags,
		  const char *path)
{
	char *p;
	int nullok = flags & 1;
	if (n->kind == Y_NULL) {
		/* null is fine for nullable shapes and maps of null */
		if (nullok || sh == SH_ANY || sh == SH_LIST_OR_DICT)
			return;
		verr(v, n, path, "must not be null");
		return;
	}
	switch (sh) {
	case SH_ANY:
		return;
	case SH_STR:
		if (!is_scalar(n) || n->stype != YS_STR)
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		return;
	case SH_INT:
		if (!is_scalar(n) || !scalar_is_int(n))
			verr(v, n, path, "must be an integer, got %s", ynode_kind_name(n));
		return;
	case SH_NUM:
		if (!is_scalar(n) || !scalar_is_num(n))
			verr(v, n, path, "must be a number, got %s", ynode_kind_name(n));
		return;
	case SH_UINT:
	case SH_UNUM:
		if (!is_scalar(n) || !(sh == SH_UINT ? scalar_is_int(n) : scalar_is_num(n)))
			verr(v, n, path, "must be %s, got %s", sh == SH_UINT ? "an integer" : "a number", ynode_kind_name(n));
		else if (!scalar_is_nonneg(n))
			verr(v, n, path, "must not be negative, got %s", n->s);
		return;
	case SH_BOOL: {
		int b;
		if (!is_scalar(n) || (n->stype != YS_BOOL && (!n->interpolated || compose_parse_bool(n->s, &b) < 0)))
			verr(v, n, path, "must be a boolean, got %s", ynode_kind_name(n));
		return;
	}
	case SH_STR_OR_LIST:
	case SH_STR_OR_SEQ:
		if (is_scalar(n)) {
			if (n->stype != YS_STR)
				verr(v, n, path, "must be a string or a list of strings, got %s", ynode_kind_name(n));
			return;
		}
		/* fallthrough */
	case SH_STRLIST:
	case SH_STRSEQ:
	case SH_EXPOSE:
		if (n->kind != Y_SEQ) {
			verr(v, n, path, "must be a list, got %s", ynode_kind_name(n));
			return;
		}
		check_items(v, n, sh == SH_EXPOSE, path);
		if (sh != SH_STR_OR_SEQ && sh != SH_STRSEQ)
			check_unique(v, n, path);
		return;
	case SH_LIST_OR_DICT:
		if (n->kind == Y_SEQ) {
			check_items(v, n, 0, path);
			check_unique(v, n, path);
			return;
		}
		/* fallthrough */
	case SH_DICT_STR:
	case SH_DICT_STRN:
		if (n->kind != Y_MAP) {
			verr(v, n, path, "must be a mapping%s, got %s", sh == SH_LIST_OR_DICT ? " or a list" : "",
			     ynode_kind_name(n));
			return;
		}
		for (size_t i = 0; i < n->n; i++) {
			const struct ynode *x = n->v[i];
			int nul = sh != SH_DICT_STR;
			if ((x->kind == Y_NULL && nul) || (is_scalar(x) && x->stype != YS_BOOL))
				continue;
			p = path_join(path, ynode_str(n->k[i]));
			verr(v, x, p, "must be a string%s, got %s", nul ? ", number or null" : " or number",
			     ynode_kind_name(x));
			free(p);
		}
		return;
	case SH_OBJ:
		check_obj(v, n, sub, path);
		return;
	case SH_DICT_OBJ:
		if (n->kind != Y_MAP) {
			verr(v, n, path, "must be a mapping, got %s", ynode_kind_name(n));
			return;
		}
		for (size_t i = 0; i < n->n; i++) {
			const char *key = ynode_str(n->k[i]);
			if (!is_name(key) && (flags & 2)) {
				verr(v, n->k[i], path, "additional property %s is not allowed", key);
				continue;
			}
			if (!is_name(key) && (flags & 4))
				continue;
			p = path_join(path, key);
			if (n->v[i]->kind == Y_NULL) {
				if (!nullok)
					verr(v, n->v[i], p, "must be a mapping, got null");
			} else {
				check_obj(v, n->v[i], sub, p);
			}
			free(p);
		}
		return;
	case SH_LIST_OBJ:
	case SH_SCALAR_OR_OBJ_LIST:
	case SH_PORTS:
		if (n->kind != Y_SEQ) {
			verr(v, n, path, "must be a list, got %s", ynode_kind_name(n));
			return;
		}
		for (size_t i = 0; i < n->n; i++) {
			p = path_join_index(path, i);
			if (sh != SH_LIST_OBJ && is_scalar(n->v[i]))
				;
			else if ((sub == f_port || sub == f_svcvol) && v->minor < 2) /* long syntax: 3.2 */
				verr(v, n->v[i], p, "must be a %s, got %s", sub == f_port ? "string or number" : "string",
				     ynode_kind_name(n->v[i]));
			else
				check_obj(v, n->v[i], sub, p);
			free(p);
		}
		if (sh == SH_PORTS)
			check_unique(v, n, path);
		return;
	case SH_BOOL_OR_OBJ:
		if (n->kind == Y_MAP)
			check_obj(v, n, sub, path);
		else
			check(v, n, SH_BOOL, NULL, 0, path);
		return;
	case SH_STR_OR_OBJ:
		if (n->kind == Y_MAP)
			check_obj(v, n, sub, path);
		else
			check(v, n, SH_STR, NULL, 0, path);
		return;
	case SH_SVC_NETWORKS:
		if (n->kind == Y_SEQ) {
			check(v, n, SH_STRLIST, NULL, 0, path);
			return;
		}
		check(v, n, SH_DICT_OBJ, sub, 1 | 2, path);
		return;
	case SH_ORDER:
		if (!is_scalar(n) || n->stype != YS_STR)
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (strcmp(n->s, "start-first") && strcmp(n->s, "stop-first"))
			verr(v, n, path, "must be one of the following: \"start-first\", \"stop-first\"");
		return;
	case SH_DUR: {
		long long ns;
		if (!is_scalar(n) || n->stype != YS_STR)
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (compose_parse_duration(n->s, &ns) < 0)
			verr(v, n, path, "invalid duration \"%s\" (like 10s, 1m30s, 500ms)", n->s);
		return;
	}
	case SH_SIZE:
	case SH_SIZESTR: {
		long long b;
		if (sh == SH_SIZESTR && (!is_scalar(n) || n->stype != YS_STR))
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (!is_scalar(n) || n->stype == YS_BOOL || n->stype == YS_FLOAT)
			verr(v, n, path, "must be a size, got %s", ynode_kind_name(n));
		else if (n->stype == YS_STR && compose_parse_bytes(n->s, &b) < 0)
			verr(v, n, path, "invalid size \"%s\" (like 512m, 1g, 1048576)", n->s);
		return;
	}
	case SH_CONSTRAINTS:
		check(v, n, SH_STRSEQ, NULL, 0, path);
		for (size_t i = 0; n->kind == Y_SEQ && i < n->n; i++)
			if (is_scalar(n->v[i]))
				check_constraint(v, n->v[i], path);
		return;
	case SH_ULIMITS:
		if (n->kind != Y_MAP) {
			verr(v, n, path, "must be a mapping, got %s", ynode_kind_name(n));
			return;
		}
		for (size_t i = 0; i < n->n; i++) {
			const char *k = ynode_str(n->k[i]);
			if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyz") != strlen(k))
				continue; /* the schema checks ^[a-z]+$ keys only */
			p = path_join(path, k);
			if (is_scalar(n->v[i]))
				check(v, n->v[i], SH_INT, NULL, 0, p);
			else
				check_obj(v, n->v[i], sub, p);
			free(p);
		}
		return;
	}
}

static char *scalar_text(const struct ynode *n);

/* A YAML value as Go's fmt "%v" prints what yaml.v3 decoded it to. */
static void go_sprint(struct buf *b, const struct ynode *n)
{
	if (n->kind == Y_NULL) {
		buf_adds(b, "<nil>");
	} else if (n->kind == Y_SCALAR) {
		char *t = scalar_text(n);
		buf_adds(b, t);
		free(t);
	} else if (n->kind == Y_SEQ) {
		buf_addc(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i)
				buf_addc(b, ' ');
			go_sprint(b, n->v[i]);
		}
		buf_addc(b, ']');
	} else {
		struct strv kv = {0}; /* fmt prints a map's keys sorted */
		for (size_t i = 0; i < n->n; i++) {
			struct buf e;
			buf_init(&e, 0);
			buf_addf(&e, "%s:", ynode_str(n->k[i]));
			go_sprint(&e, n->v[i]);
			strv_push(&kv, buf_detach(&e));
		}
		strv_sort(&kv);
		buf_adds(b, "map[");
		for (size_t i = 0; i < kv.n; i++)
			buf_addf(b, "%s%s", i ? " " : "", kv.v[i]);
		buf_addc(b, ']');
		strv_free(&kv);
	}
}

/*
 * The schema version docker CLI 28 reads a file with (its schema.Version):
 * the version as written, before interpolation, printed with %v; no
 * version, "" and "3" are the latest, 3.13.  A number is printed too (3.10
 * is 3.1, 3.0 is 3) and then refused by the schema: version is a string.
 */
static char *file_version(const struct ynode *root)
{
	if (!ynode_key(root, "version"))
		return xstrdup("3.13");
	struct buf b;
	buf_init(&b, 0);
	go_sprint(&b, ynode_get(root, "version"));
	if (!strcmp(b.data, "") || !strcmp(b.data, "3")) {
		buf_free(&b);
		return xstrdup("3.13");
	}
	return buf_detach(&b);
}

/* A schema the CLI has: exactly "3.0" to "3.13" ("3.01", "3.8.0": none). */
static int schema_minor(const char *v, int *minor)
{
	for (int m = 0; m <= 13; m++) {
		char tmp[16];
		snprintf(tmp, sizeof tmp, "3.%d", m);
		if (!strcmp(v, tmp)) {
			*minor = m;
			return 0;
		}
	}
	return -1;
}

/* ---------------- interpolation ---------------- */

struct ictx {
	const struct compose_opts *o;
	struct diags *d;
	struct badset *bad;
};

/* Where a node sits, as far as sealed values care: they go in
 * services.NAME.environment values (map form) or items (list form) only. */
enum where { W_ROOT, W_SERVICES, W_SERVICE, W_ENV, W_ENV_VALUE, W_ENV_ITEM, W_OTHER };

static enum where child_where(enum where w, const struct ynode *parent, size_t i)
{
	int map = parent->kind == Y_MAP;
	switch (w) {
	case W_ROOT: return map && !strcmp(ynode_str(parent->k[i]), "services") ? W_SERVICES : W_OTHER;
	case W_SERVICES: return map ? W_SERVICE : W_OTHER;
	case W_SERVICE: return map && !strcmp(ynode_str(parent->k[i]), "environment") ? W_ENV : W_OTHER;
	case W_ENV: return map ? W_ENV_VALUE : W_ENV_ITEM;
	default: return W_OTHER;
	}
}

/* Stands for every sealed value: what a value is made of around them. */
static const char *sealed_stand_in(void *ctx, const char *path, char **err)
{
	(void)ctx;
	(void)path;
	(void)err;
	return "\x01";
}

/*
 * What the engine must never do with a sealed value, refused before it is
 * opened or used: take it for a variable's name (an item "${sealed:F}" or
 * "=${sealed:F}": the node refuses the task quoting it), or expand it as a
 * template: a value with a sealed value and template actions ({{ }}) of its
 * own is refused; in any other, every {{ is sent so that the engine prints
 * it as it is (convert.c), so a plaintext holding {{ reaches the container
 * unchanged.  Messages quote the file's text, never a plaintext.
 */
static int sealed_misuse(struct ictx *c, const struct ynode *n, const char *path, enum where w)
{
	const char *raw = n->s;
	if (w == W_ENV_ITEM) {
		const char *eq = strchr(raw, '='), *dollar = strchr(raw, '$');
		if (!eq || eq == raw || (dollar && dollar < eq)) {
			diags_add(c->d, DIAG_ERROR, n->file, n->line, n->col,
				  "%s: an item holding ${sealed:...} must start with the variable's name, written out: NAME=...",
				  path);
			return 1;
		}
	}
	char *skel = NULL, *err = NULL;
	if (interp_string_ex(raw, c->o->lookup, sealed_stand_in, c->o->lookup_ctx, &skel, &err, NULL) < 0) {
		free(err);
		return 0; /* said when the value itself is interpolated */
	}
	const char *val = w == W_ENV_ITEM ? strchr(skel, '=') + 1 : skel;
	int bad = strstr(val, "{{") != NULL;
	if (bad)
		diags_add(c->d, DIAG_ERROR, n->file, n->line, n->col,
			  "%s: a value holding ${sealed:...} cannot use templates ({{ }}): the engine would expand the sealed value as one",
			  path);
	free(skel);
	return bad;
}

/* path: the node's dotted path, grown and cut back in place (formatting a
 * new string per node was a fifth of a large plan's time) */
static void interpolate_at(struct ictx *c, struct ynode *n, struct buf *pb, enum where w)
{
	const char *path = pb->data;
	if (n->kind == Y_SCALAR && n->stype == YS_STR && strchr(n->s, '$')) {
		char *out, *err;
		int used = 0;
		int env = w == W_ENV_VALUE || w == W_ENV_ITEM;
		if (c->o->sealed && strstr(n->s, "${sealed:")) {
			/* refuse before opening anything */
			if (!env) {
				diags_add(c->d, DIAG_ERROR, n->file, n->line, n->col,
					  "%s: ${sealed:...} may only be used in environment values", path);
				bad_add(c->bad, n);
				return;
			}
			if (sealed_misuse(c, n, path, w)) {
				bad_add(c->bad, n);
				return;
			}
		}
		struct strv unset = {0};
		struct interp_opts io = {c->o->lookup, env ? c->o->sealed : NULL, c->o->lookup_ctx, &used, &unset};
		if (interp_expand(n->s, &io, &out, &err) < 0) {
			diags_add(c->d, DIAG_ERROR, n->file, n->line, n->col, "%s: %s", path, err);
			free(err);
			strv_free(&unset);
			bad_add(c->bad, n);
			return;
		}
		/* docker compose's warning; docker stack deploy (CLI 28) says
		 * nothing, and an empty value is rarely what was meant */
		for (size_t i = 0; i < unset.n; i++)
			diags_add(c->d, DIAG_WARN, n->file, n->line, n->col,
				  "The \"%s\" variable is not set. Defaulting to a blank string.", unset.v[i]);
		strv_free(&unset);
		n->interpolated = strcmp(n->s, out) != 0;
		n->sealed = used;
		free(n->s);
		n->s = out;
		return;
	}
	size_t len = pb->len;
	for (size_t i = 0; i < n->n; i++) {
		if (len)
			buf_addc(pb, '.');
		if (n->kind == Y_MAP)
			buf_adds(pb, ynode_str(n->k[i]));
		else
			buf_addf(pb, "%zu", i);
		interpolate_at(c, n->v[i], pb, child_where(w, n, i));
		pb->len = len; /* back to this node's path */
		pb->data[len] = 0;
	}
}

static void interpolate(struct ictx *c, struct ynode *n)
{
	struct buf pb;
	buf_init(&pb, 0);
	interpolate_at(c, n, &pb, W_ROOT);
	buf_free(&pb);
}

/* ---------------- file access ---------------- */

int compose_read_rel_shown(const struct compose_opts *o, const char *path, const struct ynode *pos,
			   struct diags *d, char **data, size_t *len, char **shown)
{
	if (o->src) {
		char *norm = source_join(o->workdir ? o->workdir : "", path);
		char *err = NULL;
		if (!norm) {
			diags_add(d, DIAG_ERROR, pos->file, pos->line, pos->col, "%s: %s", path,
				  path[0] == '/' ? "absolute paths are not allowed in a repository" :
						   "path leaves the repository");
			return -1;
		}
		int r = source_read(o->src, norm, COMPOSE_MAX_FILE, data, len, &err);
		if (r < 0)
			diags_add(d, DIAG_ERROR, pos->file, pos->line, pos->col, "%s: %s", path, err);
		else if (shown)
			*shown = xasprintf("%s%s", source_prefix(o->src), norm);
		free(err);
		free(norm);
		return r;
	}
	char *full = path[0] == '/' || !o->workdir ? xstrdup(path) : xasprintf("%s/%s", o->workdir, path);
	int r = read_file(full, COMPOSE_MAX_FILE, data, len);
	if (r < 0)
		diags_add(d, DIAG_ERROR, pos->file, pos->line, pos->col, "%s: %s", path,
			  errno == EFBIG ? "file too large" : strerror(errno));
	if (r == 0 && shown) {
		*shown = full;
		full = NULL;
	}
	free(full);
	return r;
}

int compose_read_rel(const struct compose_opts *o, const char *path, const struct ynode *pos,
		     struct diags *d, char **data, size_t *len)
{
	return compose_read_rel_shown(o, path, pos, d, data, len, NULL);
}

/* ---------------- normalisation ---------------- */

struct nctx {
	const struct compose_opts *o;
	struct diags *d;
};

static void nerr(struct nctx *c, const struct ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void nerr(struct nctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_ERROR, at->file, at->line, at->col, "%s", m);
	free(m);
}

static void nwarn(struct nctx *c, const struct ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void nwarn(struct nctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_WARN, at->file, at->line, at->col, "%s", m);
	free(m);
}

/* A string form of a scalar the way Go's fmt.Sprint prints YAML values. */
static char *scalar_text(const struct ynode *n)
{
	if (n->kind == Y_NULL)
		return xstrdup("");
	if (n->stype == YS_BOOL)
		return xstrdup(strcasecmp(n->s, "true") == 0 ? "true" : "false");
	if (n->stype == YS_INT) {
		long long v;
		if (compose_parse_int(n->s, &v) == 0)
			return xasprintf("%lld", v);
	}
	if (n->stype == YS_FLOAT) {
		char *end;
		double d = strtod(n->s, &end);
		if (!*end && isfinite(d)) {
			/* Go's %v of a float64: the shortest digits that read
			 * back the same, in exponent form when the exponent is
			 * below -4 or 6 and above (1234567.0 -> 1.234567e+06) */
			char tmp[64];
			int prec = 1;
			for (; prec < 17; prec++) {
				snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
				if (strtod(tmp, NULL) == d)
					break;
			}
			snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
			int exp10 = atoi(strchr(tmp, 'e') + 1);
			if (exp10 >= -4 && exp10 < 6)
				snprintf(tmp, sizeof tmp, "%.*f", prec - 1 - exp10 > 0 ? prec - 1 - exp10 : 0, d);
			return xstrdup(tmp);
		}
	}
	return xstrdup(n->s);
}

static struct ynode *str_node(const char *s, const struct ynode *pos)
{
	return ynode_new_str(s, pos);
}

/* Turn every scalar value of a map into its string form. */
static void stringify_map(struct ynode *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct ynode *v = m->v[i];
		if (v->kind == Y_SCALAR && v->stype != YS_STR) {
			char *t = scalar_text(v);
			free(v->s);
			v->s = t;
			v->stype = YS_STR;
		}
	}
}

/* list-or-dict -> map.  sep splits list items; allow_nil keeps keys without
 * a separator as null values (environment), otherwise they become "". */
static struct ynode *list_or_dict(struct ynode *n, char sep, int allow_nil)
{
	if (n->kind == Y_MAP) {
		struct ynode *m = ynode_clone(n);
		for (size_t i = 0; i < m->n; i++)
			if (m->v[i]->kind == Y_NULL && !allow_nil) {
				ynode_free(m->v[i]);
				m->v[i] = str_node("", m->k[i]);
			}
		stringify_map(m);
		return m;
	}
	struct ynode *m = ynode_new(Y_MAP, n->file, n->line, n->col);
	if (n->kind != Y_SEQ)
		return m;
	for (size_t i = 0; i < n->n; i++) {
		char *t = scalar_text(n->v[i]);
		char *eq = strchr(t, sep);
		struct ynode *val;
		if (eq) {
			*eq = 0;
			val = str_node(eq + 1, n->v[i]);
			val->sealed = n->v[i]->sealed;
		} else if (allow_nil) {
			val = ynode_new(Y_NULL, n->v[i]->file, n->v[i]->line, n->v[i]->col);
		} else {
			val = str_node("", n->v[i]);
		}
		ynode_set(m, t, val, n->v[i]);
		if (n->v[i]->sealed)
			sodium_memzero(t, strlen(t));
		free(t);
	}
	return m;
}

static struct ynode *str_or_list(struct ynode *n)
{
	if (n->kind == Y_SEQ) {
		struct ynode *l = ynode_clone(n);
		for (size_t i = 0; i < l->n; i++)
			if (l->v[i]->kind == Y_SCALAR && l->v[i]->stype != YS_STR) {
				char *t = scalar_text(l->v[i]);
				free(l->v[i]->s);
				l->v[i]->s = t;
				l->v[i]->stype = YS_STR;
			}
		return l;
	}
	struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
	if (n->kind == Y_SCALAR)
		ynode_push(l, str_node(n->s, n));
	return l;
}

/* Split a command line the way github.com/google/shlex does (POSIX-ish
 * words, quotes, backslash escapes; no expansion). */
static int shlex_split(const char *s, struct ynode *pos, struct ynode *out)
{
	struct buf w;
	buf_init(&w, 0);
	int in_word = 0;
	const char *p = s;
	while (*p) {
		char c = *p;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			if (in_word) {
				ynode_push(out, str_node(w.data, pos));
				buf_reset(&w);
				in_word = 0;
			}
			p++;
			continue;
		}
		if (c == '#' && !in_word)
			break;
		in_word = 1;
		if (c == '\\') {
			p++;
			if (!*p) {
				buf_free(&w);
				return -1;
			}
			buf_addc(&w, *p++);
		} else if (c == '\'') {
			p++;
			while (*p && *p != '\'')
				buf_addc(&w, *p++);
			if (!*p) {
				buf_free(&w);
				return -1;
			}
			p++;
		} else if (c == '"') {
			p++;
			while (*p && *p != '"') {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$' || p[1] == '`' ||
						   p[1] == '\n')) {
					p++;
				}
				buf_addc(&w, *p++);
			}
			if (!*p) {
				buf_free(&w);
				return -1;
			}
			p++;
		} else {
			buf_addc(&w, c);
			p++;
		}
	}
	if (in_word)
		ynode_push(out, str_node(w.data, pos));
	buf_free(&w);
	return 0;
}

static struct ynode *shell_command(struct nctx *c, struct ynode *n)
{
	if (n->kind != Y_SCALAR)
		return str_or_list(n);
	struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
	if (shlex_split(n->s, n, l) < 0)
		nerr(c, n, "invalid command line %s: unterminated quote or escape", n->s);
	return l;
}

static struct ynode *map_with(const struct ynode *pos)
{
	return ynode_new(Y_MAP, pos->file, pos->line, pos->col);
}

static void set_str(struct ynode *m, const char *k, const char *v, const struct ynode *pos)
{
	ynode_set(m, k, str_node(v, pos), pos);
}

static void set_int(struct ynode *m, const char *k, long long v, const struct ynode *pos)
{
	char tmp[32];
	snprintf(tmp, sizeof tmp, "%lld", v);
	struct ynode *n = str_node(tmp, pos);
	n->stype = YS_INT;
	ynode_set(m, k, n, pos);
}

static int parse_port_range(const char *s, long long *a, long long *b)
{
	char *dash = strchr(s, '-');
	char *tmp = xstrdup(s);
	int r = 0;
	if (dash) {
		tmp[dash - s] = 0;
		if (compose_parse_int(tmp, a) < 0 || compose_parse_int(tmp + (dash - s) + 1, b) < 0)
			r = -1;
	} else {
		if (compose_parse_int(tmp, a) < 0)
			r = -1;
		*b = *a;
	}
	free(tmp);
	if (r == 0 && (*a < 0 || *b > 65535 || *b < *a))
		r = -1;
	return r;
}

/* Short port syntax: [ip:][published[-range]:]target[-range][/proto] */
static void short_port(struct nctx *c, const struct ynode *n, struct ynode *out)
{
	char *spec = scalar_text(n);
	char *proto = strrchr(spec, '/');
	const char *protocol = "tcp";
	if (proto) {
		*proto = 0;
		protocol = proto + 1;
		if (!*protocol)
			protocol = "tcp";
	}
	char *ip = NULL, *pub = NULL, *tgt = spec;
	/* split from the right: target, then published, rest is the ip */
	char *last = strrchr(spec, ':');
	if (last) {
		*last = 0;
		tgt = last + 1;
		char *prev = strrchr(spec, ':');
		if (spec[0] == '[') {
			char *rb = strchr(spec, ']');
			if (rb && rb[1] == ':') {
				*rb = 0;
				ip = spec + 1;
				pub = rb + 2;
			} else {
				pub = spec;
			}
		} else if (prev) {
			*prev = 0;
			ip = spec;
			pub = prev + 1;
		} else {
			pub = spec;
		}
	}
	long long ta, tb, pa = 0, pb = 0;
	/* go-connections' ParsePortSpec: any case, stored in lower case */
	if (strcasecmp(protocol, "tcp") && strcasecmp(protocol, "udp") && strcasecmp(protocol, "sctp")) {
		nerr(c, n, "invalid proto: %s", protocol);
		goto out;
	}
	if (proto)
		for (char *q = proto + 1; *q; q++)
			*q = (char)tolower((unsigned char)*q);
	if (parse_port_range(tgt, &ta, &tb) < 0) {
		nerr(c, n, "invalid containerPort: %s", tgt);
		goto out;
	}
	if (pub && *pub && parse_port_range(pub, &pa, &pb) < 0) {
		nerr(c, n, "invalid hostPort: %s", pub);
		goto out;
	}
	if (ip && *ip && strcmp(ip, "0.0.0.0") && strcmp(ip, "::"))
		nwarn(c, n, "ignoring IP-address (%s:%s:%lld/%s) service will listen on '0.0.0.0'", ip,
		      pub ? pub : "", ta, protocol);
	if (pub && *pub && tb - ta != pb - pa && tb != ta) {
		nerr(c, n, "invalid ranges specified for container and host Ports: %s and %s", tgt, pub);
		goto out;
	}
	for (long long t = ta; t <= tb; t++) {
		long long from, to;
		if (!pub || !*pub) {
			from = to = 0;
		} else if (ta == tb) {
			from = pa;
			to = pb;
		} else {
			from = to = pa + (t - ta);
		}
		for (long long p = from; p <= to; p++) {
			struct ynode *m = map_with(n);
			set_str(m, "mode", "ingress", n);
			set_int(m, "target", t, n);
			set_int(m, "published", p, n);
			set_str(m, "protocol", protocol, n);
			ynode_push(out, m);
		}
	}
out:
	free(spec);
}

/* Short volume syntax src:dst[:opts] as docker's volumespec.Parse reads it. */
static struct ynode *short_volume(struct nctx *c, const struct ynode *n)
{
	const char *spec = n->s;
	struct ynode *m = map_with(n);
	if (!*spec) {
		nerr(c, n, "invalid empty volume spec");
		return m;
	}
	/* split on ':' but a one-letter part followed by ':' and '\\' or '/' is
	 * a Windows drive: keep it with the next part */
	struct strv parts = {0};
	const char *p = spec, *start = spec;
	for (; *p; p++) {
		if (*p != ':')
			continue;
		if (p - start == 1 && isalpha((unsigned char)*start) && (p[1] == '\\' || p[1] == '/'))
			continue;
		strv_push(&parts, xstrndup(start, (size_t)(p - start)));
		start = p + 1;
	}
	strv_push(&parts, xstrdup(start));
	if (parts.n > 3) {
		nerr(c, n, "invalid spec: %s: too many colons", spec);
		strv_free(&parts);
		return m;
	}
	if (parts.n == 1) {
		set_str(m, "type", "volume", n);
		set_str(m, "target", parts.v[0], n);
		strv_free(&parts);
		return m;
	}
	const char *src = parts.v[0];
	int is_path = src[0] == '.' || src[0] == '/' || src[0] == '~' ||
		      (strlen(src) >= 2 && isalpha((unsigned char)src[0]) && src[1] == ':');
	set_str(m, "type", is_path ? "bind" : "volume", n);
	set_str(m, "source", src, n);
	set_str(m, "target", parts.v[1], n);
	if (parts.n == 3) {
		char *opts = xstrdup(parts.v[2]);
		char *save = NULL;
		for (char *o = strtok_r(opts, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro")) {
				struct ynode *b = str_node("true", n);
				b->stype = YS_BOOL;
				ynode_set(m, "read_only", b, n);
			} else if (!strcmp(o, "rw")) {
				struct ynode *b = str_node("false", n);
				b->stype = YS_BOOL;
				ynode_set(m, "read_only", b, n);
			} else if (!strcmp(o, "nocopy")) {
				struct ynode *vo = map_with(n);
				struct ynode *b = str_node("true", n);
				b->stype = YS_BOOL;
				ynode_set(vo, "nocopy", b, n);
				ynode_set(m, "volume", vo, n);
			} else if (!strcmp(o, "shared") || !strcmp(o, "rshared") || !strcmp(o, "slave") ||
				   !strcmp(o, "rslave") || !strcmp(o, "private") || !strcmp(o, "rprivate")) {
				struct ynode *bo = map_with(n);
				set_str(bo, "propagation", o, n);
				ynode_set(m, "bind", bo, n);
			} else if (!strcmp(o, "z") || !strcmp(o, "Z")) {
				/* selinux relabel: ignored by swarm */
			} else if (!strcmp(o, "consistent") || !strcmp(o, "cached") || !strcmp(o, "delegated")) {
				set_str(m, "consistency", o, n);
			}
		}
		free(opts);
	}
	strv_free(&parts);
	return m;
}

/* Environment files as docker reads them (envfile.h, ENVFILE_DOCKER); a
 * bare KEY is looked up among the variables (or dropped).  Problems are
 * reported at their place in the env file. */
struct env_into {
	struct nctx *c;
	const struct ynode *pos;
	struct ynode *env;
};

static void env_entry(void *ctx, const char *key, const char *value, int line)
{
	struct env_into *e = ctx;
	(void)line;
	if (!value && !(value = e->c->o->lookup(e->c->o->lookup_ctx, key)))
		return;
	ynode_set(e->env, key, str_node(value, e->pos), e->pos);
}

static void load_env_file(struct nctx *c, const struct ynode *pathnode, struct ynode *env)
{
	char *data, *shown = NULL;
	size_t len;
	if (compose_read_rel_shown(c->o, pathnode->s, pathnode, c->d, &data, &len, &shown) < 0)
		return;
	struct env_into e = {c, pathnode, env};
	envfile_parse(shown, data, len, ENVFILE_DOCKER, env_entry, &e, c->d);
	free(shown);
	free(data);
}

static void normalize_file_refs(struct ynode *svc, const char *key)
{
	struct ynode *l = ynode_get(svc, key);
	if (!l || l->kind != Y_SEQ)
		return;
	for (size_t i = 0; i < l->n; i++) {
		if (l->v[i]->kind == Y_SCALAR) {
			struct ynode *m = map_with(l->v[i]);
			set_str(m, "source", l->v[i]->s, l->v[i]);
			ynode_free(l->v[i]);
			l->v[i] = m;
		}
	}
}

static void replace(struct ynode *m, const char *key, struct ynode *nv)
{
	ynode_set(m, key, nv, ynode_key(m, key));
}

static void normalize_service(struct nctx *c, struct ynode *svc)
{
	struct ynode *n;
	/* environment: env_file first, then environment; empty or null values
	 * are taken from the variables when they define the key */
	struct ynode *env = map_with(svc);
	if ((n = ynode_get(svc, "env_file"))) {
		struct ynode *files = str_or_list(n);
		for (size_t i = 0; i < files->n; i++)
			load_env_file(c, files->v[i], env);
		ynode_free(files);
	}
	if ((n = ynode_get(svc, "environment"))) {
		struct ynode *m = list_or_dict(n, '=', 1);
		for (size_t i = 0; i < m->n; i++)
			ynode_set(env, ynode_str(m->k[i]), ynode_clone(m->v[i]), m->k[i]);
		ynode_free(m);
	}
	for (size_t i = 0; i < env->n; i++) {
		struct ynode *v = env->v[i];
		if (v->kind == Y_NULL || (v->kind == Y_SCALAR && !*v->s)) {
			const char *x = c->o->lookup(c->o->lookup_ctx, ynode_str(env->k[i]));
			if (x) {
				struct ynode *nv = str_node(x, v);
				ynode_free(v);
				env->v[i] = nv;
			}
		}
	}
	if (env->n || ynode_get(svc, "environment"))
		replace(svc, "environment", env);
	else
		ynode_free(env);
	ynode_del(svc, "env_file");

	static const char *dicts[] = {"labels", "sysctls"};
	for (size_t i = 0; i < ARRAY_SIZE(dicts); i++)
		if ((n = ynode_get(svc, dicts[i])))
			replace(svc, dicts[i], list_or_dict(n, '=', 0));
	if ((n = ynode_get(svc, "extra_hosts"))) {
		struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
		if (n->kind == Y_MAP) {
			struct strv tmp = {0};
			for (size_t i = 0; i < n->n; i++) {
				char *t = scalar_text(n->v[i]);
				strv_push(&tmp, xasprintf("%s:%s", ynode_str(n->k[i]), t));
				free(t);
			}
			strv_sort(&tmp);
			for (size_t i = 0; i < tmp.n; i++)
				ynode_push(l, str_node(tmp.v[i], n));
			strv_free(&tmp);
		} else {
			for (size_t i = 0; i < n->n; i++) {
				char *t = scalar_text(n->v[i]);
				char *sep = strpbrk(t, "=:");
				if (sep) {
					*sep = 0;
					char *ip = sep + 1;
					size_t il = strlen(ip);
					if (il > 2 && ip[0] == '[' && ip[il - 1] == ']') {
						ip[il - 1] = 0;
						ip++;
					}
					char *h = xasprintf("%s:%s", t, ip);
					ynode_push(l, str_node(h, n->v[i]));
					free(h);
				}
				free(t);
			}
		}
		replace(svc, "extra_hosts", l);
	}
	static const char *strlists[] = {"dns", "dns_search", "tmpfs", "cap_add", "cap_drop"};
	for (size_t i = 0; i < ARRAY_SIZE(strlists); i++)
		if ((n = ynode_get(svc, strlists[i])))
			replace(svc, strlists[i], str_or_list(n));
	static const char *cmds[] = {"command", "entrypoint"};
	for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
		if ((n = ynode_get(svc, cmds[i])))
			replace(svc, cmds[i], shell_command(c, n));
	struct ynode *hc = ynode_get(svc, "healthcheck");
	if (hc && (n = ynode_get(hc, "test")) && n->kind == Y_SCALAR) {
		struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
		ynode_push(l, str_node("CMD-SHELL", n));
		ynode_push(l, str_node(n->s, n));
		replace(hc, "test", l);
	}
	if ((n = ynode_get(svc, "logging")) && (n = ynode_get(n, "options")))
		stringify_map(n);
	if ((n = ynode_get(svc, "networks")) && n->kind == Y_SEQ) {
		struct ynode *m = map_with(n);
		for (size_t i = 0; i < n->n; i++)
			ynode_set(m, ynode_str(n->v[i]), ynode_new(Y_NULL, n->v[i]->file, n->v[i]->line,
								  n->v[i]->col), n->v[i]);
		replace(svc, "networks", m);
	}
	if ((n = ynode_get(svc, "ports"))) {
		struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
		for (size_t i = 0; i < n->n; i++) {
			if (n->v[i]->kind == Y_SCALAR)
				short_port(c, n->v[i], l);
			else
				ynode_push(l, ynode_clone(n->v[i]));
		}
		replace(svc, "ports", l);
	}
	if ((n = ynode_get(svc, "volumes"))) {
		for (size_t i = 0; i < n->n; i++)
			if (n->v[i]->kind == Y_SCALAR) {
				struct ynode *m = short_volume(c, n->v[i]);
				ynode_free(n->v[i]);
				n->v[i] = m;
			}
	}
	normalize_file_refs(svc, "secrets");
	normalize_file_refs(svc, "configs");
	struct ynode *dep = ynode_get(svc, "deploy");
	if (dep && (n = ynode_get(dep, "labels")))
		replace(dep, "labels", list_or_dict(n, '=', 0));
}

static void normalize_objects(struct nctx *c, struct ynode *root, const char *section)
{
	(void)c;
	struct ynode *sec = ynode_get(root, section);
	if (!sec || sec->kind != Y_MAP)
		return;
	for (size_t i = 0; i < sec->n; i++) {
		struct ynode *o = sec->v[i], *n;
		if (o->kind != Y_MAP)
			continue;
		if ((n = ynode_get(o, "labels")))
			replace(o, "labels", list_or_dict(n, '=', 0));
		if ((n = ynode_get(o, "driver_opts")))
			stringify_map(n);
		/* an external volume is made elsewhere: docker's loader refuses
		 * what would make it (the first of these it finds) */
		const struct ynode *ext = ynode_get(o, "external");
		int is_ext = 0;
		if (ext && ext->kind == Y_SCALAR)
			compose_parse_bool(ext->s, &is_ext);
		else if (ext && ext->kind == Y_MAP)
			is_ext = 1;
		static const char *making[] = {"driver", "driver_opts", "labels"};
		for (size_t k = 0; is_ext && !strcmp(section, "volumes") && k < ARRAY_SIZE(making); k++) {
			const struct ynode *x = ynode_get(o, making[k]);
			int set = x && (!strcmp(making[k], "driver") ? *ynode_str(x) != 0 : x->n > 0);
			if (set) {
				const struct ynode *at = ynode_key(o, making[k]);
				diags_add(c->d, DIAG_ERROR, at->file, at->line, at->col,
					  "conflicting parameters \"external\" and \"%s\" specified for volume \"%s\"", making[k],
					  ynode_str(sec->k[i]));
				break;
			}
		}
		if ((n = ynode_get(o, "external"))) {
			struct ynode *m = map_with(n);
			struct ynode *b = str_node("true", n);
			b->stype = YS_BOOL;
			if (n->kind == Y_SCALAR) {
				int v = 0;
				compose_parse_bool(n->s, &v);
				free(b->s);
				b->s = xstrdup(v ? "true" : "false");
			} else if (n->kind == Y_MAP) {
				struct ynode *nm = ynode_get(n, "name");
				if (nm && nm->kind == Y_SCALAR) {
					struct ynode *own = ynode_get(o, "name");
					const char *what = !strcmp(section, "networks") ? "network" :
							   !strcmp(section, "volumes") ? "volume" :
							   !strcmp(section, "secrets") ? "secret" : "config";
					if (own)
						diags_add(c->d, DIAG_ERROR, nm->file, nm->line, nm->col,
							  "%s %s: %s.external.name and %s.name conflict; only use %s.name",
							  what, ynode_str(sec->k[i]), what, what, what);
					else {
						diags_add(c->d, DIAG_WARN, nm->file, nm->line, nm->col,
							  "%s %s: %s.external.name is deprecated in favor of %s.name",
							  what, ynode_str(sec->k[i]), what, what);
						ynode_set(o, "name", ynode_clone(nm), nm);
					}
				}
			}
			ynode_set(m, "external", b, n);
			replace(o, "external", m);
		}
	}
}

/* ---------------- driver ---------------- */

/* Which ignored keys were seen, over all files, for docker's summary. */
struct seen_props {
	int unsupported[ARRAY_SIZE(unsupported)];
	int deprecated[ARRAY_SIZE(deprecated)];
};

static void property_checks(struct ynode *root, struct diags *d, struct seen_props *seen)
{
	struct ynode *svcs = ynode_get(root, "services");
	if (!svcs || svcs->kind != Y_MAP)
		return;
	for (size_t i = 0; i < svcs->n; i++) {
		struct ynode *s = svcs->v[i];
		if (s->kind != Y_MAP)
			continue;
		for (size_t f = 0; f < ARRAY_SIZE(forbidden); f++) {
			const struct ynode *k = ynode_key(s, forbidden[f][0]);
			if (k)
				diags_add(d, DIAG_ERROR, k->file, k->line, k->col,
					  "services.%s: unsupported option %s: %s", ynode_str(svcs->k[i]),
					  forbidden[f][0], forbidden[f][1]);
		}
		for (size_t f = 0; f < ARRAY_SIZE(unsupported); f++) {
			const struct ynode *k = ynode_key(s, unsupported[f]);
			if (k)
				seen->unsupported[f] = 1;
			if (k)
				diags_add(d, DIAG_WARN, k->file, k->line, k->col,
					  "services.%s: ignoring unsupported option: %s", ynode_str(svcs->k[i]),
					  unsupported[f]);
		}
		for (size_t f = 0; f < ARRAY_SIZE(deprecated); f++) {
			const struct ynode *k = ynode_key(s, deprecated[f][0]);
			if (k)
				seen->deprecated[f] = 1;
			if (k)
				diags_add(d, DIAG_WARN, k->file, k->line, k->col,
					  "services.%s: ignoring deprecated option %s: %s", ynode_str(svcs->k[i]),
					  deprecated[f][0], deprecated[f][1]);
		}
	}
}

static void strip_forbidden(struct ynode *root)
{
	struct ynode *svcs = ynode_get(root, "services");
	if (!svcs || svcs->kind != Y_MAP)
		return;
	for (size_t i = 0; i < svcs->n; i++)
		for (size_t f = 0; f < ARRAY_SIZE(forbidden); f++)
			ynode_del(svcs->v[i], forbidden[f][0]);
}

int compose_load(const struct compose_file *files, size_t n, const struct compose_opts *o,
		 struct ynode **out, struct diags *d)
{
	struct ynode *merged = NULL;
	char *version = NULL; /* a copy: the first file's tree may be freed or merged over */
	int version_set = 0;
	size_t errors_before = d->nerrors;
	*out = NULL;
	struct seen_props seen;
	struct badset bad = {0};
	memset(&seen, 0, sizeof seen);
	if (n == 0) {
		diags_add(d, DIAG_ERROR, NULL, 0, 0, "no files specified");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		struct ynode *root;
		if (ynode_parse(files[i].name, files[i].data, files[i].len, &root, d) < 0)
			continue;
		if (root->kind != Y_MAP) {
			diags_add(d, DIAG_ERROR, files[i].name, root->line, root->col,
				  "top-level object must be a mapping");
			ynode_free(root);
			continue;
		}
		/* every file is checked against the first file's schema */
		char *v = file_version(root);
		const struct ynode *vat = ynode_get(root, "version") ? ynode_get(root, "version") : root;
		if (!version_set) {
			version = xstrdup(v);
			version_set = 1;
		} else if (strcmp(version, v) != 0) {
			diags_add(d, DIAG_ERROR, vat->file, vat->line, vat->col,
				  "version mismatched between two composefiles : %s and %s", version, v);
		}
		free(v);
		property_checks(root, d, &seen);
		strip_forbidden(root);
		struct vctx vc = {d, 13, version, &bad};
		if (schema_minor(version, &vc.minor) < 0) {
			if (i == 0) /* once: no file can be checked */
				diags_add(d, DIAG_ERROR, vat->file, vat->line, vat->col,
					  "unsupported Compose file version: %s", version);
			ynode_free(root);
			continue;
		}
		struct ictx ic = {o, d, &bad};
		interpolate(&ic, root);
		check_keys(&vc, root, "");
		check_obj(&vc, root, f_top, "");
		prune_bad(root, &bad);
		struct nctx nc = {o, d};
		struct ynode *svcs = ynode_get(root, "services");
		for (size_t s = 0; svcs && s < svcs->n; s++)
			normalize_service(&nc, svcs->v[s]);
		normalize_objects(&nc, root, "networks");
		normalize_objects(&nc, root, "volumes");
		normalize_objects(&nc, root, "secrets");
		normalize_objects(&nc, root, "configs");
		if (!merged) {
			merged = root;
		} else {
			compose_merge_files(merged, root);
			ynode_free(root);
		}
	}
	/* docker's own summary lines, word for word (the lists are sorted) */
	struct buf b;
	buf_init(&b, 0);
	for (size_t f = 0; f < ARRAY_SIZE(unsupported); f++)
		if (seen.unsupported[f])
			buf_addf(&b, "%s%s", b.len ? ", " : "", unsupported[f]);
	if (b.len)
		diags_add(d, DIAG_WARN, NULL, 0, 0, "Ignoring unsupported options: %s", b.data);
	buf_reset(&b);
	for (size_t f = 0; f < ARRAY_SIZE(deprecated); f++)
		if (seen.deprecated[f])
			buf_addf(&b, "%s%s: %s", b.len ? "\n\n" : "", deprecated[f][0], deprecated[f][1]);
	if (b.len)
		diags_add(d, DIAG_WARN, NULL, 0, 0, "Ignoring deprecated options:\n\n%s", b.data);
	buf_free(&b);
	free(version);
	free(bad.v);
	*out = merged;
	return d->nerrors > errors_before ? -1 : 0;
}
