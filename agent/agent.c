/*
 * agent.c - shoal agent: watch a branch of a Git repository and keep the
 * swarm converged to it.
 *
 * One loop (ntpd-style): the next poll and the next drift check are
 * monotonic deadlines; the loop sleeps in poll() until the earliest of
 * them or until the webhook handler or a signal writes to a wake pipe.  A
 * burst of webhooks coalesces into one fetch of the newest commit.  The
 * Git mirror is a bare repository in the cache directory; stacks are read
 * from the commit's tree objects (reconcile/source), never checked out.
 * HTTP (libmicrohttpd, its own thread) serves /healthz, /readyz, /status,
 * /metrics and the webhook; it only reads a status snapshot under a mutex.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <malloc.h>
#include <grp.h>
#include <pwd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <git2.h>
#include <microhttpd.h>
#include <sodium.h>

#include "../reconcile/apply.h"
#include "../reconcile/compose.h"
#include "../reconcile/convert.h"
#include "../reconcile/regauth.h"
#include "cli.h"
#include "knownhosts.h"

#define WEBHOOK_MAX_BODY (1u << 20)

struct agent {
	/* options */
	const char *url, *branch, *path, *cache, *listen;
	const char *token_file, *username, *ssh_key, *known_hosts, *ca_file, *run_as, *webhook_secret_file, *log_format, *notify_url;
	char *ssh_host; /* an SSH remote: its host and port, for the host key check */
	int ssh_port;
	long long converge_ns;
	int notified_failure; /* a failure was announced; the next success is a recovery */
	long long interval_ns, drift_ns;
	int drift_warn, once;
	struct repo_args ra;
	/* state, shared with the HTTP thread under mu */
	pthread_mutex_t mu;
	char commit_seen[41], commit_applied[41], commit_failed[41];
	char *last_error;
	int ready;
	double next_poll_wall;
	unsigned long reconciles, errors, writes, drift_corrections, webhooks, webhooks_rejected;
	double last_success;
	unsigned long hist[8]; /* reconcile duration buckets */
	double hist_sum;
	json_t *stacks; /* last plan's operations per stack */
	json_t *stack_state; /* per stack: commit_applied, error, services */
	struct follow fo;    /* image resolution; follow-tag ticks */
	long long follow_ns;
	int follow_max;
	unsigned long follow_updates;
	const char *registry_auth;
	json_t *auths;
	/* lease: one writer per repository/branch/path */
	long long lease_ttl_ns;
	char lease_name[64], holder[128], lease_holder_seen[128];
	int leader;
	double lease_until; /* wall time our hold ends, when leader */
	/* secrets read from files */
	char *token, *webhook_secret;
	int wake[2];
};

static volatile sig_atomic_t stop_flag;
static int wake_fd = -1;
static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static volatile pid_t cycle_pid;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
	if (cycle_pid > 0) /* the cycle in progress finishes its request and stops */
		kill(cycle_pid, SIGTERM);
	if (wake_fd >= 0) {
		int e = errno;
		ssize_t r = write(wake_fd, "s", 1);
		(void)r;
		errno = e;
	}
}

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *log_fmt = "human";

static void logmsg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(const char *level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char ts[32];
	strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!strcmp(log_fmt, "json")) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "time", ts, "level", level, "msg", m);
		char *s = json_dumps(j, JSON_COMPACT);
		fprintf(stderr, "%s\n", s);
		free(s);
		json_decref(j);
	} else {
		fprintf(stderr, "%s %s %s\n", ts, level, m);
	}
	free(m);
}

