#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../agent/knownhosts.h"
#include "../../reconcile/util.h"

static void url_is(const char *url, int want, const char *host, int port)
{
	char *h = NULL;
	int p = 0;
	assert_int_equal(knownhosts_url(url, &h, &p), want);
	if (want == 1) {
		assert_string_equal(h, host);
		assert_int_equal(p, port);
	}
	free(h);
}

static void test_urls(void **state)
{
	(void)state;
	url_is("ssh://git@example.org/team/repo.git", 1, "example.org", 22);
	url_is("ssh://git@example.org:2222/team/repo.git", 1, "example.org", 2222);
	url_is("ssh://[::1]:2222/repo.git", 1, "::1", 2222);
	url_is("git@example.org:team/repo.git", 1, "example.org", 22);
	url_is("https://example.org/team/repo.git", 0, NULL, 0);
	url_is("/srv/git/repo.git", 0, NULL, 0);
	url_is("./a:b/repo.git", 0, NULL, 0);
	url_is("ssh://git@example.org:99999/repo.git", -1, NULL, 0);
	url_is("ssh://git@example.org:22x/repo.git", -1, NULL, 0);
}

/* url_credentials: 1 and the redacted form when want_redacted, else 0 */
static void creds_is(const char *url, const char *want_redacted)
{
	char *red = (char *)"untouched";
	int r = url_credentials(url, &red);
	if (!want_redacted) {
		assert_int_equal(r, 0);
		assert_string_equal(red, "untouched");
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(red, want_redacted);
	free(red);
	assert_int_equal(url_credentials(url, NULL), 1);
}

static void test_url_credentials(void **state)
{
	(void)state;
	/* http(s): any user part is a credential (GitHub takes a token as
	 * the user name, GitLab oauth2:TOKEN) */
	creds_is("https://alice:s3cret@git.example.org/team/repo.git", "https://***@git.example.org/team/repo.git");
	creds_is("https://ghp_0123456789abcdef@github.com/o/r.git", "https://***@github.com/o/r.git");
	creds_is("http://oauth2:glpat-xyz@gitlab.example/r.git", "http://***@gitlab.example/r.git");
	creds_is("https://alice@git.example.org/r.git", "https://***@git.example.org/r.git");
	creds_is("https://@git.example.org/r.git", "https://***@git.example.org/r.git");
	creds_is("HTTPS://u:p@Example.org/r.git", "HTTPS://***@Example.org/r.git");
	creds_is("https://a:p@ss@host:8443/r.git", "https://***@host:8443/r.git"); /* '@' in the password */
	creds_is("https://a%3Ab@host/r.git", "https://***@host/r.git");
	creds_is("https://u:p@[::1]:8080/r.git", "https://***@[::1]:8080/r.git");
	creds_is("https://u:p@host?x=1", "https://***@host?***");
	/* a token in a query or fragment */
	creds_is("https://git.example.org/r.git?access_token=glpat-xyz", "https://git.example.org/r.git?***");
	creds_is("https://git.example.org/r.git#glpat-xyz", "https://git.example.org/r.git#***");
	creds_is("ssh://git@example.org/r.git?t=x", "ssh://git@example.org/r.git?***");
	creds_is("git://u:p@host/r.git", "git://***@host/r.git");
	/* ssh: a user is normal, a password is not */
	creds_is("ssh://git:hunter2@example.org/r.git", "ssh://***@example.org/r.git");
	creds_is("ssh://git:hunter2@example.org:2222/r.git", "ssh://***@example.org:2222/r.git");
	creds_is("git+ssh://git:pw@example.org/r.git", "git+ssh://***@example.org/r.git");
	creds_is("ssh://git%3Apw@example.org/r.git", "ssh://***@example.org/r.git");
	creds_is("alice:pw@example.org:team/r.git", "***@example.org:team/r.git");
	creds_is(NULL, NULL);
	creds_is("ssh://git@example.org/team/repo.git", NULL);
	creds_is("ssh://git@example.org:2222/team/repo.git", NULL);
	creds_is("ssh://[::1]:2222/repo.git", NULL);
	creds_is("ssh://git@[::1]:2222/repo.git", NULL);
	creds_is("SSH://git@example.org/r.git", NULL);
	creds_is("git@example.org:team/repo.git", NULL);
	creds_is("example.org:team/repo.git", NULL);
	creds_is("example.org:team/repo@v1.git", NULL);
	/* no user part: an '@' in the path is not one */
	creds_is("https://example.org/team/repo.git", NULL);
	creds_is("https://example.org/team@x/repo.git", NULL);
	creds_is("https://example.org:8443/r.git?ref=a@b", "https://example.org:8443/r.git?***");
	creds_is("https://example.org#a@b", "https://example.org#***");
	creds_is("http://[::1]:8080/r.git", NULL);
	creds_is("file:///srv/git/a@b.git", NULL);
	creds_is("/srv/git/a:b@c.git", NULL);
	creds_is("./a:b@c/repo.git", NULL);
	creds_is("repo.git", NULL);
	creds_is("", NULL);
}

static const unsigned char key[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20 0123456789abcdef0123456789abcdef";
static const unsigned char other[] = "\0\0\0\x0bssh-ed25519\0\0\0\x20 fedcba9876543210fedcba9876543210";

static int check(const char *lines, const char *host, int port, const unsigned char *k, const char *why_has)
{
	char path[] = "/tmp/kh-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, lines, strlen(lines)), (ssize_t)strlen(lines));
	close(fd);
	char *why = NULL;
	int r = knownhosts_check(path, host, port, k, sizeof key - 1, &why);
	unlink(path);
	if (r == 0)
		assert_null(why);
	else if (why_has)
		assert_non_null(strstr(why, why_has));
	free(why);
	return r;
}

static void test_check(void **state)
{
	(void)state;
	char b64[200], lines[1000];
	sodium_bin2base64(b64, sizeof b64, key, sizeof key - 1, sodium_base64_VARIANT_ORIGINAL);
	snprintf(lines, sizeof lines, "# comment\n\ngit.example.org,10.0.0.5 ssh-ed25519 %s host\n", b64);
	assert_int_equal(check(lines, "git.example.org", 22, key, NULL), 0);
	assert_int_equal(check(lines, "GIT.example.org", 22, key, NULL), 0);
	assert_int_equal(check(lines, "10.0.0.5", 22, key, NULL), 0);
	assert_int_equal(check(lines, "git.example.org", 22, other, "MISMATCH"), -1);
	assert_int_equal(check(lines, "git.example.org", 2222, key, "[git.example.org]:2222 is not in"), -1);
	assert_int_equal(check(lines, "evil.example.org", 22, key, "is not in"), -1);
	snprintf(lines, sizeof lines, "[git.example.org]:2222 ssh-ed25519 %s\n", b64);
	assert_int_equal(check(lines, "git.example.org", 2222, key, NULL), 0);
	assert_int_equal(check(lines, "git.example.org", 22, key, "is not in"), -1);
	snprintf(lines, sizeof lines, "*.example.org,!bad.example.org ssh-ed25519 %s\n", b64);
	assert_int_equal(check(lines, "git.example.org", 22, key, NULL), 0);
	assert_int_equal(check(lines, "bad.example.org", 22, key, "is not in"), -1);
	assert_int_equal(check(lines, "example.org", 22, key, "is not in"), -1);
	snprintf(lines, sizeof lines, "git?.example.org ssh-ed25519 %s\n@revoked * ssh-ed25519 %s\n", b64, b64);
	assert_int_equal(check(lines, "git1.example.org", 22, key, "revoked"), -1);
	snprintf(lines, sizeof lines, "|1|c2FsdA==|aGFzaA== ssh-ed25519 %s\n", b64);
	assert_int_equal(check(lines, "git.example.org", 22, key, "hashed"), -1);
	snprintf(lines, sizeof lines, "@cert-authority * ssh-ed25519 %s\n", b64);
	assert_int_equal(check(lines, "git.example.org", 22, key, "is not in"), -1);
	char *why = NULL;
	assert_int_equal(knownhosts_check("/nonexistent/kh", "h", 22, key, sizeof key - 1, &why), -1);
	assert_non_null(strstr(why, "cannot read"));
	free(why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_url_credentials),
		cmocka_unit_test(test_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
