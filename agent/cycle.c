/*
 * cycle.c - one cycle of the agent: fetch the branch (gitsrc.c), take the
 * lease (lease.c), plan the commit and roll it out (in waves, with its
 * hooks: reconcile/rollout.c), wait for convergence, put a failed commit's
 * stacks back with --on-failure rollback, and say how it went (the state
 * lines for shoal-agentd; notify.c: notifications, the forge's commit
 * status).  Drift checks and follow-tag ticks reconcile the applied
 * commit again, in one apply.
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
#include "../reconcile/tasks.h"
#include "agent.h"
#include "../reconcile/log.h"
#include "../reconcile/rollout.h"
#include "../reconcile/sync.h"
#include "../cli/cli.h"
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

/* A new service whose tasks failed CRASH_LOOP_FAILURES times (tasks.h: a
 * container that exits, restarted by the swarm) fails without waiting for
 * the timeout.  One that runs must keep running CONVERGE_SETTLE seconds: a
 * crash-looping one is running for a moment now and then. */
#define CONVERGE_SETTLE 2.0

/* A service the convergence wait watches. */
struct target {
	char *name;
	char *prev_update; /* an update of ours: UpdateStatus.StartedAt before it ("" none); NULL otherwise */
	double ok_since;   /* running == desired since (monotonic), 0 when not */
	double tasks_at;   /* its tasks last read (monotonic) */
};

struct targets {
	struct target *v;
	size_t n;
};

static void targets_add(struct targets *t, const char *name, const char *prev_update)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->v[i].name, name))
			return;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof *t->v);
	t->v[t->n++] = (struct target){xstrdup(name), prev_update ? xstrdup(prev_update) : NULL, 0, 0};
}

static void targets_free(struct targets *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].prev_update);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

enum conv { CONV_OK, CONV_FAILED, CONV_ROLLED_BACK, CONV_SUPERSEDED, CONV_STOPPED, CONV_LOST };

/* A commit that came during a convergence wait and turned out invalid
 * (nothing of it written): the wait it cut short goes on, and the branch
 * still pointing at it does not cut it short again (this cycle only; the
 * next one finds it invalid in the history).  The convergence record of
 * the commit last superseded, to resume. */
static char invalid_head[41];
static json_t *superseded_rec;

/*
 * Wait until the services created or updated have converged: an update's
 * UpdateStatus completed, or (a new service, or a wait resumed after a
 * restart) its tasks running as desired for CONVERGE_SETTLE seconds.  A
 * failed update (paused, rollback_paused), a rolled-back one, a rejected or
 * crash-looping task or the deadline (wall time) fails it; the message
 * names the service.  Meanwhile the branch is fetched every --interval (at
 * once after a webhook: fetch_flag): a newer commit ends the wait
 * (CONV_SUPERSEDED, its ID in newer).  A stop signal ends it too
 * (CONV_STOPPED): the next agent resumes it from the lease.
 */
static enum conv converge(struct agent *ag, struct docker *dk, const char *commit, struct targets *t,
			  double deadline, char newer[41], char **why)
{
	double grace = now_mono() + 5, next_fetch = now_mono() + (double)ag->interval_ns / 1e9;
	enum conv ret = CONV_OK;
	*why = NULL;
	while (t->n) {
		if (stop_flag)
			return CONV_STOPPED;
		/* the services waited for, never the swarm's */
		json_t *list = NULL, *named = json_array();
		for (size_t i = 0; i < t->n; i++)
			json_array_append_new(named, json_string(t->v[i].name));
		char *err = NULL;
		int rc = services_status(dk, named, &list, &err);
		json_decref(named);
		free(err);
		if (rc != DOCKER_OK) {
			/* the engine restarting: the wait goes on, to its deadline */
			if (now_wall() > deadline)
				break;
			struct timespec ts = {1, 0};
			nanosleep(&ts, NULL);
			continue;
		}
		if (!lease_take(ag, dk)) {
			json_decref(list);
			/* another agent writes now: it owns convergence */
			*why = xstrdup("lease lost while waiting for convergence");
			return CONV_LOST;
		}
		if (fetch_flag || now_mono() >= next_fetch) {
			fetch_flag = 0;
			next_fetch = now_mono() + (double)ag->interval_ns / 1e9;
			char head[41], *ferr = NULL;
			if (git_sync(ag, head, &ferr) == 0 && strcmp(head, commit) && strcmp(head, invalid_head)) {
				json_decref(list);
				snprintf(newer, 41, "%s", head);
				return CONV_SUPERSEDED;
			}
			free(ferr); /* the wait goes on; the next cycle says it */
		}
		size_t w = 0;
		for (size_t i = 0; i < t->n; i++) {
			struct target *tg = &t->v[i];
			json_t *svc = NULL, *x;
			size_t k;
			json_array_foreach(list, k, x)
				if (!strcmp(json_string_value(json_object_get(json_object_get(x, "Spec"), "Name")) ?: "", tg->name))
					svc = x;
			int done = 0;
			char *fail = NULL;
			if (!svc) {
				done = 1; /* removed since: nothing to wait for */
				goto next;
			}
			json_t *us = json_object_get(svc, "UpdateStatus");
			const char *state = json_string_value(json_object_get(us, "State"));
			const char *started = json_string_value(json_object_get(us, "StartedAt"));
			if (tg->prev_update && (!state || !strcmp(started ? started : "", tg->prev_update)))
				state = now_mono() < grace ? "pending" : NULL; /* ours has not begun yet */
			json_t *mode = json_object_get(json_object_get(svc, "Spec"), "Mode");
			int job = json_object_get(mode, "ReplicatedJob") || json_object_get(mode, "GlobalJob");
			json_t *ss = json_object_get(svc, "ServiceStatus");
			json_int_t run = json_integer_value(json_object_get(ss, "RunningTasks")),
				   want = json_integer_value(json_object_get(ss, "DesiredTasks"));
			if (state && (!strcmp(state, "paused") || !strcmp(state, "rollback_paused") ||
				      !strcmp(state, "rollback_completed"))) {
				const char *msg = json_string_value(json_object_get(us, "Message"));
				fail = xasprintf("service %s: update %s%s%s", tg->name, state, msg ? ": " : "", msg ? msg : "");
				scrub_engine_str(&fail); /* the engine's words */
				if (!strcmp(state, "rollback_completed") && ret == CONV_OK)
					ret = CONV_ROLLED_BACK;
			} else if (state && strcmp(state, "completed")) {
				/* updating, rolling back: the swarm is at it */
			} else if ((state && tg->prev_update) || job || want == 0) {
				done = 1; /* an update of ours completed; jobs run to their end */
			} else if (run >= want) {
				if (!tg->ok_since)
					tg->ok_since = now_mono();
				done = now_mono() - tg->ok_since >= CONVERGE_SETTLE;
			} else {
				/* a new service's task the node could not start (an image
				 * it cannot pull) or that keeps failing fails now, not at
				 * the timeout; an update's failures show in its
				 * UpdateStatus instead.  Its tasks are read every 2 s. */
				tg->ok_since = 0;
				if (now_mono() - tg->tasks_at >= 2) {
					tg->tasks_at = now_mono();
					char *terr = tasks_trouble(dk, json_string_value(json_object_get(svc, "ID")));
					if (terr)
						fail = xasprintf("service %s: %s", tg->name, terr);
					free(terr);
				}
			}
		next:
			if (fail) {
				if (!*why)
					*why = fail;
				else
					free(fail);
				if (ret == CONV_OK)
					ret = CONV_FAILED;
				done = 1;
			}
			if (done) {
				free(tg->name);
				free(tg->prev_update);
			} else {
				t->v[w++] = *tg;
			}
		}
		t->n = w;
		json_decref(list);
		if (!t->n || now_wall() > deadline)
			break;
		struct timespec ts = {0, 500000000};
		nanosleep(&ts, NULL); /* a webhook's signal cuts it short */
	}
	if (t->n && !*why) {
		char *last = tasks_last_error(dk, t->v[0].name);
		*why = xasprintf("service %s did not converge within %llds%s%s%s", t->v[0].name,
				 ag->converge_ns / 1000000000, last ? " (last task error: " : "", last ? last : "",
				 last ? ")" : "");
		free(last);
		ret = CONV_FAILED;
	}
	return ret;
}

