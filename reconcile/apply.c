#include "apply.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "convert.h"
#include "util.h"

#define CONFLICT_RETRIES 5

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/*
 * Transient failures (apply_plan): the engine restarting (cannot connect,
 * no answer in time), a 5xx, a connection lost mid-request.  The
 * operation is retried with backoff -- 0.25 s doubling to 4 s, for up to
 * RETRY_UNAVAIL_MS while the engine is unreachable, RETRY_5XX times for an
 * answer in error -- and before it is repeated, whether the first attempt
 * took effect after all is checked, so nothing is created twice.
 */
#define RETRY_UNAVAIL_MS 60000
#define RETRY_5XX 4

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

struct retry {
	long start, delay;
	int n5xx;
	const struct apply_report *rep;
	const struct op *op;
};

static void tell(const struct apply_report *rep, const struct apply_event *ev)
{
	if (rep && rep->fn)
		rep->fn(rep->ctx, ev);
}

/* After a failure rc: wait and return 1 to try again, or 0 to give up. */
static int retry_after(struct retry *r, int rc, const char *what, const char *err)
{
	if (rc != DOCKER_EUNAVAIL && rc != DOCKER_ETRANSIENT)
		return 0;
	if (!r->start)
		r->start = now_ms(), r->delay = 250;
	if (rc == DOCKER_ETRANSIENT && ++r->n5xx > RETRY_5XX)
		return 0;
	if (rc == DOCKER_EUNAVAIL && now_ms() - r->start + r->delay > RETRY_UNAVAIL_MS)
		return 0;
	struct apply_event ev = {.kind = APPLY_RETRY, .op = r->op, .what = what, .err = err ? err : "engine error",
				 .delay = r->delay / 1000.0};
	tell(r->rep, &ev);
	sleep_ms(r->delay);
	r->delay = r->delay * 2 > 4000 ? 4000 : r->delay * 2;
	return 1;
}

/* Does the object the create was for exist now (a first attempt that took
 * effect though its answer was lost)?  1 yes, 0 no, -1 cannot tell. */
static int created_meanwhile(struct docker *dk, const struct op *o)
{
	static const char *paths[] = {"networks", "secrets", "configs", "services"};
	char *err = NULL, *path;
	json_t *r = NULL;
	int rc, found = 0;
	if (o->kind == K_NETWORK) {
		/* inspect by name would also match an ID prefix: list, compare names */
		char *f = docker_filters("name", o->name);
		path = xasprintf("/networks?filters=%s", f);
		free(f);
		rc = docker_call(dk, "GET", path, NULL, &r, &err);
		size_t i;
		json_t *x;
		json_array_foreach(r, i, x)
			found |= !strcmp(json_string_value(json_object_get(x, "Name")) ?: "", o->name);
	} else {
		path = xasprintf("/%s/%s", paths[o->kind], o->name);
		rc = docker_call(dk, "GET", path, NULL, &r, &err);
		found = rc == DOCKER_OK;
		if (rc == DOCKER_ENOTFOUND)
			rc = DOCKER_OK;
	}
	free(path);
	free(err);
	json_decref(r);
	return rc == DOCKER_OK ? found : -1;
}

/* Name -> ID of the secrets and configs the plan's services refer to,
 * read once per apply and again after apply itself created one. */
struct ids {
	json_t *by_kind[2]; /* secrets, configs: object name -> ID */
	json_t *names[2];   /* the names referred to: ["name", ...] */
};

static int ids_load(struct docker *dk, struct ids *ids, int k, char **err)
{
	static const char *paths[] = {"/secrets", "/configs"};
	if (ids->by_kind[k])
		return 0;
	json_t *list = NULL;
	/* those alone, not every secret of the swarm (the engine matches
	 * names by their start: the exact ones are picked below) */
	json_t *f = json_pack("{s:O}", "name", ids->names[k] ? ids->names[k] : json_array());
	char *enc = docker_filters_json(f), *path = xasprintf("%s?filters=%s", paths[k], enc);
	int rc = json_array_size(ids->names[k]) ? docker_call(dk, "GET", path, NULL, &list, err) : DOCKER_OK;
	json_decref(f);
	free(enc);
	free(path);
	if (rc)
		return -1;
	json_t *m = json_object();
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		const char *name = json_string_value(json_object_get(json_object_get(x, "Spec"), "Name"));
		const char *id = json_string_value(json_object_get(x, "ID"));
		if (name && id)
			json_object_set_new(m, name, json_string(id));
	}
	json_decref(list);
	ids->by_kind[k] = m;
	return 0;
}

