/*
 * envfile.h - KEY[=VALUE] line files: docker's env_file format (docker CLI
 * 28 pkg/kvfile) and shoal's vars.env.  Every problem is reported with its
 * file:line:column, and a file with any problem is refused whole: a byte
 * the parser cannot place never silently drops or empties a variable.
 *
 * Both: lines end at LF (a CR before it is dropped), leading white space
 * (Unicode's, as Go's unicode.IsSpace) is trimmed, empty lines and lines
 * starting with '#' are skipped, the key runs to the first '=', the value
 * is the rest as is.  Refused: invalid UTF-8 (as docker), a NUL byte
 * (docker passes it on to a container that cannot start), an empty key or
 * one with a blank (as docker), a byte-order mark in a key.
 */
#ifndef SHOAL_ENVFILE_H
#define SHOAL_ENVFILE_H

#include <stddef.h>

#include "util.h"

enum {
	/* docker's env_file: a UTF-8 byte-order mark starting the file is
	 * dropped; lines of 64 KiB or more are refused (its scanner's limit) */
	ENVFILE_DOCKER = 1,
	/* vars.env: a byte-order mark is refused, every line is KEY=VALUE and
	 * every key a name ${KEY} can use ([A-Za-z_][A-Za-z0-9_]*) */
	ENVFILE_VARS = 2,
};

/* One entry, in file order; value NULL when the line has no '='. */
typedef void (*envfile_fn)(void *ctx, const char *key, const char *value, int line);

/* Parse data[0..len): 0, or -1 when any line was refused (fn is still
 * called for the good ones; the caller drops them). */
int envfile_parse(const char *file, const char *data, size_t len, int flags, envfile_fn fn, void *ctx,
		  struct diags *d);

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid
 * (overlong forms, surrogates and code points past U+10FFFF too, as Go's
 * utf8.Valid); *cp gets the code point. */
size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp);

#endif
