/*
 * sync.h - the one pipeline: sources -> desired state -> image resolution
 * -> live snapshot -> plan -> apply.
 *
 * `shoal plan`, `shoal apply`, `shoal stack deploy`, the agent's cycle and
 * `shoal bootstrap swarm` all run it with a struct sync_opts: everything
 * the run depends on is in it (the key, the engine, the source, what may be
 * pruned), nothing in globals or the environment.  sync_plan loads and
 * plans; the caller looks at the plan (prints it, keeps part of it) and
 * hands it to sync_apply, the only stage that writes.
 */
#ifndef SHOAL_SYNC_H
#define SHOAL_SYNC_H

#include "apply.h"
#include "docker.h"
#include "plan.h"
#include "repo.h"
#include "resolve.h"

struct source;

struct seal_key;

struct sync_opts {
	struct docker *dk;	    /* the engine, opened by the caller */
	const struct seal_key *key; /* opens sealed values and keys their fingerprints; NULL: none */
	/* The source: a repository - the directory dir, or with rev that
	 * commit of the Git repository dir; path: its sub-folder holding
	 * stacks/ - ... */
	const char *dir, *rev, *path;
	/* ... or one stack's compose files, read already (stack deploy:
	 * docker's rules, nothing of other stacks is looked at). */
	const struct stack_files *files;
	int prune;		   /* repository: remove managed stacks it no longer has;
				    * files: the stack's services no longer in them */
	const char *only;	   /* this stack alone (never prunes the others) */
	const char *commit;	   /* labels what is written (LABEL_COMMIT), or NULL */
	const char *resolve;	   /* image resolution mode (resolve.h), NULL: never */
	struct follow *follow;	   /* the agent's follow-tag state, or NULL */
	const char *registry_auth; /* a docker config.json whose credentials the engine gets, or NULL */
	const struct strv *adopt;  /* stacks deployed by other means to take over, or NULL */
	int adopt_all;		   /* every such stack */
	const struct apply_report *report; /* where sync_apply's outcomes go (log.h's log_apply_report) */
};

/*
 * Load the source and plan it against the swarm: p gets the sorted
 * operations, r the stacks as loaded (an invalid one: ds NULL, or error
 * set by the planner), *invalid the number of stacks left out.  Returns 0,
 * or -1 when nothing can be planned (the source cannot be read, the
 * engine does not answer; with files, any error); r is then freed.
 * Diagnostics and what was left out are said through say() (util.h).
 */
int sync_plan(const struct sync_opts *o, struct plan *p, struct repo *r, int *invalid);

/* Carry out p (apply.h): 0 when every operation succeeded. */
int sync_apply(const struct sync_opts *o, const struct plan *p, struct apply_result *res);

/* The summary line of an apply: "Applied N operations (W write requests;
 * R read requests)[, some failed]." (caller frees). */
char *sync_summary(const struct sync_opts *o, const struct apply_result *res);

/* The files of a repository: the directory dir (its sub-folder path), or
 * with rev that commit of the Git repository dir; NULL after saying why. */
struct source *sync_source_open(const char *dir, const char *rev, const char *path);

/* rev when it names a commit by its full ID (what labels the objects
 * written), else NULL. */
const char *sync_commit_of(const char *rev);

#endif
