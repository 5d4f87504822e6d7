/*
 * tasks.h - what a service's tasks say about why it does not run: read by
 * the convergence waits (the agent's, and the rollout's between waves).
 * Every text returned is the engine's, cut by scrub_engine_str (a node's
 * words can quote a value a task was given, or a template's error what
 * it made of a secret).
 */
#ifndef SHOAL_TASKS_H
#define SHOAL_TASKS_H

#include "docker.h"

/* Failed tasks of one service that make it crash-looping. */
#define CRASH_LOOP_FAILURES 2

/* Why the service's tasks cannot run, NULL if nothing says so yet: a task
 * a node rejected (an image it cannot pull, a bad mount: "task rejected:
 * …"), or CRASH_LOOP_FAILURES failed tasks ("crash-looping: …").  One
 * request; service_id NULL: NULL. */
char *tasks_trouble(struct docker *dk, const char *service_id);

/* The most recent error any task of service name reports, NULL if none:
 * said with a convergence timeout, so the operator sees why. */
char *tasks_last_error(struct docker *dk, const char *name);

/* The services named (a JSON array of names, borrowed), with their task
 * counts (status=true): one request whatever the swarm's size; the list
 * may hold services whose names only begin so (the engine's name filter
 * is a prefix), the caller picks by exact name.  DOCKER_OK or an error. */
int services_status(struct docker *dk, const json_t *names, json_t **list, char **err);

#endif
