/*
 * snapshot.c - the live state a plan starts from, read from the engine.
 *
 * Planning (plan.c) is a function of a desired state and this snapshot;
 * everything that talks to the engine to build the snapshot is here.
 */
#include "snapshot.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "util.h"

/* Every element an object with a string ID (networks: Id) and, except
 * networks, a Spec object: what the planner relies on. */
static int well_formed(const json_t *a, const char *what, char **err)
{
	int net = !strcmp(what, "networks");
	size_t i;
	json_t *x;
	if (!json_is_array(a))
		goto bad;
	json_array_foreach(a, i, x) {
		const json_t *id = json_object_get(x, net ? "Id" : "ID");
		if (!json_is_object(x) || !json_is_string(id) || !*json_string_value(id) ||
		    (net ? !json_is_string(json_object_get(x, "Name")) : !json_is_object(json_object_get(x, "Spec"))))
			goto bad;
	}
	return 0;
bad:
	*err = xasprintf("engine returned a malformed %s list", what);
	return -1;
}

int swarm_state_init(struct swarm_state *st, json_t *services, json_t *secrets, json_t *configs, json_t *networks,
		     char **err)
{
	memset(st, 0, sizeof *st);
	st->services = services;
	st->secrets = secrets;
	st->configs = configs;
	st->networks = networks;
	if (well_formed(services, "services", err) || well_formed(secrets, "secrets", err) ||
	    well_formed(configs, "configs", err) || well_formed(networks, "networks", err)) {
		swarm_state_free(st);
		return -1;
	}
	st->net_names = json_object();
	size_t i;
	json_t *n;
	json_array_foreach(st->networks, i, n)
		json_object_set_new(st->net_names, json_string_value(json_object_get(n, "Id")),
				    json_string(json_string_value(json_object_get(n, "Name"))));
	return 0;
}

/* ---------------- what to read ---------------- */

void snapshot_scope_init(struct snapshot_scope *sc)
{
	memset(sc, 0, sizeof *sc);
	sc->svc_prefixes = json_object();
	sc->svc_names = json_object();
	sc->net_declared = json_object();
	for (int k = 0; k < 3; k++)
		sc->names[k] = json_object();
}

void snapshot_scope_free(struct snapshot_scope *sc)
{
	json_decref(sc->svc_prefixes);
	json_decref(sc->svc_names);
	json_decref(sc->net_declared);
	for (int k = 0; k < 3; k++)
		json_decref(sc->names[k]);
	memset(sc, 0, sizeof *sc);
}

static void add_keys(json_t *into, const json_t *obj)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v)
		json_object_set_new(into, k, json_true());
}

void snapshot_scope_add_stack(struct snapshot_scope *sc, const char *stack)
{
	char *pre = xasprintf("%s_", stack), *def = xasprintf("%s_default", stack);
	json_object_set_new(sc->svc_prefixes, pre, json_true());
	json_object_set_new(sc->names[SNAP_SECRETS], pre, json_true());
	json_object_set_new(sc->names[SNAP_CONFIGS], pre, json_true());
	json_object_set_new(sc->names[SNAP_NETWORKS], def, json_true());
	free(pre);
	free(def);
}

