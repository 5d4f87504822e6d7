#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../reconcile/interp.h"

static const char *lookup(void *ctx, const char *name)
{
	(void)ctx;
	if (!strcmp(name, "SET"))
		return "value";
	if (!strcmp(name, "EMPTY"))
		return "";
	return NULL;
}

static void expect(const char *in, const char *want)
{
	char *out = NULL, *err = NULL;
	int rc = interp_string(in, lookup, NULL, &out, &err);
	if (rc != 0)
		fail_msg("%s: unexpected error %s", in, err);
	assert_string_equal(out, want);
	free(out);
}

static void expect_err(const char *in, const char *frag)
{
	char *out = NULL, *err = NULL;
	assert_int_equal(interp_string(in, lookup, NULL, &out, &err), -1);
	assert_null(out);
	assert_non_null(strstr(err, frag));
	free(err);
}

static void test_forms(void **state)
{
	(void)state;
	expect("plain", "plain");
	expect("$SET", "value");
	expect("${SET}", "value");
	expect("a${SET}b", "avalueb");
	expect("${UNSET}", "");
	expect("${UNSET:-def}", "def");
	expect("${EMPTY:-def}", "def");
	expect("${EMPTY-def}", "");
	expect("${UNSET-def}", "def");
	expect("${SET:-def}", "value");
	expect("$$SET", "$SET");
	expect("cost $$5", "cost $5");
	expect("${SET:?must}", "value");
	expect("${EMPTY?must}", "");
}

static void test_errors(void **state)
{
	(void)state;
	expect_err("${UNSET:?needs a value}", "required variable UNSET is missing a value: needs a value");
	expect_err("${UNSET?x}", "required variable UNSET");
	expect_err("${EMPTY:?x}", "required variable EMPTY");
	expect_err("a $ b", "invalid interpolation format");
	expect_err("${", "invalid interpolation format");
	expect_err("${1X}", "invalid interpolation format");
	expect_err("${SET+x}", "invalid interpolation format");
}

static void test_unbraced_modifier(void **state)
{
	(void)state;
	/* docker's pattern: an unbraced name may carry a default too */
	expect("$UNSET-dflt", "dflt");
	expect("$SET-dflt", "value");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_unbraced_modifier),
	};
	return cmocka_run_group_tests_name("interp", tests, NULL, NULL);
}
