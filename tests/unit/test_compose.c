#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include <cmocka.h>

#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
#include "../../reconcile/plan.h"
#include "../../reconcile/repo.h"

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "TAG"))
		return "1.2";
	return NULL;
}

static struct desired *load_in(const char **texts, size_t n, struct diags *d, const char *workdir);

/* Load one or more in-memory files; returns the desired state or NULL. */
static struct desired *load(const char **texts, size_t n, struct diags *d)
{
	return load_in(texts, n, d, "/nonexistent");
}

/* The same, reading file: and env_file paths from workdir. */
static struct desired *load_in(const char **texts, size_t n, struct diags *d, const char *workdir)
{
	struct compose_file f[4];
	char names[4][32];
	for (size_t i = 0; i < n; i++) {
		snprintf(names[i], sizeof names[i], "f%zu.yml", i);
		f[i].name = names[i];
		f[i].data = texts[i];
		f[i].len = strlen(texts[i]);
	}
	struct compose_opts co = {.lookup = lookup, .workdir = workdir};
	struct objdata_opts oo = {.copts = &co};
	struct convert_opts cvo = {.copts = &co};
	struct desired *ds;
	stack_compose("st", f, n, &co, &oo, &cvo, &ds, d);
	return ds;
}

static json_t *svc(struct desired *ds, const char *name)
{
	return json_object_get(ds->services, name);
}

static const char *cs_str(json_t *spec, const char *k)
{
	return json_string_value(json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"), k));
}

static int has_diag(const struct diags *d, int line, int col, const char *frag)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].line == line && d->v[i].col == col && strstr(d->v[i].msg, frag))
			return 1;
	for (size_t i = 0; i < d->n; i++)
		fprintf(stderr, "  have %d:%d %s\n", d->v[i].line, d->v[i].col, d->v[i].msg);
	return 0;
}

static size_t n_errors(const struct diags *d)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].level == DIAG_ERROR;
	return n;
}

static void test_basic_service(void **state)
{
	(void)state;
	const char *t[] = {"version: '3.8'\n"
			   "services:\n"
			   "  web:\n"
			   "    image: nginx:${TAG}\n"
			   "    command: echo \"a b\" c\n"
			   "    environment: {B: 2, A: x, N: }\n"
			   "    deploy: {replicas: 3, labels: [k=v]}\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_non_null(ds);
	json_t *s = svc(ds, "st_web");
	assert_non_null(s);
	assert_string_equal(cs_str(s, "Image"), "nginx:1.2");
	json_t *cs = json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec");
	json_t *args = json_object_get(cs, "Args");
	assert_int_equal(json_array_size(args), 3);
	assert_string_equal(json_string_value(json_array_get(args, 1)), "a b");
	json_t *env = json_object_get(cs, "Env");
	assert_string_equal(json_string_value(json_array_get(env, 0)), "A=x");
	assert_string_equal(json_string_value(json_array_get(env, 1)), "B=2");
	assert_string_equal(json_string_value(json_array_get(env, 2)), "N");
	json_t *labels = json_object_get(s, "Labels");
	assert_string_equal(json_string_value(json_object_get(labels, "k")), "v");
	assert_string_equal(json_string_value(json_object_get(labels, LABEL_NAMESPACE)), "st");
	assert_string_equal(json_string_value(json_object_get(labels, LABEL_IMAGE)), "nginx:1.2");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "Mode"), "Replicated"), "Replicas")), 3);
	/* default network, with the service name as alias */
	json_t *nets = json_object_get(json_object_get(s, "TaskTemplate"), "Networks");
	assert_string_equal(json_string_value(json_object_get(json_array_get(nets, 0), "Target")), "st_default");
	assert_non_null(json_object_get(ds->networks, "st_default"));
	desired_free(ds);
	diags_free(&d);
}

static void test_bare_image_gets_latest(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  a:\n    image: busybox\n  b:\n    image: reg:5000/x\n  c:\n    image: x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_non_null(ds);
	assert_string_equal(cs_str(svc(ds, "st_a"), "Image"), "busybox:latest");
	assert_string_equal(cs_str(svc(ds, "st_b"), "Image"), "reg:5000/x:latest");
	assert_string_equal(cs_str(svc(ds, "st_c"), "Image"), "x@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(json_object_get(svc(ds, "st_a"), "Labels"), LABEL_IMAGE)), "busybox");
	desired_free(ds);
	diags_free(&d);
}

static void test_errors_have_positions(void **state)
{
	(void)state;
	const char *t[] = {"services:\n"
			   "  web:\n"
			   "    image: x\n"
			   "    bogus: 1\n"
			   "    deploy:\n"
			   "      replicas: many\n"
			   "    networks: [nope]\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_null(ds);
	assert_true(has_diag(&d, 4, 5, "additional property bogus is not allowed"));
	assert_true(has_diag(&d, 6, 17, "must be an integer"));
	desired_free(ds);
	diags_free(&d);
}

static void test_undefined_network_position(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  web:\n    image: x\n    networks: [nope]\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_null(ds);
	assert_true(has_diag(&d, 4, 16, "undefined network \"nope\""));
	diags_free(&d);
}

static void test_forbidden_and_yaml_errors(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  web:\n    image: x\n    cpu_shares: 5\n"};
	struct diags d = {0};
	assert_null(load(t, 1, &d));
	assert_true(has_diag(&d, 4, 5, "cpu_shares"));
	diags_free(&d);
	const char *y[] = {"services:\n  web:\n    image: [x\n"};
	struct diags d2 = {0};
	assert_null(load(y, 1, &d2));
	assert_true(d2.nerrors > 0);
	assert_non_null(strstr(d2.v[0].msg, "yaml"));
	diags_free(&d2);
}

static void test_anchor_bomb_refused(void **state)
{
	(void)state;
	const char *t[] = {"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
			   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
			   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
			   "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
			   "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
			   "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
			   "services: {}\n"};
	struct diags d = {0};
	assert_null(load(t, 1, &d));
	int found = 0;
	for (size_t i = 0; i < d.n; i++)
		found |= strstr(d.v[i].msg, "alias bomb") != NULL;
	assert_true(found);
	diags_free(&d);
}

static void test_merge_files(void **state)
{
	(void)state;
	const char *t[] = {"version: '3.8'\nservices:\n  app:\n    image: a:1\n    command: one\n"
			   "    environment: [A=1, B=2]\n    ports: ['8082:81', '8081:80']\n"
			   "    deploy: {placement: {constraints: [x==1]}}\n",
			   "version: '3.8'\nservices:\n  app:\n    command: two\n    environment: {B: '3'}\n"
			   "    ports: ['8082:82']\n    deploy: {placement: {constraints: [y==2]}}\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 2, &d);
	assert_non_null(ds);
	json_t *s = svc(ds, "st_app");
	json_t *cs = json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Args"), 0)), "two");
	assert_int_equal(json_array_size(json_object_get(cs, "Args")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "Env"), 1)), "B=3");
	json_t *ports = json_object_get(json_object_get(s, "EndpointSpec"), "Ports");
	assert_int_equal(json_array_size(ports), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 1), "TargetPort")), 82);
	json_t *cons = json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "Placement"), "Constraints");
	assert_int_equal(json_array_size(cons), 2);
	desired_free(ds);
	diags_free(&d);
	const char *v[] = {"version: '3.8'\nservices: {}\n", "version: '3.9'\nservices: {}\n"};
	struct diags d2 = {0};
	assert_null(load(v, 2, &d2));
	assert_true(has_diag(&d2, 1, 10, "version mismatched"));
	diags_free(&d2);
}

