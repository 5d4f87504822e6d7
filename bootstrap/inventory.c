/*
 * inventory.c - load and check cluster.yml (see inventory.h).
 *
 * Every value has a grammar, checked before anything is rendered: the
 * values end up in dnsmasq, shorewall, keepalived, /etc/hosts and the
 * engines' API, and shorewall runs `?SHELL` lines as root while it only
 * checks its files.  A value is what its grammar says or an error at its
 * file:line:column; no value is ever escaped or quoted into a file.
 */
#include "inventory.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INVENTORY_MAX (1u << 20)
#define LINE_MAX_LEN 512	/* a shorewall line */
#define PATH_MAX_LEN 4096
#define SUN_PATH_MAX 107	/* sockaddr_un.sun_path without its NUL */

struct ctx {
	struct diags *d;
	const char *file;
	struct strv shown; /* values quoted for messages, freed at the end */
};

/* an error at a node of the inventory, or about the file as a whole */
#define err(c, at, ...)                                                                                              \
	((at) ? diag_at((c)->d, DIAG_ERROR, (at), __VA_ARGS__) : diags_add((c)->d, DIAG_ERROR, (c)->file, 0, 0, __VA_ARGS__))

/* ---------------- grammar ---------------- */

static int alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int alnum(int ch)
{
	return alpha(ch) || digit(ch);
}

/* Every byte of s[0..n) in the ASCII set chars (letters and digits
 * always). */
static int only(const char *s, size_t n, const char *chars)
{
	for (size_t i = 0; i < n; i++)
		if (!alnum((unsigned char)s[i]) && (!s[i] || !strchr(chars, s[i])))
			return 0;
	return 1;
}

/* A value as a message shows it: bare when it is plain, else quoted with
 * every control character and non-ASCII byte escaped; cut at 64 bytes. */
static const char *show(struct ctx *c, const char *s)
{
	if (!s)
		return "(none)";
	size_t n = strlen(s);
	if (n && n <= 64 && only(s, n, "._-/:$"))
		return s;
	struct buf b;
	buf_init(&b, 0);
	buf_addc(&b, '"');
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == 64) {
			buf_addf(&b, "\"… (%zu bytes)", n);
			break;
		}
		if (ch == '\n')
			buf_adds(&b, "\\n");
		else if (ch == '\r')
			buf_adds(&b, "\\r");
		else if (ch == '\t')
			buf_adds(&b, "\\t");
		else if (ch == '"' || ch == '\\')
			buf_addf(&b, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			buf_addf(&b, "\\x%02x", ch);
		else
			buf_addc(&b, (char)ch);
		if (i == n - 1)
			buf_addc(&b, '"');
	}
	if (!n)
		buf_addc(&b, '"');
	strv_push(&c->shown, buf_detach(&b));
	return c->shown.v[c->shown.n - 1];
}

/* "WHAT: VALUE is not EXPECTED" at node at */
static void bad(struct ctx *c, const struct ynode *at, const char *what, const char *value, const char *expected)
{
	err(c, at, "%s: %s is not %s", what, show(c, value), expected);
}

/* A decimal number without sign or leading zero, at most 10 digits. */
static int dec(const char *s, size_t n, long long *v)
{
	if (n < 1 || n > 10 || (n > 1 && s[0] == '0'))
		return -1;
	long long x = 0;
	for (size_t i = 0; i < n; i++) {
		if (!digit((unsigned char)s[i]))
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

static int in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && !strncmp(*list, s, n))
			return 1;
	return 0;
}

/* RFC 1123: 1..63 letters, digits and '-', not first or last. */
static int host_label(const char *s, size_t n)
{
	return n >= 1 && n <= 63 && s[0] != '-' && s[n - 1] != '-' && only(s, n, "-");
}

/* RFC 1123 host name: labels joined by dots, 253 bytes at most. */
static int hostname_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > 253)
		return 0;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		if (!host_label(p, dot ? (size_t)(dot - p) : strlen(p)))
			return 0;
		if (!dot)
			return 1;
		p = dot + 1;
	}
}

/* A node's name: one RFC 1123 label that dnsmasq's dhcp-host takes for a
 * name (digits with an optional w/d/h/m/s unit are a lease time there,
 * "infinite" and "ignore" keywords). */
static int node_name_ok(const char *s)
{
	size_t n = strlen(s), d = 0;
	if (!host_label(s, n) || !strcasecmp(s, "infinite") || !strcasecmp(s, "ignore"))
		return 0;
	while (d < n && digit((unsigned char)s[d]))
		d++;
	return !(d == n || (d == n - 1 && strchr("wdhmsWDHMS", s[d])));
}

/* An interface name as the kernel takes it (dev_valid_name: 1..15 bytes,
 * not "." or "..", no '/', ':' or white space), narrowed to letters,
 * digits, '_', '.' and '-', starting with a letter or digit: no tool can
 * read it as an option, a wildcard (shorewall's '+') or a variable. */
static int ifname_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 15 && alnum((unsigned char)s[0]) && only(s, n, "_.-");
}

static int ipv4(const char *s, struct in_addr *a)
{
	struct in_addr tmp;
	return s && inet_pton(AF_INET, s, a ? a : &tmp) == 1 ? 0 : -1;
}

