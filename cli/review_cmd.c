/*
 * review_cmd.c - shoal review: a pull request's review in one command.
 *
 * Reads the CI job's environment (forge/ci.c), fetches the pull request's
 * base and head with libgit2 into a scratch bare repository (no checkout,
 * no git binary), validates the head, plans base -> head offline
 * (reconcile/review.c), then sets a commit status on the head and writes
 * one comment on the pull request, found again by its hidden marker and
 * edited on every push (forge/forge.c).  No private key is read: sealed
 * values are checked for form and scope and shown as fingerprints of
 * their sealed text.  The token goes in headers only and is never shown.
 *
 * Exit: 0 the head is valid (and the review posted), 1 the head has
 * errors (and the review, a failure status, posted), 3 the review could
 * not be done or posted (fetch, forge), 64 usage (an option, or what the
 * CI environment lacks).
 */
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "../forge/ci.h"
#include "../forge/forge.h"
#include "../reconcile/log.h"
#include "../reconcile/repo.h"
#include "../reconcile/review.h"
#include "../reconcile/source.h"
#include "cli.h"

#define DEFAULT_CONTEXT "shoal/review"
#define MAX_LISTED 50 /* errors (and warnings) listed in the comment */

struct review_opts {
	const char *forge, *api, *repo_url, *repo, *repo_name, *pr, *base, *head, *token_file, *path, *context, *target_url,
		*ca_file;
	int dry_run;
};

/* ---------------- fetching ---------------- */

struct creds {
	const char *user, *token;
	int tries;
};

static int credentials(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	struct creds *c = payload;
	(void)url;
	(void)user_from_url;
	if (c->tries++ > 0 || !c->token || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		git_error_set_str(GIT_ERROR_NET, c->token ? "authentication failed: the server refused the token"
							  : "authentication required, and no token was given");
		return GIT_EUSER;
	}
	return git_credential_userpass_plaintext_new(out, c->user ? c->user : "x-access-token", c->token);
}

static int have_commit(git_repository *repo, const char *sha)
{
	git_object *o = NULL;
	char *spec = xasprintf("%s^{commit}", sha);
	int ok = git_revparse_single(&o, repo, spec) == 0;
	free(spec);
	git_object_free(o);
	return ok;
}

static int git_fail(char **err, const char *what)
{
	const git_error *e = git_error_last();
	*err = xasprintf("%s: %s", what, e && e->message ? e->message : "error");
	return -1;
}

/* Base and head into the bare repository dir: the target branch and the
 * forge's ref of the pull request, then any commit still missing by its
 * ID (servers that allow it). */
