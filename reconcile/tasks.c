/*
 * tasks.c - a service's tasks, read for why it does not run (tasks.h).
 */
#include "tasks.h"

#include <stdlib.h>
#include <string.h>

#include "scrub.h"
#include "util.h"

/* The tasks of service (a name or an ID), NULL when they cannot be read. */
static json_t *service_tasks(struct docker *dk, const char *service)
{
	char *f = docker_filters("service", service), *err = NULL;
	char *path = xasprintf("/tasks?filters=%s", f);
	json_t *tasks = NULL;
	if (docker_call(dk, "GET", path, NULL, &tasks, &err) != DOCKER_OK) {
		json_decref(tasks);
		tasks = NULL;
	}
	free(err);
	free(path);
	free(f);
	return tasks;
}

char *tasks_trouble(struct docker *dk, const char *service_id)
{
	if (!service_id)
		return NULL;
	json_t *tasks = service_tasks(dk, service_id), *t;
	char *out = NULL;
	size_t i, failed = 0;
	const char *last = NULL, *when = "";
	json_array_foreach(tasks, i, t) {
		json_t *status = json_object_get(t, "Status");
		const char *state = json_string_value(json_object_get(status, "State"));
		const char *terr = json_string_value(json_object_get(status, "Err"));
		const char *ts = json_string_value(json_object_get(status, "Timestamp"));
		const char *desired = json_string_value(json_object_get(t, "DesiredState"));
		if (!out && state && terr && !strcmp(state, "rejected") && (!desired || strcmp(desired, "remove")))
			out = xasprintf("task %s: %s", state, terr);
		if (state && !strcmp(state, "failed")) {
			failed++;
			if (terr && strcmp(ts ? ts : "", when) >= 0) {
				last = terr;
				when = ts ? ts : "";
			}
		}
	}
	if (!out && failed >= CRASH_LOOP_FAILURES)
		out = xasprintf("crash-looping: %zu tasks failed (last: %s)", failed, last ? last : "no error given");
	scrub_engine_str(&out);
	json_decref(tasks);
	return out;
}

char *tasks_last_error(struct docker *dk, const char *name)
{
	json_t *tasks = service_tasks(dk, name), *t;
	const char *best = NULL, *when = "";
	size_t i;
	json_array_foreach(tasks, i, t) {
		json_t *status = json_object_get(t, "Status");
		const char *terr = json_string_value(json_object_get(status, "Err"));
		const char *ts = json_string_value(json_object_get(status, "Timestamp"));
		if (terr && *terr && strcmp(ts ? ts : "", when) >= 0) {
			best = terr;
			when = ts ? ts : "";
		}
	}
	char *out = best ? xstrdup(best) : NULL;
	scrub_engine_str(&out);
	json_decref(tasks);
	return out;
}

int services_status(struct docker *dk, const json_t *names, json_t **list, char **err)
{
	json_t *fl = json_pack("{s:O}", "name", (json_t *)names);
	char *fq = docker_filters_json(fl), *path = xasprintf("/services?status=true&filters=%s", fq);
	int rc = docker_call(dk, "GET", path, NULL, list, err);
	json_decref(fl);
	free(fq);
	free(path);
	return rc;
}
