# Makefile: builds libmeshsync (static and shared), meshsync.pc and meshctl into build/,
# runs the tests, the fuzzers, the benchmarks and the demo. Plain make, out of tree.
# Targets: all testing test asan-test tsan-test valgrind-test fuzz bench bench-files examples demo install uninstall format
#          check-format check-layers clean
# The version is the header's (MESH_VERSION_MAJOR/MINOR/PATCH, what mesh_version() says), so
# the two never differ. SOVERSION is the ABI's number, the soname's libmeshsync.so.N: raised
# on each break of the ABI (0.2's opaque result lists made it 1), never lowered; it is not
# the release's major while that is 0.
VERSION   := $(shell sed -n 's/^\#define MESH_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' \
               include/meshsync.h | paste -sd. -)
SOVERSION := 1
PREFIX    ?= /usr/local
DESTDIR   ?=
B         ?= build
# Build variants. $(B) (build/) is the release build: what `make install` ships, with no test
# hook in it (tests/check-release.sh). $(B)/testing/ is the test build of the same sources,
# compiled with -DMESH_TESTING, which compiles in the hooks of core/base/testhook.h: its own
# libmeshsync.a and meshctl, and the only home of the unit tests and fuzz replays. The
# integration tests run the release meshctl, and the test build's only where they set a
# hook. A build directory named testing is always a test build.
TB        := $(B)/testing
TESTING   := $(if $(filter testing %/testing,$(B)),1)

CC      ?= cc
PKGS    := libsodium libzmq lmdb msgpack
# Evaluated once, on first use (after scripts/deps.sh has run).
PKG_CFLAGS = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS)))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS)) -pthread)$(PKG_LIBS)
CMOCKA     = $(eval CMOCKA := $(shell pkg-config --cflags --libs cmocka))$(CMOCKA)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
           -Wvla -Wundef -Wpointer-arith
OPT     ?= -O2 -g
CFLAGS  ?=
CFLAGS_ALL = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(if $(TESTING),-DMESH_TESTING) \
             $(WARN) $(OPT) $(EXTRA_CFLAGS) -Iinclude -I. $(PKG_CFLAGS) $(CFLAGS)
LIB_CFLAGS = $(CFLAGS_ALL) -fvisibility=hidden -fPIC

