#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../reconcile/scrub.h"
#include "../../reconcile/util.h"

static void scrubs_to(const char *in, const char *want)
{
	char *t = scrub_text(in);
	assert_string_equal(t, want);
	free(t);
}

static int wipe(void **state)
{
	(void)state;
	scrub_wipe();
	return 0;
}

static void test_nothing_registered(void **state)
{
	(void)state;
	assert_int_equal(scrub_active(), 0);
	scrubs_to("task rejected: PLAINTEXT-canary-7f3a", "task rejected: PLAINTEXT-canary-7f3a");
	assert_null(scrub_text(NULL));
}

static void test_plain_and_quoted(void **state)
{
	(void)state;
	const char *pw = "PLAIN\"TEXT\n\\canary\x01-7f3a\xc3\xa9\xff";
	scrub_add(pw, strlen(pw), "(sealed 1a2b3c4d5e6f)", 0);
	assert_int_equal(scrub_active(), 1);
	/* as it is, at the start, the end, twice */
	char *in = xasprintf("%s and %s", pw, pw);
	scrubs_to(in, "(sealed 1a2b3c4d5e6f) and (sealed 1a2b3c4d5e6f)");
	free(in);
	/* as Go's %q writes it (the engine's "expanding env %q") */
	scrubs_to("expanding env \"A=PLAIN\\\"TEXT\\n\\\\canary\\x01-7f3a\xc3\xa9\\xff\" failed",
		  "expanding env \"A=(sealed 1a2b3c4d5e6f)\" failed");
	/* as JSON escapes it */
	scrubs_to("{\"Err\":\"PLAIN\\\"TEXT\\n\\\\canary\\u0001-7f3a\xc3\xa9\xff\"}", "{\"Err\":\"(sealed 1a2b3c4d5e6f)\"}");
	/* a part of it is not it */
	scrubs_to("PLAIN\"TEXT", "PLAIN\"TEXT");
}

static void test_trailing_newline_base64_lines(void **state)
{
	(void)state;
	const char *key = "-----BEGIN KEY-----\r\nMIIBOgIBAAJBAKj34GkxFhD9\r\n-----END KEY-----\n";
	scrub_add(key, strlen(key), "(secret tls_key)", SCRUB_LINES);
	const char *tok = "ghp_token1234\n";
	scrub_add(tok, strlen(tok), "(token)", 0);
	/* a file's content quoted without its newline */
	scrubs_to("auth ghp_token1234 refused", "auth (token) refused");
	/* base64, as a secret's Data */
	scrubs_to("data Z2hwX3Rva2VuMTIzNAo= and Z2hwX3Rva2VuMTIzNA==", "data (token) and (token)");
	/* one line of a multi-line secret */
	scrubs_to("bad line MIIBOgIBAAJBAKj34GkxFhD9 here", "bad line (secret tls_key) here");
	/* without SCRUB_LINES, lines are not taken apart */
	const char *two = "first-line\nsecond-line\n";
	scrub_add(two, strlen(two), "(config app)", 0);
	scrubs_to("second-line", "second-line");
	scrubs_to("x first-line\nsecond-line y", "x (config app) y");
}

static void test_short_and_longest(void **state)
{
	(void)state;
	scrub_add("abc", 3, "(sealed short)", 0);
	scrub_add("abc\n", 4, "(sealed short)", 0); /* 3 without its newline */
	assert_int_equal(scrub_active(), 1);	   /* "abc\n" itself */
	scrubs_to("abc abcd", "abc abcd");
	scrub_add("s3cret", 6, "(sealed one)", 0);
	scrub_add("s3cret-and-more", 15, "(sealed two)", 0);
	/* leftmost, then longest */
	scrubs_to("xs3cret-and-more s3cret-and s3cret", "x(sealed two) (sealed one)-and (sealed one)");
	/* a label is not scrubbed again */
	scrub_add("sealed", 6, "(sealed three)", 0);
	scrubs_to("s3cret", "(sealed one)");
}

