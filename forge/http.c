/*
 * http.c - the forge client's transport: one libcurl request.  HTTP and
 * HTTPS only, no redirect followed (the token would go along), the
 * answer's body capped (forge_resp_init), Link and X-Next-Page kept.
 */
#include "forge.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

static void curl_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct forge_resp *rs = ud;
	return buf_add(&rs->body, p, size * n) < 0 ? 0 : size * n;
}

/* "Name: value\r\n" -> value, when the header is name. */
static char *header_value(const char *line, size_t len, const char *name)
{
	size_t nl = strlen(name);
	if (len <= nl || strncasecmp(line, name, nl) || line[nl] != ':')
		return NULL;
	const char *v = line + nl + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return xstrndup(v, (size_t)(end - v));
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct forge_resp *rs = ud;
	size_t len = size * n;
	char *v;
	if (len >= 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new answer (after a 100 Continue): its headers only */
		free(rs->link);
		free(rs->next_page);
		rs->link = rs->next_page = NULL;
	} else if ((v = header_value(p, len, "Link"))) {
		free(rs->link);
		rs->link = v;
	} else if ((v = header_value(p, len, "X-Next-Page"))) {
		free(rs->next_page);
		rs->next_page = v;
	}
	return len;
}

int forge_http_send(const struct forge *f, const struct forge_req *rq, struct forge_resp *rs, char **err)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, curl_once);
	CURL *c = curl_easy_init();
	if (!c) {
		*err = xstrdup("cannot start libcurl");
		return -1;
	}
	struct curl_slist *hl = NULL;
	for (size_t i = 0; i < rq->headers.n; i++)
		hl = curl_slist_append(hl, rq->headers.v[i]);
	/* no "Expect: 100-continue" wait before a larger body */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (rq->body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(rq->body));
	} else if (!strcmp(rq->method, "GET")) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	if (f->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, f->ca_file);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, f->timeout > 0 ? f->timeout : 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hl);
	if (rc != CURLE_OK) {
		*err = xasprintf("%s %s: %s", rq->method, rq->url,
				 rc == CURLE_WRITE_ERROR ? "answer larger than 16 MiB" : curl_easy_strerror(rc));
		curl_easy_cleanup(c);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_easy_cleanup(c);
	return 0;
}
