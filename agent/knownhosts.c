/*
 * SSH host key checking against an OpenSSH known_hosts file.
 *
 * libgit2 hands the server's raw host key blob to the certificate check
 * callback; we accept the connection only when a line of the operator's
 * known_hosts file names this host (plain "host", "[host]:port", patterns
 * with * ? and !negation) with exactly that key.  A @revoked line for the
 * key refuses it.  Hashed host names (ssh-keygen -H) are not read: the
 * error says so, rather than failing as "unknown host".
 */
#include <errno.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "../reconcile/util.h"
#include "knownhosts.h"

/* OpenSSH's patterns: only * and ? are special ("[host]:port" is literal). */
static int wildmatch(const char *p, const char *s)
{
	for (; *p; p++, s++) {
		if (*p == '*') {
			for (const char *t = s;; t++) {
				if (wildmatch(p + 1, t))
					return 1;
				if (!*t)
					return 0;
			}
		}
		if (!*s || (*p != '?' && tolower((unsigned char)*p) != tolower((unsigned char)*s)))
			return 0;
	}
	return !*s;
}

/* One comma-separated host pattern list against the name to check.
 * 1 = matches, 0 = does not, -1 = a negated pattern matched (never). */
static int hosts_match(const char *list, const char *name)
{
	int hit = 0;
	char *dup = xstrdup(list), *save = NULL;
	for (char *p = strtok_r(dup, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		int neg = *p == '!';
		if (wildmatch(neg ? p + 1 : p, name)) {
			if (neg) {
				hit = -1;
				break;
			}
			hit = 1;
		}
	}
	free(dup);
	return hit;
}

int knownhosts_check(const char *file, const char *host, int port, const unsigned char *key, size_t keylen,
		     char **why)
{
	*why = NULL;
	char *data;
	if (read_file(file, 16 << 20, &data, NULL) < 0) {
		*why = xasprintf("cannot read known_hosts file %s: %s", file, strerror(errno));
		return -1;
	}
	char name[300];
	if (port > 0 && port != 22)
		snprintf(name, sizeof name, "[%s]:%d", host, port);
	else
		snprintf(name, sizeof name, "%s", host);
	size_t b64len = sodium_base64_encoded_len(keylen, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = xmalloc(b64len);
	sodium_bin2base64(b64, b64len, key, keylen, sodium_base64_VARIANT_ORIGINAL);

	int matched = 0, revoked = 0, other_key = 0, hashed = 0;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[5] = {0}, *s2 = NULL;
		int n = 0;
		for (char *t = strtok_r(line, " \t\r", &s2); t && n < 5; t = strtok_r(NULL, " \t\r", &s2))
			f[n++] = t;
		if (!n || f[0][0] == '#')
			continue;
		int rev = 0, ca = 0, i = 0;
		if (f[0][0] == '@') {
			rev = !strcmp(f[0], "@revoked");
			ca = !strcmp(f[0], "@cert-authority");
			i = 1;
		}
		if (n < i + 3 || ca)
			continue; /* host certificates are not checked here */
		const char *hosts = f[i], *blob = f[i + 2];
		if (!strncmp(hosts, "|1|", 3)) {
			hashed = 1;
			continue;
		}
		int same_key = !strcmp(blob, b64);
		if (rev) {
			if (same_key)
				revoked = 1;
			continue;
		}
		if (hosts_match(hosts, name) != 1)
			continue;
		if (same_key)
			matched = 1;
		else
			other_key = 1;
	}
	free(data);
	free(b64);
	if (revoked) {
		*why = xasprintf("the host key of %s is marked @revoked in %s", name, file);
		return -1;
	}
	if (matched)
		return 0;
	if (other_key)
		*why = xasprintf("HOST KEY MISMATCH for %s: the server's key is not the one in %s", name, file);
	else if (hashed)
		*why = xasprintf("%s is not in %s (hashed entries are not read: list hosts by name, "
				 "ssh-keyscan without -H)",
				 name, file);
	else if (port > 0 && port != 22)
		*why = xasprintf("%s is not in %s (ssh-keyscan -p %d %s prints its keys)", name, file, port, host);
	else
		*why = xasprintf("%s is not in %s (ssh-keyscan %s prints its keys)", name, file, host);
	return -1;
}

int knownhosts_url(const char *url, char **host, int *port)
{
	const char *p;
	*host = NULL;
	*port = 22;
	if (!strncmp(url, "ssh://", 6) || !strncmp(url, "git+ssh://", 10) || !strncmp(url, "ssh+git://", 10)) {
		p = strstr(url, "://") + 3;
		const char *end = p + strcspn(p, "/");
		const char *at = memchr(p, '@', (size_t)(end - p));
		if (at)
			p = at + 1;
		const char *colon;
		if (*p == '[') {
			const char *rb = memchr(p, ']', (size_t)(end - p));
			if (!rb)
				return -1;
			*host = xstrndup(p + 1, (size_t)(rb - p - 1));
			colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		} else {
			colon = memchr(p, ':', (size_t)(end - p));
			*host = xstrndup(p, (size_t)((colon ? colon : end) - p));
		}
		if (colon) {
			char *e;
			long v = strtol(colon + 1, &e, 10);
			if (e != end || v <= 0 || v > 65535)
				return -1;
			*port = (int)v;
		}
		return 1;
	}
	if (strstr(url, "://"))
		return 0; /* http, https, file */
	/* scp-like user@host:path */
	const char *colon = strchr(url, ':');
	const char *slash = strchr(url, '/');
	if (!colon || (slash && slash < colon))
		return 0; /* a local path */
	p = url;
	const char *at = memchr(url, '@', (size_t)(colon - url));
	if (at)
		p = at + 1;
	*host = xstrndup(p, (size_t)(colon - p));
	return 1;
}

int url_credentials(const char *url, char **redacted)
{
	if (!url)
		return 0;
	const char *sep = strstr(url, "://"), *user, *at, *rest;
	if (sep) {
		size_t sl = (size_t)(sep - url);
		int ssh = (sl == 3 && !strncasecmp(url, "ssh", 3)) || (sl == 7 && (!strncasecmp(url, "git+ssh", 7) ||
									    !strncasecmp(url, "ssh+git", 7)));
		user = sep + 3;
		const char *end = user + strcspn(user, "/?#");
		/* a query or fragment (?access_token=T, #T): no Git server needs
		 * one, and a token there would travel as far as the URL does */
		const char *q = strpbrk(end, "?#");
		at = NULL; /* the last '@' of the authority: a password may hold one */
		for (const char *p = user; p < end; p++)
			if (*p == '@')
				at = p;
		/* SSH: the user is normal; a password (or an encoded one) is not */
		if (at && ssh && !memchr(user, ':', (size_t)(at - user)) && !memchr(user, '%', (size_t)(at - user)))
			at = NULL;
		if (!at && !q)
			return 0;
		if (redacted) {
			const char *from = at ? at + 1 : user;
			*redacted = xasprintf("%.*s%s%.*s%s%s", (int)(user - url), url, at ? "***@" : "",
					      (int)((q ? q : from + strlen(from)) - from), from, q ? (*q == '?' ? "?" : "#") : "",
					      q ? "***" : "");
		}
		return 1;
	} else {
		/* scp-like [user@]host:path; a local path has a '/' before any ':' */
		const char *colon = strchr(url, ':'), *slash = strchr(url, '/');
		at = strchr(url, '@');
		if (!colon || (slash && slash < colon) || !at || (slash && slash < at))
			return 0;
		/* user:pw@host:path: a ':' on each side of the '@' */
		if (colon > at || !strchr(at + 1, ':'))
			return 0;
		user = url;
		rest = at + 1;
	}
	if (redacted)
		*redacted = xasprintf("%.*s***@%s", (int)(user - url), url, rest);
	return 1;
}
