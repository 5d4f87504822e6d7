/* Sealed values where others could read them: refused before they reach
 * the engine, redacted in plans (issue 15, items 1 and 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
#include "../../reconcile/plan.h"
#include "../../reconcile/repo.h"
#include "../../reconcile/review.h"
#include "../../reconcile/scrub.h"
#include "../../reconcile/source.h"
#include "../../secrets/seal.h"

#define CANARY "PLAINTEXT-canary-7f3a"

/* A compose file's first four lines: service web, its environment next
 * (the positions the tests check count them). */
#define WEB_ENV "services:\n  web:\n    image: busybox\n    environment:\n"

static const char *no_vars(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "OPEN") ? "{{" : NULL;
}

/* Stands for var_sealed: pw.sealed opens to the canary, tm.sealed to a
 * value holding template braces. */
static const char *fake_sealed(void *ctx, const char *path, char **err)
{
	(void)ctx;
	if (!strcmp(path, "pw.sealed"))
		return CANARY;
	if (!strcmp(path, "tm.sealed"))
		return "x{{y}}z{";
	*err = xstrdup("no such file");
	return NULL;
}

static struct desired *load(const char *text, struct diags *d)
{
	struct compose_file f = {"app.yml", text, strlen(text)};
	struct compose_opts co = {.lookup = no_vars, .sealed = fake_sealed, .workdir = "/nonexistent"};
	struct objdata_opts oo = {.copts = &co};
	struct convert_opts cvo = {.copts = &co};
	struct desired *ds;
	stack_compose("st", &f, 1, &co, &oo, &cvo, &ds, d);
	return ds;
}

/* an error at line:col containing frag, and no message quoting the canary */
static int has_error(const struct diags *d, int line, int col, const char *frag)
{
	int found = 0;
	for (size_t i = 0; i < d->n; i++) {
		assert_null(strstr(d->v[i].msg, "canary"));
		found |= d->v[i].level == DIAG_ERROR && d->v[i].line == line && d->v[i].col == col &&
			 strstr(d->v[i].msg, frag) != NULL;
	}
	if (!found)
		for (size_t i = 0; i < d->n; i++)
			fprintf(stderr, "  have %d:%d %s\n", d->v[i].line, d->v[i].col, d->v[i].msg);
	return found;
}

/* An error that must be said: at line:col, its message holding frag. */
struct want {
	int line, col;
	const char *frag;
};

/* text refused with each error of w (and, with nerrors, no other), no
 * message quoting the canary. */
static void expect_refused(const char *text, const struct want *w, size_t n, size_t nerrors)
{
	struct diags d = {0};
	struct desired *ds = load(text, &d);
	assert_null(ds);
	for (size_t i = 0; i < n; i++)
		if (!has_error(&d, w[i].line, w[i].col, w[i].frag))
			fail_msg("no error at %d:%d with \"%s\"", w[i].line, w[i].col, w[i].frag);
	if (nerrors)
		assert_int_equal(d.nerrors, nerrors);
	diags_free(&d);
}

#define REFUSED(text, nerrors, ...)                                                     \
	do {                                                                            \
		static const struct want w_[] = {__VA_ARGS__};                          \
		expect_refused(text, w_, sizeof w_ / sizeof *w_, nerrors);              \
	} while (0)

static void test_names_the_engine_refuses(void **state)
{
	(void)state;
	REFUSED(WEB_ENV
		"      - \"=${sealed:pw.sealed}\"\n"
		"      - \"${sealed:pw.sealed}\"\n"
		"      - \"A$$B=${sealed:pw.sealed}\"\n",
		0, {5, 9, "services.web.environment.0: an item holding ${sealed:...} must start with the variable's name"},
		{6, 9, "services.web.environment.1: an item holding"},
		{7, 9, "services.web.environment.2: an item holding"});
	/* without a sealed value: still what the node refuses */
	REFUSED(WEB_ENV
		"      - \"=plain\"\n"
		"  two:\n"
		"    image: busybox\n"
		"    environment:\n"
		"      \"\": x\n"
		"      \"X=Y\": ${sealed:pw.sealed}\n"
		"      GOOD: ${sealed:pw.sealed}\n",
		3, {5, 9, "environment: a variable with an empty name"},
		{9, 7, "environment: a variable with an empty name"},
		{10, 7, "environment X=Y: a variable name cannot contain '='"});
}

