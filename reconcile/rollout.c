/*
 * rollout.c - a plan carried out in waves, with hooks (rollout.h).
 */
#include "rollout.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "log.h"
#include "scrub.h"
#include "tasks.h"
#include "util.h"
#include "waves.h"

#define ROLLOUT_TIMEOUT_NS (300LL * 1000000000LL)
#define HOOK_LOG_CAP 8192	   /* what a hook's output keeps: its end */
#define HOOK_LOG_READ (1u << 20) /* at most this much of a task's log is read */
#define GRACE_S 5.0		   /* an update's own UpdateStatus may take this long to show */

/* A wave's order: what services use, pre-hooks, the services (and their
 * removals), post-hooks, then the removals of what services used: a hook
 * job still names the old secret or config until its own update. */
enum phase { PH_RESOURCES, PH_PRE, PH_MAIN, PH_POST, PH_CLEANUP };

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static struct repo_stack *stack_of(struct repo *r, const char *name)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->stacks[i].name, name))
			return &r->stacks[i];
	return NULL;
}

/* The wave of an operation: its stack's; a network that another stack
 * uses (external: true) is created in the earliest wave of them. */
static int op_wave(const struct repo *r, const struct op *o)
{
	int w = waves_level(r, o->stack);
	if (o->kind != K_NETWORK || o->op != OP_CREATE)
		return w;
	for (size_t i = 0; r && i < r->n; i++) {
		if (!r->stacks[i].ds || !json_object_get(r->stacks[i].ds->ext_networks, o->name))
			continue;
		int u = waves_level(r, r->stacks[i].name);
		w = u < w ? u : w;
	}
	return w;
}

static enum phase op_phase(const struct op *o)
{
	if (o->kind == K_SERVICE && o->op != OP_REMOVE) {
		const char *h = waves_hook(o->spec);
		return !h ? PH_MAIN : !strcmp(h, "pre") ? PH_PRE : PH_POST;
	}
	/* what services may use comes first, and goes last */
	if (o->kind == K_SERVICE)
		return PH_MAIN;
	return o->op == OP_REMOVE ? PH_CLEANUP : PH_RESOURCES;
}

struct run {
	struct docker *dk;
	const struct plan *p;
	struct repo *r;
	const struct rollout_opts *o;
	struct rollout_result *res;
	int *wave;
	enum phase *phase;
	int off; /* called off (rollout_opts.hold): nothing more is written */
};

static json_t *state(struct run *u, const char *stack)
{
	return json_object_get(u->res->stacks, stack);
}

static int live(struct run *u, const char *stack)
{
	const char *oc = json_string_value(json_object_get(state(u, stack), "outcome"));
	return oc && !strcmp(oc, "applied");
}

/* Mark a stack failed (or skipped) with msg (scrubbed here; taken). */
static void fail(struct run *u, const char *stack, const char *outcome, char *msg)
{
	scrub_str(&msg);
	json_t *st = state(u, stack);
	if (st && live(u, stack)) {
		json_object_set_new(st, "outcome", json_string(outcome));
		json_object_set_new(st, "error", json_string(msg));
	}
	if (!u->res->why)
		u->res->why = xstrdup(msg);
	struct repo_stack *rs = stack_of(u->r, stack);
	if (rs && !rs->error)
		rs->error = xstrdup(msg);
	free(msg);
}

/* Apply the operations of wave w in phase ph of the stacks still going. */
static void apply_some(struct run *u, int w, enum phase ph)
{
	if (u->off)
		return;
	struct plan sub = {0};
	sub.ops = xcalloc(u->p->n + 1, sizeof *sub.ops);
	for (size_t i = 0; i < u->p->n; i++)
		if (u->wave[i] == w && u->phase[i] == ph && live(u, u->p->ops[i].stack))
			sub.ops[sub.n++] = u->p->ops[i]; /* shallow: not freed here */
	if (sub.n) {
		struct apply_result ar = {0, 0};
		struct strv failed = {0};
		apply_plan_stacks(u->dk, &sub, u->o->report, &ar, &failed);
		u->res->ar.done += ar.done;
		u->res->ar.failed += ar.failed;
		for (size_t i = 0; i < failed.n; i++)
			fail(u, failed.v[i], "failed",
			     xasprintf("stack %s: some operations failed (the engine's messages are above)", failed.v[i]));
		strv_free(&failed);
	}
	free(sub.ops);
}