/* ---------------- waves, hooks, rollback ---------------- */

/*
 * Asked by a rollout between its polls (a wave converging, a hook
 * running): it goes on while this agent holds the lease, no stop signal
 * came and the branch still points at commit (fetched every --interval,
 * at once after a webhook), as the convergence wait does.  Why it stopped
 * is kept for the reconcile.
 */
struct hold {
	struct agent *ag;
	struct docker *dk;
	const char *commit;
	char *newer; /* [41]: the newer commit, when one came */
	double next_fetch;
	enum conv why; /* CONV_OK while it goes on */
};

static int hold_on(void *ctx)
{
	struct hold *h = ctx;
	if (stop_flag) {
		h->why = CONV_STOPPED;
		return 0;
	}
	if (!lease_take(h->ag, h->dk)) {
		h->why = CONV_LOST;
		return 0;
	}
	if (fetch_flag || now_mono() >= h->next_fetch) {
		fetch_flag = 0;
		h->next_fetch = now_mono() + (double)h->ag->interval_ns / 1e9;
		char head[41], *ferr = NULL;
		int moved = git_sync(h->ag, head, &ferr) == 0 && strcmp(head, h->commit);
		free(ferr); /* the wait goes on; the next cycle says it */
		if (moved) {
			snprintf(h->newer, 41, "%s", head);
			h->why = CONV_SUPERSEDED;
			return 0;
		}
	}
	return 1;
}

/* A rollout's time: what is left to the convergence deadline. */
static long long time_left_ns(double deadline)
{
	double left = deadline - now_wall();
	return left > 1 ? (long long)(left * 1e9) : 1000000000LL;
}

static int has(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return 1;
	return 0;
}

static char *join(const struct strv *v)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < v->n; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", v->v[i]);
	return buf_detach(&b);
}

/*
 * --on-failure rollback: the stacks the failed commit (the branch's head)
 * changed go back to the desired state of good, the last commit applied:
 * planned again, rolled out in waves (their hooks too) and converged, to
 * a deadline of their own.  CONV_OK when that worked (*nops: its
 * operations); CONV_FAILED with *why; a newer commit, a stop or the lease
 * lost end it as they end any wait.
 */
