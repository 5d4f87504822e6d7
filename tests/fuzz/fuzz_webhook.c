/*
 * The webhook check with hostile headers and bodies.  Input: header lines
 * "Name: value" up to an empty line, then the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../agent/webhook.h"
#include "../../reconcile/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = xstrndup((const char *)data, size); /* headers end at a NUL too */
	struct webhook_headers h = {0};
	char *p = in, *body = NULL;
	while (*p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (!*p) {
			body = nl ? nl + 1 : p;
			break;
		}
		char *colon = strchr(p, ':');
		if (colon) {
			*colon = 0;
			char *v = colon + 1 + (colon[1] == ' ');
			if (!strcasecmp(p, "X-Hub-Signature-256"))
				h.hub_sha256 = v;
			else if (!strcasecmp(p, "X-Gitea-Signature"))
				h.gitea = v;
			else if (!strcasecmp(p, "X-Forgejo-Signature"))
				h.forgejo = v;
			else if (!strcasecmp(p, "X-Gitlab-Token"))
				h.gitlab_token = v;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	size_t off = body ? (size_t)(body - in) : size;
	if (off > size)
		off = size;
	/* the body as received: binary, not NUL-terminated */
	webhook_verify("fuzz-s3cret", &h, (const char *)data + off, size - off);
	free(in);
	return 0;
}