static void test_rotated_name(void **state)
{
	(void)state;
	char *a = convert_rotated_name("st_token", "YWJj", NULL);
	char *b = convert_rotated_name("st_token", "YWJk", NULL);
	char *c = convert_rotated_name("st_token", "YWJj", NULL);
	assert_string_not_equal(a, b);
	assert_string_equal(a, c);
	assert_int_equal(strlen(a), strlen("st_token") + 11);
	char longname[100];
	memset(longname, 'n', 99);
	longname[99] = 0;
	char *l = convert_rotated_name(longname, "YWJj", NULL);
	assert_true(strlen(l) <= 64);
	free(a);
	free(b);
	free(c);
	free(l);
}

static void test_caps_ports_restart(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  s:\n    image: x\n    cap_add: [net_admin, ALL]\n    cap_drop: [mknod, all]\n"
			   "    restart: on-failure:4\n    ports: ['9000-9001:90-91/udp', 7000]\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_non_null(ds);
	json_t *s = svc(ds, "st_s");
	json_t *cs = json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec");
	assert_string_equal(json_string_value(json_array_get(json_object_get(cs, "CapabilityAdd"), 0)), "ALL");
	assert_null(json_object_get(cs, "CapabilityDrop"));
	json_t *rp = json_object_get(json_object_get(s, "TaskTemplate"), "RestartPolicy");
	assert_string_equal(json_string_value(json_object_get(rp, "Condition")), "on-failure");
	assert_int_equal(json_integer_value(json_object_get(rp, "MaxAttempts")), 4);
	json_t *ports = json_object_get(json_object_get(s, "EndpointSpec"), "Ports");
	assert_int_equal(json_array_size(ports), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 0), "PublishedPort")), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ports, 2), "TargetPort")), 91);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 2), "Protocol")), "udp");
	desired_free(ds);
	diags_free(&d);
}

/* The CLI reads a short port's protocol in any case and stores it in
 * lower case (go-connections' ParsePortSpec); "UDP" was refused. */
static void test_port_protocol_case(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  s:\n    image: x\n    ports: ['5000:5000/UDP', '6000-6001:6000-6001/SCTP', 7000/Tcp]\n"};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_non_null(ds);
	assert_int_equal(n_errors(&d), 0);
	json_t *ports = json_object_get(json_object_get(svc(ds, "st_s"), "EndpointSpec"), "Ports");
	assert_int_equal(json_array_size(ports), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 0), "Protocol")), "tcp");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 1), "Protocol")), "udp");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ports, 2), "Protocol")), "sctp");
	desired_free(ds);
	diags_free(&d);
	const char *bad[] = {"services:\n  s:\n    image: x\n    ports: ['5000:5000/Udpx']\n"};
	assert_null(load(bad, 1, &d));
	assert_true(has_diag(&d, 4, 13, "invalid proto: Udpx"));
	diags_free(&d);
}

/* cpus as Go's big.Rat reads them (the CLI's ParseCPUs): a sign, an
 * exponent, a fraction a/b; "1e-1", "3/2" and "+0.5" were refused. */
static void test_cpus_as_rational(void **state)
{
	(void)state;
	static const struct {
		const char *cpus;
		long long nanos;
	} ok[] = {{"1e-1", 100000000}, {"5E-1", 500000000}, {"+0.5", 500000000}, {"1/10", 100000000},
		  {"3/2", 1500000000}, {".5e1", 5000000000LL}, {"2.000", 2000000000}, {"0.001", 1000000}};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		char *y = NULL;
		if (asprintf(&y, "services:\n  s:\n    image: x\n    deploy: {resources: {limits: {cpus: '%s'}}}\n", ok[i].cpus) < 0)
			fail();
		const char *t[] = {y};
		struct diags d = {0};
		struct desired *ds = load(t, 1, &d);
		if (!ds || n_errors(&d))
			fail_msg("cpus %s refused", ok[i].cpus);
		json_t *lim = json_object_get(json_object_get(json_object_get(svc(ds, "st_s"), "TaskTemplate"), "Resources"), "Limits");
		if (json_integer_value(json_object_get(lim, "NanoCPUs")) != ok[i].nanos)
			fail_msg("cpus %s: %lld", ok[i].cpus, (long long)json_integer_value(json_object_get(lim, "NanoCPUs")));
		desired_free(ds);
		diags_free(&d);
		free(y);
	}
	static const struct {
		const char *cpus, *msg;
	} bad[] = {{"1/0", "failed to parse 1/0 as a rational number"}, {"e1", "failed to parse e1 as a rational number"},
		   {"1e-10", "value is too precise"}, {"1/3", "value is too precise"}, {"1/010", "failed to parse 1/010 as a rational number"},
		   {"-0.5", "must be at least 0.001"}, {"0.5 ", "failed to parse"}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *y = NULL;
		if (asprintf(&y, "services:\n  s:\n    image: x\n    deploy: {resources: {limits: {cpus: '%s'}}}\n", bad[i].cpus) < 0)
			fail();
		const char *t[] = {y};
		struct diags d = {0};
		assert_null(load(t, 1, &d));
		if (!has_diag(&d, 4, 41, bad[i].msg))
			fail_msg("cpus %s: no '%s'", bad[i].cpus, bad[i].msg);
		diags_free(&d);
		free(y);
	}
}

/* What docker stack config refuses and shoal took: an order outside the
 * schema's enum, and mapping keys that are not strings (anywhere, also in
 * an x- extension: the CLI cannot marshal the file for its schema). */
static void test_order_enum_and_string_keys(void **state)
{
	(void)state;
	const char *t[] = {"services:\n  s:\n    image: x\n"
			   "    deploy:\n      update_config: {order: random}\n      rollback_config: {order: stop-first}\n"
			   "    environment: {1: a, '2': b}\n    labels: {true: c}\nx-ext: {1.5: d}\n"};
	struct diags d = {0};
	assert_null(load(t, 1, &d));
	assert_true(has_diag(&d, 5, 30, "update_config.order must be one of the following: \"start-first\", \"stop-first\""));
	assert_true(has_diag(&d, 7, 19, "key 1 is not a string (integer)"));
	assert_true(has_diag(&d, 8, 14, "key true is not a string (boolean)"));
	assert_true(has_diag(&d, 9, 9, "key 1.5 is not a string"));
	assert_int_equal(n_errors(&d), 4);
	diags_free(&d);
}