static int fetch(const struct ci_env *ci, const char *dir, const char *ca_file, char **err)
{
	git_libgit2_init();
	/* no user's or system's gitconfig: no insteadOf, no credential helper */
	for (int lvl = GIT_CONFIG_LEVEL_PROGRAMDATA; lvl <= GIT_CONFIG_LEVEL_GLOBAL; lvl++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, lvl, "");
	if (ca_file && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, NULL) < 0)
		return git_fail(err, ca_file);
	git_repository *repo = NULL;
	git_remote *rm = NULL;
	int ret = -1;
	char *what = xasprintf("fetching from %s", ci->clone_url);
	/* an anonymous remote: the refspecs below are all it fetches */
	if (git_repository_init(&repo, dir, 1) < 0 || git_remote_create_anonymous(&rm, repo, ci->clone_url) < 0) {
		git_fail(err, what);
		goto out;
	}
	struct creds cr = {ci->git_user, ci->git_token, 0};
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	fo.callbacks.credentials = credentials;
	fo.callbacks.payload = &cr;
	char *head_ref = ci_head_ref(ci);
	char *specs[4];
	specs[0] = ci->base_branch ? xasprintf("+refs/heads/%s:refs/shoal/base", ci->base_branch)
				   : xstrdup("+refs/heads/*:refs/shoal/heads/*");
	specs[1] = xasprintf("+%s:refs/shoal/head", head_ref);
	free(head_ref);
	git_strarray sa = {specs, 2};
	int r = git_remote_fetch(rm, &sa, &fo, "shoal review");
	free(specs[0]);
	free(specs[1]);
	if (r < 0) {
		git_fail(err, what);
		goto out;
	}
	/* a commit no ref holds any more (a base branch that moved past a
	 * rewrite, a head pushed over): by its ID, where the server allows */
	size_t n = 0;
	if (!have_commit(repo, ci->base))
		specs[n++] = xasprintf("+%s:refs/shoal/base-commit", ci->base);
	if (!have_commit(repo, ci->head))
		specs[n++] = xasprintf("+%s:refs/shoal/head-commit", ci->head);
	if (n) {
		git_strarray ids = {specs, n};
		cr.tries = 0;
		r = git_remote_fetch(rm, &ids, &fo, "shoal review");
		for (size_t i = 0; i < n; i++)
			free(specs[i]);
		if (r < 0 || !have_commit(repo, ci->base) || !have_commit(repo, ci->head)) {
			const git_error *e = git_error_last();
			*err = xasprintf("%s: commit %s not found (the %s branch and %s hold neither; fetching it by its ID: %s)",
					 ci->clone_url, have_commit(repo, ci->base) ? ci->head : ci->base,
					 ci->base_branch ? ci->base_branch : "repository's", "the pull request's ref",
					 r < 0 && e && e->message ? e->message : "not allowed by the server");
			goto out;
		}
	}
	ret = 0;
out:
	free(what);
	git_remote_free(rm);
	git_repository_free(repo);
	return ret;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---------------- the review ---------------- */

struct outcome {
	struct diags d; /* the head's */
	json_t *rv;	/* review_compare */
	int head_unreadable;
};

/* Load a commit of the repository at dir; -1 (with diagnostics) when the
 * repository itself cannot be read there. */
static int load(const char *dir, const char *rev, const char *path, const struct repo *same_as, struct repo *r,
		struct diags *d)
{
	struct source *src = NULL;
	char *err = NULL;
	if (source_git_new(&src, dir, rev, path, &err) < 0) {
		diags_add(d, DIAG_ERROR, NULL, 0, 0, "%s", err);
		free(err);
		return -1;
	}
	struct repo_opts ro = {.check_only = 1, .record_inputs = 1, .same_as = same_as};
	int rc = repo_load(src, &ro, r, d);
	source_free(src);
	return rc;
}

static void review_run(const char *dir, const struct ci_env *ci, const char *path, struct outcome *o)
{
	struct repo base = {0}, head = {0};
	struct diags bd = {0};
	/* a base the head's stacks do not come from yet (no stacks/, or
	 * broken): everything at head is new, its errors are not this pull
	 * request's to fix */
	if (load(dir, ci->base, path, NULL, &base, &bd) < 0)
		memset(&base, 0, sizeof base);
	diags_free(&bd);
	if (load(dir, ci->head, path, &base, &head, &o->d) < 0) {
		o->head_unreadable = 1;
		memset(&head, 0, sizeof head);
	}
	o->rv = review_compare(&base, &head, NULL);
	repo_free(&base);
	repo_free(&head);
}

