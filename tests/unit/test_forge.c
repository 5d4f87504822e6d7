/*
 * The forge client (forge/forge.c, forge/ci.c): requests as each forge's
 * API documents them, answers read, the sticky comment's search across
 * pages, the token never in a text, and the CI environments.  The libcurl
 * transport and whole runs against a recording server: t-review.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../forge/ci.h"
#include "../../forge/forge.h"

#define SHA "0123456789abcdef0123456789abcdef01234567"
#define TOKEN "tok-S3CRET-value"

static struct forge gh = {.kind = FORGE_GITHUB, .api = "https://api.github.com/", .repo = "acme/infra", .token = TOKEN};
static struct forge gt = {.kind = FORGE_GITEA, .api = "https://git.example/api/v1", .repo = "acme/infra", .token = TOKEN};
static struct forge gl = {.kind = FORGE_GITLAB, .api = "https://gitlab.example/api/v4", .repo = "42", .token = TOKEN};

static int has_header(const struct forge_req *rq, const char *h)
{
	for (size_t i = 0; i < rq->headers.n; i++)
		if (!strcmp(rq->headers.v[i], h))
			return 1;
	return 0;
}

static json_t *body_of(const struct forge_req *rq)
{
	json_t *j = json_loads(rq->body, 0, NULL);
	assert_non_null(j);
	return j;
}

static void test_status_requests(void **state)
{
	(void)state;
	struct forge_req rq;
	char *err = NULL;
	assert_int_equal(forge_req_status(&gh, SHA, FORGE_FAILURE, "shoal/review", "2 errors", "https://ci/run/1", &rq, &err), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.url, "https://api.github.com/repos/acme/infra/statuses/" SHA);
	assert_true(has_header(&rq, "Authorization: Bearer " TOKEN));
	assert_true(has_header(&rq, "Accept: application/vnd.github+json"));
	assert_true(has_header(&rq, "X-GitHub-Api-Version: 2022-11-28"));
	assert_true(has_header(&rq, "User-Agent: shoal"));
	assert_true(has_header(&rq, "Content-Type: application/json"));
	json_t *j = body_of(&rq);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failure");
	assert_string_equal(json_string_value(json_object_get(j, "context")), "shoal/review");
	assert_string_equal(json_string_value(json_object_get(j, "description")), "2 errors");
	assert_string_equal(json_string_value(json_object_get(j, "target_url")), "https://ci/run/1");
	assert_int_equal(json_object_size(j), 4);
	json_decref(j);
	forge_req_free(&rq);

	assert_int_equal(forge_req_status(&gt, SHA, FORGE_SUCCESS, "shoal/review", NULL, NULL, &rq, &err), 0);
	assert_string_equal(rq.url, "https://git.example/api/v1/repos/acme/infra/statuses/" SHA);
	assert_true(has_header(&rq, "Authorization: token " TOKEN));
	j = body_of(&rq);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "success");
	assert_null(json_object_get(j, "description")); /* empty: left out */
	json_decref(j);
	forge_req_free(&rq);

	/* GitLab: "failed", "name", PRIVATE-TOKEN (or JOB-TOKEN) */
	assert_int_equal(forge_req_status(&gl, SHA, FORGE_FAILURE, "shoal/review", "x", NULL, &rq, &err), 0);
	assert_string_equal(rq.url, "https://gitlab.example/api/v4/projects/42/statuses/" SHA);
	assert_true(has_header(&rq, "PRIVATE-TOKEN: " TOKEN));
	j = body_of(&rq);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "failed");
	assert_string_equal(json_string_value(json_object_get(j, "name")), "shoal/review");
	assert_null(json_object_get(j, "context"));
	json_decref(j);
	forge_req_free(&rq);
	struct forge path = gl;
	path.repo = "group/sub/infra";
	path.job_token = 1;
	assert_int_equal(forge_req_status(&path, SHA, FORGE_ERROR, NULL, NULL, NULL, &rq, &err), 0);
	assert_string_equal(rq.url, "https://gitlab.example/api/v4/projects/group%2Fsub%2Finfra/statuses/" SHA);
	assert_true(has_header(&rq, "JOB-TOKEN: " TOKEN));
	forge_req_free(&rq);
}

