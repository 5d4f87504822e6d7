/*
 * help.c - the one source of shoal's help: --help, `shoal help` and the
 * manual page shoal(1), which the build makes from this table (`shoal help
 * --man`) and never commits.  A command of the dispatch table without an
 * entry here fails `shoal CMD --help` and the test that asks every one.
 */
#include "help.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct help_opt plan_opts[] = {
	{"DIR", "the repository: a directory holding stacks/ (default: the current one)"},
	{"--rev REV", "read the stacks from a commit of the Git repository DIR instead of its files"},
	{"--path P", "the stacks are under P in the repository"},
	{"--format text|json|markdown", "the plan's form (markdown: with --base/--head); default text"},
	{"--prune | --no-prune", "remove what the repository no longer names (default), or only create and update"},
	{"--stack NAME", "that stack alone; nothing else is planned or pruned"},
	{"--key FILE", "the private key that opens sealed values (else SHOAL_KEY_FILE)"},
	{"--adopt STACK", "take over STACK, deployed by other means (repeatable)"},
	{"--adopt-all", "take over every such stack"},
	{"--resolve-image always|changed|never", "pin images to their digest through the engine (default never)"},
	{"--registry-auth FILE", "registry credentials from a docker config.json"},
	{"--base REV --head REV", "what merging head into base would change, offline: no engine is used"},
	{"--repo PATH", "with --base/--head or --rev: the Git repository (default: the current directory)"},
	{NULL, NULL},
};

static const struct help_opt apply_opts[] = {
	{"DIR", "the repository: a directory holding stacks/ (default: the current one)"},
	{"--rev REV", "apply a commit of the Git repository DIR"},
	{"--path P", "the stacks are under P in the repository"},
	{"--prune | --no-prune", "remove what the repository no longer names (default), or only create and update"},
	{"--stack NAME", "that stack alone; nothing else is applied or pruned"},
	{"--key FILE", "the private key that opens sealed values (else SHOAL_KEY_FILE)"},
	{"--adopt STACK", "take over STACK, deployed by other means (repeatable)"},
	{"--adopt-all", "take over every such stack"},
	{"--resolve-image always|changed|never", "pin images to their digest through the engine (default never)"},
	{"--registry-auth FILE", "registry credentials from a docker config.json, sent with creates and updates"},
	{"--require-signed", "with --rev: apply the commit only when its SSH signature verifies"},
	{"--allowed-signers FILE", "the signers --require-signed accepts (git's allowed_signers format)"},
	{"--converge-timeout DURATION", "how long a wave may take to converge, and a hook to complete (default 5m)"},
	{NULL, NULL},
};

static const struct help_opt validate_opts[] = {
	{"DIR", "the repository: a directory holding stacks/ (default: the current one)"},
	{"--rev REV", "check a commit of a Git repository instead of files"},
	{"--repo PATH", "with --rev: the Git repository (default: the current directory)"},
	{"--path P", "the stacks are under P in the repository"},
	{"--key FILE", "open sealed values too (without a key their form and scope are checked)"},
	{NULL, NULL},
};

static const struct help_opt review_opts[] = {
	{"--dry-run", "print the requests that would be sent (the token masked) and send none"},
	{"--forge github|gitea|gitlab", "the forge, when no CI says it (gitea covers Forgejo)"},
	{"--api URL", "the forge's REST API: https://api.github.com, https://HOST/api/v1, https://HOST/api/v4"},
	{"--repo-url URL", "where to fetch the commits from (HTTP(S) or a local path)"},
	{"--repo PATH", "use this local Git repository, which holds both commits, instead of fetching"},
	{"--repo-name OWNER/NAME", "the repository on the forge (GitLab: the project's ID or path)"},
	{"--pr N", "the pull request's number (GitLab: the merge request's IID)"},
	{"--base SHA", "the base commit (a full commit ID)"},
	{"--head SHA", "the head commit (a full commit ID): the status is set on it"},
	{"--token-file FILE", "the API token, instead of the CI's variable; also used to fetch"},
	{"--path P", "the stacks are under P in the repository"},
	{"--context NAME", "the status's name (default shoal/review); another name keeps its own comment"},
	{"--target-url URL", "the link of the status (default: the CI run's page)"},
	{"--ca-file PEM", "certificates to trust for HTTPS, Git and API"},
	{NULL, NULL},
};

