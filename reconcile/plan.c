/*
 * plan.c - compare desired and live state; produce ordered operations.
 *
 * Knowing that nothing changed: the desired spec carries a hash of itself in
 * a label (LABEL_HASH), and is compared field by field with the live spec
 * after both are normalised (engine defaults filled into the desired side,
 * network IDs mapped to names, zero values dropped).  An update is planned
 * when any field differs; the hash label being one of the compared labels,
 * a change in the repository always shows, while engine defaults this code
 * does not know of (fields only the live side has) never cause a write.
 */
#include "plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "scrub.h"
#include "util.h"

#include <sodium.h>

#include "../secrets/seal.h"

static const char *kind_name(enum obj_kind k);

/* Labels of an object: networks keep them at the top, the rest in Spec. */
static json_t *obj_labels(const json_t *obj, int spec)
{
	return spec ? json_object_get(json_object_get(obj, "Spec"), "Labels") : json_object_get(obj, "Labels");
}

/* ---------------- normalisation ---------------- */

static int is_zero(const json_t *v)
{
	if (!v || json_is_null(v) || json_is_false(v))
		return 1;
	if (json_is_integer(v))
		return json_integer_value(v) == 0;
	if (json_is_real(v))
		return json_real_value(v) == 0;
	if (json_is_string(v))
		return json_string_length(v) == 0;
	if (json_is_array(v))
		return json_array_size(v) == 0;
	if (json_is_object(v))
		return json_object_size(v) == 0;
	return 0;
}

/* Drop zero values recursively (like Go's omitempty on both sides). */
static void prune_zero(json_t *v)
{
	if (json_is_object(v)) {
		const char *k;
		json_t *x;
		void *tmp;
		json_object_foreach_safe(v, tmp, k, x) {
			prune_zero(x);
			if (is_zero(x))
				json_object_del(v, k);
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			prune_zero(x);
	}
}

static json_t *jpath(json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? json_object_get(x, b) : x;
}

static json_t *ensure(json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_object(x)) {
		x = json_object();
		json_object_set_new(o, k, x);
	}
	return x;
}

static void default_str(json_t *o, const char *k, const char *v)
{
	const char *s = json_string_value(json_object_get(o, k));
	if (!s || !*s)
		json_object_set_new(o, k, json_string(v));
}

void plan_fill_defaults(json_t *spec)
{
	json_t *tt = ensure(spec, "TaskTemplate");
	json_t *cs = ensure(tt, "ContainerSpec");
	default_str(cs, "Isolation", "default");
	default_str(tt, "Runtime", "container");
	json_t *ep = ensure(spec, "EndpointSpec");
	default_str(ep, "Mode", "vip");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(ep, "Ports"), i, p) {
		default_str(p, "Protocol", "tcp");
		default_str(p, "PublishMode", "ingress");
	}
	static const char *ucs[] = {"UpdateConfig", "RollbackConfig"};
	for (int k = 0; k < 2; k++) {
		json_t *u = json_object_get(spec, ucs[k]);
		if (json_is_object(u)) {
			default_str(u, "FailureAction", "pause");
			default_str(u, "Order", "stop-first");
		}
	}
	json_t *rp = json_object_get(tt, "RestartPolicy");
	if (json_is_object(rp))
		default_str(rp, "Condition", "any");
	json_t *rep = jpath(spec, "Mode", "Replicated");
	if (json_is_object(rep) && !json_object_get(rep, "Replicas"))
		json_object_set_new(rep, "Replicas", json_integer(1));
	/* the engine's job defaults: one at a time, as many completions as
	 * run at once (without them every plan saw a job service change) */
	json_t *job = jpath(spec, "Mode", "ReplicatedJob");
	if (json_is_object(job)) {
		json_int_t mc = json_integer_value(json_object_get(job, "MaxConcurrent"));
		if (mc < 1)
			json_object_set_new(job, "MaxConcurrent", json_integer(mc = 1));
		if (json_integer_value(json_object_get(job, "TotalCompletions")) < 1)
			json_object_set_new(job, "TotalCompletions", json_integer(mc));
	}
}

/* Empty mode variants ("Global": {}) would vanish as zero values. */
static void mark_mode(json_t *spec)
{
	json_t *m = json_object_get(spec, "Mode");
	const char *k;
	json_t *v;
	json_object_foreach(m, k, v)
		if (json_is_object(v) && json_object_size(v) == 0)
			json_object_set_new(m, k, json_true());
}

static json_t *normalize_live(const json_t *spec, const json_t *net_names)
{
	json_t *s = json_deep_copy(spec);
	json_t *tt = json_object_get(s, "TaskTemplate");
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(tt, "Networks"), i, n) {
		const char *t = json_string_value(json_object_get(n, "Target"));
		const char *nm = t ? json_string_value(json_object_get(net_names, t)) : NULL;
		if (nm)
			json_object_set_new(n, "Target", json_string(nm));
	}
	json_t *cs = json_object_get(tt, "ContainerSpec");
	/* a credential spec's config by name, as the desired spec has it */
	json_t *cred = json_object_get(json_object_get(cs, "Privileges"), "CredentialSpec");
	const char *cc = json_string_value(json_object_get(cred, "Config"));
	json_array_foreach(json_object_get(cs, "Configs"), i, n)
		if (cc && json_is_string(json_object_get(n, "ConfigName")) &&
		    json_equal(json_object_get(n, "ConfigID"), json_object_get(cred, "Config"))) {
			json_object_set(cred, "Config", json_object_get(n, "ConfigName"));
			break;
		}
	json_array_foreach(json_object_get(cs, "Secrets"), i, n)
		json_object_del(n, "SecretID");
	json_array_foreach(json_object_get(cs, "Configs"), i, n)
		json_object_del(n, "ConfigID");
	mark_mode(s);
	prune_zero(s);
	return s;
}

json_t *plan_normalize_desired(const json_t *spec)
{
	json_t *s = json_deep_copy(spec);
	plan_fill_defaults(s);
	mark_mode(s);
	prune_zero(s);
	return s;
}

/* ---------------- diff ---------------- */

static int map_like(const char *key)
{
	return !strcmp(key, "Labels") || !strcmp(key, "Options") || !strcmp(key, "Sysctls") ||
	       !strcmp(key, "DriverOpts") || !strcmp(key, "Mode");
}

static int scalar_eq(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	return json_equal((json_t *)a, (json_t *)b);
}

static void add_change(json_t *changes, const char *path, const json_t *old, const json_t *new)
{
	json_t *c = json_object();
	json_object_set_new(c, "path", json_string(path));
	json_object_set(c, "old", old ? (json_t *)old : json_null());
	json_object_set(c, "new", new ? (json_t *)new : json_null());
	json_array_append_new(changes, c);
}

static int all_scalars(const json_t *a)
{
	size_t i;
	json_t *x;
	json_array_foreach(a, i, x)
		if (json_is_object(x) || json_is_array(x))
			return 0;
	return 1;
}

