/*
 * forge.c - requests to the forges' REST APIs, built from their
 * documentation (see forge.h), and the two verbs made of them.  The
 * sending is a transport's (forge/http.c).
 */
#include "forge.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

int forge_kind_parse(const char *s, enum forge_kind *k)
{
	if (!s)
		return -1;
	if (!strcmp(s, "github"))
		*k = FORGE_GITHUB;
	else if (!strcmp(s, "gitea") || !strcmp(s, "forgejo"))
		*k = FORGE_GITEA;
	else if (!strcmp(s, "gitlab"))
		*k = FORGE_GITLAB;
	else
		return -1;
	return 0;
}

const char *forge_kind_name(enum forge_kind k)
{
	return k == FORGE_GITHUB ? "github" : k == FORGE_GITEA ? "gitea" : "gitlab";
}

const char *forge_state_name(enum forge_kind k, enum forge_state st)
{
	switch (st) {
	case FORGE_PENDING: return "pending";
	case FORGE_SUCCESS: return "success";
	case FORGE_FAILURE: return k == FORGE_GITLAB ? "failed" : "failure";
	case FORGE_ERROR: return k == FORGE_GITLAB ? "failed" : "error";
	}
	return "error";
}

size_t forge_comment_max(enum forge_kind k)
{
	return k == FORGE_GITHUB ? 65536 : k == FORGE_GITLAB ? 1000000 : 1 << 20;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned int cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

/* s as valid UTF-8 (a byte that starts no valid character becomes U+FFFD):
 * JSON text must be, and a repository's bytes need not be.  ctl: control
 * characters become spaces too. */
static char *utf8_clean(const char *s, int ctl)
{
	struct buf b;
	buf_init(&b, 0);
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq((const unsigned char *)s + i, n - i);
		if (!l) {
			buf_adds(&b, "\xef\xbf\xbd");
			i++;
		} else if (ctl && l == 1 && (iscntrl((unsigned char)s[i]))) {
			buf_addc(&b, ' ');
			i++;
		} else {
			buf_add(&b, s + i, l);
			i += l;
		}
	}
	return buf_detach(&b);
}

char *forge_description(const char *s)
{
	char *c = utf8_clean(s ? s : "", 1);
	size_t chars = 0, cut = 0;
	for (size_t i = 0; c[i]; i++) {
		if (((unsigned char)c[i] & 0xc0) == 0x80)
			continue;
		if (chars == FORGE_DESCRIPTION_MAX - 1)
			cut = i;
		chars++;
	}
	if (chars > FORGE_DESCRIPTION_MAX) {
		c[cut] = 0;
		char *t = xasprintf("%s\xe2\x80\xa6", c);
		free(c);
		return t;
	}
	return c;
}

/* ---------------- request building ---------------- */

static int valid_sha(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}

/* OWNER/NAME (GitHub, Gitea) or a GitLab project's ID or path, as a path
 * part of the URL (a GitLab path URL-encoded: group%2Fname); NULL when it
 * cannot be one. */
static char *repo_part(const struct forge *f, char **err)
{
	const char *r = f->repo ? f->repo : "";
	int slashes = 0, ok = *r && r[0] != '/' && r[strlen(r) - 1] != '/' && !strstr(r, "//");
	for (const char *p = r; *p && ok; p++) {
		if (*p == '/')
			slashes++;
		else if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
			ok = 0;
	}
	/* no "." or ".." component: a path must not climb out of the API */
	char *copy = xstrdup(r), *save = NULL;
	for (char *c = strtok_r(copy, "/", &save); c && ok; c = strtok_r(NULL, "/", &save))
		ok = strcmp(c, ".") && strcmp(c, "..");
	free(copy);
	if (f->kind == FORGE_GITLAB) {
		if (ok && slashes == 0 && strspn(r, "0123456789") != strlen(r))
			ok = 0; /* a project is its numeric ID or a NAMESPACE/NAME path */
	} else if (slashes != 1) {
		ok = 0;
	}
	if (!ok) {
		*err = xasprintf("%s repository \"%s\": expected %s", forge_kind_name(f->kind), r,
				 f->kind == FORGE_GITLAB ? "a project ID or NAMESPACE/NAME" : "OWNER/NAME");
		return NULL;
	}
	if (f->kind != FORGE_GITLAB)
		return xstrdup(r);
	struct buf b;
	buf_init(&b, 0);
	for (const char *p = r; *p; p++)
		if (*p == '/')
			buf_adds(&b, "%2F");
		else
			buf_addc(&b, *p);
	return buf_detach(&b);
}