static const struct help_opt deploy_opts[] = {
	{"-c, --compose-file FILE|-", "a compose file (repeatable, merged in order; - reads stdin)"},
	{"--prune", "remove the stack's services the files no longer name"},
	{"--resolve-image always|changed|never", "pin images to their digest through the engine (default always)"},
	{"--with-registry-auth", "send the registry credentials of the docker CLI's config.json"},
	{"--registry-auth FILE", "send the registry credentials of this docker config.json"},
	{"--key FILE", "the private key that opens sealed values (else SHOAL_KEY_FILE)"},
	{NULL, NULL},
};

static const struct help_opt agent_opts[] = {
	{"--repo URL", "the Git repository to watch (HTTPS or SSH); required"},
	{"--branch NAME", "its branch (default main)"},
	{"--path P", "the stacks are under P in the repository"},
	{"--interval DURATION", "time between polls, jittered (default 60s)"},
	{"--listen ADDR", "where /healthz, /readyz, /status, /metrics and /webhook answer (HOST:PORT)"},
	{"--cache DIR", "the bare mirror (default /var/lib/shoal/repo.git)"},
	{"--key FILE", "the private key that opens sealed values (else SHOAL_KEY_FILE)"},
	{"--token-file FILE", "HTTPS: the token (password) to fetch with"},
	{"--username NAME", "HTTPS: the user name sent with the token (default x-access-token)"},
	{"--ssh-key FILE", "SSH: the deploy key"},
	{"--known-hosts FILE", "SSH: the host keys to trust; required with SSH"},
	{"--ca-file PEM", "HTTPS: certificates of a private CA"},
	{"--user NAME", "run as this user once the secrets are read (the image: shoal)"},
	{"--resolve-image always|changed|never", "pin images to their digest (default changed)"},
	{"--registry-auth FILE", "registry credentials from a docker config.json"},
	{"--follow-interval DURATION", "how often services labelled io.shoal.follow-tag are resolved again (5m)"},
	{"--follow-max N", "at most N such updates per tick (3)"},
	{"--webhook-secret-file FILE", "the secret of POST /webhook (GitHub, Gitea/Forgejo HMAC; GitLab token)"},
	{"--require-signed", "deploy only commits whose SSH signature verifies"},
	{"--allowed-signers FILE", "the signers --require-signed accepts"},
	{"--drift revert|warn", "revert changes made by hand (default), or report them only"},
	{"--drift-interval DURATION", "how often drift is looked for (5m)"},
	{"--converge-timeout DURATION", "how long a commit's services may take to converge (5m)"},
	{"--lease-ttl DURATION", "the writer's lease (default: three polls, 30 s at least)"},
	{"--notify-url URL", "a Slack-compatible message per failing commit and on recovery"},
	{"--notify-webhook URL", "the same as JSON (commit, stacks, outcome, errors), signed: X-Shoal-Signature: sha256=HMAC"},
	{"--notify-secret-file FILE", "the HMAC-SHA256 key of --notify-webhook"},
	{"--forge github|gitea|gitlab", "a commit status per new commit: pending when seen, success or failure once converged"},
	{"--forge-api URL", "the forge's API (https://api.github.com, https://HOST/api/v1, https://HOST/api/v4)"},
	{"--forge-repo OWNER/NAME", "the repository on the forge (GitLab: the project's ID or path)"},
	{"--forge-token-file FILE", "a token that may set commit statuses"},
	{"--forge-context NAME", "the status's name (default shoal/deploy)"},
	{"--on-failure report|rollback", "a failed commit is reported (default), or the stacks it changed are rolled out again from the last good commit"},
	{"--log-format human|json", "one line per event (default human)"},
	{"--once", "one cycle in this process, then exit"},
	{"--config FILE", "the same settings, one \"name = value\" per line; the command line wins"},
	{NULL, NULL},
};

