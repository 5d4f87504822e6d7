#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

struct source {
	int is_git;
	char *root;   /* dir: realpath of the root */
	char *prefix; /* shown before paths */
	git_repository *repo;
	git_tree *tree;
	char commit[GIT_OID_HEXSZ + 1];
	json_t **record; /* Git: where reads are recorded (source_record) */
};

char *source_join(const char *base, const char *rel)
{
	if (rel[0] == '/')
		return NULL;
	char *all = *base ? xasprintf("%s/%s", base, rel) : xstrdup(rel);
	struct strv parts = {0};
	char *save = NULL;
	int bad = 0;
	for (char *t = strtok_r(all, "/", &save); t; t = strtok_r(NULL, "/", &save)) {
		if (!strcmp(t, "."))
			continue;
		if (!strcmp(t, "..")) {
			if (!parts.n) {
				bad = 1;
				break;
			}
			free(parts.v[--parts.n]);
			continue;
		}
		strv_push(&parts, xstrdup(t));
	}
	free(all);
	if (bad || !parts.n) {
		strv_free(&parts);
		return NULL;
	}
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < parts.n; i++)
		buf_addf(&b, "%s%s", i ? "/" : "", parts.v[i]);
	strv_free(&parts);
	return buf_detach(&b);
}

int source_dir_new(struct source **out, const char *root, char **err)
{
	char *r = realpath(root, NULL);
	if (!r) {
		*err = xasprintf("%s: %s", root, strerror(errno));
		return -1;
	}
	struct source *s = xcalloc(1, sizeof *s);
	s->root = r;
	size_t l = strlen(root);
	s->prefix = !strcmp(root, ".") ? xstrdup("") : xasprintf("%s%s", root, l && root[l - 1] == '/' ? "" : "/");
	*out = s;
	return 0;
}

static void git_err(char **err, const char *what)
{
	const git_error *e = git_error_last();
	*err = xasprintf("%s: %s", what, e && e->message ? e->message : "git error");
}

int source_git_new(struct source **out, const char *repo_path, const char *rev, const char *sub, char **err)
{
	static int inited;
	if (!inited) {
		git_libgit2_init();
		/* libgit2 caches no tree over 4 KiB, and every path lookup
		 * starts at the root: with a thousand stacks the 40 KiB stacks/
		 * tree was inflated and parsed again for each file read */
		git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)4 << 20);
		inited = 1;
	}
	struct source *s = xcalloc(1, sizeof *s);
	s->is_git = 1;
	s->record = xcalloc(1, sizeof *s->record);
	git_object *obj = NULL;
	git_commit *commit = NULL;
	git_tree *tree = NULL;
	if (git_repository_open_ext(&s->repo, repo_path, 0, NULL) < 0) {
		git_err(err, repo_path);
		goto fail;
	}
	if (git_revparse_single(&obj, s->repo, rev) < 0) {
		git_err(err, rev);
		goto fail;
	}
	if (git_object_peel((git_object **)&commit, obj, GIT_OBJECT_COMMIT) < 0) {
		git_err(err, rev);
		goto fail;
	}
	git_oid_tostr(s->commit, sizeof s->commit, git_commit_id(commit));
	if (git_commit_tree(&tree, commit) < 0) {
		git_err(err, rev);
		goto fail;
	}
	if (sub && *sub) {
		char *norm = source_join("", sub);
		git_tree_entry *e = NULL;
		int ok = norm && git_tree_entry_bypath(&e, tree, norm) == 0 &&
			 git_tree_entry_type(e) == GIT_OBJECT_TREE &&
			 git_tree_lookup(&s->tree, s->repo, git_tree_entry_id(e)) == 0;
		git_tree_entry_free(e);
		if (!ok) {
			*err = xasprintf("%s: no directory %s in commit %.12s", repo_path, sub, s->commit);
			free(norm);
			goto fail;
		}
		s->prefix = xasprintf("%s/", norm);
		free(norm);
		git_tree_free(tree);
	} else {
		s->tree = tree;
		s->prefix = xstrdup("");
	}
	git_object_free(obj);
	git_commit_free(commit);
	*out = s;
	return 0;
fail:
	git_tree_free(tree);
	git_object_free(obj);
	git_commit_free(commit);
	source_free(s);
	return -1;
}

void source_free(struct source *s)
{
	if (!s)
		return;
	git_tree_free(s->tree);
	git_repository_free(s->repo);
	free(s->record);
	free(s->root);
	free(s->prefix);
	free(s);
}

const char *source_prefix(const struct source *s)
{
	return s->prefix;
}

const char *source_commit(const struct source *s)
{
	return s->is_git ? s->commit : NULL;
}

