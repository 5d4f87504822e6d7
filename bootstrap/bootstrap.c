/*
 * bootstrap.c - shoal bootstrap: build the environment from the inventory
 * (cluster.yml, inventory.h).
 *
 *   gateway     dnsmasq (DHCP range, reservations), shorewall (zones,
 *               interfaces, policy, rules, DNAT to the floating IP, snat,
 *               IP_FORWARDING), the hosts entry, dhclient's DNS prepend
 *   keepalived  the VRRP instance of one manager
 *   swarm       through the nodes' engines (bootswarm.c)
 *
 * Files: render everything in memory, stage it in a scratch directory,
 * validate it with the real tools (dnsmasq --test, shorewall check,
 * keepalived -t, in a network namespace of their own whose links are the
 * inventory's interfaces: netns.h), print the plan (a diff per file), and
 * only then replace each changed file atomically, keeping its owner and
 * mode (atomic.h), and restart what changed.  --root DIR writes under DIR
 * and restarts nothing; --dry-run stops after the plan.  Nothing of the
 * inventory reaches a tool unless the whole inventory passed its grammar
 * (inventory.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "bootstrap.h"
#include "../cli/cli.h"
#include "../reconcile/log.h"
#include "netns.h"
#include "render.h"

/* Run argv; its output is kept and shown only when it fails. */
static int run(const char *const argv[], const char *what)
{
	char out[] = "/tmp/shoal-run.XXXXXX";
	int fd = mkstemp(out);
	if (fd < 0)
		return -1;
	unlink(out);
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int status = 0;
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int ok = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
	if (!ok) {
		fprintf(stderr, "shoal: %s failed:\n", what);
		char buf[4096];
		ssize_t r;
		lseek(fd, 0, SEEK_SET);
		while ((r = read(fd, buf, sizeof buf)) > 0)
			fwrite(buf, 1, (size_t)r, stderr);
	}
	close(fd);
	return ok ? 0 : -1;
}

/* ---------------- plan, check, write ---------------- */

struct checks {
	const char *kind, *stage, *node;
};

/* The real tools on the staged files (in the checks' namespace). */
static int tool_checks(void *arg)
{
	const struct checks *k = arg;
	int rc = 0;
	if (!strcmp(k->kind, "gateway")) {
		char *conf = xasprintf("--conf-file=%s/etc/dnsmasq.d/shoal.conf", k->stage);
		const char *const dn[] = {"dnsmasq", "--test", conf, NULL};
		rc = run(dn, "dnsmasq --test");
		free(conf);
		char *dir = xasprintf("%s/etc/shorewall", k->stage);
		const char *const sw[] = {"shorewall", "check", dir, NULL};
		if (!rc)
			rc = run(sw, "shorewall check");
		free(dir);
	} else {
		char *conf = xasprintf("%s/etc/keepalived/keepalived.conf", k->stage);
		const char *const ka[] = {"keepalived", "-t", "-f", conf, "-i", k->node, NULL};
		rc = run(ka, "keepalived -t");
		free(conf);
	}
	return rc;
}

/* The tools check the files in a namespace whose links are the
 * inventory's interfaces: this machine's own need not exist. */
static int validate(const char *kind, const char *stage, const struct inventory *inv, const struct inv_node *n)
{
	struct checks k = {kind, stage, n ? n->name : NULL};
	const char *links[2];
	size_t nl = 0;
	if (!strcmp(kind, "gateway")) {
		links[nl++] = inv->ext_if;
		links[nl++] = inv->int_if;
	} else {
		links[nl++] = inv->vip_if;
	}
	return netns_run(links, nl, tool_checks, &k);
}

static void show_diff(const char *root, const char *path, const char *staged)
{
	char *cur = xasprintf("%s%s", root ? root : "", path), *a = xasprintf("a%s", path), *b = xasprintf("b%s", path);
	const char *left = access(cur, F_OK) == 0 ? cur : "/dev/null";
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		execlp("diff", "diff", "-u", "--label", a, "--label", b, left, staged, (char *)NULL);
		_exit(127);
	}
	int st;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	free(cur);
	free(a);
	free(b);
}

