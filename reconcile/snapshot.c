/*
 * snapshot.c - the live state a plan starts from, read from the engine.
 *
 * Planning (plan.c) is a function of a desired state and this snapshot;
 * everything that talks to the engine to build the snapshot is here.
 */
#include "snapshot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "util.h"

static int list(struct docker *dk, const char *what, const char *label, json_t **out, char **err)
{
	char *path;
	if (label) {
		char *f = docker_filters("label", label);
		path = xasprintf("/%s?filters=%s", what, f);
		free(f);
	} else {
		path = xasprintf("/%s", what);
	}
	int rc = docker_call(dk, "GET", path, NULL, out, err);
	free(path);
	return rc;
}

/* Every element an object with a string ID (networks: Id) and, except
 * networks, a Spec object: what the planner relies on. */
static int well_formed(const json_t *a, const char *what, char **err)
{
	int net = !strcmp(what, "networks");
	size_t i;
	json_t *x;
	if (!json_is_array(a))
		goto bad;
	json_array_foreach(a, i, x) {
		const json_t *id = json_object_get(x, net ? "Id" : "ID");
		if (!json_is_object(x) || !json_is_string(id) || !*json_string_value(id) ||
		    (net ? !json_is_string(json_object_get(x, "Name")) : !json_is_object(json_object_get(x, "Spec"))))
			goto bad;
	}
	return 0;
bad:
	*err = xasprintf("engine returned a malformed %s list", what);
	return -1;
}

int swarm_state_init(struct swarm_state *st, json_t *services, json_t *secrets, json_t *configs, json_t *networks,
		     char **err)
{
	memset(st, 0, sizeof *st);
	st->services = services;
	st->secrets = secrets;
	st->configs = configs;
	st->networks = networks;
	if (well_formed(services, "services", err) || well_formed(secrets, "secrets", err) ||
	    well_formed(configs, "configs", err) || well_formed(networks, "networks", err)) {
		swarm_state_free(st);
		return -1;
	}
	st->net_names = json_object();
	size_t i;
	json_t *n;
	json_array_foreach(st->networks, i, n)
		json_object_set_new(st->net_names, json_string_value(json_object_get(n, "Id")),
				    json_string(json_string_value(json_object_get(n, "Name"))));
	return 0;
}

struct list_job {
	struct docker *dk;
	const char *what, *label;
	json_t *out;
	char *err;
	int rc;
};

static void *list_thread(void *arg)
{
	struct list_job *j = arg;
	j->rc = list(j->dk, j->what, j->label, &j->out, &j->err);
	return NULL;
}

/* The four lists at once, each on its own connection: the engine answers
 * them in parallel, and the services list (the big one) is parsed while
 * the others are on their way. */
int swarm_fetch(struct docker *dk, struct swarm_state *st, char **err)
{
	struct list_job jobs[4] = {
		{dk, "services", NULL}, /* all: a port is taken by any service */
		{NULL, "secrets", NULL}, /* all: external ones must exist, names are taken */
		{NULL, "configs", NULL},
		{NULL, "networks", NULL},
	};
	pthread_t th[4];
	int started[4] = {0};
	for (int i = 1; i < 4; i++) {
		jobs[i].dk = docker_clone(dk);
		started[i] = pthread_create(&th[i], NULL, list_thread, &jobs[i]) == 0;
		if (!started[i])
			list_thread(&jobs[i]);
	}
	list_thread(&jobs[0]);
	int rc = 0;
	memset(st, 0, sizeof *st);
	for (int i = 0; i < 4; i++) {
		if (i && started[i])
			pthread_join(th[i], NULL);
		if (i)
			docker_absorb(dk, jobs[i].dk);
		if (jobs[i].rc && !rc) {
			rc = -1;
			*err = jobs[i].err;
			jobs[i].err = NULL;
		}
		free(jobs[i].err);
	}
	if (rc) {
		for (int i = 0; i < 4; i++)
			json_decref(jobs[i].out);
		return -1;
	}
	return swarm_state_init(st, jobs[0].out, jobs[1].out, jobs[2].out, jobs[3].out, err);
}

void swarm_state_free(struct swarm_state *st)
{
	json_decref(st->services);
	json_decref(st->secrets);
	json_decref(st->configs);
	json_decref(st->networks);
	json_decref(st->net_names);
	memset(st, 0, sizeof *st);
}

/* Labels of an object: networks keep them at the top, the rest in Spec. */
static json_t *obj_labels(const json_t *obj, int spec)
{
	return spec ? json_object_get(json_object_get(obj, "Spec"), "Labels") : json_object_get(obj, "Labels");
}

static json_t *of_stack(const json_t *arr, const char *stack, int spec)
{
	json_t *out = json_array();
	size_t i;
	json_t *x;
	json_array_foreach((json_t *)arr, i, x) {
		const char *ns = json_string_value(json_object_get(obj_labels(x, spec), LABEL_NAMESPACE));
		if (ns && !strcmp(ns, stack))
			json_array_append(out, x);
	}
	return out;
}

void live_select(const struct swarm_state *st, const char *stack, struct live *lv)
{
	lv->services = of_stack(st->services, stack, 1);
	lv->secrets = of_stack(st->secrets, stack, 1);
	lv->configs = of_stack(st->configs, stack, 1);
	lv->networks = of_stack(st->networks, stack, 0);
	lv->all_networks = st->networks;
	lv->net_names = st->net_names;
	lv->all_secrets = st->secrets;
	lv->all_configs = st->configs;
}

void live_free(struct live *lv)
{
	json_decref(lv->services);
	json_decref(lv->networks);
	json_decref(lv->secrets);
	json_decref(lv->configs);
	memset(lv, 0, sizeof *lv);
}

void swarm_managed_stacks(const struct swarm_state *st, struct strv *out)
{
	const json_t *arrs[] = {st->services, st->secrets, st->configs, st->networks};
	for (int k = 0; k < 4; k++) {
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)arrs[k], i, x) {
			json_t *l = obj_labels(x, k < 3);
			const char *ns = json_string_value(json_object_get(l, LABEL_NAMESPACE));
			const char *m = json_string_value(json_object_get(l, LABEL_MANAGED));
			if (!ns || !m || strcmp(m, "true"))
				continue;
			int seen = 0;
			for (size_t s = 0; s < out->n; s++)
				seen |= !strcmp(out->v[s], ns);
			if (!seen)
				strv_push(out, xstrdup(ns));
		}
	}
	strv_sort(out);
}
