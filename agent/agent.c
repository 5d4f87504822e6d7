/*
 * agent.c - shoal agent's entry points: `shoal agent --once` runs one
 * cycle (cycle.h) here and exits; `shoal agent` becomes shoal-agentd;
 * `shoal agent-cycle` runs one cycle for shoal-agentd (see agent.h for
 * the two processes).  Also `shoal status` and `shoal health`, its
 * clients.
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
#include "cycle.h"

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
	/* --once: the swarm made to match the commit, drift and all */
	int ret = cycle(ag, &dk, 1, 0) < 0 ? EXIT_FAIL : EXIT_OK;
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
	/* stdout goes to the agent's log with stderr (a pipe to shoal-agentd,
	 * or the file or journal it writes to): line by line, in order, as
	 * it happens, never a buffer's worth at the cycle's end */
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	struct sigaction sf = {0};
	sf.sa_handler = on_fetch_signal; /* cuts a convergence wait's sleep short */
	sf.sa_flags = SA_RESTART;	 /* and nothing else */
	sigaction(SIGUSR1, &sf, NULL);
	sigset_t stop; /* blocked by shoal-agentd until now (run_cycle) */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGUSR1);
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
	/* the forge's token and the notifications' key: never shown */
	const char *ft = json_string_value(json_object_get(sec, "forge_token")),
		   *ns = json_string_value(json_object_get(sec, "notify_secret"));
	if (ft) {
		ag.forge_token = xstrdup(ft);
		scrub_add(ft, strlen(ft), "(token)", 0);
	}
	if (ns) {
		ag.notify_secret = xstrdup(ns);
		scrub_add(ns, strlen(ns), "(secret)", 0);
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
	json_t *conv = json_object_get(j, "converging");
	if (json_is_object(conv)) {
		char dl[32];
		when(json_number_value(json_object_get(conv, "deadline")), dl, sizeof dl);
		printf("\n%-16s %.12s: %zu service%s, until %s\n", "CONVERGING",
		       json_string_value(json_object_get(conv, "commit")) ?: "?",
		       json_array_size(json_object_get(conv, "services")),
		       json_array_size(json_object_get(conv, "services")) == 1 ? "" : "s", dl);
	}
	json_t *hist = json_object_get(j, "history");
	if (json_array_size(hist))
		printf("\n%-13s %-12s %4s %8s %-21s %s\n", "COMMIT", "OUTCOME", "OPS", "SECONDS", "FINISHED", "ERRORS");
	size_t hi;
	json_t *h;
	json_array_foreach(hist, hi, h) {
		char fin[32];
		when(json_number_value(json_object_get(h, "finished")), fin, sizeof fin);
		const char *by = json_string_value(json_object_get(h, "superseded_by"));
		json_int_t nerr = json_integer_value(json_object_get(h, "error_count"));
		const char *first = json_string_value(json_array_get(json_object_get(h, "errors"), 0));
		char more[48] = "";
		if (nerr > 1)
			snprintf(more, sizeof more, " (and %lld more)", (long long)(nerr - 1));
		char *note = by ? xasprintf("superseded by %.12s", by) : first ? xasprintf("%s%s", first, more) : xstrdup("-");
		printf("%-13.12s %-12s %4lld %8.1f %-21s %s\n", json_string_value(json_object_get(h, "commit")) ?: "?",
		       json_string_value(json_object_get(h, "outcome")) ?: "?",
		       (long long)json_integer_value(json_object_get(h, "operations")),
		       json_number_value(json_object_get(h, "seconds")), fin, note);
		free(note);
		const char *rb = json_string_value(json_object_get(h, "rolled_back_to"));
		if (rb)
			printf("%-13s rolled back to %.12s\n", "", rb);
		size_t k;
		json_t *x;
		json_array_foreach(json_object_get(h, "hooks"), k, x)
			printf("%-13s %s-hook %s: %s\n", "", json_string_value(json_object_get(x, "phase")) ?: "?",
			       json_string_value(json_object_get(x, "service")) ?: "?",
			       json_string_value(json_object_get(x, "outcome")) ?: "?");
	}
	json_decref(j);
	free(url);
	buf_free(&b);
	return EXIT_OK;
}