static void diff(const char *path, const char *key, json_t *d, json_t *l, int symmetric, json_t *changes)
{
	if (!d && !l)
		return;
	if (json_is_object(d) && json_is_object(l)) {
		int sym = symmetric || map_like(key);
		const char *k;
		json_t *v;
		json_object_foreach(d, k, v) {
			char *p = path_join(path, k);
			diff(p, k, v, json_object_get(l, k), sym, changes);
			free(p);
		}
		if (sym) {
			json_object_foreach(l, k, v) {
				if (json_object_get(d, k))
					continue;
				char *p = path_join(path, k);
				add_change(changes, p, v, NULL);
				free(p);
			}
		}
		return;
	}
	if (!d) {
		if (symmetric)
			add_change(changes, path, l, NULL);
		return;
	}
	if (json_is_array(d) && json_is_array(l) && json_array_size(d) == json_array_size(l) && !all_scalars(d)) {
		size_t i;
		json_t *x;
		json_array_foreach(d, i, x) {
			char *p = xasprintf("%s[%zu]", path, i);
			diff(p, key, x, json_array_get(l, i), symmetric, changes);
			free(p);
		}
		return;
	}
	if (json_is_array(d) && json_is_array(l)) {
		if (!json_equal(d, l))
			add_change(changes, path, l, d);
		return;
	}
	if (!l || !scalar_eq(d, l))
		add_change(changes, path, l, d);
}

json_t *plan_diff_specs(json_t *desired, json_t *live, int symmetric)
{
	json_t *changes = json_array();
	diff("", "", desired, live, symmetric, changes);
	return changes;
}

json_t *plan_compare_specs(const json_t *desired, const json_t *live_spec, const json_t *net_names,
			   int symmetric)
{
	json_t *nd = plan_normalize_desired(desired);
	json_t *nl = normalize_live(live_spec, net_names);
	json_t *c = plan_diff_specs(nd, nl, symmetric);
	json_decref(nd);
	json_decref(nl);
	return c;
}

char *plan_spec_hash(const json_t *spec)
{
	char *s = json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT);
	char hex[65];
	sha256_hex(s, strlen(s), hex);
	free(s);
	return xstrndup(hex, 16);
}

/* ---------------- operations ---------------- */

/* "KEY=value" -> "KEY=(sealed 1a2b3c4d5e6f)": a keyed fingerprint, so a
 * change shows without the value, and guessing needs the private key. */
static json_t *redact_env(const json_t *env, const json_t *sealed, const unsigned char *rkey)
{
	json_t *out = json_array();
	size_t i;
	json_t *e;
	json_array_foreach((json_t *)env, i, e) {
		const char *s = json_string_value(e);
		const char *eq = s ? strchr(s, '=') : NULL;
		char *k = eq ? xstrndup(s, (size_t)(eq - s)) : NULL;
		if (k && json_object_get(sealed, k)) {
			char hex[13];
			seal_redact_fp(rkey, eq + 1, strlen(eq + 1), hex);
			char *r = xasprintf("%s=(sealed%s%s)", k, rkey ? " " : "", hex);
			json_array_append_new(out, json_string(r));
			free(r);
		} else {
			json_array_append(out, e);
		}
		free(k);
	}
	return out;
}

/* v as a plan shows it: the environment it is (env) or holds, at any
 * depth (a change of a whole ContainerSpec, say), redacted. */
static json_t *redact_value(json_t *v, int env, const json_t *sealed, const unsigned char *rkey)
{
	if (env && json_is_array(v))
		return redact_env(v, sealed, rkey);
	if (env && json_is_string(v)) {
		json_t *a = json_pack("[O]", v), *r = redact_env(a, sealed, rkey);
		json_t *one = json_incref(json_array_get(r, 0));
		json_decref(a);
		json_decref(r);
		return one;
	}
	if (json_is_object(v)) {
		json_t *o = json_object();
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
			json_object_set_new(o, k, redact_value(x, !strcmp(k, "Env"), sealed, rkey));
		return o;
	}
	if (json_is_array(v)) {
		json_t *a = json_array();
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
			json_array_append_new(a, redact_value(x, 0, sealed, rkey));
		return a;
	}
	return json_incref(v);
}

/* Does a change path ("TaskTemplate.ContainerSpec.Env", "...Env[2]") name
 * an environment? */
static int env_path(const char *path)
{
	const char *last = strrchr(path, '.');
	last = last ? last + 1 : path;
	return str_has_prefix(last, "Env") && (!last[3] || last[3] == '[');
}

void plan_redact_changes(json_t *changes, const json_t *sealed, const unsigned char *rkey)
{
	size_t i;
	json_t *c;
	if (!json_object_size(sealed))
		return;
	json_array_foreach(changes, i, c) {
		const char *path = json_string_value(json_object_get(c, "path"));
		static const char *sides[] = {"old", "new"};
		for (int k = 0; k < 2; k++) {
			json_t *v = json_object_get(c, sides[k]);
			if (v)
				json_object_set_new(c, sides[k], redact_value(v, path && env_path(path), sealed, rkey));
		}
	}
}

/* The live values of a service's sealed keys: plaintexts this process
 * now knows (an old value a plan shows as replaced, a task error quoting
 * it), for scrub.c. */
static void scrub_live_env(const json_t *live_spec, const json_t *sealed, const unsigned char *rkey)
{
	size_t i;
	json_t *e;
	json_array_foreach(jpath(json_object_get(live_spec, "TaskTemplate"), "ContainerSpec", "Env"), i, e) {
		const char *s = json_string_value(e);
		const char *eq = s ? strchr(s, '=') : NULL;
		char *k = eq ? xstrndup(s, (size_t)(eq - s)) : NULL;
		if (k && json_object_get(sealed, k))
			scrub_add_sealed(rkey, eq + 1, strlen(eq + 1));
		free(k);
	}
}

static struct op *add_op(struct plan *p, enum op_kind k, enum obj_kind kind, const char *stack,
			 const char *name)
{
	if (p->n == p->alloc) {
		p->alloc = p->alloc ? p->alloc * 2 : 16;
		p->ops = xrealloc(p->ops, p->alloc * sizeof *p->ops);
	}
	struct op *o = &p->ops[p->n++];
	memset(o, 0, sizeof *o);
	o->op = k;
	o->kind = kind;
	o->stack = xstrdup(stack);
	o->name = xstrdup(name);
	return o;
}

/*
 * A swarm network the engine lists from its own node only: the cluster
 * has removed it, but a task or load-balancer endpoint still holds the
 * node's copy (seconds after a stack rm; for good when the engine leaks
 * the endpoint).  The list then shows that copy, with the overlay's Peers,
 * which networks listed from the cluster never carry.  Services cannot
 * attach to it ("network not found", docker stack deploy fails there for
 * good): the plan creates the network again, without the engine's check of
 * the node's own names (the cluster still refuses a name it has), and a
 * create that finds it in the cluster after all is settled as created
 * (apply.c).
 */
static int local_copy_only(const json_t *net)
{
	const char *scope = json_string_value(json_object_get(net, "Scope"));
	return scope && !strcmp(scope, "swarm") && json_array_size(json_object_get(net, "Peers")) > 0;
}

static json_t *find_by_name(const json_t *arr, const char *name, int spec_name)
{
	size_t i;
	json_t *x;
	json_array_foreach(arr, i, x) {
		const char *n = spec_name ? json_string_value(jpath(x, "Spec", "Name")) :
					    json_string_value(json_object_get(x, "Name"));
		if (n && !strcmp(n, name))
			return x;
	}
	return NULL;
}

static const char *label_of(const json_t *obj, int spec, const char *label)
{
	return json_string_value(json_object_get(obj_labels(obj, spec), label));
}

