/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Just enough JSON output for `--json` and the JSON access log: strings
 * escaped, nothing else.
 */
#ifndef MDR_JSON_H
#define MDR_JSON_H

#include <stdio.h>

/*
 * Prints @s as a JSON string: quotes, backslashes and control characters
 * escaped, and every byte that is not part of valid UTF-8 written as
 * U+FFFD, so that the output is valid JSON whatever @s holds (a guest's
 * bytes, an interface name).
 */
void mdr_json_str(FILE *f, const char *s);
/* As mdr_json_str(), or null when @s is NULL or empty. */
void mdr_json_str_or_null(FILE *f, const char *s);

#endif
