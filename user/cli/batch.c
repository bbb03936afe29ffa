// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cli/batch.h"

static void free_line(struct mdr_batch_line *line)
{
	for (int i = 0; i < line->argc; i++)
		free(line->argv[i]);
	free(line->argv);
}

/* Splits @text at whitespace into @line, after a "NAME:LINENO" label. */
static int split(const char *name, unsigned int lineno, char *text,
		 struct mdr_batch_line *line)
{
	char *save = NULL, *word, **argv;

	line->lineno = lineno;
	line->argc = 0;
	line->argv = NULL;
	if (asprintf(&word, "%s:%u", name, lineno) < 0)
		return -ENOMEM;
	for (;;) {
		/* One more slot than used: argv ends with NULL. */
		argv = realloc(line->argv, (line->argc + 2) * sizeof(*argv));
		if (!argv) {
			free(word);
			free_line(line);
			return -ENOMEM;
		}
		line->argv = argv;
		argv[line->argc++] = word;
		argv[line->argc] = NULL;
		word = strtok_r(line->argc == 1 ? text : NULL, " \t\r\n",
				&save);
		if (!word)
			return 0;
		word = strdup(word);
		if (!word) {
			free_line(line);
			return -ENOMEM;
		}
	}
}

static bool skipped(const char *text)
{
	text += strspn(text, " \t\r\n");
	return !*text || *text == '#';
}

int mdr_batch_read(FILE *f, const char *name, struct mdr_batch *batch)
{
	struct mdr_batch_line *lines;
	unsigned int lineno = 0;
	size_t cap = 0;
	char *text = NULL;
	int err = 0;

	batch->lines = NULL;
	batch->n = 0;
	while (getline(&text, &cap, f) >= 0) {
		lineno++;
		if (skipped(text))
			continue;
		lines = realloc(batch->lines, (batch->n + 1) * sizeof(*lines));
		if (!lines) {
			err = -ENOMEM;
			break;
		}
		batch->lines = lines;
		err = split(name, lineno, text, &lines[batch->n]);
		if (err)
			break;
		batch->n++;
	}
	if (!err && ferror(f))
		err = -EIO;
	free(text);
	if (err)
		mdr_batch_free(batch);
	return err;
}

void mdr_batch_free(struct mdr_batch *batch)
{
	for (size_t i = 0; i < batch->n; i++)
		free_line(&batch->lines[i]);
	free(batch->lines);
	batch->lines = NULL;
	batch->n = 0;
}