static const struct help_opt bootstrap_opts[] = {
	{"-f, --file FILE", "the inventory (default cluster.yml)"},
	{"--root DIR", "gateway, keepalived: write under DIR and restart nothing"},
	{"--dry-run", "print the plan and stop"},
	{"--node NAME", "keepalived: the manager to configure"},
	{NULL, NULL},
};

static const struct help_opt status_opts[] = {
	{"--agent URL", "the agent's address (default http://127.0.0.1:9300)"},
	{NULL, NULL},
};

static const struct help_opt verify_opts[] = {
	{"--repo PATH", "the Git repository (default: the current directory)"},
	{"--allowed-signers FILE", "the signers to accept (git's allowed_signers format); required"},
	{NULL, NULL},
};

static const struct help_opt seal_opts[] = {
	{"--recipient R", "a shoal-x25519:… recipient, or @FILE listing them (repeatable)"},
	{"--stack S", "the stack the value belongs to"},
	{"--name N", "the value's name: a secret's or config's key, or the file name of ${sealed:…} less .sealed"},
	{"--in FILE", "read the value from FILE (default stdin)"},
	{NULL, NULL},
};

static const struct help_opt unseal_opts[] = {
	{"--key FILE", "the private key; required"},
	{"--stack S", "the stack the value was sealed for"},
	{"--name N", "the value's name"},
	{"--in FILE", "the sealed file (default stdin)"},
	{NULL, NULL},
};

static const struct help_opt reseal_opts[] = {
	{"--key FILE", "a private key that opens the files; required"},
	{"--recipient R", "the new recipients (repeatable, or @FILE)"},
	{NULL, NULL},
};

static const struct help_opt keygen_opts[] = {
	{"-o FILE", "where to write the private key (default shoal.key; never overwritten)"},
	{NULL, NULL},
};

static const struct help_opt help_opts[] = {
	{"--man", "print the manual page shoal(1) in roff"},
	{NULL, NULL},
};

