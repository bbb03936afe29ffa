/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one set of assertions the C unit tests use. A failed check prints
 * where and what, and the run goes on; check_summary() prints the line
 * tests/run.sh reads ("N passed, N failed") and gives the exit status.
 */
#ifndef MDR_TEST_CHECK_H
#define MDR_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_passed, check_failed;

/* Counts one result; prints "not ok - FILE:LINE: FUNC: what" if it failed. */
void check_report(int ok, const char *file, int line, const char *func,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define CHECK(cond) \
	check_report(!!(cond), __FILE__, __LINE__, __func__, "CHECK(%s)", #cond)

#define CHECK_INT(a, b)                                              \
	do {                                                         \
		long long _a = (a), _b = (b);                        \
		check_report(_a == _b, __FILE__, __LINE__, __func__, \
			     "%s == %lld, want %lld", #a, _a, _b);   \
	} while (0)

#define CHECK_STR(a, b)                                                     \
	do {                                                                \
		const char *_a = (a), *_b = (b);                            \
		check_report(!strcmp(_a, _b), __FILE__, __LINE__, __func__, \
			     "%s == \"%s\", want \"%s\"", #a, _a, _b);      \
	} while (0)

#define CHECK_HAS(hay, needle)                                           \
	do {                                                             \
		const char *_h = (hay), *_n = (needle);                  \
		check_report(strstr(_h, _n) != NULL, __FILE__, __LINE__, \
			     __func__, "\"%s\" lacks \"%s\"", _h, _n);   \
	} while (0)

/* Prints the summary line; the exit status for main(). */
int check_summary(void);

#endif
