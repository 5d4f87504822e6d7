/*
 * snapshot.h - the live state of the swarm that a plan starts from: what
 * the engine holds, read through its API (plan.c never talks to it).
 */
#ifndef SHOAL_SNAPSHOT_H
#define SHOAL_SNAPSHOT_H

#include <jansson.h>

#include "docker.h"
#include "util.h"

/*
 * A snapshot of the swarm's objects, read once (four list requests
 * whatever the number of stacks): every service, secret, config and
 * network (those outside any stack too: their names are taken).
 */
struct swarm_state {
	json_t *services, *secrets, *configs, *networks;
	json_t *net_names; /* network ID -> name */
};

int swarm_fetch(struct docker *dk, struct swarm_state *st, char **err);
/* A snapshot from the four lists (references taken, even on error): -1
 * with *err when any is not what the engine sends (an array of objects
 * with IDs and specs). */
int swarm_state_init(struct swarm_state *st, json_t *services, json_t *secrets, json_t *configs, json_t *networks,
		     char **err);
void swarm_state_free(struct swarm_state *st);
/* Stacks that have any object labelled LABEL_MANAGED, sorted, added to out
 * (no duplicates). */
void swarm_managed_stacks(const struct swarm_state *st, struct strv *out);

/* The live objects of one stack: new references into a snapshot. */
struct live {
	json_t *services, *networks, *secrets, *configs; /* this stack's */
	const json_t *all_networks;			   /* borrowed */
	const json_t *net_names;			   /* borrowed */
	const json_t *all_secrets, *all_configs;	   /* borrowed */
};

void live_select(const struct swarm_state *st, const char *stack, struct live *lv);
void live_free(struct live *lv);

#endif