/* The secret and config names the service operations of p refer to. */
static void ids_want(struct ids *ids, const struct plan *p)
{
	static const char *kinds[][2] = {{"Secrets", "SecretName"}, {"Configs", "ConfigName"}};
	for (int k = 0; k < 2; k++) {
		json_t *seen = json_object();
		ids->names[k] = json_array();
		for (size_t i = 0; i < p->n; i++) {
			json_t *cs = json_object_get(json_object_get(p->ops[i].spec, "TaskTemplate"), "ContainerSpec"), *r;
			size_t j;
			if (p->ops[i].kind != K_SERVICE)
				continue;
			json_array_foreach(json_object_get(cs, kinds[k][0]), j, r) {
				const char *name = json_string_value(json_object_get(r, kinds[k][1]));
				if (name && !json_object_get(seen, name)) {
					json_object_set_new(seen, name, json_true());
					json_array_append_new(ids->names[k], json_string(name));
				}
			}
		}
		json_decref(seen);
	}
}

static void ids_forget(struct ids *ids, int k)
{
	json_decref(ids->by_kind[k]);
	ids->by_kind[k] = NULL;
}

/* Fill SecretID / ConfigID from the names. */
static int resolve_refs(struct docker *dk, struct ids *ids, json_t *spec, char **err)
{
	static const char *kinds[][3] = {{"Secrets", "SecretName", "SecretID"}, {"Configs", "ConfigName", "ConfigID"}};
	json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
	for (int k = 0; k < 2; k++) {
		json_t *refs = json_object_get(cs, kinds[k][0]);
		size_t i;
		json_t *r;
		json_array_foreach(refs, i, r) {
			if (ids_load(dk, ids, k, err) < 0)
				return -1;
			const char *name = json_string_value(json_object_get(r, kinds[k][1]));
			json_t *id = name ? json_object_get(ids->by_kind[k], name) : NULL;
			if (!id) {
				*err = xasprintf("%s not found: %s", k ? "config" : "secret", name ? name : "");
				return -1;
			}
			/* a copy: workers share the ids (apply_plan) */
			json_object_set_new(r, kinds[k][2], json_string(json_string_value(id)));
		}
	}
	/* a credential spec in a config names it by ID: its Runtime reference's,
	 * resolved above (convert adds that reference) */
	json_t *cred = json_object_get(json_object_get(cs, "Privileges"), "CredentialSpec");
	const char *cc = json_string_value(json_object_get(cred, "Config"));
	size_t i;
	json_t *r;
	json_array_foreach(cc && *cc ? json_object_get(cs, "Configs") : NULL, i, r)
		if (!strcmp(json_string_value(json_object_get(r, "ConfigName")) ?: "", cc)) {
			json_object_set(cred, "Config", json_object_get(r, "ConfigID"));
			break;
		}
	return 0;
}

static const char *spec_hash(const json_t *spec)
{
	return json_string_value(json_object_get(json_object_get(spec, "Labels"), LABEL_HASH));
}

static int update_service(struct docker *dk, const struct op *o, json_t *spec, const struct apply_report *rep,
			  char **err)
{
	long long version = o->version;
	struct retry rt = {.rep = rep, .op = o};
	char *what = xasprintf("update service %s", o->name);
	int rc, conflicts = 0;
	for (;;) {
		char *path = xasprintf("/services/%s/update?version=%lld", o->id, version);
		rc = docker_call(dk, "POST", path, spec, NULL, err);
		free(path);
		if (rc == DOCKER_ECONFLICT && conflicts < CONFLICT_RETRIES) {
			struct apply_event ev = {.kind = APPLY_STALE, .op = o, .what = what, .err = *err};
			tell(rep, &ev);
			sleep_ms(200L << conflicts++);
		} else if (!retry_after(&rt, rc, what, *err)) {
			break;
		}
		free(*err);
		*err = NULL;
		/* a fresh version; and did the lost attempt land after all? */
		json_t *cur = NULL;
		path = xasprintf("/services/%s", o->id);
		int gr;
		while ((gr = docker_call(dk, "GET", path, NULL, &cur, err)) != DOCKER_OK && retry_after(&rt, gr, what, *err)) {
			free(*err);
			*err = NULL;
		}
		free(path);
		if (gr != DOCKER_OK) {
			rc = gr;
			break;
		}
		const char *want = spec_hash(spec), *have = spec_hash(json_object_get(cur, "Spec"));
		int landed = conflicts == 0 && want && have && !strcmp(want, have);
		version = json_integer_value(json_object_get(json_object_get(cur, "Version"), "Index"));
		json_decref(cur);
		if (landed) {
			rc = DOCKER_OK;
			break;
		}
	}
	free(what);
	return rc;
}

