// SPDX-License-Identifier: GPL-2.0-only
/* The mdredir command line: one binary, `ip`-style subcommands. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/values.h"
#include "control/attach.h"
#include "cli/batch.h"
#include "daemon/daemon.h"
#include "daemon/settings.h"
#include "lib/log.h"
#include "datapath/netns.h"
#include "cli/show.h"
#include "control/unload.h"

#define MDR_VERSION "0.1.0"

/* Exit statuses scripts can rely on. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char usage_main[] =
	"Usage: mdredir [-v] COMMAND [ARGS]\n"
	"\n"
	"Redirects guests' metadata traffic (169.254.169.254:80) with BPF to one\n"
	"local proxy that adds their identity and forwards to a backend.\n"
	"\n"
	"Commands:\n"
	"  daemon   run the metadata proxy in the foreground\n"
	"  attach   redirect metadata traffic arriving on an interface\n"
	"  detach   stop redirecting on an interface\n"
	"  list     show attached interfaces\n"
	"  stats    show per-attachment counters\n"
	"  unload   remove everything mdredir made\n"
	"\n"
	"Options:\n"
	"  -v, --verbose  debug messages (libbpf's too)\n"
	"  -V, --version  print the version\n"
	"  -h, --help     this text; `mdredir COMMAND --help` for a command\n";

static const char usage_daemon[] =
	"Usage: mdredir daemon [--backend SPEC] [--config FILE] [--proxy-netns NAME]\n"
	"                      [--reply-ttl N]\n"
	"\n"
	"Runs the proxy in the foreground until SIGINT or SIGTERM, logging to\n"
	"stderr. The data path keeps working without it; guests' connections\n"
	"are refused while it is stopped.\n"
	"\n"
	"  --backend SPEC       where requests go (default " MDR_SETTINGS_DEFAULT_BACKEND "):\n"
	"                         local:DIR                  files served by mdredir\n"
	"                         neutron:unix:PATH          the neutron-metadata-agent\n"
	"                         neutron:http://HOST:PORT\n"
	"                         nova:http[s]://HOST:PORT   Nova, requests signed\n"
	"                         nova                       Nova, at nova_metadata_host/port/protocol\n"
	"  --config FILE        INI settings; Neutron's metadata_agent.ini works as is\n"
	"                       (see tools/mdredir.ini.sample); flags override it\n"
	"  --proxy-netns NAME   namespace of the listener (default mdredir)\n"
	"  --reply-ttl N        TTL / hop limit of metadata replies (1: nothing\n"
	"                       behind the guest can reach metadata through it)\n"
	"\n"
	"The shared secret for Nova comes from the config file\n"
	"(metadata_proxy_shared_secret, or [mdredir] shared_secret_file), never\n"
	"from the command line.\n";

static const char usage_attach[] =
	"Usage: mdredir attach IFNAME [--netns NS] [--network-id ID | --router-id ID]\n"
	"                      [--instance-id ID] [--project-id ID] [--mac MAC]\n"
	"                      [--ip ADDR]... [--mode tc|xdp]\n"
	"       mdredir attach --batch FILE\n"
	"\n"
	"Redirects metadata traffic arriving on IFNAME. Attaching an attached\n"
	"interface again updates it.\n"
	"\n"
	"  --netns NS        IFNAME is in namespace NS (/run/netns/NS); default host\n"
	"  --network-id ID   the network IFNAME serves (qdhcp/ovnmeta tap)\n"
	"  --router-id ID    the router IFNAME serves (qrouter tap)\n"
	"  --instance-id ID  the instance behind IFNAME (a VM's own tap)\n"
	"  --project-id ID   the instance's project\n"
	"  --mac MAC         the guest's MAC address\n"
	"  --ip ADDR         a fixed IP of the guest (repeatable, up to 8)\n"
	"  --mode MODE       tc (default) or xdp: native XDP where the driver has\n"
	"                    it, else generic XDP (said so when it happens)\n"
	"  --batch FILE      attach many at once: one attach's arguments per\n"
	"                    line (IFNAME and options as above), '-' for stdin;\n"
	"                    blank lines and '#' comments skipped. Every line\n"
	"                    and interface is checked before anything is done\n"
	"\n"
	"With --mac and/or --ip, metadata traffic from any other MAC or address\n"
	"is dropped (and counted) in the BPF program.\n";

static const char usage_detach[] =
	"Usage: mdredir detach IFNAME [--netns NS]\n"
	"\n"
	"Stops redirecting on IFNAME and restores it as it was.\n";

static const char usage_list[] =
	"Usage: mdredir list [--json]\n"
	"\n"
	"Shows attached interfaces and their identities.\n";

static const char usage_stats[] =
	"Usage: mdredir stats [--json]\n"
	"\n"
	"Shows per-attachment counters: requests, responses by status class,\n"
	"bytes, and packets passed and dropped by reason.\n";

static const char usage_unload[] =
	"Usage: mdredir unload\n"
	"\n"
	"Stops the daemon and removes every program, map, pin, veth and\n"
	"namespace mdredir made.\n";

static int usage_error(const char *usage, const char *fmt, const char *arg)
{
	fprintf(stderr, "mdredir: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n\n%s", usage);
	return EXIT_USAGE;
}

static int status(int err)
{
	return err ? EXIT_FAIL : EXIT_OK;
}

enum { OPT_HELP = 'h', OPT_JSON = 'j', OPT_NETNS = 'n', OPT_BACKEND = 256,
       OPT_CONFIG, OPT_PROXY_NETNS, OPT_NETWORK, OPT_ROUTER, OPT_INSTANCE,
       OPT_PROJECT, OPT_MAC, OPT_IP, OPT_REPLY_TTL, OPT_MODE, OPT_BATCH };

static int cmd_daemon(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, OPT_BACKEND },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "proxy-netns", required_argument, NULL, OPT_PROXY_NETNS },
		{ "reply-ttl", required_argument, NULL, OPT_REPLY_TTL },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	struct mdr_daemon_options opts = {};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_BACKEND: opts.backend = optarg; break;
		case OPT_CONFIG: opts.config = optarg; break;
		case OPT_PROXY_NETNS: opts.proxy_netns = optarg; break;
		case OPT_REPLY_TTL: opts.reply_ttl = optarg; break;
		case OPT_HELP: fputs(usage_daemon, stdout); return EXIT_OK;
		default: fputs(usage_daemon, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage_daemon, "unexpected argument '%s'",
				   argv[optind]);
	return status(mdr_daemon_run(&opts));
}

/*
 * A usage error in attach's arguments: on the command line with the usage
 * text, in a batch file with the line's label ("FILE:LINE") instead.
 */
