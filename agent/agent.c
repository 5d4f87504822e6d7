/*
 * agent.c - shoal agent's cycle: fetch the branch, take the lease, plan
 * and apply the commit, wait for convergence (see agent.h for the two
 * processes).  `shoal agent-cycle` runs one cycle for shoal-agentd;
 * `shoal agent --once` runs one here and exits; `shoal agent` becomes
 * shoal-agentd.  Also `shoal status` and `shoal health`, its clients.
 *
 * The Git mirror is a bare repository in the cache directory; stacks are
 * read from the commit's tree objects (reconcile/source), never checked
 * out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <git2.h>
#include <sodium.h>

#include "../reconcile/apply.h"
#include "../reconcile/compose.h"
#include "../reconcile/convert.h"
#include "../reconcile/regauth.h"
#include "../reconcile/log.h"
#include "../reconcile/scrub.h"
#include "../reconcile/sync.h"
#include "../reconcile/uhttp.h"
#include "agent.h"
#include "../cli/cli.h"
#include "knownhosts.h"

/* log fields naming a commit */
static json_t *commit_fields(const char *commit)
{
	return json_pack("{s:s}", "commit", commit);
}

/* ---------------- git ---------------- */

struct cred_state {
	struct agent *ag;
	int tries;
};

static int credentials(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	struct cred_state *cs = payload;
	struct agent *ag = cs->ag;
	(void)url;
	if (cs->tries++ > 0) { /* refused once: do not loop */
		git_error_set_str(GIT_ERROR_NET, ag->ssh_key ? "authentication failed: the server refused the SSH key"
							     : "authentication failed: the server refused the "
							       "username and token (--username, --token-file)");
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && ag->ssh_key)
		return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL, ag->ssh_key, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && ag->token)
		return git_credential_userpass_plaintext_new(out, ag->username ? ag->username : "x-access-token",
							     ag->token);
	git_error_set_str(GIT_ERROR_NET, "authentication required: the agent has no credentials for this remote "
					 "(--token-file, or --ssh-key for SSH)");
	return GIT_EUSER;
}

/* SSH: the server's host key must be in the operator's known_hosts file.
 * (libgit2 1.5 accepts any host key when nobody checks.)  HTTPS: libcurl /
 * OpenSSL already verified the chain and name; keep that verdict. */
static int certificate_check(git_cert *cert, int valid, const char *host, void *payload)
{
	struct cred_state *cs = payload;
	struct agent *ag = cs->ag;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_ECERTIFICATE;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_RAW) || !ag->known_hosts) {
		git_error_set_str(GIT_ERROR_SSH, "no known_hosts file to check the SSH host key against");
		return GIT_ECERTIFICATE;
	}
	char *why = NULL;
	if (knownhosts_check(ag->known_hosts, host, ag->ssh_port, (const unsigned char *)hk->hostkey, hk->hostkey_len,
			     &why) == 0)
		return 0;
	git_error_set_str(GIT_ERROR_SSH, why);
	free(why);
	return GIT_ECERTIFICATE;
}

/* libgit2 for one cycle (in the cycle's own process, see run_cycle). */
static int git_setup(struct agent *ag, char **err)
{
	static int done;
	if (done)
		return 0;
	git_libgit2_init();
	/* no user's or system's gitconfig: nothing outside the agent's own
	 * settings (an insteadOf, a credential helper) changes what it fetches,
	 * and a HOME it cannot read after --user is not an error */
	for (int lvl = GIT_CONFIG_LEVEL_PROGRAMDATA; lvl <= GIT_CONFIG_LEVEL_GLOBAL; lvl++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, lvl, "");
	if (ag->ca_file && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ag->ca_file, NULL) < 0) {
		*err = xasprintf("cannot use CA file %s: %s", ag->ca_file,
				 git_error_last() ? git_error_last()->message : "");
		return -1;
	}
	done = 1;
	return 0;
}

