/*
 * seal.h - sealed values: text files that only holders of a recipient's
 * X25519 private key can open.  Format: secrets/FORMAT.md.  Knows nothing of
 * Docker or compose.
 */
#ifndef SHOAL_SEAL_H
#define SHOAL_SEAL_H

#include <stddef.h>

#define SEAL_MAGIC "shoal-sealed v1\n"
#define SEAL_RECIPIENT_PREFIX "shoal-x25519:"
#define SEAL_KEY_PREFIX "SHOAL-X25519-SECRET-KEY:"
#define SEAL_MAX_FILE (1u << 20)
#define SEAL_MAX_RECIPIENTS 64
#define SEAL_MAX_SCOPE 256

/* Secret and public key (32 bytes each). */
struct seal_key {
	unsigned char pk[32];
	unsigned char sk[32];
};

/* A new key pair. */
void seal_keygen(struct seal_key *k);
/* "shoal-x25519:<base64>" for a public key (caller frees). */
char *seal_recipient_string(const unsigned char pk[32]);
int seal_parse_recipient(const char *s, unsigned char pk[32]);
/* The private key file's text, and back.  A key file readable by group or
 * others is refused by seal_load_key. */
char *seal_key_text(const struct seal_key *k);
int seal_load_key(const char *path, struct seal_key *k, char **err);

/* For a process that holds a private key, tokens or plaintexts: no core
 * file (RLIMIT_CORE 0), not dumpable (no core either, and no ptrace or
 * /proc/PID/mem for other processes of its user), and every block jansson
 * frees is wiped first (JSON that held a key or an opened value).
 * seal_load_key calls it.  An exec or a change of user resets
 * dumpability: call it again after those. */
void seal_protect_process(void);

/* Seal plaintext for recipients under scope (e.g. "mongo/admin-password").
 * Returns the file text (caller frees). */
char *seal_seal(const unsigned char *plain, size_t len, const char *scope, const unsigned char (*pks)[32],
		size_t npks);

/* Structure and scope check without a key: 0, or -1 with *err. */
int seal_check(const char *text, size_t len, const char *scope, char **err);

/* Open: 0 and the plaintext (sodium_malloc'ed, free with seal_free_plain),
 * or -1 with *err (never containing plaintext). */
int seal_open(const char *text, size_t len, const char *scope, const struct seal_key *k,
	      unsigned char **plain, size_t *plen, char **err);
void seal_free_plain(unsigned char *p, size_t len);

/* Is this file a sealed value? (starts with the magic line) */
int seal_is_sealed(const char *text, size_t len);

/* A fingerprint for plans and object names: 12 hex of BLAKE2b over the
 * sealed file itself, so it tells nothing about the plaintext. */
void seal_fingerprint(const char *sealed_text, size_t len, char out[13]);

/* The key that fingerprints opened values where they would show (plans,
 * scrubbed messages): derived from the private key, so guessing a value
 * from its fingerprint needs that key. */
void seal_redact_key(const struct seal_key *k, unsigned char out[32]);
/* 12 hex of BLAKE2b over p keyed with rkey (32 bytes); "" without rkey. */
void seal_redact_fp(const unsigned char *rkey, const void *p, size_t len, char out[13]);

#endif