static void test_strings_cast_only_after_interpolation(void **state)
{
	(void)state;
	/* docker casts "yes"/"2" for typed keys only when they were substituted */
	const char *bad[] = {"services:\n  s:\n    image: x\n    read_only: \"yes\"\n    deploy: {replicas: \"2\"}\n"};
	struct diags d = {0};
	assert_null(load(bad, 1, &d));
	assert_true(has_diag(&d, 4, 16, "must be a boolean"));
	assert_true(has_diag(&d, 5, 24, "must be an integer"));
	diags_free(&d);
	const char *good[] = {"services:\n  s:\n    image: x\n    read_only: ${NOPE:-yes}\n    deploy: {replicas: \"${NOPE:-2}\"}\n"};
	struct diags d2 = {0};
	struct desired *ds = load(good, 1, &d2);
	assert_non_null(ds);
	json_t *s = json_object_get(ds->services, "st_s");
	assert_true(json_is_true(json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec"), "ReadOnly")));
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "Mode"), "Replicated"), "Replicas")), 2);
	desired_free(ds);
	diags_free(&d2);
}

static void test_keys_gated_by_version(void **state)
{
	(void)state;
	const char *t[] = {"version: '3.6'\nservices:\n  s:\n    image: x\n    init: true\n"
			   "    deploy: {placement: {max_replicas_per_node: 2}}\n"};
	struct diags d = {0};
	assert_null(load(t, 1, &d));
	assert_true(has_diag(&d, 5, 5, "additional property init is not allowed (it needs version \"3.7\""));
	assert_true(has_diag(&d, 6, 26, "max_replicas_per_node is not allowed"));
	diags_free(&d);
	const char *ok[] = {"version: '3.8'\nservices:\n  s:\n    image: x\n    init: true\n"};
	struct diags d2 = {0};
	struct desired *ds = load(ok, 1, &d2);
	assert_non_null(ds);
	desired_free(ds);
	diags_free(&d2);
	const char *v2[] = {"version: '2.4'\nservices:\n  s:\n    image: x\n"};
	struct diags d3 = {0};
	assert_null(load(v2, 1, &d3));
	assert_true(has_diag(&d3, 1, 10, "unsupported Compose file version: 2.4"));
	diags_free(&d3);
}

static void test_vars_parse(void **state)
{
	(void)state;
	json_t *v = json_object();
	struct diags d = {0};
	assert_int_equal(vars_parse("vars.env", "# c\nA=1\n  B=x=y\n\nC=\n", 20, v, &d), 0);
	assert_string_equal(json_string_value(json_object_get(v, "B")), "x=y");
	assert_string_equal(json_string_value(json_object_get(v, "C")), "");
	assert_int_equal(vars_parse("vars.env", "oops\n", 5, v, &d), -1);
	assert_int_equal(d.v[0].line, 1);
	diags_free(&d);
	json_decref(v);
}

/* Found by fuzz_compose: the first file's version string was kept as a
 * pointer into its tree, freed when that file had errors, then compared
 * with the second file's version (ASan: heap-use-after-free). */
static void test_version_kept_after_a_bad_file(void **state)
{
	(void)state;
	const char *texts[] = {"version: \"3.9\"\nservices:\n  a:\n    image: x\n    bogus: 1\n",
			       "version: \"3.8\"\nservices:\n  b:\n    image: y\n"};
	struct diags d = {0};
	struct desired *ds = load(texts, 2, &d);
	assert_null(ds);
	int mismatch = 0;
	for (size_t i = 0; i < d.n; i++)
		mismatch |= strstr(d.v[i].msg, "version mismatched between two composefiles : 3.9 and 3.8") != NULL;
	assert_true(mismatch);
	diags_free(&d);
}

/* Found by fuzz_compose: interpolation replaced the version scalar while
 * its old string was still used for the schema check (use after free).
 * The CLI reads the version before interpolation: "3.${TAG}" as written. */
static void test_interpolated_version(void **state)
{
	(void)state;
	const char *texts[] = {"version: \"3.${TAG}\"\nservices:\n  a:\n    image: x\n"};
	struct diags d = {0};
	assert_null(load(texts, 1, &d));
	int found = 0;
	for (size_t i = 0; i < d.n; i++)
		found |= !strcmp(d.v[i].msg, "unsupported Compose file version: 3.${TAG}");
	assert_true(found);
	diags_free(&d);
}

/* Found by fuzz_compose: numbers beyond long long were cast (undefined
 * behaviour, caught by UBSan); now they are invalid. */
static void test_huge_numbers(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n  a:\n    image: x\n    healthcheck: {test: [CMD, x], retries: 8.0e45}\n"};
	struct diags d = {0};
	assert_null(load(texts, 1, &d));
	int found = 0;
	for (size_t i = 0; i < d.n; i++)
		found |= strstr(d.v[i].msg, "retries: invalid integer 8.0e45") != NULL;
	assert_true(found);
	diags_free(&d);
	long long v = 0;
	assert_int_equal(compose_parse_bytes("99999999999999999999999g", &v), -1);
	assert_int_equal(compose_parse_bytes("1e400", &v), -1);
	assert_int_equal(compose_parse_bytes("8g", &v), 0);
	assert_int_equal(v, 8LL << 30);
}

/* Durations as Go's time.ParseDuration reads them (the CLI's schema format
 * and its decoder): integers, no exponent or hex (strtod took "1e3s"),
 * up to int64 nanoseconds exactly (2562047h was refused, docker takes it). */
