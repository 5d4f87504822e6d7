/*
 * convert.c - the normalised compose model (compose.c) to Swarm objects.
 * Mirrors docker/cli's cli/compose/convert so the stored specs are the same.
 */
#include "convert.h"

#include <arpa/inet.h>

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "objdata.h"
#include "scrub.h"

struct cctx {
	const char *stack;
	const struct convert_opts *o;
	const struct ynode *root;
	struct diags *d;
	const char *svc; /* service being converted */
};

/* an error at a node, in the service being converted if any */
#define cerr(c, at, fmt, ...)                                                                                       \
	diag_at((c)->d, DIAG_ERROR, (at), "%s%s%s" fmt, (c)->svc ? "service " : "", (c)->svc ? (c)->svc : "",         \
		(c)->svc ? ": " : "", ##__VA_ARGS__)

static char *scope(struct cctx *c, const char *name)
{
	return xasprintf("%s_%s", c->stack, name);
}

/* ---- names, as the engine checks them (swarmkit's controlapi) ---- */

static int name_chars(const char *s, const char *extra)
{
	size_t n = strlen(s);
	if (!n || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return 0;
	return 1;
}

/* services and networks: ^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$, 63 at most */
static const char *dns_name_problem(const char *s)
{
	if (!name_chars(s, "-_"))
		return "the engine wants a DNS name component (letters, digits, '-' and '_', starting and ending with a letter or digit)";
	if (strlen(s) > 63)
		return "the engine takes names of 63 characters or fewer";
	return NULL;
}

/* secrets and configs: ^[a-zA-Z0-9]+(?:[a-zA-Z0-9-_.]*[a-zA-Z0-9])?$, 64 at most */
static const char *object_name_problem(const char *s)
{
	if (!name_chars(s, "-_.") || strlen(s) > 64)
		return "the engine takes only 64 [a-zA-Z0-9-_.] characters, starting and ending with [a-zA-Z0-9]";
	return NULL;
}

const char *convert_stack_name_problem(const char *s)
{
	/* docker's CLI refuses only a name of blanks and quotes; the engine
	 * refuses the names made from it (STACK_service, STACK_network) */
	if (strspn(s, " \t\n\v\f\r\"'") == strlen(s))
		return "a stack needs a name";
	if (!name_chars(s, "-_"))
		return "a stack name must be a DNS name component (letters, digits, '-' and '_', starting and ending with a letter or digit): the engine refuses the names made from it (STACK_service, STACK_network)";
	if (strlen(s) > 61)
		return "a stack name must be 61 characters or fewer: the engine refuses names of more than 63 (STACK_service)";
	return NULL;
}

const char **json_sorted_keys(const json_t *obj, size_t *n)
{
	size_t cnt = json_object_size(obj), i = 0;
	const char **keys = xcalloc(cnt + 1, sizeof *keys);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
		keys[i++] = k;
	for (size_t a = 1; a < cnt; a++) {
		const char *x = keys[a];
		size_t b = a;
		while (b > 0 && strcmp(keys[b - 1], x) > 0) {
			keys[b] = keys[b - 1];
			b--;
		}
		keys[b] = x;
	}
	*n = cnt;
	return keys;
}

/* ---- typed getters over the normalised model ---- */

/* What gint, gdur and gdur_nonneg found. */
enum got {
	GOT_BAD = -1,	/* there, but not a valid value (said) */
	GOT_NONE = 0,	/* absent, or not a scalar: *out untouched */
	GOT_SET = 1,	/* *out holds the value */
};

static const char *gstr(const struct ynode *m, const char *k)
{
	const struct ynode *n = ynode_get(m, k);
	return n && n->kind == Y_SCALAR ? n->s : NULL;
}

static enum got gint(struct cctx *c, const struct ynode *m, const char *k, long long *out)
{
	const struct ynode *n = ynode_get(m, k);
	if (!n || n->kind != Y_SCALAR)
		return GOT_NONE;
	if (compose_parse_int(n->s, out) < 0) {
		char *end;
		double d = strtod(n->s, &end);
		/* outside long long, the cast itself is undefined: check first */
		if (*end || !(d >= -9.2e18 && d <= 9.2e18) || d != (double)(long long)d) {
			cerr(c, n, "%s: invalid integer %s", k, n->s);
			return GOT_BAD;
		}
		*out = (long long)d;
	}
	return GOT_SET;
}

static enum got gdur(struct cctx *c, const struct ynode *m, const char *k, long long *out)
{
	const struct ynode *n = ynode_get(m, k);
	if (!n || n->kind != Y_SCALAR)
		return GOT_NONE;
	if (compose_parse_duration(n->s, out) < 0) {
		cerr(c, n, "%s: invalid duration %s", k, n->s);
		return GOT_BAD;
	}
	return GOT_SET;
}

/* gdur for durations the engine refuses when negative (swarmkit's
 * controlapi checks them only after the stack's networks exist). */
static enum got gdur_nonneg(struct cctx *c, const struct ynode *m, const char *k, long long *out)
{
	enum got rc = gdur(c, m, k, out);
	if (rc == GOT_SET && *out < 0) {
		cerr(c, ynode_get(m, k), "%s cannot be negative", k);
		return GOT_BAD;
	}
	return rc;
}

static json_t *jstrmap(const struct ynode *m)
{
	json_t *o = json_object();
	for (size_t i = 0; m && m->kind == Y_MAP && i < m->n; i++)
		json_object_set_new(o, ynode_str(m->k[i]), json_string(ynode_str(m->v[i])));
	return o;
}

static json_t *jstrlist(const struct ynode *l)
{
	json_t *a = json_array();
	for (size_t i = 0; l && l->kind == Y_SEQ && i < l->n; i++)
		json_array_append_new(a, json_string(ynode_str(l->v[i])));
	return a;
}

static json_t *labels_with_ns(struct cctx *c, const struct ynode *m)
{
	json_t *o = jstrmap(m);
	json_object_set_new(o, LABEL_NAMESPACE, json_string(c->stack));
	return o;
}

static void set_if(json_t *o, const char *k, json_t *v)
{
	if (v)
		json_object_set_new(o, k, v);
}

/* ---- CPUs and sizes ---- */

/* A decimal integer without a base prefix (a leading 0 would be octal
 * to Go's big.Int): [p, end), or to the string's end when end is NULL */
static int cpus_int(const char *p, const char *end, unsigned long long *v)
{
	const char *q = p;
	*v = 0;
	for (; end ? q < end : *q != 0; q++) {
		if (!isdigit((unsigned char)*q) || *v > 1000000000000000000ULL)
			return -1;
		*v = *v * 10 + (unsigned long long)(*q - '0');
	}
	if (q == p || (*p == '0' && q - p > 1))
		return -1;
	return 0;
}

/* The CLI's ParseCPUs: Go's big.Rat SetString (a sign, decimal digits
 * with a point and an exponent, or a fraction a/b) times 1e9, which must
 * be an integer (else CPUS_TOO_PRECISE).  Base prefixes (0x...) and '_'
 * separators, which big.Rat also reads, are refused. */
enum cpus_rc {
	CPUS_OK = 0,
	CPUS_INVALID = -1,	/* not a rational number */
	CPUS_TOO_PRECISE = -2,	/* finer than a nanoCPU */
};

static enum cpus_rc parse_cpus(const char *s, long long *nanos)
{
	const char *p = s;
	int neg = 0;
	__int128 m = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	const char *slash = strchr(p, '/');
	if (slash) {
		unsigned long long num, den;
		if (cpus_int(p, slash, &num) < 0 || cpus_int(slash + 1, NULL, &den) < 0 || !den)
			return CPUS_INVALID;
		m = (__int128)num * 1000000000;
		if (m % den)
			return CPUS_TOO_PRECISE;
		m /= den;
	} else {
		int digits = 0, dot = 0, scale = 0;
		long long e = 0;
		for (; isdigit((unsigned char)*p) || (*p == '.' && !dot); p++) {
			if (*p == '.') {
				dot = 1;
				continue;
			}
			if (m > (__int128)1000000000000000000LL * 1000000000LL)
				return CPUS_INVALID;
			m = m * 10 + (*p - '0');
			digits++;
			scale += dot;
		}
		if (!digits)
			return CPUS_INVALID;
		if (*p == 'e' || *p == 'E') {
			int eneg = 0;
			p++;
			if (*p == '+' || *p == '-')
				eneg = *p++ == '-';
			if (!isdigit((unsigned char)*p))
				return CPUS_INVALID;
			for (; isdigit((unsigned char)*p); p++)
				if ((e = e * 10 + (*p - '0')) > 100000)
					return CPUS_INVALID;
			if (eneg)
				e = -e;
		}
		if (*p)
			return CPUS_INVALID;
		for (long long k = e - scale + 9; k > 0 && m; k--)
			if ((m *= 10) > LLONG_MAX)
				return CPUS_INVALID;
		for (long long k = e - scale + 9; k < 0 && m; k++) {
			if (m % 10)
				return CPUS_TOO_PRECISE;
			m /= 10;
		}
	}
	if (m > LLONG_MAX)
		return CPUS_INVALID;
	*nanos = neg ? -(long long)m : (long long)m;
	return CPUS_OK;
}

static int size_of(struct cctx *c, const struct ynode *n, long long *out)
{
	if (n->stype == YS_INT)
		return compose_parse_int(n->s, out);
	if (compose_parse_bytes(n->s, out) < 0) {
		cerr(c, n, "invalid size: '%s'", n->s);
		return -1;
	}
	return 0;
}

/* ---- networks ---- */

/* Go's net.ParseCIDR: an IPv4 or IPv6 address, '/', a prefix length */
static int cidr_ok(const char *s)
{
	const char *sl = strchr(s, '/');
	if (!sl || !sl[1] || strlen(sl + 1) > 3 || strspn(sl + 1, "0123456789") != strlen(sl + 1))
		return 0;
	char *addr = xstrndup(s, (size_t)(sl - s));
	unsigned char buf[16];
	int v4 = inet_pton(AF_INET, addr, buf) == 1, v6 = !v4 && inet_pton(AF_INET6, addr, buf) == 1;
	free(addr);
	long bits = strtol(sl + 1, NULL, 10);
	return (v4 && bits <= 32) || (v6 && bits <= 128);
}

static void convert_networks(struct cctx *c, struct desired *ds, const struct strv *used)
{
	const struct ynode *nets = ynode_get(c->root, "networks");
	for (size_t i = 0; i < used->n; i++) {
		const char *key = used->v[i];
		const struct ynode *nw = ynode_get(nets, key);
		const struct ynode *ext = nw ? ynode_get(nw, "external") : NULL;
		const char *name = nw ? gstr(nw, "name") : NULL;
		if (ext && compose_get_bool(ext, "external")) {
			json_object_set_new(ds->ext_networks, name ? name : key, json_string(key));
			continue;
		}
		char *full = name ? xstrdup(name) : scope(c, key);
		const char *bad = dns_name_problem(full);
		if (bad) {
			const struct ynode *at = name ? ynode_get(nw, "name") : ynode_key(nets, key);
			cerr(c, at, "network %s: %s", full, bad);
		}
		const struct ynode *ipm = nw ? ynode_get(nw, "ipam") : NULL;
		const struct ynode *ipcfg = ipm && ipm->kind == Y_MAP ? ynode_get(ipm, "config") : NULL;
		for (size_t k = 0; ipcfg && k < ipcfg->n; k++) {
			const struct ynode *sn = ynode_get(ipcfg->v[k], "subnet");
			if (sn && !cidr_ok(ynode_str(sn)))
				cerr(c, sn, "network %s: invalid subnet %s", full, ynode_str(sn));
		}
		json_t *b = json_object();
		json_object_set_new(b, "Name", json_string(full));
		json_object_set_new(b, "Labels", labels_with_ns(c, nw ? ynode_get(nw, "labels") : NULL));
		const char *drv = nw ? gstr(nw, "driver") : NULL;
		json_object_set_new(b, "Driver", json_string(drv ? drv : "overlay"));
		if (nw && ynode_get(nw, "driver_opts"))
			json_object_set_new(b, "Options", jstrmap(ynode_get(nw, "driver_opts")));
		if (nw && compose_get_bool(nw, "internal"))
			json_object_set_new(b, "Internal", json_true());
		if (nw && compose_get_bool(nw, "attachable"))
			json_object_set_new(b, "Attachable", json_true());
		const struct ynode *ipam = nw ? ynode_get(nw, "ipam") : NULL;
		if (ipam && ipam->kind == Y_MAP) {
			const char *idrv = gstr(ipam, "driver");
			const struct ynode *cfg = ynode_get(ipam, "config");
			if ((idrv && *idrv) || (cfg && cfg->n)) {
				json_t *j = json_object();
				json_object_set_new(j, "Driver", json_string(idrv ? idrv : ""));
				json_t *arr = json_array();
				for (size_t k = 0; cfg && k < cfg->n; k++) {
					json_t *e = json_object();
					json_object_set_new(e, "Subnet", json_string(ynode_str(ynode_get(cfg->v[k], "subnet"))));
					json_array_append_new(arr, e);
				}
				json_object_set_new(j, "Config", arr);
				json_object_set_new(b, "IPAM", j);
			}
		}
		json_object_set_new(ds->networks, full, b);
		free(full);
	}
}

/* ---- secrets and configs ---- */

char *convert_content_digest(const char *data_b64, const json_t *templating)
{
	char hex[65];
	char *t = templating ? json_dumps(templating, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
	char *all = xasprintf("%s\n%s", data_b64, t ? t : "");
	sha256_hex(all, strlen(all), hex);
	free(all);
	free(t);
	return xstrndup(hex, 10);
}

char *convert_rotated_name(const char *base, const char *data_b64, const json_t *templating)
{
	char *hex = convert_content_digest(data_b64, templating);
	size_t bl = strlen(base);
	if (bl > 64 - 11)
		bl = 64 - 11;
	char *name = xasprintf("%.*s_%s", (int)bl, base, hex);
	free(hex);
	return name;
}

static size_t b64_decoded_len(const char *b)
{
	size_t n = strlen(b);
	if (n < 4)
		return 0;
	return n / 4 * 3 - (b[n - 1] == '=') - (b[n - 2] == '=');
}

static void convert_file_objects(struct cctx *c, const char *section, json_t *out,
				 json_t *ext_out)
{
	const struct ynode *sec = ynode_get(c->root, section);
	int is_secret = !strcmp(section, "secrets");
	for (size_t i = 0; sec && sec->kind == Y_MAP && i < sec->n; i++) {
		const char *key = ynode_str(sec->k[i]);
		const struct ynode *obj = sec->v[i];
		const char *name = gstr(obj, "name");
		const struct ynode *ext = ynode_get(obj, "external");
		if (ext && compose_get_bool(ext, "external")) {
			json_object_set_new(ext_out, name ? name : key, json_string(key));
			continue;
		}
		char *base = name ? xstrdup(name) : scope(c, key);
		const char *driver = is_secret ? gstr(obj, "driver") : NULL;
		const struct ynode *file = ynode_get(obj, "file");
		char *hash_input = NULL; /* sealed files: named after the sealed text */
		int sized = 0;		 /* b64 holds the object's data */
		json_t *spec = json_object();
		json_t *labels = labels_with_ns(c, ynode_get(obj, "labels"));
		char *b64 = NULL;
		if (driver && *driver) {
			if (file) {
				cerr(c, file, "%s %s: %s.driver and %s.file conflict; only use %s.driver",
				     is_secret ? "secret" : "config", key, is_secret ? "secret" : "config",
				     is_secret ? "secret" : "config", is_secret ? "secret" : "config");
			}
			json_t *drv = json_object();
			json_object_set_new(drv, "Name", json_string(driver));
			if (ynode_get(obj, "driver_opts"))
				json_object_set_new(drv, "Options", jstrmap(ynode_get(obj, "driver_opts")));
			json_object_set_new(spec, "Driver", drv);
			b64 = xstrdup("");
		} else if (!file) {
			cerr(c, obj, "%s %s: file is required", is_secret ? "secret" : "config", key);
			b64 = xstrdup("");
		} else {
			/* read and opened before (objdata.c): a copy to hash and send */
			const struct obj_data *od = objdata_find(c->o->data, obj);
			if (!od)
				cerr(c, file, "%s: not loaded", ynode_str(file));
			b64 = xstrdup(od && od->b64 ? od->b64 : "");
			sized = od && od->sized;
			if (od && od->hash_input)
				hash_input = xstrdup(od->hash_input);
			const char *td = gstr(obj, "template_driver");
			if (od && od->sealed && td && *td) /* its errors would quote pieces of it */
				cerr(c, ynode_get(obj, "template_driver"),
				     "%s %s: a sealed file is never expanded as a template (template_driver)",
				     is_secret ? "secret" : "config", key);
		}
		json_t *templ = NULL;
		const char *td = gstr(obj, "template_driver");
		if (td && *td) {
			templ = json_object();
			json_object_set_new(templ, "Name", json_string(td));
		}
		/* name: is the object's name, exactly (docker's); the others are
		 * named after their content, so a change rotates them */
		char *final;
		if (name) {
			final = xstrdup(name);
			char *dg = convert_content_digest(hash_input ? hash_input : b64, templ);
			json_object_set_new(labels, LABEL_CONTENT, json_string(dg));
			free(dg);
		} else {
			final = convert_rotated_name(base, hash_input ? hash_input : b64, templ);
		}
		free(hash_input);
		const char *bad = object_name_problem(final);
		if (bad)
			cerr(c, name ? ynode_get(obj, "name") : sec->k[i], "%s %s: %s", is_secret ? "secret" : "config", final, bad);
		/* the engine's limits on the data (none for a driver's secret) */
		size_t max = is_secret ? 500 * 1024 : 1000 * 1024, dl = b64_decoded_len(b64);
		if (sized && (dl < 1 || dl >= max))
			cerr(c, file, "%s %s: %s data must be larger than 0 and less than %zu bytes (it has %zu)",
			     is_secret ? "secret" : "config", key, is_secret ? "secret" : "config", max, dl);
		json_object_set_new(labels, LABEL_LOGICAL, json_string(base));
		json_object_set_new(spec, "Name", json_string(final));
		json_object_set_new(spec, "Labels", labels);
		json_object_set_new(spec, "Data", json_string(b64));
		set_if(spec, "Templating", templ);
		/* remember the compose key and logical name for references */
		json_t *ent = json_object();
		json_object_set_new(ent, "spec", spec);
		json_object_set_new(ent, "key", json_string(key));
		if (name)
			json_object_set_new(ent, "named", json_true());
		if (json_object_get(out, final))
			cerr(c, obj, "%s %s: another %s of this stack has the name %s", is_secret ? "secret" : "config", key,
			     is_secret ? "secret" : "config", final);
		json_object_set_new(out, final, ent);
		sodium_memzero(b64, strlen(b64));
		free(b64);
		free(base);
		free(final);
	}
}

/* Find the final name of the secret/config whose compose key is key. */
static const char *file_object_name(const json_t *objs, const json_t *ext, const char *key)
{
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)objs, name, v)
		if (!strcmp(json_string_value(json_object_get(v, "key")), key))
			return name;
	json_object_foreach((json_t *)ext, name, v)
		if (!strcmp(json_string_value(v), key))
			return name;
	return NULL;
}

static json_t *convert_refs(struct cctx *c, const struct ynode *svc, const char *kind, const json_t *objs,
			    const json_t *ext)
{
	const struct ynode *l = ynode_get(svc, kind);
	int is_secret = !strcmp(kind, "secrets");
	json_t *arr = json_array();
	struct strv targets = {0};
	for (size_t i = 0; l && l->kind == Y_SEQ && i < l->n; i++) {
		const struct ynode *r = l->v[i];
		const char *src = gstr(r, "source");
		if (!src) {
			cerr(c, r, "%s: source is required", kind);
			continue;
		}
		const char *name = file_object_name(objs, ext, src);
		if (!name) {
			cerr(c, r, "undefined %s \"%s\"", is_secret ? "secret" : "config", src);
			continue;
		}
		const char *target = gstr(r, "target");
		if (!target || !*target)
			target = src;
		for (size_t t = 0; t < targets.n; t++)
			if (!strcmp(targets.v[t], target))
				cerr(c, r, "%s: duplicate target %s", kind, target);
		strv_push(&targets, xstrdup(target));
		const char *uid = gstr(r, "uid"), *gid = gstr(r, "gid");
		long long mode = 0444;
		if (gint(c, r, "mode", &mode) == GOT_BAD)
			continue;
		json_t *f = json_object();
		json_object_set_new(f, "Name", json_string(target));
		json_object_set_new(f, "UID", json_string(uid && *uid ? uid : "0"));
		json_object_set_new(f, "GID", json_string(gid && *gid ? gid : "0"));
		json_object_set_new(f, "Mode", json_integer(mode));
		json_t *ref = json_object();
		json_object_set_new(ref, "File", f);
		json_object_set_new(ref, is_secret ? "SecretName" : "ConfigName", json_string(name));
		json_array_append_new(arr, ref);
	}
	strv_free(&targets);
	/* a credential spec held in a config: the engine wants the config as a
	 * Runtime reference too (docker adds it after the files) */
	const struct ynode *cred = ynode_get(svc, "credential_spec");
	const char *ck = cred ? gstr(cred, "config") : NULL;
	if (!is_secret && ck && *ck) {
		const char *name = file_object_name(objs, ext, ck);
		if (!name) {
			cerr(c, ynode_get(cred, "config"), "undefined config \"%s\"", ck);
		} else {
			json_t *ref = json_object();
			json_object_set_new(ref, "Runtime", json_object());
			json_object_set_new(ref, "ConfigName", json_string(name));
			json_array_append_new(arr, ref);
		}
	}
	/* stable sort by name */
	const char *nk = is_secret ? "SecretName" : "ConfigName";
	size_t n = json_array_size(arr);
	for (size_t a = 1; a < n; a++) {
		for (size_t b = a; b > 0; b--) {
			json_t *x = json_array_get(arr, b - 1), *y = json_array_get(arr, b);
			if (strcmp(json_string_value(json_object_get(x, nk)), json_string_value(json_object_get(y, nk))) <= 0)
				break;
			json_incref(x);
			json_array_set(arr, b - 1, y);
			json_array_set_new(arr, b, x);
		}
	}
	return arr;
}

/* ---- service ---- */

static char *template_problem(const char *s);

/* A volume mount's source (the stack's volume, or its name:) and options:
 * a volume the stack makes carries its labels and driver. */
static void mount_volume(struct cctx *c, json_t *m, const struct ynode *v, const char *src, const struct ynode *vols)
{
	const struct ynode *vol = ynode_get(v, "volume");
	const struct ynode *sv = ynode_get(vols, src);
	if (!vols || !ynode_key(vols, src)) {
		cerr(c, v, "undefined volume \"%s\"", src);
		return;
	}
	char *s = scope(c, src);
	const char *nm = sv ? gstr(sv, "name") : NULL;
	json_object_set_new(m, "Source", json_string(nm ? nm : s));
	free(s);
	json_t *vo = json_object();
	if (vol && compose_get_bool(vol, "nocopy"))
		json_object_set_new(vo, "NoCopy", json_true());
	/* not in the schema, which leaves volume open: the
	 * CLI reads it (engines with API 1.45: plan.c) */
	const char *sub = vol ? gstr(vol, "subpath") : NULL;
	if (sub && *sub)
		json_object_set_new(vo, "Subpath", json_string(sub));
	const struct ynode *ext = sv ? ynode_get(sv, "external") : NULL;
	if (!(ext && compose_get_bool(ext, "external"))) {
		json_object_set_new(vo, "Labels", labels_with_ns(c, sv ? ynode_get(sv, "labels") : NULL));
		const char *drv = sv ? gstr(sv, "driver") : NULL;
		const struct ynode *dopts = sv ? ynode_get(sv, "driver_opts") : NULL;
		if ((drv && *drv) || dopts) {
			json_t *dc = json_object();
			json_object_set_new(dc, "Name", json_string(drv ? drv : ""));
			if (dopts)
				json_object_set_new(dc, "Options", jstrmap(dopts));
			json_object_set_new(vo, "DriverConfig", dc);
		}
	}
	json_object_set_new(m, "VolumeOptions", vo);
}

/* filepath.Join(workdir, src): "./" and ".." cleaned, absolute. */
static char *join_clean(const char *workdir, const char *src)
{
	char *joined = xasprintf("%s/%s", workdir ? workdir : ".", src);
	struct strv parts = {0};
	char *save = NULL;
	for (char *t = strtok_r(joined, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (parts.n)
				free(parts.v[--parts.n]);
			continue;
		}
		strv_push(&parts, xstrdup(t));
	}
	struct buf b;
	buf_init(&b, 0);
	for (size_t k = 0; k < parts.n; k++)
		buf_addf(&b, "/%s", parts.v[k]);
	if (!b.len)
		buf_adds(&b, "/");
	strv_free(&parts);
	free(joined);
	return buf_detach(&b);
}

/* A bind mount's source on the node: absolute (in a repository it must be
 * written so), ~ from HOME, else relative to the compose file's folder. */
static char *bind_source(struct cctx *c, const struct ynode *v, const char *src)
{
	if (src[0] == '/')
		return xstrdup(src);
	if (c->o->repo_mode) {
		cerr(c, v, "bind mount source %s is relative: in a repository it must be an absolute path on the node", src);
		return xstrdup(src);
	}
	if (src[0] == '~') {
		const char *home = c->o->copts->lookup(c->o->copts->lookup_ctx, "HOME");
		return home ? xasprintf("%s%s", home, src + 1) : xstrdup(src);
	}
	return join_clean(c->o->copts->workdir, src);
}

static void mount_bind(struct cctx *c, json_t *m, const struct ynode *v, const char *src)
{
	const struct ynode *bind = ynode_get(v, "bind"), *vol = ynode_get(v, "volume"), *tmpfs = ynode_get(v, "tmpfs");
	if (!src || !*src) {
		cerr(c, v, "invalid mount config for type \"bind\": field Source must not be empty");
	} else {
		char *path = bind_source(c, v, src);
		json_object_set_new(m, "Source", json_string(path));
		free(path);
	}
	if (vol || tmpfs)
		cerr(c, v, "%s options are incompatible with type bind", vol ? "volume" : "tmpfs");
	if (bind) {
		json_t *bo = json_object();
		const char *pr = gstr(bind, "propagation");
		if (pr && *pr)
			json_object_set_new(bo, "Propagation", json_string(pr));
		json_object_set_new(m, "BindOptions", bo);
	}
}

static void mount_tmpfs(struct cctx *c, json_t *m, const struct ynode *v, const char *src)
{
	const struct ynode *bind = ynode_get(v, "bind"), *vol = ynode_get(v, "volume"), *tmpfs = ynode_get(v, "tmpfs");
	if (src && *src)
		cerr(c, v, "invalid tmpfs source, source must be empty");
	if (bind || vol)
		cerr(c, v, "%s options are incompatible with type tmpfs", bind ? "bind" : "volume");
	if (tmpfs) {
		json_t *to = json_object();
		const struct ynode *sz = ynode_get(tmpfs, "size");
		long long bytes;
		if (sz && sz->kind == Y_SCALAR && size_of(c, sz, &bytes) == 0 && bytes)
			json_object_set_new(to, "SizeBytes", json_integer(bytes));
		json_object_set_new(m, "TmpfsOptions", to);
	}
}

/* A CSI volume (API 1.42): a volume of the file, or a group. */
static void mount_cluster(struct cctx *c, json_t *m, const struct ynode *v, const char *src, const struct ynode *vols)
{
	const struct ynode *bind = ynode_get(v, "bind"), *vol = ynode_get(v, "volume"), *tmpfs = ynode_get(v, "tmpfs");
	if (!src || !*src) {
		cerr(c, v, "invalid cluster source, source cannot be empty");
	} else if (tmpfs || bind || vol) {
		cerr(c, v, "%s options are incompatible with type cluster", tmpfs ? "tmpfs" : bind ? "bind" : "volume");
	} else if (str_has_prefix(src, "group:")) {
		json_object_set_new(m, "Source", json_string(src));
	} else if (!vols || !ynode_key(vols, src)) {
		cerr(c, v, "undefined volume \"%s\"", src);
	} else {
		const struct ynode *sv = ynode_get(vols, src);
		const char *nm = sv ? gstr(sv, "name") : NULL;
		char *sc = scope(c, src);
		json_object_set_new(m, "Source", json_string(nm && *nm ? nm : sc));
		free(sc);
	}
	json_object_set_new(m, "ClusterOptions", json_object());
}

/* One item of a service's volumes (long syntax) as a Mount. */
static json_t *convert_mount(struct cctx *c, const struct ynode *v, const struct ynode *vols)
{
	const char *type = gstr(v, "type");
	const char *src = gstr(v, "source");
	const char *tgt = gstr(v, "target");
	if (!type || !*type)
		type = "volume";
	json_t *m = json_object();
	json_object_set_new(m, "Type", json_string(type));
	json_object_set_new(m, "Target", json_string(tgt ? tgt : ""));
	if (compose_get_bool(v, "read_only"))
		json_object_set_new(m, "ReadOnly", json_true());
	const char *cons = gstr(v, "consistency");
	if (cons && *cons)
		json_object_set_new(m, "Consistency", json_string(cons));
	const struct ynode *bind = ynode_get(v, "bind"), *vol = ynode_get(v, "volume"), *tmpfs = ynode_get(v, "tmpfs");
	if (!strcmp(type, "volume")) {
		if (tmpfs || bind)
			cerr(c, v, "%s options are incompatible with type volume", tmpfs ? "tmpfs" : "bind");
		if (src && *src)
			mount_volume(c, m, v, src, vols);
	} else if (!strcmp(type, "bind")) {
		mount_bind(c, m, v, src);
	} else if (!strcmp(type, "tmpfs")) {
		mount_tmpfs(c, m, v, src);
	} else if (!strcmp(type, "npipe")) {
		if (!src || !*src)
			cerr(c, v, "invalid npipe source, source cannot be empty");
		else
			json_object_set_new(m, "Source", json_string(src));
	} else if (!strcmp(type, "image")) {
		/* an image's file system (engines with API 1.48: plan.c) */
		if (!src || !*src)
			cerr(c, v, "invalid image source, source cannot be empty");
		else if (vol || bind || tmpfs)
			cerr(c, v, "%s options are incompatible with type image", vol ? "volume" : bind ? "bind" : "tmpfs");
		else
			json_object_set_new(m, "Source", json_string(src));
	} else if (!strcmp(type, "cluster")) {
		mount_cluster(c, m, v, src, vols);
	} else {
		cerr(c, v, "volume type must be volume, bind, tmpfs, npipe, or cluster");
	}
	return m;
}

static json_t *convert_mounts(struct cctx *c, const struct ynode *svc)
{
	const struct ynode *l = ynode_get(svc, "volumes");
	const struct ynode *vols = ynode_get(c->root, "volumes");
	json_t *arr = json_array();
	for (size_t i = 0; l && l->kind == Y_SEQ && i < l->n; i++) {
		const struct ynode *v = l->v[i];
		const char *src = gstr(v, "source");
		const char *tgt = gstr(v, "target");
		json_t *m = convert_mount(c, v, vols);
		for (int k = 0; k < 2; k++) {
			const char *path = k ? tgt : src;
			char *why = path ? template_problem(path) : NULL;
			if (why)
				cerr(c, v, "mount %s: %s", k ? "target" : "source", why);
			free(why);
		}
		for (size_t k = 0; k < json_array_size(arr); k++)
			if (tgt && !strcmp(tgt, json_string_value(json_object_get(json_array_get(arr, k), "Target")))) {
				cerr(c, v, "duplicate mount point: %s (volume %zu has it too)", tgt, k);
				break;
			}
		json_array_append_new(arr, m);
	}
	return arr;
}

static json_t *convert_update(struct cctx *c, const struct ynode *u)
{
	if (!u || u->kind != Y_MAP)
		return NULL;
	json_t *o = json_object();
	long long par = 1, delay = 0, mon = 0;
	gint(c, u, "parallelism", &par);
	gdur_nonneg(c, u, "delay", &delay);
	gdur_nonneg(c, u, "monitor", &mon);
	json_object_set_new(o, "Parallelism", json_integer(par));
	if (delay)
		json_object_set_new(o, "Delay", json_integer(delay));
	const char *fa = gstr(u, "failure_action");
	if (fa && *fa)
		json_object_set_new(o, "FailureAction", json_string(fa));
	if (mon)
		json_object_set_new(o, "Monitor", json_integer(mon));
	const char *mfr = gstr(u, "max_failure_ratio");
	if (mfr) {
		double r = strtod(mfr, NULL);
		if (!(r >= 0 && r <= 1))
			cerr(c, ynode_get(u, "max_failure_ratio"), "max_failure_ratio must be between 0 and 1, got %s", mfr);
		else if (r != 0)
			json_object_set_new(o, "MaxFailureRatio", json_real(r));
	}
	const char *ord = gstr(u, "order");
	if (ord && *ord)
		json_object_set_new(o, "Order", json_string(ord));
	return o;
}

static json_t *convert_restart(struct cctx *c, const struct ynode *svc, const struct ynode *dep)
{
	const struct ynode *rp = dep ? ynode_get(dep, "restart_policy") : NULL;
	long long v;
	if (rp && rp->kind == Y_MAP) {
		json_t *o = json_object();
		const char *cond = gstr(rp, "condition");
		if (cond && *cond)
			json_object_set_new(o, "Condition", json_string(cond));
		if (gdur_nonneg(c, rp, "delay", &v) == GOT_SET)
			json_object_set_new(o, "Delay", json_integer(v));
		if (gint(c, rp, "max_attempts", &v) == GOT_SET)
			json_object_set_new(o, "MaxAttempts", json_integer(v));
		if (gdur_nonneg(c, rp, "window", &v) == GOT_SET)
			json_object_set_new(o, "Window", json_integer(v));
		return o;
	}
	const char *r = gstr(svc, "restart");
	if (!r || !*r)
		return NULL;
	char *name = xstrdup(r);
	char *colon = strchr(name, ':');
	long long max = 0;
	if (colon) {
		*colon = 0;
		if (compose_parse_int(colon + 1, &max) < 0) {
			cerr(c, ynode_get(svc, "restart"), "invalid restart policy format: maximum retry count must be an integer");
			free(name);
			return NULL;
		}
	}
	json_t *o = NULL;
	if (!strcmp(name, "no") || !*name) {
		if (colon)
			cerr(c, ynode_get(svc, "restart"), "invalid restart policy format: maximum retry count can only be used with 'on-failure'");
	} else if (!strcmp(name, "always") || !strcmp(name, "unless-stopped")) {
		if (colon)
			cerr(c, ynode_get(svc, "restart"), "invalid restart policy format: maximum retry count can only be used with 'on-failure'");
		o = json_object();
		json_object_set_new(o, "Condition", json_string("any"));
	} else if (!strcmp(name, "on-failure")) {
		if (max < 0)
			cerr(c, ynode_get(svc, "restart"), "invalid restart policy: maximum retry count cannot be negative");
		o = json_object();
		json_object_set_new(o, "Condition", json_string("on-failure"));
		if (max > 0)
			json_object_set_new(o, "MaxAttempts", json_integer(max));
	} else {
		cerr(c, ynode_get(svc, "restart"),
		     "invalid restart policy: unknown policy '%s' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')",
		     name);
	}
	free(name);
	return o;
}

static json_t *convert_resources(struct cctx *c, const struct ynode *dep)
{
	json_t *res = json_object();
	const struct ynode *r = dep ? ynode_get(dep, "resources") : NULL;
	if (!r || r->kind != Y_MAP)
		return res;
	static const char *parts[] = {"limits", "reservations"};
	for (int i = 0; i < 2; i++) {
		const struct ynode *p = ynode_get(r, parts[i]);
		if (!p || p->kind != Y_MAP)
			continue;
		json_t *o = json_object();
		const struct ynode *cpus = ynode_get(p, "cpus");
		if (cpus && cpus->kind == Y_SCALAR) {
			long long nanos;
			enum cpus_rc rc = parse_cpus(cpus->s, &nanos);
			if (rc == CPUS_TOO_PRECISE)
				cerr(c, cpus, "value is too precise");
			else if (rc != CPUS_OK)
				cerr(c, cpus, "failed to parse %s as a rational number", cpus->s);
			else if (nanos && nanos < 1000000)
				cerr(c, cpus, "invalid cpu value %s: must be at least 0.001", cpus->s);
			else if (nanos)
				json_object_set_new(o, "NanoCPUs", json_integer(nanos));
		}
		const struct ynode *mem = ynode_get(p, "memory");
		long long bytes;
		if (mem && mem->kind == Y_SCALAR && size_of(c, mem, &bytes) == 0 && bytes) {
			if (bytes < 4 << 20)
				cerr(c, mem, "invalid memory value %s: must be at least 4MiB", mem->s);
			json_object_set_new(o, "MemoryBytes", json_integer(bytes));
		}
		long long pids;
		if (i == 0 && gint(c, p, "pids", &pids) == GOT_SET && pids)
			json_object_set_new(o, "Pids", json_integer(pids));
		const struct ynode *gr = ynode_get(p, "generic_resources");
		if (i == 1 && gr && gr->kind == Y_SEQ && gr->n) {
			json_t *arr = json_array();
			for (size_t k = 0; k < gr->n; k++) {
				json_t *g = json_object();
				const struct ynode *ds = ynode_get(gr->v[k], "discrete_resource_spec");
				if (ds) {
					json_t *dj = json_object();
					long long val = 0;
					json_object_set_new(dj, "Kind", json_string(ynode_str(ynode_get(ds, "kind"))));
					gint(c, ds, "value", &val);
					json_object_set_new(dj, "Value", json_integer(val));
					json_object_set_new(g, "DiscreteResourceSpec", dj);
				}
				json_array_append_new(arr, g);
			}
			json_object_set_new(o, "GenericResources", arr);
		}
		json_object_set_new(res, i == 0 ? "Limits" : "Reservations", o);
	}
	return res;
}

static json_t *convert_health(struct cctx *c, const struct ynode *hc)
{
	if (!hc || hc->kind != Y_MAP)
		return NULL;
	json_t *o = json_object();
	const struct ynode *test = ynode_get(hc, "test");
	if (compose_get_bool(hc, "disable")) {
		if (test && test->n)
			cerr(c, hc, "test and disable can't be set at the same time");
		json_t *t = json_array();
		json_array_append_new(t, json_string("NONE"));
		json_object_set_new(o, "Test", t);
		return o;
	}
	if (test)
		json_object_set_new(o, "Test", jstrlist(test));
	static const struct {
		const char *k, *j;
	} durs[] = {{"interval", "Interval"}, {"timeout", "Timeout"}, {"start_period", "StartPeriod"},
		    {"start_interval", "StartInterval"}};
	for (size_t i = 0; i < ARRAY_SIZE(durs); i++) {
		long long v;
		if (gdur(c, hc, durs[i].k, &v) == GOT_SET && v) {
			if (v < 1000000)
				cerr(c, ynode_get(hc, durs[i].k), "%s cannot be less than 1ms", durs[i].k);
			json_object_set_new(o, durs[i].j, json_integer(v));
		}
	}
	long long r;
	if (gint(c, hc, "retries", &r) == GOT_SET && r)
		json_object_set_new(o, "Retries", json_integer(r));
	return o;
}

static int is_user_defined_network(const char *t)
{
	return strcmp(t, "default") && strcmp(t, "bridge") && strcmp(t, "host") && strcmp(t, "none") &&
	       !str_has_prefix(t, "container:");
}

static json_t *convert_svc_networks(struct cctx *c, const struct ynode *svc, const char *svcname,
				    struct strv *used)
{
	const struct ynode *nets = ynode_get(svc, "networks");
	const struct ynode *top = ynode_get(c->root, "networks");
	json_t *arr = json_array();
	struct ynode *dflt = NULL;
	if (!nets || nets->kind != Y_MAP || nets->n == 0) {
		dflt = ynode_new(Y_MAP, svc->file, svc->line, svc->col);
		ynode_set(dflt, "default", ynode_new(Y_NULL, svc->file, svc->line, svc->col), svc);
		nets = dflt;
	}
	for (size_t i = 0; i < nets->n; i++) {
		const char *key = ynode_str(nets->k[i]);
		const struct ynode *cfg = ynode_get(top, key);
		if (!ynode_key(top, key) && strcmp(key, "default")) {
			cerr(c, nets->k[i], "undefined network \"%s\"", key);
			continue;
		}
		int seen = 0;
		for (size_t u = 0; u < used->n; u++)
			seen |= !strcmp(used->v[u], key);
		if (!seen)
			strv_push(used, xstrdup(key));
		const char *nm = cfg ? gstr(cfg, "name") : NULL;
		const struct ynode *ext = cfg ? ynode_get(cfg, "external") : NULL;
		char *target;
		if (nm && *nm)
			target = xstrdup(nm);
		else if (ext && compose_get_bool(ext, "external"))
			target = xstrdup(key);
		else
			target = scope(c, key);
		json_t *att = json_object();
		json_object_set_new(att, "Target", json_string(target));
		const struct ynode *sn = nets->v[i];
		json_t *aliases = json_array();
		if (sn && sn->kind == Y_MAP) {
			const struct ynode *al = ynode_get(sn, "aliases");
			for (size_t k = 0; al && k < al->n; k++)
				json_array_append_new(aliases, json_string(ynode_str(al->v[k])));
			if (ynode_get(sn, "driver_opts"))
				json_object_set_new(att, "DriverOpts", jstrmap(ynode_get(sn, "driver_opts")));
		}
		if (is_user_defined_network(target))
			json_array_append_new(aliases, json_string(svcname));
		if (json_array_size(aliases))
			json_object_set_new(att, "Aliases", aliases);
		else
			json_decref(aliases);
		/* insert sorted by target */
		size_t pos = json_array_size(arr);
		while (pos > 0 && strcmp(json_string_value(json_object_get(json_array_get(arr, pos - 1), "Target")),
					 target) > 0)
			pos--;
		json_array_insert_new(arr, pos, att);
		free(target);
	}
	ynode_free(dflt);
	return arr;
}

static const char *or_default(const char *s, const char *def)
{
	return s && *s ? s : def;
}

/* The engine's rules for one service's ports, checked here so a stack
 * never stops half applied on them: a published port once per protocol
 * (whatever the mode), and no ingress port with endpoint_mode dnsrr. */
static void check_ports(struct cctx *c, const struct ynode *l, int dnsrr)
{
	for (size_t i = 0; l && l->kind == Y_SEQ && i < l->n; i++) {
		const struct ynode *p = l->v[i];
		long long pub = 0, pub2;
		const char *proto = or_default(gstr(p, "protocol"), "tcp");
		if (gint(c, p, "published", &pub) != GOT_SET || !pub)
			continue;
		if (dnsrr && !strcmp(or_default(gstr(p, "mode"), "ingress"), "ingress")) {
			cerr(c, p, "port %lld is published in ingress mode, which endpoint_mode dnsrr cannot serve (use mode: host)", pub);
			continue;
		}
		for (size_t k = 0; k < i; k++)
			if (gint(c, l->v[k], "published", &pub2) == GOT_SET && pub2 == pub &&
			    !strcasecmp(or_default(gstr(l->v[k], "protocol"), "tcp"), proto)) {
				cerr(c, p, "port %lld/%s is published twice (ports item %zu has it too)", pub, proto, k);
				break;
			}
	}
}

static int published_less(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return json_integer_value(json_object_get(a, "PublishedPort")) <
	       json_integer_value(json_object_get(b, "PublishedPort"));
}

/* The ports in the file's order, then sorted by published port with the
 * CLI's own sort (Go's sort.Slice): not stable, so with more than 12
 * ports, ports that publish the same port (0: unpublished) come out in
 * the order its pdqsort leaves them, which the engine stores. */
static json_t *convert_ports(struct cctx *c, const struct ynode *svc)
{
	const struct ynode *l = ynode_get(svc, "ports");
	size_t n = l && l->kind == Y_SEQ ? l->n : 0;
	void **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const struct ynode *p = l->v[i];
		json_t *o = json_object();
		long long t = 0, pub = 0;
		gint(c, p, "target", &t);
		gint(c, p, "published", &pub);
		const char *proto = gstr(p, "protocol"), *mode = gstr(p, "mode");
		json_object_set_new(o, "Protocol", json_string(proto ? proto : ""));
		json_object_set_new(o, "TargetPort", json_integer(t));
		json_object_set_new(o, "PublishedPort", json_integer(pub));
		json_object_set_new(o, "PublishMode", json_string(mode ? mode : ""));
		v[i] = o;
	}
	go_sort_slice(v, n, published_less, NULL);
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
	return arr;
}

