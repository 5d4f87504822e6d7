/*
 * scrub.c - the process's registry of plaintexts and the scrubbing of texts
 * (see scrub.h for the contract).
 */
#include "scrub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "util.h"
#include "../secrets/seal.h"

struct form {
	char *s;
	size_t len;
	size_t label; /* index into labels */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct form *forms;
static size_t nforms, aforms;
static struct strv labels;
/* forms by first byte, longest first: the candidates at a position */
static size_t *bucket[256], nbucket[256];

char *scrub_template_literal(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	for (const char *p = s; *p;) {
		const char *q = strstr(p, "{{");
		if (!q) {
			buf_adds(&b, p);
			break;
		}
		buf_add(&b, p, (size_t)(q - p));
		buf_adds(&b, "{{\"{{\"}}");
		p = q + 2;
	}
	return buf_detach(&b);
}

/* The body of Go's strconv.Quote (what %q prints between the quotes). */
static void go_quote(struct buf *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c < 0x80) {
			static const char named[] = "\a\b\f\n\r\t\v", letter[] = "abfnrtv";
			const char *k = c ? strchr(named, c) : NULL;
			if (c == '"' || c == '\\')
				buf_addf(b, "\\%c", c);
			else if (k)
				buf_addf(b, "\\%c", letter[k - named]);
			else if (c < 0x20 || c == 0x7f)
				buf_addf(b, "\\x%02x", c);
			else
				buf_addc(b, (char)c);
			i++;
			continue;
		}
		/* a valid UTF-8 sequence is kept, a stray byte is \xHH */
		size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		int ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = (p[i + k] & 0xc0) == 0x80;
		if (ok) {
			buf_add(b, (const char *)p + i, len);
			i += len;
		} else {
			buf_addf(b, "\\x%02x", c);
			i++;
		}
	}
}

/* The body of a JSON string (as jansson writes it). */
static void json_quote(struct buf *b, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		static const char named[] = "\b\f\n\r\t", letter[] = "bfnrt";
		const char *k = c ? strchr(named, c) : NULL;
		if (c == '"' || c == '\\')
			buf_addf(b, "\\%c", c);
		else if (k)
			buf_addf(b, "\\%c", letter[k - named]);
		else if (c < 0x20)
			buf_addf(b, "\\u%04x", c);
		else
			buf_addc(b, (char)c);
	}
}

/* under mu */
static void add_form(const char *s, size_t len, size_t label)
{
	if (len < SCRUB_MIN || memchr(s, 0, len))
		return;
	unsigned char f = (unsigned char)s[0];
	size_t at = nbucket[f]; /* longest first: before the first shorter one */
	for (size_t k = 0; k < nbucket[f]; k++) {
		const struct form *x = &forms[bucket[f][k]];
		if (x->len == len && !memcmp(x->s, s, len))
			return;
		if (x->len < len && at == nbucket[f])
			at = k;
	}
	if (nforms == aforms) {
		aforms = aforms ? aforms * 2 : 16;
		forms = xrealloc(forms, aforms * sizeof *forms);
	}
	forms[nforms] = (struct form){xstrndup(s, len), len, label};
	bucket[f] = xrealloc(bucket[f], (nbucket[f] + 1) * sizeof *bucket[f]);
	memmove(&bucket[f][at + 1], &bucket[f][at], (nbucket[f] - at) * sizeof *bucket[f]);
	bucket[f][at] = nforms++;
	nbucket[f]++;
}

static void wipe_buf(struct buf *b)
{
	sodium_memzero(b->data, b->len);
	buf_free(b);
}

/* p as it is and quoted (under mu) */
static void add_quoted(const char *p, size_t n, size_t label)
{
	if (n < SCRUB_MIN)
		return;
	struct buf b;
	buf_init(&b, 0);
	add_form(p, n, label);
	go_quote(&b, (const unsigned char *)p, n);
	add_form(b.data, b.len, label);
	wipe_buf(&b);
	buf_init(&b, 0);
	json_quote(&b, (const unsigned char *)p, n);
	add_form(b.data, b.len, label);
	wipe_buf(&b);
}

static int author_only;

void scrub_author_only(void)
{
	author_only = 1;
}

