/*
 * log.c - messages for a person (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "apply.h"
#include "log.h"
#include "scrub.h"

void diags_print(const struct diags *d)
{
	const struct diag **order = diags_sorted(d);
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *g = order[i];
		const char *lvl = g->level == DIAG_ERROR ? "error" : "warning";
		if (say_hook) {
			char line[16], col[16];
			snprintf(line, sizeof line, "%d", g->line);
			snprintf(col, sizeof col, "%d", g->col);
			const char *f[] = {"file", g->file, "line", line, "column", col, NULL};
			if (!g->file || g->line <= 0)
				f[g->file ? 2 : 0] = NULL;
			say_hook(lvl, f, g->msg);
			continue;
		}
		buf_reset(&b);
		diag_format(g, &b);
		fprintf(stderr, "%s\n", b.data);
	}
	buf_free(&b);
	free(order);
}

say_fn say_hook;

void say(FILE *to, const char *level, const char *const *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	if (say_hook) {
		size_t n = strlen(m);
		while (n && m[n - 1] == '\n')
			m[--n] = 0;
		const char *t = str_has_prefix(m, "shoal: ") ? m + 7 : m;
		say_hook(level, fields, str_has_prefix(t, "warning: ") ? t + 9 : t);
	} else {
		fprintf(to, "%s\n", m);
	}
	free(m);
}

void log_apply(void *ctx, const struct apply_event *ev)
{
	static const char *kinds[] = {"network", "secret", "config", "service"};
	const struct op *o = ev->op;
	(void)ctx;
	if (ev->kind == APPLY_RETRY) {
		say(stderr, "warning", NULL, "shoal: %s: %s; retrying in %.2g s", ev->what, ev->err, ev->delay);
		return;
	}
	if (ev->kind == APPLY_STALE) {
		const char *f[] = {"kind", "service", "name", o->name, NULL};
		say(stderr, "warning", f, "shoal: service %s: %s; retrying with a fresh version", o->name, ev->err);
		return;
	}
	const char *op = o->op == OP_CREATE ? "create" : o->op == OP_UPDATE ? "update" : "remove";
	const char *f[] = {"op", op, "kind", kinds[o->kind], "name", o->name, "stack", o->stack, NULL};
	if (ev->kind == APPLY_DONE)
		say(stdout, "info", f, "%s %s %s", o->op == OP_CREATE ? "Created" : o->op == OP_UPDATE ? "Updated" : "Removed",
		    kinds[o->kind], o->name);
	else
		say(stderr, "error", f, "shoal: stack %s: %s %s %s: %s", o->stack, op, kinds[o->kind], o->name, ev->err);
}

const struct apply_report log_apply_report = {.fn = log_apply};

static const char *log_fmt = "human";

int log_is_json(void)
{
	return !strcmp(log_fmt, "json");
}

static void log_emit(const char *level, json_t *fields, const char *msg)
{
	/* The one door every log line leaves by: no plaintext passes it. */
	char *m = scrub_text(msg);
	if (fields)
		scrub_json(fields);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct tm tm;
	gmtime_r(&now.tv_sec, &tm);
	char ts[40];
	if (log_is_json()) {
		size_t n = strftime(ts, sizeof ts - 6, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(now.tv_nsec / 1000000) % 1000);
		char *line = log_json_line(ts, level, m, fields);
		fprintf(stderr, "%s\n", line);
		free(line);
	} else {
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		fprintf(stderr, "%s %s %s\n", ts, level, m);
	}
	json_decref(fields);
	free(m);
}

void logmsgf(const char *level, json_t *fields, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	log_emit(level, fields, m);
	free(m);
}

/* say_hook with --log-format json: the library's messages (each apply
 * operation, retries, diagnostics) as log lines with their fields. */
static void say_json(const char *level, const char *const *fields, const char *msg)
{
	json_t *f = json_object();
	for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
		char *v = utf8_fix(fields[i + 1]);
		json_object_set_new(f, fields[i], json_string(v));
		free(v);
	}
	log_emit(level, f, msg);
}

void log_set_format(const char *fmt)
{
	log_fmt = fmt && !strcmp(fmt, "json") ? "json" : "human";
	say_hook = log_is_json() ? say_json : NULL;
}