/* ---------------- convergence ---------------- */

static const struct op *update_op(const struct plan *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].kind == K_SERVICE && p->ops[i].op == OP_UPDATE && !strcmp(p->ops[i].name, name))
			return &p->ops[i];
	return NULL;
}

/* Wait until the services wave w created or updated run: tasks running
 * (so healthy, where a healthcheck exists) as many as desired, updates
 * completed.  A paused or rolled back update, a rejected task or the
 * timeout fails the service's stack. */
static void converge(struct run *u, int w)
{
	if (u->off)
		return;
	struct strv names = {0}, stacks = {0};
	for (size_t i = 0; i < u->p->n; i++) {
		const struct op *op = &u->p->ops[i];
		if (u->wave[i] == w && u->phase[i] == PH_MAIN && op->kind == K_SERVICE && op->op != OP_REMOVE &&
		    live(u, op->stack)) {
			strv_push(&names, xstrdup(op->name));
			strv_push(&stacks, xstrdup(op->stack));
		}
	}
	double start = mono(), deadline = start + (double)(u->o->timeout_ns ? u->o->timeout_ns : ROLLOUT_TIMEOUT_NS) / 1e9;
	while (names.n) {
		if (u->o->hold && !u->o->hold(u->o->ctx)) {
			u->off = 1;
			for (size_t i = 0; i < names.n; i++)
				fail(u, stacks.v[i], "failed", xstrdup("called off while waiting for convergence"));
			break;
		}
		/* the services waited for, never the swarm's */
		json_t *list = NULL, *named = json_array();
		for (size_t i = 0; i < names.n; i++)
			json_array_append_new(named, json_string(names.v[i]));
		char *err = NULL;
		int rc = services_status(u->dk, named, &list, &err);
		json_decref(named);
		if (rc != DOCKER_OK) {
			for (size_t i = 0; i < names.n; i++)
				fail(u, stacks.v[i], "failed", xasprintf("service %s: cannot read its state: %s", names.v[i], err));
			free(err);
			break;
		}
		struct strv pn = {0}, ps = {0};
		for (size_t i = 0; i < names.n; i++) {
			json_t *svc = NULL, *x;
			size_t k;
			json_array_foreach(list, k, x)
				if (!strcmp(json_string_value(json_object_get(json_object_get(x, "Spec"), "Name")) ?: "", names.v[i]))
					svc = x;
			if (!svc) {
				fail(u, stacks.v[i], "failed", xasprintf("service %s: gone while waiting for it", names.v[i]));
				continue;
			}
			json_t *us = json_object_get(svc, "UpdateStatus");
			const char *st = json_string_value(json_object_get(us, "State"));
			const struct op *uop = update_op(u->p, names.v[i]);
			const char *started = json_string_value(json_object_get(us, "StartedAt"));
			/* the UpdateStatus from before our update is not ours */
			if (uop && (!st || !strcmp(started ? started : "", uop->prev_update ? uop->prev_update : "")))
				st = mono() < start + GRACE_S ? "pending" : NULL;
			json_t *mode = json_object_get(json_object_get(svc, "Spec"), "Mode");
			int job = json_object_get(mode, "ReplicatedJob") || json_object_get(mode, "GlobalJob");
			json_t *ss = json_object_get(svc, "ServiceStatus");
			json_int_t run = json_integer_value(json_object_get(ss, "RunningTasks")),
				   want = json_integer_value(json_object_get(ss, "DesiredTasks"));
			if (st && (!strcmp(st, "paused") || !strcmp(st, "rollback_paused") || !strcmp(st, "rollback_completed"))) {
				const char *msg = json_string_value(json_object_get(us, "Message"));
				fail(u, stacks.v[i], "failed",
				     xasprintf("service %s: update %s%s%s", names.v[i], st, msg ? ": " : "", msg ? msg : ""));
			} else if ((st && strcmp(st, "completed")) || (!job && run < want)) {
				char *terr = st ? NULL : tasks_trouble(u->dk, json_string_value(json_object_get(svc, "ID")));
				if (terr) {
					fail(u, stacks.v[i], "failed", xasprintf("service %s: %s", names.v[i], terr));
				} else {
					strv_push(&pn, xstrdup(names.v[i]));
					strv_push(&ps, xstrdup(stacks.v[i]));
				}
				free(terr);
			}
		}
		json_decref(list);
		strv_free(&names);
		strv_free(&stacks);
		names = pn;
		stacks = ps;
		if (names.n && mono() > deadline) {
			long long secs = (u->o->timeout_ns ? u->o->timeout_ns : ROLLOUT_TIMEOUT_NS) / 1000000000LL;
			for (size_t i = 0; i < names.n; i++) {
				char *last = tasks_last_error(u->dk, names.v[i]);
				fail(u, stacks.v[i], "failed",
				     xasprintf("service %s did not converge within %llds%s%s%s", names.v[i], secs,
					       last ? " (last task error: " : "", last ? last : "", last ? ")" : ""));
				free(last);
			}
			break;
		}
		if (names.n)
			nap(500);
	}
	strv_free(&names);
	strv_free(&stacks);
}

