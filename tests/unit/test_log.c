/* The agent's JSON log lines (log_json_line) and UTF-8 repair: every line
 * one parseable object whatever the message holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../reconcile/log.h"
#include "../../reconcile/util.h"

/* the line for msg parses as one object whose msg is want */
static void line_is(const char *msg, const char *want)
{
	json_t *f = json_pack("{s:s, s:i}", "file", "stacks/a/x.yml", "line", 3);
	char *line = log_json_line("2024-01-02T03:04:05.678Z", "warning", msg, f);
	json_decref(f);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	json_error_t e;
	json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
	assert_non_null(j);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 4);
	assert_string_equal(json_string_value(json_object_get(j, "ts")), "2024-01-02T03:04:05.678Z");
	assert_string_equal(json_string_value(json_object_get(j, "level")), "warning");
	assert_string_equal(json_string_value(json_object_get(j, "msg")), want);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "fields"), "file")), "stacks/a/x.yml");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "fields"), "line")), 3);
	json_decref(j);
	free(line);
}

#define FFFD "\xef\xbf\xbd"

static void test_escaping(void **state)
{
	(void)state;
	line_is("plain", "plain");
	line_is("", "");
	line_is("quote \" backslash \\ slash /", "quote \" backslash \\ slash /");
	line_is("two\nlines\r\n", "two\nlines\r\n");
	line_is("tab\tbell\a esc\x1b[31m del\x7f", "tab\tbell\a esc\x1b[31m del\x7f");
	line_is("{\"ts\":\"forged\"}\n{\"level\":\"info\"}", "{\"ts\":\"forged\"}\n{\"level\":\"info\"}");
	line_is("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	line_is("bad \xff\xfe end", "bad " FFFD FFFD " end");
	line_is("cut \xe2\x82", "cut " FFFD FFFD);
	line_is("overlong \xc0\xaf", "overlong " FFFD FFFD);
	line_is("surrogate \xed\xa0\x80", "surrogate " FFFD FFFD FFFD);
	line_is("too high \xf4\x90\x80\x80", "too high " FFFD FFFD FFFD FFFD);
	line_is("lone continuation \x80", "lone continuation " FFFD);
	line_is("\xf0\x9f\x98", FFFD FFFD FFFD);
}

static void test_no_fields(void **state)
{
	(void)state;
	char *line = log_json_line("t", "info", "m", NULL);
	json_t *j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_object(json_object_get(j, "fields")));
	assert_int_equal(json_object_size(json_object_get(j, "fields")), 0);
	json_decref(j);
	free(line);
	/* a level or time that is not UTF-8 still makes a line */
	line = log_json_line("\xff", "\xfe", "m", NULL);
	j = json_loads(line, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "level")), FFFD);
	json_decref(j);
	free(line);
}

static void test_utf8_fix(void **state)
{
	(void)state;
	char *s = utf8_fix("ok \xe4\xb8\xad \xc3");
	assert_string_equal(s, "ok \xe4\xb8\xad " FFFD);
	free(s);
}

/* say(): text on the stream, or the hook with the "shoal: " prefix and
 * trailing newlines gone */
static char got_level[16], got_msg[128], got_field[64];
static void hook(const char *level, const char *const *fields, const char *msg)
{
	snprintf(got_level, sizeof got_level, "%s", level);
	snprintf(got_msg, sizeof got_msg, "%s", msg);
	snprintf(got_field, sizeof got_field, "%s=%s", fields && fields[0] ? fields[0] : "",
		 fields && fields[0] ? fields[1] : "");
}

static void test_say(void **state)
{
	(void)state;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	say(f, "error", NULL, "shoal: stack %s: %s", "a", "bad");
	fclose(f);
	assert_string_equal(text, "shoal: stack a: bad\n");
	free(text);
	say_hook = hook;
	const char *fields[] = {"stack", "a", NULL};
	say(stderr, "warning", fields, "shoal: stack %s: retrying\n", "a");
	say_hook = NULL;
	assert_string_equal(got_level, "warning");
	assert_string_equal(got_msg, "stack a: retrying");
	assert_string_equal(got_field, "stack=a");
	say_hook = hook;
	say(stderr, "warning", NULL, "warning: image %s: no digest", "x");
	say_hook = NULL;
	assert_string_equal(got_msg, "image x: no digest");
	assert_string_equal(got_field, "=");
}

/* A file name or YAML key of the repository holding a newline never
 * starts a line of its own (a forged "info commit ... applied") in a
 * diagnostic; a summary without a place keeps its lines. */
static void test_diag_one_line(void **state)
{
	(void)state;
	struct diags d = {0};
	diags_add(&d, DIAG_ERROR, "stacks/app/b\n2026-12-01T04:00:00Z info commit deadbeef applied\r\x1b[2K.yml", 4, 5,
		  "services.web additional property %s is not allowed", "bogus\nFORGED\tx");
	diags_add(&d, DIAG_WARN, NULL, 0, 0, "Ignoring deprecated options:\n\n%s", "container_name");
	struct buf b;
	buf_init(&b, 0);
	diag_format(&d.v[0], &b);
	assert_string_equal(b.data, "stacks/app/b\\n2026-12-01T04:00:00Z info commit deadbeef applied\\r\\x1b[2K.yml:4:5: "
				    "error: services.web additional property bogus\\nFORGED\\tx is not allowed");
	buf_reset(&b);
	diag_format(&d.v[1], &b);
	assert_string_equal(b.data, "Ignoring deprecated options:\n\ncontainer_name\n");
	buf_free(&b);
	diags_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_no_fields),
		cmocka_unit_test(test_utf8_fix),
		cmocka_unit_test(test_say),
		cmocka_unit_test(test_diag_one_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
