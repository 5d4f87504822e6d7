#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "../../reconcile/regauth.h"
#include "../../reconcile/util.h"

static void host_is(const char *image, const char *want)
{
	char *h = regauth_host(image);
	assert_string_equal(h, want);
	free(h);
}

static void test_hosts(void **state)
{
	(void)state;
	host_is("nginx", "docker.io");
	host_is("nginx:1.25", "docker.io");
	host_is("library/nginx:1.25", "docker.io");
	host_is("sirrtea/kittenapi:latest", "docker.io");
	host_is("docker.io/sirrtea/kittenapi", "docker.io");
	host_is("index.docker.io/library/nginx", "docker.io");
	host_is("registry.example.com/team/app:1", "registry.example.com");
	host_is("127.0.0.1:5000/kitten:1@sha256:00", "127.0.0.1:5000");
	host_is("localhost/app", "localhost");
}

static char *write_tmp(const char *text)
{
	char *path = xstrdup("/tmp/regauth-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static json_t *decode(const char *h)
{
	unsigned char buf[1024];
	size_t len = 0;
	assert_int_equal(sodium_base642bin(buf, sizeof buf, h, strlen(h), NULL, &len, NULL, sodium_base64_VARIANT_URLSAFE), 0);
	return json_loadb((const char *)buf, len, 0, NULL);
}

/* The header for image carries field == want. */
static void header_has(const json_t *auths, const char *image, const char *field, const char *want)
{
	char *h = regauth_header(auths, image);
	assert_non_null(h);
	json_t *j = decode(h);
	assert_string_equal(json_string_value(json_object_get(j, field)), want);
	json_decref(j);
	free(h);
}

static void test_header(void **state)
{
	(void)state;
	/* "lab:pa:ss" (a colon in the password), docker hub under its v1 key,
	 * a username/password entry, an identity token */
	char *path = write_tmp("{\"auths\": {"
			       "\"127.0.0.1:5000\": {\"auth\": \"bGFiOnBhOnNz\"},"
			       "\"https://index.docker.io/v1/\": {\"username\": \"u\", \"password\": \"p\"},"
			       "\"https://reg.example.com\": {\"identitytoken\": \"tok\"},"
			       "\"empty.example.com\": {}}}");
	char *err = NULL;
	json_t *a = regauth_load(path, NULL, &err);
	unlink(path);
	free(path);
	assert_non_null(a);
	assert_null(err);
	assert_null(json_object_get(a, "empty.example.com"));
	header_has(a, "127.0.0.1:5000/kitten:1", "username", "lab");
	header_has(a, "127.0.0.1:5000/kitten:1", "password", "pa:ss");
	header_has(a, "127.0.0.1:5000/kitten:1", "serveraddress", "127.0.0.1:5000");
	header_has(a, "nginx:1.25", "username", "u");
	header_has(a, "nginx:1.25", "serveraddress", "docker.io");
	header_has(a, "reg.example.com/app", "identitytoken", "tok");
	assert_null(regauth_header(a, "other.example.com/app"));
	json_decref(a);
}

static void test_bad_files(void **state)
{
	(void)state;
	char *err = NULL;
	assert_null(regauth_load("/nonexistent/config.json", NULL, &err));
	assert_non_null(strstr(err, "cannot read"));
	free(err);
	char *path = write_tmp("{\"auths\": ");
	assert_null(regauth_load(path, NULL, &err));
	assert_non_null(strstr(err, "not a docker config.json"));
	free(err);
	unlink(path);
	free(path);
}

/* credsStore/credHelpers are not run: the caller is told, nothing printed. */
static void test_helpers_warned(void **state)
{
	(void)state;
	char *path = write_tmp("{\"credsStore\": \"desktop\", \"auths\": {\"r.example.com\": {\"auth\": \"dTpw\"}}}");
	char *err = NULL, *warning = NULL;
	json_t *a = regauth_load(path, &warning, &err);
	assert_non_null(a);
	assert_null(err);
	assert_non_null(warning);
	assert_non_null(strstr(warning, "credsStore/credHelpers are not used"));
	assert_non_null(strstr(warning, path));
	free(warning);
	json_decref(a);
	unlink(path);
	free(path);
	path = write_tmp("{\"auths\": {}}");
	a = regauth_load(path, &warning, &err);
	assert_non_null(a);
	assert_null(warning);
	json_decref(a);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_helpers_warned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
