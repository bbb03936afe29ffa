/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * TLS as a client, shared by the Nova backend (https) and the OVSDB client
 * (ssl: remotes): one way to build a context from the operator's files,
 * with errors naming the file and OpenSSL's reason, and one way to say
 * why a TLS call failed.
 */
#ifndef MDR_TLS_H
#define MDR_TLS_H

#include <stdbool.h>
#include <stddef.h>

struct ssl_ctx_st;
struct ssl_st;

/*
 * A client context into *@out: TLS 1.2 or later, partial writes from a
 * buffer that may move between retries, an unexpected EOF read as a plain
 * close, never a passphrase prompt. The peer's certificate must chain to
 * @ca_file (a PEM file or a hashed directory; NULL: the system's CAs)
 * unless @insecure. @cert (with @key, or holding both when @key is NULL) is
 * presented when given. Returns 0, or a negative errno with a message in
 * @err naming the file that is unreadable or invalid, or a key that does
 * not match its certificate.
 */
int mdr_tls_client_ctx(struct ssl_ctx_st **out, const char *ca_file,
		       const char *cert, const char *key, bool insecure,
		       char *err, size_t errlen);

/*
 * "@what: REASON" for an SSL call on @ssl that failed with SSL_get_error()
 * @ssl_err: OpenSSL's reason, with the certificate check's verdict in
 * parentheses when that was the cause ("certificate verify failed (unable
 * to get local issuer certificate)"), errno's for a system error, else
 * @closed (the peer went away). Clears OpenSSL's error queue.
 */
void mdr_tls_why(const struct ssl_st *ssl, int ssl_err, const char *what,
		 const char *closed, char *buf, size_t len);

#endif
