/*
 * compose_schema.h - the compose v3 schema as docker CLI 28 checks a file
 * (compose_schema.c): a declarative table of every key, its shape and the
 * first 3.x version that has it; the options stack deploy refuses, ignores
 * or calls deprecated; and the set of nodes found wrong, cut out before
 * normalisation so one run reports every error.  Internal to compose.c:
 * it reads nodes and adds diagnostics, never files.
 */
#ifndef SHOAL_COMPOSE_SCHEMA_H
#define SHOAL_COMPOSE_SCHEMA_H

#include "util.h"
#include "ynode.h"

/* Nodes found wrong by the schema or by interpolation. */
struct compose_bad {
	const struct ynode **v;
	size_t n, alloc;
	int sorted;
};

void compose_bad_add(struct compose_bad *b, const struct ynode *n);
/* Cut every node of b out of root (with stand-ins where a hole would only
 * bring errors that are not the file's), then empty b. */
void compose_bad_prune(struct ynode *root, struct compose_bad *b);
void compose_bad_free(struct compose_bad *b);

/* The schema version docker reads root with ("3.13" when none is given);
 * caller frees. */
char *compose_schema_version(const struct ynode *root);
/* The minor version of a schema docker has ("3.0" .. "3.13"), else -1. */
int compose_schema_minor(const char *version, int *minor);

/* Check root (interpolated) against schema 3.minor; version is the text
 * shown in messages.  Each error goes to d and its node to bad. */
void compose_schema_check(const struct ynode *root, const char *version, int minor, struct diags *d,
			  struct compose_bad *bad);

/* The options of services stack deploy refuses (errors, removed from
 * root), ignores or calls deprecated (warnings; seen remembers which, over
 * all files, for the summary). */
struct compose_seen {
	unsigned unsupported, deprecated; /* bit i: the table's entry i */
};
void compose_schema_options(struct ynode *root, struct diags *d, struct compose_seen *seen);
/* docker's own summary lines of the ignored options seen. */
void compose_schema_summary(const struct compose_seen *seen, struct diags *d);

#endif
