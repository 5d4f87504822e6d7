/*
 * waves.c - dependencies between stacks (x-shoal.depends_on), their
 * checks, and the waves a rollout goes out in.
 */
#include "waves.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "util.h"

static int in_strv(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return 1;
	return 0;
}

static json_t *dep_at(const char *name, const struct ynode *pos)
{
	return json_pack("{s:s, s:s, s:i, s:i}", "name", name, "file", pos->file ? pos->file : "", "line", pos->line,
			 "col", pos->col);
}

/* msg is taken (an xasprintf text). */
static void err_at(struct diags *d, const struct ynode *pos, char *msg)
{
	diags_add(d, DIAG_ERROR, pos ? pos->file : NULL, pos ? pos->line : 0, pos ? pos->col : 0, "%s", msg);
	free(msg);
}

const char *waves_hook(const json_t *spec)
{
	const char *h = json_string_value(json_object_get(json_object_get(spec, "Labels"), LABEL_HOOK));
	return h && (!strcmp(h, "pre") || !strcmp(h, "post")) ? h : NULL;
}

/* The place a service is written at in the merged model (its key). */
static const struct ynode *service_pos(const struct ynode *model, const char *stack, const char *full)
{
	const struct ynode *svcs = ynode_get(model, "services");
	size_t l = strlen(stack);
	const char *shortname = strlen(full) > l + 1 && !strncmp(full, stack, l) && full[l] == '_' ? full + l + 1 : full;
	const struct ynode *k = svcs ? ynode_key(svcs, shortname) : NULL;
	return k ? k : svcs ? svcs : model;
}

int waves_parse(const struct ynode *model, const struct desired *ds, struct repo_stack *st, struct diags *d)
{
	size_t before = d->nerrors;
	json_decref(st->deps);
	st->deps = json_array();
	const struct ynode *x = model ? ynode_get(model, X_SHOAL) : NULL;
	if (x && x->kind == Y_MAP) {
		for (size_t i = 0; i < x->n; i++) {
			const char *key = ynode_str(x->k[i]);
			const struct ynode *v = x->v[i];
			if (strcmp(key, "depends_on")) {
				err_at(d, x->k[i], xasprintf("%s.%s: unknown key (x-shoal has depends_on)", X_SHOAL, key));
				continue;
			}
			if (v->kind == Y_NULL)
				continue;
			if (v->kind != Y_SEQ) {
				err_at(d, v, xasprintf("%s.%s must be a list of stack names", X_SHOAL, key));
				continue;
			}
			for (size_t k = 0; k < v->n; k++) {
				const struct ynode *e = v->v[k];
				const char *name = e->kind == Y_SCALAR ? e->s : NULL;
				if (!name || !*name) {
					err_at(d, e, xasprintf("%s.%s: each item must be a stack name", X_SHOAL, key));
					continue;
				}
				int dup = 0;
				size_t j;
				json_t *o;
				json_array_foreach(st->deps, j, o)
					dup |= !strcmp(json_string_value(json_object_get(o, "name")), name);
				if (dup)
					err_at(d, e, xasprintf("%s.depends_on: %s is listed twice", X_SHOAL, name));
				else
					json_array_append_new(st->deps, dep_at(name, e));
			}
		}
	} else if (x && x->kind != Y_NULL) {
		err_at(d, x, xasprintf("%s must be a mapping (depends_on: [STACK, ...])", X_SHOAL));
	}
	/* hooks: a run-to-completion job, before or after */
	const char *k;
	json_t *spec;
	json_object_foreach(ds ? ds->services : NULL, k, spec) {
		const char *h = json_string_value(json_object_get(json_object_get(spec, "Labels"), LABEL_HOOK));
		if (!h)
			continue;
		const struct ynode *pos = service_pos(model, st->name, k);
		if (!waves_hook(spec))
			err_at(d, pos, xasprintf("service %s: label " LABEL_HOOK " must be pre or post, not \"%s\"", k, h));
		else if (!json_object_get(json_object_get(spec, "Mode"), "ReplicatedJob"))
			err_at(d, pos, xasprintf("service %s: a hook (" LABEL_HOOK "=%s) must be a replicated-job (deploy.mode)", k, h));
	}
	return d->nerrors > before ? -1 : 0;
}

