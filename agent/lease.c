/*
 * lease.c - one writer per repository, branch and path: the lease, a
 * swarm config object whose labels name the holder and when its hold
 * expires, taken, renewed and released by the cycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reconcile/compose.h"
#include "../reconcile/docker.h"
#include "../reconcile/scrub.h"
#include "../reconcile/convert.h"
#include "agent.h"
#include "cycle.h"

/* ---------------- lease ---------------- */

/*
 * The lease is a swarm config object (stored in the raft log, so every
 * manager sees the same one) whose labels name the holder and when its
 * hold expires.  Taking or renewing it is an update with ?version=: of two
 * agents racing, the engine accepts one and refuses the other's stale
 * version, so at most one writes.
 */
#define LABEL_LEASE_HOLDER "io.shoal.lease.holder"
#define LABEL_LEASE_EXPIRES "io.shoal.lease.expires"
/* The writer's history (JSON, history.c) and the commit it is converging
 * (JSON {commit, started, deadline, services}), kept with the lease: the
 * next writer (a restart, the standby) adopts them when it takes over. */
#define LABEL_LEASE_HISTORY "io.shoal.history"
#define LABEL_LEASE_CONVERGING "io.shoal.converging"

/* The history and convergence record the lease carries, as this agent's
 * own (under ag->mu): what the last writer knew. */
static void lease_adopt(struct agent *ag, json_t *labels)
{
	json_t *h = json_loads(json_string_value(json_object_get(labels, LABEL_LEASE_HISTORY)) ?: "", 0, NULL);
	json_t *c = json_loads(json_string_value(json_object_get(labels, LABEL_LEASE_CONVERGING)) ?: "", 0, NULL);
	if (json_is_array(h)) {
		json_decref(ag->history);
		ag->history = json_incref(h);
	}
	json_decref(ag->converging);
	ag->converging = json_is_object(c) && json_is_string(json_object_get(c, "commit")) ? json_incref(c) : NULL;
	json_decref(h);
	json_decref(c);
}

/* Put the history and the convergence record into the lease's labels nl
 * (scrubbed: the labels are the engine's to show). */
static void lease_carry(struct agent *ag, json_t *nl)
{
	pthread_mutex_lock(&ag->mu);
	char *h = ag->history ? json_dumps(ag->history, JSON_COMPACT) : NULL;
	char *c = ag->converging ? json_dumps(ag->converging, JSON_COMPACT) : NULL;
	pthread_mutex_unlock(&ag->mu);
	if (h)
		scrub_str(&h);
	if (c)
		scrub_str(&c);
	if (h)
		json_object_set_new(nl, LABEL_LEASE_HISTORY, json_string(h));
	if (c)
		json_object_set_new(nl, LABEL_LEASE_CONVERGING, json_string(c));
	else
		json_object_del(nl, LABEL_LEASE_CONVERGING);
	free(h);
	free(c);
}

/* Read the lease object: one list request; *cur is NULL when there is
 * none yet (it points into *list, which the caller frees). */
static int lease_read(struct agent *ag, struct docker *dk, json_t **list, json_t **cur, char **err)
{
	char *f = docker_filters("name", ag->lease_name), *path = xasprintf("/configs?filters=%s", f);
	*cur = NULL;
	int rc = docker_call(dk, "GET", path, NULL, list, err);
	free(path);
	free(f);
	size_t i;
	json_t *x;
	if (rc == DOCKER_OK)
		json_array_foreach(*list, i, x)
			if (!strcmp(json_string_value(json_object_get(json_object_get(x, "Spec"), "Name")) ?: "",
				    ag->lease_name))
				*cur = x;
	return rc;
}

/* Rewrite the lease's holder (if holder) and expiry under the version read:
 * DOCKER_ECONFLICT when another agent wrote it in between. */
static int lease_write(struct docker *dk, json_t *cur, const char *holder, const char *expires, char **err)
{
	json_t *ns = json_deep_copy(json_object_get(cur, "Spec"));
	json_t *nl = json_object_get(ns, "Labels");
	if (holder)
		json_object_set_new(nl, LABEL_LEASE_HOLDER, json_string(holder));
	if (expires)
		json_object_set_new(nl, LABEL_LEASE_EXPIRES, json_string(expires));
	char *path = xasprintf("/configs/%s/update?version=%lld", json_string_value(json_object_get(cur, "ID")),
			       (long long)json_integer_value(json_object_get(json_object_get(cur, "Version"), "Index")));
	int rc = docker_call(dk, "POST", path, ns, NULL, err);
	free(path);
	json_decref(ns);
	return rc;
}