static enum conv roll_back(struct agent *ag, struct docker *dk, const char *good, const char *commit,
			   const struct strv *stacks, char newer[41], size_t *nops, char **why)
{
	struct repo_args a = ag->ra;
	struct plan p = {0};
	struct repo r;
	struct targets tg = {0};
	int invalid = 0;
	enum conv cv = CONV_OK;
	*why = NULL;
	*nops = 0;
	/* planned as when it was applied (its signature was checked then) */
	struct sync_opts so = {.dk = dk, .key = ag->key, .dir = ag->cache, .rev = good, .path = a.path,
			       .prune = a.prune, .only = a.only, .commit = sync_commit_of(good), .resolve = a.resolve,
			       .follow = a.follow, .adopt = &a.adopt, .adopt_all = a.adopt_all, .report = &log_apply_report};
	if (sync_plan(&so, &p, &r, &invalid) < 0) {
		*why = xasprintf("cannot plan commit %.12s again", good);
		plan_free(&p);
		return CONV_FAILED;
	}
	size_t w = 0;
	for (size_t i = 0; i < p.n; i++) {
		if (has(stacks, p.ops[i].stack))
			p.ops[w++] = p.ops[i];
		else
			plan_op_free(&p.ops[i]);
	}
	p.n = w;
	*nops = p.n;
	for (size_t i = 0; i < p.n; i++)
		if (p.ops[i].kind == K_SERVICE && p.ops[i].op != OP_REMOVE)
			targets_add(&tg, p.ops[i].name,
				    p.ops[i].op == OP_UPDATE ? (p.ops[i].prev_update ? p.ops[i].prev_update : "") : NULL);
	double deadline = now_wall() + (double)ag->converge_ns / 1e9;
	struct hold hl = {ag, dk, commit, newer, now_mono() + (double)ag->interval_ns / 1e9, CONV_OK};
	struct rollout_opts ro = {.timeout_ns = time_left_ns(deadline), .hold = hold_on, .ctx = &hl,
				  .report = &log_apply_report};
	struct rollout_result rres = {0};
	int ar = p.n ? rollout_run(dk, &p, &r, &ro, &rres) : 0;
	if (hl.why != CONV_OK) {
		cv = hl.why;
	} else if (ar < 0) {
		cv = CONV_FAILED;
		*why = xstrdup(rres.why ? rres.why : "some operations failed");
	} else if (tg.n) {
		cv = converge(ag, dk, commit, &tg, deadline, newer, why);
	}
	if (cv == CONV_ROLLED_BACK) /* the swarm rolled the rollback's update back */
		cv = CONV_FAILED;
	rollout_result_free(&rres);
	targets_free(&tg);
	repo_free(&r);
	plan_free(&p);
	return cv;
}

/*
 * Per stack: the last commit applied to it (an invalid stack keeps its
 * previous one, with the error), and its services as the swarm reports
 * them: tasks running/desired, update state, the commit that wrote each.
 * One list request, after the reconcile.
 */
static void stack_states(struct agent *ag, struct docker *dk, const struct repo *r, const char *commit,
			 int applied, const char *why, const struct strv *errs)
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
		char *invalid_why = NULL;
		/* a convergence failure names the service: "service STACK_..." */
		char *needle = xasprintf("service %s_", name);
		int failed_here = !applied && (!why || strstr(why, needle));
		free(needle);
		if (!r->stacks[i].ds) {
			/* its own errors: those in files under stacks/NAME/ */
			struct strv mine = {0};
			char *dir = xasprintf("stacks/%s/", name);
			for (size_t k = 0; k < errs->n; k++)
				if (strstr(errs->v[k], dir))
					strv_push(&mine, xstrdup(errs->v[k]));
			free(dir);
			char *text = mine.n ? history_errors_text(&mine) : NULL;
			invalid_why = xasprintf("invalid at this commit, not applied: %s", text ? text : "see the agent's log");
			free(text);
			strv_free(&mine);
			error = invalid_why;
		} else if (r->stacks[i].error) /* refused by the planner: nothing written */
			error = r->stacks[i].error;
		else if (failed_here)
			error = why ? why : "some operations failed (see the agent's log)";
		if (r->stacks[i].ds && !r->stacks[i].error && !failed_here)
			json_object_set_new(st, "commit_applied", json_string(commit));
		else
			json_object_set_new(st, "commit_applied", prev_commit ? json_string(prev_commit) : json_null());
		json_object_set_new(st, "error", error ? json_string(error) : json_null());
		free(invalid_why);
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

/* What a reconcile of a commit came to (history.c keeps the first five). */
enum outcome { OUT_APPLIED, OUT_FAILED, OUT_ROLLED_BACK, OUT_INVALID, OUT_SUPERSEDED, OUT_STOPPED, OUT_LOST };
static const char *const outcome_name[] = {"applied", "failed", "rolled back", "invalid", "superseded", "stopped",
					   "lease lost"};

/*
 * The errors the library says while a commit is loaded, planned and
 * applied, kept for /status, the log line and the notification: those with
 * a place as "file:line:column: message" (errs), the others apart (other).
 * Every message still goes where it went (the JSON log, or stderr as say()
 * and diags_print put it).
 */
static struct strv *captured, *captured_other;
static say_fn said_before;

static void capture_say(const char *level, const char *const *fields, const char *msg)
{
	const char *file = NULL, *line = NULL, *col = NULL;
	for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
		if (!strcmp(fields[i], "file"))
			file = fields[i + 1];
		else if (!strcmp(fields[i], "line"))
			line = fields[i + 1];
		else if (!strcmp(fields[i], "column"))
			col = fields[i + 1];
	}
	if (captured && !strcmp(level, "error")) {
		/* kept as UTF-8 (a file name in a commit can be any bytes): they
		 * go into JSON (/status, the state line, the notification) */
		char *e = file && line ? xasprintf("%s:%s:%s: %s", file, line, col ? col : "0", msg)
			  : file      ? xasprintf("%s: %s", file, msg)
				      : xstrdup(msg);
		strv_push(file ? captured : captured_other, utf8_fix(e));
		free(e);
	}
	if (said_before)
		said_before(level, fields, msg);
	else if (file && line)
		fprintf(stderr, "%s:%s:%s: %s: %s\n", file, line, col ? col : "0", level, msg);
	else if (file)
		fprintf(stderr, "%s: %s: %s\n", file, level, msg);
	else if (!strcmp(level, "error"))
		fprintf(stderr, "shoal: %s\n", msg);
	else if (!strcmp(level, "warning"))
		fprintf(stderr, "warning: %s\n", msg);
	else
		fprintf(stderr, "%s\n", msg);
}

static void capture_begin(struct strv *errs, struct strv *other)
{
	captured = errs;
	captured_other = other;
	said_before = say_hook;
	say_hook = capture_say;
}

