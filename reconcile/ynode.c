#include "ynode.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <yaml.h>

struct ynode *ynode_new(enum ynode_kind kind, const char *file, int line, int col)
{
	struct ynode *n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->file = file;
	n->line = line;
	n->col = col;
	return n;
}

struct ynode *ynode_new_str(const char *s, const struct ynode *pos)
{
	struct ynode *n = ynode_new(Y_SCALAR, pos ? pos->file : NULL, pos ? pos->line : 0,
				    pos ? pos->col : 0);
	n->s = xstrdup(s);
	n->stype = YS_STR;
	return n;
}

void ynode_free(struct ynode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		ynode_free(n->v[i]);
		if (n->k)
			ynode_free(n->k[i]);
	}
	free(n->v);
	free(n->k);
	if (n->s && n->sealed)
		sodium_memzero(n->s, strlen(n->s));
	free(n->s);
	free(n);
}

static void grow(struct ynode *n)
{
	if (n->n < n->alloc)
		return;
	n->alloc = n->alloc ? n->alloc * 2 : 4;
	n->v = xrealloc(n->v, n->alloc * sizeof *n->v);
	if (n->kind == Y_MAP)
		n->k = xrealloc(n->k, n->alloc * sizeof *n->k);
}

void ynode_push(struct ynode *seq, struct ynode *item)
{
	grow(seq);
	seq->v[seq->n++] = item;
}

static long map_index(const struct ynode *map, const char *key)
{
	if (!map || map->kind != Y_MAP)
		return -1;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(ynode_str(map->k[i]), key) == 0)
			return (long)i;
	return -1;
}

struct ynode *ynode_get(const struct ynode *map, const char *key)
{
	long i = map_index(map, key);
	return i < 0 ? NULL : map->v[i];
}

const struct ynode *ynode_key(const struct ynode *map, const char *key)
{
	long i = map_index(map, key);
	return i < 0 ? NULL : map->k[i];
}

void ynode_set(struct ynode *map, const char *key, struct ynode *val, const struct ynode *keypos)
{
	long i = map_index(map, key);
	if (i >= 0) {
		ynode_free(map->v[i]);
		map->v[i] = val;
		return;
	}
	grow(map);
	map->k[map->n] = ynode_new_str(key, keypos ? keypos : val);
	map->v[map->n++] = val;
}

void ynode_del(struct ynode *map, const char *key)
{
	long i = map_index(map, key);
	if (i < 0)
		return;
	ynode_free(map->v[i]);
	ynode_free(map->k[i]);
	memmove(&map->v[i], &map->v[i + 1], (map->n - (size_t)i - 1) * sizeof *map->v);
	memmove(&map->k[i], &map->k[i + 1], (map->n - (size_t)i - 1) * sizeof *map->k);
	map->n--;
}

struct ynode *ynode_clone(const struct ynode *n)
{
	if (!n)
		return NULL;
	struct ynode *c = ynode_new(n->kind, n->file, n->line, n->col);
	c->stype = n->stype;
	c->interpolated = n->interpolated;
	c->sealed = n->sealed;
	c->s = n->s ? xstrdup(n->s) : NULL;
	for (size_t i = 0; i < n->n; i++) {
		grow(c);
		c->v[c->n] = ynode_clone(n->v[i]);
		if (n->kind == Y_MAP)
			c->k[c->n] = ynode_clone(n->k[i]);
		c->n++;
	}
	return c;
}

const char *ynode_str(const struct ynode *n)
{
	if (!n || n->kind != Y_SCALAR || !n->s)
		return "";
	return n->s;
}

const char *ynode_kind_name(const struct ynode *n)
{
	if (!n || n->kind == Y_NULL)
		return "null";
	switch (n->kind) {
	case Y_MAP:
		return "mapping";
	case Y_SEQ:
		return "sequence";
	default:
		break;
	}
	switch (n->stype) {
	case YS_INT:
		return "integer";
	case YS_FLOAT:
		return "number";
	case YS_BOOL:
		return "boolean";
	default:
		return "string";
	}
}

/* ---- parsing ---- */

struct conv {
	yaml_document_t *doc;
	const char *file;
	size_t budget;
	struct diags *d;
	int failed;
};

/* Go's strconv.ParseInt/ParseUint with base 0 (after yaml.v3 has removed
 * every '_'): optional sign (ParseInt only), 0x/0o/0b or a leading 0 for
 * octal.  Decimal text of the value into out; -1 when not an integer of
 * 64 bits. */
