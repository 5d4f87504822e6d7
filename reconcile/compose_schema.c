/*
 * compose_schema.c - the compose v3 schema and its check (compose_schema.h).
 *
 * The table below is the schema docker CLI 28 embeds (compose v3.0 to
 * 3.13), key by key, each with the first minor version that has it; check()
 * walks a file along it.  Messages name the key's path and its position.
 */
#include "compose_schema.h"
#include "compose.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

_Static_assert(ARRAY_SIZE(unsupported) <= 32, "seen->unsupported has a bit per entry");

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

void compose_bad_add(struct compose_bad *b, const struct ynode *n)
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

static int bad_has(const struct compose_bad *b, const struct ynode *n)
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
static void prune(struct ynode *n, const struct compose_bad *b, int depth, const char *sec)
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

void compose_bad_prune(struct ynode *root, struct compose_bad *b)
{
	if (!b->n)
		return;
	qsort(b->v, b->n, sizeof *b->v, cmp_ptr);
	prune(root, b, 0, "");
	b->n = 0;
}

void compose_bad_free(struct compose_bad *b)
{
	free(b->v);
	memset(b, 0, sizeof *b);
}

struct vctx {
	struct diags *d;
	int minor;	  /* the file's version: 3.minor */
	const char *version;
	struct compose_bad *bad;
};

/* an error at a node, after the path of the key it is under; the node
 * is marked bad (pruned before normalisation) */
#define verr(v, at, path, fmt, ...)                                                                                 \
	do {                                                                                                         \
		const char *verr_p = (path);                                                                         \
		diag_at((v)->d, DIAG_ERROR, (at), "%s%s" fmt, verr_p, *verr_p ? " " : "", ##__VA_ARGS__);            \
		compose_bad_add((v)->bad, (at));                                                                     \
	} while (0)

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

/* A scalar of one kind: string, number, boolean, duration, size, order. */
static void check_scalar(struct vctx *v, const struct ynode *n, enum shape sh, const char *path)
{
	long long x;
	int bl;
	switch (sh) {
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
	case SH_BOOL:
		if (!is_scalar(n) || (n->stype != YS_BOOL && (!n->interpolated || compose_parse_bool(n->s, &bl) < 0)))
			verr(v, n, path, "must be a boolean, got %s", ynode_kind_name(n));
		return;
	case SH_ORDER:
		if (!is_scalar(n) || n->stype != YS_STR)
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (strcmp(n->s, "start-first") && strcmp(n->s, "stop-first"))
			verr(v, n, path, "must be one of the following: \"start-first\", \"stop-first\"");
		return;
	case SH_DUR:
		if (!is_scalar(n) || n->stype != YS_STR)
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (compose_parse_duration(n->s, &x) < 0)
			verr(v, n, path, "invalid duration \"%s\" (like 10s, 1m30s, 500ms)", n->s);
		return;
	case SH_SIZE:
	case SH_SIZESTR:
		if (sh == SH_SIZESTR && (!is_scalar(n) || n->stype != YS_STR))
			verr(v, n, path, "must be a string, got %s", ynode_kind_name(n));
		else if (!is_scalar(n) || n->stype == YS_BOOL || n->stype == YS_FLOAT)
			verr(v, n, path, "must be a size, got %s", ynode_kind_name(n));
		else if (n->stype == YS_STR && compose_parse_bytes(n->s, &x) < 0)
			verr(v, n, path, "invalid size \"%s\" (like 512m, 1g, 1048576)", n->s);
		return;
	default:
		return;
	}
}

/* A list of strings (or numbers: expose), or for the string-or-list
 * shapes one string; distinct items unless the shape is a sequence. */
static void check_str_list(struct vctx *v, const struct ynode *n, enum shape sh, const char *path)
{
	if ((sh == SH_STR_OR_LIST || sh == SH_STR_OR_SEQ) && is_scalar(n)) {
		if (n->stype != YS_STR)
			verr(v, n, path, "must be a string or a list of strings, got %s", ynode_kind_name(n));
		return;
	}
	if (n->kind != Y_SEQ) {
		verr(v, n, path, "must be a list, got %s", ynode_kind_name(n));
		return;
	}
	check_items(v, n, sh == SH_EXPOSE, path);
	if (sh != SH_STR_OR_SEQ && sh != SH_STRSEQ)
		check_unique(v, n, path);
}

/* A map of strings and numbers (and nulls, but for SH_DICT_STR), or for
 * SH_LIST_OR_DICT a list of distinct "k=v" strings. */
static void check_dict(struct vctx *v, const struct ynode *n, enum shape sh, const char *path)
{
	if (sh == SH_LIST_OR_DICT && n->kind == Y_SEQ) {
		check_items(v, n, 0, path);
		check_unique(v, n, path);
		return;
	}
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
		char *p = path_join(path, ynode_str(n->k[i]));
		verr(v, x, p, "must be a string%s, got %s", nul ? ", number or null" : " or number", ynode_kind_name(x));
		free(p);
	}
}

