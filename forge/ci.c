/*
 * ci.c - a pull-request job's environment, as GitHub Actions, Gitea and
 * Forgejo Actions and GitLab CI set it (see ci.h).
 */
#include "ci.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

static int is_true(const char *v)
{
	return v && !strcmp(v, "true");
}

/* A copy of a variable that is set and not empty, else NULL. */
static char *var(ci_getenv_fn get, const char *name)
{
	const char *v = get(name);
	return v && *v ? xstrdup(v) : NULL;
}

static void set(char **field, char *value)
{
	if (!value)
		return;
	free(*field);
	*field = value;
}

static char *trim_slash(char *s)
{
	size_t n = s ? strlen(s) : 0;
	while (n && s[n - 1] == '/')
		s[--n] = 0;
	return s;
}

/* GITHUB_EVENT_PATH: a pull_request (or pull_request_target) payload. */
static int read_event(ci_getenv_fn get, struct ci_env *ci, char **err)
{
	const char *path = get("GITHUB_EVENT_PATH");
	if (!path || !*path)
		return 0;
	char *data;
	size_t len;
	if (read_file(path, 64 << 20, &data, &len) < 0) {
		*err = xasprintf("GITHUB_EVENT_PATH %s: %m", path);
		return -1;
	}
	json_error_t je;
	json_t *ev = json_loadb(data, len, 0, &je);
	free(data);
	if (!json_is_object(ev)) {
		*err = xasprintf("GITHUB_EVENT_PATH %s: not a JSON object (%s)", path, je.text);
		json_decref(ev);
		return -1;
	}
	json_t *pr = json_object_get(ev, "pull_request");
	if (json_is_object(pr)) {
		json_t *n = json_object_get(pr, "number");
		if (!json_is_integer(n))
			n = json_object_get(ev, "number");
		if (json_is_integer(n))
			ci->pr = (long)json_integer_value(n);
		const char *b = json_string_value(json_object_get(json_object_get(pr, "base"), "sha"));
		const char *h = json_string_value(json_object_get(json_object_get(pr, "head"), "sha"));
		const char *br = json_string_value(json_object_get(json_object_get(pr, "base"), "ref"));
		if (b && *b)
			set(&ci->base, xstrdup(b));
		if (h && *h)
			set(&ci->head, xstrdup(h));
		if (br && *br)
			set(&ci->base_branch, xstrdup(br));
	}
	json_decref(ev);
	return 0;
}

int ci_detect(ci_getenv_fn get, struct ci_env *ci, char **err)
{
	if (is_true(get("GITLAB_CI"))) {
		ci->known = 1;
		ci->kind = FORGE_GITLAB;
		set(&ci->server, trim_slash(var(get, "CI_SERVER_URL")));
		set(&ci->api, trim_slash(var(get, "CI_API_V4_URL")));
		set(&ci->repo, var(get, "CI_PROJECT_ID"));
		char *path = var(get, "CI_PROJECT_PATH");
		if (path && ci->server)
			set(&ci->clone_url, xasprintf("%s/%s.git", ci->server, path));
		free(path);
		char *iid = var(get, "CI_MERGE_REQUEST_IID");
		if (iid)
			ci->pr = strtol(iid, NULL, 10);
		free(iid);
		set(&ci->base, var(get, "CI_MERGE_REQUEST_DIFF_BASE_SHA"));
		/* a merged-results pipeline runs on a merge commit: the head is
		 * the source branch's */
		char *h = var(get, "CI_MERGE_REQUEST_SOURCE_BRANCH_SHA");
		set(&ci->head, h ? h : var(get, "CI_COMMIT_SHA"));
		set(&ci->base_branch, var(get, "CI_MERGE_REQUEST_TARGET_BRANCH_NAME"));
		set(&ci->target_url, var(get, "CI_JOB_URL"));
		char *job = var(get, "CI_JOB_TOKEN"), *api = var(get, "GITLAB_API_TOKEN");
		if (job) {
			set(&ci->git_user, xstrdup("gitlab-ci-token"));
			set(&ci->git_token, xstrdup(job));
		}
		if (api) {
			set(&ci->token, api);
			ci->token_from = "GITLAB_API_TOKEN";
			ci->job_token = 0;
		} else if (job) {
			set(&ci->token, xstrdup(job));
			ci->token_from = "CI_JOB_TOKEN";
			ci->job_token = 1;
		}
		if (job)
			sodium_memzero(job, strlen(job));
		free(job);
		return 0;
	}
	int gitea = is_true(get("GITEA_ACTIONS")) || is_true(get("FORGEJO_ACTIONS"));
	if (!gitea && !is_true(get("GITHUB_ACTIONS")))
		return 0;
	ci->known = 1;
	ci->kind = gitea ? FORGE_GITEA : FORGE_GITHUB;
	set(&ci->server, trim_slash(var(get, "GITHUB_SERVER_URL")));
	set(&ci->api, trim_slash(var(get, "GITHUB_API_URL")));
	set(&ci->repo, var(get, "GITHUB_REPOSITORY"));
	const char *ev = get("GITHUB_EVENT_NAME");
	if (ev && (!strcmp(ev, "pull_request") || !strcmp(ev, "pull_request_target")) && read_event(get, ci, err) < 0)
		return -1;
	/* Gitea's run pages are numbered per repository (the run number) */
	char *run = var(get, gitea ? "GITHUB_RUN_NUMBER" : "GITHUB_RUN_ID");
	if (run && ci->server && ci->repo)
		set(&ci->target_url, xasprintf("%s/%s/actions/runs/%s", ci->server, ci->repo, run));
	free(run);
	static const char *const gh[] = {"GITHUB_TOKEN", NULL};
	static const char *const gt[] = {"GITEA_TOKEN", "FORGEJO_TOKEN", "GITHUB_TOKEN", NULL};
	for (const char *const *n = gitea ? gt : gh; *n; n++) {
		char *t = var(get, *n);
		if (t) {
			set(&ci->token, t);
			ci->token_from = *n;
			break;
		}
	}
	return 0;
}

