/*
 * objdata.c - secrets' and configs' files read and opened (objdata.h).
 */
#include "objdata.h"

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#include "../secrets/seal.h"
#include "scrub.h"

static char *to_base64(const unsigned char *p, size_t len)
{
	size_t bl = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
	char *b = xmalloc(bl);
	sodium_bin2base64(b, bl, p, len, sodium_base64_VARIANT_ORIGINAL);
	return b;
}

/* A sealed file of scope STACK/KEY: its plaintext as base64 into od. */
static void open_sealed(const char *stack, const char *key, const struct ynode *file, const char *data, size_t len,
			const struct objdata_opts *o, struct obj_data *od, struct diags *d)
{
	char *scope = xasprintf("%s/%s", stack, key), *err = NULL;
	char fp[13];
	seal_fingerprint(data, len, fp);
	od->hash_input = xasprintf("sealed:%s", fp);
	od->sealed = 1;
	if (o->key) {
		unsigned char *p;
		size_t pl;
		if (seal_open(data, len, scope, o->key, &p, &pl, &err) == 0) {
			od->b64 = to_base64(p, pl);
			od->sized = 1;
			unsigned char rkey[32];
			seal_redact_key(o->key, rkey);
			scrub_add_sealed(rkey, p, pl);
			sodium_memzero(rkey, sizeof rkey);
			seal_free_plain(p, pl);
		}
	} else if (o->check_only) {
		if (seal_check(data, len, scope, &err) == 0)
			od->b64 = xstrdup(""); /* a stand-in: the form is right */
	} else {
		err = xstrdup("is sealed: give the private key with --key FILE (or SHOAL_KEY_FILE)");
	}
	if (!od->b64)
		diags_add(d, DIAG_ERROR, file->file, file->line, file->col, "%s: %s", ynode_str(file), err);
	free(err);
	free(scope);
}

static void load_one(const char *stack, const char *section, const char *key, const struct ynode *def,
		     const struct objdata_opts *o, struct obj_data *od, struct diags *d)
{
	const struct ynode *file = ynode_get(def, "file");
	char *data = NULL;
	size_t len = 0;
	od->def = def;
	if (compose_read_rel(o->copts, ynode_str(file), file, d, &data, &len) < 0)
		return;
	if (seal_is_sealed(data, len)) {
		open_sealed(stack, key, file, data, len, o, od, d);
	} else {
		int is_secret = !strcmp(section, "secrets");
		od->b64 = to_base64((unsigned char *)data, len);
		od->sized = 1;
		char *label = xasprintf("(%s %s)", is_secret ? "secret" : "config", key);
		scrub_add(data, len, label, is_secret ? SCRUB_LINES : 0);
		free(label);
	}
	sodium_memzero(data, len);
	free(data);
}

int objdata_load(const char *stack, const struct ynode *model, const struct objdata_opts *o,
		 struct stack_objdata *out, struct diags *d)
{
	static const char *sections[] = {"secrets", "configs"};
	size_t before = d->nerrors, alloc = 0;
	memset(out, 0, sizeof *out);
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		const struct ynode *sec = ynode_get(model, sections[s]);
		for (size_t i = 0; sec && sec->kind == Y_MAP && i < sec->n; i++) {
			const struct ynode *def = sec->v[i], *ext = ynode_get(def, "external");
			const struct ynode *drv = s == 0 ? ynode_get(def, "driver") : NULL;
			if ((ext && compose_get_bool(ext, "external")) || !ynode_get(def, "file"))
				continue;
			if (drv && drv->kind == Y_SCALAR && *drv->s)
				continue; /* the driver makes the content */
			if (out->n == alloc) {
				alloc = alloc ? 2 * alloc : 8;
				out->v = xrealloc(out->v, alloc * sizeof *out->v);
			}
			struct obj_data *od = &out->v[out->n++];
			memset(od, 0, sizeof *od);
			load_one(stack, sections[s], ynode_str(sec->k[i]), def, o, od, d);
		}
	}
	return d->nerrors > before ? -1 : 0;
}

const struct obj_data *objdata_find(const struct stack_objdata *od, const struct ynode *def)
{
	for (size_t i = 0; od && i < od->n; i++)
		if (od->v[i].def == def)
			return &od->v[i];
	return NULL;
}

void objdata_free(struct stack_objdata *od)
{
	for (size_t i = 0; i < od->n; i++) {
		if (od->v[i].b64) {
			sodium_memzero(od->v[i].b64, strlen(od->v[i].b64));
			free(od->v[i].b64);
		}
		free(od->v[i].hash_input);
	}
	free(od->v);
	memset(od, 0, sizeof *od);
}
