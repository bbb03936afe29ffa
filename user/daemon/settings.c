// SPDX-License-Identifier: GPL-2.0-only
/*
 * INI settings in oslo.config's dialect (see settings.h). What we copy from
 * oslo, because operators' files rely on it: "name = value" or "name: value"
 * (the first of '=' or ':' splits), one pair of matching quotes stripped, a
 * line starting with whitespace continues the value above it, a blank or
 * comment line ends it, the last of repeated options wins, DEFAULT is
 * matched exactly and other section names case-insensitively (oslo
 * lower-cases them), booleans true/false/yes/no/on/off/1/0 in any case.
 * What we do not copy: continued values are joined with a space, not a
 * newline (no option of ours takes several lines), and "$name" substitution
 * is refused rather than done, so that a secret never silently differs from
 * what Neutron would have read ("$$" is a literal '$', as in oslo).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "control/ovsdb.h"
#include "lib/log.h"
#include "backends/spec.h"
#include "datapath/links.h"
#include "datapath/netns.h"
#include "daemon/metrics_server.h"
#include "daemon/settings.h"
#include "control/source.h"
#include "proxy/options.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WHY_LEN	      192
/* Service pool prefixes: at least 2 addresses, at most what is sensible. */
#define POOL4_MIN     8
#define POOL4_MAX     30
#define POOL6_MIN     64
#define POOL6_MAX     96 /* ids live in the low 32 bits */

enum opt_type {
	OPT_STRING, /* free text, no control characters */
	OPT_SECRET, /* a string never echoed in messages */
	OPT_HOST,   /* IP address or DNS name, like oslo's HostAddressOpt */
	OPT_BOOL,
	OPT_UINT,     /* decimal, within [min, max] */
	OPT_PROTOCOL, /* "http" | "https", stored as bool "is https" */
	OPT_NETNS,    /* a name under /run/netns */
	OPT_CIDR4,
	OPT_CIDR6,
	OPT_IP_VERSIONS,   /* oslo ListOpt of "4" and "6", as bits */
	OPT_SOURCES,	   /* list of attachment sources, as bits */
	OPT_OVSDB_REMOTES, /* comma-separated OVSDB remotes (ovsdb.h) */
	OPT_LOG_FORMAT,	   /* "text" | "json", stored as bool "is json" */
	OPT_LISTEN,	 /* "", ADDRESS:PORT or unix:PATH (metrics_server.h) */
	OPT_IMDS_TOKENS, /* "off" | "optional" | "required" (proxy/token.h) */
	OPT_WORKERS,	 /* "auto" (stored as 0) or a count within [min, max] */
};

struct option {
	const char *section;
	const char *name;
	enum opt_type type;
	const char *def; /* the default, as it would be written in the file */
	size_t offset;
	size_t size;
	unsigned int min, max;
	bool neutron; /* Neutron's option with Neutron's meaning, else ours */
};

#define FIELD(f) \
	offsetof(struct mdr_settings, f), sizeof(((struct mdr_settings *)0)->f)
#define NEUTRON true
#define OURS	false

#define STR_(x)	      #x
#define STR(x)	      STR_(x)
/* The data path's own defaults, for attach on a fresh host without us. */
#define DEFAULT_POOL4 MDR_DEFAULT_POOL "/" STR(MDR_DEFAULT_POOL_PREFIX)
#define DEFAULT_POOL6 MDR_DEFAULT_POOL6 "/" STR(MDR_DEFAULT_POOL6_PREFIX)

/*
 * Every option with its default: the one place a default is written, but
 * for the data path's pools and namespace, which attach needs on a fresh
 * host without a daemon (datapath/links.h), and Nova's port, which a nova
 * backend spec without one takes (backends/spec.h): those are named here.
 * tools/mdredir.ini.sample repeats them for operators; test_settings holds
 * the two to each other.
 */