static void plan_service(struct plan *p, const struct desired *ds, const char *name, const struct live *lv,
			 const struct plan_opts *po)
{
	json_t *want = json_deep_copy(json_object_get(ds->services, name));
	/* the hash covers the file, not image resolution: hash the image as
	 * written (the stack image label) and no resolved platforms, so
	 * --resolve-image always/changed/never agree on an unchanged file
	 * (set aside in want for the hash, then put back: no copy) */
	json_t *htt = json_object_get(want, "TaskTemplate");
	json_t *hcs = jpath(htt, "ContainerSpec", NULL), *hpl = json_object_get(htt, "Placement");
	json_t *written = jpath(want, "Labels", LABEL_IMAGE);
	json_t *img = json_incref(json_object_get(hcs, "Image"));
	json_t *platforms = json_incref(json_object_get(hpl, "Platforms"));
	if (written)
		json_object_set(hcs, "Image", written);
	json_object_del(hpl, "Platforms");
	/* sealed values are hashed as their keyed fingerprints: a hash of
	 * the plaintext, shown in every plan, would let anyone who reads the
	 * repository test guesses at it */
	json_t *dse = json_object_get(ds->sealed_env, name), *henv = NULL;
	if (json_object_size(dse) && (henv = json_incref(json_object_get(hcs, "Env"))))
		json_object_set_new(hcs, "Env", redact_env(henv, dse, po->redact_key));
	char *hash = plan_spec_hash(want);
	if (henv)
		json_object_set_new(hcs, "Env", henv);
	if (img)
		json_object_set_new(hcs, "Image", img);
	else
		json_object_del(hcs, "Image");
	if (platforms)
		json_object_set_new(hpl, "Platforms", platforms);
	json_object_set_new(json_object_get(want, "Labels"), LABEL_HASH, json_string(hash));
	free(hash);
	json_t *cur = find_by_name(lv->services, name, 1);
	if (!cur) {
		struct op *o = add_op(p, OP_CREATE, K_SERVICE, ds->stack, name);
		if (po->commit)
			json_object_set_new(json_object_get(want, "Labels"), LABEL_COMMIT, json_string(po->commit));
		o->spec = want;
		return;
	}
	/* which commit wrote it is not part of the comparison: a new commit
	 * that leaves the service as it is does not rewrite it */
	const char *lcommit = label_of(cur, 1, LABEL_COMMIT);
	if (lcommit)
		json_object_set_new(json_object_get(want, "Labels"), LABEL_COMMIT, json_string(lcommit));
	json_t *live_spec = json_object_get(cur, "Spec");
	/* omitted replicas keep the live count */
	json_t *lrep = jpath(json_object_get(live_spec, "Mode"), "Replicated", "Replicas");
	json_t *wrep = jpath(json_object_get(want, "Mode"), "Replicated", NULL);
	if (json_object_get(ds->replicas_unset, name) && json_is_object(wrep) && json_is_integer(lrep))
		json_object_set(wrep, "Replicas", lrep);
	/* ForceUpdate is copied from the live spec, as docker does */
	json_t *fu = jpath(json_object_get(live_spec, "TaskTemplate"), "ForceUpdate", NULL);
	if (fu)
		json_object_set(json_object_get(want, "TaskTemplate"), "ForceUpdate", fu);
	/* a live image pinned by digest matches its tag when the label does:
	 * keep the pinned image, as docker does with --resolve-image never */
	const json_t *lspec = live_spec;
	json_t *lcs = jpath(json_object_get(lspec, "TaskTemplate"), "ContainerSpec", NULL);
	json_t *wcs = jpath(json_object_get(want, "TaskTemplate"), "ContainerSpec", NULL);
	const char *limg = json_string_value(json_object_get(lcs, "Image"));
	const char *dimg = json_string_value(json_object_get(wcs, "Image"));
	const char *lbl = label_of(cur, 1, LABEL_IMAGE);
	const char *wlbl = json_string_value(jpath(want, "Labels", LABEL_IMAGE));
	if (limg && dimg && !strchr(dimg, '@') && strchr(limg, '@') && lbl && wlbl && !strcmp(lbl, wlbl))
		json_object_set(wcs, "Image", json_object_get(lcs, "Image"));
	json_t *sub = plan_compare_specs(want, lspec, lv->net_names, 0);
	if (json_array_size(sub) == 0) {
		json_decref(sub);
		json_decref(want);
		return;
	}
	json_decref(sub);
	json_t *all = plan_compare_specs(want, lspec, lv->net_names, 1);
	/* the keys sealed here or in the live spec (the label says which) */
	json_t *sealed = json_deep_copy(json_object_get(ds->sealed_env, name));
	if (!sealed)
		sealed = json_object();
	const char *lse = label_of(cur, 1, LABEL_SEALED_ENV);
	if (lse) {
		char *copy = xstrdup(lse), *save = NULL;
		for (char *k = strtok_r(copy, ",", &save); k; k = strtok_r(NULL, ",", &save))
			json_object_set_new(sealed, k, json_true());
		free(copy);
	}
	scrub_live_env(live_spec, sealed, po->redact_key);
	plan_redact_changes(all, sealed, po->redact_key);
	scrub_json(all);
	json_decref(sealed);
	struct op *o = add_op(p, OP_UPDATE, K_SERVICE, ds->stack, name);
	if (po->commit)
		json_object_set_new(json_object_get(want, "Labels"), LABEL_COMMIT, json_string(po->commit));
	o->spec = want;
	o->changes = all;
	o->id = xstrdup(json_string_value(json_object_get(cur, "ID")));
	o->version = json_integer_value(jpath(cur, "Version", "Index"));
	const char *started = json_string_value(jpath(cur, "UpdateStatus", "StartedAt"));
	o->prev_update = xstrdup(started ? started : "");
}

/* ---------------- the engine's own rules ---------------- */

/* Is API version api ("1.41") at least 1.minor? */
static int api_at_least(const char *api, int minor)
{
	return api && str_has_prefix(api, "1.") && atoi(api + 2) >= minor;
}

/* Enabled plugins of the engine that provide an IPAM driver, by name. */
static json_t *ipam_plugins(struct docker *dk, char **err)
{
	json_t *list = NULL, *names = json_object();
	if (docker_call(dk, "GET", "/plugins", NULL, &list, err) != DOCKER_OK) {
		json_decref(names);
		return NULL;
	}
	size_t i, k;
	json_t *x, *t;
	json_array_foreach(list, i, x) {
		if (!json_is_true(json_object_get(x, "Enabled")))
			continue;
		json_array_foreach(jpath(json_object_get(x, "Config"), "Interface", "Types"), k, t) {
			const char *ty = json_string_value(t);
			const char *name = json_string_value(json_object_get(x, "Name"));
			if (ty && name && str_has_prefix(ty, "docker.ipamdriver/")) {
				json_object_set_new(names, name, json_true());
				if (str_has_suffix(name, ":latest")) {
					char *bare = xstrndup(name, strlen(name) - 7);
					json_object_set_new(names, bare, json_true());
					free(bare);
				}
			}
		}
	}
	json_decref(list);
	return names;
}

