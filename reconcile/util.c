#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "scrub.h"

static void oom(size_t n)
{
	fprintf(stderr, "shoal: out of memory allocating %zu bytes\n", n);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	if (!fmt) /* never; tells gcc's -Wformat-truncation so under UBSan */
		abort();
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (n < 0)
		abort();
	char *p = xmalloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = xvasprintf(fmt, ap);
	va_end(ap);
	return p;
}

void buf_init(struct buf *b, size_t cap)
{
	b->alloc = 64;
	b->data = xmalloc(b->alloc);
	b->data[0] = 0;
	b->len = 0;
	b->cap = cap;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	b->data[0] = 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->cap && (n > b->cap || b->len > b->cap - n))
		return -1;
	if (b->len + n + 1 > b->alloc) {
		size_t a = b->alloc;
		while (b->len + n + 1 > a)
			a = a * 2;
		b->data = xrealloc(b->data, a);
		b->alloc = a;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	int r = buf_adds(b, s);
	free(s);
	return r;
}

char *buf_detach(struct buf *b)
{
	char *p = b->data;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

int read_file(const char *path, size_t cap, char **out, size_t *outlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		errno = EISDIR;
		return -1;
	}
	struct buf b;
	buf_init(&b, cap);
	char tmp[65536];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			buf_free(&b);
			errno = e;
			return -1;
		}
		if (r == 0)
			break;
		if (buf_add(&b, tmp, (size_t)r) < 0) {
			close(fd);
			buf_free(&b);
			errno = EFBIG;
			return -1;
		}
	}
	close(fd);
	if (outlen)
		*outlen = b.len;
	*out = buf_detach(&b);
	return 0;
}

/* s with its control characters written \n, \t, \r or \xHH: a file name
 * or a YAML key from the repository cannot start a line of its own (a
 * forged log line) in what is printed about it. */
static char *escape_controls(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '\n')
			buf_adds(&b, "\\n");
		else if (*p == '\t')
			buf_adds(&b, "\\t");
		else if (*p == '\r')
			buf_adds(&b, "\\r");
		else if (*p < 0x20 || *p == 0x7f)
			buf_addf(&b, "\\x%02x", *p);
		else
			buf_addc(&b, (char)*p);
	}
	return buf_detach(&b);
}

void diags_add(struct diags *d, enum diag_level lvl, const char *file, int line, int col,
	       const char *fmt, ...)
{
	if (d->n == d->alloc) {
		d->alloc = d->alloc ? d->alloc * 2 : 8;
		d->v = xrealloc(d->v, d->alloc * sizeof *d->v);
	}
	struct diag *g = &d->v[d->n++];
	g->level = lvl;
	g->file = file ? escape_controls(file) : NULL;
	g->line = line;
	g->col = col;
	va_list ap;
	va_start(ap, fmt);
	g->msg = xvasprintf(fmt, ap);
	va_end(ap);
	scrub_str(&g->msg); /* a message may quote a value that held one */
	if (file) { /* about a place in a file: one line (summaries have none) */
		char *m = escape_controls(g->msg);
		free(g->msg);
		g->msg = m;
	}
	if (lvl == DIAG_ERROR)
		d->nerrors++;
}

/* By file, line, column; messages without a file last, in their order. */
static int diag_cmp(const void *a, const void *b)
{
	const struct diag *x = *(const struct diag *const *)a, *y = *(const struct diag *const *)b;
	if (!x->file || !y->file) {
		if (x->file != y->file)
			return x->file ? -1 : 1;
	} else {
		int r = strcmp(x->file, y->file);
		if (r)
			return r;
		if (x->line != y->line)
			return x->line < y->line ? -1 : 1;
		if (x->col != y->col)
			return x->col < y->col ? -1 : 1;
	}
	return x < y ? -1 : x > y; /* stable */
}

const struct diag **diags_sorted(const struct diags *d)
{
	const struct diag **order = xcalloc(d->n ? d->n : 1, sizeof *order);
	for (size_t i = 0; i < d->n; i++)
		order[i] = &d->v[i];
	qsort(order, d->n, sizeof *order, diag_cmp);
	return order;
}

