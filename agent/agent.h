/*
 * agent.h - what the agent's two processes share.
 *
 * The agent is two programs.  shoal-agentd (agentd.c) is the long-lived
 * process: it parses the options, reads the secret files, drops
 * privileges, serves HTTP and the webhook, and keeps the timers; it links
 * only libmicrohttpd, jansson and libsodium, so it stays small while idle.
 * Each cycle it runs `shoal agent-cycle` (agent.c), a fresh process with
 * libgit2, libcurl and the reconcile code, which fetches, plans, applies
 * and converges, then exits.  They speak JSON: on the cycle's stdin one
 * object (options, state, secrets, what is due), on its fd 3 one line per
 * state update (state_out).  Options, config file, logging and the state
 * codec live in common.c, linked into both.
 */
#ifndef SHOAL_AGENT_H
#define SHOAL_AGENT_H

#include <pthread.h>
#include <signal.h>
#include <sys/types.h>

#include <jansson.h>

#include "../secrets/seal.h"
#include "../cli/cli.h"
#include "../reconcile/log.h"

#define WEBHOOK_MAX_BODY (1u << 20)
#define AGENT_STATE_FD 3	 /* the cycle writes its state lines here */
#define AGENT_EXIT_FATAL 78 /* a cycle that can never work (bad options) */

struct agent {
	/* options */
	const char *url, *branch, *path, *cache, *listen, *key_file;
	const char *token_file, *username, *ssh_key, *known_hosts, *ca_file, *run_as, *webhook_secret_file, *log_format, *notify_url;
	const char *run_dir;		/* the health socket's directory */
	const char *status_token_file; /* /status and /metrics need this bearer token */
	/* commit statuses on the forge (--forge ...), the signed notification
	 * (--notify-webhook, its HMAC key from --notify-secret-file), and what
	 * a failed commit does (--on-failure report|rollback) */
	const char *forge, *forge_api, *forge_repo, *forge_token_file, *forge_context;
	const char *notify_webhook, *notify_secret_file;
	int rollback;
	char *ssh_host; /* an SSH remote: its host and port, for the host key check */
	int ssh_port;
	long long converge_ns;
	int notified_failure; /* a failure was announced; the next success is a recovery */
	long long interval_ns, drift_ns;
	int drift_warn, once;
	struct repo_args ra;
	json_t *opts; /* [[name, value], ...] as set: what the cycle process is given */
	/* state, shared with the HTTP thread under mu */
	pthread_mutex_t mu;
	char commit_seen[41], commit_applied[41], commit_failed[41];
	char *last_error;
	int ready;
	double next_poll_wall;
	unsigned long reconciles, errors, writes, drift_corrections, webhooks, webhooks_rejected;
	double last_success;
	unsigned long hist[8]; /* reconcile duration buckets */
	double hist_sum;
	json_t *stacks; /* last plan's operations per stack */
	json_t *stack_state; /* per stack: commit_applied, error, services */
	/* what became of the last HISTORY_MAX commits, newest first: objects
	 * {commit, outcome, operations, ops, started, finished, seconds,
	 * errors, error_count, superseded_by}; outcome one of "applied",
	 * "failed", "rolled back", "superseded", "invalid" (history.c) */
	json_t *history;
	/* the commit being converged, as kept with the lease: {commit,
	 * started, deadline (wall seconds), services}; NULL when none */
	json_t *converging;
	struct follow fo;    /* image resolution; follow-tag ticks */
	long long follow_ns;
	int follow_max;
	unsigned long follow_updates;
	const char *registry_auth;
	json_t *auths;
	/* lease: one writer per repository/branch/path */
	long long lease_ttl_ns;
	char lease_name[64], holder[128], lease_holder_seen[128];
	int leader;
	double lease_until; /* wall time our hold ends, when leader */
	/* secrets read from files */
	char *token, *webhook_secret, *forge_token, *notify_secret;
	struct seal_key *key; /* sodium_malloc'd; NULL without --key */
	unsigned char status_token_hash[32]; /* BLAKE2b of the status token; the token is not kept */
	int status_token;		      /* one is required */
	int health_fd;			      /* the health socket, listening; -1 for none */
	int wake[2];
};

extern volatile sig_atomic_t stop_flag;
extern volatile sig_atomic_t fetch_flag; /* a cycle: a webhook came, fetch now (SIGUSR1) */
extern volatile pid_t cycle_pid; /* the supervisor's running cycle */
extern int wake_fd;
extern const double agent_buckets[8];

void on_signal(int sig);
void on_fetch_signal(int sig);
double now_mono(void);
double now_wall(void);
void set_error(struct agent *ag, const char *msg);

/* Defaults, then the config file, then the command line (recorded in
 * ag->opts); 0, or EXIT_USAGE after a message. */
int agent_options(struct agent *ag, int argc, char **argv);
/* The cycle's side: the options the supervisor recorded. */
int agent_options_json(struct agent *ag, json_t *opts);
/* Read the secret files and check the others can be read (before
 * agent_drop_privileges: they may be root's only); 0 or -1 (logged). */
int agent_secrets(struct agent *ag);
/* The cache (and, with serve, the run directory and its health socket,
 * into ag->health_fd) made ready and private, then --user applied; 0 or
 * -1 (logged). */
int agent_drop_privileges(struct agent *ag, int serve);
/* The health socket's path under the run directory (caller frees). */
char *agent_health_path(const char *run_dir);
#define AGENT_RUN_DIR "/run/shoal"
#define AGENT_CACHE_MARK "shoal-cache" /* in a cache directory shoal created */
void agent_free(struct agent *ag);

json_t *agent_state_out(struct agent *ag);
void agent_state_in(struct agent *ag, json_t *j);

#endif
