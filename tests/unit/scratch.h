/*
 * scratch.h - a scratch directory for the unit tests that write
 * repositories (test_review, test_secrepo, test_waves): included after
 * cmocka.h.
 */
#ifndef SHOAL_TEST_SCRATCH_H
#define SHOAL_TEST_SCRATCH_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../reconcile/util.h"

static char tmp[256];

/* tmp: a new directory /tmp/shoal-NAME-XXXXXX; 0, or -1 for cmocka. */
static inline int scratch_make(const char *name)
{
	snprintf(tmp, sizeof tmp, "/tmp/shoal-%s-XXXXXX", name);
	return mkdtemp(tmp) ? 0 : -1;
}

static inline int scratch_remove(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmp);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

/* tmp emptied, for the next case of a test. */
static inline void scratch_clean(void)
{
	scratch_remove();
	mkdir(tmp, 0700);
}

/* Write len bytes (strlen when len is -1) to tmp/rel, making its folders. */
static inline void scratch_put(const char *rel, const char *data, long len)
{
	char *path = xasprintf("%s/%s", tmp, rel);
	for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		mkdir(path, 0755);
		*p = '/';
	}
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	size_t n = len < 0 ? strlen(data) : (size_t)len;
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
	free(path);
}

#endif