int plan_for_engine(struct docker *dk, struct desired *ds, char **err)
{
	const char *api = docker_api_version(dk);
	struct buf e;
	buf_init(&e, 0);
	*err = NULL;
	size_t n;
	const char **keys = json_sorted_keys(ds->services, &n);
	for (size_t i = 0; i < n; i++) {
		json_t *cs = jpath(json_object_get(json_object_get(ds->services, keys[i]), "TaskTemplate"), "ContainerSpec",
				   NULL);
		if (!api_at_least(api, 46))
			json_object_del(cs, "OomScoreAdj");
		if (!api_at_least(api, 44))
			json_object_del(json_object_get(cs, "Healthcheck"), "StartInterval");
		size_t k;
		json_t *m;
		json_array_foreach(json_object_get(cs, "Mounts"), k, m) {
			const char *type = json_string_value(json_object_get(m, "Type"));
			if (!api_at_least(api, 45))
				json_object_del(json_object_get(m, "VolumeOptions"), "Subpath");
			int need = type && !strcmp(type, "image") ? 48 : type && !strcmp(type, "cluster") ? 42 : 0;
			if (need && !api_at_least(api, need))
				buf_addf(&e, "%sservice %s: mount %s: type %s needs an engine with API 1.%d or later, this one has %s",
					 e.len ? "\n" : "", keys[i], json_string_value(json_object_get(m, "Target")), type,
					 need, api ? api : "?");
		}
	}
	free(keys);
	json_t *plugins = NULL;
	keys = json_sorted_keys(ds->networks, &n);
	for (size_t i = 0; i < n; i++) {
		const char *drv = json_string_value(jpath(json_object_get(ds->networks, keys[i]), "IPAM", "Driver"));
		if (!drv || !*drv || !strcmp(drv, "default"))
			continue;
		if (!plugins) {
			char *perr = NULL;
			plugins = ipam_plugins(dk, &perr);
			if (!plugins) {
				buf_addf(&e, "%snetwork %s: IPAM driver %s: cannot list the engine's plugins: %s", e.len ? "\n" : "",
					 keys[i], drv, perr ? perr : "?");
				free(perr);
				continue;
			}
		}
		if (!json_object_get(plugins, drv))
			buf_addf(&e, "%snetwork %s: IPAM driver %s: no such plugin in the engine, which refuses the network (\"error during lookup of plugin %s\"); swarm networks have the IPAM driver default and those of installed plugins",
				 e.len ? "\n" : "", keys[i], drv, drv);
	}
	free(keys);
	json_decref(plugins);
	if (e.len) {
		*err = buf_detach(&e);
		return -1;
	}
	buf_free(&e);
	return 0;
}

static int managed(const json_t *obj, int spec)
{
	const char *m = label_of(obj, spec, LABEL_MANAGED);
	return m && !strcmp(m, "true");
}

/*
 * A secret or config with name: keeps that name whatever its content, and
 * the engine cannot change an object's content (only its labels).  The
 * content of a live object of that name is known from its data (configs)
 * or from the digest shoal labels it with (LABEL_CONTENT); a secret made
 * by other means has neither.  Returns 1 same, 0 different, -1 unknown.
 */
static int same_content(const json_t *want_spec, const json_t *live, enum obj_kind kind)
{
	const json_t *ls = json_object_get(live, "Spec");
	if (kind == K_CONFIG) {
		const char *a = json_string_value(json_object_get(want_spec, "Data"));
		const char *b = json_string_value(json_object_get(ls, "Data"));
		const json_t *ta = json_object_get(want_spec, "Templating"), *tb = json_object_get(ls, "Templating");
		const char *na = json_string_value(json_object_get(ta, "Name")), *nb = json_string_value(json_object_get(tb, "Name"));
		return !strcmp(a ? a : "", b ? b : "") && !strcmp(na ? na : "", nb ? nb : "");
	}
	const char *a = json_string_value(json_object_get(json_object_get(want_spec, "Labels"), LABEL_CONTENT));
	const char *b = label_of(live, 1, LABEL_CONTENT);
	if (!a || !b)
		return -1;
	return !strcmp(a, b);
}

/* Named secrets and configs whose live object (of any stack, or of none)
 * holds other content: said in *err (each once), so the stack is left
 * out before its first write. */
static void check_named(const json_t *want, const json_t *all, enum obj_kind kind, struct buf *err)
{
	const char *what = kind == K_SECRET ? "secret" : "config";
	size_t n;
	const char **keys = json_sorted_keys(want, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *w = json_object_get(want, keys[i]);
		const json_t *live = find_by_name(all, keys[i], 1);
		if (!json_is_true(json_object_get(w, "named")) || !live ||
		    same_content(json_object_get(w, "spec"), live, kind) != 0)
			continue;
		buf_addf(err, "%s%s %s (name: %s): the file's content differs from the %s the swarm has under that name, and the engine cannot change it: rename it (name: %s_v2) or drop name: to have shoal rotate it",
			 err->len ? "; " : "", what, json_string_value(json_object_get(w, "key")), keys[i], what, keys[i]);
	}
	free(keys);
}

static int same_labels(const json_t *a, const json_t *b)
{
	return json_equal((json_t *)(a ? a : json_object()), (json_t *)(b ? b : json_object())) ||
	       (json_object_size(a) == 0 && json_object_size(b) == 0);
}

static void plan_objects(struct plan *p, const char *stack, const json_t *want, const json_t *live,
			 const json_t *all, enum obj_kind kind, const struct plan_opts *o)
{
	size_t n;
	const char **keys = json_sorted_keys(want, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *w = json_object_get(want, keys[i]);
		json_t *spec = json_object_get(w, "spec");
		if (json_is_true(json_object_get(w, "named"))) {
			/* that name wherever it is: in this stack, another, none */
			const json_t *x = find_by_name(all, keys[i], 1);
			if (x) {
				/* same content (checked before): labels may change;
				 * unknown content: the engine compares the data the
				 * update carries, and refuses other data (an update
				 * that goes first: refused, it writes nothing) */
				int same = same_content(spec, x, kind);
				if (same > 0 && same_labels(json_object_get(spec, "Labels"), jpath((json_t *)x, "Spec", "Labels")))
					continue;
				struct op *op = add_op(p, OP_UPDATE, kind, stack, keys[i]);
				op->id = xstrdup(json_string_value(json_object_get(x, "ID")));
				op->version = json_integer_value(jpath((json_t *)x, "Version", "Index"));
				op->spec = json_deep_copy(spec);
				if (same > 0 && kind == K_SECRET)
					json_object_del(op->spec, "Data"); /* labels only */
				op->changes = json_array();
				add_change(op->changes, "Labels", jpath((json_t *)x, "Spec", "Labels"), json_object_get(spec, "Labels"));
				continue;
			}
		} else if (find_by_name(live, keys[i], 1)) {
			continue;
		}
		struct op *op = add_op(p, OP_CREATE, kind, stack, keys[i]);
		op->spec = json_incref(spec);
	}
	free(keys);
	size_t i;
	json_t *x;
	json_array_foreach(live, i, x) {
		const char *name = json_string_value(jpath(x, "Spec", "Name"));
		if (!name || json_object_get(want, name))
			continue;
		const char *logical = label_of(x, 1, LABEL_LOGICAL);
		int ours = logical != NULL;
		int superseded = 0;
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)want, k, v) {
			const char *wl = json_string_value(jpath(json_object_get(v, "spec"), "Labels", LABEL_LOGICAL));
			if (logical && wl && !strcmp(logical, wl))
				superseded = 1;
		}
		/* a rotated one goes; in repo mode only what shoal wrote */
		int rm = superseded ? !o->managed_only || managed(x, 1) : o->prune_all && managed(x, 1);
		if (!(o->remove_all || (ours && rm)))
			continue;
		struct op *op = add_op(p, OP_REMOVE, kind, stack, name);
		op->id = xstrdup(json_string_value(json_object_get(x, "ID")));
	}
}