static void test_template_literal(void **state)
{
	(void)state;
	char *t = scrub_template_literal("no braces {here}");
	assert_string_equal(t, "no braces {here}");
	free(t);
	t = scrub_template_literal("a{{b}}c");
	assert_string_equal(t, "a{{\"{{\"}}b}}c");
	free(t);
	t = scrub_template_literal("{{{");
	assert_string_equal(t, "{{\"{{\"}}{");
	free(t);
	t = scrub_template_literal("{{{{");
	assert_string_equal(t, "{{\"{{\"}}{{\"{{\"}}");
	free(t);
	/* the form a sealed value holding {{ is sent in is scrubbed too */
	scrub_add("pa{{ss}}word", 12, "(sealed tmpl)", 0);
	scrubs_to("A=pa{{\"{{\"}}ss}}word", "A=(sealed tmpl)");
}

static void test_json(void **state)
{
	(void)state;
	scrub_add("PLAINTEXT-canary-7f3a", 21, "(sealed 0011)", 0);
	json_t *j = json_pack("{s:s, s:[s, i], s:{s:s}}", "error", "task rejected: PLAINTEXT-canary-7f3a", "list",
			      "x PLAINTEXT-canary-7f3a", 3, "nested", "PLAINTEXT-canary-7f3a", "v");
	scrub_json(j);
	char *s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"error\":\"task rejected: (sealed 0011)\",\"list\":[\"x (sealed 0011)\",3],"
			       "\"nested\":{\"(sealed 0011)\":\"v\"}}");
	free(s);
	json_decref(j);
	char *m = xstrdup("err PLAINTEXT-canary-7f3a");
	scrub_str(&m);
	assert_string_equal(m, "err (sealed 0011)");
	free(m);
}

/* The node's error for a template that failed quotes what the template
 * made of the task's environment and secrets: withheld, whatever is
 * registered (an external secret is not). */
static void test_engine_template_error(void **state)
{
	(void)state;
	char *m = xstrdup("starting container failed: unable to get config from config store: failed to expand "
			  "templated config xyhx5br1fxzkdddia3tmzqrxd: template: expansion:1:3: executing \"expansion\" "
			  "at <secret (slice (env \"DB_PASSWORD\") 1)>: error calling secret: secret target "
			  "LAINTEXT-canary-7f3a not found");
	scrub_engine_str(&m);
	assert_string_equal(m, "starting container failed: unable to get config from config store: failed to expand "
			       "templated config xyhx5br1fxzkdddia3tmzqrxd: the template's error is withheld (it can "
			       "quote secret values)");
	free(m);
	m = xstrdup("task rejected: failed to expand templated secret s1: template: x: 5043");
	scrub_engine_str(&m);
	assert_string_equal(m, "task rejected: failed to expand templated secret s1: the template's error is withheld "
			       "(it can quote secret values)");
	free(m);
	/* any other text is scrubbed as scrub_str does */
	scrub_add("PLAINTEXT-canary-7f3a", 21, "(sealed 0011)", 0);
	m = xstrdup("invalid environment variable: =PLAINTEXT-canary-7f3a");
	scrub_engine_str(&m);
	assert_string_equal(m, "invalid environment variable: =(sealed 0011)");
	free(m);
	m = NULL;
	scrub_engine_str(&m);
	assert_null(m);
}

static void test_wipe(void **state)
{
	(void)state;
	scrub_add("PLAINTEXT-canary-7f3a", 21, "(sealed 0011)", 0);
	scrub_wipe();
	assert_int_equal(scrub_active(), 0);
	scrubs_to("PLAINTEXT-canary-7f3a", "PLAINTEXT-canary-7f3a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_nothing_registered, wipe),
		cmocka_unit_test_teardown(test_plain_and_quoted, wipe),
		cmocka_unit_test_teardown(test_trailing_newline_base64_lines, wipe),
		cmocka_unit_test_teardown(test_short_and_longest, wipe),
		cmocka_unit_test_teardown(test_template_literal, wipe),
		cmocka_unit_test_teardown(test_json, wipe),
		cmocka_unit_test_teardown(test_engine_template_error, wipe),
		cmocka_unit_test_teardown(test_wipe, wipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
