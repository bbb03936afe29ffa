/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Not a unit test: runs the proxy on an ordinary socket with a fixed
 * identity, so the HTTP layer can be exercised on loopback without BPF.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/settings.h"
#include "proxy/proxy.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct fixed_id {
	struct mdr_identity id;
	bool unknown;
};

static int identify(void *ctx, const struct sockaddr *local,
		    const struct sockaddr *peer, struct mdr_identity *id)
{
	const struct fixed_id *f = ctx;

	(void)local;
	if (f->unknown)
		return -ENOENT;
	*id = f->id;
	if (getnameinfo(peer,
			peer->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6)
				: sizeof(struct sockaddr_in),
			id->vm_ip, sizeof(id->vm_ip), NULL, 0, NI_NUMERICHOST))
		return -EINVAL;
	return 0;
}

static int listen_on(const char *spec)
{
	struct addrinfo hints = {
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE,
	}, *res;
	char host[128], *port, *h = host;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd, one = 1;

	snprintf(host, sizeof(host), "%s", spec);
	port = strrchr(host, ':');
	if (!port)
		return -EINVAL;
	*port++ = '\0';
	if (*h == '[') {
		h++;
		h[strcspn(h, "]")] = '\0';
	}
	if (getaddrinfo(h, port, &hints, &res))
		return -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 128) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		perror("listen");
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0,
		    NI_NUMERICHOST);
	printf("listening on %s:%u\n", host,
	       ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	return fd;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: proxy_standalone --listen ADDR:PORT --backend SPEC\n"
		"         [--network-id ID] [--router-id ID] [--instance-id ID]\n"
		"         [--project-id ID] [--ifname NAME] [--netns NAME]\n"
		"         [--unknown] [--timeout-client MS] [--timeout-server MS]\n"
		"         [--timeout-connect MS] [--timeout-http-request MS]\n"
		"         [--timeout-keepalive MS] [--max-connections N]\n"
		"         [--max-per-attachment N]\n"
		"         [--rate-limit BASE_MS:BASE_N:BURST_MS:BURST_N]\n"
		"         [--secret-file FILE] [--ca FILE] [--client-cert FILE]\n"
		"         [--client-key FILE] [--insecure]\n"
		"         [--nova-host HOST] [--nova-port N] [--nova-protocol http|https]\n"
		"         [--no-backend-keepalive]\n"
		"Runs the metadata proxy with a fixed identity (vm = the peer).\n"
		"--nova-* fill in a bare 'nova' backend, as the daemon does from\n"
		"Neutron's nova_metadata_host/port/protocol.\n"
		"backends: " MDR_BACKEND_FORMS "\n");
	exit(2);
}

/* The whole file is the secret, but for one trailing newline. */
static int read_secret(const char *path, char *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -errno;
	n = fread(buf, 1, cap, f);
	fclose(f);
	if (n == cap)
		return -EFBIG;
	if (n && buf[n - 1] == '\n')
		n--;
	*len = n;
	return 0;
}

/* BASE_MS:BASE_N:BURST_MS:BURST_N, for guests of both IP versions. */
static int parse_rate(const char *arg, struct mdr_rate_config *rc)
{
	if (sscanf(arg, "%u:%u:%u:%u", &rc->base_window_ms, &rc->base_limit,
		   &rc->burst_window_ms, &rc->burst_limit) != 4)
		return -EINVAL;
	rc->enabled = true;
	rc->ip_versions = MDR_RATE_IPV4 | MDR_RATE_IPV6;
	return 0;
}

