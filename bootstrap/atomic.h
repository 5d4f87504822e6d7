/*
 * atomic.h - replace a file whole (atomic.c): a new file beside it,
 * created exclusively and never through a link, given the replaced file's
 * owner and mode, written, synced, renamed over it.
 */
#ifndef SHOAL_ATOMIC_H
#define SHOAL_ATOMIC_H

#include <stddef.h>
#include <sys/types.h>

/* Replace (or create, mode 0644 less the umask, with its missing parent
 * directories) path with len bytes of data.  An existing path must be a
 * regular file, not a link.  -1 with errno set on failure (ELOOP: path is
 * a symbolic link; EINVAL: another kind of file); nothing is left behind. */
int atomic_replace(const char *path, const char *data, size_t len);

/* 0 when atomic_replace may replace path (absent or a regular file), else
 * -1 with errno as atomic_replace sets it. */
int atomic_replaceable(const char *path);

#endif