static json_t *convert_mode(struct cctx *c, const struct ynode *dep, int *replicas_set)
{
	const char *mode = dep ? gstr(dep, "mode") : NULL;
	long long rep = 0;
	enum got has = dep ? gint(c, dep, "replicas", &rep) : GOT_NONE;
	*replicas_set = has == GOT_SET;
	json_t *m = json_object(), *inner = json_object();
	if (!mode || !*mode || !strcmp(mode, "replicated")) {
		if (has == GOT_SET)
			json_object_set_new(inner, "Replicas", json_integer(rep));
		json_object_set_new(m, "Replicated", inner);
	} else if (!strcmp(mode, "global") || !strcmp(mode, "global-job")) {
		if (has == GOT_SET)
			cerr(c, ynode_get(dep, "replicas"), "replicas can only be used with replicated or replicated-job mode");
		json_object_set_new(m, !strcmp(mode, "global") ? "Global" : "GlobalJob", inner);
	} else if (!strcmp(mode, "replicated-job")) {
		if (has == GOT_SET) {
			json_object_set_new(inner, "MaxConcurrent", json_integer(rep));
			json_object_set_new(inner, "TotalCompletions", json_integer(rep));
		}
		json_object_set_new(m, "ReplicatedJob", inner);
		*replicas_set = 1; /* jobs: nothing to keep from the live spec */
	} else {
		cerr(c, ynode_get(dep, "mode"), "unknown mode: %s", mode);
		json_decref(inner);
	}
	return m;
}

