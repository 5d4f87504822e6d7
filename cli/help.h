/*
 * help.h - every command's help, from one table (help.c): `shoal CMD
 * --help`, `shoal help CMD` and the manual page `shoal help --man`
 * (roff, made at build time: make shoal.1) all print it.
 */
#ifndef SHOAL_HELP_H
#define SHOAL_HELP_H

#include <stdio.h>

struct help_opt {
	const char *flag; /* "--format text|json" */
	const char *text;
};

struct help_entry {
	const char *name;		/* "plan", "stack deploy" */
	const char *summary;		/* one line, lowercase, no final period */
	const char *synopsis;		/* lines "shoal …", '\n' between */
	const char *description;	/* paragraphs, "\n\n" between */
	const struct help_opt *opts;	/* ends with {NULL, NULL}; NULL: none */
	const char *exit;		/* exit status, or NULL */
};

/* The entry of a command ("stack deploy"), NULL when there is none. */
const struct help_entry *help_find(const char *name);
/* Entries in manual order; *n gets their number. */
const struct help_entry *help_entries(size_t *n);
/* The help of one command, as --help shows it. */
void help_print(const struct help_entry *h, FILE *out);
/* The command list (`shoal help`, `shoal --help`); prefix "shoal" or
 * "shoal stack": the entries one word below it. */
void help_list(FILE *out, const char *prefix);
/* The manual page shoal(1), in roff. */
void help_man(FILE *out);
/* shoal help [COMMAND [SUBCOMMAND]] | --man */
int cmd_help(int argc, char **argv);

#endif