static const struct help_entry entries[] = {
	{"plan", "show what would change between a repository and the swarm",
	 "shoal plan [DIR] [--rev REV] [--path P] [--format text|json] [--no-prune] [--stack NAME] [--key FILE]\n"
	 "           [--adopt STACK | --adopt-all]\n"
	 "shoal plan --base REV --head REV [--repo PATH] [--path P] [--format text|json|markdown]",
	 "Compares the repository's desired state with what the swarm runs and prints the operations apply would "
	 "make, field by field, without writing anything. Sealed values show as fingerprints.\n\n"
	 "With --base and --head no engine is used: the plan is what merging head into base would change, per "
	 "stack and service (updates that restart tasks, ports opened or closed, secrets rotated, stacks "
	 "removed); markdown is made for a pull-request comment (see review).",
	 plan_opts, "0 in sync (no change), 2 changes pending, 1 an error, a conflict or an invalid stack, 64 usage."},
	{"apply", "make the swarm match a repository",
	 "shoal apply [DIR] [--rev REV [--require-signed --allowed-signers FILE]] [--path P] [--prune | --no-prune]\n"
	 "            [--stack NAME] [--key FILE] [--resolve-image MODE] [--registry-auth FILE] [--adopt STACK | --adopt-all]\n"
	 "            [--converge-timeout DURATION]",
	 "Validates every stack, plans, then applies exactly the difference through the Docker Engine API: an "
	 "unchanged repository makes no write request. An invalid stack writes nothing and the others apply; "
	 "every error names file:line:column. Stacks go out in waves: a stack declaring x-shoal.depends_on is "
	 "written once the stacks it depends on converged; hooks (services labelled io.shoal.hook=pre|post) run "
	 "before and after their stack's changes.",
	 apply_opts, "0 applied, 1 an invalid stack or a failed operation, 64 usage."},
	{"validate", "check a repository without an engine",
	 "shoal validate [DIR | --rev REV [--repo PATH]] [--path P] [--key FILE]",
	 "Reports every problem of every stack at once, each as file:line:column: message, with the compose key "
	 "path. Warnings (ignored keys, constraints no node can match) do not fail.",
	 validate_opts, "0 valid, 1 errors, 64 usage."},
	{"review", "review a pull request in CI: a commit status and one comment",
	 "shoal review [--dry-run] [--forge github|gitea|gitlab] [--api URL] [--repo-url URL | --repo PATH]\n"
	 "             [--repo-name OWNER/NAME] [--pr N] [--base SHA] [--head SHA] [--token-file FILE]\n"
	 "             [--path P] [--context NAME] [--target-url URL] [--ca-file PEM]",
	 "Run in a pull request's CI job (GitHub Actions, Gitea or Forgejo Actions, GitLab CI), it reads the job's "
	 "environment, fetches the base and head commits itself with libgit2 (no checkout, no git binary), "
	 "validates the head, plans base to head offline, sets a commit status on the head (success, or failure "
	 "with the error count and the first errors at file:line:column) and writes one comment on the pull "
	 "request, found again by a hidden marker and edited on every push. Options override what the "
	 "environment says, or say it outside CI.\n\n"
	 "Tokens: GitHub's GITHUB_TOKEN and Gitea's GITEA_TOKEN (or FORGEJO_TOKEN, GITHUB_TOKEN) must be passed to "
	 "the step by the workflow; GitLab needs GITLAB_API_TOKEN, a project access token with scope api and role "
	 "Developer, since CI_JOB_TOKEN may fetch the repository but not post notes or commit statuses. The token "
	 "is sent in a header and never shown. No private key is read: sealed values are checked for form and "
	 "scope and shown as fingerprints of their sealed text.",
	 review_opts,
	 "0 the head is valid (review posted), 1 the head has errors (review and a failure status posted), 3 the "
	 "review could not be done or posted (fetch, forge), 64 usage (an option, or what the CI environment lacks)."},
	{"stack", "deploy, rm, ls: a drop-in for docker stack",
	 "shoal stack deploy|rm|ls …",
	 "Docker's stack commands: the stack name alone says which stack it is, and what they write is not marked "
	 "as managed by a repository.",
	 NULL, NULL},
	{"stack deploy", "deploy compose files as a stack (like docker stack deploy)",
	 "shoal stack deploy -c FILE|- [-c FILE …] [--prune] [--resolve-image always|changed|never]\n"
	 "                   [--with-registry-auth | --registry-auth FILE] [--key FILE] STACK",
	 "Stores the same service specs as docker stack deploy, validates the whole stack before its first write, "
	 "rotates secrets and configs whose content changed, and writes nothing when nothing changed.",
	 deploy_opts, "0 deployed, 1 an error, 64 usage."},
	{"stack rm", "remove stacks", "shoal stack rm STACK [STACK …]",
	 "Removes everything labelled with each stack's namespace, as docker stack rm does.", NULL,
	 "0 removed, 1 an error, 64 usage."},
	{"stack ls", "list stacks", "shoal stack ls",
	 "Lists the stacks and their number of services, and which of them a repository manages.", NULL, NULL},
	{"agent", "watch a Git repository and keep the swarm converged",
	 "shoal agent --repo URL [--branch main] [--path P] [--interval 60s] [--listen ADDR] [--cache DIR] [--key FILE]\n"
	 "            [--token-file F [--username U] | --ssh-key F --known-hosts F] [--ca-file PEM] [--user NAME]\n"
	 "            [--resolve-image MODE] [--registry-auth F] [--webhook-secret-file F] [--require-signed --allowed-signers F]\n"
	 "            [--drift revert|warn] [--once] [--log-format human|json] [--config FILE]\n"
	 "            [--on-failure report|rollback] [--forge KIND --forge-api URL --forge-repo R --forge-token-file F]\n"
	 "            [--notify-url URL] [--notify-webhook URL --notify-secret-file F] …",
	 "Fetches the branch into a bare mirror, applies each new commit once (zero writes otherwise) in waves "
	 "with its hooks (x-shoal.depends_on, io.shoal.hook), waits for convergence, reverts drift and reports "
	 "everything on /status and /metrics, and per commit on the forge and the notification webhooks. With "
	 "--on-failure rollback a failed commit's stacks go back to the last good commit. One writer at a time: a "
	 "lease held in the swarm. The command becomes shoal-agentd; each cycle is a fresh shoal agent-cycle "
	 "process.",
	 agent_opts, "0 after SIGTERM or --once, 1 an error, 64 usage."},
	{"agent-cycle", "one cycle of the agent (run by shoal-agentd)", "shoal agent-cycle",
	 "Reads the agent's options, state and secrets on its standard input, runs one cycle (fetch, lease, "
	 "reconcile, convergence wait) and streams the state back. Not for interactive use.",
	 NULL, NULL},
	{"bootstrap", "build the gateway, the floating IP and the swarm from cluster.yml",
	 "shoal bootstrap check|gateway|keepalived|swarm [-f cluster.yml] …",
	 "Validates the whole inventory first (errors at file:line:column), prints its plan, stops there with "
	 "--dry-run, and does nothing on a second run.",
	 NULL, NULL},
	{"bootstrap check", "validate the inventory", "shoal bootstrap check [-f cluster.yml]",
	 "Reports every violation of the inventory at once.", bootstrap_opts, "0 valid, 1 errors, 64 usage."},
	{"bootstrap gateway", "dnsmasq, shorewall, hosts and dhclient on the gateway",
	 "shoal bootstrap gateway [-f cluster.yml] [--root DIR] [--dry-run]",
	 "Renders the gateway's files, checks them with the real tools in a throwaway network namespace, writes "
	 "the changed ones atomically and restarts only their services.",
	 bootstrap_opts, "0 done (or nothing to do), 1 an error, 64 usage."},
	{"bootstrap keepalived", "the floating IP's VRRP configuration of one manager",
	 "shoal bootstrap keepalived --node NAME [-f cluster.yml] [--root DIR] [--dry-run]",
	 "Renders /etc/keepalived/keepalived.conf for that manager, checks it with keepalived -t and writes it "
	 "when it changed.",
	 bootstrap_opts, "0 done (or nothing to do), 1 an error, 64 usage."},
	{"bootstrap swarm", "init, joins, labels, networks and the agent, through each engine",
	 "shoal bootstrap swarm [-f cluster.yml] [--dry-run]",
	 "Reads every node's engine before writing, initialises the swarm, joins the nodes, sets roles and "
	 "labels, creates the overlay networks and the agent's configs and secrets, and applies the agent's "
	 "stack (sealed values need --key or SHOAL_KEY_FILE).",
	 bootstrap_opts, "0 done (or nothing to do), 1 an error, 64 usage."},
	{"status", "the agent's status as a table", "shoal status [--agent URL]",
	 "Prints what the agent has seen and applied: per stack the commit applied and any error, per service "
	 "tasks running and desired.",
	 status_opts, "0 printed, 1 the agent did not answer, 64 usage."},
	{"health", "exit 0 when the agent answers /healthz (the image's HEALTHCHECK)", "shoal health [URL]",
	 "Asks URL/healthz (default http://127.0.0.1:9300).", NULL, "0 healthy, 1 not, 64 usage."},
	{"verify", "check a commit's SSH signature against an allowed_signers file",
	 "shoal verify REV [--repo PATH] --allowed-signers FILE",
	 "Checks an SSH signature (git config gpg.format ssh) made with an ed25519 key listed in FILE.",
	 verify_opts, "0 a good signature, 1 none or a bad one, 64 usage."},
	{"keygen", "make an X25519 key pair for sealed credentials", "shoal keygen [-o FILE]",
	 "Writes the private key to FILE (mode 600) and prints its recipient string.", keygen_opts,
	 "0 written, 1 an error (an existing file is never overwritten), 64 usage."},
	{"seal", "seal a value for recipients (text on stdout)",
	 "shoal seal --recipient R [--recipient R …] --stack S --name N [--in FILE] > FILE.sealed",
	 "Encrypts the value to every recipient under the scope S/N: it opens only for that stack and name.",
	 seal_opts, "0 sealed, 1 an error, 64 usage."},
	{"unseal", "print a sealed value (key holders)", "shoal unseal --key FILE --stack S --name N [--in FILE]",
	 "Prints the plaintext of a sealed file.", unseal_opts, "0 opened, 1 an error, 64 usage."},
	{"reseal", "re-encrypt sealed files for a new set of recipients",
	 "shoal reseal --key FILE --recipient R [--recipient R …] FILE.sealed …",
	 "Rewrites each file in place for the new recipients; its scope stays its own.", reseal_opts,
	 "0 resealed, 1 an error, 64 usage."},
	{"version", "print the version", "shoal version", "Prints shoal's version.", NULL, NULL},
	{"help", "help on a command, or the manual page", "shoal help [COMMAND [SUBCOMMAND]]\nshoal help --man",
	 "Prints a command's help (as shoal COMMAND --help does), the command list, or the manual page shoal(1) "
	 "in roff.",
	 help_opts, NULL},
};