/* ---------------- hooks ---------------- */

char *rollout_log_text(const char *data, size_t len, size_t cap)
{
	struct buf b;
	buf_init(&b, 0);
	size_t off = 0;
	int framed = len >= 8;
	/* frames: stream (0-2), three zero bytes, a big-endian length */
	for (size_t o = 0; framed && o < len;) {
		const unsigned char *h = (const unsigned char *)data + o;
		if (len - o < 8 || h[0] > 2 || h[1] || h[2] || h[3]) {
			framed = 0;
			break;
		}
		size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
		if (n > len - o - 8) {
			framed = 0;
			break;
		}
		o += 8 + n;
	}
	if (framed) {
		while (off < len) {
			const unsigned char *h = (const unsigned char *)data + off;
			size_t n = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
			buf_add(&b, data + off + 8, n);
			off += 8 + n;
		}
	} else {
		buf_add(&b, data, len);
	}
	char *text = buf_detach(&b);
	size_t tl = strlen(text); /* a NUL in the output ends it */
	if (cap && tl > cap) {
		char *tail = xasprintf("(%zu bytes before)\n%s", tl - cap, text + tl - cap);
		free(text);
		text = tail;
	}
	return text;
}

/* The output of a job's iteration: every task's log, in slot order. */
static char *hook_output(struct docker *dk, json_t *tasks)
{
	struct buf b;
	buf_init(&b, 0);
	size_t i;
	json_t *t;
	json_array_foreach(tasks, i, t) {
		char *path = xasprintf("/tasks/%s/logs?stdout=1&stderr=1", json_string_value(json_object_get(t, "ID")));
		char *data = NULL, *err = NULL;
		size_t len = 0;
		if (docker_get_raw(dk, path, HOOK_LOG_READ, &data, &len, &err) == DOCKER_OK) {
			char *text = rollout_log_text(data, len, 0);
			buf_adds(&b, text);
			free(text);
		} else {
			buf_addf(&b, "(no log: %s)\n", err ? err : "error");
		}
		free(data);
		free(err);
		free(path);
	}
	char *all = buf_detach(&b);
	char *out = rollout_log_text(all, strlen(all), HOOK_LOG_CAP);
	free(all);
	scrub_str(&out); /* a hook may print what it was given */
	return out;
}

