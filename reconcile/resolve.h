/*
 * resolve.h - image resolution: a service's name:tag pinned to
 * name:tag@digest through the engine's registry access (with
 * X-Registry-Auth when credentials are set on the engine connection), and
 * the agent's follow-tag ticks.  It owns the registry round trips of a
 * plan, nothing else: it changes the desired state only.
 */
#ifndef SHOAL_RESOLVE_H
#define SHOAL_RESOLVE_H

#include "convert.h"
#include "docker.h"
#include "plan.h"
#include "util.h"

/* The agent's image resolution state: on a tick, how many moved tags may
 * still be pinned anew, and which services were. */
struct follow {
	int tick;
	int budget;
	struct strv moved;
};

/*
 * Pin ds's images by mode: NULL or "never" nothing; "always" every image
 * without a digest; "changed" only a service whose image as written
 * differs from what lv runs, except, on a follow tick (fo->tick), the
 * services labelled io.shoal.follow-tag=true: their tag is resolved again
 * and, when its digest moved, pinned anew (at most fo->budget of them; the
 * names go to fo->moved).  An image the registry does not answer for is
 * deployed by its tag, with a warning.
 */
void resolve_images(struct docker *dk, struct desired *ds, const struct live *lv, const char *mode,
		    struct follow *fo);

#endif