static void capture_end(void)
{
	say_hook = said_before;
	captured = captured_other = NULL;
}

static char *op_text(const struct op *o)
{
	static const char *k[] = {"network", "secret", "config", "service"};
	static const char *a[] = {"create", "update", "remove"};
	return xasprintf("%s %s %s", a[o->op], k[o->kind], o->name);
}

/* The convergence record kept with the lease (agent.h, converging). */
static json_t *converging_record(const char *commit, double started, double deadline, const struct targets *t)
{
	json_t *names = json_array();
	for (size_t i = 0; i < t->n; i++)
		json_array_append_new(names, json_string(t->v[i].name));
	return json_pack("{s:s, s:f, s:f, s:o}", "commit", commit, "started", started, "deadline", deadline, "services",
			 names);
}

/* The hooks a rollout ran, for the commit's history entry: {"stack",
 * "service", "phase", "outcome", "output"}, the output (scrubbed by the
 * rollout) cut to its last HOOK_OUTPUT_KEPT bytes: the history travels
 * with the lease. */
#define HOOK_OUTPUT_KEPT 2048
static json_t *hooks_record(const json_t *stacks)
{
	json_t *out = json_array();
	const char *sk;
	json_t *sv;
	json_object_foreach((json_t *)stacks, sk, sv) {
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(sv, "hooks"), i, h) {
			const char *o = json_string_value(json_object_get(h, "output")) ?: "";
			size_t len = strlen(o), off = len > HOOK_OUTPUT_KEPT ? len - HOOK_OUTPUT_KEPT : 0;
			while (off < len && ((unsigned char)o[off] & 0xc0) == 0x80)
				off++; /* not inside a character */
			json_t *x = json_deep_copy(h);
			json_object_set_new(x, "stack", json_string(sk));
			json_object_set_new(x, "output", json_string(o + off));
			json_array_append_new(out, x);
		}
	}
	return out;
}

/*
 * One reconcile of commit.  mode 0: a commit not applied yet, whose
 * outcome goes into the history (and, before the first write, the
 * convergence record into the lease, so that a restart resumes the wait
 * rather than find nothing to do); 1: a drift check of the applied commit;
 * 2: a follow-tag tick (only services whose followed tag moved); 3: a drift
 * check of a commit that failed, applied again (as mode 0) only where the
 * swarm differs from it.  A new commit is rolled out in waves with its
 * hooks (rollout.h), its status set on the forge (pending, then success or
 * failure), and with --on-failure rollback a failure puts the stacks it
 * changed back to the last commit applied.  A newer commit that came while
 * it rolled out or converged is in newer (empty otherwise): OUT_SUPERSEDED,
 * or after a rollback cut short.
 */
