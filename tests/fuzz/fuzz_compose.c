/*
 * The compose loader with interpolation, normalisation, merging and the
 * conversion to swarm objects.  Input: one compose file, or two separated
 * by a line "---8<---" (merged as -c a -c b); also interp_string alone,
 * the env file parser in both its forms (env_file, vars.env) and the
 * image reference grammar on the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../reconcile/compose.h"
#include "../../reconcile/convert.h"
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
	struct compose_opts co = {.lookup = lookup, .workdir = "/nonexistent"};
	struct diags d = {0};
	struct ynode *m = NULL;
	struct desired *ds = NULL;
	if (compose_load(f, n, &co, &m, &d) == 0) {
		struct convert_opts cvo = {.copts = &co};
		convert_stack("st", m, &cvo, &ds, &d);
	}
	desired_free(ds);
	ynode_free(m);
	diags_free(&d);
	free(text);
	return 0;
}