/* Fetch the branch into the bare mirror; the commit ID in out. */
static int git_sync(struct agent *ag, char out[41], char **err)
{
	if (git_setup(ag, err) < 0)
		return -1;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_reference *ref = NULL;
	int ret = -1;
	struct stat st;
	char *head = xasprintf("%s/HEAD", ag->cache);
	int fresh = stat(head, &st) < 0; /* the directory itself was made private by agent_drop_privileges */
	free(head);
	if (fresh) {
		if (git_repository_init(&repo, ag->cache, 1) < 0 || git_remote_create(&remote, repo, "origin", ag->url) < 0)
			goto git_fail;
		git_remote_free(remote);
		remote = NULL;
	} else if (git_repository_open_bare(&repo, ag->cache) < 0) {
		goto git_fail;
	}
	if (git_remote_lookup(&remote, repo, "origin") < 0)
		goto git_fail;
	char *spec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", ag->branch, ag->branch);
	git_strarray specs = {&spec, 1};
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	struct cred_state cs = {ag, 0};
	fo.callbacks.credentials = credentials;
	fo.callbacks.certificate_check = certificate_check;
	fo.callbacks.payload = &cs;
	fo.prune = GIT_FETCH_PRUNE;
	int r = git_remote_fetch(remote, &specs, &fo, "shoal fetch");
	free(spec);
	if (r < 0)
		goto git_fail;
	char *rn = xasprintf("refs/remotes/origin/%s", ag->branch);
	r = git_reference_lookup(&ref, repo, rn);
	free(rn);
	if (r < 0) {
		*err = xasprintf("branch %s not found in %s", ag->branch, ag->url);
		goto out;
	}
	git_oid_tostr(out, 41, git_reference_target(ref));
	ret = 0;
	goto out;
git_fail:;
	const git_error *e = git_error_last();
	*err = xasprintf("git %s: %s", ag->url, e && e->message ? e->message : "error");
out:
	git_reference_free(ref);
	git_remote_free(remote);
	git_repository_free(repo);
	return ret;
}

/* ---------------- reconcile ---------------- */

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
static int lease_take(struct agent *ag, struct docker *dk);

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
				scrub_engine_str(&out);
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
	char *out = best ? xstrdup(best) : NULL;
	scrub_engine_str(&out);
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
				scrub_engine_str(&m); /* the engine's words */
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

/* POST {"text": ...} (Slack-compatible) to --notify-url; best effort. */
static void notify(struct agent *ag, const char *text)
{
	if (!ag->notify_url)
		return;
	char *said = scrub_text(text);
	json_t *j = json_pack("{s:s, s:s, s:s}", "text", said, "repo", ag->url, "branch", ag->branch);
	free(said);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, ag->notify_url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		logmsg("warning", "notification to %s failed: %s", ag->notify_url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
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
static void publish(struct agent *ag);

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
	struct sync_opts so = {.dk = dk, .key = ag->key, .dir = a.dir, .rev = commit, .path = a.path,
			       .prune = a.prune, .only = a.only, .commit = sync_commit_of(commit), .resolve = a.resolve,
			       .follow = a.follow, .adopt = &a.adopt, .adopt_all = a.adopt_all, .report = &log_apply_report};
	int rc = sync_plan(&so, &p, &r, &invalid);
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
		int ar = do_apply ? sync_apply(&so, &p, &res) : 0;
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
	json_object_set_new(nl, LABEL_LEASE_EXPIRES, json_string(expires));
	char *path = xasprintf("/configs/%s/update?version=%lld", json_string_value(json_object_get(cur, "ID")),
			       (long long)json_integer_value(json_object_get(json_object_get(cur, "Version"), "Index")));
	int rc = docker_call(dk, "POST", path, ns, NULL, err);
	free(path);
	json_decref(ns);
	return rc;
}

static int lease_take(struct agent *ag, struct docker *dk)
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
	if (held != ag->leader)
		logmsg("info", held ? "lease %s taken: this agent (%s) writes" : "lease %s held by another agent: standing by",
		       ag->lease_name, ag->holder);
	ag->leader = held;
	if (held) {
		snprintf(ag->lease_holder_seen, sizeof ag->lease_holder_seen, "%s", ag->holder);
		ag->lease_until = (double)now + (double)ag->lease_ttl_ns / 1e9;
	}
	pthread_mutex_unlock(&ag->mu);
	return held;
}

/* A clean stop hands the lease back (expired now), so a successor (the
 * new task of a rolling update of the agent itself) writes at once rather
 * than after the TTL.  Only if we still hold it: the version guards it. */
