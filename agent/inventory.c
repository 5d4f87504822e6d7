/*
 * inventory.c - load and check cluster.yml (see inventory.h).
 */
#include "inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INVENTORY_MAX (1u << 20)

struct ctx {
	struct diags *d;
	const char *file;
};

static void err(struct ctx *c, const struct ynode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void err(struct ctx *c, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	diags_add(c->d, DIAG_ERROR, c->file, at ? at->line : 0, at ? at->col : 0, "%s", m);
	free(m);
}

/* Every key of map must be one of allowed (NULL-terminated). */
static void known_keys(struct ctx *c, const struct ynode *map, const char *what, const char *const *allowed)
{
	for (size_t i = 0; map && map->kind == Y_MAP && i < map->n; i++) {
		const char *k = ynode_str(map->k[i]);
		const char *const *a = allowed;
		while (*a && strcmp(*a, k))
			a++;
		if (!*a)
			err(c, map->k[i], "%s: unknown key \"%s\"", what, k);
	}
}

static const struct ynode *want_map(struct ctx *c, const struct ynode *parent, const char *key, int required)
{
	const struct ynode *n = ynode_get(parent, key);
	if (!n || n->kind == Y_NULL) {
		if (required)
			err(c, parent, "\"%s\" is required here", key);
		return NULL;
	}
	if (n->kind != Y_MAP) {
		err(c, n, "%s must be a mapping, not a %s", key, ynode_kind_name(n));
		return NULL;
	}
	return n;
}

static char *want_str(struct ctx *c, const struct ynode *parent, const char *key, const char *def)
{
	const struct ynode *n = parent ? ynode_get(parent, key) : NULL;
	if (!n || n->kind == Y_NULL) {
		if (!def)
			err(c, parent, "\"%s\" is required here", key);
		return def ? xstrdup(def) : NULL;
	}
	if (n->kind != Y_SCALAR || !*n->s) {
		err(c, n, "%s must be a non-empty string", key);
		return NULL;
	}
	return xstrdup(n->s);
}

static int want_int(struct ctx *c, const struct ynode *parent, const char *key, long long lo, long long hi, int def)
{
	const struct ynode *n = parent ? ynode_get(parent, key) : NULL;
	long long v;
	if (!n || n->kind == Y_NULL)
		return def;
	if (n->kind != Y_SCALAR || compose_parse_int(n->s, &v) < 0 || v < lo || v > hi) {
		err(c, n, "%s must be an integer from %lld to %lld", key, lo, hi);
		return def;
	}
	return (int)v;
}

static int ipv4(const char *s, struct in_addr *a)
{
	return s && inet_pton(AF_INET, s, a) == 1 ? 0 : -1;
}

/* ADDRESS/PREFIX; the address in *addr (caller frees). */
static int cidr(const char *s, char **addr, int *prefix)
{
	const char *slash = s ? strchr(s, '/') : NULL;
	long long p;
	struct in_addr a;
	if (!slash || compose_parse_int(slash + 1, &p) < 0 || p < 8 || p > 30)
		return -1;
	char *ad = xstrndup(s, (size_t)(slash - s));
	if (ipv4(ad, &a) < 0) {
		free(ad);
		return -1;
	}
	*addr = ad;
	*prefix = (int)p;
	return 0;
}

static uint32_t host_order(const char *s)
{
	struct in_addr a = {0};
	ipv4(s, &a);
	return ntohl(a.s_addr);
}

/* An address of the LAN, neither its network nor its broadcast address. */
static int in_lan(const struct inventory *inv, const char *s)
{
	struct in_addr a;
	if (ipv4(s, &a) < 0 || !inv->gw_address)
		return 0;
	uint32_t mask = inv->prefix ? ~0u << (32 - inv->prefix) : 0, x = ntohl(a.s_addr), net = host_order(inv->gw_address) & mask;
	return (x & mask) == net && x != net && x != (net | ~mask);
}

static const char *const zones[] = {"fw", "net", "loc", "all", NULL};

static int zone_ok(const char *z)
{
	size_t n = strcspn(z, ":");
	for (const char *const *k = zones; *k; k++)
		if (strlen(*k) == n && !strncmp(*k, z, n))
			return 1;
	return 0;
}

/* A list of shorewall lines (policy or rules), checked as far as shoal
 * can: fields, zones, policy actions.  shorewall check does the rest. */
static void lines(struct ctx *c, const struct ynode *gw, const char *key, struct strv *out, int policy)
{
	const struct ynode *seq = ynode_get(gw, key);
	if (!seq || seq->kind == Y_NULL)
		return;
	if (seq->kind != Y_SEQ) {
		err(c, seq, "%s must be a list of lines", key);
		return;
	}
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *l = seq->v[i];
		if (l->kind != Y_SCALAR || !*l->s || strpbrk(l->s, "\n\r")) {
			err(c, l, "%s: each item is one line of text", key);
			continue;
		}
		char *copy = xstrdup(l->s), *save = NULL, *f[8];
		int nf = 0;
		for (char *t = strtok_r(copy, " \t", &save); t && nf < 8; t = strtok_r(NULL, " \t", &save))
			f[nf++] = t;
		if (policy) {
			static const char *const acts[] = {"ACCEPT", "DROP", "REJECT", "CONTINUE", "NONE", NULL};
			const char *const *a = acts;
			while (nf >= 3 && *a && strcmp(*a, f[2]))
				a++;
			if (nf < 3 || nf > 4 || !zone_ok(f[0]) || !zone_ok(f[1]) || !*a)
				err(c, l, "policy: \"%s\" is not SOURCE DEST ACCEPT|DROP|REJECT|CONTINUE|NONE [LOGLEVEL] "
					  "(zones: fw, net, loc, all)",
				    l->s);
		} else if (nf < 3 || !zone_ok(f[1]) || !zone_ok(f[2])) {
			err(c, l, "rules: \"%s\" is not ACTION SOURCE DEST [PROTO [PORT]] (zones: fw, net, loc, all)", l->s);
		}
		free(copy);
		strv_push(out, xstrdup(l->s));
	}
}

