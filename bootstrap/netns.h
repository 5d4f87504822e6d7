/*
 * netns.h - run a check in a network namespace of its own (netns.c) whose
 * links carry given names, so that dnsmasq --test, shorewall check and
 * keepalived -t check a configuration naming interfaces this machine does
 * not have (a laptop, CI) and touch nothing of the machine's network.
 */
#ifndef SHOAL_NETNS_H
#define SHOAL_NETNS_H

#include <stddef.h>

/* Fork; the child enters a new network and mount namespace (as root; else
 * a user namespace too, where the kernel allows it), makes one veth pair
 * per name in links[0..n) (both ends inside), mounts its own /sys and
 * returns fn(arg).  The namespace lives as long as that child: nothing is
 * left behind on any path.  fn's result (0 or -1), or -1 when the
 * namespace could not be made (said on stderr). */
int netns_run(const char *const *links, size_t n, int (*fn)(void *), void *arg);

#endif