static const char *mode_kind(const json_t *spec)
{
	static const char *kinds[] = {"Replicated", "Global", "ReplicatedJob", "GlobalJob"};
	const json_t *m = json_object_get(spec, "Mode");
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (json_object_get(m, kinds[i]))
			return kinds[i];
	return "Replicated";
}

static void problem(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	buf_addf(b, "%s%s", b->len ? "; " : "", m);
	free(m);
}

/*
 * What the engine would refuse at a service create or update, known from
 * the snapshot, before anything of the stack is written (docker has made
 * the stack's networks, secrets and configs by then): external networks
 * missing or not swarm-scoped, the ingress network attached explicitly,
 * secrets and configs that neither exist nor are created here, a
 * service's mode changed.  -1 with every problem in *err.
 */
static int precheck(const struct desired *ds, const struct live *lv, const struct plan_opts *o, char **err)
{
	const json_t *all_nets = lv->all_networks;
	struct buf b;
	buf_init(&b, 0);
	const char *k;
	json_t *v;
	json_object_foreach(ds->ext_networks, k, v) {
		if (!strcmp(k, "host") || !strcmp(k, "bridge") || !strcmp(k, "none") || str_has_prefix(k, "container:"))
			continue;
		json_t *n = find_by_name(all_nets, k, 0);
		if (!n && json_object_get(o->pending_networks, k))
			continue; /* created earlier in this plan (networks go first) */
		if (!n) {
			problem(&b, "network \"%s\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed",
				k);
			continue;
		}
		const char *scope = json_string_value(json_object_get(n, "Scope"));
		if (scope && strcmp(scope, "swarm"))
			problem(&b, "network \"%s\" is declared as external, but it is not in the right scope: \"%s\" instead of \"swarm\"",
				k, scope);
	}
	size_t n;
	const char **keys = json_sorted_keys(ds->services, &n);
	for (size_t i = 0; i < n; i++) {
		const json_t *spec = json_object_get(ds->services, keys[i]);
		const json_t *tt = json_object_get(spec, "TaskTemplate");
		size_t j;
		json_t *x;
		json_array_foreach(json_object_get(tt, "Networks"), j, x) {
			const char *t = json_string_value(json_object_get(x, "Target"));
			const json_t *ln = t ? find_by_name(all_nets, t, 0) : NULL;
			if (ln && json_is_true(json_object_get(ln, "Ingress")))
				problem(&b, "service %s: network %s is the swarm's ingress network: the engine refuses a service attached to it explicitly",
					keys[i], t);
		}
		static const struct {
			const char *list, *field, *what;
			int kind;
		} refs[] = {{"Secrets", "SecretName", "secret", 0}, {"Configs", "ConfigName", "config", 1}};
		for (int r = 0; r < 2; r++) {
			const json_t *mine = r ? ds->configs : ds->secrets, *all = r ? lv->all_configs : lv->all_secrets;
			json_array_foreach(json_object_get(json_object_get(tt, "ContainerSpec"), refs[r].list), j, x) {
				const char *nm = json_string_value(json_object_get(x, refs[r].field));
				if (nm && !json_object_get(mine, nm) && !find_by_name(all, nm, 1))
					problem(&b, "service %s: %s not found: %s (declared external: create it first)", keys[i],
						refs[r].what, nm);
			}
		}
		const json_t *cur = find_by_name(lv->services, keys[i], 1);
		const char *was = cur ? mode_kind(json_object_get(cur, "Spec")) : NULL, *now = mode_kind(spec);
		if (was && strcmp(was, now))
			problem(&b, "service %s: the engine cannot change a service's mode (%s to %s): remove the service first",
				keys[i], was, now);
	}
	free(keys);
	check_named(ds->secrets, lv->all_secrets, K_SECRET, &b);
	check_named(ds->configs, lv->all_configs, K_CONFIG, &b);
	if (!b.len) {
		buf_free(&b);
		return 0;
	}
	*err = buf_detach(&b);
	return -1;
}

int plan_stack(struct plan *p, const struct desired *ds, const char *stack, const struct live *lv,
	       const struct plan_opts *o, char **err)
{
	static const json_t *empty;
	if (!empty)
		empty = json_object();
	const json_t *all_nets = lv->all_networks;
	*err = NULL;
	if (ds) {
		if (precheck(ds, lv, o, err) < 0)
			return -1;
		size_t start = p->n;
		size_t n;
		const char **keys = json_sorted_keys(ds->networks, &n);
		for (size_t i = 0; i < n; i++) {
			const json_t *ln = find_by_name(all_nets, keys[i], 0);
			if (ln && !local_copy_only(ln))
				continue;
			struct op *op = add_op(p, OP_CREATE, K_NETWORK, stack, keys[i]);
			op->spec = json_incref(json_object_get(ds->networks, keys[i]));
			op->over_stale = ln != NULL;
		}
		free(keys);
		plan_objects(p, stack, ds->secrets, lv->secrets, lv->all_secrets, K_SECRET, o);
		plan_objects(p, stack, ds->configs, lv->configs, lv->all_configs, K_CONFIG, o);
		size_t first = p->n;
		keys = json_sorted_keys(ds->services, &n);
		for (size_t i = 0; i < n; i++)
			plan_service(p, ds, keys[i], lv, o);
		free(keys);
		/* a service written with a port in ingress mode needs the
		 * swarm's ingress network (an operator may have removed it) */
		int have_ingress = 0;
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)all_nets, i, x)
			have_ingress |= json_is_true(json_object_get(x, "Ingress"));
		for (size_t k = first; k < p->n && !have_ingress && !*err; k++) {
			json_array_foreach(json_object_get(json_object_get(p->ops[k].spec, "EndpointSpec"), "Ports"), i, x) {
				const char *m = json_string_value(json_object_get(x, "PublishMode"));
				if (!m || !*m || !strcmp(m, "ingress")) {
					*err = xasprintf("service %s publishes a port in ingress mode, but the swarm has no ingress network (the engine refuses it): create one, or publish in host mode",
							 p->ops[k].name);
					break;
				}
			}
		}
		if (*err) { /* the stack leaves the plan whole */
			for (size_t k = start; k < p->n; k++)
				plan_op_free(&p->ops[k]);
			p->n = start;
			return -1;
		}
	} else {
		plan_objects(p, stack, empty, lv->secrets, lv->all_secrets, K_SECRET, o);
		plan_objects(p, stack, empty, lv->configs, lv->all_configs, K_CONFIG, o);
	}
	size_t i;
	json_t *x;
	json_array_foreach(lv->services, i, x) {
		const char *name = json_string_value(jpath(x, "Spec", "Name"));
		if (!name || (ds && json_object_get(ds->services, name)))
			continue;
		if (!(o->remove_all || o->prune_services || (o->prune_all && managed(x, 1))))
			continue;
		struct op *op = add_op(p, OP_REMOVE, K_SERVICE, stack, name);
		op->id = xstrdup(json_string_value(json_object_get(x, "ID")));
	}
	json_array_foreach(lv->networks, i, x) {
		const char *name = json_string_value(json_object_get(x, "Name"));
		if (!name || (ds && json_object_get(ds->networks, name)) || local_copy_only(x))
			continue; /* a node's stale copy: nothing the API can remove */
		if (!(o->remove_all || (o->prune_all && managed(x, 0))) || json_object_get(o->keep_networks, name))
			continue;
		struct op *op = add_op(p, OP_REMOVE, K_NETWORK, stack, name);
		op->id = xstrdup(json_string_value(json_object_get(x, "Id")));
	}
	return 0;
}

