/*
 * The order between stacks (x-shoal.depends_on): dependencies read with
 * their positions, unknown names and cycles refused at file:line:column
 * (the stacks concerned invalid, and those waiting on them), waves, and
 * hooks' checks.
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
#include "../../reconcile/repo.h"
#include "../../reconcile/rollout.h"
#include "../../reconcile/source.h"
#include "../../reconcile/waves.h"

static int setup(void **state)
{
	(void)state;
	return scratch_make("waves");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static int has(const struct diags *d, const char *file_end, int line, int col, const char *frag)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = &d->v[i];
		if (g->level == DIAG_ERROR && g->line == line && g->col == col && strstr(g->msg, frag) &&
		    (!file_end || (g->file && str_has_suffix(g->file, file_end))))
			return 1;
	}
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  have %s:%d:%d %s\n", d->v[i].file ? d->v[i].file : "-", d->v[i].line, d->v[i].col,
			d->v[i].msg);
	return 0;
}

static void load(struct repo *r, struct diags *d)
{
	struct source *src = NULL;
	char *err = NULL;
	assert_int_equal(source_dir_new(&src, tmp, &err), 0);
	struct repo_opts ro = {0};
	assert_int_equal(repo_load(src, &ro, r, d), 0);
	source_free(src);
}

static const struct repo_stack *get(const struct repo *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->stacks[i].name, name))
			return &r->stacks[i];
	return NULL;
}

#define SVC "version: '3.8'\nservices:\n  web:\n    image: local/busybox:1\n"

static void test_levels(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/db/s.yml", SVC, -1);
	scratch_put("stacks/cache/s.yml", SVC, -1);
	scratch_put("stacks/api/s.yml", SVC "x-shoal:\n  depends_on: [db, cache]\n", -1);
	scratch_put("stacks/front/s.yml", SVC "x-shoal:\n  depends_on:\n    - api\n", -1);
	struct repo r;
	struct diags d = {0};
	load(&r, &d);
	assert_int_equal(d.nerrors, 0);
	assert_int_equal(waves_level(&r, "db"), 1);
	assert_int_equal(waves_level(&r, "cache"), 1);
	assert_int_equal(waves_level(&r, "api"), 2);
	assert_int_equal(waves_level(&r, "front"), 3);
	assert_int_equal(waves_level(&r, "gone"), 1); /* a stack being removed */
	const json_t *dep = json_array_get(get(&r, "api")->deps, 1);
	assert_string_equal(json_string_value(json_object_get(dep, "name")), "cache");
	assert_int_equal(json_integer_value(json_object_get(dep, "line")), 6);
	assert_int_equal(json_integer_value(json_object_get(dep, "col")), 20);
	assert_non_null(get(&r, "front")->ds);
	repo_free(&r);
	diags_free(&d);
}

static void test_unknown_and_cycle(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/a/s.yml", SVC "x-shoal:\n  depends_on: [b]\n", -1);
	scratch_put("stacks/b/s.yml", SVC "x-shoal:\n  depends_on:\n    - a\n", -1);
	scratch_put("stacks/c/s.yml", SVC "x-shoal:\n  depends_on: [nosuch]\n", -1);
	scratch_put("stacks/d/s.yml", SVC "x-shoal:\n  depends_on: [c]\n", -1);
	scratch_put("stacks/e/s.yml", SVC "x-shoal:\n  depends_on: [e]\n", -1);
	scratch_put("stacks/f/s.yml", SVC, -1);
	struct repo r;
	struct diags d = {0};
	load(&r, &d);
	assert_true(has(&d, "stacks/b/s.yml", 7, 7, "x-shoal.depends_on: a cycle: a -> b -> a"));
	assert_true(has(&d, "stacks/c/s.yml", 6, 16, "no stack nosuch in this repository"));
	assert_true(has(&d, "stacks/d/s.yml", 6, 16, "stack c is invalid: d waits for it"));
	assert_true(has(&d, "stacks/e/s.yml", 6, 16, "a cycle: e -> e"));
	assert_null(get(&r, "a")->ds);
	assert_null(get(&r, "b")->ds);
	assert_null(get(&r, "c")->ds);
	assert_null(get(&r, "d")->ds);
	assert_null(get(&r, "e")->ds);
	assert_non_null(get(&r, "f")->ds); /* the others still apply */
	assert_int_equal(d.nerrors, 4);
	repo_free(&r);
	diags_free(&d);
}

