/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The test_http binary: one file per thing under test, one main()
 * (test_http.c) running them all, and the helpers they share.
 */
#ifndef MDR_HTTP_TESTS_H
#define MDR_HTTP_TESTS_H

#include <stdbool.h>

#include "http/parser.h"

/* One whole head through a fresh parser: 1, 0 (incomplete) or -errno. */
int parse_req(const char *s, struct mdr_http_head *h);
int parse_resp(const char *s, bool head, struct mdr_http_head *h);
/* Whether head contains line (give it with its CRLFs). */
bool has_header(const char *head, const char *line);

/* test_parser.c */
void test_simple_get(void);
void test_keep_alive_rules(void);
void test_rejections(void);
void test_limits(void);
void test_pipelining_splits(void);
void test_incremental(void);
void test_responses(void);
void test_chunked(void);
void test_body_length(void);

/* test_rewrite.c */
void test_rewrite_request(void);
void test_rewrite_request_http10(void);
void test_rewrite_response(void);
void test_rewrite_nova(void);
void test_rewrite_request_keep_alive(void);
void test_rewrite_identity_headers(void);
void test_rewrite_tokens(void);

/* test_backends.c */
void test_backend_specs(void);
void test_nova_specs(void);
void test_nova_signature(void);
void test_tls_options(void);
void test_local(void);

/* test_admission.c */
void test_rate_base_window(void);
void test_rate_burst_window(void);
void test_rate_retry_after(void);
void test_rate_versions_and_disabled(void);
void test_rate_bounded(void);
void test_conn_caps(void);

#endif