static void test_duration_as_go(void **state)
{
	(void)state;
	static const struct {
		const char *s;
		int rc;
		long long ns;
	} cases[] = {
		{"2562047h", 0, 2562047LL * 3600 * 1000000000LL},
		{"2562047h47m16.854775807s", 0, LLONG_MAX},
		{"9223372036854775807ns", 0, LLONG_MAX},
		{"-9223372036854775808ns", 0, LLONG_MIN},
		{"2562047h1ns", 0, 2562047LL * 3600 * 1000000000LL + 1},
		{"1h.5m", 0, 3630LL * 1000000000LL},
		{"1.s", 0, 1000000000LL},
		{"3m.5s", 0, 180500000000LL},
		{"1.0000000001s", 0, 1000000000LL},
		{"1h1h", 0, 7200LL * 1000000000LL},
		{"-0", 0, 0},
		{"1\xce\xbcs", 0, 1000},
		{"2562047h47m16.854775808s", -1, 0},
		{"9223372036854775808ns", -1, 0},
		{"1e3s", -1, 0},
		{"0x10s", -1, 0},
		{".s", -1, 0},
		{"1hm", -1, 0},
		{"1", -1, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		long long ns = 0;
		int rc = compose_parse_duration(cases[i].s, &ns);
		if (rc != cases[i].rc || (rc == 0 && ns != cases[i].ns))
			fail_msg("%s: rc %d ns %lld, want rc %d ns %lld", cases[i].s, rc, ns, cases[i].rc, cases[i].ns);
	}
}

/* What the CLI's schema refuses (docker stack config), shoal refuses before
 * any write: booleans in string maps, non-strings in string lists,
 * repeated list items, numbers where the schema says string, negative
 * values the CLI decodes into unsigned fields.  And what it allows: null
 * deploy, pid and logging option values. */
static void test_schema_types_as_docker(void **state)
{
	(void)state;
	const char *bad[] = {"services:\n"
			     "  s:\n"
			     "    image: x\n"
			     "    environment: {A: true, B: 1.5, C: , D: x}\n"
			     "    labels: [a=1, 5, a=1]\n"
			     "    cap_add: [NET_ADMIN, NET_ADMIN]\n"
			     "    ports: [{target: 80, published: 8080}, {published: 8080, target: 80}, \"9:9\"]\n"
			     "    expose: [80, \"80\", 80]\n"
			     "    command: [sleep, 5]\n"
			     "    logging: {options: {a: false, b: }}\n"
			     "    deploy:\n"
			     "      replicas: -1\n"
			     "      update_config: {parallelism: -2}\n"
			     "      resources: {limits: {cpus: 0.5, memory: 1048576}}\n"
			     "    healthcheck: {retries: -1}\n"};
	struct diags d = {0};
	assert_null(load(bad, 1, &d));
	assert_true(has_diag(&d, 4, 22, "environment.A must be a string, number or null, got boolean"));
	assert_true(has_diag(&d, 5, 19, "labels.1 must be a string, got integer"));
	assert_true(has_diag(&d, 5, 22, "labels.2 is the same as item 0: items must be unique"));
	assert_true(has_diag(&d, 6, 26, "cap_add.1 is the same as item 0"));
	assert_true(has_diag(&d, 7, 44, "ports.1 is the same as item 0"));
	assert_true(has_diag(&d, 8, 24, "expose.2 is the same as item 0"));
	assert_true(has_diag(&d, 9, 22, "command.1 must be a string, got integer"));
	assert_true(has_diag(&d, 10, 28, "logging.options.a must be a string, number or null, got boolean"));
	assert_true(has_diag(&d, 12, 17, "deploy.replicas must not be negative"));
	assert_true(has_diag(&d, 13, 36, "parallelism must not be negative"));
	assert_true(has_diag(&d, 14, 34, "limits.cpus must be a string, got number"));
	assert_true(has_diag(&d, 14, 47, "limits.memory must be a string, got integer"));
	assert_true(has_diag(&d, 15, 28, "healthcheck.retries must not be negative"));
	assert_int_equal(n_errors(&d), 13); /* B: 1.5, C: null, "80" vs 80, "9:9", b: null are fine */
	diags_free(&d);
	const char *good[] = {"services:\n"
			      "  s:\n"
			      "    image: x\n"
			      "    deploy:\n"
			      "    logging: {driver: json-file, options: {max-size: }}\n"
			      "    command: [echo, a, a]\n"
			      "    environment: [A=1, A=2]\n"};
	struct diags d2 = {0};
	struct desired *ds = load(good, 1, &d2);
	for (size_t i = 0; i < d2.n; i++)
		fprintf(stderr, "  have %d:%d %s\n", d2.v[i].line, d2.v[i].col, d2.v[i].msg);
	assert_non_null(ds);
	desired_free(ds);
	diags_free(&d2);
}

/* The engine's own refusals (swarmkit's controlapi), found before the first
 * write: docker stack deploy meets them after creating the networks. */
static void test_engine_rules_before_writes(void **state)
{
	(void)state;
	const char *bad[] = {"services:\n"
			     "  s:\n"
			     "    image: x\n"
			     "    ports: [\"80:80\", {target: 81, published: 80, mode: host}, \"80:80/udp\"]\n"
			     "    volumes: [\"/a:/x\", {type: tmpfs, target: /x}]\n"
			     "    healthcheck: {test: [CMD, x], interval: 500us, timeout: 0s}\n"
			     "    deploy:\n"
			     "      resources: {limits: {cpus: \"0.0001\", memory: 1m}}\n"
			     "      update_config: {delay: -1s, max_failure_ratio: 1.5}\n"
			     "      restart_policy: {window: -5s}\n"
			     "  j:\n"
			     "    image: x\n"
			     "    ports: [\"90:90\"]\n"
			     "    deploy: {mode: replicated-job, endpoint_mode: dnsrr, update_config: {parallelism: 2}}\n"};
	struct diags d = {0};
	assert_null(load(bad, 1, &d));
	assert_true(has_diag(&d, 4, 22, "port 80/tcp is published twice (ports item 0 has it too)"));
	assert_true(has_diag(&d, 5, 24, "duplicate mount point: /x"));
	assert_true(has_diag(&d, 6, 45, "interval cannot be less than 1ms"));
	assert_true(has_diag(&d, 8, 34, "invalid cpu value 0.0001: must be at least 0.001"));
	assert_true(has_diag(&d, 8, 52, "invalid memory value 1m: must be at least 4MiB"));
	assert_true(has_diag(&d, 9, 30, "delay cannot be negative"));
	assert_true(has_diag(&d, 9, 54, "max_failure_ratio must be between 0 and 1"));
	assert_true(has_diag(&d, 10, 32, "window cannot be negative"));
	assert_true(has_diag(&d, 13, 13, "port 90 is published in ingress mode, which endpoint_mode dnsrr cannot serve"));
	assert_true(has_diag(&d, 14, 58, "jobs may not have an update_config"));
	assert_int_equal(n_errors(&d), 10); /* 80/udp, timeout 0s are fine */
	diags_free(&d);
}

/* Unquoted values as yaml.v3 types them and as docker then prints them
 * (checked against docker CLI 28: tests/fixtures/compare/scalars.yml). */
static void test_scalars_as_the_cli_prints_them(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n  s:\n    image: x\n    deploy: {replicas: 2.0}\n    environment:\n"
			       "      A: 1234567.0\n      B: 123456.0\n      C: 0o17\n      D: 0777\n      E: -0x1F\n"
			       "      F: 1_000\n      G: 08\n      H: 2001-12-14\n      I: 2001-12-14t21:59:43.10-05:00\n"
			       "      J: 12345678901234567890\n      K: 123456789012345678901\n      L: 2001-02-29\n"
			       "      M: 1e400\n"};
	static const char *want[] = {"A=1.234567e+06", "B=123456", "C=15", "D=511", "E=-31", "F=1000", "G=8",
				     "H=2001-12-14 00:00:00 +0000 UTC", "I=2001-12-14 21:59:43.1 -0500 -0500",
				     "J=12345678901234567890", "K=1.2345678901234568e+20", "L=2001-02-29", "M=1e400"};
	struct diags d = {0};
	struct desired *ds = load(texts, 1, &d);
	assert_non_null(ds);
	json_t *env = json_object_get(json_object_get(json_object_get(svc(ds, "st_s"), "TaskTemplate"), "ContainerSpec"), "Env");
	assert_int_equal(json_array_size(env), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		assert_string_equal(json_string_value(json_array_get(env, i)), want[i]);
	desired_free(ds);
	diags_free(&d);
}

/* Numbers in strings are decimal, as Go's strconv.Atoi reads them (the
 * CLI's port parser, restart policy and cast of substituted values): 08080
 * is 8080, not a bad octal, and "010" ten, not eight. */
static void test_decimal_strings(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n  s:\n    image: x\n    ports: [\"08080:080\"]\n"
			       "    deploy:\n      replicas: ${NOPE:-010}\n      restart_policy:\n        max_attempts: ${NOPE:-011}\n"};
	struct diags d = {0};
	struct desired *ds = load(texts, 1, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  have %d:%d %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	assert_non_null(ds);
	json_t *s = svc(ds, "st_s");
	json_t *port = json_array_get(json_object_get(json_object_get(s, "EndpointSpec"), "Ports"), 0);
	assert_int_equal(json_integer_value(json_object_get(port, "PublishedPort")), 8080);
	assert_int_equal(json_integer_value(json_object_get(port, "TargetPort")), 80);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "Mode"), "Replicated"), "Replicas")), 10);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "RestartPolicy"), "MaxAttempts")), 11);
	desired_free(ds);
	diags_free(&d);
	long long v;
	assert_int_equal(compose_parse_int("0x10", &v), -1);
	assert_int_equal(compose_parse_int(" 5", &v), -1);
	assert_int_equal(compose_parse_int("-7", &v), 0);
	assert_int_equal(v, -7);
}