static int cmpstrp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int source_list(const struct source *s, const char *dir, int want, struct strv *out)
{
	if (s->is_git) {
		git_tree *t = NULL;
		if (!*dir) {
			t = s->tree;
		} else {
			git_tree_entry *e = NULL;
			int ok = git_tree_entry_bypath(&e, s->tree, dir) == 0 && git_tree_entry_type(e) == GIT_OBJECT_TREE &&
				 git_tree_lookup(&t, s->repo, git_tree_entry_id(e)) == 0;
			git_tree_entry_free(e);
			if (!ok)
				return -1;
		}
		size_t n = git_tree_entrycount(t);
		for (size_t i = 0; i < n; i++) {
			const git_tree_entry *e = git_tree_entry_byindex(t, i);
			const char *name = git_tree_entry_name(e);
			git_filemode_t m = git_tree_entry_filemode(e);
			if (name[0] == '.')
				continue;
			if (want == SOURCE_DIRS	   ? m == GIT_FILEMODE_TREE :
			    want == SOURCE_LINKS ? m == GIT_FILEMODE_LINK :
						   (m == GIT_FILEMODE_BLOB || m == GIT_FILEMODE_BLOB_EXECUTABLE))
				strv_push(out, xstrdup(name));
		}
		if (t != s->tree)
			git_tree_free(t);
	} else {
		char *full = *dir ? xasprintf("%s/%s", s->root, dir) : xstrdup(s->root);
		DIR *dh = opendir(full);
		if (!dh) {
			free(full);
			return -1;
		}
		struct dirent *e;
		while ((e = readdir(dh))) {
			if (e->d_name[0] == '.')
				continue;
			char *p = xasprintf("%s/%s", full, e->d_name);
			struct stat st;
			int ok = lstat(p, &st) == 0;
			free(p);
			if (ok && (want == SOURCE_DIRS ? S_ISDIR(st.st_mode) :
				   want == SOURCE_LINKS ? S_ISLNK(st.st_mode) : S_ISREG(st.st_mode)))
				strv_push(out, xstrdup(e->d_name));
		}
		closedir(dh);
		free(full);
	}
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmpstrp);
	return 0;
}

/* "100644:<blob id>": mode and object of an entry; "" when absent */
static char *entry_print(const git_tree_entry *e)
{
	char id[GIT_OID_HEXSZ + 1];
	if (!e)
		return xstrdup("");
	git_oid_tostr(id, sizeof id, git_tree_entry_id(e));
	return xasprintf("%06o:%s", (unsigned)git_tree_entry_filemode(e), id);
}

static void record(const struct source *s, const char *path, const git_tree_entry *e)
{
	if (!*s->record)
		return;
	char *p = entry_print(e);
	json_object_set_new(*s->record, path, json_string(p));
	free(p);
}

void source_record(const struct source *s, json_t *into)
{
	if (s->is_git)
		*s->record = into;
}

char *source_fingerprint(const struct source *s, const char *path)
{
	if (!s->is_git)
		return NULL;
	git_tree_entry *e = NULL;
	if (git_tree_entry_bypath(&e, s->tree, path) < 0)
		e = NULL;
	char *p = entry_print(e);
	git_tree_entry_free(e);
	return p;
}

static char *too_large(size_t cap)
{
	return cap >= (1u << 20) ? xasprintf("file too large (the limit is %zu MiB)", cap >> 20) :
				   xasprintf("file too large (the limit is %zu KiB)", cap >> 10);
}

int source_read(const struct source *s, const char *path, size_t cap, char **data, size_t *len, char **err)
{
	*err = NULL;
	if (s->is_git) {
		git_tree_entry *e = NULL;
		git_blob *b = NULL;
		if (git_tree_entry_bypath(&e, s->tree, path) < 0) {
			record(s, path, NULL);
			*err = xstrdup("no such file in the commit");
			return -1;
		}
		record(s, path, e);
		git_filemode_t m = git_tree_entry_filemode(e);
		if (m != GIT_FILEMODE_BLOB && m != GIT_FILEMODE_BLOB_EXECUTABLE) {
			*err = xstrdup(m == GIT_FILEMODE_LINK ? "is a symbolic link: refused" : "not a regular file");
			git_tree_entry_free(e);
			return -1;
		}
		/* the size from the object's header: a huge blob is never inflated */
		git_odb *odb = NULL;
		size_t hsz = 0;
		git_object_t ht;
		int hok = git_repository_odb(&odb, s->repo) == 0 &&
			  git_odb_read_header(&hsz, &ht, odb, git_tree_entry_id(e)) == 0;
		git_odb_free(odb);
		if (hok && hsz > cap) {
			*err = too_large(cap);
			git_tree_entry_free(e);
			return -1;
		}
		if (git_blob_lookup(&b, s->repo, git_tree_entry_id(e)) < 0) {
			git_err(err, path);
			git_tree_entry_free(e);
			return -1;
		}
		git_tree_entry_free(e);
		git_object_size_t sz = git_blob_rawsize(b);
		if (sz > cap) {
			*err = too_large(cap);
			git_blob_free(b);
			return -1;
		}
		*data = xstrndup(git_blob_rawcontent(b), (size_t)sz);
		*len = (size_t)sz;
		git_blob_free(b);
		return 0;
	}
	char *full = xasprintf("%s/%s", s->root, path);
	char *real = realpath(full, NULL);
	size_t rl = strlen(s->root);
	if (!real) {
		*err = xstrdup(strerror(errno));
		free(full);
		return -1;
	}
	int inside = strncmp(real, s->root, rl) == 0 && real[rl] == '/';
	free(real);
	if (!inside) {
		*err = xstrdup("path leaves the repository (symbolic link)");
		free(full);
		return -1;
	}
	int r = read_file(full, cap, data, len);
	if (r < 0)
		*err = errno == EFBIG ? too_large(cap) : xstrdup(strerror(errno));
	free(full);
	return r;
}
