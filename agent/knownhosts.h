#ifndef SHOAL_KNOWNHOSTS_H
#define SHOAL_KNOWNHOSTS_H
#include <stddef.h>

/* 0 when FILE lists HOST (on PORT) with exactly this raw host key blob;
 * -1 otherwise, with a message for the operator in *why (caller frees). */
int knownhosts_check(const char *file, const char *host, int port, const unsigned char *key, size_t keylen,
		     char **why);

/* Is URL an SSH remote (ssh://, scp-like user@host:path)?  1 with the host
 * (caller frees) and port, 0 for other schemes, -1 when it cannot be read. */
int knownhosts_url(const char *url, char **host, int *port);

/* Does URL carry credentials?  Any user part of an http(s), git or other
 * non-SSH URL (tokens travel as user names too), a password in an SSH one
 * (ssh://user:pw@host, user:pw@host:path; a user alone is normal there),
 * a query or fragment of a URL with a scheme (?access_token=T, #T).
 * 1 with, when redacted is not NULL, the URL with its user part, query and
 * fragment replaced by "***" (caller frees); 0 for none (redacted
 * untouched). */
int url_credentials(const char *url, char **redacted);

#endif
