#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../reconcile/apply.h"
#include "../../reconcile/docker.h"
#include "../../reconcile/tasks.h"
#include "../../reconcile/uhttp.h"

/* feed the whole answer in pieces of `step` bytes */
static int parse(const char *in, size_t step, int head, struct buf *body, long *status, char *version)
{
	struct uhttp_parser p;
	uhttp_parser_init(&p, body, head);
	size_t len = strlen(in), off = 0;
	int rc = UHTTP_MORE;
	while (off < len && rc == UHTTP_MORE) {
		size_t n = len - off < step ? len - off : step, used;
		rc = uhttp_parser_feed(&p, in + off, n, &used);
		off += used;
	}
	if (rc == UHTTP_MORE)
		rc = uhttp_parser_eof(&p);
	*status = p.status;
	if (version)
		strcpy(version, p.api_version);
	return rc;
}

static void test_parser_forms(void **state)
{
	(void)state;
	static const size_t steps[] = {1, 2, 7, 4096};
	for (size_t s = 0; s < sizeof steps / sizeof *steps; s++) {
		struct buf b;
		long st;
		char v[16];
		buf_init(&b, 0);
		assert_int_equal(parse("HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 5\r\n\r\nhello", steps[s], 0,
				       &b, &st, v),
				 UHTTP_DONE);
		assert_int_equal(st, 200);
		assert_string_equal(v, "1.41");
		assert_string_equal(b.data, "hello");
		buf_reset(&b);
		assert_int_equal(parse("HTTP/1.1 201 Created\r\ntransfer-encoding: Chunked\r\n\r\n"
				       "4\r\n{\"a\"\r\n9;ext=1\r\n:[1,2,3]}\r\n0\r\nX-Trailer: y\r\n\r\n",
				       steps[s], 0, &b, &st, v),
				 UHTTP_DONE);
		assert_int_equal(st, 201);
		assert_string_equal(b.data, "{\"a\":[1,2,3]}");
		buf_reset(&b);
		/* no length: the body runs to the close */
		assert_int_equal(parse("HTTP/1.0 500 Oops\nContent-Type: text/plain\n\nbroken", steps[s], 0, &b, &st, v), UHTTP_DONE);
		assert_int_equal(st, 500);
		assert_string_equal(b.data, "broken");
		buf_reset(&b);
		/* 100 Continue, then the answer; 204 and HEAD have no body */
		assert_int_equal(parse("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", steps[s], 0, &b, &st, v),
				 UHTTP_DONE);
		assert_int_equal(st, 204);
		assert_int_equal(b.len, 0);
		assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", steps[s], 1, &b, &st, v), UHTTP_DONE);
		assert_int_equal(b.len, 0);
		buf_free(&b);
	}
}

static void test_parser_stops_at_end(void **state)
{
	(void)state;
	/* a second answer after the first is not consumed */
	const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
	struct uhttp_parser p;
	struct buf b;
	size_t used;
	buf_init(&b, 0);
	uhttp_parser_init(&p, &b, 0);
	assert_int_equal(uhttp_parser_feed(&p, two, strlen(two), &used), UHTTP_DONE);
	assert_int_equal(used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
	assert_string_equal(b.data, "ok");
	buf_free(&b);
}

static void test_parser_malformed(void **state)
{
	(void)state;
	static const char *bad[] = {
		"SMTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"HTTP/1.1 099 Low\r\n\r\n",
		"HTTP/2 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\n folded\r\n\r\n",
		"HTTP/1.1 200 OK\r\nnocolon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n",
		/* cut short: the peer closed before the end */
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
		"HTTP/1.1 200 OK\r\n",
		"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct buf b;
		long st;
		buf_init(&b, 0);
		int rc = parse(bad[i], 3, 0, &b, &st, NULL);
		if (rc != UHTTP_ELOST)
			fail_msg("accepted: %s", bad[i]);
		buf_free(&b);
	}
	/* a header line longer than the parser holds */
	char *huge = malloc(20000);
	strcpy(huge, "HTTP/1.1 200 OK\r\nX: ");
	memset(huge + strlen(huge), 'a', 19000);
	strcpy(huge + 19020, "\r\n\r\n");
	struct buf b;
	long st;
	buf_init(&b, 0);
	assert_int_equal(parse(huge, 4096, 0, &b, &st, NULL), UHTTP_ELOST);
	buf_free(&b);
	free(huge);
}

static void test_parser_cap(void **state)
{
	(void)state;
	struct buf b;
	long st;
	buf_init(&b, 4);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 2, 0, &b, &st, NULL), UHTTP_ETOOBIG);
	buf_reset(&b);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\n\r\nhello", 2, 0, &b, &st, NULL), UHTTP_ETOOBIG);
	buf_free(&b);
}

/* ---- against a socket: a server thread that answers from a script ---- */

struct server {
	char path[108];
	int lfd;
	const char *const *answers; /* one per accepted connection, NULL ends */
	int connections;
	char request[4096];
};

