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
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "../reconcile/util.h"
#include "agent.h"
#include "webhook.h"

/* ---------------- HTTP ---------------- */

/*
 * The public listener is bounded so that slow clients cannot take it
 * over: HTTP_PER_IP connections per client address, HTTP_MAX_CONNECTIONS
 * in all, HTTP_IDLE_SECONDS of silence, and each request must be received
 * and answered within HTTP_REQUEST_SECONDS of the connection opening or of
 * the previous answer (libmicrohttpd's own timeout counts idle time only:
 * a header line every few seconds would hold a connection for ever).  The
 * health check does not depend on it: /healthz and /readyz are also served
 * on the health socket (agent_drop_privileges), by a daemon of their own.
 */
#define HTTP_MAX_CONNECTIONS 256U
#define HTTP_PER_IP 32U
#define HTTP_IDLE_SECONDS 5U
#define HTTP_REQUEST_SECONDS 10.0

struct req {
	struct buf body;
	int too_big;
};

/* an open connection of the public listener, for the request deadline */
struct conn {
	struct conn *prev, *next;
	int fd;
	double since; /* opened, or its last answer completed */
	int cut;
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	struct conn *head;
	int stopping;
	pthread_t watchdog;
	int watching;
	unsigned long cut; /* connections closed for being too slow */
} conns = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context,
			enum MHD_ConnectionNotificationCode toe)
{
	(void)cls;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		struct conn *k = xcalloc(1, sizeof *k);
		k->fd = ci ? ci->connect_fd : -1;
		k->since = now_mono();
		pthread_mutex_lock(&conns.mu);
		k->next = conns.head;
		if (conns.head)
			conns.head->prev = k;
		conns.head = k;
		pthread_mutex_unlock(&conns.mu);
		*socket_context = k;
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
		/* called before libmicrohttpd closes the socket: while the
		 * watchdog holds the lock, the descriptor is this connection's */
		struct conn *k = *socket_context;
		pthread_mutex_lock(&conns.mu);
		if (k->prev)
			k->prev->next = k->next;
		else
			conns.head = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&conns.mu);
		free(k);
		*socket_context = NULL;
	}
}

/* Shut down the connections past their deadline (libmicrohttpd then
 * closes them); says so at most once a minute. */
static void *conn_watchdog(void *arg)
{
	(void)arg;
	double said = 0;
	unsigned long unsaid = 0;
	pthread_mutex_lock(&conns.mu);
	while (!conns.stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&conns.wake, &conns.mu, &ts);
		double now = now_mono();
		for (struct conn *k = conns.head; k; k = k->next)
			if (!k->cut && k->fd >= 0 && now - k->since > HTTP_REQUEST_SECONDS) {
				shutdown(k->fd, SHUT_RDWR);
				k->cut = 1;
				conns.cut++;
				unsaid++;
			}
		if (unsaid && now - said >= 60) {
			unsigned long n = unsaid;
			unsaid = 0;
			said = now;
			pthread_mutex_unlock(&conns.mu);
			logmsgf("warning", json_pack("{s:s, s:I}", "source", "http", "closed", (json_int_t)n),
				"http: closed %lu connection%s that sent no whole request within %gs", n,
				n == 1 ? "" : "s", HTTP_REQUEST_SECONDS);
			pthread_mutex_lock(&conns.mu);
		}
	}
	pthread_mutex_unlock(&conns.mu);
	return NULL;
}

/* libmicrohttpd's messages, in the agent's log; at most one in 10 s (a
 * flood of refused connections says so once). */
static void http_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static double last = -1e9;
	static unsigned long dropped;
	(void)cls;
	char *m = xvasprintf(fmt, ap);
	size_t n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = 0;
	double now = now_mono();
	pthread_mutex_lock(&mu);
	int say_it = now - last >= 10;
	unsigned long d = say_it ? dropped : 0;
	if (say_it) {
		last = now;
		dropped = 0;
	} else {
		dropped++;
	}
	pthread_mutex_unlock(&mu);
	if (say_it)
		logmsgf("warning", json_pack("{s:s, s:I}", "source", "http", "suppressed", (json_int_t)d), "http: %s%s",
			m, d ? " (and earlier messages not shown)" : "");
	free(m);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int code, const char *type, char *body)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	if (code == 401)
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"shoal\"");
	enum MHD_Result ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* --status-token-file: "Authorization: Bearer TOKEN", compared hash to
 * hash (constant time, whatever the lengths). */
