/*
 * ci.h - what a forge's CI tells a pull-request job, read from its
 * environment: which forge, its API, the repository, the pull (merge)
 * request, base and head commits, the refs that hold them, the run's page
 * and the tokens.
 *
 * GitHub Actions (GITHUB_ACTIONS=true): GITHUB_SERVER_URL, GITHUB_API_URL,
 *   GITHUB_REPOSITORY, GITHUB_EVENT_NAME, GITHUB_EVENT_PATH (the webhook
 *   payload: pull_request.number, .base.sha, .base.ref, .head.sha),
 *   GITHUB_RUN_ID; the token in GITHUB_TOKEN (the workflow passes it).
 * Gitea / Forgejo Actions (GITEA_ACTIONS or FORGEJO_ACTIONS=true, besides
 *   the GITHUB_* variables): the same; the token in GITEA_TOKEN,
 *   FORGEJO_TOKEN or GITHUB_TOKEN; the run's page by GITHUB_RUN_NUMBER.
 * GitLab CI (GITLAB_CI=true): CI_SERVER_URL, CI_API_V4_URL, CI_PROJECT_ID,
 *   CI_PROJECT_PATH, CI_MERGE_REQUEST_IID, CI_MERGE_REQUEST_DIFF_BASE_SHA,
 *   CI_MERGE_REQUEST_SOURCE_BRANCH_SHA (merged-results pipelines) else
 *   CI_COMMIT_SHA, CI_MERGE_REQUEST_TARGET_BRANCH_NAME, CI_JOB_URL;
 *   CI_JOB_TOKEN fetches, GITLAB_API_TOKEN posts.
 */
#ifndef SHOAL_CI_H
#define SHOAL_CI_H

#include "forge.h"

struct ci_env {
	int known;		/* a kind was detected or given */
	enum forge_kind kind;
	char *server;		/* the forge's web address: https://github.com */
	char *api;		/* its REST API's base */
	char *repo;		/* OWNER/NAME; GitLab: the project's ID */
	char *clone_url;	/* Git over HTTP(S), without credentials */
	long pr;		/* pull request number / merge request IID; 0: unknown */
	char *base, *head;	/* commit IDs */
	char *base_branch;	/* the branch the pull request merges into */
	char *target_url;	/* the CI run's page, for the status */
	char *token;		/* the API's token (secret; wiped on free) */
	int job_token;		/* GitLab: token is CI_JOB_TOKEN */
	char *git_user, *git_token; /* credentials for fetching (git_token secret) */
	const char *token_from; /* the variable the API token came from */
};

typedef const char *(*ci_getenv_fn)(const char *name);

/*
 * Fill ci from the environment that get reads (getenv).  Returns 0 (also
 * when no CI is recognised: ci->known stays 0), or -1 with *err when the
 * environment is a CI's but contradicts itself (an event payload that
 * cannot be read, a job that is not for a pull request).
 */
int ci_detect(ci_getenv_fn get, struct ci_env *ci, char **err);

/*
 * What follows from the rest once the caller applied its overrides: the
 * API from the server, the repository from the clone URL or the other
 * way round, the fetch credentials from the API token.  Then every field
 * the review needs must be there: -1 with *err naming the first missing
 * one and how to give it.
 */
int ci_complete(struct ci_env *ci, char **err);

/* The ref that holds the pull request's head on the forge:
 * refs/pull/N/head (GitHub, Gitea), refs/merge-requests/N/head (GitLab). */
char *ci_head_ref(const struct ci_env *ci);

void ci_env_free(struct ci_env *ci);

#endif
