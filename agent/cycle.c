/*
 * cycle.c - one cycle of the agent: fetch the branch (gitsrc.c), take the
 * lease (lease.c), plan and apply the commit, wait for convergence, and
 * say how it went (the state lines for shoal-agentd, notify.c).  Drift
 * checks and follow-tag ticks reconcile the applied commit again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../reconcile/apply.h"
#include "../reconcile/compose.h"
#include "../reconcile/convert.h"
#include "../reconcile/scrub.h"
#include "agent.h"
#include "cli.h"
#include "cycle.h"

/* log fields naming a commit */
static json_t *commit_fields(const char *commit)
{
	return json_pack("{s:s}", "commit", commit);
}

/* ---------------- reconcile ---------------- */

static json_t *ops_json(const struct plan *p)
{
	json_t *o = json_object();
	for (size_t i = 0; i < p->n; i++) {
		static const char *k[] = {"network", "secret", "config", "service"};
		static const char *a[] = {"create", "update", "remove"};
		json_t *st = json_object_get(o, p->ops[i].stack);
		if (!st) {
			st = json_array();
			json_object_set_new(o, p->ops[i].stack, st);
		}
		char *s = xasprintf("%s %s %s", a[p->ops[i].op], k[p->ops[i].kind], p->ops[i].name);
		json_array_append_new(st, json_string(s));
		free(s);
	}
	return o;
}

/*
 * Wait until the services this plan created or updated have converged:
 * UpdateStatus completed (updates) or running tasks == desired (new
 * services).  A failed update (paused, rollback_paused, rollback_completed)
 * or the timeout fails it; the message names the service.
 */

/* The error of a task of this service that a node rejected (it could not
 * even start it: an image it cannot pull, a bad mount), NULL if none. */
static char *task_failure(struct docker *dk, const char *service_id)
{
	if (!service_id)
		return NULL;
	char *f = docker_filters("service", service_id), *err = NULL;
	char *path = xasprintf("/tasks?filters=%s", f);
	json_t *tasks = NULL;
	char *out = NULL;
	if (docker_call(dk, "GET", path, NULL, &tasks, &err) == DOCKER_OK) {
		size_t i;
		json_t *t;
		json_array_foreach(tasks, i, t) {
			json_t *status = json_object_get(t, "Status");
			const char *state = json_string_value(json_object_get(status, "State"));
			const char *terr = json_string_value(json_object_get(status, "Err"));
			const char *desired = json_string_value(json_object_get(t, "DesiredState"));
			if (!out && state && terr && !strcmp(state, "rejected") &&
			    (!desired || strcmp(desired, "remove"))) {
				/* the node's words: may quote a value it was given */
				out = xasprintf("task %s: %s", state, terr);
				scrub_str(&out);
			}
		}
	}
	free(err);
	free(path);
	free(f);
	json_decref(tasks);
	return out;
}

/* The most recent error any task of service name reports (a container
 * the node could not start, one that exited), scrubbed; NULL if none:
 * said with a convergence timeout, so the operator sees why. */
static char *last_task_error(struct docker *dk, const char *name)
{
	char *f = docker_filters("service", name), *err = NULL;
	char *path = xasprintf("/tasks?filters=%s", f);
	json_t *tasks = NULL;
	const char *best = NULL, *when = "";
	if (docker_call(dk, "GET", path, NULL, &tasks, &err) == DOCKER_OK) {
		size_t i;
		json_t *t;
		json_array_foreach(tasks, i, t) {
			json_t *status = json_object_get(t, "Status");
			const char *terr = json_string_value(json_object_get(status, "Err"));
			const char *ts = json_string_value(json_object_get(status, "Timestamp"));
			if (terr && *terr && strcmp(ts ? ts : "", when) >= 0) {
				best = terr;
				when = ts ? ts : "";
			}
		}
	}
	char *out = best ? scrub_text(best) : NULL;
	free(err);
	free(path);
	free(f);
	json_decref(tasks);
	return out;
}

