/*
 * common.c - the agent's options, config file, logging, secrets and state
 * codec: linked into both the supervisor (agentd.c) and the cycle
 * (agent.c).  See agent.h.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "../reconcile/regauth.h"
#include "../reconcile/log.h"
#include "../reconcile/scrub.h"
#include "../reconcile/util.h"
#include "agent.h"
#include "knownhosts.h"

volatile sig_atomic_t stop_flag;
volatile sig_atomic_t fetch_flag;
volatile pid_t cycle_pid;
int wake_fd = -1;
const double agent_buckets[8] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
	if (cycle_pid > 0) /* the cycle in progress finishes its request and stops */
		kill(cycle_pid, SIGTERM);
	if (wake_fd >= 0) {
		int e = errno;
		ssize_t r = write(wake_fd, "s", 1);
		(void)r;
		errno = e;
	}
}

void on_fetch_signal(int sig)
{
	(void)sig;
	fetch_flag = 1;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void set_error(struct agent *ag, const char *msg)
{
	pthread_mutex_lock(&ag->mu);
	free(ag->last_error);
	char *m = scrub_text(msg);
	/* UTF-8, or the state line that carries it cannot be written */
	ag->last_error = m ? utf8_fix(m) : NULL;
	free(m);
	pthread_mutex_unlock(&ag->mu);
}

static char *read_secret_file(const char *path, const char *what)
{
	char *data;
	size_t len;
	if (!path)
		return NULL;
	if (read_file(path, 65536, &data, &len) < 0) {
		logmsg("error", "cannot read %s file %s: %s", what, path, strerror(errno));
		return NULL;
	}
	while (len && (data[len - 1] == '\n' || data[len - 1] == '\r'))
		data[--len] = 0;
	return data;
}

/* ---------------- options ---------------- */

static int parse_dur(const char *s, long long *out)
{
	return compose_parse_duration(s, out) < 0 || *out <= 0 ? -1 : 0;
}

static const struct option agent_opts[] = {
	{"repo", required_argument, 0, 'r'},	       {"branch", required_argument, 0, 'b'},
	{"path", required_argument, 0, 'p'},	       {"interval", required_argument, 0, 'i'},
	{"listen", required_argument, 0, 'l'},	       {"cache", required_argument, 0, 'c'},
	{"key", required_argument, 0, 'k'},	       {"token-file", required_argument, 0, 't'},
	{"username", required_argument, 0, 'u'},       {"ssh-key", required_argument, 0, 's'},
	{"webhook-secret-file", required_argument, 0, 'w'}, {"require-signed", no_argument, 0, 'S'},
	{"allowed-signers", required_argument, 0, 'A'}, {"drift", required_argument, 0, 'd'},
	{"drift-interval", required_argument, 0, 'D'}, {"once", no_argument, 0, 'o'},
	{"log-format", required_argument, 0, 'L'},     {"config", required_argument, 0, 'C'},
	{"lease-ttl", required_argument, 0, 'T'},      {"notify-url", required_argument, 0, 'N'},
	{"converge-timeout", required_argument, 0, 'W'}, {"known-hosts", required_argument, 0, 'K'},
	{"ca-file", required_argument, 0, 'a'},	       {"user", required_argument, 0, 'U'},
	{"resolve-image", required_argument, 0, 'R'},  {"registry-auth", required_argument, 0, 'G'},
	{"follow-interval", required_argument, 0, 'F'}, {"follow-max", required_argument, 0, 'M'},
	{"run-dir", required_argument, 0, 'H'},	       {"status-token-file", required_argument, 0, 'Z'},
	{"forge", required_argument, 0, 'f'},	       {"forge-api", required_argument, 0, 'g'},
	{"forge-repo", required_argument, 0, 'j'},     {"forge-token-file", required_argument, 0, 'x'},
	{"forge-context", required_argument, 0, 'y'},  {"notify-webhook", required_argument, 0, 'n'},
	{"notify-secret-file", required_argument, 0, 'q'}, {"on-failure", required_argument, 0, 'O'},
	{0, 0, 0, 0},
};
static int set_opt(struct agent *ag, int c, const char *v)
{
	switch (c) {
	case 'r': ag->url = v; break;
	case 'b': ag->branch = v; break;
	case 'p': ag->path = v; break;
	case 'i': return parse_dur(v, &ag->interval_ns);
	case 'l': ag->listen = v; break;
	case 'c': ag->cache = v; break;
	case 'k': ag->key_file = v; break;
	case 't': ag->token_file = v; break;
	case 'u': ag->username = v; break;
	case 's': ag->ssh_key = v; break;
	case 'K': ag->known_hosts = v; break;
	case 'a': ag->ca_file = v; break;
	case 'U': ag->run_as = v; break;
	case 'R':
		if (strcmp(v, "always") && strcmp(v, "changed") && strcmp(v, "never"))
			return -1;
		ag->ra.resolve = v;
		break;
	case 'G': ag->registry_auth = v; break;
	case 'H':
		if (!*v)
			return -1;
		ag->run_dir = v;
		break;
	case 'Z': ag->status_token_file = v; break;
	case 'f':
		if (strcmp(v, "github") && strcmp(v, "gitea") && strcmp(v, "forgejo") && strcmp(v, "gitlab"))
			return -1;
		ag->forge = v;
		break;
	case 'g': ag->forge_api = v; break;
	case 'j': ag->forge_repo = v; break;
	case 'x': ag->forge_token_file = v; break;
	case 'y': ag->forge_context = v; break;
	case 'n': ag->notify_webhook = v; break;
	case 'q': ag->notify_secret_file = v; break;
	case 'O':
		if (strcmp(v, "report") && strcmp(v, "rollback"))
			return -1;
		ag->rollback = !strcmp(v, "rollback");
		break;
	case 'F': return parse_dur(v, &ag->follow_ns);
	case 'M': {
		long long m;
		if (compose_parse_int(v, &m) < 0 || m < 0 || m > 1000)
			return -1;
		ag->follow_max = (int)m;
		break;
	}
	case 'w': ag->webhook_secret_file = v; break;
	case 'S': ag->ra.require_signed = 1; break;
	case 'A': ag->ra.allowed_signers = v; break;
	case 'd':
		if (strcmp(v, "revert") && strcmp(v, "warn"))
			return -1;
		ag->drift_warn = !strcmp(v, "warn");
		break;
	case 'D': return parse_dur(v, &ag->drift_ns);
	case 'o': ag->once = 1; break;
	case 'T': return parse_dur(v, &ag->lease_ttl_ns);
	case 'N': ag->notify_url = v; break;
	case 'W': return parse_dur(v, &ag->converge_ns);
	case 'L':
		if (strcmp(v, "human") && strcmp(v, "json"))
			return -1;
		ag->log_format = v;
		break;
	default: return -1;
	}
	return 0;
}

static const struct option *opt_named(const char *name)
{
	for (const struct option *o = agent_opts; o->name; o++)
		if (!strcmp(o->name, name))
			return o;
	return NULL;
}

/* Set one option and record it for the cycle process (which is given the
 * resolved options, not the config file: it may be unreadable by then). */
static int record_opt(struct agent *ag, const struct option *o, const char *v)
{
	json_t *pair = json_pack("[ss]", o->name, v);
	json_array_append_new(ag->opts, pair); /* the option points into it */
	return set_opt(ag, o->val, json_string_value(json_array_get(pair, 1)));
}

/* The config file: "name = value" lines with the long option names
 * ("require-signed = true").  Command-line options override it. */
static int load_config(struct agent *ag, const char *path)
{
	char *data;
	if (read_file(path, 1 << 20, &data, NULL) < 0) {
		logmsg("error", "%s: %s", path, strerror(errno));
		return -1;
	}
	struct strv bad = {0};
	int lineno = 0, ret = 0;
	char *save = NULL;
	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		while (*line == ' ' || *line == '\t')
			line++;
		if (!*line || *line == '#')
			continue;
		char *eq = strchr(line, '=');
		char *k = eq ? xstrndup(line, (size_t)(eq - line)) : xstrdup(line);
		size_t kl = strlen(k);
		while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
			k[--kl] = 0;
		const char *v = eq ? eq + 1 : "";
		while (*v == ' ' || *v == '\t')
			v++;
		const struct option *o = opt_named(k);
		char *val = xstrdup(v);
		size_t vl = strlen(val);
		while (vl && (val[vl - 1] == ' ' || val[vl - 1] == '\r'))
			val[--vl] = 0;
		if (!o || o->val == 'C' || (o->has_arg == no_argument && strcmp(val, "true")) ||
		    record_opt(ag, o, val) < 0) {
			strv_push(&bad, xasprintf("%s:%d: bad setting %s", path, lineno, k));
			ret = -1;
		}
		free(val);
		free(k);
	}
	free(data);
	/* said once the file's own log-format is known */
	log_set_format(ag->log_format);
	for (size_t i = 0; i < bad.n; i++)
		logmsg("error", "%s", bad.v[i]);
	strv_free(&bad);
	return ret;
}