void diag_format(const struct diag *g, struct buf *out)
{
	const char *lvl = g->level == DIAG_ERROR ? "error" : "warning";
	if (g->file && g->line > 0)
		buf_addf(out, "%s:%d:%d: %s: %s", g->file, g->line, g->col, lvl, g->msg);
	else if (g->file)
		buf_addf(out, "%s: %s: %s", g->file, lvl, g->msg);
	else if (g->level == DIAG_WARN)
		buf_addf(out, "%s\n", g->msg); /* summaries, worded as docker does */
	else
		buf_addf(out, "%s: %s", lvl, g->msg);
}


/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t n;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

char *utf8_fix(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = utf8_seq(p);
		if (n) {
			buf_add(&b, p, n);
			p += n;
		} else {
			buf_adds(&b, "\xef\xbf\xbd");
			p++;
		}
	}
	return buf_detach(&b);
}

char *log_json_line(const char *ts, const char *level, const char *msg, struct json_t *fields)
{
	char *m = utf8_fix(msg), *t = utf8_fix(ts), *l = utf8_fix(level);
	json_t *f = fields ? json_incref(fields) : json_object();
	json_t *j = json_pack("{s:s, s:s, s:s, s:o}", "ts", t, "level", l, "msg", m, "fields", f);
	char *line = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(m);
	free(t);
	free(l);
	return line ? line : xstrdup("{\"ts\":\"\",\"level\":\"error\",\"msg\":\"unprintable log line\",\"fields\":{}}");
}

void diags_free(struct diags *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}

void strv_push(struct strv *s, char *owned)
{
	if (s->n == s->alloc) {
		s->alloc = s->alloc ? s->alloc * 2 : 8;
		s->v = xrealloc(s->v, s->alloc * sizeof *s->v);
	}
	s->v[s->n++] = owned;
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strv_sort(struct strv *s)
{
	if (s->n > 1)
		qsort(s->v, s->n, sizeof *s->v, cmpstr);
}

int str_has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

int str_has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

void sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, data, len);
	sodium_bin2hex(out, 65, h, sizeof h);
}

/* Integers and durations: compose values, and the agent's options.
 * Integers as Go's strconv.Atoi reads them (the CLI's cast of substituted
 * values, its port and restart parsers): an optional sign, then decimal
 * digits only.  YAML's own integers reach here already in decimal. */
