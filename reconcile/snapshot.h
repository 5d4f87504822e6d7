/*
 * snapshot.h - the live state of the swarm that a plan starts from: what
 * the engine holds, read through its API (plan.c never talks to it).
 */
#ifndef SHOAL_SNAPSHOT_H
#define SHOAL_SNAPSHOT_H

#include <jansson.h>

#include "docker.h"
#include "util.h"

struct desired;

/*
 * What a snapshot reads: the objects of the stacks concerned (by label)
 * and the objects their desired states name, never the whole swarm, so
 * that the cost of a command follows its stacks, not the swarm.
 */
enum { SNAP_NETWORKS, SNAP_SECRETS, SNAP_CONFIGS };
struct snapshot_scope {
	const char *stack; /* one stack: every object of its namespace */
	/* and of its services those named "STACK_..." only: every service
	 * docker or shoal creates for the stack (the engine renames none),
	 * not one labelled so by hand under another name (docker stack
	 * deploy --prune and stack rm remove those too) */
	int svc_named;
	int managed;	   /* else every object labelled LABEL_MANAGED (a repository) */
	/* by SNAP_*: {name: true}, exact names (networks), or the start of
	 * names (secrets and configs: the engine matches them so, and
	 * case-insensitively, as it keeps them) */
	json_t *names[3];
	/* services whose names start so ("STACK_": what another tool deployed
	 * in a repository's stack) */
	json_t *svc_prefixes;
	/* the services the desired states declare: {name: stack}; the
	 * networks they declare: {name: true} */
	json_t *svc_names, *net_declared;
};

void snapshot_scope_init(struct snapshot_scope *sc);
void snapshot_scope_free(struct snapshot_scope *sc);
/* A stack's namespace by its names (repository mode): services, secrets
 * and configs "STACK_*", the network STACK_default. */
void snapshot_scope_add_stack(struct snapshot_scope *sc, const char *stack);
/* Every network, secret and config a desired state declares or its
 * services refer to, and "STACK_*" secrets and configs when it declares
 * some (the names it creates); its services' names (see svc_cover). */
void snapshot_scope_add(struct snapshot_scope *sc, const struct desired *ds);

/*
 * A snapshot of the swarm's objects: with sc NULL every service, secret,
 * config and network; else what sc says, read at once (one label and one
 * name request per kind, in parallel), plus the ingress network and the
 * networks the services read use.  When a service sc names is not among
 * those of its stack, the services whose names start as the stack's in
 * any case are read too (svc_cover), right after the services of the
 * label; when a network sc declares is not there, every network.  A plan
 * may need more before it is checked: swarm_widen.
 */
struct swarm_state {
	json_t *services, *secrets, *configs, *networks;
	json_t *net_names; /* network ID -> name */
	/* lowercased starts of names: the snapshot holds every service whose
	 * name starts so in any case (read when a declared service is not
	 * live: its create needs the name free, whatever the case), or NULL */
	json_t *svc_cover;
	int all_networks; /* every network of the swarm is held */
};

#define SNAP_MAX_JOBS 8
/* -1 with *err (and nothing held in st) when the engine could not be read. */
int swarm_fetch(struct docker *dk, const struct snapshot_scope *sc, struct swarm_state *st, char **err);
/* Every service and/or every network of the swarm added to the snapshot:
 * what the swarm-wide checks need when a plan creates objects or publishes
 * a new port (plan_wide_reads says when).  Of the services only those that
 * publish a port or whose lowercased name is a key of names (NULL: every
 * one) are kept, each to its name, labels and published ports. */
int swarm_widen(struct docker *dk, struct swarm_state *st, int services, int networks, const json_t *names,
		char **err);
/* Objects added to a snapshot (those it holds by ID are kept); either
 * list may be NULL.  -1 with *err when malformed. */
int snapshot_add(struct swarm_state *st, json_t *services, json_t *networks, char **err);
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