static void gateway(struct ctx *c, struct inventory *inv, const struct ynode *gw)
{
	static const char *const keys[] = {"hostname", "external_interface", "internal_interface", "address", "dhcp",
					   "policy", "rules", "forwards", NULL};
	known_keys(c, gw, "gateway", keys);
	inv->gw_name = want_str(c, gw, "hostname", "gateway");
	inv->ext_if = want_str(c, gw, "external_interface", NULL);
	inv->int_if = want_str(c, gw, "internal_interface", NULL);
	char *a = want_str(c, gw, "address", NULL);
	if (a && cidr(a, &inv->gw_address, &inv->prefix) < 0)
		err(c, ynode_get(gw, "address"), "address: \"%s\" is not ADDRESS/PREFIX (10.0.0.1/24)", a);
	if (inv->gw_address) {
		struct in_addr net = {htonl(host_order(inv->gw_address) & (~0u << (32 - inv->prefix)))};
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net, buf, sizeof buf);
		inv->lan = xasprintf("%s/%d", buf, inv->prefix);
	}
	free(a);
	const struct ynode *dh = want_map(c, gw, "dhcp", 1);
	static const char *const dkeys[] = {"range", "lease", NULL};
	known_keys(c, dh, "dhcp", dkeys);
	char *range = want_str(c, dh, "range", dh ? NULL : "");
	inv->lease = want_str(c, dh, "lease", "1h");
	const char *dash = range ? strchr(range, '-') : NULL;
	if (dh && range) {
		if (dash) {
			inv->dhcp_start = xstrndup(range, (size_t)(dash - range));
			inv->dhcp_end = xstrdup(dash + 1);
		}
		if (!dash || !in_lan(inv, inv->dhcp_start) || !in_lan(inv, inv->dhcp_end) ||
		    host_order(inv->dhcp_start) > host_order(inv->dhcp_end))
			err(c, ynode_get(dh, "range"), "range: \"%s\" is not FIRST-LAST inside %s", range,
			    inv->lan ? inv->lan : "the LAN");
	}
	long long ns;
	if (inv->lease && strcmp(inv->lease, "infinite") &&
	    (compose_parse_duration(inv->lease, &ns) < 0 || ns < 120000000000LL))
		err(c, ynode_get(dh, "lease"), "lease: \"%s\" is not a duration of 2m or more (or infinite)", inv->lease);
	free(range);
	lines(c, gw, "policy", &inv->policy, 1);
	lines(c, gw, "rules", &inv->rules, 0);
	const struct ynode *fw = ynode_get(gw, "forwards");
	if (fw && fw->kind == Y_SEQ) {
		inv->forwards = xcalloc(fw->n + 1, sizeof *inv->forwards);
		for (size_t i = 0; i < fw->n; i++) {
			const char *s = fw->v[i]->kind == Y_SCALAR ? fw->v[i]->s : "";
			char proto[8] = "";
			int p = 0, t = 0, used = 0;
			int k = sscanf(s, "%7s %d%n:%d%n", proto, &p, &used, &t, &used);
			if (k < 2 || (strcmp(proto, "tcp") && strcmp(proto, "udp")) || p < 1 || p > 65535 ||
			    (k == 3 && (t < 1 || t > 65535)) || s[used]) {
				err(c, fw->v[i], "forwards: \"%s\" is not tcp|udp PORT[:TARGET_PORT]", s);
				continue;
			}
			struct inv_forward *f = &inv->forwards[inv->nforwards++];
			f->proto = xstrdup(proto);
			f->port = p;
			f->to_port = k == 3 ? t : p;
		}
	} else if (fw && fw->kind != Y_NULL) {
		err(c, fw, "forwards must be a list (\"tcp 80\")");
	}
}