static void *serve(void *arg)
{
	struct server *s = arg;
	for (const char *const *a = s->answers; *a; a++) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0)
			break;
		s->connections++;
		/* answers separated by \f, each sent after one request */
		const char *p = *a;
		while (*p) {
			ssize_t r = read(fd, s->request, sizeof s->request - 1);
			if (r <= 0)
				break;
			s->request[r] = 0;
			const char *e = strchr(p, '\f');
			size_t n = e ? (size_t)(e - p) : strlen(p);
			if (write(fd, p, n) != (ssize_t)n)
				break;
			p += n + (e != NULL);
			if (!strncmp(p, "<close>", 7))
				break;
		}
		close(fd);
	}
	return NULL;
}

static void start(struct server *s, pthread_t *t, const char *const *answers)
{
	memset(s, 0, sizeof *s);
	snprintf(s->path, sizeof s->path, "/tmp/shoal-test-uhttp-%d.sock", (int)getpid());
	unlink(s->path);
	s->answers = answers;
	s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, s->path);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->lfd, 4), 0);
	pthread_create(t, NULL, serve, s);
}

static void stop(struct server *s, pthread_t t)
{
	shutdown(s->lfd, SHUT_RDWR);
	close(s->lfd);
	pthread_join(t, NULL);
	unlink(s->path);
}

static void test_keepalive_and_close(void **state)
{
	(void)state;
	static const char *const answers[] = {
		/* two answers on one connection, then the server closes it */
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\f"
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\f<close>",
		/* the third request needs a new connection */
		"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
		NULL,
	};
	struct server s;
	pthread_t t;
	start(&s, &t, answers);
	struct uhttp *u = uhttp_new(s.path);
	struct buf b;
	buf_init(&b, 1024);
	long st;
	char *err = NULL;
	const char *hdr[] = {"Content-Type: application/json", NULL};
	assert_int_equal(uhttp_request(u, "POST", "/v1.41/secrets/create", hdr, "{\"x\":1}", 5, &st, &b, NULL, &err),
			 UHTTP_OK);
	assert_int_equal(st, 200);
	assert_string_equal(b.data, "ok");
	assert_non_null(strstr(s.request, "POST /v1.41/secrets/create HTTP/1.1\r\n"));
	assert_non_null(strstr(s.request, "Content-Length: 7\r\n"));
	assert_non_null(strstr(s.request, "\r\n\r\n{\"x\":1}"));
	buf_reset(&b);
	assert_int_equal(uhttp_request(u, "GET", "/b", NULL, NULL, 5, &st, &b, NULL, &err), UHTTP_OK);
	assert_string_equal(b.data, "abc");
	buf_reset(&b);
	usleep(50000); /* the server has closed its end by now */
	assert_int_equal(uhttp_request(u, "GET", "/c", NULL, NULL, 5, &st, &b, NULL, &err), UHTTP_OK);
	assert_int_equal(st, 404);
	assert_int_equal(s.connections, 2);
	uhttp_free(u);
	buf_free(&b);
	stop(&s, t);
}

static void test_errors(void **state)
{
	(void)state;
	/* nobody listening */
	struct uhttp *u = uhttp_new("/nonexistent/shoal.sock");
	struct buf b;
	buf_init(&b, 16);
	long st;
	char *err = NULL;
	assert_int_equal(uhttp_request(u, "GET", "/", NULL, NULL, 5, &st, &b, NULL, &err), UHTTP_ECONNECT);
	assert_non_null(err);
	free(err);
	uhttp_free(u);

	static const char *const answers[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc\f<close>", /* cut short */
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789abcdefghij", /* over the cap */
		"\f<close>", /* nothing at all */
		NULL,
	};
	struct server s;
	pthread_t t;
	start(&s, &t, answers);
	u = uhttp_new(s.path);
	assert_int_equal(uhttp_request(u, "POST", "/a", NULL, "{}", 5, &st, &b, NULL, &err), UHTTP_ELOST);
	free(err);
	buf_reset(&b);
	assert_int_equal(uhttp_request(u, "GET", "/b", NULL, NULL, 5, &st, &b, NULL, &err), UHTTP_ETOOBIG);
	free(err);
	buf_reset(&b);
	assert_int_equal(uhttp_request(u, "GET", "/c", NULL, NULL, 5, &st, &b, NULL, &err), UHTTP_ELOST);
	assert_string_equal(err, "empty reply");
	free(err);
	uhttp_free(u);
	buf_free(&b);
	stop(&s, t);
}

static void test_timeout(void **state)
{
	(void)state;
	/* a server that accepts and never answers */
	struct server s;
	memset(&s, 0, sizeof s);
	snprintf(s.path, sizeof s.path, "/tmp/shoal-test-uhttp-t%d.sock", (int)getpid());
	unlink(s.path);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, s.path);
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(lfd, 4), 0);
	struct uhttp *u = uhttp_new(s.path);
	struct buf b;
	buf_init(&b, 16);
	long st;
	char *err = NULL;
	assert_int_equal(uhttp_request(u, "GET", "/", NULL, NULL, 1, &st, &b, NULL, &err), UHTTP_ETIMEOUT);
	free(err);
	uhttp_free(u);
	buf_free(&b);
	close(lfd);
	unlink(s.path);
}