/* ---------------- published ports ---------------- */

/* A service of the swarm once the plan has run. */
struct final_svc {
	const char *name;
	struct op *op; /* creating, updating or removing it, or NULL */
};

/* One published port of one service, before the plan (held) or after. */
struct pport {
	long long pub;
	const char *proto; /* "tcp" when unset */
	int ingress, held;
	size_t svc;
};

struct ports {
	struct pport *v;
	size_t n, alloc;
};

/* The published ports of a ServiceSpec (0 = the engine picks: no conflict). */
static void add_ports(struct ports *ps, const json_t *spec, size_t svc, int held)
{
	size_t i;
	json_t *x;
	json_array_foreach(json_object_get(json_object_get(spec, "EndpointSpec"), "Ports"), i, x) {
		long long pub = json_integer_value(json_object_get(x, "PublishedPort"));
		const char *proto = json_string_value(json_object_get(x, "Protocol"));
		const char *mode = json_string_value(json_object_get(x, "PublishMode"));
		if (pub <= 0)
			continue;
		if (ps->n == ps->alloc) {
			ps->alloc = ps->alloc ? ps->alloc * 2 : 64;
			ps->v = xrealloc(ps->v, ps->alloc * sizeof *ps->v);
		}
		ps->v[ps->n++] = (struct pport){pub, proto && *proto ? proto : "tcp",
						!mode || !*mode || !strcmp(mode, "ingress"), held, svc};
	}
}

static int cmp_port(const struct pport *a, const struct pport *b)
{
	return a->pub != b->pub ? (a->pub > b->pub) - (a->pub < b->pub) : strcasecmp(a->proto, b->proto);
}

static int cmp_pport(const void *a, const void *b)
{
	const struct pport *x = a, *y = b;
	int c = cmp_port(x, y);
	return c ? c : x->svc != y->svc ? (x->svc > y->svc) - (x->svc < y->svc) : x->held - y->held;
}

/* The engine refuses a port another service publishes when either side is
 * in ingress mode (two host-mode services may share it: the scheduler
 * keeps them on different nodes). */
static int clash(const struct pport *a, const struct pport *b)
{
	return a->svc != b->svc && (a->ingress || b->ingress);
}

static int in_strv(const struct strv *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return 1;
	return 0;
}

static int written(const struct final_svc *f)
{
	return f->op && f->op->op != OP_REMOVE;
}

/* The operations of the stacks in bad leave the plan. */
static void drop_stacks(struct plan *p, const struct strv *bad)
{
	size_t kept = 0;
	for (size_t k = 0; k < p->n; k++) {
		if (in_strv(bad, p->ops[k].stack))
			plan_op_free(&p->ops[k]);
		else
			p->ops[kept++] = p->ops[k];
	}
	p->n = kept;
}

/* A port some service of the snapshot publishes so that no service
 * outside it can clash with x: in ingress mode (the engine lets no other
 * service hold it), or in host mode when x is in host mode too (others
 * can hold it in host mode only). */
static int covered(const struct ports *live, const struct pport *x)
{
	for (size_t i = 0; i < live->n; i++)
		if (!cmp_port(&live->v[i], x) && (live->v[i].ingress || !x->ingress))
			return 1;
	return 0;
}

