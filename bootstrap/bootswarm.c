/*
 * bootswarm.c - shoal bootstrap swarm: the inventory's swarm, built
 * through each node's own engine.
 *
 *   1. probe: read every engine's /info; nothing is written unless all
 *      answer and none belongs to another swarm
 *   2. plan, as data (struct swarm_run): init on the first manager
 *      (address pool, subnet size), joins with the right token, role
 *      changes, node labels, overlay networks, the agent's configs and
 *      secrets, the agent's stack; printed from that data
 *   3. with --dry-run stop; else execute each step, in that order
 *
 * Every step compares first, so a second run plans nothing and a node
 * added to the inventory is the only one joined.  The join tokens are read
 * from the manager when needed, kept in memory only, registered with the
 * scrubber (scrub.h) like the agent's secret and config files, so no
 * engine error shows them, and wiped after the joins.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../reconcile/docker.h"
#include "../reconcile/log.h"
#include "../reconcile/scrub.h"
#include "../reconcile/sync.h"
#include "../secrets/seal.h"
#include "bootstrap.h"
#include "../cli/cli.h"

#define LABEL_BOOTSTRAP "io.shoal.bootstrap"
#define OBJECT_MAX (500u * 1024) /* the engine's limit for a config or secret */

struct snode {
	const struct inv_node *inv;
	struct docker *dk;
	char *state;	/* LocalNodeState: inactive, pending, active, error, locked */
	char *id;	/* Swarm.NodeID once in a swarm */
	char *cluster;	/* Swarm.Cluster.ID (managers) */
	char *hostname; /* the engine's Name */
	int control;	/* a manager: ControlAvailable */
	int join;	/* planned */
	int relabel, rerole;
};

struct object { /* a config or secret of the agent */
	const char *name, *kind; /* "config", "secret" */
	char *data;
	size_t len;
	int create;
};

static char *jdup(const json_t *j)
{
	const char *s = json_string_value(j);
	return s && *s ? xstrdup(s) : NULL;
}

static int node_info(struct snode *n, char **err)
{
	json_t *info = NULL;
	if (docker_call(n->dk, "GET", "/info", NULL, &info, err) != DOCKER_OK)
		return -1;
	json_t *sw = json_object_get(info, "Swarm");
	free(n->state);
	free(n->id);
	free(n->cluster);
	free(n->hostname);
	n->state = jdup(json_object_get(sw, "LocalNodeState"));
	n->id = jdup(json_object_get(sw, "NodeID"));
	n->cluster = jdup(json_object_get(json_object_get(sw, "Cluster"), "ID"));
	n->control = json_is_true(json_object_get(sw, "ControlAvailable"));
	n->hostname = jdup(json_object_get(info, "Name"));
	json_decref(info);
	if (!n->state)
		n->state = xstrdup("inactive");
	return 0;
}

/* Overwrite every occurrence of tok in msg. */
static void wipe(char **s)
{
	if (*s) {
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = NULL;
	}
}

/* The node object (GET /nodes/ID) of a node, from the manager. */
static json_t *node_object(json_t *nodes, const char *id)
{
	size_t i;
	json_t *x;
	json_array_foreach(nodes, i, x)
		if (id && !strcmp(json_string_value(json_object_get(x, "ID")) ?: "", id))
			return x;
	return NULL;
}

static int labels_differ(const struct inv_node *n, json_t *spec)
{
	json_t *l = json_object_get(spec, "Labels");
	for (size_t i = 0; i < n->nlabels; i++) {
		const char *have = json_string_value(json_object_get(l, n->labels[i].key));
		if (!have || strcmp(have, n->labels[i].value))
			return 1;
	}
	return 0;
}

static const char *role_of(json_t *spec)
{
	return json_string_value(json_object_get(spec, "Role")) ?: "";
}

/* An object by exact name in a list (networks: Name; configs/secrets: Spec.Name). */
static json_t *by_name(json_t *list, const char *name, int in_spec)
{
	size_t i;
	json_t *x;
	json_array_foreach(list, i, x) {
		json_t *o = in_spec ? json_object_get(x, "Spec") : x;
		const char *n = json_string_value(json_object_get(o, "Name"));
		if (n && !strcmp(n, name))
			return x;
	}
	return NULL;
}

