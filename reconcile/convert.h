/*
 * convert.h - compose model -> Swarm API objects (the desired state of one
 * stack), as `docker stack deploy` builds them.  Pure: no engine access, no
 * file read, no sealed value opened: the contents of secrets and configs
 * are loaded before (objdata.h) and handed in with the options.
 */
#ifndef SHOAL_CONVERT_H
#define SHOAL_CONVERT_H

#include <jansson.h>

#include "compose.h"

#define LABEL_NAMESPACE "com.docker.stack.namespace"
#define LABEL_IMAGE "com.docker.stack.image"
#define LABEL_MANAGED "io.shoal.managed"	/* on every object apply writes */
#define LABEL_HASH "io.shoal.spec-hash"		/* hash of the desired spec */
#define LABEL_LOGICAL "io.shoal.object"		/* secret/config: STACK_key */
#define LABEL_CONTENT "io.shoal.content"	/* secret/config with name: its content's digest */
#define LABEL_SEALED_ENV "io.shoal.sealed-env"	/* env keys holding sealed values */
#define LABEL_COMMIT "io.shoal.commit"		/* service: the commit that last wrote it */
#define LABEL_FOLLOW "io.shoal.follow-tag"	/* deploy label: "true" = follow the tag's digest */
#define LABEL_PREFIX "io.shoal."

struct stack_objdata;

struct convert_opts {
	const struct compose_opts *copts;  /* bind sources: workdir, ~ from HOME */
	const struct stack_objdata *data;  /* secrets' and configs' contents (objdata.h) */
	int repo_mode;			   /* stricter path rules, managed label */
	int keep_invalid;		   /* *out even after errors: only for more checks */
};

/*
 * The desired state of a stack.  Every member is a JSON object keyed by the
 * object's final name:
 *   networks      name -> NetworkCreate body
 *   ext_networks  name -> compose key (must exist, scope swarm)
 *   secrets       name -> {spec: SecretSpec (Data base64, Labels incl. logical
 *                 name), key: compose key, named: true when name: sets it}
 *   configs       name -> the same with a ConfigSpec
 *   ext_secrets, ext_configs  name -> compose key
 *   services      name -> ServiceSpec (secret/config refs by name, no IDs)
 *   replicas_unset  service name -> true when deploy.replicas was omitted
 *   sealed_env    service name -> {KEY: true}: env values from ${sealed:...}
 */
struct desired {
	char *stack;
	json_t *networks, *ext_networks;
	json_t *secrets, *configs, *ext_secrets, *ext_configs;
	json_t *services;
	json_t *replicas_unset;
	json_t *sealed_env; /* service name -> {ENV_KEY: true} holding sealed values */
};

int convert_stack(const char *stack, const struct ynode *model, const struct convert_opts *o,
		  struct desired **out, struct diags *d);
void desired_free(struct desired *ds);

/* Deterministic, content-derived name for a secret/config: base + "_" +
 * 10 hex digits of the content hash, at most 64 characters. */
char *convert_rotated_name(const char *base, const char *data_b64, const json_t *templating);
/* Those 10 hex digits alone: a named object (name:) carries them in its
 * LABEL_CONTENT label, since its name cannot change with its content. */
char *convert_content_digest(const char *data_b64, const json_t *templating);

/* Why a stack name cannot be used (docker's CLI refuses a blank one, the
 * engine the names made from the rest), or NULL. */
const char *convert_stack_name_problem(const char *stack);

/* Why the engine would refuse an image reference at service create, or
 * NULL when it takes it. */
const char *convert_image_problem(const char *ref);

/* Sorted keys of a JSON object (caller frees the array, not the strings). */
const char **json_sorted_keys(const json_t *obj, size_t *n);

#endif
