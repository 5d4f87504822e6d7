/*
 * render.h - the files shoal bootstrap writes (render.c), rendered in
 * memory from a checked inventory (inventory.h): dnsmasq, shorewall,
 * /etc/hosts and dhclient.conf on the gateway; keepalived.conf on a
 * manager.  Each line is a fixed template filled with values whose
 * grammar inventory.c checked; in shorewall.conf, /etc/hosts and
 * dhclient.conf only shoal's own lines are replaced, the rest is kept.
 */
#ifndef SHOAL_RENDER_H
#define SHOAL_RENDER_H

#include <stddef.h>

#include "inventory.h"

struct rfile {
	char *path;	     /* absolute, as on the target machine */
	char *text;
	const char *service; /* restarted when this file changes (NULL: none) */
};

struct rfiles {
	struct rfile *v;
	size_t n;
};

/* The gateway's files; the kept lines are read under root (NULL: /). */
void render_gateway(const struct inventory *inv, const char *root, struct rfiles *f);
/* keepalived.conf of manager n. */
void render_keepalived(const struct inventory *inv, const struct inv_node *n, struct rfiles *f);
void rfiles_free(struct rfiles *f);

/* The file at path under root (NULL: /) as it is now; NULL if absent. */
char *render_current(const char *root, const char *path);

#endif
