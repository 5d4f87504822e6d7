/*
 * notify.c - the agent's notifications: one Slack-compatible POST
 * ({"text", "repo", "branch"}) to --notify-url, scrubbed, best effort.
 */
#include <curl/curl.h>

#include "../reconcile/scrub.h"
#include "agent.h"
#include "cycle.h"

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
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, ag->notify_url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		logmsg("warning", "notification to %s failed: %s", ag->notify_url, curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(body);
}
