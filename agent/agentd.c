/*
 * agentd.c - shoal-agentd, the agent's long-lived process (see agent.h).
 *
 * One loop (ntpd-style): the next poll, drift check and follow tick are
 * monotonic deadlines; the loop sleeps in poll() until the earliest of
 * them or until the webhook handler or a signal writes to a wake pipe.  A
 * burst of webhooks coalesces into one cycle of the newest commit.  HTTP
 * (libmicrohttpd, its own thread) serves /healthz, /readyz, /status,
 * /metrics and the webhook; it reads the state under a mutex.  The work
 * of a cycle (Git, TLS, the engine, the compose models) happens in a
 * `shoal agent-cycle` process: this one links none of it, so it idles
 * small, and a repo that exhausts memory takes down a cycle, not the agent.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "../reconcile/util.h"
#include "agent.h"
#include "webhook.h"

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
	for (size_t i = 0; i < ARRAY_SIZE(agent_buckets); i++)
		buf_addf(&b, "shoal_reconcile_duration_seconds_bucket{le=\"%g\"} %lu\n", agent_buckets[i], ag->hist[i]);
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

/* The request's signature headers, checked by webhook_verify(). */
static int webhook_ok(struct agent *ag, struct MHD_Connection *c, const struct buf *body)
{
	struct webhook_headers h = {
		.hub_sha256 = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Hub-Signature-256"),
		.gitea = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitea-Signature"),
		.forgejo = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Forgejo-Signature"),
		.gitlab_token = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Gitlab-Token"),
	};
	return webhook_verify(ag->webhook_secret, &h, body->data, body->len);
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


/* ---------------- one cycle, in its own process ---------------- */

static char cycle_bin[PATH_MAX]; /* shoal, beside this program */

/* fd as the child's target (dup2 keeps O_CLOEXEC on a same-number "copy") */
static int move_fd(int fd, int target)
{
	if (fd == target)
		return fcntl(fd, F_SETFD, 0);
	return dup2(fd, target) < 0 ? -1 : 0;
}

/* The cycle's input: options, state, secrets, what is due. */
static char *cycle_input(struct agent *ag, int drift_due, int follow_due, int release)
{
	json_t *sec = json_object();
	if (ag->key) {
		char hex[2 * sizeof ag->key->sk + 1];
		sodium_bin2hex(hex, sizeof hex, ag->key->sk, sizeof ag->key->sk);
		json_object_set_new(sec, "key", json_string(hex));
		sodium_memzero(hex, sizeof hex);
	}
	if (ag->token)
		json_object_set_new(sec, "token", json_string(ag->token));
	if (ag->auths)
		json_object_set(sec, "auths", ag->auths);
	pthread_mutex_lock(&ag->mu);
	json_t *st = agent_state_out(ag);
	pthread_mutex_unlock(&ag->mu);
	json_t *msg = json_pack("{s:O, s:o, s:o, s:b, s:b, s:b}", "opts", ag->opts, "state", st, "secret", sec, "drift",
				drift_due, "follow", follow_due, "release", release);
	char *text = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	return text;
}

/* Run one cycle (release: only hand the lease over, on stop) and take in
 * the state lines it sends.  -1 when no cycle can ever run. */
static int run_cycle(struct agent *ag, int drift_due, int follow_due, int release)
{
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		logmsg("error", "pipe: %s", strerror(errno));
		return 0;
	}
	if (pipe2(out, O_CLOEXEC) < 0) {
		logmsg("error", "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		return 0;
	}
	char *input = cycle_input(ag, drift_due, follow_due, release);
	static char arg0[] = "shoal", arg1[] = "agent-cycle";
	char *const args[] = {arg0, arg1, NULL};
	fflush(NULL);
	pid_t self = getpid(), pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls until exec (the HTTP thread) */
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the agent killed: its cycle dies too */
		if (getppid() != self) /* it died before that */
			_exit(127);
		if (move_fd(in[0], 0) < 0 || move_fd(out[1], AGENT_STATE_FD) < 0)
			_exit(127);
		execv(cycle_bin, args);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (pid < 0) {
		logmsg("error", "fork: %s", strerror(errno));
		close(in[1]);
		close(out[0]);
		sodium_memzero(input, strlen(input));
		free(input);
		return 0;
	}
	cycle_pid = pid;
	if (stop_flag) /* a signal that came before cycle_pid was set */
		kill(pid, SIGTERM);
	size_t len = strlen(input), off = 0;
	while (off < len) { /* the cycle reads all of it first */
		ssize_t w = write(in[1], input + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* it died: said below */
		off += (size_t)w;
	}
	close(in[1]);
	sodium_memzero(input, len);
	free(input);
	struct buf b;
	buf_init(&b, 64u << 20);
	char chunk[65536];
	int got = 0;
	for (;;) {
		ssize_t r = read(out[0], chunk, sizeof chunk);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf_add(&b, chunk, (size_t)r) < 0)
			break;
		/* each complete line is a state update */
		char *nl;
		while ((nl = memchr(b.data, '\n', b.len))) {
			json_t *j = json_loadb(b.data, (size_t)(nl - b.data), 0, NULL);
			if (j) {
				agent_state_in(ag, j);
				json_decref(j);
				got = 1;
			}
			size_t rest = b.len - (size_t)(nl + 1 - b.data);
			memmove(b.data, nl + 1, rest);
			b.len = rest;
			b.data[rest] = 0;
		}
	}
	close(out[0]);
	buf_free(&b);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	cycle_pid = 0;
	if (WIFEXITED(status) && (WEXITSTATUS(status) == 127 || WEXITSTATUS(status) == AGENT_EXIT_FATAL)) {
		logmsg("error", "cannot run a cycle (%s agent-cycle, exit %d)", cycle_bin, WEXITSTATUS(status));
		return -1;
	}
	if (!got || !WIFEXITED(status) || WEXITSTATUS(status)) {
		logmsg("error", "a reconcile cycle ended without a result (%s %d)",
		       WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		set_error(ag, "a reconcile cycle crashed: see the agent's log");
	}
	return 0;
}

/* ---------------- the loop ---------------- */

int main(int argc, char **argv)
{
	struct agent ag;
	int ret = agent_options(&ag, argc, argv);
	if (ret) {
		agent_free(&ag);
		return ret;
	}
	ret = EXIT_FAIL;
	if (sodium_init() < 0)
		goto out;
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	char *slash = n > 0 ? (self[n] = 0, strrchr(self, '/')) : NULL;
	if (!slash || (size_t)snprintf(cycle_bin, sizeof cycle_bin, "%.*s/shoal", (int)(slash - self), self) >= sizeof cycle_bin) {
		logmsg("error", "cannot find the shoal program beside %s", n > 0 ? self : argv[0]);
		goto out;
	}
	if (ag.once) {
		logmsg("error", "--once runs in shoal itself: shoal agent --once");
		ret = EXIT_USAGE;
		goto out;
	}
	mallopt(M_ARENA_MAX, 2); /* the HTTP thread need not grow its own heaps */
	if (agent_secrets(&ag) < 0 || agent_drop_privileges(&ag) < 0)
		goto out;
	if (pipe2(ag.wake, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	wake_fd = ag.wake[1];
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *http = NULL;
	if (ag.listen && !(http = http_start(&ag))) {
		logmsg("error", "cannot listen on %s", ag.listen);
		goto out;
	}
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
		if (run_cycle(&ag, drift_due, follow_due, 0) < 0) {
			ret = EXIT_FAIL;
			break;
		}
		malloc_trim(0); /* a big /status from the cycle: give it back */
	}
	if (stop_flag)
		logmsg("info", "stopping on signal");
	if (ag.leader == 1)
		run_cycle(&ag, 0, 0, 1); /* hand the lease over */
	if (http)
		MHD_stop_daemon(http);
out:
	agent_free(&ag);
	return ret;
}