static int ipv4n(const char *s, size_t n)
{
	char buf[INET_ADDRSTRLEN];
	if (n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return ipv4(buf, NULL);
}

/* ADDRESS/PREFIX, lo <= PREFIX <= hi; the address in *addr (caller frees). */
static int cidr(const char *s, int lo, int hi, char **addr, int *prefix)
{
	const char *slash = strchr(s, '/');
	long long p;
	if (!slash || dec(slash + 1, strlen(slash + 1), &p) < 0 || p < lo || p > hi ||
	    ipv4n(s, (size_t)(slash - s)) < 0)
		return -1;
	if (addr)
		*addr = xstrndup(s, (size_t)(slash - s));
	if (prefix)
		*prefix = (int)p;
	return 0;
}

/* dnsmasq's lease time: "infinite" or a number with an optional unit
 * w, d, h, m or s; 2 minutes to 2^31 - 1 seconds. */
static int lease_ok(const char *s)
{
	size_t n = strlen(s);
	long long v, mul = 1;
	if (!strcmp(s, "infinite"))
		return 1;
	if (n && !digit((unsigned char)s[n - 1])) {
		const char *u = strchr("smhdw", s[n - 1]);
		static const long long muls[] = {1, 60, 3600, 86400, 604800};
		if (!u)
			return 0;
		mul = muls[u - "smhdw"];
		n--;
	}
	return dec(s, n, &v) == 0 && v * mul >= 120 && v * mul <= INT32_MAX;
}

/* Printable UTF-8: no control character (C0, DEL, C1), no invisible or
 * direction-changing format character, no line or paragraph separator. */
static int printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		size_t len;
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if ((*p & 0xe0) == 0xc0)
			cp = *p & 0x1f, len = 2;
		else if ((*p & 0xf0) == 0xe0)
			cp = *p & 0x0f, len = 3;
		else if ((*p & 0xf8) == 0xf0)
			cp = *p & 0x07, len = 4;
		else
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x200b && cp <= 0x200f) ||
		    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff)
			return 0;
		p += len;
	}
	return 1;
}

/* A file or directory: printable, 4096 bytes at most, not an option. */
static int path_ok(const char *s)
{
	return *s && *s != '-' && strlen(s) <= PATH_MAX_LEN && printable(s);
}

/* unix:///ABSOLUTE/PATH (a socket's path fits sun_path) or
 * tcp://HOST:PORT (HOST a host name, an IPv4 address or [IPv6]). */
static int engine_ok(const char *s)
{
	if (str_has_prefix(s, "unix://"))
		return s[7] == '/' && strlen(s + 7) <= SUN_PATH_MAX && only(s + 7, strlen(s + 7), "/._-+@=,%");
	if (!str_has_prefix(s, "tcp://"))
		return 0;
	const char *h = s + 6, *colon = strrchr(h, ':');
	long long port;
	if (!colon || dec(colon + 1, strlen(colon + 1), &port) < 0 || port < 1 || port > 65535)
		return 0;
	char *host = xstrndup(h, (size_t)(colon - h));
	size_t n = strlen(host);
	struct in6_addr a6;
	int ok = hostname_ok(host) || ipv4(host, NULL) == 0;
	if (!ok && n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = 0;
		ok = inet_pton(AF_INET6, host + 1, &a6) == 1;
	}
	free(host);
	return ok;
}

/* A config, secret or network name as the engine takes it: letters,
 * digits, '_', '.', '-', from a letter or digit, 64 bytes at most
 * (configs and secrets also end with a letter or digit). */
static int object_name_ok(const char *s, int end_alnum)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 64 && alnum((unsigned char)s[0]) && only(s, n, "_.-") &&
	       (!end_alnum || alnum((unsigned char)s[n - 1]));
}

/* A stack (stacks/NAME): letters, digits, '-' and '_' from a letter or
 * digit, 40 bytes at most. */
static int stack_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 40 && alnum((unsigned char)s[0]) && only(s, n, "_-");
}

/* A node label: KEY letters, digits, '.', '_', '/', '-' from a letter or
 * digit, 128 bytes at most; VALUE printable, 1024 bytes at most. */
static int label_key_ok(const char *s)
{
	size_t n = strlen(s);
	return n >= 1 && n <= 128 && alnum((unsigned char)s[0]) && only(s, n, "._/-");
}

static int label_value_ok(const char *s)
{
	return strlen(s) <= 1024 && printable(s);
}

/* ---------------- shorewall lines ---------------- */

