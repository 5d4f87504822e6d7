/*
 * webhook.h - is a push webhook signed with our secret?  The forges' three
 * forms: GitHub (X-Hub-Signature-256: sha256=HEX of HMAC-SHA256 of the
 * body), Gitea / Forgejo (X-Gitea-Signature / X-Forgejo-Signature: the
 * same HEX) and GitLab (X-Gitlab-Token: the secret itself).  Constant time.
 */
#ifndef SHOAL_WEBHOOK_H
#define SHOAL_WEBHOOK_H

#include <stddef.h>

/* The request's headers as the HTTP server found them (NULL: absent). */
struct webhook_headers {
	const char *hub_sha256;	    /* X-Hub-Signature-256 */
	const char *gitea, *forgejo; /* X-Gitea-Signature, X-Forgejo-Signature */
	const char *gitlab_token;    /* X-Gitlab-Token */
};

/* 1 when the request is signed with secret, else 0. */
int webhook_verify(const char *secret, const struct webhook_headers *h, const char *body, size_t len);

#endif
