/*
 * atomic.c - replace a file whole, keeping its owner and mode (atomic.h).
 *
 * The temporary file is made in the target's directory (rename(2) does
 * not cross file systems) under a random name with O_CREAT|O_EXCL|
 * O_NOFOLLOW: a file or link planted there makes the open fail, it is
 * never followed or truncated.
 */
#include "atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../reconcile/util.h"

static int mkparents(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int rc = 0;
	for (char *s = p + 1; *s && !rc; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	free(p);
	return rc;
}

int atomic_replaceable(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISREG(st.st_mode))
		return 0;
	errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
	return -1;
}

static uint32_t random32(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16 ^ (uint32_t)clock();
	return r;
}

int atomic_replace(const char *path, const char *data, size_t len)
{
	struct stat st;
	int exists = lstat(path, &st) == 0, fd = -1, saved = 0;
	if (!exists && errno != ENOENT)
		return -1;
	if (exists && !S_ISREG(st.st_mode)) {
		errno = S_ISLNK(st.st_mode) ? ELOOP : EINVAL;
		return -1;
	}
	if (!exists && mkparents(path, 0755) < 0)
		return -1;
	mode_t mask = umask(0);
	umask(mask);
	mode_t mode = exists ? st.st_mode & 07777 : 0644 & ~mask;
	const char *slash = strrchr(path, '/');
	char *dir = slash ? xstrndup(path, (size_t)(slash - path + 1)) : xstrdup(""), *tmp = NULL;
	const char *base = slash ? slash + 1 : path;
	for (int i = 0; i < 16 && fd < 0; i++) {
		free(tmp);
		tmp = xasprintf("%s.%s.shoal-%08x", dir, base, random32());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	int ok = fd >= 0;
	/* the owner first: chown clears the set-id bits fchmod then restores */
	if (ok && exists && fchown(fd, st.st_uid, st.st_gid) < 0)
		ok = 0;
	if (ok && fchmod(fd, mode) < 0)
		ok = 0;
	for (size_t off = 0; ok && off < len;) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			ok = 0;
		else
			off += (size_t)w;
	}
	if (ok && fsync(fd) < 0)
		ok = 0;
	if (!ok)
		saved = errno;
	if (fd >= 0 && close(fd) < 0 && ok) {
		saved = errno;
		ok = 0;
	}
	if (ok && rename(tmp, path) < 0) {
		saved = errno;
		ok = 0;
	}
	if (ok) {
		/* the rename itself reaches the disk */
		int dfd = open(*dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd);
			close(dfd);
		}
	} else if (fd >= 0) {
		unlink(tmp);
	}
	free(tmp);
	free(dir);
	if (!ok)
		errno = saved;
	return ok ? 0 : -1;
}
