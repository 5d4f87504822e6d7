/*
 * The sealed-file parser: seal_check (form and scope), seal_open with a
 * key that is not a recipient and with one that is, the fingerprint.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../../secrets/seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seal_key key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		if (sodium_init() < 0)
			abort();
		/* a fixed key: the one of secrets/testvector (demo.key) */
		char *err = NULL;
		if (seal_load_key(TOP "/secrets/testvector/demo.key", &key, &err) < 0)
			seal_keygen(&key);
		free(err);
		init = 1;
	}
	const char *text = (const char *)data;
	char *err = NULL;
	seal_is_sealed(text, size);
	seal_check(text, size, "demo/greeting", &err);
	free(err);
	err = NULL;
	unsigned char *plain = NULL;
	size_t plen = 0;
	if (seal_open(text, size, "demo/greeting", &key, &plain, &plen, &err) == 0)
		seal_free_plain(plain, plen);
	free(err);
	char fp[13];
	seal_fingerprint(text, size, fp);
	return 0;
}
