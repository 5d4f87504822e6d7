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

#endif