static int status_allowed(struct agent *ag, struct MHD_Connection *c)
{
	if (!ag->status_token)
		return 1;
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	unsigned char hh[32];
	crypto_generichash(hh, sizeof hh, (const unsigned char *)h, strlen(h), NULL, 0);
	return sodium_memcmp(hh, ag->status_token_hash, sizeof hh) == 0;
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
	json_object_set_new(j, "history", json_deep_copy(ag->history ? ag->history : json_array()));
	json_object_set_new(j, "converging", ag->converging ? json_deep_copy(ag->converging) : json_null());
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
	pthread_mutex_lock(&conns.mu);
	buf_addf(&b, "# HELP shoal_http_slow_closed_total Connections closed for not sending a whole request in time.\n"
		     "# TYPE shoal_http_slow_closed_total counter\nshoal_http_slow_closed_total %lu\n",
		 conns.cut);
	pthread_mutex_unlock(&conns.mu);
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
		pid_t cp = cycle_pid; /* one converging: it fetches now (SIGUSR1) */
		if (cp > 0)
			kill(cp, SIGUSR1);
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
	if ((!strcmp(url, "/status") || !strcmp(url, "/metrics")) && !status_allowed(ag, c))
		return reply(c, 401, "text/plain", xstrdup("unauthorized: this agent wants its status token "
							   "(Authorization: Bearer)\n"));
	if (!strcmp(url, "/status"))
		return reply(c, 200, "application/json", status_json(ag));
	if (!strcmp(url, "/metrics"))
		return reply(c, 200, "text/plain; version=0.0.4", metrics_text(ag));
	return reply(c, 404, "text/plain", xstrdup("not found\n"));
}

/* The health socket: /healthz and /readyz only. */
static enum MHD_Result handle_health(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				     const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct agent *ag = cls;
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
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
	return reply(c, 404, "text/plain", xstrdup("not found\n"));
}

static void request_done(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)cls;
	(void)t;
	/* answered: the next request on this connection has its own deadline */
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn *k = ci ? ci->socket_context : NULL;
	if (k) {
		pthread_mutex_lock(&conns.mu);
		k->since = now_mono();
		pthread_mutex_unlock(&conns.mu);
	}
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
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port, NULL, NULL, handle, ag,
		MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
		MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_NOTIFY_CONNECTION, conn_notify, NULL,
		MHD_OPTION_CONNECTION_LIMIT, HTTP_MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT, HTTP_PER_IP,
		MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_SECONDS, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)32768,
		MHD_OPTION_END);
	if (d && pthread_create(&conns.watchdog, NULL, conn_watchdog, NULL) == 0)
		conns.watching = 1;
	return d;
}

static void http_stop(struct MHD_Daemon *d)
{
	if (conns.watching) {
		pthread_mutex_lock(&conns.mu);
		conns.stopping = 1;
		pthread_cond_signal(&conns.wake);
		pthread_mutex_unlock(&conns.mu);
		pthread_join(conns.watchdog, NULL);
		conns.watching = 0;
	}
	if (d)
		MHD_stop_daemon(d);
}

/* /healthz and /readyz on the health socket, a daemon and thread of their
 * own: nothing on the public listener can delay them. */
static struct MHD_Daemon *health_start(struct agent *ag)
{
	struct MHD_Daemon *d = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle_health, ag,
		MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL, MHD_OPTION_LISTEN_SOCKET, ag->health_fd,
		MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_CONNECTION_TIMEOUT, 3U, MHD_OPTION_END);
	if (d)
		ag->health_fd = -1; /* the daemon's now: closed by MHD_stop_daemon */
	return d;
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
static json_t *cycle_input(struct agent *ag, int drift_due, int follow_due, int release)
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
	if (ag->forge_token)
		json_object_set_new(sec, "forge_token", json_string(ag->forge_token));
	if (ag->notify_secret)
		json_object_set_new(sec, "notify_secret", json_string(ag->notify_secret));
	if (ag->auths)
		json_object_set(sec, "auths", ag->auths);
	pthread_mutex_lock(&ag->mu);
	json_t *st = agent_state_out(ag);
	pthread_mutex_unlock(&ag->mu);
	return json_pack("{s:O, s:o, s:o, s:b, s:b, s:b}", "opts", ag->opts, "state", st, "secret", sec, "drift",
			 drift_due, "follow", follow_due, "release", release);
}

