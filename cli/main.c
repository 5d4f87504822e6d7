/*
 * shoal - GitOps for Docker Swarm.  The command table and cmd_* entry points.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <limits.h>

#include <sodium.h>

#include "../reconcile/apply.h"
#include "../reconcile/compose.h"
#include "../reconcile/convert.h"
#include "../reconcile/docker.h"
#include "../reconcile/log.h"
#include "../reconcile/plan.h"
#include "../reconcile/regauth.h"
#include "../reconcile/repo.h"
#include "../reconcile/review.h"
#include "../reconcile/rollout.h"
#include "../reconcile/waves.h"
#include "../reconcile/scrub.h"
#include "../reconcile/source.h"
#include "../reconcile/sync.h"
#include "../secrets/seal.h"
#include "cli.h"
#include "../bootstrap/bootstrap.h"
#include "../agent/gitverify.h"
#include "help.h"

static const char *opt_host; /* -H, else DOCKER_HOST */

int cli_load_key(const char *file, struct seal_key *k, const struct seal_key **kp)
{
	const char *f = file ? file : getenv("SHOAL_KEY_FILE");
	char *err = NULL;
	*kp = NULL;
	if (!f || !*f)
		return 0;
	if (seal_load_key(f, k, &err) < 0) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		return -1;
	}
	*kp = k;
	return 0;
}

int cli_open_engine(struct docker **dk)
{
	char *err = NULL;
	if (docker_new(dk, opt_host, &err) != DOCKER_OK) {
		say(stderr, "error", NULL, "shoal: %s", err);
		free(err);
		return -1;
	}
	/* no /info round trip to check for a manager: the engine answers the
	 * first swarm read on a worker or outside a swarm with 503 "This node
	 * is not a swarm manager …", before anything is written */
	return 0;
}

static int use_color(void)
{
	const char *nc = getenv("NO_COLOR");
	return isatty(STDOUT_FILENO) && !(nc && *nc);
}

/* --resolve-image's value: always, changed or never (else said). */
static int resolve_mode_ok(const char *v)
{
	if (!strcmp(v, "always") || !strcmp(v, "changed") || !strcmp(v, "never"))
		return 1;
	fprintf(stderr, "shoal: invalid option %s for flag --resolve-image\n", v);
	return 0;
}

/* ---------------- stack deploy / rm / ls ---------------- */

/* The compose files of -c, read (- : stdin, as docker does); -1 after
 * saying which could not be. */
static int read_compose_files(const struct strv *files, struct compose_file *cf, char **datas)
{
	for (size_t i = 0; i < files->n; i++) {
		size_t len;
		int in = !strcmp(files->v[i], "-");
		if (read_file(in ? "/dev/stdin" : files->v[i], COMPOSE_MAX_FILE, &datas[i], &len) < 0) {
			fprintf(stderr, "shoal: %s: %m\n", in ? "stdin" : files->v[i]);
			return -1;
		}
		cf[i].name = in ? "stdin" : files->v[i];
		cf[i].data = datas[i];
		cf[i].len = len;
	}
	return 0;
}

/* Relative paths start from the first file's folder (stdin: here);
 * caller frees. */
static char *compose_workdir(const char *first)
{
	char *wd = strcmp(first, "-") ? realpath(first, NULL) : NULL;
	char *slash = wd ? strrchr(wd, '/') : NULL;
	if (slash && slash != wd)
		*slash = 0;
	if (!wd)
		wd = getcwd(NULL, 0) ?: xstrdup(".");
	return wd;
}

/* docker's --with-registry-auth reads the CLI's own config.json (caller
 * frees). */
static char *docker_config_file(void)
{
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	return dc && *dc ? xasprintf("%s/config.json", dc) : xasprintf("%s/.docker/config.json", home ? home : "");
}