/* The longest run of backticks in s, so a fence can be longer. */
static int longest_backticks(const char *s)
{
	int best = 0, run = 0;
	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

/* Diagnostics of one level in a fenced block, at most MAX_LISTED. */
static void fenced(struct buf *o, const struct diags *d, enum diag_level lvl)
{
	const struct diag **order = diags_sorted(d);
	struct buf lines;
	buf_init(&lines, 0);
	size_t shown = 0, total = 0;
	for (size_t i = 0; i < d->n; i++) {
		if (order[i]->level != lvl)
			continue;
		total++;
		if (shown == MAX_LISTED)
			continue;
		diag_format(order[i], &lines);
		buf_addc(&lines, '\n');
		shown++;
	}
	free(order);
	int n = longest_backticks(lines.data) + 1;
	if (n < 3)
		n = 3;
	buf_addf(o, "%.*stext\n%s%.*s\n", n, "``````````````````````````````", lines.data, n, "``````````````````````````````");
	if (total > shown)
		buf_addf(o, "\n…and %zu more: `shoal validate --rev HEAD` lists them all.\n", total - shown);
	buf_free(&lines);
}

static size_t count_level(const struct diags *d, enum diag_level lvl)
{
	size_t n = 0;
	for (size_t i = 0; i < d->n; i++)
		n += d->v[i].level == lvl;
	return n;
}

/* "valid; …" or "N errors: file:line:col: message; …" (the forge cuts it). */
static char *status_text(const struct outcome *o)
{
	struct buf b;
	buf_init(&b, 0);
	if (o->d.nerrors) {
		buf_addf(&b, "%zu error%s:", o->d.nerrors, o->d.nerrors == 1 ? "" : "s");
		const struct diag **order = diags_sorted(&o->d);
		int first = 1;
		for (size_t i = 0; i < o->d.n && b.len < 400; i++) {
			const struct diag *g = order[i];
			if (g->level != DIAG_ERROR)
				continue;
			buf_adds(&b, first ? " " : "; ");
			first = 0;
			if (g->file && g->line > 0)
				buf_addf(&b, "%s:%d:%d: %s", g->file, g->line, g->col, g->msg);
			else if (g->file)
				buf_addf(&b, "%s: %s", g->file, g->msg);
			else
				buf_adds(&b, g->msg);
		}
		free(order);
		return buf_detach(&b);
	}
	size_t created = 0, updated = 0, removed = 0, stacks = json_array_size(json_object_get(o->rv, "stacks"));
	size_t i, j;
	json_t *st, *e;
	json_array_foreach(json_object_get(o->rv, "stacks"), i, st) {
		json_array_foreach(json_object_get(st, "services"), j, e) {
			const char *a = json_string_value(json_object_get(e, "action"));
			created += !strcmp(a, "create");
			updated += !strcmp(a, "update");
			removed += !strcmp(a, "remove");
		}
	}
	if (!stacks)
		buf_adds(&b, "valid; no change in desired state");
	else
		buf_addf(&b, "valid; %zu stack%s changed: %zu service%s created, %zu updated, %zu removed", stacks,
			 stacks == 1 ? "" : "s", created, created == 1 ? "" : "s", updated, removed);
	return buf_detach(&b);
}

static void short_sha(struct buf *o, const char *sha)
{
	buf_addf(o, "`%.12s`", sha);
}

/* The comment: the marker, the verdict, the errors, the plan. */
static char *comment_body(const char *marker, const struct ci_env *ci, const char *path, const struct outcome *o,
			  size_t max)
{
	struct buf b, plan;
	buf_init(&b, 0);
	buf_init(&plan, 0);
	review_markdown(o->rv, &plan);
	for (int pass = 0; pass < 2; pass++) {
		buf_reset(&b);
		buf_addf(&b, "%s\n## shoal review\n\n", marker);
		size_t warns = count_level(&o->d, DIAG_WARN);
		if (o->d.nerrors)
			buf_addf(&b, "**\xe2\x9d\x8c %zu error%s** at head ", o->d.nerrors, o->d.nerrors == 1 ? "" : "s");
		else
			buf_adds(&b, "**\xe2\x9c\x85 valid** at head ");
		short_sha(&b, ci->head);
		buf_adds(&b, " (base ");
		short_sha(&b, ci->base);
		if (path && *path)
			buf_addf(&b, ", stacks under `%s`", path);
		buf_adds(&b, ")");
		buf_adds(&b, o->d.nerrors ? ": nothing of the invalid stacks would be applied." : ".");
		if (ci->target_url && str_has_prefix(ci->target_url, "http"))
			buf_addf(&b, " [The run](%s).", ci->target_url);
		buf_adds(&b, "\n\n");
		if (o->d.nerrors)
			fenced(&b, &o->d, DIAG_ERROR);
		if (warns) {
			buf_addf(&b, "\n<details><summary>%zu warning%s</summary>\n\n", warns, warns == 1 ? "" : "s");
			fenced(&b, &o->d, DIAG_WARN);
			buf_adds(&b, "\n</details>\n");
		}
		buf_adds(&b, "\n");
		if (pass == 0)
			buf_add(&b, plan.data, plan.len);
		else
			buf_addf(&b, "### shoal plan\n\nThe plan (%zu bytes) is longer than a comment may be: "
				     "`shoal plan --base %.12s --head %.12s --format markdown` shows it.\n",
				 plan.len, ci->base, ci->head);
		buf_addf(&b, "\n<sub>shoal %s \xc2\xb7 this comment is updated on every push</sub>\n", SHOAL_VERSION);
		if (b.len <= max)
			break;
	}
	buf_free(&plan);
	return buf_detach(&b);
}

/* ---------------- the command ---------------- */

static int usage(void)
{
	fprintf(stderr, "usage: shoal review [--dry-run] [--forge github|gitea|gitlab] [--api URL] [--repo-url URL | --repo PATH]\n"
			"                    [--repo-name OWNER/NAME] [--pr N] [--base SHA] [--head SHA] [--token-file FILE] [--path P]\n"
			"                    [--context NAME] [--target-url URL] [--ca-file PEM]\n");
	return EXIT_USAGE;
}

static int parse(int argc, char **argv, struct review_opts *ro)
{
	static const struct option lo[] = {{"forge", required_argument, 0, 'F'},
					   {"api", required_argument, 0, 'a'},
					   {"repo-url", required_argument, 0, 'u'},
					   {"repo", required_argument, 0, 'R'},
					   {"repo-name", required_argument, 0, 'N'},
					   {"pr", required_argument, 0, 'n'},
					   {"base", required_argument, 0, 'b'},
					   {"head", required_argument, 0, 'h'},
					   {"token-file", required_argument, 0, 't'},
					   {"path", required_argument, 0, 'P'},
					   {"context", required_argument, 0, 'c'},
					   {"target-url", required_argument, 0, 'T'},
					   {"ca-file", required_argument, 0, 'C'},
					   {"dry-run", no_argument, 0, 'd'},
					   {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'F': ro->forge = optarg; break;
		case 'a': ro->api = optarg; break;
		case 'u': ro->repo_url = optarg; break;
		case 'R': ro->repo = optarg; break;
		case 'N': ro->repo_name = optarg; break;
		case 'n': ro->pr = optarg; break;
		case 'b': ro->base = optarg; break;
		case 'h': ro->head = optarg; break;
		case 't': ro->token_file = optarg; break;
		case 'P': ro->path = optarg; break;
		case 'c': ro->context = optarg; break;
		case 'T': ro->target_url = optarg; break;
		case 'C': ro->ca_file = optarg; break;
		case 'd': ro->dry_run = 1; break;
		default: return -1;
		}
	}
	return optind == argc && !(ro->repo && ro->repo_url) ? 0 : -1;
}

static const char *env_get(const char *name)
{
	return getenv(name);
}

/* The options over what the CI said; -1 (usage) with a message. */
static int apply_options(const struct review_opts *ro, struct ci_env *ci)
{
	if (ro->forge) {
		if (forge_kind_parse(ro->forge, &ci->kind) < 0) {
			fprintf(stderr, "shoal: --forge %s: expected github, gitea (forgejo) or gitlab\n", ro->forge);
			return -1;
		}
		ci->known = 1;
	}
	if (ro->api) {
		free(ci->api);
		ci->api = xstrdup(ro->api);
	}
	const char *url = ro->repo ? ro->repo : ro->repo_url;
	if (url) {
		const char *rest = strstr(url, "://");
		if (ro->repo_url && rest && memchr(rest + 3, '@', strcspn(rest + 3, "/"))) {
			fprintf(stderr, "shoal: --repo-url: no credentials in the URL: give the token with --token-file\n");
			return -1;
		}
		if (rest && !str_has_prefix(url, "https://") && !str_has_prefix(url, "http://")) {
			fprintf(stderr, "shoal: --repo-url %s: HTTP(S) or a local path only\n", url);
			return -1;
		}
		free(ci->clone_url);
		ci->clone_url = xstrdup(url);
	}
	if (ro->repo_name) {
		free(ci->repo);
		ci->repo = xstrdup(ro->repo_name);
	}
	if (ro->pr) {
		char *end;
		ci->pr = strtol(ro->pr, &end, 10);
		if (*end || ci->pr < 1) {
			fprintf(stderr, "shoal: --pr %s: expected a number\n", ro->pr);
			return -1;
		}
	}
	if (ro->base) {
		free(ci->base);
		ci->base = xstrdup(ro->base);
	}
	if (ro->head) {
		free(ci->head);
		ci->head = xstrdup(ro->head);
	}
	if (ro->target_url) {
		free(ci->target_url);
		ci->target_url = xstrdup(ro->target_url);
	}
	if (ro->token_file) {
		char *t;
		size_t len;
		if (read_file(ro->token_file, 64 << 10, &t, &len) < 0) {
			fprintf(stderr, "shoal: --token-file %s: %m\n", ro->token_file);
			return -1;
		}
		while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
			t[--len] = 0;
		if (!len || memchr(t, '\n', len)) {
			fprintf(stderr, "shoal: --token-file %s: expected one line, the token\n", ro->token_file);
			sodium_memzero(t, len);
			free(t);
			return -1;
		}
		if (ci->token)
			sodium_memzero(ci->token, strlen(ci->token));
		free(ci->token);
		ci->token = t;
		ci->job_token = 0;
		ci->token_from = "--token-file";
	}
	return 0;
}

static void print_request(const struct forge_req *rq)
{
	struct buf b;
	buf_init(&b, 0);
	forge_req_describe(rq, &b);
	printf("%s\n", b.data);
	buf_free(&b);
}

int cmd_review(int argc, char **argv)
{
	struct review_opts ro = {0};
	if (parse(argc, argv, &ro) < 0)
		return usage();
	struct ci_env ci = {0};
	char *err = NULL;
	int ret = EXIT_USAGE;
	char *dir = NULL, *marker = NULL, *context = NULL;
	struct outcome o = {0};
	if (ci_detect(env_get, &ci, &err) < 0 || apply_options(&ro, &ci) < 0) {
		if (err)
			fprintf(stderr, "shoal: %s\n", err);
		goto out;
	}
	if (ci_complete(&ci, &err) < 0) {
		fprintf(stderr, "shoal review: %s\n", err);
		goto out;
	}
	if (!ro.dry_run && !ci.token) {
		fprintf(stderr, "shoal review: no token to post with: %s\n",
			ci.kind == FORGE_GITLAB ? "set GITLAB_API_TOKEN (a project access token, scope api) or --token-file"
			: ci.kind == FORGE_GITEA ? "pass it to the step (env: GITEA_TOKEN: ${{ secrets.GITEA_TOKEN }}) or --token-file"
						 : "pass it to the step (env: GITHUB_TOKEN: ${{ github.token }}) or --token-file");
		goto out;
	}
	if (!ro.dry_run && ci.kind == FORGE_GITLAB && ci.job_token) {
		fprintf(stderr, "shoal review: GitLab's CI_JOB_TOKEN may fetch the repository but not post notes or commit "
				"statuses: set a masked CI/CD variable GITLAB_API_TOKEN (a project access token, scope api, "
				"role Developer) or give --token-file\n");
		goto out;
	}
	context = xstrdup(ro.context ? ro.context : DEFAULT_CONTEXT);
	if (strstr(context, "--") || strpbrk(context, "<>\n")) {
		fprintf(stderr, "shoal: --context %s: no \"--\", \"<\", \">\" or newline\n", context);
		goto out;
	}
	marker = !strcmp(context, DEFAULT_CONTEXT) ? xstrdup("<!-- shoal-review -->")
						   : xasprintf("<!-- shoal-review %s -->", context);

	/* the commits: a local repository as it is, else fetched */
	ret = EXIT_UNDONE;
	if (ro.repo) {
		dir = xstrdup(ro.repo);
	} else {
		const char *tmp = getenv("TMPDIR");
		dir = xasprintf("%s/shoal-review-XXXXXX", tmp && *tmp ? tmp : "/tmp");
		if (!mkdtemp(dir)) {
			fprintf(stderr, "shoal review: %s: %m\n", dir);
			free(dir);
			dir = NULL;
			goto out;
		}
		fprintf(stderr, "shoal review: fetching %.12s and %.12s from %s\n", ci.base, ci.head, ci.clone_url);
		if (fetch(&ci, dir, ro.ca_file, &err) < 0) {
			fprintf(stderr, "shoal review: %s\n", err);
			goto out;
		}
	}
	review_run(dir, &ci, ro.path, &o);
	diags_print(&o.d);
	review_print_text(o.rv, 0);
	int verdict = o.d.nerrors ? EXIT_FAIL : EXIT_OK;
	enum forge_state st = o.d.nerrors ? FORGE_FAILURE : FORGE_SUCCESS;
	char *desc = status_text(&o);
	char *body = comment_body(marker, &ci, ro.path, &o, forge_comment_max(ci.kind));
	char ua[64];
	snprintf(ua, sizeof ua, "shoal/%s", SHOAL_VERSION);
	struct forge f = {.kind = ci.kind, .api = ci.api, .repo = ci.repo, .token = ci.token, .job_token = ci.job_token,
			  .ca_file = ro.ca_file, .user_agent = ua};
	if (ro.dry_run) {
		/* what would be sent; nothing is */
		struct forge_req rq;
		printf("\n--dry-run: nothing is sent to %s; these would be:\n\n", forge_kind_name(ci.kind));
		if (forge_req_status(&f, ci.head, st, context, desc, ci.target_url, &rq, &err) == 0) {
			print_request(&rq);
			forge_req_free(&rq);
		}
		if (!err && forge_req_comment_create(&f, ci.pr, body, &rq, &err) == 0) {
			printf("(the comment holding %s is looked for on every page of the pull request's comments "
			       "and edited instead, when there is one)\n", marker);
			print_request(&rq);
			forge_req_free(&rq);
		}
		if (err)
			fprintf(stderr, "shoal review: %s\n", err);
		else
			ret = verdict;
	} else {
		long long id = 0;
		const char *action = NULL;
		if (forge_status_set(&f, ci.head, st, context, desc, ci.target_url, &err) < 0) {
			fprintf(stderr, "shoal review: commit status: %s\n", err);
		} else {
			fprintf(stderr, "shoal review: status %s set on %.12s (%s)\n", forge_state_name(ci.kind, st), ci.head,
				context);
			if (forge_comment_upsert(&f, ci.pr, marker, body, &id, &action, &err) < 0) {
				fprintf(stderr, "shoal review: comment: %s\n", err);
			} else {
				fprintf(stderr, "shoal review: comment %lld %s on %s %ld\n", id, action,
					ci.kind == FORGE_GITLAB ? "merge request" : "pull request", ci.pr);
				ret = verdict;
			}
		}
	}
	free(desc);
	free(body);
out:
	if (dir && !ro.repo)
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	free(err);
	free(marker);
	free(context);
	diags_free(&o.d);
	json_decref(o.rv);
	ci_env_free(&ci);
	return ret;
}