static enum outcome reconcile(struct agent *ag, struct docker *dk, const char *commit, int mode, char newer[41])
{
	int drift_only = mode == 1, follow_tick = mode == 2;
	double t0 = now_mono(), started = now_wall(), deadline = now_wall() + (double)ag->converge_ns / 1e9;
	struct repo_args a = ag->ra;
	a.dir = ag->cache;
	a.rev = commit;
	struct plan p = {0};
	struct repo r;
	struct strv errs = {0}, other = {0};
	struct targets tg = {0};
	int invalid = 0, loaded = 0, resumed = 0, ar = 0;
	unsigned long w0 = docker_stats(dk)->writes, applied_writes = 0;
	enum outcome out = OUT_APPLIED;
	enum conv cv = CONV_OK;
	char *why = NULL, *cwhy = NULL, *rolled_back = NULL, *rbnote = NULL;
	struct rollout_result rres = {0};
	struct strv changed = {0}; /* the stacks the commit's plan touches */
	newer[0] = 0;
	if (mode == 0)
		forge_status(ag, commit, FORGE_PENDING, "deploying");
	if (cli_check_signed(&a, commit, &why) < 0) {
		/* not applied; the last good commit stays deployed */
		strv_push(&errs, xstrdup(why ? why : "refused: signature check failed"));
		free(why);
		out = OUT_INVALID;
		goto outcome;
	}
	a.require_signed = 0; /* checked */
	capture_begin(&errs, &other);
	struct sync_opts so = {.dk = dk, .key = ag->key, .dir = a.dir, .rev = commit, .path = a.path,
			       .prune = a.prune, .only = a.only, .commit = sync_commit_of(commit), .resolve = a.resolve,
			       .follow = a.follow, .adopt = &a.adopt, .adopt_all = a.adopt_all, .report = &log_apply_report};
	int rc = sync_plan(&so, &p, &r, &invalid);
	capture_end();
	if (rc < 0) {
		out = OUT_INVALID;
		goto outcome;
	}
	loaded = 1;
	if (mode == 3) {
		/* a commit that failed before: its outcome stands while the swarm
		 * is as it left it (an empty plan is no success); where the swarm
		 * differs from it now (objects removed by hand, another registry
		 * login), it is applied and waited for again */
		if (!p.n) {
			logmsgf("info", commit_fields(commit),
				"commit %.12s failed before; the swarm is as it left it: still failed", commit);
			repo_free(&r);
			plan_free(&p);
			strv_free(&errs);
			strv_free(&other);
			return OUT_FAILED;
		}
		logmsgf("info", commit_fields(commit), "commit %.12s failed before; %zu object%s differ%s from it now: applying it again",
			commit, p.n, p.n == 1 ? "" : "s", p.n == 1 ? "s" : "");
		mode = 0;
		drift_only = 0;
	}
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
	for (size_t i = 0; do_apply && i < p.n; i++)
		if (p.ops[i].kind == K_SERVICE && p.ops[i].op != OP_REMOVE)
			targets_add(&tg, p.ops[i].name,
				    p.ops[i].op == OP_UPDATE ? (p.ops[i].prev_update ? p.ops[i].prev_update : "") : NULL);
	pthread_mutex_lock(&ag->mu);
	json_t *rec = ag->converging;
	if (mode == 0 && rec && !strcmp(json_string_value(json_object_get(rec, "commit")) ?: "", commit)) {
		/* a wait an earlier agent began (then was stopped, killed or
		 * replaced): it goes on, to the same deadline */
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(rec, "services"), i, x)
			if (json_is_string(x))
				targets_add(&tg, json_string_value(x), NULL);
		started = json_number_value(json_object_get(rec, "started")) ?: started;
		deadline = json_number_value(json_object_get(rec, "deadline")) ?: deadline;
		resumed = 1;
	}
	pthread_mutex_unlock(&ag->mu);
	if (resumed)
		logmsgf("info", commit_fields(commit),
			"commit %.12s: resuming the convergence wait an earlier agent began (%zu service%s, %.0fs left)",
			commit, tg.n, tg.n == 1 ? "" : "s", deadline > now_wall() ? deadline - now_wall() : 0.0);
	if (mode == 0 && tg.n) {
		/* before the first write: whoever runs next knows what to wait for */
		json_t *nrec = converging_record(commit, started, deadline, &tg);
		pthread_mutex_lock(&ag->mu);
		json_decref(ag->converging);
		ag->converging = nrec;
		pthread_mutex_unlock(&ag->mu);
		if (lease_record(ag, dk) < 0) {
			cv = CONV_LOST;
			cwhy = xstrdup("lease lost before the apply");
			goto done;
		}
	}
	struct apply_result res = {0, 0};
	/* the apply's own writes: not the converge record written just above,
	 * nor the lease renewals below */
	unsigned long wa = docker_stats(dk)->writes;
	struct hold hl = {ag, dk, commit, newer, now_mono() + (double)ag->interval_ns / 1e9, CONV_OK};
	capture_begin(&errs, &other);
	if (do_apply && mode == 0) {
		/* a new commit: in waves, each stack once those it depends on
		 * converged, with its hooks */
		struct rollout_opts ro = {.timeout_ns = time_left_ns(deadline), .hold = hold_on, .ctx = &hl,
					  .report = &log_apply_report};
		ar = rollout_run(dk, &p, &r, &ro, &rres);
		res = rres.ar;
	} else if (do_apply) {
		ar = sync_apply(&so, &p, &res);
	}
	capture_end();
	applied_writes = docker_stats(dk)->writes - wa;
	for (size_t i = 0; i < p.n; i++)
		if (!has(&changed, p.ops[i].stack))
			strv_push(&changed, xstrdup(p.ops[i].stack));
	strv_sort(&changed);
	if (hl.why != CONV_OK) { /* a newer commit, a stop, the lease lost */
		cv = hl.why;
		if (cv == CONV_LOST)
			cwhy = xstrdup("lease lost during the rollout");
	} else if (ar < 0 && rres.why) {
		cwhy = xstrdup(rres.why); /* a hook, a stack whose dependency failed */
	}
	pthread_mutex_lock(&ag->mu);
	json_decref(ag->stacks);
	ag->stacks = ops_json(&p);
	if (drift_only && do_apply)
		ag->drift_corrections += res.done;
	pthread_mutex_unlock(&ag->mu);
	if (do_apply || resumed)
		publish(ag);
	if (ar == 0 && tg.n && cv == CONV_OK)
		cv = converge(ag, dk, commit, &tg, deadline, newer, &cwhy);
done:
	switch (cv) {
	case CONV_OK: out = invalid ? OUT_INVALID : ar ? OUT_FAILED : OUT_APPLIED; break;
	case CONV_FAILED: out = OUT_FAILED; break;
	case CONV_ROLLED_BACK: out = OUT_ROLLED_BACK; break;
	case CONV_SUPERSEDED: out = OUT_SUPERSEDED; break;
	case CONV_STOPPED: out = OUT_STOPPED; break;
	case CONV_LOST: out = OUT_LOST; break;
	}
	/* --on-failure rollback: a new commit that wrote and failed (a hook,
	 * an update paused or rolled back by the swarm, the deadline) */
	pthread_mutex_lock(&ag->mu);
	char good[41];
	snprintf(good, sizeof good, "%s", ag->commit_applied);
	pthread_mutex_unlock(&ag->mu);
	if (mode == 0 && ag->rollback && (out == OUT_FAILED || out == OUT_ROLLED_BACK) && applied_writes && good[0] &&
	    strcmp(good, commit)) {
		char *list = join(&changed), *rwhy = NULL;
		size_t nops = 0;
		logmsgf("warning", json_pack("{s:s, s:s}", "commit", commit, "rollback_to", good),
			"commit %.12s failed: rolling its stacks (%s) back to commit %.12s", commit, list, good);
		double t1 = now_wall();
		enum conv rb = roll_back(ag, dk, good, commit, &changed, newer, &nops, &rwhy);
		if (rb == CONV_OK) {
			out = OUT_ROLLED_BACK;
			rolled_back = xstrdup(good);
			logmsgf("info",
				json_pack("{s:s, s:s, s:I, s:f}", "commit", commit, "rollback_to", good, "operations",
					  (json_int_t)nops, "seconds", now_wall() - t1),
				"commit %.12s: its stacks (%s) rolled back to commit %.12s: %zu operation%s, converged", commit,
				list, good, nops, nops == 1 ? "" : "s");
		} else {
			out = OUT_FAILED;
			rbnote = xasprintf("rollback to commit %.12s %s%s%s", good,
					   rb == CONV_SUPERSEDED ? "not waited for: a newer commit came"
					   : rb == CONV_STOPPED	 ? "cut short: the agent is stopping"
					   : rb == CONV_LOST	 ? "cut short: lease lost"
								 : "failed",
					   rwhy ? ": " : "", rwhy ? rwhy : "");
			logmsgf("error", json_pack("{s:s, s:s}", "commit", commit, "rollback_to", good), "commit %.12s: %s",
				commit, rbnote);
		}
		free(rwhy);
		free(list);
	}
