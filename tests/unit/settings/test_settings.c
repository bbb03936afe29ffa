// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests for user/daemon/settings.c: defaults, every option, oslo.config's INI
 * dialect (quotes, continuations, comments, last wins), Neutron files taken
 * as-is, rejections with FILE:LINE and the option named, the secret file and
 * the service pools. Every call that may print runs with stderr captured, so
 * that expected warnings do not clutter the suite's output.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>

#include "check.h"
#include "lib/log.h"
#include "daemon/settings.h"
#include "proxy/options.h"

/* ---- temporary files and captured stderr ---- */

#define MAX_TMP 256
static char *tmp_files[MAX_TMP];
static int n_tmp;
static char tmp_dir[256];

static char *tmp_write(const void *data, size_t len)
{
	char *path;
	int fd;

	if (asprintf(&path, "%s/mdr-settings.XXXXXX", tmp_dir) < 0)
		abort();
	fd = mkstemp(path);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror("mkstemp/write");
		exit(2);
	}
	close(fd);
	if (n_tmp < MAX_TMP)
		tmp_files[n_tmp++] = path;
	return path;
}

static char *tmp_text(const char *text)
{
	return tmp_write(text, strlen(text));
}

static void tmp_cleanup(void)
{
	for (int i = 0; i < n_tmp; i++) {
		unlink(tmp_files[i]);
		free(tmp_files[i]);
	}
}

static char captured[16384];
static int saved_stderr = -1;
static char capture_path[300];

static void capture_start(void)
{
	int fd;

	snprintf(capture_path, sizeof(capture_path), "%s/mdr-stderr.XXXXXX",
		 tmp_dir);
	fd = mkstemp(capture_path);
	if (fd < 0) {
		perror("mkstemp");
		exit(2);
	}
	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
}

static void capture_stop(void)
{
	ssize_t n = 0;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	fd = open(capture_path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, captured, sizeof(captured) - 1);
		close(fd);
	}
	captured[n > 0 ? n : 0] = '\0';
	unlink(capture_path);
}

/* Loads TEXT as a file over S; *PATH (if given) gets the file's name. */
static int load(struct mdr_settings *s, const char *text, const char **path)
{
	char *file = tmp_text(text);
	int err;

	if (path)
		*path = file;
	capture_start();
	err = mdr_settings_load_file(s, file);
	capture_stop();
	return err;
}

/* Fresh defaults, then TEXT. */
static int load_fresh(struct mdr_settings *s, const char *text,
		      const char **path)
{
	mdr_settings_defaults(s);
	return load(s, text, path);
}

static int finish(struct mdr_settings *s)
{
	int err;

	capture_start();
	err = mdr_settings_finish(s);
	capture_stop();
	return err;
}

/* "FILE:LINE:" for the last file loaded. */
static const char *at(const char *path, int line)
{
	static char buf[400];

	snprintf(buf, sizeof(buf), "%s:%d:", path, line);
	return buf;
}

/* ---- tests ---- */

static struct mdr_settings s; /* ~40 KiB: kept off the stack */

static void test_defaults(void)
{
	struct in6_addr a6;
	struct in_addr a4;
	unsigned int prefix = 0;
	char buf[INET6_ADDRSTRLEN];

	/* Every default in the table parses: nothing is reported. */
	capture_start();
	mdr_settings_defaults(&s);
	capture_stop();
	CHECK_STR(captured, "");
	CHECK_STR(s.nova_metadata_host, "127.0.0.1");
	CHECK_INT(s.nova_metadata_port, 8775);
	CHECK(!s.nova_metadata_https);
	CHECK(!s.nova_metadata_insecure);
	CHECK_STR(s.auth_ca_cert, "");
	CHECK_STR(s.nova_client_cert, "");
	CHECK_STR(s.nova_client_priv_key, "");
	CHECK_STR(s.metadata_proxy_shared_secret, "");
	CHECK_INT(s.timeout_connect, 30);
	CHECK_INT(s.timeout_client, 32);
	CHECK_INT(s.timeout_server, 32);
	CHECK_INT(s.timeout_http_request, 30);
	CHECK_INT(s.timeout_http_keep_alive, 30);
	CHECK_STR(s.backend, "");
	CHECK_STR(s.proxy_netns, "mdredir");
	CHECK_STR(s.service_pool, "100.100.0.0/16");
	CHECK_STR(s.service_pool6, "fd6d:6472:6972::/64");
	CHECK_INT(s.max_connections, 4096);
	CHECK_STR(s.shared_secret_file, "");
	CHECK_INT(s.max_connections_per_attachment, 256);
	CHECK_INT(s.new_connection_rate, 100000);
	CHECK_INT(s.new_connection_burst, 20000);
	CHECK_INT(s.new_connection_rate_per_guest, 25000);
	CHECK_INT(s.new_connection_burst_per_guest, 5000);
	CHECK_INT(s.reply_ttl, 0);
	CHECK_INT(s.cache_ttl, 0);
	CHECK_INT(s.cache_size_mb, 64);
	CHECK(s.backend_keepalive);
	CHECK(!s.rate_limit_enabled);
	CHECK_INT(s.rate_limit_ip_versions, MDR_SETTINGS_IPV4);
	CHECK_INT(s.base_window_duration, 10);
	CHECK_INT(s.base_query_rate_limit, 10);
	CHECK_INT(s.burst_window_duration, 10);
	CHECK_INT(s.burst_query_rate_limit, 10);

	CHECK_INT(finish(&s), 0);
	CHECK_STR(captured, "");
	CHECK_STR(s.backend, MDR_SETTINGS_DEFAULT_BACKEND);
	CHECK_INT(mdr_settings_pool4(&s, &a4, &prefix), 0);
	CHECK_STR(inet_ntop(AF_INET, &a4, buf, sizeof(buf)), "100.100.0.0");
	CHECK_INT(prefix, 16);
	CHECK_INT(mdr_settings_pool6(&s, &a6, &prefix), 0);
	CHECK_STR(inet_ntop(AF_INET6, &a6, buf, sizeof(buf)),
		  "fd6d:6472:6972::");
	CHECK_INT(prefix, 64);
}

