/*
 * objdata.h - the contents of a stack's secrets and configs, loaded before
 * conversion: convert.c reads no file and opens no sealed value, it takes
 * what this stage loaded (objdata.c).
 *
 * Each definition with file: (not external, no secret driver) is read
 * through the compose options (inside the source in a repository); a
 * sealed file is opened with the key for scope STACK/KEY, or, with no key
 * and check_only, only checked for form and scope.  Every plaintext is
 * registered with scrub before anything else can show it.  Problems (a
 * missing file, a wrong scope) are added to d at the file: key.
 */
#ifndef SHOAL_OBJDATA_H
#define SHOAL_OBJDATA_H

#include <stddef.h>

#include "compose.h"

struct seal_key;

struct obj_data {
	const struct ynode *def; /* secrets.KEY or configs.KEY in the model */
	char *b64;		 /* the content in base64; NULL: not loaded (said in d) */
	char *hash_input;	 /* a sealed file: "sealed:FINGERPRINT", what names the object */
	int sealed;		 /* the file is sealed */
	int sized;		 /* b64 is the content, not a form check's stand-in ("") */
};

struct stack_objdata {
	struct obj_data *v;
	size_t n;
};

struct objdata_opts {
	const struct compose_opts *copts; /* where files are read from */
	const struct seal_key *key;	   /* opens sealed files */
	int check_only;			   /* no key: check sealed files' form and scope */
};

/* Load the files of model's (normalised) secrets and configs for stack;
 * returns -1 when any could not be loaded (errors in d), else 0.  *out is
 * filled either way; free it with objdata_free. */
int objdata_load(const char *stack, const struct ynode *model, const struct objdata_opts *o,
		 struct stack_objdata *out, struct diags *d);
/* What was loaded for the definition def, or NULL. */
const struct obj_data *objdata_find(const struct stack_objdata *od, const struct ynode *def);
/* Wipes the contents, then frees them. */
void objdata_free(struct stack_objdata *od);

#endif