/* Run the hook service name: write it (op) or run it again (ForceUpdate),
 * then wait for its job's tasks to complete.  0 when they did; -1 with
 * *why.  The hook's record goes to hooks. */
static int run_hook(struct run *u, const struct op *op, const char *name, const char *phase, json_t *hooks, char **why)
{
	struct docker *dk = u->dk;
	char *err = NULL, *path = NULL;
	json_t *svc = NULL, *tasks = NULL;
	char *output = NULL;
	int ret = -1, called_off = 0;
	*why = NULL;
	if (op) {
		struct plan one = {.ops = (struct op *)op, .n = 1};
		struct apply_result ar = {0, 0};
		apply_plan_stacks(dk, &one, u->o->report, &ar, NULL);
		u->res->ar.done += ar.done;
		u->res->ar.failed += ar.failed;
		if (ar.failed) {
			*why = xasprintf("%s-hook %s could not be written (the engine's message is above)", phase, name);
			goto out;
		}
	} else {
		/* unchanged: run it again */
		path = xasprintf("/services/%s", name);
		if (docker_call(dk, "GET", path, NULL, &svc, &err) != DOCKER_OK) {
			*why = xasprintf("%s-hook %s: %s", phase, name, err);
			goto out;
		}
		json_t *spec = json_deep_copy(json_object_get(svc, "Spec"));
		json_t *tt = json_object_get(spec, "TaskTemplate");
		json_object_set_new(tt, "ForceUpdate", json_integer(json_integer_value(json_object_get(tt, "ForceUpdate")) + 1));
		free(path);
		path = xasprintf("/services/%s/update?version=%lld", json_string_value(json_object_get(svc, "ID")),
				 (long long)json_integer_value(json_object_get(json_object_get(svc, "Version"), "Index")));
		int rc = docker_call(dk, "POST", path, spec, NULL, &err);
		json_decref(spec);
		json_decref(svc);
		svc = NULL;
		if (rc != DOCKER_OK) {
			*why = xasprintf("%s-hook %s: run again: %s", phase, name, err);
			goto out;
		}
		u->res->ar.done++;
		say(stdout, "info", NULL, "Ran again service %s (%s-hook)", name, phase);
	}
	free(path);
	path = xasprintf("/services/%s", name);
	free(err);
	err = NULL;
	if (docker_call(dk, "GET", path, NULL, &svc, &err) != DOCKER_OK) {
		*why = xasprintf("%s-hook %s: %s", phase, name, err);
		goto out;
	}
	const char *id = json_string_value(json_object_get(svc, "ID"));
	json_t *iter = json_object_get(json_object_get(json_object_get(svc, "JobStatus"), "JobIteration"), "Index");
	json_t *rj = json_object_get(json_object_get(json_object_get(svc, "Spec"), "Mode"), "ReplicatedJob");
	json_int_t total = json_integer_value(json_object_get(rj, "TotalCompletions"));
	if (total < 1)
		total = 1;
	char *f = docker_filters("service", id ? id : name);
	free(path);
	path = xasprintf("/tasks?filters=%s", f);
	free(f);
	double deadline = mono() + (double)(u->o->timeout_ns ? u->o->timeout_ns : ROLLOUT_TIMEOUT_NS) / 1e9;
	for (;;) {
		json_decref(tasks);
		tasks = NULL;
		free(err);
		err = NULL;
		json_t *all = NULL;
		if (docker_call(dk, "GET", path, NULL, &all, &err) != DOCKER_OK) {
			*why = xasprintf("%s-hook %s: %s", phase, name, err);
			goto out;
		}
		/* this run's tasks: its job iteration's */
		tasks = json_array();
		size_t i;
		json_t *t;
		json_array_foreach(all, i, t) {
			json_t *ti = json_object_get(json_object_get(t, "JobIteration"), "Index");
			if (!iter || (ti && json_integer_value(ti) == json_integer_value(iter)))
				json_array_append(tasks, t);
		}
		json_decref(all);
		json_int_t done = 0;
		const char *bad = NULL, *bad_err = NULL;
		json_int_t code = 0;
		json_array_foreach(tasks, i, t) {
			json_t *status = json_object_get(t, "Status");
			const char *st = json_string_value(json_object_get(status, "State")) ?: "";
			if (!strcmp(st, "complete"))
				done++;
			else if (!bad && (!strcmp(st, "failed") || !strcmp(st, "rejected") || !strcmp(st, "orphaned"))) {
				bad = st;
				bad_err = json_string_value(json_object_get(status, "Err"));
				code = json_integer_value(json_object_get(json_object_get(status, "ContainerStatus"), "ExitCode"));
			}
		}
		if (bad) {
			*why = code ? xasprintf("%s-hook %s failed: task %s with exit code %lld", phase, name, bad, (long long)code)
				    : xasprintf("%s-hook %s failed: task %s%s%s", phase, name, bad, bad_err ? ": " : "",
						bad_err ? bad_err : "");
			break;
		}
		if (done >= total) {
			ret = 0;
			break;
		}
		if (mono() > deadline) {
			*why = xasprintf("%s-hook %s did not complete within %llds", phase, name,
					 (u->o->timeout_ns ? u->o->timeout_ns : ROLLOUT_TIMEOUT_NS) / 1000000000LL);
			break;
		}
		if (u->o->hold && !u->o->hold(u->o->ctx)) {
			*why = xasprintf("%s-hook %s: called off while waiting for it", phase, name);
			called_off = u->off = 1;
			break;
		}
		nap(300);
	}
	output = hook_output(dk, tasks);
out:
	if (*why)
		scrub_str(why);
	json_array_append_new(hooks, json_pack("{s:s, s:s, s:s, s:s}", "service", name, "phase", phase, "outcome",
					       ret == 0 ? "succeeded" : called_off ? "called off" : "failed", "output",
					       output ? output : ""));
	free(output);
	free(err);
	free(path);
	json_decref(svc);
	json_decref(tasks);
	return ret;
}