static const char *const zones[] = {"net", "loc", "fw", "$FW", "all", NULL};
#define ZONES "net, loc, fw, $FW, all"
static const char *const log_levels[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug", NULL};
#define LOG_LEVELS "emerg, alert, crit, err, warning, notice, info, debug"
static const char *const policies[] = {"ACCEPT", "DROP", "REJECT", "CONTINUE", "NONE", NULL};
#define POLICIES "ACCEPT, DROP, REJECT, CONTINUE, NONE"
static const char *const actions[] = {"ACCEPT", "ACCEPT+", "DROP", "REJECT", "CONTINUE", "DNAT", "DNAT-",
				      "REDIRECT", "REDIRECT-", "LOG", "NONAT", NULL};
#define ACTIONS "ACCEPT, ACCEPT+, DROP, REJECT, CONTINUE, DNAT, DNAT-, REDIRECT, REDIRECT-, LOG, NONAT"
static const char *const protocols[] = {"tcp", "udp", "sctp", "icmp", "all", NULL};
/* shorewall's compiler directives: never a macro's name */
static const char *const directives[] = {"INCLUDE", "SHELL", "PERL", "BEGIN", "END", "FORMAT", "SECTION", "COMMENT",
					 "IF", "ELSE", "ELSIF", "ENDIF", "SET", "RESET", "ERROR", "WARNING", "INFO",
					 "REQUIRE", "DEFAULTS", NULL};

struct fields {
	char *copy;
	char *f[8];
	int n; /* more than 7: 8 */
};

/* Split at spaces and tabs. */
static void split(const char *s, struct fields *fl)
{
	char *save = NULL;
	fl->copy = xstrdup(s);
	fl->n = 0;
	for (char *t = strtok_r(fl->copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		if (fl->n == 8)
			break;
		fl->f[fl->n++] = t;
	}
}

static int zone_ok(const char *s, size_t n)
{
	return in_list(zones, s, n);
}

/* ADDRESS[,ADDRESS…]: IPv4 addresses or networks (ADDRESS/0..32). */
static int addr_list_ok(const char *s, size_t n)
{
	size_t items = 0;
	for (const char *p = s, *end = s + n; p <= end; items++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		size_t len = comma ? (size_t)(comma - p) : (size_t)(end - p);
		char *a = xstrndup(p, len);
		int ok = strchr(a, '/') ? cidr(a, 0, 32, NULL, NULL) == 0 : ipv4(a, NULL) == 0;
		free(a);
		if (!ok || items == 16)
			return 0;
		if (!comma)
			break;
		p = comma + 1;
	}
	return 1;
}

static int port_num(const char *s, size_t n, long long *v)
{
	return dec(s, n, v) == 0 && *v <= 65535 ? 0 : -1;
}

/* PORT[,PORT…] (15 at most; each a number, FIRST:LAST, or a service name
 * from /etc/services), or "-"; icmp: a type, a TYPE/CODE or its name. */
static int ports_ok(const char *s, int icmp)
{
	if (!strcmp(s, "-"))
		return 1;
	size_t items = 0;
	for (const char *p = s;; items++) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		const char *sep = memchr(p, icmp ? '/' : ':', len);
		long long a, b;
		int ok;
		if (len && alpha((unsigned char)p[0]))
			ok = len <= 32 && p[len - 1] != '-' && only(p, len, "-");
		else if (sep)
			ok = port_num(p, (size_t)(sep - p), &a) == 0 &&
			     port_num(sep + 1, len - (size_t)(sep - p) - 1, &b) == 0 && (icmp ? a <= 255 && b <= 255 : a <= b);
		else
			ok = port_num(p, len, &a) == 0 && (!icmp || a <= 255);
		if (!ok || items == 15)
			return 0;
		if (!comma)
			return 1;
		p = comma + 1;
	}
}

/* A line of printable ASCII, 512 bytes at most; else an error. */
static int line_text(struct ctx *c, const struct ynode *l, const char *what)
{
	const char *s = l->kind == Y_SCALAR ? l->s : "";
	size_t n = strlen(s);
	int ok = l->kind == Y_SCALAR && n && n <= LINE_MAX_LEN;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 0x20 && s[i] < 0x7f) || s[i] == '\t';
	if (!ok)
		err(c, l, "%s: %s is not one line of printable ASCII (%d bytes at most)", what,
		    l->kind == Y_SCALAR ? show(c, s) : ynode_kind_name(l), LINE_MAX_LEN);
	return ok;
}

/* SOURCE DEST POLICY [LOGLEVEL] */
static int policy_line(struct ctx *c, const struct ynode *l, struct fields *fl)
{
	int ok = 1;
	if (fl->n < 3 || fl->n > 4) {
		err(c, l, "policy: %s is not SOURCE DEST POLICY [LOGLEVEL]", show(c, l->s));
		return 0;
	}
	for (int i = 0; i < 2; i++)
		if (!zone_ok(fl->f[i], strlen(fl->f[i]))) {
			err(c, l, "policy: %s %s is not a zone (" ZONES ")", i ? "DEST" : "SOURCE", show(c, fl->f[i]));
			ok = 0;
		}
	if (!in_list(policies, fl->f[2], strlen(fl->f[2]))) {
		bad(c, l, "policy: POLICY", fl->f[2], "one of " POLICIES);
		ok = 0;
	}
	if (fl->n == 4 && !in_list(log_levels, fl->f[3], strlen(fl->f[3]))) {
		bad(c, l, "policy: LOGLEVEL", fl->f[3], "a log level (" LOG_LEVELS ")");
		ok = 0;
	}
	return ok;
}

/* ACTION[:LOGLEVEL] or MACRO(ACTION)[:LOGLEVEL]; the action in *base. */
static int rule_action(const char *s, const char **base)
{
	const char *colon = strchr(s, ':');
	size_t n = colon ? (size_t)(colon - s) : strlen(s);
	if (colon && !in_list(log_levels, colon + 1, strlen(colon + 1)))
		return 0;
	const char *open = memchr(s, '(', n), *a = s;
	size_t an = n;
	if (open) {
		size_t mn = (size_t)(open - s);
		if (mn < 1 || mn > 32 || !alpha((unsigned char)s[0]) || !only(s, mn, "_-") || s[n - 1] != ')' ||
		    n < mn + 3)
			return 0;
		for (const char *const *d = directives; *d; d++)
			if (strlen(*d) == mn && !strncasecmp(*d, s, mn))
				return 0;
		a = open + 1;
		an = n - mn - 2;
	}
	for (const char *const *k = actions; *k; k++)
		if (strlen(*k) == an && !strncmp(*k, a, an)) {
			*base = *k;
			return 1;
		}
	return 0;
}

