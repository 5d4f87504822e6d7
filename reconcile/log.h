/*
 * log.h - the one place messages leave a program: the command line's text
 * on stdout and stderr, the agent's text or JSON log lines (the agent sets
 * say_hook).  Library code (reconcile/, bootstrap/) does not print: it
 * returns diagnostics (util.h's struct diags) and results, and reports
 * progress through callbacks (apply.h's struct apply_report) that the
 * programs point here.
 */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H

#include <stdio.h>

#include <jansson.h>

#include "util.h"

struct apply_event;
struct apply_report;

/*
 * Messages for a person that are not diagnostics (progress, retries,
 * refusals): say() prints the text and a newline on the stream given,
 * unless a program routes messages elsewhere (say_hook: the agent's JSON
 * log, which gets the text without a leading "shoal: " or "warning: ").  fields:
 * NULL-terminated name/value pairs for the hook, or NULL; the text stands
 * alone without them.
 */
typedef void (*say_fn)(const char *level, const char *const *fields, const char *msg);
extern say_fn say_hook;
void say(FILE *to, const char *level, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Log lines of a long-lived process (the agent): on stderr, "TIME LEVEL
 * MESSAGE", or with log_set_format("json") a JSON object {"ts", "level",
 * "msg", "fields"}, which also routes say() here (say_hook).  logmsgf:
 * with fields (a JSON object, stolen; NULL for none), shown in JSON only.
 * Every line is scrubbed of registered plaintexts (scrub.h).
 */
void logmsgf(const char *level, json_t *fields, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#define logmsg(level, ...) logmsgf((level), NULL, __VA_ARGS__)
void log_set_format(const char *fmt); /* "json", or anything else: text */
int log_is_json(void);

/* Diagnostics sorted by position, "file:line:col: error: msg", on stderr;
 * through say_hook when set. */
void diags_print(const struct diags *d);

/* An apply_report (apply.h) showing each outcome: "Created service NAME"
 * on stdout, failures and retries on stderr; ctx unused. */
void log_apply(void *ctx, const struct apply_event *ev);
extern const struct apply_report log_apply_report;

#endif
