/*
 * compose_merge.h - merging compose files (compose_merge.c), as docker
 * does for `-c a.yml -c b.yml` and as a repository's stack folder is
 * merged in lexical order: maps key by key, the service lists keyed
 * (ports by published port, secrets and configs by source, volumes by
 * target), other lists and scalars replaced.  Internal to compose.c.
 */
#ifndef SHOAL_COMPOSE_MERGE_H
#define SHOAL_COMPOSE_MERGE_H

#include "ynode.h"

/* over merged into base (both loaded, interpolated and normalised). */
void compose_merge_files(struct ynode *base, const struct ynode *over);

#endif
