/*
 * lazylib.c - libgit2 and libcurl loaded on first use, not at exec.
 *
 * Linking them pulls ~35 shared libraries into every process (TLS stacks,
 * Kerberos, LDAP, SSH, IDN …): ~8 ms of dynamic linking before main, more
 * than an unchanged `shoal stack deploy` needs for everything else.  Most
 * commands never touch Git or libcurl (a local engine is spoken to over
 * reconcile/uhttp.c), so the `shoal` binary is linked without them and
 * this file defines each function shoal calls as a forwarder that loads the
 * library (by its soname, fixed at build time) on the first call.
 *
 * Only the `shoal` binary links this file; unit tests and fuzzers link the
 * libraries directly.  A function used anywhere in shoal but missing here
 * is a link error, never a silent fallback.
 */
#define CURL_DISABLE_TYPECHECK 1 /* curl_easy_setopt is defined below, not a macro */
#include <curl/curl.h>
#include <dlfcn.h>
#include <git2.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef LIBGIT2_SONAME
#error "LIBGIT2_SONAME must be set by the Makefile"
#endif
#ifndef LIBCURL_SONAME
#error "LIBCURL_SONAME must be set by the Makefile"
#endif

struct lib {
	const char *soname;
	void (*load)(void); /* pthread_once routine: dlopen into handle */
	void *handle;
	pthread_once_t once;
};

static void load_git(void);
static void load_curl(void);
static struct lib git_lib = {LIBGIT2_SONAME, load_git, NULL, PTHREAD_ONCE_INIT};
static struct lib curl_lib = {LIBCURL_SONAME, load_curl, NULL, PTHREAD_ONCE_INIT};

static void load_git(void)
{
	git_lib.handle = dlopen(git_lib.soname, RTLD_NOW | RTLD_LOCAL);
}

static void load_curl(void)
{
	curl_lib.handle = dlopen(curl_lib.soname, RTLD_NOW | RTLD_LOCAL);
}

/* the library's own definition of name; exits when it cannot be had */
static void *sym(struct lib *l, const char *name)
{
	pthread_once(&l->once, l->load);
	void *p = l->handle ? dlsym(l->handle, name) : NULL;
	if (!p) {
		fprintf(stderr, "shoal: cannot load %s from %s: %s\n", name, l->soname, dlerror());
		exit(1);
	}
	return p;
}