void snapshot_scope_add(struct snapshot_scope *sc, const struct desired *ds)
{
	char *pre = xasprintf("%s_", ds->stack);
	if (json_object_size(ds->secrets))
		json_object_set_new(sc->names[SNAP_SECRETS], pre, json_true());
	if (json_object_size(ds->configs))
		json_object_set_new(sc->names[SNAP_CONFIGS], pre, json_true());
	free(pre);
	add_keys(sc->names[SNAP_NETWORKS], ds->networks);
	if (sc->net_declared)
		add_keys(sc->net_declared, ds->networks);
	add_keys(sc->names[SNAP_NETWORKS], ds->ext_networks);
	add_keys(sc->names[SNAP_SECRETS], ds->secrets);
	add_keys(sc->names[SNAP_SECRETS], ds->ext_secrets);
	add_keys(sc->names[SNAP_CONFIGS], ds->configs);
	add_keys(sc->names[SNAP_CONFIGS], ds->ext_configs);
	/* what the services refer to (declared or not: precheck says which) */
	const char *k;
	json_t *spec;
	json_object_foreach(ds->services, k, spec) {
		if (sc->svc_names)
			json_object_set_new(sc->svc_names, k, json_string(ds->stack));
		json_t *tt = json_object_get(spec, "TaskTemplate"), *cs = json_object_get(tt, "ContainerSpec"), *x;
		size_t i;
		json_array_foreach(json_object_get(tt, "Networks"), i, x)
			if (json_is_string(json_object_get(x, "Target")))
				json_object_set_new(sc->names[SNAP_NETWORKS], json_string_value(json_object_get(x, "Target")),
						    json_true());
		json_array_foreach(json_object_get(cs, "Secrets"), i, x)
			if (json_is_string(json_object_get(x, "SecretName")))
				json_object_set_new(sc->names[SNAP_SECRETS], json_string_value(json_object_get(x, "SecretName")),
						    json_true());
		json_array_foreach(json_object_get(cs, "Configs"), i, x)
			if (json_is_string(json_object_get(x, "ConfigName")))
				json_object_set_new(sc->names[SNAP_CONFIGS], json_string_value(json_object_get(x, "ConfigName")),
						    json_true());
	}
}

/* ---------------- reading ---------------- */

static const char *const kinds[] = {"services", "secrets", "configs", "networks"};

/* One list request: /what, filtered by key (label, name, id) with the
 * values given (the engine takes any of them), or every object. */
struct list_job {
	struct docker *dk;
	int kind; /* index into kinds */
	char *path;
	json_t *(*keep)(const json_t *, void *); /* what to hold of each object, or NULL: all */
	void *ctx;				  /* keep's */
	/* services of a label: then those named as the declared ones that
	 * are not among them, in any case (cover_read) */
	const struct snapshot_scope *cover_sc;
	json_t *cover;
	/* networks by name: then every network when one that sc declares is
	 * not among them (the plan creates it: its name must be free in any
	 * case, and the engine's name filter is not case-insensitive) */
	const struct snapshot_scope *nets_sc;
	int all;
	json_t *out;
	char *err;
	int rc;
};

static char *list_path(int kind, const char *key, const json_t *values)
{
	if (!key)
		return xasprintf("/%s", kinds[kind]);
	json_t *f = json_pack("{s:O}", key, values);
	char *enc = docker_filters_json(f);
	char *path = xasprintf("/%s?filters=%s", kinds[kind], enc);
	json_decref(f);
	free(enc);
	return path;
}

static void add_job(struct list_job *jobs, size_t *n, int kind, const char *key, const json_t *values)
{
	jobs[*n] = (struct list_job){.kind = kind, .path = list_path(kind, key, values)};
	(*n)++;
}

/*
 * The engine takes a service name only when no service has it in any case,
 * and its name filter matches the start of names as they are written: the
 * services whose names start with prefix in any case are those that start
 * with one of its case variants.  The variants of prefix's start of at most
 * letters letters are added to values, that start lowercased to cover.
 */
