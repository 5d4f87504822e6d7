/*
 * Hostile repository input (issue 15, items 6 and 10): vars.env and
 * env_file files with byte-order marks, invalid UTF-8, NUL bytes and CRLF;
 * compose files with byte-order marks; undefined variables; image
 * references and object names as the engine checks them, before any write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "scratch.h"
#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
#include "../../reconcile/plan.h"
#include "../../reconcile/repo.h"
#include "../../reconcile/source.h"

static int setup(void **state)
{
	(void)state;
	return scratch_make("secrepo");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static int has(const struct diags *d, int level, const char *file_end, int line, int col, const char *frag)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if ((int)g->level == level && g->line == line && g->col == col && strstr(g->msg, frag) &&
		    (!file_end || (g->file && str_has_suffix(g->file, file_end))))
			return 1;
	}
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  have %s %s:%d:%d %s\n", d->v[i].level == DIAG_ERROR ? "error" : "warning",
			d->v[i].file ? d->v[i].file : "-", d->v[i].line, d->v[i].col, d->v[i].msg);
	return 0;
}

static size_t n_errors(const struct diags *d)
{
	return d->nerrors;
}

/* Load tmp as a repository; the named stack's desired state (or NULL). */
static const struct desired *load_repo(struct repo *r, struct diags *d, const char *stack)
{
	struct source *src = NULL;
	char *err = NULL;
	assert_int_equal(source_dir_new(&src, tmp, &err), 0);
	struct repo_opts ro = {0};
	assert_int_equal(repo_load(src, &ro, r, d), 0);
	source_free(src);
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->stacks[i].name, stack))
			return r->stacks[i].ds;
	return NULL;
}

static const char *image_of(const struct desired *ds, const char *svc)
{
	json_t *s = json_object_get(ds->services, svc);
	return json_string_value(json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec"), "Image"));
}

static const char *app_yml = "version: '3.8'\n"
			     "services:\n"
			     "  web:\n"
			     "    image: \"local/busybox:${TAG}\"\n";

/* vars.env: what used to drop or empty variables is refused, positioned */
static void test_vars_env_hostile(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		long len;
		int line, col;
		const char *frag;
	} cases[] = {
		{"\xef\xbb\xbfTAG=1\n", -1, 1, 1, "byte-order mark"},
		{"A=1\nTAG=1\xff\n", -1, 2, 6, "invalid UTF-8"},
		{"A=1\nTAG=\xc3\xa9\xe2\x82\n", -1, 2, 6, "invalid UTF-8"},
		{"A=1\nTAG=\xed\xa0\x80\n", -1, 2, 5, "invalid UTF-8"}, /* a surrogate */
		{"A=1\nTAG=\xc0\xaf\n", -1, 2, 5, "invalid UTF-8"},	/* overlong */
		{"TAG=1\nB=x\0y\n", 12, 2, 4, "NUL"},
		{"A=1\0\nTAG=1\n", 10, 1, 4, "NUL"},
		{"TAG =1\n", -1, 1, 1, "contains whitespaces"},
		{"T-G=1\n", -1, 1, 1, "not a variable name"},
		{"=1\n", -1, 1, 1, "no variable name"},
		{"TAG\n", -1, 1, 1, "expected KEY=VALUE"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		scratch_clean();
		scratch_put("stacks/app/app.yml", app_yml, -1);
		scratch_put("vars.env", cases[i].data, cases[i].len);
		struct repo r;
		struct diags d = {0};
		const struct desired *ds = load_repo(&r, &d, "app");
		if (ds)
			fail_msg("case %zu: the stack loaded (image %s)", i, image_of(ds, "app_web"));
		if (!has(&d, DIAG_ERROR, "vars.env", cases[i].line, cases[i].col, cases[i].frag))
			fail_msg("case %zu: no error %s at %d:%d", i, cases[i].frag, cases[i].line, cases[i].col);
		repo_free(&r);
		diags_free(&d);
	}
	/* the same in a stack's own vars.env */
	scratch_clean();
	scratch_put("stacks/app/app.yml", app_yml, -1);
	scratch_put("stacks/app/vars.env", "\xef\xbb\xbfTAG=1\n", -1);
	struct repo r;
	struct diags d = {0};
	assert_null(load_repo(&r, &d, "app"));
	assert_true(has(&d, DIAG_ERROR, "stacks/app/vars.env", 1, 1, "byte-order mark"));
	repo_free(&r);
	diags_free(&d);
}

/* CRLF line ends, comments and leading blanks are fine */
static void test_vars_env_crlf(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/app/app.yml", app_yml, -1);
	scratch_put("vars.env", "# c\r\n\r\n  TAG=1.2\r\nX=a\rb\r\n", -1);
	struct repo r;
	struct diags d = {0};
	const struct desired *ds = load_repo(&r, &d, "app");
	assert_non_null(ds);
	assert_string_equal(image_of(ds, "app_web"), "local/busybox:1.2");
	assert_int_equal(n_errors(&d), 0);
	repo_free(&r);
	diags_free(&d);
}

static const struct desired *stack_ds(const struct repo *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->stacks[i].name, name))
			return r->stacks[i].ds;
	return NULL;
}

