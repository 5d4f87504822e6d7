/*
 * regauth.h - registry credentials from a docker config.json ("auths"),
 * sent to the engine as X-Registry-Auth, per registry host, the way
 * `docker stack deploy --with-registry-auth` does, so that every node can
 * pull.  Values live only in memory and in that header; never logged.
 */
#ifndef SHOAL_REGAUTH_H
#define SHOAL_REGAUTH_H

#include <jansson.h>

/* Load FILE: an object mapping a normalised registry host ("docker.io",
 * "registry.example.com:5000") to the engine's AuthConfig.  NULL and a
 * message in *err on error.  credsStore/credHelpers are not run: when
 * FILE names them, *warning says so (caller frees; NULL: nothing to say;
 * warning may be NULL). */
json_t *regauth_load(const char *file, char **warning, char **err);

/* The registry host of an image reference ("nginx" -> "docker.io",
 * "127.0.0.1:5000/app:1" -> "127.0.0.1:5000").  Caller frees. */
char *regauth_host(const char *image);

/* The X-Registry-Auth value (base64url of the AuthConfig JSON) for image,
 * or NULL when auths has nothing for its registry.  Caller frees (and
 * should wipe: it holds the password). */
char *regauth_header(const json_t *auths, const char *image);

#endif
