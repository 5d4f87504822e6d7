/*
 * sync.c - the pipeline's driver (sync.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../secrets/seal.h"
#include "log.h"
#include "regauth.h"
#include "source.h"
#include "sync.h"

const char *sync_commit_of(const char *rev)
{
	return rev && strlen(rev) == 40 && strspn(rev, "0123456789abcdef") == 40 ? rev : NULL;
}

/* Does msg name stack (as a whole word)? */
static int mentions(const char *msg, const char *stack)
{
	size_t l = strlen(stack);
	for (const char *p = strstr(msg, stack); p; p = strstr(p + 1, stack)) {
		int before = p == msg || p[-1] == ' ', after = p[l] == ' ' || p[l] == ':' || p[l] == ',';
		if (before && after)
			return 1;
	}
	return 0;
}

/* What the engine would refuse across the plan - names taken, ports
 * taken - said, and the stacks concerned left out (each gets the messages
 * that name it as its error).  Returns how many, -1 when the engine could
 * not be read. */
static int report_conflicts(struct docker *dk, struct plan *p, struct swarm_state *st, struct repo *r)
{
	/* the swarm-wide reads the checks need, when they need them */
	int ws, wn;
	char *err = NULL;
	plan_wide_reads(p, st, &ws, &wn);
	json_t *creates = plan_created_names(p);
	int wr = swarm_widen(dk, st, ws, wn, creates, &err);
	json_decref(creates);
	if (wr < 0) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		return -1;
	}
	struct strv errs = {0}, bad = {0};
	int n = plan_check_names(p, st, &errs, &bad);
	n += plan_check_ports(p, st, &errs, &bad);
	for (size_t i = 0; i < errs.n; i++)
		say(stderr, "error", NULL, "shoal: %s", errs.v[i]);
	for (size_t i = 0; i < bad.n; i++) {
		const char *f[] = {"stack", bad.v[i], NULL};
		say(stderr, "error", f, "shoal: stack %s is invalid: nothing of it will be applied", bad.v[i]);
		for (size_t k = 0; k < r->n; k++) {
			if (strcmp(r->stacks[k].name, bad.v[i]) || r->stacks[k].error)
				continue;
			struct buf b;
			buf_init(&b, 0);
			for (size_t e = 0; e < errs.n; e++)
				if (mentions(errs.v[e], bad.v[i]))
					buf_addf(&b, "%s%s", b.len ? "; " : "", errs.v[e]);
			r->stacks[k].error = buf_detach(&b);
		}
	}
	strv_free(&errs);
	strv_free(&bad);
	return n;
}

struct source *sync_source_open(const char *dir, const char *rev, const char *path)
{
	struct source *src = NULL;
	char *err = NULL;
	int r;
	if (rev) {
		r = source_git_new(&src, dir, rev, path, &err);
	} else if (path && *path) {
		char *d = xasprintf("%s/%s", dir, path);
		r = source_dir_new(&src, d, &err);
		free(d);
	} else {
		r = source_dir_new(&src, dir, &err);
	}
	if (r < 0) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		return NULL;
	}
	return src;
}

/* Sources -> desired state: the repository's stacks, or the one stack of
 * o->files (its ds kept after errors, for the engine's checks). */
static int load(const struct sync_opts *o, struct repo *r)
{
	struct repo_opts ro = {.key = o->key};
	struct diags d = {0};
	int rc;
	if (o->files) {
		memset(r, 0, sizeof *r);
		r->stacks = xcalloc(1, sizeof *r->stacks);
		r->n = 1;
		r->stacks[0].name = xstrdup(o->files->stack);
		rc = stack_load(o->files, &ro, &r->stacks[0].ds, &d);
	} else {
		struct source *src = sync_source_open(o->dir, o->rev, o->path);
		if (!src)
			return -1;
		rc = repo_load(src, &ro, r, &d);
		source_free(src);
	}
	diags_print(&d);
	diags_free(&d);
	return rc;
}

static int set_registry_auth(struct docker *dk, const char *file)
{
	char *err = NULL;
	char *warning = NULL;
	json_t *au = regauth_load(file, &warning, &err);
	if (warning)
		say(stderr, "warning", NULL, "warning: %s", warning);
	free(warning);
	if (!au) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		return -1;
	}
	docker_set_registry_auths(dk, au);
	json_decref(au);
	return 0;
}

