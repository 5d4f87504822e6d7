/*
 * apply.h - carry out a plan through the engine: the only stage that
 * writes.  It prints nothing: each operation's outcome, and each retry,
 * goes to the caller's reporter (log.h's log_apply shows them).
 */
#ifndef SHOAL_APPLY_H
#define SHOAL_APPLY_H

#include "docker.h"
#include "plan.h"
#include "util.h"

struct apply_result {
	unsigned long done, failed;
};

enum apply_event_kind {
	APPLY_DONE,   /* op succeeded */
	APPLY_FAILED, /* op failed (err): the rest of its stack is skipped */
	APPLY_RETRY,  /* what failed for a transient reason (err); tried again in delay s */
	APPLY_STALE,  /* a service update met a newer version (err): retried with a fresh one */
};

struct apply_event {
	enum apply_event_kind kind;
	const struct op *op;
	const char *what; /* RETRY, STALE: the request, as "create NAME" */
	const char *err;
	double delay;
};

/* Where outcomes go.  DONE and FAILED come in plan order, from the calling
 * thread; RETRY and STALE as they happen, from the worker threads too. */
struct apply_report {
	void (*fn)(void *ctx, const struct apply_event *ev);
	void *ctx;
};

/* Execute ops in order.  A failed operation ends its stack: the rest of it
 * is skipped; other stacks go on.  rep may be NULL.  Returns 0 when every
 * operation succeeded. */
int apply_plan(struct docker *dk, const struct plan *p, const struct apply_report *rep, struct apply_result *res);
/* The same; the stacks that had a failed operation are added to failed. */
int apply_plan_stacks(struct docker *dk, const struct plan *p, const struct apply_report *rep, struct apply_result *res,
		      struct strv *failed);

#endif