/* a top-level vars.env that is refused makes every stack invalid */
static void test_vars_env_top_invalid_stops_all(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/app/app.yml", app_yml, -1);
	scratch_put("stacks/other/other.yml", "services: {x: {image: busybox}}\n", -1);
	scratch_put("vars.env", "TAG=1\nB=\xff\n", -1);
	struct repo r;
	struct diags d = {0};
	load_repo(&r, &d, "app");
	assert_int_equal(r.n, 2);
	assert_null(stack_ds(&r, "app"));
	assert_null(stack_ds(&r, "other"));
	assert_true(has(&d, DIAG_ERROR, "vars.env", 2, 3, "invalid UTF-8"));
	repo_free(&r);
	diags_free(&d);
}

/* Load compose text from tmp/stack.yml (env files beside it) as stack st. */
static struct desired *load_compose(const char *text, long len, struct diags *d)
{
	scratch_put("stack.yml", text, len);
	char *path = xasprintf("%s/stack.yml", tmp), *data = NULL;
	size_t n = 0;
	assert_int_equal(read_file(path, COMPOSE_MAX_FILE, &data, &n), 0);
	struct compose_file f = {path, data, n};
	struct compose_opts co = {.lookup = NULL, .workdir = tmp};
	struct var_ctx vc = {.vars = json_pack("{s:s}", "FROMVARS", "v")};
	co.lookup = var_lookup;
	co.lookup_ctx = &vc;
	vc.co = &co;
	struct objdata_opts oo = {.copts = &co};
	struct convert_opts cvo = {.copts = &co};
	struct desired *ds;
	stack_compose("st", &f, 1, &co, &oo, &cvo, &ds, d);
	json_decref(vc.vars);
	free(data);
	free(path);
	return ds;
}

static const char *env_of(const struct desired *ds, size_t i)
{
	json_t *s = json_object_get(ds->services, "st_web");
	json_t *env = json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec"), "Env");
	return json_string_value(json_array_get(env, i));
}