static int rm_tree(const char *stage, const struct rfiles *f)
{
	for (size_t i = 0; i < f->n; i++) {
		char *p = xasprintf("%s%s", stage, f->v[i].path);
		unlink(p);
		/* remove the now empty directories up to the stage */
		for (char *s = strrchr(p, '/'); s && s > p + strlen(stage); s = strrchr(p, '/')) {
			*s = 0;
			if (rmdir(p) < 0)
				break;
		}
		free(p);
	}
	return rmdir(stage);
}

static int converge_files(const char *kind, const struct bootstrap_opts *o, const struct inventory *inv, struct rfiles *f,
			  const struct inv_node *n)
{
	char stage[] = "/tmp/shoal-bootstrap.XXXXXX";
	if (!mkdtemp(stage)) {
		fprintf(stderr, "shoal: cannot make a scratch directory: %s\n", strerror(errno));
		return EXIT_FAIL;
	}
	int ret = EXIT_FAIL, changed = 0, unfit = 0;
	for (size_t i = 0; i < f->n; i++) {
		char *p = xasprintf("%s%s", stage, f->v[i].path);
		int w = atomic_replace(p, f->v[i].text, strlen(f->v[i].text));
		free(p);
		if (w < 0) {
			fprintf(stderr, "shoal: cannot stage %s: %s\n", f->v[i].path, strerror(errno));
			goto out;
		}
	}
	if (validate(kind, stage, inv, n) < 0)
		goto out; /* said by run() */
	const char *restart[4] = {0};
	size_t nr = 0;
	printf("%s: %zu file%s%s%s\n", kind, f->n, f->n == 1 ? "" : "s", o->root ? " under " : "", o->root ? o->root : "");
	for (size_t i = 0; i < f->n; i++) {
		char *cur = render_current(o->root, f->v[i].path);
		int same = cur && !strcmp(cur, f->v[i].text);
		printf("  %-9s %s\n", same ? "unchanged" : cur ? "update" : "create", f->v[i].path);
		if (!same) {
			char *p = xasprintf("%s%s", stage, f->v[i].path);
			show_diff(o->root, f->v[i].path, p);
			free(p);
			/* refused before anything is written, --dry-run included */
			p = xasprintf("%s%s", o->root ? o->root : "", f->v[i].path);
			if (atomic_replaceable(p) < 0) {
				fprintf(stderr, "shoal: %s: %s: not replaced\n", p,
					errno == ELOOP ? "a symbolic link" : errno == EINVAL ? "not a regular file" : strerror(errno));
				unfit = 1;
			}
			free(p);
			changed++;
			size_t k = 0;
			while (k < nr && strcmp(restart[k], f->v[i].service ? f->v[i].service : ""))
				k++;
			if (k == nr && f->v[i].service && nr < 4)
				restart[nr++] = f->v[i].service;
		}
		free(cur);
	}
	for (size_t k = 0; k < nr; k++)
		printf("  restart   %s%s\n", restart[k], o->root ? " (not with --root)" : "");
	if (!changed)
		printf("  nothing to do\n");
	if (unfit)
		goto out;
	if (o->dry_run || !changed) {
		ret = EXIT_OK;
		goto out;
	}
	for (size_t i = 0; i < f->n; i++) {
		char *cur = render_current(o->root, f->v[i].path);
		int same = cur && !strcmp(cur, f->v[i].text);
		free(cur);
		if (same)
			continue;
		char *p = xasprintf("%s%s", o->root ? o->root : "", f->v[i].path);
		int w = atomic_replace(p, f->v[i].text, strlen(f->v[i].text));
		if (w < 0)
			fprintf(stderr, "shoal: cannot write %s: %s\n", p, strerror(errno));
		free(p);
		if (w < 0)
			goto out;
	}
	ret = EXIT_OK;
	for (size_t k = 0; k < nr && !o->root; k++) {
		char *svc = xstrdup(restart[k]);
		const char *const sc[] = {"systemctl", "restart", svc, NULL};
		const char *const sw[] = {"shorewall", "restart", NULL};
		if (run(!strcmp(svc, "shorewall") ? sw : sc, svc) < 0)
			ret = EXIT_FAIL;
		free(svc);
	}
	printf("%s: %d file%s written\n", kind, changed, changed == 1 ? "" : "s");
out:
	rm_tree(stage, f);
	return ret;
}