static int converge(struct agent *ag, struct docker *dk, const struct plan *p, char **why)
{
	double grace = now_mono() + 5;
	struct strv names = {0};
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].kind == K_SERVICE && p->ops[i].op != OP_REMOVE)
			strv_push(&names, xstrdup(p->ops[i].name));
	double deadline = now_mono() + (double)ag->converge_ns / 1e9;
	int ret = 0;
	*why = NULL;
	while (names.n && !stop_flag) {
		json_t *list = NULL;
		char *err = NULL;
		if (!lease_take(ag, dk)) {
			/* another agent writes now: it owns convergence */
			*why = xstrdup("lease lost while waiting for convergence");
			strv_free(&names);
			return -1;
		}
		if (docker_call(dk, "GET", "/services?status=true", NULL, &list, &err) != DOCKER_OK) {
			free(err);
			break;
		}
		struct strv pending = {0};
		for (size_t i = 0; i < names.n; i++) {
			json_t *svc = NULL, *x;
			size_t k;
			json_array_foreach(list, k, x)
				if (!strcmp(json_string_value(json_object_get(json_object_get(x, "Spec"), "Name")) ?: "", names.v[i]))
					svc = x;
			if (!svc)
				continue;
			json_t *us = json_object_get(svc, "UpdateStatus");
			const char *state = json_string_value(json_object_get(us, "State"));
			/* the UpdateStatus that was there before our update is not
			 * ours: wait (a little) for the orchestrator to start ours */
			const struct op *uop = NULL;
			for (size_t o = 0; o < p->n; o++)
				if (p->ops[o].op == OP_UPDATE && !strcmp(p->ops[o].name, names.v[i]))
					uop = &p->ops[o];
			const char *started = json_string_value(json_object_get(us, "StartedAt"));
			if (uop && (!state || !strcmp(started ? started : "", uop->prev_update ? uop->prev_update : "")))
				state = now_mono() < grace ? "pending" : NULL;
			json_t *mode = json_object_get(json_object_get(svc, "Spec"), "Mode");
			int job = json_object_get(mode, "ReplicatedJob") || json_object_get(mode, "GlobalJob");
			json_t *ss = json_object_get(svc, "ServiceStatus");
			json_int_t run = json_integer_value(json_object_get(ss, "RunningTasks")),
				   want = json_integer_value(json_object_get(ss, "DesiredTasks"));
			if (state && (!strcmp(state, "paused") || !strcmp(state, "rollback_paused") ||
				      !strcmp(state, "rollback_completed"))) {
				const char *msg = json_string_value(json_object_get(us, "Message"));
				char *m = xasprintf("service %s: update %s%s%s", names.v[i], state, msg ? ": " : "", msg ? msg : "");
				scrub_str(&m); /* the engine's words */
				if (!*why)
					*why = m;
				else
					free(m);
				ret = -1;
			} else if ((state && strcmp(state, "completed")) || (!state && !job && run < want)) {
				/* a new service's task the node could not start (an image
				 * it cannot pull, say) fails now, not at the timeout; an
				 * update's failures show in its UpdateStatus instead, so
				 * no task list is read for those */
				char *terr = state ? NULL : task_failure(dk, json_string_value(json_object_get(svc, "ID")));
				if (terr) {
					char *m = xasprintf("service %s: %s", names.v[i], terr);
					if (!*why)
						*why = m;
					else
						free(m);
					ret = -1;
				} else {
					strv_push(&pending, xstrdup(names.v[i]));
				}
				free(terr);
			}
		}
		json_decref(list);
		strv_free(&names);
		names = pending;
		if (!names.n || now_mono() > deadline)
			break;
		struct timespec ts = {0, 500000000};
		nanosleep(&ts, NULL);
	}
	if (names.n && !*why) {
		char *last = last_task_error(dk, names.v[0]);
		*why = xasprintf("service %s did not converge within %llds%s%s%s", names.v[0], ag->converge_ns / 1000000000,
				 last ? " (last task error: " : "", last ? last : "", last ? ")" : "");
		free(last);
		ret = -1;
	}
	strv_free(&names);
	return ret;
}

/*
 * Per stack: the last commit applied to it (an invalid stack keeps its
 * previous one, with the error), and its services as the swarm reports
 * them: tasks running/desired, update state, the commit that wrote each.
 * One list request, after the reconcile.
 */