/* https://HOST/PATH/NAME(.git) -> PATH/NAME; NULL for another form. */
static char *repo_from_url(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return NULL;
	p = strchr(p + 3, '/');
	if (!p || !p[1])
		return NULL;
	char *r = xstrdup(p + 1);
	trim_slash(r);
	size_t n = strlen(r);
	if (n > 4 && !strcmp(r + n - 4, ".git"))
		r[n - 4] = 0;
	return r;
}

static int full_sha(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return (n == 40 || n == 64) && strspn(s, "0123456789abcdef") == n;
}

int ci_complete(struct ci_env *ci, char **err)
{
	if (!ci->known) {
		*err = xstrdup("no CI recognised (GitHub Actions, Gitea/Forgejo Actions, GitLab CI): give --forge "
			       "github|gitea|gitlab and the rest as options");
		return -1;
	}
	if (!ci->api && ci->server) {
		if (ci->kind == FORGE_GITHUB)
			ci->api = !strcmp(ci->server, "https://github.com") ? xstrdup("https://api.github.com")
									  : xasprintf("%s/api/v3", ci->server);
		else
			ci->api = xasprintf("%s/api/%s", ci->server, ci->kind == FORGE_GITLAB ? "v4" : "v1");
	}
	if (!ci->clone_url && ci->server && ci->repo && ci->kind != FORGE_GITLAB)
		ci->clone_url = xasprintf("%s/%s.git", ci->server, ci->repo);
	if (!ci->repo && ci->clone_url)
		ci->repo = repo_from_url(ci->clone_url);
	if (!ci->git_token && ci->token && !ci->job_token) {
		set(&ci->git_user, xstrdup(ci->kind == FORGE_GITLAB ? "oauth2" : "x-access-token"));
		ci->git_token = xstrdup(ci->token);
	}
	const char *missing = !ci->api	      ? "the forge's API (--api URL)"
			      : !ci->clone_url ? "the repository's address (--repo-url URL)"
			      : !ci->repo      ? "the repository's name (--repo-name OWNER/NAME, GitLab: the project's ID or path)"
			      : ci->pr < 1     ? "the pull request's number (--pr N)"
			      : !ci->base      ? "the base commit (--base SHA)"
			      : !ci->head      ? "the head commit (--head SHA)"
					       : NULL;
	if (missing) {
		*err = xasprintf("%s: unknown (is this a pull request job?)", missing);
		return -1;
	}
	if (!full_sha(ci->base) || !full_sha(ci->head)) {
		*err = xasprintf("base %s and head %s: expected full commit IDs (40 or 64 hex digits)", ci->base, ci->head);
		return -1;
	}
	return 0;
}

char *ci_head_ref(const struct ci_env *ci)
{
	return ci->kind == FORGE_GITLAB ? xasprintf("refs/merge-requests/%ld/head", ci->pr)
					: xasprintf("refs/pull/%ld/head", ci->pr);
}

static void wipe(char **s)
{
	if (*s)
		sodium_memzero(*s, strlen(*s));
	free(*s);
	*s = NULL;
}

void ci_env_free(struct ci_env *ci)
{
	free(ci->server);
	free(ci->api);
	free(ci->repo);
	free(ci->clone_url);
	free(ci->base);
	free(ci->head);
	free(ci->base_branch);
	free(ci->target_url);
	free(ci->git_user);
	wipe(&ci->token);
	wipe(&ci->git_token);
	memset(ci, 0, sizeof *ci);
}