/* clang-format off: a row per option reads best as the table it is */
static const struct option options[] = {
	{ "DEFAULT", "nova_metadata_host", OPT_HOST, "127.0.0.1",
	  FIELD(nova_metadata_host), 0, 0, NEUTRON },
	{ "DEFAULT", "nova_metadata_port", OPT_UINT, STR(MDR_NOVA_DEFAULT_PORT),
	  FIELD(nova_metadata_port), 1, 65535, NEUTRON },
	{ "DEFAULT", "nova_metadata_protocol", OPT_PROTOCOL, "http",
	  FIELD(nova_metadata_https), 0, 0, NEUTRON },
	{ "DEFAULT", "nova_metadata_insecure", OPT_BOOL, "false",
	  FIELD(nova_metadata_insecure), 0, 0, NEUTRON },
	{ "DEFAULT", "auth_ca_cert", OPT_STRING, "", FIELD(auth_ca_cert), 0, 0,
	  NEUTRON },
	{ "DEFAULT", "nova_client_cert", OPT_STRING, "",
	  FIELD(nova_client_cert), 0, 0, NEUTRON },
	{ "DEFAULT", "nova_client_priv_key", OPT_STRING, "",
	  FIELD(nova_client_priv_key), 0, 0, NEUTRON },
	{ "DEFAULT", "metadata_proxy_shared_secret", OPT_SECRET, "",
	  FIELD(metadata_proxy_shared_secret), 0, 0, NEUTRON },
	{ "metadata_haproxy", "timeout_connect", OPT_UINT, "30",
	  FIELD(timeout_connect), 1, 86400, OURS },
	{ "metadata_haproxy", "timeout_client", OPT_UINT, "32",
	  FIELD(timeout_client), 1, 86400, OURS },
	{ "metadata_haproxy", "timeout_server", OPT_UINT, "32",
	  FIELD(timeout_server), 1, 86400, OURS },
	{ "metadata_haproxy", "timeout_http_request", OPT_UINT, "30",
	  FIELD(timeout_http_request), 1, 86400, OURS },
	{ "metadata_haproxy", "timeout_http_keep_alive", OPT_UINT, "30",
	  FIELD(timeout_http_keep_alive), 1, 86400, OURS },
	/* Empty: MDR_SETTINGS_DEFAULT_BACKEND, at mdr_settings_finish(). */
	{ "mdredir", "backend", OPT_STRING, "", FIELD(backend), 0, 0, OURS },
	{ "mdredir", "proxy_netns", OPT_NETNS, MDR_DEFAULT_PROXY_NETNS,
	  FIELD(proxy_netns), 0, 0, OURS },
	{ "mdredir", "service_pool", OPT_CIDR4, DEFAULT_POOL4,
	  FIELD(service_pool), POOL4_MIN, POOL4_MAX, OURS },
	{ "mdredir", "service_pool6", OPT_CIDR6, DEFAULT_POOL6,
	  FIELD(service_pool6), POOL6_MIN, POOL6_MAX, OURS },
	{ "mdredir", "max_connections", OPT_UINT, "4096",
	  FIELD(max_connections), 1, 1000000, OURS },
	{ "mdredir", "shared_secret_file", OPT_STRING, "",
	  FIELD(shared_secret_file), 0, 0, OURS },
	{ "mdredir", "max_connections_per_attachment", OPT_UINT, "256",
	  FIELD(max_connections_per_attachment), 1, 1000000, OURS },
	/* auto: one per CPU the daemon may run on (mdr_settings_workers()). */
	{ "mdredir", "workers", OPT_WORKERS, "auto", FIELD(workers), 1,
	  MDR_WORKERS_MAX, OURS },
	/*
	 * A flood guard, so above what a host can serve at all: at 20,000/s
	 * it became the bottleneck of a 2-core machine (BENCHMARKS.md).
	 */
	{ "mdredir", "new_connection_rate", OPT_UINT, "100000",
	  FIELD(new_connection_rate), 0, 10000000, OURS },
	{ "mdredir", "new_connection_burst", OPT_UINT, "20000",
	  FIELD(new_connection_burst), 1, 10000000, OURS },
	/*
	 * A quarter of the network's: one flooding guest leaves its
	 * neighbours three quarters, far more than a network's guests open
	 * when they all boot at once (cloud-init: a few dozen connections
	 * each); and above the ~22,000/s one guest opened in tools/bench.sh,
	 * so the "shipped defaults" rows measure the proxy, not the guard.
	 */
	{ "mdredir", "new_connection_rate_per_guest", OPT_UINT, "25000",
	  FIELD(new_connection_rate_per_guest), 0, 10000000, OURS },
	{ "mdredir", "new_connection_burst_per_guest", OPT_UINT, "5000",
	  FIELD(new_connection_burst_per_guest), 1, 10000000, OURS },
	{ "mdredir", "reply_ttl", OPT_UINT, "0", FIELD(reply_ttl), 0, 255,
	  OURS },
	{ "mdredir", "cache_ttl", OPT_UINT, "0", FIELD(cache_ttl), 0, 3600,
	  OURS },
	{ "mdredir", "cache_size_mb", OPT_UINT, "64", FIELD(cache_size_mb), 1,
	  65536, OURS },
	{ "mdredir", "attach_from", OPT_SOURCES, "", FIELD(attach_from), 0, 0,
	  OURS },
	{ "mdredir", "backend_keepalive", OPT_BOOL, "true",
	  FIELD(backend_keepalive), 0, 0, OURS },
	{ "mdredir", "access_log_format", OPT_LOG_FORMAT, "text",
	  FIELD(access_log_json), 0, 0, OURS },
	{ "mdredir", "metrics_listen", OPT_LISTEN, "", FIELD(metrics_listen), 0,
	  0, OURS },
	{ "mdredir", "imds_tokens", OPT_IMDS_TOKENS, "off", FIELD(imds_tokens),
	  0, 0, OURS },
	{ "metadata_rate_limiting", "rate_limit_enabled", OPT_BOOL, "false",
	  FIELD(rate_limit_enabled), 0, 0, NEUTRON },
	{ "metadata_rate_limiting", "ip_versions", OPT_IP_VERSIONS, "4",
	  FIELD(rate_limit_ip_versions), 0, 0, NEUTRON },
	{ "metadata_rate_limiting", "base_window_duration", OPT_UINT, "10",
	  FIELD(base_window_duration), 1, 86400, NEUTRON },
	{ "metadata_rate_limiting", "base_query_rate_limit", OPT_UINT, "10",
	  FIELD(base_query_rate_limit), 1, 1000000, NEUTRON },
	{ "metadata_rate_limiting", "burst_window_duration", OPT_UINT, "10",
	  FIELD(burst_window_duration), 1, 86400, NEUTRON },
	{ "metadata_rate_limiting", "burst_query_rate_limit", OPT_UINT, "10",
	  FIELD(burst_query_rate_limit), 1, 1000000, NEUTRON },
	/* Read from the OVN metadata agent's own ini (attach_from = ovn). */
	{ "ovs", "ovsdb_connection", OPT_OVSDB_REMOTES,
	  "unix:/run/openvswitch/db.sock", FIELD(ovsdb_connection), 0, 0,
	  NEUTRON },
	{ "ovn", "ovn_sb_connection", OPT_OVSDB_REMOTES, "tcp:127.0.0.1:6642",
	  FIELD(ovn_sb_connection), 0, 0, NEUTRON },
	{ "ovn", "ovn_sb_private_key", OPT_STRING, "",
	  FIELD(ovn_sb_private_key), 0, 0, NEUTRON },
	{ "ovn", "ovn_sb_certificate", OPT_STRING, "",
	  FIELD(ovn_sb_certificate), 0, 0, NEUTRON },
	{ "ovn", "ovn_sb_ca_cert", OPT_STRING, "", FIELD(ovn_sb_ca_cert), 0, 0,
	  NEUTRON },
	{ "ovn", "ovsdb_probe_interval", OPT_UINT, "60000",
	  FIELD(ovsdb_probe_interval), 0, 86400000, NEUTRON },
};
/* clang-format on */