void scrub_add(const void *pv, size_t len, const char *label, int flags)
{
	const char *p = pv;
	if (!p || len < SCRUB_MIN || author_only)
		return;
	pthread_mutex_lock(&mu);
	strv_push(&labels, xstrdup(label));
	size_t li = labels.n - 1;
	size_t trimmed = len;
	while (trimmed && (p[trimmed - 1] == '\n' || p[trimmed - 1] == '\r'))
		trimmed--;
	add_quoted(p, len, li);
	add_quoted(p, trimmed, li);
	for (int k = 0; k < 2; k++) {
		size_t n = k ? trimmed : len;
		if (n < SCRUB_MIN)
			continue;
		size_t bl = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
		char *b64 = xmalloc(bl);
		sodium_bin2base64(b64, bl, (const unsigned char *)p, n, sodium_base64_VARIANT_ORIGINAL);
		add_form(b64, strlen(b64), li);
		sodium_memzero(b64, bl);
		free(b64);
	}
	char *t = xstrndup(p, trimmed);
	if (strlen(t) == trimmed && strstr(t, "{{")) {
		char *lit = scrub_template_literal(t);
		add_quoted(lit, strlen(lit), li);
		sodium_memzero(lit, strlen(lit));
		free(lit);
	}
	sodium_memzero(t, trimmed);
	free(t);
	if ((flags & SCRUB_LINES) && memchr(p, '\n', trimmed)) {
		for (size_t i = 0; i < trimmed;) {
			const char *nl = memchr(p + i, '\n', trimmed - i);
			size_t e = nl ? (size_t)(nl - p) : trimmed, l = e - i;
			if (l && p[i + l - 1] == '\r')
				l--;
			add_quoted(p + i, l, li);
			i = e + 1;
		}
	}
	pthread_mutex_unlock(&mu);
}

void scrub_add_sealed(const unsigned char *rkey, const void *p, size_t len)
{
	char fp[13], label[32];
	seal_redact_fp(rkey, p, len, fp);
	snprintf(label, sizeof label, "(sealed%s%s)", rkey ? " " : "", fp);
	scrub_add(p, len, label, SCRUB_LINES);
}

int scrub_active(void)
{
	pthread_mutex_lock(&mu);
	int r = nforms > 0;
	pthread_mutex_unlock(&mu);
	return r;
}

char *scrub_text(const char *s)
{
	if (!s)
		return NULL;
	pthread_mutex_lock(&mu);
	if (!nforms) {
		pthread_mutex_unlock(&mu);
		return xstrdup(s);
	}
	struct buf b;
	buf_init(&b, 0);
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char f = (unsigned char)s[i];
		const struct form *hit = NULL;
		for (size_t k = 0; k < nbucket[f] && !hit; k++) {
			const struct form *x = &forms[bucket[f][k]];
			if (x->len <= n - i && !memcmp(s + i, x->s, x->len))
				hit = x;
		}
		if (hit) {
			buf_adds(&b, labels.v[hit->label]);
			i += hit->len;
		} else {
			buf_addc(&b, s[i++]);
		}
	}
	pthread_mutex_unlock(&mu);
	return buf_detach(&b);
}

void scrub_str(char **s)
{
	if (!*s || !scrub_active())
		return;
	char *t = scrub_text(*s);
	sodium_memzero(*s, strlen(*s));
	free(*s);
	*s = t;
}

void scrub_engine_str(char **s)
{
	static const char *const marks[] = {"failed to expand templated config ", "failed to expand templated secret "};
	if (!*s)
		return;
	const char *cut = NULL, *mark = NULL;
	for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
		const char *p = strstr(*s, marks[i]);
		if (p && (!cut || p < cut)) {
			cut = p;
			mark = marks[i];
		}
	}
	if (cut) {
		const char *id = cut + strlen(mark);
		char *t = xasprintf("%.*s%.*s: the template's error is withheld (it can quote secret values)",
				    (int)(id - *s), *s, (int)strcspn(id, ": \"\n"), id);
		sodium_memzero(*s, strlen(*s));
		free(*s);
		*s = t;
	}
	scrub_str(s);
}

void scrub_json(json_t *j)
{
	if (!j || !scrub_active())
		return;
	if (json_is_string(j)) {
		const char *v = json_string_value(j);
		if (strlen(v) != json_string_length(j)) {
			json_string_set(j, "(scrubbed)"); /* a NUL inside: not text */
			return;
		}
		char *t = scrub_text(v);
		if (strcmp(t, v) && json_string_set(j, t) < 0)
			json_string_set(j, "(scrubbed)");
		free(t);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *x;
		json_array_foreach(j, i, x)
			scrub_json(x);
	} else if (json_is_object(j)) {
		struct strv keys = {0};
		const char *k;
		json_t *v;
		json_object_foreach(j, k, v) {
			scrub_json(v);
			strv_push(&keys, xstrdup(k));
		}
		for (size_t i = 0; i < keys.n; i++) {
			char *t = scrub_text(keys.v[i]);
			if (strcmp(t, keys.v[i])) {
				json_t *val = json_incref(json_object_get(j, keys.v[i]));
				json_object_del(j, keys.v[i]);
				json_object_set_new(j, t, val);
			}
			free(t);
		}
		strv_free(&keys);
	}
}

void scrub_wipe(void)
{
	pthread_mutex_lock(&mu);
	for (size_t i = 0; i < nforms; i++) {
		sodium_memzero(forms[i].s, forms[i].len);
		free(forms[i].s);
	}
	free(forms);
	forms = NULL;
	nforms = aforms = 0;
	for (size_t i = 0; i < 256; i++) {
		free(bucket[i]);
		bucket[i] = NULL;
		nbucket[i] = 0;
	}
	strv_free(&labels);
	pthread_mutex_unlock(&mu);
}
