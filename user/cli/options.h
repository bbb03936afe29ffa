/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Table-driven command-line options: each flag is defined once, with its
 * argument, its help text and what it does; the getopt table and the
 * --help text are made from the rows.
 */
#ifndef MDR_CLI_OPTIONS_H
#define MDR_CLI_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

/* Exit statuses scripts can rely on. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli_command;
struct cli_option;

/*
 * Stores @value (NULL for a flag without argument) into @out, a command's
 * own struct. Returns 0, or an exit status after saying what is wrong
 * (cli_usage_error()).
 */
typedef int (*cli_set_fn)(const struct cli_command *cmd,
			  const struct cli_option *opt, const char *where,
			  void *out, const char *value);

struct cli_option {
	const char *name; /* --NAME; NULL ends a table */
	char short_name;  /* -X too, or 0 */
	const char *arg;  /* the argument's name; NULL: takes none */
	const char *help; /* '\n' starts a line under the first */
	cli_set_fn set;
	size_t offset; /* where in @out the generic setters store */
};

struct cli_command {
	const char *name;
	const char *summary;		  /* one line, for `mdredir --help` */
	const char *synopsis;		  /* the Usage: lines */
	const char *about;		  /* what the command does */
	const struct cli_option *options; /* --help is implicit */
	const char *notes;		  /* after the options, may be NULL */
	int (*run)(const struct cli_command *cmd, int argc, char **argv);
};

/* Generic setters: a const char * at opt->offset, a bool set to true. */
int cli_set_string(const struct cli_command *cmd, const struct cli_option *opt,
		   const char *where, void *out, const char *value);
int cli_set_true(const struct cli_command *cmd, const struct cli_option *opt,
		 const char *where, void *out, const char *value);

/*
 * Parses @argv's flags into @out. @where is NULL for the command line, or
 * a label ("FILE:LINE") when the arguments come from elsewhere: errors
 * then name it instead of showing the usage, and --help is refused.
 * Returns -1 with optind at the first operand, or an exit status to stop
 * with (--help printed, or a usage error reported).
 */
int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      const char *where, void *out);

/* The command's --help text. */
void cli_print_usage(const struct cli_command *cmd, FILE *f);

/*
 * Reports a usage error (@fmt has one %s, for @arg): with the usage on
 * the command line, labelled with @where otherwise. Returns EXIT_USAGE.
 */
int cli_usage_error(const struct cli_command *cmd, const char *where,
		    const char *fmt, const char *arg);

/* After the flags: -1 if no operand is left, else a usage error. */
int cli_no_more(const struct cli_command *cmd, const char *where, int argc,
		char **argv);

#endif
