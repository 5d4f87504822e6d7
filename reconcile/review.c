/*
 * review.c - compare two desired states.  The document:
 * {
 *   "stacks": [ { "name", "action": create|update|remove,
 *                 "services": [ {"name", "action", "restarts", "changes": [{path, old, new}]} ],
 *                 "networks": [ {"name", "action"} ], "secrets": [...], "configs": [...],
 *                 "ports_opened": ["8080/tcp host"], "ports_closed": [...] } ],
 *   "invalid": ["stack", ...]
 * }
 * Only stacks with a change appear.  Secret and config entries carry their
 * names (content-derived from hashes, never values): action create, remove
 * or rotate (same logical object, new content), or refused (an object
 * with name: whose content changed: its stack is listed as invalid).
 * Environment values that are sealed at base or at head show as
 * KEY=(sealed FINGERPRINT), and the document is scrubbed of every
 * plaintext registered (scrub.h).
 */
#include "review.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "scrub.h"

static const struct desired *find_stack(const struct repo *r, const char *name, int *present)
{
	*present = 0;
	for (size_t i = 0; r && i < r->n; i++)
		if (!strcmp(r->stacks[i].name, name)) {
			*present = 1;
			return r->stacks[i].ds;
		}
	return NULL;
}

static json_t *entry(const char *name, const char *action)
{
	json_t *e = json_object();
	json_object_set_new(e, "name", json_string(name));
	json_object_set_new(e, "action", json_string(action));
	return e;
}

static void compare_plain(json_t *out, const json_t *a, const json_t *b)
{
	size_t n;
	const char **k = json_sorted_keys(b, &n);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(a, k[i]))
			json_array_append_new(out, entry(k[i], "create"));
	free(k);
	k = json_sorted_keys(a, &n);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(b, k[i]))
			json_array_append_new(out, entry(k[i], "remove"));
	free(k);
}

static const char *logical(const json_t *obj)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(obj, "spec"), "Labels"), LABEL_LOGICAL));
}

static const char *by_logical(const json_t *objs, const char *lname)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)objs, k, v) {
		const char *l = logical(v);
		if (l && !strcmp(l, lname))
			return k;
	}
	return NULL;
}

static const char *content_of(const json_t *obj)
{
	return json_string_value(
		json_object_get(json_object_get(json_object_get(obj, "spec"), "Labels"), LABEL_CONTENT));
}

/* Returns how many named objects (name:) changed content: the engine
 * refuses that, so apply would leave the stack out. */
static int compare_files(json_t *out, const json_t *a, const json_t *b)
{
	size_t n;
	int refused = 0;
	const char **k = json_sorted_keys(b, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *was = json_object_get(a, k[i]), *now = json_object_get(b, k[i]);
		if (was && json_is_true(json_object_get(now, "named")) && content_of(was) && content_of(now) &&
		    strcmp(content_of(was), content_of(now))) {
			json_t *e = entry(k[i], "refused");
			json_object_set_new(e, "object", json_string(k[i]));
			json_array_append_new(out, e);
			refused++;
		}
		if (was)
			continue;
		const char *l = logical(json_object_get(b, k[i]));
		const char *old = l ? by_logical(a, l) : NULL;
		json_t *e = entry(l ? l : k[i], old ? "rotate" : "create");
		json_object_set_new(e, "object", json_string(k[i]));
		json_array_append_new(out, e);
	}
	free(k);
	k = json_sorted_keys(a, &n);
	for (size_t i = 0; i < n; i++) {
		if (json_object_get(b, k[i]))
			continue;
		const char *l = logical(json_object_get(a, k[i]));
		if (l && by_logical(b, l))
			continue; /* reported as rotated */
		json_t *e = entry(l ? l : k[i], "remove");
		json_object_set_new(e, "object", json_string(k[i]));
		json_array_append_new(out, e);
	}
	free(k);
	return refused;
}

/* "8080/tcp host" for every published port of a spec. */
static void ports_of(const json_t *spec, json_t *set)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(json_object_get(spec, "EndpointSpec"), "Ports"), i, p) {
		json_int_t pub = json_integer_value(json_object_get(p, "PublishedPort"));
		if (!pub)
			continue;
		const char *proto = json_string_value(json_object_get(p, "Protocol"));
		const char *mode = json_string_value(json_object_get(p, "PublishMode"));
		char *k = xasprintf("%lld/%s %s", (long long)pub, proto && *proto ? proto : "tcp",
				    mode && *mode ? mode : "ingress");
		json_object_set_new(set, k, json_true());
		free(k);
	}
}

