/*
 * waves.h - the order of a rollout.  A stack names the stacks it depends
 * on in its compose files, as a top-level extension:
 *
 *     x-shoal:
 *       depends_on: [mongo]
 *
 * Stacks go out in waves: wave 1 holds the stacks that depend on none,
 * wave N+1 those whose dependencies are all in waves up to N.  A service
 * labelled io.shoal.hook=pre|post (deploy.labels, mode replicated-job) is
 * a hook: it runs before / after the rest of its stack's changes, and only
 * when the stack changed (rollout.h).
 */
#ifndef SHOAL_WAVES_H
#define SHOAL_WAVES_H

#include <jansson.h>

#include "plan.h"
#include "repo.h"
#include "ynode.h"

#define X_SHOAL "x-shoal"
#define LABEL_HOOK "io.shoal.hook" /* service: "pre" or "post" */

/* Read the x-shoal extension of a stack's merged model (and check its
 * hooks): the dependencies go to st->deps ([{"name", "file", "line",
 * "col"}]); errors at their file:line:column.  -1 on any error. */
int waves_parse(const struct ynode *model, const struct desired *ds, struct repo_stack *st, struct diags *d);

/* Across the repository: a dependency on a stack the repository does not
 * have, or a cycle, is an error at the place it is written; each stack
 * concerned becomes invalid (ds NULL), as does a stack depending on one
 * (it would wait forever).  Returns the number of errors. */
int waves_check(struct repo *r, struct diags *d);

/* A stack's wave, from 1; a stack the repository lacks (one being
 * removed) is in wave 1. */
int waves_level(const struct repo *r, const char *stack);

/* "pre", "post" or NULL: the hook a service spec declares. */
const char *waves_hook(const json_t *spec);

/* The waves of a plan: [{"wave": N, "stacks": [{"stack", "after":
 * [deps], "hooks": {"pre": [services], "post": [...]}}]}] - only stacks
 * with changes; caller's. */
json_t *waves_json(const struct plan *p, const struct repo *r);
/* The same, for a person (stdout); nothing when no stack changes or
 * every changed stack is alone in wave 1 without hooks. */
void waves_print_text(const json_t *waves);

#endif