static void case_variants(const char *prefix, int letters, json_t *values, json_t *cover)
{
	size_t len = 0;
	int nl = 0;
	for (; prefix[len]; len++) {
		int letter = (prefix[len] | 0x20) >= 'a' && (prefix[len] | 0x20) <= 'z';
		if (letter && nl == letters)
			break;
		nl += letter;
	}
	char *v = xstrndup(prefix, len);
	for (unsigned long m = 0; m < 1ul << nl; m++) {
		int b = 0;
		for (size_t i = 0; i < len; i++)
			if ((v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z')
				v[i] = (char)((m >> b++ & 1) ? (v[i] & ~0x20) : (v[i] | 0x20));
		json_array_append_new(values, json_string(v));
	}
	for (size_t i = 0; i < len; i++)
		v[i] = (char)((v[i] >= 'A' && v[i] <= 'Z') ? v[i] | 0x20 : v[i]);
	json_array_append_new(cover, json_string(v));
	free(v);
}

/* at most so many name values in the request (the engine compares each
 * with every service's name) */
#define COVER_MAX_VALUES 128

/*
 * After the services of a label (j->out): when a service the desired
 * states declare is not among those of its stack, the plan creates it, and
 * its name must be free in any case.  The services whose names start as
 * that stack's ("STACK_", in any case) are read at once, on the same
 * connection, so the check needs no list of every service (j->cover says
 * which starts are held).  Too many stacks for one request: not read (the
 * plan reads every service then).
 */
static int cover_read(struct list_job *j)
{
	const struct snapshot_scope *sc = j->cover_sc;
	json_t *have = json_object(), *stacks = json_object(), *x;
	size_t i;
	const char *name;
	json_array_foreach(j->out, i, x) {
		const char *n = json_string_value(json_object_get(json_object_get(x, "Spec"), "Name"));
		const char *ns = json_string_value(json_object_get(json_object_get(json_object_get(x, "Spec"), "Labels"),
							       LABEL_NAMESPACE));
		if (n && ns)
			json_object_set_new(have, n, json_string(ns));
	}
	json_object_foreach(sc->svc_names, name, x) {
		const char *ns = json_string_value(json_object_get(have, name));
		if (!ns || strcmp(ns, json_string_value(x)))
			json_object_set_new(stacks, json_string_value(x), json_true());
	}
	json_decref(have);
	int letters = 0, rc = 0;
	while (json_object_size(stacks) && (json_object_size(stacks) << (letters + 1)) <= COVER_MAX_VALUES &&
	       letters < 16)
		letters++;
	if (letters) {
		json_t *values = json_array(), *more = NULL;
		j->cover = json_array();
		json_object_foreach(stacks, name, x) {
			char *pre = xasprintf("%s_", name);
			case_variants(pre, letters, values, j->cover);
			free(pre);
		}
		char *path = list_path(0, "name", values);
		rc = docker_call(j->dk, "GET", path, NULL, &more, &j->err);
		free(path);
		json_decref(values);
		if (!rc && json_is_array(more))
			json_array_extend(j->out, more);
		else if (!rc && more) /* not a list: swarm_state_init says it */
			json_array_append(j->out, more);
		json_decref(more);
	}
	json_decref(stacks);
	return rc;
}

static int all_networks_read(struct list_job *j)
{
	json_t *have = json_object(), *x, *all = NULL;
	size_t i;
	const char *name;
	int missing = 0;
	json_array_foreach(j->out, i, x)
		if (json_is_string(json_object_get(x, "Name")))
			json_object_set_new(have, json_string_value(json_object_get(x, "Name")), json_true());
	json_object_foreach(j->nets_sc->net_declared, name, x)
		missing |= !json_object_get(have, name);
	json_decref(have);
	if (!missing)
		return 0;
	int rc = docker_call(j->dk, "GET", "/networks", NULL, &all, &j->err);
	if (!rc && all) {
		json_decref(j->out);
		j->out = all;
		j->all = 1;
	}
	return rc;
}

static void *list_thread(void *arg)
{
	struct list_job *j = arg;
	j->rc = j->keep ? docker_list(j->dk, j->path, j->keep, j->ctx, &j->out, &j->err) :
			  docker_call(j->dk, "GET", j->path, NULL, &j->out, &j->err);
	if (!j->rc && !j->out)
		j->out = json_array();
	if (!j->rc && j->cover_sc && json_is_array(j->out))
		j->rc = cover_read(j);
	if (!j->rc && j->nets_sc && json_is_array(j->out))
		j->rc = all_networks_read(j);
	return NULL;
}

/* The jobs at once, each on its own connection (the first on dk): the
 * engine answers them in parallel, and a big list is parsed while the
 * others are on their way.  -1 with the first error. */
static int run_jobs(struct docker *dk, struct list_job *jobs, size_t n, char **err)
{
	pthread_t th[SNAP_MAX_JOBS];
	int started[SNAP_MAX_JOBS] = {0};
	for (size_t i = 1; i < n; i++) {
		jobs[i].dk = docker_clone(dk);
		started[i] = pthread_create(&th[i], NULL, list_thread, &jobs[i]) == 0;
		if (!started[i])
			list_thread(&jobs[i]);
	}
	if (n) {
		jobs[0].dk = dk;
		list_thread(&jobs[0]);
	}
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (i && started[i])
			pthread_join(th[i], NULL);
		if (i)
			docker_absorb(dk, jobs[i].dk);
		if (jobs[i].rc && !rc) {
			rc = -1;
			*err = jobs[i].err;
			jobs[i].err = NULL;
		}
		free(jobs[i].err);
		free(jobs[i].path);
	}
	return rc;
}

static const char *obj_id(const json_t *x)
{
	return json_string_value(json_object_get(x, "ID")) ?: json_string_value(json_object_get(x, "Id"));
}

/* Append to into the objects of from whose ID it does not hold yet
 * (objects without an ID are kept: well_formed refuses them). */
static void merge(json_t *into, const json_t *from)
{
	json_t *seen = json_object(), *x;
	size_t i;
	json_array_foreach(into, i, x)
		if (obj_id(x))
			json_object_set_new(seen, obj_id(x), json_true());
	json_array_foreach((json_t *)from, i, x) {
		const char *id = obj_id(x);
		if (id && json_object_get(seen, id))
			continue;
		if (id)
			json_object_set_new(seen, id, json_true());
		json_array_append(into, x);
	}
	json_decref(seen);
}

/* The lists of one kind as one array. */
static json_t *gather(struct list_job *jobs, size_t n, int kind)
{
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++) {
		if (jobs[i].kind != kind)
			continue;
		if (!json_is_array(jobs[i].out)) { /* well_formed says it */
			json_decref(out);
			return json_incref(jobs[i].out);
		}
		merge(out, jobs[i].out);
	}
	return out;
}

