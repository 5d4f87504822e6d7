#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../reconcile/plan.h"

static json_t *J(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, 0, &e);
	if (!j)
		fail_msg("bad json %s: %s", s, e.text);
	return j;
}

static void test_defaults_make_equal(void **state)
{
	(void)state;
	/* what shoal sends vs what the engine stores for it */
	json_t *want = J("{\"Name\":\"s\",\"Labels\":{\"a\":\"1\"},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\","
			 "\"Privileges\":{\"CredentialSpec\":null,\"SELinuxContext\":null,\"NoNewPrivileges\":false}},"
			 "\"Resources\":{},\"Placement\":{},\"ForceUpdate\":0},\"Mode\":{\"Replicated\":{}},"
			 "\"UpdateConfig\":{\"Parallelism\":1},\"EndpointSpec\":{\"Ports\":[{\"Protocol\":\"\","
			 "\"TargetPort\":80,\"PublishedPort\":8080,\"PublishMode\":\"\"}]}}");
	json_t *live = J("{\"Name\":\"s\",\"Labels\":{\"a\":\"1\"},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\","
			 "\"Isolation\":\"default\",\"Privileges\":{}},\"Resources\":{},\"Placement\":{},"
			 "\"Runtime\":\"container\",\"ForceUpdate\":0},\"Mode\":{\"Replicated\":{\"Replicas\":1}},"
			 "\"UpdateConfig\":{\"Parallelism\":1,\"FailureAction\":\"pause\",\"Order\":\"stop-first\","
			 "\"MaxFailureRatio\":0},\"EndpointSpec\":{\"Mode\":\"vip\",\"Ports\":[{\"Protocol\":\"tcp\","
			 "\"TargetPort\":80,\"PublishedPort\":8080,\"PublishMode\":\"ingress\"}]}}");
	json_t *names = json_object();
	json_t *c = plan_compare_specs(want, live, names, 1);
	json_decref(names);
	if (json_array_size(c)) {
		char *s = json_dumps(c, 0);
		fail_msg("unexpected changes: %s", s);
	}
	json_decref(c);
	json_decref(want);
	json_decref(live);
}

static void test_changes_are_reported(void **state)
{
	(void)state;
	json_t *want = J("{\"Labels\":{\"a\":\"2\"},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:2\",\"Env\":[\"A=1\"]}}}");
	json_t *live = J("{\"Labels\":{\"a\":\"1\",\"b\":\"x\"},\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\",\"Env\":[\"A=1\",\"H=1\"]}}}");
	json_t *c = plan_diff_specs(want, live, 0);
	/* labels are compared as whole maps even in subset mode */
	assert_int_equal(json_array_size(c), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 0), "path")), "Labels.a");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 1), "path")), "Labels.b");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "path")), "TaskTemplate.ContainerSpec.Image");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 2), "new")), "x:2");
	assert_string_equal(json_string_value(json_object_get(json_array_get(c, 3), "path")), "TaskTemplate.ContainerSpec.Env");
	json_decref(c);
	json_decref(want);
	json_decref(live);
}

static void test_unknown_live_fields_ignored_in_subset(void **state)
{
	(void)state;
	json_t *want = J("{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x\"}}}");
	json_t *live = J("{\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x\",\"NewEngineField\":\"d\"}}}");
	json_t *c = plan_diff_specs(want, live, 0);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	c = plan_diff_specs(want, live, 1);
	assert_int_equal(json_array_size(c), 1);
	json_decref(c);
	json_decref(want);
	json_decref(live);
}

