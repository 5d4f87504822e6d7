/*
 * interp.h - compose variable interpolation: $VAR, ${VAR}, ${VAR:-d},
 * ${VAR-d}, ${VAR:?err}, ${VAR?err}, $$.
 */
#ifndef SHOAL_INTERP_H
#define SHOAL_INTERP_H

/* Look a variable up: return its value (borrowed) or NULL when unset. */
typedef const char *(*interp_lookup_fn)(void *ctx, const char *name);

/* Substitute every reference in in.  Returns 0 and a new string in *out,
 * or -1 and a message in *err (both caller-owned). */
int interp_string(const char *in, interp_lookup_fn lookup, void *ctx, char **out, char **err);

/*
 * shoal's extension: ${sealed:PATH} is replaced by the opened sealed value
 * of PATH.  sealed returns the plaintext (borrowed, kept alive by ctx) or
 * NULL with *err set.  *used is set when the string referenced one.  With
 * sealed NULL the syntax is invalid, as it is for docker.
 */
typedef const char *(*interp_sealed_fn)(void *ctx, const char *path, char **err);
int interp_string_ex(const char *in, interp_lookup_fn lookup, interp_sealed_fn sealed, void *ctx, char **out,
		     char **err, int *used);

/*
 * The same with every option: unset, when not NULL, gets the name of each
 * variable referenced without a default or error form ($VAR, ${VAR}) that
 * is not set: docker compose warns of them, and the value is blank.
 */
struct strv;
struct interp_opts {
	interp_lookup_fn lookup;
	interp_sealed_fn sealed;
	void *ctx;
	int *used;
	struct strv *unset;
};
int interp_expand(const char *in, const struct interp_opts *o, char **out, char **err);

#endif
