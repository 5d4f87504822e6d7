/*
 * compose_merge.c - compose files merged into one (compose_merge.h).
 */
#include <stdlib.h>
#include <string.h>

#include "compose_merge.h"
#include "util.h"

static const char *list_merge_key(const char *key)
{
	if (!strcmp(key, "ports"))
		return "published";
	if (!strcmp(key, "secrets") || !strcmp(key, "configs"))
		return "source";
	if (!strcmp(key, "volumes"))
		return "target";
	return NULL;
}

static int cmp_keyed(const struct ynode *a, const struct ynode *b, const char *k)
{
	const char *x = ynode_str(ynode_get(a, k)), *y = ynode_str(ynode_get(b, k));
	if (!strcmp(k, "published")) {
		long long p = 0, q = 0;
		compose_parse_int(x, &p);
		compose_parse_int(y, &q);
		return p < q ? -1 : p > q;
	}
	return strcmp(x, y);
}

/* docker's mergeSlice: both lists become maps by the key (a later item
 * replaces an earlier one with the same key, in dst as in src), src over
 * dst, then a list sorted by the key (unique by then: any sort will do). */
static void merge_keyed_list(struct ynode *dst, const struct ynode *src, const char *k)
{
	size_t n = dst->n;
	struct ynode **items = dst->v;
	dst->v = NULL;
	dst->n = dst->alloc = 0;
	for (size_t pass = 0; pass < 2; pass++) {
		size_t cnt = pass ? src->n : n;
		for (size_t i = 0; i < cnt; i++) {
			struct ynode *it = pass ? ynode_clone(src->v[i]) : items[i];
			size_t j;
			for (j = 0; j < dst->n; j++)
				if (cmp_keyed(dst->v[j], it, k) == 0)
					break;
			if (j < dst->n) {
				ynode_free(dst->v[j]);
				dst->v[j] = it;
			} else {
				ynode_push(dst, it);
			}
		}
	}
	free(items);
	for (size_t i = 1; i < dst->n; i++) {
		struct ynode *x = dst->v[i];
		size_t j = i;
		while (j > 0 && cmp_keyed(dst->v[j - 1], x, k) > 0) {
			dst->v[j] = dst->v[j - 1];
			j--;
		}
		dst->v[j] = x;
	}
}

static void merge_node(struct ynode *dst, const struct ynode *src, const char *key, int depth);

static void merge_map(struct ynode *dst, const struct ynode *src, int depth)
{
	for (size_t i = 0; i < src->n; i++) {
		const char *k = ynode_str(src->k[i]);
		struct ynode *d = ynode_get(dst, k);
		if (!d || d->kind == Y_NULL || src->v[i]->kind != d->kind || src->v[i]->kind == Y_SCALAR) {
			if (src->v[i]->kind == Y_NULL && d)
				continue;
			ynode_set(dst, k, ynode_clone(src->v[i]), src->k[i]);
			continue;
		}
		merge_node(d, src->v[i], k, depth + 1);
	}
}

static void merge_node(struct ynode *dst, const struct ynode *src, const char *key, int depth)
{
	if (dst->kind == Y_MAP) {
		if (!strcmp(key, "logging")) {
			/* a different driver replaces the whole block */
			const char *a = ynode_str(ynode_get(dst, "driver"));
			const char *b = ynode_str(ynode_get(src, "driver"));
			if (*b && strcmp(a, b)) {
				while (dst->n)
					ynode_del(dst, ynode_str(dst->k[0]));
			}
		}
		merge_map(dst, src, depth);
		return;
	}
	if (dst->kind == Y_SEQ) {
		const char *k = depth == 1 ? list_merge_key(key) : NULL;
		if (k) {
			merge_keyed_list(dst, src, k);
			return;
		}
		if (!strcmp(key, "command") || !strcmp(key, "entrypoint") || !strcmp(key, "test")) {
			while (dst->n)
				ynode_free(dst->v[--dst->n]);
		}
		for (size_t i = 0; i < src->n; i++)
			ynode_push(dst, ynode_clone(src->v[i]));
	}
}

void compose_merge_files(struct ynode *base, const struct ynode *over)
{
	static const char *sections[] = {"networks", "volumes", "secrets", "configs"};
	struct ynode *bs = ynode_get(base, "services");
	const struct ynode *os = ynode_get(over, "services");
	if (os && os->kind == Y_MAP) {
		if (!bs || bs->kind != Y_MAP) {
			ynode_set(base, "services", ynode_clone(os), ynode_key(over, "services"));
		} else {
			for (size_t i = 0; i < os->n; i++) {
				const char *name = ynode_str(os->k[i]);
				struct ynode *b = ynode_get(bs, name);
				if (!b || b->kind != Y_MAP)
					ynode_set(bs, name, ynode_clone(os->v[i]), os->k[i]);
				else
					merge_map(b, os->v[i], 0);
			}
		}
	}
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		const struct ynode *o = ynode_get(over, sections[s]);
		if (!o || o->kind != Y_MAP)
			continue;
		struct ynode *b = ynode_get(base, sections[s]);
		if (!b || b->kind != Y_MAP) {
			ynode_set(base, sections[s], ynode_clone(o), ynode_key(over, sections[s]));
			continue;
		}
		for (size_t i = 0; i < o->n; i++)
			ynode_set(b, ynode_str(o->k[i]), ynode_clone(o->v[i]), o->k[i]);
	}
}

/* merge_map's depth argument: 0 for a service's own keys, so list keys at
 * depth 1 (ports, secrets ...) are the service-level lists. */