static char *read_secret_file(const char *path, const char *what)
{
	char *data;
	size_t len;
	if (!path)
		return NULL;
	if (read_file(path, 65536, &data, &len) < 0) {
		logmsg("error", "cannot read %s file %s: %s", what, path, strerror(errno));
		return NULL;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = 0;
	return data;
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
	if (stat(ag->cache, &st) < 0) {
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

static void set_error(struct agent *ag, const char *msg)
{
	pthread_mutex_lock(&ag->mu);
	free(ag->last_error);
	ag->last_error = msg ? xstrdup(msg) : NULL;
	pthread_mutex_unlock(&ag->mu);
}

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
			    (!desired || strcmp(desired, "remove")))
				out = xasprintf("task %s: %s", state, terr);
		}
	}
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
		*why = xasprintf("service %s did not converge within %llds", names.v[0], ag->converge_ns / 1000000000);
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
	json_t *j = json_pack("{s:s, s:s, s:s}", "text", text, "repo", ag->url, "branch", ag->branch);
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
		else if (failed_here)
			error = why ? why : "some operations failed (see the agent's log)";
		if (r->stacks[i].ds && !failed_here)
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
		logmsg("error", "commit %.12s %s", commit, why ? why : "refused");
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
		logmsg("error", "commit %.12s: cannot plan (see above)", commit);
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
			logmsg("warning", "drift: %zu object%s differ%s from commit %.12s%s", p.n, p.n == 1 ? "" : "s",
			       p.n == 1 ? "s" : "", commit, ag->drift_warn ? " (--drift=warn: not corrected)" : ", correcting");
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
			logmsg("error", "commit %.12s: %s", commit, cwhy);
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
			logmsg("info", "commit %.12s applied: %zu operation%s, %lu write request%s", commit, p.n,
			       p.n == 1 ? "" : "s", applied_writes, applied_writes == 1 ? "" : "s");
			set_error(ag, NULL);
		} else if (!err_set) {
			logmsg("error", "commit %.12s: %s", commit, invalid ? "invalid stacks were not applied" : "some operations failed");
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
	for (size_t i = 0; i < ARRAY_SIZE(buckets); i++)
		if (dt <= buckets[i])
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

/* ---------------- HTTP ---------------- */

struct req {
	struct buf body;
	int too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type, char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static char *status_json(struct agent *ag)
{
	pthread_mutex_lock(&ag->mu);
	json_t *j = json_object();
	json_object_set_new(j, "repo", json_string(ag->url));
	json_object_set_new(j, "branch", json_string(ag->branch));
	json_object_set_new(j, "commit_seen", json_string(ag->commit_seen));
	json_object_set_new(j, "commit_applied", json_string(ag->commit_applied));
	json_object_set_new(j, "commit_failed", ag->commit_failed[0] ? json_string(ag->commit_failed) : json_null());
	json_object_set_new(j, "last_error", ag->last_error ? json_string(ag->last_error) : json_null());
	json_object_set_new(j, "last_success", json_real(ag->last_success));
	json_object_set_new(j, "next_poll", json_real(ag->next_poll_wall));
	json_object_set_new(j, "last_operations", json_deep_copy(ag->stacks ? ag->stacks : json_object()));
	json_object_set_new(j, "stacks", json_deep_copy(ag->stack_state ? ag->stack_state : json_object()));
	json_object_set_new(j, "follow_updates", json_integer((json_int_t)ag->follow_updates));
	json_object_set_new(j, "role", json_string(ag->leader == 1 ? "leader" : ag->leader == 0 ? "standby" : "starting"));
	json_object_set_new(j, "lease_holder", json_string(ag->lease_holder_seen));
	json_object_set_new(j, "agent", json_string(ag->holder));
	pthread_mutex_unlock(&ag->mu);
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	return s;
}

static char *metrics_text(struct agent *ag)
{
	struct buf b;
	buf_init(&b, 0);
	pthread_mutex_lock(&ag->mu);
	buf_addf(&b, "# HELP shoal_reconcile_duration_seconds Time to plan and apply one commit.\n"
		     "# TYPE shoal_reconcile_duration_seconds histogram\n");
	for (size_t i = 0; i < ARRAY_SIZE(buckets); i++)
		buf_addf(&b, "shoal_reconcile_duration_seconds_bucket{le=\"%g\"} %lu\n", buckets[i], ag->hist[i]);
	buf_addf(&b, "shoal_reconcile_duration_seconds_bucket{le=\"+Inf\"} %lu\n", ag->reconciles);
	buf_addf(&b, "shoal_reconcile_duration_seconds_sum %.6f\nshoal_reconcile_duration_seconds_count %lu\n",
		 ag->hist_sum, ag->reconciles);
	buf_addf(&b, "# TYPE shoal_last_success_timestamp_seconds gauge\nshoal_last_success_timestamp_seconds %.3f\n",
		 ag->last_success);
	buf_addf(&b, "# TYPE shoal_writes_total counter\nshoal_writes_total %lu\n", ag->writes);
	buf_addf(&b, "# TYPE shoal_reconcile_errors_total counter\nshoal_reconcile_errors_total %lu\n", ag->errors);
	buf_addf(&b, "# TYPE shoal_drift_corrections_total counter\nshoal_drift_corrections_total %lu\n",
		 ag->drift_corrections);
	buf_addf(&b, "# TYPE shoal_follow_updates_total counter\nshoal_follow_updates_total %lu\n", ag->follow_updates);
	buf_addf(&b, "# TYPE shoal_webhooks_total counter\nshoal_webhooks_total{result=\"accepted\"} %lu\n"
		     "shoal_webhooks_total{result=\"rejected\"} %lu\n",
		 ag->webhooks, ag->webhooks_rejected);
	pthread_mutex_unlock(&ag->mu);
	return buf_detach(&b);
}

static int hex_eq(const char *hex, const unsigned char *mac, size_t n)
{
	unsigned char got[64];
	size_t gl;
	if (!hex || sodium_hex2bin(got, sizeof got, hex, strlen(hex), NULL, &gl, NULL) != 0 || gl != n)
		return 0;
	return sodium_memcmp(got, mac, n) == 0;
}

/* GitHub (X-Hub-Signature-256: sha256=HEX), Gitea / Forgejo (HEX of the
 * same HMAC), GitLab (X-Gitlab-Token: the secret).  Constant time. */
static int webhook_ok(struct agent *ag, struct MHD_Connection *c, const struct buf *body)
{
	const char *secret = ag->webhook_secret;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body->data, body->len);
	crypto_auth_hmacsha256_final(&st, mac);
	const char *gh = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256");
	if (gh && str_has_prefix(gh, "sha256="))
		return hex_eq(gh + 7, mac, sizeof mac);
	const char *gt = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitea-Signature");
	if (!gt)
		gt = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forgejo-Signature");
	if (gt)
		return hex_eq(gt, mac, sizeof mac);
	const char *gl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Token");
	if (gl) {
		size_t a = strlen(gl), b = strlen(secret);
		unsigned char ha[32], hb[32];
		crypto_generichash(ha, 32, (const unsigned char *)gl, a, NULL, 0);
		crypto_generichash(hb, 32, (const unsigned char *)secret, b, NULL, 0);
		return sodium_memcmp(ha, hb, 32) == 0;
	}
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct agent *ag = cls;
	(void)version;
	int is_hook = !strcmp(method, "POST") && !strcmp(url, "/webhook");
	if (is_hook) {
		struct req *rq = *con_cls;
		if (!rq) {
			rq = xcalloc(1, sizeof *rq);
			buf_init(&rq->body, WEBHOOK_MAX_BODY);
			*con_cls = rq;
			return MHD_YES;
		}
		if (*upload_size) {
			if (buf_add(&rq->body, upload, *upload_size) < 0)
				rq->too_big = 1;
			*upload_size = 0;
			return MHD_YES;
		}
		if (!ag->webhook_secret)
			return reply(c, 404, "text/plain", xstrdup("webhook disabled: no --webhook-secret-file\n"));
		if (rq->too_big)
			return reply(c, 413, "text/plain", xstrdup("body too large\n"));
		int ok = webhook_ok(ag, c, &rq->body);
		pthread_mutex_lock(&ag->mu);
		if (ok)
			ag->webhooks++;
		else
			ag->webhooks_rejected++;
		pthread_mutex_unlock(&ag->mu);
		if (!ok)
			return reply(c, 401, "text/plain", xstrdup("bad signature\n"));
		ssize_t w = write(ag->wake[1], "w", 1); /* coalesced by the loop */
		(void)w;
		return reply(c, 202, "text/plain", xstrdup("accepted\n"));
	}
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return reply(c, 405, "text/plain", xstrdup("method not allowed\n"));
	if (!strcmp(url, "/healthz"))
		return reply(c, 200, "text/plain", xstrdup("ok\n"));
	if (!strcmp(url, "/readyz")) {
		pthread_mutex_lock(&ag->mu);
		int r = ag->ready;
		pthread_mutex_unlock(&ag->mu);
		return reply(c, r ? 200 : 503, "text/plain", xstrdup(r ? "ready\n" : "not yet converged\n"));
	}
	if (!strcmp(url, "/status"))
		return reply(c, 200, "application/json", status_json(ag));
	if (!strcmp(url, "/metrics"))
		return reply(c, 200, "text/plain; version=0.0.4", metrics_text(ag));
	return reply(c, 404, "text/plain", xstrdup("not found\n"));
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)c;
	(void)t;
	struct req *rq = *con_cls;
	if (rq) {
		buf_free(&rq->body);
		free(rq);
	}
	*con_cls = NULL;
}