static size_t env_n(const struct desired *ds)
{
	json_t *s = json_object_get(ds->services, "st_web");
	return json_array_size(json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec"), "Env"));
}

static const char *env_yml = "version: '3.8'\n"
			     "services:\n"
			     "  web:\n"
			     "    image: busybox\n"
			     "    env_file: app.env\n";

/* env_file as docker reads it (CLI 28 pkg/kvfile): a BOM at the start is
 * dropped, CR before LF dropped, leading Unicode spaces trimmed, a bare
 * KEY taken from the variables; invalid UTF-8 and whitespace in a name
 * refused, here with the env file's own position */
static void test_env_file_docker_rules(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("app.env", "\xef\xbb\xbf" "A=1\r\n\x0b" "B=2\n\xc2\xa0" "C=x\ry\nFROMVARS\nUNSET\n# c\n", -1);
	struct diags d = {0};
	struct desired *ds = load_compose(env_yml, -1, &d);
	assert_non_null(ds);
	assert_int_equal(env_n(ds), 4);
	assert_string_equal(env_of(ds, 0), "A=1");
	assert_string_equal(env_of(ds, 1), "B=2");
	assert_string_equal(env_of(ds, 2), "C=x\ry");
	assert_string_equal(env_of(ds, 3), "FROMVARS=v");
	desired_free(ds);
	diags_free(&d);

	static const struct {
		const char *data;
		long len;
		int line, col;
		const char *frag;
	} bad[] = {
		{"A=1\nB=\xff\n", -1, 2, 3, "invalid UTF-8"},
		{"A=1\nB=x\0y\n", 10, 2, 4, "NUL"},
		{"A=1\n  A B=1\n", -1, 2, 3, "variable 'A B' contains whitespaces"},
		{"A=1\n=x\n", -1, 2, 1, "no variable name on line '=x'"},
		{"A=1\n\xef\xbb\xbf" "B=2\n", -1, 2, 1, "byte-order mark"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		scratch_clean();
		scratch_put("app.env", bad[i].data, bad[i].len);
		struct diags e = {0};
		struct desired *x = load_compose(env_yml, -1, &e);
		if (x)
			fail_msg("case %zu: accepted", i);
		if (!has(&e, DIAG_ERROR, "app.env", bad[i].line, bad[i].col, bad[i].frag))
			fail_msg("case %zu: no error %s at app.env:%d:%d", i, bad[i].frag, bad[i].line, bad[i].col);
		diags_free(&e);
	}
}

/* compose files: one byte-order mark at the very start is what docker
 * (yaml.v3) accepts; anywhere else it refuses the file, so does shoal,
 * with a position; reader errors are positioned too */
static void test_compose_bom_and_reader_errors(void **state)
{
	(void)state;
	static const struct {
		const char *data;
		long len;
		int ok, line, col;
		const char *frag;
	} cases[] = {
		{"\xef\xbb\xbfservices:\n  web:\n    image: busybox\n", -1, 1, 0, 0, NULL},
		{"services:\n  web:\n    image: busybox\n    hostname: \"a\xef\xbb\xbf" "b\"\n", -1, 1, 0, 0, NULL},
		{"\xef\xbb\xbf\xef\xbb\xbfservices:\n  web:\n    image: busybox\n", -1, 0, 1, 1, "byte-order mark"},
		{"services:\n  web:\n    image: busybox\n\xef\xbb\xbf", -1, 0, 4, 1, "byte-order mark"},
		{"services:\n\xef\xbb\xbf  web:\n    image: busybox\n", -1, 0, 2, 1, "byte-order mark"},
		{"services:\n  web:\n    image: busybox\n    labels: [a=\xff]\n", -1, 0, 4, 16, "invalid"},
		{"services:\n  web:\n    image: busybox\n    labels: [a=\0b]\n", 55, 0, 4, 16, "control characters"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		scratch_clean();
		struct diags d = {0};
		struct desired *ds = load_compose(cases[i].data, cases[i].len, &d);
		if (cases[i].ok && !ds)
			fail_msg("case %zu refused", i);
		if (!cases[i].ok && ds)
			fail_msg("case %zu accepted", i);
		if (!cases[i].ok && !has(&d, DIAG_ERROR, "stack.yml", cases[i].line, cases[i].col, cases[i].frag))
			fail_msg("case %zu: no error %s at %d:%d", i, cases[i].frag, cases[i].line, cases[i].col);
		desired_free(ds);
		diags_free(&d);
	}
}

/* ${VAR} unset: a warning at its place (docker compose's words), the value
 * blank; with a default or an error form, or set though empty, nothing */
static void test_undefined_variable_warns(void **state)
{
	(void)state;
	scratch_clean();
	struct diags d = {0};
	struct desired *ds = load_compose("services:\n"
					  "  web:\n"
					  "    image: \"busybox${NOPE}\"\n"
					  "    hostname: \"${NOPE2:-x}$NOPE3${FROMVARS}\"\n"
					  "    labels: [\"a=${NOPE4-y}\"]\n",
					  -1, &d);
	assert_non_null(ds);
	assert_true(has(&d, DIAG_WARN, "stack.yml", 3, 12, "The \"NOPE\" variable is not set. Defaulting to a blank string."));
	assert_true(has(&d, DIAG_WARN, "stack.yml", 4, 15, "The \"NOPE3\" variable is not set. Defaulting to a blank string."));
	size_t warns = 0;
	for (size_t i = 0; i < d.n; i++)
		warns += d.v[i].level == DIAG_WARN;
	assert_int_equal(warns, 2);
	desired_free(ds);
	diags_free(&d);
}

/* The image reference grammar: tests/fixtures/image-refs.txt, whose
 * verdicts t-sec-repo.sh checks against the engine. */
static void test_image_references(void **state)
{
	(void)state;
	char *data = NULL;
	size_t len = 0;
	assert_int_equal(read_file(TOP "/tests/fixtures/image-refs.txt", 1 << 20, &data, &len), 0);
	int n = 0;
	char *save = NULL;
	for (char *ln = strtok_r(data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
		if (*ln == '#' || !*ln)
			continue;
		char *sp = strchr(ln, ' ');
		assert_non_null(sp);
		*sp = 0;
		int want_ok = !strcmp(ln, "ok");
		char *ref = sp + 1;
		char *text = xasprintf("services:\n  web:\n    image: '%s'\n", ref);
		scratch_clean();
		struct diags d = {0};
		struct desired *ds = load_compose(text, -1, &d);
		if (want_ok && !ds)
			fail_msg("%s: refused, the engine accepts it", ref);
		if (!want_ok && ds)
			fail_msg("%s: accepted, the engine refuses it", ref);
		if (!want_ok && !has(&d, DIAG_ERROR, "stack.yml", 3, 12, "invalid image reference for service web"))
			fail_msg("%s: no positioned error", ref);
		desired_free(ds);
		diags_free(&d);
		free(text);
		n++;
	}
	assert_true(n > 40);
	free(data);
}

/* stack names as the engine takes them: its service and network names
 * (STACK_NAME) must be DNS name components; names differing only by case
 * are one name to the engine */
static void test_stack_names(void **state)
{
	(void)state;
	static const char *bad[] = {"-x", "_x", "x.y", "x-", "x_", "caf\xc3\xa9"};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		scratch_clean();
		char *p = xasprintf("stacks/%s/a.yml", bad[i]);
		scratch_put(p, "services: {web: {image: busybox}}\n", -1);
		free(p);
		scratch_put("stacks/ok-1_a/a.yml", "services: {web: {image: busybox}}\n", -1);
		struct repo r;
		struct diags d = {0};
		load_repo(&r, &d, "x");
		if (stack_ds(&r, bad[i]))
			fail_msg("stack %s accepted", bad[i]);
		assert_non_null(stack_ds(&r, "ok-1_a"));
		assert_int_equal(n_errors(&d), 1);
		assert_non_null(strstr(d.v[0].msg, "invalid stack name"));
		repo_free(&r);
		diags_free(&d);
	}
	scratch_clean();
	scratch_put("stacks/Foo/a.yml", "services: {web: {image: busybox}}\n", -1);
	scratch_put("stacks/foo/a.yml", "services: {web: {image: busybox}}\n", -1);
	scratch_put("stacks/bar/a.yml", "services: {web: {image: busybox}}\n", -1);
	struct repo r;
	struct diags d = {0};
	load_repo(&r, &d, "x");
	assert_int_equal(r.n, 3);
	assert_null(stack_ds(&r, "Foo"));
	assert_null(stack_ds(&r, "foo"));
	assert_non_null(stack_ds(&r, "bar"));
	assert_int_equal(n_errors(&d), 2);
	assert_non_null(strstr(d.v[0].msg, "differ only by case"));
	repo_free(&r);
	diags_free(&d);
}

/* the same rules for `stack deploy STACK` (docker's CLI only refuses an
 * empty name; the engine refuses the rest after the networks exist) */
static void test_stack_deploy_name(void **state)
{
	(void)state;
	static const struct {
		const char *stack;
		int ok;
	} cases[] = {{"ok", 1}, {"a-b_c9", 1}, {"-x", 0}, {"_x", 0}, {"x.y", 0}, {"", 0}, {" ", 0}, {"x-", 0}};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *t = "services: {web: {image: busybox}}\n";
		struct compose_file f = {"f.yml", t, strlen(t)};
		struct compose_opts co = {.workdir = "/nonexistent"};
		struct var_ctx vc = {.vars = json_object()};
		co.lookup = var_lookup;
		co.lookup_ctx = &vc;
		struct ynode *m = NULL;
		struct desired *ds = NULL;
		struct diags d = {0};
		assert_int_equal(compose_load(&f, 1, &co, &m, &d), 0);
		struct objdata_opts oo = {.copts = &co};
		struct convert_opts cvo = {.copts = &co};
		stack_convert(cases[i].stack, m, &oo, &cvo, &ds, &d);
		if (cases[i].ok != (ds != NULL))
			fail_msg("stack \"%s\": %s", cases[i].stack, ds ? "accepted" : "refused");
		if (!ds)
			assert_true(has(&d, DIAG_ERROR, NULL, 0, 0, "invalid stack name"));
		desired_free(ds);
		ynode_free(m);
		json_decref(vc.vars);
		diags_free(&d);
	}
}

/* names after the stack prefix, as the engine checks them: services and
 * networks DNS name components of at most 63 characters, secrets and
 * configs [a-zA-Z0-9-_.] of at most 64 starting and ending alphanumeric;
 * secret and config data 1 byte to under 500 KiB / 1000 KiB; a subnet a
 * CIDR; service keys as the compose schema allows them */
static void test_object_names(void **state)
{
	(void)state;
	/* (a name of digits alone would be a YAML integer: not a name at all) */
	char *long_svc = xasprintf("services:\n  s%0*d:\n    image: busybox\n", 60, 0);
	char *ok_svc = xasprintf("services:\n  s%0*d:\n    image: busybox\n", 59, 0);
	char *long_net = xasprintf("services:\n  web:\n    image: busybox\n    networks: [n]\n"
				   "networks:\n  n:\n    name: n%0*d\n", 63, 0);
	static const char *big_secret = "big";
	static const struct {
		const char *text;
		int ok, line, col;
		const char *frag;
	} fixed[] = {
		{"services:\n  a.b:\n    image: busybox\n", 0, 2, 3, "st_a.b"},
		{"services:\n  a-:\n    image: busybox\n", 0, 2, 3, "st_a-"},
		{"services:\n  a_b-c:\n    image: busybox\n", 1, 0, 0, NULL},
		{"services:\n  'a b':\n    image: busybox\n", 0, 2, 3, "a b"},
		{"services:\n  web:\n    image: busybox\n    networks: [n]\nnetworks:\n  n:\n    name: 'bad name'\n", 0, 7, 11, "bad name"},
		{"services:\n  web:\n    image: busybox\n    networks: [n.x]\nnetworks:\n  n.x: {}\n", 0, 6, 3, "st_n.x"},
		{"services:\n  web:\n    image: busybox\n    networks: [n]\nnetworks:\n  n:\n    ipam: {config: [{subnet: 10.0.0.0/33}]}\n", 0, 7, 30, "invalid subnet"},
		{"services:\n  web:\n    image: busybox\n    networks: [n]\nnetworks:\n  n:\n    ipam: {config: [{subnet: 10.9.0.0/16}]}\n", 1, 0, 0, NULL},
		{"services:\n  web:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    name: -s\n    file: ./one.txt\n", 0, 7, 11, "-s"},
		{"services:\n  web:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    file: ./empty.txt\n", 0, 7, 11, "secret data must be larger than 0"},
		{"services:\n  web:\n    image: busybox\n    configs: [c]\nconfigs:\n  c:\n    file: ./empty.txt\n", 0, 7, 11, "config data must be larger than 0"},
		{"services:\n  web:\n    image: busybox\n    secrets: [s]\nsecrets:\n  s:\n    file: ./big.txt\n", 0, 7, 11, "less than 512000 bytes"},
		{"services:\n  web:\n    image: busybox\n    configs: [c]\nconfigs:\n  c:\n    file: ./big.txt\n", 1, 0, 0, NULL},
	};
	(void)big_secret;
	for (size_t i = 0; i < ARRAY_SIZE(fixed) + 3; i++) {
		const char *text = i < ARRAY_SIZE(fixed) ? fixed[i].text : i == ARRAY_SIZE(fixed) ? long_svc :
								       i == ARRAY_SIZE(fixed) + 1 ? ok_svc : long_net;
		int ok = i < ARRAY_SIZE(fixed) ? fixed[i].ok : i == ARRAY_SIZE(fixed) + 1;
		scratch_clean();
		scratch_put("one.txt", "1", -1);
		scratch_put("empty.txt", "", 0);
		char *big = xcalloc(1, 512000 + 1);
		memset(big, 'x', 512000);
		scratch_put("big.txt", big, 512000);
		free(big);
		struct diags d = {0};
		struct desired *ds = load_compose(text, -1, &d);
		if (ok != (ds != NULL))
			fail_msg("case %zu: %s", i, ds ? "accepted" : "refused");
		if (i < ARRAY_SIZE(fixed) && !ok && !has(&d, DIAG_ERROR, "stack.yml", fixed[i].line, fixed[i].col, fixed[i].frag))
			fail_msg("case %zu: no error %s at %d:%d", i, fixed[i].frag, fixed[i].line, fixed[i].col);
		if (i == ARRAY_SIZE(fixed) && !has(&d, DIAG_ERROR, "stack.yml", 2, 3, "63 characters"))
			fail_msg("long service name: no error");
		if (i == ARRAY_SIZE(fixed) + 2 && !has(&d, DIAG_ERROR, "stack.yml", 7, 11, "63 characters"))
			fail_msg("long network name: no error");
		desired_free(ds);
		diags_free(&d);
	}
	free(long_svc);
	free(ok_svc);
	free(long_net);
}

/* a desired state from compose text (files beside it in tmp) */
static struct desired *desired_from(const char *stack, const char *text, int repo_mode)
{
	scratch_clean();
	scratch_put("s.txt", "new", -1);
	struct diags d = {0};
	struct compose_file f = {"f.yml", text, strlen(text)};
	struct compose_opts co = {.workdir = tmp};
	struct var_ctx vc = {.vars = json_object()};
	co.lookup = var_lookup;
	co.lookup_ctx = &vc;
	struct objdata_opts oo = {.copts = &co};
	struct convert_opts cvo = {.copts = &co, .repo_mode = repo_mode};
	struct desired *ds;
	stack_compose(stack, &f, 1, &co, &oo, &cvo, &ds, &d);
	if (!ds)
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "  %s\n", d.v[i].msg);
	json_decref(vc.vars);
	diags_free(&d);
	assert_non_null(ds);
	return ds;
}

static void snapshot(struct swarm_state *st, const char *services, const char *secrets, const char *networks)
{
	char *err = NULL;
	json_error_t je;
	json_t *sv = json_loads(services, 0, &je), *se = json_loads(secrets, 0, &je), *nw = json_loads(networks, 0, &je);
	assert_non_null(sv);
	assert_non_null(se);
	assert_non_null(nw);
	assert_int_equal(swarm_state_init(st, sv, se, json_array(), nw, &err), 0);
}

static int has_op(const struct plan *p, enum op_kind k, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].op == k && !strcmp(p->ops[i].name, name))
			return 1;
	return 0;
}

