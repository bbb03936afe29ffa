/* SPDX-License-Identifier: GPL-2.0-only */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "backend.h"

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return ret;
}

static int parse_local(const char *spec, const char *dir,
		       struct mdr_backend *out, char *err, size_t errlen)
{
	struct stat st;

	if (!*dir)
		return fail(err, errlen, -EINVAL,
			    "backend '%s': local needs a directory (local:DIR)",
			    spec);
	if (strlen(dir) >= sizeof(out->dir))
		return fail(err, errlen, -ENAMETOOLONG,
			    "backend '%s': directory path too long", spec);
	if (stat(dir, &st))
		return fail(err, errlen, -errno,
			    "backend '%s': cannot use directory '%s': %s",
			    spec, dir, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return fail(err, errlen, -ENOTDIR,
			    "backend '%s': '%s' is not a directory", spec, dir);
	out->kind = MDR_BACKEND_LOCAL;
	strcpy(out->dir, dir);
	return 0;
}

static int parse_unix(const char *spec, const char *path,
		      struct mdr_backend *out, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->addr;

	if (!*path)
		return fail(err, errlen, -EINVAL,
			    "backend '%s': missing socket path (neutron:unix:PATH)",
			    spec);
	/* The socket itself may not exist yet: the agent can start later. */
	if (strlen(path) >= sizeof(sun->sun_path))
		return fail(err, errlen, -ENAMETOOLONG,
			    "backend '%s': socket path longer than %zu bytes",
			    spec, sizeof(sun->sun_path) - 1);
	out->kind = MDR_BACKEND_NEUTRON;
	sun->sun_family = AF_UNIX;
	strcpy(sun->sun_path, path);
	out->addrlen = sizeof(*sun);
	return 0;
}

static int parse_http(const char *spec, const char *hostport,
		      struct mdr_backend *out, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	char host[256], port[8] = "80";
	const char *p, *end = hostport + strlen(hostport);
	size_t hlen;
	int rc;

	if (end > hostport && end[-1] == '/')
		end--; /* tolerate "http://host:port/" */
	if (*hostport == '[') { /* [v6]:port */
		p = memchr(hostport, ']', end - hostport);
		if (!p)
			return fail(err, errlen, -EINVAL,
				    "backend '%s': unterminated '[' in IPv6 address",
				    spec);
		hlen = p - hostport - 1;
		memcpy(host, hostport + 1, hlen < sizeof(host) ? hlen : 0);
		hints.ai_flags = AI_NUMERICHOST;
		p++;
	} else {
		p = memchr(hostport, ':', end - hostport);
		if (!p)
			p = end;
		hlen = p - hostport;
		memcpy(host, hostport, hlen < sizeof(host) ? hlen : 0);
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return fail(err, errlen, -EINVAL,
			    "backend '%s': missing or overlong host name", spec);
	host[hlen] = '\0';
	if (memchr(host, '/', hlen))
		return fail(err, errlen, -EINVAL,
			    "backend '%s': a path is not allowed after the host",
			    spec);

	if (p < end) {
		size_t plen = end - p - 1;
		char *num_end;
		long n;

		if (*p != ':' || plen == 0 || plen >= sizeof(port))
			return fail(err, errlen, -EINVAL,
				    "backend '%s': expected ':PORT' after the host",
				    spec);
		memcpy(port, p + 1, plen);
		port[plen] = '\0';
		errno = 0;
		n = strtol(port, &num_end, 10);
		if (*num_end || port[0] < '0' || port[0] > '9' || n < 1 ||
		    n > 65535)
			return fail(err, errlen, -EINVAL,
				    "backend '%s': port '%s' is not 1-65535", spec,
				    port);
	}

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return fail(err, errlen, -ENOENT,
			    "backend '%s': cannot resolve '%s': %s", spec,
			    host, gai_strerror(rc));
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->addrlen = res->ai_addrlen;
	out->kind = MDR_BACKEND_NEUTRON;
	freeaddrinfo(res);
	return 0;
}

int mdr_backend_parse(const char *spec, struct mdr_backend *out, char *err,
		      size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!spec)
		spec = "";
	if (!strncmp(spec, "local:", 6))
		return parse_local(spec, spec + 6, out, err, errlen);
	if (!strncmp(spec, "neutron:unix:", 13))
		return parse_unix(spec, spec + 13, out, err, errlen);
	if (!strncmp(spec, "neutron:http://", 15))
		return parse_http(spec, spec + 15, out, err, errlen);
	return fail(err, errlen, -EINVAL,
		    "unknown backend '%s'; valid forms: " MDR_BACKEND_FORMS,
		    spec);
}

void mdr_backend_describe(const struct mdr_backend *be, char *buf, size_t len)
{
	const struct sockaddr_in6 *s6 = (const void *)&be->addr;
	const struct sockaddr_in *s4 = (const void *)&be->addr;
	char ip[INET6_ADDRSTRLEN] = "?";

	if (be->kind == MDR_BACKEND_LOCAL) {
		snprintf(buf, len, "local:%s", be->dir);
	} else if (be->addr.ss_family == AF_UNIX) {
		snprintf(buf, len, "neutron:unix:%s",
			 ((const struct sockaddr_un *)&be->addr)->sun_path);
	} else if (be->addr.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "neutron:http://[%s]:%u", ip,
			 ntohs(s6->sin6_port));
	} else {
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "neutron:http://%s:%u", ip,
			 ntohs(s4->sin_port));
	}
}