/* The hooks of a stack in phase ph: its services so labelled (desired),
 * and those the plan writes; sorted. */
static void hooks_of(struct run *u, const char *stack, const char *ph, struct strv *out)
{
	struct repo_stack *rs = stack_of(u->r, stack);
	const char *k;
	json_t *spec;
	json_object_foreach(rs && rs->ds ? rs->ds->services : NULL, k, spec) {
		const char *h = waves_hook(spec);
		if (h && !strcmp(h, ph))
			strv_push(out, xstrdup(k));
	}
	for (size_t i = 0; i < u->p->n; i++) {
		const struct op *o = &u->p->ops[i];
		if (strcmp(o->stack, stack) || (u->phase[i] != PH_PRE && u->phase[i] != PH_POST))
			continue;
		if (strcmp(waves_hook(o->spec), ph))
			continue;
		int seen = 0;
		for (size_t s = 0; s < out->n; s++)
			seen |= !strcmp(out->v[s], o->name);
		if (!seen)
			strv_push(out, xstrdup(o->name));
	}
	strv_sort(out);
}

static void run_hooks(struct run *u, int w, const char *ph, const struct strv *stacks)
{
	for (size_t s = 0; s < stacks->n && !u->off; s++) {
		const char *stack = stacks->v[s];
		if (waves_level(u->r, stack) != w || !live(u, stack))
			continue;
		struct strv hooks = {0};
		hooks_of(u, stack, ph, &hooks);
		for (size_t h = 0; h < hooks.n && live(u, stack) && !u->off; h++) {
			const struct op *op = NULL;
			for (size_t i = 0; i < u->p->n; i++)
				if (!strcmp(u->p->ops[i].name, hooks.v[h]) && u->p->ops[i].kind == K_SERVICE &&
				    u->p->ops[i].op != OP_REMOVE)
					op = &u->p->ops[i];
			char *why = NULL;
			if (run_hook(u, op, hooks.v[h], ph, json_object_get(state(u, stack), "hooks"), &why) < 0)
				fail(u, stack, "failed", why);
			else
				free(why);
		}
		strv_free(&hooks);
	}
}