int compose_parse_int(const char *s, long long *out)
{
	char *end;
	const char *d = s + (*s == '-' || *s == '+');
	if (!isdigit((unsigned char)*d))
		return -1;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Go's time.ParseDuration, in integers as Go does it: a decimal number
 * (no exponent, no hex) and a unit, repeated; overflow past int64 is an
 * error, 2562047h47m16.854775807s the largest. */
int compose_parse_duration(const char *s, long long *ns)
{
	static const struct {
		const char *u;
		unsigned long long mul;
	} units[] = {{"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
		     {"ms", 1000000}, {"s", 1000000000ULL}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};
	const unsigned long long lim = 1ULL << 63;
	const char *p = s;
	unsigned long long d = 0;
	int neg = 0;
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*p)
		return -1;
	while (*p) {
		unsigned long long v = 0, f = 0;
		double scale = 1;
		int pre = 0, post = 0, over = 0;
		if (!isdigit((unsigned char)*p) && *p != '.')
			return -1;
		for (; isdigit((unsigned char)*p); p++, pre = 1) {
			if (v > lim / 10)
				return -1;
			v = v * 10 + (unsigned long long)(*p - '0');
			if (v > lim)
				return -1;
		}
		if (*p == '.') {
			for (p++; isdigit((unsigned char)*p); p++, post = 1) {
				if (over)
					continue;
				if (f > (lim - 1) / 10) {
					over = 1;
					continue;
				}
				unsigned long long y = f * 10 + (unsigned long long)(*p - '0');
				if (y > lim) {
					over = 1;
					continue;
				}
				f = y;
				scale *= 10;
			}
		}
		if (!pre && !post)
			return -1;
		size_t ul = 0;
		while (p[ul] && p[ul] != '.' && !isdigit((unsigned char)p[ul]))
			ul++;
		if (!ul)
			return -1;
		size_t k;
		for (k = 0; k < ARRAY_SIZE(units); k++)
			if (strlen(units[k].u) == ul && !strncmp(p, units[k].u, ul))
				break;
		if (k == ARRAY_SIZE(units))
			return -1;
		p += ul;
		unsigned long long unit = units[k].mul;
		if (v > lim / unit)
			return -1;
		v *= unit;
		if (f > 0) {
			v += (unsigned long long)((double)f * ((double)unit / scale));
			if (v > lim)
				return -1;
		}
		d += v;
		if (d > lim)
			return -1;
	}
	if (neg) {
		*ns = d == lim ? LLONG_MIN : -(long long)d;
		return 0;
	}
	if (d > lim - 1)
		return -1;
	*ns = (long long)d;
	return 0;
}

char *path_join(const char *path, const char *key)
{
	size_t a = strlen(path), b = strlen(key);
	char *p = xmalloc(a + b + 2);
	memcpy(p, path, a);
	if (a)
		p[a++] = '.';
	memcpy(p + a, key, b + 1);
	return p;
}

char *path_join_index(const char *path, size_t i)
{
	char num[24];
	snprintf(num, sizeof num, "%zu", i);
	return path_join(path, num);
}

/* ---------------- Go's sort.Slice ---------------- */

/*
 * A port of pdqsort_func and its helpers from Go's sort package (the
 * variant sort.Slice runs): the same comparisons and swaps in the same
 * order, including the deterministic xorshift "random" swaps that break
 * patterns (seeded with the length of the range).  Indices are absolute
 * into v, as in Go (partialInsertionSort's inner loop stops at 1, not a).
 */
struct gosort {
	void **v;
	int (*less)(const void *, const void *, void *);
	void *ctx;
};

enum { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static int gs_less(const struct gosort *s, long i, long j)
{
	return s->less(s->v[i], s->v[j], s->ctx);
}

static void gs_swap(struct gosort *s, long i, long j)
{
	void *t = s->v[i];
	s->v[i] = s->v[j];
	s->v[j] = t;
}

static int bits_len(unsigned long x)
{
	int n = 0;
	for (; x; x >>= 1)
		n++;
	return n;
}

static void gs_insertion(struct gosort *s, long a, long b)
{
	for (long i = a + 1; i < b; i++)
		for (long j = i; j > a && gs_less(s, j, j - 1); j--)
			gs_swap(s, j, j - 1);
}

static void gs_sift_down(struct gosort *s, long lo, long hi, long first)
{
	long root = lo;
	for (;;) {
		long child = 2 * root + 1;
		if (child >= hi)
			return;
		if (child + 1 < hi && gs_less(s, first + child, first + child + 1))
			child++;
		if (!gs_less(s, first + root, first + child))
			return;
		gs_swap(s, first + root, first + child);
		root = child;
	}
}

static void gs_heap(struct gosort *s, long a, long b)
{
	long first = a, hi = b - a;
	for (long i = (hi - 1) / 2; i >= 0; i--)
		gs_sift_down(s, i, hi, first);
	for (long i = hi - 1; i >= 0; i--) {
		gs_swap(s, first, first + i);
		gs_sift_down(s, 0, i, first);
	}
}

static long gs_partition(struct gosort *s, long a, long b, long pivot, int *already)
{
	gs_swap(s, a, pivot);
	long i = a + 1, j = b - 1;
	while (i <= j && gs_less(s, i, a))
		i++;
	while (i <= j && !gs_less(s, j, a))
		j--;
	if (i > j) {
		gs_swap(s, j, a);
		*already = 1;
		return j;
	}
	gs_swap(s, i, j);
	i++;
	j--;
	for (;;) {
		while (i <= j && gs_less(s, i, a))
			i++;
		while (i <= j && !gs_less(s, j, a))
			j--;
		if (i > j)
			break;
		gs_swap(s, i, j);
		i++;
		j--;
	}
	gs_swap(s, j, a);
	*already = 0;
	return j;
}

static long gs_partition_equal(struct gosort *s, long a, long b, long pivot)
{
	gs_swap(s, a, pivot);
	long i = a + 1, j = b - 1;
	for (;;) {
		while (i <= j && !gs_less(s, a, i))
			i++;
		while (i <= j && gs_less(s, a, j))
			j--;
		if (i > j)
			break;
		gs_swap(s, i, j);
		i++;
		j--;
	}
	return i;
}

static int gs_partial_insertion(struct gosort *s, long a, long b)
{
	long i = a + 1;
	for (int step = 0; step < 5; step++) {
		while (i < b && !gs_less(s, i, i - 1))
			i++;
		if (i == b)
			return 1;
		if (b - a < 50)
			return 0;
		gs_swap(s, i, i - 1);
		if (i - a >= 2)
			for (long j = i - 1; j >= 1; j--) {
				if (!gs_less(s, j, j - 1))
					break;
				gs_swap(s, j, j - 1);
			}
		if (b - i >= 2)
			for (long j = i + 1; j < b; j++) {
				if (!gs_less(s, j, j - 1))
					break;
				gs_swap(s, j, j - 1);
			}
	}
	return 0;
}

static void gs_break_patterns(struct gosort *s, long a, long b)
{
	long length = b - a;
	if (length < 8)
		return;
	unsigned long long r = (unsigned long long)length;
	unsigned long modulus = 1UL << bits_len((unsigned long)length);
	for (long idx = a + (length / 4) * 2 - 1; idx <= a + (length / 4) * 2 + 1; idx++) {
		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		long other = (long)((unsigned long)r & (modulus - 1));
		if (other >= length)
			other -= length;
		gs_swap(s, idx, a + other);
	}
}

static void gs_order2(struct gosort *s, long *a, long *b, int *swaps)
{
	if (gs_less(s, *b, *a)) {
		long t = *a;
		*a = *b;
		*b = t;
		(*swaps)++;
	}
}

static long gs_median(struct gosort *s, long a, long b, long c, int *swaps)
{
	gs_order2(s, &a, &b, swaps);
	gs_order2(s, &b, &c, swaps);
	gs_order2(s, &a, &b, swaps);
	return b;
}

static long gs_choose_pivot(struct gosort *s, long a, long b, int *hint)
{
	long l = b - a;
	int swaps = 0;
	long i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;
	if (l >= 8) {
		if (l >= 50) { /* Tukey's ninther */
			i = gs_median(s, i - 1, i, i + 1, &swaps);
			j = gs_median(s, j - 1, j, j + 1, &swaps);
			k = gs_median(s, k - 1, k, k + 1, &swaps);
		}
		j = gs_median(s, i, j, k, &swaps);
	}
	*hint = swaps == 0 ? HINT_INCREASING : swaps == 12 ? HINT_DECREASING : HINT_UNKNOWN;
	return j;
}

static void gs_pdqsort(struct gosort *s, long a, long b, int limit)
{
	int balanced = 1, partitioned = 1;
	for (;;) {
		long length = b - a;
		if (length <= 12) {
			gs_insertion(s, a, b);
			return;
		}
		if (limit == 0) {
			gs_heap(s, a, b);
			return;
		}
		if (!balanced) {
			gs_break_patterns(s, a, b);
			limit--;
		}
		int hint;
		long pivot = gs_choose_pivot(s, a, b, &hint);
		if (hint == HINT_DECREASING) {
			for (long i = a, j = b - 1; i < j; i++, j--)
				gs_swap(s, i, j);
			pivot = (b - 1) - (pivot - a);
			hint = HINT_INCREASING;
		}
		if (balanced && partitioned && hint == HINT_INCREASING && gs_partial_insertion(s, a, b))
			return;
		if (a > 0 && !gs_less(s, a - 1, pivot)) {
			a = gs_partition_equal(s, a, b, pivot);
			continue;
		}
		long mid = gs_partition(s, a, b, pivot, &partitioned);
		long left = mid - a, right = b - mid, threshold = length / 8;
		if (left < right) {
			balanced = left >= threshold;
			gs_pdqsort(s, a, mid, limit);
			a = mid + 1;
		} else {
			balanced = right >= threshold;
			gs_pdqsort(s, mid + 1, b, limit);
			b = mid;
		}
	}
}

void go_sort_slice(void **v, size_t n, int (*less)(const void *a, const void *b, void *ctx), void *ctx)
{
	struct gosort s = {v, less, ctx};
	gs_pdqsort(&s, 0, (long)n, bits_len(n));
}