/* Templates the engine expands in hostname, environment values and mount
 * paths, and refuses after docker has made the networks: checked first. */
static void test_templates_checked(void **state)
{
	(void)state;
	const char *bad[] = {"services:\n"
			     "  s:\n"
			     "    image: x\n"
			     "    hostname: \"{{.Task.Slot.X}}\"\n"
			     "    environment:\n"
			     "      A: \"{{.Service.Nme}}\"\n"
			     "      B: \"{{.Service.Labels.team}}\"\n"
			     "      C: \"open {{ .Node.ID\"\n"
			     "    volumes: [\"/srv/{{.Tsk.Slot}}:/data\"]\n"
			     "  ok:\n"
			     "    image: x\n"
			     "    hostname: \"{{.Node.Hostname}}-{{- .Task.Slot -}}\"\n"
			     "    environment:\n"
			     "      A: '{{index .Service.Labels \"team\"}}'\n"
			     "      B: '{{join \"-\" .Service.Name .Node.Platform.OS}}{{.Nonsense}}'\n"
			     "      C: '{{/* note */}}{{.}}{{.Service.Labels}} 100%'\n"
			     "    volumes: [\"/srv/{{.Task.Slot}}:/data\"]\n"};
	struct diags d = {0};
	assert_null(load(bad, 1, &d));
	assert_true(has_diag(&d, 4, 15, "hostname: template .Task.Slot.X: a string has no fields"));
	assert_true(has_diag(&d, 6, 10, "environment A: template field .Service.Nme does not exist"));
	assert_true(has_diag(&d, 7, 10, "write {{index .Service.Labels \"team\"}}"));
	assert_true(has_diag(&d, 8, 10, "environment C: a template action {{ is not closed with }}"));
	assert_true(has_diag(&d, 9, 15, "mount source: template field .Tsk does not exist"));
	assert_int_equal(n_errors(&d), 5); /* service ok: nothing */
	diags_free(&d);
}

/* uniqueItems compares numbers as JSON does: 80 and 80.0 are one item,
 * two 20-digit integers a unit apart are two (not one double). */
static void test_unique_numbers_exact(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n  s:\n    image: x\n"
			       "    expose: [12345678901234567890, 12345678901234567891, 80, 80.0]\n"};
	struct diags d = {0};
	assert_null(load(texts, 1, &d));
	assert_int_equal(n_errors(&d), 1);
	assert_true(has_diag(&d, 4, 62, "expose.3 is the same as item 2"));
	diags_free(&d);
}

/* Issue 17: list items longer than the 32-byte cap of the buffer their
 * uniqueness key was built in were cut there, so two long labels that
 * differ further on (traefik's) were "the same"; a true duplicate is
 * still found, whatever its length. */
static void test_unique_long_items(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n  s:\n    image: x\n"
			       "    environment:\n"
			       "      - SOME_RATHER_LONG_VARIABLE_NAME_ONE=1\n"
			       "      - SOME_RATHER_LONG_VARIABLE_NAME_TWO=2\n"
			       "    deploy:\n"
			       "      labels:\n"
			       "        - traefik.http.routers.app.rule=Host(`a.example.com`)\n"
			       "        - traefik.http.routers.app.entrypoints=websecure\n"
			       "        - traefik.http.services.app.loadbalancer.server.port=80\n"
			       "      placement: {constraints: [node.labels.a_rather_long_label_name == x]}\n"
			       "    ports:\n"
			       "      - {target: 8080, published: 18080, protocol: tcp, mode: host}\n"
			       "      - {target: 8081, published: 18081, protocol: tcp, mode: host}\n"};
	struct diags d = {0};
	struct desired *ds = load(texts, 1, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "  have %d:%d %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	assert_non_null(ds);
	json_t *l = json_object_get(svc(ds, "st_s"), "Labels");
	assert_string_equal(json_string_value(json_object_get(l, "traefik.http.routers.app.entrypoints")), "websecure");
	desired_free(ds);
	diags_free(&d);
	const char *dup[] = {"services:\n  s:\n    image: x\n"
			     "    deploy:\n"
			     "      labels:\n"
			     "        - traefik.http.routers.app.rule=Host(`a.example.com`)\n"
			     "        - traefik.http.routers.app.entrypoints=websecure\n"
			     "        - traefik.http.routers.app.rule=Host(`a.example.com`)\n"};
	struct diags d2 = {0};
	assert_null(load(dup, 1, &d2));
	assert_int_equal(n_errors(&d2), 1);
	assert_true(has_diag(&d2, 8, 11, "deploy.labels.2 is the same as item 0: items must be unique"));
	diags_free(&d2);
}

/* The error messages of one load, as "LINE:COL MSG" lines. */
static char *all_msgs(const char **texts, size_t n)
{
	struct diags d = {0};
	struct desired *ds = load(texts, n, &d);
	desired_free(ds);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < d.n; i++)
		if (d.v[i].level == DIAG_ERROR)
			buf_addf(&b, "%d:%d %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
	diags_free(&d);
	return buf_detach(&b);
}

/* Issue 17: docker CLI 28 (cli/compose/schema Version) reads the version
 * as written, before interpolation, printed the way Go's %v prints what
 * yaml.v3 decoded; none, "" and "3" are the latest schema (3.13), and a
 * schema must exist for exactly that string.  oom_score_adj (3.13 only)
 * shows which schema a file got.  Each row was run through docker stack
 * config (CLI 28.2.2) for its message. */