/* a forwarder: resolved once, then one indirect call */
#define RESOLVE(lib, name)                                                                           \
	static __typeof__(&name) real_;                                                              \
	__typeof__(&name) f_ = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);                            \
	if (!f_) {                                                                                   \
		f_ = (__typeof__(&name))sym(&lib, #name);                                            \
		__atomic_store_n(&real_, f_, __ATOMIC_RELEASE);                                      \
	}
#define FWD(lib, ret, name, params, args)                                                            \
	ret name params                                                                              \
	{                                                                                            \
		RESOLVE(lib, name)                                                                   \
		return f_ args;                                                                      \
	}
#define FWD_VOID(lib, name, params, args)                                                            \
	void name params                                                                             \
	{                                                                                            \
		RESOLVE(lib, name)                                                                   \
		f_ args;                                                                             \
	}
#define GIT(...) FWD(git_lib, __VA_ARGS__)
#define GITV(...) FWD_VOID(git_lib, __VA_ARGS__)
#define CURLF(...) FWD(curl_lib, __VA_ARGS__)
#define CURLV(...) FWD_VOID(curl_lib, __VA_ARGS__)

/* ---- libgit2 ---- */
GIT(int, git_libgit2_init, (void), ())
GIT(const git_error *, git_error_last, (void), ())
GIT(int, git_error_set_str, (int c, const char *s), (c, s))
GITV(git_buf_dispose, (git_buf *b), (b))
GIT(char *, git_oid_tostr, (char *out, size_t n, const git_oid *id), (out, n, id))

GIT(int, git_repository_init, (git_repository **out, const char *path, unsigned bare), (out, path, bare))
GIT(int, git_repository_open_bare, (git_repository **out, const char *path), (out, path))
GIT(int, git_repository_open_ext, (git_repository **out, const char *path, unsigned int flags, const char *ceil),
    (out, path, flags, ceil))
GIT(int, git_repository_odb, (git_odb **out, git_repository *r), (out, r))
GITV(git_repository_free, (git_repository *r), (r))
GIT(int, git_odb_read_header, (size_t *len, git_object_t *type, git_odb *db, const git_oid *id), (len, type, db, id))
GITV(git_odb_free, (git_odb *db), (db))

GIT(int, git_revparse_single, (git_object **out, git_repository *r, const char *spec), (out, r, spec))
GIT(int, git_object_peel, (git_object **out, const git_object *o, git_object_t t), (out, o, t))
GIT(const git_oid *, git_object_id, (const git_object *o), (o))
GITV(git_object_free, (git_object *o), (o))
GIT(int, git_reference_lookup, (git_reference **out, git_repository *r, const char *name), (out, r, name))
GIT(const git_oid *, git_reference_target, (const git_reference *ref), (ref))
GITV(git_reference_free, (git_reference *ref), (ref))
GIT(int, git_reference_iterator_glob_new, (git_reference_iterator **out, git_repository *r, const char *glob),
    (out, r, glob))
GIT(int, git_reference_next, (git_reference **out, git_reference_iterator *it), (out, it))
GITV(git_reference_iterator_free, (git_reference_iterator *it), (it))
GIT(int, git_reference_delete, (git_reference *ref), (ref))

GIT(const git_oid *, git_commit_id, (const git_commit *c), (c))
GIT(int, git_commit_tree, (git_tree **out, const git_commit *c), (out, c))
GIT(int, git_commit_extract_signature,
    (git_buf *sig, git_buf *data, git_repository *r, git_oid *id, const char *field), (sig, data, r, id, field))
GITV(git_commit_free, (git_commit *c), (c))

GIT(int, git_tree_lookup, (git_tree **out, git_repository *r, const git_oid *id), (out, r, id))
GIT(size_t, git_tree_entrycount, (const git_tree *t), (t))
GIT(const git_tree_entry *, git_tree_entry_byindex, (const git_tree *t, size_t i), (t, i))
GIT(int, git_tree_entry_bypath, (git_tree_entry **out, const git_tree *root, const char *path), (out, root, path))
GIT(const char *, git_tree_entry_name, (const git_tree_entry *e), (e))
GIT(const git_oid *, git_tree_entry_id, (const git_tree_entry *e), (e))
GIT(git_object_t, git_tree_entry_type, (const git_tree_entry *e), (e))
GIT(git_filemode_t, git_tree_entry_filemode, (const git_tree_entry *e), (e))
GITV(git_tree_entry_free, (git_tree_entry *e), (e))
GITV(git_tree_free, (git_tree *t), (t))

GIT(int, git_blob_lookup, (git_blob **out, git_repository *r, const git_oid *id), (out, r, id))
GIT(const void *, git_blob_rawcontent, (const git_blob *b), (b))
GIT(git_object_size_t, git_blob_rawsize, (const git_blob *b), (b))
GITV(git_blob_free, (git_blob *b), (b))

GIT(int, git_remote_create, (git_remote **out, git_repository *r, const char *name, const char *url), (out, r, name, url))
GIT(int, git_remote_create_anonymous, (git_remote **out, git_repository *r, const char *url), (out, r, url))
GIT(int, git_remote_lookup, (git_remote **out, git_repository *r, const char *name), (out, r, name))
GIT(int, git_remote_fetch, (git_remote *rm, const git_strarray *refspecs, const git_fetch_options *o, const char *msg),
    (rm, refspecs, o, msg))
GITV(git_remote_free, (git_remote *rm), (rm))
GIT(const char *, git_remote_url, (const git_remote *rm), (rm))
GIT(int, git_remote_set_url, (git_repository *r, const char *remote, const char *url), (r, remote, url))
GIT(int, git_credential_userpass_plaintext_new, (git_credential **out, const char *user, const char *pass),
    (out, user, pass))
GIT(int, git_credential_ssh_key_new,
    (git_credential **out, const char *user, const char *pub, const char *priv, const char *pass),
    (out, user, pub, priv, pass))

/* variadic: the options shoal sets, each forwarded with its own types */
int git_libgit2_opts(int option, ...)
{
	RESOLVE(git_lib, git_libgit2_opts)
	va_list ap;
	va_start(ap, option);
	int r;
	switch (option) {
	case GIT_OPT_SET_SEARCH_PATH: {
		int level = va_arg(ap, int);
		const char *path = va_arg(ap, const char *);
		r = f_(option, level, path);
		break;
	}
	case GIT_OPT_SET_CACHE_OBJECT_LIMIT: {
		git_object_t type = va_arg(ap, git_object_t);
		size_t size = va_arg(ap, size_t);
		r = f_(option, type, size);
		break;
	}
	case GIT_OPT_SET_SSL_CERT_LOCATIONS: {
		const char *file = va_arg(ap, const char *);
		const char *dir = va_arg(ap, const char *);
		r = f_(option, file, dir);
		break;
	}
	default:
		fprintf(stderr, "shoal: git_libgit2_opts(%d) is not forwarded (agent/lazylib.c)\n", option);
		abort();
	}
	va_end(ap);
	return r;
}

/* ---- libcurl ---- */
CURLF(CURLcode, curl_global_init, (long flags), (flags))
CURLF(CURL *, curl_easy_init, (void), ())
CURLV(curl_easy_cleanup, (CURL *c), (c))
CURLV(curl_easy_reset, (CURL *c), (c))
CURLF(CURLcode, curl_easy_perform, (CURL *c), (c))
CURLF(const char *, curl_easy_strerror, (CURLcode e), (e))
CURLF(struct curl_slist *, curl_slist_append, (struct curl_slist *l, const char *s), (l, s))
CURLV(curl_slist_free_all, (struct curl_slist *l), (l))

/* the option number says the argument's type (curl.h: CURLOPTTYPE_*) */
CURLcode curl_easy_setopt(CURL *c, CURLoption option, ...)
{
	RESOLVE(curl_lib, curl_easy_setopt)
	va_list ap;
	va_start(ap, option);
	CURLcode r;
	if (option < CURLOPTTYPE_OBJECTPOINT)
		r = f_(c, option, va_arg(ap, long));
	else if (option < CURLOPTTYPE_FUNCTIONPOINT)
		r = f_(c, option, va_arg(ap, void *));
	else if (option < CURLOPTTYPE_OFF_T)
		r = f_(c, option, va_arg(ap, void (*)(void)));
	else if (option < CURLOPTTYPE_BLOB)
		r = f_(c, option, va_arg(ap, curl_off_t));
	else
		r = f_(c, option, va_arg(ap, void *));
	va_end(ap);
	return r;
}

/* every CURLINFO takes a pointer */
CURLcode curl_easy_getinfo(CURL *c, CURLINFO info, ...)
{
	RESOLVE(curl_lib, curl_easy_getinfo)
	va_list ap;
	va_start(ap, info);
	void *p = va_arg(ap, void *);
	va_end(ap);
	return f_(c, info, p);
}