static void test_hash_is_stable(void **state)
{
	(void)state;
	json_t *a = J("{\"a\":1,\"b\":[1,2]}"), *b = J("{\"b\":[1,2],\"a\":1}"), *c = J("{\"a\":2,\"b\":[1,2]}");
	char *ha = plan_spec_hash(a), *hb = plan_spec_hash(b), *hc = plan_spec_hash(c);
	assert_string_equal(ha, hb);
	assert_string_not_equal(ha, hc);
	free(ha);
	free(hb);
	free(hc);
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/* Found by fuzz_engine: a service without an ID in the engine's list
 * crashed the planner (xstrdup(NULL)).  A snapshot whose objects lack what
 * the planner relies on is refused as a whole. */
static void refused(const char *services, const char *networks)
{
	struct swarm_state st;
	char *err = NULL;
	json_t *sv = json_loads(services, 0, NULL), *nw = json_loads(networks, 0, NULL);
	assert_non_null(sv);
	assert_non_null(nw);
	assert_int_equal(swarm_state_init(&st, sv, json_array(), json_array(), nw, &err), -1);
	assert_non_null(strstr(err, "malformed"));
	free(err);
}

static void test_malformed_snapshot(void **state)
{
	(void)state;
	refused("[{\"Spec\": {\"Name\": \"st_web\"}}]", "[]");
	refused("[{\"ID\": 7, \"Spec\": {}}]", "[]");
	refused("[{\"ID\": \"\", \"Spec\": {}}]", "[]");
	refused("[{\"ID\": \"a\"}]", "[]");
	refused("[1]", "[]");
	refused("{}", "[]");
	refused("[]", "[{\"Name\": \"front\"}]");
	refused("[]", "[{\"Id\": \"n1\"}]");
	struct swarm_state st;
	char *err = NULL;
	assert_int_equal(swarm_state_init(&st, json_loads("[{\"ID\": \"a\", \"Spec\": {}}]", 0, NULL), json_array(),
					  json_array(), json_loads("[{\"Id\": \"n1\", \"Name\": \"front\"}]", 0, NULL), &err),
			 0);
	assert_string_equal(json_string_value(json_object_get(st.net_names, "n1")), "front");
	swarm_state_free(&st);
}

/* ---- published ports across a plan ---- */

static json_t *svc_with_port(const char *name, int port, const char *mode)
{
	return json_pack("{s:s, s:{s:[{s:s, s:i, s:i, s:s}]}}", "Name", name, "EndpointSpec", "Ports", "Protocol", "tcp",
			 "TargetPort", 80, "PublishedPort", port, "PublishMode", mode);
}

static void add(struct plan *p, enum op_kind k, const char *stack, const char *name, const char *id, json_t *spec)
{
	p->ops = realloc(p->ops, (p->n + 1) * sizeof *p->ops);
	struct op *o = &p->ops[p->n++];
	memset(o, 0, sizeof *o);
	o->op = k;
	o->kind = K_SERVICE;
	o->stack = strdup(stack);
	o->name = strdup(name);
	o->id = id ? strdup(id) : NULL;
	o->spec = spec;
}

static int has(const struct strv *v, const char *frag)
{
	for (size_t i = 0; i < v->n; i++)
		if (strstr(v->v[i], frag))
			return 1;
	return 0;
}

static void test_ports_across_the_plan(void **state)
{
	(void)state;
	/* live: foreign (no stack) holds 80 in ingress, st_old holds 81,
	 * h1 and h2 share 90 in host mode; the snapshot names ID d twice
	 * (fuzz_engine found the leak that made) */
	json_t *sv = json_pack("[{s:s, s:o}, {s:s, s:o}, {s:s, s:o}, {s:s, s:o}, {s:s, s:o}]", "ID", "f", "Spec",
			       svc_with_port("foreign", 80, "ingress"), "ID", "o", "Spec",
			       svc_with_port("st_old", 81, "ingress"), "ID", "h", "Spec", svc_with_port("h1", 90, "host"),
			       "ID", "d", "Spec", svc_with_port("dup_a", 95, "host"), "ID", "d", "Spec",
			       svc_with_port("dup_a", 95, "host"));
	struct swarm_state st;
	char *err = NULL;
	assert_int_equal(swarm_state_init(&st, sv, json_array(), json_array(), json_array(), &err), 0);
	struct plan p = {0};
	add(&p, OP_CREATE, "bad", "bad_web", NULL, svc_with_port("bad_web", 80, "host"));
	add(&p, OP_CREATE, "st", "st_new", NULL, svc_with_port("st_new", 81, "ingress"));
	add(&p, OP_REMOVE, "st", "st_old", "o", NULL);
	add(&p, OP_CREATE, "hosts", "h2", NULL, svc_with_port("h2", 90, "host"));
	add(&p, OP_UPDATE, "dup", "dup_a", "d", svc_with_port("dup_a", 96, "host"));
	add(&p, OP_UPDATE, "dup", "dup_a", "d", svc_with_port("dup_a", 97, "host"));
	struct strv errs = {0}, bad = {0};
	assert_int_equal(plan_check_ports(&p, &st, &errs, &bad), 1);
	assert_int_equal(bad.n, 1);
	assert_string_equal(bad.v[0], "bad");
	assert_int_equal(errs.n, 1);
	assert_true(has(&errs, "service bad_web publishes port 80/tcp in host mode, and service foreign publishes it in ingress mode"));
	/* the bad stack left the plan; the port st_old frees goes first */
	assert_int_equal(p.n, 5);
	for (size_t i = 0; i < p.n; i++) {
		assert_string_not_equal(p.ops[i].stack, "bad");
		assert_int_equal(p.ops[i].early, p.ops[i].op == OP_REMOVE);
	}
	plan_sort(&p);
	assert_string_equal(p.ops[0].name, "st_old");
	strv_free(&errs);
	strv_free(&bad);
	plan_free(&p);
	swarm_state_free(&st);
}

/* When a scoped snapshot is not enough for the swarm-wide checks: a
 * service created, or a port written that no service read holds so that
 * nothing outside the snapshot could clash (issue 20). */
static void test_wide_reads(void **state)
{
	(void)state;
	/* the stack's live services: web holds 80 in ingress, h 90 in host */
	json_t *sv = json_pack("[{s:s, s:o}, {s:s, s:o}]", "ID", "w", "Spec", svc_with_port("st_web", 80, "ingress"), "ID",
			       "h", "Spec", svc_with_port("st_h", 90, "host"));
	struct swarm_state st;
	char *err = NULL;
	assert_int_equal(swarm_state_init(&st, sv, json_array(), json_array(), json_array(), &err), 0);
	struct {
		enum op_kind op;
		int port;
		const char *mode;
		int services;
	} cases[] = {
		{OP_UPDATE, 80, "ingress", 0}, /* held in ingress: nobody else can */
		{OP_UPDATE, 80, "host", 0},
		{OP_UPDATE, 90, "host", 0},    /* others may hold it, in host mode only */
		{OP_UPDATE, 90, "ingress", 1}, /* a host-mode holder elsewhere would clash */
		{OP_UPDATE, 81, "ingress", 1}, /* a new port */
		{OP_UPDATE, 0, "ingress", 0},  /* the engine picks it */
		{OP_CREATE, 80, "ingress", 1}, /* a name the engine may hold in another case */
		{OP_REMOVE, 81, "ingress", 0},
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct plan p = {0};
		add(&p, cases[i].op, "st", "st_x", cases[i].op == OP_CREATE ? NULL : "x",
		    svc_with_port("st_x", cases[i].port, cases[i].mode));
		int s = -1, n = -1;
		plan_wide_reads(&p, &st, &s, &n);
		assert_int_equal(s, cases[i].services);
		assert_int_equal(n, 0);
		plan_free(&p);
	}
	/* a create whose name the snapshot covers (every service named
	 * "st_..." in any case was read): no list of every service, unless it
	 * publishes a port no service read holds; a name outside the cover
	 * still needs it */
	st.svc_cover = json_pack("[s]", "st_");
	struct {
		const char *name;
		int port, services;
	} covered[] = {{"st_x", 0, 0}, {"ST_Y", 0, 0}, {"st_x", 80, 0}, {"st_x", 81, 1}, {"s_x", 0, 1}, {"other_x", 0, 1}};
	for (size_t i = 0; i < ARRAY_SIZE(covered); i++) {
		struct plan p = {0};
		add(&p, OP_CREATE, "st", covered[i].name, NULL, svc_with_port(covered[i].name, covered[i].port, "ingress"));
		int s = -1, n = -1;
		plan_wide_reads(&p, &st, &s, &n);
		assert_int_equal(s, covered[i].services);
		if (i == 1) { /* what swarm_widen keeps of the services without ports */
			json_t *names = plan_created_names(&p);
			assert_int_equal(json_object_size(names), 1);
			assert_non_null(json_object_get(names, "st_y"));
			json_decref(names);
		}
		plan_free(&p);
	}
	/* a network created: every network */
	struct plan p = {0};
	add(&p, OP_CREATE, "st", "st_net", NULL, json_object());
	p.ops[0].kind = K_NETWORK;
	int s = -1, n = -1;
	plan_wide_reads(&p, &st, &s, &n);
	assert_int_equal(s, 0);
	assert_int_equal(n, 1);
	plan_free(&p);
	swarm_state_free(&st);
}

/* A credential spec in a config: shoal sends the config's name, the engine
 * keeps its ID (and a Runtime reference): the same spec, no update. */
static void test_credential_spec_config_by_name(void **state)
{
	(void)state;
	json_t *want = J("{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\","
			 "\"Privileges\":{\"CredentialSpec\":{\"Config\":\"st_cred_0123456789\"}},"
			 "\"Configs\":[{\"Runtime\":{},\"ConfigName\":\"st_cred_0123456789\"}]}}}");
	json_t *live = J("{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\",\"Isolation\":\"default\","
			 "\"Privileges\":{\"CredentialSpec\":{\"Config\":\"id42\",\"File\":\"\",\"Registry\":\"\"}},"
			 "\"Configs\":[{\"Runtime\":{},\"ConfigID\":\"id42\",\"ConfigName\":\"st_cred_0123456789\"}]},"
			 "\"Runtime\":\"container\"},\"EndpointSpec\":{\"Mode\":\"vip\"}}");
	json_t *names = json_object();
	json_t *c = plan_compare_specs(want, live, names, 1);
	if (json_array_size(c)) {
		char *s = json_dumps(c, 0);
		fail_msg("unexpected changes: %s", s);
	}
	json_decref(c);
	/* another config: a change */
	json_object_set_new(json_object_get(json_object_get(json_object_get(json_object_get(want, "TaskTemplate"), "ContainerSpec"),
							    "Privileges"), "CredentialSpec"),
			    "Config", json_string("st_other_0123456789"));
	c = plan_compare_specs(want, live, names, 1);
	assert_true(json_array_size(c) > 0);
	json_decref(c);
	json_decref(names);
	json_decref(want);
	json_decref(live);
}

/* A replicated job without max_concurrent/total_completions: the engine
 * stores its defaults (1 and 1); no update for that (every plan saw one). */
static void test_job_defaults(void **state)
{
	(void)state;
	json_t *want = J("{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\"}},"
			 "\"Mode\":{\"ReplicatedJob\":{}}}");
	json_t *live = J("{\"Name\":\"s\",\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"x:1\",\"Isolation\":\"default\"},"
			 "\"Runtime\":\"container\"},\"EndpointSpec\":{\"Mode\":\"vip\"},"
			 "\"Mode\":{\"ReplicatedJob\":{\"MaxConcurrent\":1,\"TotalCompletions\":1}}}");
	json_t *names = json_object();
	json_t *c = plan_compare_specs(want, live, names, 1);
	if (json_array_size(c)) {
		char *s = json_dumps(c, 0);
		fail_msg("unexpected changes: %s", s);
	}
	json_decref(c);
	/* three at a time: as many completions by default */
	json_object_set_new(json_object_get(json_object_get(want, "Mode"), "ReplicatedJob"), "MaxConcurrent", json_integer(3));
	json_object_set_new(json_object_get(json_object_get(live, "Mode"), "ReplicatedJob"), "MaxConcurrent", json_integer(3));
	json_object_set_new(json_object_get(json_object_get(live, "Mode"), "ReplicatedJob"), "TotalCompletions", json_integer(3));
	c = plan_compare_specs(want, live, names, 1);
	assert_int_equal(json_array_size(c), 0);
	json_decref(c);
	/* a real change still shows */
	json_object_set_new(json_object_get(json_object_get(want, "Mode"), "ReplicatedJob"), "TotalCompletions", json_integer(5));
	c = plan_compare_specs(want, live, names, 1);
	assert_true(json_array_size(c) > 0);
	json_decref(c);
	json_decref(names);
	json_decref(want);
	json_decref(live);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_snapshot),
		cmocka_unit_test(test_defaults_make_equal),
		cmocka_unit_test(test_changes_are_reported),
		cmocka_unit_test(test_unknown_live_fields_ignored_in_subset),
		cmocka_unit_test(test_hash_is_stable),
		cmocka_unit_test(test_ports_across_the_plan),
		cmocka_unit_test(test_wide_reads),
		cmocka_unit_test(test_credential_spec_config_by_name),
		cmocka_unit_test(test_job_defaults),
	};
	return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
