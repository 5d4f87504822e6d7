#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "../../reconcile/util.h"
#include "../../secrets/seal.h"

static const char secret[] = "LCg1SMxoWDg7gkuQ";

static char *seal_for(const struct seal_key *keys, size_t n, const char *scope)
{
	unsigned char (*pks)[32] = xcalloc(n, 32);
	for (size_t i = 0; i < n; i++)
		memcpy(pks[i], keys[i].pk, 32);
	char *t = seal_seal((const unsigned char *)secret, strlen(secret), scope, (const unsigned char (*)[32])pks, n);
	free(pks);
	return t;
}

static int opens(const char *t, size_t len, const char *scope, const struct seal_key *k)
{
	unsigned char *p = NULL;
	size_t pl = 0;
	char *err = NULL;
	int r = seal_open(t, len, scope, k, &p, &pl, &err);
	if (r == 0) {
		assert_int_equal(pl, strlen(secret));
		assert_memory_equal(p, secret, pl);
		seal_free_plain(p, pl);
	} else {
		assert_non_null(err);
		assert_null(strstr(err, secret));
		free(err);
	}
	return r == 0;
}

static void test_round_trip_and_recipients(void **state)
{
	(void)state;
	struct seal_key k[3];
	for (int i = 0; i < 3; i++)
		seal_keygen(&k[i]);
	char *t = seal_for(k, 2, "kittenapi/db-password");
	assert_non_null(t);
	assert_null(strstr(t, secret));
	assert_true(opens(t, strlen(t), "kittenapi/db-password", &k[0]));
	assert_true(opens(t, strlen(t), "kittenapi/db-password", &k[1]));
	assert_false(opens(t, strlen(t), "kittenapi/db-password", &k[2])); /* not a recipient */
	char *err = NULL;
	assert_int_equal(seal_check(t, strlen(t), "kittenapi/db-password", &err), 0);
	free(t);
}

static void test_scope_is_bound(void **state)
{
	(void)state;
	struct seal_key k;
	seal_keygen(&k);
	char *t = seal_for(&k, 1, "mongo/admin-password");
	assert_false(opens(t, strlen(t), "kittenapi/admin-password", &k));
	char *err = NULL;
	assert_int_equal(seal_check(t, strlen(t), "kittenapi/admin-password", &err), -1);
	assert_non_null(strstr(err, "sealed for \"mongo/admin-password\""));
	free(err);
	/* rewriting the scope line by hand does not help: it is authenticated */
	char *moved = xstrdup(t);
	char *sc = strstr(moved, "scope: mongo/");
	memcpy(sc + 7, "xongo", 5);
	assert_false(opens(moved, strlen(moved), "xongo/admin-password", &k));
	free(moved);
	free(t);
}

static void test_every_byte_flipped_is_rejected(void **state)
{
	(void)state;
	struct seal_key k;
	seal_keygen(&k);
	char *t = seal_for(&k, 1, "s/n");
	size_t len = strlen(t);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			char *c = xstrndup(t, len);
			c[i] ^= (char)(1 << bit);
			if (opens(c, len, "s/n", &k))
				fail_msg("byte %zu bit %d flipped and the file still opened", i, bit);
			free(c);
		}
	}
	/* truncated and extended */
	assert_false(opens(t, len - 1, "s/n", &k));
	char *ext = xasprintf("%sx\n", t);
	assert_false(opens(ext, strlen(ext), "s/n", &k));
	free(ext);
	free(t);
}

static void test_key_file(void **state)
{
	(void)state;
	struct seal_key k, l;
	seal_keygen(&k);
	char path[] = "/tmp/shoal-key-XXXXXX";
	int fd = mkstemp(path);
	char *txt = seal_key_text(&k);
	assert_int_equal(write(fd, txt, strlen(txt)), (ssize_t)strlen(txt));
	close(fd);
	free(txt);
	char *err = NULL;
	chmod(path, 0600);
	assert_int_equal(seal_load_key(path, &l, &err), 0);
	assert_memory_equal(l.pk, k.pk, 32);
	chmod(path, 0644);
	assert_int_equal(seal_load_key(path, &l, &err), -1);
	assert_non_null(strstr(err, "chmod 600"));
	free(err);
	unlink(path);
	char *r = seal_recipient_string(k.pk);
	unsigned char pk[32];
	assert_int_equal(seal_parse_recipient(r, pk), 0);
	assert_memory_equal(pk, k.pk, 32);
	assert_int_equal(seal_parse_recipient("shoal-x25519:AAAA", pk), -1);
	free(r);
}

