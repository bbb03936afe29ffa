# SPDX-License-Identifier: GPL-2.0-only
#
# Everything is built into $(OUT). `make` builds the mdredir binary, `make
# test` runs the whole suite, `make demo` the sandboxed demo. V=1 shows the
# full commands.

OUT        ?= build
CC         ?= gcc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH  := $(shell $(CC) -print-multiarch 2>/dev/null)

# CFLAGS, CPPFLAGS and LDFLAGS from the environment (dpkg-buildflags' in a
# package build) come before the tree's own, which they cannot turn off.
CFLAGS     ?= -O2 -g
CFLAGS     += -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude -Iuser -I$(OUT)
# Every object also writes the headers it read into a .d file beside it.
DEPFLAGS    = -MMD -MP
LDLIBS     += -lbpf -lelf -lz -lmnl -lssl -lcrypto -ljansson -lpthread \
	      $(shell pkg-config --libs libsystemd)
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	      -Iinclude -Ibpf -I/usr/include/$(MULTIARCH)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all clean test demo deps fuzz tree-check format format-check FORCE \
	man install uninstall deb

BPF_SRCS   := $(wildcard bpf/*.bpf.c)
BPF_OBJS   := $(patsubst bpf/%.bpf.c,$(OUT)/bpf/%.bpf.o,$(BPF_SRCS))

# user/ is split by job (cli, control, datapath, daemon, proxy, http,
# backends, lib): one folder level, every .c an object.
USER_SRCS  := $(wildcard user/*/*.c)
USER_OBJS  := $(patsubst %.c,$(OUT)/%.o,$(USER_SRCS))
LIB_OBJS   := $(filter-out $(OUT)/user/cli/main.o,$(USER_OBJS))

# A unit test is a folder: tests/unit/NAME/*.c, with tests/unit/check.c,
# links into $(OUT)/tests/test_NAME. tests/helpers/ are programs the bats
# run (not tests).
UNIT_NAMES := $(patsubst tests/unit/%/,%,$(wildcard tests/unit/*/))
UNIT_BINS  := $(UNIT_NAMES:%=$(OUT)/tests/test_%)
UNIT_OBJS  := $(patsubst %.c,$(OUT)/%.o,$(wildcard tests/unit/*/*.c tests/unit/*.c))
HELPER_BINS := $(patsubst tests/helpers/%.c,$(OUT)/tests/%,$(wildcard tests/helpers/*.c))
# tools/bench/*.c: programs the benchmark runs against the daemon's code.
BENCH_BINS := $(patsubst tools/bench/%.c,$(OUT)/tools/%,$(wildcard tools/bench/*.c))
# BPF programs the tests use as someone else's (not part of mdredir).
TEST_BPF   := $(patsubst tests/bpf/%.bpf.c,$(OUT)/tests/%.bpf.o,$(wildcard tests/bpf/*.bpf.c))

all: $(OUT)/mdredir $(UNIT_BINS) $(HELPER_BINS) $(BENCH_BINS) $(TEST_BPF) man

# Each hook is its own compilation unit; the static linker joins them into
# one object so a single skeleton carries every program and the shared maps.
$(OUT)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(OUT)/tests/%.bpf.o: tests/bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUT)/mdredir.bpf.o: $(BPF_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUT)/mdredir.skel.h: $(OUT)/mdredir.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name mdredir_bpf > $@

# The skeleton is generated: it must exist before the first compile, after
# which the .d files say who really includes it.
$(OUT)/user/%.o: user/%.c | $(OUT)/mdredir.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# The build's version, for `mdredir --version` and the daemon's first log
# line: a package build passes VERSION=, a checkout says what git describe
# says. The header is rewritten only when the version changes, so a new
# version rebuilds one object (user/lib/version.c) and relinks.
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo unknown)

$(OUT)/mdredir_version.h: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)printf '#define MDR_VERSION "%s"\n' '$(VERSION)' >$@.new
	$(Q)if cmp -s $@.new $@; then rm $@.new; else \
		mv $@.new $@; printf '  %-8s %s\n' GEN $@; fi

$(OUT)/user/lib/version.o: $(OUT)/mdredir_version.h

$(OUT)/mdredir: $(USER_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/unit/%.o: tests/unit/%.c | $(OUT)/mdredir.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit $(DEPFLAGS) -c $< -o $@

# Kept, not deleted as intermediates: the .d files beside them need them.
.SECONDARY: $(UNIT_OBJS)
.SECONDEXPANSION:
# (% would be the stem even inside a function here: hence :.c=.o.)
$(OUT)/tests/test_%: $$(addprefix $(OUT)/,$$(subst .c,.o,$$(wildcard tests/unit/$$*/*.c))) \
		     $(OUT)/tests/unit/check.o $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ -o $@ $(LDLIBS)