/* ---------------- the waves ---------------- */

int rollout_run(struct docker *dk, const struct plan *p, struct repo *r, const struct rollout_opts *o,
		struct rollout_result *res)
{
	memset(res, 0, sizeof *res);
	res->stacks = json_object();
	struct run u = {dk, p, r, o, res, xcalloc(p->n + 1, sizeof(int)), xcalloc(p->n + 1, sizeof(enum phase))};
	struct strv stacks = {0};
	int maxw = 1;
	for (size_t i = 0; i < p->n; i++) {
		u.wave[i] = op_wave(r, &p->ops[i]);
		u.phase[i] = op_phase(&p->ops[i]);
		maxw = u.wave[i] > maxw ? u.wave[i] : maxw;
		if (!json_object_get(res->stacks, p->ops[i].stack)) {
			json_object_set_new(res->stacks, p->ops[i].stack,
					    json_pack("{s:i, s:s, s:n, s:[]}", "wave", waves_level(r, p->ops[i].stack),
						      "outcome", "applied", "error", "hooks"));
			strv_push(&stacks, xstrdup(p->ops[i].stack));
		}
	}
	strv_sort(&stacks);
	for (int w = 1; w <= maxw; w++) {
		/* called off: what was not written stays so */
		for (size_t s = 0; u.off && s < stacks.n; s++)
			if (waves_level(r, stacks.v[s]) == w && live(&u, stacks.v[s]))
				fail(&u, stacks.v[s], "skipped", xasprintf("stack %s: not applied: the rollout was called off", stacks.v[s]));
		/* a stack whose dependency failed, or was not applied, waits */
		for (size_t s = 0; s < stacks.n; s++) {
			struct repo_stack *rs = stack_of(r, stacks.v[s]);
			size_t k;
			json_t *dep;
			if (waves_level(r, stacks.v[s]) != w || !rs)
				continue;
			json_array_foreach(rs->deps, k, dep) {
				const char *dn = json_string_value(json_object_get(dep, "name"));
				struct repo_stack *ds = stack_of(r, dn);
				int bad = (state(&u, dn) && !live(&u, dn)) || (ds && (!ds->ds || ds->error));
				if (bad && live(&u, stacks.v[s]))
					fail(&u, stacks.v[s], "skipped",
					     xasprintf("stack %s: not applied: stack %s, which it depends on, failed", stacks.v[s], dn));
			}
		}
		int later = 0;
		for (size_t i = 0; i < p->n; i++)
			later |= u.wave[i] > w && live(&u, p->ops[i].stack);
		apply_some(&u, w, PH_RESOURCES);
		run_hooks(&u, w, "pre", &stacks);
		apply_some(&u, w, PH_MAIN);
		int posts = 0;
		for (size_t s = 0; s < stacks.n; s++) {
			struct strv h = {0};
			if (waves_level(r, stacks.v[s]) == w && live(&u, stacks.v[s]))
				hooks_of(&u, stacks.v[s], "post", &h);
			posts += (int)h.n;
			strv_free(&h);
		}
		if (later || posts || o->wait_last)
			converge(&u, w);
		run_hooks(&u, w, "post", &stacks);
		apply_some(&u, w, PH_CLEANUP);
	}
	strv_free(&stacks);
	free(u.wave);
	free(u.phase);
	return res->why || res->ar.failed ? -1 : 0;
}

void rollout_result_free(struct rollout_result *res)
{
	json_decref(res->stacks);
	free(res->why);
	memset(res, 0, sizeof *res);
}
