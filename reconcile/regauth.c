#include "regauth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"

/* "https://index.docker.io/v1/" -> "docker.io"; "http://h:5000/x" -> "h:5000" */
static char *norm_key(const char *k)
{
	const char *p = strstr(k, "://");
	p = p ? p + 3 : k;
	char *h = xstrndup(p, strcspn(p, "/"));
	if (!strcmp(h, "index.docker.io") || !strcmp(h, "registry-1.docker.io")) {
		free(h);
		h = xstrdup("docker.io");
	}
	return h;
}

char *regauth_host(const char *image)
{
	const char *slash = strchr(image, '/');
	if (slash) {
		char *first = xstrndup(image, (size_t)(slash - image));
		if (strchr(first, '.') || strchr(first, ':') || !strcmp(first, "localhost")) {
			if (!strcmp(first, "index.docker.io") || !strcmp(first, "registry-1.docker.io")) {
				free(first);
				return xstrdup("docker.io");
			}
			return first;
		}
		free(first);
	}
	return xstrdup("docker.io");
}

json_t *regauth_load(const char *file, char **warning, char **err)
{
	char *data;
	size_t len;
	*err = NULL;
	if (warning)
		*warning = NULL;
	if (read_file(file, 1 << 20, &data, &len) < 0) {
		*err = xasprintf("cannot read registry credentials %s: %s", file, strerror(errno));
		return NULL;
	}
	json_error_t je;
	json_t *cfg = json_loadb(data, len, 0, &je);
	sodium_memzero(data, len);
	free(data);
	if (!json_is_object(cfg)) {
		*err = xasprintf("%s:%d:%d: not a docker config.json object", file, je.line, je.column);
		json_decref(cfg);
		return NULL;
	}
	if (warning && (json_object_get(cfg, "credsStore") || json_object_get(cfg, "credHelpers")))
		*warning = xasprintf("%s: credsStore/credHelpers are not used: only \"auths\" entries", file);
	json_t *out = json_object();
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(cfg, "auths"), k, v) {
		char *host = norm_key(k);
		json_t *ac = json_object();
		const char *auth = json_string_value(json_object_get(v, "auth"));
		const char *user = json_string_value(json_object_get(v, "username"));
		const char *pass = json_string_value(json_object_get(v, "password"));
		const char *tok = json_string_value(json_object_get(v, "identitytoken"));
		char *decoded = NULL;
		if (auth && *auth) {
			size_t al = strlen(auth), dl = 0;
			decoded = xmalloc(al + 1);
			if (sodium_base642bin((unsigned char *)decoded, al, auth, al, NULL, &dl, NULL,
					      sodium_base64_VARIANT_ORIGINAL) == 0) {
				decoded[dl] = 0;
				char *colon = strchr(decoded, ':');
				if (colon) {
					*colon = 0;
					user = decoded;
					pass = colon + 1;
				}
			}
		}
		if (user)
			json_object_set_new(ac, "username", json_string(user));
		if (pass)
			json_object_set_new(ac, "password", json_string(pass));
		if (tok)
			json_object_set_new(ac, "identitytoken", json_string(tok));
		json_object_set_new(ac, "serveraddress", json_string(host));
		if (decoded) {
			sodium_memzero(decoded, strlen(auth) + 1);
			free(decoded);
		}
		if (json_object_size(ac) > 1)
			json_object_set_new(out, host, ac);
		else
			json_decref(ac);
		free(host);
	}
	json_decref(cfg);
	return out;
}

char *regauth_header(const json_t *auths, const char *image)
{
	if (!auths || !image)
		return NULL;
	char *host = regauth_host(image);
	json_t *ac = json_object_get(auths, host);
	free(host);
	if (!ac)
		return NULL;
	char *js = json_dumps(ac, JSON_COMPACT);
	size_t l = strlen(js), bl = sodium_base64_encoded_len(l, sodium_base64_VARIANT_URLSAFE);
	char *b = xmalloc(bl);
	sodium_bin2base64(b, bl, (const unsigned char *)js, l, sodium_base64_VARIANT_URLSAFE);
	sodium_memzero(js, l);
	free(js);
	return b;
}
