#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../agent/webhook.h"

/* HMAC-SHA256("s3cret", body) as lowercase hex */
static void sign(const char *body, char hex[65])
{
	unsigned char mac[32];
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)"s3cret", 6);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(hex, 65, mac, 32);
}

static int ok(const struct webhook_headers *h, const char *body)
{
	return webhook_verify("s3cret", h, body, strlen(body));
}

static void test_forms(void **state)
{
	(void)state;
	const char *body = "{\"ref\":\"refs/heads/main\"}";
	char hex[65], gh[80];
	sign(body, hex);
	snprintf(gh, sizeof gh, "sha256=%s", hex);
	assert_true(ok(&(struct webhook_headers){.hub_sha256 = gh}, body));
	assert_true(ok(&(struct webhook_headers){.gitea = hex}, body));
	assert_true(ok(&(struct webhook_headers){.forgejo = hex}, body));
	assert_true(ok(&(struct webhook_headers){.gitlab_token = "s3cret"}, body));
	/* another body, another secret, nothing at all */
	assert_false(ok(&(struct webhook_headers){.hub_sha256 = gh}, "{}"));
	assert_false(webhook_verify("other", &(struct webhook_headers){.gitea = hex}, body, strlen(body)));
	assert_false(ok(&(struct webhook_headers){.gitlab_token = "s3cre"}, body));
	assert_false(ok(&(struct webhook_headers){0}, body));
	/* no secret configured: nothing verifies, not even an empty token */
	assert_false(webhook_verify("", &(struct webhook_headers){.gitlab_token = ""}, body, strlen(body)));
}

static void test_malformed(void **state)
{
	(void)state;
	const char *body = "x";
	char hex[65], longer[140];
	sign(body, hex);
	/* truncated, extended, uppercase-free garbage, a prefix other than sha256= */
	char trunc[65];
	memcpy(trunc, hex, 62);
	trunc[62] = 0;
	assert_false(ok(&(struct webhook_headers){.gitea = trunc}, body));
	snprintf(longer, sizeof longer, "%s%s", hex, hex);
	assert_false(ok(&(struct webhook_headers){.gitea = longer}, body));
	assert_false(ok(&(struct webhook_headers){.gitea = "zz"}, body));
	char sha1[80];
	snprintf(sha1, sizeof sha1, "sha1=%s", hex);
	assert_false(ok(&(struct webhook_headers){.hub_sha256 = sha1}, body));
	assert_false(ok(&(struct webhook_headers){.hub_sha256 = "sha256="}, body));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
