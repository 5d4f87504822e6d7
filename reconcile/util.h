/*
 * util.h - allocation wrappers, a bounded growable buffer and diagnostics.
 *
 * Out-of-memory policy: the x* wrappers abort.  Nothing else in shoal checks
 * for a NULL from an allocator.
 */
#ifndef SHOAL_UTIL_H
#define SHOAL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct json_t;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "path.key", or "key" when path is empty; path_join_index: "path.I".
 * Made for every node a check or a diff walks, so without printf. */
char *path_join(const char *path, const char *key);
char *path_join_index(const char *path, size_t i);
char *xvasprintf(const char *fmt, va_list ap);

/*
 * struct buf: a NUL-terminated growable byte buffer.
 * Invariants: data is never NULL after buf_init; data[len] == 0;
 * len < alloc.  cap (0 = unlimited) bounds len: an append past it fails
 * with -1 and leaves the buffer unchanged.
 */
struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;
};

void buf_init(struct buf *b, size_t cap);
void buf_free(struct buf *b);
int buf_add(struct buf *b, const void *p, size_t n);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *buf_detach(struct buf *b);
void buf_reset(struct buf *b);

/* Read a whole file, at most cap bytes.  -1 with errno set on failure,
 * errno EFBIG when the file is larger than cap. */
int read_file(const char *path, size_t cap, char **out, size_t *outlen);

/*
 * Diagnostics: errors and warnings with a source position, collected so
 * that one run reports every problem at once.
 */
enum diag_level { DIAG_WARN, DIAG_ERROR };

struct diag {
	enum diag_level level;
	char *file; /* may be NULL */
	int line, col;
	char *msg;
};

struct diags {
	struct diag *v;
	size_t n, alloc;
	size_t nerrors;
};

void diags_add(struct diags *d, enum diag_level lvl, const char *file, int line, int col,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* d's diagnostics in the order diags_print (log.h) shows them: by file, line,
 * column (caller frees the array, not the diagnostics). */
const struct diag **diags_sorted(const struct diags *d);
/* One diagnostic as diags_print shows it ("file:line:col: error: msg"),
 * without the final newline. */
void diag_format(const struct diag *g, struct buf *out);
void diags_free(struct diags *d);


/* s as valid UTF-8: each byte of an invalid sequence becomes U+FFFD
 * (caller frees). */
char *utf8_fix(const char *s);
/* One JSON log line, without its newline: {"ts", "level", "msg",
 * "fields"}, every string valid UTF-8 and control characters escaped, so
 * a line is always one parseable object.  fields (borrowed) may be NULL. */
char *log_json_line(const char *ts, const char *level, const char *msg, struct json_t *fields);

/* Small string vector. */
struct strv {
	char **v;
	size_t n, alloc;
};
void strv_push(struct strv *s, char *owned);
void strv_free(struct strv *s);
void strv_sort(struct strv *s);

int str_has_prefix(const char *s, const char *prefix);
int str_has_suffix(const char *s, const char *suffix);

/* Hex SHA-256 of data (64 chars + NUL into out). */
void sha256_hex(const void *data, size_t len, char out[65]);

/*
 * Go's sort.Slice (Go 1.19 and later: pattern-defeating quicksort, not
 * stable) over an array of pointers, step for step, so that elements the
 * order calls equal end up where the docker CLI (built with Go 1.24) puts
 * them.  less(a, b, ctx): a sorts before b.
 */
void go_sort_slice(void **v, size_t n, int (*less)(const void *a, const void *b, void *ctx), void *ctx);

/* Go's strconv.Atoi (decimal, optional sign); Go's time.ParseDuration, in ns. */
int compose_parse_int(const char *s, long long *out);
int compose_parse_duration(const char *s, long long *ns);

#endif