/* The API base without a trailing '/'; NULL when it is not http(s) or
 * carries credentials (a token belongs in a header). */
static char *api_base(const struct forge *f, char **err)
{
	const char *a = f->api ? f->api : "";
	const char *rest = str_has_prefix(a, "https://") ? a + 8 : str_has_prefix(a, "http://") ? a + 7 : NULL;
	size_t host = rest ? strcspn(rest, "/?#") : 0;
	if (!rest || !host || memchr(rest, '@', host) || strpbrk(a, "?# \t\r\n")) {
		*err = xasprintf("forge API URL \"%s\": expected http(s)://HOST[/PATH] without credentials, query or fragment", a);
		return NULL;
	}
	size_t n = strlen(a);
	while (n && a[n - 1] == '/')
		n--;
	return xstrndup(a, n);
}

/* Method and URL; headers for f (auth, content type).  -1 on bad input. */
static int req_start(const struct forge *f, const char *method, struct forge_req *rq, char **err, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int req_start(const struct forge *f, const char *method, struct forge_req *rq, char **err, const char *fmt, ...)
{
	memset(rq, 0, sizeof *rq);
	char *base = api_base(f, err);
	if (!base)
		return -1;
	char *repo = repo_part(f, err);
	if (!repo) {
		free(base);
		return -1;
	}
	va_list ap;
	va_start(ap, fmt);
	char *tail = xvasprintf(fmt, ap);
	va_end(ap);
	rq->method = method;
	rq->url = f->kind == FORGE_GITLAB ? xasprintf("%s/projects/%s%s", base, repo, tail)
					  : xasprintf("%s/repos/%s%s", base, repo, tail);
	free(tail);
	free(repo);
	free(base);
	const char *tok = f->token ? f->token : "";
	switch (f->kind) {
	case FORGE_GITHUB:
		strv_push(&rq->headers, xstrdup("Accept: application/vnd.github+json"));
		strv_push(&rq->headers, xstrdup("X-GitHub-Api-Version: 2022-11-28"));
		strv_push(&rq->headers, xasprintf("Authorization: Bearer %s", tok));
		break;
	case FORGE_GITEA:
		strv_push(&rq->headers, xstrdup("Accept: application/json"));
		strv_push(&rq->headers, xasprintf("Authorization: token %s", tok));
		break;
	case FORGE_GITLAB:
		strv_push(&rq->headers, xstrdup("Accept: application/json"));
		strv_push(&rq->headers, xasprintf("%s: %s", f->job_token ? "JOB-TOKEN" : "PRIVATE-TOKEN", tok));
		break;
	}
	strv_push(&rq->headers, xasprintf("User-Agent: %s", f->user_agent ? f->user_agent : "shoal"));
	return 0;
}

static void req_body(struct forge_req *rq, json_t *j)
{
	rq->body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	strv_push(&rq->headers, xstrdup("Content-Type: application/json"));
}

/* A JSON string of s made valid UTF-8 (json_string refuses otherwise). */
static json_t *jstr(const char *s)
{
	char *c = utf8_clean(s, 0);
	json_t *j = json_string(c);
	free(c);
	return j;
}

int forge_req_status(const struct forge *f, const char *sha, enum forge_state st, const char *context,
		     const char *description, const char *target_url, struct forge_req *rq, char **err)
{
	memset(rq, 0, sizeof *rq);
	if (!valid_sha(sha)) {
		*err = xasprintf("commit status: \"%s\" is not a full commit ID", sha ? sha : "");
		return -1;
	}
	if (req_start(f, "POST", rq, err, "/statuses/%s", sha) < 0)
		return -1;
	json_t *j = json_object();
	json_object_set_new(j, "state", json_string(forge_state_name(f->kind, st)));
	json_object_set_new(j, f->kind == FORGE_GITLAB ? "name" : "context", jstr(context && *context ? context : "shoal"));
	if (description && *description) {
		char *d = forge_description(description);
		json_object_set_new(j, "description", json_string(d));
		free(d);
	}
	if (target_url && *target_url)
		json_object_set_new(j, "target_url", jstr(target_url));
	req_body(rq, j);
	return 0;
}

static int valid_pr(long pr, char **err)
{
	if (pr > 0)
		return 1;
	*err = xasprintf("pull request number %ld: must be 1 or more", pr);
	return 0;
}

int forge_req_comments(const struct forge *f, long pr, long page, struct forge_req *rq, char **err)
{
	memset(rq, 0, sizeof *rq);
	if (!valid_pr(pr, err))
		return -1;
	if (page < 1)
		page = 1;
	switch (f->kind) {
	case FORGE_GITHUB:
		return req_start(f, "GET", rq, err, "/issues/%ld/comments?per_page=100&page=%ld", pr, page);
	case FORGE_GITEA:
		/* every comment of the issue in one answer: no page parameter */
		return req_start(f, "GET", rq, err, "/issues/%ld/comments", pr);
	case FORGE_GITLAB:
		return req_start(f, "GET", rq, err,
				 "/merge_requests/%ld/notes?sort=asc&order_by=created_at&per_page=100&page=%ld", pr, page);
	}
	return -1;
}

int forge_req_comment_create(const struct forge *f, long pr, const char *body, struct forge_req *rq, char **err)
{
	memset(rq, 0, sizeof *rq);
	if (!valid_pr(pr, err))
		return -1;
	int r = f->kind == FORGE_GITLAB ? req_start(f, "POST", rq, err, "/merge_requests/%ld/notes", pr)
					: req_start(f, "POST", rq, err, "/issues/%ld/comments", pr);
	if (r < 0)
		return -1;
	json_t *j = json_object();
	json_object_set_new(j, "body", jstr(body));
	req_body(rq, j);
	return 0;
}

int forge_req_comment_edit(const struct forge *f, long pr, long long id, const char *body, struct forge_req *rq,
			   char **err)
{
	memset(rq, 0, sizeof *rq);
	if (!valid_pr(pr, err))
		return -1;
	if (id < 1) {
		*err = xasprintf("comment ID %lld: must be 1 or more", id);
		return -1;
	}
	int r = f->kind == FORGE_GITLAB ? req_start(f, "PUT", rq, err, "/merge_requests/%ld/notes/%lld", pr, id)
					: req_start(f, "PATCH", rq, err, "/issues/comments/%lld", id);
	if (r < 0)
		return -1;
	json_t *j = json_object();
	json_object_set_new(j, "body", jstr(body));
	req_body(rq, j);
	return 0;
}

void forge_req_free(struct forge_req *rq)
{
	free(rq->url);
	for (size_t i = 0; i < rq->headers.n; i++)
		sodium_memzero(rq->headers.v[i], strlen(rq->headers.v[i]));
	strv_free(&rq->headers);
	free(rq->body);
	memset(rq, 0, sizeof *rq);
}

static int secret_header(const char *h)
{
	return !strncasecmp(h, "Authorization:", 14) || !strncasecmp(h, "PRIVATE-TOKEN:", 14) ||
	       !strncasecmp(h, "JOB-TOKEN:", 10);
}

void forge_req_describe(const struct forge_req *rq, struct buf *out)
{
	buf_addf(out, "%s %s\n", rq->method, rq->url);
	for (size_t i = 0; i < rq->headers.n; i++) {
		const char *h = rq->headers.v[i];
		if (!secret_header(h)) {
			buf_addf(out, "%s\n", h);
			continue;
		}
		/* the scheme stays ("Bearer", "token"), the secret does not */
		const char *v = strchr(h, ':') + 1;
		while (*v == ' ')
			v++;
		const char *sp = !strncasecmp(h, "Authorization:", 14) ? strchr(v, ' ') : NULL;
		const char *keep = sp ? sp + 1 : v;
		buf_addf(out, "%.*s(token hidden)\n", (int)(keep - h), h);
	}
	if (rq->body)
		buf_addf(out, "\n%s\n", rq->body);
}

void forge_resp_init(struct forge_resp *rs)
{
	memset(rs, 0, sizeof *rs);
	buf_init(&rs->body, 16 << 20);
}

void forge_resp_free(struct forge_resp *rs)
{
	buf_free(&rs->body);
	free(rs->link);
	free(rs->next_page);
	memset(rs, 0, sizeof *rs);
}

/* ---------------- answers ---------------- */

int forge_comment_find(const char *json, size_t len, const char *marker, long long *id, char **body)
{
	json_t *a = json_loadb(json, len, 0, NULL);
	if (!json_is_array(a)) {
		json_decref(a);
		return -1;
	}
	int found = 0;
	size_t i;
	json_t *c;
	json_array_foreach(a, i, c) {
		const char *b = json_string_value(json_object_get(c, "body"));
		json_t *jid = json_object_get(c, "id");
		if (json_is_true(json_object_get(c, "system")) || !b || !json_is_integer(jid) || !strstr(b, marker))
			continue;
		*id = json_integer_value(jid);
		if (body)
			*body = xstrdup(b);
		found = 1;
		break;
	}
	json_decref(a);
	return found;
}

int forge_has_next(const struct forge *f, const struct forge_resp *rs)
{
	switch (f->kind) {
	case FORGE_GITHUB:
		return rs->link && strstr(rs->link, "rel=\"next\"") != NULL;
	case FORGE_GITEA:
		return 0;
	case FORGE_GITLAB:
		return rs->next_page && strspn(rs->next_page, "0123456789") > 0;
	}
	return 0;
}

/* Replace every occurrence of the token in s (in place, may reallocate). */
static char *scrub(const struct forge *f, char *s)
{
	if (!s || !f->token || strlen(f->token) < 4)
		return s;
	char *p;
	while ((p = strstr(s, f->token))) {
		char *t = xasprintf("%.*s(token hidden)%s", (int)(p - s), s, p + strlen(f->token));
		free(s);
		s = t;
	}
	return s;
}

/* "METHOD URL: STATUS: the forge's message" for an unexpected answer. */
static char *answer_error(const struct forge *f, const struct forge_req *rq, const struct forge_resp *rs)
{
	json_t *j = json_loadb(rs->body.data, rs->body.len, 0, NULL);
	json_t *m = json_object_get(j, "message");
	if (!m)
		m = json_object_get(j, "error");
	char *msg = json_is_string(m) ? xstrdup(json_string_value(m)) : m ? json_dumps(m, JSON_COMPACT | JSON_ENCODE_ANY)
										: xstrndup(rs->body.data, rs->body.len);
	json_decref(j);
	char *c = forge_description(msg); /* one line, bounded */
	free(msg);
	char *e = xasprintf("%s %s: HTTP %ld%s%s", rq->method, rq->url, rs->status, *c ? ": " : "", c);
	free(c);
	if (rs->status == 401 || rs->status == 403 || rs->status == 404) {
		const char *hint = f->kind == FORGE_GITHUB ? " (the token needs statuses: write and pull-requests: write)"
				   : f->kind == FORGE_GITEA ? " (the token needs write access to the repository's issues and statuses)"
				   : f->job_token ? " (CI_JOB_TOKEN cannot post notes or commit statuses: give an access token with scope api)"
						  : " (the token needs scope api and the Developer role)";
		char *t = xasprintf("%s%s", e, hint);
		free(e);
		e = t;
	}
	return scrub(f, e);
}

static int do_send(const struct forge *f, const struct forge_req *rq, struct forge_resp *rs, char **err)
{
	forge_send_fn fn = f->send ? f->send : forge_http_send;
	if (fn(f, rq, rs, err) < 0) {
		*err = scrub(f, *err);
		return -1;
	}
	return 0;
}

int forge_status_set(const struct forge *f, const char *sha, enum forge_state st, const char *context,
		     const char *description, const char *target_url, char **err)
{
	struct forge_req rq;
	if (forge_req_status(f, sha, st, context, description, target_url, &rq, err) < 0)
		return -1;
	struct forge_resp rs;
	forge_resp_init(&rs);
	int ret = do_send(f, &rq, &rs, err);
	if (ret == 0 && rs.status != 200 && rs.status != 201) {
		/* GitLab: a status that already has this state cannot "transition" to it */
		if (f->kind == FORGE_GITLAB && rs.status == 400 && memmem(rs.body.data, rs.body.len, "Cannot transition status", 24))
			ret = 0;
		else {
			*err = answer_error(f, &rq, &rs);
			ret = -1;
		}
	}
	forge_resp_free(&rs);
	forge_req_free(&rq);
	return ret;
}

/* Find the marked comment: 1 (id, body), 0 none, -1 error. */
static int find_marked(const struct forge *f, long pr, const char *marker, long long *id, char **body, char **err)
{
	for (long page = 1; page <= 100; page++) {
		struct forge_req rq;
		if (forge_req_comments(f, pr, page, &rq, err) < 0)
			return -1;
		struct forge_resp rs;
		forge_resp_init(&rs);
		int r = do_send(f, &rq, &rs, err);
		if (r == 0 && rs.status != 200) {
			*err = answer_error(f, &rq, &rs);
			r = -1;
		}
		if (r == 0) {
			r = forge_comment_find(rs.body.data, rs.body.len, marker, id, body);
			if (r < 0)
				*err = xasprintf("GET %s: the answer is not a list of comments", rq.url);
			else if (r == 0 && forge_has_next(f, &rs))
				r = 2; /* not on this page: the next one */
		}
		forge_resp_free(&rs);
		forge_req_free(&rq);
		if (r != 2)
			return r;
	}
	return 0;
}

int forge_comment_upsert(const struct forge *f, long pr, const char *marker, const char *body, long long *id,
			 const char **action, char **err)
{
	*id = 0;
	*action = NULL;
	if (!marker || !*marker || !strstr(body, marker)) {
		*err = xstrdup("the comment does not hold its marker: it could never be found again");
		return -1;
	}
	char *old = NULL;
	int r = find_marked(f, pr, marker, id, &old, err);
	if (r < 0)
		return -1;
	if (r == 1) {
		char *clean = utf8_clean(body, 0);
		/* forges may store \r\n for \n: compare what matters */
		int same = !strcmp(old, clean);
		free(clean);
		free(old);
		if (same) {
			*action = "unchanged";
			return 0;
		}
	}
	struct forge_req rq;
	if ((r == 1 ? forge_req_comment_edit(f, pr, *id, body, &rq, err) : forge_req_comment_create(f, pr, body, &rq, err)) < 0)
		return -1;
	struct forge_resp rs;
	forge_resp_init(&rs);
	int ret = do_send(f, &rq, &rs, err);
	if (ret == 0) {
		int ok = r == 1 ? rs.status == 200 || rs.status == 204 : rs.status == 201 || rs.status == 200;
		if (!ok) {
			*err = answer_error(f, &rq, &rs);
			ret = -1;
		} else if (r == 1) {
			*action = "edited";
		} else {
			json_t *j = json_loadb(rs.body.data, rs.body.len, 0, NULL);
			*id = json_integer_value(json_object_get(j, "id"));
			json_decref(j);
			*action = "created";
		}
	}
	forge_resp_free(&rs);
	forge_req_free(&rq);
	return ret;
}