static void kvs(struct ctx *c, const struct ynode *map, const char *what, struct inv_kv **out, size_t *n)
{
	if (!map)
		return;
	*out = xcalloc(map->n + 1, sizeof **out);
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *v = map->v[i];
		if (v->kind != Y_SCALAR) {
			err(c, v, "%s: %s must be a string", what, ynode_str(map->k[i]));
			continue;
		}
		(*out)[*n].key = xstrdup(ynode_str(map->k[i]));
		(*out)[(*n)++].value = xstrdup(v->s);
	}
}

static void nodes(struct ctx *c, struct inventory *inv, const struct ynode *ns)
{
	static const char *const keys[] = {"address", "role", "priority", "engine", "tls", "labels", NULL};
	inv->nodes = xcalloc(ns->n + 1, sizeof *inv->nodes);
	for (size_t i = 0; i < ns->n; i++) {
		const struct ynode *k = ns->k[i], *v = ns->v[i];
		struct inv_node *nd = &inv->nodes[inv->nnodes++];
		nd->name = xstrdup(ynode_str(k));
		if (v->kind != Y_MAP) {
			err(c, v, "node %s must be a mapping (address, role …)", nd->name);
			continue;
		}
		known_keys(c, v, nd->name, keys);
		nd->address = want_str(c, v, "address", NULL);
		if (nd->address && !in_lan(inv, nd->address))
			err(c, ynode_get(v, "address"), "node %s: address %s is not inside %s", nd->name, nd->address,
			    inv->lan ? inv->lan : "the LAN");
		else if (nd->address && inv->dhcp_start && host_order(nd->address) >= host_order(inv->dhcp_start) &&
			 host_order(nd->address) <= host_order(inv->dhcp_end))
			err(c, ynode_get(v, "address"), "node %s: address %s is inside the DHCP range", nd->name,
			    nd->address);
		char *role = want_str(c, v, "role", NULL);
		if (role && strcmp(role, "manager") && strcmp(role, "worker"))
			err(c, ynode_get(v, "role"), "node %s: role must be manager or worker", nd->name);
		nd->manager = role && !strcmp(role, "manager");
		free(role);
		nd->priority = want_int(c, v, "priority", 1, 254, 0);
		if (ynode_get(v, "priority") && !nd->manager)
			err(c, ynode_get(v, "priority"), "node %s: priority is for managers (they hold the floating IP)",
			    nd->name);
		nd->engine = want_str(c, v, "engine", "unix:///var/run/docker.sock");
		if (nd->engine && !str_has_prefix(nd->engine, "unix://") && !str_has_prefix(nd->engine, "tcp://"))
			err(c, ynode_get(v, "engine"), "node %s: engine must be unix://PATH or tcp://HOST:PORT", nd->name);
		const struct ynode *t = ynode_get(v, "tls");
		if (t)
			nd->tls = want_str(c, v, "tls", NULL);
		const struct ynode *l = ynode_get(v, "labels");
		if (l && l->kind != Y_MAP)
			err(c, l, "node %s: labels must be a mapping", nd->name);
		else
			kvs(c, l, "labels", &nd->labels, &nd->nlabels);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(inv->nodes[j].name, nd->name))
				err(c, k, "node %s is listed twice", nd->name);
			else if (nd->address && inv->nodes[j].address && !strcmp(inv->nodes[j].address, nd->address))
				err(c, ynode_get(v, "address"), "node %s: address %s is also %s's", nd->name, nd->address,
				    inv->nodes[j].name);
		}
		if (nd->address && inv->gw_address && !strcmp(nd->address, inv->gw_address))
			err(c, ynode_get(v, "address"), "node %s: address %s is the gateway's", nd->name, nd->address);
	}
	/* managers without a priority: in file order, highest first */
	int nm = 0;
	for (size_t i = 0; i < inv->nnodes; i++)
		nm += inv->nodes[i].manager;
	if (!nm)
		err(c, ns, "nodes: at least one manager is needed");
	int next = nm;
	for (size_t i = 0; i < inv->nnodes; i++)
		if (inv->nodes[i].manager && !inv->nodes[i].priority)
			inv->nodes[i].priority = next > 0 ? next-- : 1;
}

