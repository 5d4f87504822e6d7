/*
 * bootswarm.c - shoal bootstrap swarm: the inventory's swarm, built
 * through each node's own engine.
 *
 *   1. read every engine's /info; nothing is written unless all answer and
 *      none belongs to another swarm
 *   2. plan: init on the first manager (address pool, subnet size), joins
 *      with the right token, role changes, node labels, overlay networks,
 *      the agent's configs and secrets, the agent's stack
 *   3. with --dry-run stop; else do each step, in that order
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

/* The agent's stack of the inventory's repository, planned (and with
 * apply, applied) through the manager's engine: `shoal plan DIR --stack
 * NAME`, `shoal apply DIR --stack NAME`.  The number of operations
 * (printed when planning), or -1. */
static int agent_stack(const struct inventory *inv, const struct inv_node *mgr, const struct seal_key *key, int apply)
{
	struct docker *dk = NULL;
	char *err = NULL;
	if (docker_open(&dk, mgr->engine, mgr->tls, &err) != DOCKER_OK) {
		fprintf(stderr, "shoal: %s\n", err);
		free(err);
		return -1;
	}
	struct sync_opts so = {.dk = dk, .key = key, .dir = inv->dir, .prune = 1, .only = inv->agent_stack,
			       .report = &log_apply_report};
	struct plan p = {0};
	struct repo r;
	int invalid = 0, n = -1;
	if (sync_plan(&so, &p, &r, &invalid) == 0) {
		if (!invalid)
			n = (int)p.n;
		if (apply) {
			struct apply_result res;
			int ar = sync_apply(&so, &p, &res);
			char *sum = sync_summary(&so, &res);
			printf("%s\n", sum);
			free(sum);
			if (ar < 0)
				n = -1;
		} else if (n > 0) {
			printf("  deploy    stack %s: %d change%s\n", inv->agent_stack, n, n == 1 ? "" : "s");
			fflush(stdout);
			plan_print_text(&p, 0);
		}
		repo_free(&r);
	}
	plan_free(&p);
	docker_free(dk);
	return n;
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

int bootstrap_swarm(int argc, char **argv)
{
	struct bootstrap_opts o;
	if (bootstrap_parse(argc, argv, &o, 0) < 0 || o.root) {
		fprintf(stderr, "usage: shoal bootstrap swarm [-f cluster.yml] [--dry-run]\n");
		return EXIT_USAGE;
	}
	struct inventory inv = {0};
	struct seal_key key;
	const struct seal_key *keyp = NULL;
	seal_protect_process(); /* join tokens, secret files */
	/* the agent's stack is planned with the whole repository, sealed
	 * values included: the key of SHOAL_KEY_FILE when given */
	if (load_key(&key, &keyp) < 0 || bootstrap_load(&o, &inv) < 0) {
		inventory_free(&inv);
		if (keyp)
			sodium_memzero(&key, sizeof key);
		return EXIT_FAIL;
	}
	size_t nn = inv.nnodes, nobj = 0;
	struct snode *sn = xcalloc(nn, sizeof *sn);
	struct object *obj = NULL;
	json_t *nodes = NULL, *networks = NULL, *configs = NULL, *secrets = NULL;
	char *err = NULL, *wtok = NULL, *mtok = NULL;
	int ret = EXIT_FAIL, bad = 0, changes = 0;

	/* 1. every engine answers, and says which swarm it is in */
	for (size_t i = 0; i < nn; i++) {
		sn[i].inv = &inv.nodes[i];
		if (docker_open(&sn[i].dk, sn[i].inv->engine, sn[i].inv->tls, &err) != DOCKER_OK ||
		    node_info(&sn[i], &err) < 0) {
			fprintf(stderr, "shoal: node %s (%s): %s\n", sn[i].inv->name, sn[i].inv->engine, err);
			free(err);
			err = NULL;
			bad = 1;
			continue;
		}
		if (sn[i].hostname && strcmp(sn[i].hostname, sn[i].inv->name))
			fprintf(stderr, "shoal: warning: node %s: the engine at %s calls itself %s\n", sn[i].inv->name,
				sn[i].inv->engine, sn[i].hostname);
		if (strcmp(sn[i].state, "inactive") && strcmp(sn[i].state, "active")) {
			fprintf(stderr, "shoal: node %s: swarm state \"%s\": settle it by hand first\n", sn[i].inv->name,
				sn[i].state);
			bad = 1;
		}
	}
	if (load_objects(&inv, &obj, &nobj) < 0)
		bad = 1;
	if (bad)
		goto out;
	struct snode *mgr = NULL, *first = NULL;
	for (size_t i = 0; i < nn; i++) {
		if (sn[i].inv->manager && !first)
			first = &sn[i];
		if (sn[i].inv->manager && sn[i].control && !mgr)
			mgr = &sn[i];
	}
	if (mgr && docker_call(mgr->dk, "GET", "/nodes", NULL, &nodes, &err) != DOCKER_OK) {
		fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		struct snode *n = &sn[i];
		if (strcmp(n->state, "active")) {
			n->join = 1;
			continue;
		}
		if (!mgr) {
			fprintf(stderr, "shoal: node %s is in a swarm that no manager of %s runs: it must leave it first\n",
				n->inv->name, o.file);
			bad = 1;
		} else if (!node_object(nodes, n->id) || (n->cluster && strcmp(n->cluster, mgr->cluster ?: ""))) {
			fprintf(stderr, "shoal: node %s is in another swarm than %s's: it must leave it first\n", n->inv->name,
				mgr->inv->name);
			bad = 1;
		}
	}
	if (bad)
		goto out;
	if (mgr && (docker_call(mgr->dk, "GET", "/networks", NULL, &networks, &err) != DOCKER_OK ||
		    docker_call(mgr->dk, "GET", "/configs", NULL, &configs, &err) != DOCKER_OK ||
		    docker_call(mgr->dk, "GET", "/secrets", NULL, &secrets, &err) != DOCKER_OK)) {
		fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
		goto out;
	}

	/* 2. the plan */
	printf("swarm: %zu node%s, %s\n", nn, nn == 1 ? "" : "s",
	       mgr ? "the swarm exists" : "no swarm yet");
	if (!mgr) {
		printf("  init      %s (advertise %s, address pool %s, subnets /%d)\n", first->inv->name,
		       first->inv->address, inv.pool, inv.subnet_size);
		first->join = 0;
		changes++;
	}
	for (size_t i = 0; i < nn; i++) {
		struct snode *n = &sn[i];
		json_t *spec = json_object_get(node_object(nodes, n->id), "Spec");
		if (n->join) {
			printf("  join      %s as %s\n", n->inv->name, n->inv->manager ? "manager" : "worker");
			changes++;
		} else if (spec && strcmp(role_of(spec), n->inv->manager ? "manager" : "worker")) {
			n->rerole = 1;
			printf("  %-9s %s\n", n->inv->manager ? "promote" : "demote", n->inv->name);
			changes++;
		}
		if (n->inv->nlabels && (!spec || labels_differ(n->inv, spec))) {
			n->relabel = 1;
			printf("  label     %s", n->inv->name);
			print_labels(n->inv);
			printf("\n");
			changes++;
		}
	}
	for (size_t i = 0; i < inv.nnetworks; i++) {
		json_t *have = by_name(networks, inv.networks[i].name, 0);
		if (have && strcmp(json_string_value(json_object_get(have, "Scope")) ?: "", "swarm"))
			fprintf(stderr, "shoal: warning: network %s exists with scope %s, not swarm\n", inv.networks[i].name,
				json_string_value(json_object_get(have, "Scope")));
		if (!have) {
			printf("  create    network %s (overlay%s)\n", inv.networks[i].name,
			       inv.networks[i].attachable ? ", attachable" : "");
			changes++;
		}
	}
	for (size_t i = 0; i < nobj; i++) {
		int cfg = !strcmp(obj[i].kind, "config");
		json_t *have = by_name(cfg ? configs : secrets, obj[i].name, 1);
		if (!have) {
			obj[i].create = 1;
			printf("  create    %s %s\n", obj[i].kind, obj[i].name);
			changes++;
		} else if (cfg) {
			char *want = b64(obj[i].data, obj[i].len);
			if (strcmp(json_string_value(json_object_get(json_object_get(have, "Spec"), "Data")) ?: "", want))
				fprintf(stderr,
					"shoal: warning: config %s differs from its file and is kept: configs cannot change, "
					"give the new one another name\n",
					obj[i].name);
			free(want);
		}
		/* a secret cannot be read back: one that exists is kept as it is */
	}
	int stack_changes = 0;
	if (inv.agent_stack && mgr) {
		stack_changes = agent_stack(&inv, mgr->inv, keyp, 0);
		if (stack_changes < 0)
			goto out;
	} else if (inv.agent_stack) {
		printf("  deploy    stack %s\n", inv.agent_stack);
		stack_changes = 1;
	}
	if (!changes && !stack_changes) {
		printf("  nothing to do\n");
		ret = EXIT_OK;
		goto out;
	}
	if (o.dry_run) {
		ret = EXIT_OK;
		goto out;
	}

	/* 3. do it */
	if (!mgr) {
		json_t *body = json_pack("{s:s, s:s, s:[s], s:i}", "ListenAddr", "0.0.0.0:2377", "AdvertiseAddr",
					 first->inv->address, "DefaultAddrPool", inv.pool, "SubnetSize", inv.subnet_size);
		int rc = docker_call(first->dk, "POST", "/swarm/init", body, NULL, &err);
		json_decref(body);
		if (rc != DOCKER_OK || node_info(first, &err) < 0) {
			fprintf(stderr, "shoal: init on %s: %s\n", first->inv->name, err);
			goto out;
		}
		printf("initialised the swarm on %s\n", first->inv->name);
		mgr = first;
	}
	int joins = 0;
	for (size_t i = 0; i < nn; i++)
		joins += sn[i].join;
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
	for (size_t i = 0; i < nn; i++) {
		struct snode *n = &sn[i];
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
	wipe(&wtok);
	wipe(&mtok);
	json_decref(nodes);
	nodes = NULL;
	if (docker_call(mgr->dk, "GET", "/nodes", NULL, &nodes, &err) != DOCKER_OK) {
		fprintf(stderr, "shoal: node %s: %s\n", mgr->inv->name, err);
		goto out;
	}
	for (size_t i = 0; i < nn; i++) {
		struct snode *n = &sn[i];
		json_t *o_ = node_object(nodes, n->id);
		json_t *spec = json_object_get(o_, "Spec");
		if (!o_) {
			fprintf(stderr, "shoal: node %s (%s) is not in the manager's node list\n", n->inv->name,
				n->id ? n->id : "no ID");
			goto out;
		}
		int relabel = labels_differ(n->inv, spec);
		int promote = n->inv->manager && strcmp(role_of(spec), "manager");
		int demote = !n->inv->manager && strcmp(role_of(spec), "worker");
		if (!relabel && !promote && !demote)
			continue;
		if (update_node(n, mgr, o_, &err) < 0) {
			fprintf(stderr, "shoal: node %s: %s\n", n->inv->name, err);
			goto out;
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
	for (size_t i = 0; i < inv.nnetworks; i++) {
		if (by_name(networks, inv.networks[i].name, 0))
			continue;
		json_t *body = json_pack("{s:s, s:s, s:b, s:b, s:{s:s}}", "Name", inv.networks[i].name, "Driver", "overlay",
					 "Attachable", inv.networks[i].attachable, "CheckDuplicate", 1, "Labels",
					 LABEL_BOOTSTRAP, "true");
		int rc = docker_call(mgr->dk, "POST", "/networks/create", body, NULL, &err);
		json_decref(body);
		if (rc != DOCKER_OK) {
			fprintf(stderr, "shoal: network %s: %s\n", inv.networks[i].name, err);
			goto out;
		}
		printf("created network %s\n", inv.networks[i].name);
	}
	for (size_t i = 0; i < nobj; i++) {
		if (!obj[i].create)
			continue;
		char *data = b64(obj[i].data, obj[i].len);
		json_t *body = json_pack("{s:s, s:s, s:{s:s}}", "Name", obj[i].name, "Data", data, "Labels",
					 LABEL_BOOTSTRAP, "true");
		sodium_memzero(data, strlen(data));
		free(data);
		char *path = xasprintf("/%ss/create", obj[i].kind);
		int rc = docker_call(mgr->dk, "POST", path, body, NULL, &err);
		free(path);
		/* the body holds the secret: wipe jansson's copy */
		const char *d = json_string_value(json_object_get(body, "Data"));
		sodium_memzero((char *)d, strlen(d));
		json_decref(body);
		if (rc != DOCKER_OK) {
			fprintf(stderr, "shoal: %s %s: %s\n", obj[i].kind, obj[i].name, err);
			goto out;
		}
		printf("created %s %s\n", obj[i].kind, obj[i].name);
	}
	if (inv.agent_stack && stack_changes) {
		fflush(NULL);
		if (agent_stack(&inv, mgr->inv, keyp, 1) < 0)
			goto out;
	}
	ret = EXIT_OK;
out:
	free(err);
	wipe(&wtok);
	wipe(&mtok);
	json_decref(nodes);
	json_decref(networks);
	json_decref(configs);
	json_decref(secrets);
	objects_free(obj, nobj);
	for (size_t i = 0; i < nn; i++) {
		docker_free(sn[i].dk);
		free(sn[i].state);
		free(sn[i].id);
		free(sn[i].cluster);
		free(sn[i].hostname);
	}
	free(sn);
	inventory_free(&inv);
	if (keyp)
		sodium_memzero(&key, sizeof key);
	return ret;
}