/* A map of named objects (services, networks ...): flags as check's. */
static void check_dict_obj(struct vctx *v, const struct ynode *n, const struct field *sub, int flags,
			   const char *path)
{
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
		char *p = path_join(path, key);
		if (n->v[i]->kind == Y_NULL) {
			if (!(flags & 1))
				verr(v, n->v[i], p, "must be a mapping, got null");
		} else {
			check_obj(v, n->v[i], sub, p);
		}
		free(p);
	}
}

/* A list of objects, or of scalars (short syntax) and objects; ports are
 * distinct. */
static void check_obj_list(struct vctx *v, const struct ynode *n, enum shape sh, const struct field *sub,
			   const char *path)
{
	if (n->kind != Y_SEQ) {
		verr(v, n, path, "must be a list, got %s", ynode_kind_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		char *p = path_join_index(path, i);
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
}

/* ulimits: NAME: integer or {hard, soft}. */
static void check_ulimits(struct vctx *v, const struct ynode *n, const struct field *sub, const char *path)
{
	if (n->kind != Y_MAP) {
		verr(v, n, path, "must be a mapping, got %s", ynode_kind_name(n));
		return;
	}
	for (size_t i = 0; i < n->n; i++) {
		const char *k = ynode_str(n->k[i]);
		if (!*k || strspn(k, "abcdefghijklmnopqrstuvwxyz") != strlen(k))
			continue; /* the schema checks ^[a-z]+$ keys only */
		char *p = path_join(path, k);
		if (is_scalar(n->v[i]))
			check(v, n->v[i], SH_INT, NULL, 0, p);
		else
			check_obj(v, n->v[i], sub, p);
		free(p);
	}
}

static void check(struct vctx *v, const struct ynode *n, enum shape sh, const struct field *sub, int flags,
		  const char *path)
{
	if (n->kind == Y_NULL) {
		/* null is fine for nullable shapes and maps of null */
		if ((flags & 1) || sh == SH_ANY || sh == SH_LIST_OR_DICT)
			return;
		verr(v, n, path, "must not be null");
		return;
	}
	switch (sh) {
	case SH_ANY:
		return;
	case SH_STR:
	case SH_INT:
	case SH_NUM:
	case SH_UINT:
	case SH_UNUM:
	case SH_BOOL:
	case SH_ORDER:
	case SH_DUR:
	case SH_SIZE:
	case SH_SIZESTR:
		check_scalar(v, n, sh, path);
		return;
	case SH_STR_OR_LIST:
	case SH_STR_OR_SEQ:
	case SH_STRLIST:
	case SH_STRSEQ:
	case SH_EXPOSE:
		check_str_list(v, n, sh, path);
		return;
	case SH_LIST_OR_DICT:
	case SH_DICT_STR:
	case SH_DICT_STRN:
		check_dict(v, n, sh, path);
		return;
	case SH_OBJ:
		check_obj(v, n, sub, path);
		return;
	case SH_DICT_OBJ:
		check_dict_obj(v, n, sub, flags, path);
		return;
	case SH_LIST_OBJ:
	case SH_SCALAR_OR_OBJ_LIST:
	case SH_PORTS:
		check_obj_list(v, n, sh, sub, path);
		return;
	case SH_BOOL_OR_OBJ:
	case SH_STR_OR_OBJ:
		if (n->kind == Y_MAP)
			check_obj(v, n, sub, path);
		else
			check_scalar(v, n, sh == SH_BOOL_OR_OBJ ? SH_BOOL : SH_STR, path);
		return;
	case SH_SVC_NETWORKS:
		if (n->kind == Y_SEQ)
			check_str_list(v, n, SH_STRLIST, path);
		else
			check_dict_obj(v, n, sub, 1 | 2, path);
		return;
	case SH_CONSTRAINTS:
		check_str_list(v, n, SH_STRSEQ, path);
		for (size_t i = 0; n->kind == Y_SEQ && i < n->n; i++)
			if (is_scalar(n->v[i]))
				check_constraint(v, n->v[i], path);
		return;
	case SH_ULIMITS:
		check_ulimits(v, n, sub, path);
		return;
	}
}

/* A YAML value as Go's fmt "%v" prints what yaml.v3 decoded it to. */
static void go_sprint(struct buf *b, const struct ynode *n)
{
	if (n->kind == Y_NULL) {
		buf_adds(b, "<nil>");
	} else if (n->kind == Y_SCALAR) {
		char *t = compose_scalar_text(n);
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
char *compose_schema_version(const struct ynode *root)
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
int compose_schema_minor(const char *v, int *minor)
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

void compose_schema_check(const struct ynode *root, const char *version, int minor, struct diags *d,
			  struct compose_bad *bad)
{
	struct vctx vc = {d, minor, version, bad};
	check_keys(&vc, root, "");
	check_obj(&vc, root, f_top, "");
}

/* ---------------- options stack deploy refuses or ignores ---------------- */

void compose_schema_options(struct ynode *root, struct diags *d, struct compose_seen *seen)
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
			if (!k)
				continue;
			seen->unsupported |= 1u << f;
			diags_add(d, DIAG_WARN, k->file, k->line, k->col,
				  "services.%s: ignoring unsupported option: %s", ynode_str(svcs->k[i]),
				  unsupported[f]);
		}
		for (size_t f = 0; f < ARRAY_SIZE(deprecated); f++) {
			const struct ynode *k = ynode_key(s, deprecated[f][0]);
			if (!k)
				continue;
			seen->deprecated |= 1u << f;
			diags_add(d, DIAG_WARN, k->file, k->line, k->col,
				  "services.%s: ignoring deprecated option %s: %s", ynode_str(svcs->k[i]),
				  deprecated[f][0], deprecated[f][1]);
		}
		for (size_t f = 0; f < ARRAY_SIZE(forbidden); f++)
			ynode_del(s, forbidden[f][0]);
	}
}

void compose_schema_summary(const struct compose_seen *seen, struct diags *d)
{
	/* docker's own summary lines, word for word (the lists are sorted) */
	struct buf b;
	buf_init(&b, 0);
	for (size_t f = 0; f < ARRAY_SIZE(unsupported); f++)
		if (seen->unsupported & (1u << f))
			buf_addf(&b, "%s%s", b.len ? ", " : "", unsupported[f]);
	if (b.len)
		diags_add(d, DIAG_WARN, NULL, 0, 0, "Ignoring unsupported options: %s", b.data);
	buf_reset(&b);
	for (size_t f = 0; f < ARRAY_SIZE(deprecated); f++)
		if (seen->deprecated & (1u << f))
			buf_addf(&b, "%s%s: %s", b.len ? "\n\n" : "", deprecated[f][0], deprecated[f][1]);
	if (b.len)
		diags_add(d, DIAG_WARN, NULL, 0, 0, "Ignoring deprecated options:\n\n%s", b.data);
	buf_free(&b);
}