static struct repo_stack *find(struct repo *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->stacks[i].name, name))
			return &r->stacks[i];
	return NULL;
}

/* msg is taken. */
static void dep_error(struct diags *d, const json_t *dep, char *msg)
{
	const char *file = json_string_value(json_object_get(dep, "file"));
	diags_add(d, DIAG_ERROR, file && *file ? file : NULL, (int)json_integer_value(json_object_get(dep, "line")),
		  (int)json_integer_value(json_object_get(dep, "col")), "%s", msg);
	free(msg);
}

static void invalidate(struct repo_stack *st)
{
	if (!st->shared)
		desired_free(st->ds);
	st->ds = NULL;
	st->shared = 0;
}

/* Depth-first: 0 white, 1 on the path, 2 done.  A back edge is a cycle:
 * said at the dependency that closes it, with the path. */
static void visit(struct repo *r, size_t i, int *color, size_t *path, size_t depth, int *bad, struct diags *d,
		  int *errors)
{
	color[i] = 1;
	path[depth] = i;
	size_t k;
	json_t *dep;
	json_array_foreach(r->stacks[i].deps, k, dep) {
		struct repo_stack *t = find(r, json_string_value(json_object_get(dep, "name")));
		if (!t)
			continue;
		size_t j = (size_t)(t - r->stacks);
		if (color[j] == 1) {
			struct buf b;
			buf_init(&b, 0);
			size_t from = 0;
			while (path[from] != j)
				from++;
			for (size_t p = from; p <= depth; p++) {
				buf_addf(&b, "%s -> ", r->stacks[path[p]].name);
				bad[path[p]] = 1;
			}
			buf_addf(&b, "%s", t->name);
			dep_error(d, dep, xasprintf("%s.depends_on: a cycle: %s", X_SHOAL, b.data));
			buf_free(&b);
			(*errors)++;
		} else if (color[j] == 0) {
			visit(r, j, color, path, depth + 1, bad, d, errors);
		}
	}
	color[i] = 2;
}

int waves_check(struct repo *r, struct diags *d)
{
	int errors = 0;
	int *bad = xcalloc(r->n + 1, sizeof *bad), *color = xcalloc(r->n + 1, sizeof *color);
	size_t *path = xcalloc(r->n + 1, sizeof *path);
	for (size_t i = 0; i < r->n; i++) {
		size_t k;
		json_t *dep;
		json_array_foreach(r->stacks[i].deps, k, dep) {
			const char *name = json_string_value(json_object_get(dep, "name"));
			if (!find(r, name)) {
				dep_error(d, dep, xasprintf("%s.depends_on: no stack %s in this repository (stacks/%s)", X_SHOAL, name, name));
				bad[i] = 1;
				errors++;
			}
		}
	}
	for (size_t i = 0; i < r->n; i++)
		if (!color[i])
			visit(r, i, color, path, 0, bad, d, &errors);
	for (size_t i = 0; i < r->n; i++)
		if (bad[i])
			invalidate(&r->stacks[i]);
	/* a stack waiting on an invalid one waits for nothing that comes:
	 * it is left out too, saying why (until nothing changes) */
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < r->n; i++) {
			size_t k;
			json_t *dep;
			if (!r->stacks[i].ds)
				continue;
			json_array_foreach(r->stacks[i].deps, k, dep) {
				struct repo_stack *t = find(r, json_string_value(json_object_get(dep, "name")));
				if (t && !t->ds && r->stacks[i].ds) {
					dep_error(d, dep, xasprintf(X_SHOAL ".depends_on: stack %s is invalid: %s waits for it and is not applied either",
						  t->name, r->stacks[i].name));
					invalidate(&r->stacks[i]);
					errors++;
					changed = 1;
				}
			}
		}
	}
	free(bad);
	free(color);
	free(path);
	return errors;
}