static int has_ingress(const json_t *networks)
{
	size_t i;
	json_t *x;
	json_array_foreach((json_t *)networks, i, x)
		if (json_is_true(json_object_get(x, "Ingress")))
			return 1;
	return 0;
}

/* A service as the swarm-wide checks need it (names, published ports,
 * whose it is): a list of thousands kept small.  Only those that publish a
 * port or whose lowercased name is in names (NULL: all). */
static json_t *slim_service(const json_t *x, void *names)
{
	const json_t *spec = json_object_get(x, "Spec"), *l = json_object_get(spec, "Labels");
	if (!json_is_object(spec) || !json_is_string(json_object_get(x, "ID")))
		return json_incref((json_t *)x); /* malformed: well_formed says it */
	json_t *ports = json_object_get(json_object_get(spec, "EndpointSpec"), "Ports"), *p;
	int publishes = 0;
	size_t i;
	json_array_foreach(ports, i, p)
		publishes |= json_integer_value(json_object_get(p, "PublishedPort")) > 0;
	if (names && !publishes) {
		const char *n = json_string_value(json_object_get(spec, "Name"));
		if (!n)
			return NULL;
		char *lower = xstrdup(n);
		for (char *c = lower; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c | 0x20);
		int keep = json_object_get(names, lower) != NULL;
		free(lower);
		if (!keep)
			return NULL;
	}
	json_t *ns = json_object();
	static const char *keep[] = {LABEL_NAMESPACE, LABEL_MANAGED};
	for (size_t k = 0; k < ARRAY_SIZE(keep); k++)
		if (json_object_get(l, keep[k]))
			json_object_set(ns, keep[k], json_object_get(l, keep[k]));
	json_t *s = json_pack("{s:O*, s:o}", "Name", json_object_get(spec, "Name"), "Labels", ns);
	if (ports)
		json_object_set_new(s, "EndpointSpec", json_pack("{s:O}", "Ports", ports));
	return json_pack("{s:O, s:o}", "ID", json_object_get(x, "ID"), "Spec", s);
}

/* Network IDs the snapshot's services use and its networks do not name. */
static json_t *unnamed_networks(const json_t *services, const json_t *net_names)
{
	json_t *ids = json_array(), *seen = json_object(), *svc;
	size_t i;
	json_array_foreach((json_t *)services, i, svc) {
		json_t *tt = json_object_get(json_object_get(svc, "Spec"), "TaskTemplate"), *x;
		size_t j;
		json_array_foreach(json_object_get(tt, "Networks"), j, x) {
			const char *t = json_string_value(json_object_get(x, "Target"));
			if (!t || !*t || json_object_get(net_names, t) || json_object_get(seen, t))
				continue;
			json_object_set_new(seen, t, json_true());
			json_array_append_new(ids, json_string(t));
		}
	}
	json_decref(seen);
	return ids;
}