static int usage(void)
{
	static const char text[] =
		"usage: shoal agent --repo URL [--branch main] [--path P] [--interval 60s] [--listen ADDR]\n"
		"       [--cache DIR] [--key FILE] [--token-file F [--username U] | --ssh-key F --known-hosts F]\n"
		"       [--ca-file PEM] [--user NAME] [--run-dir /run/shoal] [--status-token-file F]\n"
		"       [--resolve-image changed|always|never]\n"
		"       [--registry-auth CONFIG.JSON] [--follow-interval 5m] [--follow-max 3]\n"
		"       [--webhook-secret-file F] [--require-signed --allowed-signers F]\n"
		"       [--drift revert|warn] [--drift-interval 5m] [--once] [--log-format human|json]\n"
		"       [--lease-ttl DURATION] [--converge-timeout 5m] [--notify-url URL] [--config FILE]\n"
		"       [--notify-webhook URL --notify-secret-file F] [--on-failure report|rollback]\n"
		"       [--forge github|gitea|gitlab --forge-api URL --forge-repo OWNER/NAME --forge-token-file F\n"
		"        [--forge-context shoal/deploy]]\n";
	if (log_is_json())
		logmsg("error", "%s", text);
	else
		fputs(text, stderr);
	return EXIT_USAGE;
}

