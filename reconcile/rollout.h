/*
 * rollout.h - carry out a plan in waves (waves.h): each wave's stacks are
 * written once every stack they depend on has converged (its services'
 * tasks running - healthy, where a healthcheck exists - and its updates
 * completed), with each stack's hooks around its changes:
 *
 *   1. the stack's new networks, secrets and configs (what a hook may use);
 *   2. its pre-hooks (io.shoal.hook=pre), one after the other, each to
 *      completion: one that fails stops the stack here - none of its
 *      services is created, updated or removed;
 *   3. the rest of its changes;
 *   4. once the wave converged, its post-hooks.
 *
 * A hook runs only when its stack has changes: a new or changed hook
 * service runs as the engine runs any job written, an unchanged one is run
 * again (its ForceUpdate counter).  A stack whose dependency failed is not
 * written.  Stacks without changes cost nothing: no wait, no request.
 */
#ifndef SHOAL_ROLLOUT_H
#define SHOAL_ROLLOUT_H

#include <jansson.h>

#include "apply.h"
#include "docker.h"
#include "plan.h"
#include "repo.h"

struct rollout_opts {
	long long timeout_ns; /* a wave's convergence, a hook's run (0: 5 minutes) */
	int wait_last;	      /* wait for the last wave to converge too */
	/* asked between polls: 0 calls the rollout off there (the agent lost
	 * its lease, a newer commit came, it is stopping); what is waited for
	 * then fails ("called off"), nothing more is written */
	int (*hold)(void *ctx);
	void *ctx;
	const struct apply_report *report; /* each operation's outcome (apply.h), or NULL */
};

struct rollout_result {
	struct apply_result ar;
	/* per stack with changes: {"wave", "outcome": "applied" | "failed" |
	 * "skipped", "error", "hooks": [{"service", "phase", "outcome",
	 * "output"}]}; every text scrubbed */
	json_t *stacks;
	char *why; /* the first failure, scrubbed; NULL when none */
};

/* 0 when every stack of the plan was written (and converged where waited
 * for) and every hook succeeded; -1 otherwise, with res->why.  The failed
 * stacks of r get their error (repo_stack.error) unless they had one. */
int rollout_run(struct docker *dk, const struct plan *p, struct repo *r, const struct rollout_opts *o,
		struct rollout_result *res);
void rollout_result_free(struct rollout_result *res);

/* Demultiplex a container log stream (8-byte frame headers) into text,
 * keeping its last cap bytes; a stream without frames (a TTY) is taken as
 * it is.  Caller frees.  Exposed for unit tests. */
char *rollout_log_text(const char *data, size_t len, size_t cap);

#endif
