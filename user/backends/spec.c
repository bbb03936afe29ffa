/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include "backends/spec.h"
#include "lib/errmsg.h"
#include "lib/tls.h"

static int parse_local(const char *spec, const char *dir,
		       struct mdr_backend *out, char *err, size_t errlen)
{
	struct stat st;

	if (!*dir)
		return mdr_errf(
			err, errlen, -EINVAL,
			"backend '%s': local needs a directory (local:DIR)",
			spec);
	if (strlen(dir) >= sizeof(out->dir))
		return mdr_errf(err, errlen, -ENAMETOOLONG,
				"backend '%s': directory path too long", spec);
	if (stat(dir, &st))
		return mdr_errf(err, errlen, -errno,
				"backend '%s': cannot use directory '%s': %s",
				spec, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mdr_errf(err, errlen, -ENOTDIR,
				"backend '%s': '%s' is not a directory", spec,
				dir);
	out->kind = MDR_BACKEND_LOCAL;
	strcpy(out->dir, dir);
	return 0;
}

static int parse_unix(const char *spec, const char *path,
		      struct mdr_backend *out, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->addr;

	if (!*path)
		return mdr_errf(
			err, errlen, -EINVAL,
			"backend '%s': missing socket path (neutron:unix:PATH)",
			spec);
	/* The socket itself may not exist yet: the agent can start later. */
	if (strlen(path) >= sizeof(sun->sun_path))
		return mdr_errf(
			err, errlen, -ENAMETOOLONG,
			"backend '%s': socket path longer than %zu bytes", spec,
			sizeof(sun->sun_path) - 1);
	out->kind = MDR_BACKEND_NEUTRON;
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	out->addrlen = sizeof(*sun);
	return 0;
}

/*
 * Parses HOST[:PORT][/] (HOST may be [v6]) after a scheme, resolves it and
 * fills addr, host, port and authority. Leaves kind and tls to the caller.
 */
static int parse_http(const char *spec, const char *hostport,
		      unsigned int default_port, struct mdr_backend *out,
		      char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256], port[8];
	const char *p, *end = hostport + strlen(hostport);
	unsigned char bin[sizeof(struct in6_addr)];
	bool v6 = false;
	size_t hlen;
	int rc;

	snprintf(port, sizeof(port), "%u", default_port);
	if (end > hostport && end[-1] == '/')
		end--;		/* tolerate "http://host:port/" */
	if (*hostport == '[') { /* [v6]:port */
		p = memchr(hostport, ']', end - hostport);
		if (!p)
			return mdr_errf(
				err, errlen, -EINVAL,
				"backend '%s': unterminated '[' in IPv6 address",
				spec);
		hlen = p - hostport - 1;
		memcpy(host, hostport + 1, hlen < sizeof(host) ? hlen : 0);
		hints.ai_flags = AI_NUMERICHOST;
		v6 = true;
		p++;
	} else {
		p = memchr(hostport, ':', end - hostport);
		if (!p)
			p = end;
		hlen = p - hostport;
		memcpy(host, hostport, hlen < sizeof(host) ? hlen : 0);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return mdr_errf(err, errlen, -EINVAL,
				"backend '%s': missing or overlong host name",
				spec);
	host[hlen] = '\0';
	if (memchr(host, '/', hlen))
		return mdr_errf(
			err, errlen, -EINVAL,
			"backend '%s': a path is not allowed after the host",
			spec);

	if (p < end) {
		size_t plen = end - p - 1;
		char *num_end;
		long n;

		if (*p != ':' || plen == 0 || plen >= sizeof(port))
			return mdr_errf(
				err, errlen, -EINVAL,
				"backend '%s': expected ':PORT' after the host",
				spec);
		memcpy(port, p + 1, plen);
		port[plen] = '\0';
		errno = 0;
		n = strtol(port, &num_end, 10);
		if (*num_end || port[0] < '0' || port[0] > '9' || n < 1 ||
		    n > 65535)
			return mdr_errf(
				err, errlen, -EINVAL,
				"backend '%s': port '%s' is not 1-65535", spec,
				port);
	}

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return mdr_errf(err, errlen, -ENOENT,
				"backend '%s': cannot resolve '%s': %s", spec,
				host, gai_strerror(rc));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->addrlen = res->ai_addrlen;
	freeaddrinfo(res);

	strcpy(out->host, host);
	out->port = (unsigned int)atoi(port);
	out->host_is_ip = inet_pton(AF_INET, host, bin) == 1 ||
			  inet_pton(AF_INET6, host, bin) == 1;
	snprintf(out->authority, sizeof(out->authority), "%s%s%s:%u",
		 v6 ? "[" : "", host, v6 ? "]" : "", out->port);
	out->endpoint_set = true;
	return 0;
}

static int parse_nova(const char *spec, const char *rest,
		      struct mdr_backend *out, char *err, size_t errlen)
{
	int ret;

