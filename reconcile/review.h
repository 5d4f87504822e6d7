/*
 * review.h - the difference in desired state between two versions of a
 * repository (two commits), without an engine: what a pull request would
 * change, per stack and service, field by field.  Secrets show only as
 * created, rotated or removed.
 */
#ifndef SHOAL_REVIEW_H
#define SHOAL_REVIEW_H

#include <jansson.h>

#include "repo.h"

/* A JSON document describing base -> head (see review.c for its shape).
 * Stacks invalid at head are listed under "invalid".  rkey: the key of
 * sealed values' fingerprints (seal_redact_key) when the repositories were
 * loaded with the private key, their sealed values opened; NULL when they
 * were loaded without (repo_opts.check_only: the values are stand-ins). */
json_t *review_compare(const struct repo *base, const struct repo *head, const unsigned char *rkey);
/* 1 when the review holds any change. */
int review_has_changes(const json_t *rv);

void review_print_text(const json_t *rv, int color);
void review_print_markdown(const json_t *rv);
/* The markdown appended to o (what review_print_markdown prints). */
void review_markdown(const json_t *rv, struct buf *o);

#endif
