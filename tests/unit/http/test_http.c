/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests for the HTTP layer and what surrounds it in the proxy, one
 * file per thing under test (see http_tests.h): the parser, the rewriter,
 * the backends and admission control. This file holds the shared helpers
 * and runs them all.
 */
#include <string.h>

#include "check.h"
#include "http/parser.h"
#include "http_tests.h"

int parse_req(const char *s, struct mdr_http_head *h)
{
	struct mdr_http_parser p = { 0 };

	return mdr_http_parse_request(&p, s, strlen(s), h);
}

int parse_resp(const char *s, bool head, struct mdr_http_head *h)
{
	struct mdr_http_parser p = { 0 };

	return mdr_http_parse_response(&p, s, strlen(s), head, h);
}

bool has_header(const char *head, const char *line)
{
	return strstr(head, line) != NULL;
}

int main(void)
{
	test_simple_get();
	test_keep_alive_rules();
	test_rejections();
	test_limits();
	test_pipelining_splits();
	test_incremental();
	test_responses();
	test_chunked();
	test_body_length();
	test_rewrite_request();
	test_rewrite_request_http10();
	test_rewrite_response();
	test_backend_specs();
	test_nova_specs();
	test_nova_signature();
	test_rewrite_nova();
	test_rewrite_request_keep_alive();
	test_rewrite_identity_headers();
	test_rewrite_tokens();
	test_tls_options();
	test_local();
	test_rate_base_window();
	test_rate_burst_window();
	test_rate_retry_after();
	test_rate_versions_and_disabled();
	test_rate_bounded();
	test_conn_caps();
	return check_summary();
}