static void caps(const struct ynode *add, const struct ynode *drop, json_t *cs)
{
	struct strv a = {0}, d = {0};
	const struct ynode *ls[2] = {add, drop};
	struct strv *out[2] = {&a, &d};
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; ls[k] && i < ls[k]->n; i++) {
			const char *s = ynode_str(ls[k]->v[i]);
			while (isspace((unsigned char)*s))
				s++;
			char *u = xstrdup(s);
			size_t l = strlen(u);
			while (l && isspace((unsigned char)u[l - 1]))
				u[--l] = 0;
			for (char *p = u; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			char *norm = (!strcmp(u, "ALL") || !strcmp(u, "RESET") || str_has_prefix(u, "CAP_")) ?
					     xstrdup(u) : xasprintf("CAP_%s", u);
			free(u);
			int dup = 0;
			for (size_t j = 0; j < out[k]->n; j++)
				dup |= !strcmp(out[k]->v[j], norm);
			if (dup)
				free(norm);
			else
				strv_push(out[k], norm);
		}
	}
	for (int k = 0; k < 2; k++) {
		int all = 0;
		for (size_t j = 0; j < out[k]->n; j++)
			all |= !strcmp(out[k]->v[j], "ALL");
		if (all) {
			strv_free(out[k]);
			strv_push(out[k], xstrdup("ALL"));
		}
	}
	json_t *ja = json_array(), *jd = json_array();
	strv_sort(&a);
	strv_sort(&d);
	for (size_t i = 0; i < d.n; i++) {
		int in_add = 0;
		for (size_t j = 0; j < a.n; j++)
			in_add |= !strcmp(a.v[j], d.v[i]);
		if (!in_add && strcmp(d.v[i], "RESET"))
			json_array_append_new(jd, json_string(d.v[i]));
	}
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.v[i], "RESET"))
			json_array_append_new(ja, json_string(a.v[i]));
	if (json_array_size(ja))
		json_object_set_new(cs, "CapabilityAdd", ja);
	else
		json_decref(ja);
	if (json_array_size(jd))
		json_object_set_new(cs, "CapabilityDrop", jd);
	else
		json_decref(jd);
	strv_free(&a);
	strv_free(&d);
}