_Static_assert(ARRAY_SIZE(options) <= MDR_SETTINGS_MAX_OPTIONS,
	       "raise MDR_SETTINGS_MAX_OPTIONS");

/*
 * What a Neutron metadata agent's file holds that we have no use for
 * (neutron.metadata.agent and oslo.log in [DEFAULT], and whole sections),
 * so pointing us at that file does not bury real typos in warnings.
 */
/* clang-format off */
static const char *const neutron_unused_default[] = {
	"metadata_proxy_socket", "metadata_proxy_user", "metadata_proxy_group",
	"metadata_proxy_socket_mode", "metadata_workers", "metadata_backlog",
	"state_path", "host", "debug", "verbose",
	"log_config_append", "log_date_format", "log_file", "log_dir",
	"watch_log_file", "use_syslog", "use_journal", "syslog_log_facility",
	"use_json", "use_stderr", "use_eventlog", "log_color",
	"log_rotate_interval", "log_rotate_interval_type", "max_logfile_count",
	"max_logfile_size_mb", "log_rotation_type",
	"logging_context_format_string", "logging_default_format_string",
	"logging_debug_format_suffix", "logging_exception_prefix",
	"logging_user_identity_format", "default_log_levels", "publish_errors",
	"instance_format", "instance_uuid_format", "rate_limit_interval",
	"rate_limit_burst", "rate_limit_except_level", "fatal_deprecations",
};
/* clang-format on */

static const char *const neutron_unused_sections[] = {
	"agent",
	"cache",
	"ovs",
	"ovn",
};

/* Old Neutron names, ignored by current Neutron too: say what replaced them. */
static const struct {
	const char *name, *hint;
} neutron_removed[] = {
	{ "nova_metadata_ip",
	  "Neutron's old name for nova_metadata_host, "
	  "ignored by current Neutron and by mdredir; set nova_metadata_host" },
};

static const char *const bool_true[] = { "true", "yes", "on", "1" };
static const char *const bool_false[] = { "false", "no", "off", "0" };

/* ---- where values came from ---- */

static void *field_of(struct mdr_settings *s, const struct option *o)
{
	return (char *)s + o->offset;
}

static const void *cfield_of(const struct mdr_settings *s,
			     const struct option *o)
{
	return (const char *)s + o->offset;
}

static int option_index(const struct option *o)
{
	return (int)(o - options);
}

/* Long paths keep their tail, which is the part that tells files apart. */
static void source_name(const char *name, char *buf)
{
	size_t len = strlen(name);

	if (len < MDR_SETTINGS_SOURCE_LEN) {
		memcpy(buf, name, len + 1);
		return;
	}
	snprintf(buf, MDR_SETTINGS_SOURCE_LEN, "...%s",
		 name + len - (MDR_SETTINGS_SOURCE_LEN - 4));
}

/* Returns the origin.source number for NAME (1-based), or -E2BIG. */
static int source_id(struct mdr_settings *s, const char *name)
{
	char buf[MDR_SETTINGS_SOURCE_LEN];
	unsigned int i;

	source_name(name, buf);
	for (i = 0; i < MDR_SETTINGS_MAX_SOURCES && s->sources[i][0]; i++)
		if (!strcmp(s->sources[i], buf))
			return (int)i + 1;
	if (i == MDR_SETTINGS_MAX_SOURCES) {
		pr_err("%s: more than %d configuration sources", name,
		       MDR_SETTINGS_MAX_SOURCES);
		return -E2BIG;
	}
	memcpy(s->sources[i], buf, sizeof(buf));
	return (int)i + 1;
}

/* "FILE:LINE: ", "FLAG: " or "" (a built-in default). */
static void where(const struct mdr_settings *s, const struct option *o,
		  char *buf, size_t len)
{
	const struct mdr_settings_origin *org = &s->origin[option_index(o)];

	if (!org->source || org->source > MDR_SETTINGS_MAX_SOURCES)
		snprintf(buf, len, "%s", "");
	else if (org->line)
		snprintf(buf, len, "%s:%u: ", s->sources[org->source - 1],
			 org->line);
	else
		snprintf(buf, len, "%s: ", s->sources[org->source - 1]);
}

static void report(const struct mdr_settings *s, const struct option *o,
		   const char *why)
{
	char at[MDR_SETTINGS_SOURCE_LEN + 16];

	where(s, o, at, sizeof(at));
	pr_err("%s[%s] %s: %s", at, o->section, o->name, why);
}

/* ---- values ---- */

static bool has_control(const char *v)
{
	for (; *v; v++)
		if ((unsigned char)*v < 0x20 || *v == 0x7f)
			return true;
	return false;
}

static void quote(const struct option *o, const char *v, char *buf, size_t len)
{
	if (o->type == OPT_SECRET)
		snprintf(buf, len, "%s", "(secret not shown)");
	else
		snprintf(buf, len, "'%.64s%s'", v, strlen(v) > 64 ? "..." : "");
}

static int bad(const struct option *o, const char *v, char *why,
	       const char *what)
{
	char q[80];

	quote(o, v, q, sizeof(q));
	snprintf(why, WHY_LEN, "%s %s", q, what);
	return -EINVAL;
}