	out->kind = MDR_BACKEND_NOVA;
	if (!*rest)
		return 0; /* bare "nova": the configuration names the endpoint */
	if (!strncmp(rest, ":http://", 8)) {
		ret = parse_http(spec, rest + 8, MDR_NOVA_DEFAULT_PORT, out,
				 err, errlen);
	} else if (!strncmp(rest, ":https://", 9)) {
		out->tls = true;
		ret = parse_http(spec, rest + 9, MDR_NOVA_DEFAULT_PORT, out,
				 err, errlen);
	} else {
		return mdr_errf(
			err, errlen, -EINVAL,
			"unknown backend '%s'; valid forms: " MDR_BACKEND_FORMS,
			spec);
	}
	if (ret)
		memset(out, 0, sizeof(*out)); /* nothing half-set survives */
	return ret;
}

int mdr_backend_parse(const char *spec, struct mdr_backend *out, char *err,
		      size_t errlen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!spec)
		spec = "";
	if (!strncmp(spec, "local:", 6))
		return parse_local(spec, spec + 6, out, err, errlen);
	if (!strncmp(spec, "neutron:unix:", 13))
		return parse_unix(spec, spec + 13, out, err, errlen);
	if (!strncmp(spec, "neutron:http://", 15)) {
		ret = parse_http(spec, spec + 15, 80, out, err, errlen);
		if (!ret)
			out->kind = MDR_BACKEND_NEUTRON;
		return ret;
	}
	if (!strncmp(spec, "nova", 4) && (!spec[4] || spec[4] == ':'))
		return parse_nova(spec, spec + 4, out, err, errlen);
	return mdr_errf(err, errlen, -EINVAL,
			"unknown backend '%s'; valid forms: " MDR_BACKEND_FORMS,
			spec);
}

bool mdr_backend_needs_endpoint(const struct mdr_backend *be)
{
	return be->kind == MDR_BACKEND_NOVA && !be->endpoint_set;
}

int mdr_backend_set_nova_endpoint(struct mdr_backend *be, const char *host,
				  unsigned int port, bool https, char *err,
				  size_t errlen)
{
	char spec[320], hostport[300];
	struct mdr_backend tmp = { 0 };
	bool v6;
	int ret;

	if (!mdr_backend_needs_endpoint(be))
		return mdr_errf(
			err, errlen, -EINVAL,
			"the nova endpoint comes from the configuration only "
			"when the backend is a bare 'nova'");
	if (!host || !*host)
		return mdr_errf(err, errlen, -EINVAL,
				"nova_metadata_host is empty");
	if (port > 65535)
		return mdr_errf(err, errlen, -EINVAL,
				"nova_metadata_port %u is not 1-65535", port);
	v6 = strchr(host, ':') && host[0] != '[';
	snprintf(hostport, sizeof(hostport), "%s%s%s:%u", v6 ? "[" : "", host,
		 v6 ? "]" : "", port ? port : MDR_NOVA_DEFAULT_PORT);
	snprintf(spec, sizeof(spec), "nova:%s://%s", https ? "https" : "http",
		 hostport);
	ret = parse_http(spec, hostport, MDR_NOVA_DEFAULT_PORT, &tmp, err,
			 errlen);
	if (ret)
		return ret;
	memcpy(&be->addr, &tmp.addr, sizeof(be->addr));
	be->addrlen = tmp.addrlen;
	memcpy(be->host, tmp.host, sizeof(be->host));
	memcpy(be->authority, tmp.authority, sizeof(be->authority));
	be->port = tmp.port;
	be->host_is_ip = tmp.host_is_ip;
	be->tls = https;
	be->endpoint_set = true;
	return 0;
}

