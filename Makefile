# pam_jit / jitd / jitctl. Plain GNU make with pkg-config.
#   make            build everything into build/
#   make check      build and run every test (installs apt dependencies when missing, as root)
#   make demo       play the whole story in a sandbox
#   make install    DESTDIR=... PREFIX=... (programs, PAM module, man pages, units, completion,
#                   and /etc/jit/jitd.conf only where there is none)
#   make uninstall  the same DESTDIR and PREFIX
#   make bench      benchmarks (not part of check)

VERSION     := 0.1.0
PREFIX      ?= /usr
SYSCONFDIR  ?= /etc
DESTDIR     ?=
MULTIARCH   := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PAMDIR      ?= /lib/$(MULTIARCH)/security
SBINDIR     ?= $(PREFIX)/sbin
BINDIR      ?= $(PREFIX)/bin
MANDIR      ?= $(PREFIX)/share/man
UNITDIR     ?= /lib/systemd/system
COMPLETIONDIR ?= $(PREFIX)/share/bash-completion/completions

CC          ?= cc
PKG_CONFIG  ?= pkg-config
B           := build

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wno-format-nonliteral -Wpointer-arith -Wvla
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIC
OPT      ?= -O2 -g
CFLAGS   ?=
override CFLAGS := -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) $(HARDEN) -Icommon \
            -DJIT_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS) $(CFLAGS)
LDHARDEN := -Wl,-z,relro,-z,now -Wl,--as-needed
SAN      ?=
ifneq ($(SAN),)
override CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer
LDHARDEN += -fsanitize=$(SAN)
endif

pc = $(shell $(PKG_CONFIG) --$(1) $(2) 2>/dev/null)
# libcurl: headers only; only jitd's ticket helper (the same binary, run
# again as an unprivileged process: jitd/ticket_helper.c) opens it at run time
# (jitd/http.c), so jitd itself never maps it and its dependencies. The unit
# tests that talk HTTP themselves link it. libseccomp: the helper's filter.
# libpq: jitctl's fleet commands (jitctl/fleet*.c) and jitd's fleet mirror
# (jitd/fleet_link.c, driven by the loop without blocking it); pam_jit.so
# never links it. libcrypto in jitctl: the seal of a recording (common/rechash.c),
# checked again before replay.
JITD_PKGS   := sqlite3 json-c inih libsystemd libcrypto libseccomp libpq
JITCTL_PKGS := json-c inih libpq libcrypto
CHECK_PKGS  := check
JITD_CFLAGS := $(call pc,cflags,$(JITD_PKGS) libcurl)
JITD_LIBS   := $(call pc,libs,$(JITD_PKGS)) -ldl -pthread
CURL_LIBS   := $(call pc,libs,libcurl)
JITCTL_LIBS := $(call pc,libs,$(JITCTL_PKGS))
CHECK_LIBS  := $(call pc,libs,$(CHECK_PKGS))
PQ_CFLAGS   := $(or $(call pc,cflags,libpq),-I$(shell pg_config --includedir 2>/dev/null))
PAM_LIBS    := -lpam

