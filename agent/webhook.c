/*
 * webhook.c - the webhook signature check (webhook.h), apart from the
 * HTTP server so that it can be tested and fuzzed alone.
 */
#include <string.h>

#include <sodium.h>

#include "../reconcile/util.h"
#include "webhook.h"

/* hex names exactly the n bytes of mac */
static int hex_eq(const char *hex, const unsigned char *mac, size_t n)
{
	unsigned char got[64];
	size_t gl;
	if (!hex || sodium_hex2bin(got, sizeof got, hex, strlen(hex), NULL, &gl, NULL) != 0 || gl != n)
		return 0;
	return sodium_memcmp(got, mac, n) == 0;
}

int webhook_verify(const char *secret, const struct webhook_headers *h, const char *body, size_t len)
{
	if (!secret || !*secret)
		return 0;
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	if (h->hub_sha256 && str_has_prefix(h->hub_sha256, "sha256="))
		return hex_eq(h->hub_sha256 + 7, mac, sizeof mac);
	const char *gt = h->gitea ? h->gitea : h->forgejo;
	if (gt)
		return hex_eq(gt, mac, sizeof mac);
	if (h->gitlab_token) {
		/* compare digests: equal length, constant time */
		unsigned char ha[32], hb[32];
		crypto_generichash(ha, 32, (const unsigned char *)h->gitlab_token, strlen(h->gitlab_token), NULL, 0);
		crypto_generichash(hb, 32, (const unsigned char *)secret, strlen(secret), NULL, 0);
		return sodium_memcmp(ha, hb, 32) == 0;
	}
	return 0;
}
