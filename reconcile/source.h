/*
 * source.h - where a repository's files come from: a directory on disk or a
 * Git tree (libgit2 tree objects: no work tree, nothing to check out).
 * Paths are relative to the source root, '/'-separated, already normalised
 * (source_join does that and refuses to leave the root).
 */
#ifndef SHOAL_SOURCE_H
#define SHOAL_SOURCE_H

#include <stddef.h>

#include <jansson.h>

#include "util.h"

struct source;

/* A directory.  prefix is shown before paths in messages ("repo/"). */
int source_dir_new(struct source **out, const char *root, char **err);
/* A commit of a Git repository (path: a bare or non-bare repository),
 * rev anything git rev-parse accepts; sub an optional sub-path inside the
 * tree that becomes the root ("" or NULL for the whole tree). */
int source_git_new(struct source **out, const char *repo_path, const char *rev, const char *sub, char **err);
void source_free(struct source *s);

/* Sorted names in dir ("" = root): want SOURCE_FILES (regular files),
 * SOURCE_DIRS or SOURCE_LINKS (symbolic links, never followed). */
enum { SOURCE_FILES = 0, SOURCE_DIRS = 1, SOURCE_LINKS = 2 };
int source_list(const struct source *s, const char *dir, int want, struct strv *out);
/* Read a regular file; symlinks and anything else are refused.  -1 with
 * *err (caller frees). */
int source_read(const struct source *s, const char *path, size_t cap, char **data, size_t *len, char **err);
/* The text to show before a path in messages. */
const char *source_prefix(const struct source *s);
/* The commit ID of a Git source, NULL for a directory. */
const char *source_commit(const struct source *s);

/*
 * What a desired state was made from, for a review to tell a stack whose
 * inputs did not change (Git sources only; no-ops for a directory).
 * source_fingerprint: "MODE:OBJECT-ID" of path (a file or a directory) in
 * the commit, "" when absent, NULL for a directory source.  While into is
 * set, every source_read records its path and fingerprint there (absent
 * files too: one that appears later is a change); NULL stops.
 */
char *source_fingerprint(const struct source *s, const char *path);
void source_record(const struct source *s, json_t *into);

/* Join base and rel, resolve "." and "..": NULL when rel is absolute or
 * leaves the root. */
char *source_join(const char *base, const char *rel);

#endif