static void stack_states(struct agent *ag, struct docker *dk, const struct repo *r, const char *commit,
			 int applied, const char *why)
{
	json_t *list = NULL;
	char *err = NULL, *f = docker_filters("label", LABEL_MANAGED "=true");
	char *path = xasprintf("/services?status=true&filters=%s", f);
	free(f);
	if (docker_call(dk, "GET", path, NULL, &list, &err) != DOCKER_OK) {
		free(err);
		list = NULL;
	}
	free(path);
	pthread_mutex_lock(&ag->mu);
	json_t *old = ag->stack_state ? ag->stack_state : json_object();
	json_t *next = json_object();
	for (size_t i = 0; i < r->n; i++) {
		const char *name = r->stacks[i].name;
		json_t *prev = json_object_get(old, name);
		json_t *st = json_object();
		const char *prev_commit = json_string_value(json_object_get(prev, "commit_applied"));
		const char *error = NULL;
		/* a convergence failure names the service: "service STACK_..." */
		char *needle = xasprintf("service %s_", name);
		int failed_here = !applied && (!why || strstr(why, needle));
		free(needle);
		if (!r->stacks[i].ds)
			error = "invalid at this commit: not applied (shoal validate --rev shows why)";
		else if (r->stacks[i].error) /* refused by the planner: nothing written */
			error = r->stacks[i].error;
		else if (failed_here)
			error = why ? why : "some operations failed (see the agent's log)";
		if (r->stacks[i].ds && !r->stacks[i].error && !failed_here)
			json_object_set_new(st, "commit_applied", json_string(commit));
		else
			json_object_set_new(st, "commit_applied", prev_commit ? json_string(prev_commit) : json_null());
		json_object_set_new(st, "error", error ? json_string(error) : json_null());
		json_object_set_new(st, "services", json_object());
		json_object_set_new(next, name, st);
	}
	size_t k;
	json_t *x;
	json_array_foreach(list, k, x) {
		json_t *spec = json_object_get(x, "Spec"), *labels = json_object_get(spec, "Labels");
		const char *stack = json_string_value(json_object_get(labels, "com.docker.stack.namespace"));
		json_t *st = stack ? json_object_get(next, stack) : NULL;
		if (!st)
			continue;
		json_t *ss = json_object_get(x, "ServiceStatus"), *us = json_object_get(x, "UpdateStatus");
		const char *ustate = json_string_value(json_object_get(us, "State"));
		const char *wc = json_string_value(json_object_get(labels, LABEL_COMMIT));
		json_object_set_new(json_object_get(st, "services"), json_string_value(json_object_get(spec, "Name")) ?: "?",
				    json_pack("{s:I, s:I, s:s, s:s?, s:s?}", "running",
					      json_integer_value(json_object_get(ss, "RunningTasks")), "desired",
					      json_integer_value(json_object_get(ss, "DesiredTasks")), "update",
					      ustate ? ustate : "none", "image",
					      json_string_value(json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"),
												 "ContainerSpec"),
									      "Image")),
					      "commit", wc));
	}
	json_decref(ag->stack_state);
	if (old != ag->stack_state)
		json_decref(old);
	ag->stack_state = next;
	pthread_mutex_unlock(&ag->mu);
	json_decref(list);
}

/* Keep only the updates of the services whose followed tag moved. */
static void keep_followed(struct plan *p, const struct strv *moved)
{
	size_t w = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct op *o = &p->ops[i];
		int keep = 0;
		for (size_t k = 0; o->kind == K_SERVICE && o->op == OP_UPDATE && k < moved->n; k++)
			keep |= !strcmp(moved->v[k], o->name);
		if (keep)
			p->ops[w++] = *o;
		else
			plan_op_free(o);
	}
	p->n = w;
}

/* One reconcile of commit; drift_only: nothing new in Git, a drift check;
 * 2: a follow-tag tick (only services whose followed tag moved). */