static void test_bad_arguments(void **state)
{
	(void)state;
	struct forge_req rq;
	char *err = NULL;
	/* not a full commit ID, a path out of the API, a URL with credentials */
	assert_int_equal(forge_req_status(&gh, "main", FORGE_SUCCESS, NULL, NULL, NULL, &rq, &err), -1);
	assert_non_null(strstr(err, "not a full commit ID"));
	free(err);
	err = NULL;
	static const char *bad_repos[] = {"acme", "acme/../x", "acme/in fra", "/acme/infra", "a/b/c", "acme/infra?x=1", ""};
	for (size_t i = 0; i < sizeof bad_repos / sizeof *bad_repos; i++) {
		struct forge f = gh;
		f.repo = bad_repos[i];
		assert_int_equal(forge_req_comments(&f, 1, 1, &rq, &err), -1);
		assert_null(rq.url);
		free(err);
		err = NULL;
	}
	struct forge f = gl;
	f.repo = "infra"; /* neither an ID nor NAMESPACE/NAME */
	assert_int_equal(forge_req_comments(&f, 1, 1, &rq, &err), -1);
	free(err);
	err = NULL;
	f = gh;
	f.api = "https://user:pw@api.github.com";
	assert_int_equal(forge_req_comments(&f, 1, 1, &rq, &err), -1);
	assert_null(strstr(err, TOKEN));
	free(err);
	err = NULL;
	f.api = "file:///etc";
	assert_int_equal(forge_req_comments(&f, 1, 1, &rq, &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(forge_req_comments(&gh, 0, 1, &rq, &err), -1);
	free(err);
	err = NULL;
	assert_int_equal(forge_req_comment_edit(&gh, 1, 0, "x", &rq, &err), -1);
	free(err);
}

static void test_comment_requests(void **state)
{
	(void)state;
	struct forge_req rq;
	char *err = NULL;
	assert_int_equal(forge_req_comments(&gh, 7, 2, &rq, &err), 0);
	assert_string_equal(rq.method, "GET");
	assert_string_equal(rq.url, "https://api.github.com/repos/acme/infra/issues/7/comments?per_page=100&page=2");
	assert_null(rq.body);
	forge_req_free(&rq);
	assert_int_equal(forge_req_comments(&gt, 7, 2, &rq, &err), 0);
	assert_string_equal(rq.url, "https://git.example/api/v1/repos/acme/infra/issues/7/comments");
	forge_req_free(&rq);
	assert_int_equal(forge_req_comments(&gl, 7, 3, &rq, &err), 0);
	assert_string_equal(rq.url, "https://gitlab.example/api/v4/projects/42/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100&page=3");
	forge_req_free(&rq);

	assert_int_equal(forge_req_comment_create(&gh, 7, "hi \"there\"\n", &rq, &err), 0);
	assert_string_equal(rq.method, "POST");
	assert_string_equal(rq.url, "https://api.github.com/repos/acme/infra/issues/7/comments");
	json_t *j = body_of(&rq);
	assert_string_equal(json_string_value(json_object_get(j, "body")), "hi \"there\"\n");
	assert_int_equal(json_object_size(j), 1);
	json_decref(j);
	forge_req_free(&rq);
	assert_int_equal(forge_req_comment_create(&gl, 7, "x", &rq, &err), 0);
	assert_string_equal(rq.url, "https://gitlab.example/api/v4/projects/42/merge_requests/7/notes");
	forge_req_free(&rq);

	assert_int_equal(forge_req_comment_edit(&gh, 7, 123456789012LL, "x", &rq, &err), 0);
	assert_string_equal(rq.method, "PATCH");
	assert_string_equal(rq.url, "https://api.github.com/repos/acme/infra/issues/comments/123456789012");
	forge_req_free(&rq);
	assert_int_equal(forge_req_comment_edit(&gt, 7, 5, "x", &rq, &err), 0);
	assert_string_equal(rq.method, "PATCH");
	assert_string_equal(rq.url, "https://git.example/api/v1/repos/acme/infra/issues/comments/5");
	forge_req_free(&rq);
	assert_int_equal(forge_req_comment_edit(&gl, 7, 5, "x", &rq, &err), 0);
	assert_string_equal(rq.method, "PUT");
	assert_string_equal(rq.url, "https://gitlab.example/api/v4/projects/42/merge_requests/7/notes/5");
	forge_req_free(&rq);

	/* invalid UTF-8 from a repository still makes valid JSON */
	assert_int_equal(forge_req_comment_create(&gt, 1, "a\xff\xfe" "b", &rq, &err), 0);
	j = body_of(&rq);
	assert_string_equal(json_string_value(json_object_get(j, "body")), "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	json_decref(j);
	forge_req_free(&rq);
}

static void test_describe_hides_token(void **state)
{
	(void)state;
	const struct forge *fs[] = {&gh, &gt, &gl};
	for (size_t i = 0; i < 3; i++) {
		struct forge_req rq;
		char *err = NULL;
		assert_int_equal(forge_req_comment_create(fs[i], 3, "body", &rq, &err), 0);
		struct buf b;
		buf_init(&b, 0);
		forge_req_describe(&rq, &b);
		assert_null(strstr(b.data, TOKEN));
		assert_non_null(strstr(b.data, "(token hidden)"));
		assert_non_null(strstr(b.data, "{\"body\":\"body\"}"));
		if (i == 0)
			assert_non_null(strstr(b.data, "Authorization: Bearer (token hidden)"));
		buf_free(&b);
		forge_req_free(&rq);
	}
}

static void test_description(void **state)
{
	(void)state;
	char *d = forge_description("two\nlines\tand\x01" "control");
	assert_string_equal(d, "two lines and control");
	free(d);
	/* 200 'é' (2 bytes each): 139 of them and the ellipsis, nothing split */
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < 200; i++)
		buf_adds(&b, "\xc3\xa9");
	d = forge_description(b.data);
	assert_int_equal(strlen(d), 139 * 2 + 3);
	assert_string_equal(d + 139 * 2, "\xe2\x80\xa6");
	free(d);
	buf_free(&b);
	char exact[141];
	memset(exact, 'x', 140);
	exact[140] = 0;
	d = forge_description(exact);
	assert_string_equal(d, exact);
	free(d);
	assert_string_equal(forge_state_name(FORGE_GITLAB, FORGE_ERROR), "failed");
	assert_string_equal(forge_state_name(FORGE_GITEA, FORGE_ERROR), "error");
}

static void test_find_and_pages(void **state)
{
	(void)state;
	const char *page = "[{\"id\":1,\"body\":\"lgtm\"},"
			   "{\"id\":2,\"body\":\"<!-- shoal-review --> old\",\"system\":true},"
			   "{\"id\":3,\"body\":\"x <!-- shoal-review -->\\nplan\"},"
			   "{\"id\":4,\"body\":\"<!-- shoal-review --> later\"}]";
	long long id = 0;
	char *body = NULL;
	assert_int_equal(forge_comment_find(page, strlen(page), "<!-- shoal-review -->", &id, &body), 1);
	assert_int_equal(id, 3);
	assert_string_equal(body, "x <!-- shoal-review -->\nplan");
	free(body);
	assert_int_equal(forge_comment_find(page, strlen(page), "<!-- other -->", &id, NULL), 0);
	assert_int_equal(forge_comment_find("{\"message\":\"x\"}", 15, "m", &id, NULL), -1);
	assert_int_equal(forge_comment_find("", 0, "m", &id, NULL), -1);

	struct forge_resp rs;
	forge_resp_init(&rs);
	rs.link = xstrdup("<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=2>; rel=\"next\", "
			  "<https://api.github.com/repositories/1/issues/7/comments?per_page=100&page=3>; rel=\"last\"");
	assert_true(forge_has_next(&gh, &rs));
	assert_false(forge_has_next(&gt, &rs)); /* one page on Gitea */
	free(rs.link);
	rs.link = xstrdup("<https://x?page=1>; rel=\"prev\", <https://x?page=1>; rel=\"first\"");
	assert_false(forge_has_next(&gh, &rs));
	rs.next_page = xstrdup("");
	assert_false(forge_has_next(&gl, &rs));
	free(rs.next_page);
	rs.next_page = xstrdup("4");
	assert_true(forge_has_next(&gl, &rs));
	forge_resp_free(&rs);
}

/* ---- the verbs, through a scripted transport ---- */

struct script {
	int n;		  /* requests seen */
	char log[16][256]; /* "METHOD URL" */
	char bodies[16][512];
	int pages;	  /* GitHub/GitLab: pages of others' comments before the marked one */
	long long marked; /* the marked comment's ID, 0: none */
	const char *marked_body;
	long status_answer;
	const char *status_text;
	int fail;	  /* the transport fails, its message holding the token */
};

static int scripted(const struct forge *f, const struct forge_req *rq, struct forge_resp *rs, char **err)
{
	struct script *s = f->send_ctx;
	assert_true(s->n < 16);
	snprintf(s->log[s->n], sizeof s->log[0], "%s %s", rq->method, rq->url);
	snprintf(s->bodies[s->n], sizeof s->bodies[0], "%s", rq->body ? rq->body : "");
	s->n++;
	if (s->fail) {
		*err = xasprintf("connection reset while sending %s", f->token);
		return -1;
	}
	if (strstr(rq->url, "/statuses/")) {
		rs->status = s->status_answer ? s->status_answer : 201;
		buf_adds(&rs->body, s->status_text ? s->status_text : "{}");
		return 0;
	}
	if (!strcmp(rq->method, "GET")) {
		const char *p = strstr(rq->url, "&page=");
		long page = p ? strtol(p + 6, NULL, 10) : 1;
		rs->status = 200;
		buf_adds(&rs->body, "[");
		if (page <= s->pages) {
			for (int i = 0; i < 100; i++)
				buf_addf(&rs->body, "%s{\"id\":%ld,\"body\":\"comment %d\"}", i ? "," : "", page * 1000 + i, i);
			if (f->kind == FORGE_GITHUB)
				rs->link = xasprintf("<%s&page=%ld>; rel=\"next\"", rq->url, page + 1);
			else
				rs->next_page = xasprintf("%ld", page + 1);
		} else if (s->marked) {
			buf_addf(&rs->body, "{\"id\":%lld,\"body\":\"%s\"}", s->marked, s->marked_body);
		}
		buf_adds(&rs->body, "]");
		return 0;
	}
	rs->status = !strcmp(rq->method, "POST") ? 201 : 200;
	buf_adds(&rs->body, "{\"id\":9001,\"body\":\"x\"}");
	return 0;
}

static void test_upsert(void **state)
{
	(void)state;
	const char *mk = "<!-- shoal-review -->";
	long long id;
	const char *action;
	char *err = NULL;
	/* GitHub: not on the first two pages, found on the third: edited */
	struct script s = {.pages = 2, .marked = 77, .marked_body = "<!-- shoal-review --> v1"};
	struct forge f = gh;
	f.send = scripted;
	f.send_ctx = &s;
	assert_int_equal(forge_comment_upsert(&f, 7, mk, "<!-- shoal-review --> v2", &id, &action, &err), 0);
	assert_int_equal(s.n, 4);
	assert_string_equal(s.log[2], "GET https://api.github.com/repos/acme/infra/issues/7/comments?per_page=100&page=3");
	assert_string_equal(s.log[3], "PATCH https://api.github.com/repos/acme/infra/issues/comments/77");
	assert_string_equal(s.bodies[3], "{\"body\":\"<!-- shoal-review --> v2\"}");
	assert_int_equal(id, 77);
	assert_string_equal(action, "edited");
	/* the same text again: nothing sent after the search */
	s = (struct script){.marked = 77, .marked_body = "<!-- shoal-review --> v2"};
	assert_int_equal(forge_comment_upsert(&f, 7, mk, "<!-- shoal-review --> v2", &id, &action, &err), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(action, "unchanged");
	/* GitLab: X-Next-Page until the last page; none marked: created */
	s = (struct script){.pages = 1};
	f = gl;
	f.send = scripted;
	f.send_ctx = &s;
	assert_int_equal(forge_comment_upsert(&f, 7, mk, "<!-- shoal-review --> v1", &id, &action, &err), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.log[1], "GET https://gitlab.example/api/v4/projects/42/merge_requests/7/notes?sort=asc&order_by=created_at&per_page=100&page=2");
	assert_string_equal(s.log[2], "POST https://gitlab.example/api/v4/projects/42/merge_requests/7/notes");
	assert_int_equal(id, 9001);
	assert_string_equal(action, "created");
	/* a body without its marker could never be found again */
	assert_int_equal(forge_comment_upsert(&f, 7, mk, "no marker", &id, &action, &err), -1);
	free(err);
	err = NULL;
	/* the token never comes back in an error */
	s = (struct script){.fail = 1};
	assert_int_equal(forge_comment_upsert(&f, 7, mk, "<!-- shoal-review -->", &id, &action, &err), -1);
	assert_null(strstr(err, TOKEN));
	assert_non_null(strstr(err, "(token hidden)"));
	free(err);
	err = NULL;
}

static void test_status_answers(void **state)
{
	(void)state;
	char *err = NULL;
	struct script s = {0};
	struct forge f = gl;
	f.send = scripted;
	f.send_ctx = &s;
	assert_int_equal(forge_status_set(&f, SHA, FORGE_SUCCESS, "shoal/review", "ok", NULL, &err), 0);
	/* GitLab: the status already has this state */
	s = (struct script){.status_answer = 400,
			   .status_text = "{\"message\":\"Cannot transition status via :run from :running (Reason(s): Status cannot transition via \\\"run\\\")\"}"};
	assert_int_equal(forge_status_set(&f, SHA, FORGE_PENDING, "shoal/review", NULL, NULL, &err), 0);
	/* refused: the forge's message, the method and URL, a hint; no token */
	s = (struct script){.status_answer = 403, .status_text = "{\"message\":\"403 Forbidden " TOKEN "\"}"};
	f.job_token = 1;
	assert_int_equal(forge_status_set(&f, SHA, FORGE_SUCCESS, "shoal/review", NULL, NULL, &err), -1);
	assert_non_null(strstr(err, "POST https://gitlab.example/api/v4/projects/42/statuses/" SHA ": HTTP 403"));
	assert_non_null(strstr(err, "CI_JOB_TOKEN cannot"));
	assert_null(strstr(err, TOKEN));
	free(err);
	err = NULL;
	s = (struct script){.status_answer = 422, .status_text = "{\"message\":\"Validation Failed\"}"};
	f = gh;
	f.send = scripted;
	f.send_ctx = &s;
	assert_int_equal(forge_status_set(&f, SHA, FORGE_SUCCESS, "c", NULL, NULL, &err), -1);
	assert_non_null(strstr(err, "HTTP 422: Validation Failed"));
	free(err);
}

/* ---- CI environments ---- */

static const char **envp;

static const char *fake_getenv(const char *name)
{
	for (const char **e = envp; *e; e += 2)
		if (!strcmp(e[0], name))
			return e[1];
	return NULL;
}

static void test_ci_github(void **state)
{
	(void)state;
	char ev[] = "/tmp/shoal-event-XXXXXX";
	int fd = mkstemp(ev);
	assert_true(fd >= 0);
	const char *payload = "{\"action\":\"synchronize\",\"number\":12,\"pull_request\":{\"number\":12,"
			      "\"base\":{\"ref\":\"main\",\"sha\":\"1111111111111111111111111111111111111111\"},"
			      "\"head\":{\"ref\":\"feature\",\"sha\":\"2222222222222222222222222222222222222222\"}}}";
	assert_int_equal(write(fd, payload, strlen(payload)), (ssize_t)strlen(payload));
	close(fd);
	const char *env[] = {"GITHUB_ACTIONS", "true", "GITHUB_SERVER_URL", "https://github.com", "GITHUB_API_URL",
			     "https://api.github.com", "GITHUB_REPOSITORY", "acme/infra", "GITHUB_EVENT_NAME", "pull_request",
			     "GITHUB_EVENT_PATH", ev, "GITHUB_RUN_ID", "99", "GITHUB_TOKEN", TOKEN, NULL, NULL};
	envp = env;
	struct ci_env ci = {0};
	char *err = NULL;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_int_equal(ci_complete(&ci, &err), 0);
	assert_int_equal(ci.kind, FORGE_GITHUB);
	assert_int_equal(ci.pr, 12);
	assert_string_equal(ci.base, "1111111111111111111111111111111111111111");
	assert_string_equal(ci.head, "2222222222222222222222222222222222222222");
	assert_string_equal(ci.base_branch, "main");
	assert_string_equal(ci.clone_url, "https://github.com/acme/infra.git");
	assert_string_equal(ci.target_url, "https://github.com/acme/infra/actions/runs/99");
	assert_string_equal(ci.token, TOKEN);
	assert_string_equal(ci.git_user, "x-access-token");
	char *ref = ci_head_ref(&ci);
	assert_string_equal(ref, "refs/pull/12/head");
	free(ref);
	ci_env_free(&ci);

	/* Gitea: its own marker variable, GITEA_TOKEN first, the run number */
	const char *genv[] = {"GITHUB_ACTIONS", "true", "GITEA_ACTIONS", "true", "GITHUB_SERVER_URL", "https://git.example/",
			      "GITHUB_REPOSITORY", "acme/infra", "GITHUB_EVENT_NAME", "pull_request", "GITHUB_EVENT_PATH", ev,
			      "GITHUB_RUN_ID", "555", "GITHUB_RUN_NUMBER", "3", "GITHUB_TOKEN", "other", "GITEA_TOKEN", TOKEN,
			      NULL, NULL};
	envp = genv;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_int_equal(ci_complete(&ci, &err), 0);
	assert_int_equal(ci.kind, FORGE_GITEA);
	assert_string_equal(ci.api, "https://git.example/api/v1"); /* no GITHUB_API_URL: derived */
	assert_string_equal(ci.target_url, "https://git.example/acme/infra/actions/runs/3");
	assert_string_equal(ci.token, TOKEN);
	assert_string_equal(ci.token_from, "GITEA_TOKEN");
	ci_env_free(&ci);

	/* a push event: no pull request, said so */
	const char *penv[] = {"GITHUB_ACTIONS", "true", "GITHUB_SERVER_URL", "https://github.com", "GITHUB_REPOSITORY",
			      "acme/infra", "GITHUB_EVENT_NAME", "push", "GITHUB_EVENT_PATH", ev, NULL, NULL};
	envp = penv;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_int_equal(ci_complete(&ci, &err), -1);
	assert_non_null(strstr(err, "--pr N"));
	free(err);
	err = NULL;
	ci_env_free(&ci);
	/* an unreadable payload */
	const char *benv[] = {"GITHUB_ACTIONS", "true", "GITHUB_EVENT_NAME", "pull_request", "GITHUB_EVENT_PATH",
			      "/nonexistent/event.json", NULL, NULL};
	envp = benv;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), -1);
	free(err);
	ci_env_free(&ci);
	unlink(ev);
}

static void test_ci_gitlab(void **state)
{
	(void)state;
	const char *env[] = {"GITLAB_CI", "true", "CI_SERVER_URL", "https://gitlab.example", "CI_API_V4_URL",
			     "https://gitlab.example/api/v4", "CI_PROJECT_ID", "42", "CI_PROJECT_PATH", "acme/infra",
			     "CI_MERGE_REQUEST_IID", "5", "CI_MERGE_REQUEST_DIFF_BASE_SHA", "1111111111111111111111111111111111111111",
			     "CI_COMMIT_SHA", "3333333333333333333333333333333333333333", "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA",
			     "2222222222222222222222222222222222222222", "CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main",
			     "CI_JOB_URL", "https://gitlab.example/acme/infra/-/jobs/8", "CI_JOB_TOKEN", "job-tok",
			     "GITLAB_API_TOKEN", TOKEN, NULL, NULL};
	envp = env;
	struct ci_env ci = {0};
	char *err = NULL;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_int_equal(ci_complete(&ci, &err), 0);
	assert_int_equal(ci.kind, FORGE_GITLAB);
	assert_int_equal(ci.pr, 5);
	/* merged-results pipeline: the head is the source branch's, not the merge commit */
	assert_string_equal(ci.head, "2222222222222222222222222222222222222222");
	assert_string_equal(ci.repo, "42");
	assert_string_equal(ci.clone_url, "https://gitlab.example/acme/infra.git");
	assert_string_equal(ci.token, TOKEN);
	assert_false(ci.job_token);
	assert_string_equal(ci.git_user, "gitlab-ci-token");
	assert_string_equal(ci.git_token, "job-tok");
	char *ref = ci_head_ref(&ci);
	assert_string_equal(ref, "refs/merge-requests/5/head");
	free(ref);
	ci_env_free(&ci);
	/* only the job's token: kept as such (it cannot post: the caller says so) */
	const char *jenv[] = {"GITLAB_CI", "true", "CI_SERVER_URL", "https://gitlab.example", "CI_PROJECT_ID", "42",
			      "CI_PROJECT_PATH", "acme/infra", "CI_MERGE_REQUEST_IID", "5", "CI_MERGE_REQUEST_DIFF_BASE_SHA",
			      "1111111111111111111111111111111111111111", "CI_COMMIT_SHA",
			      "3333333333333333333333333333333333333333", "CI_JOB_TOKEN", "job-tok", NULL, NULL};
	envp = jenv;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_int_equal(ci_complete(&ci, &err), 0);
	assert_true(ci.job_token);
	assert_string_equal(ci.api, "https://gitlab.example/api/v4");
	assert_string_equal(ci.head, "3333333333333333333333333333333333333333");
	ci_env_free(&ci);
	/* nothing recognised */
	const char *none[] = {"CI", "true", NULL, NULL};
	envp = none;
	assert_int_equal(ci_detect(fake_getenv, &ci, &err), 0);
	assert_false(ci.known);
	assert_int_equal(ci_complete(&ci, &err), -1);
	assert_non_null(strstr(err, "--forge"));
	free(err);
	ci_env_free(&ci);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_requests), cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_comment_requests), cmocka_unit_test(test_describe_hides_token),
		cmocka_unit_test(test_description),	 cmocka_unit_test(test_find_and_pages),
		cmocka_unit_test(test_upsert),		 cmocka_unit_test(test_status_answers),
		cmocka_unit_test(test_ci_github),	 cmocka_unit_test(test_ci_gitlab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