$(OUT)/tests/%: tests/helpers/%.c $(LIB_OBJS) | $(OUT)/mdredir.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $< $(LIB_OBJS) -o $@ $(LDLIBS)

$(OUT)/tools/%: tools/bench/%.c $(LIB_OBJS) | $(OUT)/mdredir.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $(DEPFLAGS) -MF $@.d -MT $@ $< $(LIB_OBJS) -o $@ $(LDLIBS)

# The manual pages, from scdoc sources in man/. mdredir.ini(5) takes its
# description and options from tools/mdredir.ini.sample (tools/ini-man.py),
# so the manual says what the sample says.
SCDOC      ?= scdoc
MAN_PAGES  := $(OUT)/man/mdredir.8 $(OUT)/man/mdredir.ini.5

man: $(MAN_PAGES)

$(OUT)/man/mdredir.8: man/mdredir.8.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(SCDOC) <$< >$@

$(OUT)/man/mdredir.ini.5: man/mdredir.ini.5.scd tools/mdredir.ini.sample \
			  tools/ini-man.py
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)tools/ini-man.py $< tools/mdredir.ini.sample | $(SCDOC) >$@

# make install [DESTDIR=DIR] [PREFIX=/usr]: the binary, the manual pages, a
# commented /etc/mdredir/mdredir.ini (the sample), the systemd unit (its
# paths follow SBINDIR and SYSCONFDIR) and the local backend's directory.
# The configuration is overwritten: keeping an operator's is the package's
# job (conffiles). /var/lib/mdredir/metadata is the binary's default
# backend (MDR_SETTINGS_DEFAULT_BACKEND), so it does not follow PREFIX.
PREFIX     ?= /usr
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
STATEDIR   := /var/lib/mdredir
INSTALL    ?= install

install: $(OUT)/mdredir $(MAN_PAGES)
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -D -m 0755 $(OUT)/mdredir $(DESTDIR)$(SBINDIR)/mdredir
	$(Q)$(INSTALL) -D -m 0644 $(OUT)/man/mdredir.8 \
		$(DESTDIR)$(MANDIR)/man8/mdredir.8
	$(Q)$(INSTALL) -D -m 0644 $(OUT)/man/mdredir.ini.5 \
		$(DESTDIR)$(MANDIR)/man5/mdredir.ini.5
	$(Q)$(INSTALL) -D -m 0644 tools/mdredir.ini.sample \
		$(DESTDIR)$(SYSCONFDIR)/mdredir/mdredir.ini
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(UNITDIR)
	$(Q)sed -e 's|/usr/sbin/mdredir|$(SBINDIR)/mdredir|g' \
		-e 's|/etc/mdredir/|$(SYSCONFDIR)/mdredir/|g' \
		systemd/mdredir.service >$(DESTDIR)$(UNITDIR)/mdredir.service
	$(Q)chmod 0644 $(DESTDIR)$(UNITDIR)/mdredir.service
	$(Q)$(INSTALL) -d -m 0755 $(DESTDIR)$(STATEDIR)/metadata