LIB_SRC  := $(wildcard core/*.c core/*/*.c transport/*.c crypto/*.c store/*.c fs/*.c)
CLI_SRC  := $(wildcard cli/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
BENCH_SRC:= $(wildcard tests/bench/bench_*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/replay_%)
BENCH_BIN  := $(BENCH_SRC:tests/bench/%.c=$(B)/tests/%)

.PHONY: all deps deps-test testing testing-bins test asan-test tsan-test valgrind-test fuzz bench examples bench-files \
        demo install uninstall format check-format check-layers clean test-bins

all: $(B)/libmeshsync.a $(B)/libmeshsync.so $(B)/meshsync.pc $(B)/meshctl

deps:
	@scripts/deps.sh build
deps-test:
	@scripts/deps.sh test

$(B)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -MMD -MP -c $< -o $@

$(B)/libmeshsync.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(B)/libmeshsync.so: $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libmeshsync.so.$(SOVERSION) $(EXTRA_CFLAGS) -o $(B)/libmeshsync.so.$(VERSION) $^ $(PKG_LIBS)
	ln -sf libmeshsync.so.$(VERSION) $(B)/libmeshsync.so.$(SOVERSION)
	ln -sf libmeshsync.so.$(VERSION) $@

$(B)/meshsync.pc: meshsync.pc.in Makefile
	@mkdir -p $(B)
	$(PC_SUBST) $< > $@

$(B)/meshctl: $(CLI_OBJ) $(B)/libmeshsync.a
	$(CC) $(EXTRA_CFLAGS) -o $@ $(CLI_OBJ) $(B)/libmeshsync.a $(PKG_LIBS)

# tests/unit/util.c: helpers shared by the unit tests, linked into each of them; model.c:
# the in-process model engine of test_model and test_model_members (linked into each too).
UNIT_UTIL     := $(B)/tests/unit/util.o $(B)/tests/unit/model.o
CMOCKA_CFLAGS  = $(eval CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka))$(CMOCKA_CFLAGS)

$(UNIT_UTIL): $(B)/tests/unit/%.o: tests/unit/%.c | deps deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(CMOCKA_CFLAGS) -MMD -MP -c $< -o $@

$(B)/tests/test_%: tests/unit/test_%.c $(UNIT_UTIL) $(B)/libmeshsync.a | deps deps-test
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(UNIT_UTIL) $(B)/libmeshsync.a $(PKG_LIBS) $(CMOCKA)

# tests/fuzz/rig.c: the nodes and store checks of the stateful targets, linked into each.
FUZZ_COMMON := tests/fuzz/check.c tests/fuzz/rig.c
$(B)/tests/replay_%: tests/fuzz/%.c tests/fuzz/replay.c $(FUZZ_COMMON) tests/fuzz/check.h \
                     tests/fuzz/rig.h $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< tests/fuzz/replay.c $(FUZZ_COMMON) \
	    $(B)/libmeshsync.a $(PKG_LIBS)

$(B)/tests/bench_%: tests/bench/bench_%.c tests/bench/common.c tests/bench/common.h \
                    $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< tests/bench/common.c $(B)/libmeshsync.a \
	    $(PKG_LIBS)

# tests/tools/forge: signs a set of the caller's choosing (the integration tests' lying member).
$(B)/tests/forge: tests/tools/forge.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

# tests/tools/frames: a member that sends the worst BATCH frames it can (tests/integration/33).
$(B)/tests/frames: tests/tools/frames.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

# testing: the test build in $(TB), by a make of its own there; testing-bins is what that
# make builds (run it only with B naming a testing directory).
testing:
	@$(MAKE) --no-print-directory B=$(TB) testing-bins
# tests/tools/unstore: deletes an item behind its vector's back (the slow path's tests).
$(B)/tests/unstore: tests/tools/unstore.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

# tests/tools/extloop: an app that drives a node from its own poll loop (public API only).
$(B)/tests/extloop: tests/tools/extloop.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

# tests/tools/ctlsend: a client of the control socket that sends what meshctl never would.
$(B)/tests/ctlsend: tests/tools/ctlsend.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

# tests/tools/chat: presence and messages from the command line, an application of the
# public API alone (tests/integration/76 and 77).
$(B)/tests/chat: tests/tools/chat.c $(B)/libmeshsync.a | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(B)/libmeshsync.a $(PKG_LIBS)

testing-bins: $(B)/libmeshsync.a $(B)/meshctl $(UNIT_BIN) $(REPLAY_BIN) $(B)/tests/forge \
              $(B)/tests/frames $(B)/tests/unstore $(B)/tests/extloop \
              $(B)/tests/ctlsend $(B)/tests/chat

# Both variants: the release build and the test build (with the unit tests and replays).
test-bins: all testing

test: deps deps-test
	@$(MAKE) --no-print-directory test-bins
	@B=$(B) tests/run.sh

asan-test: deps deps-test
	@$(MAKE) --no-print-directory B=build-asan OPT="-O1 -g" \
	    EXTRA_CFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test-bins
	@B=build-asan ASAN_OPTIONS=detect_leaks=1 tests/run.sh

# ThreadSanitizer: the unit tests and every integration test (daemons included) with no report
# (tests/run.sh fails a test on any report; tests/tsan.supp says what is not ours).
tsan-test: deps deps-test
	@scripts/deps.sh tsan
	@$(MAKE) --no-print-directory B=build-tsan OPT="-O1 -g" \
	    EXTRA_CFLAGS="-fsanitize=thread -fno-omit-frame-pointer" test-bins
	@B=build-tsan TSAN=1 tests/run.sh

valgrind-test: deps deps-test
	@$(MAKE) --no-print-directory test-bins
	@B=$(B) VALGRIND=1 tests/run.sh unit

# The stateful targets run with -entropic=0: with their ~30,000 features libFuzzer's entropic
# bookkeeping took most of each run (tests/fuzz/README). FUZZ_FLAGS: more libFuzzer flags.
fuzz: deps
	@scripts/deps.sh fuzz
	@mkdir -p build-fuzz
	@for f in $(if $(FUZZ_ONLY),tests/fuzz/fuzz_$(FUZZ_ONLY).c,$(FUZZ_SRC)); do n=$$(basename $$f .c); \
	  echo "clang $$n"; \
	  clang -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -Iinclude -I. \
	    -fsanitize=fuzzer,address,undefined $$f $(FUZZ_COMMON) $(LIB_SRC) -o build-fuzz/$$n \
	    $(PKG_LIBS) || exit 1; \
	  c=tests/fuzz/corpus/$${n#fuzz_}; mkdir -p build-fuzz/corpus-$$n; \
	  build-fuzz/$$n -max_total_time=$${FUZZ_SECONDS:-60} $$(case $$n in fuzz_apply|fuzz_session) \
	    echo -entropic=0;; esac) $(FUZZ_FLAGS) build-fuzz/corpus-$$n $$c || exit 1; done

# tests/bench/baseline.c: the raw LMDB and raw ZeroMQ CURVE baselines of bench_sync.sh (not a
# bench_* program, so the loop below does not run it on its own).
$(B)/tests/baseline: tests/bench/baseline.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -o $@ $< $(PKG_LIBS)

bench: all $(BENCH_BIN) $(B)/tests/baseline
	@for b in $(BENCH_BIN); do $$b || exit 1; done
	@MESHCTL=$(CURDIR)/$(B)/meshctl BASELINE=$(CURDIR)/$(B)/tests/baseline tests/bench/bench_sync.sh
	@MESHCTL=$(CURDIR)/$(B)/meshctl tests/bench/bench_remove.sh 3

# bench-files: folder sync beside Syncthing, the floor and both in one run (tests/bench/files.sh,
# the shared harness ../shared/bench/run.sh; not in make test or make bench). BENCH_REPS=N.
bench-files: all
	@scripts/deps.sh bench-files
	@MESHCTL=$(CURDIR)/$(B)/meshctl tests/bench/files.sh $(BENCH_REPS)

# make examples: docs/examples/*.c, each a complete program, built against the INSTALLED
# library through pkg-config (set PKG_CONFIG_PATH, and PKG_CONFIG_SYSROOT_DIR for a DESTDIR
# install) into $(B)/examples/ (tests/integration/82-examples.sh).
EXAMPLES := $(wildcard docs/examples/*.c)
examples:
	@command -v pkg-config >/dev/null || { echo "make examples: no pkg-config"; exit 1; }
	@pkg-config --exists meshsync || { echo "make examples: pkg-config finds no meshsync (make install first, or set PKG_CONFIG_PATH)"; exit 1; }
	@mkdir -p $(B)/examples
	@for c in $(EXAMPLES); do n=$$(basename $$c .c); echo "cc $$c -> $(B)/examples/$$n"; \
	    $(CC) -Wall -Wextra -Werror -o $(B)/examples/$$n $$c $$(pkg-config --cflags --libs meshsync) || exit 1; \
	done

demo: all
	@scripts/demo.sh $(B)/meshctl

# ---- Install (make install / make uninstall) ----
# Installs what `all` built in $(B), the release build: the test build (-DMESH_TESTING) is
# never installed. Every directory can be set on the command line (Debian: LIBDIR=
# $(PREFIX)/lib/x86_64-linux-gnu); the systemd units and the sysusers.d file go where
# systemd looks under PREFIX (/usr/local/lib/systemd/system is on its search path).
BINDIR         ?= $(PREFIX)/bin
LIBDIR         ?= $(PREFIX)/lib
INCLUDEDIR     ?= $(PREFIX)/include
MANDIR         ?= $(PREFIX)/share/man
BASHCOMPDIR    ?= $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSTEMDUSERDIR ?= $(PREFIX)/lib/systemd/user
SYSUSERSDIR    ?= $(PREFIX)/lib/sysusers.d
# dist/*.in, as installed: the paths of this install written in (at install time, so that
# each install writes its own PREFIX).
DIST_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
                 -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
                 -e 's|@VERSION@|$(VERSION)|g'
# meshsync.pc: directories under PREFIX written relative to ${prefix}, so that pkg-config
# --define-prefix can move the tree.
PC_SUBST = sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
               -e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
               -e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g'

ifneq ($(TESTING),)
install:
	@echo "make install: $(B) is a test build (-DMESH_TESTING): install the release build"; exit 1
else
install: all
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(BASHCOMPDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSTEMDUSERDIR) $(DESTDIR)$(SYSUSERSDIR)
	install -m 0644 $(B)/libmeshsync.a $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(B)/libmeshsync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libmeshsync.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libmeshsync.so.$(SOVERSION)
	ln -sf libmeshsync.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmeshsync.so
	$(PC_SUBST) meshsync.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/meshsync.pc
	chmod 0644 $(DESTDIR)$(LIBDIR)/pkgconfig/meshsync.pc
	install -m 0644 include/meshsync.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 0755 $(B)/meshctl $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/meshctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/meshsync.3 $(DESTDIR)$(MANDIR)/man3/
	install -m 0644 dist/bash-completion/meshctl $(DESTDIR)$(BASHCOMPDIR)/meshctl
	$(DIST_SUBST) dist/systemd/meshsync.service.in > $(DESTDIR)$(SYSTEMDUNITDIR)/meshsync.service
	$(DIST_SUBST) dist/systemd/user/meshsync.service.in > $(DESTDIR)$(SYSTEMDUSERDIR)/meshsync.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/meshsync.service $(DESTDIR)$(SYSTEMDUSERDIR)/meshsync.service
	install -m 0644 dist/systemd/meshsync.sysusers $(DESTDIR)$(SYSUSERSDIR)/meshsync.conf
endif

# Removes every file install made (not the directories, which others may share, and never a
# home: the system unit's /var/lib/meshsync stays).
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libmeshsync.a $(DESTDIR)$(LIBDIR)/libmeshsync.so \
	    $(DESTDIR)$(LIBDIR)/libmeshsync.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libmeshsync.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/meshsync.pc $(DESTDIR)$(INCLUDEDIR)/meshsync.h \
	    $(DESTDIR)$(BINDIR)/meshctl $(DESTDIR)$(MANDIR)/man1/meshctl.1 \
	    $(DESTDIR)$(MANDIR)/man3/meshsync.3 $(DESTDIR)$(BASHCOMPDIR)/meshctl \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/meshsync.service $(DESTDIR)$(SYSTEMDUSERDIR)/meshsync.service \
	    $(DESTDIR)$(SYSUSERSDIR)/meshsync.conf
# ---- end of install ----

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(wildcard */*.h core/*/*.h include/*.h)

check-format:
	clang-format --dry-run --Werror $(LIB_SRC) $(CLI_SRC) $(wildcard */*.h core/*/*.h include/*.h)

check-layers:
	@tests/check-layers.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz

-include $(wildcard $(B)/*/*.d $(B)/core/*/*.d $(B)/tests/*.d $(B)/tests/unit/*.d)