/* Deterministic: every bit of every byte of the committed vector.  It
 * caught libsodium's base64 decoder accepting '/' ^ 0x80 as '/'. */
static void test_vector_every_bit_flipped(void **state)
{
	(void)state;
	char *t, *err = NULL;
	size_t tl;
	struct seal_key k;
	assert_int_equal(read_file(TOP "/secrets/testvector/demo.sealed", 1 << 20, &t, &tl), 0);
	chmod(TOP "/secrets/testvector/demo.key", 0600);
	assert_int_equal(seal_load_key(TOP "/secrets/testvector/demo.key", &k, &err), 0);
	for (size_t i = 0; i < tl; i++)
		for (int bit = 0; bit < 8; bit++) {
			t[i] ^= (char)(1 << bit);
			unsigned char *p = NULL;
			size_t pl;
			if (seal_open(t, tl, "demo/greeting", &k, &p, &pl, &err) == 0)
				fail_msg("byte %zu bit %d flipped and the vector still opened", i, bit);
			free(err);
			err = NULL;
			t[i] ^= (char)(1 << bit);
		}
	free(t);
}

/* The committed test vector (secrets/FORMAT.md) opens with its key. */
static void test_vector(void **state)
{
	(void)state;
	char *t, *kt;
	size_t tl, kl;
	assert_int_equal(read_file(TOP "/secrets/testvector/demo.sealed", 1 << 20, &t, &tl), 0);
	assert_int_equal(read_file(TOP "/secrets/testvector/expected.txt", 1 << 20, &kt, &kl), 0);
	struct seal_key k;
	char *err = NULL;
	chmod(TOP "/secrets/testvector/demo.key", 0600);
	assert_int_equal(seal_load_key(TOP "/secrets/testvector/demo.key", &k, &err), 0);
	unsigned char *p;
	size_t pl;
	assert_int_equal(seal_open(t, tl, "demo/greeting", &k, &p, &pl, &err), 0);
	assert_int_equal(pl, kl);
	assert_memory_equal(p, kt, kl);
	seal_free_plain(p, pl);
	free(t);
	free(kt);
}

/* Found by fuzz_seal: a text ending in the middle of a "recipient: " line
 * was read past its length (the parser took it for a C string).  Each
 * such text, in a buffer of exactly its size, is refused (ASan and
 * valgrind see any read beyond it). */
static void test_truncated_not_terminated(void **state)
{
	(void)state;
	char *t;
	size_t tl;
	assert_int_equal(read_file(TOP "/secrets/testvector/demo.sealed", 1 << 20, &t, &tl), 0);
	const char *rec = strstr(t, "\nrecipient: ");
	assert_non_null(rec);
	const char *after = strchr(rec + 1, '\n');
	assert_non_null(after);
	size_t head = (size_t)(after + 1 - t);
	for (size_t k = 1; k < strlen("recipient: "); k++) {
		char *exact = xmalloc(head + k); /* no terminating NUL */
		memcpy(exact, t, head);
		memcpy(exact + head, "recipient: ", k);
		char *err = NULL;
		assert_int_equal(seal_check(exact, head + k, "demo/greeting", &err), -1);
		assert_non_null(err);
		free(err);
		free(exact);
	}
	free(t);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_recipients),
		cmocka_unit_test(test_scope_is_bound),
		cmocka_unit_test(test_every_byte_flipped_is_rejected),
		cmocka_unit_test(test_key_file),
		cmocka_unit_test(test_truncated_not_terminated),
		cmocka_unit_test(test_vector),
		cmocka_unit_test(test_vector_every_bit_flipped),
	};
	return cmocka_run_group_tests_name("seal", tests, NULL, NULL);
}
