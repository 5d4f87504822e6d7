/*
 * cli.h - what the command modules share: the repository arguments, the
 * key, the engine connection and one plan of a repository against the
 * swarm.  Implemented in main.c.
 */
#ifndef SHOAL_CLI_H
#define SHOAL_CLI_H

#include "../reconcile/docker.h"
#include "../reconcile/plan.h"
#include "../reconcile/repo.h"
#include "../secrets/seal.h"

#define SHOAL_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_CHANGES = 2, EXIT_UNDONE = 3, EXIT_USAGE = 64 };

struct repo_args {
	const char *dir;	/* directory, or the Git repository with --rev */
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
};

/* The agent's image resolution state: on a tick, how many moved tags may
 * still be pinned anew, and which services were. */
struct follow {
	int tick;
	int budget;
	struct strv moved;
};


extern const char *opt_key_file;	/* --key, else SHOAL_KEY_FILE */
extern const struct seal_key *g_keyp;	/* loaded key, or NULL */
extern unsigned char g_redact[32];	/* keys sealed-value fingerprints */

int cli_load_key(void);
/* Use k (the agent reads its own), NULL: none. */
void cli_use_key(const struct seal_key *k);
/* Connect and check this is a swarm manager (messages on stderr). */
int cli_open_engine(struct docker **dk);
/* The engine cli_open_engine opens from now on (as -H does). */
void cli_set_engine(const char *host);
/* shoal apply, for the bootstrap's agent stack */
int cmd_apply(int argc, char **argv);
/* With a->require_signed: 0 when rev is signed by an allowed signer, else
 * -1 and, if why, the reason (caller frees). */
int cli_check_signed(const struct repo_args *a, const char *rev, char **why);
/* Registry credentials from a docker config.json for dk (message on stderr). */
int cli_set_registry_auth(struct docker *dk, const char *file);
/* Load the repository a describes and plan it against the swarm. */
int cli_repo_plan(const struct repo_args *a, struct docker *dk, struct plan *p, struct repo *r, int *invalid);

int cmd_agent(int argc, char **argv);
int cmd_agent_cycle(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_review(int argc, char **argv);

#endif