static void reconcile(struct agent *ag, struct docker *dk, const char *commit, int drift_only)
{
	int follow_tick = drift_only == 2;
	double t0 = now_mono();
	struct repo_args a = ag->ra;
	a.dir = ag->cache;
	a.rev = commit;
	struct plan p = {0};
	struct repo r;
	int invalid = 0;
	unsigned long w0 = docker_stats(dk)->writes;
	char *why = NULL;
	if (cli_check_signed(&a, commit, &why) < 0) {
		/* not applied; the last good commit stays deployed */
		logmsgf("error", commit_fields(commit), "commit %.12s %s", commit, why ? why : "refused");
		set_error(ag, why ? why : "refused: signature check failed");
		free(why);
		pthread_mutex_lock(&ag->mu);
		ag->errors++;
		snprintf(ag->commit_failed, sizeof ag->commit_failed, "%s", commit);
		pthread_mutex_unlock(&ag->mu);
		return;
	}
	a.require_signed = 0; /* checked */
	int rc = cli_repo_plan(&a, dk, &p, &r, &invalid);
	int ok = 0;
	if (rc < 0) {
		logmsgf("error", commit_fields(commit), "commit %.12s: cannot plan (see above)", commit);
		set_error(ag, "cannot load or plan the commit (invalid repository, unsigned commit or engine error)");
	} else {
		if (follow_tick) {
			keep_followed(&p, &ag->fo.moved);
			drift_only = 0;
			pthread_mutex_lock(&ag->mu);
			ag->follow_updates += p.n;
			pthread_mutex_unlock(&ag->mu);
			if (p.n)
				logmsg("info", "follow: %zu service%s whose tag moved", p.n, p.n == 1 ? "" : "s");
		}
		if (drift_only && p.n)
			logmsgf("warning", commit_fields(commit), "drift: %zu object%s differ%s from commit %.12s%s", p.n,
				p.n == 1 ? "" : "s", p.n == 1 ? "s" : "", commit,
				ag->drift_warn ? " (--drift=warn: not corrected)" : ", correcting");
		int do_apply = p.n && !(drift_only && ag->drift_warn);
		struct apply_result res = {0, 0};
		int ar = do_apply ? apply_plan(dk, &p, &res) : 0;
		unsigned long applied_writes = docker_stats(dk)->writes - w0; /* not the lease renewals below */
		pthread_mutex_lock(&ag->mu);
		json_decref(ag->stacks);
		ag->stacks = ops_json(&p);
		if (drift_only && do_apply)
			ag->drift_corrections += res.done;
		pthread_mutex_unlock(&ag->mu);
		if (do_apply)
			publish(ag);
		char *cwhy = NULL;
		if (ar == 0 && do_apply && converge(ag, dk, &p, &cwhy) < 0) {
			logmsgf("error", commit_fields(commit), "commit %.12s: %s", commit, cwhy);
			ar = -1;
		}
		ok = ar == 0 && !invalid;
		int err_set = cwhy != NULL;
		char *cwhy_copy = cwhy ? xstrdup(cwhy) : NULL;
		if (cwhy) {
			set_error(ag, cwhy);
			free(cwhy);
		}
		if (ok && drift_only && !p.n) {
			set_error(ag, NULL); /* a quiet drift check: nothing to say */
		} else if (ok) {
			logmsgf("info",
				json_pack("{s:s, s:I, s:I}", "commit", commit, "operations", (json_int_t)p.n, "writes",
					  (json_int_t)applied_writes),
				"commit %.12s applied: %zu operation%s, %lu write request%s", commit, p.n,
			       p.n == 1 ? "" : "s", applied_writes, applied_writes == 1 ? "" : "s");
			set_error(ag, NULL);
		} else if (!err_set) {
			logmsgf("error", commit_fields(commit), "commit %.12s: %s", commit,
				invalid ? "invalid stacks were not applied" : "some operations failed");
			set_error(ag, invalid ? "invalid stacks were not applied" : "some operations failed");
		}
		stack_states(ag, dk, &r, commit, ar == 0, cwhy_copy);
		free(cwhy_copy);
		repo_free(&r);
	}
	plan_free(&p);
	double dt = now_mono() - t0;
	pthread_mutex_lock(&ag->mu);
	ag->reconciles++;
	ag->writes += docker_stats(dk)->writes - w0;
	for (size_t i = 0; i < ARRAY_SIZE(agent_buckets); i++)
		if (dt <= agent_buckets[i])
			ag->hist[i]++;
	ag->hist_sum += dt;
	int recovered = 0, announce = 0;
	char *msg = NULL;
	if (ok) {
		snprintf(ag->commit_applied, sizeof ag->commit_applied, "%s", commit);
		ag->commit_failed[0] = 0;
		ag->last_success = now_wall();
		ag->ready = 1;
		recovered = ag->notified_failure;
		ag->notified_failure = 0;
	} else {
		ag->errors++;
		announce = strcmp(ag->commit_failed, commit) != 0; /* once per failing commit */
		snprintf(ag->commit_failed, sizeof ag->commit_failed, "%s", commit);
		msg = xasprintf("shoal: commit %.12s on %s failed: %s", commit, ag->branch,
				ag->last_error ? ag->last_error : "see the agent's log");
		if (announce)
			ag->notified_failure = 1;
	}
	pthread_mutex_unlock(&ag->mu);
	if (announce)
		notify(ag, msg);
	if (recovered) {
		char *text = xasprintf("shoal: recovered, commit %.12s on %s applied", commit, ag->branch);
		notify(ag, text);
		free(text);
	}
	free(msg);
}