# What install put there, but not /var/lib/mdredir if anything is in it.
uninstall:
	$(call msg,UNINST,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/mdredir \
		$(DESTDIR)$(MANDIR)/man8/mdredir.8 \
		$(DESTDIR)$(MANDIR)/man5/mdredir.ini.5 \
		$(DESTDIR)$(SYSCONFDIR)/mdredir/mdredir.ini \
		$(DESTDIR)$(UNITDIR)/mdredir.service
	$(Q)rmdir $(DESTDIR)$(SYSCONFDIR)/mdredir $(DESTDIR)$(STATEDIR)/metadata \
		$(DESTDIR)$(STATEDIR) 2>/dev/null || true

# make deb: the Debian package debian/ describes, built by dpkg-buildpackage
# from a copy of the tree's files (tracked or new, not ignored: what would
# be committed) in $(DEB_DIR)/src, since it writes its results beside the
# source: the .deb, .buildinfo and .changes land in $(DEB_DIR), and the
# checkout stays as it was. The copy builds with its own make: none of this
# make's variables may reach it (an OUT= outside the copy would have its
# `make clean` remove the copy itself).
DEB_DIR    := $(OUT)/deb

deb:
	$(call msg,DEB,$(DEB_DIR))
	$(Q)rm -rf $(DEB_DIR)
	$(Q)mkdir -p $(DEB_DIR)/src
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		tar --null --ignore-failed-read -T - -cf - | tar -C $(DEB_DIR)/src -xf -
	$(Q)cd $(DEB_DIR)/src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u OUT -u VERSION \
		dpkg-buildpackage -b -us -uc -jauto >../build.log 2>&1 || \
		{ tail -30 ../build.log; echo "make deb: failed, see $(DEB_DIR)/build.log" >&2; exit 1; }
	$(Q)ls $(DEB_DIR)/*.deb

# libFuzzer targets (tests/fuzz/fuzz_*.c) for the HTTP and OVSDB parsers
# and the BPF programs, built with clang's sanitizers around the few
# sources they exercise, not the rest of the daemon.
FUZZ_CC     ?= clang
FUZZ_CFLAGS := -g -O1 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	       -Iinclude -Iuser -fno-omit-frame-pointer \
	       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# A target links FUZZ_LIBS_<name> and FUZZ_LDLIBS_<name> if set, else the
# HTTP ones, and adds FUZZ_CFLAGS_<name> to the flags.
FUZZ_LIBS   := user/http/parser.c user/http/rewrite.c user/backends/spec.c \
	       user/backends/kinds.c user/lib/tls.c
FUZZ_LDLIBS := -lssl -lcrypto
FUZZ_LIBS_fuzz_ovsdb   := user/control/ovsdb.c user/control/ovsdb_replica.c \
			  user/control/ovn_join.c user/lib/values.c user/lib/tls.c
FUZZ_LDLIBS_fuzz_ovsdb := -ljansson -lssl -lcrypto
# The BPF programs' fuzzer runs them as the unit fixtures do (progs.c), so
# it needs the skeleton and root.
FUZZ_LIBS_fuzz_bpf     := tests/unit/bpf/progs.c tests/unit/bpf/pkt.c \
			  user/datapath/netns.c user/datapath/netlink.c user/lib/log.c
FUZZ_LDLIBS_fuzz_bpf   := -lbpf -lelf -lz -lmnl
FUZZ_CFLAGS_fuzz_bpf   := -I$(OUT) -Itests/unit/bpf
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(OUT)/fuzz/%,$(FUZZ_SRCS))
fuzz_libs    = $(or $(FUZZ_LIBS_$(1)),$(FUZZ_LIBS))
fuzz_ldlibs  = $(or $(FUZZ_LDLIBS_$(1)),$(FUZZ_LDLIBS))
fuzz_cflags  = $(FUZZ_CFLAGS) $(FUZZ_CFLAGS_$(1))

fuzz: $(FUZZ_BINS)

$(OUT)/fuzz/%: tests/fuzz/%.c $$(call fuzz_libs,$$*)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(call fuzz_cflags,$*) $(DEPFLAGS) -MF $@.d -MT $@ $< \
		$(call fuzz_libs,$*) -o $@ $(call fuzz_ldlibs,$*)

# The programs it runs are in the skeleton; its .d file cannot say so (one
# compiler run over several sources keeps only the last one's headers).
$(OUT)/fuzz/fuzz_bpf: $(OUT)/mdredir.skel.h

# Every C file of the tree, formatted as .clang-format says.
FORMAT_SRCS := $(shell git ls-files '*.c' '*.h' 2>/dev/null || \
		 find bpf include user tests -name '*.[ch]')
CLANG_FORMAT ?= clang-format

format-check:
	$(Q)$(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS)

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# The layering rules (tools/check-tree.py says which).
tree-check: $(USER_OBJS)
	$(Q)tools/check-tree.py $(OUT) $(USER_OBJS)

deps:
	$(Q)tools/deps.sh

# test and demo install what is missing first, then build, then run.
test: deps
	$(Q)$(MAKE) --no-print-directory all fuzz
	$(Q)OUT=$(OUT) tests/run.sh

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUT=$(OUT) tools/demo.sh

-include $(USER_OBJS:.o=.d) $(BPF_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(HELPER_BINS:=.d) $(BENCH_BINS:=.d) \
	 $(FUZZ_BINS:=.d)

clean:
	$(call msg,CLEAN,$(OUT))
	$(Q)rm -rf $(OUT)