static int cmd_stack_deploy(int argc, char **argv)
{
	static const struct option lo[] = {{"compose-file", required_argument, 0, 'c'},
					   {"prune", no_argument, 0, 'p'},
					   {"resolve-image", required_argument, 0, 'r'},
					   {"with-registry-auth", no_argument, 0, 'w'},
					   {"registry-auth", required_argument, 0, 'G'},
					   {"key", required_argument, 0, 'k'},
					   {0, 0, 0, 0}};
	struct strv files = {0};
	struct repo_args a = {.resolve = "always"}; /* docker's default */
	int c, ret = EXIT_FAIL, with_auth = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': strv_push(&files, xstrdup(optarg)); break;
		case 'p': a.prune = 1; break;
		case 'r': a.resolve = optarg; break;
		case 'w': with_auth = 1; break;
		case 'G': a.registry_auth = optarg; break;
		case 'k': a.key_file = optarg; break;
		default: strv_free(&files); return EXIT_USAGE;
		}
	}
	if (!resolve_mode_ok(a.resolve)) {
		strv_free(&files);
		return EXIT_USAGE;
	}
	if (optind != argc - 1 || files.n == 0) {
		fprintf(stderr, "usage: shoal stack deploy -c FILE [-c FILE ...] [--prune] [--resolve-image always|changed|never] STACK\n");
		strv_free(&files);
		return EXIT_USAGE;
	}
	const char *stack = argv[optind];
	const char *bad = convert_stack_name_problem(stack);
	if (bad) {
		fprintf(stderr, "shoal: invalid stack name \"%s\": %s\n", stack, bad);
		strv_free(&files);
		return EXIT_FAIL;
	}
	struct compose_file *cf = xcalloc(files.n, sizeof *cf);
	char **datas = xcalloc(files.n, sizeof *datas);
	char *wd = NULL, *def_auth = NULL;
	struct seal_key key;
	const struct seal_key *keyp = NULL;
	struct docker *dk = NULL;
	struct plan p = {0};
	struct repo r = {0};
	int invalid = 0;
	if (read_compose_files(&files, cf, datas) < 0)
		goto out;
	wd = compose_workdir(files.v[0]);
	if (cli_load_key(a.key_file, &key, &keyp) < 0 || cli_open_engine(&dk) < 0)
		goto out;
	if (with_auth && !a.registry_auth)
		def_auth = docker_config_file();
	struct stack_files sf = {.stack = stack, .files = cf, .n = files.n, .workdir = wd, .keep_invalid = 1};
	struct sync_opts so = {.dk = dk, .key = keyp, .files = &sf, .prune = a.prune, .resolve = a.resolve,
			       .registry_auth = a.registry_auth ? a.registry_auth : def_auth, .report = &log_apply_report};
	if (sync_plan(&so, &p, &r, &invalid) < 0)
		goto out;
	if (!invalid) {
		struct apply_result res;
		ret = sync_apply(&so, &p, &res) == 0 ? EXIT_OK : EXIT_FAIL;
		if (p.n == 0)
			printf("Stack %s is up to date: nothing to do.\n", stack);
	}
	repo_free(&r);
out:
	plan_free(&p);
	docker_free(dk);
	if (keyp)
		sodium_memzero(&key, sizeof key);
	for (size_t i = 0; i < files.n; i++)
		free(datas[i]);
	free(datas);
	free(cf);
	free(wd);
	free(def_auth);
	strv_free(&files);
	return ret;
}

static int cmd_stack_rm(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: shoal stack rm STACK [STACK ...]\n");
		return EXIT_USAGE;
	}
	struct docker *dk;
	if (cli_open_engine(&dk) < 0)
		return EXIT_FAIL;
	char *err = NULL;
	/* docker stack rm removes everything labelled with the namespace:
	 * each stack's objects read by that label */
	struct plan_opts po = {.remove_all = 1};
	struct plan p = {0};
	for (int i = 1; i < argc; i++) {
		struct snapshot_scope sc = {.stack = argv[i]};
		struct swarm_state st;
		if (swarm_fetch(dk, &sc, &st, &err) < 0) {
			fprintf(stderr, "shoal: %s\n", err);
			free(err);
			plan_free(&p);
			docker_free(dk);
			return EXIT_FAIL;
		}
		struct live lv;
		live_select(&st, argv[i], &lv);
		if (!json_array_size(lv.services) && !json_array_size(lv.networks) && !json_array_size(lv.secrets) &&
		    !json_array_size(lv.configs))
			fprintf(stderr, "Nothing found in stack: %s\n", argv[i]);
		else
			plan_stack(&p, NULL, argv[i], &lv, &po, &err);
		live_free(&lv);
		swarm_state_free(&st);
	}
	plan_sort(&p);
	struct apply_result res;
	int ret = apply_plan(dk, &p, &log_apply_report, &res) < 0 ? EXIT_FAIL : EXIT_OK;
	plan_free(&p);
	docker_free(dk);
	return ret;
}

static int cmd_stack_ls(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct docker *dk;
	if (cli_open_engine(&dk) < 0)
		return EXIT_FAIL;
	json_t *svcs = NULL;
	char *err = NULL;
	char *f = docker_filters("label", LABEL_NAMESPACE);
	char *path = xasprintf("/services?filters=%s", f);
	int rc = docker_call(dk, "GET", path, NULL, &svcs, &err);
	free(path);
	free(f);
	if (rc) {
		fprintf(stderr, "shoal: %s\n", err);
		free(err);
		docker_free(dk);
		return EXIT_FAIL;
	}
	json_t *counts = json_object(), *mgd = json_object();
	size_t i;
	json_t *x;
	json_array_foreach(svcs, i, x) {
		json_t *l = json_object_get(json_object_get(x, "Spec"), "Labels");
		const char *ns = json_string_value(json_object_get(l, LABEL_NAMESPACE));
		if (!ns)
			continue;
		json_int_t n = json_integer_value(json_object_get(counts, ns));
		json_object_set_new(counts, ns, json_integer(n + 1));
		if (json_object_get(l, LABEL_MANAGED))
			json_object_set_new(mgd, ns, json_true());
	}
	printf("%-24s %-9s %s\n", "NAME", "SERVICES", "MANAGED BY");
	size_t n;
	const char **keys = json_sorted_keys(counts, &n);
	for (size_t k = 0; k < n; k++)
		printf("%-24s %-9lld %s\n", keys[k], (long long)json_integer_value(json_object_get(counts, keys[k])),
		       json_object_get(mgd, keys[k]) ? "shoal (repo)" : "-");
	free(keys);
	json_decref(counts);
	json_decref(mgd);
	json_decref(svcs);
	docker_free(dk);
	return EXIT_OK;
}

