# shoal - handwritten Makefile (see README.md)
CC ?= cc
PKGS = libgit2 yaml-0.1 libcurl jansson libsodium libmicrohttpd
WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wwrite-strings -Wvla -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
override CFLAGS += -std=gnu11 $(WARN) -D_GNU_SOURCE
CPPFLAGS += $(shell pkg-config --cflags $(PKGS))
LDLIBS += $(shell pkg-config --libs $(PKGS)) -lm -lpthread

LIB_OBJS = reconcile/util.o reconcile/ynode.o reconcile/interp.o reconcile/compose.o \
	   reconcile/convert.o reconcile/docker.o reconcile/plan.o reconcile/apply.o \
	   reconcile/repo.o reconcile/source.o reconcile/review.o reconcile/regauth.o secrets/seal.o
AGENT_OBJS = agent/main.o agent/gitverify.o agent/agent.o agent/common.o agent/knownhosts.o \
	     agent/inventory.o agent/bootstrap.o agent/bootswarm.o
# The agent's long-lived process: HTTP, timers, state; no Git, TLS or YAML.
AGENTD_OBJS = agent/agentd.o agent/common.o agent/knownhosts.o reconcile/util.o reconcile/regauth.o secrets/seal.o
AGENTD_PKGS = jansson libsodium libmicrohttpd
UNIT_TESTS = tests/unit/test_interp tests/unit/test_compose tests/unit/test_diff tests/unit/test_seal tests/unit/test_knownhosts tests/unit/test_regauth tests/unit/test_inventory

all: shoal shoal-agentd

shoal: $(AGENT_OBJS) $(LIB_OBJS) | shoal-agentd
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(AGENT_OBJS) $(LIB_OBJS) $(LDLIBS)

shoal-agentd: $(AGENTD_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -Wl,--as-needed -o $@ $^ $(shell pkg-config --libs $(AGENTD_PKGS)) -lm -lpthread

%.o: %.c
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

tests/unit/%.o: CPPFLAGS += -DTOP='"$(CURDIR)"'
tests/unit/%: tests/unit/%.o $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

tests/unit/test_knownhosts: agent/knownhosts.o
tests/unit/test_inventory: agent/inventory.o

unit: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do ./$$t; done

# Everything: unit tests, then the real-engine lab tests.
test: all unit
	tests/run-lab-tests

lab-test: all
	tests/run-lab-tests

asan:
	$(MAKE) clean
	$(MAKE) CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" unit shoal

valgrind: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite ./$$t; done

demo: all
	tests/demo

# Measurements against a lab engine, as markdown (see BENCHMARKS.md).
bench: shoal
	tests/bench/run

clean:
	rm -f shoal shoal-agentd agent/*.o agent/*.d reconcile/*.o reconcile/*.d secrets/*.o secrets/*.d tests/unit/*.o tests/unit/*.d $(UNIT_TESTS)

.PHONY: all unit test lab-test asan valgrind demo bench clean
.SECONDARY:
-include $(wildcard agent/*.d reconcile/*.d secrets/*.d tests/unit/*.d)
