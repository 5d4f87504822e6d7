/*
 * compose.h - the compose model: files parsed with positions, interpolated,
 * checked against the compose v3 schema, normalised to long syntax and
 * merged the way `docker stack deploy` merges several -c files.
 *
 * The result is one ynode tree in a canonical shape (see compose.c, "the
 * normalised shape") that convert.c turns into Swarm API objects.
 *
 * compose.c owns the driver (compose_load), interpolation and file access;
 * compose_schema.c the schema table and its check; compose_normalize.c
 * the long syntax; compose_merge.c the merge.  Only compose.h is public.
 */
#ifndef SHOAL_COMPOSE_H
#define SHOAL_COMPOSE_H

#include <stddef.h>

#include "interp.h"
#include "util.h"
#include "ynode.h"

struct source;

#define COMPOSE_MAX_FILE (8u << 20) /* largest compose, env or object file */

struct compose_file {
	const char *name; /* path shown in messages; must outlive the model */
	const char *data;
	size_t len;
};

struct compose_opts {
	interp_lookup_fn lookup; /* variables for interpolation */
	interp_sealed_fn sealed; /* ${sealed:PATH} in environment values, or NULL */
	void *lookup_ctx;
	const char *workdir;	 /* env_file and file: paths are relative to it */
	const struct source *src; /* if set: workdir is inside it, paths may not leave it */
};

/* Load and merge files[0..n).  Every problem is added to d; returns -1 when
 * any error was found, else 0.  *out is the merged model either way (NULL
 * when no file could be parsed): after errors, with the wrong parts cut
 * out, only for finding the remaining errors (convert_stack), never to be
 * applied. */
int compose_load(const struct compose_file *files, size_t n, const struct compose_opts *o,
		 struct ynode **out, struct diags *d);

/* Resolve path (relative to o->workdir) and read it; with a source, through
 * it, refusing absolute paths and paths that leave it.  Adds an error at pos
 * and returns -1 on failure. */
int compose_read_rel(const struct compose_opts *o, const char *path, const struct ynode *pos,
		     struct diags *d, char **data, size_t *len);
/* The same, and in *shown (caller frees) the path to show for the file
 * read: the repository's path in a repository, else the one opened. */
int compose_read_rel_shown(const struct compose_opts *o, const char *path, const struct ynode *pos,
			   struct diags *d, char **data, size_t *len, char **shown);

/* Scalar conversions used by the loader and the converter. */
int compose_parse_bool(const char *s, int *out);
int compose_parse_bytes(const char *s, long long *out);
/* The boolean at key k of map m (normalised); 0 when absent or not one. */
int compose_get_bool(const struct ynode *m, const char *k);
/* A scalar's text the way Go's fmt.Sprint prints the YAML value (null:
 * ""); caller frees. */
char *compose_scalar_text(const struct ynode *n);

#endif