/* ---------------- repo mode ---------------- */


/* With --require-signed, refuse a commit not signed by an allowed signer. */
int cli_check_signed(const struct repo_args *a, const char *rev, char **why)
{
	if (why)
		*why = NULL;
	if (!a->require_signed)
		return 0;
	if (!rev || !a->allowed_signers) {
		say(stderr, "error", NULL, "shoal: --require-signed needs --rev (a commit) and --allowed-signers FILE");
		return -1;
	}
	char *who = NULL, *id = NULL, *err = NULL;
	int r = gitverify_commit(a->dir, rev, a->allowed_signers, &who, &id, &err);
	if (r < 0) {
		const char *f[] = {"commit", rev, NULL};
		say(stderr, "error", f, "shoal: refusing %s: %s", rev, err);
		if (why)
			*why = xasprintf("refused: %s", err);
	} else {
		const char *f[] = {"commit", id, "signer", who, NULL};
		say(stderr, "info", f, "commit %.12s signed by %s", id, who);
	}
	free(who);
	free(id);
	free(err);
	return r;
}

/* Load a repository; diagnostics go to stderr. */
static int load_repo(const struct repo_args *a, const char *rev, const struct repo_opts *ro, struct repo *r)
{
	struct source *src = sync_source_open(a->dir, rev, a->path);
	if (!src)
		return -1;
	struct diags d = {0};
	int rc = repo_load(src, ro, r, &d);
	diags_print(&d);
	diags_free(&d);
	source_free(src);
	return rc;
}

static void cli_sync_opts(const struct repo_args *a, struct sync_opts *so)
{
	so->dir = a->dir;
	so->rev = a->rev;
	so->path = a->path;
	so->prune = a->prune;
	so->only = a->only;
	so->commit = sync_commit_of(a->rev);
	so->resolve = a->resolve;
	so->follow = a->follow;
	so->registry_auth = a->registry_auth;
	so->adopt = &a->adopt;
	so->adopt_all = a->adopt_all;
}

/* The repository a describes, signature checked, planned against dk. */
static int repo_plan(const struct repo_args *a, const struct seal_key *key, struct sync_opts *so, struct plan *p,
		     struct repo *r, int *invalid)
{
	if (cli_check_signed(a, a->rev, NULL) < 0)
		return -1;
	cli_sync_opts(a, so);
	so->key = key;
	so->report = &log_apply_report;
	return sync_plan(so, p, r, invalid);
}

/* The options of plan, apply and validate into a (formats: the --format
 * values the command takes, comma-separated, or NULL): 0, or -1 on a usage
 * error. */
static int parse_repo_args(int argc, char **argv, struct repo_args *a, const char *formats)
{
	static const struct option lo[] = {{"prune", no_argument, 0, 'p'},
					   {"no-prune", no_argument, 0, 'n'},
					   {"format", required_argument, 0, 'f'},
					   {"key", required_argument, 0, 'k'},
					   {"rev", required_argument, 0, 'r'},
					   {"base", required_argument, 0, 'b'},
					   {"head", required_argument, 0, 'h'},
					   {"repo", required_argument, 0, 'R'},
					   {"path", required_argument, 0, 'P'},
					   {"require-signed", no_argument, 0, 'S'},
					   {"allowed-signers", required_argument, 0, 'A'},
					   {"resolve-image", required_argument, 0, 'I'},
					   {"registry-auth", required_argument, 0, 'G'},
					   {"stack", required_argument, 0, 's'},
					   {"adopt", required_argument, 0, 'a'},
					   {"adopt-all", no_argument, 0, 'N'},
					   {"converge-timeout", required_argument, 0, 'W'},
					   {0, 0, 0, 0}};
	int c;
	const char *repo = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'p': a->prune = 1; break;
		case 'n': a->prune = 0; break;
		case 'k': a->key_file = optarg; break;
		case 'r': a->rev = optarg; break;
		case 'b': a->base = optarg; break;
		case 'h': a->head = optarg; break;
		case 'R': repo = optarg; break;
		case 'P': a->path = optarg; break;
		case 'S': a->require_signed = 1; break;
		case 'A': a->allowed_signers = optarg; break;
		case 'I':
			if (!resolve_mode_ok(optarg))
				return -1;
			a->resolve = optarg;
			break;
		case 'G': a->registry_auth = optarg; break;
		case 's': a->only = optarg; break;
		case 'a': strv_push(&a->adopt, xstrdup(optarg)); break;
		case 'N': a->adopt_all = 1; break;
		case 'W':
			if (compose_parse_duration(optarg, &a->converge_ns) < 0 || a->converge_ns <= 0) {
				fprintf(stderr, "shoal: invalid duration %s for flag --converge-timeout\n", optarg);
				return -1;
			}
			break;
		case 'f': {
			char *want = xasprintf(",%s,", optarg), *have = xasprintf(",%s,", formats ? formats : "");
			int ok = formats && strstr(have, want);
			free(want);
			free(have);
			if (!ok) {
				fprintf(stderr, "shoal: --format must be one of %s\n", formats ? formats : "(none)");
				return -1;
			}
			a->format = optarg;
			break;
		}
		default: return -1;
		}
	}
	if (argc - optind > 1 || (repo && argc - optind == 1))
		return -1;
	a->dir = repo ? repo : optind < argc ? argv[optind] : ".";
	return 0;
}