int mdr_backend_set_secret(struct mdr_backend *be, const char *secret,
			   size_t len)
{
	unsigned int dlen = 0;

	if (be->kind != MDR_BACKEND_NOVA || (!secret && len))
		return -EINVAL;
	OPENSSL_cleanse(be->key, sizeof(be->key));
	if (len > sizeof(be->key)) {
		/* RFC 2104: a key longer than the block is hashed first, and
		 * shorter keys are zero-padded, so the digest is the key. */
		if (!EVP_Digest(secret, len, be->key, &dlen, EVP_sha256(),
				NULL))
			return -EIO;
		be->key_len = dlen;
	} else {
		if (len)
			memcpy(be->key, secret, len);
		be->key_len = len;
	}
	be->has_secret = true;
	return 0;
}

int mdr_nova_sign(const struct mdr_backend *be, const char *instance_id,
		  char out[MDR_NOVA_SIGNATURE_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	/* HMAC() with a NULL key would mean "no key"; the empty key it is. */
	if (!HMAC(EVP_sha256(), be->key_len ? be->key : (const void *)"",
		  (int)be->key_len, (const unsigned char *)instance_id,
		  strlen(instance_id), mac, &len) ||
	    len * 2 != MDR_NOVA_SIGNATURE_LEN) {
		out[0] = '\0';
		return -EIO;
	}
	for (unsigned int i = 0; i < len; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[2 * len] = '\0';
	return 0;
}

int mdr_backend_set_tls(struct mdr_backend *be, const char *ca_file,
			const char *client_cert, const char *client_key,
			bool insecure, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	int ret;

	if (be->kind != MDR_BACKEND_NOVA || !be->tls)
		return 0;
	if (ca_file && !*ca_file)
		ca_file = NULL;
	if (client_cert && !*client_cert)
		client_cert = NULL;
	if (client_key && !*client_key)
		client_key = NULL;
	ret = mdr_tls_client_ctx(&ctx, ca_file, client_cert, client_key,
				 insecure, err, errlen);
	if (ret)
		return ret;
	SSL_CTX_free(be->ssl_ctx);
	be->ssl_ctx = ctx;
	be->insecure = insecure;
	return 0;
}

int mdr_backend_finish(struct mdr_backend *be, char *err, size_t errlen)
{
	if (be->kind != MDR_BACKEND_NOVA)
		return 0;
	if (!be->endpoint_set)
		return mdr_errf(
			err, errlen, -EDESTADDRREQ,
			"backend 'nova' has no endpoint: set "
			"nova_metadata_host (and port, protocol) or give "
			"nova:http(s)://HOST[:PORT]");
	if (be->tls && !be->ssl_ctx)
		return mdr_backend_set_tls(be, NULL, NULL, NULL, false, err,
					   errlen);
	return 0;
}

void mdr_backend_release(struct mdr_backend *be)
{
	SSL_CTX_free(be->ssl_ctx);
	be->ssl_ctx = NULL;
	OPENSSL_cleanse(be->key, sizeof(be->key));
	be->key_len = 0;
	be->has_secret = false;
}

/* " (10.0.0.3)" when the host is a name: the address it resolved to. */
static void resolved_note(const struct mdr_backend *be, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)&be->addr;
	const struct sockaddr_in *s4 = (const void *)&be->addr;
	char ip[INET6_ADDRSTRLEN] = "?";

	buf[0] = '\0';
	if (be->host_is_ip)
		return;
	if (be->addr.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
	else
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
	snprintf(buf, len, " (%s)", ip);
}

void mdr_backend_describe(const struct mdr_backend *be, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN + 4];

	if (be->kind == MDR_BACKEND_LOCAL) {
		snprintf(buf, len, "local:%s", be->dir);
	} else if (be->kind == MDR_BACKEND_NOVA && !be->endpoint_set) {
		snprintf(buf, len, "nova (no endpoint yet)");
	} else if (be->kind == MDR_BACKEND_NOVA) {
		resolved_note(be, ip, sizeof(ip));
		snprintf(buf, len, "nova:%s://%s%s%s%s",
			 be->tls ? "https" : "http", be->authority, ip,
			 be->tls && be->insecure ? " (insecure)" : "",
			 be->has_secret ? "" : " (no shared secret)");
	} else if (be->addr.ss_family == AF_UNIX) {
		snprintf(buf, len, "neutron:unix:%s",
			 ((const struct sockaddr_un *)&be->addr)->sun_path);
	} else {
		resolved_note(be, ip, sizeof(ip));
		snprintf(buf, len, "neutron:http://%s%s", be->authority, ip);
	}
}