/* Is the object at path (by ID) gone?  Only a 404 says so. */
static int gone(struct docker *dk, const char *path)
{
	json_t *r = NULL;
	char *err = NULL;
	int rc = docker_call(dk, "GET", path, NULL, &r, &err);
	json_decref(r);
	free(err);
	return rc == DOCKER_ENOTFOUND;
}

static int remove_obj(struct docker *dk, const struct op *o, const struct apply_report *rep, char **err)
{
	static const char *paths[] = {"networks", "secrets", "configs", "services"};
	char *path = xasprintf("/%s/%s", paths[o->kind], o->id);
	int rc = DOCKER_ERR;
	/* a network or secret can still be in use by tasks that are stopping */
	struct retry rt = {.rep = rep, .op = o};
	char *what = xasprintf("remove %s", o->name);
	for (int attempt = 0; attempt < 30; attempt++) {
		free(*err); /* the last attempt's words stay, to say why */
		*err = NULL;
		rc = docker_call(dk, "DELETE", path, NULL, NULL, err);
		if (rc == DOCKER_OK || rc == DOCKER_ENOTFOUND)
			break;
		/* an earlier attempt that took effect though its answer was lost:
		 * the engine may say "not found" with a 5xx; gone is done */
		if (strstr(*err, "not found") && gone(dk, path)) {
			rc = DOCKER_OK;
			break;
		}
		/* a conflict on a delete is nothing a fresh read would settle: retry it */
		if (retry_after(&rt, rc == DOCKER_ECONFLICT ? DOCKER_ETRANSIENT : rc, what, *err)) {
			attempt--;
		} else if (o->kind == K_SERVICE || (!strstr(*err, "in use") && !strstr(*err, "active endpoints"))) {
			break;
		} else {
			sleep_ms(500);
		}
	}
	free(what);
	free(path);
	return rc == DOCKER_ENOTFOUND ? DOCKER_OK : rc;
}

static int create(struct docker *dk, const struct op *o, json_t *body, struct ids *ids,
		  const struct apply_report *rep, char **err)
{
	static const char *paths[] = {"/networks/create", "/secrets/create", "/configs/create", "/services/create"};
	struct retry rt = {.rep = rep, .op = o};
	char *what = xasprintf("create %s", o->name);
	int rc;
	if (o->kind == K_NETWORK)
		json_object_set_new(body, "CheckDuplicate", json_boolean(!o->over_stale));
	for (;;) {
		rc = o->kind == K_SERVICE ? resolve_refs(dk, ids, body, err) : DOCKER_OK;
		if (rc == DOCKER_OK)
			rc = docker_call(dk, "POST", paths[o->kind], body, NULL, err);
		if (o->kind == K_SECRET || o->kind == K_CONFIG)
			ids_forget(ids, o->kind == K_SECRET ? 0 : 1);
		/* a conflict: the name is taken; by this object (a lost answer)
		 * is settled below, by another it fails after the retries */
		if (!retry_after(&rt, rc == DOCKER_ECONFLICT ? DOCKER_ETRANSIENT : rc, what, *err))
			break;
		free(*err);
		*err = NULL;
		/* the lost attempt may have created it: never a second one */
		int there;
		while ((there = created_meanwhile(dk, o)) < 0 && retry_after(&rt, DOCKER_EUNAVAIL, what, "cannot check"))
			;
		if (there > 0) {
			rc = DOCKER_OK;
			break;
		}
	}
	free(what);
	return rc;
}

