/*
 * compose_normalize.h - a checked compose file brought to the long syntax
 * (compose_normalize.c): short ports and volumes, list-or-dict maps,
 * shell command lines split as docker does, env_file folded into
 * environment, external objects as {external, name}.  The shape it leaves
 * is described at the top of compose.c.  Internal to compose.c; it reads
 * env files through compose_read_rel (o->src, o->workdir), nothing else.
 */
#ifndef SHOAL_COMPOSE_NORMALIZE_H
#define SHOAL_COMPOSE_NORMALIZE_H

#include "compose.h"

/* Normalise root in place; problems (a bad port, an unreadable env file)
 * go to d. */
void compose_normalize(const struct compose_opts *o, struct ynode *root, struct diags *d);

#endif
