/*
 * What shoal reads from the engine, hostile: a snapshot
 * {"services":[…],"secrets":[…],"configs":[…],"networks":[…]} as the
 * engine's list endpoints would return it, taken apart by the planner
 * (managed stacks, a stack's objects, spec comparison and normalisation,
 * prune decisions) against a fixed desired stack, and the plan printed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
#include "../../reconcile/plan.h"
#include "../../reconcile/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char desired_yml[] =
	"services:\n"
	"  web:\n"
	"    image: busybox:1\n"
	"    command: [httpd, -f]\n"
	"    environment: {A: \"1\"}\n"
	"    ports: [{target: 80, published: 8080, mode: host}]\n"
	"    networks: [front]\n"
	"    secrets: [pw]\n"
	"    deploy: {replicas: 2, labels: {x: y}, placement: {constraints: [node.role == manager]}}\n"
	"  job:\n"
	"    image: busybox:1\n"
	"    deploy: {mode: global}\n"
	"networks:\n"
	"  front: {driver: overlay, attachable: true}\n"
	"secrets:\n"
	"  pw: {external: true}\n";

static struct desired *ds;

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ds) {
		static struct compose_file f = {"fuzz.yml", desired_yml, sizeof desired_yml - 1};
		static struct compose_opts co = {.lookup = lookup, .workdir = "/nonexistent"};
		struct diags d = {0};
		struct ynode *m = NULL;
		struct convert_opts cvo = {.copts = &co};
		if (compose_load(&f, 1, &co, &m, &d) < 0 || convert_stack("st", m, &cvo, &ds, &d) < 0 || !ds)
			abort();
		diags_free(&d);
		ynode_free(m);
		/* the plan is printed, to nowhere */
		if (!freopen("/dev/null", "w", stdout))
			abort();
	}
	json_t *root = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return 0;
	}
	/* as swarm_fetch takes the engine's four lists */
	struct swarm_state st;
	char *err = NULL;
	int rc = swarm_state_init(&st, json_incref(json_object_get(root, "services")),
				  json_incref(json_object_get(root, "secrets")), json_incref(json_object_get(root, "configs")),
				  json_incref(json_object_get(root, "networks")), &err);
	json_decref(root);
	free(err);
	if (rc < 0)
		return 0;
	struct strv stacks = {0};
	strv_push(&stacks, xstrdup("st"));
	swarm_managed_stacks(&st, &stacks);
	struct plan p = {0};
	struct plan_opts po = {.prune_all = 1};
	for (size_t k = 0; k < stacks.n; k++) {
		struct live lv;
		live_select(&st, stacks.v[k], &lv);
		json_t *fw = NULL;
		if (plan_foreign(&lv, &fw))
			plan_add_conflict(&p, stacks.v[k], fw, k % 2);
		err = NULL;
		plan_stack(&p, strcmp(stacks.v[k], "st") ? NULL : ds, stacks.v[k], &lv, &po, &err);
		free(err);
		live_free(&lv);
	}
	struct strv perr = {0}, pbad = {0};
	int wide_svc, wide_net;
	plan_wide_reads(&p, &st, &wide_svc, &wide_net);
	plan_check_names(&p, &st, &perr, &pbad);
	plan_check_ports(&p, &st, &perr, &pbad);
	strv_free(&perr);
	strv_free(&pbad);
	plan_sort(&p);
	plan_print_text(&p, 0);
	plan_print_json(&p);
	plan_free(&p);
	strv_free(&stacks);
	swarm_state_free(&st);
	return 0;
}