static void test_never_a_template(void **state)
{
	(void)state;
	REFUSED(WEB_ENV
		"      A: \"{{${sealed:pw.sealed}}}\"\n"
		"      B: \"{{.Task.Slot}}-${sealed:pw.sealed}\"\n"
		"      C: \"${OPEN}${sealed:pw.sealed}}}\"\n"
		"      D: \"${sealed:pw.sealed}{{\"\n"
		"  list:\n"
		"    image: busybox\n"
		"    environment:\n"
		"      - \"E={{ printf \\\"%s\\\" \\\"${sealed:pw.sealed}\\\" }}\"\n",
		5, {5, 10, "services.web.environment.A: a value holding ${sealed:...} cannot use templates"},
		{6, 10, "services.web.environment.B: a value holding"},
		{7, 10, "services.web.environment.C: a value holding"}, /* {{ from a variable */
		{8, 10, "services.web.environment.D: a value holding"},
		{12, 9, "services.list.environment.0: a value holding"});
}

static const char *env_of(struct desired *ds, const char *svc, size_t i)
{
	json_t *cs = json_object_get(json_object_get(json_object_get(ds->services, svc), "TaskTemplate"), "ContainerSpec");
	return json_string_value(json_array_get(json_object_get(cs, "Env"), i));
}

static void test_braces_reach_the_container(void **state)
{
	(void)state;
	struct diags d = {0};
	/* a plaintext holding {{, braces around it that do not make one, a
	 * name with dots, a name-only item beside, the list form */
	struct desired *ds = load(WEB_ENV
				  "      A: \"{${sealed:tm.sealed}{\"\n"
				  "      spring.datasource.password: ${sealed:pw.sealed}\n"
				  "  list:\n"
				  "    image: busybox\n"
				  "    environment:\n"
				  "      - \"B=${sealed:pw.sealed}\"\n"
				  "      - \"C={{.Task.Slot}}\"\n",
				  &d);
	assert_non_null(ds);
	assert_int_equal(d.n, 0);
	/* each {{ as {{"{{"}}: Go's text/template prints {{ */
	assert_string_equal(env_of(ds, "st_web", 0), "A={x{{\"{{\"}}y}}z{{\"{{\"}}");
	assert_string_equal(env_of(ds, "st_web", 1), "spring.datasource.password=" CANARY);
	assert_string_equal(env_of(ds, "st_list", 0), "B=" CANARY);
	assert_string_equal(env_of(ds, "st_list", 1), "C={{.Task.Slot}}"); /* not sealed: a template */
	json_t *se = json_object_get(ds->sealed_env, "st_web");
	assert_non_null(json_object_get(se, "A"));
	assert_non_null(json_object_get(se, "spring.datasource.password"));
	assert_non_null(json_object_get(json_object_get(ds->sealed_env, "st_list"), "B"));
	assert_null(json_object_get(json_object_get(ds->sealed_env, "st_list"), "C"));
	desired_free(ds);
	diags_free(&d);
}

static void test_only_in_environment(void **state)
{
	(void)state;
	REFUSED("x-pw: &pw \"${sealed:pw.sealed}\"\n"
		"services:\n"
		"  web:\n"
		"    image: busybox\n"
		"    deploy:\n"
		"      labels:\n"
		"        a: *pw\n"
		"    environment:\n"
		"      A: [\"${sealed:pw.sealed}\"]\n",
		0, {1, 7, "x-pw: ${sealed:...} may only be used in environment values"},
		{1, 7, "services.web.deploy.labels.a: ${sealed:...} may only be used"},
		{9, 11, "services.web.environment.A.0: ${sealed:...} may only be used"});
}

/* A live service whose spec has no ContainerSpec: the change is the whole
 * ContainerSpec, environment inside.  And the spec hash is keyed. */
static void test_plan_redacts_at_any_depth(void **state)
{
	(void)state;
	struct diags d = {0};
	struct desired *ds = load(WEB_ENV
				  "      DB_PASSWORD: ${sealed:pw.sealed}\n"
				  "      PLAIN: shown\n",
				  &d);
	assert_non_null(ds);
	json_t *sv = json_pack("[{s:s, s:{s:i}, s:{s:s, s:{s:s, s:s}, s:{}}}]", "ID", "x", "Version", "Index", 1, "Spec",
			       "Name", "st_web", "Labels", LABEL_NAMESPACE, "st", LABEL_SEALED_ENV, "OLD",
			       "TaskTemplate");
	struct swarm_state st;
	char *err = NULL;
	assert_int_equal(swarm_state_init(&st, sv, json_array(), json_array(), json_array(), &err), 0);
	struct live lv;
	live_select(&st, "st", &lv);
	unsigned char k1[32] = {1}, k2[32] = {2};
	struct plan p = {0}, q = {0};
	struct plan_opts po = {.redact_key = k1};
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), 0);
	po.redact_key = k2;
	assert_int_equal(plan_stack(&q, ds, "st", &lv, &po, &err), 0);
	/* the stack's default network, and the service's update */
	const struct op *op = NULL, *oq = NULL;
	for (size_t i = 0; i < p.n; i++)
		if (p.ops[i].kind == K_SERVICE)
			op = &p.ops[i];
	for (size_t i = 0; i < q.n; i++)
		if (q.ops[i].kind == K_SERVICE)
			oq = &q.ops[i];
	assert_non_null(op);
	assert_non_null(oq);
	assert_int_equal(op->op, OP_UPDATE);
	char *s = json_dumps(op->changes, JSON_COMPACT);
	assert_null(strstr(s, "canary"));
	assert_non_null(strstr(s, "DB_PASSWORD=(sealed "));
	assert_non_null(strstr(s, "PLAIN=shown"));
	free(s);
	/* a hash of the plaintext would be the same under both keys: anyone
	 * reading the plan could test guesses against it */
	const char *h1 = json_string_value(json_object_get(json_object_get(op->spec, "Labels"), LABEL_HASH));
	const char *h2 = json_string_value(json_object_get(json_object_get(oq->spec, "Labels"), LABEL_HASH));
	assert_non_null(h1);
	assert_string_not_equal(h1, h2);
	plan_free(&p);
	plan_free(&q);
	live_free(&lv);
	swarm_state_free(&st);
	desired_free(ds);
	diags_free(&d);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A repository whose stack app has pw (sealed for k) as DB_PASSWORD, or
 * written out there, and sealed as OTHER. */