/* What plan, apply and validate hold from start to end (repo_cmd_end). */
struct repo_cmd {
	struct repo_args a;
	struct seal_key key;
	const struct seal_key *keyp; /* &key, or NULL: no key given */
	struct docker *dk;
	struct plan p;
	struct repo r;
	int invalid; /* stacks left out of the plan */
};

enum base_head { BASE_HEAD_REFUSED, BASE_HEAD_TAKEN };

/* A repository command's options into rc->a, then its key: EXIT_OK to go
 * on, else the exit code (a usage error: usage_text on stderr).  With
 * BASE_HEAD_TAKEN, --base and --head go together, without --rev. */
static int repo_cmd_start(struct repo_cmd *rc, int argc, char **argv, const char *formats, enum base_head bh,
			  const char *usage_text)
{
	const struct repo_args *a = &rc->a;
	int bad = parse_repo_args(argc, argv, &rc->a, formats) < 0;
	if (!bad && cli_load_key(a->key_file, &rc->key, &rc->keyp) < 0)
		return EXIT_FAIL;
	if (!bad && bh == BASE_HEAD_TAKEN)
		bad = !a->base != !a->head || (a->rev && a->base);
	else if (!bad)
		bad = a->base || a->head;
	if (bad) {
		fputs(usage_text, stderr);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The engine, then the repository planned against it into rc->p. */
static int repo_cmd_plan(struct repo_cmd *rc, struct sync_opts *so)
{
	if (cli_open_engine(&rc->dk) < 0)
		return -1;
	so->dk = rc->dk;
	return repo_plan(&rc->a, rc->keyp, so, &rc->p, &rc->r, &rc->invalid);
}

static void repo_cmd_end(struct repo_cmd *rc)
{
	repo_free(&rc->r);
	plan_free(&rc->p);
	docker_free(rc->dk);
	if (rc->keyp)
		sodium_memzero(&rc->key, sizeof rc->key);
	strv_free(&rc->a.adopt);
}

/* shoal plan --base REV --head REV: no engine, only the repository. */
static int offline_plan(const struct repo_args *a, const struct seal_key *key)
{
	struct repo base = {0}, head = {0};
	struct repo_opts ro = {.key = key, .check_only = !key, .record_inputs = 1};
	scrub_author_only();
	if (load_repo(a, a->base, &ro, &base) < 0)
		return EXIT_FAIL;
	/* the head's stacks made from the same files as the base's are not read
	 * again: a pull request that changes one stack parses one stack twice */
	ro.same_as = &base;
	if (load_repo(a, a->head, &ro, &head) < 0) {
		repo_free(&base);
		return EXIT_FAIL;
	}
	unsigned char rkey[32];
	if (key)
		seal_redact_key(key, rkey);
	json_t *rv = review_compare(&base, &head, key ? rkey : NULL);
	sodium_memzero(rkey, sizeof rkey);
	if (!strcmp(a->format, "json")) {
		char *s = json_dumps(rv, JSON_INDENT(2) | JSON_SORT_KEYS);
		printf("%s\n", s);
		free(s);
	} else if (!strcmp(a->format, "markdown")) {
		review_print_markdown(rv);
	} else {
		review_print_text(rv, use_color());
	}
	int ret = json_array_size(json_object_get(rv, "invalid")) ? EXIT_FAIL : review_has_changes(rv) ? EXIT_CHANGES : EXIT_OK;
	json_decref(rv);
	repo_free(&base);
	repo_free(&head);
	return ret;
}

static int cmd_plan(int argc, char **argv)
{
	struct repo_cmd rc = {.a = {.format = "text", .prune = 1}};
	int ret = repo_cmd_start(&rc, argc, argv, "text,json,markdown", BASE_HEAD_TAKEN,
				 "usage: shoal plan [DIR] [--rev REV] [--format text|json] [--no-prune] [--key FILE] [--adopt STACK | --adopt-all]\n"
				 "       shoal plan --base REV --head REV [--repo PATH] [--path P] [--format text|json|markdown]\n");
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;
	if (rc.a.base) {
		ret = offline_plan(&rc.a, rc.keyp);
		goto out;
	}
	if (!strcmp(rc.a.format, "markdown")) {
		fprintf(stderr, "shoal: --format markdown is for plans between commits (--base/--head)\n");
		ret = EXIT_USAGE;
		goto out;
	}
	struct sync_opts so = {0};
	if (repo_cmd_plan(&rc, &so) < 0)
		goto out;
	json_t *waves = waves_json(&rc.p, &rc.r);
	if (!strcmp(rc.a.format, "json")) {
		plan_print_json_with(&rc.p, "waves", waves);
	} else {
		waves_print_text(waves);
		plan_print_text(&rc.p, use_color());
	}
	json_decref(waves);
	ret = rc.invalid ? EXIT_FAIL : rc.p.n ? EXIT_CHANGES : EXIT_OK;
out:
	repo_cmd_end(&rc);
	return ret;
}

/* Each hook that ran, and what it printed (scrubbed). */
static void print_hooks(const json_t *stacks)
{
	const char *name;
	json_t *st;
	json_object_foreach((json_t *)stacks, name, st) {
		size_t i;
		json_t *h;
		json_array_foreach(json_object_get(st, "hooks"), i, h) {
			const char *out = json_string_value(json_object_get(h, "output"));
			printf("Hook %s (%s) %s%s\n", json_string_value(json_object_get(h, "service")),
			       json_string_value(json_object_get(h, "phase")), json_string_value(json_object_get(h, "outcome")),
			       out && *out ? ", output:" : "");
			for (const char *l = out; l && *l;) {
				const char *e = strchr(l, '\n');
				int n = e ? (int)(e - l) : (int)strlen(l);
				printf("  | %.*s\n", n, l);
				l = e ? e + 1 : l + n;
			}
		}
	}
}

static int cmd_apply(int argc, char **argv)
{
	struct repo_cmd rc = {.a = {.prune = 1}};
	int ret = repo_cmd_start(&rc, argc, argv, NULL, BASE_HEAD_REFUSED,
				 "usage: shoal apply [DIR] [--rev REV] [--path P] [--prune | --no-prune] [--key FILE] [--adopt STACK | --adopt-all] [--converge-timeout 5m]\n");
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;
	struct sync_opts so = {0};
	if (repo_cmd_plan(&rc, &so) < 0)
		goto out;
	/* in waves: a stack after those it depends on, hooks around */
	struct rollout_opts ro = {.timeout_ns = rc.a.converge_ns, .report = so.report};
	struct rollout_result rres;
	int ar = rollout_run(rc.dk, &rc.p, &rc.r, &ro, &rres);
	print_hooks(rres.stacks);
	if (rres.why)
		say(stderr, "error", NULL, "shoal: %s", rres.why);
	struct apply_result res = rres.ar;
	rollout_result_free(&rres);
	char *sum = sync_summary(&so, &res);
	printf("%s\n", sum);
	free(sum);
	ret = ar == 0 && !rc.invalid ? EXIT_OK : EXIT_FAIL;
out:
	repo_cmd_end(&rc);
	return ret;
}

static int cmd_validate(int argc, char **argv)
{
	struct repo_cmd rc = {0};
	struct source *src = NULL;
	struct diags d = {0};
	int ret = repo_cmd_start(&rc, argc, argv, NULL, BASE_HEAD_REFUSED,
				 "usage: shoal validate [DIR | --rev REV [--repo PATH]] [--path P] [--key FILE]\n");
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;
	if (!(src = sync_source_open(rc.a.dir, rc.a.rev, rc.a.path)))
		goto out;
	/* without a key, sealed files are checked for form and scope only */
	struct repo_opts ro = {.key = rc.keyp, .check_only = !rc.keyp};
	int lr = repo_load(src, &ro, &rc.r, &d);
	diags_print(&d);
	ret = lr < 0 || d.nerrors ? EXIT_FAIL : EXIT_OK;
	if (ret == EXIT_OK)
		printf("%zu stack%s valid\n", rc.r.n, rc.r.n == 1 ? "" : "s");
out:
	diags_free(&d);
	source_free(src);
	repo_cmd_end(&rc);
	return ret;
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option lo[] = {{"repo", required_argument, 0, 'R'},
					   {"allowed-signers", required_argument, 0, 'A'},
					   {0, 0, 0, 0}};
	const char *repo = ".", *allowed = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'R')
			repo = optarg;
		else if (c == 'A')
			allowed = optarg;
		else
			optind = argc + 1;
	}
	if (optind != argc - 1 || !allowed) {
		fprintf(stderr, "usage: shoal verify REV [--repo PATH] --allowed-signers FILE\n");
		return EXIT_USAGE;
	}
	char *who = NULL, *id = NULL, *err = NULL;
	int r = gitverify_commit(repo, argv[optind], allowed, &who, &id, &err);
	if (r == 0)
		printf("commit %s: good signature by %s\n", id, who);
	else
		fprintf(stderr, "shoal: %s\n", err);
	free(who);
	free(id);
	free(err);
	return r == 0 ? EXIT_OK : EXIT_FAIL;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("shoal %s\n", SHOAL_VERSION);
	return EXIT_OK;
}

