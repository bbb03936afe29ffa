// SPDX-License-Identifier: GPL-2.0-only
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/options.h"

#define MAX_OPTIONS 32
#define HELP_INDENT 2

static const struct cli_option help_option = {
	"help", 'h', NULL, "this text", NULL, 0,
};

int cli_set_string(const struct cli_command *cmd, const struct cli_option *opt,
		   const char *where, void *out, const char *value)
{
	(void)cmd;
	(void)where;
	*(const char **)((char *)out + opt->offset) = value;
	return 0;
}

int cli_set_true(const struct cli_command *cmd, const struct cli_option *opt,
		 const char *where, void *out, const char *value)
{
	(void)cmd;
	(void)where;
	(void)value;
	*(bool *)((char *)out + opt->offset) = true;
	return 0;
}

static size_t flag_width(const struct cli_option *o)
{
	return 2 + strlen(o->name) + (o->arg ? 1 + strlen(o->arg) : 0) +
	       (o->short_name ? 4 : 0);
}

static void print_option(FILE *f, const struct cli_option *o, int column)
{
	const char *line = o->help, *nl;
	int n;

	if (o->short_name)
		n = fprintf(f, "%*s-%c, --%s", HELP_INDENT, "", o->short_name,
			    o->name);
	else
		n = fprintf(f, "%*s--%s", HELP_INDENT, "", o->name);
	if (o->arg)
		n += fprintf(f, " %s", o->arg);
	/* Help lines after the first line up under it. */
	for (;; line = nl + 1) {
		nl = strchr(line, '\n');
		fprintf(f, "%*s%.*s\n", column - n, "",
			nl ? (int)(nl - line) : (int)strlen(line), line);
		if (!nl)
			break;
		n = 0;
	}
}

void cli_print_usage(const struct cli_command *cmd, FILE *f)
{
	size_t width = flag_width(&help_option);

	for (const struct cli_option *o = cmd->options; o && o->name; o++)
		if (flag_width(o) > width)
			width = flag_width(o);
	fprintf(f, "%s\n%s\n", cmd->synopsis, cmd->about);
	for (const struct cli_option *o = cmd->options; o && o->name; o++)
		print_option(f, o, HELP_INDENT + width + 2);
	print_option(f, &help_option, HELP_INDENT + width + 2);
	if (cmd->notes)
		fprintf(f, "\n%s", cmd->notes);
}

int cli_usage_error(const struct cli_command *cmd, const char *where,
		    const char *fmt, const char *arg)
{
	fprintf(stderr, "mdredir: ");
	if (where)
		fprintf(stderr, "%s: ", where);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	if (!where) {
		fputc('\n', stderr);
		cli_print_usage(cmd, stderr);
	}
	return EXIT_USAGE;
}

int cli_no_more(const struct cli_command *cmd, const char *where, int argc,
		char **argv)
{
	if (optind < argc)
		return cli_usage_error(cmd, where, "unexpected argument '%s'",
				       argv[optind]);
	return -1;
}

int cli_parse(const struct cli_command *cmd, int argc, char **argv,
	      const char *where, void *out)
{
	const struct cli_option *rows[MAX_OPTIONS + 1];
	struct option longopts[MAX_OPTIONS + 2] = {};
	char shortopts[2 * MAX_OPTIONS + 1] = "", *s = shortopts;
	size_t n = 0;
	int c, idx, rc;

	for (const struct cli_option *o = cmd->options;
	     o && o->name && n < MAX_OPTIONS; o++)
		rows[n++] = o;
	rows[n++] = &help_option;
	for (size_t i = 0; i < n; i++) {
		longopts[i] = (struct option){
			rows[i]->name,
			rows[i]->arg ? required_argument : no_argument,
			NULL,
			rows[i]->short_name ?: 256 + (int)i,
		};
		if (rows[i]->short_name) {
			*s++ = rows[i]->short_name;
			if (rows[i]->arg)
				*s++ = ':';
		}
	}
	optind = 0; /* a fresh scan, for every batch line too */
	while ((c = getopt_long(argc, argv, shortopts, longopts, &idx)) != -1) {
		const struct cli_option *o = NULL;

		for (size_t i = 0; i < n && !o; i++)
			if (c == longopts[i].val)
				o = rows[i];
		if (o == &help_option) {
			if (where)
				return cli_usage_error(
					cmd, where, "--help in a batch%s", "");
			cli_print_usage(cmd, stdout);
			return EXIT_OK;
		}
		if (!o) {
			/* getopt said what, labelled with argv[0] */
			if (!where)
				cli_print_usage(cmd, stderr);
			return EXIT_USAGE;
		}
		rc = o->set(cmd, o, where, out, o->arg ? optarg : NULL);
		if (rc)
			return rc;
	}
	return -1;
}