int lease_take(struct agent *ag, struct docker *dk)
{
	/* a leader renews only past half its hold: a write every ttl/2, not
	 * every poll */
	if (ag->leader == 1 && now_wall() < ag->lease_until - (double)ag->lease_ttl_ns / 2e9)
		return 1;
	char *err = NULL;
	json_t *list = NULL, *cur = NULL;
	int held = 0;
	long long now = (long long)now_wall();
	char exp[32];
	snprintf(exp, sizeof exp, "%lld", now + ag->lease_ttl_ns / 1000000000);
	int rc = lease_read(ag, dk, &list, &cur, &err);
	if (rc)
		goto out;
	if (!cur) {
		json_t *spec = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s}", "Name", ag->lease_name, "Labels",
					 LABEL_LEASE_HOLDER, ag->holder, LABEL_LEASE_EXPIRES, exp, LABEL_MANAGED, "lease",
					 "Data", "c2hvYWwgbGVhc2U=");
		/* none yet, or deleted by hand: what this agent knows goes into
		 * the new one (a successor resumes from it) */
		lease_carry(ag, json_object_get(spec, "Labels"));
		rc = docker_call(dk, "POST", "/configs/create", spec, NULL, &err);
		json_decref(spec);
		held = rc == DOCKER_OK;
		goto out;
	}
	json_t *spec = json_object_get(cur, "Spec"), *labels = json_object_get(spec, "Labels");
	const char *holder = json_string_value(json_object_get(labels, LABEL_LEASE_HOLDER));
	long long expires = 0;
	compose_parse_int(json_string_value(json_object_get(labels, LABEL_LEASE_EXPIRES)) ?: "0", &expires);
	pthread_mutex_lock(&ag->mu);
	snprintf(ag->lease_holder_seen, sizeof ag->lease_holder_seen, "%s", holder ? holder : "");
	if (ag->leader != 1) /* starting, or standing by: the writer's word */
		lease_adopt(ag, labels);
	pthread_mutex_unlock(&ag->mu);
	if (holder && strcmp(holder, ag->holder) && expires > now)
		goto out; /* someone else holds it */
	rc = lease_write(dk, cur, ag->holder, exp, &err);
	held = rc == DOCKER_OK; /* a stale version: another agent won the race */
out:
	if (err && held == 0 && rc != DOCKER_ECONFLICT && rc != DOCKER_OK)
		logmsg("warning", "lease %s: %s", ag->lease_name, err);
	free(err);
	json_decref(list);
	pthread_mutex_lock(&ag->mu);
	int changed = held != ag->leader;
	if (changed)
		logmsg("info", held ? "lease %s taken: this agent (%s) writes" : "lease %s held by another agent: standing by",
		       ag->lease_name, ag->holder);
	ag->leader = held;
	if (held) {
		snprintf(ag->lease_holder_seen, sizeof ag->lease_holder_seen, "%s", ag->holder);
		ag->lease_until = (double)now + (double)ag->lease_ttl_ns / 1e9;
	}
	pthread_mutex_unlock(&ag->mu);
	if (changed) /* /status says the role now, not when the cycle ends */
		publish(ag);
	return held;
}

/* A clean stop hands the lease back (expired now), so a successor (the
 * new task of a rolling update of the agent itself) writes at once rather
 * than after the TTL.  Only if we still hold it: the version guards it. */
void lease_release(struct agent *ag, struct docker *dk)
{
	if (ag->leader == 0)
		return; /* standing by: another agent holds it */
	char *err = NULL;
	json_t *list = NULL, *cur = NULL;
	if (lease_read(ag, dk, &list, &cur, &err) == DOCKER_OK && cur) {
		const char *holder =
			json_string_value(json_object_get(json_object_get(json_object_get(cur, "Spec"), "Labels"), LABEL_LEASE_HOLDER));
		if (holder && !strcmp(holder, ag->holder) && lease_write(dk, cur, NULL, "0", &err) == DOCKER_OK)
			logmsg("info", "lease %s released", ag->lease_name);
	}
	free(err);
	json_decref(list);
	ag->leader = 0;
}

int lease_record(struct agent *ag, struct docker *dk)
{
	char *err = NULL;
	json_t *list = NULL, *cur = NULL;
	int ret = -1, rc = lease_read(ag, dk, &list, &cur, &err);
	if (rc == DOCKER_OK && cur) {
		json_t *labels = json_object_get(json_object_get(cur, "Spec"), "Labels");
		const char *holder = json_string_value(json_object_get(labels, LABEL_LEASE_HOLDER));
		if (holder && !strcmp(holder, ag->holder)) {
			lease_carry(ag, json_object_get(json_object_get(cur, "Spec"), "Labels"));
			rc = lease_write(dk, cur, NULL, NULL, &err);
			ret = rc == DOCKER_OK ? 0 : -1;
		}
	}
	if (ret < 0)
		logmsg("warning", "lease %s: cannot record the outcome with the lease%s%s", ag->lease_name, err ? ": " : "",
		       err ? err : " (another agent holds it)");
	free(err);
	json_decref(list);
	return ret;
}
