/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where the proxy sends a guest's request: a directory served in-process, a
 * neutron-metadata-agent reached over a unix socket or plain HTTP, or Nova's
 * metadata API itself, signed, over HTTP or HTTPS.
 */
#ifndef MDR_BACKEND_H
#define MDR_BACKEND_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct ssl_ctx_st; /* OpenSSL's SSL_CTX, kept out of every includer */

enum mdr_backend_kind {
	MDR_BACKEND_LOCAL,   /* local:DIR */
	MDR_BACKEND_NEUTRON, /* neutron:unix:PATH or neutron:http://HOST:PORT */
	MDR_BACKEND_NOVA,    /* nova, nova:http://HOST:PORT, nova:https://... */
};

#define MDR_NOVA_DEFAULT_PORT  8775
#define MDR_NOVA_SIGNATURE_LEN 64 /* hex HMAC-SHA256 */
#define MDR_HMAC_BLOCK	       64 /* SHA-256's block size */

struct mdr_backend {
	enum mdr_backend_kind kind;
	char dir[PATH_MAX];	      /* local: the base directory, as given */
	struct sockaddr_storage addr; /* neutron, nova: where to connect */
	socklen_t addrlen;

	/* nova (and neutron:http, for describing it) */
	bool endpoint_set; /* false for a bare "nova" until configured */
	bool tls;	   /* https */
	bool host_is_ip;   /* verify an IP SAN, send no SNI */
	char host[256];	   /* as in the URL, without [] */
	unsigned int port;
	char authority[272]; /* Host header value: host[:port], [v6] bracketed */

	/* nova: the HMAC key. Keys longer than a SHA-256 block are kept as
	 * their digest, which is what HMAC itself replaces them with. */
	unsigned char key[MDR_HMAC_BLOCK];
	size_t key_len;
	bool has_secret;

	/* nova over https: built once by mdr_backend_set_tls() */
	struct ssl_ctx_st *ssl_ctx;
	bool insecure;
};

#define MDR_BACKEND_FORMS                                                  \
	"local:DIR, neutron:unix:PATH, neutron:http://HOST[:PORT], "       \
	"nova:http://HOST[:PORT], nova:https://HOST[:PORT] (port 8775 by " \
	"default), or nova (endpoint from the configuration)"

/*
 * Parses a --backend value. Host names are resolved now, once, so a typo
 * fails at startup rather than on the first guest request. Returns 0, or a
 * negative errno with a message for humans in err. out is overwritten
 * whole: release a backend that was set up before parsing into it again.
 *
 * For nova, the daemon then calls, in this order:
 *   1. mdr_backend_set_nova_endpoint(), only when mdr_backend_needs_endpoint()
 *      (the spec was a bare "nova"), with Neutron's nova_metadata_host,
 *      nova_metadata_port and nova_metadata_protocol == "https";
 *   2. mdr_backend_set_secret() with metadata_proxy_shared_secret;
 *   3. mdr_backend_set_tls() with auth_ca_cert, nova_client_cert,
 *      nova_client_priv_key and nova_metadata_insecure (a no-op unless the
 *      endpoint is https, so it can be called unconditionally);
 *   4. mdr_backend_finish(), for every kind, before mdr_proxy_run();
 * and mdr_backend_release() once the proxy has stopped.
 */
int mdr_backend_parse(const char *spec, struct mdr_backend *out, char *err,
		      size_t errlen);

/* Whether be is a bare "nova" still waiting for its endpoint. */
bool mdr_backend_needs_endpoint(const struct mdr_backend *be);

/*
 * Sets a bare "nova" backend's endpoint: host is a name, an IPv4 address or
 * an IPv6 address (with or without []), port 0 means 8775, https picks the
 * protocol. Resolved now, like a spec. Returns 0, -EINVAL when be is not a
 * bare nova backend or host is empty, -ENOENT when it does not resolve.
 */
int mdr_backend_set_nova_endpoint(struct mdr_backend *be, const char *host,
				  unsigned int port, bool https, char *err,
				  size_t errlen);

/*
 * The shared secret (Neutron's metadata_proxy_shared_secret, Nova's
 * [neutron] metadata_proxy_shared_secret), len bytes, used as given: no
 * trimming. Never take it from the command line. Without one, requests are
 * signed with the empty key, which is what Nova expects when its own secret
 * is unset too. Returns 0, or -EINVAL when be is not a nova backend.
 */
int mdr_backend_set_secret(struct mdr_backend *be, const char *secret,
			   size_t len);

/*
 * Builds the TLS client context once, for a nova:https backend (returns 0
 * and does nothing for any other backend). ca_file: a PEM file (or
 * directory of hashed certificates) of trusted CAs, NULL for the system's
 * default paths. client_cert/client_key: an optional client certificate
 * chain (PEM) and its private key (PEM, unencrypted; NULL to read it from
 * the certificate file). insecure: skip certificate and host name
 * verification (the CA file is then ignored). Returns 0, or a negative
 * errno with a message naming the file that is unreadable, invalid, or a
 * key that does not match its certificate.
 */
int mdr_backend_set_tls(struct mdr_backend *be, const char *ca_file,
			const char *client_cert, const char *client_key,
			bool insecure, char *err, size_t errlen);

/*
 * Last step before serving: refuses a bare "nova" that never got its
 * endpoint, and gives an https backend whose TLS was not set up the
 * defaults (system CAs, verification on). Returns 0 or a negative errno
 * with a message in err.
 */
int mdr_backend_finish(struct mdr_backend *be, char *err, size_t errlen);

/* Frees the TLS context and wipes the key; be can be parsed into again. */
void mdr_backend_release(struct mdr_backend *be);

/*
 * Writes the X-Instance-ID-Signature value for instance_id into out
 * (MDR_NOVA_SIGNATURE_LEN lowercase hex digits and a NUL), exactly what
 * neutron-metadata-agent sends: hex(HMAC-SHA256(secret, instance_id)).
 * Returns 0, or -EIO if libcrypto fails.
 */
int mdr_nova_sign(const struct mdr_backend *be, const char *instance_id,
		  char out[MDR_NOVA_SIGNATURE_LEN + 1]);

/* Writes a short description ("neutron:unix:/run/x") for logs. */
void mdr_backend_describe(const struct mdr_backend *be, char *buf, size_t len);

#endif
