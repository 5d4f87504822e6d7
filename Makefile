# shoal - handwritten Makefile (see README.md)
CC ?= cc
PKGS = libgit2 yaml-0.1 libcurl jansson libsodium libmicrohttpd
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wwrite-strings -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE
CPPFLAGS += $(shell pkg-config --cflags $(PKGS))
LDLIBS += $(shell pkg-config --libs $(PKGS)) -lm -lpthread

LIB_OBJS = reconcile/util.o reconcile/envfile.o reconcile/ynode.o reconcile/interp.o reconcile/compose.o reconcile/compose_schema.o reconcile/compose_normalize.o reconcile/compose_merge.o \
	   reconcile/objdata.o reconcile/convert.o reconcile/docker.o reconcile/snapshot.o reconcile/plan.o reconcile/apply.o \
	   reconcile/uhttp.o reconcile/repo.o reconcile/source.o reconcile/review.o reconcile/regauth.o reconcile/scrub.o reconcile/resolve.o reconcile/sync.o reconcile/log.o reconcile/waves.o reconcile/rollout.o reconcile/tasks.o secrets/seal.o \
	   forge/forge.o forge/http.o forge/ci.o
CLI_OBJS = cli/main.o cli/review_cmd.o cli/help.o
BOOT_OBJS = bootstrap/inventory.o bootstrap/render.o bootstrap/atomic.o bootstrap/netns.o \
	    bootstrap/bootstrap.o bootstrap/bootswarm.o
AGENT_OBJS = $(CLI_OBJS) agent/gitverify.o agent/agent.o agent/cycle.o agent/gitsrc.o agent/lease.o agent/notify.o \
	     agent/history.o agent/common.o agent/knownhosts.o $(BOOT_OBJS)
# The agent's long-lived process: HTTP, timers, state; no Git, TLS or YAML.
AGENTD_OBJS = agent/agentd.o agent/webhook.o agent/common.o agent/knownhosts.o reconcile/util.o reconcile/log.o reconcile/regauth.o reconcile/scrub.o secrets/seal.o
AGENTD_PKGS = jansson libsodium libmicrohttpd
UNIT_TESTS = tests/unit/test_interp tests/unit/test_compose tests/unit/test_diff tests/unit/test_seal tests/unit/test_knownhosts tests/unit/test_regauth tests/unit/test_inventory tests/unit/test_bootfiles tests/unit/test_webhook tests/unit/test_uhttp tests/unit/test_secrepo tests/unit/test_scrub tests/unit/test_sealed tests/unit/test_review tests/unit/test_forge tests/unit/test_log tests/unit/test_waves

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

all: shoal shoal-agentd shoal.1

# shoal loads libgit2 and libcurl on first use (agent/lazylib.c): not
# linked, so that a command that needs neither starts without ~35 libraries.
SHOAL_LIBS = $(shell pkg-config --libs yaml-0.1 jansson libsodium) -ldl -lm -lpthread
soname = $(shell objdump -p "$$(pkg-config --variable=libdir $(1))/$(2)" | sed -n 's/^ *SONAME *//p')
agent/lazylib.o: CPPFLAGS += -DLIBGIT2_SONAME='"$(call soname,libgit2,libgit2.so)"' \
	-DLIBCURL_SONAME='"$(call soname,libcurl,libcurl.so)"'

shoal: $(AGENT_OBJS) agent/lazylib.o $(LIB_OBJS) | shoal-agentd
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $(AGENT_OBJS) agent/lazylib.o $(LIB_OBJS) $(SHOAL_LIBS)

# The manual page comes from the same table as --help (cli/help.c).
shoal.1: shoal
	./shoal help --man > $@.tmp && mv $@.tmp $@

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 shoal shoal-agentd $(DESTDIR)$(BINDIR)/
	install -m 644 shoal.1 $(DESTDIR)$(MANDIR)/man1/shoal.1