static void lease_release(struct agent *ag, struct docker *dk)
{
	if (ag->leader != 1)
		return;
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

/* ---------------- one cycle ---------------- */

/* Fetch, take the lease, reconcile what is due.  -1 when the commit could
 * not be fetched, the engine not reached or the commit failed (--once). */
static int cycle(struct agent *ag, struct docker **dkp, int drift_due, int follow_due)
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
static int publish_fd = -1;

/* Send the state as it is now (one JSON line): the agent's /status and
 * /metrics follow a cycle while it runs (an apply, then its convergence). */
static void publish(struct agent *ag)
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

/* ---------------- entry points ---------------- */

/* Run one cycle here (--once): the state stays in this process. */
static int agent_once(struct agent *ag)
{
	seal_protect_process();
	umask(077);
	if (agent_secrets(ag) < 0)
		return EXIT_FAIL;
	if (agent_drop_privileges(ag, 0) < 0)
		return EXIT_FAIL;
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct docker *dk = NULL;
	int ret = cycle(ag, &dk, 0, 0) < 0 ? EXIT_FAIL : EXIT_OK;
	if (dk)
		lease_release(ag, dk);
	docker_free(dk);
	return ret;
}

/* shoal agent: --once here, else shoal-agentd (beside this program) takes
 * over this process with the same arguments. */
int cmd_agent(int argc, char **argv)
{
	struct agent ag;
	int ret = agent_options(&ag, argc, argv);
	if (!ret && ag.once)
		ret = agent_once(&ag);
	int once = ag.once;
	agent_free(&ag);
	if (ret || once)
		return ret;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash = n > 0 ? (self[n] = 0, strrchr(self, '/')) : NULL;
	if (!slash) {
		logmsg("error", "cannot find this program's directory");
		return EXIT_FAIL;
	}
	char *bin = xasprintf("%.*s/shoal-agentd", (int)(slash - self), self);
	argv[0] = bin;
	fflush(NULL);
	execv(bin, argv);
	logmsg("error", "cannot run %s: %s", bin, strerror(errno));
	free(bin);
	return EXIT_FAIL;
}

/* shoal agent-cycle: one cycle for shoal-agentd.  Its input on stdin (one
 * JSON object: opts, state, secret, drift, follow, release), its state
 * lines on fd AGENT_STATE_FD. */
/* All of fd (at most cap bytes): the agent's input, which holds the key,
 * so every buffer it outgrows is wiped before it is freed. */
static char *read_wiped(int fd, size_t cap, size_t *len)
{
	size_t alloc = 1 << 16, n = 0;
	char *p = xmalloc(alloc);
	for (;;) {
		if (n == alloc) {
			if (alloc >= cap)
				break;
			char *q = xmalloc(alloc * 2);
			memcpy(q, p, n);
			sodium_memzero(p, alloc);
			free(p);
			p = q;
			alloc *= 2;
		}
		ssize_t r = read(fd, p + n, alloc - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return p;
}

int cmd_agent_cycle(int argc, char **argv)
{
	(void)argv;
	seal_protect_process(); /* an exec made it dumpable again */
	struct stat st;
	if (argc != 1 || fstat(AGENT_STATE_FD, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		fprintf(stderr, "shoal: agent-cycle is run by shoal-agentd, not by hand\n");
		return EXIT_USAGE;
	}
	size_t inlen;
	char *in = read_wiped(0, 64u << 20, &inlen);
	json_t *msg = json_loadb(in, inlen, 0, NULL);
	sodium_memzero(in, inlen);
	free(in);
	struct agent ag;
	if (!msg || agent_options_json(&ag, json_object_get(msg, "opts"))) {
		json_decref(msg);
		return AGENT_EXIT_FATAL;
	}
	if (log_is_json()) /* stdout goes to shoal-agentd's log too: line by line, in order */
		setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigset_t stop; /* blocked by shoal-agentd until now (run_cycle) */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigprocmask(SIG_UNBLOCK, &stop, NULL);
	agent_state_in(&ag, json_object_get(msg, "state"));
	json_t *sec = json_object_get(msg, "secret");
	const char *key = json_string_value(json_object_get(sec, "key")), *token = json_string_value(json_object_get(sec, "token"));
	int ret = EXIT_OK;
	if (key) {
		size_t kl = 0;
		ag.key = sodium_malloc(sizeof *ag.key);
		if (!ag.key || sodium_hex2bin(ag.key->sk, sizeof ag.key->sk, key, strlen(key), NULL, &kl, NULL) || kl != 32)
			ret = AGENT_EXIT_FATAL;
		else
			crypto_scalarmult_base(ag.key->pk, ag.key->sk);
	}
	if (token) {
		ag.token = xstrdup(token);
		scrub_add(token, strlen(token), "(token)", 0);
	}
	ag.auths = json_incref(json_object_get(sec, "auths"));
	int drift = json_is_true(json_object_get(msg, "drift")), follow = json_is_true(json_object_get(msg, "follow"));
	int release = json_is_true(json_object_get(msg, "release"));
	json_decref(msg); /* the options stay: ag.opts holds them */
	publish_fd = AGENT_STATE_FD;
	struct docker *dk = NULL;
	if (ret) {
		/* said by the exit code */
	} else if (release) {
		if (cli_open_engine(&dk) == 0)
			lease_release(&ag, dk);
	} else {
		cycle(&ag, &dk, drift, follow);
		if (stop_flag && dk) /* stopping: hand the lease over now */
			lease_release(&ag, dk);
	}
	docker_free(dk);
	if (!ret)
		publish(&ag);
	agent_free(&ag);
	scrub_wipe();
	return ret;
}

static size_t collect_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) < 0 ? 0 : size * n;
}

/* GET url into b (a 2xx only; the status in *code when not NULL); with
 * a bearer token when token is set. */
static CURLcode http_get(const char *url, struct buf *b, long timeout, const char *token, long *code)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	if (token) {
		char *line = xasprintf("Authorization: Bearer %s", token);
		h = curl_slist_append(NULL, line);
		sodium_memzero(line, strlen(line));
		free(line);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	CURLcode rc = curl_easy_perform(c);
	if (code)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return rc;
}

/*
 * shoal health [--socket PATH | URL]: exit 0 when the agent's /healthz
 * answers 200 (the image's HEALTHCHECK; no curl in the image).  By default
 * over the agent's health socket, which no load on the public listener can
 * delay; a URL asks the listener itself.
 */
int cmd_health(int argc, char **argv)
{
	const char *sock = NULL, *url = NULL;
	if (argc == 3 && !strcmp(argv[1], "--socket"))
		sock = argv[2];
	else if (argc == 2 && strncmp(argv[1], "-", 1))
		url = argv[1];
	else if (argc != 1) {
		fprintf(stderr, "usage: shoal health [--socket PATH | http://HOST:PORT]\n");
		return EXIT_USAGE;
	}
	if (url) {
		char *u = xasprintf("%s/healthz", url);
		struct buf b;
		buf_init(&b, 4096);
		CURLcode rc = http_get(u, &b, 5L, NULL, NULL);
		if (rc != CURLE_OK)
			fprintf(stderr, "shoal: %s: %s\n", u, curl_easy_strerror(rc));
		free(u);
		buf_free(&b);
		return rc == CURLE_OK ? EXIT_OK : EXIT_FAIL;
	}
	char *path = sock ? xstrdup(sock) : agent_health_path(NULL);
	struct uhttp *h = uhttp_new(path);
	struct buf b;
	buf_init(&b, 4096);
	long status = 0;
	char *err = NULL;
	int rc = uhttp_request(h, "GET", "/healthz", NULL, NULL, 4, &status, &b, NULL, &err);
	int ok = rc == UHTTP_OK && status == 200;
	if (!ok) {
		if (rc == UHTTP_OK)
			fprintf(stderr, "shoal: %s: /healthz answered %ld\n", path, status);
		else
			fprintf(stderr, "shoal: %s: %s\n", path, err ? err : "no answer");
	}
	free(err);
	buf_free(&b);
	uhttp_free(h);
	free(path);
	return ok ? EXIT_OK : EXIT_FAIL;
}

/* ---------------- shoal status ---------------- */


static void when(double t, char *out, size_t n)
{
	if (t <= 0) {
		snprintf(out, n, "never");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* shoal status [--agent URL] [--token-file F]: the agent's /status for a
 * person (the token: an agent run with --status-token-file). */
int cmd_status(int argc, char **argv)
{
	const char *base = "http://127.0.0.1:9300", *token_file = NULL;
	int a = 1;
	for (; a + 1 < argc; a += 2) {
		if (!strcmp(argv[a], "--agent"))
			base = argv[a + 1];
		else if (!strcmp(argv[a], "--token-file"))
			token_file = argv[a + 1];
		else
			break;
	}
	if (a != argc) {
		fprintf(stderr, "usage: shoal status [--agent http://HOST:PORT] [--token-file FILE]\n");
		return EXIT_USAGE;
	}
	char *token = NULL;
	if (token_file) {
		size_t tl;
		if (read_file(token_file, 65536, &token, &tl) < 0) {
			fprintf(stderr, "shoal: %s: %s\n", token_file, strerror(errno));
			return EXIT_FAIL;
		}
		while (tl && (token[tl - 1] == '\n' || token[tl - 1] == '\r'))
			token[--tl] = 0;
	}
	char *url = xasprintf("%s/status", base);
	struct buf b;
	buf_init(&b, 1 << 20);
	long code = 0;
	CURLcode rc = http_get(url, &b, 10L, token, &code);
	if (token) {
		sodium_memzero(token, strlen(token));
		free(token);
	}
	json_t *j = rc == CURLE_OK ? json_loads(b.data, 0, NULL) : NULL;
	if (!j) {
		fprintf(stderr, "shoal: cannot read %s: %s%s\n", url,
			rc == CURLE_OK ? "not JSON" : curl_easy_strerror(rc),
			code == 401 ? " (the agent wants its status token: --token-file FILE)" : "");
		free(url);
		buf_free(&b);
		return EXIT_FAIL;
	}
	char t1[32], t2[32];
	when(json_number_value(json_object_get(j, "last_success")), t1, sizeof t1);
	when(json_number_value(json_object_get(j, "next_poll")), t2, sizeof t2);
	const char *failed = json_string_value(json_object_get(j, "commit_failed"));
	const char *err = json_string_value(json_object_get(j, "last_error"));
	printf("%-16s %s (%s)\n", "REPOSITORY", json_string_value(json_object_get(j, "repo")),
	       json_string_value(json_object_get(j, "branch")));
	printf("%-16s %.12s\n", "COMMIT SEEN", json_string_value(json_object_get(j, "commit_seen")));
	printf("%-16s %.12s\n", "COMMIT APPLIED", json_string_value(json_object_get(j, "commit_applied")));
	printf("%-16s %.12s\n", "COMMIT FAILED", failed ? failed : "-");
	printf("%-16s %s\n", "LAST SUCCESS", t1);
	printf("%-16s %s\n", "NEXT POLL", t2);
	printf("%-16s %s\n", "LAST ERROR", err ? err : "-");
	json_t *ops = json_object_get(j, "last_operations");
	size_t n;
	const char **keys = json_sorted_keys(ops, &n);
	if (n) {
		printf("\n%-16s %s\n", "STACK", "LAST OPERATIONS");
		for (size_t i = 0; i < n; i++) {
			size_t k;
			json_t *o;
			json_array_foreach(json_object_get(ops, keys[i]), k, o)
				printf("%-16s %s\n", k ? "" : keys[i], json_string_value(o));
		}
	}
	free(keys);
	json_t *stacks = json_object_get(j, "stacks");
	keys = json_sorted_keys(stacks, &n);
	if (n)
		printf("\n%-12s %-13s %-28s %-7s %-10s %s\n", "STACK", "APPLIED", "SERVICE", "TASKS", "UPDATE", "IMAGE");
	for (size_t i = 0; i < n; i++) {
		json_t *st = json_object_get(stacks, keys[i]);
		const char *ca = json_string_value(json_object_get(st, "commit_applied"));
		char cs[13];
		snprintf(cs, sizeof cs, "%.12s", ca ? ca : "-");
		json_t *svcs = json_object_get(st, "services");
		size_t m;
		const char **sk = json_sorted_keys(svcs, &m);
		if (!m)
			printf("%-12s %-13s %s\n", keys[i], cs, "-");
		for (size_t k = 0; k < m; k++) {
			json_t *sv = json_object_get(svcs, sk[k]);
			char tasks[32];
			snprintf(tasks, sizeof tasks, "%lld/%lld", (long long)json_integer_value(json_object_get(sv, "running")),
				 (long long)json_integer_value(json_object_get(sv, "desired")));
			const char *img = json_string_value(json_object_get(sv, "image"));
			printf("%-12s %-13s %-28s %-7s %-10s %s\n", k ? "" : keys[i], k ? "" : cs, sk[k], tasks,
			       json_string_value(json_object_get(sv, "update")) ?: "-", img ? img : "-");
		}
		free(sk);
		const char *e = json_string_value(json_object_get(st, "error"));
		if (e)
			printf("%-12s error: %s\n", "", e);
	}
	free(keys);
	json_decref(j);
	free(url);
	buf_free(&b);
	return EXIT_OK;
}