/* ---------------- sealed credentials ---------------- */

/* --recipient R, where R is a recipient string or @FILE of them. */
static int add_recipients(const char *arg, unsigned char (**pks)[32], size_t *n)
{
	char *data = NULL;
	const char *src = arg;
	if (arg[0] == '@') {
		if (read_file(arg + 1, 1 << 20, &data, NULL) < 0) {
			fprintf(stderr, "shoal: %s: %m\n", arg + 1);
			return -1;
		}
		src = data;
	}
	int ret = 0, any = 0;
	const char *p = src;
	while (*p) {
		size_t l = strcspn(p, "\n");
		char *line = xstrndup(p, l);
		p += l + (p[l] == '\n');
		char *t = line;
		while (*t == ' ' || *t == '\t')
			t++;
		if (*t && *t != '#') {
			*pks = xrealloc(*pks, (*n + 1) * 32);
			if (seal_parse_recipient(t, (*pks)[*n]) < 0) {
				fprintf(stderr, "shoal: not a recipient: %s (expected %s...)\n", t, SEAL_RECIPIENT_PREFIX);
				ret = -1;
			} else {
				(*n)++;
				any = 1;
			}
		}
		free(line);
	}
	free(data);
	if (!any && ret == 0) {
		fprintf(stderr, "shoal: no recipient in %s\n", arg);
		ret = -1;
	}
	return ret;
}

