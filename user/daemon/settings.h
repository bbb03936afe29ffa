/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The daemon's settings, read from INI files in the dialect of oslo.config so
 * that an operator's existing Neutron metadata_agent.ini can be given as-is:
 * Neutron's options keep their names, defaults and meaning, Neutron options
 * we have no use for are accepted quietly, and ours live in [mdredir] and
 * [metadata_haproxy].
 *
 * Order of precedence: mdr_settings_defaults(), then each file given to
 * mdr_settings_load_file() (later files and later lines win), then
 * command-line overrides (mdr_settings_set()), then mdr_settings_finish().
 */
#ifndef MDR_SETTINGS_H
#define MDR_SETTINGS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>

#include "proxy/token.h"

struct mdr_proxy_options;

#define MDR_SETTINGS_DEFAULT_BACKEND "local:/var/lib/mdredir/metadata"
#define MDR_SETTINGS_FILE_MAX	     (1024 * 1024) /* bytes per file */
#define MDR_SETTINGS_LINE_MAX	     8192	   /* bytes per line or value */
#define MDR_SETTINGS_MAX_OPTIONS     48
#define MDR_SETTINGS_MAX_SOURCES     16
#define MDR_SETTINGS_SOURCE_LEN	     256
#define MDR_SETTINGS_SOURCE_NAME_LEN 32 /* an attach_from item */

/* Bits of rate_limit_ip_versions. */
#define MDR_SETTINGS_IPV4 (1u << 0)
#define MDR_SETTINGS_IPV6 (1u << 1)

/* Where one option's value came from. */
struct mdr_settings_origin {
	unsigned short source; /* 0: built-in default; else sources[source - 1] */
	unsigned int line;     /* 0: not a file line (a command-line flag) */
};

/*
 * Defaults: the option table in settings.c (the only place they are
 * written; tools/mdredir.ini.sample shows them to operators).
 */
struct mdr_settings {
	/* [DEFAULT]: Neutron's metadata_agent.ini names and defaults */
	char nova_metadata_host[256];
	unsigned int nova_metadata_port;
	bool nova_metadata_https; /* nova_metadata_protocol: "http" | "https" */
	bool nova_metadata_insecure;
	char auth_ca_cert[PATH_MAX]; /* "": the system's CA store */
	char nova_client_cert[PATH_MAX];
	char nova_client_priv_key[PATH_MAX];
	char metadata_proxy_shared_secret[1024];
	/* [metadata_haproxy]: seconds */
	unsigned int timeout_connect;
	unsigned int timeout_client;
	unsigned int timeout_server;
	unsigned int timeout_http_request;
	unsigned int timeout_http_keep_alive;
	/* [mdredir]: ours */
	char backend[4096]; /* "": MDR_SETTINGS_DEFAULT_BACKEND */
	char proxy_netns[64];
	char service_pool[64];	/* IPv4 CIDR */
	char service_pool6[64]; /* IPv6 CIDR */
	unsigned int max_connections;
	/* "" or a file whose content (trailing newline stripped) is the secret */
	char shared_secret_file[PATH_MAX];
	unsigned int max_connections_per_attachment;
	unsigned int workers; /* 0: auto, see mdr_settings_workers() */
	/* per second and attachment, in BPF; 0: none */
	unsigned int new_connection_rate;
	unsigned int new_connection_burst;
	unsigned int new_connection_rate_per_guest;
	unsigned int new_connection_burst_per_guest;
	unsigned int reply_ttl; /* 0: replies keep their TTL / hop limit */
	unsigned int cache_ttl; /* seconds; 0: no response cache */
	unsigned int cache_size_mb;
	bool backend_keepalive; /* pool backend connections (plain HTTP, unix) */
	bool access_log_json;	/* access_log_format: "text" | "json" */
	/* "" (off), ADDRESS:PORT or unix:PATH, in the host's namespace */
	char metrics_listen[128];
	/* off, optional, required; required makes reply_ttl default to 1 */
	enum mdr_imds_tokens imds_tokens;
	/* attach_from: bit 1 << enum mdr_source for each source that runs */
	unsigned int attach_from;
	/* [metadata_rate_limiting]: Neutron's; enforced by the proxy (admission.h) */
	bool rate_limit_enabled;
	/* ip_versions: MDR_SETTINGS_IPV4/6 bits */
	unsigned int rate_limit_ip_versions;
	unsigned int base_window_duration; /* seconds */
	unsigned int base_query_rate_limit;
	unsigned int burst_window_duration; /* seconds */
	unsigned int burst_query_rate_limit;
	/* [ovs], [ovn]: the OVN metadata agent's, for attach_from = ovn */
	char ovsdb_connection[256];   /* the local Open vSwitch database */
	char ovn_sb_connection[4096]; /* Southbound remotes, comma-separated */
	char ovn_sb_private_key[PATH_MAX]; /* for ssl: remotes */
	char ovn_sb_certificate[PATH_MAX];
	char ovn_sb_ca_cert[PATH_MAX];
	unsigned int ovsdb_probe_interval; /* ms without a word; 0: never */
	/* where each value came from, for messages: file:line, or "" for defaults */
	struct mdr_settings_origin origin[MDR_SETTINGS_MAX_OPTIONS];
	char sources[MDR_SETTINGS_MAX_SOURCES][MDR_SETTINGS_SOURCE_LEN];
};