/* ACTION SOURCE DEST [PROTO [DEST_PORT [SOURCE_PORT]]] */
static int rule_line(struct ctx *c, const struct ynode *l, struct fields *fl)
{
	const char *base = NULL;
	int ok = 1;
	if (fl->n < 3 || fl->n > 6) {
		err(c, l, "rules: %s is not ACTION SOURCE DEST [PROTO [DEST_PORT [SOURCE_PORT]]]", show(c, l->s));
		return 0;
	}
	if (!rule_action(fl->f[0], &base)) {
		bad(c, l, "rules: ACTION", fl->f[0], "ACTION[:LOGLEVEL] or MACRO(ACTION)[:LOGLEVEL] (actions: " ACTIONS ")");
		ok = 0;
	}
	/* SOURCE: ZONE[:ADDRESS,…] */
	const char *s = fl->f[1], *colon = strchr(s, ':');
	if (!zone_ok(s, colon ? (size_t)(colon - s) : strlen(s)) || (colon && !addr_list_ok(colon + 1, strlen(colon + 1)))) {
		bad(c, l, "rules: SOURCE", s, "ZONE[:ADDRESS,…] (zones: " ZONES ")");
		ok = 0;
	}
	/* DEST: ZONE[:ADDRESS,…], DNAT's ZONE:ADDRESS[:PORT], REDIRECT's PORT */
	const char *d = fl->f[2], *c1 = strchr(d, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	int dnat = base && str_has_prefix(base, "DNAT"), redirect = base && str_has_prefix(base, "REDIRECT");
	long long v;
	int dok = zone_ok(d, c1 ? (size_t)(c1 - d) : strlen(d)) &&
		  (!c1 || addr_list_ok(c1 + 1, c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1))) &&
		  (!c2 || (dnat && port_num(c2 + 1, strlen(c2 + 1), &v) == 0));
	if (redirect && !dok)
		dok = port_num(d, strlen(d), &v) == 0;
	if (!dok) {
		bad(c, l, "rules: DEST", d, "ZONE[:ADDRESS,…] (DNAT: ZONE:ADDRESS[:PORT], REDIRECT: PORT; zones: " ZONES ")");
		ok = 0;
	}
	long long proto;
	if (fl->n > 3 && strcmp(fl->f[3], "-") && !in_list(protocols, fl->f[3], strlen(fl->f[3])) &&
	    (dec(fl->f[3], strlen(fl->f[3]), &proto) < 0 || proto > 255)) {
		bad(c, l, "rules: PROTO", fl->f[3], "tcp, udp, sctp, icmp, all, - or a protocol number (0-255)");
		ok = 0;
	}
	int icmp = fl->n > 3 && !strcmp(fl->f[3], "icmp");
	for (int i = 4; i < fl->n; i++)
		if (!ports_ok(fl->f[i], icmp)) {
			bad(c, l, i == 4 ? "rules: DEST_PORT" : "rules: SOURCE_PORT", fl->f[i],
			    icmp ? "-, or ICMP types (8, 8/0, echo-request), comma-separated"
				 : "-, or ports (22, 8000:8080, ssh), comma-separated, 15 at most");
			ok = 0;
		}
	return ok;
}

/* The policy or rules lines: each parsed into its columns, stored with
 * the columns joined by one space. */
static void shorewall_lines(struct ctx *c, const struct ynode *gw, const char *key, struct strv *out, int policy)
{
	const struct ynode *seq = ynode_get(gw, key);
	if (!seq || seq->kind == Y_NULL)
		return;
	if (seq->kind != Y_SEQ) {
		err(c, seq, "%s must be a list of lines", key);
		return;
	}
	for (size_t i = 0; i < seq->n; i++) {
		const struct ynode *l = seq->v[i];
		if (!line_text(c, l, key))
			continue;
		struct fields fl;
		split(l->s, &fl);
		if (policy ? policy_line(c, l, &fl) : rule_line(c, l, &fl)) {
			struct buf b;
			buf_init(&b, 0);
			for (int k = 0; k < fl.n; k++)
				buf_addf(&b, "%s%s", k ? " " : "", fl.f[k]);
			strv_push(out, buf_detach(&b));
		}
		free(fl.copy);
	}
}

/* ---------------- the schema ---------------- */

/* Every key of map must be one of allowed (NULL-terminated). */
static void known_keys(struct ctx *c, const struct ynode *map, const char *what, const char *const *allowed)
{
	for (size_t i = 0; map && map->kind == Y_MAP && i < map->n; i++) {
		const char *k = ynode_str(map->k[i]);
		const char *const *a = allowed;
		while (*a && strcmp(*a, k))
			a++;
		if (!*a)
			err(c, map->k[i], "%s: unknown key %s", what, show(c, k));
	}
}