static int read_input(const char *in, char **data, size_t *len)
{
	if (in && strcmp(in, "-")) {
		if (read_file(in, SEAL_MAX_FILE, data, len) < 0) {
			fprintf(stderr, "shoal: %s: %m\n", in);
			return -1;
		}
		return 0;
	}
	struct buf b;
	buf_init(&b, SEAL_MAX_FILE);
	char tmp[4096];
	size_t r;
	while ((r = fread(tmp, 1, sizeof tmp, stdin)) > 0)
		if (buf_add(&b, tmp, r) < 0) {
			fprintf(stderr, "shoal: input larger than %u bytes\n", SEAL_MAX_FILE);
			sodium_memzero(b.data, b.len);
			buf_free(&b);
			return -1;
		}
	sodium_memzero(tmp, sizeof tmp);
	*len = b.len;
	*data = buf_detach(&b);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	seal_protect_process();
	const char *out = "shoal.key";
	int c;
	optind = 1;
	while ((c = getopt(argc, argv, "o:")) != -1) {
		if (c != 'o') {
			fprintf(stderr, "usage: shoal keygen [-o FILE]\n");
			return EXIT_USAGE;
		}
		out = optarg;
	}
	struct seal_key k;
	seal_keygen(&k);
	int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "shoal: %s: %m (an existing key is never overwritten)\n", out);
		sodium_memzero(&k, sizeof k);
		return EXIT_FAIL;
	}
	char *txt = seal_key_text(&k);
	int ok = write(fd, txt, strlen(txt)) == (ssize_t)strlen(txt) && fsync(fd) == 0;
	sodium_memzero(txt, strlen(txt));
	free(txt);
	close(fd);
	if (!ok) {
		fprintf(stderr, "shoal: %s: write failed\n", out);
		unlink(out);
		sodium_memzero(&k, sizeof k);
		return EXIT_FAIL;
	}
	char *r = seal_recipient_string(k.pk);
	sodium_memzero(&k, sizeof k);
	fprintf(stderr, "private key written to %s (mode 600); its recipient:\n", out);
	printf("%s\n", r);
	free(r);
	return EXIT_OK;
}

struct seal_args {
	unsigned char (*pks)[32];
	size_t npks;
	const char *stack, *name, *in, *key;
	int first_file; /* optind after parsing */
};

