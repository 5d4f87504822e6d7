/*
 * bootstrap.h - shoal bootstrap: the gateway and the floating IP from the
 * inventory (bootstrap.c, with inventory.h, render.h, netns.h, atomic.h),
 * and the swarm (bootswarm.c: probe the engines, plan as data, print,
 * execute; the agent's stack through reconcile/sync.h).
 */
#ifndef SHOAL_BOOTSTRAP_H
#define SHOAL_BOOTSTRAP_H

#include "inventory.h"

int cmd_bootstrap(int argc, char **argv);

struct bootstrap_opts {
	const char *file, *root, *node;
	int dry_run;
};

/* The options every bootstrap command takes; -1 on a usage error. */
int bootstrap_parse(int argc, char **argv, struct bootstrap_opts *o, int want_node);
/* Load o->file, printing its diagnostics; -1 when invalid. */
int bootstrap_load(const struct bootstrap_opts *o, struct inventory *inv);

/* shoal bootstrap swarm (bootswarm.c) */
int bootstrap_swarm(int argc, char **argv);

#endif
