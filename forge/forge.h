/*
 * forge.h - what shoal tells a forge: a commit status, and one sticky
 * comment on a pull (merge) request, for GitHub, Gitea/Forgejo and GitLab,
 * through their REST APIs.  The review command and the agent use it.
 *
 * Requests are built apart from their sending: forge_req_* make a
 * struct forge_req (method, URL, headers, JSON body) from the forge's
 * documented API and touch nothing else; a transport sends them (libcurl,
 * forge/http.c, unless the struct forge names another: a dry run, a unit
 * test).  The verbs forge_status_set and forge_comment_upsert put the two
 * together.  Nothing here prints; errors come back as text in *err with
 * the token scrubbed.
 *
 * GitHub:  POST {api}/repos/{o}/{r}/statuses/{sha}            {state, target_url, description, context}
 *          GET  {api}/repos/{o}/{r}/issues/{n}/comments?per_page=100&page=N   (Link: rel="next")
 *          POST {api}/repos/{o}/{r}/issues/{n}/comments        {body}
 *          PATCH {api}/repos/{o}/{r}/issues/comments/{id}      {body}
 *          Authorization: Bearer T, Accept: application/vnd.github+json,
 *          X-GitHub-Api-Version: 2022-11-28, User-Agent
 * Gitea:   the same paths under {api} = https://HOST/api/v1, Authorization:
 *          token T; the comments of an issue come in one answer (the
 *          endpoint takes since/before only, no page)
 * GitLab:  POST {api}/projects/{id}/statuses/{sha}            {state, name, description, target_url}
 *          GET  {api}/projects/{id}/merge_requests/{iid}/notes?sort=asc&order_by=created_at&per_page=100&page=N
 *               (X-Next-Page)
 *          POST {api}/projects/{id}/merge_requests/{iid}/notes {body}
 *          PUT  {api}/projects/{id}/merge_requests/{iid}/notes/{note_id} {body}
 *          PRIVATE-TOKEN: T (a project or personal access token, scope api;
 *          CI_JOB_TOKEN may call neither endpoint)
 */
#ifndef SHOAL_FORGE_H
#define SHOAL_FORGE_H

#include <stddef.h>

#include "../reconcile/util.h"

enum forge_kind { FORGE_GITHUB, FORGE_GITEA, FORGE_GITLAB };

/* What a commit status says; each forge has its own words for them. */
enum forge_state { FORGE_PENDING, FORGE_SUCCESS, FORGE_FAILURE, FORGE_ERROR };

/* GitHub refuses a description longer than this; the others take it. */
#define FORGE_DESCRIPTION_MAX 140

struct forge_req {
	const char *method;   /* GET, POST, PATCH, PUT */
	char *url;
	struct strv headers;  /* "Name: value"; the token is in one of them */
	char *body;	      /* JSON text, or NULL */
};

struct forge_resp {
	long status;	      /* HTTP status */
	struct buf body;
	char *link;	      /* Link header (GitHub), or NULL */
	char *next_page;      /* X-Next-Page header (GitLab), or NULL */
};

struct forge;
/* Send rq, fill rs (rs is initialised by the caller with forge_resp_init).
 * -1 with *err when no answer came (connection, TLS, timeout). */
typedef int (*forge_send_fn)(const struct forge *f, const struct forge_req *rq, struct forge_resp *rs, char **err);

struct forge {
	enum forge_kind kind;
	const char *api;	/* https://api.github.com, https://HOST/api/v1, https://HOST/api/v4 */
	const char *repo;	/* OWNER/NAME; GitLab: the project's ID or its path */
	const char *token;	/* secret: sent in a header, never in a URL, never shown */
	int job_token;		/* GitLab: send it as JOB-TOKEN (a CI job's token) */
	const char *ca_file;	/* PEM certificates to trust for HTTPS; NULL: the system's */
	long timeout;		/* seconds per request; 0: 30 */
	const char *user_agent; /* NULL: "shoal" */
	forge_send_fn send;	/* NULL: libcurl (forge_http_send) */
	void *send_ctx;
};

/* "github", "gitea" (also "forgejo"), "gitlab": 0, else -1. */
int forge_kind_parse(const char *s, enum forge_kind *k);
const char *forge_kind_name(enum forge_kind k);
/* The forge's word for a state ("failure" on GitHub and Gitea, "failed"
 * on GitLab, which has no "error" either). */
const char *forge_state_name(enum forge_kind k, enum forge_state st);
/* The largest comment body the forge takes, in bytes (GitHub 65536
 * characters, GitLab 1,000,000; Gitea none documented: 1 MiB here). */
size_t forge_comment_max(enum forge_kind k);
/* s cut to FORGE_DESCRIPTION_MAX characters (UTF-8, never inside a
 * character), ending with "…" when cut; control characters become
 * spaces.  Caller frees. */
char *forge_description(const char *s);

/* Request builders: 0, or -1 with *err when an argument cannot make a
 * valid request (a commit ID that is not 40 or 64 hex digits, a pull
 * request number < 1, a repository name with characters a path cannot
 * hold).  rq is then left empty. */
int forge_req_status(const struct forge *f, const char *sha, enum forge_state st, const char *context,
		     const char *description, const char *target_url, struct forge_req *rq, char **err);
int forge_req_comments(const struct forge *f, long pr, long page, struct forge_req *rq, char **err);
int forge_req_comment_create(const struct forge *f, long pr, const char *body, struct forge_req *rq, char **err);
int forge_req_comment_edit(const struct forge *f, long pr, long long id, const char *body, struct forge_req *rq,
			   char **err);
void forge_req_free(struct forge_req *rq);
/* The request as text ("METHOD URL", headers, body), the token's header
 * value masked: for a dry run and for logs. */
void forge_req_describe(const struct forge_req *rq, struct buf *out);

void forge_resp_init(struct forge_resp *rs);
void forge_resp_free(struct forge_resp *rs);

/* In a page of comments (a JSON array), the first whose body holds
 * marker (GitLab's system notes skipped): 1 and its ID, 0 when none, -1
 * when the text is not a JSON array.  body, when not NULL, gets the found
 * comment's text (caller frees). */
int forge_comment_find(const char *json, size_t len, const char *marker, long long *id, char **body);
/* 1 when the answer says another page follows (Link rel="next" on GitHub,
 * a non-empty X-Next-Page on GitLab; Gitea's list has one page). */
int forge_has_next(const struct forge *f, const struct forge_resp *rs);

/* Set the commit status of sha under context (GitHub/Gitea "context",
 * GitLab "name").  GitLab refuses to set a status to the state it already
 * has ("Cannot transition status"): that is success here. */
int forge_status_set(const struct forge *f, const char *sha, enum forge_state st, const char *context,
		     const char *description, const char *target_url, char **err);

/*
 * The sticky comment: the pull request's first comment holding marker
 * (an HTML comment, invisible once rendered) is edited to body, or, when
 * there is none, body is posted as a new comment.  Every page of
 * comments is searched (at most 100 pages).  body must contain marker.
 * *id: the comment's ID; *action: "created", "edited" or "unchanged" (the
 * comment already says exactly that: nothing sent).
 */
int forge_comment_upsert(const struct forge *f, long pr, const char *marker, const char *body, long long *id,
			 const char **action, char **err);

/* The libcurl transport (forge/http.c). */
int forge_http_send(const struct forge *f, const struct forge_req *rq, struct forge_resp *rs, char **err);

#endif