static int parse_seal_args(int argc, char **argv, struct seal_args *a)
{
	static const struct option lo[] = {{"recipient", required_argument, 0, 'r'},
					   {"stack", required_argument, 0, 's'},
					   {"name", required_argument, 0, 'n'},
					   {"in", required_argument, 0, 'i'},
					   {"key", required_argument, 0, 'k'},
					   {0, 0, 0, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (add_recipients(optarg, &a->pks, &a->npks) < 0)
				return -1;
			break;
		case 's': a->stack = optarg; break;
		case 'n': a->name = optarg; break;
		case 'i': a->in = optarg; break;
		case 'k': a->key = optarg; break;
		default: return -1;
		}
	}
	a->first_file = optind;
	return 0;
}

static char *scope_of(const char *stack, const char *name)
{
	return xasprintf("%s/%s", stack, name);
}

static int cmd_seal(int argc, char **argv)
{
	seal_protect_process(); /* the plaintext */
	struct seal_args a = {0};
	if (parse_seal_args(argc, argv, &a) < 0 || !a.npks || !a.stack || !a.name || a.first_file != argc) {
		fprintf(stderr, "usage: shoal seal --recipient R [--recipient R ...] --stack S --name N [--in FILE] > FILE.sealed\n");
		free(a.pks);
		return EXIT_USAGE;
	}
	char *data;
	size_t len;
	if (read_input(a.in, &data, &len) < 0) {
		free(a.pks);
		return EXIT_FAIL;
	}
	char *scope = scope_of(a.stack, a.name);
	char *t = seal_seal((unsigned char *)data, len, scope, (const unsigned char (*)[32])a.pks, a.npks);
	sodium_memzero(data, len);
	free(data);
	free(a.pks);
	free(scope);
	if (!t) {
		fprintf(stderr, "shoal: cannot seal: invalid stack/name (printable ASCII, no spaces) or recipient\n");
		return EXIT_FAIL;
	}
	fputs(t, stdout);
	free(t);
	return EXIT_OK;
}

static int cmd_unseal(int argc, char **argv)
{
	struct seal_args a = {0};
	if (parse_seal_args(argc, argv, &a) < 0 || !a.key || !a.stack || !a.name || a.first_file != argc) {
		fprintf(stderr, "usage: shoal unseal --key FILE --stack S --name N [--in FILE]\n");
		free(a.pks);
		return EXIT_USAGE;
	}
	free(a.pks);
	struct seal_key k;
	const struct seal_key *kp;
	char *err = NULL, *data;
	size_t len;
	if (cli_load_key(a.key, &k, &kp) < 0)
		return EXIT_FAIL;
	if (read_input(a.in, &data, &len) < 0) {
		sodium_memzero(&k, sizeof k);
		return EXIT_FAIL;
	}
	char *scope = scope_of(a.stack, a.name);
	unsigned char *p;
	size_t pl;
	int r = seal_open(data, len, scope, &k, &p, &pl, &err);
	sodium_memzero(&k, sizeof k);
	free(scope);
	free(data);
	if (r < 0) {
		fprintf(stderr, "shoal: %s: %s\n", a.in ? a.in : "stdin", err);
		free(err);
		return EXIT_FAIL;
	}
	fwrite(p, 1, pl, stdout);
	seal_free_plain(p, pl);
	return EXIT_OK;
}

/* Re-encrypt sealed files in place for a new recipient set. */
static int cmd_reseal(int argc, char **argv)
{
	struct seal_args a = {0};
	if (parse_seal_args(argc, argv, &a) < 0 || !a.key || !a.npks || a.first_file >= argc) {
		fprintf(stderr, "usage: shoal reseal --key FILE --recipient R [--recipient R ...] FILE.sealed ...\n");
		free(a.pks);
		return EXIT_USAGE;
	}
	struct seal_key k;
	const struct seal_key *kp;
	char *err = NULL;
	if (cli_load_key(a.key, &k, &kp) < 0) {
		free(a.pks);
		return EXIT_FAIL;
	}
	int ret = EXIT_OK;
	for (int i = a.first_file; i < argc; i++) {
		char *data, *t = NULL, *tmp = NULL;
		size_t len, pl;
		unsigned char *p = NULL;
		if (read_file(argv[i], SEAL_MAX_FILE, &data, &len) < 0) {
			fprintf(stderr, "shoal: %s: %m\n", argv[i]);
			ret = EXIT_FAIL;
			continue;
		}
		/* the scope stays the file's own */
		const char *sc = strstr(data, "\nscope: ");
		char *scope = sc ? xstrndup(sc + 8, strcspn(sc + 8, "\n")) : NULL;
		if (!scope || seal_open(data, len, scope, &k, &p, &pl, &err) < 0) {
			fprintf(stderr, "shoal: %s: %s\n", argv[i], err ? err : "malformed sealed file");
			free(err);
			err = NULL;
			ret = EXIT_FAIL;
			goto next;
		}
		t = seal_seal(p, pl, scope, (const unsigned char (*)[32])a.pks, a.npks);
		seal_free_plain(p, pl);
		tmp = xasprintf("%s.tmp-%d", argv[i], (int)getpid());
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (!t || fd < 0 || write(fd, t, strlen(t)) != (ssize_t)strlen(t) || fsync(fd) < 0 ||
		    close(fd) < 0 || rename(tmp, argv[i]) < 0) {
			fprintf(stderr, "shoal: %s: cannot rewrite: %m\n", argv[i]);
			unlink(tmp);
			ret = EXIT_FAIL;
			goto next;
		}
		fprintf(stderr, "resealed %s for %zu recipient%s\n", argv[i], a.npks, a.npks == 1 ? "" : "s");
	next:
		free(tmp);
		free(t);
		free(scope);
		free(data);
	}
	sodium_memzero(&k, sizeof k);
	free(a.pks);
	return ret;
}