static void swarm(struct ctx *c, struct inventory *inv, const struct ynode *sw)
{
	static const char *const keys[] = {"address_pool", "subnet_size", "networks", "agent", NULL};
	known_keys(c, sw, "swarm", keys);
	inv->pool = want_str(c, sw, "address_pool", "10.1.0.0/16");
	char *pa = NULL;
	int pp = 0;
	if (inv->pool && cidr(inv->pool, &pa, &pp) < 0)
		err(c, ynode_get(sw, "address_pool"), "address_pool: \"%s\" is not ADDRESS/PREFIX", inv->pool);
	inv->subnet_size = want_int(c, sw, "subnet_size", 16, 29, 24);
	if (pa && inv->gw_address) {
		uint32_t m = ~0u << (32 - (pp < inv->prefix ? pp : inv->prefix));
		if ((host_order(pa) & m) == (host_order(inv->gw_address) & m))
			err(c, ynode_get(sw, "address_pool"), "address_pool %s overlaps the LAN %s", inv->pool, inv->lan);
	}
	free(pa);
	const struct ynode *nw = want_map(c, sw, "networks", 0);
	if (nw) {
		inv->networks = xcalloc(nw->n + 1, sizeof *inv->networks);
		for (size_t i = 0; i < nw->n; i++) {
			struct inv_network *n = &inv->networks[inv->nnetworks++];
			n->name = xstrdup(ynode_str(nw->k[i]));
			const struct ynode *v = nw->v[i];
			if (v->kind == Y_MAP) {
				static const char *const nk[] = {"attachable", NULL};
				known_keys(c, v, n->name, nk);
				const struct ynode *a = ynode_get(v, "attachable");
				if (a && (a->kind != Y_SCALAR || a->stype != YS_BOOL))
					err(c, a, "attachable must be true or false");
				n->attachable = a && a->kind == Y_SCALAR && !strcmp(a->s, "true");
			} else if (v->kind != Y_NULL) {
				err(c, v, "network %s must be a mapping (or empty)", n->name);
			}
		}
	}
	const struct ynode *ag = want_map(c, sw, "agent", 0);
	if (ag) {
		static const char *const ak[] = {"stack", "configs", "secrets", NULL};
		known_keys(c, ag, "agent", ak);
		inv->agent_stack = want_str(c, ag, "stack", "shoal");
		kvs(c, want_map(c, ag, "configs", 0), "configs", &inv->agent_configs, &inv->nagent_configs);
		kvs(c, want_map(c, ag, "secrets", 0), "secrets", &inv->agent_secrets, &inv->nagent_secrets);
	}
}

