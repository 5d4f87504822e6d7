/*
 * compose_normalize.c - a checked compose file in the long syntax
 * (compose_normalize.h), as docker's loader reads the short forms.
 */
#include "compose_normalize.h"
#include "envfile.h"

#include <sodium.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nctx {
	const struct compose_opts *o;
	struct diags *d;
};

#define nerr(c, at, ...) diag_at((c)->d, DIAG_ERROR, (at), __VA_ARGS__)
#define nwarn(c, at, ...) diag_at((c)->d, DIAG_WARN, (at), __VA_ARGS__)

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
			char *t = compose_scalar_text(v);
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
		char *t = compose_scalar_text(n->v[i]);
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
				char *t = compose_scalar_text(l->v[i]);
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
	char *spec = compose_scalar_text(n);
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

/* environment: env_file first, then environment; empty or null values
 * are taken from the variables when they define the key */
static void normalize_environment(struct nctx *c, struct ynode *svc)
{
	struct ynode *n;
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
}

/* extra_hosts (a map, or "host:ip" and "host=ip" items) as "host:ip" items */
static struct ynode *extra_hosts(const struct ynode *n)
{
	struct ynode *l = ynode_new(Y_SEQ, n->file, n->line, n->col);
	if (n->kind == Y_MAP) {
		struct strv tmp = {0};
		for (size_t i = 0; i < n->n; i++) {
			char *t = compose_scalar_text(n->v[i]);
			strv_push(&tmp, xasprintf("%s:%s", ynode_str(n->k[i]), t));
			free(t);
		}
		strv_sort(&tmp);
		for (size_t i = 0; i < tmp.n; i++)
			ynode_push(l, str_node(tmp.v[i], n));
		strv_free(&tmp);
	} else {
		for (size_t i = 0; i < n->n; i++) {
			char *t = compose_scalar_text(n->v[i]);
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
	return l;
}

static void normalize_service(struct nctx *c, struct ynode *svc)
{
	struct ynode *n;
	normalize_environment(c, svc);
	static const char *dicts[] = {"labels", "sysctls"};
	for (size_t i = 0; i < ARRAY_SIZE(dicts); i++)
		if ((n = ynode_get(svc, dicts[i])))
			replace(svc, dicts[i], list_or_dict(n, '=', 0));
	if ((n = ynode_get(svc, "extra_hosts")))
		replace(svc, "extra_hosts", extra_hosts(n));
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

void compose_normalize(const struct compose_opts *o, struct ynode *root, struct diags *d)
{
	struct nctx nc = {o, d};
	struct ynode *svcs = ynode_get(root, "services");
	for (size_t s = 0; svcs && s < svcs->n; s++)
		normalize_service(&nc, svcs->v[s]);
	normalize_objects(&nc, root, "networks");
	normalize_objects(&nc, root, "volumes");
	normalize_objects(&nc, root, "secrets");
	normalize_objects(&nc, root, "configs");
}