/* ---------------- command table ---------------- */

/* The commands; what each does is told by its help entry (help.c),
 * where the usage lists and the manual page come from too. */
struct cmd {
	const char *name;
	int (*fn)(int, char **);
};

static const struct cmd stack_cmds[] = {
	{"deploy", cmd_stack_deploy},
	{"rm", cmd_stack_rm},
	{"ls", cmd_stack_ls},
	{NULL, NULL},
};

static int run_table(const struct cmd *tab, int argc, char **argv, const char *prefix);

static int cmd_stack(int argc, char **argv)
{
	return run_table(stack_cmds, argc - 1, argv + 1, "shoal stack");
}

static const struct cmd cmds[] = {
	{"plan", cmd_plan},
	{"apply", cmd_apply},
	{"validate", cmd_validate},
	{"review", cmd_review},
	{"stack", cmd_stack},
	{"agent", cmd_agent},
	{"bootstrap", cmd_bootstrap},
	{"agent-cycle", cmd_agent_cycle},
	{"status", cmd_status},
	{"health", cmd_health},
	{"verify", cmd_verify},
	{"keygen", cmd_keygen},
	{"seal", cmd_seal},
	{"unseal", cmd_unseal},
	{"reseal", cmd_reseal},
	{"version", cmd_version},
	{"help", cmd_help},
	{NULL, NULL},
};

/* A usage error: the commands of prefix on stderr, exit 64. */
static int usage(const char *prefix)
{
	const struct help_entry *h = strcmp(prefix, "shoal") ? help_find(prefix + 6) : NULL;
	if (h)
		help_print(h, stderr);
	else
		help_list(stderr, "shoal");
	return EXIT_USAGE;
}

static int run_table(const struct cmd *tab, int argc, char **argv, const char *prefix)
{
	if (argc < 1)
		return usage(prefix);
	for (const struct cmd *c = tab; c->name; c++)
		if (!strcmp(c->name, argv[0]))
			return c->fn(argc, argv);
	fprintf(stderr, "%s: unknown command '%s'\n", prefix, argv[0]);
	return usage(prefix);
}

/* --help after a command (before any "--"), or -h right after it: that
 * command's help on stdout.  "stack deploy", "bootstrap swarm": the
 * subcommand's when there is one.  -1: no help asked for. */
static int want_help(int argc, char **argv)
{
	int asked = argc > 1 && !strcmp(argv[1], "-h");
	for (int i = 1; i < argc && !asked && strcmp(argv[i], "--"); i++)
		asked = !strcmp(argv[i], "--help");
	if (!asked || !strcmp(argv[0], "help"))
		return -1;
	const struct help_entry *h = NULL;
	if (argc > 1) {
		char *two = xasprintf("%s %s", argv[0], argv[1]);
		h = help_find(two);
		free(two);
	}
	if (!h)
		h = help_find(argv[0]);
	int known = 0;
	for (const struct cmd *c = cmds; c->name; c++)
		known |= !strcmp(c->name, argv[0]);
	if (!known) {
		fprintf(stderr, "shoal: unknown command '%s'\n", argv[0]);
		return usage("shoal");
	}
	if (!h) { /* a command the help table forgot: a bug, said so */
		fprintf(stderr, "shoal: no help for '%s'\n", argv[0]);
		return EXIT_FAIL;
	}
	help_print(h, stdout);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0) {
		fprintf(stderr, "shoal: libsodium failed to initialise\n");
		return EXIT_FAIL;
	}
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		if ((!strcmp(argv[i], "-H") || !strcmp(argv[i], "--host")) && i + 1 < argc) {
			opt_host = argv[i + 1];
			setenv("DOCKER_HOST", opt_host, 1); /* the agent's processes too */
			i += 2;
		} else if (!strcmp(argv[i], "--version")) {
			return cmd_version(0, NULL);
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help_list(stdout, "shoal");
			return EXIT_OK;
		} else {
			return usage("shoal");
		}
	}
	int ret = i < argc ? want_help(argc - i, argv + i) : -1;
	if (ret < 0)
		ret = run_table(cmds, argc - i, argv + i, "shoal");
	scrub_wipe();
	return ret;
}