static int parse_uint(const char *v, unsigned int min, unsigned int max,
		      unsigned int *out, char *why)
{
	unsigned long long n = 0;
	const char *p;

	if (!*v) {
		snprintf(why, WHY_LEN,
			 "empty; write a number from %u to %u, "
			 "or remove the line for the default",
			 min, max);
		return -EINVAL;
	}
	for (p = v; *p; p++) {
		if (*p < '0' || *p > '9') {
			snprintf(why, WHY_LEN,
				 "'%.32s' is not a decimal integer", v);
			return -EINVAL;
		}
		if (n <= max)
			n = n * 10 + (unsigned int)(*p - '0');
	}
	if (n < min || n > max) {
		snprintf(why, WHY_LEN, "'%.32s' is out of range %u..%u", v, min,
			 max);
		return -ERANGE;
	}
	*out = (unsigned int)n;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	for (size_t i = 0; i < ARRAY_SIZE(bool_true); i++) {
		if (!strcasecmp(v, bool_true[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(v, bool_false[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 1123 names, as oslo's Hostname type: the last label not all digits. */
static bool valid_hostname(const char *h)
{
	size_t len = strlen(h), label = 0;
	bool digits = true;

	if (len && h[len - 1] == '.')
		len--;
	if (!len || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (h[i] == '.') {
			if (!label || h[i - 1] == '-')
				return false;
			label = 0;
			digits = true;
			continue;
		}
		if (!is_alnum(h[i]) && h[i] != '-')
			return false;
		if ((h[i] == '-' && !label) || ++label > 63)
			return false;
		digits = digits && is_digit(h[i]);
	}
	return h[len - 1] != '-' && !digits;
}

static bool valid_host(const char *h)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, h, &a4) == 1 ||
	       inet_pton(AF_INET6, h, &a6) == 1 || valid_hostname(h);
}

/* "ADDR/PREFIX", prefix within [min, max], no host bits set. */
static int parse_cidr(int af, const char *v, unsigned int min, unsigned int max,
		      void *addr, unsigned int *prefix, char *why)
{
	const char *slash = strchr(v, '/');
	unsigned int bits = af == AF_INET ? 32 : 128;
	char host[INET6_ADDRSTRLEN];
	const unsigned char *b = addr;

	if (!slash || (size_t)(slash - v) >= sizeof(host)) {
		snprintf(why, WHY_LEN, "'%.64s' is not ADDRESS/PREFIX", v);
		return -EINVAL;
	}
	memcpy(host, v, slash - v);
	host[slash - v] = '\0';
	if (inet_pton(af, host, addr) != 1) {
		snprintf(why, WHY_LEN, "'%s' is not an %s address", host,
			 af == AF_INET ? "IPv4" : "IPv6");
		return -EINVAL;
	}
	if (parse_uint(slash + 1, min, max, prefix, why)) {
		snprintf(why, WHY_LEN,
			 "prefix of '%.64s' must be %u..%u, so "
			 "that the pool has room for attachments",
			 v, min, max);
		return -EINVAL;
	}
	for (unsigned int i = *prefix; i < bits; i++) {
		if (b[i / 8] & (0x80 >> (i % 8))) {
			snprintf(why, WHY_LEN,
				 "'%.64s' has bits set after the "
				 "prefix; write the network address",
				 v);
			return -EINVAL;
		}
	}
	return 0;
}

/* oslo ListOpt: comma-separated, items trimmed. */
/*
 * The next item of a comma-separated list at *p, blanks trimmed: its
 * length, with *p at its start and *rest after its comma (NULL after the
 * last item).
 */
static size_t list_item(const char **p, const char **rest)
{
	size_t n;

	while (**p == ' ' || **p == '\t')
		(*p)++;
	n = strcspn(*p, ",");
	*rest = (*p)[n] ? *p + n + 1 : NULL;
	while (n && ((*p)[n - 1] == ' ' || (*p)[n - 1] == '\t'))
		n--;
	return n;
}

static int parse_ip_versions(const char *v, unsigned int *out)
{
	unsigned int bits = 0;
	const char *p = v, *rest;

	do {
		size_t n = list_item(&p, &rest);

		if (n == 1 && *p == '4')
			bits |= MDR_SETTINGS_IPV4;
		else if (n == 1 && *p == '6')
			bits |= MDR_SETTINGS_IPV6;
		else
			return -EINVAL;
	} while ((p = rest));
	*out = bits;
	return 0;
}

/* attach_from: sources by name, none for "" (attach commands only). */
static int parse_sources(const char *v, unsigned int *out)
{
	char name[MDR_SETTINGS_SOURCE_NAME_LEN];
	unsigned int bits = 0;
	const char *p = v, *rest;
	enum mdr_source src;

	if (!v[strspn(v, " \t")]) {
		*out = 0;
		return 0;
	}
	do {
		size_t n = list_item(&p, &rest);

		if (n >= sizeof(name))
			return -EINVAL;
		memcpy(name, p, n);
		name[n] = '\0';
		/* The operator's own attachments need no setting. */
		if (mdr_source_parse(name, &src) || src == MDR_SOURCE_CLI)
			return -EINVAL;
		bits |= 1u << src;
	} while ((p = rest));
	*out = bits;
	return 0;
}

/* "REMOTE[,REMOTE...]", each one the OVSDB client takes. */
static int check_remotes(const char *v, char *why)
{
	char remote[MDR_SETTINGS_LINE_MAX];
	const char *p = v;

	do {
		size_t len = strcspn(p, ",");

		snprintf(remote, sizeof(remote), "%.*s", (int)len, p);
		if (!len) {
			snprintf(why, WHY_LEN,
				 "'%.64s' has an empty remote; write "
				 "REMOTE[,REMOTE...], each unix:PATH, "
				 "tcp:IP:PORT or ssl:IP:PORT",
				 v);
			return -EINVAL;
		}
		if (mdr_ovsdb_check_remote(remote, why, WHY_LEN))
			return -EINVAL;
		p += len;
	} while (*p++);
	return 0;
}

/* A string option: fits, no control characters, then the type's own rule. */
static int check_string(const struct option *o, const char *v, char *why)
{
	struct mdr_metrics_addr addr;

	if (strlen(v) >= o->size) {
		snprintf(why, WHY_LEN, "longer than %zu characters",
			 o->size - 1);
		return -ENAMETOOLONG;
	}
	if (has_control(v)) {
		snprintf(why, WHY_LEN, "value contains a control character");
		return -EINVAL;
	}
	switch (o->type) {
	case OPT_HOST:
		if (!valid_host(v))
			return bad(o, v, why,
				   "is neither an IP address nor a host name");
		break;
	case OPT_NETNS:
		if (mdr_netns_valid_name(v))
			return bad(o, v, why,
				   "is not a namespace name (1-63 "
				   "characters, no '/', spaces or control "
				   "characters, not '.' or '..')");
		break;
	case OPT_OVSDB_REMOTES: return check_remotes(v, why);
	case OPT_LISTEN:
		return mdr_metrics_parse_listen(v, &addr, why, WHY_LEN);
	default: break;
	}
	return 0;
}

/* Parses V into FIELD; FIELD is left alone on error (WHY says why). */
static int parse_value(const struct option *o, const char *v, void *field,
		       char *why)
{
	struct in6_addr addr;
	unsigned int prefix;
	int err;

	switch (o->type) {
	case OPT_UINT: return parse_uint(v, o->min, o->max, field, why);
	case OPT_WORKERS:
		if (!strcmp(v, "auto")) {
			*(unsigned int *)field = 0;
			return 0;
		}
		if (parse_uint(v, o->min, o->max, field, why))
			return bad(o, v, why,
				   "must be auto or a number from 1 "
				   "to " STR(MDR_WORKERS_MAX));
		return 0;
	case OPT_BOOL:
		if (parse_bool(v, field))
			return bad(o, v, why,
				   "is not a boolean (true/false, "
				   "yes/no, on/off, 1/0)");
		return 0;
	case OPT_PROTOCOL:
		if (strcmp(v, "http") && strcmp(v, "https"))
			return bad(o, v, why, "must be http or https");
		*(bool *)field = !strcmp(v, "https");
		return 0;
	case OPT_LOG_FORMAT:
		if (strcmp(v, "text") && strcmp(v, "json"))
			return bad(o, v, why, "must be text or json");
		*(bool *)field = !strcmp(v, "json");
		return 0;
	case OPT_IMDS_TOKENS:
		if (mdr_imds_tokens_parse(v, field))
			return bad(o, v, why,
				   "must be off, optional or required");
		return 0;
	case OPT_IP_VERSIONS:
		if (parse_ip_versions(v, field))
			return bad(o, v, why,
				   "must be a comma-separated list "
				   "of 4 and 6");
		return 0;
	case OPT_SOURCES:
		if (parse_sources(v, field))
			return bad(o, v, why,
				   "must be empty or a comma-separated list "
				   "of ovn and neutron-namespaces");
		return 0;
	case OPT_CIDR4:
	case OPT_CIDR6:
		err = parse_cidr(o->type == OPT_CIDR4 ? AF_INET : AF_INET6, v,
				 o->min, o->max, &addr, &prefix, why);
		if (err)
			return err;
		break;
	default: break;
	}
	err = check_string(o, v, why);
	if (err)
		return err;
	if (field != v)
		memmove(field, v, strlen(v) + 1);
	return 0;
}

/* The current value as text, as it would be written in the file. */
static int format_value(const struct mdr_settings *s, const struct option *o,
			char *buf, size_t len, char *why)
{
	const void *f = cfield_of(s, o);
	unsigned int u;

	switch (o->type) {
	case OPT_UINT:
		snprintf(buf, len, "%u", *(const unsigned int *)f);
		return 0;
	case OPT_WORKERS:
		u = *(const unsigned int *)f;
		if (u)
			snprintf(buf, len, "%u", u);
		else
			snprintf(buf, len, "auto");
		return 0;
	case OPT_BOOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
		return 0;
	case OPT_PROTOCOL:
		snprintf(buf, len, "%s", *(const bool *)f ? "https" : "http");
		return 0;
	case OPT_LOG_FORMAT:
		snprintf(buf, len, "%s", *(const bool *)f ? "json" : "text");
		return 0;
	case OPT_IMDS_TOKENS:
		snprintf(buf, len, "%s",
			 mdr_imds_tokens_name(*(const enum mdr_imds_tokens *)f)
				 ?: "?");
		return 0;
	case OPT_SOURCES:
		u = *(const unsigned int *)f;
		buf[0] = '\0';
		for (unsigned int i = 0; i < MDR_SOURCE_MAX; i++)
			if (u & 1u << i)
				snprintf(buf + strlen(buf), len - strlen(buf),
					 "%s%s", buf[0] ? "," : "",
					 mdr_source_name(i));
		if (u & (~0u << MDR_SOURCE_MAX | 1u << MDR_SOURCE_CLI))
			snprintf(buf, len, "0x%x", u);
		return 0;
	case OPT_IP_VERSIONS:
		u = *(const unsigned int *)f;
		snprintf(buf, len, "%s%s%s", u & MDR_SETTINGS_IPV4 ? "4" : "",
			 u == (MDR_SETTINGS_IPV4 | MDR_SETTINGS_IPV6) ? ","
								      : "",
			 u & MDR_SETTINGS_IPV6 ? "6" : "");
		if (!u || (u & ~(MDR_SETTINGS_IPV4 | MDR_SETTINGS_IPV6)))
			snprintf(buf, len, "0x%x", u);
		return 0;
	default:
		if (strnlen(f, o->size) == o->size || o->size > len) {
			snprintf(why, WHY_LEN, "not a terminated string");
			return -EINVAL;
		}
		memcpy(buf, f, strlen(f) + 1);
		return 0;
	}
}

static const struct option *find_option(const char *section, const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];
		bool in = !strcmp(o->section, "DEFAULT")
				  ? !strcmp(section, "DEFAULT")
				  : !strcasecmp(section, o->section);

		if (in && !strcmp(name, o->name))
			return o;
	}
	return NULL;
}

static const struct option *find_option_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (!strcmp(name, options[i].name))
			return &options[i];
	return NULL;
}

static bool in_list(const char *const *list, size_t n, const char *s,
		    bool ignore_case)
{
	for (size_t i = 0; i < n; i++)
		if (ignore_case ? !strcasecmp(list[i], s) : !strcmp(list[i], s))
			return true;
	return false;
}

/* A Neutron option we do not use: "" (quiet), a hint, or NULL if unknown. */
static const char *neutron_unused(const char *section, const char *name)
{
	if (!strcmp(section, "DEFAULT")) {
		if (in_list(neutron_unused_default,
			    ARRAY_SIZE(neutron_unused_default), name, false))
			return "";
		for (size_t i = 0; i < ARRAY_SIZE(neutron_removed); i++)
			if (!strcmp(name, neutron_removed[i].name))
				return neutron_removed[i].hint;
		return NULL;
	}
	if (in_list(neutron_unused_sections,
		    ARRAY_SIZE(neutron_unused_sections), section, true))
		return "";
	return NULL;
}

/* oslo's "$$" is a literal '$'; "$name" substitution we refuse. */
static int unescape_dollars(char *v, char *why)
{
	char *out = v;

	for (; *v; v++) {
		if (*v == '$') {
			if (v[1] != '$') {
				snprintf(why, WHY_LEN,
					 "'$' would start an "
					 "oslo.config substitution, which "
					 "mdredir does not do; write '$$' for "
					 "a literal '$'");
				return -EINVAL;
			}
			v++;
		}
		*out++ = *v;
	}
	*out = '\0';
	return 0;
}

static int set_value(struct mdr_settings *s, const struct option *o, char *v,
		     int source, unsigned int line, bool from_file)
{
	struct mdr_settings_origin *org = &s->origin[option_index(o)];
	struct mdr_settings_origin old = *org;
	char why[WHY_LEN];
	int err = 0;

	org->source = (unsigned short)source;
	org->line = line;
	if (has_control(v)) { /* not echoed: it would reach the terminal */
		snprintf(why, WHY_LEN, "value contains a control character");
		err = -EINVAL;
	}
	if (!err && from_file)
		err = unescape_dollars(v, why);
	if (!err)
		err = parse_value(o, v, field_of(s, o), why);
	if (err) {
		report(s, o, why);
		*org = old;
	}
	return err;
}

void mdr_settings_defaults(struct mdr_settings *s)
{
	char why[WHY_LEN];

	memset(s, 0, sizeof(*s));
	/* A default the parser refuses is our bug: the unit tests catch it. */
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (parse_value(&options[i], options[i].def,
				field_of(s, &options[i]), why))
			report(s, &options[i], why);
}

int mdr_settings_set(struct mdr_settings *s, const char *name,
		     const char *value, const char *origin)
{
	const struct option *o = find_option_by_name(name);
	char *copy;
	int source, err;

	if (!o) {
		pr_err("%s: no such option '%s'", origin, name);
		return -ENOENT;
	}
	source = source_id(s, origin);
	if (source < 0)
		return source;
	copy = strdup(value);
	if (!copy)
		return -ENOMEM;
	err = set_value(s, o, copy, source, 0, false);
	free(copy);
	return err;
}

void mdr_settings_refuse(const struct mdr_settings *s, const char *name,
			 const char *why)
{
	const struct option *o = find_option_by_name(name);

	if (o)
		report(s, o, why);
	else
		pr_err("%s: %s", name, why);
}

/* ---- the file ---- */

struct ini_parser {
	struct mdr_settings *s;
	const char *file;
	int source;
	unsigned int lineno;
	bool in_section;
	char section[256];
	/* The assignment being read: continuation lines may still follow. */
	bool pending;
	unsigned int key_line;
	char key[256];
	char value[MDR_SETTINGS_LINE_MAX + 1];
};

#define parse_error(p, line, fmt, ...) \
	pr_err("%s:%u: " fmt, (p)->file, (line), ##__VA_ARGS__)

static char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

static int apply(struct ini_parser *p)
{
	const struct option *o = find_option(p->section, p->key);
	const char *hint;

	if (o)
		return set_value(p->s, o, p->value, p->source, p->key_line,
				 true);
	if (has_control(p->value)) {
		parse_error(p, p->key_line,
			    "[%s] %s: value contains a control "
			    "character",
			    p->section, p->key);
		return -EINVAL;
	}
	hint = neutron_unused(p->section, p->key);
	if (hint && !*hint)
		pr_debug("%s:%u: [%s] %s is Neutron's, not used by mdredir "
			 "(ignored)",
			 p->file, p->key_line, p->section, p->key);
	else if (hint)
		pr_warn("%s:%u: [%s] %s: %s", p->file, p->key_line, p->section,
			p->key, hint);
	else
		pr_warn("%s:%u: unknown option [%s] %s (ignored)", p->file,
			p->key_line, p->section, p->key);
	return 0;
}

static int flush(struct ini_parser *p)
{
	if (!p->pending)
		return 0;
	p->pending = false;
	return apply(p);
}

static int section_line(struct ini_parser *p, char *line)
{
	size_t len = strlen(line);

	if (line[len - 1] != ']' || len <= 2) {
		parse_error(p, p->lineno,
			    "malformed section header; write "
			    "[NAME]");
		return -EINVAL;
	}
	if (len - 2 >= sizeof(p->section) || has_control(line)) {
		parse_error(p, p->lineno,
			    "section name too long or with "
			    "control characters");
		return -EINVAL;
	}
	memcpy(p->section, line + 1, len - 2);
	p->section[len - 2] = '\0';
	p->in_section = true;
	return 0;
}

static int assignment_line(struct ini_parser *p, char *line)
{
	size_t sep = strcspn(line, "=:"), len;
	char *key, *value;

	if (!line[sep]) {
		parse_error(p, p->lineno,
			    "expected 'name = value', '[section]' "
			    "or a comment");
		return -EINVAL;
	}
	line[sep] = '\0';
	key = trim(line);
	value = trim(line + sep + 1);
	if (!*key || strlen(key) >= sizeof(p->key) || has_control(key)) {
		parse_error(p, p->lineno,
			    "option name missing, too long or "
			    "with control characters before '='");
		return -EINVAL;
	}
	if (!p->in_section) {
		parse_error(p, p->lineno,
			    "option %s is outside any section; "
			    "add [DEFAULT] above it",
			    key);
		return -EINVAL;
	}
	len = strlen(value);
	if (len >= 2 && value[0] == value[len - 1] &&
	    (value[0] == '"' || value[0] == '\'')) {
		value[len - 1] = '\0';
		value++;
	}
	strcpy(p->key, key);
	strcpy(p->value, value); /* a line fits: both are LINE_MAX */
	p->key_line = p->lineno;
	p->pending = true;
	return 0;
}

static int continuation_line(struct ini_parser *p, char *text)
{
	size_t len;

	if (!p->pending) {
		/* oslo rejects even an indented comment here; we do not. */
		if (*text == '#' || *text == ';')
			return 0;
		parse_error(p, p->lineno,
			    "indented line continues no option; "
			    "remove the leading whitespace");
		return -EINVAL;
	}
	len = strlen(p->value);
	if (len + 1 + strlen(text) > MDR_SETTINGS_LINE_MAX) {
		parse_error(p, p->lineno, "[%s] %s: value longer than %d bytes",
			    p->section, p->key, MDR_SETTINGS_LINE_MAX);
		return -EINVAL;
	}
	if (len)
		p->value[len++] = ' ';
	strcpy(p->value + len, text);
	return 0;
}

static int parse_line(struct ini_parser *p, char *line)
{
	size_t len = strlen(line);
	int err;

	while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		line[--len] = '\0';
	if (!len)
		return flush(p);
	if (*line == ' ' || *line == '\t')
		return continuation_line(p, trim(line));
	err = flush(p);
	if (err)
		return err;
	if (*line == '[')
		return section_line(p, line);
	if (*line == '#' || *line == ';')
		return 0;
	return assignment_line(p, line);
}

/* Cuts the next line out of BUF; NUL bytes and overlong lines are errors. */
static int next_line(struct ini_parser *p, const char **pos, const char *end,
		     char *line)
{
	const char *nl = memchr(*pos, '\n', end - *pos);
	size_t len = (nl ? nl : end) - *pos;

	p->lineno++;
	if (len && (*pos)[len - 1] == '\r') /* CRLF, as Python reads it */
		len--;
	if (len > MDR_SETTINGS_LINE_MAX) {
		parse_error(p, p->lineno, "line longer than %d bytes",
			    MDR_SETTINGS_LINE_MAX);
		return -EINVAL;
	}
	if (memchr(*pos, '\0', len)) {
		parse_error(p, p->lineno, "NUL byte in line");
		return -EINVAL;
	}
	memcpy(line, *pos, len);
	line[len] = '\0';
	*pos = nl ? nl + 1 : end;
	return 0;
}

static int parse_buffer(struct ini_parser *p, const char *buf, size_t size)
{
	const char *pos = buf, *end = buf + size;
	char line[MDR_SETTINGS_LINE_MAX + 1];
	int err;

	if (size >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) /* UTF-8 BOM */
		pos += 3;
	while (pos < end) {
		err = next_line(p, &pos, end, line);
		if (!err)
			err = parse_line(p, line);
		if (err)
			return err;
	}
	return flush(p);
}

/* Up to MAX bytes of FILE into a new buffer; -EFBIG if there is more. */
static int read_file(const char *file, size_t max, char **out, size_t *size)
{
	size_t len = 0;
	ssize_t n;
	char *buf;
	int fd, err = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(max + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out;
	}
	while (len <= max) {
		n = read(fd, buf + len, max + 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (!n)
			break;
		len += (size_t)n;
	}
	if (!err && len > max)
		err = -EFBIG;
	if (err) {
		free(buf);
		goto out;
	}
	buf[len] = '\0';
	*out = buf;
	*size = len;
out:
	close(fd);
	return err;
}

int mdr_settings_load_file(struct mdr_settings *s, const char *file)
{
	struct ini_parser *p;
	size_t size;
	char *buf;
	int err;

	err = read_file(file, MDR_SETTINGS_FILE_MAX, &buf, &size);
	if (err == -EFBIG) {
		pr_err("cannot read %s: larger than %d bytes; is it an INI file?",
		       file, MDR_SETTINGS_FILE_MAX);
		return err;
	}
	if (err) {
		pr_err("cannot read %s: %s", file, strerror(-err));
		return err;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		free(buf);
		return -ENOMEM;
	}
	p->s = s;
	p->file = file;
	p->source = source_id(s, file);
	err = p->source < 0 ? p->source : parse_buffer(p, buf, size);
	free(p);
	free(buf);
	return err;
}

/* ---- final checks ---- */

static int check_all(struct mdr_settings *s)
{
	char text[MDR_SETTINGS_LINE_MAX];
	union {
		char str[MDR_SETTINGS_LINE_MAX];
		unsigned int u;
		bool b;
	} scratch;
	char why[WHY_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		const struct option *o = &options[i];

		if (format_value(s, o, text, sizeof(text), why) ||
		    parse_value(o, text, &scratch, why)) {
			report(s, o, why);
			return -EINVAL;
		}
	}
	return 0;
}

/* The secret file's content: one trailing newline (LF or CRLF) dropped. */
static int read_secret(const char *file, char *secret, size_t size, char *why)
{
	const char *what = NULL;
	struct stat st;
	size_t len;
	char *buf;
	int err;

	/* Room for the longest secret and a CRLF, to tell "too long". */
	err = read_file(file, size + 1, &buf, &len);
	if (err == -EFBIG)
		what = "is longer than the 1023 bytes a secret may have";
	if (err) {
		if (what)
			snprintf(why, WHY_LEN, "%.96s %s", file, what);
		else
			snprintf(why, WHY_LEN, "cannot read %.96s: %s", file,
				 strerror(-err));
		return err;
	}
	if (len && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len && buf[len - 1] == '\r')
		buf[--len] = '\0';
	if (!len)
		what = "is empty";
	else if (len >= size)
		what = "is longer than the 1023 bytes a secret may have";
	else if (memchr(buf, '\0', len) || has_control(buf))
		what = "has control characters (only one trailing newline is allowed)";
	if (!what)
		memcpy(secret, buf, len + 1);
	free(buf);
	if (what) {
		snprintf(why, WHY_LEN, "%.96s %s", file, what);
		return -EINVAL;
	}
	if (!stat(file, &st) && (st.st_mode & S_IROTH))
		pr_warn("%s: the shared secret is readable by everyone; chmod o-r it",
			file);
	return 0;
}

/*
 * shared_secret_file and metadata_proxy_shared_secret may both be set only
 * if they agree: the operator's metadata_agent.ini may well still carry the
 * secret while ours points at a file, but if they differ we cannot know which
 * one Nova has, and a wrong guess fails every request.
 */
static int finish_secret(struct mdr_settings *s)
{
	const struct option *fo = find_option_by_name("shared_secret_file");
	const struct option *so =
		find_option_by_name("metadata_proxy_shared_secret");
	char secret[sizeof(s->metadata_proxy_shared_secret)], why[WHY_LEN];
	char at[MDR_SETTINGS_SOURCE_LEN + 16];
	char sat[MDR_SETTINGS_SOURCE_LEN + 16];
	int err;

	if (!s->shared_secret_file[0] || !fo || !so)
		return 0;
	err = read_secret(s->shared_secret_file, secret, sizeof(secret), why);
	if (err) {
		report(s, fo, why);
		return err;
	}
	if (s->metadata_proxy_shared_secret[0] &&
	    strcmp(s->metadata_proxy_shared_secret, secret)) {
		where(s, fo, at, sizeof(at));
		where(s, so, sat, sizeof(sat));
		if (strlen(sat) >= 2) /* "FILE:LINE: " -> "FILE:LINE" */
			sat[strlen(sat) - 2] = '\0';
		pr_err("%s[mdredir] shared_secret_file: the secret in %s differs "
		       "from [DEFAULT] metadata_proxy_shared_secret (%s); keep "
		       "only one of them",
		       at, s->shared_secret_file,
		       sat[0] ? sat : "set directly");
		return -EINVAL;
	}
	strcpy(s->metadata_proxy_shared_secret, secret);
	s->origin[option_index(so)] = s->origin[option_index(fo)];
	return 0;
}

/*
 * As AWS's HttpPutResponseHopLimit with tokens required: a token is worth
 * stealing only off the guest's own stack, so a container or nested guest
 * behind it gets no reply at all (reply_ttl 1), unless the operator chose
 * a reply_ttl, 0 included.
 */
static void finish_reply_ttl(struct mdr_settings *s)
{
	const struct option *o = find_option_by_name("reply_ttl");

	if (o && s->imds_tokens == MDR_TOKENS_REQUIRED &&
	    !s->origin[option_index(o)].source)
		s->reply_ttl = 1;
}

int mdr_settings_finish(struct mdr_settings *s)
{
	int err;

	if (!s->backend[0])
		strcpy(s->backend, MDR_SETTINGS_DEFAULT_BACKEND);
	err = check_all(s);
	if (err)
		return err;
	err = finish_secret(s);
	if (err)
		return err;
	finish_reply_ttl(s);
	/* Neutron too uses the client certificate only when both are set. */
	if (!s->nova_client_cert[0] != !s->nova_client_priv_key[0])
		pr_warn("[DEFAULT] nova_client_cert and nova_client_priv_key "
			"are used only together; one of them is not set");
	return 0;
}

int mdr_settings_pool4(const struct mdr_settings *s, struct in_addr *addr,
		       unsigned *prefix)
{
	char why[WHY_LEN];

	return parse_cidr(AF_INET, s->service_pool, POOL4_MIN, POOL4_MAX, addr,
			  prefix, why)
		       ? -EINVAL
		       : 0;
}

int mdr_settings_pool6(const struct mdr_settings *s, struct in6_addr *addr,
		       unsigned *prefix)
{
	char why[WHY_LEN];

	return parse_cidr(AF_INET6, s->service_pool6, POOL6_MIN, POOL6_MAX,
			  addr, prefix, why)
		       ? -EINVAL
		       : 0;
}

unsigned int mdr_settings_workers(const struct mdr_settings *s)
{
	cpu_set_t cpus;
	int n;

	if (s->workers)
		return s->workers;
	/* The CPUs we may run on, so that systemd's CPUAffinity= and
	 * AllowedCPUs= (a cpuset) cap it, not the machine's count. */
	n = sched_getaffinity(0, sizeof(cpus), &cpus) ? 1 : CPU_COUNT(&cpus);
	return n < 1 ? 1 : n > MDR_WORKERS_MAX ? MDR_WORKERS_MAX : n;
}

void mdr_settings_proxy_options(const struct mdr_settings *s,
				struct mdr_proxy_options *o)
{
	o->max_connections = s->max_connections;
	o->max_connections_per_attachment = s->max_connections_per_attachment;
	o->rate_limit.enabled = s->rate_limit_enabled;
	o->rate_limit.ip_versions =
		(s->rate_limit_ip_versions & MDR_SETTINGS_IPV4 ? MDR_RATE_IPV4
							       : 0) |
		(s->rate_limit_ip_versions & MDR_SETTINGS_IPV6 ? MDR_RATE_IPV6
							       : 0);
	o->rate_limit.base_window_ms = s->base_window_duration * 1000;
	o->rate_limit.base_limit = s->base_query_rate_limit;
	o->rate_limit.burst_window_ms = s->burst_window_duration * 1000;
	o->rate_limit.burst_limit = s->burst_query_rate_limit;
	o->timeout_http_request_ms = s->timeout_http_request * 1000;
	o->timeout_keepalive_ms = s->timeout_http_keep_alive * 1000;
	o->timeout_client_ms = s->timeout_client * 1000;
	o->timeout_server_ms = s->timeout_server * 1000;
	o->timeout_connect_ms = s->timeout_connect * 1000;
	o->cache_ttl_ms = s->cache_ttl * 1000;
	o->cache_max_bytes = (size_t)s->cache_size_mb << 20;
	o->backend_keepalive = s->backend_keepalive;
	o->access_log_json = s->access_log_json;
	o->imds_tokens = s->imds_tokens;
}
