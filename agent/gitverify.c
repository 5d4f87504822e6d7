#include "gitverify.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>
#include <sodium.h>

#include "../reconcile/util.h"

/* SSH wire strings: uint32 length + bytes. */
struct rd {
	const unsigned char *p;
	size_t n;
};

static int get_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int get_str(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t l;
	if (get_u32(r, &l) < 0 || l > r->n)
		return -1;
	*s = r->p;
	*len = l;
	r->p += l;
	r->n -= l;
	return 0;
}

static int str_is(const unsigned char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

static void put_str(struct buf *b, const void *s, size_t len)
{
	unsigned char l[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16), (unsigned char)(len >> 8),
			      (unsigned char)len};
	buf_add(b, l, 4);
	buf_add(b, s, len);
}

/* The ed25519 public key of an allowed_signers line's key field. */
static int key_from_b64(const char *b64, size_t len, unsigned char pk[32])
{
	unsigned char blob[128];
	size_t n;
	if (sodium_base642bin(blob, sizeof blob, b64, len, NULL, &n, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	struct rd r = {blob, n};
	const unsigned char *t, *k;
	size_t tl, kl;
	if (get_str(&r, &t, &tl) < 0 || !str_is(t, tl, "ssh-ed25519") || get_str(&r, &k, &kl) < 0 || kl != 32 || r.n)
		return -1;
	memcpy(pk, k, 32);
	return 0;
}

/* Find pk in allowed_signers text; returns the principals field. */
static char *find_signer(const char *text, const unsigned char pk[32])
{
	const char *p = text;
	while (*p) {
		size_t l = strcspn(p, "\n");
		char *line = xstrndup(p, l);
		p += l + (p[l] == '\n');
		char *s = line;
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s || *s == '#') {
			free(line);
			continue;
		}
		/* principals [options] keytype key [comment] */
		char *save = NULL, *principals = strtok_r(s, " \t", &save), *tok;
		char *found = NULL;
		int git_ns_ok = 1;
		while ((tok = strtok_r(NULL, " \t", &save))) {
			if (!strcmp(tok, "ssh-ed25519")) {
				char *key = strtok_r(NULL, " \t", &save);
				unsigned char k[32];
				if (key && git_ns_ok && key_from_b64(key, strlen(key), k) == 0 && sodium_memcmp(k, pk, 32) == 0)
					found = xstrdup(principals);
				break;
			}
			if (str_has_prefix(tok, "namespaces=")) {
				/* namespaces="git,file": this key signs git commits only if listed */
				git_ns_ok = strstr(tok, "git") != NULL;
			}
			if (!strcmp(tok, "cert-authority"))
				git_ns_ok = 0; /* certificates are not supported */
		}
		free(line);
		if (found)
			return found;
	}
	return NULL;
}

int gitverify_sshsig(const char *armored, const unsigned char *data, size_t len, const char *allowed_text,
		     char **principal, char **err)
{
	static const char begin[] = "-----BEGIN SSH SIGNATURE-----", end[] = "-----END SSH SIGNATURE-----";
	*principal = NULL;
	const char *b = strstr(armored, begin), *e = strstr(armored, end);
	if (!b || !e || e < b) {
		*err = xstrdup("not an SSH signature (git gpg.format=ssh): OpenPGP and X.509 signatures are not supported");
		return -1;
	}
	b += sizeof begin - 1;
	struct buf b64;
	buf_init(&b64, 1 << 16);
	for (const char *q = b; q < e; q++)
		if (!strchr(" \t\r\n", *q))
			buf_addc(&b64, *q);
	unsigned char *blob = xmalloc(b64.len + 1);
	size_t bl;
	int ok = sodium_base642bin(blob, b64.len + 1, b64.data, b64.len, NULL, &bl, NULL, sodium_base64_VARIANT_ORIGINAL) == 0;
	buf_free(&b64);
	struct rd r = {blob, ok ? bl : 0};
	const unsigned char *pkb, *ns, *res, *halg, *sigb;
	size_t pkl, nsl, resl, hl, sigl;
	uint32_t ver;
	int ret = -1;
	if (!ok || r.n < 6 || memcmp(r.p, "SSHSIG", 6) != 0) {
		*err = xstrdup("malformed SSH signature");
		goto out;
	}
	r.p += 6;
	r.n -= 6;
	if (get_u32(&r, &ver) < 0 || ver != 1 || get_str(&r, &pkb, &pkl) < 0 || get_str(&r, &ns, &nsl) < 0 ||
	    get_str(&r, &res, &resl) < 0 || get_str(&r, &halg, &hl) < 0 || get_str(&r, &sigb, &sigl) < 0) {
		*err = xstrdup("malformed SSH signature");
		goto out;
	}
	if (!str_is(ns, nsl, "git")) {
		*err = xasprintf("signature namespace is \"%.*s\", not \"git\"", (int)nsl, ns);
		goto out;
	}
	/* the signer's key */
	struct rd kr = {pkb, pkl};
	const unsigned char *kt, *kk;
	size_t ktl, kkl;
	if (get_str(&kr, &kt, &ktl) < 0 || !str_is(kt, ktl, "ssh-ed25519") || get_str(&kr, &kk, &kkl) < 0 || kkl != 32) {
		*err = xasprintf("unsupported signing key type %.*s (only ssh-ed25519)", (int)(ktl < 40 ? ktl : 40), kt);
		goto out;
	}
	struct rd sr = {sigb, sigl};
	const unsigned char *st, *sv;
	size_t stl, svl;
	if (get_str(&sr, &st, &stl) < 0 || !str_is(st, stl, "ssh-ed25519") || get_str(&sr, &sv, &svl) < 0 || svl != 64) {
		*err = xstrdup("malformed ed25519 signature");
		goto out;
	}
	unsigned char h[crypto_hash_sha512_BYTES];
	size_t hlen;
	if (str_is(halg, hl, "sha512")) {
		crypto_hash_sha512(h, data, len);
		hlen = crypto_hash_sha512_BYTES;
	} else if (str_is(halg, hl, "sha256")) {
		crypto_hash_sha256(h, data, len);
		hlen = crypto_hash_sha256_BYTES;
	} else {
		*err = xstrdup("unsupported signature hash algorithm");
		goto out;
	}
	struct buf m;
	buf_init(&m, 0);
	buf_add(&m, "SSHSIG", 6);
	put_str(&m, ns, nsl);
	put_str(&m, res, resl);
	put_str(&m, halg, hl);
	put_str(&m, h, hlen);
	int good = crypto_sign_verify_detached(sv, (unsigned char *)m.data, m.len, kk) == 0;
	buf_free(&m);
	if (!good) {
		*err = xstrdup("bad signature: the commit was altered after signing");
		goto out;
	}
	*principal = find_signer(allowed_text, kk);
	if (!*principal) {
		char *k64 = xmalloc(sodium_base64_encoded_len(pkl, sodium_base64_VARIANT_ORIGINAL));
		sodium_bin2base64(k64, sodium_base64_encoded_len(pkl, sodium_base64_VARIANT_ORIGINAL), pkb, pkl,
				  sodium_base64_VARIANT_ORIGINAL);
		*err = xasprintf("signed by a key that is not an allowed signer (ssh-ed25519 %s)", k64);
		free(k64);
		goto out;
	}
	ret = 0;
out:
	free(blob);
	return ret;
}

int gitverify_commit(const char *repo_path, const char *rev, const char *allowed_signers, char **principal,
		     char **commit_id, char **err)
{
	static int inited;
	if (!inited) {
		git_libgit2_init();
		inited = 1;
	}
	git_repository *repo = NULL;
	git_object *obj = NULL;
	git_buf sig = {0}, signed_data = {0};
	char *allowed = NULL;
	int ret = -1;
	*principal = NULL;
	*commit_id = NULL;
	*err = NULL;
	if (read_file(allowed_signers, 1 << 20, &allowed, NULL) < 0) {
		*err = xasprintf("%s: cannot read the allowed signers file", allowed_signers);
		goto out;
	}
	if (git_repository_open_ext(&repo, repo_path, 0, NULL) < 0 || git_revparse_single(&obj, repo, rev) < 0) {
		const git_error *ge = git_error_last();
		*err = xasprintf("%s: %s", rev, ge && ge->message ? ge->message : "not found");
		goto out;
	}
	git_object *c = NULL;
	if (git_object_peel(&c, obj, GIT_OBJECT_COMMIT) < 0) {
		*err = xasprintf("%s: not a commit", rev);
		goto out;
	}
	char id[GIT_OID_HEXSZ + 1];
	git_oid_tostr(id, sizeof id, git_object_id(c));
	*commit_id = xstrdup(id);
	int r = git_commit_extract_signature(&sig, &signed_data, repo, (git_oid *)git_object_id(c), NULL);
	git_object_free(c);
	if (r == GIT_ENOTFOUND) {
		*err = xasprintf("commit %.12s is not signed", id);
		goto out;
	}
	if (r < 0) {
		*err = xasprintf("commit %.12s: cannot read its signature", id);
		goto out;
	}
	ret = gitverify_sshsig(sig.ptr, (const unsigned char *)signed_data.ptr, signed_data.size, allowed, principal, err);
	if (ret < 0) {
		char *e = xasprintf("commit %.12s: %s", id, *err);
		free(*err);
		*err = e;
	}
out:
	git_buf_dispose(&sig);
	git_buf_dispose(&signed_data);
	git_object_free(obj);
	git_repository_free(repo);
	free(allowed);
	return ret;
}