const struct help_entry *help_entries(size_t *n)
{
	*n = sizeof entries / sizeof entries[0];
	return entries;
}

const struct help_entry *help_find(const char *name)
{
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (!strcmp(entries[i].name, name))
			return &entries[i];
	return NULL;
}

/* text wrapped at width: the cursor is at column col, continuation lines
 * start at ind */
static void wrap(FILE *out, const char *text, int col, int ind, int width)
{
	int start = 1;
	for (const char *p = text; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		int w = (int)strcspn(p, " ");
		if (!start && col + 1 + w > width) {
			col = fprintf(out, "\n%*s", ind, "") - 1;
		} else if (!start) {
			fputc(' ', out);
			col++;
		}
		col += fprintf(out, "%.*s", w, p);
		p += w;
		start = 0;
	}
	fputc('\n', out);
}

void help_print(const struct help_entry *h, FILE *out)
{
	const char *s = h->synopsis;
	for (int first = 1; *s; first = 0) {
		size_t l = strcspn(s, "\n");
		fprintf(out, "%s%.*s\n", first ? "usage: " : "       ", (int)l, s);
		s += l + (s[l] == '\n');
	}
	fputc('\n', out);
	for (const char *d = h->description; *d;) {
		const char *e = strstr(d, "\n\n");
		size_t l = e ? (size_t)(e - d) : strlen(d);
		char *para = strndup(d, l);
		wrap(out, para, 0, 0, 78);
		free(para);
		d += l;
		if (*d) {
			d += 2;
			fputc('\n', out);
		}
	}
	if (h->opts && h->opts[0].flag) {
		fprintf(out, "\noptions:\n");
		for (const struct help_opt *o = h->opts; o->flag; o++) {
			if (strlen(o->flag) <= 24)
				fprintf(out, "  %-24s ", o->flag);
			else
				fprintf(out, "  %s\n%27s", o->flag, "");
			wrap(out, o->text, 27, 27, 78);
		}
	}
	/* the subcommands below this one */
	size_t nl = strlen(h->name), sub = 0;
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (!strncmp(entries[i].name, h->name, nl) && entries[i].name[nl] == ' ') {
			if (!sub++)
				fprintf(out, "\ncommands:\n");
			fprintf(out, "  %-12s %s\n", entries[i].name + nl + 1, entries[i].summary);
		}
	if (h->exit) {
		fprintf(out, "\nexit status: ");
		wrap(out, h->exit, 13, 2, 78);
	}
}