/* a stack whose objects all lack io.shoal.managed was deployed by other
 * means; one managed object makes it shoal's; a node's stale network copy
 * does not count */
static void test_foreign_stack(void **state)
{
	(void)state;
	struct swarm_state st;
	snapshot(&st,
		 "[{\"ID\":\"1\",\"Spec\":{\"Name\":\"legacy_web\",\"Labels\":{\"com.docker.stack.namespace\":\"legacy\"}}},"
		 " {\"ID\":\"2\",\"Spec\":{\"Name\":\"mine_web\",\"Labels\":{\"com.docker.stack.namespace\":\"mine\",\"io.shoal.managed\":\"true\"}}},"
		 " {\"ID\":\"3\",\"Spec\":{\"Name\":\"mine_extra\",\"Labels\":{\"com.docker.stack.namespace\":\"mine\"}}}]",
		 "[{\"ID\":\"4\",\"Spec\":{\"Name\":\"legacy_tok\",\"Labels\":{\"com.docker.stack.namespace\":\"legacy\"}}}]",
		 "[{\"Id\":\"5\",\"Name\":\"legacy_default\",\"Scope\":\"swarm\",\"Labels\":{\"com.docker.stack.namespace\":\"legacy\"}},"
		 " {\"Id\":\"6\",\"Name\":\"gone_default\",\"Scope\":\"swarm\",\"Peers\":[{}],\"Labels\":{\"com.docker.stack.namespace\":\"gone\"}}]");
	struct live lv;
	json_t *what = NULL;
	live_select(&st, "legacy", &lv);
	assert_int_equal(plan_foreign(&lv, &what), 3);
	char *s = json_dumps(what, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"networks\":[\"legacy_default\"],\"secrets\":[\"legacy_tok\"],\"services\":[\"legacy_web\"]}");
	free(s);
	struct plan p = {0};
	plan_add_conflict(&p, "legacy", what, 0);
	assert_int_equal(plan_conflicts_open(&p), 1);
	char *t = plan_conflict_text(json_array_get(p.conflicts, 0));
	assert_non_null(strstr(t, "stack legacy was deployed by other means (1 service, 1 network, 1 secret without io.shoal.managed): not applied"));
	assert_non_null(strstr(t, "--adopt legacy"));
	free(t);
	plan_free(&p);
	live_free(&lv);
	live_select(&st, "mine", &lv);
	assert_int_equal(plan_foreign(&lv, &what), 0);
	assert_null(what);
	live_free(&lv);
	live_select(&st, "gone", &lv);
	assert_int_equal(plan_foreign(&lv, &what), 0);
	live_free(&lv);
	swarm_state_free(&st);
}