static void test_every_option(void)
{
	struct in_addr a4;
	unsigned int prefix = 0;
	char buf[INET6_ADDRSTRLEN];

	CHECK_INT(
		load_fresh(
			&s,
			"[DEFAULT]\n"
			"nova_metadata_host = nova.example.org\n"
			"nova_metadata_port = 8443\n"
			"nova_metadata_protocol = https\n"
			"nova_metadata_insecure = true\n"
			"auth_ca_cert = /etc/ssl/ca.pem\n"
			"nova_client_cert = /etc/ssl/client.pem\n"
			"nova_client_priv_key = /etc/ssl/client.key\n"
			"metadata_proxy_shared_secret = s3cr3t\n"
			"[metadata_haproxy]\n"
			"timeout_connect = 1\n"
			"timeout_client = 2\n"
			"timeout_server = 3\n"
			"timeout_http_request = 4\n"
			"timeout_http_keep_alive = 86400\n"
			"[mdredir]\n"
			"backend = neutron:unix:/var/lib/neutron/metadata_proxy\n"
			"proxy_netns = mdr-test\n"
			"service_pool = 10.255.0.0/24\n"
			"service_pool6 = fd00:1::/96\n"
			"max_connections = 1000000\n"
			"shared_secret_file = /etc/mdredir/secret\n"
			"max_connections_per_attachment = 7\n"
			"new_connection_rate = 0\n"
			"new_connection_burst = 9\n"
			"new_connection_rate_per_guest = 0\n"
			"new_connection_burst_per_guest = 3\n"
			"reply_ttl = 1\n"
			"[metadata_rate_limiting]\n"
			"rate_limit_enabled = yes\n"
			"ip_versions = 4,6\n"
			"base_window_duration = 20\n"
			"base_query_rate_limit = 21\n"
			"burst_window_duration = 2\n"
			"burst_query_rate_limit = 23\n",
			NULL),
		0);
	CHECK_STR(captured, "");
	CHECK_STR(s.nova_metadata_host, "nova.example.org");
	CHECK_INT(s.nova_metadata_port, 8443);
	CHECK(s.nova_metadata_https);
	CHECK(s.nova_metadata_insecure);
	CHECK_STR(s.auth_ca_cert, "/etc/ssl/ca.pem");
	CHECK_STR(s.nova_client_cert, "/etc/ssl/client.pem");
	CHECK_STR(s.nova_client_priv_key, "/etc/ssl/client.key");
	CHECK_STR(s.metadata_proxy_shared_secret, "s3cr3t");
	CHECK_INT(s.timeout_connect, 1);
	CHECK_INT(s.timeout_client, 2);
	CHECK_INT(s.timeout_server, 3);
	CHECK_INT(s.timeout_http_request, 4);
	CHECK_INT(s.timeout_http_keep_alive, 86400);
	CHECK_STR(s.backend, "neutron:unix:/var/lib/neutron/metadata_proxy");
	CHECK_STR(s.proxy_netns, "mdr-test");
	CHECK_STR(s.service_pool, "10.255.0.0/24");
	CHECK_STR(s.service_pool6, "fd00:1::/96");
	CHECK_INT(s.max_connections, 1000000);
	CHECK_STR(s.shared_secret_file, "/etc/mdredir/secret");
	CHECK_INT(s.max_connections_per_attachment, 7);
	CHECK_INT(s.new_connection_rate, 0);
	CHECK_INT(s.new_connection_burst, 9);
	CHECK_INT(s.new_connection_rate_per_guest, 0);
	CHECK_INT(s.new_connection_burst_per_guest, 3);
	CHECK_INT(s.reply_ttl, 1);
	CHECK(s.rate_limit_enabled);
	CHECK_INT(s.rate_limit_ip_versions,
		  MDR_SETTINGS_IPV4 | MDR_SETTINGS_IPV6);
	CHECK_INT(s.base_window_duration, 20);
	CHECK_INT(s.base_query_rate_limit, 21);
	CHECK_INT(s.burst_window_duration, 2);
	CHECK_INT(s.burst_query_rate_limit, 23);
	CHECK_INT(mdr_settings_pool4(&s, &a4, &prefix), 0);
	CHECK_STR(inet_ntop(AF_INET, &a4, buf, sizeof(buf)), "10.255.0.0");
	CHECK_INT(prefix, 24);

	/* http back again; the other spelling of assignment; IPv6 host. */
	CHECK_INT(load(&s,
		       "[DEFAULT]\nnova_metadata_protocol: http\n"
		       "nova_metadata_host: fd00::1\n",
		       NULL),
		  0);
	CHECK(!s.nova_metadata_https);
	CHECK_STR(s.nova_metadata_host, "fd00::1");
}

static void test_last_wins(void)
{
	const char *f1, *f2;

	CHECK_INT(load_fresh(&s,
			     "[mdredir]\nmax_connections = 5\n"
			     "max_connections = 6\n[DEFAULT]\n"
			     "nova_metadata_port = 1\n[mdredir]\n"
			     "max_connections = 7\n",
			     &f1),
		  0);
	CHECK_INT(s.max_connections, 7);
	CHECK_INT(s.nova_metadata_port, 1);
	/* A second file overrides only what it sets. */
	CHECK_INT(load(&s, "[mdredir]\nmax_connections = 8\n", &f2), 0);
	CHECK_INT(s.max_connections, 8);
	CHECK_INT(s.nova_metadata_port, 1);
	/* An error leaves the earlier value alone. */
	CHECK(load(&s, "[mdredir]\nmax_connections = 0\n", NULL) < 0);
	CHECK_INT(s.max_connections, 8);
	/* Origins: the failure above did not overwrite where the value came from. */
	s.max_connections = 0;
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, at(f2, 2));
	CHECK_HAS(captured, "[mdredir] max_connections");
}