static int attach_usage(const char *where, const char *fmt, const char *arg)
{
	if (!where)
		return usage_error(usage_attach, fmt, arg);
	fprintf(stderr, "mdredir: %s: ", where);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int check_id(const char *where, const char *flag, const char *value)
{
	if (!value[0] || mdr_parse_id(value) == 0)
		return 0;
	fprintf(stderr,
		"mdredir: %s%sinvalid %s '%s': use 1-%d letters, digits, '-', "
		"'_', '.' or ':'\n", where ?: "", where ? ": " : "", flag, value,
		MDR_ID_LEN - 1);
	return EXIT_USAGE;
}

/*
 * Parses one attachment's arguments into @req (which points into @argv).
 * @where is NULL for the command line, else the batch line's label; there
 * @batch must stay NULL. Returns -1 when the arguments are complete, or an
 * exit status to stop with (--help, usage errors).
 */
static int parse_attach(int argc, char **argv, const char *where,
			struct mdr_attach_request *req, const char **batch)
{
	static const struct option longopts[] = {
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "network-id", required_argument, NULL, OPT_NETWORK },
		{ "router-id", required_argument, NULL, OPT_ROUTER },
		{ "instance-id", required_argument, NULL, OPT_INSTANCE },
		{ "project-id", required_argument, NULL, OPT_PROJECT },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ "ip", required_argument, NULL, OPT_IP },
		{ "mode", required_argument, NULL, OPT_MODE },
		{ "batch", required_argument, NULL, OPT_BATCH },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	int c, nopts = 0;

	*req = (struct mdr_attach_request){
		.netns = "", .network_id = "", .router_id = "",
		.instance_id = "", .project_id = "",
	};
	optind = 0;	/* a fresh scan, for every batch line too */
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		nopts++;
		switch (c) {
		case OPT_NETNS: req->netns = optarg; break;
		case OPT_NETWORK: req->network_id = optarg; break;
		case OPT_ROUTER: req->router_id = optarg; break;
		case OPT_INSTANCE: req->instance_id = optarg; break;
		case OPT_PROJECT: req->project_id = optarg; break;
		case OPT_MAC:
			if (mdr_parse_mac(optarg, req->vm_mac))
				return attach_usage(where,
						    "invalid MAC address '%s'",
						    optarg);
			req->has_vm_mac = true;
			break;
		case OPT_IP:
			if (req->n_fixed_ips == MDR_MAX_FIXED_IPS)
				return attach_usage(where,
						    "too many --ip (at most 8)%s",
						    "");
			if (mdr_parse_fixed_ip(optarg,
					       &req->fixed_ips[req->n_fixed_ips++]))
				return attach_usage(where,
						    "invalid IP address '%s'",
						    optarg);
			break;
		case OPT_MODE:
			if (strcmp(optarg, "tc") && strcmp(optarg, "xdp"))
				return attach_usage(where,
						    "--mode is tc or xdp, not '%s'",
						    optarg);
			req->xdp = !strcmp(optarg, "xdp");
			break;
		case OPT_BATCH:
			if (!batch)
				return attach_usage(where,
						    "--batch cannot be nested%s",
						    "");
			*batch = optarg;
			break;
		case OPT_HELP:
			if (where)
				return attach_usage(where, "--help in a batch%s",
						    "");
			fputs(usage_attach, stdout);
			return EXIT_OK;
		default:
			/* getopt said what, labelled with argv[0] */
			if (!where)
				fputs(usage_attach, stderr);
			return EXIT_USAGE;
		}
	}
	if (batch && *batch) {
		if (nopts > 1 || optind < argc)
			return attach_usage(where, "--batch takes no other "
					    "arguments%s", "");
		return -1;
	}
	if (optind >= argc)
		return attach_usage(where, "missing IFNAME%s", "");
	req->ifname = argv[optind++];
	if (optind < argc)
		return attach_usage(where, "unexpected argument '%s'",
				    argv[optind]);
	if (!req->ifname[0] || strlen(req->ifname) >= MDR_IFNAME_LEN ||
	    strchr(req->ifname, '/'))
		return attach_usage(where, "invalid interface name '%s'",
				    req->ifname);
	if (req->netns[0] && mdr_netns_valid_name(req->netns))
		return attach_usage(where, "invalid namespace name '%s'",
				    req->netns);
	if (req->network_id[0] && req->router_id[0])
		return attach_usage(where, "--network-id and --router-id "
				    "exclude each other%s", "");
	c = check_id(where, "--network-id", req->network_id);
	c = c ?: check_id(where, "--router-id", req->router_id);
	c = c ?: check_id(where, "--instance-id", req->instance_id);
	c = c ?: check_id(where, "--project-id", req->project_id);
	return c ?: -1;
}