static char *b64(const char *data, size_t len)
{
	size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *out = xmalloc(n);
	sodium_bin2base64(out, n, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
	return out;
}

static void print_labels(const struct inv_node *n)
{
	for (size_t i = 0; i < n->nlabels; i++)
		printf(" %s=%s", n->labels[i].key, n->labels[i].value);
}

/* The manager's engine, opened anew for the agent's stack (its request
 * counts are the stack's alone); NULL after saying why. */
static struct docker *manager_engine(const struct inv_node *mgr)
{
	struct docker *dk = NULL;
	char *err = NULL;
	if (docker_open(&dk, mgr->engine, mgr->tls, &err) != DOCKER_OK) {
		fprintf(stderr, "shoal: %s\n", err);
		free(err);
		return NULL;
	}
	return dk;
}

/* What applying the agent's stack would change (`shoal plan DIR --stack
 * NAME`), into *p: the number of operations, or -1. */
static int agent_stack_plan(const struct inventory *inv, const struct inv_node *mgr, const struct seal_key *key,
			    struct plan *p)
{
	struct docker *dk = manager_engine(mgr);
	if (!dk)
		return -1;
	struct sync_opts so = {.dk = dk, .key = key, .dir = inv->dir, .prune = 1, .only = inv->agent_stack};
	struct repo r;
	int invalid = 0, n = -1;
	if (sync_plan(&so, p, &r, &invalid) == 0) {
		if (!invalid)
			n = (int)p->n;
		repo_free(&r);
	}
	docker_free(dk);
	return n;
}

/* `shoal apply DIR --stack NAME`: planned again (the swarm may be new),
 * applied; 0, or -1. */
static int agent_stack_apply(const struct inventory *inv, const struct inv_node *mgr, const struct seal_key *key)
{
	struct docker *dk = manager_engine(mgr);
	if (!dk)
		return -1;
	struct sync_opts so = {.dk = dk, .key = key, .dir = inv->dir, .prune = 1, .only = inv->agent_stack,
			       .report = &log_apply_report};
	struct plan p = {0};
	struct repo r;
	int invalid = 0, ret = -1;
	if (sync_plan(&so, &p, &r, &invalid) == 0) {
		struct apply_result res;
		int ar = sync_apply(&so, &p, &res);
		char *sum = sync_summary(&so, &res);
		printf("%s\n", sum);
		free(sum);
		ret = ar == 0 && !invalid ? 0 : -1;
		repo_free(&r);
	}
	plan_free(&p);
	docker_free(dk);
	return ret;
}

/* SHOAL_KEY_FILE's key, when set, into *k (*kp: k or NULL); -1 when it
 * cannot be loaded. */
static int load_key(struct seal_key *k, const struct seal_key **kp)
{
	const char *f = getenv("SHOAL_KEY_FILE");
	char *err = NULL;
	*kp = NULL;
	if (!f || !*f)
		return 0;
	if (seal_load_key(f, k, &err) < 0) {
		fprintf(stderr, "shoal: %s\n", err);
		free(err);
		return -1;
	}
	*kp = k;
	return 0;
}

static int update_node(struct snode *n, struct snode *mgr, json_t *obj, char **err)
{
	json_t *spec = json_deep_copy(json_object_get(obj, "Spec"));
	json_t *l = json_object_get(spec, "Labels");
	if (!json_is_object(l)) {
		l = json_object();
		json_object_set_new(spec, "Labels", l);
	}
	for (size_t i = 0; i < n->inv->nlabels; i++)
		json_object_set_new(l, n->inv->labels[i].key, json_string(n->inv->labels[i].value));
	json_object_set_new(spec, "Role", json_string(n->inv->manager ? "manager" : "worker"));
	char *path = xasprintf("/nodes/%s/update?version=%lld", n->id,
			       (long long)json_integer_value(json_object_get(json_object_get(obj, "Version"), "Index")));
	int rc = docker_call(mgr->dk, "POST", path, spec, NULL, err);
	free(path);
	json_decref(spec);
	return rc == DOCKER_OK ? 0 : -1;
}

/* Until the node is a reachable manager in raft (30 s at most). */
static int wait_reachable(struct snode *mgr, struct snode *n)
{
	for (int i = 0; i < 150; i++) {
		json_t *obj = NULL;
		char *err = NULL, *path = xasprintf("/nodes/%s", n->id);
		int rc = docker_call(mgr->dk, "GET", path, NULL, &obj, &err);
		free(path);
		free(err);
		const char *r = json_string_value(json_object_get(json_object_get(obj, "ManagerStatus"), "Reachability"));
		int ok = rc == DOCKER_OK && r && !strcmp(r, "reachable");
		json_decref(obj);
		if (ok)
			return 0;
		usleep(200 * 1000);
	}
	return -1;
}

static int load_objects(const struct inventory *inv, struct object **out, size_t *nout)
{
	size_t n = inv->nagent_configs + inv->nagent_secrets;
	struct object *v = xcalloc(n + 1, sizeof *v);
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		int cfg = i < inv->nagent_configs;
		const struct inv_kv *kv = cfg ? &inv->agent_configs[i] : &inv->agent_secrets[i - inv->nagent_configs];
		v[i].name = kv->key;
		v[i].kind = cfg ? "config" : "secret";
		char *path = kv->value[0] == '/' ? xstrdup(kv->value) : xasprintf("%s/%s", inv->dir, kv->value);
		if (read_file(path, OBJECT_MAX, &v[i].data, &v[i].len) < 0) {
			fprintf(stderr, "shoal: %s %s: cannot read %s: %s\n", v[i].kind, kv->key, path,
				errno == EFBIG ? "larger than 500 KiB" : strerror(errno));
			bad = 1;
		} else {
			char *label = xasprintf("(%s %s)", v[i].kind, kv->key);
			scrub_add(v[i].data, v[i].len, label, cfg ? 0 : SCRUB_LINES);
			free(label);
		}
		free(path);
	}
	*out = v;
	*nout = n;
	return bad ? -1 : 0;
}