/* stack deploy: one stack, docker's rules; any error and nothing is planned. */
static int plan_files(const struct sync_opts *o, struct plan *p, struct repo *r, int *invalid)
{
	struct desired *ds = r->stacks[0].ds;
	const char *stack = o->files->stack;
	struct swarm_state st = {0};
	struct live lv = {0};
	char *err = NULL;
	int ret = -1;
	if (o->registry_auth && set_registry_auth(o->dk, o->registry_auth) < 0)
		goto out;
	if (plan_for_engine(o->dk, ds, &err) < 0)
		goto out;
	/* the stack's objects and what it names, not the whole swarm */
	struct snapshot_scope sc;
	snapshot_scope_init(&sc);
	sc.stack = stack;
	sc.svc_named = !o->prune;
	snapshot_scope_add(&sc, ds);
	int fr = swarm_fetch(o->dk, &sc, &st, &err);
	snapshot_scope_free(&sc);
	if (fr < 0)
		goto out;
	live_select(&st, stack, &lv);
	resolve_images(o->dk, ds, &lv, o->resolve, NULL);
	unsigned char rkey[32];
	if (o->key)
		seal_redact_key(o->key, rkey);
	struct plan_opts po = {.prune_services = o->prune, .redact_key = o->key ? rkey : NULL};
	int pr = plan_stack(p, ds, stack, &lv, &po, &err);
	sodium_memzero(rkey, sizeof rkey);
	if (pr < 0)
		goto out;
	*invalid = report_conflicts(o->dk, p, &st, r);
	if (*invalid < 0) {
		*invalid = 0;
		goto out;
	}
	plan_sort(p);
	ret = 0;
out:
	if (err)
		say(stderr, "error", NULL, "shoal: %s", err);
	free(err);
	live_free(&lv);
	swarm_state_free(&st);
	return ret;
}

/* A stack the repository names but something else deployed: taken over
 * only when asked (never pruned: nothing of it is managed).  0 to go on
 * planning rs, -1 when it is left out. */
static int foreign(const struct sync_opts *o, struct plan *p, struct repo_stack *rs, const struct live *lv)
{
	json_t *what = NULL;
	if (!plan_foreign(lv, &what))
		return 0;
	int adopt = o->adopt_all;
	for (size_t k = 0; o->adopt && k < o->adopt->n; k++)
		adopt |= !strcmp(o->adopt->v[k], rs->name);
	plan_add_conflict(p, rs->name, what, adopt);
	char *t = plan_conflict_text(json_array_get(p->conflicts, json_array_size(p->conflicts) - 1));
	const char *f[] = {"stack", rs->name, NULL};
	say(stderr, adopt ? "warning" : "error", f, "shoal: %s", t);
	if (!adopt) {
		rs->error = t;
		return -1;
	}
	free(t);
	return 0;
}

/* Every stack of the repository and, with prune, every managed stack the
 * swarm has: resolved, planned; what cannot be is left out. */
