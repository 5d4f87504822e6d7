/*
 * ynode.h - YAML documents as a tree of nodes that remember where they came
 * from (file, line, column), so every later stage can name a position.
 *
 * Anchors and aliases are expanded (bounded: a document may expand to at
 * most YNODE_MAX_NODES nodes and YNODE_MAX_DEPTH levels) and `<<` merge
 * keys are applied, so consumers never see either.
 */
#ifndef SHOAL_YNODE_H
#define SHOAL_YNODE_H

#include <stddef.h>

#include "util.h"

#define YNODE_MAX_NODES 200000
#define YNODE_MAX_DEPTH 64

enum ynode_kind { Y_NULL, Y_SCALAR, Y_MAP, Y_SEQ };

/* Type of a scalar as the YAML core schema resolves a plain scalar. */
enum yscalar { YS_STR, YS_INT, YS_FLOAT, YS_BOOL };

struct ynode {
	enum ynode_kind kind;
	enum yscalar stype;	/* Y_SCALAR only */
	int interpolated;	/* text came from ${...} substitution */
	int sealed;		/* text holds an opened sealed value */
	char *s;		/* Y_SCALAR text */
	const char *file;	/* borrowed; outlives the tree */
	int line, col;		/* 1-based; 0 = synthesised */
	size_t n, alloc;
	struct ynode **v;	/* children (map values or seq items) */
	struct ynode **k;	/* map keys (scalars), Y_MAP only */
};

/* Parse the first document of data.  On error returns -1 and adds a
 * diagnostic naming file:line:column. */
int ynode_parse(const char *file, const char *data, size_t len, struct ynode **out,
		struct diags *d);
void ynode_free(struct ynode *n);

struct ynode *ynode_new(enum ynode_kind kind, const char *file, int line, int col);
struct ynode *ynode_new_str(const char *s, const struct ynode *pos);
struct ynode *ynode_clone(const struct ynode *n);

/* Map helpers.  Keys are compared as strings. */
struct ynode *ynode_get(const struct ynode *map, const char *key);
const struct ynode *ynode_key(const struct ynode *map, const char *key);
/* Set key to val (takes ownership of val), replacing an existing value. */
void ynode_set(struct ynode *map, const char *key, struct ynode *val, const struct ynode *keypos);
void ynode_del(struct ynode *map, const char *key);
void ynode_push(struct ynode *seq, struct ynode *item);

/* A scalar's text, "" for null. */
const char *ynode_str(const struct ynode *n);
const char *ynode_kind_name(const struct ynode *n);

/* A diagnostic at a node's file:line:column (at NULL: no position): the
 * one helper every stage that reports on a document uses. */
void diag_at(struct diags *d, enum diag_level lvl, const struct ynode *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