/* Every option at its default (and no origins). */
void mdr_settings_defaults(struct mdr_settings *s);

/*
 * Reads FILE over the current values. 0, or -errno after printing (pr_err)
 * "FILE:LINE: [section] option: what is wrong" (or "cannot read FILE:
 * reason"). Unknown sections/options: pr_warn "FILE:LINE: unknown option
 * [section] name (ignored)", not an error; Neutron options we do not use:
 * pr_debug only.
 */
int mdr_settings_load_file(struct mdr_settings *s, const char *file);

/*
 * A command-line override: sets option NAME (as it is spelt in the file,
 * e.g. "backend", "proxy_netns") from VALUE with the same checks as a file
 * line, and remembers ORIGIN (e.g. "--backend") for later messages.
 * 0, or -errno after printing "ORIGIN: [section] name: what is wrong".
 */
int mdr_settings_set(struct mdr_settings *s, const char *name,
		     const char *value, const char *origin);

/*
 * Final checks after files and command-line overrides: every value is
 * checked again (fields may have been written directly), an empty backend
 * becomes MDR_SETTINGS_DEFAULT_BACKEND, shared_secret_file is read into
 * metadata_proxy_shared_secret (an error if both are set and differ).
 * Returns 0 or -errno after pr_err naming the option and where it came from.
 */
int mdr_settings_finish(struct mdr_settings *s);

/*
 * Refuses the value option NAME has, for a reason found after
 * mdr_settings_finish() (a reload that cannot change it): pr_err
 * "FILE:LINE: [section] name: WHY", like every error in the files.
 */
void mdr_settings_refuse(const struct mdr_settings *s, const char *name,
			 const char *why);

/* Parsed service pools, for the data path. 0, or -EINVAL if not valid. */
int mdr_settings_pool4(const struct mdr_settings *s, struct in_addr *addr,
		       unsigned *prefix);
int mdr_settings_pool6(const struct mdr_settings *s, struct in6_addr *addr,
		       unsigned *prefix);

/*
 * How many workers the proxy runs: the setting, or for auto the CPUs this
 * process may run on (its affinity, which systemd's CPUAffinity= and
 * AllowedCPUs= set), at most MDR_WORKERS_MAX.
 */
unsigned int mdr_settings_workers(const struct mdr_settings *s);

/*
 * The one translation of settings into the proxy's options, in the proxy's
 * units: connection caps, rate limits, timeouts, the response cache and
 * backend pooling. The caller adds the rest (listeners and workers,
 * backend, callbacks, stop flag). The proxy has no defaults of its own: whoever runs it starts
 * from settings, at least mdr_settings_defaults().
 */
void mdr_settings_proxy_options(const struct mdr_settings *s,
				struct mdr_proxy_options *o);

#endif
