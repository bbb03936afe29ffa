// SPDX-License-Identifier: GPL-2.0-only
/*
 * JSON strings from any bytes: what a guest sends or an interface is
 * called must never make a line that jq cannot read.
 */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "lib/json.h"

/* @s as mdr_json_str() writes it. */
static const char *json(const char *s)
{
	static char out[256];
	FILE *f = fmemopen(out, sizeof(out), "w");

	mdr_json_str(f, s);
	fclose(f);
	return out;
}

static void test_escapes(void)
{
	CHECK_STR(json("plain /path"), "\"plain /path\"");
	CHECK_STR(json("a\"b\\c"), "\"a\\\"b\\\\c\"");
	CHECK_STR(json("\r\n\t\x01\x1f\x7f"),
		  "\"\\u000d\\u000a\\u0009\\u0001\\u001f\\u007f\"");
}

static void test_utf8_kept(void)
{
	CHECK_STR(json("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
	CHECK_STR(json("\xe2\x82\xac"), "\"\xe2\x82\xac\"");
	CHECK_STR(json("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");
}

static void test_invalid_utf8_replaced(void)
{
	/* A lone continuation byte, a truncated sequence, an overlong '/',
	 * a surrogate, beyond U+10FFFF, bytes never used. */
	CHECK_STR(json("\x80"), "\"\\ufffd\"");
	CHECK_STR(json("\xc3"), "\"\\ufffd\"");
	CHECK_STR(json("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(json("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(json("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(json("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK_STR(json("\xfe\xff"), "\"\\ufffd\\ufffd\"");
	CHECK_STR(json("ok\xe9ok"), "\"ok\\ufffdok\"");
}

static void test_null(void)
{
	char out[16];
	FILE *f = fmemopen(out, sizeof(out), "w");

	mdr_json_str_or_null(f, "");
	fputc(' ', f);
	mdr_json_str_or_null(f, NULL);
	fclose(f);
	CHECK_STR(out, "null null");
}

int main(void)
{
	test_escapes();
	test_utf8_kept();
	test_invalid_utf8_replaced();
	test_null();
	return check_summary();
}