/* A remove whose first answer was lost took effect: the retry hears "not
 * found" with a 500 (as the engine says of a network it just removed);
 * the object is gone, so the remove is done, not failed. */
static void test_remove_gone(void **state)
{
	(void)state;
	static const char *const answers[] = {
		"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK\f"
		"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n"
		"{\"message\":\"network n1 not found\"}\f"
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 34\r\n\r\n"
		"{\"message\":\"network n1 not found\"}",
		NULL,
	};
	struct server s;
	pthread_t t;
	start(&s, &t, answers);
	char host[128];
	snprintf(host, sizeof host, "unix://%s", s.path);
	struct docker *dk = NULL;
	char *err = NULL;
	assert_int_equal(docker_open(&dk, host, NULL, &err), DOCKER_OK);
	char stack[] = "s", name[] = "s_inner", id[] = "n1";
	struct op o = {.op = OP_REMOVE, .kind = K_NETWORK, .stack = stack, .name = name, .id = id};
	struct plan p = {.ops = &o, .n = 1};
	struct apply_result res;
	assert_int_equal(apply_plan(dk, &p, NULL, &res), 0);
	assert_int_equal(res.done, 1);
	assert_int_equal(res.failed, 0);
	assert_non_null(strstr(s.request, "GET /v1.41/networks/n1 "));
	docker_free(dk);
	stop(&s, t);
}

/* An engine that answered as a manager and then says "not a swarm
 * manager" is starting again: not reachable yet (retried), also on a
 * clone made for an apply's worker; from an engine never seen as a
 * manager the same words are final. */
static void test_docker_restart_words(void **state)
{
	(void)state;
#define PING "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK"
#define NOTMGR                                                                                                         \
	"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 48\r\n\r\n"             \
	"{\"message\":\"This node is not a swarm manager.\"}\n"
	static const char *const answers[] = {
		PING "\f" "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]",
		NOTMGR,
		PING "\f" NOTMGR,
		NULL,
	};
	struct server s;
	pthread_t t;
	start(&s, &t, answers);
	char host[128];
	snprintf(host, sizeof host, "unix://%s", s.path);
	struct docker *dk = NULL, *fresh = NULL;
	char *err = NULL;
	json_t *r = NULL;
	assert_int_equal(docker_open(&dk, host, NULL, &err), DOCKER_OK);
	assert_int_equal(docker_call(dk, "GET", "/services", NULL, &r, &err), DOCKER_OK);
	json_decref(r);
	struct docker *c = docker_clone(dk);
	assert_int_equal(docker_call(c, "POST", "/services/create", NULL, NULL, &err), DOCKER_EUNAVAIL);
	assert_non_null(strstr(err, "not a swarm manager"));
	free(err), err = NULL;
	docker_absorb(dk, c);
	assert_int_equal(docker_open(&fresh, host, NULL, &err), DOCKER_OK);
	assert_int_equal(docker_call(fresh, "POST", "/services/create", NULL, NULL, &err), DOCKER_ERR);
	free(err);
	docker_free(fresh);
	docker_free(dk);
	stop(&s, t);
#undef PING
#undef NOTMGR
}

/* What a service's tasks say reaches messages cut as the engine's words
 * are: a template's error (which can quote what it made of a secret) is
 * withheld, whichever wait asks (tasks.c serves the agent's and the
 * rollout's; the rollout's own copy did not cut it). */
static void test_tasks_withheld(void **state)
{
	(void)state;
	static const char *const answers[] = {
		"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\n\r\nOK\f"
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 165\r\n\r\n"
		"[{\"Status\":{\"State\":\"failed\",\"Timestamp\":\"2026-12-01T10:00:00Z\",\"Err\":\"starting container failed: failed to expand templated config c1: template: x:1: s3cr3t-ish\"}}]",
		NULL,
	};
	struct server s;
	pthread_t t;
	start(&s, &t, answers);
	char host[128];
	snprintf(host, sizeof host, "unix://%s", s.path);
	struct docker *dk = NULL;
	char *err = NULL;
	assert_int_equal(docker_open(&dk, host, NULL, &err), DOCKER_OK);
	char *e = tasks_last_error(dk, "app_web");
	assert_non_null(e);
	assert_null(strstr(e, "s3cr3t"));
	assert_non_null(strstr(e, "failed to expand templated config c1: the template's error is withheld"));
	free(e);
	docker_free(dk);
	stop(&s, t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parser_forms),	   cmocka_unit_test(test_parser_stops_at_end),
		cmocka_unit_test(test_parser_malformed),   cmocka_unit_test(test_parser_cap),
		cmocka_unit_test(test_keepalive_and_close), cmocka_unit_test(test_errors),
		cmocka_unit_test(test_timeout),	   cmocka_unit_test(test_remove_gone),
		cmocka_unit_test(test_docker_restart_words), cmocka_unit_test(test_tasks_withheld),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