int swarm_fetch(struct docker *dk, const struct snapshot_scope *sc, struct swarm_state *st, char **err)
{
	struct list_job jobs[SNAP_MAX_JOBS];
	size_t n = 0;
	memset(st, 0, sizeof *st);
	json_t *label = NULL;
	if (sc && sc->stack) {
		char *l = xasprintf(LABEL_NAMESPACE "=%s", sc->stack);
		label = json_pack("[s]", l);
		free(l);
	} else if (sc && sc->managed) {
		label = json_pack("[s]", LABEL_MANAGED "=true");
	}
	for (int k = 0; k < 4; k++) {
		if (k == 0 && sc && sc->stack && sc->svc_named) {
			/* the label's services named "STACK_...": the engine
			 * finds them by its name index, where a label alone has
			 * it copy every service of the swarm to compare */
			char *pre = xasprintf("%s_", sc->stack);
			json_t *f = json_pack("{s:O, s:[s]}", "label", label, "name", pre);
			char *enc = docker_filters_json(f);
			jobs[n++] = (struct list_job){.kind = 0, .path = xasprintf("/services?filters=%s", enc)};
			free(enc);
			json_decref(f);
			free(pre);
		} else if (!sc || label) {
			add_job(jobs, &n, k, label ? "label" : NULL, label);
		}
		if (k == 0 && label && json_object_size(sc->svc_names))
			jobs[n - 1].cover_sc = sc;
		if (!sc)
			continue;
		/* by name: services, secrets and configs by prefix (secrets and
		 * configs case-insensitively, as the engine keeps their names),
		 * networks by the exact name */
		json_t *values = json_array(), *x;
		const char *name;
		if (k == 0)
			json_object_foreach(sc->svc_prefixes, name, x)
				json_array_append_new(values, json_string(name));
		if (k)
			json_object_foreach(sc->names[k == 3 ? SNAP_NETWORKS : k == 1 ? SNAP_SECRETS : SNAP_CONFIGS], name, x)
				json_array_append_new(values, json_string(name));
		if (k == 3) /* the swarm's ingress network, usually by this name */
			json_array_append_new(values, json_string("ingress"));
		if (json_array_size(values)) {
			add_job(jobs, &n, k, "name", values);
			if (k == 3 && json_object_size(sc->net_declared))
				jobs[n - 1].nets_sc = sc;
		}
		json_decref(values);
	}
	json_decref(label);
	if (run_jobs(dk, jobs, n, err) < 0) {
		for (size_t i = 0; i < n; i++) {
			json_decref(jobs[i].out);
			json_decref(jobs[i].cover);
		}
		return -1;
	}
	json_t *lists[4], *cover = NULL;
	for (int k = 0; k < 4; k++)
		lists[k] = gather(jobs, n, k);
	int all_nets = 0;
	for (size_t i = 0; i < n; i++) {
		json_decref(jobs[i].out);
		if (jobs[i].cover)
			cover = jobs[i].cover;
		all_nets |= jobs[i].all;
	}
	if (swarm_state_init(st, lists[0], lists[1], lists[2], lists[3], err) < 0) {
		json_decref(cover);
		return -1;
	}
	st->svc_cover = cover;
	st->all_networks = all_nets;
	if (!sc)
		return 0;
	/* the ingress network under another name (or none): every network */
	if (!has_ingress(st->networks) && swarm_widen(dk, st, 0, 1, NULL, err) < 0) {
		swarm_state_free(st);
		return -1;
	}
	/* networks the stack's services use that no desired state names (a
	 * plan shows them by name) */
	json_t *ids = unnamed_networks(st->services, st->net_names);
	int rc = 0;
	if (json_array_size(ids)) {
		n = 0;
		add_job(jobs, &n, 3, "id", ids);
		if ((rc = run_jobs(dk, jobs, n, err)) == 0)
			rc = snapshot_add(st, NULL, jobs[0].out, err);
		json_decref(jobs[0].out);
	}
	json_decref(ids);
	if (rc < 0)
		swarm_state_free(st);
	return rc;
}