static void test_version_mapping(void **state)
{
	(void)state;
	static const struct {
		const char *line; /* the version line, or "" for none */
		const char *want; /* every error, or "" */
	} rows[] = {
		{"", ""},
		{"version: \"3\"\n", ""},
		{"version: \"\"\n", ""},
		{"version: '3.13'\n", ""},
		{"version: \"3.0\"\n", "4:5 services.s additional property oom_score_adj is not allowed (it needs version \"3.13\" or later, the file says \"3.0\")\n"},
		{"version: \"3.12\"\n", "4:5 services.s additional property oom_score_adj is not allowed (it needs version \"3.13\" or later, the file says \"3.12\")\n"},
		{"version: \"3.14\"\n", "1:10 unsupported Compose file version: 3.14\n"},
		{"version: \"3.01\"\n", "1:10 unsupported Compose file version: 3.01\n"},
		{"version: \"3 \"\n", "1:10 unsupported Compose file version: 3 \n"},
		{"version: \"2.4\"\n", "1:10 unsupported Compose file version: 2.4\n"},
		{"version: \"${V}\"\n", "1:10 unsupported Compose file version: ${V}\n"},
		{"version: true\n", "1:10 unsupported Compose file version: true\n"},
		{"version:\n", "1:9 unsupported Compose file version: <nil>\n"},
		{"version: [3]\n", "1:10 unsupported Compose file version: [3]\n"},
		{"version: 3\n", "1:10 version must be a string, got integer\n"},
		{"version: 3.0\n", "1:10 version must be a string, got number\n"},
		{"version: 3.10\n", "1:10 version must be a string, got number\n"
				    "4:5 services.s additional property oom_score_adj is not allowed (it needs version \"3.13\" or later, the file says \"3.1\")\n"},
		{"version: 3.1e0\n", "1:10 version must be a string, got number\n"
				     "4:5 services.s additional property oom_score_adj is not allowed (it needs version \"3.13\" or later, the file says \"3.1\")\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char *text = xasprintf("%sservices:\n  s:\n    oom_score_adj: 5\n    image: x\n", rows[i].line);
		if (!*rows[i].line) /* the same lines without a version line */
			text = (free(text), xasprintf("\nservices:\n  s:\n    oom_score_adj: 5\n    image: x\n"));
		const char *t[] = {text};
		char *got = all_msgs(t, 1);
		if (strcmp(got, rows[i].want))
			fprintf(stderr, "row %zu [%s]: got\n%s", i, rows[i].line, got);
		assert_string_equal(got, rows[i].want);
		free(got);
		free(text);
	}
	/* every 3.x from 3.1 to 3.12 is its own schema */
	for (int m = 1; m <= 12; m++) {
		char *text = xasprintf("version: \"3.%d\"\nservices:\n  s:\n    oom_score_adj: 5\n    image: x\n", m);
		const char *t[] = {text};
		char *got = all_msgs(t, 1);
		char *want = xasprintf("4:5 services.s additional property oom_score_adj is not allowed (it needs version \"3.13\" or later, the file says \"3.%d\")\n", m);
		assert_string_equal(got, want);
		free(got);
		free(want);
		free(text);
	}
	/* files are compared as mapped: "3", none and "3.13" agree; "3.0" is not "3" */
	static const char *pairs[][3] = {
		{"version: \"3\"\n", "version: \"3.13\"\n", ""},
		{"", "version: \"3.13\"\n", ""},
		{"version: \"3.0\"\n", "version: \"3\"\n", "1:10 version mismatched between two composefiles : 3.0 and 3.13\n"},
		{"version: \"3.13\"\n", "version: \"3.8\"\n", "1:10 version mismatched between two composefiles : 3.13 and 3.8\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
		char *a = xasprintf("%sservices:\n  s:\n    image: x\n", pairs[i][0]);
		char *b = xasprintf("%sservices:\n  s:\n    image: y\n", pairs[i][1]);
		const char *t[] = {a, b};
		char *got = all_msgs(t, 2);
		assert_string_equal(got, pairs[i][2]);
		free(got);
		free(a);
		free(b);
	}
}

/* Where the schema takes x- keys (from 3.4 at the top, from 3.7 in
 * services, networks, volumes, secrets and configs, nowhere else), and
 * the objects it leaves open (a service's secret and config items, the
 * bind/volume/tmpfs options of a mount, a secret's external, build from
 * 3.11) or closed, with their required keys (as docker stack config). */
static void test_schema_extensions_and_open_objects(void **state)
{
	(void)state;
	static const struct {
		const char *text, *want;
	} rows[] = {
		{"version: \"3.6\"\nservices:\n  s:\n    image: x\n    x-foo: 1\n",
		 "5:5 services.s additional property x-foo is not allowed\n"},
		{"version: \"3.7\"\nservices:\n  s:\n    image: x\n    x-foo: 1\n", ""},
		{"version: \"3.3\"\nx-foo: 1\nservices:\n  s:\n    image: x\n",
		 "2:1 additional property x-foo is not allowed\n"},
		{"version: \"3.4\"\nx-foo: &a {image: x}\nservices:\n  s:\n    <<: *a\n", ""},
		{"services:\n  s:\n    image: x\n    deploy: {x-foo: 1}\n",
		 "4:14 services.s.deploy additional property x-foo is not allowed\n"},
		{"services:\n  s:\n    image: x\n    secrets: [{source: a, foo: 1}]\nsecrets:\n  a: {external: {foo: 1}}\n", ""},
		{"services:\n  s:\n    image: x\nnetworks:\n  n: {external: {foo: 1}}\n",
		 "5:18 networks.n.external additional property foo is not allowed\n"},
		{"services:\n  s:\n    image: x\n    volumes: [{type: volume, source: v, target: /x, volume: {subpath: a}},\n"
		 "              {type: bind, source: /a, target: /y, bind: {b: 1}}]\nvolumes:\n  v:\n", ""},
		{"services:\n  s:\n    image: x\n    volumes: [{target: /x}]\n",
		 "4:15 services.s.volumes.0 type is required\n"},
		{"services:\n  s:\n    image: x\n    ulimits: {nofile: {soft: 1}}\n",
		 "4:23 services.s.ulimits.nofile hard is required\n"},
		{"services:\n  \"a b\":\n    image: x\n", "2:3 services additional property a b is not allowed\n"},
		{"version: \"3.10\"\nservices:\n  s:\n    image: x\n    build: {context: ., foo: 1}\n",
		 "5:25 services.s.build additional property foo is not allowed\n"},
		{"version: \"3.11\"\nservices:\n  s:\n    image: x\n    build: {context: ., foo: 1}\n", ""},
		{"version: \"3.1\"\nservices:\n  s:\n    image: x\n    ports: [{target: 80}]\n",
		 "5:13 services.s.ports.0 must be a string or number, got mapping\n"},
	};
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		const char *t[] = {rows[i].text};
		char *got = all_msgs(t, 1);
		if (strcmp(got, rows[i].want))
			fprintf(stderr, "row %zu: got\n%s", i, got);
		assert_string_equal(got, rows[i].want);
		free(got);
	}
}

/* Issue 17: a schema error no longer hides the rest.  replicas: two
 * (line 6) and the undefined network (line 9) of the same file, the
 * engine rule broken by another service and the second file's own error
 * come in one run; the parts cut out bring no errors of their own (the
 * image, the network definition, the secret). */
static void test_every_error_at_once(void **state)
{
	(void)state;
	const char *texts[] = {"services:\n"
			       "  web:\n"
			       "    image: ${NOPE?set NOPE}\n"
			       "    deploy:\n"
			       "      mode: replicated\n"
			       "      replicas: two\n"
			       "    secrets: [s]\n"
			       "    networks:\n"
			       "      - nowhere\n"
			       "      - back\n"
			       "  db:\n"
			       "    image: x\n"
			       "    healthcheck: {test: [CMD, x], interval: 1us}\n"
			       "networks:\n"
			       "  back: {driver: 5}\n"
			       "secrets:\n"
			       "  s: {file: [a]}\n",
			       "services:\n"
			       "  db:\n"
			       "    deploy: {replicas: -1}\n"};
	char *got = all_msgs(texts, 2);
	assert_string_equal(got, "3:12 services.web.image: required variable NOPE is missing a value: set NOPE\n"
				 "6:17 services.web.deploy.replicas must be an integer, got string\n"
				 "15:18 networks.back.driver must be a string, got integer\n"
				 "17:13 secrets.s.file must be a string, got sequence\n"
				 "3:24 services.db.deploy.replicas must not be negative, got -1\n"
				 "13:45 service db: interval cannot be less than 1ms\n"
				 "9:9 service web: undefined network \"nowhere\"\n");
	free(got);
}

/* Issue 17: the CLI sorts a service's ports with Go's sort.Slice by
 * published port; it is not stable, so with more than 12 ports the ones
 * publishing the same port come out in pdqsort's order.  The expected
 * orders are what docker stack deploy (CLI 28.2.2) stored for
 * tests/fixtures/compare/ports.yml on the lab engine. */
static void test_port_order_as_go_sorts(void **state)
{
	(void)state;
	char *path = xasprintf("%s/tests/fixtures/compare/ports.yml", TOP);
	char *text = NULL;
	size_t len;
	assert_int_equal(read_file(path, 1 << 20, &text, &len), 0);
	const char *t[] = {text};
	struct diags d = {0};
	struct desired *ds = load(t, 1, &d);
	assert_non_null(ds);
	static const char *want[][2] = {
		{"st_many", "0:9006/tcp 0:9001/tcp 0:9002/tcp 0:9003/tcp 0:9011/tcp 0:9000/tcp 0:9004/tcp 0:9010/tcp "
			    "0:9009/tcp 0:9008/tcp 0:9007/tcp 0:9005/tcp 53:53/tcp 53:53/udp 6000:6000/udp 6000:6000/sctp "
			    "6000:6000/tcp 7000:7000/tcp 7001:7001/tcp 7002:7002/tcp 7003:7003/tcp 8080:80/tcp "},
		{"st_few", "0:9000/tcp 0:9001/tcp 0:9002/tcp 0:9003/tcp 81:81/tcp "},
	};
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		json_t *ports = json_object_get(json_object_get(svc(ds, want[i][0]), "EndpointSpec"), "Ports");
		struct buf b;
		buf_init(&b, 0);
		size_t k;
		json_t *p;
		json_array_foreach(ports, k, p)
			buf_addf(&b, "%lld:%lld/%s ", (long long)json_integer_value(json_object_get(p, "PublishedPort")),
				 (long long)json_integer_value(json_object_get(p, "TargetPort")),
				 *json_string_value(json_object_get(p, "Protocol")) ?
					 json_string_value(json_object_get(p, "Protocol")) : "tcp"); /* the engine's default */
		assert_string_equal(b.data, want[i][1]);
		buf_free(&b);
	}
	desired_free(ds);
	diags_free(&d);
	free(text);
	free(path);
}

