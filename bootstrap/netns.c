/*
 * netns.c - a throwaway network namespace for the tool checks (netns.h).
 *
 * unshare(2) in a child process rather than `ip netns add`: a named
 * namespace is a bind mount under /run/netns that a crash or a kill would
 * leave behind, while an unnamed one goes with the last process in it.
 * The child also dies with shoal (PR_SET_PDEATHSIG).
 */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../reconcile/util.h"

#define NETNS_FAILED 2 /* the child's exit status when the namespace could not be made */

static int write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, text, strlen(text));
	close(fd);
	return w == (ssize_t)strlen(text) ? 0 : -1;
}

/* root: a network and a mount namespace; anyone else (or root where that
 * is refused, in a container): inside a user namespace of its own, as
 * its root, where unprivileged user namespaces are allowed. */
static int enter(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) == 0)
		return 0;
	int first = errno;
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) < 0) {
		errno = first;
		return -1;
	}
	char map[64];
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)uid);
	if (write_proc("/proc/self/uid_map", map) < 0)
		return -1;
	if (write_proc("/proc/self/setgroups", "deny\n") < 0 && errno != ENOENT)
		return -1;
	snprintf(map, sizeof map, "0 %u 1\n", (unsigned)gid);
	return write_proc("/proc/self/gid_map", map);
}

/* ip ARGS…, its output kept out of shoal's */
static int ip(const char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (null >= 0)
			dup2(null, 1);
		execvp("ip", (char *const *)argv);
		fprintf(stderr, "shoal: cannot run ip: %s\n", strerror(errno));
		_exit(127);
	}
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int taken(const char *const *links, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(links[i], name))
			return 1;
	return 0;
}

static int child(const char *const *links, size_t n)
{
	if (enter() < 0) {
		fprintf(stderr,
			"shoal: cannot make a network namespace for the tool checks: %s (run as root, or allow "
			"unprivileged user namespaces)\n",
			strerror(errno));
		return -1;
	}
	/* mounts stay in this namespace (/ may be shared with the machine's);
	 * a sysfs of its own shows the namespace's links under /sys/class/net */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	const char *const lo[] = {"ip", "link", "set", "lo", "up", NULL};
	if (ip(lo) < 0) {
		fprintf(stderr, "shoal: cannot set up the checks' namespace (ip link set lo up)\n");
		return -1;
	}
	unsigned peer = 0;
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(links[i], "lo") || taken(links, i, links[i]))
			continue;
		char name[16];
		do
			snprintf(name, sizeof name, "shoal-p%u", peer++);
		while (taken(links, n, name));
		const char *const add[] = {"ip", "link", "add", "name", links[i], "type", "veth", "peer", "name", name, NULL};
		if (ip(add) < 0) {
			fprintf(stderr, "shoal: cannot make link %s in the checks' namespace\n", links[i]);
			return -1;
		}
	}
	return 0;
}

int netns_run(const char *const *links, size_t n, int (*fn)(void *), void *arg)
{
	pid_t parent = getpid();
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "shoal: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(NETNS_FAILED);
		if (child(links, n) < 0)
			_exit(NETNS_FAILED);
		int rc = fn(arg);
		fflush(NULL);
		_exit(rc == 0 ? 0 : 1);
	}
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