/* The environment keys of service name that hold sealed values at base
 * or at head (a value sealed on one side only is still a sealed value). */
static json_t *sealed_keys(const struct desired *a, const struct desired *b, const char *name)
{
	json_t *k = json_object();
	if (a)
		json_object_update(k, json_object_get(a->sealed_env, name));
	if (b)
		json_object_update(k, json_object_get(b->sealed_env, name));
	return k;
}

static void compare_services(json_t *st, const struct desired *da, const struct desired *db,
			     const unsigned char *rkey)
{
	static json_t *none;
	if (!none)
		none = json_object();
	const json_t *a = da ? da->services : none, *b = db ? db->services : none;
	json_t *svcs = json_array(), *pa = json_object(), *pb = json_object();
	json_t *names = json_object();
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v) {
		json_object_set_new(names, k, json_true());
		ports_of(v, pa);
	}
	json_object_foreach((json_t *)b, k, v) {
		json_object_set_new(names, k, json_true());
		ports_of(v, pb);
	}
	size_t n;
	const char **keys = json_sorted_keys(names, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_object_get(a, keys[i]), *y = json_object_get(b, keys[i]);
		if (!x || !y) {
			json_array_append_new(svcs, entry(keys[i], x ? "remove" : "create"));
			continue;
		}
		/* the same desired spec: nothing to normalise and compare (most
		 * services of most reviews) */
		if (json_equal(x, y))
			continue;
		json_t *nx = plan_normalize_desired(x), *ny = plan_normalize_desired(y);
		json_t *ch = plan_diff_specs(ny, nx, 1);
		json_decref(nx);
		json_decref(ny);
		if (rkey) {
			json_t *sk = sealed_keys(da, db, keys[i]);
			plan_redact_changes(ch, sk, rkey);
			json_decref(sk);
		}
		if (!json_array_size(ch)) {
			json_decref(ch);
			continue;
		}
		int restarts = 0;
		size_t j;
		json_t *c;
		json_array_foreach(ch, j, c)
			restarts |= str_has_prefix(json_string_value(json_object_get(c, "path")), "TaskTemplate.");
		json_t *e = entry(keys[i], "update");
		json_object_set_new(e, "restarts", json_boolean(restarts));
		json_object_set_new(e, "changes", ch);
		json_array_append_new(svcs, e);
	}
	free(keys);
	json_t *opened = json_array(), *closed = json_array();
	keys = json_sorted_keys(pb, &n);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(pa, keys[i]))
			json_array_append_new(opened, json_string(keys[i]));
	free(keys);
	keys = json_sorted_keys(pa, &n);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(pb, keys[i]))
			json_array_append_new(closed, json_string(keys[i]));
	free(keys);
	json_object_set_new(st, "services", svcs);
	json_object_set_new(st, "ports_opened", opened);
	json_object_set_new(st, "ports_closed", closed);
	json_decref(pa);
	json_decref(pb);
	json_decref(names);
}