/* repo mode removes only what carries io.shoal.managed: a rotated-away
 * secret that shoal stack deploy wrote stays, so does a service someone
 * else put in the stack's namespace; stack deploy rotates as before */
static void test_unmanaged_never_removed(void **state)
{
	(void)state;
	struct desired *ds = desired_from("app", "services:\n  web:\n    image: busybox\n    secrets: [s]\n"
						 "secrets:\n  s:\n    file: ./s.txt\n", 1);
	struct swarm_state st;
	snapshot(&st,
		 "[{\"ID\":\"1\",\"Spec\":{\"Name\":\"app_extra\",\"Labels\":{\"com.docker.stack.namespace\":\"app\"}}},"
		 " {\"ID\":\"2\",\"Spec\":{\"Name\":\"app_gone\",\"Labels\":{\"com.docker.stack.namespace\":\"app\",\"io.shoal.managed\":\"true\"}}}]",
		 "[{\"ID\":\"3\",\"Spec\":{\"Name\":\"app_s_0000000000\",\"Labels\":{\"com.docker.stack.namespace\":\"app\",\"io.shoal.object\":\"app_s\"}}},"
		 " {\"ID\":\"4\",\"Spec\":{\"Name\":\"app_s_1111111111\",\"Labels\":{\"com.docker.stack.namespace\":\"app\",\"io.shoal.object\":\"app_s\",\"io.shoal.managed\":\"true\"}}}]",
		 "[]");
	struct live lv;
	live_select(&st, "app", &lv);
	struct plan p = {0};
	char *err = NULL;
	struct plan_opts po = {.prune_all = 1, .managed_only = 1};
	assert_int_equal(plan_stack(&p, ds, "app", &lv, &po, &err), 0);
	assert_true(has_op(&p, OP_REMOVE, "app_s_1111111111"));
	assert_true(has_op(&p, OP_REMOVE, "app_gone"));
	assert_false(has_op(&p, OP_REMOVE, "app_s_0000000000"));
	assert_false(has_op(&p, OP_REMOVE, "app_extra"));
	plan_free(&p);
	struct plan_opts deploy = {0};
	assert_int_equal(plan_stack(&p, ds, "app", &lv, &deploy, &err), 0);
	assert_true(has_op(&p, OP_REMOVE, "app_s_0000000000"));
	plan_free(&p);
	live_free(&lv);
	swarm_state_free(&st);
	desired_free(ds);
}