static void objects_free(struct object *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].data) {
			sodium_memzero(v[i].data, v[i].len);
			free(v[i].data);
		}
	free(v);
}

/*
 * The run: what the engines said (probe), what is to be done (the plan,
 * as data: printed for --dry-run and before execution), then execute.
 */
struct swarm_run {
	struct inventory inv;
	const struct seal_key *key;
	size_t nn;
	struct snode *sn;
	struct object *obj;
	size_t nobj;
	json_t *nodes, *networks, *configs, *secrets; /* the manager's, when there is a swarm */
	struct snode *mgr, *first; /* a manager in control; the first manager of the inventory */
	/* the plan (with the flags of snode and object) */
	int init;		/* the swarm is created on first */
	int *create_network;	/* per inventory network */
	struct strv warnings;	/* found while planning: on stderr */
	int stack_changes;	/* the agent's stack: operations (1 when there is no swarm yet) */
	struct plan stack_plan; /* and what they are, when the swarm exists */
	int changes;
};

/* 1. every engine answers, and says which swarm it is in; the swarm's
 * nodes, networks, configs and secrets read from its manager.  -1 after
 * saying what stops the run. */
static int probe(struct swarm_run *w, const char *file)
{
	char *err = NULL;
	int bad = 0;
	for (size_t i = 0; i < w->nn; i++) {
		struct snode *n = &w->sn[i];
		n->inv = &w->inv.nodes[i];
		if (docker_open(&n->dk, n->inv->engine, n->inv->tls, &err) != DOCKER_OK || node_info(n, &err) < 0) {
			fprintf(stderr, "shoal: node %s (%s): %s\n", n->inv->name, n->inv->engine, err);
			free(err);
			err = NULL;
			bad = 1;
			continue;
		}
		if (n->hostname && strcmp(n->hostname, n->inv->name))
			fprintf(stderr, "shoal: warning: node %s: the engine at %s calls itself %s\n", n->inv->name,
				n->inv->engine, n->hostname);
		if (strcmp(n->state, "inactive") && strcmp(n->state, "active")) {
			fprintf(stderr, "shoal: node %s: swarm state \"%s\": settle it by hand first\n", n->inv->name,
				n->state);
			bad = 1;
		}
	}
	if (load_objects(&w->inv, &w->obj, &w->nobj) < 0)
		bad = 1;
	if (bad)
		return -1;
	for (size_t i = 0; i < w->nn; i++) {
		if (w->sn[i].inv->manager && !w->first)
			w->first = &w->sn[i];
		if (w->sn[i].inv->manager && w->sn[i].control && !w->mgr)
			w->mgr = &w->sn[i];
	}
	struct snode *mgr = w->mgr;
	if (mgr && docker_call(mgr->dk, "GET", "/nodes", NULL, &w->nodes, &err) != DOCKER_OK)
		goto fail;
	for (size_t i = 0; i < w->nn; i++) {
		struct snode *n = &w->sn[i];
		if (strcmp(n->state, "active")) {
			n->join = 1;
			continue;
		}
		if (!mgr) {
			fprintf(stderr, "shoal: node %s is in a swarm that no manager of %s runs: it must leave it first\n",
				n->inv->name, file);
			bad = 1;
		} else if (!node_object(w->nodes, n->id) || (n->cluster && strcmp(n->cluster, mgr->cluster ?: ""))) {
			fprintf(stderr, "shoal: node %s is in another swarm than %s's: it must leave it first\n", n->inv->name,
				mgr->inv->name);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	if (mgr && (docker_call(mgr->dk, "GET", "/networks", NULL, &w->networks, &err) != DOCKER_OK ||
		    docker_call(mgr->dk, "GET", "/configs", NULL, &w->configs, &err) != DOCKER_OK ||
		    docker_call(mgr->dk, "GET", "/secrets", NULL, &w->secrets, &err) != DOCKER_OK))
		goto fail;
	return 0;
fail:
	fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
	free(err);
	return -1;
}

/* 2. what is to be done, from what the probe found: nothing is printed
 * or written.  -1 when the agent's stack cannot be planned. */
static int plan_swarm(struct swarm_run *w)
{
	if (!w->mgr) {
		w->init = 1;
		w->first->join = 0;
		w->changes++;
	}
	for (size_t i = 0; i < w->nn; i++) {
		struct snode *n = &w->sn[i];
		json_t *spec = json_object_get(node_object(w->nodes, n->id), "Spec");
		if (n->join) {
			w->changes++;
		} else if (spec && strcmp(role_of(spec), n->inv->manager ? "manager" : "worker")) {
			n->rerole = 1;
			w->changes++;
		}
		if (n->inv->nlabels && (!spec || labels_differ(n->inv, spec))) {
			n->relabel = 1;
			w->changes++;
		}
	}
	w->create_network = xcalloc(w->inv.nnetworks + 1, sizeof *w->create_network);
	for (size_t i = 0; i < w->inv.nnetworks; i++) {
		json_t *have = by_name(w->networks, w->inv.networks[i].name, 0);
		const char *scope = json_string_value(json_object_get(have, "Scope"));
		if (have && strcmp(scope ?: "", "swarm"))
			strv_push(&w->warnings, xasprintf("network %s exists with scope %s, not swarm",
							 w->inv.networks[i].name, scope));
		if (!have) {
			w->create_network[i] = 1;
			w->changes++;
		}
	}
	for (size_t i = 0; i < w->nobj; i++) {
		struct object *ob = &w->obj[i];
		int cfg = !strcmp(ob->kind, "config");
		json_t *have = by_name(cfg ? w->configs : w->secrets, ob->name, 1);
		if (!have) {
			ob->create = 1;
			w->changes++;
		} else if (cfg) {
			char *want = b64(ob->data, ob->len);
			if (strcmp(json_string_value(json_object_get(json_object_get(have, "Spec"), "Data")) ?: "", want))
				strv_push(&w->warnings,
					  xasprintf("config %s differs from its file and is kept: configs cannot change, "
						    "give the new one another name",
						    ob->name));
			free(want);
		}
		/* a secret cannot be read back: one that exists is kept as it is */
	}
	if (w->inv.agent_stack && w->mgr) {
		w->stack_changes = agent_stack_plan(&w->inv, w->mgr->inv, w->key, &w->stack_plan);
		if (w->stack_changes < 0)
			return -1;
	} else if (w->inv.agent_stack) {
		w->stack_changes = 1;
	}
	return 0;
}

/* The plan, as `--dry-run` shows it. */
static void print_plan(const struct swarm_run *w)
{
	for (size_t i = 0; i < w->warnings.n; i++)
		fprintf(stderr, "shoal: warning: %s\n", w->warnings.v[i]);
	printf("swarm: %zu node%s, %s\n", w->nn, w->nn == 1 ? "" : "s", w->mgr ? "the swarm exists" : "no swarm yet");
	if (w->init)
		printf("  init      %s (advertise %s, address pool %s, subnets /%d)\n", w->first->inv->name,
		       w->first->inv->address, w->inv.pool, w->inv.subnet_size);
	for (size_t i = 0; i < w->nn; i++) {
		const struct snode *n = &w->sn[i];
		if (n->join)
			printf("  join      %s as %s\n", n->inv->name, n->inv->manager ? "manager" : "worker");
		else if (n->rerole)
			printf("  %-9s %s\n", n->inv->manager ? "promote" : "demote", n->inv->name);
		if (n->relabel) {
			printf("  label     %s", n->inv->name);
			print_labels(n->inv);
			printf("\n");
		}
	}
	for (size_t i = 0; i < w->inv.nnetworks; i++)
		if (w->create_network[i])
			printf("  create    network %s (overlay%s)\n", w->inv.networks[i].name,
			       w->inv.networks[i].attachable ? ", attachable" : "");
	for (size_t i = 0; i < w->nobj; i++)
		if (w->obj[i].create)
			printf("  create    %s %s\n", w->obj[i].kind, w->obj[i].name);
	if (w->inv.agent_stack && !w->mgr) {
		printf("  deploy    stack %s\n", w->inv.agent_stack);
	} else if (w->stack_changes > 0) {
		printf("  deploy    stack %s: %d change%s\n", w->inv.agent_stack, w->stack_changes,
		       w->stack_changes == 1 ? "" : "s");
		fflush(stdout);
		plan_print_text(&w->stack_plan, 0);
	}
	if (!w->changes && !w->stack_changes)
		printf("  nothing to do\n");
	fflush(stdout);
}

/* 3a. init, then the joins, with the tokens read from the manager once,
 * kept in memory only, scrubbed from every message and wiped after. */
static int execute_joins(struct swarm_run *w)
{
	char *err = NULL, *wtok = NULL, *mtok = NULL;
	int ret = -1, joins = 0;
	if (w->init) {
		struct snode *first = w->first;
		json_t *body = json_pack("{s:s, s:s, s:[s], s:i}", "ListenAddr", "0.0.0.0:2377", "AdvertiseAddr",
					 first->inv->address, "DefaultAddrPool", w->inv.pool, "SubnetSize", w->inv.subnet_size);
		int rc = docker_call(first->dk, "POST", "/swarm/init", body, NULL, &err);
		json_decref(body);
		if (rc != DOCKER_OK || node_info(first, &err) < 0) {
			fprintf(stderr, "shoal: init on %s: %s\n", first->inv->name, err);
			goto out;
		}
		printf("initialised the swarm on %s\n", first->inv->name);
		w->mgr = first;
	}
	struct snode *mgr = w->mgr;
	for (size_t i = 0; i < w->nn; i++)
		joins += w->sn[i].join;
	if (joins) {
		json_t *sw = NULL;
		if (docker_call(mgr->dk, "GET", "/swarm", NULL, &sw, &err) != DOCKER_OK) {
			fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
			goto out;
		}
		json_t *jt = json_object_get(sw, "JoinTokens");
		wtok = jdup(json_object_get(jt, "Worker"));
		mtok = jdup(json_object_get(jt, "Manager"));
		/* the copy inside the JSON is wiped before it is freed */
		const char *keys[] = {"Worker", "Manager"};
		for (int k = 0; k < 2; k++) {
			const char *s = json_string_value(json_object_get(jt, keys[k]));
			if (s)
				sodium_memzero((char *)s, strlen(s));
		}
		json_decref(sw);
		if (!wtok || !mtok) {
			fprintf(stderr, "shoal: node %s gave no join tokens\n", mgr->inv->name);
			goto out;
		}
		/* engine errors (a join refused) are scrubbed of them */
		scrub_add(wtok, strlen(wtok), "(join token)", 0);
		scrub_add(mtok, strlen(mtok), "(join token)", 0);
	}
	for (size_t i = 0; i < w->nn; i++) {
		struct snode *n = &w->sn[i];
		if (!n->join)
			continue;
		char *remote = xasprintf("%s:2377", mgr->inv->address);
		json_t *body = json_pack("{s:s, s:s, s:[s], s:s}", "ListenAddr", "0.0.0.0:2377", "AdvertiseAddr",
					 n->inv->address, "RemoteAddrs", remote, "JoinToken", n->inv->manager ? mtok : wtok);
		free(remote);
		int rc = docker_call(n->dk, "POST", "/swarm/join", body, NULL, &err);
		json_t *jtok = json_object_get(body, "JoinToken");
		sodium_memzero((char *)json_string_value(jtok), strlen(json_string_value(jtok)));
		json_decref(body);
		if (rc == DOCKER_OK)
			rc = node_info(n, &err) < 0 ? DOCKER_ERR : DOCKER_OK;
		if (rc != DOCKER_OK) {
			fprintf(stderr, "shoal: join %s: %s\n", n->inv->name, err);
			goto out;
		}
		printf("joined %s as %s\n", n->inv->name, n->inv->manager ? "manager" : "worker");
	}
	ret = 0;
out:
	free(err);
	wipe(&wtok);
	wipe(&mtok);
	return ret;
}

/* 3b. roles and labels, compared again with the manager's node list as it
 * is after the joins. */
static int execute_nodes(struct swarm_run *w)
{
	struct snode *mgr = w->mgr;
	char *err = NULL;
	json_decref(w->nodes);
	w->nodes = NULL;
	if (docker_call(mgr->dk, "GET", "/nodes", NULL, &w->nodes, &err) != DOCKER_OK) {
		fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
		free(err);
		return -1;
	}
	for (size_t i = 0; i < w->nn; i++) {
		struct snode *n = &w->sn[i];
		json_t *obj = node_object(w->nodes, n->id);
		json_t *spec = json_object_get(obj, "Spec");
		if (!obj) {
			fprintf(stderr, "shoal: node %s (%s) is not in the manager's node list\n", n->inv->name,
				n->id ? n->id : "no ID");
			return -1;
		}
		int relabel = labels_differ(n->inv, spec);
		int promote = n->inv->manager && strcmp(role_of(spec), "manager");
		int demote = !n->inv->manager && strcmp(role_of(spec), "worker");
		if (!relabel && !promote && !demote)
			continue;
		if (update_node(n, mgr, obj, &err) < 0) {
			fprintf(stderr, "shoal: node %s: %s\n", n->inv->name, err);
			free(err);
			return -1;
		}
		if (relabel)
			printf("labelled %s\n", n->inv->name);
		if (promote || demote)
			printf("%s %s\n", promote ? "promoted" : "demoted", n->inv->name);
		/* a new manager is not one until raft has it: the next change
		 * (a demotion, a leader change) would fail before that */
		if (promote && wait_reachable(mgr, n) < 0)
			fprintf(stderr, "shoal: warning: %s is not a reachable manager after 30 s\n", n->inv->name);
	}
	return 0;
}

/* 3c. the overlay networks, and the agent's configs and secrets. */
static int execute_objects(struct swarm_run *w)
{
	struct snode *mgr = w->mgr;
	char *err = NULL;
	for (size_t i = 0; i < w->inv.nnetworks; i++) {
		if (!w->create_network[i])
			continue;
		json_t *body = json_pack("{s:s, s:s, s:b, s:b, s:{s:s}}", "Name", w->inv.networks[i].name, "Driver",
					 "overlay", "Attachable", w->inv.networks[i].attachable, "CheckDuplicate", 1,
					 "Labels", LABEL_BOOTSTRAP, "true");
		int rc = docker_call(mgr->dk, "POST", "/networks/create", body, NULL, &err);
		json_decref(body);
		if (rc != DOCKER_OK) {
			fprintf(stderr, "shoal: network %s: %s\n", w->inv.networks[i].name, err);
			free(err);
			return -1;
		}
		printf("created network %s\n", w->inv.networks[i].name);
	}
	for (size_t i = 0; i < w->nobj; i++) {
		struct object *ob = &w->obj[i];
		if (!ob->create)
			continue;
		char *data = b64(ob->data, ob->len);
		json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "Name", ob->name, "Data", data, "Labels", LABEL_BOOTSTRAP,
					 "true");
		sodium_memzero(data, strlen(data));
		free(data);
		char *path = xasprintf("/%ss/create", ob->kind);
		int rc = docker_call(mgr->dk, "POST", path, body, NULL, &err);
		free(path);
		/* the body holds the secret: wipe jansson's copy */
		const char *d = json_string_value(json_object_get(body, "Data"));
		sodium_memzero((char *)d, strlen(d));
		json_decref(body);
		if (rc != DOCKER_OK) {
			fprintf(stderr, "shoal: %s %s: %s\n", ob->kind, ob->name, err);
			free(err);
			return -1;
		}
		printf("created %s %s\n", ob->kind, ob->name);
	}
	return 0;
}

static void run_free(struct swarm_run *w)
{
	json_decref(w->nodes);
	json_decref(w->networks);
	json_decref(w->configs);
	json_decref(w->secrets);
	objects_free(w->obj, w->nobj);
	for (size_t i = 0; i < w->nn; i++) {
		docker_free(w->sn[i].dk);
		free(w->sn[i].state);
		free(w->sn[i].id);
		free(w->sn[i].cluster);
		free(w->sn[i].hostname);
	}
	free(w->sn);
	free(w->create_network);
	strv_free(&w->warnings);
	plan_free(&w->stack_plan);
	inventory_free(&w->inv);
}

int bootstrap_swarm(int argc, char **argv)
{
	struct bootstrap_opts o;
	if (bootstrap_parse(argc, argv, &o, 0) < 0 || o.root) {
		fprintf(stderr, "usage: shoal bootstrap swarm [-f cluster.yml] [--dry-run]\n");
		return EXIT_USAGE;
	}
	struct swarm_run w = {0};
	struct seal_key key;
	int ret = EXIT_FAIL;
	seal_protect_process(); /* join tokens, secret files */
	/* the agent's stack is planned with the whole repository, sealed
	 * values included: the key of SHOAL_KEY_FILE when given */
	if (load_key(&key, &w.key) < 0 || bootstrap_load(&o, &w.inv) < 0)
		goto out;
	w.nn = w.inv.nnodes;
	w.sn = xcalloc(w.nn, sizeof *w.sn);
	if (probe(&w, o.file) < 0 || plan_swarm(&w) < 0)
		goto out;
	print_plan(&w);
	if (o.dry_run || (!w.changes && !w.stack_changes)) {
		ret = EXIT_OK;
		goto out;
	}
	if (execute_joins(&w) < 0 || execute_nodes(&w) < 0 || execute_objects(&w) < 0)
		goto out;
	if (w.inv.agent_stack && w.stack_changes) {
		fflush(NULL);
		if (agent_stack_apply(&w.inv, w.mgr->inv, w.key) < 0)
			goto out;
	}
	ret = EXIT_OK;
out:
	run_free(&w);
	if (w.key)
		sodium_memzero(&key, sizeof key);
	return ret;
}