/* A named secret's or config's labels (plan.c: the content is the same,
 * or the engine is to tell).  The engine refuses other data with "only
 * updates to Labels are allowed": said in the stack's terms here. */
static int update_object(struct docker *dk, const struct op *o, json_t *body, const struct apply_report *rep,
			 char **err)
{
	const char *what = o->kind == K_SECRET ? "secret" : "config";
	char *path = xasprintf("/%ss/%s/update?version=%lld", what, o->id, o->version);
	char *label = xasprintf("update %s", o->name);
	struct retry rt = {.rep = rep, .op = o};
	int rc;
	while ((rc = docker_call(dk, "POST", path, body, NULL, err)) != DOCKER_OK && retry_after(&rt, rc, label, *err)) {
		free(*err);
		*err = NULL;
	}
	if (rc != DOCKER_OK && *err && strstr(*err, "only updates to Labels are allowed")) {
		free(*err);
		*err = xasprintf("the file's content differs from the %s the swarm has under that name (made without shoal, so not compared before), and the engine cannot change it: rename it or drop name: to have shoal rotate it",
				 what);
	}
	free(label);
	free(path);
	return rc;
}

/* One operation, its body a private copy (wiped and freed here). */
static int run_op(struct docker *dk, const struct op *o, json_t *body, struct ids *ids,
		  const struct apply_report *rep, char **err)
{
	int rc = DOCKER_OK;
	switch (o->op) {
	case OP_CREATE:
		rc = create(dk, o, body, ids, rep, err);
		break;
	case OP_UPDATE:
		if (o->kind == K_SECRET || o->kind == K_CONFIG) {
			rc = update_object(dk, o, body, rep, err);
			break;
		}
		rc = resolve_refs(dk, ids, body, err);
		if (!rc)
			rc = update_service(dk, o, body, rep, err);
		break;
	case OP_REMOVE:
		rc = remove_obj(dk, o, rep, err);
		break;
	}
	if (body) {
		/* secret specs carry data: wipe the copy */
		json_t *d = json_object_get(body, "Data");
		if (json_is_string(d))
			memset((char *)json_string_value(d), 0, json_string_length(d));
		json_decref(body);
	}
	return rc;
}

/*
 * Service creates and updates do not depend on one another: a run of them
 * goes to APPLY_WORKERS threads, each with its own engine connection, so
 * the engine can commit several at once (docker stack deploy sends them
 * one by one).  The bodies are copied and the secret and config IDs read
 * before the threads start; results are reported in plan order.  Eight:
 * 50 fresh services on a 2-core lab engine took 120 ms one by one, ~95 with
 * 2, ~75 with 4, ~65 with 8, no less with 16 (BENCHMARKS.md).
 */
#define APPLY_WORKERS 8