static const struct ynode *want_map(struct ctx *c, const struct ynode *parent, const char *key, int required)
{
	const struct ynode *n = ynode_get(parent, key);
	if (!n || n->kind == Y_NULL) {
		if (required)
			err(c, parent, "\"%s\" is required here", key);
		return NULL;
	}
	if (n->kind != Y_MAP) {
		err(c, n, "%s must be a mapping, not a %s", key, ynode_kind_name(n));
		return NULL;
	}
	return n;
}

/* The string at key (def when absent; required when def is NULL), checked
 * by ok; NULL after an error. */
static char *want_str(struct ctx *c, const struct ynode *parent, const char *key, const char *def,
		      int (*ok)(const char *), const char *expected)
{
	const struct ynode *n = parent ? ynode_get(parent, key) : NULL;
	if (!n || n->kind == Y_NULL) {
		if (!def)
			err(c, parent, "\"%s\" is required here", key);
		return def ? xstrdup(def) : NULL;
	}
	if (n->kind != Y_SCALAR || !*n->s) {
		err(c, n, "%s must be a non-empty string", key);
		return NULL;
	}
	if (ok && !ok(n->s)) {
		bad(c, n, key, n->s, expected);
		return NULL;
	}
	return xstrdup(n->s);
}

static int want_int(struct ctx *c, const struct ynode *parent, const char *key, long long lo, long long hi, int def)
{
	const struct ynode *n = parent ? ynode_get(parent, key) : NULL;
	long long v;
	if (!n || n->kind == Y_NULL)
		return def;
	if (n->kind != Y_SCALAR || dec(n->s, strlen(n->s), &v) < 0 || v < lo || v > hi) {
		err(c, n, "%s must be an integer from %lld to %lld", key, lo, hi);
		return def;
	}
	return (int)v;
}

static uint32_t host_order(const char *s)
{
	struct in_addr a = {0};
	ipv4(s, &a);
	return ntohl(a.s_addr);
}

/* An address of the LAN, neither its network nor its broadcast address. */
static int in_lan(const struct inventory *inv, const char *s)
{
	struct in_addr a;
	if (ipv4(s, &a) < 0 || !inv->gw_address)
		return 0;
	uint32_t mask = inv->prefix ? ~0u << (32 - inv->prefix) : 0, x = ntohl(a.s_addr), net = host_order(inv->gw_address) & mask;
	return (x & mask) == net && x != net && x != (net | ~mask);
}

#define HOSTNAME "an RFC 1123 host name (labels of letters, digits and '-', joined by dots)"
#define IFNAME "an interface name (1-15 letters, digits, '_', '.', '-', from a letter or digit)"

static void gateway(struct ctx *c, struct inventory *inv, const struct ynode *gw)
{
	static const char *const keys[] = {"hostname", "external_interface", "internal_interface", "address", "dhcp",
					   "policy", "rules", "forwards", NULL};
	known_keys(c, gw, "gateway", keys);
	inv->gw_name = want_str(c, gw, "hostname", "gateway", hostname_ok, HOSTNAME);
	inv->ext_if = want_str(c, gw, "external_interface", NULL, ifname_ok, IFNAME);
	inv->int_if = want_str(c, gw, "internal_interface", NULL, ifname_ok, IFNAME);
	if (inv->ext_if && inv->int_if && !strcmp(inv->ext_if, inv->int_if))
		err(c, ynode_get(gw, "internal_interface"), "internal_interface: %s is also the external interface",
		    inv->int_if);
	char *a = want_str(c, gw, "address", NULL, NULL, NULL);
	if (a && cidr(a, 8, 30, &inv->gw_address, &inv->prefix) < 0)
		bad(c, ynode_get(gw, "address"), "address", a, "ADDRESS/PREFIX (10.0.0.1/24; prefix 8 to 30)");
	if (inv->gw_address) {
		struct in_addr net = {htonl(host_order(inv->gw_address) & (~0u << (32 - inv->prefix)))};
		char buf[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &net, buf, sizeof buf);
		inv->lan = xasprintf("%s/%d", buf, inv->prefix);
		if (!in_lan(inv, inv->gw_address))
			err(c, ynode_get(gw, "address"), "address: %s is the network or broadcast address of %s",
			    inv->gw_address, inv->lan);
	}
	free(a);
	const struct ynode *dh = want_map(c, gw, "dhcp", 1);
	static const char *const dkeys[] = {"range", "lease", NULL};
	known_keys(c, dh, "dhcp", dkeys);
	char *range = want_str(c, dh, "range", dh ? NULL : "", NULL, NULL);
	inv->lease = want_str(c, dh, "lease", "1h", lease_ok,
			      "a lease time: a number with an optional unit s, m, h, d or w, at least 2m, or infinite");
	const char *dash = range ? strchr(range, '-') : NULL;
	if (dh && range) {
		if (dash && ipv4n(range, (size_t)(dash - range)) == 0 && ipv4(dash + 1, NULL) == 0) {
			inv->dhcp_start = xstrndup(range, (size_t)(dash - range));
			inv->dhcp_end = xstrdup(dash + 1);
		}
		if (!inv->dhcp_start || !in_lan(inv, inv->dhcp_start) || !in_lan(inv, inv->dhcp_end) ||
		    host_order(inv->dhcp_start) > host_order(inv->dhcp_end)) {
			char *what = xasprintf("FIRST-LAST inside %s", inv->lan ? inv->lan : "the LAN");
			bad(c, ynode_get(dh, "range"), "range", range, what);
			free(what);
			free(inv->dhcp_start);
			free(inv->dhcp_end);
			inv->dhcp_start = inv->dhcp_end = NULL;
		}
	}
	free(range);
	shorewall_lines(c, gw, "policy", &inv->policy, 1);
	shorewall_lines(c, gw, "rules", &inv->rules, 0);
	const struct ynode *fw = ynode_get(gw, "forwards");
	if (fw && fw->kind == Y_SEQ) {
		inv->forwards = xcalloc(fw->n + 1, sizeof *inv->forwards);
		for (size_t i = 0; i < fw->n; i++) {
			const char *s = fw->v[i]->kind == Y_SCALAR ? fw->v[i]->s : "";
			const char *sp = strchr(s, ' '), *colon = sp ? strchr(sp, ':') : NULL;
			long long p = 0, t = 0;
			size_t pl = sp ? (colon ? (size_t)(colon - sp - 1) : strlen(sp + 1)) : 0;
			if (!sp || (strncmp(s, "tcp ", 4) && strncmp(s, "udp ", 4)) || dec(sp + 1, pl, &p) < 0 || p < 1 ||
			    p > 65535 || (colon && (dec(colon + 1, strlen(colon + 1), &t) < 0 || t < 1 || t > 65535))) {
				bad(c, fw->v[i], "forwards", s, "tcp|udp PORT[:TARGET_PORT]");
				continue;
			}
			struct inv_forward *f = &inv->forwards[inv->nforwards++];
			f->proto = xstrndup(s, 3);
			f->port = (int)p;
			f->to_port = colon ? (int)t : (int)p;
		}
	} else if (fw && fw->kind != Y_NULL) {
		err(c, fw, "forwards must be a list (\"tcp 80\")");
	}
}