static void defaults(struct agent *ag)
{
	memset(ag, 0, sizeof *ag);
	ag->branch = "main";
	ag->interval_ns = 60LL * 1000000000;
	ag->drift_ns = 300LL * 1000000000;
	ag->cache = "/var/lib/shoal/repo.git";
	ag->run_dir = AGENT_RUN_DIR;
	ag->log_format = "human";
	ag->health_fd = -1;
	ag->leader = -1; /* unknown until the first try: then logged either way */
	ag->converge_ns = 300LL * 1000000000;
	ag->ra.prune = 1;
	ag->ra.resolve = "changed"; /* a poll asks the registry nothing for an unchanged tag */
	ag->ra.follow = &ag->fo;
	ag->follow_ns = 300LL * 1000000000;
	ag->follow_max = 3;
	ag->opts = json_array();
	ag->wake[0] = ag->wake[1] = -1;
	pthread_mutex_init(&ag->mu, NULL);
}

/* What follows from the options. */
static int derive(struct agent *ag)
{
	log_set_format(ag->log_format);
	if (!ag->url || (ag->ra.require_signed && !ag->ra.allowed_signers))
		return usage();
	/* a token in the URL would show in /status, the log, ps, the
	 * notifications and the mirror's config file */
	char *shown = NULL;
	if (url_credentials(ag->url, &shown)) {
		int ssh = knownhosts_url(ag->url, &ag->ssh_host, &ag->ssh_port) == 1;
		logmsg("error",
		       "--repo %s: credentials in the URL are refused (they would show in /status, the log and the "
		       "process list): %s",
		       shown,
		       ssh ? "use --ssh-key FILE" : "give the token in a file with --token-file FILE (and --username NAME)");
		free(shown);
		return EXIT_USAGE;
	}
	ag->ra.path = ag->path;
	if (ag->forge && (!ag->forge_api || !ag->forge_repo || !ag->forge_token_file)) {
		logmsg("error", "--forge needs --forge-api URL, --forge-repo OWNER/NAME and --forge-token-file FILE");
		return EXIT_USAGE;
	}
	if (ag->notify_webhook && !ag->notify_secret_file) {
		logmsg("error", "--notify-webhook needs --notify-secret-file FILE (its messages are signed)");
		return EXIT_USAGE;
	}
	if (!ag->forge_context)
		ag->forge_context = "shoal/deploy";
	if (!ag->key_file && getenv("SHOAL_KEY_FILE") && *getenv("SHOAL_KEY_FILE"))
		ag->key_file = getenv("SHOAL_KEY_FILE");
	if (!ag->lease_ttl_ns) /* three missed polls, at least 30 s */
		ag->lease_ttl_ns = 3 * ag->interval_ns > 30000000000LL ? 3 * ag->interval_ns : 30000000000LL;
	char host[64] = "", hx[65];
	gethostname(host, sizeof host - 1);
	snprintf(ag->holder, sizeof ag->holder, "%s/%d/%08x", host, (int)getpid(), randombytes_random());
	char *scope = xasprintf("%s\n%s\n%s", ag->url, ag->branch, ag->path ? ag->path : "");
	sha256_hex(scope, strlen(scope), hx);
	free(scope);
	snprintf(ag->lease_name, sizeof ag->lease_name, "shoal-lease-%.16s", hx);
	switch (knownhosts_url(ag->url, &ag->ssh_host, &ag->ssh_port)) {
	case -1: logmsg("error", "cannot read the host and port of %s", ag->url); return EXIT_USAGE;
	case 1:
		if (!ag->known_hosts) {
			logmsg("error", "%s is an SSH remote: --known-hosts FILE is required (ssh-keyscan %s prints its keys)",
			       ag->url, ag->ssh_host);
			return EXIT_USAGE;
		}
		break;
	}
	return 0;
}

