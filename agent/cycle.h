/*
 * cycle.h - the parts of one agent cycle (`shoal agent-cycle`, or
 * `shoal agent --once`), each in its own file:
 *
 *   cycle.c    fetch, lease, plan, apply, convergence wait, state lines
 *   gitsrc.c   the Git mirror of --repo and its credentials
 *   lease.c    one writer: the lease object in the swarm
 *   notify.c   --notify-url
 */
#ifndef SHOAL_CYCLE_H
#define SHOAL_CYCLE_H

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

/* POST text to --notify-url (scrubbed); best effort, failures logged. */
void notify(struct agent *ag, const char *text);

/* One cycle: fetch, take the lease, reconcile what is due.  -1 when the
 * commit could not be fetched, the engine not reached or the commit
 * failed (--once). */
int cycle(struct agent *ag, struct docker **dkp, int drift_due, int follow_due);
/* The cycle's pipe to shoal-agentd (AGENT_STATE_FD), -1 with --once. */
extern int publish_fd;
/* Send the state as it is now, one JSON line on publish_fd. */
void publish(struct agent *ag);

#endif
