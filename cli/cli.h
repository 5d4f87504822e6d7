/*
 * cli.h - what the command modules share: the exit codes, the repository
 * arguments, the key and the engine connection.  Implemented in main.c;
 * the pipeline itself is reconcile/sync.h's.
 */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

#include "../reconcile/docker.h"
#include "../reconcile/plan.h"
#include "../reconcile/repo.h"
#include "../reconcile/resolve.h"
#include "../secrets/seal.h"

#define SHOAL_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_CHANGES = 2, EXIT_UNDONE = 3, EXIT_USAGE = 64 };

/* The arguments of the commands that load stacks: plan, apply and validate
 * (parsed once, by main.c's parse_repo_args), stack deploy (its key,
 * prune, resolve and registry_auth; docker's options), the agent (its
 * own, agent/common.c). */
struct repo_args {
	const char *dir;	/* directory, or the Git repository with --rev */
	const char *key_file;	/* --key, else SHOAL_KEY_FILE (cli_load_key) */
	const char *rev;	/* a commit instead of the directory's files */
	const char *base, *head; /* plan between two commits (offline) */
	const char *path;	/* sub-path of the repository holding stacks/ */
	const char *format;
	int prune;
	int require_signed;	  /* --require-signed: only commits signed by */
	const char *allowed_signers; /* a key in this allowed_signers file */
	const char *resolve;	     /* --resolve-image always|changed|never (NULL = never) */
	const char *registry_auth;   /* --registry-auth: a docker config.json */
	struct follow *follow;	     /* the agent: one-line warnings, follow ticks */
	const char *only;	     /* --stack: plan/apply this stack alone (no prune of others) */
	struct strv adopt;	     /* --adopt STACK: take over these stacks deployed by other means */
	int adopt_all;		     /* --adopt-all: every such stack */
	long long converge_ns;	     /* apply --converge-timeout: a wave's wait, a hook's run (0: 5m) */
};


/* The key of file (--key), else of SHOAL_KEY_FILE, into *k: *kp is k, or
 * NULL when none is given; -1 (said) when it cannot be loaded. */
int cli_load_key(const char *file, struct seal_key *k, const struct seal_key **kp);
/* The engine of -H, else DOCKER_HOST (message on stderr when it cannot be). */
int cli_open_engine(struct docker **dk);
/* With a->require_signed: 0 when rev is signed by an allowed signer, else
 * -1 and, if why, the reason (caller frees). */
int cli_check_signed(const struct repo_args *a, const char *rev, char **why);

int cmd_agent(int argc, char **argv);
int cmd_agent_cycle(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_review(int argc, char **argv);

#endif