static int go_parse_int(const char *s, int sign_ok, int signed_, char *out, size_t outsz)
{
	int neg = 0;
	if (sign_ok && (*s == '+' || *s == '-'))
		neg = *s++ == '-';
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		base = 16, s += 2;
	else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
		base = 8, s += 2;
	else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
		base = 2, s += 2;
	else if (s[0] == '0' && s[1])
		base = 8, s += 1;
	if (!*s)
		return -1;
	unsigned long long v = 0;
	for (; *s; s++) {
		unsigned d;
		if (isdigit((unsigned char)*s))
			d = (unsigned)(*s - '0');
		else if (isxdigit((unsigned char)*s))
			d = (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		else
			return -1;
		if (d >= base || v > (~0ULL - d) / base)
			return -1;
		v = v * base + d;
	}
	if (signed_ && (neg ? v > (1ULL << 63) : v > (1ULL << 63) - 1))
		return -1;
	if (neg && v)
		snprintf(out, outsz, "-%llu", v);
	else
		snprintf(out, outsz, "%llu", v);
	return 0;
}

/* yaml.v3's yamlStyleFloat: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int yaml_style_float(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (*s == '.') {
		if (!isdigit((unsigned char)*++s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	} else {
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
		if (*s == '.')
			for (s++; isdigit((unsigned char)*s);)
				s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			s++;
		if (!isdigit((unsigned char)*s))
			return 0;
		while (isdigit((unsigned char)*s))
			s++;
	}
	return *s == 0;
}

/* Go's strconv.ParseFloat for what yaml_style_float accepted (and the
 * ".5" forms): out of range is an error, not infinity. */
static int go_parse_float(const char *s)
{
	char *end;
	errno = 0;
	double d = strtod(s, &end);
	return *end == 0 && end != s && !(errno == ERANGE && isinf(d)) && !isinf(d) ? 0 : -1;
}

static int num(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* Up to two digits (Go's layout elements "1", "2", "15", "4", "5"). */
static const char *num12(const char *s, int *out)
{
	if (!isdigit((unsigned char)s[0]))
		return NULL;
	size_t n = isdigit((unsigned char)s[1]) ? 2 : 1;
	num(s, n, out);
	return s + n;
}

/* yaml.v3's timestamps (time.Parse with 2006-1-2T15:4:5.999999999Z07:00,
 * its lower-case t form, 2006-1-2 15:4:5.999999999 and 2006-1-2), printed
 * as Go's Time.String() does: the text the CLI puts in an environment
 * variable or label for an unquoted date.  Zone offsets other than Z/UTC
 * print as a fixed zone (the CLI's host taken to run on UTC). */
static char *yaml_timestamp(const char *s)
{
	int y, mo, d, h = 0, mi = 0, se = 0, off = 0, utc = 1;
	long nanos = 0;
	if (num(s, 4, &y) < 0 || s[4] != '-')
		return NULL;
	const char *p = num12(s + 5, &mo);
	if (!p || *p != '-' || !(p = num12(p + 1, &d)))
		return NULL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		int zoned = *p != ' ';
		if (!(p = num12(p + 1, &h)) || *p != ':' || !(p = num12(p + 1, &mi)) || *p != ':' ||
		    !(p = num12(p + 1, &se)))
			return NULL;
		if (*p == '.' && isdigit((unsigned char)p[1])) {
			int k = 0;
			for (p++; isdigit((unsigned char)*p); p++, k++)
				if (k < 9)
					nanos = nanos * 10 + (*p - '0');
			for (; k < 9; k++)
				nanos *= 10;
		}
		if (zoned) {
			if (*p == 'Z') {
				p++;
			} else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) && isdigit((unsigned char)p[2]) &&
				   p[3] == ':' && isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
				int oh, om;
				num(p + 1, 2, &oh);
				num(p + 4, 2, &om);
				if (oh > 23 || om > 59) /* Go: "time zone offset out of range" */
					return NULL;
				off = (*p == '-' ? -1 : 1) * (oh * 60 + om);
				utc = off == 0;
				p += 6;
			} else {
				return NULL;
			}
		}
	}
	if (*p)
		return NULL;
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || se > 59)
		return NULL;
	char frac[16] = "";
	if (nanos) {
		snprintf(frac, sizeof frac, ".%09ld", nanos);
		for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = 0;
	}
	char zone[32];
	if (utc)
		snprintf(zone, sizeof zone, "+0000 UTC");
	else
		snprintf(zone, sizeof zone, "%c%02d%02d %c%02d%02d", off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60,
			 off < 0 ? '-' : '+', abs(off) / 60, abs(off) % 60);
	return xasprintf("%04d-%02d-%02d %02d:%02d:%02d%s %s", y, mo, d, h, mi, se, frac, zone);
}

