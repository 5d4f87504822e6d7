/*
 * cycle.h - the parts of one agent cycle (`shoal agent-cycle`, or
 * `shoal agent --once`), each in its own file:
 *
 *   cycle.c    fetch, lease, plan, apply, convergence wait, state lines
 *   gitsrc.c   the Git mirror of --repo and its credentials
 *   lease.c    one writer: the lease object in the swarm
 *   notify.c   --notify-url, --notify-webhook, the forge's commit status
 *   history.c  what became of each commit
 */
#ifndef SHOAL_CYCLE_H
#define SHOAL_CYCLE_H

#include "../forge/forge.h"
#include "../reconcile/docker.h"
#include "agent.h"

/* Fetch --branch of --repo into the mirror at --cache; its commit ID in
 * out.  0, or -1 with *err set (caller frees). */
int git_sync(struct agent *ag, char out[41], char **err);

/* Take or renew the lease (a renewal writes only past half the hold):
 * 1 when this agent is the writer, 0 when another one is. */
int lease_take(struct agent *ag, struct docker *dk);
/* Hand the lease over (expired now) if this agent still holds it. */
void lease_release(struct agent *ag, struct docker *dk);

/* Write this agent's history and convergence record (ag->history,
 * ag->converging) to the lease, if it still holds it: 0, or -1 when the
 * lease is lost or the engine refused (logged). */
int lease_record(struct agent *ag, struct docker *dk);

#define HISTORY_MAX 20
#define HISTORY_ERRORS 5 /* errors kept per entry; error_count has them all */
/* A history entry for commit (started: wall time, 0 for now). */
json_t *history_entry(const char *commit, const char *outcome, double started);
/* The first HISTORY_ERRORS of errs into e's errors, their number into
 * error_count. */
void history_errors(json_t *e, const struct strv *errs);
/* e (stolen) as the newest entry; the oldest beyond HISTORY_MAX go. */
void history_add(struct agent *ag, json_t *e);
/* The newest entry for commit (borrowed), NULL if none. */
json_t *history_find(struct agent *ag, const char *commit);
/* 1 for an outcome that is a failure (failed, rolled back, invalid). */
int history_failed(const json_t *e);
/* The first errors as one line, with how many there are in all. */
char *history_errors_text(const struct strv *errs);

/* POST text to --notify-url (scrubbed); best effort, failures logged. */
void notify(struct agent *ag, const char *text);
/* POST {"repo", "branch", "commit", "outcome", "stacks", "errors",
 * "error_count", "rolled_back_to"} to --notify-webhook, signed with
 * HMAC-SHA256 (X-Shoal-Signature: sha256=HEX); best effort. */
void notify_signed(struct agent *ag, const char *commit, const char *outcome, const struct strv *stacks,
		   const struct strv *errors, const char *rolled_back_to);
/* Set commit's status on --forge (text scrubbed and cut); best effort. */
void forge_status(struct agent *ag, const char *commit, enum forge_state st, const char *text);

/* One cycle: fetch, take the lease, reconcile what is due.  -1 when the
 * commit could not be fetched, the engine not reached or the commit
 * failed (--once). */
int cycle(struct agent *ag, struct docker **dkp, int drift_due, int follow_due);
/* The cycle's pipe to shoal-agentd (AGENT_STATE_FD), -1 with --once. */
extern int publish_fd;
/* Send the state as it is now, one JSON line on publish_fd. */
void publish(struct agent *ag);

#endif
