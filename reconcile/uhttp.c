#include "uhttp.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { S_HEAD, S_LEN, S_CHUNK_SIZE, S_CHUNK_DATA, S_CHUNK_END, S_TRAILER, S_CLOSE, S_DONE };

#define MAX_HEADERS 200

void uhttp_parser_init(struct uhttp_parser *p, struct buf *body, int head_request)
{
	memset(p, 0, sizeof *p);
	p->state = S_HEAD;
	p->no_body = head_request;
	p->body = body;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* value of a header line "Name: value" when the name is n, trimmed */
static const char *header_value(const char *line, const char *n)
{
	size_t l = strlen(n);
	if (strncasecmp(line, n, l) || line[l] != ':')
		return NULL;
	const char *v = line + l + 1;
	while (is_space(*v))
		v++;
	return v;
}

static int parse_status(struct uhttp_parser *p, const char *line)
{
	/* HTTP/1.x NNN reason */
	if (strncmp(line, "HTTP/1.", 7) || !(line[7] == '0' || line[7] == '1') || line[8] != ' ')
		return UHTTP_ELOST;
	const char *s = line + 9;
	for (int i = 0; i < 3; i++)
		if (s[i] < '0' || s[i] > '9')
			return UHTTP_ELOST;
	if (s[3] && s[3] != ' ')
		return UHTTP_ELOST;
	p->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
	return p->status >= 100 ? 0 : UHTTP_ELOST;
}

static int parse_length(const char *v, unsigned long long *out)
{
	unsigned long long n = 0;
	const char *s = v;
	if (!*s)
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (n > (~0ULL - 9) / 10)
			return -1;
		n = n * 10 + (unsigned)(*s - '0');
	}
	while (is_space(*s))
		s++;
	if (*s)
		return -1;
	*out = n;
	return 0;
}

static int parse_header(struct uhttp_parser *p, const char *line)
{
	if (++p->headers > MAX_HEADERS)
		return UHTTP_ELOST;
	if (is_space(line[0]) || !strchr(line, ':'))
		return UHTTP_ELOST; /* folded or nameless lines: not from an engine */
	const char *v;
	if ((v = header_value(line, "Content-Length"))) {
		unsigned long long n;
		if (parse_length(v, &n) < 0 || (p->have_length && n != p->remaining))
			return UHTTP_ELOST;
		p->have_length = 1;
		p->remaining = n;
	} else if ((v = header_value(line, "Transfer-Encoding"))) {
		size_t l = strlen(v);
		while (l && is_space(v[l - 1]))
			l--;
		if (l != 7 || strncasecmp(v, "chunked", 7))
			return UHTTP_ELOST; /* no other coding is asked for */
		p->chunked = 1;
	} else if ((v = header_value(line, "Connection"))) {
		if (!strncasecmp(v, "close", 5))
			p->close = 1;
	} else if ((v = header_value(line, "Api-Version"))) {
		size_t l = strlen(v);
		while (l && is_space(v[l - 1]))
			l--;
		if (l < sizeof p->api_version) {
			memcpy(p->api_version, v, l);
			p->api_version[l] = 0;
		}
	}
	return 0;
}

/* the head is complete: where does the body end? */
static int end_of_head(struct uhttp_parser *p)
{
	if (p->status < 200) {
		/* an interim answer (100 Continue): the real one follows */
		struct buf *b = p->body;
		int head = p->no_body;
		uhttp_parser_init(p, b, head);
		return 0;
	}
	if (p->no_body || p->status == 204 || p->status == 304) {
		p->state = S_DONE;
	} else if (p->chunked) {
		p->have_length = 0;
		p->state = S_CHUNK_SIZE;
	} else if (p->have_length) {
		p->state = p->remaining ? S_LEN : S_DONE;
	} else {
		p->close = 1;
		p->state = S_CLOSE;
	}
	return 0;
}

static int parse_chunk_size(struct uhttp_parser *p, const char *line)
{
	unsigned long long n = 0;
	int digits = 0;
	const char *s = line;
	for (;; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if ((*s | 0x20) >= 'a' && (*s | 0x20) <= 'f')
			d = (*s | 0x20) - 'a' + 10;
		else
			break;
		if (n >> 60)
			return UHTTP_ELOST;
		n = n << 4 | (unsigned)d;
		digits++;
	}
	while (is_space(*s))
		s++;
	if (!digits || (*s && *s != ';'))
		return UHTTP_ELOST;
	p->remaining = n;
	p->state = n ? S_CHUNK_DATA : S_TRAILER;
	return 0;
}