int bootstrap_parse(int argc, char **argv, struct bootstrap_opts *o, int want_node)
{
	static const struct option lo[] = {{"file", required_argument, 0, 'f'}, {"root", required_argument, 0, 'r'},
					   {"node", required_argument, 0, 'n'}, {"dry-run", no_argument, 0, 'd'},
					   {0, 0, 0, 0}};
	memset(o, 0, sizeof *o);
	o->file = "cluster.yml";
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "f:", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o->file = optarg; break;
		case 'r': o->root = optarg; break;
		case 'n': o->node = optarg; break;
		case 'd': o->dry_run = 1; break;
		default: return -1;
		}
	}
	if (optind != argc || (want_node && !o->node) || (!want_node && o->node))
		return -1;
	if (o->root && o->root[0] != '/') {
		fprintf(stderr, "shoal: --root must be an absolute path\n");
		return -1;
	}
	return 0;
}

int bootstrap_load(const struct bootstrap_opts *o, struct inventory *inv)
{
	struct diags d = {0};
	int rc = inventory_load(o->file, inv, &d);
	diags_print(&d);
	diags_free(&d);
	return rc;
}

static int cmd_gateway(int argc, char **argv)
{
	struct bootstrap_opts o;
	if (bootstrap_parse(argc, argv, &o, 0) < 0) {
		fprintf(stderr, "usage: shoal bootstrap gateway [-f cluster.yml] [--root DIR] [--dry-run]\n");
		return EXIT_USAGE;
	}
	struct inventory inv;
	struct rfiles f = {0};
	int ret = EXIT_FAIL;
	if (bootstrap_load(&o, &inv) == 0) {
		render_gateway(&inv, o.root, &f);
		ret = converge_files("gateway", &o, &inv, &f, NULL);
	}
	rfiles_free(&f);
	inventory_free(&inv);
	return ret;
}

static int cmd_keepalived(int argc, char **argv)
{
	struct bootstrap_opts o;
	if (bootstrap_parse(argc, argv, &o, 1) < 0) {
		fprintf(stderr, "usage: shoal bootstrap keepalived --node NAME [-f cluster.yml] [--root DIR] [--dry-run]\n");
		return EXIT_USAGE;
	}
	struct inventory inv;
	struct rfiles f = {0};
	int ret = EXIT_FAIL;
	if (bootstrap_load(&o, &inv) == 0) {
		const struct inv_node *n = inventory_node(&inv, o.node);
		if (!inv.vip)
			fprintf(stderr, "shoal: %s has no vip section\n", o.file);
		else if (!n || !n->manager)
			fprintf(stderr, "shoal: %s is not a manager in %s (the floating IP lives on the managers)\n", o.node,
				o.file);
		else {
			render_keepalived(&inv, n, &f);
			ret = converge_files("keepalived", &o, &inv, &f, n);
		}
	}
	rfiles_free(&f);
	inventory_free(&inv);
	return ret;
}

static int cmd_check(int argc, char **argv)
{
	struct bootstrap_opts o;
	if (bootstrap_parse(argc, argv, &o, 0) < 0) {
		fprintf(stderr, "usage: shoal bootstrap check [-f cluster.yml]\n");
		return EXIT_USAGE;
	}
	struct inventory inv;
	int rc = bootstrap_load(&o, &inv);
	if (!rc)
		printf("%s: %zu nodes, gateway %s, floating IP %s\n", o.file, inv.nnodes, inv.gw_address,
		       inv.vip ? inv.vip : "none");
	inventory_free(&inv);
	return rc ? EXIT_FAIL : EXIT_OK;
}

int cmd_bootstrap(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
		const char *help;
	} sub[] = {
		{"check", cmd_check, "validate the inventory"},
		{"gateway", cmd_gateway, "dnsmasq, shorewall, hosts, dhclient on the gateway"},
		{"keepalived", cmd_keepalived, "the floating IP's VRRP config of one manager"},
		{"swarm", bootstrap_swarm, "init, join, labels, networks and the agent, through each engine"},
	};
	if (argc >= 2)
		for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
			if (!strcmp(argv[1], sub[i].name))
				return sub[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "usage: shoal bootstrap COMMAND [-f cluster.yml] …\n\ncommands:\n");
	for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++)
		fprintf(stderr, "  %-11s %s\n", sub[i].name, sub[i].help);
	return EXIT_USAGE;
}
