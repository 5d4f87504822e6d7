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
 * Stacks invalid at head are listed under "invalid". */
json_t *review_compare(const struct repo *base, const struct repo *head);
/* 1 when the review holds any change. */
int review_has_changes(const json_t *rv);

void review_print_text(const json_t *rv, int color);
void review_print_markdown(const json_t *rv);

#endif