static void test_booleans(void)
{
	static const char *const yes[] = { "true", "TRUE", "True", "yes",
					   "YES",  "on",   "On",   "1" };
	static const char *const no[] = { "false", "FALSE", "no", "No",
					  "off",   "OFF",   "0" };
	static const char *const wrong[] = { "maybe", "2",     "y",	 "t",
					     "",      "truee", "enabled" };
	char text[128];
	const char *path;

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		snprintf(text, sizeof(text),
			 "[DEFAULT]\nnova_metadata_insecure = %s\n", yes[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK(s.nova_metadata_insecure);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		snprintf(text, sizeof(text),
			 "[DEFAULT]\nnova_metadata_insecure = true\n"
			 "nova_metadata_insecure = %s\n",
			 no[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK(!s.nova_metadata_insecure);
	}
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		snprintf(text, sizeof(text),
			 "[metadata_rate_limiting]\n"
			 "rate_limit_enabled = %s\n",
			 wrong[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured,
			  "[metadata_rate_limiting] rate_limit_enabled:");
		CHECK(!s.rate_limit_enabled);
	}
}

static void test_integers(void)
{
	static const struct {
		const char *section, *name, *value;
	} wrong[] = {
		{ "DEFAULT", "nova_metadata_port", "0" },
		{ "DEFAULT", "nova_metadata_port", "65536" },
		{ "DEFAULT", "nova_metadata_port", "-1" },
		{ "DEFAULT", "nova_metadata_port", "+80" },
		{ "DEFAULT", "nova_metadata_port", "0x50" },
		{ "DEFAULT", "nova_metadata_port", "80.0" },
		{ "DEFAULT", "nova_metadata_port", "80 80" },
		{ "DEFAULT", "nova_metadata_port", "" },
		{ "DEFAULT", "nova_metadata_port", "99999999999999999999999" },
		{ "metadata_haproxy", "timeout_connect", "0" },
		{ "metadata_haproxy", "timeout_client", "86401" },
		{ "metadata_haproxy", "timeout_server", "30s" },
		{ "metadata_haproxy", "timeout_http_request", "1e3" },
		{ "metadata_haproxy", "timeout_http_keep_alive", "-0" },
		{ "mdredir", "max_connections", "0" },
		{ "mdredir", "max_connections", "1000001" },
		{ "metadata_rate_limiting", "base_window_duration", "0" },
		{ "metadata_rate_limiting", "burst_query_rate_limit", "ten" },
	};
	char text[256], name[128];
	const char *path;

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		snprintf(text, sizeof(text), "# line 1\n[%s]\n%s = %s\n",
			 wrong[i].section, wrong[i].name, wrong[i].value);
		CHECK(load_fresh(&s, text, &path) < 0);
		snprintf(name, sizeof(name), "[%s] %s:", wrong[i].section,
			 wrong[i].name);
		CHECK_HAS(captured, at(path, 3));
		CHECK_HAS(captured, name);
	}
	CHECK_INT(load_fresh(&s,
			     "[DEFAULT]\nnova_metadata_port = 65535\n"
			     "[metadata_haproxy]\ntimeout_connect = 0030\n",
			     NULL),
		  0);
	CHECK_INT(s.nova_metadata_port, 65535);
	CHECK_INT(s.timeout_connect, 30);
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_port = 1\n", NULL),
		  0);
	CHECK_INT(s.nova_metadata_port, 1);
}

static void test_strings(void)
{
	const char *path;

	/* Protocol: exactly http or https, as oslo's choices. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_protocol = HTTPS\n",
			     &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "nova_metadata_protocol");
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_protocol = ftp\n",
			     NULL),
		  -EINVAL);
	CHECK(!s.nova_metadata_https);

	/* Host: IP address or RFC 1123 name. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_host = nova-api.\n",
			     NULL),
		  0);
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_host = bad host\n",
			     NULL),
		  -EINVAL);
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_host = -x.org\n",
			     NULL),
		  -EINVAL);
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_host = 1.2.3.256\n",
			     NULL),
		  -EINVAL);
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_host =\n", NULL),
		  -EINVAL);
	CHECK_STR(s.nova_metadata_host, "127.0.0.1");

	/* Namespace names, by mdr_netns_valid_name(). */
	CHECK_INT(load_fresh(&s, "[mdredir]\nproxy_netns = a/b\n", &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "[mdredir] proxy_netns:");
	CHECK_INT(load_fresh(&s, "[mdredir]\nproxy_netns = ..\n", NULL),
		  -EINVAL);
	CHECK_INT(load_fresh(&s, "[mdredir]\nproxy_netns =\n", NULL), -EINVAL);
	CHECK(load_fresh(
		      &s,
		      "[mdredir]\nproxy_netns = "
		      "a123456789012345678901234567890123456789012345678901234567890123\n",
		      NULL) < 0);
	CHECK_STR(s.proxy_netns, "mdredir");

	/* Too long for the field. */
	{
		char text[1200] = "[DEFAULT]\nmetadata_proxy_shared_secret = ";
		size_t len = strlen(text);

		memset(text + len, 'x', 1024);
		strcpy(text + len + 1024, "\n");
		CHECK_INT(load_fresh(&s, text, &path), -ENAMETOOLONG);
		CHECK_HAS(captured, "metadata_proxy_shared_secret");
		/* A secret is never echoed. */
		CHECK(!strstr(captured, "xxxx"));
	}

	/* oslo's "$": "$$" is one '$', "$name" is refused. */
	CHECK_INT(load_fresh(&s,
			     "[DEFAULT]\nmetadata_proxy_shared_secret = a$$b\n",
			     NULL),
		  0);
	CHECK_STR(s.metadata_proxy_shared_secret, "a$b");
	CHECK_INT(load_fresh(&s,
			     "[DEFAULT]\nmetadata_proxy_shared_secret = a$b\n",
			     &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "$$");
	/* ... but not in options we ignore (Neutron's own default uses it). */
	CHECK_INT(load_fresh(&s,
			     "[DEFAULT]\nmetadata_proxy_socket = "
			     "$state_path/metadata_proxy\n",
			     NULL),
		  0);
}

static void test_quotes_comments_continuations(void)
{
	const char *path;

	CHECK_INT(load_fresh(&s,
			     "# a comment\n"
			     "; another\n"
			     "\n"
			     "   \n"
			     "[mdredir]\n"
			     "  # an indented comment where no option is open\n"
			     "backend = \"local:/srv/meta data\"\n"
			     "proxy_netns = 'quoted'\n"
			     "shared_secret_file = \"unbalanced\n"
			     "[DEFAULT]\n"
			     "metadata_proxy_shared_secret = \"\"\n"
			     "auth_ca_cert = a # not a comment\n"
			     "nova_client_cert = \"\n",
			     NULL),
		  0);
	CHECK_STR(captured, "");
	CHECK_STR(s.backend, "local:/srv/meta data");
	CHECK_STR(s.proxy_netns, "quoted");
	CHECK_STR(s.shared_secret_file, "\"unbalanced");
	CHECK_STR(s.metadata_proxy_shared_secret, "");
	CHECK_STR(s.auth_ca_cert, "a # not a comment");
	CHECK_STR(s.nova_client_cert, "\"");

	/* The first of '=' or ':' separates. */
	CHECK_INT(load_fresh(&s,
			     "[mdredir]\nbackend = neutron:http://nova:8775\n"
			     "[DEFAULT]\nauth_ca_cert: /a=b\n",
			     NULL),
		  0);
	CHECK_STR(s.backend, "neutron:http://nova:8775");
	CHECK_STR(s.auth_ca_cert, "/a=b");

	/* Continuation lines join with one space; blank and comment lines end them. */
	CHECK_INT(load_fresh(&s,
			     "[metadata_rate_limiting]\n"
			     "ip_versions = 4,\n"
			     "\t6\n"
			     "[mdredir]\n"
			     "backend =\n"
			     "    local:/srv/x\n"
			     "[DEFAULT]\n"
			     "auth_ca_cert = a\n"
			     "  b\n"
			     "\t\tc\n",
			     NULL),
		  0);
	CHECK_INT(s.rate_limit_ip_versions,
		  MDR_SETTINGS_IPV4 | MDR_SETTINGS_IPV6);
	CHECK_STR(s.backend, "local:/srv/x");
	CHECK_STR(s.auth_ca_cert, "a b c");

	CHECK_INT(load_fresh(&s, "[DEFAULT]\nauth_ca_cert = a\n\n  b\n", &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 4));
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nauth_ca_cert = a\n# c\n  b\n",
			     &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 4));
	CHECK_INT(load_fresh(&s, "  [DEFAULT]\n", &path), -EINVAL);
	CHECK_HAS(captured, at(path, 1));
	/* Like oslo: an indented '#' under an option is part of its value. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nauth_ca_cert = a\n  # b\n", NULL),
		  0);
	CHECK_STR(s.auth_ca_cert, "a # b");
	/* A continued value is checked as a whole, at the option's line. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_port = 80\n  80\n",
			     &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "nova_metadata_port");

	/* CRLF line ends and a UTF-8 BOM, as Python reads them. */
	CHECK_INT(load_fresh(&s,
			     "\xef\xbb\xbf[mdredir]\r\nmax_connections = 9\r\n"
			     "proxy_netns = crlf\r\n",
			     NULL),
		  0);
	CHECK_INT(s.max_connections, 9);
	CHECK_STR(s.proxy_netns, "crlf");
}

static void test_sections(void)
{
	const char *path;

	/* Other section names are case-insensitive (oslo lower-cases them)... */
	CHECK_INT(load_fresh(&s, "[MDREDIR]\nmax_connections = 3\n", NULL), 0);
	CHECK_INT(s.max_connections, 3);
	/* ... DEFAULT is not, and option names never are. */
	CHECK_INT(load_fresh(&s, "[default]\nnova_metadata_port = 3\n", &path),
		  0);
	CHECK_INT(s.nova_metadata_port, 8775);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured,
		  "unknown option [default] nova_metadata_port (ignored)");
	CHECK_INT(load_fresh(&s, "[mdredir]\nMax_Connections = 3\n", NULL), 0);
	CHECK_INT(s.max_connections, 4096);
	/* An option is looked up in its own section only. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nbackend = local:/x\n", &path), 0);
	CHECK_STR(s.backend, "");
	CHECK_HAS(captured, "unknown option [DEFAULT] backend (ignored)");
}

static void test_unknown_and_neutron(void)
{
	const char *path;

	CHECK_INT(load_fresh(&s,
			     "[DEFAULT]\n\nnova_metadata_prot = https\n"
			     "[whatever]\nx = 1\n",
			     &path),
		  0);
	CHECK_HAS(captured, at(path, 3));
	CHECK_HAS(captured,
		  "unknown option [DEFAULT] nova_metadata_prot (ignored)");
	CHECK_HAS(captured, at(path, 5));
	CHECK_HAS(captured, "unknown option [whatever] x (ignored)");
	CHECK(strstr(captured, "warning"));
	CHECK(!strstr(captured, "error"));

	/* A real metadata_agent.ini: silent at the default log level. */
	CHECK_INT(
		load_fresh(
			&s,
			"[DEFAULT]\n"
			"debug = True\n"
			"log_dir = /var/log/neutron\n"
			"state_path = /var/lib/neutron\n"
			"metadata_proxy_socket = $state_path/metadata_proxy\n"
			"metadata_proxy_user = neutron\n"
			"metadata_proxy_group = neutron\n"
			"metadata_proxy_socket_mode = deduce\n"
			"metadata_workers = 4\n"
			"metadata_backlog = 4096\n"
			"nova_metadata_host = 192.0.2.10\n"
			"metadata_proxy_shared_secret = SECRET\n"
			"[agent]\n"
			"report_interval = 30\n"
			"root_helper = sudo neutron-rootwrap /etc/neutron/rootwrap.conf\n"
			"[cache]\n"
			"backend = dogpile.cache.memory\n"
			"enabled = true\n"
			"[ovs]\n"
			"ovsdb_connection = tcp:127.0.0.1:6640\n"
			"[ovn]\n"
			"ovn_sb_connection = tcp:192.0.2.1:6642\n",
			NULL),
		0);
	CHECK_STR(captured, "");
	CHECK_STR(s.nova_metadata_host, "192.0.2.10");
	CHECK_STR(s.metadata_proxy_shared_secret, "SECRET");
	CHECK_STR(s.backend, ""); /* [cache] backend is not ours */

	/* They are mentioned at debug level. */
	mdr_log_level = MDR_LOG_DEBUG;
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nmetadata_workers = 2\n", &path),
		  0);
	mdr_log_level = MDR_LOG_INFO;
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "metadata_workers is Neutron's");

	/* An old Neutron name gets a hint. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nnova_metadata_ip = 192.0.2.1\n",
			     &path),
		  0);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "nova_metadata_host");
	CHECK_STR(s.nova_metadata_host, "127.0.0.1");
}

static void test_malformed(void)
{
	static const struct {
		const char *text;
		int line;
	} wrong[] = {
		{ "[DEFAULT]\njust words\n", 2 },
		{ "[DEFAULT\n", 1 },
		{ "[]\n", 1 },
		{ "[DEFAULT]\n= value\n", 2 },
		{ "[DEFAULT]\n : value\n", 2 },	   /* continues nothing */
		{ "nova_metadata_port = 1\n", 1 }, /* outside any section */
		{ "[DEFAULT]\n\n\nauth_ca_cert = a\rb\n", 4 },
		{ "[DEFAULT]\nauth_ca_cert = a\x01"
		  "b\n",
		  2 },
		{ "[DEFAULT]\nanything = a\x7f\n", 2 }, /* even ignored ones */
		{ "[DEFAULT]\nauth_ca_cert = a\tb\n", 2 },
		{ "[DEF\x01]\n", 1 },
	};
	const char *path;

	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
		CHECK_INT(load_fresh(&s, wrong[i].text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, wrong[i].line));
	}

	/* A control character in a value names the option. */
	CHECK_INT(load_fresh(&s, "[DEFAULT]\nauth_ca_cert = a\rb\n", &path),
		  -EINVAL);
	CHECK_HAS(captured, "[DEFAULT] auth_ca_cert:");

	/* NUL byte. */
	{
		static const char nul[] = "[DEFAULT]\nauth_ca_cert = a\0b\n";
		char *file = tmp_write(nul, sizeof(nul) - 1);

		mdr_settings_defaults(&s);
		capture_start();
		CHECK_INT(mdr_settings_load_file(&s, file), -EINVAL);
		capture_stop();
		CHECK_HAS(captured, at(file, 2));
		CHECK_STR(s.auth_ca_cert, "");
	}

	/* Lines up to 8 KiB; more is an error. */
	{
		size_t head = strlen("[DEFAULT]\n");
		char *text = malloc(head + MDR_SETTINGS_LINE_MAX + 4);

		strcpy(text, "[DEFAULT]\n");
		memset(text + head, '#', MDR_SETTINGS_LINE_MAX);
		strcpy(text + head + MDR_SETTINGS_LINE_MAX, "\n");
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		strcpy(text + head + MDR_SETTINGS_LINE_MAX, "#\n");
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		free(text);
	}

	/* Files up to 1 MiB; more is an error. */
	{
		char *text = malloc(MDR_SETTINGS_FILE_MAX + 2);

		memset(text, '\n', MDR_SETTINGS_FILE_MAX + 1);
		text[MDR_SETTINGS_FILE_MAX] = '\0';
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		text[MDR_SETTINGS_FILE_MAX] = '\n';
		text[MDR_SETTINGS_FILE_MAX + 1] = '\0';
		CHECK_INT(load_fresh(&s, text, &path), -EFBIG);
		CHECK_HAS(captured, path);
		free(text);
	}

	/* The line of an error comes after continuation lines are counted. */
	CHECK_INT(
		load_fresh(&s,
			   "[DEFAULT]\nauth_ca_cert = a\n  b\n  c\nbad line\n",
			   &path),
		-EINVAL);
	CHECK_HAS(captured, at(path, 5));
}