void help_list(FILE *out, const char *prefix)
{
	fprintf(out, "usage: %s [-H HOST] COMMAND [ARGS]\n       %s COMMAND --help\n\ncommands:\n", prefix, prefix);
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++)
		if (!strchr(entries[i].name, ' '))
			fprintf(out, "  %-12s %s\n", entries[i].name, entries[i].summary);
	fprintf(out, "\noptions:\n  -H, --host HOST  the Docker engine (else DOCKER_HOST, else unix:///var/run/docker.sock)\n"
		     "  --version        print the version\n"
		     "\n`shoal help COMMAND` or `shoal COMMAND --help` tells more; the manual is shoal(1).\n");
}

/* ---------------- roff ---------------- */

/* Text for roff: backslashes escaped, a '-' starting a word (an
 * option's) as \-, "…" as "...", a line never starting with '.' or '\''. */
static void roff(FILE *out, const char *s, int bol)
{
	int word = 1; /* at the start of a word */
	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", out);
		bol = *s == '\n';
		if (*s == '\\')
			fputs("\\e", out);
		else if (*s == '-' && word)
			fputs("\\-", out);
		else if (!strncmp(s, "\xe2\x80\xa6", 3))
			fputs("...", out), s += 2;
		else
			fputc(*s, out);
		word = (*s == '-' && word) || !isalnum((unsigned char)*s);
	}
}