static char *lowercase(const char *s)
{
	char *l = xstrdup(s);
	for (char *c = l; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return l;
}

/* Does the snapshot hold every service whose name is name in any case? */
static int name_covered(const struct swarm_state *st, const char *name)
{
	char *l = lowercase(name);
	size_t i;
	json_t *x;
	int yes = 0;
	json_array_foreach(st->svc_cover, i, x)
		yes |= str_has_prefix(l, json_string_value(x));
	free(l);
	return yes;
}

json_t *plan_created_names(const struct plan *p)
{
	json_t *names = json_object();
	for (size_t k = 0; k < p->n; k++)
		if (p->ops[k].kind == K_SERVICE && p->ops[k].op == OP_CREATE) {
			char *l = lowercase(p->ops[k].name);
			json_object_set_new(names, l, json_true());
			free(l);
		}
	return names;
}

void plan_wide_reads(const struct plan *p, const struct swarm_state *st, int *services, int *networks)
{
	struct ports live = {0}, want = {0};
	size_t i;
	json_t *x;
	*services = *networks = 0;
	json_array_foreach(st->services, i, x)
		add_ports(&live, json_object_get(x, "Spec"), i, 0);
	for (size_t k = 0; k < p->n; k++) {
		const struct op *o = &p->ops[k];
		*networks |= o->kind == K_NETWORK && o->op == OP_CREATE;
		if (o->kind != K_SERVICE || o->op == OP_REMOVE)
			continue;
		*services |= o->op == OP_CREATE && !name_covered(st, o->name);
		want.n = 0;
		add_ports(&want, o->spec, 0, 0);
		for (size_t j = 0; j < want.n && !*services; j++)
			*services = !covered(&live, &want.v[j]);
	}
	free(live.v);
	free(want.v);
}

/* Every port of the swarm after the plan, sorted: only entries of one
 * (port, protocol) are compared, so a swarm of thousands of services costs
 * a sort, not every service against every other. */
int plan_check_ports(struct plan *p, const struct swarm_state *st, struct strv *errs, struct strv *bad_stacks)
{
	size_t nlive = json_array_size(st->services), n = 0, i;
	struct final_svc *f = xcalloc(nlive + p->n + 1, sizeof *f);
	struct ports ps = {0};
	json_t *ops_by_id = json_object(), *x;
	for (size_t k = 0; k < p->n; k++)
		if (p->ops[k].kind == K_SERVICE && p->ops[k].id) /* a snapshot naming one ID twice: the last op */
			json_object_set_new(ops_by_id, p->ops[k].id, json_integer((json_int_t)k));
	json_array_foreach(st->services, i, x) {
		json_t *k = json_object_get(ops_by_id, json_string_value(json_object_get(x, "ID")) ?: "");
		f[n].name = json_string_value(json_object_get(json_object_get(x, "Spec"), "Name"));
		f[n].op = k ? &p->ops[json_integer_value(k)] : NULL;
		if (f[n].op) /* what it holds now, to know what it frees */
			add_ports(&ps, json_object_get(x, "Spec"), n, 1);
		if (!f[n].op || f[n].op->op == OP_UPDATE)
			add_ports(&ps, f[n].op ? f[n].op->spec : json_object_get(x, "Spec"), n, 0);
		n++;
	}
	json_decref(ops_by_id);
	for (size_t k = 0; k < p->n; k++)
		if (p->ops[k].kind == K_SERVICE && p->ops[k].op == OP_CREATE) {
			f[n].name = p->ops[k].name;
			f[n].op = &p->ops[k];
			add_ports(&ps, p->ops[k].spec, n++, 0);
		}
	if (ps.n > 1)
		qsort(ps.v, ps.n, sizeof *ps.v, cmp_pport);
	for (size_t g = 0, e; g < ps.n; g = e) {
		for (e = g + 1; e < ps.n && !cmp_port(&ps.v[g], &ps.v[e]);)
			e++;
		for (size_t a = g; a < e; a++) {
			const struct pport *x1 = &ps.v[a];
			for (size_t b = a + 1; b < e && !x1->held; b++) {
				/* conflicts after the plan that the plan writes */
				const struct pport *x2 = &ps.v[b];
				if (x2->held || !clash(x1, x2) || !(written(&f[x1->svc]) || written(&f[x2->svc])))
					continue;
				/* named after the first written one (entries are in service order) */
				const struct pport *w = written(&f[x1->svc]) ? x1 : x2, *o = w == x1 ? x2 : x1;
				strv_push(errs, xasprintf("stack %s: service %s publishes port %lld/%s in %s mode, and service %s publishes it in %s mode: the engine refuses it",
							  f[w->svc].op->stack, f[w->svc].name, w->pub, w->proto,
							  w->ingress ? "ingress" : "host", f[o->svc].name, o->ingress ? "ingress" : "host"));
				for (int k = 0; k < 2; k++) {
					const struct final_svc *fs = &f[(k ? x2 : x1)->svc];
					if (written(fs) && !in_strv(bad_stacks, fs->op->stack))
						strv_push(bad_stacks, xstrdup(fs->op->stack));
				}
			}
			/* a port moving to another service: the one giving it up goes
			 * first, unless it keeps a clashing one (a conflict, above) */
			struct op *rel = f[x1->svc].op;
			if (!x1->held || rel->early)
				continue;
			int taken = 0, kept = 0;
			for (size_t b = g; b < e; b++) {
				const struct pport *x2 = &ps.v[b];
				if (!x2->held && written(&f[x2->svc]) && clash(x1, x2))
					taken = 1;
				kept |= !x2->held && x2->svc == x1->svc;
			}
			rel->early = taken && !kept;
		}
	}
	free(ps.v);
	free(f);
	drop_stacks(p, bad_stacks);
	return (int)bad_stacks->n;
}

/* ---------------- names ---------------- */

static void bad_stack(struct strv *bad, const char *stack)
{
	if (!in_strv(bad, stack))
		strv_push(bad, xstrdup(stack));
}

/* An object's name, live or created by the plan, for plan_check_names. */
struct named {
	enum obj_kind kind;
	char *lower; /* the name as the engine indexes it */
	const char *name, *ns;
	const struct op *op; /* creating it, or NULL: live */
};

static int cmp_named(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	return x->kind != y->kind ? (int)x->kind - (int)y->kind : strcmp(x->lower, y->lower);
}

/* the same name, then: live first, creates in plan order */
static int cmp_named_sort(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = cmp_named(a, b);
	if (c)
		return c;
	if (!x->op != !y->op)
		return x->op ? 1 : -1;
	if (x->op)
		return x->op < y->op ? -1 : x->op > y->op;
	return strcmp(x->name, y->name);
}

static void add_named(struct named **v, size_t *n, size_t *alloc, enum obj_kind kind, const char *name,
		      const char *ns, const struct op *op)
{
	if (*n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 64;
		*v = xrealloc(*v, *alloc * sizeof **v);
	}
	(*v)[(*n)++] = (struct named){kind, lowercase(name), name, ns, op};
}

/* Every name of one kind, live and created, sorted lowercased: only
 * entries of one name are compared (a sort, not every pair). */
int plan_check_names(struct plan *p, const struct swarm_state *st, struct strv *errs, struct strv *bad_stacks)
{
	size_t before = bad_stacks->n, n = 0, alloc = 0, i;
	struct named *v = NULL;
	const json_t *lives[] = {st->networks, st->secrets, st->configs, st->services};
	int creates = 0;
	for (size_t k = 0; k < p->n; k++)
		creates |= p->ops[k].op == OP_CREATE;
	for (int kind = 0; creates && kind < 4; kind++) {
		json_t *x;
		json_array_foreach((json_t *)lives[kind], i, x) {
			int net = kind == K_NETWORK;
			const char *ln = net ? json_string_value(json_object_get(x, "Name")) :
					       json_string_value(jpath(x, "Spec", "Name"));
			if (ln)
				add_named(&v, &n, &alloc, (enum obj_kind)kind, ln,
					  json_string_value(json_object_get(obj_labels(x, !net), LABEL_NAMESPACE)), NULL);
		}
	}
	for (size_t k = 0; k < p->n; k++)
		if (p->ops[k].op == OP_CREATE)
			add_named(&v, &n, &alloc, p->ops[k].kind, p->ops[k].name, p->ops[k].stack, &p->ops[k]);
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_named_sort);
	for (size_t g = 0, e; g < n; g = e) {
		for (e = g + 1; e < n && !cmp_named(&v[g], &v[e]);)
			e++;
		for (size_t a = g; a < e; a++) {
			const struct op *o = v[a].op;
			if (!o)
				continue;
			for (size_t b = g; b < e; b++) {
				if (b == a || (v[b].op && b < a))
					continue; /* a pair of creates once */
				const char *ln = v[b].name, *kw = kind_name(o->kind);
				if (!v[b].op) {
					/* the plan creates a network only where none is (or
					 * the node's stale copy); the rest outside their stack */
					if (o->kind == K_NETWORK && !strcmp(ln, o->name))
						continue;
					char *where = v[b].ns ? xasprintf("in stack %s", v[b].ns) : xstrdup("outside any stack");
					strv_push(errs, xasprintf("stack %s: %s %s cannot be created: %s %s exists %s%s", o->stack, kw,
								  o->name, kw, ln, where,
								  strcmp(ln, o->name) ? " (the engine's names are case-insensitive)" : ""));
					free(where);
				} else if (!strcmp(o->stack, v[b].op->stack)) {
					strv_push(errs, xasprintf("stack %s: %ss %s and %s are one name to the engine (its names are case-insensitive)",
								  o->stack, kw, o->name, ln));
				} else {
					strv_push(errs, xasprintf("stacks %s and %s both create %s %s%s%s: declare it in one stack and as external in the others",
								  o->stack, v[b].op->stack, kw, o->name, strcmp(o->name, ln) ? " / " : "",
								  strcmp(o->name, ln) ? ln : ""));
					bad_stack(bad_stacks, v[b].op->stack);
				}
				bad_stack(bad_stacks, o->stack);
			}
		}
	}
	for (size_t k = 0; k < n; k++)
		free(v[k].lower);
	free(v);
	drop_stacks(p, bad_stacks);
	return (int)(bad_stacks->n - before);
}

/* ---------------- stacks deployed by other means ---------------- */

size_t plan_foreign(const struct live *lv, json_t **what)
{
	static const char *kinds[] = {"services", "networks", "secrets", "configs"};
	const json_t *arrs[] = {lv->services, lv->networks, lv->secrets, lv->configs};
	json_t *w = json_object();
	size_t n = 0;
	int mine = 0;
	for (int k = 0; k < 4; k++) {
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)arrs[k], i, x) {
			int net = k == 1;
			if (net && local_copy_only(x))
				continue;
			if (managed(x, !net)) {
				mine = 1;
				continue;
			}
			const char *nm = net ? json_string_value(json_object_get(x, "Name")) :
					       json_string_value(jpath(x, "Spec", "Name"));
			json_t *l = json_object_get(w, kinds[k]);
			if (!l)
				json_object_set_new(w, kinds[k], l = json_array());
			json_array_append_new(l, json_string(nm ? nm : "?"));
			n++;
		}
	}
	if (mine || !n) {
		json_decref(w);
		*what = NULL;
		return 0;
	}
	*what = w;
	return n;
}

void plan_add_conflict(struct plan *p, const char *stack, json_t *what, int adopted)
{
	if (!p->conflicts)
		p->conflicts = json_array();
	json_array_append_new(p->conflicts, json_pack("{s:s, s:o, s:b}", "stack", stack, "objects", what, "adopted", adopted));
}

