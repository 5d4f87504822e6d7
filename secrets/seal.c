/*
 * seal.c - the sealed-value format of secrets/FORMAT.md with libsodium:
 * a random data key per file, the value under XChaCha20-Poly1305 with the
 * whole header as associated data, the data key wrapped for each recipient
 * with a key derived from X25519(ephemeral, recipient).
 */
#include "seal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../reconcile/util.h"

#define B64 sodium_base64_VARIANT_ORIGINAL
#define NONCE crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG crypto_aead_xchacha20poly1305_ietf_ABYTES
#define KEYLEN 32

static char *b64(const unsigned char *p, size_t n)
{
	size_t l = sodium_base64_encoded_len(n, B64);
	char *s = xmalloc(l);
	sodium_bin2base64(s, l, p, n, B64);
	return s;
}

/* Strict base64 decode (up to cap bytes).  The alphabet is checked here:
 * libsodium 1.0.18's decoder maps some bytes >= 0x80 onto valid digits
 * ('/' ^ 0x80 decodes as '/'), which would let an altered file open. */
static int unb64(const char *s, size_t slen, unsigned char *out, size_t cap, size_t *outlen)
{
	size_t n;
	const char *end;
	for (size_t i = 0; i < slen; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '+' ||
		      ch == '/' || ch == '='))
			return -1;
	}
	if (sodium_base642bin(out, cap, s, slen, NULL, &n, &end, B64) != 0 || end != s + slen)
		return -1;
	*outlen = n;
	return 0;
}

void seal_keygen(struct seal_key *k)
{
	crypto_box_keypair(k->pk, k->sk);
}

char *seal_recipient_string(const unsigned char pk[32])
{
	char *e = b64(pk, 32);
	char *r = xasprintf("%s%s", SEAL_RECIPIENT_PREFIX, e);
	free(e);
	return r;
}

int seal_parse_recipient(const char *s, unsigned char pk[32])
{
	size_t n;
	if (!str_has_prefix(s, SEAL_RECIPIENT_PREFIX))
		return -1;
	s += strlen(SEAL_RECIPIENT_PREFIX);
	size_t l = strcspn(s, "\r\n");
	if (unb64(s, l, pk, 32, &n) < 0 || n != 32)
		return -1;
	return 0;
}

char *seal_key_text(const struct seal_key *k)
{
	char *e = b64(k->sk, 32);
	char *r = xasprintf("%s%s\n", SEAL_KEY_PREFIX, e);
	sodium_memzero(e, strlen(e));
	free(e);
	return r;
}

static void wiping_free(void *p)
{
	if (p) {
		sodium_memzero(p, malloc_usable_size(p));
		free(p);
	}
}

void seal_protect_process(void)
{
	struct rlimit none = {0, 0};
	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	json_set_alloc_funcs(malloc, wiping_free);
}

