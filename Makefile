# tcpdwell build. `make` builds build/tcpdwell; `make run` and `make test` first
# install what a new Debian machine lacks (`make deps`). V=1 shows commands.

OUTPUT ?= build
PREFIX ?= /usr/local
DESTDIR ?=
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VERSION := 0.1.0

CLANG ?= clang
CC ?= cc
BPFTOOL ?= bpftool
VMLINUX := vmlinux/$(ARCH)/vmlinux.h

# Debian packages the build and the tests need (`make deps` installs the missing ones).
DEB_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libcmocka-dev pkg-config \
	jq iproute2 libcap2-bin procps make gcc libncurses-dev libmicrohttpd-dev tmux curl valgrind \
	libclang-rt-dev strace nftables

SANITIZE ?=
# user/ shows the pipeline: kernel/ (the tracer, the slot-ring merge, the socket dump, the
# timewait lookups), core/ (the connection table, filters, states, statistics, the recording
# format), views/ (one file per command's view and what renders it), and at the top the
# pipeline, the sources and the command line.
USER_DIRS := user user/core user/kernel user/views
TD_INCLUDES := -I. $(patsubst %,-I%,$(USER_DIRS))
# $(call src,MODULES): the source file of each module, wherever in user/ it is.
src = $(foreach m,$(1),$(firstword $(wildcard $(patsubst %,%/$(m).c,$(USER_DIRS)))))
CFLAGS ?= -g -O2
TD_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-D_GNU_SOURCE -DTD_VERSION='"$(VERSION)"' -I$(OUTPUT) $(TD_INCLUDES) -MMD -MP
ifeq ($(SANITIZE),1)
TD_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
OUTPUT := build/san
endif
LIBS := -lbpf -lelf -lz -lncursesw -lmicrohttpd -lpthread

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.PHONY: all deps run test unit model integration fuzz fuzz-corpus bench vmtest valgrind clean \
	install format soak

# Modules without I/O of their own (unit-tested without root).
CORE := state fmt cli filter names conntable stats output metrics record perfetto pair doctor \
	cpumerge cgpath
