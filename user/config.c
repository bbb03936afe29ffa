// SPDX-License-Identifier: GPL-2.0-only
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "netns.h"

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int set_option(struct mdr_daemon_settings *set, const char *section,
		      const char *key, const char *value, const char *file,
		      int line)
{
	if (strcmp(section, "mdredir")) {
		pr_warn("%s:%d: unknown option [%s] %s (ignored)", file, line,
			section, key);
		return 0;
	}
	if (!strcmp(key, "backend")) {
		if (strlen(value) >= sizeof(set->backend))
			goto bad;
		strcpy(set->backend, value);
	} else if (!strcmp(key, "proxy_netns")) {
		if (mdr_netns_valid_name(value))
			goto bad;
		strcpy(set->proxy_netns, value);
	} else {
		pr_warn("%s:%d: unknown option [%s] %s (ignored)", file, line,
			section, key);
	}
	return 0;
bad:
	pr_err("%s:%d: invalid value for [%s] %s: '%s'", file, line, section,
	       key, value);
	return -EINVAL;
}

static int read_ini(const char *file, struct mdr_daemon_settings *set)
{
	char buf[4096], section[64] = "DEFAULT", *s, *eq;
	int line = 0, err = 0;
	FILE *f;

	f = fopen(file, "re");
	if (!f) {
		err = -errno;
		pr_err("cannot read config file %s: %s", file, strerror(-err));
		return err;
	}
	while (!err && fgets(buf, sizeof(buf), f)) {
		line++;
		s = trim(buf);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *end = strchr(s, ']');

			if (!end || end[1] || end - s - 1 >= (long)sizeof(section)) {
				pr_err("%s:%d: malformed section header", file,
				       line);
				err = -EINVAL;
				break;
			}
			*end = '\0';
			strcpy(section, trim(s + 1));
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			pr_err("%s:%d: expected 'option = value'", file, line);
			err = -EINVAL;
			break;
		}
		*eq = '\0';
		err = set_option(set, section, trim(s), trim(eq + 1), file, line);
	}
	fclose(f);
	return err;
}

int mdr_config_load(const struct mdr_daemon_options *opts,
		    struct mdr_daemon_settings *set)
{
	int err;

	memset(set, 0, sizeof(*set));
	strcpy(set->backend, MDR_DEFAULT_BACKEND);
	set->port = opts->port ? opts->port : 80;
	if (opts->config) {
		err = read_ini(opts->config, set);
		if (err)
			return err;
	}
	if (opts->backend) {
		if (strlen(opts->backend) >= sizeof(set->backend))
			return -ENAMETOOLONG;
		strcpy(set->backend, opts->backend);
	}
	if (opts->proxy_netns) {
		if (mdr_netns_valid_name(opts->proxy_netns)) {
			pr_err("invalid namespace name '%s'", opts->proxy_netns);
			return -EINVAL;
		}
		strcpy(set->proxy_netns, opts->proxy_netns);
	}
	return 0;
}