static void set_id(char *dst, const char *src)
{
	snprintf(dst, MDR_ID_LEN, "%s", src);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "backend", required_argument, NULL, 'b' },
		{ "network-id", required_argument, NULL, 'n' },
		{ "router-id", required_argument, NULL, 'r' },
		{ "instance-id", required_argument, NULL, 'i' },
		{ "project-id", required_argument, NULL, 'p' },
		{ "ifname", required_argument, NULL, 'f' },
		{ "netns", required_argument, NULL, 's' },
		{ "unknown", no_argument, NULL, 'u' },
		{ "timeout-client", required_argument, NULL, 'C' },
		{ "timeout-server", required_argument, NULL, 'S' },
		{ "timeout-connect", required_argument, NULL, 'T' },
		{ "timeout-http-request", required_argument, NULL, 'R' },
		{ "timeout-keepalive", required_argument, NULL, 'K' },
		{ "max-connections", required_argument, NULL, 'M' },
		{ "max-per-attachment", required_argument, NULL, 'A' },
		{ "rate-limit", required_argument, NULL, 'L' },
		{ "secret-file", required_argument, NULL, 'x' },
		{ "ca", required_argument, NULL, 'a' },
		{ "client-cert", required_argument, NULL, 'c' },
		{ "client-key", required_argument, NULL, 'k' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "nova-host", required_argument, NULL, 'H' },
		{ "nova-port", required_argument, NULL, 'P' },
		{ "nova-protocol", required_argument, NULL, 'o' },
		{ "no-backend-keepalive", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct fixed_id fid = { .id.ifname = "standalone" };
	struct mdr_proxy_options po = { .identify = identify,
					.identify_ctx = &fid,
					.access_log = stderr,
					.stop = &stop };
	static struct mdr_settings defaults; /* large: not on the stack */
	const char *listen_spec = NULL, *backend_spec = NULL;
	const char *secret_file = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	const char *nova_host = NULL, *nova_proto = "http";
	unsigned int nova_port = 0;
	bool insecure = false;
	struct mdr_backend be;
	char err[512], secret[4096];
	size_t secret_len = 0;
	int c, ret, listen_fd;

	/* The daemon's defaults; the flags below override them. */
	mdr_settings_defaults(&defaults);
	mdr_settings_proxy_options(&defaults, &po);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 'b': backend_spec = optarg; break;
		case 'n': set_id(fid.id.network_id, optarg); break;
		case 'r': set_id(fid.id.router_id, optarg); break;
		case 'i': set_id(fid.id.instance_id, optarg); break;
		case 'p': set_id(fid.id.project_id, optarg); break;
		case 'f':
			snprintf(fid.id.ifname, sizeof(fid.id.ifname), "%s",
				 optarg);
			break;
		case 's': set_id(fid.id.netns, optarg); break;
		case 'u': fid.unknown = true; break;
		case 'C': po.timeout_client_ms = atoi(optarg); break;
		case 'S': po.timeout_server_ms = atoi(optarg); break;
		case 'T': po.timeout_connect_ms = atoi(optarg); break;
		case 'R': po.timeout_http_request_ms = atoi(optarg); break;
		case 'K': po.timeout_keepalive_ms = atoi(optarg); break;
		case 'M': po.max_connections = atoi(optarg); break;
		case 'A':
			po.max_connections_per_attachment = atoi(optarg);
			break;
		case 'L':
			if (parse_rate(optarg, &po.rate_limit))
				usage();
			break;
		case 'x': secret_file = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'I': insecure = true; break;
		case 'H': nova_host = optarg; break;
		case 'P': nova_port = atoi(optarg); break;
		case 'o': nova_proto = optarg; break;
		case 'N': po.backend_keepalive = false; break;
		default: usage();
		}
	}
	if (!listen_spec || !backend_spec || optind != argc)
		usage();
	/* The daemon's order: parse, endpoint (bare nova only), secret,
	 * TLS, finish. */
	ret = mdr_backend_parse(backend_spec, &be, err, sizeof(err));
	if (!ret && mdr_backend_needs_endpoint(&be) && nova_host)
		ret = mdr_backend_set_nova_endpoint(
			&be, nova_host, nova_port, !strcmp(nova_proto, "https"),
			err, sizeof(err));
	if (!ret && secret_file) {
		ret = read_secret(secret_file, secret, sizeof(secret),
				  &secret_len);
		if (ret)
			snprintf(err, sizeof(err), "secret file '%s': %s",
				 secret_file, strerror(-ret));
		else
			ret = mdr_backend_set_secret(&be, secret, secret_len);
		if (ret == -EINVAL)
			snprintf(err, sizeof(err),
				 "--secret-file needs a nova backend");
	}
	if (!ret)
		ret = mdr_backend_set_tls(&be, ca, cert, key, insecure, err,
					  sizeof(err));
	if (!ret)
		ret = mdr_backend_finish(&be, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "proxy_standalone: %s\n", err);
		mdr_backend_release(&be);
		return 1;
	}
	mdr_backend_describe(&be, err, sizeof(err));
	fprintf(stderr, "backend %s\n", err);
	po.backend = &be;
	listen_fd = listen_on(listen_spec);
	po.listen_fds = &listen_fd;
	po.workers = 1;
	if (listen_fd < 0) {
		fprintf(stderr, "proxy_standalone: cannot listen on %s\n",
			listen_spec);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = mdr_proxy_run(&po);
	close(listen_fd);
	mdr_backend_release(&be);
	if (ret) {
		fprintf(stderr, "proxy_standalone: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