shoal-agentd: $(AGENTD_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(shell pkg-config --libs $(AGENTD_PKGS)) -lm -lpthread

%.o: %.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

tests/unit/%.o: CPPFLAGS += -DTOP='"$(CURDIR)"'
tests/unit/%: tests/unit/%.o $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

tests/unit/test_knownhosts: agent/knownhosts.o
tests/unit/test_webhook: agent/webhook.o
tests/unit/test_inventory: bootstrap/inventory.o
tests/unit/test_bootfiles: bootstrap/inventory.o bootstrap/render.o bootstrap/atomic.o

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do ./$$t; done

# Everything: the Debian packages it needs (tests/deps), unit tests, a short
# fuzzing run, then the real-engine lab tests.  SKIP=name,... skips lab
# scenarios (t-NAME.sh) or fuzz by name; nothing else is ever skipped.
test:
	tests/deps test
	$(MAKE) --no-print-directory all unit fuzz-smoke
	tests/run-lab-tests

lab-test: all
	tests/run-lab-tests

# The seed articles' whole environment in namespaces, left running until
# lab-down (tests/lab-env; README.md, "The articles' environment").
lab-up:
	tests/deps test
	$(MAKE) --no-print-directory all
	tests/lab-env up

lab-down:
	tests/lab-env down

asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" unit shoal

valgrind: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite ./$$t; done

demo:
	tests/deps demo
	$(MAKE) --no-print-directory all
	tests/demo

# libFuzzer targets (clang, ASan + UBSan), built apart in tests/fuzz/build.
# `make fuzz-run FUZZ_SECONDS=600` fuzzes each target that long from seeds
# taken from tests/ (tests/fuzz/run); fuzz-smoke is the short run of make test.
FUZZ_CC ?= clang
FUZZ_TARGETS = tests/fuzz/build/fuzz_compose tests/fuzz/build/fuzz_seal \
	       tests/fuzz/build/fuzz_webhook tests/fuzz/build/fuzz_engine \
	       tests/fuzz/build/fuzz_http tests/fuzz/build/fuzz_inventory
FUZZ_CFLAGS = -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined -std=gnu11 $(WARN) -D_GNU_SOURCE -DTOP='"$(CURDIR)"'
FUZZ_SAN = address,undefined
FUZZ_LIB = $(patsubst %.o,tests/fuzz/build/%.o,$(LIB_OBJS) agent/webhook.o bootstrap/inventory.o bootstrap/render.o)
FUZZ_SECONDS ?= 60

tests/fuzz/build/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP -c -o $@ $<

tests/fuzz/build/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -o $@ $^ $(LDLIBS)

fuzz: $(FUZZ_TARGETS)

fuzz-run: fuzz
	tests/fuzz/run $(FUZZ_SECONDS)

fuzz-smoke:
	@case " $$(echo "$$SKIP" | tr , ' ') " in *" fuzz "*) echo "SKIP fuzz-smoke (SKIP=$$SKIP): fuzzing NOT RUN"; exit 0 ;; esac; \
	command -v $(FUZZ_CC) >/dev/null || { echo "fuzz-smoke: $(FUZZ_CC) missing (tests/deps test installs it; SKIP=fuzz skips)"; exit 1; }; \
	$(MAKE) --no-print-directory fuzz && tests/fuzz/run 20

# Measurements against a lab engine, as markdown (see BENCHMARKS.md).
bench:
	tests/deps test
	$(MAKE) --no-print-directory shoal
	tests/bench/run

clean:
	rm -rf tests/fuzz/build
	rm -f shoal shoal-agentd shoal.1 shoal.1.tmp agent/*.o agent/*.d cli/*.o cli/*.d bootstrap/*.o bootstrap/*.d reconcile/*.o reconcile/*.d secrets/*.o secrets/*.d forge/*.o forge/*.d tests/unit/*.o tests/unit/*.d $(UNIT_TESTS)

.PHONY: all install unit test lab-test lab-up lab-down asan valgrind demo bench clean fuzz fuzz-run fuzz-smoke
.SECONDARY:
-include $(wildcard agent/*.d cli/*.d bootstrap/*.d reconcile/*.d secrets/*.d forge/*.d tests/unit/*.d tests/fuzz/build/*/*.d)
