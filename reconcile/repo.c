#include "repo.h"
#include "envfile.h"
#include "objdata.h"
#include "scrub.h"
#include "source.h"
#include "waves.h"

#include <sodium.h>

#include "../secrets/seal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

const char *var_lookup(void *ctx, const char *name)
{
	struct var_ctx *vc = ctx;
	return vc->vars ? json_string_value(json_object_get(vc->vars, name)) : getenv(name);
}

const char *var_sealed(void *ctx, const char *path, char **err)
{
	struct var_ctx *vc = ctx;
	struct diags d = {0};
	struct ynode pos = {0};
	char *data = NULL, *res = NULL;
	size_t len;
	if (compose_read_rel(vc->co, path, &pos, &d, &data, &len) < 0) {
		*err = xstrdup(d.n ? d.v[0].msg : path);
		diags_free(&d);
		return NULL;
	}
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t bl = strlen(base);
	if (str_has_suffix(base, ".sealed"))
		bl -= 7;
	char *scope = xasprintf("%s/%.*s", vc->stack, (int)bl, base);
	if (vc->key) {
		unsigned char *p;
		size_t pl;
		if (seal_open(data, len, scope, vc->key, &p, &pl, err) == 0) {
			if (memchr(p, 0, pl)) {
				*err = xstrdup("a sealed value used in a string must not contain NUL bytes");
			} else if (pl < SCRUB_MIN) {
				*err = xasprintf("a sealed environment value must be at least %d bytes long (a shorter "
						 "one could not be told apart in the messages it must be kept out of)",
						 SCRUB_MIN);
			} else {
				res = xstrndup((char *)p, pl);
				unsigned char rkey[32];
				seal_redact_key(vc->key, rkey);
				scrub_add_sealed(rkey, p, pl);
				sodium_memzero(rkey, sizeof rkey);
			}
			seal_free_plain(p, pl);
		}
	} else if (vc->check_only) {
		/* stands for the value: changes with the sealed file, says nothing */
		char fp[13];
		seal_fingerprint(data, len, fp);
		if (seal_check(data, len, scope, err) == 0)
			res = xasprintf("(sealed %s)", fp);
	} else {
		*err = xstrdup("is sealed: give the private key with --key FILE (or SHOAL_KEY_FILE)");
	}
	if (!res && *err) {
		char *e = xasprintf("%s: %s", path, *err);
		free(*err);
		*err = e;
	}
	free(scope);
	free(data);
	if (res)
		strv_push(&vc->opened, res);
	return res;
}

void var_ctx_wipe(struct var_ctx *vc)
{
	for (size_t i = 0; i < vc->opened.n; i++)
		sodium_memzero(vc->opened.v[i], strlen(vc->opened.v[i]));
	strv_free(&vc->opened);
}

static void set_var(void *ctx, const char *key, const char *value, int line)
{
	(void)line;
	json_object_set_new(ctx, key, json_string(value));
}

int vars_parse(const char *file, const char *data, size_t len, json_t *vars, struct diags *d)
{
	return envfile_parse(file, data, len, ENVFILE_VARS, set_var, vars, d);
}

/* path relative to the source; a missing file is fine. */
static int load_vars(const struct source *src, const char *path, json_t *vars, struct diags *d)
{
	char *data, *err = NULL;
	size_t len;
	struct strv here = {0};
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path)) : xstrdup("");
	int present = 0;
	source_list(src, dir, SOURCE_FILES, &here);
	for (size_t i = 0; i < here.n; i++)
		present |= !strcmp(here.v[i], slash ? slash + 1 : path);
	strv_free(&here);
	free(dir);
	if (!present)
		return 0;
	char *shown = xasprintf("%s%s", source_prefix(src), path);
	int r = -1;
	if (source_read(src, path, COMPOSE_MAX_FILE, &data, &len, &err) < 0) {
		diags_add(d, DIAG_ERROR, shown, 0, 0, "%s", err);
		free(err);
	} else {
		r = vars_parse(shown, data, len, vars, d);
		free(data);
	}
	free(shown);
	return r;
}

static int is_compose_name(const char *n)
{
	return str_has_suffix(n, ".yml") || str_has_suffix(n, ".yaml");
}

int stack_convert(const char *stack, const struct ynode *model, const struct objdata_opts *oo,
		  const struct convert_opts *o, struct desired **ds, struct diags *d)
{
	/* the contents of secrets and configs: read and opened before
	 * conversion, which reads nothing */
	struct stack_objdata data;
	int lr = objdata_load(stack, model, oo, &data, d);
	struct convert_opts cvo = *o;
	cvo.data = &data;
	int cr = convert_stack(stack, model, &cvo, ds, d);
	if (lr < 0 && !o->keep_invalid) {
		desired_free(*ds);
		*ds = NULL;
	}
	objdata_free(&data);
	return lr < 0 || cr < 0 ? -1 : 0;
}