static struct MHD_Daemon *http_start(struct agent *ag)
{
	const char *colon = strrchr(ag->listen, ':');
	if (!colon)
		return NULL;
	long port = strtol(colon + 1, NULL, 10);
	char *host = xstrndup(ag->listen, (size_t)(colon - ag->listen));
	struct sockaddr_in sa = {0};
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (!*host || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	free(host);
	return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL,
				handle, ag, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED,
				request_done, NULL, MHD_OPTION_CONNECTION_LIMIT, 64U, MHD_OPTION_CONNECTION_TIMEOUT,
				10U, MHD_OPTION_END);
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
		logmsg("info", "commit %.12s on %s", commit, ag->branch);
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
		logmsg("warning", "commit %.12s failed before: not re-applied until a new commit", commit);
	}
	pthread_mutex_lock(&ag->mu);
	int ret = ag->commit_failed[0] ? -1 : 0;
	pthread_mutex_unlock(&ag->mu);
	return ret;
}

/* What a cycle changes in the agent's state, as JSON (child -> parent). */
static json_t *state_out(struct agent *ag)
{
	json_t *h = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(ag->hist); i++)
		json_array_append_new(h, json_integer((json_int_t)ag->hist[i]));
	return json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:f, s:O?, s:O?, s:i, s:f, s:s, "
			 "s:i}",
			 "seen", ag->commit_seen, "applied", ag->commit_applied, "failed", ag->commit_failed, "error",
			 ag->last_error, "ready", ag->ready, "reconciles", (json_int_t)ag->reconciles, "errors",
			 (json_int_t)ag->errors, "writes", (json_int_t)ag->writes, "drift", (json_int_t)ag->drift_corrections,
			 "follow", (json_int_t)ag->follow_updates, "last_success", ag->last_success, "hist", h, "hist_sum",
			 ag->hist_sum, "stacks", ag->stacks, "stack_state", ag->stack_state, "leader", ag->leader,
			 "lease_until", ag->lease_until, "holder_seen", ag->lease_holder_seen, "notified",
			 ag->notified_failure);
}

