/*
 * The offline review (shoal plan --base/--head, shoal review): what a pull
 * request changes, and never a sealed value in it, with or without the key.
 */
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

#include "scratch.h"
#include "../../reconcile/repo.h"
#include "../../reconcile/review.h"
#include "../../reconcile/source.h"
#include "../../secrets/seal.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : scratch_make("review");
}

static int teardown(void **state)
{
	(void)state;
	return scratch_remove();
}

static void load(const char *dir, const struct seal_key *k, struct repo *r)
{
	struct source *src = NULL;
	char *err = NULL, *root = xasprintf("%s/%s", tmp, dir);
	assert_int_equal(source_dir_new(&src, root, &err), 0);
	struct repo_opts ro = {.key = k, .check_only = !k};
	struct diags d = {0};
	assert_int_equal(repo_load(src, &ro, r, &d), 0);
	assert_int_equal(d.nerrors, 0);
	diags_free(&d);
	source_free(src);
	free(root);
}

/* A repository whose app stack's MONGODB_URI is sealed. */
static void sealed_repo(const char *dir, const struct seal_key *k, const char *value)
{
	char *f = xasprintf("%s/stacks/app/app.yml", dir);
	scratch_put(f, "version: '3.8'\nservices:\n  web:\n    image: nginx:1\n"
	       "    environment:\n      MONGODB_URI: ${sealed:uri.sealed}\n      PLAIN: visible\n", -1);
	free(f);
	char *s = seal_seal((const unsigned char *)value, strlen(value), "app/uri", &k->pk, 1);
	assert_non_null(s);
	f = xasprintf("%s/stacks/app/uri.sealed", dir);
	scratch_put(f, s, -1);
	free(f);
	free(s);
}

static char *markdown_of(const json_t *rv)
{
	struct buf b;
	buf_init(&b, 0);
	review_markdown(rv, &b);
	return buf_detach(&b);
}

/* With the key (a developer's plan --base/--head, a CI that holds it), the
 * sealed value changed: the review says so with a keyed fingerprint and
 * never shows either value (it did, before: issue 19). */
static void test_sealed_change_with_key(void **state)
{
	(void)state;
	struct seal_key k;
	seal_keygen(&k);
	sealed_repo("base", &k, "mongodb://u:OLDS3CRET@db/");
	sealed_repo("head", &k, "mongodb://u:NEWS3CRET@db/");
	struct repo base, head;
	load("base", &k, &base);
	load("head", &k, &head);
	unsigned char rk[32];
	randombytes_buf(rk, sizeof rk);
	json_t *rv = review_compare(&base, &head, rk);
	char *all = json_dumps(rv, JSON_COMPACT), *md = markdown_of(rv);
	assert_null(strstr(all, "S3CRET"));
	assert_null(strstr(md, "S3CRET"));
	assert_non_null(strstr(all, "MONGODB_URI=(sealed "));
	assert_non_null(strstr(md, "MONGODB_URI=(sealed "));
	/* the change is still there, old and new told apart */
	assert_true(review_has_changes(rv));
	json_t *ch = json_array_get(json_object_get(json_array_get(json_object_get(json_array_get(json_object_get(rv, "stacks"), 0), "services"), 0), "changes"), 0);
	assert_false(json_equal(json_object_get(ch, "old"), json_object_get(ch, "new")));
	free(all);
	free(md);
	json_decref(rv);
	repo_free(&base);
	repo_free(&head);
	sodium_memzero(&k, sizeof k);
}

/* Without the key: the sealed text's own fingerprint, nothing opened. */
static void test_sealed_change_without_key(void **state)
{
	(void)state;
	struct seal_key k;
	seal_keygen(&k);
	sealed_repo("base2", &k, "mongodb://u:OLDS3CRET@db/");
	sealed_repo("head2", &k, "mongodb://u:NEWS3CRET@db/");
	struct repo base, head;
	load("base2", NULL, &base);
	load("head2", NULL, &head);
	json_t *rv = review_compare(&base, &head, NULL);
	char *all = json_dumps(rv, JSON_COMPACT);
	assert_null(strstr(all, "S3CRET"));
	assert_non_null(strstr(all, "MONGODB_URI=(sealed "));
	assert_true(review_has_changes(rv));
	free(all);
	json_decref(rv);
	repo_free(&base);
	repo_free(&head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_change_with_key),
		cmocka_unit_test(test_sealed_change_without_key),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
