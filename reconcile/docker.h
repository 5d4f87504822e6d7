/*
 * docker.h - a small Docker Engine API client (unix: uhttp.c; tcp: libcurl).
 * unix:// and tcp:// (with DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) hosts,
 * negotiated API version, timeouts, bounded response bodies.
 */
#ifndef SHOAL_DOCKER_H
#define SHOAL_DOCKER_H

#include <jansson.h>

#define DOCKER_MAX_BODY (64u << 20)
#define DOCKER_API_MAX "1.48" /* 1.48: image mounts (Docker 28) */

enum {
	DOCKER_OK = 0,
	DOCKER_ERR = -1,
	DOCKER_ENOTFOUND = -2,
	DOCKER_ECONFLICT = -3, /* 409, or 500 "update out of sequence" */
	DOCKER_EUNAVAIL = -4,  /* cannot connect, or no answer in time */
	DOCKER_ETRANSIENT = -5, /* 5xx, or the connection lost mid-request: the
				 * request may or may not have taken effect */
};

struct docker;

struct docker_stats {
	unsigned long reads, writes;
};

/* host NULL: DOCKER_HOST or unix:///var/run/docker.sock.  Each request
 * may take SHOAL_ENGINE_TIMEOUT seconds (default 120). */
int docker_new(struct docker **out, const char *host, char **err);
/* host as given (unix:// or tcp://); cert_dir: TLS with its ca.pem,
 * cert.pem and key.pem (tcp only), NULL: plain. */
int docker_open(struct docker **out, const char *host, const char *cert_dir, char **err);
void docker_free(struct docker *dk);
/* Another connection to the same engine (same version, TLS, credentials),
 * for another thread; docker_absorb adds its request counts to dk's and
 * frees it. */
struct docker *docker_clone(const struct docker *dk);
void docker_absorb(struct docker *dk, struct docker *clone);

/* The negotiated API version ("1.41"). */
const char *docker_api_version(const struct docker *dk);
const struct docker_stats *docker_stats(const struct docker *dk);

/*
 * One request.  body may be NULL.  On 2xx returns DOCKER_OK and the parsed
 * JSON body in *resp (NULL when empty; resp may be NULL).  Otherwise one of
 * the codes above and the engine's message in *err (caller frees).
 */
int docker_call(struct docker *dk, const char *method, const char *path, const json_t *body,
		json_t **resp, char **err);

/* A GET of a list whose answer is a JSON array: its elements are parsed
 * one at a time and *resp holds what keep returns of each (a new
 * reference, or NULL: left out), so that a long list never stands whole
 * in memory; any other answer as docker_call gives it. */
int docker_list(struct docker *dk, const char *path, json_t *(*keep)(const json_t *, void *), void *ctx,
		json_t **resp, char **err);

/* A GET whose answer is not JSON (a task's logs): the body as it came,
 * at most cap bytes (more is an error), in *data (caller frees). */
int docker_get_raw(struct docker *dk, const char *path, size_t cap, char **data, size_t *len, char **err);

/* Registry credentials (regauth_load) sent as X-Registry-Auth with service
 * create/update and image resolution for the image's registry.  NULL
 * clears.  A reference is kept. */
void docker_set_registry_auths(struct docker *dk, json_t *auths);

/* URL-encode a filters object: {"label":["a=b"]} -> escaped JSON. */
char *docker_filters(const char *key, const char *value);
/* URL-encode any filters object: {"name":["a","b"]} (the engine takes any
 * of a key's values, and all of the keys). */
char *docker_filters_json(const json_t *f);

#endif