static int plan_repo(const struct sync_opts *o, struct plan *p, struct repo *r, int *invalid)
{
	char *err = NULL;
	int ret = 0, prune = o->prune;
	if (o->registry_auth && set_registry_auth(o->dk, o->registry_auth) < 0)
		return -1;
	json_t *pending = json_object(), *keep = json_object();
	for (size_t i = 0; i < r->n; i++) {
		const char *k;
		json_t *v;
		if (!r->stacks[i].ds)
			continue;
		json_object_foreach(r->stacks[i].ds->networks, k, v)
			json_object_set_new(pending, k, json_true());
		json_object_foreach(r->stacks[i].ds->ext_networks, k, v)
			json_object_set_new(keep, k, json_true());
	}
	unsigned char rkey[32];
	if (o->key)
		seal_redact_key(o->key, rkey);
	/* what shoal did not write is never removed, whatever the stack */
	struct plan_opts po = {.prune_all = prune, .pending_networks = pending, .keep_networks = keep,
			       .redact_key = o->key ? rkey : NULL, .managed_only = 1, .commit = o->commit};
	/* what this repository manages, and what its stacks name (another
	 * tool's objects in a stack's namespace, names taken, external ones):
	 * never the rest of the swarm; --stack: that stack's namespace */
	struct snapshot_scope sc;
	snapshot_scope_init(&sc);
	if (o->only) /* (what it prunes is managed: shoal named it) */
		sc.stack = o->only, sc.svc_named = 1;
	else
		sc.managed = 1;
	for (size_t i = 0; i < r->n; i++) {
		if (o->only && strcmp(o->only, r->stacks[i].name))
			continue;
		if (!o->only)
			snapshot_scope_add_stack(&sc, r->stacks[i].name);
		if (r->stacks[i].ds)
			snapshot_scope_add(&sc, r->stacks[i].ds);
	}
	struct swarm_state st;
	struct strv names = {0};
	int fr = swarm_fetch(o->dk, &sc, &st, &err);
	snapshot_scope_free(&sc);
	if (fr < 0) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		ret = -1;
		goto out;
	}
	for (size_t i = 0; i < r->n; i++)
		if (!o->only || !strcmp(o->only, r->stacks[i].name))
			strv_push(&names, xstrdup(r->stacks[i].name));
	if (o->only && !names.n) {
		say(stderr, "error", NULL, "shoal: no stack %s in %s", o->only, o->dir);
		ret = -1;
	}
	if (prune && !o->only) /* --stack: that stack only, never the others */
		swarm_managed_stacks(&st, &names);
	strv_sort(&names);
	for (size_t i = 0; i < names.n; i++) {
		if (i && !strcmp(names.v[i], names.v[i - 1]))
			continue;
		struct repo_stack *rs = NULL;
		for (size_t k = 0; k < r->n; k++)
			if (!strcmp(r->stacks[k].name, names.v[i]))
				rs = &r->stacks[k];
		if (rs && !rs->ds) {
			const char *f[] = {"stack", rs->name, NULL};
			say(stderr, "error", f, "shoal: stack %s is invalid: nothing of it will be applied", rs->name);
			(*invalid)++;
			continue;
		}
		if (rs && plan_for_engine(o->dk, rs->ds, &err) < 0) {
			const char *f[] = {"stack", rs->name, NULL};
			say(stderr, "error", f, "shoal: stack %s: %s", names.v[i], err);
			say(stderr, "error", f, "shoal: stack %s is invalid: nothing of it will be applied", names.v[i]);
			free(err);
			err = NULL;
			(*invalid)++;
			continue;
		}
		struct live lv;
		live_select(&st, names.v[i], &lv);
		if (rs && foreign(o, p, rs, &lv) < 0) {
			(*invalid)++;
			live_free(&lv);
			continue;
		}
		if (rs)
			resolve_images(o->dk, rs->ds, &lv, o->resolve, o->follow);
		if (plan_stack(p, rs ? rs->ds : NULL, names.v[i], &lv, &po, &err) < 0) {
			const char *f[] = {"stack", names.v[i], NULL};
			say(stderr, "error", f, "shoal: stack %s: %s", names.v[i], err);
			if (rs)
				rs->error = err;
			else
				free(err);
			err = NULL;
			(*invalid)++;
		}
		live_free(&lv);
	}
	for (size_t k = 0; o->adopt && k < o->adopt->n; k++) {
		int found = 0;
		size_t ci;
		json_t *c;
		json_array_foreach(p->conflicts, ci, c)
			found |= !strcmp(json_string_value(json_object_get(c, "stack")), o->adopt->v[k]);
		if (!found)
			say(stderr, "warning", NULL,
			    "shoal: --adopt %s: no stack %s deployed by other means here: nothing to adopt", o->adopt->v[k],
			    o->adopt->v[k]);
	}
	int nc = report_conflicts(o->dk, p, &st, r);
	if (nc < 0)
		ret = -1;
	else
		*invalid += nc;
	swarm_state_free(&st);
	plan_sort(p);
out:
	strv_free(&names);
	sodium_memzero(rkey, sizeof rkey);
	json_decref(pending);
	json_decref(keep);
	return ret;
}

int sync_plan(const struct sync_opts *o, struct plan *p, struct repo *r, int *invalid)
{
	*invalid = 0;
	memset(r, 0, sizeof *r);
	int rc = load(o, r);
	if (o->files && rc < 0) {
		/* and the engine's own rules, when it answers: nothing is
		 * written, but nothing is left for a second run to find */
		char *err = NULL;
		if (r->stacks[0].ds && plan_for_engine(o->dk, r->stacks[0].ds, &err) < 0)
			say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
	}
	if (rc < 0) {
		repo_free(r);
		return -1;
	}
	rc = o->files ? plan_files(o, p, r, invalid) : plan_repo(o, p, r, invalid);
	if (rc < 0)
		repo_free(r);
	return rc;
}

int sync_apply(const struct sync_opts *o, const struct plan *p, struct apply_result *res)
{
	return apply_plan(o->dk, p, o->report, res);
}

char *sync_summary(const struct sync_opts *o, const struct apply_result *res)
{
	const struct docker_stats *st = docker_stats(o->dk);
	return xasprintf("Applied %lu operation%s (%lu write request%s; %lu read request%s)%s.", res->done,
			 res->done == 1 ? "" : "s", st->writes, st->writes == 1 ? "" : "s", st->reads,
			 st->reads == 1 ? "" : "s", res->failed ? ", some failed" : "");
}