int inventory_load(const char *file, struct inventory *inv, struct diags *d)
{
	memset(inv, 0, sizeof *inv);
	inv->file = xstrdup(file);
	const char *slash = strrchr(file, '/');
	inv->dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
	char *data;
	size_t len;
	if (read_file(file, INVENTORY_MAX, &data, &len) < 0) {
		diags_add(d, DIAG_ERROR, file, 0, 0, "%s", errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return -1;
	}
	int rc = ynode_parse(inv->file, data, len, &inv->root, d);
	free(data);
	if (rc < 0)
		return -1;
	struct ctx c = {d, inv->file};
	size_t before = d->nerrors;
	if (!inv->root || inv->root->kind != Y_MAP) {
		err(&c, inv->root, "the inventory must be a mapping (gateway, vip, nodes, swarm)");
		return -1;
	}
	static const char *const keys[] = {"gateway", "vip", "nodes", "swarm", NULL};
	known_keys(&c, inv->root, "inventory", keys);
	const struct ynode *gw = want_map(&c, inv->root, "gateway", 1);
	if (gw)
		gateway(&c, inv, gw);
	const struct ynode *ns = want_map(&c, inv->root, "nodes", 1);
	if (ns)
		nodes(&c, inv, ns);
	const struct ynode *vip = want_map(&c, inv->root, "vip", 0);
	if (vip) {
		static const char *const vk[] = {"address", "router_id", "interface", NULL};
		known_keys(&c, vip, "vip", vk);
		inv->vip = want_str(&c, vip, "address", NULL);
		inv->vip_if = want_str(&c, vip, "interface", "eth0");
		inv->router_id = want_int(&c, vip, "router_id", 1, 255, 51);
		if (inv->vip && !in_lan(inv, inv->vip))
			err(&c, ynode_get(vip, "address"), "vip: %s is not inside %s", inv->vip, inv->lan ? inv->lan : "the LAN");
		for (size_t i = 0; inv->vip && i < inv->nnodes; i++)
			if (inv->nodes[i].address && !strcmp(inv->nodes[i].address, inv->vip))
				err(&c, ynode_get(vip, "address"), "vip: %s is node %s's address", inv->vip, inv->nodes[i].name);
		if (inv->vip && inv->dhcp_start && host_order(inv->vip) >= host_order(inv->dhcp_start) &&
		    host_order(inv->vip) <= host_order(inv->dhcp_end))
			err(&c, ynode_get(vip, "address"), "vip: %s is inside the DHCP range", inv->vip);
		if (inv->vip && inv->gw_address && !strcmp(inv->vip, inv->gw_address))
			err(&c, ynode_get(vip, "address"), "vip: %s is the gateway's address", inv->vip);
	} else if (inv->nforwards) {
		err(&c, ynode_get(gw, "forwards"), "forwards go to the floating IP: a vip section is needed");
	}
	const struct ynode *sw = want_map(&c, inv->root, "swarm", 0);
	swarm(&c, inv, sw);
	return d->nerrors > before ? -1 : 0;
}

static void kv_free(struct inv_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void inventory_free(struct inventory *inv)
{
	free(inv->file);
	free(inv->dir);
	ynode_free(inv->root);
	free(inv->gw_name);
	free(inv->ext_if);
	free(inv->int_if);
	free(inv->gw_address);
	free(inv->lan);
	free(inv->dhcp_start);
	free(inv->dhcp_end);
	free(inv->lease);
	strv_free(&inv->policy);
	strv_free(&inv->rules);
	for (size_t i = 0; i < inv->nforwards; i++)
		free(inv->forwards[i].proto);
	free(inv->forwards);
	free(inv->vip);
	free(inv->vip_if);
	for (size_t i = 0; i < inv->nnodes; i++) {
		struct inv_node *n = &inv->nodes[i];
		free(n->name);
		free(n->address);
		free(n->engine);
		free(n->tls);
		kv_free(n->labels, n->nlabels);
	}
	free(inv->nodes);
	free(inv->pool);
	for (size_t i = 0; i < inv->nnetworks; i++)
		free(inv->networks[i].name);
	free(inv->networks);
	free(inv->agent_stack);
	kv_free(inv->agent_configs, inv->nagent_configs);
	kv_free(inv->agent_secrets, inv->nagent_secrets);
	memset(inv, 0, sizeof *inv);
}

const struct inv_node *inventory_node(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nnodes; i++)
		if (!strcmp(inv->nodes[i].name, name))
			return &inv->nodes[i];
	return NULL;
}