json_t *review_compare(const struct repo *base, const struct repo *head, const unsigned char *rkey)
{
	json_t *rv = json_object(), *stacks = json_array(), *invalid = json_array();
	json_t *names = json_object();
	for (size_t i = 0; base && i < base->n; i++)
		json_object_set_new(names, base->stacks[i].name, json_true());
	for (size_t i = 0; head && i < head->n; i++)
		json_object_set_new(names, head->stacks[i].name, json_true());
	size_t n;
	const char **keys = json_sorted_keys(names, &n);
	static json_t *empty;
	if (!empty)
		empty = json_object();
	for (size_t i = 0; i < n; i++) {
		int in_a, in_b;
		const struct desired *a = find_stack(base, keys[i], &in_a), *b = find_stack(head, keys[i], &in_b);
		if (in_b && !b) {
			json_array_append_new(invalid, json_string(keys[i]));
			continue;
		}
		if (a && a == b)
			continue; /* made from the same inputs (repo_opts.same_as) */
		json_t *st = json_object();
		json_object_set_new(st, "name", json_string(keys[i]));
		json_object_set_new(st, "action", json_string(!a ? "create" : !b ? "remove" : "update"));
		json_t *nets = json_array(), *secs = json_array(), *cfgs = json_array();
		compare_plain(nets, a ? a->networks : empty, b ? b->networks : empty);
		/* a named object's new content: the engine refuses it, the
		 * stack is invalid at head as far as applying goes */
		if (compare_files(secs, a ? a->secrets : empty, b ? b->secrets : empty) +
		    compare_files(cfgs, a ? a->configs : empty, b ? b->configs : empty))
			json_array_append_new(invalid, json_string(keys[i]));
		json_object_set_new(st, "networks", nets);
		json_object_set_new(st, "secrets", secs);
		json_object_set_new(st, "configs", cfgs);
		compare_services(st, a, b, rkey);
		int any = json_array_size(nets) || json_array_size(secs) || json_array_size(cfgs) ||
			  json_array_size(json_object_get(st, "services"));
		if (any)
			json_array_append_new(stacks, st);
		else
			json_decref(st);
	}
	free(keys);
	json_decref(names);
	json_object_set_new(rv, "stacks", stacks);
	json_object_set_new(rv, "invalid", invalid);
	scrub_json(rv);
	return rv;
}

int review_has_changes(const json_t *rv)
{
	return json_array_size(json_object_get(rv, "stacks")) > 0;
}

static char *show(const json_t *v)
{
	if (!v || json_is_null(v))
		return xstrdup("(none)");
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

static const char *sym(const char *action)
{
	return !strcmp(action, "create") ? "+" : !strcmp(action, "remove") ? "-" : "~";
}

void review_print_text(const json_t *rv, int color)
{
	const char *z = color ? "\033[0m" : "";
	size_t i;
	json_t *st;
	json_array_foreach(json_object_get(rv, "stacks"), i, st) {
		printf("stack %s (%s)\n", json_string_value(json_object_get(st, "name")),
		       json_string_value(json_object_get(st, "action")));
		static const char *kinds[] = {"networks", "secrets", "configs", "services"};
		for (int k = 0; k < 4; k++) {
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(st, kinds[k]), j, e) {
				const char *a = json_string_value(json_object_get(e, "action"));
				const char *c = !color ? "" : *sym(a) == '+' ? "\033[32m" : *sym(a) == '-' ? "\033[31m" : "\033[33m";
				printf("  %s%s %.*s %s%s%s%s\n", c, sym(a), (int)strlen(kinds[k]) - 1, kinds[k],
				       json_string_value(json_object_get(e, "name")),
				       !strcmp(a, "rotate") ? " (rotated: content changed)" :
				       !strcmp(a, "refused") ? " (content changed under name: the engine cannot change it: rename it or drop name:)" : "",
				       json_is_true(json_object_get(e, "restarts")) ? " (restarts tasks)" : "", z);
				size_t m;
				json_t *ch;
				json_array_foreach(json_object_get(e, "changes"), m, ch) {
					char *o = show(json_object_get(ch, "old")), *nw = show(json_object_get(ch, "new"));
					printf("      %s: %s \xe2\x86\x92 %s\n", json_string_value(json_object_get(ch, "path")), o, nw);
					free(o);
					free(nw);
				}
			}
		}
		size_t j;
		json_t *pt;
		json_array_foreach(json_object_get(st, "ports_opened"), j, pt)
			printf("  port opened: %s\n", json_string_value(pt));
		json_array_foreach(json_object_get(st, "ports_closed"), j, pt)
			printf("  port closed: %s\n", json_string_value(pt));
	}
	json_array_foreach(json_object_get(rv, "invalid"), i, st)
		printf("stack %s is INVALID at head: run shoal validate\n", json_string_value(st));
	if (!review_has_changes(rv))
		printf("No changes in desired state.\n");
}

/* Markdown text of a JSON value inside a table cell or code span. */
static void md_code(struct buf *o, const json_t *v)
{
	char *s = show(v);
	for (char *p = s; *p; p++)
		if (*p == '`')
			*p = '\'';
	buf_addf(o, "`%s`", s);
	free(s);
}