int agent_options(struct agent *ag, int argc, char **argv)
{
	defaults(ag);
	/* errors before the options are read are said in the format asked */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--log-format=json") || (!strcmp(argv[i], "--log-format") && i + 1 < argc &&
							      !strcmp(argv[i + 1], "json")))
			log_set_format("json");
	/* the config file first, so the command line wins */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--config") && i + 1 < argc && load_config(ag, argv[i + 1]) < 0)
			return EXIT_USAGE;
	int c;
	optind = 1;
	opterr = 0; /* said here, in the log's format */
	while ((c = getopt_long(argc, argv, "", agent_opts, NULL)) != -1) {
		const struct option *o = agent_opts;
		while (o->name && o->val != c)
			o++;
		if (c == 'C')
			continue;
		if (!o->name || record_opt(ag, o, optarg ? optarg : "true") < 0) {
			log_set_format(ag->log_format);
			if (o->name)
				logmsg("error", "bad value for --%s: %s", o->name, optarg ? optarg : "");
			else
				logmsg("error", "unknown option or missing value: %s", argv[optind - 1]);
			return usage();
		}
	}
	log_set_format(ag->log_format);
	if (optind != argc) {
		logmsg("error", "unexpected argument %s", argv[optind]);
		return usage();
	}
	return derive(ag);
}

int agent_options_json(struct agent *ag, json_t *opts)
{
	defaults(ag);
	json_decref(ag->opts);
	ag->opts = json_incref(opts); /* the options point into it */
	size_t i;
	json_t *p;
	json_array_foreach(opts, i, p) {
		const struct option *o = opt_named(json_string_value(json_array_get(p, 0)) ?: "");
		const char *v = json_string_value(json_array_get(p, 1));
		if (!o || !v || set_opt(ag, o->val, v) < 0)
			return EXIT_USAGE;
	}
	return derive(ag);
}