/*
 * Resolve a plain scalar as yaml.v3 does (the docker CLI decodes compose
 * files with it into untyped values): null, booleans, integers as Go reads
 * them (underscores dropped; 0x, 0o, 0b, leading-0 octal; signed 64-bit,
 * then unsigned), decimal floats that are not out of range, ".5" forms,
 * timestamps; the rest are strings.  *canon gets the text the CLI prints
 * for the value when it differs from the source (decimal integers, floats
 * without underscores, a timestamp in Go's form), else NULL.  Returns 1
 * for null.
 */
static int resolve_plain(const char *s, enum yscalar *t, char **canon)
{
	static const char *nulls[] = {"", "~", "null", "Null", "NULL"};
	static const char *bools[] = {"true", "True", "TRUE", "false", "False", "FALSE"};
	static const char *floats[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
				       "-.Inf", "-.INF", ".nan", ".NaN", ".NAN"};
	*canon = NULL;
	*t = YS_STR;
	for (size_t i = 0; i < ARRAY_SIZE(nulls); i++)
		if (strcmp(s, nulls[i]) == 0)
			return 1;
	for (size_t i = 0; i < ARRAY_SIZE(bools); i++)
		if (strcmp(s, bools[i]) == 0) {
			*t = YS_BOOL;
			return 0;
		}
	for (size_t i = 0; i < ARRAY_SIZE(floats); i++)
		if (strcmp(s, floats[i]) == 0) {
			*t = YS_FLOAT;
			return 0;
		}
	if (*s == '.') {
		if (go_parse_float(s) == 0 && isdigit((unsigned char)s[1]))
			*t = YS_FLOAT;
		return 0;
	}
	if (!isdigit((unsigned char)*s) && *s != '-' && *s != '+')
		return 0;
	if (isdigit((unsigned char)*s) && (*canon = yaml_timestamp(s)) != NULL)
		return 0; /* a string for the schema, printed in Go's form */
	char *plain = xstrdup(s), *w = plain;
	for (const char *r = s; *r; r++)
		if (*r != '_')
			*w++ = *r;
	*w = 0;
	char dec[32];
	if (go_parse_int(plain, 1, 1, dec, sizeof dec) == 0 || go_parse_int(plain, 0, 0, dec, sizeof dec) == 0) {
		*t = YS_INT;
		if (strcmp(dec, s))
			*canon = xstrdup(dec);
	} else if (yaml_style_float(plain) && go_parse_float(plain) == 0) {
		*t = YS_FLOAT;
		if (strcmp(plain, s))
			*canon = xstrdup(plain);
	}
	free(plain);
	return 0;
}

static struct ynode *conv_node(struct conv *c, int idx, int depth);

static void merge_into(struct conv *c, struct ynode *m, struct ynode *src, const yaml_node_t *at)
{
	if (!src || src->kind != Y_MAP) {
		diags_add(c->d, DIAG_ERROR, c->file, (int)at->start_mark.line + 1,
			  (int)at->start_mark.column + 1, "map merge requires a mapping or a list of mappings");
		c->failed = 1;
		return;
	}
	for (size_t i = 0; i < src->n; i++) {
		const char *key = ynode_str(src->k[i]);
		if (ynode_get(m, key))
			continue;
		ynode_set(m, key, ynode_clone(src->v[i]), src->k[i]);
	}
}

