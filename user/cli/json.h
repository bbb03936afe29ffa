/* SPDX-License-Identifier: GPL-2.0-only */
/* Just enough JSON output for `--json`: strings escaped, nothing else. */
#ifndef MDR_JSON_H
#define MDR_JSON_H

#include <stdio.h>

/* Prints @s as a JSON string, or null when @s is NULL or empty. */
void mdr_json_str_or_null(FILE *f, const char *s);
void mdr_json_str(FILE *f, const char *s);

#endif