size_t plan_conflicts_open(const struct plan *p)
{
	size_t n = 0, i;
	json_t *c;
	json_array_foreach(p->conflicts, i, c)
		n += !json_is_true(json_object_get(c, "adopted"));
	return n;
}

char *plan_conflict_text(const json_t *c)
{
	const char *stack = json_string_value(json_object_get(c, "stack"));
	const json_t *objs = json_object_get(c, "objects");
	static const char *kinds[][2] = {{"services", "service"}, {"networks", "network"}, {"secrets", "secret"}, {"configs", "config"}};
	struct buf b;
	buf_init(&b, 0);
	for (size_t k = 0; k < ARRAY_SIZE(kinds); k++) {
		size_t n = json_array_size(json_object_get(objs, kinds[k][0]));
		if (n)
			buf_addf(&b, "%s%zu %s%s", b.len ? ", " : "", n, kinds[k][1], n == 1 ? "" : "s");
	}
	char *t = json_is_true(json_object_get(c, "adopted")) ?
			  xasprintf("stack %s was deployed by other means (%s without %s): adopting it (--adopt); what shoal did not create is never removed",
				    stack, b.data, LABEL_MANAGED) :
			  xasprintf("stack %s was deployed by other means (%s without %s): not applied; to let this repository manage it, adopt it once with --adopt %s",
				    stack, b.data, LABEL_MANAGED, stack);
	buf_free(&b);
	return t;
}

static int rank(const struct op *o)
{
	/* a named secret's or config's update first: the engine may refuse
	 * its data, and then nothing has been written */
	if (o->op == OP_UPDATE && (o->kind == K_SECRET || o->kind == K_CONFIG))
		return -1;
	if (o->early)
		return 3; /* after the secrets and configs an update may use */
	if (o->op != OP_REMOVE)
		return o->kind == K_NETWORK ? 0 : o->kind == K_SERVICE ? 4 : 2;
	return o->kind == K_SERVICE ? 5 : o->kind == K_NETWORK ? 7 : 6;
}

static int cmp_op(const void *a, const void *b)
{
	const struct op *x = a, *y = b;
	int r = rank(x) - rank(y);
	if (r)
		return r;
	r = strcmp(x->stack, y->stack);
	if (r)
		return r;
	return strcmp(x->name, y->name);
}

void plan_sort(struct plan *p)
{
	if (p->n > 1)
		qsort(p->ops, p->n, sizeof *p->ops, cmp_op);
}

void plan_op_free(struct op *o)
{
	free(o->stack);
	free(o->name);
	free(o->id);
	free(o->prev_update);
	json_decref(o->spec);
	json_decref(o->changes);
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		plan_op_free(&p->ops[i]);
	free(p->ops);
	strv_free(&p->pending_prune);
	json_decref(p->conflicts);
	memset(p, 0, sizeof *p);
}

/* ---------------- rendering ---------------- */

static const char *kind_name(enum obj_kind k)
{
	switch (k) {
	case K_NETWORK: return "network";
	case K_SECRET: return "secret";
	case K_CONFIG: return "config";
	default: return "service";
	}
}

static const char *op_name(enum op_kind k)
{
	return k == OP_CREATE ? "create" : k == OP_UPDATE ? "update" : "remove";
}

static char *show(const json_t *v)
{
	if (!v || json_is_null(v))
		return xstrdup("(none)");
	return json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
}

void plan_print_text(const struct plan *p, int color)
{
	const char *g = color ? "\033[32m" : "", *y = color ? "\033[33m" : "", *r = color ? "\033[31m" : "",
		   *z = color ? "\033[0m" : "";
	size_t nc = 0, nu = 0, nr = 0;
	/* group by stack, in name order */
	struct strv stacks = {0};
	size_t ci;
	json_t *cf;
	json_array_foreach(p->conflicts, ci, cf)
		if (!in_strv(&stacks, json_string_value(json_object_get(cf, "stack"))))
			strv_push(&stacks, xstrdup(json_string_value(json_object_get(cf, "stack"))));
	for (size_t i = 0; i < p->n; i++)
		if (!in_strv(&stacks, p->ops[i].stack))
			strv_push(&stacks, xstrdup(p->ops[i].stack));
	strv_sort(&stacks);
	for (size_t s = 0; s < stacks.n; s++) {
		printf("stack %s\n", stacks.v[s]);
		json_array_foreach(p->conflicts, ci, cf) {
			if (strcmp(json_string_value(json_object_get(cf, "stack")), stacks.v[s]))
				continue;
			char *t = plan_conflict_text(cf);
			printf("  %s! %s%s\n", r, t, z);
			free(t);
		}
		for (size_t i = 0; i < p->n; i++) {
			const struct op *o = &p->ops[i];
			if (strcmp(o->stack, stacks.v[s]))
				continue;
			const char *c = o->op == OP_CREATE ? g : o->op == OP_UPDATE ? y : r;
			char sym = o->op == OP_CREATE ? '+' : o->op == OP_UPDATE ? '~' : '-';
			printf("  %s%c %s %s%s\n", c, sym, kind_name(o->kind), o->name, z);
			nc += o->op == OP_CREATE;
			nu += o->op == OP_UPDATE;
			nr += o->op == OP_REMOVE;
			size_t k;
			json_t *ch;
			json_array_foreach(o->changes, k, ch) {
				char *a = show(json_object_get(ch, "old")), *b = show(json_object_get(ch, "new"));
				printf("      %s: %s \xe2\x86\x92 %s\n", json_string_value(json_object_get(ch, "path")), a, b);
				free(a);
				free(b);
			}
		}
	}
	strv_free(&stacks);
	size_t open = plan_conflicts_open(p);
	if (p->n == 0 && !open)
		printf("No changes: the swarm matches the desired state.\n");
	else
		printf("Plan: %zu to create, %zu to update, %zu to remove.\n", nc, nu, nr);
	if (open)
		printf("%zu stack%s deployed by other means, not applied (--adopt STACK or --adopt-all).\n", open,
		       open == 1 ? "" : "s");
}

void plan_print_json(const struct plan *p)
{
	plan_print_json_with(p, NULL, NULL);
}

void plan_print_json_with(const struct plan *p, const char *key, json_t *extra)
{
	json_t *root = json_object(), *ops = json_array();
	if (key && extra)
		json_object_set(root, key, extra);
	for (size_t i = 0; i < p->n; i++) {
		const struct op *o = &p->ops[i];
		json_t *j = json_object();
		json_object_set_new(j, "action", json_string(op_name(o->op)));
		json_object_set_new(j, "kind", json_string(kind_name(o->kind)));
		json_object_set_new(j, "stack", json_string(o->stack));
		json_object_set_new(j, "name", json_string(o->name));
		if (o->changes)
			json_object_set(j, "changes", o->changes);
		json_array_append_new(ops, j);
	}
	json_object_set_new(root, "in_sync", json_boolean(p->n == 0 && !plan_conflicts_open(p)));
	json_object_set_new(root, "operations", ops);
	json_t *conf = json_array();
	size_t i;
	json_t *c;
	json_array_foreach(p->conflicts, i, c) {
		json_t *e = json_deep_copy(c);
		char *t = plan_conflict_text(c);
		json_object_set_new(e, "message", json_string(t));
		free(t);
		json_array_append_new(conf, e);
	}
	json_object_set_new(root, "conflicts", conf);
	char *s = json_dumps(root, JSON_INDENT(2));
	printf("%s\n", s);
	free(s);
	json_decref(root);
}
