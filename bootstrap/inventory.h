/*
 * inventory.h - cluster.yml, what shoal bootstrap builds: the gateway
 * (dnsmasq, shorewall), the floating IP (keepalived), the nodes and the
 * swarm.  The schema is documented in README.md ("Bootstrap") and shown
 * whole in repo-template/cluster.yml.  Loading validates everything, each
 * value against its grammar, and names file:line:column; nothing is
 * rendered from a bad inventory.  The policy and rules lines are kept
 * with their columns joined by one space.
 */
#ifndef SHOAL_INVENTORY_H
#define SHOAL_INVENTORY_H

#include <stddef.h>

#include "../reconcile/util.h"
#include "../reconcile/ynode.h"

struct inv_kv {
	char *key, *value;
};

struct inv_node {
	char *name, *address;
	int manager;
	int priority;	    /* keepalived, managers only */
	char *engine;	    /* unix:///… or tcp://…; default unix:///var/run/docker.sock */
	char *tls;	    /* directory with ca.pem, cert.pem, key.pem (tcp) */
	struct inv_kv *labels;
	size_t nlabels;
};

struct inv_forward {
	char *proto;
	int port, to_port;
};

struct inv_network {
	char *name;
	int attachable;
};

struct inventory {
	char *file, *dir; /* dir: relative paths in the inventory start here */
	struct ynode *root;
	/* gateway */
	char *gw_name, *ext_if, *int_if, *gw_address, *lan; /* lan: 10.0.0.0/24 */
	int prefix;
	char *dhcp_start, *dhcp_end, *lease;
	struct strv policy, rules; /* shorewall lines */
	struct inv_forward *forwards;
	size_t nforwards;
	/* floating IP */
	char *vip, *vip_if;
	int router_id;
	/* nodes, in file order */
	struct inv_node *nodes;
	size_t nnodes;
	/* swarm */
	char *pool;
	int subnet_size;
	struct inv_network *networks;
	size_t nnetworks;
	char *agent_stack; /* the agent's stack in the repository (stacks/NAME) */
	struct inv_kv *agent_configs, *agent_secrets; /* name -> file (relative to dir) */
	size_t nagent_configs, nagent_secrets;
};

/* Load and validate FILE; -1 with diagnostics (file:line:column) in d.
 * inventory_parse: the same from data (len bytes), named file. */
int inventory_load(const char *file, struct inventory *inv, struct diags *d);
int inventory_parse(const char *file, const char *data, size_t len, struct inventory *inv, struct diags *d);
void inventory_free(struct inventory *inv);
const struct inv_node *inventory_node(const struct inventory *inv, const char *name);

#endif