/* stack_compose; a repository's stack (deps_into) gets its x-shoal order
 * and its hooks checked (waves.h) */
static int compose_stack(const char *stack, const struct compose_file *files, size_t n, const struct compose_opts *co,
			 const struct objdata_opts *oo, const struct convert_opts *o, struct repo_stack *deps_into,
			 struct desired **ds, struct diags *d)
{
	struct ynode *model = NULL;
	*ds = NULL;
	int lr = compose_load(files, n, co, &model, d);
	/* after errors too: every error at once */
	int cr = model ? stack_convert(stack, model, oo, o, ds, d) : -1;
	if (model && deps_into && waves_parse(model, *ds, deps_into, d) < 0)
		lr = -1;
	if (lr < 0 && !o->keep_invalid) {
		desired_free(*ds);
		*ds = NULL;
	}
	ynode_free(model);
	return lr < 0 || cr < 0 ? -1 : 0;
}

int stack_compose(const char *stack, const struct compose_file *files, size_t n, const struct compose_opts *co,
		  const struct objdata_opts *oo, const struct convert_opts *o, struct desired **ds, struct diags *d)
{
	return compose_stack(stack, files, n, co, oo, o, NULL, ds, d);
}

int stack_load(const struct stack_files *sf, const struct repo_opts *ro, struct desired **ds, struct diags *d)
{
	struct var_ctx vc = {.vars = sf->vars, .key = ro->key, .check_only = ro->check_only, .stack = sf->stack};
	struct compose_opts co = {.lookup = var_lookup, .sealed = var_sealed, .lookup_ctx = &vc,
				  .workdir = sf->workdir, .src = sf->src};
	vc.co = &co;
	struct objdata_opts oo = {.copts = &co, .key = ro->key, .check_only = ro->check_only};
	struct convert_opts cvo = {.copts = &co, .repo_mode = sf->repo_mode, .keep_invalid = sf->keep_invalid};
	int r = compose_stack(sf->stack, sf->files, sf->n, &co, &oo, &cvo, sf->deps_into, ds, d);
	var_ctx_wipe(&vc);
	return r;
}

static struct desired *load_stack(const struct source *src, const char *name, json_t *base_vars,
				  const struct repo_opts *ro, struct repo_stack *st, struct diags *d)
{
	char *sdir = xasprintf("stacks/%s", name);
	char *shown_dir = xasprintf("%s%s", source_prefix(src), sdir);
	struct strv files = {0};
	struct desired *ds = NULL;
	json_t *vars = json_deep_copy(base_vars);
	char *vpath = xasprintf("%s/%s", sdir, REPO_VARS_FILE);
	struct compose_file *cf = NULL;
	char **datas = NULL;
	char **names = NULL;
	size_t before = d->nerrors;
	const char *bad = convert_stack_name_problem(name);
	if (bad) {
		diags_add(d, DIAG_ERROR, shown_dir, 0, 0, "invalid stack name \"%s\": %s", name, bad);
		goto out;
	}
	load_vars(src, vpath, vars, d);
	struct strv all = {0};
	source_list(src, sdir, SOURCE_FILES, &all);
	for (size_t i = 0; i < all.n; i++)
		if (is_compose_name(all.v[i]))
			strv_push(&files, xstrdup(all.v[i]));
	strv_free(&all);
	if (files.n == 0) {
		diags_add(d, DIAG_ERROR, shown_dir, 0, 0, "stack %s has no compose files (*.yml, *.yaml)", name);
		goto out;
	}
	cf = xcalloc(files.n, sizeof *cf);
	datas = xcalloc(files.n, sizeof *datas);
	names = xcalloc(files.n, sizeof *names);
	for (size_t i = 0; i < files.n; i++) {
		names[i] = xasprintf("%s/%s", shown_dir, files.v[i]);
		char *path = xasprintf("%s/%s", sdir, files.v[i]), *err = NULL;
		size_t len = 0;
		if (source_read(src, path, COMPOSE_MAX_FILE, &datas[i], &len, &err) < 0) {
			diags_add(d, DIAG_ERROR, names[i], 0, 0, "%s", err);
			free(err);
			datas[i] = xstrdup("");
		}
		free(path);
		cf[i].name = names[i];
		cf[i].data = datas[i];
		cf[i].len = len;
	}
	if (d->nerrors > before)
		goto out;
	struct stack_files sf = {.stack = name, .files = cf, .n = files.n, .vars = vars, .workdir = sdir, .src = src,
				 .repo_mode = 1, .deps_into = st};
	stack_load(&sf, ro, &ds, d);
out:
	for (size_t i = 0; i < files.n; i++) {
		if (datas)
			free(datas[i]);
		if (names)
			free(names[i]);
	}
	free(datas);
	free(names);
	free(cf);
	strv_free(&files);
	free(vpath);
	json_decref(vars);
	free(sdir);
	free(shown_dir);
	return ds;
}

/* The same_as stack called name, when it was valid and each of its inputs
 * has the same fingerprint in src. */