static void test_missing_file(void)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/mdr-settings-does-not-exist.ini",
		 tmp_dir);
	mdr_settings_defaults(&s);
	capture_start();
	CHECK_INT(mdr_settings_load_file(&s, path), -ENOENT);
	capture_stop();
	CHECK_HAS(captured, "cannot read ");
	CHECK_HAS(captured, path);
	CHECK_HAS(captured, "No such file");

	capture_start();
	CHECK_INT(mdr_settings_load_file(&s, tmp_dir), -EISDIR);
	capture_stop();
	CHECK_HAS(captured, "cannot read ");
}

static void test_secret_file(void)
{
	char text[600], missing[300];
	const char *secret, *path;

	secret = tmp_text("from-file\n");
	snprintf(text, sizeof(text), "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, &path), 0);
	CHECK_INT(finish(&s), 0);
	CHECK_STR(s.metadata_proxy_shared_secret, "from-file");
	chmod(secret, 0600);
	CHECK_INT(finish(&s), 0); /* again: now equal, still fine */
	CHECK_STR(captured, "");

	secret = tmp_text("no-newline");
	chmod(secret, 0600);
	snprintf(text, sizeof(text), "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, NULL), 0);
	CHECK_INT(finish(&s), 0);
	CHECK_STR(s.metadata_proxy_shared_secret, "no-newline");
	CHECK_STR(captured, "");

	secret = tmp_text("crlf\r\n");
	snprintf(text, sizeof(text), "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, NULL), 0);
	CHECK_INT(finish(&s), 0);
	CHECK_STR(s.metadata_proxy_shared_secret, "crlf");

	/* World-readable: works, with a warning. */
	secret = tmp_text("open");
	chmod(secret, 0644);
	snprintf(text, sizeof(text), "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, NULL), 0);
	CHECK_INT(finish(&s), 0);
	CHECK_HAS(captured, "readable by everyone");

	/* Both set and equal: fine. Both set and different: an error naming both places. */
	secret = tmp_text("same\n");
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nmetadata_proxy_shared_secret = same\n"
		 "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, NULL), 0);
	CHECK_INT(finish(&s), 0);
	CHECK_STR(s.metadata_proxy_shared_secret, "same");
	snprintf(text, sizeof(text),
		 "[DEFAULT]\nmetadata_proxy_shared_secret = other\n"
		 "[mdredir]\nshared_secret_file = %s\n",
		 secret);
	CHECK_INT(load_fresh(&s, text, &path), 0);
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, at(path, 4));
	CHECK_HAS(captured, "shared_secret_file");
	CHECK_HAS(captured, "metadata_proxy_shared_secret");
	snprintf(text, sizeof(text), "(%s:2)", path);
	CHECK_HAS(captured, text);
	CHECK(!strstr(captured, "other"));
	CHECK_STR(s.metadata_proxy_shared_secret, "other");

	/* Missing, empty, only a newline, too long, a newline inside. */
	snprintf(missing, sizeof(missing), "%s/mdr-no-such-secret", tmp_dir);
	snprintf(text, sizeof(text), "[mdredir]\nshared_secret_file = %s\n",
		 missing);
	CHECK_INT(load_fresh(&s, text, &path), 0);
	CHECK_INT(finish(&s), -ENOENT);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "[mdredir] shared_secret_file:");
	CHECK_HAS(captured, missing);

	{
		static const char *const bad_content[] = { "", "\n", "a\nb\n",
							   "a\n\n" };

		for (size_t i = 0;
		     i < sizeof(bad_content) / sizeof(bad_content[0]); i++) {
			secret = tmp_text(bad_content[i]);
			snprintf(text, sizeof(text),
				 "[mdredir]\nshared_secret_file = %s\n",
				 secret);
			CHECK_INT(load_fresh(&s, text, NULL), 0);
			CHECK_INT(finish(&s), -EINVAL);
			CHECK_HAS(captured, "shared_secret_file");
		}
	}
	{
		char big[1100];

		memset(big, 'k', 1023);
		strcpy(big + 1023, "\r\n");
		secret = tmp_text(big);
		snprintf(text, sizeof(text),
			 "[mdredir]\nshared_secret_file = %s\n", secret);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_INT(finish(&s), 0);
		CHECK_INT(strlen(s.metadata_proxy_shared_secret), 1023);
		strcpy(big + 1023, "kk");
		secret = tmp_text(big);
		snprintf(text, sizeof(text),
			 "[mdredir]\nshared_secret_file = %s\n", secret);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK(finish(&s) < 0);
		CHECK_HAS(captured, "1023");
	}
}

static void test_pools(void)
{
	static const char *const good4[] = { "100.100.0.0/16", "10.0.0.0/8",
					     "192.168.1.252/30",
					     "172.16.0.0/12" };
	static const char *const bad4[] = {
		"100.100.0.0",	    "100.100.0.0/7",	"100.100.0.0/31",
		"100.100.0.0/32",   "100.100.0.1/16",	"100.100.0.0/",
		"100.100.0.0/x",    "100.100/16",	"fd00::/64",
		"abc/16",	    "100.100.0.0/16/1", " /16",
		"100.100.0.0/016x",
	};
	static const char *const good6[] = { "fd6d:6472:6972::/64", "fd00::/80",
					     "2001:db8:0:1::/96" };
	static const char *const bad6[] = {
		"fd00::/63",	  "fd00::/97",	"fd00::/126",
		"fd00::/128",	  "fd00::1/64", "fd00::",
		"100.100.0.0/16", "fd00:::/64", "fd00::/",
	};
	struct in6_addr a6;
	struct in_addr a4;
	unsigned int prefix;
	char text[200], buf[INET6_ADDRSTRLEN];
	const char *path;

	for (size_t i = 0; i < sizeof(good4) / sizeof(good4[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nservice_pool = %s\n",
			 good4[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_INT(finish(&s), 0);
		CHECK_INT(mdr_settings_pool4(&s, &a4, &prefix), 0);
	}
	CHECK_STR(inet_ntop(AF_INET, &a4, buf, sizeof(buf)), "172.16.0.0");
	CHECK_INT(prefix, 12);
	for (size_t i = 0; i < sizeof(bad4) / sizeof(bad4[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nservice_pool = %s\n",
			 bad4[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "[mdredir] service_pool:");
		CHECK_STR(s.service_pool, "100.100.0.0/16");
	}
	for (size_t i = 0; i < sizeof(good6) / sizeof(good6[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nservice_pool6 = %s\n",
			 good6[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_INT(mdr_settings_pool6(&s, &a6, &prefix), 0);
	}
	CHECK_STR(inet_ntop(AF_INET6, &a6, buf, sizeof(buf)), "2001:db8:0:1::");
	CHECK_INT(prefix, 96);
	for (size_t i = 0; i < sizeof(bad6) / sizeof(bad6[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nservice_pool6 = %s\n",
			 bad6[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "[mdredir] service_pool6:");
	}

	/* Written directly: caught by finish, and by the getters. */
	mdr_settings_defaults(&s);
	strcpy(s.service_pool, "100.100.0.0/31");
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, "[mdredir] service_pool:");
	CHECK_INT(mdr_settings_pool4(&s, &a4, &prefix), -EINVAL);
	strcpy(s.service_pool6, "nonsense");
	CHECK_INT(mdr_settings_pool6(&s, &a6, &prefix), -EINVAL);
}

static void test_ip_versions(void)
{
	static const struct {
		const char *value;
		unsigned int bits;
	} good[] = {
		{ "4", MDR_SETTINGS_IPV4 },
		{ "6", MDR_SETTINGS_IPV6 },
		{ " 6 , 4 ", MDR_SETTINGS_IPV4 | MDR_SETTINGS_IPV6 },
		{ "4,4", MDR_SETTINGS_IPV4 },
	};
	static const char *const bad[] = { "5", "", "4,,6", "4,", "46", "ipv4" };
	char text[200];
	const char *path;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text),
			 "[metadata_rate_limiting]\nip_versions = %s\n",
			 good[i].value);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_INT(s.rate_limit_ip_versions, good[i].bits);
		CHECK_INT(finish(&s), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
			 "[metadata_rate_limiting]\nip_versions = %s\n",
			 bad[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "ip_versions");
	}
}

static void test_attach_from(void)
{
	static const struct {
		const char *value;
		unsigned int bits;
	} good[] = {
		{ "", 0 },
		{ "  ", 0 },
		{ "ovn", 1u << MDR_SOURCE_OVN },
		{ "neutron-namespaces", 1u << MDR_SOURCE_NEUTRON_NS },
		{ " neutron-namespaces , ovn ",
		  1u << MDR_SOURCE_OVN | 1u << MDR_SOURCE_NEUTRON_NS },
	};
	/* cli is no source to start: attach commands always work. */
	static const char *const bad[] = {
		"cli", "ovn,", ",ovn", "OVN", "ovn neutron-namespaces", "nova"
	};
	char text[200];
	const char *path;

	mdr_settings_defaults(&s);
	CHECK_INT(s.attach_from, 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nattach_from = %s\n",
			 good[i].value);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_INT(s.attach_from, good[i].bits);
		CHECK_INT(finish(&s), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nattach_from = %s\n",
			 bad[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "attach_from");
	}
	capture_start();
	CHECK_INT(mdr_settings_set(&s, "attach_from", "neutron-namespaces",
				   "--attach-from"),
		  0);
	CHECK_INT(s.attach_from, 1u << MDR_SOURCE_NEUTRON_NS);
	CHECK_INT(mdr_settings_set(&s, "attach_from", "bogus", "--attach-from"),
		  -EINVAL);
	capture_stop();
	CHECK_HAS(captured, "--attach-from");
}

static void test_access_log_format(void)
{
	struct mdr_proxy_options o = {};
	const char *path;

	mdr_settings_defaults(&s);
	CHECK(!s.access_log_json);
	CHECK_INT(load_fresh(&s, "[mdredir]\naccess_log_format = json\n", NULL),
		  0);
	CHECK(s.access_log_json);
	CHECK_INT(finish(&s), 0);
	mdr_settings_proxy_options(&s, &o);
	CHECK(o.access_log_json);
	CHECK_INT(load(&s, "[mdredir]\naccess_log_format = text\n", NULL), 0);
	CHECK(!s.access_log_json);
	CHECK_INT(load_fresh(&s, "[mdredir]\naccess_log_format = JSON\n",
			     &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured,
		  "[mdredir] access_log_format: 'JSON' must be text or json");
}

/* workers: auto (the CPUs we may run on), or 1 to MDR_WORKERS_MAX. */
static void test_workers(void)
{
	const char *path;
	cpu_set_t cpus;

	mdr_settings_defaults(&s);
	CHECK_INT(s.workers, 0);
	CHECK_INT(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	CHECK_INT(mdr_settings_workers(&s), CPU_COUNT(&cpus) < MDR_WORKERS_MAX
						    ? CPU_COUNT(&cpus)
						    : MDR_WORKERS_MAX);
	CHECK_INT(load_fresh(&s, "[mdredir]\nworkers = 3\n", NULL), 0);
	CHECK_INT(mdr_settings_workers(&s), 3);
	CHECK_INT(load(&s, "[mdredir]\nworkers = auto\n", NULL), 0);
	CHECK_INT(s.workers, 0);
	CHECK_INT(load(&s, "[mdredir]\nworkers = 64\n", NULL), 0);
	CHECK_INT(mdr_settings_workers(&s), 64);
	CHECK_INT(load_fresh(&s, "[mdredir]\nworkers = 0\n", &path), -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "[mdredir] workers: '0' must be auto or a number "
			    "from 1 to 64");
	CHECK_INT(load_fresh(&s, "[mdredir]\nworkers = 65\n", NULL), -EINVAL);
	CHECK_HAS(captured, "'65' must be auto or a number from 1 to 64");
	CHECK_INT(load_fresh(&s, "[mdredir]\nworkers = many\n", NULL), -EINVAL);
	CHECK_HAS(captured, "'many' must be auto or a number from 1 to 64");
}

/* imds_tokens, and the hop limit that required brings unless one is set. */
static void test_imds_tokens(void)
{
	struct mdr_proxy_options o = {};
	const char *path;

	mdr_settings_defaults(&s);
	CHECK_INT(s.imds_tokens, MDR_TOKENS_OFF);
	CHECK_INT(finish(&s), 0);
	CHECK_INT(s.reply_ttl, 0);
	CHECK_INT(load_fresh(&s, "[mdredir]\nimds_tokens = optional\n", NULL),
		  0);
	CHECK_INT(finish(&s), 0);
	CHECK_INT(s.imds_tokens, MDR_TOKENS_OPTIONAL);
	CHECK_INT(s.reply_ttl, 0);
	mdr_settings_proxy_options(&s, &o);
	CHECK_INT(o.imds_tokens, MDR_TOKENS_OPTIONAL);
	CHECK_INT(load_fresh(&s, "[mdredir]\nimds_tokens = required\n", NULL),
		  0);
	CHECK_INT(finish(&s), 0);
	CHECK_INT(s.imds_tokens, MDR_TOKENS_REQUIRED);
	CHECK_INT(s.reply_ttl, 1);
	/* The operator's reply_ttl stands, 0 included, wherever it came from. */
	CHECK_INT(load_fresh(&s,
			     "[mdredir]\nimds_tokens = required\n"
			     "reply_ttl = 0\n",
			     NULL),
		  0);
	CHECK_INT(finish(&s), 0);
	CHECK_INT(s.reply_ttl, 0);
	CHECK_INT(load_fresh(&s, "[mdredir]\nimds_tokens = required\n", NULL),
		  0);
	capture_start();
	CHECK_INT(mdr_settings_set(&s, "reply_ttl", "3", "--reply-ttl"), 0);
	capture_stop();
	CHECK_INT(finish(&s), 0);
	CHECK_INT(s.reply_ttl, 3);
	capture_start();
	CHECK_INT(mdr_settings_set(&s, "imds_tokens", "off", "--imds-tokens"),
		  0);
	capture_stop();
	CHECK_INT(s.imds_tokens, MDR_TOKENS_OFF);
	CHECK_INT(load_fresh(&s, "[mdredir]\nimds_tokens = on\n", &path),
		  -EINVAL);
	CHECK_HAS(captured, at(path, 2));
	CHECK_HAS(captured, "[mdredir] imds_tokens: 'on' must be off, "
			    "optional or required");
}

static void test_metrics_listen(void)
{
	static const char *const good[] = {
		"",
		"127.0.0.1:9100",
		"0.0.0.0:1",
		"[::1]:9100",
		"[fe80::1]:65535",
		"unix:/run/mdredir/metrics.sock",
	};
	static const char *const bad[] = {
		"9100",	       "localhost:9100",  "127.0.0.1",
		"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:91x",
		"::1:9100",    "[::1]",		  "[127.0.0.1]:9100",
		"unix:",       "unix:relative",	  "127.0.0.1:-1",
	};
	char text[300];
	const char *path;

	mdr_settings_defaults(&s);
	CHECK_STR(s.metrics_listen, "");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nmetrics_listen = %s\n",
			 good[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_STR(s.metrics_listen, good[i]);
		CHECK_INT(finish(&s), 0);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[mdredir]\nmetrics_listen = %s\n",
			 bad[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "[mdredir] metrics_listen: ");
	}
	CHECK_HAS(captured, "'127.0.0.1:-1' is not ADDRESS:PORT");
	/* A unix path longer than sun_path. */
	snprintf(text, sizeof(text),
		 "[mdredir]\nmetrics_listen = unix:/%0110d\n", 0);
	CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
	CHECK_HAS(captured, "needs an absolute path of at most 107 bytes");
}

/*
 * The OVN metadata agent's [ovs] and [ovn] options, read unchanged; its
 * other options there are accepted quietly.
 */
static void test_ovn_agent_options(void)
{
	static const char *const good[] = {
		"unix:/run/ovn/ovnsb_db.sock",
		"tcp:192.0.2.1:6642",
		"tcp:192.0.2.1:6642,tcp:192.0.2.2:6642,tcp:[2001:db8::3]:6642",
	};
	static const char *const bad[] = {
		"",
		"tcp:ovn-sb.example:6642", /* a name: never resolved */
		"tcp:192.0.2.1",
		"tcp:192.0.2.1:6642,",
		"udp:192.0.2.1:6642",
		"unix:",
	};
	char text[300];
	const char *path;

	mdr_settings_defaults(&s);
	CHECK_STR(s.ovsdb_connection, "unix:/run/openvswitch/db.sock");
	CHECK_STR(s.ovn_sb_connection, "tcp:127.0.0.1:6642");
	CHECK_INT(s.ovsdb_probe_interval, 60000);
	CHECK_INT(
		load_fresh(&s,
			   "[ovs]\novsdb_connection = unix:/var/run/ovs.sock\n"
			   "ovsdb_timeout = 180\n"
			   "[ovn]\novn_sb_connection = tcp:192.0.2.1:6642\n"
			   "ovn_sb_private_key = /etc/ovn/key.pem\n"
			   "ovn_sb_certificate = /etc/ovn/cert.pem\n"
			   "ovn_sb_ca_cert = /etc/ovn/ca.pem\n"
			   "ovsdb_probe_interval = 0\n"
			   "ovn_nb_connection = tcp:192.0.2.1:6641\n",
			   NULL),
		0);
	CHECK_STR(captured, "");
	CHECK_STR(s.ovsdb_connection, "unix:/var/run/ovs.sock");
	CHECK_STR(s.ovn_sb_connection, "tcp:192.0.2.1:6642");
	CHECK_STR(s.ovn_sb_private_key, "/etc/ovn/key.pem");
	CHECK_STR(s.ovn_sb_certificate, "/etc/ovn/cert.pem");
	CHECK_STR(s.ovn_sb_ca_cert, "/etc/ovn/ca.pem");
	CHECK_INT(s.ovsdb_probe_interval, 0);
	CHECK_INT(finish(&s), 0);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "[ovn]\novn_sb_connection = %s\n",
			 good[i]);
		CHECK_INT(load_fresh(&s, text, NULL), 0);
		CHECK_STR(s.ovn_sb_connection, good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[ovn]\novn_sb_connection = %s\n",
			 bad[i]);
		CHECK_INT(load_fresh(&s, text, &path), -EINVAL);
		CHECK_HAS(captured, at(path, 2));
		CHECK_HAS(captured, "[ovn] ovn_sb_connection");
		CHECK_HAS(captured, "remote");
	}
}

static void test_overrides_and_finish(void)
{
	const char *path;

	/* Command-line overrides: same checks, their own origin. */
	CHECK_INT(load_fresh(&s,
			     "[mdredir]\nbackend = local:/a\nproxy_netns = x\n",
			     &path),
		  0);
	capture_start();
	CHECK_INT(mdr_settings_set(&s, "backend", "local:/b", "--backend"), 0);
	CHECK_INT(mdr_settings_set(&s, "proxy_netns", "a/b", "--proxy-netns"),
		  -EINVAL);
	CHECK_INT(mdr_settings_set(&s, "no_such_option", "1", "--x"), -ENOENT);
	capture_stop();
	CHECK_STR(s.backend, "local:/b");
	CHECK_STR(s.proxy_netns, "x");
	CHECK_HAS(captured, "--proxy-netns: [mdredir] proxy_netns:");
	CHECK_HAS(captured, "no_such_option");
	/* No "$" rule on the command line: the shell has had its say. */
	capture_start();
	CHECK_INT(mdr_settings_set(&s, "metadata_proxy_shared_secret", "a$b",
				   "--secret"),
		  0);
	capture_stop();
	CHECK_STR(s.metadata_proxy_shared_secret, "a$b");

	/* finish: values written directly are checked too, named with their origin. */
	CHECK_INT(mdr_settings_set(&s, "max_connections", "10",
				   "--max-connections"),
		  0);
	s.max_connections = 0;
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, "--max-connections: [mdredir] max_connections:");
	s.max_connections = 10;
	s.timeout_server = 86401;
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, "[metadata_haproxy] timeout_server:");
	s.timeout_server = 1;
	strcpy(s.proxy_netns, "bad/name");
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, at(path, 3));
	CHECK_HAS(captured, "proxy_netns");
	strcpy(s.proxy_netns, "ok");
	s.rate_limit_ip_versions = 0;
	CHECK_INT(finish(&s), -EINVAL);
	CHECK_HAS(captured, "ip_versions");
	s.rate_limit_ip_versions = MDR_SETTINGS_IPV6;
	s.backend[0] = '\0';
	CHECK_INT(finish(&s), 0);
	CHECK_STR(s.backend, MDR_SETTINGS_DEFAULT_BACKEND);

	/* One of the client certificate pair alone: a warning. */
	strcpy(s.nova_client_cert, "/c.pem");
	CHECK_INT(finish(&s), 0);
	CHECK_HAS(captured, "nova_client_priv_key");
}

/*
 * The sample file as shipped loads silently; with its commented-out defaults
 * uncommented it sets every option we have, to the built-in default.
 */
static void test_sample_file(void)
{
	static const char *const places[] = {
		"tools/mdredir.ini.sample", "../../tools/mdredir.ini.sample"
	};
	static struct mdr_settings want;
	const char *sample = NULL;
	char line[1024], *text;
	size_t len = 0, set = 0;
	FILE *f = NULL;

	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]) && !f; i++) {
		sample = places[i];
		f = fopen(sample, "r");
	}
	CHECK(f != NULL);
	if (!f)
		return;
	fclose(f);
	mdr_settings_defaults(&s);
	capture_start();
	CHECK_INT(mdr_settings_load_file(&s, sample), 0);
	capture_stop();
	CHECK_STR(captured, "");

	f = fopen(sample, "r");
	text = calloc(1, 65536);
	while (fgets(line, sizeof(line), f)) {
		const char *l = line;

		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z' &&
		    strstr(line, " ="))
			l++;
		if (len + strlen(l) < 65536) {
			strcpy(text + len, l);
			len += strlen(l);
		}
	}
	fclose(f);
	CHECK_INT(load_fresh(&s, text, NULL), 0);
	CHECK_STR(captured, "");
	free(text);
	for (size_t i = 0; i < MDR_SETTINGS_MAX_OPTIONS; i++)
		set += s.origin[i].source != 0;
	CHECK_INT(set, 45); /* every option in settings.c's table */
	CHECK_INT(finish(&s), 0);
	mdr_settings_defaults(&want);
	CHECK_INT(finish(&want), 0);
	CHECK(!memcmp(&s, &want, offsetof(struct mdr_settings, origin)));
}

/* The proxy's options: the settings' values in the proxy's units, all set. */
static void test_proxy_options(void)
{
	struct mdr_proxy_options o;

	mdr_settings_defaults(&s);
	memset(&o, 0, sizeof(o));
	mdr_settings_proxy_options(&s, &o);
	CHECK_INT(o.max_connections, 4096);
	CHECK_INT(o.max_connections_per_attachment, 256);
	CHECK(!o.rate_limit.enabled);
	CHECK_INT(o.rate_limit.ip_versions, MDR_RATE_IPV4);
	CHECK_INT(o.rate_limit.base_window_ms, 10000);
	CHECK_INT(o.rate_limit.base_limit, 10);
	CHECK_INT(o.rate_limit.burst_window_ms, 10000);
	CHECK_INT(o.rate_limit.burst_limit, 10);
	CHECK_INT(o.timeout_http_request_ms, 30000);
	CHECK_INT(o.timeout_keepalive_ms, 30000);
	CHECK_INT(o.timeout_client_ms, 32000);
	CHECK_INT(o.timeout_server_ms, 32000);
	CHECK_INT(o.timeout_connect_ms, 30000);
	CHECK_INT(o.cache_ttl_ms, 0);
	CHECK_INT(o.cache_max_bytes, 64 << 20);
	CHECK(o.backend_keepalive);

	CHECK_INT(
		load_fresh(
			&s,
			"[metadata_haproxy]\n"
			"timeout_connect = 1\ntimeout_client = 2\ntimeout_server = 3\n"
			"timeout_http_request = 4\ntimeout_http_keep_alive = 5\n"
			"[metadata_rate_limiting]\n"
			"rate_limit_enabled = true\nip_versions = 4, 6\n"
			"base_window_duration = 6\nbase_query_rate_limit = 7\n"
			"burst_window_duration = 8\nburst_query_rate_limit = 9\n"
			"[mdredir]\n"
			"max_connections = 11\nmax_connections_per_attachment = 12\n"
			"cache_ttl = 13\ncache_size_mb = 65536\n"
			"backend_keepalive = false\n",
			NULL),
		0);
	mdr_settings_proxy_options(&s, &o);
	CHECK_INT(o.timeout_connect_ms, 1000);
	CHECK_INT(o.timeout_client_ms, 2000);
	CHECK_INT(o.timeout_server_ms, 3000);
	CHECK_INT(o.timeout_http_request_ms, 4000);
	CHECK_INT(o.timeout_keepalive_ms, 5000);
	CHECK(o.rate_limit.enabled);
	CHECK_INT(o.rate_limit.ip_versions, MDR_RATE_IPV4 | MDR_RATE_IPV6);
	CHECK_INT(o.rate_limit.base_window_ms, 6000);
	CHECK_INT(o.rate_limit.base_limit, 7);
	CHECK_INT(o.rate_limit.burst_window_ms, 8000);
	CHECK_INT(o.rate_limit.burst_limit, 9);
	CHECK_INT(o.max_connections, 11);
	CHECK_INT(o.max_connections_per_attachment, 12);
	CHECK_INT(o.cache_ttl_ms, 13000);
	CHECK_INT(o.cache_max_bytes, 65536ull << 20);
	CHECK(!o.backend_keepalive);
	CHECK_INT(load_fresh(&s, "[metadata_rate_limiting]\nip_versions = 6\n",
			     NULL),
		  0);
	mdr_settings_proxy_options(&s, &o);
	CHECK_INT(o.rate_limit.ip_versions, MDR_RATE_IPV6);
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmp_dir, sizeof(tmp_dir), "%s", t && *t ? t : "/tmp");
	mdr_log_level = MDR_LOG_INFO;

	test_defaults();
	test_every_option();
	test_last_wins();
	test_booleans();
	test_integers();
	test_strings();
	test_quotes_comments_continuations();
	test_sections();
	test_unknown_and_neutron();
	test_malformed();
	test_missing_file();
	test_secret_file();
	test_pools();
	test_ip_versions();
	test_attach_from();
	test_ovn_agent_options();
	test_overrides_and_finish();
	test_access_log_format();
	test_metrics_listen();
	test_imds_tokens();
	test_workers();
	test_sample_file();
	test_proxy_options();

	tmp_cleanup();
	return check_summary();
}