/* go_sort_slice on its own: larger inputs go through the partitions, the
 * pattern breaking and the heap fallback; the result is always sorted
 * and a permutation (what Go's sort.Slice guarantees). */
static int int_less(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return *(const int *)a < *(const int *)b;
}

static void test_go_sort_slice_sorts(void **state)
{
	(void)state;
	enum { N = 3000 };
	static int vals[N];
	static void *v[N];
	unsigned r = 12345;
	for (int round = 0; round < 4; round++) {
		long long sum = 0, got = 0;
		for (int i = 0; i < N; i++) {
			r = r * 1103515245u + 12345u;
			/* random, few distinct, descending, organ pipe */
			vals[i] = round == 0 ? (int)(r >> 8) : round == 1 ? (int)(r >> 8) % 7 : round == 2 ? N - i :
				  (i < N / 2 ? i : N - i);
			v[i] = &vals[i];
			sum += vals[i];
		}
		go_sort_slice(v, N, int_less, NULL);
		for (int i = 0; i < N; i++) {
			got += *(int *)v[i];
			if (i)
				assert_true(*(int *)v[i - 1] <= *(int *)v[i]);
		}
		assert_true(sum == got);
	}
}

/* Issue 17: a secret or config with name: is created under exactly that
 * name (docker's), not the rotated STACK_key_<hash>; the others rotate
 * as before.  The engine cannot change an object's content: a named
 * config whose live data differs, or a named secret whose content label
 * differs, leaves the stack out of the plan before its first write; the
 * same content writes nothing; a secret made without shoal (no label)
 * is updated first, so that the engine compares its data before any
 * other write. */