static const struct repo_stack *same_inputs(const struct source *src, const struct repo *was, const char *name)
{
	if (!was || !source_commit(src))
		return NULL;
	const struct repo_stack *st = NULL;
	for (size_t i = 0; i < was->n && !st; i++)
		if (!strcmp(was->stacks[i].name, name))
			st = &was->stacks[i];
	if (!st || !st->ds || !st->inputs || !json_object_size(st->inputs))
		return NULL;
	const char *path;
	json_t *fp;
	json_object_foreach(st->inputs, path, fp) {
		char *now = source_fingerprint(src, path);
		int same = now && !strcmp(now, json_string_value(fp));
		free(now);
		if (!same)
			return NULL;
	}
	return st;
}

int repo_load(const struct source *src, const struct repo_opts *o, struct repo *r, struct diags *d)
{
	memset(r, 0, sizeof *r);
	struct strv names = {0};
	if (source_list(src, "stacks", SOURCE_DIRS, &names) < 0) {
		diags_add(d, DIAG_ERROR, *source_prefix(src) ? source_prefix(src) : ".", 0, 0,
			  "not a shoal repository: no stacks/ directory");
		return -1;
	}
	json_t *vars = json_object();
	/* every stack reads these: when the file is refused, none is loaded
	 * (it would be with variables missing or empty) */
	int vars_bad = load_vars(src, REPO_VARS_FILE, vars, d) < 0;
	r->stacks = xcalloc(names.n ? names.n : 1, sizeof *r->stacks);
	for (size_t i = 0; i < names.n; i++) {
		struct repo_stack *st = &r->stacks[r->n++];
		st->name = xstrdup(names.v[i]);
		/* the engine's names are case-insensitive: Foo_web and foo_web
		 * are one service, which neither stack would own */
		const char *twin = NULL;
		for (size_t k = 0; k < names.n && !twin; k++)
			if (k != i && !strcasecmp(names.v[k], names.v[i]))
				twin = names.v[k];
		if (twin) {
			char *shown = xasprintf("%sstacks/%s", source_prefix(src), names.v[i]);
			diags_add(d, DIAG_ERROR, shown, 0, 0,
				  "stacks %s and %s differ only by case: the engine's names are case-insensitive, their objects would be the same; rename one",
				  names.v[i], twin);
			free(shown);
			continue;
		}
		const struct repo_stack *was = same_inputs(src, o->same_as, names.v[i]);
		if (was) {
			st->ds = was->ds;
			st->shared = 1;
			st->inputs = json_incref(was->inputs);
			st->deps = json_deep_copy(was->deps);
			continue;
		}
		if (o->record_inputs && source_commit(src)) {
			/* its folder as a whole, the shared variables, and then
			 * every file the stack reads (from anywhere in the tree) */
			st->inputs = json_object();
			char *sdir = xasprintf("stacks/%s", names.v[i]);
			char *f = source_fingerprint(src, sdir);
			json_object_set_new(st->inputs, sdir, json_string(f));
			free(f);
			f = source_fingerprint(src, REPO_VARS_FILE);
			json_object_set_new(st->inputs, REPO_VARS_FILE, json_string(f));
			free(f);
			free(sdir);
			source_record(src, st->inputs);
		}
		if (vars_bad) {
			char *shown = xasprintf("%sstacks/%s", source_prefix(src), names.v[i]);
			diags_add(d, DIAG_ERROR, shown, 0, 0, "not loaded: %s%s has errors", source_prefix(src),
				  REPO_VARS_FILE);
			free(shown);
		} else {
			st->ds = load_stack(src, names.v[i], vars, o, st, d);
		}
		source_record(src, NULL);
	}
	/* a symbolic link in stacks/ is a stack that cannot be read: invalid,
	 * so that it is neither applied nor taken as removed (and pruned) */
	struct strv links = {0};
	source_list(src, "stacks", SOURCE_LINKS, &links);
	if (links.n)
		r->stacks = xrealloc(r->stacks, (r->n + links.n) * sizeof *r->stacks);
	for (size_t i = 0; i < links.n; i++) {
		char *shown = xasprintf("%sstacks/%s", source_prefix(src), links.v[i]);
		diags_add(d, DIAG_ERROR, shown, 0, 0, "a symbolic link: a stack must be a directory of the repository");
		free(shown);
		r->stacks[r->n].name = xstrdup(links.v[i]);
		r->stacks[r->n++].ds = NULL;
	}
	strv_free(&links);
	json_decref(vars);
	strv_free(&names);
	/* the order between stacks: unknown names and cycles */
	waves_check(r, d);
	return 0;
}

void repo_free(struct repo *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->stacks[i].name);
		free(r->stacks[i].error);
		if (!r->stacks[i].shared)
			desired_free(r->stacks[i].ds);
		json_decref(r->stacks[i].inputs);
		json_decref(r->stacks[i].deps);
	}
	free(r->stacks);
	memset(r, 0, sizeof *r);
}