/*
 * The engine expands Go templates ({{.Service.Name}}, {{.Node.Hostname}},
 * {{.Task.Slot}}...) in a service's hostname, environment values and mount
 * paths, and refuses the service when that fails: after docker has made
 * the stack's networks.  What can be told without Go's template engine is
 * checked here: an action left open, and plain field references (the
 * usual typo) against the fields the engine offers; a string with any
 * other action (pipes, functions, if/range) is left to the engine.
 * Returns NULL or the problem (the caller's to free).
 */
static char *template_problem(const char *s)
{
	struct strv refs = {0};
	char *why = NULL;
	for (const char *p = strstr(s, "{{"); p && !why; p = strstr(p, "{{")) {
		const char *e = strstr(p + 2, "}}");
		if (!e) {
			why = xstrdup("a template action {{ is not closed with }}");
			break;
		}
		const char *a = p + 2, *z = e;
		if (*a == '-' && (a[1] == ' ' || a[1] == '\t' || a[1] == '\n'))
			a++;
		if (z - a >= 2 && z[-1] == '-' && (z[-2] == ' ' || z[-2] == '\t' || z[-2] == '\n'))
			z--;
		while (a < z && isspace((unsigned char)*a))
			a++;
		while (z > a && isspace((unsigned char)z[-1]))
			z--;
		p = e + 2;
		if (z - a >= 2 && a[0] == '/' && a[1] == '*')
			continue; /* a comment */
		int simple = z > a && *a == '.';
		for (const char *q = a; q < z && simple; q++)
			simple = isalnum((unsigned char)*q) || *q == '_' || (*q == '.' && q + 1 < z && q[1] != '.');
		if (!simple) {
			strv_free(&refs);
			return NULL; /* beyond what is checked here */
		}
		strv_push(&refs, xstrndup(a, (size_t)(z - a)));
	}
	for (size_t i = 0; i < refs.n && !why; i++) {
		static const char *fields[][4] = {{"Service", "ID", "Name", "Labels"},
						  {"Node", "ID", "Hostname", "Platform"},
						  {"Task", "ID", "Name", "Slot"}};
		char *path = refs.v[i], *segs[5] = {0}, *save = NULL;
		size_t ns = 0;
		for (char *t = strtok_r(path + 1, ".", &save); t && ns < 5; t = strtok_r(NULL, ".", &save))
			segs[ns++] = t;
		if (!ns)
			continue; /* {{.}} */
		int top = -1;
		for (int k = 0; k < 3; k++)
			if (!strcmp(segs[0], fields[k][0]))
				top = k;
		if (top < 0) {
			why = xasprintf("template field .%s does not exist (.Service, .Node and .Task do)", segs[0]);
			break;
		}
		if (ns == 1)
			continue;
		int f = 0;
		for (int k = 1; k < 4; k++)
			if (!strcmp(segs[1], fields[top][k]))
				f = k;
		if (!f) {
			why = xasprintf("template field .%s.%s does not exist (.%s.%s, .%s.%s and .%s.%s do)", segs[0], segs[1],
					segs[0], fields[top][1], segs[0], fields[top][2], segs[0], fields[top][3]);
		} else if (top == 0 && f == 3 && ns >= 3) {
			/* the engine checks a new spec with a stand-in task whose
			 * service has no labels: .Service.Labels.KEY always fails
			 * there, index does not */
			why = xasprintf("template .Service.Labels.%s: the engine refuses it (it checks templates against a service without labels); write {{index .Service.Labels \"%s\"}}",
					segs[2], segs[2]);
		} else if (top == 1 && f == 3) {
			if (ns >= 3 && strcmp(segs[2], "Architecture") && strcmp(segs[2], "OS"))
				why = xasprintf("template field .Node.Platform.%s does not exist (.Node.Platform.Architecture and .Node.Platform.OS do)",
						segs[2]);
			else if (ns > 3)
				why = xasprintf("template .Node.Platform.%s.%s: a string has no fields", segs[2], segs[3]);
		} else if (ns > 2) {
			why = xasprintf("template .%s.%s.%s: a string has no fields", segs[0], segs[1], segs[2]);
		}
	}
	strv_free(&refs);
	return why;
}