static void make_repo(const char *root, const struct seal_key *k, const char *pw, int sealed)
{
	char *p = xasprintf("%s/stacks/app", root);
	char *cmd = xasprintf("rm -rf '%s' && mkdir -p '%s'", root, p);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *yml = xasprintf("services:\n"
			      "  web:\n"
			      "    image: busybox\n"
			      "    environment:\n"
			      "      DB_PASSWORD: %s\n"
			      "      OTHER: ${sealed:pw.sealed}\n",
			      sealed ? "${sealed:pw.sealed}" : pw);
	char *f = xasprintf("%s/app.yml", p);
	write_text(f, yml);
	free(f);
	free(yml);
	char *t = seal_seal((const unsigned char *)pw, strlen(pw), "app/pw", (const unsigned char(*)[32])k->pk, 1);
	f = xasprintf("%s/pw.sealed", p);
	write_text(f, t);
	free(f);
	free(t);
	free(p);
}

static void review_of(const char *base, const char *head, const struct seal_key *k, char **out)
{
	struct source *sa, *sb;
	char *err = NULL;
	assert_int_equal(source_dir_new(&sa, base, &err), 0);
	assert_int_equal(source_dir_new(&sb, head, &err), 0);
	struct repo_opts ro = {.key = k};
	struct repo a, b;
	struct diags d = {0};
	assert_int_equal(repo_load(sa, &ro, &a, &d), 0);
	assert_int_equal(repo_load(sb, &ro, &b, &d), 0);
	assert_int_equal(d.nerrors, 0);
	unsigned char rkey[32];
	seal_redact_key(k, rkey);
	json_t *rv = review_compare(&a, &b, rkey);
	*out = json_dumps(rv, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(rv);
	repo_free(&a);
	repo_free(&b);
	source_free(sa);
	source_free(sb);
	diags_free(&d);
}

static void test_review_redacts(void **state)
{
	(void)state;
	struct seal_key k;
	seal_keygen(&k);
	char base[] = "/tmp/shoal-review-XXXXXX";
	assert_non_null(mkdtemp(base));
	char *a = xasprintf("%s/a", base), *b = xasprintf("%s/b", base), *s;
	/* the value changes */
	make_repo(a, &k, "PLAINTEXT-canary-old1", 1);
	make_repo(b, &k, "PLAINTEXT-canary-new2", 1);
	review_of(a, b, &k, &s);
	assert_null(strstr(s, "canary"));
	assert_non_null(strstr(s, "DB_PASSWORD=(sealed "));
	free(s);
	/* sealed at base, written out at head, and the other way round: the
	 * written one is shown, redacted too, the sealed one never */
	make_repo(b, &k, "PLAINTEXT-canary-new2", 0);
	review_of(a, b, &k, &s);
	assert_null(strstr(s, "canary-old1"));
	assert_non_null(strstr(s, "DB_PASSWORD=(sealed "));
	free(s);
	review_of(b, a, &k, &s);
	assert_null(strstr(s, "canary-old1"));
	free(s);
	scrub_wipe();
	sodium_memzero(&k, sizeof k);
	char *cmd = xasprintf("rm -rf '%s'", base);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(a);
	free(b);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_the_engine_refuses),
		cmocka_unit_test(test_never_a_template),
		cmocka_unit_test(test_braces_reach_the_container),
		cmocka_unit_test(test_only_in_environment),
		cmocka_unit_test(test_plan_redacts_at_any_depth),
		cmocka_unit_test(test_review_redacts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
