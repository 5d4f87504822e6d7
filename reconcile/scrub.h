/*
 * scrub.h - keep the plaintexts a process knows out of every text it shows.
 *
 * The contract:
 *  - whoever opens or reads a plaintext (a sealed value, a secret or config
 *    file's content, a token) registers it with scrub_add before any text
 *    that could carry it is made;
 *  - every text that comes from outside the process's own words (engine
 *    error messages, task and update status messages) is scrubbed where it
 *    enters (docker_call, the agent's convergence checks), and every text
 *    shown is scrubbed where it leaves (diagnostics, plans, log lines,
 *    /status, notifications): a registered plaintext is replaced by its
 *    label, e.g. "(sealed 1a2b3c4d5e6f)";
 *  - scrub_wipe zeroes and forgets them all (at exit, at the end of an
 *    agent cycle).
 *
 * Each plaintext is matched as it is and in the forms an engine message
 * could quote it in: without its trailing newline, Go's %q quoting and JSON
 * string escaping, base64, the template-literal form of convert.c, and,
 * with SCRUB_LINES, each of its lines.  Forms shorter than SCRUB_MIN bytes
 * are not registered: "1" or "yes" would match everywhere and turn every
 * message into noise.  So a sealed value shorter than that is refused where
 * the engine could echo it (environment values, repo.c); a secret file that
 * short is delivered as it is (the engine never quotes secret data).
 * Matching is leftmost-longest, in one pass.  Thread-safe.
 */
#ifndef SHOAL_SCRUB_H
#define SHOAL_SCRUB_H

#include <stddef.h>

#include <jansson.h>

#define SCRUB_MIN 4

enum { SCRUB_LINES = 1 }; /* also each line of a multi-line text */

/* Register p (len bytes, copied) to be shown as label. */
void scrub_add(const void *p, size_t len, const char *label, int flags);
/* An opened sealed value, labelled "(sealed FP)" as plans show it: FP its
 * fingerprint keyed with rkey (seal_redact_key; NULL: no fingerprint). */
void scrub_add_sealed(const unsigned char *rkey, const void *p, size_t len);
/* From now on register nothing: for a process whose every output is made
 * of its repository's text and nothing from an engine (plan --base/--head
 * with the key), where scrubbing would be an oracle: a guess written in the
 * repository would come out as "(sealed …)" when right.  Sealed values are
 * still redacted there by their keys (plan_redact_changes). */
void scrub_author_only(void);
/* 1 when anything is registered. */
int scrub_active(void);
/* s with every registered form replaced by its label (caller frees;
 * NULL for NULL). */
char *scrub_text(const char *s);
/* *s (heap, NUL-terminated) replaced by its scrubbed copy; the old one is
 * wiped and freed. */
void scrub_str(char **s);
/* A text from the engine or a task (an error, a status message), *s
 * replaced as scrub_str does, and first, whatever it registered or not:
 * the error of a config or secret template the node could not expand is
 * cut after "failed to expand templated config|secret ID".  A template
 * reads the task's environment and secrets (env, secret) and can turn
 * them into any text before it fails ({{ secret (slice (env "PW") 1) }},
 * printf "%x", a byte as an index out of range): no scrubbing by value
 * can catch that, and external secrets are not even known here. */
void scrub_engine_str(char **s);
/* Every string and object key in j, in place. */
void scrub_json(json_t *j);
/* Zero and forget every registered plaintext. */
void scrub_wipe(void);

/* "{{" written so that Go's text/template prints it as it is: the form an
 * environment value holding a sealed value is sent in (convert.c); a new
 * string the caller frees. */
char *scrub_template_literal(const char *s);

#endif