outcome:
	if (!errs.n) /* no error with a place: the others */
		for (size_t i = 0; i < other.n; i++)
			strv_push(&errs, xstrdup(other.v[i]));
	if (cwhy) { /* the convergence failure first */
		strv_push(&errs, NULL);
		memmove(errs.v + 1, errs.v, (errs.n - 1) * sizeof *errs.v);
		errs.v[0] = xstrdup(cwhy);
	}
	if (!errs.n && (out == OUT_FAILED || out == OUT_INVALID))
		strv_push(&errs, xstrdup(out == OUT_INVALID ? "cannot load or plan the commit" : "some operations failed"));
	if (rbnote) /* the rollback's own failure, after the commit's */
		strv_push(&errs, xstrdup(rbnote));
	char *etext = errs.n ? history_errors_text(&errs) : NULL;
	if (rolled_back && etext) {
		char *t = xasprintf("%s (rolled back to commit %.12s)", etext, rolled_back);
		free(etext);
		etext = t;
	}
	double dt = now_mono() - t0;
	pthread_mutex_lock(&ag->mu);
	ag->reconciles++;
	ag->writes += docker_stats(dk)->writes - w0;
	for (size_t i = 0; i < ARRAY_SIZE(agent_buckets); i++)
		if (dt <= agent_buckets[i])
			ag->hist[i]++;
	ag->hist_sum += dt;
	pthread_mutex_unlock(&ag->mu);
	if (out == OUT_STOPPED || out == OUT_LOST) {
		/* the record stays with the lease: the next writer resumes it */
		if (out == OUT_LOST)
			set_error(ag, cwhy);
		logmsgf("info", commit_fields(commit), "commit %.12s: %s while waiting for convergence; the next agent to "
			"hold the lease resumes the wait", commit, out == OUT_LOST ? "lease lost" : "stopping");
		goto cleanup;
	}
	if (out == OUT_SUPERSEDED) {
		logmsgf("info", json_pack("{s:s, s:s}", "commit", commit, "superseded_by", newer),
			"commit %.12s superseded by %.12s: not waiting for its convergence any longer", commit, newer);
		char *d = xasprintf("superseded by %.12s before it converged", newer);
		forge_status(ag, commit, FORGE_ERROR, d);
		free(d);
	}
	if (mode == 0) {
		json_t *e = history_entry(commit, outcome_name[out], started), *ops = json_object_get(e, "ops");
		json_object_set_new(e, "operations", json_integer((json_int_t)p.n));
		for (size_t i = 0; i < p.n && i < 10; i++) {
			char *t = op_text(&p.ops[i]);
			json_array_append_new(ops, json_string(t));
			free(t);
		}
		history_errors(e, &errs);
		if (out == OUT_SUPERSEDED)
			json_object_set_new(e, "superseded_by", json_string(newer));
		if (rolled_back)
			json_object_set_new(e, "rolled_back_to", json_string(rolled_back));
		json_t *hooks = hooks_record(rres.stacks);
		if (json_array_size(hooks))
			json_object_set(e, "hooks", hooks);
		json_decref(hooks);
		pthread_mutex_lock(&ag->mu);
		if (out == OUT_SUPERSEDED) { /* resumed if the newer one is invalid */
			json_decref(superseded_rec);
			superseded_rec = json_incref(ag->converging);
		}
		json_decref(ag->converging);
		ag->converging = NULL;
		/* a restart that finds the commit as it left it: said once */
		json_t *last = json_array_get(ag->history, 0);
		int again = out == OUT_APPLIED && !p.n && !resumed &&
			    !strcmp(json_string_value(json_object_get(last, "commit")) ?: "", commit) &&
			    !strcmp(json_string_value(json_object_get(last, "outcome")) ?: "", "applied");
		pthread_mutex_unlock(&ag->mu);
		if (again)
			json_decref(e);
		else
			history_add(ag, e);
		lease_record(ag, dk);
	}
	if (out == OUT_SUPERSEDED)
		goto cleanup; /* the newer commit says how it goes */
	if (loaded) {
		stack_states(ag, dk, &r, commit, ar == 0 && cv == CONV_OK, cwhy, &errs);
		/* each hook's run and output, the rollback: per stack too */
		pthread_mutex_lock(&ag->mu);
		const char *sk;
		json_t *sv;
		json_object_foreach(rres.stacks, sk, sv) {
			json_t *st = json_object_get(ag->stack_state, sk);
			if (st && json_array_size(json_object_get(sv, "hooks")))
				json_object_set(st, "hooks", json_object_get(sv, "hooks"));
		}
		for (size_t i = 0; rolled_back && i < changed.n; i++) {
			json_t *st = json_object_get(ag->stack_state, changed.v[i]);
			if (st)
				json_object_set_new(st, "rolled_back_to", json_string(rolled_back));
		}
		pthread_mutex_unlock(&ag->mu);
	}
	int recovered = 0, announce = 0;
	char *msg = NULL;
	if (out == OUT_APPLIED) {
		if (drift_only && !p.n) {
			set_error(ag, NULL); /* a quiet drift check: nothing to say */
		} else {
			logmsgf("info",
				json_pack("{s:s, s:I, s:I, s:f}", "commit", commit, "operations", (json_int_t)p.n, "writes",
					  (json_int_t)applied_writes, "seconds", now_wall() - started),
				"commit %.12s applied: %zu operation%s, %lu write request%s", commit, p.n,
				p.n == 1 ? "" : "s", applied_writes, applied_writes == 1 ? "" : "s");
			set_error(ag, NULL);
		}
		pthread_mutex_lock(&ag->mu);
		snprintf(ag->commit_applied, sizeof ag->commit_applied, "%s", commit);
		ag->commit_failed[0] = 0;
		ag->last_success = now_wall();
		ag->ready = 1;
		recovered = ag->notified_failure;
		ag->notified_failure = 0;
		pthread_mutex_unlock(&ag->mu);
	} else {
		const char *verb = out == OUT_INVALID ? "is invalid" : out == OUT_ROLLED_BACK ? "was rolled back" : "failed";
		if (rolled_back)
			verb = "failed";
		json_t *errj = json_array();
		for (size_t i = 0; i < errs.n && i < HISTORY_ERRORS; i++)
			json_array_append_new(errj, json_string(errs.v[i]));
		logmsgf("error",
			json_pack("{s:s, s:s, s:o, s:I}", "commit", commit, "outcome", outcome_name[out], "errors", errj,
				  "error_count", (json_int_t)errs.n),
			"commit %.12s %s: %s", commit, verb, etext);
		set_error(ag, etext);
		pthread_mutex_lock(&ag->mu);
		ag->errors++;
		announce = strcmp(ag->commit_failed, commit) != 0; /* once per failing commit */
		snprintf(ag->commit_failed, sizeof ag->commit_failed, "%s", commit);
		msg = xasprintf("shoal: commit %.12s on %s %s: %s", commit, ag->branch, verb, etext);
		if (announce)
			ag->notified_failure = 1;
		pthread_mutex_unlock(&ag->mu);
	}
	if (mode == 0) {
		char *d = out == OUT_APPLIED ? xasprintf("deployed: %zu operation%s, converged", p.n, p.n == 1 ? "" : "s")
					     : xasprintf("%s: %s", outcome_name[out], etext ? etext : "see the agent's log");
		forge_status(ag, commit, out == OUT_APPLIED ? FORGE_SUCCESS : FORGE_FAILURE, d);
		free(d);
	}
	if (announce) {
		notify(ag, msg);
		notify_signed(ag, commit, outcome_name[out], &changed, &errs, rolled_back);
	}
	if (recovered) {
		char *text = xasprintf("shoal: recovered, commit %.12s on %s applied", commit, ag->branch);
		notify(ag, text);
		free(text);
		notify_signed(ag, commit, "recovered", &changed, NULL, NULL);
	}
	free(msg);
