/*
 * uhttp.h - HTTP/1.1 over a unix socket: what the engine API needs from a
 * client and nothing more.
 *
 * A local engine is spoken to on every command; libcurl (and the 30-odd
 * libraries it loads: TLS, Kerberos, LDAP, IDN …) costs more at process
 * start than the whole unchanged-redeploy takes.  This client sends one
 * request at a time on a kept-alive connection and reads bounded answers
 * with Content-Length, chunked or close-delimited bodies.  tcp:// engines
 * (TLS) still go through libcurl.
 *
 * The response parser is separate from the socket so that it can be
 * tested and fuzzed on bytes alone.
 */
#ifndef SHOAL_UHTTP_H
#define SHOAL_UHTTP_H

#include <stddef.h>

#include "util.h"

enum {
	UHTTP_OK = 0,
	UHTTP_ECONNECT = -1, /* cannot connect: nothing was sent */
	UHTTP_ETIMEOUT = -2, /* no complete answer in time */
	UHTTP_ELOST = -3,    /* connection lost or answer malformed mid-exchange */
	UHTTP_ETOOBIG = -4,  /* body over the buffer's cap */
};

/* Response parser: feed bytes as they arrive. */
struct uhttp_parser {
	int state;
	int no_body;	 /* answer to HEAD */
	int chunked, have_length, close;
	unsigned long long remaining;
	long status;
	char api_version[16];
	unsigned headers;
	char line[8192];
	size_t line_len;
	struct buf *body;
};

void uhttp_parser_init(struct uhttp_parser *p, struct buf *body, int head_request);
/* The parser's answers besides UHTTP_ELOST and UHTTP_ETOOBIG. */
enum {
	UHTTP_MORE = 0, /* more bytes are needed */
	UHTTP_DONE = 1, /* the answer is complete */
};
/*
 * Consumes up to len bytes; *used says how many.  Returns UHTTP_DONE when
 * the answer is complete (bytes after it are not consumed), UHTTP_MORE when
 * more are needed, UHTTP_ELOST when malformed, UHTTP_ETOOBIG when the body
 * is over the cap.
 */
int uhttp_parser_feed(struct uhttp_parser *p, const char *data, size_t len, size_t *used);
/* The peer closed: UHTTP_DONE if that completes the answer (body to
 * close), else UHTTP_ELOST. */
int uhttp_parser_eof(struct uhttp_parser *p);

struct uhttp;

struct uhttp *uhttp_new(const char *socket_path);
void uhttp_free(struct uhttp *u);

/*
 * One exchange.  headers: extra "Name: value" lines (NULL-terminated list,
 * may be NULL).  body may be NULL.  timeout_s bounds the whole exchange.
 * On UHTTP_OK: *status, the body in out (up to its cap) and, when api_version
 * is not NULL, the Api-Version header (16 bytes).  Otherwise *err says why.
 */
int uhttp_request(struct uhttp *u, const char *method, const char *target, const char *const *headers,
		  const char *body, long timeout_s, long *status, struct buf *out, char *api_version, char **err);

#endif