/* ---- image references ---- */

static int lower_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int ascii_alnum(int c)
{
	return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static int path_component(const char *p, const char *e)
{
	if (p == e || !lower_alnum(*p))
		return 0;
	while (p < e) {
		while (p < e && lower_alnum(*p))
			p++;
		if (p == e)
			return 1;
		if (*p == '.')
			p++;
		else if (*p == '_')
			p += p + 1 < e && p[1] == '_' ? 2 : 1;
		else if (*p == '-')
			while (p < e && *p == '-')
				p++;
		else
			return 0;
		if (p == e || !lower_alnum(*p))
			return 0;
	}
	return 1;
}

/* path components separated by '/' */
static int remote_name(const char *p, const char *e)
{
	for (;;) {
		const char *sl = memchr(p, '/', (size_t)(e - p));
		if (!path_component(p, sl ? sl : e))
			return 0;
		if (!sl)
			return 1;
		p = sl + 1;
	}
}

/* host names ([a-zA-Z0-9] or [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9], dot
 * separated) and an optional :port (no IPv6 literal: engine 20.10's
 * grammar has none) */
static int domain_part(const char *p, const char *e)
{
	const char *colon = memchr(p, ':', (size_t)(e - p));
	if (colon) {
		if (colon + 1 == e)
			return 0;
		for (const char *q = colon + 1; q < e; q++)
			if (*q < '0' || *q > '9')
				return 0;
		e = colon;
	}
	for (;;) {
		const char *dot = memchr(p, '.', (size_t)(e - p));
		const char *ce = dot ? dot : e;
		if (ce == p || !ascii_alnum(*p) || !ascii_alnum(ce[-1]))
			return 0;
		for (const char *q = p; q < ce; q++)
			if (!ascii_alnum(*q) && *q != '-')
				return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

/* [domain/]remote */
static int image_name(const char *p, const char *e)
{
	if (remote_name(p, e))
		return 1;
	const char *sl = memchr(p, '/', (size_t)(e - p));
	return sl && domain_part(p, sl) && remote_name(sl + 1, e);
}

static int is_word(int c)
{
	return ascii_alnum(c) || c == '_';
}

/* algorithm ":" hex, then go-digest's check of the algorithms it knows */
static const char *digest_problem(const char *dg)
{
	const char *colon = strchr(dg, ':'), *p = dg;
	if (!colon)
		return "invalid reference format";
	for (int first = 1; p < colon; first = 0) { /* [A-Za-z][A-Za-z0-9]* joined by [-_+.] */
		if (!first) {
			if (!strchr("-_+.", *p))
				return "invalid reference format";
			p++;
		}
		if (p == colon || !isalpha((unsigned char)*p))
			return "invalid reference format";
		while (p < colon && isalnum((unsigned char)*p))
			p++;
	}
	size_t hl = strlen(colon + 1);
	if (hl < 32 || strspn(colon + 1, "0123456789abcdefABCDEF") != hl)
		return "invalid reference format";
	static const struct {
		const char *alg;
		size_t len;
	} algs[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++) {
		if ((size_t)(colon - dg) != strlen(algs[i].alg) || strncmp(dg, algs[i].alg, (size_t)(colon - dg)))
			continue;
		if (hl != algs[i].len)
			return "invalid checksum digest length";
		return strspn(colon + 1, "0123456789abcdef") == hl ? NULL : "invalid checksum digest format";
	}
	return "unsupported digest algorithm";
}

/*
 * An image reference as the engine checks it at service create (swarmkit:
 * distribution's ParseNormalizedNamed, engine 20.10's version): NULL, or
 * why not, in the reference package's words.  The grammar:
 *   [domain[:port]/]component[/component...][:tag][@algorithm:hex]
 * component [a-z0-9]+ joined by ".", "_", "__" or dashes; tag
 * [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}; a name of at most 255 characters
 * once docker.io/library/ is added; not 64 hex digits alone.
 */
const char *convert_image_problem(const char *ref)
{
	size_t n = strlen(ref);
	if (!n)
		return "no image specified";
	if (n == 64 && strspn(ref, "0123456789abcdef") == 64)
		return "invalid repository name, cannot specify 64-byte hexadecimal strings";
	/* docker.io is added unless the first component names a registry */
	const char *sl = strchr(ref, '/');
	int has_domain = sl && (memchr(ref, '.', (size_t)(sl - ref)) || memchr(ref, ':', (size_t)(sl - ref)) ||
				((size_t)(sl - ref) == 9 && !strncmp(ref, "localhost", 9)));
	const char *rem = has_domain ? sl + 1 : ref;
	size_t rl = strcspn(rem, ":");
	for (size_t i = 0; i < rl; i++)
		if (rem[i] >= 'A' && rem[i] <= 'Z')
			return "invalid reference format: repository name must be lowercase";
	const char *at = strchr(ref, '@');
	const char *end = at ? at : ref + n;
	const char *lastsl = NULL, *tag = NULL;
	for (const char *p = ref; p < end; p++)
		if (*p == '/')
			lastsl = p;
	for (const char *p = lastsl ? lastsl : ref; p < end; p++)
		if (*p == ':')
			tag = p;
	const char *name_end = tag ? tag : end;
	if (tag) {
		const char *t = tag + 1;
		if (t == end || end - t > 128 || !is_word(*t))
			return "invalid reference format";
		for (const char *p = t; p < end; p++)
			if (!is_word(*p) && *p != '.' && *p != '-')
				return "invalid reference format";
	}
	if (at) {
		const char *why = digest_problem(at + 1);
		if (why)
			return why;
	}
	if (!image_name(ref, name_end))
		return "invalid reference format";
	size_t full = (size_t)(name_end - ref) + (has_domain ? 0 : sl ? 10 : 18); /* docker.io/[library/] */
	if (full > 255)
		return "repository name must not be more than 255 characters";
	return NULL;
}

/* environment -> Env ("K=V" sorted); the keys holding sealed values go in
 * ds->sealed_env and the service's LABEL_SEALED_ENV label */
static void convert_env(struct cctx *c, struct desired *ds, const char *name, const struct ynode *n, json_t *cs,
			json_t *labels)
{
	struct strv env = {0};
	for (size_t i = 0; i < n->n; i++) {
		if (n->v[i]->sealed) {
			json_t *se = json_object_get(ds->sealed_env, name);
			if (!se) {
				se = json_object();
				json_object_set_new(ds->sealed_env, name, se);
			}
			json_object_set_new(se, ynode_str(n->k[i]), json_true());
		}
		const char *ek = ynode_str(n->k[i]);
		/* the node refuses an empty name ("invalid environment
		 * variable: =VALUE", the value quoted); a name with '='
		 * would be cut there, the rest taken for the value */
		if (!*ek)
			cerr(c, n->k[i], "environment: a variable with an empty name (the node would refuse the task)");
		else if (strchr(ek, '='))
			cerr(c, n->k[i], "environment %s: a variable name cannot contain '='", ek);
		if (n->v[i]->kind == Y_NULL) {
			strv_push(&env, xstrdup(ek));
			continue;
		}
		if (n->v[i]->sealed) {
			/* the engine expands {{ }} in values: a sealed value's
			 * are sent as template text that prints them as they
			 * are (compose.c refused any template of the file's own) */
			char *lit = scrub_template_literal(ynode_str(n->v[i]));
			strv_push(&env, xasprintf("%s=%s", ek, lit));
			sodium_memzero(lit, strlen(lit));
			free(lit);
			continue;
		}
		strv_push(&env, xasprintf("%s=%s", ek, ynode_str(n->v[i])));
		char *why = template_problem(ynode_str(n->v[i]));
		if (why)
			cerr(c, n->v[i], "environment %s: %s", ek, why);
		free(why);
	}
	strv_sort(&env);
	json_t *a = json_array();
	for (size_t i = 0; i < env.n; i++)
		json_array_append_new(a, json_string(env.v[i]));
	json_object_set_new(cs, "Env", a);
	json_t *se = json_object_get(ds->sealed_env, name);
	if (se) {
		/* so a later plan redacts these even once the file drops them */
		size_t nk;
		const char **ks = json_sorted_keys(se, &nk);
		struct buf kb;
		buf_init(&kb, 0);
		for (size_t i = 0; i < nk; i++)
			buf_addf(&kb, "%s%s", i ? "," : "", ks[i]);
		json_object_set_new(labels, LABEL_SEALED_ENV, json_string(kb.data));
		buf_free(&kb);
		free(ks);
	}
	for (size_t i = 0; i < env.n; i++)
		sodium_memzero(env.v[i], strlen(env.v[i]));
	strv_free(&env);
}

/* Privileges: a credential spec (one of config, file, registry) */
static json_t *convert_privileges(struct cctx *c, const struct desired *ds, const struct ynode *svc)
{
	const char *s;
	json_t *priv = json_object();
	json_object_set_new(priv, "CredentialSpec", json_null());
	json_object_set_new(priv, "SELinuxContext", json_null());
	json_object_set_new(priv, "NoNewPrivileges", json_false());
	const struct ynode *cred = ynode_get(svc, "credential_spec");
	if (cred && cred->kind == Y_MAP && cred->n) {
		json_t *cj = json_object();
		int cnt = 0;
		static const char *ck[] = {"config", "file", "registry"};
		static const char *cjk[] = {"Config", "File", "Registry"};
		for (int i = 0; i < 3; i++)
			if ((s = gstr(cred, ck[i])) && *s) {
				cnt++;
				/* a config by the object's name; its ID at apply time */
				const char *obj = i ? NULL : file_object_name(ds->configs, ds->ext_configs, s);
				json_object_set_new(cj, cjk[i], json_string(obj ? obj : s));
			}
		if (cnt > 1)
			cerr(c, cred, "invalid credential spec: cannot specify more than one of Config, File, Registry");
		json_object_set_new(priv, "CredentialSpec", cj);
	}
	return priv;
}

/* extra_hosts ("host:ip") -> Hosts ("ip host") */
static json_t *convert_hosts(const struct ynode *n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n->n; i++) {
		const char *h = ynode_str(n->v[i]);
		const char *colon = strchr(h, ':');
		if (colon) {
			char *e = xasprintf("%s %.*s", colon + 1, (int)(colon - h), h);
			json_array_append_new(a, json_string(e));
			free(e);
		}
	}
	return a;
}

static json_t *convert_dns(const struct ynode *svc)
{
	const struct ynode *dns = ynode_get(svc, "dns"), *dnss = ynode_get(svc, "dns_search");
	if (!(dns && dns->n) && !(dnss && dnss->n))
		return NULL;
	json_t *dc = json_object();
	if (dns && dns->n)
		json_object_set_new(dc, "Nameservers", jstrlist(dns));
	if (dnss && dnss->n)
		json_object_set_new(dc, "Search", jstrlist(dnss));
	return dc;
}

/* ulimits, by name: a number sets both limits */
static json_t *convert_ulimits(struct cctx *c, const struct ynode *n)
{
	struct strv names = {0};
	for (size_t i = 0; i < n->n; i++)
		strv_push(&names, xstrdup(ynode_str(n->k[i])));
	strv_sort(&names);
	json_t *a = json_array();
	for (size_t i = 0; i < names.n; i++) {
		const struct ynode *u = ynode_get(n, names.v[i]);
		long long soft = 0, hard = 0;
		if (u->kind == Y_SCALAR) {
			compose_parse_int(u->s, &soft);
			hard = soft;
		} else {
			gint(c, u, "soft", &soft);
			gint(c, u, "hard", &hard);
		}
		json_t *o = json_object();
		json_object_set_new(o, "Name", json_string(names.v[i]));
		json_object_set_new(o, "Hard", json_integer(hard));
		json_object_set_new(o, "Soft", json_integer(soft));
		json_array_append_new(a, o);
	}
	strv_free(&names);
	return a;
}

/* The service's ContainerSpec; labels: the service's, for LABEL_SEALED_ENV */
static json_t *convert_container(struct cctx *c, struct desired *ds, const char *name, const char *image,
				 const struct ynode *svc, json_t *labels)
{
	json_t *cs = json_object();
	/* docker appends :latest to an image with neither tag nor digest */
	const char *lastc = strrchr(image, '/');
	if (*image && !strchr(image, '@') && !strchr(lastc ? lastc : image, ':')) {
		char *tagged = xasprintf("%s:latest", image);
		json_object_set_new(cs, "Image", json_string(tagged));
		free(tagged);
	} else {
		json_object_set_new(cs, "Image", json_string(image));
	}
	json_object_set_new(cs, "Labels", labels_with_ns(c, ynode_get(svc, "labels")));
	const struct ynode *n;
	if ((n = ynode_get(svc, "entrypoint")) && n->n)
		json_object_set_new(cs, "Command", jstrlist(n));
	if ((n = ynode_get(svc, "command")) && n->n)
		json_object_set_new(cs, "Args", jstrlist(n));
	const char *s;
	if ((s = gstr(svc, "hostname")) && *s) {
		char *why = template_problem(s);
		if (why)
			cerr(c, ynode_get(svc, "hostname"), "hostname: %s", why);
		free(why);
		json_object_set_new(cs, "Hostname", json_string(s));
	}
	if ((n = ynode_get(svc, "environment")) && n->n)
		convert_env(c, ds, name, n, cs, labels);
	if ((s = gstr(svc, "working_dir")) && *s)
		json_object_set_new(cs, "Dir", json_string(s));
	if ((s = gstr(svc, "user")) && *s)
		json_object_set_new(cs, "User", json_string(s));
	json_object_set_new(cs, "Privileges", convert_privileges(c, ds, svc));
	if ((n = ynode_get(svc, "init")))
		json_object_set_new(cs, "Init", json_boolean(compose_get_bool(svc, "init")));
	if ((s = gstr(svc, "stop_signal")) && *s)
		json_object_set_new(cs, "StopSignal", json_string(s));
	if (compose_get_bool(svc, "tty"))
		json_object_set_new(cs, "TTY", json_true());
	if (compose_get_bool(svc, "stdin_open"))
		json_object_set_new(cs, "OpenStdin", json_true());
	if (compose_get_bool(svc, "read_only"))
		json_object_set_new(cs, "ReadOnly", json_true());
	json_t *mounts = convert_mounts(c, svc);
	if (json_array_size(mounts))
		json_object_set_new(cs, "Mounts", mounts);
	else
		json_decref(mounts);
	long long v;
	if (gdur(c, svc, "stop_grace_period", &v) == GOT_SET)
		json_object_set_new(cs, "StopGracePeriod", json_integer(v));
	set_if(cs, "Healthcheck", convert_health(c, ynode_get(svc, "healthcheck")));
	if ((n = ynode_get(svc, "extra_hosts")) && n->n)
		json_object_set_new(cs, "Hosts", convert_hosts(n));
	set_if(cs, "DNSConfig", convert_dns(svc));
	json_t *sr = convert_refs(c, svc, "secrets", ds->secrets, ds->ext_secrets);
	if (json_array_size(sr))
		json_object_set_new(cs, "Secrets", sr);
	else
		json_decref(sr);
	json_t *cr = convert_refs(c, svc, "configs", ds->configs, ds->ext_configs);
	if (json_array_size(cr))
		json_object_set_new(cs, "Configs", cr);
	else
		json_decref(cr);
	if ((s = gstr(svc, "isolation")) && *s)
		json_object_set_new(cs, "Isolation", json_string(s));
	if ((n = ynode_get(svc, "sysctls")) && n->n)
		json_object_set_new(cs, "Sysctls", jstrmap(n));
	caps(ynode_get(svc, "cap_add"), ynode_get(svc, "cap_drop"), cs);
	if ((n = ynode_get(svc, "ulimits")) && n->kind == Y_MAP && n->n)
		json_object_set_new(cs, "Ulimits", convert_ulimits(c, n));
	if (gint(c, svc, "oom_score_adj", &v) == GOT_SET && v)
		json_object_set_new(cs, "OomScoreAdj", json_integer(v));
	return cs;
}

static json_t *convert_log_driver(const struct ynode *svc)
{
	const struct ynode *lg = ynode_get(svc, "logging");
	if (!lg || lg->kind != Y_MAP)
		return NULL;
	json_t *ld = json_object();
	json_object_set_new(ld, "Name", json_string(ynode_str(ynode_get(lg, "driver"))));
	if (ynode_get(lg, "options"))
		json_object_set_new(ld, "Options", jstrmap(ynode_get(lg, "options")));
	return ld;
}

static json_t *convert_placement(struct cctx *c, const struct ynode *dep)
{
	const struct ynode *n;
	long long v;
	json_t *pl = json_object();
	const struct ynode *place = dep ? ynode_get(dep, "placement") : NULL;
	if (place && place->kind == Y_MAP) {
		if ((n = ynode_get(place, "constraints")) && n->n)
			json_object_set_new(pl, "Constraints", jstrlist(n));
		if ((n = ynode_get(place, "preferences")) && n->n) {
			json_t *a = json_array();
			for (size_t i = 0; i < n->n; i++) {
				json_t *sp = json_object(), *p = json_object();
				json_object_set_new(sp, "SpreadDescriptor", json_string(ynode_str(ynode_get(n->v[i], "spread"))));
				json_object_set_new(p, "Spread", sp);
				json_array_append_new(a, p);
			}
			json_object_set_new(pl, "Preferences", a);
		}
		if (gint(c, place, "max_replicas_per_node", &v) == GOT_SET && v)
			json_object_set_new(pl, "MaxReplicas", json_integer(v));
	}
	return pl;
}

/* EndpointSpec: the mode (vip, dnsrr) and the published ports */
static json_t *convert_endpoint(struct cctx *c, const struct ynode *svc, const struct ynode *dep)
{
	json_t *ep = json_object();
	const char *em = dep ? gstr(dep, "endpoint_mode") : NULL;
	if (em && *em) {
		char *low = xstrdup(em);
		for (char *p = low; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		json_object_set_new(ep, "Mode", json_string(low));
		free(low);
	}
	check_ports(c, ynode_get(svc, "ports"), em && !strcasecmp(em, "dnsrr"));
	json_t *ports = convert_ports(c, svc);
	if (json_array_size(ports))
		json_object_set_new(ep, "Ports", ports);
	else
		json_decref(ports);
	return ep;
}

static void convert_service(struct cctx *c, struct desired *ds, const char *key, const struct ynode *svc,
			    struct strv *used_nets)
{
	c->svc = key;
	char *name = scope(c, key);
	const char *bad_name = dns_name_problem(name);
	if (bad_name)
		cerr(c, ynode_key(ynode_get(c->root, "services"), key), "name %s: %s", name, bad_name);
	const struct ynode *dep = ynode_get(svc, "deploy");
	const char *image = gstr(svc, "image");
	const char *bad_ref;
	if (!image || !*image) {
		cerr(c, svc, "invalid image reference for service %s: no image specified", key);
		image = "";
	} else if ((bad_ref = convert_image_problem(image))) {
		cerr(c, ynode_get(svc, "image"), "invalid image reference for service %s: %s", key, bad_ref);
	}
	json_t *spec = json_object();
	json_object_set_new(spec, "Name", json_string(name));
	json_t *labels = labels_with_ns(c, dep ? ynode_get(dep, "labels") : NULL);
	json_object_set_new(labels, LABEL_IMAGE, json_string(image));
	json_object_set_new(spec, "Labels", labels);

	json_t *tt = json_object();
	json_object_set_new(tt, "ContainerSpec", convert_container(c, ds, name, image, svc, labels));

	set_if(tt, "LogDriver", convert_log_driver(svc));
	json_object_set_new(tt, "Resources", convert_resources(c, dep));
	set_if(tt, "RestartPolicy", convert_restart(c, svc, dep));
	json_object_set_new(tt, "Placement", convert_placement(c, dep));
	json_object_set_new(tt, "Networks", convert_svc_networks(c, svc, key, used_nets));
	json_object_set_new(tt, "ForceUpdate", json_integer(0));
	json_object_set_new(spec, "TaskTemplate", tt);

	int replicas_set;
	json_object_set_new(spec, "Mode", convert_mode(c, dep, &replicas_set));
	if (!replicas_set)
		json_object_set_new(ds->replicas_unset, name, json_true());
	const struct ynode *uc = dep ? ynode_get(dep, "update_config") : NULL;
	if (uc && uc->kind == Y_MAP &&
	    (json_object_get(json_object_get(spec, "Mode"), "ReplicatedJob") ||
	     json_object_get(json_object_get(spec, "Mode"), "GlobalJob")))
		cerr(c, ynode_key(dep, "update_config"), "jobs may not have an update_config");
	set_if(spec, "UpdateConfig", convert_update(c, uc));
	set_if(spec, "RollbackConfig", convert_update(c, dep ? ynode_get(dep, "rollback_config") : NULL));
	json_object_set_new(spec, "EndpointSpec", convert_endpoint(c, svc, dep));
	json_object_set_new(ds->services, name, spec);
	free(name);
	c->svc = NULL;
}

static void label_managed(json_t *objs, const char *path)
{
	const char *k;
	json_t *v;
	json_object_foreach(objs, k, v) {
		json_t *o = v;
		if (path)
			o = json_object_get(v, path);
		json_t *l = json_object_get(o, "Labels");
		json_object_set_new(l, LABEL_MANAGED, json_string("true"));
	}
}

int convert_stack(const char *stack, const struct ynode *model, const struct convert_opts *o,
		  struct desired **out, struct diags *d)
{
	struct cctx c = {.stack = stack, .o = o, .root = model, .d = d};
	size_t before = d->nerrors;
	struct desired *ds = xcalloc(1, sizeof *ds);
	ds->stack = xstrdup(stack);
	ds->networks = json_object();
	ds->ext_networks = json_object();
	ds->secrets = json_object();
	ds->configs = json_object();
	ds->ext_secrets = json_object();
	ds->ext_configs = json_object();
	ds->services = json_object();
	ds->replicas_unset = json_object();
	ds->sealed_env = json_object();
	*out = NULL;
	const char *bad = convert_stack_name_problem(stack);
	if (bad)
		cerr(&c, NULL, "invalid stack name \"%s\": %s", stack, bad);

	convert_file_objects(&c, "secrets", ds->secrets, ds->ext_secrets);
	convert_file_objects(&c, "configs", ds->configs, ds->ext_configs);
	const struct ynode *svcs = ynode_get(model, "services");
	struct strv used = {0};
	/* services in name order: deterministic messages and network order */
	struct strv keys = {0};
	for (size_t i = 0; svcs && svcs->kind == Y_MAP && i < svcs->n; i++)
		strv_push(&keys, xstrdup(ynode_str(svcs->k[i])));
	strv_sort(&keys);
	for (size_t i = 0; i < keys.n; i++)
		convert_service(&c, ds, keys.v[i], ynode_get(svcs, keys.v[i]), &used);
	strv_free(&keys);
	strv_sort(&used);
	convert_networks(&c, ds, &used);
	strv_free(&used);
	if (o->repo_mode) {
		label_managed(ds->networks, NULL);
		label_managed(ds->secrets, "spec");
		label_managed(ds->configs, "spec");
		label_managed(ds->services, NULL);
	}
	if (d->nerrors > before && !o->keep_invalid) {
		desired_free(ds);
		return -1;
	}
	*out = ds;
	return d->nerrors > before ? -1 : 0;
}

static void wipe_string(json_t *s)
{
	if (json_is_string(s))
		sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

void desired_free(struct desired *ds)
{
	if (!ds)
		return;
	/* the plaintexts it holds (secret and config contents, opened sealed
	 * environment values) are zeroed before jansson frees them; apply
	 * wipes its own copies of the bodies */
	const char *k;
	json_t *v;
	json_t *files[] = {ds->secrets, ds->configs};
	for (int i = 0; i < 2; i++)
		json_object_foreach(files[i], k, v)
			wipe_string(json_object_get(json_object_get(v, "spec"), "Data"));
	json_object_foreach(ds->sealed_env, k, v) {
		json_t *cs = json_object_get(json_object_get(json_object_get(ds->services, k), "TaskTemplate"), "ContainerSpec");
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(cs, "Env"), i, e) {
			const char *t = json_string_value(e), *eq = t ? strchr(t, '=') : NULL;
			char *name = eq ? xstrndup(t, (size_t)(eq - t)) : NULL;
			if (name && json_object_get(v, name))
				wipe_string(e);
			free(name);
		}
	}
	free(ds->stack);
	json_decref(ds->networks);
	json_decref(ds->ext_networks);
	json_decref(ds->secrets);
	json_decref(ds->configs);
	json_decref(ds->ext_secrets);
	json_decref(ds->ext_configs);
	json_decref(ds->services);
	json_decref(ds->replicas_unset);
	json_decref(ds->sealed_env);
	free(ds);
}
