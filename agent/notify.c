/*
 * notify.c - what the agent tells the outside about a commit, each best
 * effort and scrubbed: a Slack-compatible POST ({"text", "repo",
 * "branch"}) to --notify-url; the same as signed JSON to --notify-webhook;
 * the commit status on the forge (--forge).
 */
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "../forge/forge.h"
#include "../reconcile/log.h"
#include "../reconcile/scrub.h"
#include "agent.h"
#include "cycle.h"

/* What a log may say of a notification URL: scheme and host, never the
 * path or query (a Slack-style incoming webhook's path is its secret). */
static char *url_origin(const char *url)
{
	const char *sep = strstr(url, "://");
	size_t scheme = sep ? (size_t)(sep + 3 - url) : 0;
	const char *h = url + scheme, *end = h + strcspn(h, "/?#"), *at = memchr(h, '@', (size_t)(end - h));
	if (at) /* user:password@ goes too */
		h = at + 1;
	return xasprintf("%.*s%.*s", (int)scheme, url, (int)(end - h), h);
}

/* POST a JSON body (and one more header line, or NULL) to url; best
 * effort: a failure or an answer other than 2xx is logged (by origin). */
static void post_json(const char *url, const char *body, const char *header)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (header)
		h = curl_slist_append(h, header);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	char *o = url_origin(url);
	if (rc != CURLE_OK)
		logmsg("warning", "notification to %s failed: %s", o, curl_easy_strerror(rc));
	else if (code >= 300)
		logmsg("warning", "notification to %s answered HTTP %ld", o, code);
	free(o);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
}

/* POST {"text": ...} (Slack-compatible) to --notify-url; best effort. */
void notify(struct agent *ag, const char *text)
{
	if (!ag->notify_url)
		return;
	char *said = scrub_text(text);
	json_t *j = json_pack("{s:s, s:s, s:s}", "text", said, "repo", ag->url, "branch", ag->branch);
	free(said);
	char *body = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	post_json(ag->notify_url, body, NULL);
	free(body);
}

/* The commit status on the forge (--forge): text scrubbed, cut to the
 * forge's limit, through the forge client `shoal review` uses.  Best
 * effort: a failure is logged. */
void forge_status(struct agent *ag, const char *commit, enum forge_state st, const char *text)
{
	if (!ag->forge || !ag->forge_token)
		return;
	struct forge f = {0};
	if (forge_kind_parse(ag->forge, &f.kind) < 0)
		return;
	f.api = ag->forge_api;
	f.repo = ag->forge_repo;
	f.token = ag->forge_token;
	f.timeout = 10;
	char *said = scrub_text(text), *desc = forge_description(said), *err = NULL;
	json_t *fields = json_pack("{s:s, s:s}", "commit", commit, "state", forge_state_name(f.kind, st));
	if (forge_status_set(&f, commit, st, ag->forge_context, desc, NULL, &err) < 0) {
		scrub_str(&err);
		logmsgf("warning", fields, "commit %.12s: cannot set its status on %s: %s", commit, ag->forge,
			err ? err : "error");
	} else {
		logmsgf("info", fields, "commit %.12s: status %s on %s (%s)", commit, forge_state_name(f.kind, st),
			ag->forge, ag->forge_context);
	}
	free(err);
	free(said);
	free(desc);
}

/* The hex HMAC-SHA256 of body under key (hex: 65 bytes). */
static void hmac_hex(const char *key, const char *body, char hex[2 * crypto_auth_hmacsha256_BYTES + 1])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state hs;
	crypto_auth_hmacsha256_init(&hs, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&hs, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&hs, mac);
	sodium_memzero(&hs, sizeof hs);
	sodium_bin2hex(hex, 2 * sizeof mac + 1, mac, sizeof mac);
}

/* --notify-webhook: {"repo", "branch", "commit", "outcome", "stacks",
 * "errors", "rolled_back_to"} as JSON, signed with HMAC-SHA256 under the
 * --notify-secret-file key (X-Shoal-Signature: sha256=HEX of the body).
 * Every text scrubbed.  Best effort. */
void notify_signed(struct agent *ag, const char *commit, const char *outcome, const struct strv *stacks,
		   const struct strv *errors, const char *rolled_back_to)
{
	if (!ag->notify_webhook || !ag->notify_secret)
		return;
	json_t *names = json_array(), *errs = json_array();
	for (size_t i = 0; stacks && i < stacks->n; i++)
		json_array_append_new(names, json_string(stacks->v[i]));
	for (size_t i = 0; errors && i < errors->n && i < HISTORY_ERRORS; i++)
		json_array_append_new(errs, json_string(errors->v[i]));
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:I}", "repo", ag->url, "branch", ag->branch, "commit",
			      commit, "outcome", outcome, "stacks", names, "errors", errs, "error_count",
			      (json_int_t)(errors ? errors->n : 0));
	json_object_set_new(j, "rolled_back_to", rolled_back_to ? json_string(rolled_back_to) : json_null());
	scrub_json(j);
	char *body = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
	hmac_hex(ag->notify_secret, body, hex);
	char *sig = xasprintf("X-Shoal-Signature: sha256=%s", hex);
	post_json(ag->notify_webhook, body, sig);
	free(sig);
	free(body);
}