int seal_load_key(const char *path, struct seal_key *k, char **err)
{
	seal_protect_process();
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*err = NULL;
	if (fd < 0 || fstat(fd, &st) < 0) {
		*err = xasprintf("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		*err = xasprintf("%s: key file is accessible by group or others (mode %03o): chmod 600 it",
				 path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	char buf[256];
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0) {
		*err = xasprintf("%s: empty or unreadable key file", path);
		return -1;
	}
	buf[r] = 0;
	size_t n = 0;
	int ok = str_has_prefix(buf, SEAL_KEY_PREFIX);
	if (ok) {
		const char *s = buf + strlen(SEAL_KEY_PREFIX);
		ok = unb64(s, strcspn(s, "\r\n"), k->sk, 32, &n) == 0 && n == 32;
	}
	sodium_memzero(buf, sizeof buf);
	if (!ok) {
		*err = xasprintf("%s: not a shoal private key", path);
		sodium_memzero(k, sizeof *k);
		return -1;
	}
	crypto_scalarmult_base(k->pk, k->sk);
	return 0;
}

/* wrap key = BLAKE2b-256(shared || eph_pk || rcpt_pk), keyed "shoal-wrap-v1" */
static int wrap_key(unsigned char out[KEYLEN], const unsigned char *sk, const unsigned char *peer,
		    const unsigned char eph_pk[32], const unsigned char rcpt_pk[32])
{
	unsigned char shared[32];
	if (crypto_scalarmult(shared, sk, peer) != 0)
		return -1;
	crypto_generichash_state st;
	static const unsigned char ctx[] = "shoal-wrap-v1";
	crypto_generichash_init(&st, ctx, sizeof ctx - 1, KEYLEN);
	crypto_generichash_update(&st, shared, 32);
	crypto_generichash_update(&st, eph_pk, 32);
	crypto_generichash_update(&st, rcpt_pk, 32);
	crypto_generichash_final(&st, out, KEYLEN);
	sodium_memzero(shared, sizeof shared);
	return 0;
}

static int valid_scope(const char *scope)
{
	size_t l = strlen(scope);
	if (!l || l > SEAL_MAX_SCOPE)
		return 0;
	for (const char *p = scope; *p; p++)
		if (*p < 0x21 || *p > 0x7e)
			return 0;
	return 1;
}

char *seal_seal(const unsigned char *plain, size_t len, const char *scope, const unsigned char (*pks)[32],
		size_t npks)
{
	if (!valid_scope(scope) || npks == 0 || npks > SEAL_MAX_RECIPIENTS)
		return NULL;
	unsigned char dk[KEYLEN], eph_pk[32], eph_sk[32];
	crypto_aead_xchacha20poly1305_ietf_keygen(dk);
	crypto_box_keypair(eph_pk, eph_sk);
	struct buf h;
	buf_init(&h, 0);
	buf_adds(&h, SEAL_MAGIC);
	buf_addf(&h, "scope: %s\n", scope);
	char *e = b64(eph_pk, 32);
	buf_addf(&h, "ephemeral: %s\n", e);
	free(e);
	char *wrap_ad = xasprintf("%sscope: %s\n", SEAL_MAGIC, scope);
	for (size_t i = 0; i < npks; i++) {
		unsigned char wk[KEYLEN], box[NONCE + KEYLEN + TAG];
		if (wrap_key(wk, eph_sk, pks[i], eph_pk, pks[i]) < 0) {
			sodium_memzero(dk, sizeof dk);
			sodium_memzero(eph_sk, sizeof eph_sk);
			buf_free(&h);
			free(wrap_ad);
			return NULL;
		}
		randombytes_buf(box, NONCE);
		crypto_aead_xchacha20poly1305_ietf_encrypt(box + NONCE, NULL, dk, KEYLEN, (unsigned char *)wrap_ad,
							   strlen(wrap_ad), NULL, box, wk);
		sodium_memzero(wk, sizeof wk);
		char *r = b64(pks[i], 32), *w = b64(box, sizeof box);
		buf_addf(&h, "recipient: %s %s\n", r, w);
		free(r);
		free(w);
	}
	free(wrap_ad);
	sodium_memzero(eph_sk, sizeof eph_sk);
	size_t clen = NONCE + len + TAG;
	unsigned char *c = xmalloc(clen);
	randombytes_buf(c, NONCE);
	crypto_aead_xchacha20poly1305_ietf_encrypt(c + NONCE, NULL, plain, len, (unsigned char *)h.data, h.len, NULL,
						   c, dk);
	sodium_memzero(dk, sizeof dk);
	char *d = b64(c, clen);
	free(c);
	buf_addf(&h, "data: %s\n", d);
	free(d);
	return buf_detach(&h);
}

/* ---- parsing ---- */

struct parsed {
	char scope[SEAL_MAX_SCOPE + 1];
	unsigned char eph[32];
	size_t nr;
	unsigned char rpk[SEAL_MAX_RECIPIENTS][32];
	unsigned char rbox[SEAL_MAX_RECIPIENTS][NONCE + KEYLEN + TAG];
	size_t header_len; /* bytes before "data: " */
	const char *data;
	size_t data_len;
};

static int line_field(const char **p, const char *end, const char *name, const char **v, size_t *vl)
{
	size_t nl = strlen(name);
	const char *eol = memchr(*p, '\n', (size_t)(end - *p));
	if (!eol || (size_t)(eol - *p) < nl || memcmp(*p, name, nl) != 0)
		return -1;
	*v = *p + nl;
	*vl = (size_t)(eol - *v);
	*p = eol + 1;
	return 0;
}

static int parse(const char *text, size_t len, struct parsed *ps, char **err)
{
	const char *p = text, *end = text + len, *v;
	size_t vl, n;
	memset(ps, 0, sizeof *ps);
	if (len > SEAL_MAX_FILE) {
		*err = xstrdup("sealed file too large");
		return -1;
	}
	if (!seal_is_sealed(text, len)) {
		*err = xstrdup("not a sealed file (no \"shoal-sealed v1\" header)");
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (text[i] != '\n' && (text[i] < 0x20 || text[i] > 0x7e)) {
			*err = xstrdup("malformed sealed file (not printable ASCII)");
			return -1;
		}
	p += strlen(SEAL_MAGIC);
	if (line_field(&p, end, "scope: ", &v, &vl) < 0 || vl == 0 || vl > SEAL_MAX_SCOPE)
		goto malformed;
	memcpy(ps->scope, v, vl);
	if (!valid_scope(ps->scope))
		goto malformed;
	if (line_field(&p, end, "ephemeral: ", &v, &vl) < 0 || unb64(v, vl, ps->eph, 32, &n) < 0 || n != 32)
		goto malformed;
	/* the text is len bytes, not a C string: compare within it */
	while ((size_t)(end - p) >= strlen("recipient: ") && !memcmp(p, "recipient: ", strlen("recipient: "))) {
		if (ps->nr == SEAL_MAX_RECIPIENTS || line_field(&p, end, "recipient: ", &v, &vl) < 0)
			goto malformed;
		const char *sp = memchr(v, ' ', vl);
		if (!sp || unb64(v, (size_t)(sp - v), ps->rpk[ps->nr], 32, &n) < 0 || n != 32 ||
		    unb64(sp + 1, vl - (size_t)(sp + 1 - v), ps->rbox[ps->nr], sizeof ps->rbox[0], &n) < 0 ||
		    n != sizeof ps->rbox[0])
			goto malformed;
		ps->nr++;
	}
	if (ps->nr == 0)
		goto malformed;
	ps->header_len = (size_t)(p - text);
	if (line_field(&p, end, "data: ", &v, &vl) < 0 || p != end)
		goto malformed;
	ps->data = v;
	ps->data_len = vl;
	return 0;
malformed:;
	size_t line = 1;
	for (const char *q = text; q < p && q < end; q++)
		line += *q == '\n';
	*err = xasprintf("malformed sealed file (line %zu)", line);
	return -1;
}

int seal_is_sealed(const char *text, size_t len)
{
	size_t m = strlen(SEAL_MAGIC);
	return len >= m && memcmp(text, SEAL_MAGIC, m) == 0;
}

int seal_check(const char *text, size_t len, const char *scope, char **err)
{
	struct parsed *ps = xmalloc(sizeof *ps);
	*err = NULL;
	int r = parse(text, len, ps, err);
	if (r == 0 && scope && strcmp(ps->scope, scope) != 0) {
		*err = xasprintf("sealed for \"%s\", not for \"%s\"", ps->scope, scope);
		r = -1;
	}
	free(ps);
	return r;
}

int seal_open(const char *text, size_t len, const char *scope, const struct seal_key *k,
	      unsigned char **plain, size_t *plen, char **err)
{
	struct parsed *ps = xmalloc(sizeof *ps);
	unsigned char *c = NULL;
	int ret = -1;
	*plain = NULL;
	*err = NULL;
	if (parse(text, len, ps, err) < 0)
		goto out;
	if (scope && strcmp(ps->scope, scope) != 0) {
		*err = xasprintf("sealed for \"%s\", not for \"%s\"", ps->scope, scope);
		goto out;
	}
	size_t i;
	for (i = 0; i < ps->nr; i++)
		if (sodium_memcmp(ps->rpk[i], k->pk, 32) == 0)
			break;
	if (i == ps->nr) {
		*err = xstrdup("not sealed to this key");
		goto out;
	}
	unsigned char wk[KEYLEN], dk[KEYLEN];
	unsigned long long dkl;
	char *wrap_ad = xasprintf("%sscope: %s\n", SEAL_MAGIC, ps->scope);
	int bad = wrap_key(wk, k->sk, ps->eph, ps->eph, k->pk) < 0 ||
		  crypto_aead_xchacha20poly1305_ietf_decrypt(dk, &dkl, NULL, ps->rbox[i] + NONCE, KEYLEN + TAG,
							     (unsigned char *)wrap_ad, strlen(wrap_ad), ps->rbox[i],
							     wk) != 0 ||
		  dkl != KEYLEN;
	free(wrap_ad);
	sodium_memzero(wk, sizeof wk);
	if (bad) {
		*err = xstrdup("the data key does not open: file altered or not sealed to this key");
		goto out;
	}
	size_t clen;
	c = xmalloc(ps->data_len);
	if (unb64(ps->data, ps->data_len, c, ps->data_len, &clen) < 0 || clen < NONCE + TAG) {
		*err = xstrdup("malformed sealed data");
		sodium_memzero(dk, sizeof dk);
		goto out;
	}
	size_t pl = clen - NONCE - TAG;
	unsigned char *pt = sodium_malloc(pl ? pl : 1);
	unsigned long long got;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &got, NULL, c + NONCE, clen - NONCE,
						       (const unsigned char *)text, ps->header_len, c, dk) != 0) {
		sodium_free(pt);
		*err = xstrdup("the value does not open: file altered");
		sodium_memzero(dk, sizeof dk);
		goto out;
	}
	sodium_memzero(dk, sizeof dk);
	*plain = pt;
	*plen = pl;
	ret = 0;
out:
	free(c);
	sodium_memzero(ps, sizeof *ps);
	free(ps);
	return ret;
}

void seal_free_plain(unsigned char *p, size_t len)
{
	(void)len;
	if (p)
		sodium_free(p); /* sodium_free zeroes */
}

void seal_fingerprint(const char *sealed_text, size_t len, char out[13])
{
	unsigned char h[16];
	crypto_generichash(h, sizeof h, (const unsigned char *)sealed_text, len, NULL, 0);
	sodium_bin2hex(out, 13, h, 6);
}

void seal_redact_key(const struct seal_key *k, unsigned char out[32])
{
	static const unsigned char ctx[] = "shoal-redact-v1";
	crypto_generichash(out, 32, k->sk, sizeof k->sk, ctx, sizeof ctx - 1);
}

void seal_redact_fp(const unsigned char *rkey, const void *p, size_t len, char out[13])
{
	out[0] = 0;
	if (!rkey)
		return;
	unsigned char h[6];
	crypto_generichash(h, sizeof h, p, len, rkey, 32);
	sodium_bin2hex(out, 13, h, sizeof h);
}
