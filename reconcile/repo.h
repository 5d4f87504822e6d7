/*
 * repo.h - a shoal repository on disk: stacks/STACK/NAME.yml (merged in
 * lexical order) with variables from vars.env at the top and in the stack
 * folder (the stack's own win).  Nothing is read from the environment of
 * the process, so every machine computes the same desired state.
 */
#ifndef SHOAL_REPO_H
#define SHOAL_REPO_H

#include "convert.h"
#include "objdata.h"

struct seal_key;
struct source;

#define REPO_VARS_FILE "vars.env"

struct repo_stack {
	char *name;
	struct desired *ds; /* NULL when the stack is invalid */
	json_t *inputs;	    /* Git sources, record_inputs: path -> fingerprint */
	int shared;	    /* ds belongs to the same_as repository */
	char *error;	    /* valid, but not applied: why (the planner's; NULL) */
	json_t *deps;	    /* x-shoal.depends_on: [{"name", "file", "line", "col"}] (waves.h) */
};

struct repo {
	struct repo_stack *stacks;
	size_t n;
};

struct repo_opts {
	const struct seal_key *key; /* opens sealed values; NULL = none */
	int check_only;		    /* without a key: check sealed files' form and scope */
	int record_inputs;	    /* note what each stack was made from (Git sources) */
	/* A repository loaded before with record_inputs (a review's base): a
	 * stack whose every input has the same fingerprint here is not read
	 * again, it shares that repository's desired state (same pointer). */
	const struct repo *same_as;
};

/* Load every stack; each invalid stack gets ds == NULL and its errors in d.
 * Returns -1 only when the repository itself cannot be read. */
int repo_load(const struct source *src, const struct repo_opts *o, struct repo *r, struct diags *d);
void repo_free(struct repo *r);

/* One stack's compose files, read already (a repository's stack folder, or
 * the files of `stack deploy`). */
struct stack_files {
	const char *stack;
	const struct compose_file *files;
	size_t n;
	json_t *vars;		   /* variables; NULL: the process environment */
	const char *workdir;	   /* relative paths start here */
	const struct source *src;  /* the repository, when it is one */
	int repo_mode;		   /* a repository's rules (convert_opts) */
	int keep_invalid;	   /* *ds even after errors, only for more checks */
	struct repo_stack *deps_into; /* a repository's stack: its x-shoal.depends_on go here (waves.h) */
};

/* Interpolate, merge and convert one stack (sealed values opened with
 * ro->key).  Returns 0, or -1 with the errors in d: *ds is then NULL,
 * unless sf->keep_invalid. */
int stack_load(const struct stack_files *sf, const struct repo_opts *ro, struct desired **ds, struct diags *d);

/* A loaded model (compose_load) as the stack's desired state: its secrets'
 * and configs' files read and opened with oo (objdata.h), then converted
 * with o (its data member is set here).  Returns 0, or -1 with the errors
 * in d: *ds is then NULL, unless o->keep_invalid. */
int stack_convert(const char *stack, const struct ynode *model, const struct objdata_opts *oo,
		  const struct convert_opts *o, struct desired **ds, struct diags *d);

/* files[0..n) loaded with co (compose_load), then stack_convert: what
 * stack_load does, for a caller with compose options of its own.  After
 * load errors the model is still converted, for more errors; *ds is then
 * NULL unless o->keep_invalid.  Returns 0, or -1 with the errors in d. */
int stack_compose(const char *stack, const struct compose_file *files, size_t n, const struct compose_opts *co,
		  const struct objdata_opts *oo, const struct convert_opts *o, struct desired **ds, struct diags *d);

/* vars.env: KEY=VALUE lines into a JSON object (later keys win); the
 * rules are envfile.h's (ENVFILE_VARS).  -1 when any line was refused. */
int vars_parse(const char *file, const char *data, size_t len, json_t *vars, struct diags *d);

/*
 * What interpolation reads: variables (a JSON object of strings, or the
 * process environment when vars is NULL) and ${sealed:PATH} values, opened
 * with key under scope STACK/NAME (NAME = PATH's file name less ".sealed").
 * Opened plaintexts live in opened until var_ctx_wipe.
 */
struct var_ctx {
	json_t *vars;
	const struct seal_key *key;
	int check_only;
	const char *stack;
	const struct compose_opts *co; /* workdir and confinement for PATH */
	struct strv opened;
};

const char *var_lookup(void *ctx, const char *name);
const char *var_sealed(void *ctx, const char *path, char **err);
void var_ctx_wipe(struct var_ctx *vc);

#endif