int agent_secrets(struct agent *ag)
{
	char *err = NULL;
	if (ag->key_file) {
		ag->key = sodium_malloc(sizeof *ag->key);
		if (!ag->key || seal_load_key(ag->key_file, ag->key, &err) < 0) {
			logmsg("error", "%s", err ? err : "out of memory");
			free(err);
			return -1;
		}
	}
	if (ag->token_file && !(ag->token = read_secret_file(ag->token_file, "token")))
		return -1;
	if (ag->ca_file && access(ag->ca_file, R_OK) < 0) {
		logmsg("error", "cannot read CA file %s: %s", ag->ca_file, strerror(errno));
		return -1;
	}
	if (ag->webhook_secret_file && !(ag->webhook_secret = read_secret_file(ag->webhook_secret_file, "webhook secret")))
		return -1;
	if (ag->forge_token_file && !(ag->forge_token = read_secret_file(ag->forge_token_file, "forge token")))
		return -1;
	if (ag->notify_secret_file && !(ag->notify_secret = read_secret_file(ag->notify_secret_file, "notification secret")))
		return -1;
	/* never shown: in --once this process runs the cycle itself */
	if (ag->forge_token && *ag->forge_token)
		scrub_add(ag->forge_token, strlen(ag->forge_token), "(token)", 0);
	if (ag->notify_secret && *ag->notify_secret)
		scrub_add(ag->notify_secret, strlen(ag->notify_secret), "(secret)", 0);
	if (ag->status_token_file) {
		/* only its hash is kept: requests are compared hash to hash */
		char *t = read_secret_file(ag->status_token_file, "status token");
		if (!t)
			return -1;
		size_t tl = strlen(t);
		if (tl)
			crypto_generichash(ag->status_token_hash, sizeof ag->status_token_hash, (unsigned char *)t, tl,
					   NULL, 0);
		sodium_memzero(t, tl);
		free(t);
		if (!tl) {
			logmsg("error", "the status token file %s is empty", ag->status_token_file);
			return -1;
		}
		ag->status_token = 1;
	}
	char *warning = NULL;
	if (ag->registry_auth && !(ag->auths = regauth_load(ag->registry_auth, &warning, &err))) {
		logmsg("error", "%s", err);
		free(err);
		return -1;
	}
	if (warning)
		logmsg("warning", "%s", warning);
	free(warning);
	return 0;
}

/* ---------------- directories and privileges ---------------- */

/*
 * Make the tree at dirfd/name private (no group or other permission bits)
 * and, when uid is not -1, owned by uid:gid.  A symbolic link is never
 * followed nor changed, and a file with other hard links is left alone (it
 * may be someone else's file linked in): each entry is opened O_PATH |
 * O_NOFOLLOW and changed through that descriptor, so what is changed is
 * what was checked.  -1 (errno) on the first failure.
 */