static void test_named_objects_keep_their_name(void **state)
{
	(void)state;
	char *dir = xasprintf("%s/tests/fixtures/compare", TOP);
	const char *texts[] = {"services:\n  s:\n    image: x\n    secrets: [s, t]\n    configs: [c]\n"
			       "secrets:\n  s: {name: named-secret, file: ./token.txt}\n  t: {file: ./token.txt}\n"
			       "configs:\n  c: {name: named-config, file: ./app.conf, labels: {a: b}}\n"};
	struct diags d = {0};
	struct desired *ds = load_in(texts, 1, &d, dir);
	assert_non_null(ds);
	json_t *sec = json_object_get(ds->secrets, "named-secret");
	assert_non_null(sec);
	assert_true(json_is_true(json_object_get(sec, "named")));
	const char *digest = json_string_value(json_object_get(json_object_get(json_object_get(sec, "spec"), "Labels"), LABEL_CONTENT));
	assert_non_null(digest);
	assert_int_equal(strlen(digest), 10);
	int rotated = 0;
	const char *k;
	json_t *v;
	json_object_foreach(ds->secrets, k, v)
		rotated += !strncmp(k, "st_t_", 5) && strlen(k) == 15;
	assert_int_equal(rotated, 1);
	json_t *cs = json_object_get(json_object_get(svc(ds, "st_s"), "TaskTemplate"), "ContainerSpec");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(cs, "Configs"), 0), "ConfigName")),
			    "named-config");
	json_t *cfg = json_object_get(json_object_get(ds->configs, "named-config"), "spec");
	const char *data = json_string_value(json_object_get(cfg, "Data"));

	/* the swarm has both names, with other content */
	json_t *secrets = json_pack("[{s:s, s:{s:i}, s:{s:s, s:{s:s, s:s}}}]", "ID", "S1", "Version", "Index", 7, "Spec",
				    "Name", "named-secret", "Labels", LABEL_NAMESPACE, "st", LABEL_CONTENT, "0000000000");
	json_t *configs = json_pack("[{s:s, s:{s:i}, s:{s:s, s:s, s:O}}]", "ID", "C1", "Version", "Index", 3, "Spec",
				    "Name", "named-config", "Data", "b3RoZXI=", "Labels",
				    json_object_get(cfg, "Labels"));
	struct swarm_state st;
	char *err = NULL;
	assert_int_equal(swarm_state_init(&st, json_array(), secrets, configs, json_array(), &err), 0);
	struct live lv;
	live_select(&st, "st", &lv);
	struct plan p = {0};
	struct plan_opts po = {0};
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), -1);
	assert_int_equal(p.n, 0);
	assert_non_null(strstr(err, "secret s (name: named-secret): the file's content differs"));
	assert_non_null(strstr(err, "config c (name: named-config): the file's content differs"));
	assert_non_null(strstr(err, "rename it (name: named-config_v2) or drop name:"));
	free(err);
	err = NULL;
	live_free(&lv);
	swarm_state_free(&st);

	/* the config as the file has it, the secret made by hand (no label) */
	secrets = json_pack("[{s:s, s:{s:i}, s:{s:s}}]", "ID", "S1", "Version", "Index", 7, "Spec", "Name", "named-secret");
	configs = json_pack("[{s:s, s:{s:i}, s:{s:s, s:s, s:O}}]", "ID", "C1", "Version", "Index", 3, "Spec", "Name",
			    "named-config", "Data", data, "Labels", json_object_get(cfg, "Labels"));
	assert_int_equal(swarm_state_init(&st, json_array(), secrets, configs, json_array(), &err), 0);
	live_select(&st, "st", &lv);
	assert_int_equal(plan_stack(&p, ds, "st", &lv, &po, &err), 0);
	plan_sort(&p);
	assert_true(p.n >= 3);
	assert_int_equal(p.ops[0].op, OP_UPDATE);
	assert_int_equal(p.ops[0].kind, K_SECRET);
	assert_string_equal(p.ops[0].id, "S1");
	assert_int_equal(p.ops[0].version, 7);
	assert_non_null(json_object_get(p.ops[0].spec, "Data")); /* the engine compares it */
	for (size_t i = 0; i < p.n; i++) {
		assert_false(p.ops[i].kind == K_CONFIG); /* the same: nothing to do */
		assert_false(p.ops[i].op == OP_CREATE && !strcmp(p.ops[i].name, "named-secret"));
	}
	plan_free(&p);
	live_free(&lv);
	swarm_state_free(&st);
	desired_free(ds);
	diags_free(&d);
	free(dir);
}

/* docker's loader refuses an external volume that says how to make it
 * (driver, driver_opts, labels: the first it finds), as corpus file 39;
 * a mount of type image or cluster converts as the CLI converts it. */
static void test_external_volume_conflicts_and_new_mounts(void **state)
{
	(void)state;
	const char *bad[] = {"services:\n  s:\n    image: x\n    volumes: [data:/d]\n"
			     "volumes:\n  data:\n    external: true\n    driver: rexray\n  other:\n    external: true\n"
			     "    labels: [a=b]\n  fine:\n    external: true\n    labels: {}\n"};
	char *got = all_msgs(bad, 1);
	assert_string_equal(got, "8:5 conflicting parameters \"external\" and \"driver\" specified for volume \"data\"\n"
				 "11:5 conflicting parameters \"external\" and \"labels\" specified for volume \"other\"\n");
	free(got);
	const char *ok[] = {"services:\n  s:\n    image: x\n    volumes:\n"
			    "      - {type: image, source: \"busybox:1\", target: /img, read_only: true}\n"
			    "      - {type: cluster, source: \"group:g\", target: /c}\n"
			    "      - {type: cluster, source: csi, target: /d}\n"
			    "      - {type: volume, source: v, target: /v, volume: {subpath: a/b}}\n"
			    "volumes:\n  csi: {name: my-csi}\n  v:\n"};
	struct diags d = {0};
	struct desired *ds = load(ok, 1, &d);
	assert_non_null(ds);
	json_t *m = json_object_get(json_object_get(json_object_get(svc(ds, "st_s"), "TaskTemplate"), "ContainerSpec"), "Mounts");
	char *j = json_dumps(m, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(j, "[{\"ReadOnly\":true,\"Source\":\"busybox:1\",\"Target\":\"/img\",\"Type\":\"image\"},"
			       "{\"ClusterOptions\":{},\"Source\":\"group:g\",\"Target\":\"/c\",\"Type\":\"cluster\"},"
			       "{\"ClusterOptions\":{},\"Source\":\"my-csi\",\"Target\":\"/d\",\"Type\":\"cluster\"},"
			       "{\"Source\":\"st_v\",\"Target\":\"/v\",\"Type\":\"volume\",\"VolumeOptions\":{\"Labels\":"
			       "{\"com.docker.stack.namespace\":\"st\"},\"Subpath\":\"a/b\"}}]");
	free(j);
	desired_free(ds);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpolated_version),
		cmocka_unit_test(test_huge_numbers),
		cmocka_unit_test(test_duration_as_go),
		cmocka_unit_test(test_port_protocol_case),
		cmocka_unit_test(test_cpus_as_rational),
		cmocka_unit_test(test_order_enum_and_string_keys),
		cmocka_unit_test(test_version_kept_after_a_bad_file),
		cmocka_unit_test(test_basic_service),
		cmocka_unit_test(test_bare_image_gets_latest),
		cmocka_unit_test(test_errors_have_positions),
		cmocka_unit_test(test_undefined_network_position),
		cmocka_unit_test(test_forbidden_and_yaml_errors),
		cmocka_unit_test(test_anchor_bomb_refused),
		cmocka_unit_test(test_merge_files),
		cmocka_unit_test(test_rotated_name),
		cmocka_unit_test(test_caps_ports_restart),
		cmocka_unit_test(test_strings_cast_only_after_interpolation),
		cmocka_unit_test(test_keys_gated_by_version),
		cmocka_unit_test(test_vars_parse),
		cmocka_unit_test(test_schema_types_as_docker),
		cmocka_unit_test(test_engine_rules_before_writes),
		cmocka_unit_test(test_scalars_as_the_cli_prints_them),
		cmocka_unit_test(test_decimal_strings),
		cmocka_unit_test(test_templates_checked),
		cmocka_unit_test(test_unique_numbers_exact),
		cmocka_unit_test(test_unique_long_items),
		cmocka_unit_test(test_version_mapping),
		cmocka_unit_test(test_schema_extensions_and_open_objects),
		cmocka_unit_test(test_every_error_at_once),
		cmocka_unit_test(test_port_order_as_go_sorts),
		cmocka_unit_test(test_go_sort_slice_sorts),
		cmocka_unit_test(test_named_objects_keep_their_name),
		cmocka_unit_test(test_external_volume_conflicts_and_new_mounts),
	};
	return cmocka_run_group_tests_name("compose", tests, NULL, NULL);
}