/* a complete line (without CR LF) in the state that reads lines */
static int on_line(struct uhttp_parser *p, const char *line)
{
	switch (p->state) {
	case S_HEAD:
		if (!p->status)
			return parse_status(p, line);
		return *line ? parse_header(p, line) : end_of_head(p);
	case S_CHUNK_SIZE:
		return parse_chunk_size(p, line);
	case S_CHUNK_END:
		if (*line)
			return UHTTP_ELOST;
		p->state = S_CHUNK_SIZE;
		return 0;
	case S_TRAILER:
		if (!*line)
			p->state = S_DONE;
		else if (++p->headers > MAX_HEADERS)
			return UHTTP_ELOST;
		return 0;
	}
	return UHTTP_ELOST;
}

static int add_body(struct uhttp_parser *p, const char *d, size_t n)
{
	return buf_add(p->body, d, n) < 0 ? UHTTP_ETOOBIG : 0;
}

int uhttp_parser_feed(struct uhttp_parser *p, const char *data, size_t len, size_t *used)
{
	size_t i = 0;
	int rc = UHTTP_MORE;
	while (i < len && p->state != S_DONE) {
		switch (p->state) {
		case S_LEN:
		case S_CHUNK_DATA: {
			size_t n = len - i;
			if (n > p->remaining)
				n = (size_t)p->remaining;
			if ((rc = add_body(p, data + i, n)) < 0)
				goto out;
			i += n;
			p->remaining -= n;
			if (!p->remaining)
				p->state = p->state == S_LEN ? S_DONE : S_CHUNK_END;
			break;
		}
		case S_CLOSE:
			if ((rc = add_body(p, data + i, len - i)) < 0)
				goto out;
			i = len;
			break;
		default: {
			char c = data[i++];
			if (c != '\n') {
				if (p->line_len >= sizeof p->line - 1) {
					rc = UHTTP_ELOST;
					goto out;
				}
				if (!c) {
					rc = UHTTP_ELOST;
					goto out;
				}
				p->line[p->line_len++] = c;
				break;
			}
			if (p->line_len && p->line[p->line_len - 1] == '\r')
				p->line_len--;
			p->line[p->line_len] = 0;
			p->line_len = 0;
			if ((rc = on_line(p, p->line)) < 0)
				goto out;
		}
		}
	}
	rc = p->state == S_DONE ? UHTTP_DONE : UHTTP_MORE;
out:
	*used = i;
	return rc;
}

int uhttp_parser_eof(struct uhttp_parser *p)
{
	if (p->state == S_CLOSE) {
		p->state = S_DONE;
		return UHTTP_DONE;
	}
	return p->state == S_DONE ? UHTTP_DONE : UHTTP_ELOST;
}

/* ---- the connection ---- */

struct uhttp {
	char *path;
	int fd;
};

struct uhttp *uhttp_new(const char *socket_path)
{
	struct uhttp *u = xcalloc(1, sizeof *u);
	u->path = xstrdup(socket_path);
	u->fd = -1;
	return u;
}

static void disconnect(struct uhttp *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
}

void uhttp_free(struct uhttp *u)
{
	if (!u)
		return;
	disconnect(u);
	free(u->path);
	free(u);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int connect_socket(struct uhttp *u, char **err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(u->path) >= sizeof a.sun_path) {
		*err = xasprintf("socket path too long");
		return UHTTP_ECONNECT;
	}
	strcpy(a.sun_path, u->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = xasprintf("socket: %s", strerror(errno));
		return UHTTP_ECONNECT;
	}
	/* a unix connect does not wait on the network: it succeeds or fails now */
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		*err = xasprintf("%s", strerror(errno));
		close(fd);
		return UHTTP_ECONNECT;
	}
	u->fd = fd;
	return UHTTP_OK;
}

/* wait for fd to be ready for ev until the deadline: 1 ready, 0 timed out */
static int wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pf = {.fd = fd, .events = ev};
		int r = poll(&pf, 1, left > 60000 ? 60000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1; /* let the read or write report it */
	}
}

static int send_all(int fd, const char *p, size_t n, long long deadline, char **err)
{
	while (n) {
		if (!wait_fd(fd, POLLOUT, deadline)) {
			*err = xasprintf("timed out sending the request");
			return UHTTP_ETIMEOUT;
		}
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = xasprintf("sending the request: %s", strerror(errno));
			return UHTTP_ELOST;
		}
		p += w;
		n -= (size_t)w;
	}
	return UHTTP_OK;
}

/* the kept connection is usable when nothing (not even EOF) waits on it */
static int still_open(int fd)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	return poll(&pf, 1, 0) == 0;
}

