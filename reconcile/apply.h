/*
 * apply.h - carry out a plan through the engine: the only stage that writes.
 */
#ifndef SHOAL_APPLY_H
#define SHOAL_APPLY_H

#include "docker.h"
#include "plan.h"

struct apply_result {
	unsigned long done, failed;
};

/* Execute ops in order.  A failed operation is reported on stderr and the
 * rest of its stack is skipped; other stacks go on.  Returns 0 when every
 * operation succeeded. */
int apply_plan(struct docker *dk, const struct plan *p, struct apply_result *res);

#endif