static void state_in(struct agent *ag, json_t *j)
{
	pthread_mutex_lock(&ag->mu);
#define CP(field, key) snprintf(field, sizeof field, "%s", json_string_value(json_object_get(j, key)) ?: "")
	CP(ag->commit_seen, "seen");
	CP(ag->commit_applied, "applied");
	CP(ag->commit_failed, "failed");
	CP(ag->lease_holder_seen, "holder_seen");
#undef CP
	free(ag->last_error);
	const char *e = json_string_value(json_object_get(j, "error"));
	ag->last_error = e ? xstrdup(e) : NULL;
	ag->ready = json_is_true(json_object_get(j, "ready"));
	ag->reconciles = (unsigned long)json_integer_value(json_object_get(j, "reconciles"));
	ag->errors = (unsigned long)json_integer_value(json_object_get(j, "errors"));
	ag->writes = (unsigned long)json_integer_value(json_object_get(j, "writes"));
	ag->drift_corrections = (unsigned long)json_integer_value(json_object_get(j, "drift"));
	ag->follow_updates = (unsigned long)json_integer_value(json_object_get(j, "follow"));
	ag->last_success = json_real_value(json_object_get(j, "last_success"));
	ag->hist_sum = json_real_value(json_object_get(j, "hist_sum"));
	for (size_t i = 0; i < ARRAY_SIZE(ag->hist); i++)
		ag->hist[i] = (unsigned long)json_integer_value(json_array_get(json_object_get(j, "hist"), i));
	json_decref(ag->stacks);
	ag->stacks = json_incref(json_object_get(j, "stacks"));
	json_decref(ag->stack_state);
	ag->stack_state = json_incref(json_object_get(j, "stack_state"));
	ag->leader = (int)json_integer_value(json_object_get(j, "leader"));
	ag->lease_until = json_real_value(json_object_get(j, "lease_until"));
	ag->notified_failure = (int)json_integer_value(json_object_get(j, "notified"));
	pthread_mutex_unlock(&ag->mu);
}

/* In a cycle's process: the pipe to the agent, -1 otherwise. */
static int publish_fd = -1;

/* Send the state as it is now (one JSON line): the agent's /status and
 * /metrics follow a cycle while it runs (an apply, then its convergence). */