void review_markdown(const json_t *rv, struct buf *o)
{
	size_t screate = 0, supdate = 0, sremove = 0, restart = 0, rotated = 0, sgone = 0;
	struct buf opened, closed;
	buf_init(&opened, 0);
	buf_init(&closed, 0);
	size_t i;
	json_t *st;
	json_array_foreach(json_object_get(rv, "stacks"), i, st) {
		const char *sn = json_string_value(json_object_get(st, "name"));
		sgone += !strcmp(json_string_value(json_object_get(st, "action")), "remove");
		size_t j;
		json_t *e;
		json_array_foreach(json_object_get(st, "services"), j, e) {
			const char *a = json_string_value(json_object_get(e, "action"));
			screate += !strcmp(a, "create");
			supdate += !strcmp(a, "update");
			sremove += !strcmp(a, "remove");
			restart += json_is_true(json_object_get(e, "restarts"));
		}
		json_array_foreach(json_object_get(st, "secrets"), j, e)
			rotated += !strcmp(json_string_value(json_object_get(e, "action")), "rotate");
		json_array_foreach(json_object_get(st, "configs"), j, e)
			rotated += !strcmp(json_string_value(json_object_get(e, "action")), "rotate");
		json_array_foreach(json_object_get(st, "ports_opened"), j, e)
			buf_addf(&opened, "%s`%s` (%s)", opened.len ? ", " : "", json_string_value(e), sn);
		json_array_foreach(json_object_get(st, "ports_closed"), j, e)
			buf_addf(&closed, "%s`%s` (%s)", closed.len ? ", " : "", json_string_value(e), sn);
	}
	buf_addf(o, "### shoal plan\n\n");
	if (json_array_size(json_object_get(rv, "invalid"))) {
		buf_addf(o, "> **Invalid stacks at head** (nothing of them would be applied):");
		json_array_foreach(json_object_get(rv, "invalid"), i, st)
			buf_addf(o, " `%s`", json_string_value(st));
		buf_addf(o, "\n\n");
	}
	if (!review_has_changes(rv)) {
		buf_addf(o, "No changes in desired state.\n");
		buf_free(&opened);
		buf_free(&closed);
		return;
	}
	buf_addf(o, "| | |\n|---|---|\n");
	buf_addf(o, "| services created | %zu |\n| services updated | %zu (%zu restart tasks) |\n| services removed | %zu |\n",
	       screate, supdate, restart, sremove);
	buf_addf(o, "| secrets/configs rotated | %zu |\n| stacks removed | %zu |\n", rotated, sgone);
	buf_addf(o, "| ports opened | %s |\n| ports closed | %s |\n\n", opened.len ? opened.data : "none",
	       closed.len ? closed.data : "none");
	buf_free(&opened);
	buf_free(&closed);
	json_array_foreach(json_object_get(rv, "stacks"), i, st) {
		buf_addf(o, "<details><summary>stack <b>%s</b> (%s)</summary>\n\n", json_string_value(json_object_get(st, "name")),
		       json_string_value(json_object_get(st, "action")));
		static const char *kinds[] = {"networks", "secrets", "configs", "services"};
		for (int k = 0; k < 4; k++) {
			size_t j;
			json_t *e;
			json_array_foreach(json_object_get(st, kinds[k]), j, e) {
				const char *a = json_string_value(json_object_get(e, "action"));
				buf_addf(o, "- **%s** %.*s `%s`%s%s\n", a, (int)strlen(kinds[k]) - 1, kinds[k],
				       json_string_value(json_object_get(e, "name")),
				       json_is_true(json_object_get(e, "restarts")) ? " (restarts tasks)" : "",
				       !strcmp(a, "refused") ? " (content changed under `name:`: the engine cannot change it; rename it or drop `name:`)" : "");
				size_t m;
				json_t *ch;
				json_array_foreach(json_object_get(e, "changes"), m, ch) {
					buf_addf(o, "  - `%s`: ", json_string_value(json_object_get(ch, "path")));
					md_code(o, json_object_get(ch, "old"));
					buf_addf(o, " \xe2\x86\x92 ");
					md_code(o, json_object_get(ch, "new"));
					buf_addf(o, "\n");
				}
			}
		}
		buf_addf(o, "\n</details>\n\n");
	}
}

void review_print_markdown(const json_t *rv)
{
	struct buf b;
	buf_init(&b, 0);
	review_markdown(rv, &b);
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}