static void test_bad_forms(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/a/s.yml", SVC "x-shoal:\n  depends_on: b\n  after: [c]\n", -1);
	scratch_put("stacks/b/s.yml", SVC "x-shoal: [b]\n", -1);
	scratch_put("stacks/c/s.yml", SVC "x-shoal:\n  depends_on: [a, {x: 1}, a]\n", -1);
	struct repo r;
	struct diags d = {0};
	load(&r, &d);
	assert_true(has(&d, "stacks/a/s.yml", 6, 15, "x-shoal.depends_on must be a list of stack names"));
	assert_true(has(&d, "stacks/a/s.yml", 7, 3, "x-shoal.after: unknown key"));
	assert_true(has(&d, "stacks/b/s.yml", 5, 10, "x-shoal must be a mapping"));
	assert_true(has(&d, "stacks/c/s.yml", 6, 19, "each item must be a stack name"));
	assert_true(has(&d, "stacks/c/s.yml", 6, 27, "a is listed twice"));
	assert_null(get(&r, "a")->ds);
	assert_null(get(&r, "b")->ds);
	assert_null(get(&r, "c")->ds);
	repo_free(&r);
	diags_free(&d);
}

static void test_hooks_checked(void **state)
{
	(void)state;
	scratch_clean();
	scratch_put("stacks/a/s.yml", SVC "  migrate:\n    image: local/busybox:1\n    deploy:\n      mode: replicated-job\n"
				  "      labels: {io.shoal.hook: pre}\n"
				  "  notjob:\n    image: local/busybox:1\n    deploy:\n      labels: {io.shoal.hook: post}\n"
				  "  typo:\n    image: local/busybox:1\n    deploy:\n      mode: replicated-job\n"
				  "      labels: {io.shoal.hook: before}\n", -1);
	struct repo r;
	struct diags d = {0};
	load(&r, &d);
	assert_true(has(&d, "stacks/a/s.yml", 10, 3, "service a_notjob: a hook (io.shoal.hook=post) must be a replicated-job"));
	assert_true(has(&d, "stacks/a/s.yml", 14, 3, "service a_typo: label io.shoal.hook must be pre or post, not \"before\""));
	assert_int_equal(d.nerrors, 2);
	repo_free(&r);
	diags_free(&d);
	scratch_clean();
	scratch_put("stacks/a/s.yml", SVC "  migrate:\n    image: local/busybox:1\n    deploy:\n      mode: replicated-job\n"
				  "      labels: {io.shoal.hook: pre}\n", -1);
	d = (struct diags){0};
	load(&r, &d);
	assert_int_equal(d.nerrors, 0);
	const json_t *spec = json_object_get(get(&r, "a")->ds->services, "a_migrate");
	assert_string_equal(waves_hook(spec), "pre");
	assert_null(waves_hook(json_object_get(get(&r, "a")->ds->services, "a_web")));
	repo_free(&r);
	diags_free(&d);
}

static void test_log_text(void **state)
{
	(void)state;
	/* two frames: stdout "hello\n", stderr "oops\n" */
	const char framed[] = "\x01\0\0\0\0\0\0\x06hello\n\x02\0\0\0\0\0\0\x05oops\n";
	char *t = rollout_log_text(framed, sizeof framed - 1, 0);
	assert_string_equal(t, "hello\noops\n");
	free(t);
	/* a TTY's stream has no frames */
	t = rollout_log_text("plain text\n", 11, 0);
	assert_string_equal(t, "plain text\n");
	free(t);
	/* a frame longer than what came: taken as it is, never read past */
	const char cut[] = "\x01\0\0\0\0\0\x01\x00short";
	t = rollout_log_text(cut, sizeof cut - 1, 0);
	assert_int_equal(strlen(t), 1); /* the first byte is \x01, then a NUL ends it */
	free(t);
	/* the end is kept */
	t = rollout_log_text("0123456789", 10, 4);
	assert_string_equal(t, "(6 bytes before)\n6789");
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_unknown_and_cycle),
		cmocka_unit_test(test_bad_forms),
		cmocka_unit_test(test_hooks_checked),
		cmocka_unit_test(test_log_text),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
