// SPDX-License-Identifier: GPL-2.0-only
/* TLS client contexts and failure reasons (tls.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "lib/errmsg.h"
#include "lib/tls.h"

/* Why the last OpenSSL call failed, in its own words; clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	if (r)
		snprintf(buf, len, "%s", r);
	else if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown error");
	ERR_clear_error();
	return buf;
}

/* A daemon must never stop to ask for a passphrase on a terminal. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Opens path for reading, so an error names errno before OpenSSL guesses. */
static int check_readable(const char *what, const char *path, bool dir_ok,
			  char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) || access(path, R_OK))
		return mdr_errf(err, errlen, -errno,
				"%s '%s' is not readable: %s", what, path,
				strerror(errno));
	if (S_ISDIR(st.st_mode) && !dir_ok)
		return mdr_errf(err, errlen, -EISDIR, "%s '%s' is a directory",
				what, path);
	return 0;
}

static int tls_load(SSL_CTX *ctx, const char *ca_file, const char *cert,
		    const char *key, bool insecure, char *err, size_t errlen)
{
	char why[200];
	struct stat st;
	int ret;

	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* The callers' buffers move and may be written in parts. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/* Many servers close without close_notify; the protocol's framing,
	 * not TLS, tells whether a message is complete. */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);

	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	} else {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
		if (ca_file) {
			ret = check_readable("CA file", ca_file, true, err,
					     errlen);
			if (ret)
				return ret;
			ret = !stat(ca_file, &st) && S_ISDIR(st.st_mode)
				      ? SSL_CTX_load_verify_locations(ctx, NULL,
								      ca_file)
				      : SSL_CTX_load_verify_locations(
						ctx, ca_file, NULL);
			if (ret != 1)
				return mdr_errf(
					err, errlen, -EINVAL,
					"CA file '%s' holds no usable certificate: %s",
					ca_file, ssl_reason(why, sizeof(why)));
		} else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
			return mdr_errf(
				err, errlen, -EINVAL,
				"cannot load the system's CA certificates: %s",
				ssl_reason(why, sizeof(why)));
		}
	}

	if (!cert && key)
		return mdr_errf(
			err, errlen, -EINVAL,
			"client key '%s' given without a client certificate",
			key);
	if (!cert)
		return 0;
	if (!key)
		key = cert; /* one PEM file holding both */
	ret = check_readable("client certificate", cert, false, err, errlen);
	if (ret)
		return ret;
	ret = check_readable("client key", key, false, err, errlen);
	if (ret)
		return ret;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
		return mdr_errf(
			err, errlen, -EINVAL,
			"client certificate '%s' is not a valid PEM certificate: %s",
			cert, ssl_reason(why, sizeof(why)));
	ERR_clear_error();
	ret = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
	/* OpenSSL checks the pair right here, in its own words. */
	if (ret != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)
		return mdr_errf(
			err, errlen, -EINVAL,
			"client key '%s' does not match client certificate '%s'",
			key, cert);
	if (ret != 1)
		return mdr_errf(
			err, errlen, -EINVAL,
			"client key '%s' is not a usable PEM private key "
			"(encrypted keys are not supported): %s",
			key, ssl_reason(why, sizeof(why)));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return mdr_errf(
			err, errlen, -EINVAL,
			"client key '%s' does not match client certificate '%s': %s",
			key, cert, ssl_reason(why, sizeof(why)));
	return 0;
}

int mdr_tls_client_ctx(SSL_CTX **out, const char *ca_file, const char *cert,
		       const char *key, bool insecure, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char why[200];
	int ret;

	*out = NULL;
	ERR_clear_error();
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx)
		return mdr_errf(err, errlen, -ENOMEM,
				"cannot create a TLS context: %s",
				ssl_reason(why, sizeof(why)));
	ret = tls_load(ctx, ca_file, cert, key, insecure, err, errlen);
	ERR_clear_error();
	if (ret) {
		SSL_CTX_free(ctx);
		return ret;
	}
	*out = ctx;
	return 0;
}

void mdr_tls_why(const SSL *ssl, int ssl_err, const char *what,
		 const char *closed, char *buf, size_t len)
{
	long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	unsigned long e = ERR_peek_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	char ebuf[120];

	if (!reason && e) {
		ERR_error_string_n(e, ebuf, sizeof(ebuf));
		reason = ebuf;
	} else if (!reason && ssl_err == SSL_ERROR_SYSCALL && errno) {
		reason = strerror(errno);
	} else if (!reason) {
		reason = closed;
	}
	if (vr != X509_V_OK)
		snprintf(buf, len, "%s: %s (%s)", what, reason,
			 X509_verify_cert_error_string(vr));
	else
		snprintf(buf, len, "%s: %s", what, reason);
	ERR_clear_error();
}
