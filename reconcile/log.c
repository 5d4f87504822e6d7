/*
 * log.c - messages for a person (log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "log.h"

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