/* attach --batch FILE: every line parsed first, then one mdr_attach_many(). */
static int attach_batch(const char *path)
{
	struct mdr_attach_request *reqs = NULL;
	struct mdr_batch batch;
	uint32_t *ids = NULL;
	size_t done = 0;
	int rc, err;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	if (!f) {
		pr_err("cannot open %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	err = mdr_batch_read(f, strcmp(path, "-") ? path : "stdin", &batch);
	if (f != stdin)
		fclose(f);
	if (err) {
		pr_err("cannot read %s: %s", path, strerror(-err));
		return EXIT_FAIL;
	}
	reqs = calloc(batch.n ?: 1, sizeof(*reqs));
	ids = calloc(batch.n ?: 1, sizeof(*ids));
	if (!reqs || !ids) {
		pr_err("out of memory");
		rc = EXIT_FAIL;
		goto out;
	}
	/* Every line is checked, so one run reports every mistake. */
	rc = EXIT_OK;
	for (size_t i = 0; i < batch.n; i++) {
		struct mdr_batch_line *l = &batch.lines[i];

		if (parse_attach(l->argc, l->argv, l->argv[0], &reqs[i],
				 NULL) >= 0)
			rc = EXIT_USAGE;
	}
	if (rc != EXIT_OK)
		goto out;
	err = mdr_attach_many(reqs, batch.n, ids);
	for (size_t i = 0; i < batch.n; i++)
		done += ids[i] != 0;
	if (err && done)
		pr_err("attached %zu of %zu interfaces", done, batch.n);
	rc = status(err);
out:
	free(ids);
	free(reqs);
	mdr_batch_free(&batch);
	return rc;
}

static int cmd_attach(int argc, char **argv)
{
	struct mdr_attach_request req;
	const char *batch = NULL;
	uint32_t id;
	int rc, err;

	rc = parse_attach(argc, argv, NULL, &req, &batch);
	if (rc >= 0)
		return rc;
	if (batch)
		return attach_batch(batch);
	err = mdr_attach(&req, &id);
	if (!err)
		pr_debug("attached %s as %u", req.ifname, id);
	return status(err);
}

static int cmd_detach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "netns", required_argument, NULL, OPT_NETNS },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	const char *netns = "";
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_NETNS: netns = optarg; break;
		case OPT_HELP: fputs(usage_detach, stdout); return EXIT_OK;
		default: fputs(usage_detach, stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return usage_error(usage_detach, "missing IFNAME%s", "");
	if (optind + 1 < argc)
		return usage_error(usage_detach, "unexpected argument '%s'",
				   argv[optind + 1]);
	return status(mdr_detach(argv[optind], netns));
}

/* list and stats take the same flags. */
static int cmd_show(int argc, char **argv, const char *usage,
		    int (*show)(bool json))
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_JSON: json = true; break;
		case OPT_HELP: fputs(usage, stdout); return EXIT_OK;
		default: fputs(usage, stderr); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error(usage, "unexpected argument '%s'",
				   argv[optind]);
	return status(show(json));
}