static struct ynode *conv_node(struct conv *c, int idx, int depth)
{
	yaml_node_t *yn = yaml_document_get_node(c->doc, idx);
	if (!yn || c->failed)
		return NULL;
	int line = (int)yn->start_mark.line + 1, col = (int)yn->start_mark.column + 1;
	if (depth > YNODE_MAX_DEPTH) {
		diags_add(c->d, DIAG_ERROR, c->file, line, col, "document nested deeper than %d levels",
			  YNODE_MAX_DEPTH);
		c->failed = 1;
		return NULL;
	}
	if (c->budget == 0) {
		diags_add(c->d, DIAG_ERROR, c->file, line, col,
			  "document expands to more than %d nodes (alias bomb?)", YNODE_MAX_NODES);
		c->failed = 1;
		return NULL;
	}
	c->budget--;
	struct ynode *n;
	switch (yn->type) {
	case YAML_SCALAR_NODE: {
		const char *s = (const char *)yn->data.scalar.value;
		size_t len = yn->data.scalar.length;
		if (strlen(s) != len) {
			diags_add(c->d, DIAG_ERROR, c->file, line, col, "scalar contains a NUL byte");
			c->failed = 1;
			return NULL;
		}
		enum yscalar t = YS_STR;
		int is_null = 0;
		char *canon = NULL;
		const char *tag = (const char *)yn->tag;
		if (yn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
		    (!tag || strcmp(tag, "?") == 0 || strcmp(tag, YAML_DEFAULT_SCALAR_TAG) == 0 ||
		     strncmp(tag, "tag:yaml.org,2002:", 18) != 0))
			is_null = resolve_plain(s, &t, &canon);
		if (is_null) {
			n = ynode_new(Y_NULL, c->file, line, col);
		} else {
			n = ynode_new(Y_SCALAR, c->file, line, col);
			n->s = canon ? canon : xstrndup(s, len);
			canon = NULL;
			n->stype = t;
		}
		free(canon);
		return n;
	}
	case YAML_SEQUENCE_NODE:
		n = ynode_new(Y_SEQ, c->file, line, col);
		for (yaml_node_item_t *it = yn->data.sequence.items.start;
		     it < yn->data.sequence.items.top; it++) {
			struct ynode *ch = conv_node(c, *it, depth + 1);
			if (!ch) {
				ynode_free(n);
				return NULL;
			}
			ynode_push(n, ch);
		}
		return n;
	case YAML_MAPPING_NODE: {
		n = ynode_new(Y_MAP, c->file, line, col);
		/* explicit keys first, then << merges (explicit keys win) */
		for (int pass = 0; pass < 2; pass++) {
			for (yaml_node_pair_t *p = yn->data.mapping.pairs.start;
			     p < yn->data.mapping.pairs.top; p++) {
				yaml_node_t *kn = yaml_document_get_node(c->doc, p->key);
				int kl = (int)kn->start_mark.line + 1, kc = (int)kn->start_mark.column + 1;
				int is_merge = kn->type == YAML_SCALAR_NODE &&
					       kn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					       strcmp((const char *)kn->data.scalar.value, "<<") == 0;
				if (is_merge != pass)
					continue;
				if (kn->type != YAML_SCALAR_NODE) {
					diags_add(c->d, DIAG_ERROR, c->file, kl, kc, "mapping keys must be scalars");
					c->failed = 1;
					ynode_free(n);
					return NULL;
				}
				/* a key is a C string from here on: not cut short silently */
				if (strlen((const char *)kn->data.scalar.value) != kn->data.scalar.length) {
					diags_add(c->d, DIAG_ERROR, c->file, kl, kc, "mapping key contains a NUL byte");
					c->failed = 1;
					ynode_free(n);
					return NULL;
				}
				struct ynode *val = conv_node(c, p->value, depth + 1);
				if (!val) {
					ynode_free(n);
					return NULL;
				}
				if (is_merge) {
					if (val->kind == Y_SEQ) {
						for (size_t i = 0; i < val->n; i++)
							merge_into(c, n, val->v[i], kn);
					} else {
						merge_into(c, n, val, kn);
					}
					ynode_free(val);
					if (c->failed) {
						ynode_free(n);
						return NULL;
					}
					continue;
				}
				const char *key = (const char *)kn->data.scalar.value;
				const struct ynode *prev = ynode_key(n, key);
				if (prev) {
					diags_add(c->d, DIAG_ERROR, c->file, kl, kc,
						  "mapping key \"%s\" already defined at line %d", key, prev->line);
					c->failed = 1;
					ynode_free(val);
					ynode_free(n);
					return NULL;
				}
				struct ynode *kpos = ynode_new(Y_SCALAR, c->file, kl, kc);
				kpos->s = xstrdup(key);
				/* a plain key keeps its YAML type (1:, true:), which
				 * docker cannot read (compose.c: check_keys) */
				const char *ktag = (const char *)kn->tag;
				if (kn->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
				    (!ktag || strcmp(ktag, "?") == 0 || strcmp(ktag, YAML_DEFAULT_SCALAR_TAG) == 0)) {
					enum yscalar kt = YS_STR;
					char *kcanon = NULL;
					if (!resolve_plain(key, &kt, &kcanon))
						kpos->stype = kt;
					free(kcanon);
				}
				grow(n);
				n->k[n->n] = kpos;
				n->v[n->n++] = val;
			}
		}
		return n;
	}
	default:
		return ynode_new(Y_NULL, c->file, line, col);
	}
}