/* ---------------- one cycle ---------------- */

/* Fetch, take the lease, reconcile what is due.  -1 when the commit could
 * not be fetched, the engine not reached or the commit failed (--once). */
int cycle(struct agent *ag, struct docker **dkp, int drift_due, int follow_due)
{
	char commit[41], *err = NULL;
	if (git_sync(ag, commit, &err) < 0) {
		logmsg("error", "%s (keeping the last applied state)", err);
		set_error(ag, err);
		free(err);
		return -1;
	}
	pthread_mutex_lock(&ag->mu);
	int seen_new = strcmp(ag->commit_seen, commit) != 0;
	snprintf(ag->commit_seen, sizeof ag->commit_seen, "%s", commit);
	int applied = !strcmp(ag->commit_applied, commit), failed = !strcmp(ag->commit_failed, commit);
	pthread_mutex_unlock(&ag->mu);
	if (seen_new) {
		logmsgf("info", json_pack("{s:s, s:s}", "commit", commit, "branch", ag->branch), "commit %.12s on %s",
			commit, ag->branch);
		publish(ag);
	}
	if (!*dkp && cli_open_engine(dkp) < 0) {
		set_error(ag, "cannot reach the docker engine");
		*dkp = NULL;
		return -1;
	}
	struct docker *dk = *dkp;
	if (ag->auths)
		docker_set_registry_auths(dk, ag->auths);
	if (!lease_take(ag, dk)) {
		/* standby: another agent writes; take over when its hold expires */
	} else if (!applied && !failed) {
		reconcile(ag, dk, commit, 0);
	} else if (drift_due && applied) {
		reconcile(ag, dk, commit, 1);
	} else if (follow_due && applied && ag->ra.resolve && strcmp(ag->ra.resolve, "never")) {
		ag->fo.tick = 1;
		ag->fo.budget = ag->follow_max;
		reconcile(ag, dk, commit, 2);
		ag->fo.tick = 0;
		strv_free(&ag->fo.moved);
	} else if (failed && seen_new) {
		logmsgf("warning", commit_fields(commit), "commit %.12s failed before: not re-applied until a new commit",
			commit);
	}
	pthread_mutex_lock(&ag->mu);
	int ret = ag->commit_failed[0] ? -1 : 0;
	pthread_mutex_unlock(&ag->mu);
	return ret;
}

/* In a cycle's process: the pipe to shoal-agentd, -1 otherwise. */
int publish_fd = -1;

/* Send the state as it is now (one JSON line): the agent's /status and
 * /metrics follow a cycle while it runs (an apply, then its convergence). */
void publish(struct agent *ag)
{
	if (publish_fd < 0)
		return;
	json_t *j = agent_state_out(ag);
	scrub_json(j); /* what /status serves and the next cycle is given */
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	char *line = xasprintf("%s\n", text);
	free(text);
	size_t len = strlen(line), off = 0;
	while (off < len) {
		ssize_t w = write(publish_fd, line + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	free(line);
}
