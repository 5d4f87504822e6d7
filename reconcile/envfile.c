#include "envfile.h"

#include <stdlib.h>
#include <string.h>

size_t utf8_seq(const unsigned char *p, size_t n, unsigned *cp)
{
	unsigned c = p[0], min;
	size_t len;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, c &= 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, c &= 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, c &= 0x07, min = 0x10000;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Go's unicode.IsSpace */
static int uspace(unsigned c)
{
	if (c < 0x100)
		return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xa0;
	return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
	       c == 0x205f || c == 0x3000;
}

static int name_ok(const char *s)
{
	if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

#define BOM "\xef\xbb\xbf"
#define LINE_MAX_DOCKER (64 * 1024)

/* One line (without its LF): -1 when refused. */
static int parse_line(const char *file, const char *ln, size_t len, int lineno, int flags, envfile_fn fn,
		      void *ctx, struct diags *d)
{
	const unsigned char *p = (const unsigned char *)ln;
	int col = 1;
	/* every byte must be placed first: a bad one refuses the line */
	for (size_t i = 0; i < len; col++) {
		unsigned cp;
		size_t n = p[i] ? utf8_seq(p + i, len - i, &cp) : 0;
		if (!p[i]) {
			diags_add(d, DIAG_ERROR, file, lineno, col, "a NUL byte: no variable can hold it");
			return -1;
		}
		if (!n) {
			diags_add(d, DIAG_ERROR, file, lineno, col, "invalid UTF-8 (byte 0x%02x)", p[i]);
			return -1;
		}
		i += n;
	}
	if ((flags & ENVFILE_DOCKER) && len >= LINE_MAX_DOCKER) {
		diags_add(d, DIAG_ERROR, file, lineno, 1, "line of %zu bytes: docker refuses lines of 64 KiB or more", len);
		return -1;
	}
	if (len && ln[len - 1] == '\r')
		len--;
	/* leading white space, counted in characters for the column */
	size_t i = 0;
	col = 1;
	while (i < len) {
		unsigned cp;
		size_t n = utf8_seq(p + i, len - i, &cp);
		if (!uspace(cp))
			break;
		i += n;
		col++;
	}
	if (i == len || ln[i] == '#')
		return 0;
	const char *line = ln + i, *end = ln + len;
	const char *eq = memchr(line, '=', (size_t)(end - line));
	char *key = xstrndup(line, (size_t)((eq ? eq : end) - line));
	char *whole = xstrndup(line, (size_t)(end - line));
	int r = -1;
	if (!*key) {
		diags_add(d, DIAG_ERROR, file, lineno, col, "no variable name on line '%s'", whole);
	} else if (strpbrk(key, " \t")) {
		diags_add(d, DIAG_ERROR, file, lineno, col, "variable '%s' contains whitespaces", key);
	} else if (strstr(key, BOM)) {
		diags_add(d, DIAG_ERROR, file, lineno, col,
			  "a byte-order mark (U+FEFF) in the variable name: save the file without it");
	} else if ((flags & ENVFILE_VARS) && !name_ok(key)) {
		diags_add(d, DIAG_ERROR, file, lineno, col,
			  "'%s' is not a variable name (letters, digits and _, not starting with a digit): ${...} could never use it",
			  key);
	} else if ((flags & ENVFILE_VARS) && !eq) {
		diags_add(d, DIAG_ERROR, file, lineno, col, "expected KEY=VALUE");
	} else {
		char *val = eq ? xstrndup(eq + 1, (size_t)(end - eq - 1)) : NULL;
		fn(ctx, key, val, lineno);
		free(val);
		r = 0;
	}
	free(key);
	free(whole);
	return r;
}

int envfile_parse(const char *file, const char *data, size_t len, int flags, envfile_fn fn, void *ctx,
		  struct diags *d)
{
	int bad = 0, lineno = 0;
	size_t i = 0;
	if (len >= 3 && !memcmp(data, BOM, 3)) {
		if (!(flags & ENVFILE_DOCKER)) {
			diags_add(d, DIAG_ERROR, file, 1, 1,
				  "the file starts with a UTF-8 byte-order mark: save it without one (its first variable would not be found)");
			bad = 1;
		}
		i = 3;
	}
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (data + i)) : len - i;
		lineno++;
		if (parse_line(file, data + i, l, lineno, flags, fn, ctx, d) < 0)
			bad = 1;
		i += l + (nl != NULL);
	}
	return bad ? -1 : 0;
}