static void publish(struct agent *ag)
{
	if (publish_fd < 0)
		return;
	json_t *j = state_out(ag);
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

/*
 * A cycle runs in a child process: Git, TLS, the engine's JSON and the
 * compose models live and die there, so the long-lived agent keeps only
 * its HTTP endpoint and its state (idle memory stays small, and a repo
 * that exhausts memory takes down a cycle, not the agent).  The child
 * sends its state back as JSON on a pipe.  release: only hand the lease
 * over (on stop).
 */
static void run_cycle(struct agent *ag, int drift_due, int follow_due, int release)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		logmsg("error", "pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pthread_mutex_lock(&ag->mu); /* not held by the HTTP thread across fork */
	pid_t pid = fork();
	if (pid == 0) {
		pthread_mutex_unlock(&ag->mu);
		close(fds[0]);
		publish_fd = fds[1];
		struct docker *dk = NULL;
		if (release) {
			if (cli_open_engine(&dk) == 0)
				lease_release(ag, dk);
		} else {
			cycle(ag, &dk, drift_due, follow_due);
			if (stop_flag && dk) /* stopping: hand the lease over now */
				lease_release(ag, dk);
		}
		docker_free(dk);
		publish(ag);
		fflush(NULL);
		_exit(0);
	}
	pthread_mutex_unlock(&ag->mu);
	close(fds[1]);
	if (pid < 0) {
		logmsg("error", "fork: %s", strerror(errno));
		close(fds[0]);
		return;
	}
	cycle_pid = pid;
	if (stop_flag) /* a signal that came before cycle_pid was set */
		kill(pid, SIGTERM);
	struct buf b;
	buf_init(&b, 64u << 20);
	char chunk[65536];
	int got = 0;
	for (;;) {
		ssize_t r = read(fds[0], chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf_add(&b, chunk, (size_t)r) < 0)
			break;
		/* each complete line is a state update */
		char *nl;
		while ((nl = memchr(b.data, '\n', b.len))) {
			json_t *j = json_loadb(b.data, (size_t)(nl - b.data), 0, NULL);
			if (j) {
				state_in(ag, j);
				json_decref(j);
				got = 1;
			}
			size_t rest = b.len - (size_t)(nl + 1 - b.data);
			memmove(b.data, nl + 1, rest);
			b.len = rest;
			b.data[rest] = 0;
		}
	}
	close(fds[0]);
	buf_free(&b);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cycle_pid = 0;
	if (!got || !WIFEXITED(status) || WEXITSTATUS(status)) {
		logmsg("error", "a reconcile cycle ended without a result (%s %d)",
		       WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		set_error(ag, "a reconcile cycle crashed: see the agent's log");
	}
}

/* ---------------- options ---------------- */

static int parse_dur(const char *s, long long *out)
{
	return compose_parse_duration(s, out) < 0 || *out <= 0 ? -1 : 0;
}

static const struct option agent_opts[] = {
	{"repo", required_argument, 0, 'r'},	       {"branch", required_argument, 0, 'b'},
	{"path", required_argument, 0, 'p'},	       {"interval", required_argument, 0, 'i'},
	{"listen", required_argument, 0, 'l'},	       {"cache", required_argument, 0, 'c'},
	{"key", required_argument, 0, 'k'},	       {"token-file", required_argument, 0, 't'},
	{"username", required_argument, 0, 'u'},       {"ssh-key", required_argument, 0, 's'},
	{"webhook-secret-file", required_argument, 0, 'w'}, {"require-signed", no_argument, 0, 'S'},
	{"allowed-signers", required_argument, 0, 'A'}, {"drift", required_argument, 0, 'd'},
	{"drift-interval", required_argument, 0, 'D'}, {"once", no_argument, 0, 'o'},
	{"log-format", required_argument, 0, 'L'},     {"config", required_argument, 0, 'C'},
	{"lease-ttl", required_argument, 0, 'T'},      {"notify-url", required_argument, 0, 'N'},
	{"converge-timeout", required_argument, 0, 'W'}, {"known-hosts", required_argument, 0, 'K'},
	{"ca-file", required_argument, 0, 'a'},	       {"user", required_argument, 0, 'U'},
	{"resolve-image", required_argument, 0, 'R'},  {"registry-auth", required_argument, 0, 'G'},
	{"follow-interval", required_argument, 0, 'F'}, {"follow-max", required_argument, 0, 'M'},
	{0, 0, 0, 0},
};

static int set_opt(struct agent *ag, int c, const char *v)
{
	switch (c) {
	case 'r': ag->url = v; break;
	case 'b': ag->branch = v; break;
	case 'p': ag->path = v; break;
	case 'i': return parse_dur(v, &ag->interval_ns);
	case 'l': ag->listen = v; break;
	case 'c': ag->cache = v; break;
	case 'k': opt_key_file = v; break;
	case 't': ag->token_file = v; break;
	case 'u': ag->username = v; break;
	case 's': ag->ssh_key = v; break;
	case 'K': ag->known_hosts = v; break;
	case 'a': ag->ca_file = v; break;
	case 'U': ag->run_as = v; break;
	case 'R':
		if (strcmp(v, "always") && strcmp(v, "changed") && strcmp(v, "never"))
			return -1;
		ag->ra.resolve = v;
		break;
	case 'G': ag->registry_auth = v; break;
	case 'F': return parse_dur(v, &ag->follow_ns);
	case 'M': {
		long long m;
		if (compose_parse_int(v, &m) < 0 || m < 0 || m > 1000)
			return -1;
		ag->follow_max = (int)m;
		break;
	}
	case 'w': ag->webhook_secret_file = v; break;
	case 'S': ag->ra.require_signed = 1; break;
	case 'A': ag->ra.allowed_signers = v; break;
	case 'd':
		if (strcmp(v, "revert") && strcmp(v, "warn"))
			return -1;
		ag->drift_warn = !strcmp(v, "warn");
		break;
	case 'D': return parse_dur(v, &ag->drift_ns);
	case 'o': ag->once = 1; break;
	case 'T': return parse_dur(v, &ag->lease_ttl_ns);
	case 'N': ag->notify_url = v; break;
	case 'W': return parse_dur(v, &ag->converge_ns);
	case 'L':
		if (strcmp(v, "human") && strcmp(v, "json"))
			return -1;
		ag->log_format = v;
		break;
	default: return -1;
	}
	return 0;
}

/* The config file: "name = value" lines with the long option names
 * ("require-signed = true").  Command-line options override it. */
static int load_config(struct agent *ag, const char *path, struct strv *keep)
{
	char *data;
	if (read_file(path, 1 << 20, &data, NULL) < 0) {
		fprintf(stderr, "shoal: %s: %s\n", path, strerror(errno));
		return -1;
	}
	int lineno = 0, ret = 0;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		char *k = eq ? xstrndup(line, (size_t)(eq - line)) : xstrdup(line);
		size_t kl = strlen(k);
		while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
			k[--kl] = 0;
		const char *v = eq ? eq + 1 : "";
		while (*v == ' ' || *v == '\t')
			v++;
		const struct option *o = agent_opts;
		while (o->name && strcmp(o->name, k))
			o++;
		char *val = xstrdup(v);
		size_t vl = strlen(val);
		while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\r'))
			val[--vl] = 0;
		if (!o->name || o->val == 'C' || (o->has_arg == no_argument && strcmp(val, "true")) ||
		    set_opt(ag, o->val, val) < 0) {
			fprintf(stderr, "shoal: %s:%d: bad setting %s\n", path, lineno, k);
			ret = -1;
			free(val);
		} else {
			strv_push(keep, val); /* the option points into it */
		}
		free(k);
	}
	free(data);
	return ret;
}

static int usage(void)
{
	fprintf(stderr, "usage: shoal agent --repo URL [--branch main] [--path P] [--interval 60s] [--listen ADDR]\n"
			"       [--cache DIR] [--key FILE] [--token-file F [--username U] | --ssh-key F --known-hosts F]\n"
			"       [--ca-file PEM] [--user NAME] [--resolve-image changed|always|never]\n"
			"       [--registry-auth CONFIG.JSON] [--follow-interval 5m] [--follow-max 3]\n"
			"       [--webhook-secret-file F] [--require-signed --allowed-signers F]\n"
			"       [--drift revert|warn] [--drift-interval 5m] [--once] [--log-format human|json]\n"
			"       [--lease-ttl DURATION] [--converge-timeout 5m] [--notify-url URL] [--config FILE]\n");
	return EXIT_USAGE;
}

/* ---------------- privileges ---------------- */

static int chown_tree(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (lchown(path, uid, gid) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int ret = 0;
	struct dirent *e;
	while (!ret && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *sub = xasprintf("%s/%s", path, e->d_name);
		ret = chown_tree(sub, uid, gid);
		free(sub);
	}
	closedir(d);
	return ret;
}

/*
 * --user NAME: started as root (the image does, to learn the socket's
 * group), read the secret files, then run as NAME with the Docker
 * socket's group as the only supplementary group.  A socket owned by group
 * root cannot be shared that way: the agent says so and stays root.
 */
static int drop_privileges(struct agent *ag)
{
	if (!ag->run_as || geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(ag->run_as);
	if (!pw) {
		logmsg("error", "--user %s: no such user", ag->run_as);
		return -1;
	}
	const char *host = getenv("DOCKER_HOST");
	const char *sock = !host || !*host ? "/var/run/docker.sock" : !strncmp(host, "unix://", 7) ? host + 7 : NULL;
	gid_t groups[1];
	size_t ngroups = 0;
	struct stat st;
	if (sock) {
		if (stat(sock, &st) < 0) {
			logmsg("error", "--user: cannot stat the docker socket %s: %s", sock, strerror(errno));
			return -1;
		}
		if (st.st_gid == 0 || !(st.st_mode & S_IRWXG)) {
			logmsg("warning", "the docker socket %s is not shared with a group: staying root", sock);
			return 0;
		}
		groups[ngroups++] = st.st_gid;
	}
	/* the cache (and its parent, where it is created) becomes the user's */
	char *parent = xstrdup(ag->cache), *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = 0;
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			logmsg("warning", "cannot create %s: %s", parent, strerror(errno));
		if (chown(parent, pw->pw_uid, pw->pw_gid) < 0)
			logmsg("warning", "cannot chown %s: %s", parent, strerror(errno));
	}
	free(parent);
	if (chown_tree(ag->cache, pw->pw_uid, pw->pw_gid) < 0)
		logmsg("warning", "cannot chown %s: %s", ag->cache, strerror(errno));
	if (setgroups(ngroups, groups) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		logmsg("error", "cannot become %s: %s", ag->run_as, strerror(errno));
		return -1;
	}
	if (setuid(0) == 0) { /* must be impossible now */
		logmsg("error", "privileges were not dropped");
		return -1;
	}
	logmsg("info", "running as %s (uid %d, docker socket group %d)", ag->run_as, (int)pw->pw_uid,
	       ngroups ? (int)groups[0] : -1);
	return 0;
}

/* ---------------- the loop ---------------- */

int cmd_agent(int argc, char **argv)
{
	struct agent ag;
	memset(&ag, 0, sizeof ag);
	ag.branch = "main";
	ag.interval_ns = 60LL * 1000000000;
	ag.drift_ns = 300LL * 1000000000;
	ag.cache = "/var/lib/shoal/repo.git";
	ag.log_format = "human";
	ag.lease_ttl_ns = 0;
	ag.leader = -1; /* unknown until the first try: then logged either way */
	ag.converge_ns = 300LL * 1000000000;
	ag.ra.prune = 1;
	ag.ra.resolve = "changed"; /* a poll asks the registry nothing for an unchanged tag */
	ag.ra.follow = &ag.fo;
	ag.follow_ns = 300LL * 1000000000;
	ag.follow_max = 3;
	struct strv cfg_vals = {0};
	int c, ret = EXIT_FAIL;
	/* the config file first, so the command line wins */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--config") && i + 1 < argc && load_config(&ag, argv[i + 1], &cfg_vals) < 0) {
			strv_free(&cfg_vals);
			return EXIT_USAGE;
		}
	optind = 1;
	while ((c = getopt_long(argc, argv, "", agent_opts, NULL)) != -1) {
		if (c == 'C')
			continue;
		if (set_opt(&ag, c, optarg) < 0) {
			strv_free(&cfg_vals);
			return usage();
		}
	}
	if (!ag.url || optind != argc || (ag.ra.require_signed && !ag.ra.allowed_signers)) {
		strv_free(&cfg_vals);
		return usage();
	}
	log_fmt = ag.log_format;
	ag.ra.path = ag.path;
	if (!ag.lease_ttl_ns) /* three missed polls, at least 30 s */
		ag.lease_ttl_ns = 3 * ag.interval_ns > 30000000000LL ? 3 * ag.interval_ns : 30000000000LL;
	{
		char host[64] = "", hx[65];
		gethostname(host, sizeof host - 1);
		snprintf(ag.holder, sizeof ag.holder, "%s/%d/%08x", host, (int)getpid(), randombytes_random());
		char *scope = xasprintf("%s\n%s\n%s", ag.url, ag.branch, ag.path ? ag.path : "");
		sha256_hex(scope, strlen(scope), hx);
		free(scope);
		snprintf(ag.lease_name, sizeof ag.lease_name, "shoal-lease-%.16s", hx);
	}
	pthread_mutex_init(&ag.mu, NULL);
	mallopt(M_ARENA_MAX, 2); /* the HTTP thread need not grow its own heaps */
	if (cli_load_key() < 0)
		goto out;
	if (ag.token_file && !(ag.token = read_secret_file(ag.token_file, "token")))
		goto out;
	if (ag.ca_file && access(ag.ca_file, R_OK) < 0) {
		logmsg("error", "cannot read CA file %s: %s", ag.ca_file, strerror(errno));
		goto out;
	}
	switch (knownhosts_url(ag.url, &ag.ssh_host, &ag.ssh_port)) {
	case -1: logmsg("error", "cannot read the host and port of %s", ag.url); goto out;
	case 1:
		if (!ag.known_hosts) {
			logmsg("error", "%s is an SSH remote: --known-hosts FILE is required (ssh-keyscan %s prints its keys)",
			       ag.url, ag.ssh_host);
			ret = EXIT_USAGE;
			goto out;
		}
		break;
	}
	if (ag.webhook_secret_file && !(ag.webhook_secret = read_secret_file(ag.webhook_secret_file, "webhook secret")))
		goto out;
	if (ag.registry_auth) { /* read now: it may be readable by root only */
		char *aerr = NULL;
		if (!(ag.auths = regauth_load(ag.registry_auth, &aerr))) {
			logmsg("error", "%s", aerr);
			free(aerr);
			goto out;
		}
	}
	if (drop_privileges(&ag) < 0)
		goto out;
	/* read at each fetch (by libssh2), so as the user we run as */
	if (ag.ssh_host) {
		const char *bad = access(ag.known_hosts, R_OK) < 0 ? ag.known_hosts
				  : ag.ssh_key && access(ag.ssh_key, R_OK) < 0 ? ag.ssh_key : NULL;
		if (bad) {
			logmsg("error", "cannot read %s: %s", bad, strerror(errno));
			goto out;
		}
	}
	if (pipe2(ag.wake, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	wake_fd = ag.wake[1];
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct MHD_Daemon *http = NULL;
	if (ag.listen && !ag.once && !(http = http_start(&ag))) {
		logmsg("error", "cannot listen on %s", ag.listen);
		goto out;
	}
	struct docker *dk = NULL;
	logmsg("info", "watching %s branch %s%s%s every %llds", ag.url, ag.branch, ag.path ? " path " : "",
	       ag.path ? ag.path : "", ag.interval_ns / 1000000000);
	double next_poll = now_mono(), next_drift = now_mono() + (double)ag.drift_ns / 1e9;
	double next_follow = now_mono() + (double)ag.follow_ns / 1e9;
	ret = EXIT_OK;
	while (!stop_flag) {
		double now = now_mono();
		int woke = 0;
		if (now < next_poll && now < next_drift && now < next_follow) {
			double until = next_poll < next_drift ? next_poll : next_drift;
			if (next_follow < until)
				until = next_follow;
			struct pollfd pfd = {ag.wake[0], POLLIN, 0};
			int ms = (int)((until - now) * 1000) + 1;
			if (poll(&pfd, 1, ms) > 0) {
				char drain[256];
				while (read(ag.wake[0], drain, sizeof drain) > 0)
					;
				woke = 1;
			}
			if (stop_flag)
				break;
			now = now_mono();
			if (!woke && now < next_poll && now < next_drift && now < next_follow)
				continue;
		}
		int drift_due = now >= next_drift, follow_due = now >= next_follow;
		if (drift_due) /* before anything can fail: a due deadline must move */
			next_drift = now + (double)ag.drift_ns / 1e9;
		if (follow_due)
			next_follow = now + (double)ag.follow_ns / 1e9;
		/* jitter: 90-110% of the interval */
		double jitter = 0.9 + 0.2 * (double)randombytes_uniform(1001) / 1000.0;
		next_poll = now + (double)ag.interval_ns / 1e9 * jitter;
		pthread_mutex_lock(&ag.mu);
		ag.next_poll_wall = now_wall() + (next_poll - now);
		pthread_mutex_unlock(&ag.mu);
		if (ag.once) {
			if (cycle(&ag, &dk, drift_due, follow_due) < 0) {
				ret = EXIT_FAIL;
				break;
			}
		} else {
			run_cycle(&ag, drift_due, follow_due, 0);
		}
		if (ag.once) {
			pthread_mutex_lock(&ag.mu);
			ret = ag.commit_failed[0] ? EXIT_FAIL : EXIT_OK;
			pthread_mutex_unlock(&ag.mu);
			break;
		}
	}
	if (stop_flag)
		logmsg("info", "stopping on signal");
	if (dk)
		lease_release(&ag, dk);
	else if (!ag.once && ag.leader == 1)
		run_cycle(&ag, 0, 0, 1); /* hand the lease over */
	if (http)
		MHD_stop_daemon(http);
	docker_free(dk);
out:
	if (ag.token)
		sodium_memzero(ag.token, strlen(ag.token));
	if (ag.webhook_secret)
		sodium_memzero(ag.webhook_secret, strlen(ag.webhook_secret));
	free(ag.token);
	free(ag.ssh_host);
	free(ag.webhook_secret);
	free(ag.last_error);
	json_decref(ag.stacks);
	json_decref(ag.stack_state);
	json_decref(ag.auths);
	strv_free(&ag.fo.moved);
	if (ag.wake[0] > 0) {
		close(ag.wake[0]);
		close(ag.wake[1]);
	}
	wake_fd = -1;
	strv_free(&cfg_vals);
	pthread_mutex_destroy(&ag.mu);
	return ret;
}

/* ---------------- shoal health ---------------- */

static size_t collect_body(char *p, size_t size, size_t n, void *ud)
{
	return buf_add(ud, p, size * n) < 0 ? 0 : size * n;
}

/* GET url into b (a 2xx only). */
static CURLcode http_get(const char *url, struct buf *b, long timeout)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return rc;
}

/* shoal health [URL]: exit 0 when the agent's /healthz answers 200 (the
 * image's HEALTHCHECK; no curl needed in the image). */
int cmd_health(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: shoal health [http://HOST:PORT]\n");
		return EXIT_USAGE;
	}
	char *url = xasprintf("%s/healthz", argc == 2 ? argv[1] : "http://127.0.0.1:9300");
	struct buf b;
	buf_init(&b, 4096);
	CURLcode rc = http_get(url, &b, 5L);
	if (rc != CURLE_OK)
		fprintf(stderr, "shoal: %s: %s\n", url, curl_easy_strerror(rc));
	free(url);
	buf_free(&b);
	return rc == CURLE_OK ? EXIT_OK : EXIT_FAIL;
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

/* shoal status [--agent URL]: the agent's /status for a person. */
int cmd_status(int argc, char **argv)
{
	const char *base = "http://127.0.0.1:9300";
	if (argc == 3 && !strcmp(argv[1], "--agent"))
		base = argv[2];
	else if (argc != 1) {
		fprintf(stderr, "usage: shoal status [--agent http://HOST:PORT]\n");
		return EXIT_USAGE;
	}
	char *url = xasprintf("%s/status", base);
	struct buf b;
	buf_init(&b, 1 << 20);
	CURLcode rc = http_get(url, &b, 10L);
	json_t *j = rc == CURLE_OK ? json_loads(b.data, 0, NULL) : NULL;
	if (!j) {
		fprintf(stderr, "shoal: cannot read %s: %s\n", url, rc == CURLE_OK ? "not JSON" : curl_easy_strerror(rc));
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