struct batch {
	struct docker *dk;     /* the caller's: cloned per worker */
	const struct op **ops; /* the run, less the skipped */
	json_t **bodies;
	struct ids *ids; /* loaded: read only */
	const struct apply_report *rep;
	int *rc;
	char **err;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *worker(void *arg)
{
	struct batch *b = arg;
	struct docker *dk = docker_clone(b->dk);
	for (;;) {
		pthread_mutex_lock(&b->mu);
		size_t i = b->next++;
		pthread_mutex_unlock(&b->mu);
		if (i >= b->n)
			break;
		b->rc[i] = run_op(dk, b->ops[i], b->bodies[i], b->ids, b->rep, &b->err[i]);
		b->bodies[i] = NULL;
	}
	pthread_mutex_lock(&b->mu);
	docker_absorb(b->dk, dk); /* its request counts; frees it */
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

static int parallel(const struct op *o)
{
	return o->kind == K_SERVICE && (o->op == OP_CREATE || o->op == OP_UPDATE);
}

static void report(const struct op *o, int rc, const char *err, const struct apply_report *rep,
		   struct apply_result *res, struct strv *failed_stacks)
{
	struct apply_event ev = {.kind = rc == DOCKER_OK ? APPLY_DONE : APPLY_FAILED, .op = o,
				 .err = rc == DOCKER_OK ? NULL : err ? err : "failed"};
	if (rc == DOCKER_OK) {
		res->done++;
	} else {
		res->failed++;
		if (o->op != OP_REMOVE)
			strv_push(failed_stacks, xstrdup(o->stack));
	}
	tell(rep, &ev);
}

static int stack_failed(const struct strv *failed_stacks, const char *stack)
{
	for (size_t s = 0; s < failed_stacks->n; s++)
		if (!strcmp(failed_stacks->v[s], stack))
			return 1;
	return 0;
}

/* ops[0..n), all parallel(): on the workers, reported in order. */
static void run_batch(struct docker *dk, const struct op *ops, size_t n, struct ids *ids,
		      const struct apply_report *rep, struct apply_result *res, struct strv *failed_stacks)
{
	struct batch b = {.dk = dk, .ids = ids, .rep = rep};
	b.ops = xcalloc(n, sizeof *b.ops);
	b.bodies = xcalloc(n, sizeof *b.bodies);
	b.rc = xcalloc(n, sizeof *b.rc);
	b.err = xcalloc(n, sizeof *b.err);
	for (size_t k = 0; k < n; k++)
		if (!stack_failed(failed_stacks, ops[k].stack)) {
			b.ops[b.n] = &ops[k];
			b.bodies[b.n++] = json_deep_copy(ops[k].spec);
		}
	/* the secret and config IDs the services refer to, read once here;
	 * if that fails the run goes one by one (the workers share them) */
	int loaded = 1;
	for (int k = 0; k < 2; k++) {
		char *err = NULL;
		int used = 0;
		for (size_t i = 0; i < b.n && !used; i++)
			used = json_array_size(json_object_get(
				       json_object_get(json_object_get(b.ops[i]->spec, "TaskTemplate"), "ContainerSpec"),
				       k ? "Configs" : "Secrets")) > 0;
		if (used && ids_load(dk, ids, k, &err) < 0) {
			free(err); /* resolve_refs says it per service */
			loaded = 0;
		}
	}
	pthread_mutex_init(&b.mu, NULL);
	fflush(stdout);
	pthread_t th[APPLY_WORKERS];
	size_t want = !loaded ? 0 : b.n < APPLY_WORKERS ? b.n : APPLY_WORKERS, started = 0;
	for (size_t t = 0; t < want; t++)
		if (pthread_create(&th[started], NULL, worker, &b) == 0)
			started++;
	if (!started)
		worker(&b);
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&b.mu);
	for (size_t k = 0; k < b.n; k++) {
		report(b.ops[k], b.rc[k], b.err[k], rep, res, failed_stacks);
		free(b.err[k]);
	}
	free(b.ops);
	free(b.bodies);
	free(b.rc);
	free(b.err);
}

int apply_plan(struct docker *dk, const struct plan *p, const struct apply_report *rep, struct apply_result *res)
{
	return apply_plan_stacks(dk, p, rep, res, NULL);
}

int apply_plan_stacks(struct docker *dk, const struct plan *p, const struct apply_report *rep, struct apply_result *res,
		      struct strv *failed)
{
	struct strv failed_stacks = {0};
	struct ids ids = {{NULL, NULL}, {NULL, NULL}};
	memset(res, 0, sizeof *res);
	ids_want(&ids, p);
	for (size_t i = 0; i < p->n;) {
		size_t j = i;
		while (j < p->n && parallel(&p->ops[j]) && p->ops[j].early == p->ops[i].early)
			j++;
		if (j - i >= 2) {
			run_batch(dk, &p->ops[i], j - i, &ids, rep, res, &failed_stacks);
			i = j;
			continue;
		}
		const struct op *o = &p->ops[i++];
		if (stack_failed(&failed_stacks, o->stack))
			continue;
		char *err = NULL;
		int rc = run_op(dk, o, o->spec ? json_deep_copy(o->spec) : NULL, &ids, rep, &err);
		report(o, rc, err, rep, res, &failed_stacks);
		free(err);
	}
	fflush(stdout);
	ids_forget(&ids, 0);
	ids_forget(&ids, 1);
	json_decref(ids.names[0]);
	json_decref(ids.names[1]);
	for (size_t i = 0; failed && i < failed_stacks.n; i++)
		strv_push(failed, xstrdup(failed_stacks.v[i]));
	strv_free(&failed_stacks);
	return res->failed ? -1 : 0;
}