static int level(const struct repo *r, const struct repo_stack *st, int depth)
{
	int lv = 1;
	size_t k;
	json_t *dep;
	if (depth > (int)r->n)
		return 1; /* a cycle (refused by waves_check) */
	json_array_foreach(st->deps, k, dep) {
		const char *name = json_string_value(json_object_get(dep, "name"));
		for (size_t i = 0; i < r->n; i++)
			if (!strcmp(r->stacks[i].name, name)) {
				int l = 1 + level(r, &r->stacks[i], depth + 1);
				lv = l > lv ? l : lv;
			}
	}
	return lv;
}

int waves_level(const struct repo *r, const char *stack)
{
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->stacks[i].name, stack))
			return level(r, &r->stacks[i], 0);
	return 1;
}

json_t *waves_json(const struct plan *p, const struct repo *r)
{
	json_t *out = json_array();
	struct strv stacks = {0};
	int maxw = 0;
	for (size_t i = 0; i < p->n; i++)
		if (!in_strv(&stacks, p->ops[i].stack)) {
			strv_push(&stacks, xstrdup(p->ops[i].stack));
			int w = waves_level(r, p->ops[i].stack);
			maxw = w > maxw ? w : maxw;
		}
	strv_sort(&stacks);
	for (int w = 1; w <= maxw; w++) {
		json_t *list = json_array();
		for (size_t s = 0; s < stacks.n; s++) {
			if (waves_level(r, stacks.v[s]) != w)
				continue;
			json_t *after = json_array(), *pre = json_array(), *post = json_array();
			for (size_t i = 0; r && i < r->n; i++) {
				if (strcmp(r->stacks[i].name, stacks.v[s]))
					continue;
				size_t k;
				json_t *dep;
				json_array_foreach(r->stacks[i].deps, k, dep)
					json_array_append(after, json_object_get(dep, "name"));
				const char *name;
				json_t *spec;
				json_object_foreach(r->stacks[i].ds ? r->stacks[i].ds->services : NULL, name, spec) {
					const char *h = waves_hook(spec);
					if (h)
						json_array_append_new(!strcmp(h, "pre") ? pre : post, json_string(name));
				}
			}
			json_array_append_new(list, json_pack("{s:s, s:o, s:{s:o, s:o}}", "stack", stacks.v[s], "after", after,
							      "hooks", "pre", pre, "post", post));
		}
		if (json_array_size(list))
			json_array_append_new(out, json_pack("{s:i, s:o}", "wave", w, "stacks", list));
		else
			json_decref(list);
	}
	strv_free(&stacks);
	return out;
}

void waves_print_text(const json_t *waves)
{
	size_t i, k;
	json_t *w, *s;
	int worth = json_array_size(waves) > 1;
	json_array_foreach(waves, i, w)
		json_array_foreach(json_object_get(w, "stacks"), k, s) {
			json_t *h = json_object_get(s, "hooks");
			worth |= json_array_size(json_object_get(h, "pre")) || json_array_size(json_object_get(h, "post"));
		}
	if (!worth)
		return;
	printf("Rollout order:\n");
	json_array_foreach(waves, i, w) {
		printf("  wave %d:", (int)json_integer_value(json_object_get(w, "wave")));
		json_array_foreach(json_object_get(w, "stacks"), k, s) {
			printf("%s %s", k ? "," : "", json_string_value(json_object_get(s, "stack")));
			json_t *after = json_object_get(s, "after"), *h = json_object_get(s, "hooks");
			struct buf b;
			buf_init(&b, 0);
			size_t j;
			json_t *x;
			json_array_foreach(after, j, x)
				buf_addf(&b, "%s%s", j ? ", " : "after ", json_string_value(x));
			static const char *ph[] = {"pre", "post"};
			for (size_t p = 0; p < 2; p++)
				json_array_foreach(json_object_get(h, ph[p]), j, x)
					buf_addf(&b, "%s%s-hook %s", b.len ? "; " : "", ph[p], json_string_value(x));
			if (b.len)
				printf(" (%s)", b.data);
			buf_free(&b);
		}
		printf("\n");
	}
}