/*
 * libyaml's loader needs seconds for a document of deeply nested flow
 * collections ("[[[[…"), long before conv_node sees the depth: a pass over
 * the events first stops at the first collection too deep, reporting it
 * where conv_node would.  Syntax errors are left to the loader.
 */
static int depth_ok(const char *file, const char *data, size_t len, struct diags *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, ok = 1, done = 0;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	while (!done && yaml_parser_parse(&p, &ev)) {
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			/* the root collection is conv_node's depth 0 */
			if (++depth > YNODE_MAX_DEPTH + 1) {
				diags_add(d, DIAG_ERROR, file, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
					  "document nested deeper than %d levels", YNODE_MAX_DEPTH);
				ok = 0;
				done = 1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT: depth--; break;
		case YAML_DOCUMENT_END_EVENT:
		case YAML_STREAM_END_EVENT: done = 1; break;
		default: break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
	return ok;
}

/* 1-based line and column (in characters) of byte offset off. */
static void position(const char *data, size_t len, size_t off, int *line, int *col)
{
	size_t i = len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3) && off >= 3 ? 3 : 0; /* not a column */
	*line = 1;
	*col = 1;
	for (; i < off && i < len; i++) {
		if (data[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)data[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/*
 * A UTF-8 byte-order mark is what docker's YAML reader (yaml.v3) accepts
 * at the very start of a file only; libyaml also skips one at the start of
 * any line (two at the start, one ending the file), which docker refuses:
 * refused here too, so that both take the same files.  UTF-16 files are
 * left to libyaml (their mark is the encoding's, and both accept it).
 */
static int bom_ok(const char *file, const char *data, size_t len, struct diags *d)
{
	static const char bom[] = "\xef\xbb\xbf";
	if (len >= 2 && ((data[0] == '\xff' && data[1] == '\xfe') || (data[0] == '\xfe' && data[1] == '\xff')))
		return 1;
	size_t start = len >= 3 && !memcmp(data, bom, 3) ? 3 : 0;
	for (const char *p = data + start; (p = memmem(p, len - (size_t)(p - data), bom, 3)); p += 3) {
		size_t off = (size_t)(p - data);
		if (off != start && p[-1] != '\n' && p[-1] != '\r')
			continue; /* inside a line: a character of a scalar */
		int line, col;
		position(data, len, off, &line, &col);
		diags_add(d, DIAG_ERROR, file, line, col,
			  "yaml: a byte-order mark (U+FEFF) is only allowed at the start of the file");
		return 0;
	}
	return 1;
}

int ynode_parse(const char *file, const char *data, size_t len, struct ynode **out,
		struct diags *d)
{
	yaml_parser_t p;
	yaml_document_t doc;
	*out = NULL;
	/* nesting deeper than the limit needs more flow openers than that:
	 * most files have fewer and skip the extra pass */
	size_t openers = 0;
	for (size_t i = 0; i < len && openers <= YNODE_MAX_DEPTH + 1; i++)
		openers += data[i] == '[' || data[i] == '{';
	if (openers > YNODE_MAX_DEPTH + 1 && !depth_ok(file, data, len, d))
		return -1;
	if (!bom_ok(file, data, len, d))
		return -1;
	if (!yaml_parser_initialize(&p))
		abort();
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	if (!yaml_parser_load(&p, &doc)) {
		int line = (int)p.problem_mark.line + 1, col = (int)p.problem_mark.column + 1;
		/* the reader (encoding, control characters) gives a byte offset */
		if (p.error == YAML_READER_ERROR && len >= 2 && (unsigned char)data[0] < 0xfe)
			position(data, len, p.problem_offset, &line, &col);
		diags_add(d, DIAG_ERROR, file, line, col, "yaml: %s%s%s", p.problem ? p.problem : "syntax error",
			  p.context ? " " : "", p.context ? p.context : "");
		yaml_parser_delete(&p);
		return -1;
	}
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	struct conv c = {.doc = &doc, .file = file, .budget = YNODE_MAX_NODES, .d = d};
	struct ynode *n = root ? conv_node(&c, 1, 0) : ynode_new(Y_NULL, file, 1, 1);
	yaml_document_delete(&doc);
	yaml_parser_delete(&p);
	if (!n || c.failed) {
		ynode_free(n);
		return -1;
	}
	*out = n;
	return 0;
}

void diag_at(struct diags *d, enum diag_level lvl, const struct ynode *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	diags_add(d, lvl, at ? at->file : NULL, at ? at->line : 0, at ? at->col : 0, "%s", m);
	free(m);
}