/* the engine's names are unique and case-insensitive: a create that
 * meets another object of the name (live or planned) takes its stack out */
static void test_name_conflicts(void **state)
{
	(void)state;
	struct swarm_state st;
	snapshot(&st,
		 "[{\"ID\":\"1\",\"Spec\":{\"Name\":\"Foo_web\",\"Labels\":{\"com.docker.stack.namespace\":\"Foo\"}}},"
		 " {\"ID\":\"2\",\"Spec\":{\"Name\":\"lone_web\"}}]",
		 "[]", "[{\"Id\":\"3\",\"Name\":\"Net_default\",\"Scope\":\"swarm\"}]");
	static const char *svc = "services:\n  web:\n    image: busybox\n";
	static const char *shared = "services:\n  web:\n    image: busybox\n    networks: [n]\nnetworks:\n  n:\n    name: shared\n";
	const char *stacks[] = {"foo", "lone", "net", "a", "b", "ok"};
	const char *texts[] = {svc, svc, svc, shared, shared, svc};
	struct desired *ds[6];
	struct plan p = {0};
	struct plan_opts po = {.managed_only = 1};
	for (int i = 0; i < 6; i++) {
		ds[i] = desired_from(stacks[i], texts[i], 1);
		struct live lv;
		live_select(&st, stacks[i], &lv);
		char *err = NULL;
		assert_int_equal(plan_stack(&p, ds[i], stacks[i], &lv, &po, &err), 0);
		live_free(&lv);
	}
	struct strv errs = {0}, bad = {0};
	assert_int_equal(plan_check_names(&p, &st, &errs, &bad), 5);
	strv_sort(&bad);
	const char *want_bad[] = {"a", "b", "foo", "lone", "net"};
	for (int i = 0; i < 5; i++)
		assert_string_equal(bad.v[i], want_bad[i]);
	struct buf all;
	buf_init(&all, 0);
	for (size_t i = 0; i < errs.n; i++)
		buf_addf(&all, "%s\n", errs.v[i]);
	assert_non_null(strstr(all.data, "stack foo: service foo_web cannot be created: service Foo_web exists in stack Foo (the engine's names are case-insensitive)"));
	assert_non_null(strstr(all.data, "stack lone: service lone_web cannot be created: service lone_web exists outside any stack"));
	assert_non_null(strstr(all.data, "stack net: network net_default cannot be created: network Net_default exists outside any stack (the engine's names are case-insensitive)"));
	assert_non_null(strstr(all.data, "stacks a and b both create network shared"));
	for (size_t i = 0; i < p.n; i++)
		assert_string_equal(p.ops[i].stack, "ok");
	assert_true(has_op(&p, OP_CREATE, "ok_web"));
	buf_free(&all);
	strv_free(&errs);
	strv_free(&bad);
	plan_free(&p);
	for (int i = 0; i < 6; i++)
		desired_free(ds[i]);
	swarm_state_free(&st);
}