/* how far an exchange that failed got */
enum { NOT_SENT, SENT, ANSWERED };

static int exchange(struct uhttp *u, const struct buf *req, int head, long long deadline, long *status,
		    struct buf *out, char *api_version, int *stage, char **err)
{
	*stage = NOT_SENT;
	int rc = send_all(u->fd, req->data, req->len, deadline, err);
	if (rc < 0)
		return rc;
	*stage = SENT;
	struct uhttp_parser p;
	uhttp_parser_init(&p, out, head);
	char in[65536];
	size_t got = 0;
	for (;;) {
		if (!wait_fd(u->fd, POLLIN, deadline)) {
			*err = xasprintf("no answer in time");
			return UHTTP_ETIMEOUT;
		}
		ssize_t r = recv(u->fd, in, sizeof in, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = xasprintf("reading the answer: %s", strerror(errno));
			return UHTTP_ELOST;
		}
		if (r == 0) {
			if (uhttp_parser_eof(&p) == UHTTP_DONE)
				break;
			*err = xasprintf(got ? "connection closed in the middle of the answer" : "empty reply");
			return UHTTP_ELOST;
		}
		got += (size_t)r;
		*stage = ANSWERED;
		size_t used;
		int f = uhttp_parser_feed(&p, in, (size_t)r, &used);
		if (f < 0) {
			if (f == UHTTP_ETOOBIG)
				*err = xasprintf("answer larger than %zu bytes", out->cap);
			else
				*err = xasprintf("malformed answer");
			return f;
		}
		if (f == UHTTP_DONE) {
			if (used < (size_t)r)
				p.close = 1; /* bytes after the answer: not to be trusted */
			break;
		}
	}
	*status = p.status;
	if (api_version)
		memcpy(api_version, p.api_version, sizeof p.api_version);
	if (p.close)
		disconnect(u);
	return UHTTP_OK;
}

int uhttp_request(struct uhttp *u, const char *method, const char *target, const char *const *headers,
		  const char *body, long timeout_s, long *status, struct buf *out, char *api_version, char **err)
{
	*err = NULL;
	*status = 0;
	long long deadline = now_ms() + (timeout_s > 0 ? timeout_s : 120) * 1000LL;
	int head = !strcmp(method, "HEAD");
	int safe = head || !strcmp(method, "GET");
	/* the request in one allocation, sized first: it can carry secret data
	 * (secret create, registry credentials), so no copy of it is left in
	 * memory given back by a reallocation or a formatting temporary */
	size_t blen = body ? strlen(body) : 0, n = strlen(method) + strlen(target) + blen + 128;
	for (size_t i = 0; headers && headers[i]; i++)
		n += strlen(headers[i]) + 2;
	struct buf req = {.data = xmalloc(n), .alloc = n};
	req.len = (size_t)snprintf(req.data, n, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: shoal\r\n", method,
				   target);
	for (size_t i = 0; headers && headers[i]; i++) {
		size_t l = strlen(headers[i]);
		memcpy(req.data + req.len, headers[i], l);
		memcpy(req.data + req.len + l, "\r\n", 2);
		req.len += l + 2;
	}
	if (body)
		req.len += (size_t)snprintf(req.data + req.len, n - req.len, "Content-Length: %zu\r\n", blen);
	else if (!safe && strcmp(method, "DELETE"))
		req.len += (size_t)snprintf(req.data + req.len, n - req.len, "Content-Length: 0\r\n");
	memcpy(req.data + req.len, "\r\n", 2);
	req.len += 2;
	if (body)
		memcpy(req.data + req.len, body, blen);
	req.len += blen;
	int rc = UHTTP_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (u->fd >= 0 && !still_open(u->fd))
			disconnect(u);
		int reused = u->fd >= 0;
		if (!reused && (rc = connect_socket(u, err)) < 0)
			break;
		size_t before = out->len;
		int stage;
		rc = exchange(u, &req, head, deadline, status, out, api_version, &stage, err);
		if (rc == UHTTP_OK)
			break;
		disconnect(u);
		/* a kept connection the engine closed just as the request went
		 * out: once more on a new one, when that cannot do anything twice
		 * (the request never got through, or it only reads) */
		if (!reused || rc != UHTTP_ELOST || !(stage == NOT_SENT || (stage == SENT && safe)))
			break;
		free(*err);
		*err = NULL;
		out->len = before;
		out->data[before] = 0;
	}
	/* requests can carry secret data (secret create, registry auth) */
	explicit_bzero(req.data, req.len);
	free(req.data);
	return rc;
}
