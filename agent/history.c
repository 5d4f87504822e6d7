/*
 * history.c - what became of each commit: the agent's last HISTORY_MAX
 * outcomes, newest first (agent.h, struct agent's history), each with its
 * operations, timings and first errors.  /status serves them, `shoal
 * status` shows them, and the lease (lease.c) keeps them in the swarm, so
 * that a restarted agent or the standby that takes over knows a commit
 * failed rather than finding nothing left to do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "cycle.h"

json_t *history_entry(const char *commit, const char *outcome, double started)
{
	double now = now_wall();
	return json_pack("{s:s, s:s, s:i, s:[], s:f, s:f, s:f, s:[], s:i}", "commit", commit, "outcome", outcome,
			 "operations", 0, "ops", "started", started ? started : now, "finished", now, "seconds",
			 started ? now - started : 0.0, "errors", "error_count", 0);
}

void history_errors(json_t *e, const struct strv *errs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < errs->n && i < HISTORY_ERRORS; i++) {
		char *s = strlen(errs->v[i]) > 500 ? xasprintf("%.497s...", errs->v[i]) : xstrdup(errs->v[i]);
		char *u = utf8_fix(s); /* a character the cut split, any byte that is not UTF-8 */
		json_array_append_new(a, json_string(u));
		free(u);
		free(s);
	}
	json_object_set_new(e, "errors", a);
	json_object_set_new(e, "error_count", json_integer((json_int_t)errs->n));
}

void history_add(struct agent *ag, json_t *e)
{
	pthread_mutex_lock(&ag->mu);
	json_t *h = json_array();
	json_array_append_new(h, e);
	size_t i;
	json_t *x;
	json_array_foreach(ag->history, i, x)
		if (json_array_size(h) < HISTORY_MAX)
			json_array_append(h, x);
	json_decref(ag->history);
	ag->history = h;
	pthread_mutex_unlock(&ag->mu);
}

json_t *history_find(struct agent *ag, const char *commit)
{
	size_t i;
	json_t *x;
	json_array_foreach(ag->history, i, x)
		if (!strcmp(json_string_value(json_object_get(x, "commit")) ?: "", commit))
			return x;
	return NULL;
}

int history_failed(const json_t *e)
{
	const char *o = json_string_value(json_object_get(e, "outcome"));
	return o && (!strcmp(o, "failed") || !strcmp(o, "rolled back") || !strcmp(o, "invalid"));
}

char *history_errors_text(const struct strv *errs)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < errs->n && i < HISTORY_ERRORS; i++)
		buf_addf(&b, "%s%s", i ? "; " : "", errs->v[i]);
	if (errs->n > HISTORY_ERRORS)
		buf_addf(&b, " (and %zu more: %zu error%s in all)", errs->n - HISTORY_ERRORS, errs->n,
			 errs->n == 1 ? "" : "s");
	return buf_detach(&b);
}