/* NAME: VALUE pairs, each checked by key_ok and value_ok. */
static void kvs(struct ctx *c, const struct ynode *map, const char *what, struct inv_kv **out, size_t *n,
		int (*key_ok)(const char *), const char *key_expected, int (*value_ok)(const char *),
		const char *value_expected)
{
	if (!map)
		return;
	*out = xcalloc(map->n + 1, sizeof **out);
	for (size_t i = 0; i < map->n; i++) {
		const struct ynode *v = map->v[i];
		const char *k = ynode_str(map->k[i]);
		int ok = 1;
		if (!key_ok(k)) {
			bad(c, map->k[i], what, k, key_expected);
			ok = 0;
		}
		if (v->kind != Y_SCALAR) {
			err(c, v, "%s: %s must be a string", what, show(c, k));
			continue;
		}
		if (!value_ok(v->s)) {
			char *w = xasprintf("%s: %s", what, show(c, k));
			bad(c, v, w, v->s, value_expected);
			free(w);
			ok = 0;
		}
		if (!ok)
			continue;
		(*out)[*n].key = xstrdup(k);
		(*out)[(*n)++].value = xstrdup(v->s);
	}
}

static int tls_ok(const char *s)
{
	return path_ok(s);
}

static void nodes(struct ctx *c, struct inventory *inv, const struct ynode *ns)
{
	static const char *const keys[] = {"address", "role", "priority", "engine", "tls", "labels", NULL};
	inv->nodes = xcalloc(ns->n + 1, sizeof *inv->nodes);
	for (size_t i = 0; i < ns->n; i++) {
		const struct ynode *k = ns->k[i], *v = ns->v[i];
		struct inv_node *nd = &inv->nodes[inv->nnodes++];
		nd->name = xstrdup(ynode_str(k));
		const char *name = show(c, nd->name);
		if (!node_name_ok(nd->name))
			bad(c, k, "nodes", nd->name,
			    "a node name: an RFC 1123 label (1-63 letters, digits and '-', not first or last), "
			    "not a number, a lease time, infinite or ignore");
		if (v->kind != Y_MAP) {
			err(c, v, "node %s must be a mapping (address, role …)", name);
			continue;
		}
		known_keys(c, v, name, keys);
		nd->address = want_str(c, v, "address", NULL, NULL, NULL);
		if (nd->address && !in_lan(inv, nd->address))
			err(c, ynode_get(v, "address"), "node %s: address %s is not inside %s", name, show(c, nd->address),
			    inv->lan ? inv->lan : "the LAN");
		else if (nd->address && inv->dhcp_start && host_order(nd->address) >= host_order(inv->dhcp_start) &&
			 host_order(nd->address) <= host_order(inv->dhcp_end))
			err(c, ynode_get(v, "address"), "node %s: address %s is inside the DHCP range", name, nd->address);
		char *role = want_str(c, v, "role", NULL, NULL, NULL);
		if (role && strcmp(role, "manager") && strcmp(role, "worker"))
			err(c, ynode_get(v, "role"), "node %s: role must be manager or worker", name);
		nd->manager = role && !strcmp(role, "manager");
		free(role);
		nd->priority = want_int(c, v, "priority", 1, 254, 0);
		if (ynode_get(v, "priority") && !nd->manager)
			err(c, ynode_get(v, "priority"), "node %s: priority is for managers (they hold the floating IP)",
			    name);
		nd->engine = want_str(c, v, "engine", "unix:///var/run/docker.sock", engine_ok,
				      "unix:///PATH (absolute, 107 bytes at most) or tcp://HOST:PORT");
		const struct ynode *t = ynode_get(v, "tls");
		if (t)
			nd->tls = want_str(c, v, "tls", NULL, tls_ok, "a directory (printable, not starting with '-')");
		const struct ynode *l = ynode_get(v, "labels");
		if (l && l->kind != Y_MAP)
			err(c, l, "node %s: labels must be a mapping", name);
		else
			kvs(c, l, "labels", &nd->labels, &nd->nlabels, label_key_ok,
			    "a label key (letters, digits, '.', '_', '/', '-', from a letter or digit)", label_value_ok,
			    "a label value (printable, 1024 bytes at most)");
		for (size_t j = 0; j < i; j++) {
			if (!strcasecmp(inv->nodes[j].name, nd->name))
				err(c, k, "node %s is listed twice", name);
			else if (nd->address && inv->nodes[j].address && !strcmp(inv->nodes[j].address, nd->address))
				err(c, ynode_get(v, "address"), "node %s: address %s is also %s's", name, nd->address,
				    show(c, inv->nodes[j].name));
		}
		if (nd->address && inv->gw_address && !strcmp(nd->address, inv->gw_address))
			err(c, ynode_get(v, "address"), "node %s: address %s is the gateway's", name, nd->address);
	}
	/* managers without a priority: in file order, highest first */
	int nm = 0;
	for (size_t i = 0; i < inv->nnodes; i++)
		nm += inv->nodes[i].manager;
	if (!nm)
		err(c, ns, "nodes: at least one manager is needed");
	int next = nm;
	for (size_t i = 0; i < inv->nnodes; i++)
		if (inv->nodes[i].manager && !inv->nodes[i].priority)
			inv->nodes[i].priority = next > 0 ? next-- : 1;
}

