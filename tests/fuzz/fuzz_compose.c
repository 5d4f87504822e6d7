/*
 * The compose loader with interpolation, normalisation, merging and the
 * conversion to swarm objects.  Input: one compose file, or two separated
 * by a line "---8<---" (merged as -c a -c b); also interp_string alone,
 * the env file parser in both its forms (env_file, vars.env) and the
 * image reference grammar on the same bytes.
 * Every ${sealed:...} opens to a plaintext holding template braces; no
 * message may quote it, no environment name hold it, and in the spec its
 * every {{ must be the template-literal form (convert.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
#include "../../reconcile/repo.h"
#include "../../reconcile/envfile.h"
#include "../../reconcile/interp.h"
#include "../../reconcile/util.h"
#include "../../reconcile/ynode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "TAG"))
		return "1.2";
	if (!strcmp(name, "EMPTY"))
		return "";
	if (!strcmp(name, "DOMAIN"))
		return "example.com";
	return NULL;
}

static void env_entry(void *ctx, const char *key, const char *value, int line)
{
	size_t *n = ctx;
	*n += strlen(key) + (value ? strlen(value) : 0) + (size_t)line;
}

#define PLAIN "PLAINTEXT-canary-7f3a{{x"

static const char *sealed(void *ctx, const char *path, char **err)
{
	(void)ctx;
	(void)path;
	(void)err;
	return PLAIN;
}

static void check_sealed(const struct desired *ds, const struct diags *d)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, "canary-7f3a"))
			abort(); /* a message quotes a sealed value */
	const char *name;
	json_t *spec;
	json_object_foreach(ds ? ds->services : NULL, name, spec) {
		const json_t *se = json_object_get(ds->sealed_env, name);
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(json_object_get(json_object_get(spec, "TaskTemplate"), "ContainerSpec"),
						   "Env"),
				   i, e) {
			const char *s = json_string_value(e), *eq = strchr(s, '=');
			char *k = eq ? xstrndup(s, (size_t)(eq - s)) : xstrdup(s);
			if (strstr(k, "canary-7f3a"))
				abort(); /* a sealed value as a variable's name */
			if (eq && json_object_get(se, k)) {
				/* every {{ of the value is one the engine prints as {{ */
				for (const char *p = strstr(eq + 1, "{{"); p; p = strstr(p + 8, "{{"))
					if (strncmp(p, "{{\"{{\"}}", 8))
						abort();
			} else if (strstr(eq ? eq : "", "canary-7f3a")) {
				abort(); /* a sealed value in a key not marked sealed */
			}
			free(k);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = xstrndup((const char *)data, size);
	char *out = NULL, *err = NULL;
	interp_string(text, lookup, NULL, &out, &err);
	free(out);
	free(err);
	for (int fl = ENVFILE_DOCKER; fl <= ENVFILE_VARS; fl++) {
		struct diags e = {0};
		size_t seen = 0;
		envfile_parse("f.env", (const char *)data, size, fl, env_entry, &seen, &e);
		diags_free(&e);
	}
	convert_image_problem(text);

	static const char cut[] = "\n---8<---\n";
	struct compose_file f[2] = {{.name = "a.yml", .data = text, .len = strlen(text)}};
	size_t n = 1;
	char *second = strstr(text, cut);
	if (second) {
		f[0].len = (size_t)(second - text);
		f[1] = (struct compose_file){.name = "b.yml", .data = second + strlen(cut),
					     .len = strlen(second + strlen(cut))};
		n = 2;
	}
	struct compose_opts co = {.lookup = lookup, .sealed = sealed, .workdir = "/nonexistent"};
	struct diags d = {0};
	struct ynode *m = NULL;
	struct desired *ds = NULL;
	compose_load(f, n, &co, &m, &d);
	if (m) { /* a model with errors cut out is converted too */
		struct objdata_opts oo = {.copts = &co};
		struct convert_opts cvo = {.copts = &co};
		stack_convert("st", m, &oo, &cvo, &ds, &d);
	}
	/* (an input that spells the plaintext out proves nothing) */
	if (!memmem(data, size, "canary-7f3a", 11))
		check_sealed(ds, &d);
	desired_free(ds);
	ynode_free(m);
	diags_free(&d);
	free(text);
	return 0;
}