static int private_tree(int at, const char *name, uid_t uid, gid_t gid, int depth)
{
	int fd = openat(at, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	struct stat st;
	int ret = 0;
	if (fstat(fd, &st) < 0) {
		ret = -1;
		goto out;
	}
	if (!S_ISDIR(st.st_mode) && (!S_ISREG(st.st_mode) || st.st_nlink > 1))
		goto out; /* links, devices, fifos, sockets: not ours to change */
	if (uid != (uid_t)-1 && (st.st_uid != uid || st.st_gid != gid) &&
	    fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
		ret = -1;
		goto out;
	}
	if (st.st_mode & 077) {
		char proc[64]; /* chmod through the O_PATH descriptor */
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
		if (chmod(proc, st.st_mode & 07700) < 0) {
			ret = -1;
			goto out;
		}
	}
	if (!S_ISDIR(st.st_mode))
		goto out;
	if (depth > 64) {
		errno = ELOOP;
		ret = -1;
		goto out;
	}
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = dfd < 0 ? NULL : fdopendir(dfd);
	if (!d) {
		if (dfd >= 0)
			close(dfd);
		ret = -1;
		goto out;
	}
	struct dirent *de;
	while (!ret && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			ret = private_tree(dirfd(d), de->d_name, uid, gid, depth + 1);
	closedir(d);
out:
	if (fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return ret;
}

/* mkdir -p path (0700); the directories made, outermost first, in made. */
static int make_dirs(const char *path, struct strv *made)
{
	if (!*path) {
		logmsg("error", "an empty directory name");
		return -1;
	}
	char *p = xstrdup(path);
	int ret = 0;
	for (char *s = p + 1;; s++) {
		if (*s && *s != '/')
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0700) == 0)
			strv_push(made, xstrdup(p));
		else if (errno != EEXIST) {
			logmsg("error", "cannot create %s: %s", p, strerror(errno));
			ret = -1;
			break;
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	return ret;
}

/*
 * The cache: created when missing (with its missing parents, 0700, and a
 * mark file saying shoal made it), private to the agent's user, and with
 * --user (pw) that user's.  Only what shoal created is given away: a
 * parent that existed keeps its owner.  An existing cache is changed
 * (owner and modes, every file in it) when it is recognisably the agent's:
 * it carries the mark, or already belongs to the user the agent runs as.
 * Any other existing directory is refused with --user (it might be /var or
 * someone's repository) and left as it is without.  A cache that is a
 * symbolic link is never changed through.
 */
static int prepare_cache(struct agent *ag, const struct passwd *pw)
{
	struct strv made = {0};
	uid_t uid = pw ? pw->pw_uid : (uid_t)-1;
	gid_t gid = pw ? pw->pw_gid : (gid_t)-1;
	int ret = -1, created = 0;
	struct stat st;
	if (lstat(ag->cache, &st) < 0) {
		if (errno != ENOENT) {
			logmsg("error", "cache %s: %s", ag->cache, strerror(errno));
			goto out;
		}
		if (make_dirs(ag->cache, &made) < 0)
			goto out;
		created = 1;
		char *mark = xasprintf("%s/%s", ag->cache, AGENT_CACHE_MARK);
		int fd = open(mark, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		free(mark);
		if (fd < 0 || write(fd, "a shoal agent's Git mirror\n", 27) != 27) {
			logmsg("error", "cannot create %s/%s: %s", ag->cache, AGENT_CACHE_MARK, strerror(errno));
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		if (lstat(ag->cache, &st) < 0)
			goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		if (pw) {
			logmsg("error",
			       "--user %s: the cache %s is a symbolic link: give its real path (no owner is changed "
			       "through a link)",
			       ag->run_as, ag->cache);
			goto out;
		}
		ret = 0; /* used as it is */
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		logmsg("error", "the cache %s is not a directory", ag->cache);
		goto out;
	}
	/* the parents made now (they hold only the cache) */
	for (size_t i = 0; pw && i < made.n; i++)
		if (fchownat(AT_FDCWD, made.v[i], uid, gid, AT_SYMLINK_NOFOLLOW) < 0) {
			logmsg("error", "cannot chown %s: %s", made.v[i], strerror(errno));
			goto out;
		}
	char *mark = xasprintf("%s/%s", ag->cache, AGENT_CACHE_MARK);
	struct stat ms;
	int marked = fstatat(AT_FDCWD, mark, &ms, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(ms.st_mode);
	free(mark);
	uid_t runs_as = pw ? pw->pw_uid : geteuid();
	if (!pw && st.st_uid != runs_as) {
		ret = 0; /* someone else's directory: written to as it is (if it can be) */
		goto out;
	}
	if (!created && !marked && st.st_uid != runs_as) {
		struct passwd *owner = getpwuid(st.st_uid);
		logmsg("error", "--user %s: the cache %s exists, belongs to %s (uid %d) and was not created by shoal: "
				"its owner is not changed (chown -R %s it, or give another --cache)",
		       ag->run_as, ag->cache, owner ? owner->pw_name : "another user", (int)st.st_uid, ag->run_as);
		goto out;
	}
	if (private_tree(AT_FDCWD, ag->cache, uid, gid, 0) < 0) {
		logmsg("error", "cannot make the cache %s private%s%s: %s", ag->cache, pw ? " to " : "",
		       pw ? ag->run_as : "", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	strv_free(&made);
	return ret;
}

char *agent_health_path(const char *run_dir)
{
	return xasprintf("%s/health.sock", run_dir ? run_dir : AGENT_RUN_DIR);
}

/*
 * The health socket: a unix socket in the run directory (made 0700 and
 * the user's when missing), mode 0600, owned by the user the agent runs
 * as.  /healthz and /readyz answer there whatever happens on the public
 * listener.  A socket left by an agent that died is replaced; one that
 * answers belongs to a running agent: refused.
 */
static int health_socket(struct agent *ag, const struct passwd *pw)
{
	struct strv made = {0};
	char *path = agent_health_path(ag->run_dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = -1, ret = -1;
	if (strlen(path) >= sizeof sa.sun_path) {
		logmsg("error", "--run-dir %s: the health socket's path is too long", ag->run_dir);
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (make_dirs(ag->run_dir, &made) < 0)
		goto out;
	for (size_t i = 0; pw && i < made.n; i++)
		if (fchownat(AT_FDCWD, made.v[i], pw->pw_uid, pw->pw_gid, AT_SYMLINK_NOFOLLOW) < 0) {
			logmsg("error", "cannot chown %s: %s", made.v[i], strerror(errno));
			goto out;
		}
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			logmsg("error", "%s exists and is not a socket", path);
			goto out;
		}
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
		if (probe >= 0)
			close(probe);
		if (live) {
			logmsg("error", "another agent serves %s: give this one its own --run-dir", path);
			goto out;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || chmod(path, 0600) < 0 ||
	    (pw && fchownat(AT_FDCWD, path, pw->pw_uid, pw->pw_gid, AT_SYMLINK_NOFOLLOW) < 0) || listen(fd, 16) < 0) {
		logmsg("error", "health socket %s: %s", path, strerror(errno));
		goto out;
	}
	ag->health_fd = fd;
	fd = -1;
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	strv_free(&made);
	free(path);
	return ret;
}

/*
 * --user NAME: started as root (the image does, to learn the socket's
 * group), read the secret files, then run as NAME with the Docker
 * socket's group as the only supplementary group.  A socket owned by group
 * root cannot be shared that way: the agent says so and stays root.
 */
int agent_drop_privileges(struct agent *ag, int serve)
{
	struct passwd *pw = NULL;
	gid_t groups[1];
	size_t ngroups = 0;
	if (ag->run_as && geteuid() == 0) {
		if (!(pw = getpwnam(ag->run_as))) {
			logmsg("error", "--user %s: no such user", ag->run_as);
			return -1;
		}
		const char *host = getenv("DOCKER_HOST");
		const char *sock = NULL; /* a tcp:// engine has no socket to share */
		if (!host || !*host)
			sock = "/var/run/docker.sock";
		else if (!strncmp(host, "unix://", 7))
			sock = host + 7;
		struct stat st;
		if (sock) {
			if (stat(sock, &st) < 0) {
				logmsg("error", "--user: cannot stat the docker socket %s: %s", sock, strerror(errno));
				return -1;
			}
			if (st.st_gid == 0 || !(st.st_mode & S_IRWXG)) {
				logmsg("warning", "the docker socket %s is not shared with a group: staying root", sock);
				pw = NULL;
			} else {
				groups[ngroups++] = st.st_gid;
			}
		}
	}
	if (prepare_cache(ag, pw) < 0 || (serve && health_socket(ag, pw) < 0))
		return -1;
	if (pw) {
		if (setgroups(ngroups, groups) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
			logmsg("error", "cannot become %s: %s", ag->run_as, strerror(errno));
			return -1;
		}
		if (setuid(0) == 0) { /* must be impossible now */
			logmsg("error", "privileges were not dropped");
			return -1;
		}
		seal_protect_process(); /* a change of user resets it */
		logmsg("info", "running as %s (uid %d, docker socket group %d)", ag->run_as, (int)pw->pw_uid,
		       ngroups ? (int)groups[0] : -1);
	}
	/* read at each fetch (by libssh2), so as the user we run as */
	if (ag->ssh_host) {
		const char *bad = access(ag->known_hosts, R_OK) < 0 ? ag->known_hosts
				  : ag->ssh_key && access(ag->ssh_key, R_OK) < 0 ? ag->ssh_key : NULL;
		if (bad) {
			logmsg("error", "cannot read %s: %s", bad, strerror(errno));
			return -1;
		}
	}
	return 0;
}

void agent_free(struct agent *ag)
{
	if (ag->health_fd >= 0)
		close(ag->health_fd);
	ag->health_fd = -1;
	if (ag->token)
		sodium_memzero(ag->token, strlen(ag->token));
	if (ag->webhook_secret)
		sodium_memzero(ag->webhook_secret, strlen(ag->webhook_secret));
	if (ag->forge_token)
		sodium_memzero(ag->forge_token, strlen(ag->forge_token));
	if (ag->notify_secret)
		sodium_memzero(ag->notify_secret, strlen(ag->notify_secret));
	free(ag->forge_token);
	free(ag->notify_secret);
	sodium_free(ag->key);
	free(ag->token);
	free(ag->ssh_host);
	free(ag->webhook_secret);
	free(ag->last_error);
	json_decref(ag->stacks);
	json_decref(ag->stack_state);
	json_decref(ag->history);
	json_decref(ag->converging);
	json_decref(ag->auths);
	json_decref(ag->opts);
	strv_free(&ag->fo.moved);
	if (ag->wake[0] >= 0) {
		close(ag->wake[0]);
		close(ag->wake[1]);
	}
	wake_fd = -1;
	pthread_mutex_destroy(&ag->mu);
}

/* ---------------- state ---------------- */

json_t *agent_state_out(struct agent *ag)
{
	json_t *h = json_array();
	for (size_t i = 0; i < ARRAY_SIZE(ag->hist); i++)
		json_array_append_new(h, json_integer((json_int_t)ag->hist[i]));
	return json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I, s:I, s:I, s:I, s:I, s:f, s:o, s:f, s:O?, s:O?, s:i, s:f, s:s, "
			 "s:i, s:s, s:O*, s:O*}",
			 "seen", ag->commit_seen, "applied", ag->commit_applied, "failed", ag->commit_failed, "error",
			 ag->last_error, "ready", ag->ready, "reconciles", (json_int_t)ag->reconciles, "errors",
			 (json_int_t)ag->errors, "writes", (json_int_t)ag->writes, "drift", (json_int_t)ag->drift_corrections,
			 "follow", (json_int_t)ag->follow_updates, "last_success", ag->last_success, "hist", h, "hist_sum",
			 ag->hist_sum, "stacks", ag->stacks, "stack_state", ag->stack_state, "leader", ag->leader,
			 "lease_until", ag->lease_until, "holder_seen", ag->lease_holder_seen, "notified",
			 ag->notified_failure, "holder", ag->holder, "history", ag->history, "converging", ag->converging);
}

void agent_state_in(struct agent *ag, json_t *j)
{
	pthread_mutex_lock(&ag->mu);
#define CP(field, key) snprintf(field, sizeof field, "%s", json_string_value(json_object_get(j, key)) ?: "")
	CP(ag->commit_seen, "seen");
	CP(ag->commit_applied, "applied");
	CP(ag->commit_failed, "failed");
	CP(ag->lease_holder_seen, "holder_seen");
	if (json_string_value(json_object_get(j, "holder"))) /* the supervisor's, for every cycle */
		CP(ag->holder, "holder");
#undef CP
	free(ag->last_error);
	const char *e = json_string_value(json_object_get(j, "error"));
	ag->last_error = e ? xstrdup(e) : NULL;
	ag->ready = json_is_true(json_object_get(j, "ready"));
	ag->reconciles = (unsigned long)json_integer_value(json_object_get(j, "reconciles"));
	ag->errors = (unsigned long)json_integer_value(json_object_get(j, "errors"));
	ag->writes = (unsigned long)json_integer_value(json_object_get(j, "writes"));
	ag->drift_corrections = (unsigned long)json_integer_value(json_object_get(j, "drift"));
	ag->follow_updates = (unsigned long)json_integer_value(json_object_get(j, "follow"));
	ag->last_success = json_real_value(json_object_get(j, "last_success"));
	ag->hist_sum = json_real_value(json_object_get(j, "hist_sum"));
	for (size_t i = 0; i < ARRAY_SIZE(ag->hist); i++)
		ag->hist[i] = (unsigned long)json_integer_value(json_array_get(json_object_get(j, "hist"), i));
	json_decref(ag->stacks);
	ag->stacks = json_incref(json_object_get(j, "stacks"));
	json_decref(ag->stack_state);
	ag->stack_state = json_incref(json_object_get(j, "stack_state"));
	json_decref(ag->history);
	json_t *h = json_object_get(j, "history"), *c = json_object_get(j, "converging");
	ag->history = json_is_array(h) ? json_incref(h) : NULL;
	json_decref(ag->converging);
	ag->converging = json_is_object(c) ? json_incref(c) : NULL;
	ag->leader = (int)json_integer_value(json_object_get(j, "leader"));
	ag->lease_until = json_real_value(json_object_get(j, "lease_until"));
	ag->notified_failure = (int)json_integer_value(json_object_get(j, "notified"));
	pthread_mutex_unlock(&ag->mu);
}