static int config_name_ok(const char *s)
{
	return object_name_ok(s, 1);
}

#define OBJECT_NAME "a config or secret name (letters, digits, '_', '.', '-', from and to a letter or digit, 64 at most)"
#define FILE_PATH "a file (printable, not starting with '-')"

static void swarm(struct ctx *c, struct inventory *inv, const struct ynode *sw)
{
	static const char *const keys[] = {"address_pool", "subnet_size", "networks", "agent", NULL};
	known_keys(c, sw, "swarm", keys);
	inv->pool = want_str(c, sw, "address_pool", "10.1.0.0/16", NULL, NULL);
	char *pa = NULL;
	int pp = 0;
	if (inv->pool && cidr(inv->pool, 8, 30, &pa, &pp) < 0) {
		bad(c, ynode_get(sw, "address_pool"), "address_pool", inv->pool, "ADDRESS/PREFIX (prefix 8 to 30)");
		free(inv->pool);
		inv->pool = NULL;
	}
	inv->subnet_size = want_int(c, sw, "subnet_size", 16, 29, 24);
	if (pa && inv->gw_address) {
		uint32_t m = ~0u << (32 - (pp < inv->prefix ? pp : inv->prefix));
		if ((host_order(pa) & m) == (host_order(inv->gw_address) & m))
			err(c, ynode_get(sw, "address_pool"), "address_pool %s overlaps the LAN %s", inv->pool, inv->lan);
	}
	free(pa);
	const struct ynode *nw = want_map(c, sw, "networks", 0);
	if (nw) {
		inv->networks = xcalloc(nw->n + 1, sizeof *inv->networks);
		for (size_t i = 0; i < nw->n; i++) {
			struct inv_network *n = &inv->networks[inv->nnetworks++];
			n->name = xstrdup(ynode_str(nw->k[i]));
			if (!object_name_ok(n->name, 0))
				bad(c, nw->k[i], "networks", n->name,
				    "a network name (letters, digits, '_', '.', '-', from a letter or digit, 64 at most)");
			const struct ynode *v = nw->v[i];
			if (v->kind == Y_MAP) {
				static const char *const nk[] = {"attachable", NULL};
				known_keys(c, v, show(c, n->name), nk);
				const struct ynode *a = ynode_get(v, "attachable");
				if (a && (a->kind != Y_SCALAR || a->stype != YS_BOOL))
					err(c, a, "attachable must be true or false");
				n->attachable = a && a->kind == Y_SCALAR && !strcmp(a->s, "true");
			} else if (v->kind != Y_NULL) {
				err(c, v, "network %s must be a mapping (or empty)", show(c, n->name));
			}
		}
	}
	const struct ynode *ag = want_map(c, sw, "agent", 0);
	if (ag) {
		static const char *const ak[] = {"stack", "configs", "secrets", NULL};
		known_keys(c, ag, "agent", ak);
		inv->agent_stack = want_str(c, ag, "stack", "shoal", stack_ok,
					    "a stack name (letters, digits, '-', '_', from a letter or digit, 40 at most)");
		kvs(c, want_map(c, ag, "configs", 0), "configs", &inv->agent_configs, &inv->nagent_configs, config_name_ok,
		    OBJECT_NAME, path_ok, FILE_PATH);
		kvs(c, want_map(c, ag, "secrets", 0), "secrets", &inv->agent_secrets, &inv->nagent_secrets, config_name_ok,
		    OBJECT_NAME, path_ok, FILE_PATH);
	}
}