COMMON_SRC  := $(wildcard common/*.c)
COMMON_OBJ  := $(COMMON_SRC:%.c=$(B)/obj/%.o)
# What pam_jit.so may contain from common/: libc-only pieces, and nothing that
# starts a program (common/sshsig.o runs ssh-keygen for jitd and jitctl only;
# tests/integration/layers.sh checks what pam_jit.so imports).
PAM_COMMON  := $(B)/obj/common/proto.o $(B)/obj/common/client.o $(B)/obj/common/util.o \
               $(B)/obj/common/gating.o
PAM_SRC     := $(wildcard pam_jit/*.c)
PAM_OBJ     := $(PAM_SRC:%.c=$(B)/obj/%.o)
JITD_SRC    := $(wildcard jitd/*.c)
JITD_OBJ    := $(JITD_SRC:%.c=$(B)/obj/%.o)
JITD_LIBOBJ := $(filter-out $(B)/obj/jitd/main.o,$(JITD_OBJ))
JITCTL_SRC  := $(wildcard jitctl/*.c)
JITCTL_OBJ  := $(JITCTL_SRC:%.c=$(B)/obj/%.o)
JITCTL_LIBOBJ := $(filter-out $(B)/obj/jitctl/main.o,$(JITCTL_OBJ))
# The fleet schema's SQL files, compiled into jitctl as C strings
# (jitctl/fleet_schema.c includes them), so each stays plain SQL to read and
# to try with psql. '?' is escaped too: "??" would be a C trigraph.
FLEET_SQL   := $(sort $(wildcard jitctl/fleet_schema_v*.sql))
FLEET_SQL_H := $(FLEET_SQL:jitctl/%.sql=$(B)/gen/%.sql.h)
UNIT_SRC    := $(wildcard tests/unit/check_*.c)
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
HELPER_SRC  := $(wildcard tests/helpers/*.c)
HELPER_BIN  := $(HELPER_SRC:tests/helpers/%.c=$(B)/tests/%)

PROGRAMS := $(B)/jitd $(B)/jitctl $(B)/pam_jit.so

.PHONY: all check unit integration demo demo-fleet install uninstall clean bench deps lint asan
all: $(PROGRAMS)

$(B)/obj/%.o: %.c $(wildcard common/*.h jitd/*.h jitctl/*.h pam_jit/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(JITD_CFLAGS) $(OBJ_CFLAGS) -Ijitd -Ijitctl -Ipam_jit -c -o $@ $<

# libpq's headers for jitctl and jitd (never pam_jit).
$(JITCTL_OBJ): OBJ_CFLAGS := $(PQ_CFLAGS) -I$(B)/gen
$(JITD_OBJ): OBJ_CFLAGS := $(PQ_CFLAGS)

$(B)/gen/%.sql.h: jitctl/%.sql
	@mkdir -p $(@D)
	{ echo 'static const char $(subst -,_,$*)_sql[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } >$@.tmp && mv $@.tmp $@
$(B)/obj/jitctl/fleet_schema.o: $(FLEET_SQL_H)

$(B)/libjitcommon.a: $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/jitd: $(JITD_OBJ) $(B)/libjitcommon.a
	$(CC) $(CFLAGS) -pie $(LDHARDEN) -o $@ $^ $(JITD_LIBS)

$(B)/jitctl: $(JITCTL_OBJ) $(B)/libjitcommon.a
	$(CC) $(CFLAGS) -pie $(LDHARDEN) -o $@ $^ $(JITCTL_LIBS)

$(B)/pam_jit.so: $(PAM_OBJ) $(PAM_COMMON) pam_jit/pam_jit.map
	$(CC) $(CFLAGS) -shared $(LDHARDEN) -Wl,--version-script=pam_jit/pam_jit.map \
		-Wl,--no-undefined -o $@ $(PAM_OBJ) $(PAM_COMMON) $(PAM_LIBS)

# Unit tests link the library parts of jitd and jitctl (everything but main).
$(B)/tests/check_%: tests/unit/check_%.c $(JITD_LIBOBJ) $(JITCTL_LIBOBJ) $(B)/libjitcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(JITD_CFLAGS) $(PQ_CFLAGS) -Ijitd -Ijitctl -pie $(LDHARDEN) -o $@ $^ $(JITD_LIBS) $(CURL_LIBS) $(JITCTL_LIBS) $(CHECK_LIBS) $(PAM_LIBS)

$(B)/tests/%: tests/helpers/%.c $(B)/libjitcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pie $(LDHARDEN) -o $@ $^ $(PAM_LIBS)

# nssfail.so: an LD_PRELOAD shim that makes NSS fail on demand (fault
# injection for jitd). Not a tests/helpers/*.c program, and built without
# $(SAN): a sanitizer runtime inside a preloaded object breaks the host.
$(B)/tests/nssfail.so: tests/helpers/preload/nssfail.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl
tests: $(B)/tests/nssfail.so

deps:
	@bash tests/deps.sh

check: deps
	@$(MAKE) --no-print-directory all tests
	@bash tests/run.sh

tests: $(PROGRAMS) $(UNIT_BIN) $(HELPER_BIN)

unit: $(PROGRAMS) $(UNIT_BIN)
	@bash tests/run.sh unit

integration: tests
	@bash tests/run.sh integration

asan:
	@$(MAKE) --no-print-directory clean
	@$(MAKE) --no-print-directory SAN=address,undefined OPT='-O1 -g' tests
	@ASAN_OPTIONS=detect_leaks=1 JIT_SANITIZED=1 bash tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo.sh

# The fleet story: three hosts and a throwaway PostgreSQL 15 (tests/deps.sh
# installs postgresql-15), all removed at the end.
demo-fleet: deps
	@$(MAKE) --no-print-directory all
	@bash tests/demo_fleet.sh

# jitbench (tests/bench/) links jitd's store and sudoers code, to write
# databases and drop-ins exactly as jitd would.
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_JITD := $(B)/obj/jitd/store.o $(B)/obj/jitd/audit.o $(B)/obj/jitd/log.o $(B)/obj/jitd/sudoers.o
$(B)/bench/jitbench: $(BENCH_SRC) tests/bench/jitbench.h $(BENCH_JITD) $(B)/libjitcommon.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(JITD_CFLAGS) -Ijitd -pthread -pie $(LDHARDEN) -o $@ $(BENCH_SRC) $(BENCH_JITD) \
		$(B)/libjitcommon.a $(JITD_LIBS)

bench: deps
	@$(MAKE) --no-print-directory all $(B)/bench/jitbench
	@bash tests/bench.sh

# Everything `make install` puts in place, and where. The example config is
# installed only where no jitd.conf exists yet, and `make uninstall` removes
# it only while it is still the unchanged example: an admin's config is theirs.
MANPAGES    := $(wildcard man/*.1 man/*.5 man/*.8)
UNITS       := $(wildcard systemd/*.service systemd/*.socket)
COMPLETION  := contrib/jitctl.bash-completion
CONFDIR     := $(SYSCONFDIR)/jit

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability -Icommon -D_GNU_SOURCE \
		--suppress=missingIncludeSystem common jitd jitctl pam_jit
	mandoc -Tlint -W warning $(MANPAGES)
	shellcheck -S warning tests/*.sh tests/integration/*.sh .ci/run contrib/*.bash-completion

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(PAMDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR) $(DESTDIR)$(COMPLETIONDIR)
	install -m 0755 $(B)/jitd $(DESTDIR)$(SBINDIR)/jitd
	install -m 0755 $(B)/jitctl $(DESTDIR)$(BINDIR)/jitctl
	install -m 0644 $(B)/pam_jit.so $(DESTDIR)$(PAMDIR)/pam_jit.so
	for m in $(MANPAGES); do install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.}/; done
	for u in $(UNITS); do install -m 0644 $$u $(DESTDIR)$(UNITDIR)/; done
	install -m 0644 $(COMPLETION) $(DESTDIR)$(COMPLETIONDIR)/jitctl
	@if [ -e $(DESTDIR)$(CONFDIR)/jitd.conf ]; then \
		echo "keeping the existing $(DESTDIR)$(CONFDIR)/jitd.conf"; \
	else \
		echo "install -m 0644 jitd.conf.example $(DESTDIR)$(CONFDIR)/jitd.conf"; \
		install -m 0644 jitd.conf.example $(DESTDIR)$(CONFDIR)/jitd.conf; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/jitd $(DESTDIR)$(BINDIR)/jitctl $(DESTDIR)$(PAMDIR)/pam_jit.so
	for m in $(MANPAGES); do rm -f $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/}; done
	for u in $(notdir $(UNITS)); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	rm -f $(DESTDIR)$(COMPLETIONDIR)/jitctl
	@if cmp -s jitd.conf.example $(DESTDIR)$(CONFDIR)/jitd.conf; then \
		echo "rm -f $(DESTDIR)$(CONFDIR)/jitd.conf"; \
		rm -f $(DESTDIR)$(CONFDIR)/jitd.conf; \
	elif [ -e $(DESTDIR)$(CONFDIR)/jitd.conf ]; then \
		echo "keeping $(DESTDIR)$(CONFDIR)/jitd.conf: it is not the unchanged example"; \
	fi
	-rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true

clean:
	rm -rf $(B)

# ---- fuzzing ----------------------------------------------------------------
# libFuzzer harnesses, one per tests/fuzz/fuzz_*.c, built with clang and
# ASan+UBSan into build/fuzz/ (the library code is compiled again there, with
# the fuzzer's coverage instrumentation). Seeds and dictionaries live in
# tests/fuzz/<target>/; what a run learns goes to build/fuzz/corpus/<target>/
# and crashes to build/fuzz/crashes/<target>/ (never into the tree).
#   make fuzz          every target for FUZZ_SECONDS (default 600) each
#   make fuzz-quick    every target for FUZZ_QUICK_SECONDS (default 5) each
#   make fuzz-build    build only
#   make fuzz FUZZ_TARGETS="proto config"   a chosen few
FUZZ_CC            ?= clang
FUZZ_SECONDS       ?= 600
FUZZ_QUICK_SECONDS ?= 5
FUZZ_TARGETS       ?=
FB          := $(B)/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 $(WARN) -Wno-unused-function -Icommon -Ijitd -Ijitctl -Itests/fuzz \
               -DJIT_VERSION='"$(VERSION)"' $(JITD_CFLAGS) $(PQ_CFLAGS) -I$(B)/gen $(FUZZ_SAN)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN    := $(FUZZ_SRC:tests/fuzz/%.c=$(FB)/%)
FUZZ_LIBSRC := $(COMMON_SRC) $(filter-out jitd/main.c,$(JITD_SRC)) $(filter-out jitctl/main.c,$(JITCTL_SRC)) \
               tests/fuzz/fuzz.c
FUZZ_LIBOBJ := $(FUZZ_LIBSRC:%.c=$(FB)/obj/%.o)
FUZZ_LIBS   := $(JITD_LIBS) $(JITCTL_LIBS)

.PHONY: fuzz fuzz-quick fuzz-build
$(FB)/obj/%.o: %.c $(wildcard common/*.h jitd/*.h jitctl/*.h tests/fuzz/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FB)/obj/jitctl/fleet_schema.o: $(FLEET_SQL_H)

$(FB)/libjitfuzz.a: $(FUZZ_LIBOBJ)
	rm -f $@ && ar rcs $@ $^

# An archive: a harness that compiles a file in itself (fuzz_ticket_http.c
# includes jitd/ticket_worker.c for its static functions) does not get that file's
# object twice.
$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FB)/libjitfuzz.a $(wildcard tests/fuzz/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FB)/libjitfuzz.a $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-quick: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_QUICK_SECONDS) $(FUZZ_TARGETS)
# ---- end of fuzzing ---------------------------------------------------------

# ---- Debian package and the real-systemd stories ---------------------------
# make deb            build/deb/pam-jit_<version>_<arch>.deb, built by
#                     dpkg-buildpackage from a copy of this tree (so that its
#                     clean step leaves build/ alone), then checked by lintian.
# make check-systemd  boot Debian 12 with a real systemd PID 1 in a container
#                     (debootstrap + systemd-nspawn, root fs cached under
#                     /var/cache/jit-systemd-test), install that package there
#                     and play tests/systemd/stories.sh. JIT_SKIP_SYSTEMD=1
#                     skips the same stories in `make check`.
UNITS   += $(wildcard systemd/*.timer)
DEB_OUT := $(B)/deb

.PHONY: deb check-systemd
deb:
	@bash tests/systemd/deps.sh deb
	rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/src
	tar -C . --exclude=./build --exclude=./.git -cf - . | tar -C $(DEB_OUT)/src -xf -
	cd $(DEB_OUT)/src && DEB_BUILD_OPTIONS="parallel=$$(nproc)" dpkg-buildpackage -us -uc -b
	lintian --fail-on error,warning \
		$(DEB_OUT)/*.changes
	@ls -1 $(DEB_OUT)/*.deb

check-systemd: deb
	@bash tests/systemd/deps.sh systemd
	@bash tests/systemd/run.sh $(DEB_OUT)

# The package's maintainer scripts and the container stories, in `make lint`.
.PHONY: lint-systemd
lint: lint-systemd
lint-systemd:
	shellcheck -S warning tests/systemd/*.sh debian/postinst debian/prerm debian/postrm