static void roff_paras(FILE *out, const char *d)
{
	while (*d) {
		const char *e = strstr(d, "\n\n");
		size_t l = e ? (size_t)(e - d) : strlen(d);
		char *para = strndup(d, l);
		fputs(".PP\n", out);
		roff(out, para, 1);
		fputc('\n', out);
		free(para);
		d += l;
		if (*d)
			d += 2;
	}
}

void help_man(FILE *out)
{
	fprintf(out, ".\\\" shoal(1): made by `shoal help --man` from cli/help.c; do not edit\n");
	fprintf(out, ".TH SHOAL 1 \"\" \"shoal %s\" \"User Commands\"\n", SHOAL_VERSION);
	fputs(".SH NAME\nshoal \\- GitOps for Docker Swarm\n", out);
	fputs(".SH SYNOPSIS\n.B shoal\n[\\fB\\-H\\fR \\fIHOST\\fR]\n\\fICOMMAND\\fR [\\fIARGS\\fR]\n.br\n"
	      ".B shoal\n\\fICOMMAND\\fR \\fB\\-\\-help\\fR\n", out);
	fputs(".SH DESCRIPTION\n", out);
	roff_paras(out, "shoal reads a Git repository of compose stack files, works out the difference between what "
			"the repository says and what the swarm runs, and applies exactly that difference through the "
			"Docker Engine API. It is also a drop-in for docker stack deploy, reviews pull requests in CI, "
			"keeps sealed credentials in the repository, and builds the environment it runs in from an "
			"inventory.\n\n"
			"A repository holds stacks/STACK/*.yml (compose files, merged in lexical order), vars.env files "
			"for interpolation, and the files secrets, configs and env_file refer to.");
	fputs(".SH OPTIONS\n.TP\n\\fB\\-H\\fR, \\fB\\-\\-host\\fR \\fIHOST\\fR\n", out);
	roff(out, "The Docker engine: unix://PATH or tcp://HOST:PORT (TLS with DOCKER_TLS_VERIFY and "
		  "DOCKER_CERT_PATH); else DOCKER_HOST, else unix:///var/run/docker.sock.\n", 1);
	fputs(".TP\n\\fB\\-\\-version\\fR\nPrint the version.\n", out);
	fputs(".TP\n\\fB\\-\\-help\\fR\nAfter a command: that command's help, on standard output.\n", out);
	fputs(".SH COMMANDS\n", out);
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
		const struct help_entry *h = &entries[i];
		fprintf(out, ".SS \"");
		roff(out, h->name, 0);
		fprintf(out, "\"\n");
		roff(out, h->summary, 1);
		fputs(".\n.PP\n.nf\n", out);
		roff(out, h->synopsis, 1);
		fputs("\n.fi\n", out);
		roff_paras(out, h->description);
		for (const struct help_opt *o = h->opts; o && o->flag; o++) {
			fputs(".TP\n\\fB", out);
			roff(out, o->flag, 0);
			fputs("\\fR\n", out);
			roff(out, o->text, 1);
			fputc('\n', out);
		}
		if (h->exit) {
			fputs(".PP\nExit status: ", out);
			roff(out, h->exit, 0);
			fputc('\n', out);
		}
	}
	fputs(".SH ENVIRONMENT\n", out);
	static const char *const env[][2] = {
		{"DOCKER_HOST", "the engine when -H is not given; DOCKER_TLS_VERIFY and DOCKER_CERT_PATH for TLS"},
		{"SHOAL_KEY_FILE", "the private key that opens sealed values, when --key is not given"},
		{"SHOAL_ENGINE_TIMEOUT", "seconds an engine request may take (default 120)"},
		{"DOCKER_CONFIG", "stack deploy --with-registry-auth: the directory of config.json (default ~/.docker)"},
		{"NO_COLOR", "no colour in plans printed to a terminal"},
		{"GITHUB_*, GITEA_*, FORGEJO_*, CI_*, GITLAB_API_TOKEN",
		 "review: the pull request, the forge and the token, as each CI sets them"},
	};
	for (size_t i = 0; i < sizeof env / sizeof env[0]; i++) {
		fputs(".TP\n.B ", out);
		roff(out, env[i][0], 0);
		fputc('\n', out);
		roff(out, env[i][1], 1);
		fputs(".\n", out);
	}
	fputs(".SH EXIT STATUS\n", out);
	roff_paras(out, "0 success; 1 failure (an invalid stack, an engine error); 2 plan: changes pending; 3 review: "
			"not done or not posted; 64 usage (an unknown command or option, a missing argument). Each "
			"command above tells its own.");
	fputs(".SH FILES\n.TP\n.I /var/lib/shoal/repo.git\nThe agent's bare mirror (--cache).\n", out);
	fputs(".TP\n.I cluster.yml\nThe bootstrap's inventory (-f).\n", out);
	fputs(".SH SEE ALSO\n.BR docker (1),\n.BR git (1)\n", out);
}

int cmd_help(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--man")) {
		help_man(stdout);
		return EXIT_OK;
	}
	if (argc == 1) {
		help_list(stdout, "shoal");
		return EXIT_OK;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		help_print(help_find("help"), stdout);
		return EXIT_OK;
	}
	if (argc > 3) {
		fprintf(stderr, "usage: shoal help [COMMAND [SUBCOMMAND]] | --man\n");
		return EXIT_USAGE;
	}
	char name[128];
	snprintf(name, sizeof name, "%s%s%s", argv[1], argc == 3 ? " " : "", argc == 3 ? argv[2] : "");
	const struct help_entry *h = help_find(name);
	if (!h) {
		fprintf(stderr, "shoal help: no command '%s'\nusage: shoal help [COMMAND [SUBCOMMAND]] | --man\n", name);
		return EXIT_USAGE;
	}
	help_print(h, stdout);
	return EXIT_OK;
}
