/*
 * gitverify.h - verify a commit's SSH signature (git's gpg.format=ssh, the
 * sshsig format) against an allowed_signers file, with libsodium.  Only
 * ssh-ed25519 keys are accepted.
 */
#ifndef SHOAL_GITVERIFY_H
#define SHOAL_GITVERIFY_H

#include <stddef.h>

/* 0 and the signer's principal (caller frees) when rev's commit carries a
 * valid signature by a key listed in allowed_signers; -1 and *err saying
 * why not (unsigned, unknown key, bad signature, unsupported key type). */
int gitverify_commit(const char *repo_path, const char *rev, const char *allowed_signers, char **principal,
		     char **commit_id, char **err);

/* Exposed for tests: verify an armored SSH signature over data. */
int gitverify_sshsig(const char *armored, const unsigned char *data, size_t len, const char *allowed_signers_text,
		     char **principal, char **err);

#endif