cleanup:
	free(etext);
	free(cwhy);
	free(rolled_back);
	free(rbnote);
	rollout_result_free(&rres);
	strv_free(&changed);
	if (loaded)
		repo_free(&r);
	plan_free(&p);
	targets_free(&tg);
	strv_free(&errs);
	strv_free(&other);
	return out;
}

/* ---------------- one cycle ---------------- */

/* Did the swarm roll commit's update back?  Applied again, it would roll
 * out and back at every drift check: it waits for a new commit. */
static int rolled_back(struct agent *ag, const char *commit)
{
	pthread_mutex_lock(&ag->mu);
	const char *o = json_string_value(json_object_get(history_find(ag, commit), "outcome"));
	int rb = o && !strcmp(o, "rolled back");
	pthread_mutex_unlock(&ag->mu);
	return rb;
}

/*
 * Before a commit is reconciled by the lease's holder: a convergence
 * record of another commit (left by an agent stopped or killed while it
 * waited) is superseded by this one; a commit the history (the lease's,
 * after a restart or a takeover) says failed stays failed, not re-applied
 * and not taken for applied because its plan is empty now.
 */
static void take_over(struct agent *ag, struct docker *dk, const char *commit)
{
	pthread_mutex_lock(&ag->mu);
	json_t *rec = json_incref(ag->converging);
	const char *rc = json_string_value(json_object_get(rec, "commit"));
	int stale = rc && strcmp(rc, commit);
	if (stale) {
		json_decref(ag->converging);
		ag->converging = NULL;
	}
	pthread_mutex_unlock(&ag->mu);
	if (stale) {
		json_t *e = history_entry(rc, "superseded", json_number_value(json_object_get(rec, "started")));
		json_object_set_new(e, "superseded_by", json_string(commit));
		history_add(ag, e);
		lease_record(ag, dk);
		logmsgf("info", json_pack("{s:s, s:s}", "commit", rc, "superseded_by", commit),
			"commit %.12s superseded by %.12s: not waiting for its convergence any longer", rc, commit);
		char *d = xasprintf("superseded by %.12s before it converged", commit);
		forge_status(ag, rc, FORGE_ERROR, d);
		free(d);
	}
	json_decref(rec);
	pthread_mutex_lock(&ag->mu);
	json_t *h = NULL;
	if (strcmp(ag->commit_applied, commit) && strcmp(ag->commit_failed, commit) && (!rc || stale))
		h = history_find(ag, commit);
	int restore = h && history_failed(h);
	char *text = NULL;
	if (restore) {
		struct strv errs = {0};
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(h, "errors"), i, x)
			strv_push(&errs, xstrdup(json_string_value(x) ?: ""));
		char *et = history_errors_text(&errs);
		text = xasprintf("%s before (%s): %s", json_string_value(json_object_get(h, "outcome")),
				 "recorded with the lease", et);
		free(et);
		strv_free(&errs);
		snprintf(ag->commit_failed, sizeof ag->commit_failed, "%s", commit);
		ag->notified_failure = 1; /* announced by the agent that found it */
	}
	pthread_mutex_unlock(&ag->mu);
	if (restore) {
		logmsgf("warning", commit_fields(commit), "commit %.12s %s; not re-applied until a new commit", commit, text);
		set_error(ag, text);
	}
	free(text);
}

