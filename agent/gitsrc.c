/*
 * gitsrc.c - the agent's Git source: a bare mirror of --repo in the cache
 * directory, fetched with the agent's credentials (--token-file,
 * --ssh-key) and host checks (--known-hosts, --ca-file).  Stacks are read
 * from the commit's tree objects (reconcile/source), never checked out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <git2.h>

#include "agent.h"
#include "cycle.h"
#include "knownhosts.h"

/* ---------------- git ---------------- */

struct cred_state {
	struct agent *ag;
	int tries;
};

static int credentials(git_credential **out, const char *url, const char *user_from_url, unsigned int allowed,
		       void *payload)
{
	struct cred_state *cs = payload;
	struct agent *ag = cs->ag;
	(void)url;
	if (cs->tries++ > 0) { /* refused once: do not loop */
		git_error_set_str(GIT_ERROR_NET, ag->ssh_key ? "authentication failed: the server refused the SSH key"
							     : "authentication failed: the server refused the "
							       "username and token (--username, --token-file)");
		return GIT_EUSER;
	}
	if ((allowed & GIT_CREDENTIAL_SSH_KEY) && ag->ssh_key)
		return git_credential_ssh_key_new(out, user_from_url ? user_from_url : "git", NULL, ag->ssh_key, NULL);
	if ((allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) && ag->token)
		return git_credential_userpass_plaintext_new(out, ag->username ? ag->username : "x-access-token",
							     ag->token);
	git_error_set_str(GIT_ERROR_NET, "authentication required: the agent has no credentials for this remote "
					 "(--token-file, or --ssh-key for SSH)");
	return GIT_EUSER;
}

/* SSH: the server's host key must be in the operator's known_hosts file.
 * (libgit2 1.5 accepts any host key when nobody checks.)  HTTPS: libcurl /
 * OpenSSL already verified the chain and name; keep that verdict. */
static int certificate_check(git_cert *cert, int valid, const char *host, void *payload)
{
	struct cred_state *cs = payload;
	struct agent *ag = cs->ag;
	if (cert->cert_type != GIT_CERT_HOSTKEY_LIBSSH2)
		return valid ? 0 : GIT_ECERTIFICATE;
	const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
	if (!(hk->type & GIT_CERT_SSH_RAW) || !ag->known_hosts) {
		git_error_set_str(GIT_ERROR_SSH, "no known_hosts file to check the SSH host key against");
		return GIT_ECERTIFICATE;
	}
	char *why = NULL;
	if (knownhosts_check(ag->known_hosts, host, ag->ssh_port, (const unsigned char *)hk->hostkey, hk->hostkey_len,
			     &why) == 0)
		return 0;
	git_error_set_str(GIT_ERROR_SSH, why);
	free(why);
	return GIT_ECERTIFICATE;
}

/* libgit2 for one cycle (in the cycle's own process, see run_cycle). */
static int git_setup(struct agent *ag, char **err)
{
	static int done;
	if (done)
		return 0;
	git_libgit2_init();
	/* no user's or system's gitconfig: nothing outside the agent's own
	 * settings (an insteadOf, a credential helper) changes what it fetches,
	 * and a HOME it cannot read after --user is not an error */
	for (int lvl = GIT_CONFIG_LEVEL_PROGRAMDATA; lvl <= GIT_CONFIG_LEVEL_GLOBAL; lvl++)
		git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, lvl, "");
	if (ag->ca_file && git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ag->ca_file, NULL) < 0) {
		*err = xasprintf("cannot use CA file %s: %s", ag->ca_file,
				 git_error_last() ? git_error_last()->message : "");
		return -1;
	}
	done = 1;
	return 0;
}

/* Delete every remote-tracking ref of origin. */
static int drop_remote_refs(git_repository *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	int ret = 0;
	if (git_reference_iterator_glob_new(&it, repo, "refs/remotes/origin/*") < 0)
		return -1;
	while (git_reference_next(&ref, it) == 0) {
		if (git_reference_delete(ref) < 0)
			ret = -1;
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return ret;
}

/* Fetch the branch into the bare mirror; the commit ID in out. */
int git_sync(struct agent *ag, char out[41], char **err)
{
	if (git_setup(ag, err) < 0)
		return -1;
	git_repository *repo = NULL;
	git_remote *remote = NULL;
	git_reference *ref = NULL;
	int ret = -1;
	struct stat st;
	char *head = xasprintf("%s/HEAD", ag->cache);
	int fresh = stat(head, &st) < 0; /* the directory itself was made private by agent_drop_privileges */
	free(head);
	if (fresh) {
		if (git_repository_init(&repo, ag->cache, 1) < 0 || git_remote_create(&remote, repo, "origin", ag->url) < 0)
			goto git_fail;
		git_remote_free(remote);
		remote = NULL;
	} else if (git_repository_open_bare(&repo, ag->cache) < 0) {
		goto git_fail;
	}
	if (git_remote_lookup(&remote, repo, "origin") < 0)
		goto git_fail;
	if (strcmp(git_remote_url(remote) ?: "", ag->url)) {
		/* a cache made for another --repo: it fetches this one now, and
		 * nothing it fetched from the other can be taken for a commit
		 * of this one (its refs go; its objects are never named) */
		git_remote_free(remote);
		remote = NULL;
		if (git_remote_set_url(repo, "origin", ag->url) < 0 || drop_remote_refs(repo) < 0 ||
		    git_remote_lookup(&remote, repo, "origin") < 0)
			goto git_fail;
		logmsg("warning", "the cache %s mirrored another repository: it fetches %s now", ag->cache, ag->url);
	}
	char *spec = xasprintf("+refs/heads/%s:refs/remotes/origin/%s", ag->branch, ag->branch);
	git_strarray specs = {&spec, 1};
	git_fetch_options fo = GIT_FETCH_OPTIONS_INIT;
	struct cred_state cs = {ag, 0};
	fo.callbacks.credentials = credentials;
	fo.callbacks.certificate_check = certificate_check;
	fo.callbacks.payload = &cs;
	fo.prune = GIT_FETCH_PRUNE;
	int r = git_remote_fetch(remote, &specs, &fo, "shoal fetch");
	free(spec);
	if (r < 0)
		goto git_fail;
	char *rn = xasprintf("refs/remotes/origin/%s", ag->branch);
	r = git_reference_lookup(&ref, repo, rn);
	free(rn);
	if (r < 0) {
		*err = xasprintf("branch %s not found in %s", ag->branch, ag->url);
		goto out;
	}
	git_oid_tostr(out, 41, git_reference_target(ref));
	ret = 0;
	goto out;
git_fail:;
	const git_error *e = git_error_last();
	*err = xasprintf("git %s: %s", ag->url, e && e->message ? e->message : "error");
out:
	git_reference_free(ref);
	git_remote_free(remote);
	git_repository_free(repo);
	return ret;
}
