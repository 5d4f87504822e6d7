#include "apply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "util.h"

#define CONFLICT_RETRIES 5

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Name -> ID of every secret and config, read once per apply and again
 * after apply itself created one. */
struct ids {
	json_t *by_kind[2]; /* secrets, configs: object name -> ID */
};

static int ids_load(struct docker *dk, struct ids *ids, int k, char **err)
{
	static const char *paths[] = {"/secrets", "/configs"};
	if (ids->by_kind[k])
		return 0;
	json_t *list = NULL;
	if (docker_call(dk, "GET", paths[k], NULL, &list, err))
		return -1;
	json_t *m = json_object();
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		const char *name = json_string_value(json_object_get(json_object_get(x, "Spec"), "Name"));
		const char *id = json_string_value(json_object_get(x, "ID"));
		if (name && id)
			json_object_set_new(m, name, json_string(id));
	}
	json_decref(list);
	ids->by_kind[k] = m;
	return 0;
}

static void ids_forget(struct ids *ids, int k)
{
	json_decref(ids->by_kind[k]);
	ids->by_kind[k] = NULL;
}

/* Fill SecretID / ConfigID from the names. */
static int resolve_refs(struct docker *dk, struct ids *ids, json_t *spec, char **err)
{
	static const char *kinds[][3] = {{"Secrets", "SecretName", "SecretID"}, {"Configs", "ConfigName", "ConfigID"}};
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	for (int k = 0; k < 2; k++) {
		json_t *refs = json_object_get(cs, kinds[k][0]);
		size_t i;
		json_t *r;
		json_array_foreach(refs, i, r) {
			if (ids_load(dk, ids, k, err) < 0)
				return -1;
			const char *name = json_string_value(json_object_get(r, kinds[k][1]));
			json_t *id = name ? json_object_get(ids->by_kind[k], name) : NULL;
			if (!id) {
				*err = xasprintf("%s not found: %s", k ? "config" : "secret", name ? name : "");
				return -1;
			}
			json_object_set(r, kinds[k][2], id);
		}
	}
	return 0;
}

static int update_service(struct docker *dk, const struct op *o, json_t *spec, char **err)
{
	long long version = o->version;
	for (int attempt = 0;; attempt++) {
		char *path = xasprintf("/services/%s/update?version=%lld", o->id, version);
		int rc = docker_call(dk, "POST", path, spec, NULL, err);
		free(path);
		if (rc != DOCKER_ECONFLICT || attempt >= CONFLICT_RETRIES)
			return rc;
		fprintf(stderr, "shoal: service %s: %s; retrying with a fresh version\n", o->name, *err);
		free(*err);
		*err = NULL;
		sleep_ms(200L << attempt);
		json_t *cur = NULL;
		path = xasprintf("/services/%s", o->id);
		rc = docker_call(dk, "GET", path, NULL, &cur, err);
		free(path);
		if (rc)
			return rc;
		version = json_integer_value(json_object_get(json_object_get(cur, "Version"), "Index"));
		json_decref(cur);
	}
}

static int remove_obj(struct docker *dk, const struct op *o, char **err)
{
	static const char *paths[] = {"networks", "secrets", "configs", "services"};
	char *path = xasprintf("/%s/%s", paths[o->kind], o->id);
	int rc = DOCKER_ERR;
	/* a network or secret can still be in use by tasks that are stopping */
	for (int attempt = 0; attempt < 30; attempt++) {
		rc = docker_call(dk, "DELETE", path, NULL, NULL, err);
		if (rc == DOCKER_OK || rc == DOCKER_ENOTFOUND || o->kind == K_SERVICE)
			break;
		if (!strstr(*err, "in use") && !strstr(*err, "active endpoints"))
			break;
		free(*err);
		*err = NULL;
		sleep_ms(500);
	}
	free(path);
	return rc == DOCKER_ENOTFOUND ? DOCKER_OK : rc;
}

int apply_plan(struct docker *dk, const struct plan *p, struct apply_result *res)
{
	static const char *kinds[] = {"network", "secret", "config", "service"};
	struct strv failed_stacks = {0};
	struct ids ids = {{NULL, NULL}};
	memset(res, 0, sizeof *res);
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		int skip = 0;
		for (size_t s = 0; s < failed_stacks.n; s++)
			skip |= !strcmp(failed_stacks.v[s], o->stack);
		if (skip)
			continue;
		char *err = NULL;
		int rc = DOCKER_OK;
		json_t *body = o->spec ? json_deep_copy(o->spec) : NULL;
		switch (o->op) {
		case OP_CREATE:
			if (o->kind == K_NETWORK) {
				json_object_set_new(body, "CheckDuplicate", json_true());
				rc = docker_call(dk, "POST", "/networks/create", body, NULL, &err);
			} else if (o->kind == K_SERVICE) {
				rc = resolve_refs(dk, &ids, body, &err);
				if (!rc)
					rc = docker_call(dk, "POST", "/services/create", body, NULL, &err);
			} else {
				rc = docker_call(dk, "POST", o->kind == K_SECRET ? "/secrets/create" : "/configs/create", body,
						 NULL, &err);
				ids_forget(&ids, o->kind == K_SECRET ? 0 : 1);
			}
			break;
		case OP_UPDATE:
			rc = resolve_refs(dk, &ids, body, &err);
			if (!rc)
				rc = update_service(dk, o, body, &err);
			break;
		case OP_REMOVE:
			rc = remove_obj(dk, o, &err);
			break;
		}
		if (body) {
			/* secret specs carry data: wipe the copy */
			json_t *d = json_object_get(body, "Data");
			if (json_is_string(d))
				memset((char *)json_string_value(d), 0, json_string_length(d));
			json_decref(body);
		}
		if (rc == DOCKER_OK) {
			res->done++;
			printf("%s %s %s\n", o->op == OP_CREATE ? "Created" : o->op == OP_UPDATE ? "Updated" : "Removed",
			       kinds[o->kind], o->name);
		} else {
			res->failed++;
			fprintf(stderr, "shoal: stack %s: %s %s %s: %s\n", o->stack,
				o->op == OP_CREATE ? "create" : o->op == OP_UPDATE ? "update" : "remove", kinds[o->kind],
				o->name, err ? err : "failed");
			if (o->op != OP_REMOVE)
				strv_push(&failed_stacks, xstrdup(o->stack));
		}
		free(err);
	}
	fflush(stdout);
	ids_forget(&ids, 0);
	ids_forget(&ids, 1);
	strv_free(&failed_stacks);
	return res->failed ? -1 : 0;
}
