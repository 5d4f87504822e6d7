/*
 * compose.c - the compose loader's driver: each file read, interpolated,
 * checked against the schema (compose_schema.c), normalised
 * (compose_normalize.c), then merged over the first (compose_merge.c).
 * Also here: interpolation with its sealed-value rules, reading the files
 * a compose file names (compose_read_rel), the scalar helpers.
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
#include "compose_normalize.h"
#include "compose_schema.h"
#include "source.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
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

int compose_get_bool(const struct ynode *m, const char *k)
{
	const struct ynode *n = ynode_get(m, k);
	int b = 0;
	if (n && n->kind == Y_SCALAR)
		compose_parse_bool(n->s, &b);
	return b;
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

/* A string form of a scalar the way Go's fmt.Sprint prints YAML values. */
char *compose_scalar_text(const struct ynode *n)
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

/* ---------------- interpolation ---------------- */

struct ictx {
	const struct compose_opts *o;
	struct diags *d;
	struct compose_bad *bad;
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
				compose_bad_add(c->bad, n);
				return;
			}
			if (sealed_misuse(c, n, path, w)) {
				compose_bad_add(c->bad, n);
				return;
			}
		}
		struct strv unset = {0};
		struct interp_opts io = {c->o->lookup, env ? c->o->sealed : NULL, c->o->lookup_ctx, &used, &unset};
		if (interp_expand(n->s, &io, &out, &err) < 0) {
			diags_add(c->d, DIAG_ERROR, n->file, n->line, n->col, "%s: %s", path, err);
			free(err);
			strv_free(&unset);
			compose_bad_add(c->bad, n);
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

/* ---------------- driver ---------------- */

int compose_load(const struct compose_file *files, size_t n, const struct compose_opts *o,
		 struct ynode **out, struct diags *d)
{
	struct ynode *merged = NULL;
	char *version = NULL; /* a copy: the first file's tree may be freed or merged over */
	size_t errors_before = d->nerrors;
	*out = NULL;
	struct compose_seen seen = {0};
	struct compose_bad bad = {0};
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
		char *v = compose_schema_version(root);
		const struct ynode *vat = ynode_get(root, "version") ? ynode_get(root, "version") : root;
		if (!version) {
			version = xstrdup(v);
		} else if (strcmp(version, v) != 0) {
			diags_add(d, DIAG_ERROR, vat->file, vat->line, vat->col,
				  "version mismatched between two composefiles : %s and %s", version, v);
		}
		free(v);
		compose_schema_options(root, d, &seen);
		int minor;
		if (compose_schema_minor(version, &minor) < 0) {
			if (i == 0) /* once: no file can be checked */
				diags_add(d, DIAG_ERROR, vat->file, vat->line, vat->col,
					  "unsupported Compose file version: %s", version);
			ynode_free(root);
			continue;
		}
		struct ictx ic = {o, d, &bad};
		interpolate(&ic, root);
		compose_schema_check(root, version, minor, d, &bad);
		compose_bad_prune(root, &bad);
		compose_normalize(o, root, d);
		if (!merged) {
			merged = root;
		} else {
			compose_merge_files(merged, root);
			ynode_free(root);
		}
	}
	compose_schema_summary(&seen, d);
	free(version);
	compose_bad_free(&bad);
	*out = merged;
	return d->nerrors > errors_before ? -1 : 0;
}
