/*
 * repo.h - a shoal repository on disk: stacks/STACK/NAME.yml (merged in
 * lexical order) with variables from vars.env at the top and in the stack
 * folder (the stack's own win).  Nothing is read from the environment of
 * the process, so every machine computes the same desired state.
 */
#ifndef SHOAL_REPO_H
#define SHOAL_REPO_H

#include "convert.h"

#define REPO_VARS_FILE "vars.env"

struct repo_stack {
	char *name;
	struct desired *ds; /* NULL when the stack is invalid */
};

struct repo {
	struct repo_stack *stacks;
	size_t n;
};

/* Load every stack; each invalid stack gets ds == NULL and its errors in d.
 * Returns -1 only when the repository itself cannot be read. */
int repo_load(const char *dir, struct repo *r, struct diags *d);
void repo_free(struct repo *r);

/* KEY=VALUE lines into a JSON object (later keys win). */
int vars_parse(const char *file, const char *data, json_t *vars, struct diags *d);

/* interp_lookup_fn over a JSON object of strings. */
const char *vars_lookup(void *ctx, const char *name);
/* interp_lookup_fn over the process environment. */
const char *env_lookup(void *ctx, const char *name);

#endif
