// SPDX-License-Identifier: GPL-2.0-only
#include "cli/json.h"

void mdr_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void mdr_json_str_or_null(FILE *f, const char *s)
{
	if (!s || !*s)
		fputs("null", f);
	else
		mdr_json_str(f, s);
}