static void vip(struct ctx *c, struct inventory *inv, const struct ynode *vp)
{
	static const char *const vk[] = {"address", "router_id", "interface", NULL};
	known_keys(c, vp, "vip", vk);
	inv->vip = want_str(c, vp, "address", NULL, NULL, NULL);
	inv->vip_if = want_str(c, vp, "interface", "eth0", ifname_ok, IFNAME);
	inv->router_id = want_int(c, vp, "router_id", 1, 255, 51);
	if (inv->vip && !in_lan(inv, inv->vip)) {
		err(c, ynode_get(vp, "address"), "vip: %s is not inside %s", show(c, inv->vip), inv->lan ? inv->lan : "the LAN");
		free(inv->vip);
		inv->vip = NULL;
		return;
	}
	for (size_t i = 0; inv->vip && i < inv->nnodes; i++)
		if (inv->nodes[i].address && !strcmp(inv->nodes[i].address, inv->vip))
			err(c, ynode_get(vp, "address"), "vip: %s is node %s's address", inv->vip, show(c, inv->nodes[i].name));
	if (inv->vip && inv->dhcp_start && host_order(inv->vip) >= host_order(inv->dhcp_start) &&
	    host_order(inv->vip) <= host_order(inv->dhcp_end))
		err(c, ynode_get(vp, "address"), "vip: %s is inside the DHCP range", inv->vip);
	if (inv->vip && inv->gw_address && !strcmp(inv->vip, inv->gw_address))
		err(c, ynode_get(vp, "address"), "vip: %s is the gateway's address", inv->vip);
}

int inventory_parse(const char *file, const char *data, size_t len, struct inventory *inv, struct diags *d)
{
	memset(inv, 0, sizeof *inv);
	inv->file = xstrdup(file);
	const char *slash = strrchr(file, '/');
	inv->dir = slash ? xstrndup(file, (size_t)(slash - file)) : xstrdup(".");
	if (ynode_parse(inv->file, data, len, &inv->root, d) < 0)
		return -1;
	struct ctx c = {d, inv->file, {0}};
	size_t before = d->nerrors;
	if (!inv->root || inv->root->kind != Y_MAP) {
		err(&c, inv->root, "the inventory must be a mapping (gateway, vip, nodes, swarm)");
		strv_free(&c.shown);
		return -1;
	}
	static const char *const keys[] = {"gateway", "vip", "nodes", "swarm", NULL};
	known_keys(&c, inv->root, "inventory", keys);
	const struct ynode *gw = want_map(&c, inv->root, "gateway", 1);
	if (gw)
		gateway(&c, inv, gw);
	const struct ynode *ns = want_map(&c, inv->root, "nodes", 1);
	if (ns)
		nodes(&c, inv, ns);
	const struct ynode *vp = want_map(&c, inv->root, "vip", 0);
	if (vp)
		vip(&c, inv, vp);
	else if (inv->nforwards)
		err(&c, ynode_get(gw, "forwards"), "forwards go to the floating IP: a vip section is needed");
	const struct ynode *sw = want_map(&c, inv->root, "swarm", 0);
	swarm(&c, inv, sw);
	strv_free(&c.shown);
	return d->nerrors > before ? -1 : 0;
}

int inventory_load(const char *file, struct inventory *inv, struct diags *d)
{
	char *data;
	size_t len;
	if (read_file(file, INVENTORY_MAX, &data, &len) < 0) {
		memset(inv, 0, sizeof *inv);
		diags_add(d, DIAG_ERROR, file, 0, 0, "%s", errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
		return -1;
	}
	int rc = inventory_parse(file, data, len, inv, d);
	free(data);
	return rc;
}

static void kv_free(struct inv_kv *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].key);
		free(v[i].value);
	}
	free(v);
}

void inventory_free(struct inventory *inv)
{
	free(inv->file);
	free(inv->dir);
	ynode_free(inv->root);
	free(inv->gw_name);
	free(inv->ext_if);
	free(inv->int_if);
	free(inv->gw_address);
	free(inv->lan);
	free(inv->dhcp_start);
	free(inv->dhcp_end);
	free(inv->lease);
	strv_free(&inv->policy);
	strv_free(&inv->rules);
	for (size_t i = 0; i < inv->nforwards; i++)
		free(inv->forwards[i].proto);
	free(inv->forwards);
	free(inv->vip);
	free(inv->vip_if);
	for (size_t i = 0; i < inv->nnodes; i++) {
		struct inv_node *n = &inv->nodes[i];
		free(n->name);
		free(n->address);
		free(n->engine);
		free(n->tls);
		kv_free(n->labels, n->nlabels);
	}
	free(inv->nodes);
	free(inv->pool);
	for (size_t i = 0; i < inv->nnetworks; i++)
		free(inv->networks[i].name);
	free(inv->networks);
	free(inv->agent_stack);
	kv_free(inv->agent_configs, inv->nagent_configs);
	kv_free(inv->agent_secrets, inv->nagent_secrets);
	memset(inv, 0, sizeof *inv);
}

const struct inv_node *inventory_node(const struct inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->nnodes; i++)
		if (!strcmp(inv->nodes[i].name, name))
			return &inv->nodes[i];
	return NULL;
}