# Modules at the edges (kernel, files, terminal), and the pipeline with its views (user/views/).
# seed, twdiag and top keep a pure part (tested without root) beside their I/O.
EDGE := tracer seed twdiag cgroups outfile top serve privdrop app live replay main
VIEWS := view_trace view_timeline view_stat view_top view_doctor view_serve view_record
CORE_OBJS := $(patsubst %,$(OUTPUT)/%.o,$(CORE))
EDGE_OBJS := $(patsubst %,$(OUTPUT)/%.o,$(EDGE) $(VIEWS))
# What tests, the fuzzing corpus and the bench share, never linked into tcpdwell: tests/lib/.
TESTLIB := synth fixture
TESTLIB_OBJS := $(patsubst %,$(OUTPUT)/tests/lib/%.o,$(TESTLIB))
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
INTEG_BINS := $(patsubst tests/integration/%.c,$(OUTPUT)/tests/%,$(wildcard tests/integration/*.c))

all: $(OUTPUT)/tcpdwell

$(OUTPUT) $(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/tcpdwell.bpf.o: bpf/tcpdwell.bpf.c bpf/tcpdwell.h $(wildcard bpf/*.bpf.h) $(VMLINUX) \
		| $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf \
		-c $< -o $@
	$(Q)llvm-strip -g $@

$(OUTPUT)/tcpdwell.skel.h: $(OUTPUT)/tcpdwell.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tcpdwell_bpf > $@

$(OUTPUT)/tracer.o: $(OUTPUT)/tcpdwell.skel.h

$(OUTPUT)/%.o: user/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -c $< -o $@

$(OUTPUT)/%.o: user/core/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -c $< -o $@

$(OUTPUT)/%.o: user/kernel/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -c $< -o $@

$(OUTPUT)/%.o: user/views/%.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -c $< -o $@

$(OUTPUT)/tcpdwell: $(CORE_OBJS) $(EDGE_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

$(OUTPUT)/tests/lib/%.o: tests/lib/%.c
	$(Q)mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -Itests/lib -c $< -o $@

# Each unit test links its module and what that module includes, nothing else, so that a
# module that starts to depend on another shows here first. Only top's test needs ncurses.
TEST_LINK_cgpath := cgpath
TEST_LINK_cli := cli state
TEST_LINK_conntable := conntable state names cgpath
TEST_LINK_cpumerge := cpumerge
TEST_LINK_doctor := cli conntable doctor fmt record state stats fixture names cgpath
TEST_LINK_filter := cli conntable filter state fixture names cgpath
TEST_LINK_fmt := conntable fmt names cgpath
TEST_LINK_names := names cgpath
TEST_LINK_metrics := conntable metrics state fixture names cgpath
TEST_LINK_outfile := outfile
TEST_LINK_output := conntable fmt outfile output pair perfetto state stats fixture names cgpath
TEST_LINK_pair := conntable fmt outfile output pair perfetto state stats names cgpath
TEST_LINK_perfetto := conntable fmt perfetto state fixture names cgpath
TEST_LINK_record := conntable record synth names cgpath
TEST_LINK_sat :=
TEST_LINK_seed := conntable seed names cgpath
TEST_LINK_slotmodel := cpumerge
TEST_LINK_state := state
TEST_LINK_stats := stats
TEST_LINK_top := conntable fmt state top names cgpath
TEST_LINK_twdiag := conntable seed twdiag names cgpath
test_objs = $(patsubst %,$(OUTPUT)/%.o,$(filter-out $(TESTLIB),$(TEST_LINK_$(1)))) \
	$(patsubst %,$(OUTPUT)/tests/lib/%.o,$(filter $(TESTLIB),$(TEST_LINK_$(1))))

.SECONDEXPANSION:
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $$(call test_objs,$$*) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -Itests/lib -Wno-unused-parameter $< \
		$(call test_objs,$*) $(LDFLAGS) -lcmocka -lm \
		$(if $(filter top,$(TEST_LINK_$*)),-lncursesw) -o $@

# The recording dumper links the recording reader (the evidence a failing test keeps).
$(OUTPUT)/tests/tdrdump: tests/integration/tdrdump.c $(OUTPUT)/record.o $(OUTPUT)/state.o \
		$(OUTPUT)/conntable.o $(OUTPUT)/names.o $(OUTPUT)/cgpath.o \
		| $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) $^ $(LDFLAGS) -o $@

$(OUTPUT)/tests/%: tests/integration/%.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) $< $(LDFLAGS) -lpthread -o $@

# Install the Debian packages that are missing; say which.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || \
			missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

run: deps
	$(MAKE) --no-print-directory all
	./$(OUTPUT)/tcpdwell $(ARGS)

unit: $(UNIT_TESTS)
	@set -e; pass=0; fail=0; for t in $(UNIT_TESTS); do \
		if $$t; then pass=$$((pass+1)); else fail=$$((fail+1)); echo "FAILED: $$t"; fi; \
	done; echo "unit: $$pass passed, $$fail failed"; [ $$fail = 0 ]

# The slot rings' model test (tests/unit/test_slotmodel.c: producer threads, the real reader)
# again under ThreadSanitizer, which checks the orderings of the producers' and the reader's
# atomics that x86 gives for free; without its signals, which ThreadSanitizer delays. clang's
# runtime (libclang-rt-dev). About 10 s on two cores.
$(OUTPUT)/tests/tsan_slotmodel: tests/unit/test_slotmodel.c tests/unit/slotmodel.h \
		user/kernel/cpumerge.c user/kernel/cpumerge.h bpf/tcpdwell.h | $(OUTPUT)/tests
	$(call msg,TSAN-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=thread -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		-D_GNU_SOURCE -DTD_MODEL_NO_SIGNALS $(TD_INCLUDES) tests/unit/test_slotmodel.c \
		user/kernel/cpumerge.c \
		-lcmocka -lpthread -o $@
model: $(OUTPUT)/tests/tsan_slotmodel
	$(Q)TSAN_OPTIONS=halt_on_error=1 $<
# Real BPF on real sockets: needs root. Each script prints "NAME: N passed, M failed".
# The one slow test, TIME_WAIT expiring by itself (about 65 s), is tw_expire.sh here (IPv4 and
# IPv6, close() and shutdown()); run.sh's shorter expiry check runs in the VMs (make vmtest).
# kernel_paths.sh runs its tests on every kernel path; the scenario suite runs again on the
# other paths (TD_EXTRA_ARGS), on the scenarios each path could get wrong: without cookies the
# classic tracepoints must keep both sides, children and a reused tuple apart; the one ring
# buffer and the perf buffer must keep order and dwell.
INTEG_SCRIPTS := run replay files hostile prometheus serve_hostile deploy top_tmux scenarios \
	views doctor accept conninfo rst pods tw_expire tw_diag pressure \
	kernel_paths privdrop reconcile
INTEG_PATHS := "--backend tracepoint|(client-first|server-first|tw-reuse|prefork|refused)-." \
	"--buffer ring|(server-first|cw-hold|tw-reuse)-." \
	"--buffer perf|(server-first|cw-hold|tw-reuse)-."
integration: $(OUTPUT)/tcpdwell $(INTEG_BINS) $(OUTPUT)/storm $(OUTPUT)/mkrecording
	@fail=0; for s in $(INTEG_SCRIPTS); do \
		TD_SKIP_SLOW=1 OUTPUT=$(OUTPUT) bash tests/integration/$$s.sh || fail=1; \
	done; for p in $(INTEG_PATHS); do \
		echo "# scenarios.sh --only '$${p#*|}' with TD_EXTRA_ARGS=\"$${p%%|*}\""; \
		OUTPUT=$(OUTPUT) TD_EXTRA_ARGS="$${p%%|*}" bash tests/integration/scenarios.sh \
			--only "$${p#*|}" || fail=1; \
	done; [ $$fail = 0 ]

# The differential soak (root, about 15 minutes): a million loopback connections, IPv4 and IPv6,
# in every close order, under a storm and CPU hogs, traced at once by the slot rings, the ring
# buffer, the perf buffer, the classic tracepoint and a recording; per connection the same
# transitions on every path, every chain whole, every difference covered by a counted loss;
# then the classic tracepoint alone, its chains by tuple and order. SOAK_ARGS: -n N, -s SEED,
# --keep, --short (30,000 connections, about a minute), --ftrace (tests/integration/soak.sh).
# Not part of `make integration` (docs/TESTING.md says what it found and where it stands).
soak: $(OUTPUT)/tcpdwell $(INTEG_BINS) $(OUTPUT)/storm
	OUTPUT=$(OUTPUT) bash tests/integration/soak.sh $(SOAK_ARGS)

# Everything, kernels included: the Debian 6.1 and 6.12 kernels under qemu (make vmtest) run
# check, the smoke test and the integration suites too (about 13 minutes without KVM).
# SANITIZE=1 leaves the kernels out: ASan and UBSan check tcpdwell's own user-space code, which
# runs the same on every kernel, and the VMs would double the time.
test: deps
	$(MAKE) --no-print-directory all unit model
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory integration
ifneq ($(SANITIZE),1)
	$(MAKE) --no-print-directory vmtest
endif

# libFuzzer targets with ASan and UBSan, each for FUZZ_TIME seconds from its seed corpus
# (copied into $(OUTPUT), where the run adds what it finds):
# - fuzz_record: the recording reader (every input read back after re-encoding and
#   replayed into a table), from tests/fuzz/corpus;
# - fuzz_views: a recording replayed through one view's formatting (trace, timeline,
#   stat --interval, top, doctor, serve), the first byte picking which: every recording
#   of tests/fuzz/corpus once per view (FUZZ_VIEWS, the command lines in fuzz_views.c),
#   and tests/fuzz/corpus-views;
# - fuzz_seed: the socket dump's decoder, from tests/fuzz/corpus-seed (capture_dump.c);
# - fuzz_cli: the command line, from tests/fuzz/corpus-cli.
FUZZ_TIME ?= 10
FUZZ_VIEWS := 24
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-D_GNU_SOURCE -DTD_VERSION='"$(VERSION)"' $(TD_INCLUDES)
$(OUTPUT)/fuzz_record: tests/fuzz/fuzz_record.c $(call src,record conntable names cgpath stats state) \
		| $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -DFUZZ_REPLAY $^ -o $@

$(OUTPUT)/fuzz_views: tests/fuzz/fuzz_views.c $(call src,cli state fmt filter conntable names cgpath \
		stats output metrics top record perfetto pair doctor outfile) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -lncursesw -lm -o $@

$(OUTPUT)/fuzz_seed: tests/fuzz/fuzz_seed.c $(call src,seed conntable names cgpath state) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -o $@

$(OUTPUT)/fuzz_cli: tests/fuzz/fuzz_cli.c $(call src,cli state fmt doctor conntable names cgpath \
		output stats perfetto pair outfile) | $(OUTPUT)
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $^ -lm -o $@

$(OUTPUT)/mkcorpus: tests/fuzz/mkcorpus.c $(call src,record conntable names cgpath) tests/lib/synth.c \
		| $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -Itests/lib $^ -o $@

# $(call fuzz_run,NAME): run $(OUTPUT)/fuzz_NAME on $(OUTPUT)/fuzz-corpus-NAME, filled first.
define fuzz_run
	$(Q)$(OUTPUT)/fuzz_$(1) -max_total_time=$(FUZZ_TIME) -print_final_stats=0 \
		$(OUTPUT)/fuzz-corpus-$(1) 2>$(OUTPUT)/fuzz-$(1).log || \
		{ tail -40 $(OUTPUT)/fuzz-$(1).log; exit 1; }
	@echo "fuzz $(1): $$(grep -E '^Done [0-9]+ runs' $(OUTPUT)/fuzz-$(1).log), no crash"
endef

fuzz: $(patsubst %,$(OUTPUT)/fuzz_%,record views seed cli)
	$(Q)for t in record views seed cli; do rm -rf $(OUTPUT)/fuzz-corpus-$$t && \
		mkdir -p $(OUTPUT)/fuzz-corpus-$$t || exit 1; done
	$(Q)cp tests/fuzz/corpus/* $(OUTPUT)/fuzz-corpus-record/
	$(Q)cp tests/fuzz/corpus-views/* $(OUTPUT)/fuzz-corpus-views/ && \
		for v in $$(seq 0 $$(($(FUZZ_VIEWS) - 1))); do for f in tests/fuzz/corpus/*; do \
		{ printf "\\$$(printf %o $$v)"; cat $$f; } \
		>$(OUTPUT)/fuzz-corpus-views/$$v-$${f##*/} || exit 1; done; done
	$(Q)cp tests/fuzz/corpus-seed/* $(OUTPUT)/fuzz-corpus-seed/
	$(Q)cp tests/fuzz/corpus-cli/* $(OUTPUT)/fuzz-corpus-cli/
	$(call fuzz_run,record)
	$(call fuzz_run,views)
	$(call fuzz_run,seed)
	$(call fuzz_run,cli)

# Writes the seed corpus again from the current writer.
fuzz-corpus: $(OUTPUT)/mkcorpus
	$(OUTPUT)/mkcorpus tests/fuzz/corpus

valgrind: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		valgrind -q --error-exitcode=1 --leak-check=full $$t >/dev/null; done; \
		echo "valgrind: unit tests clean"

install: $(OUTPUT)/tcpdwell
	install -D -m 0755 $(OUTPUT)/tcpdwell $(DESTDIR)$(PREFIX)/sbin/tcpdwell

format:
	clang-format -i bpf/*.c bpf/*.h $(foreach d,$(USER_DIRS),$(d)/*.c $(d)/*.h) tests/*/*.c tests/lib/*.h

clean:
	rm -rf build

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/tests/*.d $(OUTPUT)/tests/lib/*.d)

# ---- bench: begin ------------------------------------------------------------------------
# Benchmark, not part of `make test`; needs root. tests/bench/bench.sh builds tcpdwell itself
# and explains its options: `make bench BENCH_ARGS=--quick` for a short smoke run.
$(OUTPUT)/storm: tests/bench/storm.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread $< -o $@

$(OUTPUT)/mkrecording: tests/bench/mkrecording.c tests/lib/synth.c $(call src,record conntable names cgpath) \
		| $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(TD_CFLAGS) -Itests/lib $^ -o $@

bench: deps $(OUTPUT)/storm $(OUTPUT)/mkrecording
	$(Q)OUTPUT=$(OUTPUT) bash tests/bench/bench.sh $(BENCH_ARGS)
# ---- bench: end --------------------------------------------------------------------------

# ---- vmtest: begin -----------------------------------------------------------------------
# Boots Debian's newest 6.1 and 6.12 cloud kernels under qemu (TCG) and runs `tcpdwell check`,
# tests/vm/smoke.sh and the integration suite inside each; needs root. Options go through
# VMTEST_ARGS (tests/vm/vmtest.sh --help), e.g. `make vmtest VMTEST_ARGS="-k 6.1 --no-suite"`.
vmtest: deps
	$(MAKE) --no-print-directory $(OUTPUT)/tcpdwell $(INTEG_BINS)
	OUTPUT=$(OUTPUT) bash tests/vm/vmtest.sh $(VMTEST_ARGS)
# ---- vmtest: end -------------------------------------------------------------------------