int snapshot_add(struct swarm_state *st, json_t *services, json_t *networks, char **err)
{
	if ((services && well_formed(services, "services", err)) || (networks && well_formed(networks, "networks", err)))
		return -1;
	if (services)
		merge(st->services, services);
	if (networks) {
		merge(st->networks, networks);
		size_t i;
		json_t *x;
		json_array_foreach(networks, i, x)
			json_object_set_new(st->net_names, json_string_value(json_object_get(x, "Id")),
					    json_string(json_string_value(json_object_get(x, "Name"))));
	}
	return 0;
}

int swarm_widen(struct docker *dk, struct swarm_state *st, int services, int networks, const json_t *names,
		char **err)
{
	struct list_job jobs[2];
	size_t n = 0;
	networks &= !st->all_networks;
	if (services)
		add_job(jobs, &n, 0, NULL, NULL);
	if (networks)
		add_job(jobs, &n, 3, NULL, NULL);
	if (!n)
		return 0;
	/* keep what the checks read of the services: thousands, maybe */
	for (size_t i = 0; i < n; i++)
		if (jobs[i].kind == 0) {
			jobs[i].keep = slim_service;
			jobs[i].ctx = (void *)names;
		}
	int rc = run_jobs(dk, jobs, n, err);
	json_t *svcs = NULL, *nets = NULL;
	for (size_t i = 0; i < n && !rc; i++) {
		if (jobs[i].kind == 3)
			nets = json_incref(jobs[i].out);
		else
			svcs = json_incref(jobs[i].out);
	}
	for (size_t i = 0; i < n; i++)
		json_decref(jobs[i].out);
	if (!rc)
		rc = snapshot_add(st, svcs, nets, err);
	if (!rc && nets)
		st->all_networks = 1;
	json_decref(svcs);
	json_decref(nets);
	return rc;
}

void swarm_state_free(struct swarm_state *st)
{
	json_decref(st->services);
	json_decref(st->secrets);
	json_decref(st->configs);
	json_decref(st->networks);
	json_decref(st->net_names);
	json_decref(st->svc_cover);
	memset(st, 0, sizeof *st);
}

/* Labels of an object: networks keep them at the top, the rest in Spec. */
static json_t *obj_labels(const json_t *obj, int spec)
{
	return spec ? json_object_get(json_object_get(obj, "Spec"), "Labels") : json_object_get(obj, "Labels");
}

static json_t *of_stack(const json_t *arr, const char *stack, int spec)
{
	json_t *out = json_array();
	size_t i;
	json_t *x;
	json_array_foreach((json_t *)arr, i, x) {
		const char *ns = json_string_value(json_object_get(obj_labels(x, spec), LABEL_NAMESPACE));
		if (ns && !strcmp(ns, stack))
			json_array_append(out, x);
	}
	return out;
}

void live_select(const struct swarm_state *st, const char *stack, struct live *lv)
{
	lv->services = of_stack(st->services, stack, 1);
	lv->secrets = of_stack(st->secrets, stack, 1);
	lv->configs = of_stack(st->configs, stack, 1);
	lv->networks = of_stack(st->networks, stack, 0);
	lv->all_networks = st->networks;
	lv->net_names = st->net_names;
	lv->all_secrets = st->secrets;
	lv->all_configs = st->configs;
}

void live_free(struct live *lv)
{
	json_decref(lv->services);
	json_decref(lv->networks);
	json_decref(lv->secrets);
	json_decref(lv->configs);
	memset(lv, 0, sizeof *lv);
}

void swarm_managed_stacks(const struct swarm_state *st, struct strv *out)
{
	const json_t *arrs[] = {st->services, st->secrets, st->configs, st->networks};
	for (int k = 0; k < 4; k++) {
		size_t i;
		json_t *x;
		json_array_foreach((json_t *)arrs[k], i, x) {
			json_t *l = obj_labels(x, k < 3);
			const char *ns = json_string_value(json_object_get(l, LABEL_NAMESPACE));
			const char *m = json_string_value(json_object_get(l, LABEL_MANAGED));
			if (!ns || !m || strcmp(m, "true"))
				continue;
			int seen = 0;
			for (size_t s = 0; s < out->n; s++)
				seen |= !strcmp(out->v[s], ns);
			if (!seen)
				strv_push(out, xstrdup(ns));
		}
	}
	strv_sort(out);
}