/* json_dump_callback into the cycle's stdin: the text, key included, goes
 * from the JSON values to the pipe with no copy of it on the heap (and
 * what jansson frees is wiped: seal_protect_process). */
static int write_all(const char *p, size_t n, void *data)
{
	int fd = *(int *)data;
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1; /* it died: said below */
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * A line the cycle printed (with --log-format json its stdout and stderr
 * come here): its own log lines are JSON already and pass as they are;
 * anything else (a library's message, a crash report) becomes one, so
 * that every line of the agent's output is a JSON object.
 */
static void cycle_line(const char *line)
{
	if (!*line)
		return;
	json_t *j = line[0] == '{' ? json_loads(line, JSON_REJECT_DUPLICATES, NULL) : NULL;
	int ours = json_is_object(j) && json_is_string(json_object_get(j, "ts")) &&
		   json_is_string(json_object_get(j, "level")) && json_is_string(json_object_get(j, "msg"));
	json_decref(j);
	if (ours) {
		fprintf(stderr, "%s\n", line);
		return;
	}
	const char *level = !strncasecmp(line, "warning", 7) || strstr(line, ": warning:") ? "warning"
			    : !strncmp(line, "shoal: ", 7) || !strncasecmp(line, "error", 5) || strstr(line, ": error:")
				? "error"
				: "info";
	logmsgf(level, json_pack("{s:s}", "source", "cycle"), "%s", !strncmp(line, "shoal: ", 7) ? line + 7 : line);
}

/* Take in what arrived on fd: state lines (state) or output lines. */
static int take_lines(struct agent *ag, int fd, struct buf *b, int state, int *got)
{
	char chunk[65536];
	ssize_t r = read(fd, chunk, sizeof chunk);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0)
		return -1;
	if (!state && b->len + (size_t)r > b->cap) { /* an endless line: as it is */
		cycle_line(b->data);
		buf_reset(b);
	}
	if (buf_add(b, chunk, (size_t)r) < 0)
		return -1;
	char *nl;
	while ((nl = memchr(b->data, '\n', b->len))) {
		*nl = 0;
		if (state) {
			json_t *j = json_loadb(b->data, (size_t)(nl - b->data), 0, NULL);
			if (j) {
				agent_state_in(ag, j);
				json_decref(j);
				*got = 1;
			}
		} else {
			cycle_line(b->data);
		}
		size_t rest = b->len - (size_t)(nl + 1 - b->data);
		memmove(b->data, nl + 1, rest);
		b->len = rest;
		b->data[rest] = 0;
	}
	return 0;
}

/* Run one cycle (release: only hand the lease over, on stop) and take in
 * the state lines it sends.  -1 when no cycle can ever run. */
static int run_cycle(struct agent *ag, int drift_due, int follow_due, int release)
{
	int in[2], out[2], logp[2] = {-1, -1};
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
	if (log_is_json() && pipe2(logp, O_CLOEXEC) < 0) {
		logmsg("error", "pipe: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return 0;
	}
	json_t *input = cycle_input(ag, drift_due, follow_due, release);
	static char arg0[] = "shoal", arg1[] = "agent-cycle";
	char *const args[] = {arg0, arg1, NULL};
	fflush(NULL);
	pid_t self = getpid(), pid = fork();
	if (pid == 0) {
		/* only async-signal-safe calls until exec (the HTTP thread); the
		 * pipes are above 2 (main), so 0-2 first, then 3 */
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* the agent killed: its cycle dies too */
		if (getppid() != self) /* it died before that */
			_exit(127);
		/* a stop signal waits (the mask survives exec) until the cycle
		 * has its handler: before that it would kill it outright, and a
		 * release cycle, started after the signal, would never hand
		 * the lease over */
		sigset_t stop;
		sigemptyset(&stop);
		sigaddset(&stop, SIGTERM);
		sigaddset(&stop, SIGINT);
		sigaddset(&stop, SIGUSR1); /* a webhook's "fetch now" would kill it */
		sigprocmask(SIG_BLOCK, &stop, NULL);
		if (move_fd(in[0], 0) < 0 || (logp[1] >= 0 && (dup2(logp[1], 1) < 0 || dup2(logp[1], 2) < 0)) ||
		    move_fd(out[1], AGENT_STATE_FD) < 0)
			_exit(127);
		execv(cycle_bin, args);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	if (logp[1] >= 0)
		close(logp[1]);
	if (pid < 0) {
		logmsg("error", "fork: %s", strerror(errno));
		close(in[1]);
		close(out[0]);
		if (logp[0] >= 0)
			close(logp[0]);
		json_decref(input);
		return 0;
	}
	cycle_pid = pid;
	if (stop_flag) /* a signal that came before cycle_pid was set */
		kill(pid, SIGTERM);
	/* the cycle reads all of it first */
	json_dump_callback(input, write_all, &in[1], JSON_COMPACT);
	close(in[1]);
	json_decref(input);
	struct buf sb, lb;
	buf_init(&sb, 64u << 20);
	buf_init(&lb, 128u << 10);
	int got = 0;
	struct pollfd pf[2] = {{out[0], POLLIN, 0}, {logp[0], POLLIN, 0}};
	while (pf[0].fd >= 0 || pf[1].fd >= 0) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < 2; i++)
			if (pf[i].fd >= 0 && pf[i].revents && take_lines(ag, pf[i].fd, i ? &lb : &sb, !i, &got) < 0) {
				close(pf[i].fd);
				pf[i].fd = -1;
			}
	}
	for (int i = 0; i < 2; i++)
		if (pf[i].fd >= 0)
			close(pf[i].fd);
	if (lb.len)
		cycle_line(lb.data);
	buf_free(&sb);
	buf_free(&lb);
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
	/* it will hold the key and tokens: no core dump, nothing it frees
	 * left readable; what it creates (the cache) private to its user */
	seal_protect_process();
	umask(077);
	/* 0-2 open, so that the cycle's pipes land above them */
	int fd;
	while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
		fcntl(fd, F_SETFD, 0);
	if (fd > 2)
		close(fd);
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
	if (agent_secrets(&ag) < 0 || agent_drop_privileges(&ag, 1) < 0)
		goto out;
	if (pipe2(ag.wake, O_CLOEXEC | O_NONBLOCK) < 0)
		goto out;
	wake_fd = ag.wake[1];
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct MHD_Daemon *http = NULL, *health = NULL;
	char *health_path = agent_health_path(ag.run_dir);
	if (!(health = health_start(&ag))) {
		logmsg("error", "cannot serve the health socket %s", health_path);
		free(health_path);
		goto out;
	}
	if (ag.listen && !(http = http_start(&ag))) {
		logmsg("error", "cannot listen on %s", ag.listen);
		MHD_stop_daemon(health);
		free(health_path);
		goto out;
	}
	logmsgf("info",
		json_pack("{s:s, s:s, s:s?, s:I, s:s?, s:s}", "repo", ag.url, "branch", ag.branch, "path", ag.path,
			  "interval_seconds", (json_int_t)(ag.interval_ns / 1000000000), "listen", ag.listen,
			  "health_socket", health_path),
		"watching %s branch %s%s%s every %llds", ag.url, ag.branch, ag.path ? " path " : "",
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
	if (ag.leader != 0) /* holding it, or perhaps (a cycle that took it and died): hand it over */
		run_cycle(&ag, 0, 0, 1);
	http_stop(http);
	MHD_stop_daemon(health);
	unlink(health_path); /* best effort: the next agent replaces a stale one */
	free(health_path);
out:
	agent_free(&ag);
	return ret;
}