static int cmd_unload(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, OPT_HELP },
		{}
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == OPT_HELP) {
			fputs(usage_unload, stdout);
			return EXIT_OK;
		}
		fputs(usage_unload, stderr);
		return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error(usage_unload, "unexpected argument '%s'",
				   argv[optind]);
	return status(mdr_unload());
}

static int cmd_list(int argc, char **argv)
{
	return cmd_show(argc, argv, usage_list, mdr_show_list);
}

static int cmd_stats(int argc, char **argv)
{
	return cmd_show(argc, argv, usage_stats, mdr_show_stats);
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "daemon", cmd_daemon }, { "attach", cmd_attach },
	{ "detach", cmd_detach }, { "list", cmd_list },
	{ "stats", cmd_stats },   { "unload", cmd_unload },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	enum mdr_log_level level = MDR_LOG_INFO;
	int c;

	while ((c = getopt_long(argc, argv, "+vVh", longopts, NULL)) != -1) {
		switch (c) {
		case 'v': level = MDR_LOG_DEBUG; break;
		case 'V': printf("mdredir %s\n", MDR_VERSION); return EXIT_OK;
		case 'h': fputs(usage_main, stdout); return EXIT_OK;
		default: fputs(usage_main, stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	mdr_log_init(level);
	if (mdr_netns_init()) {
		pr_err("cannot open /proc/self/ns/net: %s", strerror(errno));
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			argv += optind;
			argc -= optind;
			/* 0, not 1: GNU getopt then forgets the "+" mode above. */
			optind = 0;
			return commands[i].run(argc, argv);
		}
	}
	if (!strcmp(argv[optind], "help")) {
		fputs(usage_main, stdout);
		return EXIT_OK;
	}
	return usage_error(usage_main, "unknown command '%s'", argv[optind]);
}
