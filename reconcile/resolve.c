/*
 * resolve.c - --resolve-image: images pinned by digest (resolve.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resolve.h"

void resolve_images(struct docker *dk, struct desired *ds, const struct live *lv, const char *mode,
		    struct follow *fo)
{
	if (!mode || !strcmp(mode, "never"))
		return;
	const char *name;
	json_t *spec;
	/* each image asked of its registry once per run: the engine's
	 * answer (or null when there was none, said once) by image */
	json_t *asked = json_object();
	json_object_foreach(ds->services, name, spec) {
		json_t *cs = json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec");
		const char *img = json_string_value(json_object_get(cs, "Image"));
		if (!img || strchr(img, '@'))
			continue;
		const char *fl = json_string_value(json_object_get(json_object_get(spec, "Labels"), LABEL_FOLLOW));
		int follow = fo && fo->tick && fl && !strcmp(fl, "true");
		const char *live_img = NULL;
		int same = 0;
		size_t i;
		json_t *x;
		json_array_foreach(lv->services, i, x) {
			json_t *s = json_object_get(x, "Spec");
			const char *n = json_string_value(json_object_get(s, "Name"));
			const char *l = json_string_value(json_object_get(json_object_get(s, "Labels"), LABEL_IMAGE));
			if (n && l && !strcmp(n, name) && !strcmp(l, img)) {
				same = 1;
				live_img = json_string_value(
					json_object_get(json_object_get(json_object_get(s, "TaskTemplate"), "ContainerSpec"), "Image"));
			}
		}
		if (!same)
			follow = 0; /* a new tag: resolved like any other */
		if (same && !follow && !strcmp(mode, "changed"))
			continue;
		if (follow && fo->budget <= 0)
			continue; /* over this tick's budget: stays as it runs */
		json_t *r = json_object_get(asked, img);
		if (json_is_null(r))
			continue; /* no digest: said for its first service */
		if (r) {
			json_incref(r);
			goto pin;
		}
		char *err = NULL, *path = xasprintf("/distribution/%s/json", img);
		if (docker_call(dk, "GET", path, NULL, &r, &err) != DOCKER_OK) {
			json_object_set_new(asked, img, json_null());
			if (fo) {
				const char *f[] = {"service", name, "image", img, NULL};
				say(stderr, "warning", f,
				    "warning: image %s: no digest from its registry (%s): deploying the tag", img, err);
			} else {
				fprintf(stderr, "image %s could not be accessed on a registry to record\nits digest. Each node will access %s independently,\npossibly leading to different nodes running different\nversions of the image.\n\n", img, img);
			}
			free(err);
			free(path);
			continue;
		}
		free(path);
		json_object_set_new(asked, img, r ? json_incref(r) : json_object());
	pin:;
		const char *dg = json_string_value(json_object_get(json_object_get(r, "Descriptor"), "digest"));
		if (dg && follow) {
			const char *at = live_img ? strchr(live_img, '@') : NULL;
			if (at && !strcmp(at + 1, dg)) {
				json_decref(r);
				continue; /* the tag did not move */
			}
			fo->budget--;
			strv_push(&fo->moved, xstrdup(name));
			const char *f[] = {"service", name, "image", img, "digest", dg, NULL};
			say(stderr, "info", f, "follow: %s: %s moved to %s", name, img, dg);
		}
		if (dg) {
			const char *slash = strrchr(img, '/');
			int has_tag = strchr(slash ? slash : img, ':') != NULL;
			char *pinned = xasprintf("%s%s@%s", img, has_tag ? "" : ":latest", dg);
			json_object_set_new(cs, "Image", json_string(pinned));
			free(pinned);
			json_t *plats = json_object_get(r, "Platforms");
			if (json_array_size(plats)) {
				json_t *pa = json_array();
				size_t pi;
				json_t *p;
				json_array_foreach(plats, pi, p) {
					json_t *o = json_object();
					json_object_set(o, "Architecture", json_object_get(p, "architecture") ?: json_string(""));
					json_object_set(o, "OS", json_object_get(p, "os") ?: json_string(""));
					json_array_append_new(pa, o);
				}
				json_object_set_new(json_object_get(json_object_get(spec, "TaskTemplate"), "Placement"), "Platforms", pa);
			}
		}
		json_decref(r);
	}
	json_decref(asked);
}