/*
 * Has the swarm moved away from commit since it was applied?  The newest
 * outcome is another commit's that wrote (failed, rolled back, invalid
 * with other stacks applied) or may have (superseded mid-rollout): the
 * swarm holds that commit's specs, so commit, applied before and back on
 * the branch (a force-push, a reset), is not applied now.
 */
static int moved_away(struct agent *ag, const char *commit)
{
	pthread_mutex_lock(&ag->mu);
	json_t *last = json_array_get(ag->history, 0);
	const char *lc = json_string_value(json_object_get(last, "commit")),
		   *lo = json_string_value(json_object_get(last, "outcome"));
	int moved = lc && strcmp(lc, commit) &&
		    (json_integer_value(json_object_get(last, "operations")) > 0 || (lo && !strcmp(lo, "superseded")));
	pthread_mutex_unlock(&ag->mu);
	return moved;
}

/*
 * commit, which superseded prev during its convergence wait, was invalid
 * and nothing of it was written: the swarm still rolls prev out, so prev's
 * wait goes on (its record back with the lease, to the same deadline) and
 * its "superseded" entry goes from the history.  1 if so.
 */
static int resume_superseded(struct agent *ag, struct docker *dk, const char *commit, const char *prev)
{
	int ok = 0;
	pthread_mutex_lock(&ag->mu);
	json_t *last = json_array_get(ag->history, 0), *x;
	const char *rc = json_string_value(json_object_get(superseded_rec, "commit"));
	if (rc && !strcmp(rc, prev) && !strcmp(json_string_value(json_object_get(last, "commit")) ?: "", commit) &&
	    json_integer_value(json_object_get(last, "operations")) == 0) {
		size_t i;
		json_array_foreach(ag->history, i, x)
			if (!strcmp(json_string_value(json_object_get(x, "commit")) ?: "", prev) &&
			    !strcmp(json_string_value(json_object_get(x, "outcome")) ?: "", "superseded")) {
				json_array_remove(ag->history, i);
				break;
			}
		json_decref(ag->converging);
		ag->converging = json_incref(superseded_rec);
		snprintf(invalid_head, sizeof invalid_head, "%s", commit);
		ok = 1;
	}
	pthread_mutex_unlock(&ag->mu);
	if (ok) {
		logmsgf("info", json_pack("{s:s, s:s}", "commit", prev, "invalid", commit),
			"commit %.12s is invalid, nothing of it written: still waiting for the convergence of %.12s", commit,
			prev);
		lease_record(ag, dk);
	}
	return ok;
}

/* Fetch, take the lease, reconcile what is due; a newer commit that comes
 * while one converges is reconciled next, in this cycle.  -1 when the
 * commit could not be fetched, the engine not reached or the commit
 * failed (--once). */
int cycle(struct agent *ag, struct docker **dkp, int drift_due, int follow_due)
{
	char commit[41], newer[41] = "", prev[41] = "", *err = NULL;
	int resuming = 0;
	if (git_sync(ag, commit, &err) < 0) {
		logmsg("error", "%s (keeping the last applied state)", err);
		set_error(ag, err);
		free(err);
		return -1;
	}
	for (int round = 0; round < 64; round++) {
		pthread_mutex_lock(&ag->mu);
		int seen_new = !resuming && strcmp(ag->commit_seen, commit) != 0;
		if (!resuming) /* the branch's head: not the commit resumed */
			snprintf(ag->commit_seen, sizeof ag->commit_seen, "%s", commit);
		pthread_mutex_unlock(&ag->mu);
		resuming = 0;
		if (seen_new) {
			logmsgf("info", json_pack("{s:s, s:s}", "commit", commit, "branch", ag->branch),
				"commit %.12s on %s", commit, ag->branch);
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
		if (!lease_take(ag, dk))
			break; /* standby: another agent writes; take over when its hold expires */
		take_over(ag, dk, commit);
		pthread_mutex_lock(&ag->mu);
		int applied = !strcmp(ag->commit_applied, commit), failed = !strcmp(ag->commit_failed, commit);
		pthread_mutex_unlock(&ag->mu);
		if (applied && moved_away(ag, commit))
			applied = 0; /* written again, as a new commit */
		int o = -1;
		if (!applied && !failed) {
			o = reconcile(ag, dk, commit, 0, newer);
		} else if (drift_due && applied) {
			o = reconcile(ag, dk, commit, 1, newer);
		} else if (follow_due && applied && ag->ra.resolve && strcmp(ag->ra.resolve, "never")) {
			ag->fo.tick = 1;
			ag->fo.budget = ag->follow_max;
			o = reconcile(ag, dk, commit, 2, newer);
			ag->fo.tick = 0;
			strv_free(&ag->fo.moved);
		} else if (drift_due && failed && !rolled_back(ag, commit)) {
			o = reconcile(ag, dk, commit, 3, newer);
		} else if (failed && seen_new) {
			logmsgf("warning", commit_fields(commit),
				"commit %.12s failed before: not re-applied until a new commit or a drift check", commit);
		}
		if (o == OUT_INVALID && *prev && !stop_flag && resume_superseded(ag, dk, commit, prev)) {
			snprintf(commit, sizeof commit, "%s", prev);
			*prev = 0;
			resuming = 1;
			drift_due = follow_due = 0;
			continue;
		}
		*prev = 0;
		if (o < 0 || !newer[0] || stop_flag)
			break;
		snprintf(prev, sizeof prev, "%s", commit);
		snprintf(commit, sizeof commit, "%s", newer); /* at once, in this cycle */
		drift_due = follow_due = 0;
	}
	json_decref(superseded_rec);
	superseded_rec = NULL;
	invalid_head[0] = 0;
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