/* what the engine refuses at service create or update, known before any
 * write: external secrets missing, the ingress network, a mode change */
static void test_stack_prechecks(void **state)
{
	(void)state;
	struct swarm_state st;
	snapshot(&st,
		 "[{\"ID\":\"1\",\"Spec\":{\"Name\":\"st_web\",\"Mode\":{\"Global\":{}},\"Labels\":{\"com.docker.stack.namespace\":\"st\",\"io.shoal.managed\":\"true\"}}}]",
		 "[{\"ID\":\"2\",\"Spec\":{\"Name\":\"have\"}}]",
		 "[{\"Id\":\"3\",\"Name\":\"ingress\",\"Scope\":\"swarm\",\"Ingress\":true}]");
	struct desired *ds = desired_from("st", "services:\n  web:\n    image: busybox\n    secrets: [have, missing]\n"
						"    networks: [ing]\n"
						"secrets:\n  have: {external: true}\n  missing: {external: true}\n"
						"networks:\n  ing: {external: true, name: ingress}\n", 1);
	struct live lv;
	live_select(&st, "st", &lv);
	struct plan p = {0};
	struct plan_opts po = {.managed_only = 1};
	char *err = NULL;
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), -1);
	assert_int_equal(p.n, 0);
	assert_non_null(strstr(err, "service st_web: network ingress is the swarm's ingress network"));
	assert_non_null(strstr(err, "service st_web: secret not found: missing"));
	assert_null(strstr(err, "not found: have"));
	assert_non_null(strstr(err, "service st_web: the engine cannot change a service's mode (Global to Replicated)"));
	free(err);
	live_free(&lv);
	plan_free(&p);
	desired_free(ds);
	swarm_state_free(&st);
	/* a port in ingress mode where the swarm has no ingress network (an
	 * operator removed it): the engine refuses the service, after the
	 * stack's network; the stack leaves the plan whole */
	snapshot(&st, "[]", "[]", "[]");
	ds = desired_from("st", "services:\n  web:\n    image: busybox\n    ports: ['80:80']\n", 1);
	live_select(&st, "st", &lv);
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), -1);
	assert_int_equal(p.n, 0);
	assert_non_null(strstr(err, "service st_web publishes a port in ingress mode, but the swarm has no ingress network"));
	free(err);
	live_free(&lv);
	swarm_state_free(&st);
	snapshot(&st, "[]", "[]", "[{\"Id\":\"3\",\"Name\":\"ingress\",\"Scope\":\"swarm\",\"Ingress\":true}]");
	live_select(&st, "st", &lv);
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), 0);
	assert_true(has_op(&p, OP_CREATE, "st_default"));
	live_free(&lv);
	plan_free(&p);
	desired_free(ds);
	swarm_state_free(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vars_env_hostile),
		cmocka_unit_test(test_vars_env_crlf),
		cmocka_unit_test(test_vars_env_top_invalid_stops_all),
		cmocka_unit_test(test_env_file_docker_rules),
		cmocka_unit_test(test_compose_bom_and_reader_errors),
		cmocka_unit_test(test_undefined_variable_warns),
		cmocka_unit_test(test_image_references),
		cmocka_unit_test(test_stack_names),
		cmocka_unit_test(test_stack_deploy_name),
		cmocka_unit_test(test_object_names),
		cmocka_unit_test(test_foreign_stack),
		cmocka_unit_test(test_unmanaged_never_removed),
		cmocka_unit_test(test_name_conflicts),
		cmocka_unit_test(test_stack_prechecks),
	};
	return cmocka_run_group_tests_name("secrepo", tests, setup, teardown);
}
