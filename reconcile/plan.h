/*
 * plan.h - the difference between a desired state and a live snapshot
 * (snapshot.h), and the ordered operations that make the swarm match.
 */
#ifndef SHOAL_PLAN_H
#define SHOAL_PLAN_H

#include <jansson.h>

#include "convert.h"
#include "docker.h"
#include "snapshot.h"

enum op_kind { OP_CREATE, OP_UPDATE, OP_REMOVE };
enum obj_kind { K_NETWORK, K_SECRET, K_CONFIG, K_SERVICE };

struct op {
	enum op_kind op;
	enum obj_kind kind;
	char *stack;
	char *name;
	char *id;	  /* live object (update/remove) */
	long long version; /* live version (update) */
	json_t *spec;	  /* create/update body */
	json_t *changes;  /* array of {"path","old","new"} for updates */
	char *prev_update; /* service update: live UpdateStatus.StartedAt before it */
	int early;	   /* service update/remove that frees a port another op publishes */
	int over_stale;	   /* network create where the node lists a copy the cluster removed */
};

struct plan {
	struct op *ops;
	size_t n, alloc;
	struct strv pending_prune; /* described, not executed (--no-prune) */
	/* stacks deployed by other means (plan_foreign), in the order added:
	 * [{"stack", "objects": {"services": [names], ...}, "adopted"}] */
	json_t *conflicts;
};

struct plan_opts {
	int prune_services;	  /* stack deploy --prune */
	int prune_all;		  /* repo mode: remove what the repo no longer has */
	const json_t *pending_networks; /* names other stacks of this plan create */
	const json_t *keep_networks;	/* names some desired stack still uses */
	int remove_all;			/* stack rm: every object of the namespace */
	const unsigned char *redact_key; /* 32 bytes keying sealed-value fingerprints, or NULL */
	const char *commit;		 /* labels the services this plan writes (LABEL_COMMIT), or NULL */
	int managed_only;		 /* repo mode: nothing without LABEL_MANAGED is removed, ever */
};

/*
 * The desired state fitted to the engine it goes to, before anything is
 * planned: fields its API version does not know are dropped (it ignores
 * them, and every plan would then see a change), and what it would
 * refuse at create time - a mount type it does not have, an IPAM driver
 * that is no plugin of it - is said in *err (-1): the stack is left out
 * before its first write.
 */
int plan_for_engine(struct docker *dk, struct desired *ds, char **err);

/* Append the operations for one stack (ds NULL = the stack is gone: with
 * o->remove_all everything of it, else its managed objects when pruning). */
int plan_stack(struct plan *p, const struct desired *ds, const char *stack, const struct live *lv,
	       const struct plan_opts *o, char **err);
/*
 * Which swarm-wide reads the checks below need beyond a scoped snapshot
 * (swarm_widen): every service when the plan creates one whose name the
 * snapshot does not cover (it must be free, whatever the case:
 * swarm_state.svc_cover) or writes a published port that no service of the
 * snapshot holds so that nothing outside could clash; every network when
 * it creates one.
 */
void plan_wide_reads(const struct plan *p, const struct swarm_state *st, int *services, int *networks);
/* The lowercased names of the services the plan creates: {name: true}
 * (what swarm_widen keeps of the services that publish no port). */
json_t *plan_created_names(const struct plan *p);
/*
 * Published ports across the whole plan, before any write (call after the
 * last plan_stack, before plan_sort).  A port the engine would refuse
 * because another service - live, or created by this plan - publishes it
 * (either of them in ingress mode) makes that stack's operations leave the
 * plan: one message per conflict is added to errs, each bad stack's name
 * to bad_stacks.  A service update or removal that frees a port another
 * operation publishes is marked early: it runs first (a renamed service
 * keeps its port).  Returns the number of stacks taken out.
 */
int plan_check_ports(struct plan *p, const struct swarm_state *st, struct strv *errs, struct strv *bad_stacks);
/*
 * Names the engine would refuse at create, across the whole plan (call
 * after the last plan_stack): its names are unique and case-insensitive,
 * so a service, network, secret or config this plan creates must not
 * match another object - live, outside the stack or in another, or
 * created by another operation - but by the same name written the same
 * way (an existing network is taken as it is).  The stacks concerned
 * leave the plan whole, as plan_check_ports does.  Returns how many.
 */
int plan_check_names(struct plan *p, const struct swarm_state *st, struct strv *errs, struct strv *bad_stacks);

/*
 * A stack deployed by other means (docker stack deploy, shoal stack
 * deploy): its namespace holds objects and none of them carries
 * LABEL_MANAGED (a node's stale network copy does not count).  Returns
 * how many objects, and their names by kind in *what ({"services":
 * [...], "networks": [...], ...}, caller's), or 0 and *what NULL.
 */
size_t plan_foreign(const struct live *lv, json_t **what);
/* Note such a stack in the plan (what is taken); adopted: planned anyway. */
void plan_add_conflict(struct plan *p, const char *stack, json_t *what, int adopted);
/* Stacks in conflict and not adopted. */
size_t plan_conflicts_open(const struct plan *p);
/* One line saying what the conflict of entry c is (caller frees). */
char *plan_conflict_text(const json_t *c);

/* Sort operations into apply order. */
void plan_sort(struct plan *p);
void plan_free(struct plan *p);
/* Free what one operation holds (not the op itself). */
void plan_op_free(struct op *o);

/* Render: text (color when color != 0) or JSON. */
void plan_print_text(const struct plan *p, int color);
void plan_print_json(const struct plan *p);
/* The same with one more member key: extra (e.g. the rollout's waves). */
void plan_print_json_with(const struct plan *p, const char *key, json_t *extra);

/* Show every environment entry of changes ({path, old, new}) whose key is
 * in sealed ({KEY: true}) as KEY=(sealed FINGERPRINT), the fingerprint
 * keyed with rkey (32 bytes; NULL: no fingerprint), wherever the change
 * holds an environment (the Env list itself or an object around it). */
void plan_redact_changes(json_t *changes, const json_t *sealed, const unsigned char *rkey);

/* Exposed for unit tests: the field differences of two service specs. */
json_t *plan_diff_specs(json_t *desired, json_t *live, int symmetric);
/* Normalise both sides (defaults, network names, zero values) and diff:
 * the comparison plan uses to decide on an update. */
json_t *plan_compare_specs(const json_t *desired, const json_t *live_spec, const json_t *net_names,
			   int symmetric);
/* A desired spec in the canonical form comparisons use (defaults filled,
 * zero values dropped); caller owns the result. */
json_t *plan_normalize_desired(const json_t *spec);
/* Fill engine defaults into a desired ServiceSpec (in place). */
void plan_fill_defaults(json_t *spec);
/* Hash label value for a desired spec. */
char *plan_spec_hash(const json_t *spec);

#endif
