#!/bin/bash
# tcpdwell under pressure and with few privileges, on real BPF and real loopback traffic, each part
# in a network namespace of its own that the tracers filter on (-N): forced loss (a tiny ring
# buffer under tests/bench/storm, judged against a tracer with a large one), a flood of open
# connections beyond --max-conns, SIGINT, SIGTERM, a closed pipe and a full disk, `tcpdwell check`,
# and running without root. Needs root. Usage: pressure.sh [--only REGEX] [--keep]: REGEX matches
# the parts to run (loss, recursion, wakeup, flood, signals, check, privileges); OUTPUT=build by default.
# (SC2317: the conditions handed to wait_until are called from there; SC2154: TRACER_<NAME> is
# set by tdlib.sh's start_tracer.)
# shellcheck disable=SC2317,SC2154
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
ONLY='.*'
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--only REGEX] [--keep]" >&2; exit 2 ;;
	esac
done
ME=pressure
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
STORM=$OUTPUT/storm
PEER1=$OUTPUT/tests/peer
for f in "$STORM" "$PEER1"; do
	[ -x "$f" ] || { echo "$ME: $f missing: run make integration" >&2; exit 1; }
done
for c in bpftool setpriv ip; do
	command -v $c >/dev/null || { echo "$ME: $c missing" >&2; exit 1; }
done

NSES=()
# del_ns NAME: end what this script left running in its namespace NAME, then delete it (which
# also ends the TIME_WAIT sockets the storm left there).
del_ns() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
}
end_all() {
	local ns
	cleanup
	for ns in "${NSES[@]}"; do del_ns "$ns"; done
}
trap end_all EXIT

# new_ns NAME: a fresh network namespace with loopback up; sets NS and INO (its inode, for -N).
new_ns() {
	NS=td-$ME-$$-$1
	ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || return 1
	NSES+=("$NS")
	INO=$(stat -L -c %i "/run/netns/$NS")
}
in_ns() { ip netns exec "$NS" "$@"; }
now_ns() { date +%s%N; }
# rss_anon PID: the process's anonymous resident memory in KiB (heap: the connection table lives
# there; the ring buffer's pages are the kernel's and counted apart).
rss_anon() { awk '$1 == "RssAnon:" { print $2 }' "/proc/$1/status"; }
# last_of FILE TYPE: the last JSON object of that type in FILE, compact.
last_of() { jq -R -c --arg t "$2" 'fromjson? | select(.type == $t)' "$1" | tail -1; }
# contract FILE: the lines of FILE that break the JSON contract (at most 5).
contract() { jq -R -r "$JQ_CONTRACT" "$1" 2>&1 | head -5; }

# kernel_lost PID: "RINGBUF RECURSION" as the kernel counts them for that tcpdwell, read with
# bpftool through the map and program ids of its descriptors (/proc/PID/fdinfo): reservation
# failures summed over the CPUs of its "counters" map, and the recursion_misses of its programs
# less the runs a catcher (td_state_nested, td_state_rawtp) recorded in their place (counter 1)
# (bpf/tcpdwell.bpf.c). kernel_lost PID all: "RINGBUF RECURSION MISSES RECOVERED", the last two
# the programs' recursion_misses and the catcher's records before the difference.
kernel_lost() {
	local fd id map="" progs=() rb recovered misses=0 m
	for fd in /proc/"$1"/fd/*; do
		case $(readlink "$fd") in
		anon_inode:bpf-map)
			id=$(awk '$1 == "map_id:" { print $2 }' "/proc/$1/fdinfo/${fd##*/}")
			[ "$(bpftool map show id "$id" -j | jq -r .name)" = counters ] && map=$id
			;;
		anon_inode:bpf-prog)
			progs+=("$(awk '$1 == "prog_id:" { print $2 }' "/proc/$1/fdinfo/${fd##*/}")")
			;;
		esac
	done
	[ -n "$map" ] || { echo "no counters map"; return; }
	read -r rb recovered < <(bpftool map dump id "$map" -j | jq -r '
		map({(.formatted.key | tostring): ([.formatted.values[].value] | add)}) | add |
		"\(."0") \(."1")"')
	for id in "${progs[@]}"; do
		m=$(bpftool prog show id "$id" -j |
			jq -r 'if .name == "td_state_nested" or .name == "td_state_rawtp" then 0
				else .recursion_misses // 0 end')
		misses=$((misses + m))
	done
	echo "$rb $((misses > recovered ? misses - recovered : 0))${2:+ $misses $recovered}"
}

# stop PID NAME [SIGNAL]: signal (INT by default) and wait at most 10 s; sets RC (255: it hung
# and was killed).
stop() {
	kill "-${3:-INT}" "$1" 2>/dev/null
	if wait_until 10 eval "! kill -0 $1 2>/dev/null"; then
		wait "$1"
		RC=$?
	else
		not_ok "$2 exits within 10 s of SIG${3:-INT}"
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=255
	fi
	reaped "$1"
}

# The namespaces are new and empty: --no-seed spares each tracer the dump of every socket of the
# host at start (seconds on a busy host, with a dozen tracers starting), except where the dump is
# under test (privileges, as nobody: its own namespace only).

# ================================================================================================
# a. Forced loss. Three tracers watch the same storm: `truth` with a 64 MiB ring buffer (it must
# lose nothing), `trace` and `timeline` with 4 KiB (they lose records). The small ones must
# report exactly what their kernel counters say, give a dwell only where they saw the record
# before (no dwell across a gap), and mark every timeline that misses a record incomplete.
# ================================================================================================
# jq programs comparing a small tracer's output (raw lines on input) with truth's transitions
# ($t: cookie, old, new, dwell_ns). $truth: cookie -> its transitions in order.
# shellcheck disable=SC2016
JQ_TRUTH='($t | group_by(.cookie) | map({key: (.[0].cookie | tostring), value: .}) |
	from_entries) as $truth |'
# shellcheck disable=SC2016
JQ_TRACE_VS_TRUTH='
	[inputs | fromjson? | select(.type == "transition")] as $rs |
	($rs | group_by(.cookie) | map({key: (.[0].cookie | tostring),
		value: map("\(.old)>\(.new)")}) | from_entries) as $seen |
	[$rs[] | . as $r | ($truth[$r.cookie | tostring] // []) as $tr |
	 ([$tr | to_entries[] | select(.value.old == $r.old and .value.new == $r.new) | .key] |
	  first) as $k |
	 # FIN_WAIT2/CLOSING -> CLOSE as the kernel reports it, when the timewait timer record
	 # that made truth say -> TIME_WAIT (or, for a FIN_WAIT2 timewait socket, stay in
	 # FIN_WAIT2 until its timer ends, after the test) fell in a gap: shown so, with no dwell
	 # or, when the record before it was seen, the full socket'"'"'s: until tcp_done(), which
	 # follows the handover, so never shorter than truth'"'"'s dwell there (5 ms: own stamps).
	 ([$tr[] | select(.old == $r.old and .new == "TIME_WAIT")] | first) as $tw |
	 if $k == null and $r.new == "CLOSE" and ($r.old == "FIN_WAIT2" or $r.old == "CLOSING")
		and ($tw != null or ([$tr[-1] | select(.new == $r.old)] | length) > 0)
		and ($r.dwell_ns == null or $tw == null or
			$r.dwell_ns + 5000000 >= ($tw.dwell_ns // 0)) then {gap: 1}
	 # A FIN_WAIT2 timewait socket re-armed by the peer'"'"'s FIN: truth learns the moment at the
	 # timer'"'"'s end (after the test); a tracer that lost the first arm sees the re-arm first.
	 elif $k == null and $r.old == "FIN_WAIT2" and $r.new == "TIME_WAIT" and
		([$tr[-1] | select(.new == "FIN_WAIT2")] | length) > 0 then {gap: 1}
	 elif $k == null then {p: "invented: \($r | tojson)"}
	 elif $k > 0 and ($seen[$r.cookie | tostring] |
		index(["\($tr[$k - 1].old)>\($tr[$k - 1].new)"])) == null then
		if $r.dwell_ns == null then {gap: 1}
		else {p: "dwell across a gap: \($r | tojson), missing \($tr[$k - 1] | tojson)"} end
	 elif ($r.dwell_ns == null) != ($tr[$k].dwell_ns == null) then
		{p: "dwell \($r.dwell_ns), truth \($tr[$k].dwell_ns): \($r | tojson)"}
	 elif $r.dwell_ns == null then {}
	 elif ($r.dwell_ns - $tr[$k].dwell_ns | fabs) > 5000000 then
		{p: "dwell \($r.dwell_ns), truth \($tr[$k].dwell_ns): \($r | tojson)"}
	 else {dwell: 1} end] |
	{problems: [.[].p // empty][:3], records: length, dwell: ([.[].dwell // 0] | add),
	 after_gap: ([.[].gap // 0] | add)}'
# A timeline's states leave out the final CLOSE; state i lasts until truth's transition i + 1.
# shellcheck disable=SC2016
JQ_TIMELINE_VS_TRUTH='
	[inputs | fromjson? | select(.type == "timeline") | . as $l |
	 ($truth[$l.cookie | tostring] // []) as $tr |
	 ([$tr[].new] | if .[-1] == "CLOSE" then .[:-1] else . end) as $want |
	 ([$l.states[].state] == $want and all(range(0; $l.states | length);
		($l.states[.].dwell_ns // -1e18) - ($tr[. + 1].dwell_ns // 1e18) | fabs <= 5000000))
	 as $same |
	 if $l.complete and ($same | not) then
		{p: "complete but not truth: \($l | tojson) truth \($tr | tojson)"}
	 elif $l.complete then {complete: 1}
	 elif $same then {incomplete: 1}
	 else {incomplete: 1, missed: 1} end] |
	{problems: [.[].p // empty][:3], complete: ([.[].complete // 0] | add),
	 incomplete: ([.[].incomplete // 0] | add), missed: ([.[].missed // 0] | add)}'

part_loss() {
	local t0 wall storm conns k_trace k_tl lost bad got n_inc n_comp
	LABEL=loss
	RUN=$TMP/loss
	TRACERS=()
	new_ns loss || { not_ok "loss: cannot create a network namespace"; return; }
	t0=$(now_ns)
	start_tracer truth trace -j -N "$INO" --no-seed --ringbuf-size 64M || return
	start_tracer trace trace -j -N "$INO" --no-seed --ringbuf-size 4K || return
	start_tracer timeline timeline -j -N "$INO" --no-seed --ringbuf-size 4K || return
	storm=$(in_ns timeout 30 "$STORM" -d 1 -p 9970 -P 4 2>"$RUN.storm.err")
	conns=$(jq -r .connections <<<"$storm" 2>/dev/null)
	expect_match "loss: storm ran (connections)" '[1-9][0-9]*' "$conns" "$storm" \
		"$(cat "$RUN.storm.err")"
	# Every client connection ended (LAST_ACK -> CLOSE) and the four listeners closed: nothing
	# more happens in the namespace but the TIME_WAIT timers, 60 s away.
	settled() {
		[ "$(grep -c '"old":"LAST_ACK"' "$RUN.truth.json")" = "$conns" ] &&
			[ "$(grep -c '"old":"LISTEN","new":"CLOSE"' "$RUN.truth.json")" = 4 ]
	}
	wait_until 10 settled
	k_trace=$(kernel_lost "$TRACER_trace")
	k_tl=$(kernel_lost "$TRACER_timeline")
	stop_tracers
	wall=$(($(now_ns) - t0))

	# truth's transitions, only the keys compared: cookie, old, new, dwell_ns
	jq -R -c 'fromjson? | select(.type == "transition") | {cookie, old, new, dwell_ns}' \
		"$RUN.truth.json" >"$RUN.truth.min"
	expect_eq "loss: truth (64 MiB) lost nothing" "" "$(last_of "$RUN.truth.json" lost)"
	for name in trace timeline; do
		lost=$(last_of "$RUN.$name.json" lost | jq -r '"\(.ringbuf) \(.recursion)"')
		k_var=k_$name
		[ "$name" = timeline ] && k_var=k_tl
		expect_eq "loss: $name: final lost record = kernel counters (ringbuf recursion)" \
			"${!k_var}" "$lost"
		expect_match "loss: $name: the 4 KiB buffer did lose records" '[1-9][0-9]* [0-9]+' \
			"$lost"
		expect_eq "loss: $name: every line keeps the JSON contract" "" \
			"$(contract "$RUN.$name.json")"
	done

	# Every dwell the small tracers printed is >= 0 and within the run's wall time.
	bad=$(jq -R -r --argjson w "$wall" 'fromjson? |
		if .type == "transition" then [.dwell_ns]
		elif .type == "timeline" then [.duration_ns, .states[].dwell_ns] else [] end |
		.[] | select(. != null and (. < 0 or . > $w))' "$RUN.trace.json" "$RUN.timeline.json" |
		head -3)
	expect_eq "loss: no dwell < 0 or > the run's $((wall / 1000000)) ms" "" "$bad"

	# trace: each record is one of truth's (same cookie, old, new); it has a dwell only if the
	# record before it in truth is also here, and then the same dwell (within 5 ms: each tracer
	# stamps its own copy, and a softirq, up to 2 ms of packets, can run between two tracers'
	# programs on one state change); truth's first records have none.
	got=$(jq -n -R -c --slurpfile t "$RUN.truth.min" "$JQ_TRUTH $JQ_TRACE_VS_TRUTH" \
		<"$RUN.trace.json")
	expect_eq "loss: trace: no record invented, no dwell across a gap, dwell = truth's" "[]" \
		"$(jq -c .problems <<<"$got")" "$got"
	expect_match "loss: trace: records after a gap seen, and records with a dwell" \
		'[1-9][0-9]* [1-9][0-9]*' "$(jq -r '"\(.after_gap) \(.dwell)"' <<<"$got")" "$got"

	# timeline: a complete timeline has exactly truth's states and dwell; so every connection
	# that missed a record is marked incomplete (and there are some).
	got=$(jq -n -R -c --slurpfile t "$RUN.truth.min" "$JQ_TRUTH $JQ_TIMELINE_VS_TRUTH" \
		<"$RUN.timeline.json")
	expect_eq "loss: timeline: every complete timeline = truth (states, dwell)" "[]" \
		"$(jq -c .problems <<<"$got")" "$got"
	expect_match "loss: timeline: connections that missed records, all marked incomplete" \
		'[1-9][0-9]*' "$(jq -r .missed <<<"$got")" "$got"
	n_comp=$(jq -r .complete <<<"$got")
	n_inc=$(jq -r .incomplete <<<"$got")
	echo "# loss: $conns connections in 1 s; trace lost $k_trace, timeline lost $k_tl" \
		"(ringbuf recursion); timelines $n_comp complete, $n_inc incomplete"
	del_ns "$NS"
}

# ================================================================================================
# a2. Recursion. A state change in a softirq that interrupts a BPF program on the same CPU is
# skipped by the kernel; each path's catcher program records it instead (bpf/tcpdwell.bpf.c:
# claim_push). Under a storm with accept tracking, a tracer on each state path (tp_btf, the
# classic tracepoint; and tp_btf with the perf buffer, where a nested program's record must not
# overwrite the one it interrupted) with a buffer that cannot fill must report no loss, its
# kernel counters must agree (every skipped run recorded by the catcher, none twice), and it
# must see exactly the transitions the other one saw.
# ================================================================================================
part_recursion() {
	local storm conns b lost misses recovered k_var pid_var
	LABEL=recursion
	RUN=$TMP/recursion
	TRACERS=()
	new_ns recursion || { not_ok "recursion: cannot create a network namespace"; return; }
	start_tracer tp_btf trace -j -N "$INO" --no-seed --ringbuf-size 64M --backend tp_btf ||
		return
	start_tracer tracepoint trace -j -N "$INO" --no-seed --ringbuf-size 64M \
		--backend tracepoint || return
	start_tracer perf trace -j -N "$INO" --no-seed --ringbuf-size 64M --buffer perf || return
	storm=$(in_ns timeout 30 "$STORM" -d 2 -p 9970 -P 4 2>"$RUN.storm.err")
	conns=$(jq -r .connections <<<"$storm" 2>/dev/null)
	expect_match "recursion: storm ran (connections)" '[1-9][0-9]*' "$conns" "$storm" \
		"$(cat "$RUN.storm.err")"
	settled() {
		local f
		for f in "$RUN.tp_btf.json" "$RUN.tracepoint.json" "$RUN.perf.json"; do
			[ "$(grep -c '"old":"LAST_ACK"' "$f")" = "$conns" ] || return 1
			[ "$(grep -c '"old":"LISTEN","new":"CLOSE"' "$f")" = 4 ] || return 1
		done
	}
	wait_until 20 settled
	for b in tp_btf tracepoint perf; do
		pid_var=TRACER_$b
		printf -v "k_$b" %s "$(kernel_lost "${!pid_var}" all)"
	done
	stop_tracers
	for b in tp_btf tracepoint perf; do
		k_var=k_$b
		read -r _ _ misses recovered <<<"${!k_var}"
		lost=$(last_of "$RUN.$b.json" lost)
		expect_eq "recursion: $b: no record lost (ringbuf recursion)" "0 0" \
			"$(cut -d' ' -f1,2 <<<"${!k_var}")" "$lost"
		expect_eq "recursion: $b: no lost record reported" "" "$lost"
		expect_eq "recursion: $b: the catcher recorded each skipped run once (misses recorded)" \
			"$misses" "$recovered"
		echo "# recursion: $b: $conns connections, state program runs skipped $misses," \
			"recorded by the catcher $recovered"
		# Not the timewait socket's own transitions: when the peer's FIN re-arms an orphan's
		# timewait timer on the other CPU within microseconds of the full socket's last
		# record, the two records' order differs from buffer to buffer, and with it whether
		# FIN_WAIT2 -> TIME_WAIT is known at once or at the timer's end, after the test.
		jq -R -r 'fromjson? | select(.type == "transition" and .new != "TIME_WAIT" and
			.old != "TIME_WAIT") | "\(.old)>\(.new)"' "$RUN.$b.json" | sort | uniq -c \
			>"$RUN.$b.counts"
	done
	expect_eq "recursion: both paths saw the same transitions (count per old>new)" \
		"$(cat "$RUN.tp_btf.counts")" "$(cat "$RUN.tracepoint.counts")"
	expect_eq "recursion: the perf buffer saw the same transitions (count per old>new)" \
		"$(cat "$RUN.tp_btf.counts")" "$(cat "$RUN.perf.counts")"
	del_ns "$NS"
}
# ================================================================================================
# a3. Early wakeup. With a --latency longer than the test waits, a tracer still sees records as
# soon as a quarter of its ring buffer is waiting (the BPF side forces the wakeup); the rest
# come at the latest at exit, none lost.
# ================================================================================================
part_wakeup() {
	local storm conns t0 first
	LABEL=wakeup
	RUN=$TMP/wakeup
	TRACERS=()
	new_ns wakeup || { not_ok "wakeup: cannot create a network namespace"; return; }
	start_tracer slow trace -j -N "$INO" --no-seed --latency 10s --ringbuf-size 1M || return
	t0=$(now_ns)
	storm=$(in_ns timeout 30 "$STORM" -t 1 -s 1 -d 0.3 -p 9970 -P 1 2>"$RUN.storm.err")
	conns=$(jq -r .connections <<<"$storm" 2>/dev/null)
	expect_match "wakeup: storm ran (connections)" '[1-9][0-9]*' "$conns" "$storm" \
		"$(cat "$RUN.storm.err")"
	# 1M / 4 is about 2,500 records: the storm makes ten times that.
	delivered() { grep -q '"type":"transition"' "$RUN.slow.json"; }
	wait_until 5 delivered
	first=$((($(now_ns) - t0) / 1000000))
	expect_eq "wakeup: records delivered within 5 s although --latency is 10 s" yes \
		"$(delivered && echo yes || echo no)" "after $first ms"
	# The storm's last connections may still be closing: wait until only TIME_WAIT is left.
	closed() { [ -z "$(in_ns ss -Htan state all exclude time-wait exclude close)" ]; }
	wait_until 10 closed
	stop_tracers
	expect_eq "wakeup: every connection's last record there at exit" "$conns" \
		"$(grep -c '"old":"LAST_ACK"' "$RUN.slow.json")"
	expect_eq "wakeup: none lost" "" "$(last_of "$RUN.slow.json" lost)"
	del_ns "$NS"
}

# ================================================================================================
# b. A flood of open connections beyond --max-conns: storm --hold opens HOLD connections (two
# sockets each, both ends ours) and keeps them. The table holds MAXC; every other connection is
# evicted and counted, in the stream and at exit; the heap grows by no more than the table's
# share; and tcpdwell still traces a new connection while the flood stays open.
# ================================================================================================
HOLD=20000
MAXC=1024
# Bytes of heap one table slot may cost: struct conn (184 bytes) plus its slot and index entries
# (about 40), doubled for the allocator and the indexes' growth. Without the bound, HOLD
# connections would take about 2 * HOLD * 224 bytes = 8.5 MiB.
SLOT_BYTES=512
HEAP_SLACK_KIB=2048
part_flood() {
	local r0 r1 hold nproc want pid got cpid bound
	LABEL=flood
	RUN=$TMP/flood
	TRACERS=()
	new_ns flood || { not_ok "flood: cannot create a network namespace"; return; }
	start_tracer flood timeline -j -N "$INO" --no-seed --max-conns "$MAXC" || return
	r0=$(rss_anon "$TRACER_flood")
	# Not through in_ns: ip netns exec execs storm, so $! is storm's pid and SIGTERM reaches it.
	ip netns exec "$NS" "$STORM" --hold "$HOLD" -p 9970 >"$RUN.hold.json" 2>"$RUN.hold.err" &
	pid=$!
	BG+=("$pid")
	if ! wait_until 120 grep -q '"mode":"hold"' "$RUN.hold.json"; then
		not_ok "flood: storm --hold $HOLD holds its connections within 120 s" \
			"$(cat "$RUN.hold.err")"
		stop "$pid" "flood: storm" TERM
		stop_tracers
		return
	fi
	hold=$(cat "$RUN.hold.json")
	nproc=$(jq -r .processes <<<"$hold")
	# Each held connection is two connections of the table (client and accepted socket); each
	# holding process adds its listener: all but MAXC of them are evicted. The accept() of a
	# socket evicted meanwhile (its process waited for the CPU while the others connected) brings
	# it back as a connection open before tracing, evicting another: at most once per accept.
	want=$((2 * HOLD + nproc - MAXC))
	evicted() {
		[ "$(last_of "$RUN.flood.json" evicted | jq -r .connections)" -ge "$want" ] 2>/dev/null
	}
	wait_until 10 evicted
	expect_range "flood: evictions in the stream: 2 x $HOLD + $nproc listeners - $MAXC, plus" \
		"$want" "$((want + HOLD))" "$(last_of "$RUN.flood.json" evicted | jq -r .connections)" \
		"$(last_of "$RUN.flood.json" evicted)"
	r1=$(rss_anon "$TRACER_flood")
	bound=$((MAXC * SLOT_BYTES / 1024 + HEAP_SLACK_KIB))
	expect_range "flood: heap growth (KiB) within $MAXC x $SLOT_BYTES B + $HEAP_SLACK_KIB KiB" \
		0 "$bound" "$((r1 - r0))" "RssAnon before $r0 KiB, after $r1 KiB"

	# Still tracing with a full table: a refused connect appears as a finished timeline.
	next_port
	got=$(in_ns timeout 10 "$PEER1" refused 4 "$P")
	cpid=$(jq -r .client_pid <<<"$got" 2>/dev/null)
	refused_tl() {
		jq -R -c --argjson r "$P" 'fromjson? | select(.type == "timeline" and .rport == $r)' \
			"$RUN.flood.json"
	}
	refused_seen() { [ -n "$(refused_tl)" ]; }
	wait_until 5 refused_seen
	expect_eq "flood: a new connection is still traced (pid, states, complete)" \
		"$cpid SYN_SENT true" \
		"$(refused_tl | jq -r '"\(.pid) \([.states[].state] | join(",")) \(.complete)"')"

	stop_tracers
	stop "$pid" "flood: storm" TERM
	expect_eq "flood: no records lost" "" "$(last_of "$RUN.flood.json" lost)"
	expect_eq "flood: every line keeps the JSON contract" "" "$(contract "$RUN.flood.json")"
	got=$(last_of "$RUN.flood.json" evicted | jq -r .connections)
	expect_eq "flood: stderr says at exit what the stream said last" \
		"tcpdwell: $got connections evicted (--max-conns $MAXC)" \
		"$(grep evicted "$RUN.flood.err")"
	echo "# flood: $HOLD connections held by $nproc processes; heap $r0 -> $r1 KiB" \
		"(bound +$bound KiB)"
	del_ns "$NS"
}

# ================================================================================================
# c. Signals, a closed pipe and a full disk: a clean exit, the right status, at most one clear
# line on stderr, and nothing hangs (every wait is bounded; a tracer that hangs is killed and
# fails the test).
# ================================================================================================
TRACING_LINE='tcpdwell: tracing TCP state changes \([^)]*\)\. Ctrl-C to end\.'
# connect_once: one refused connect in the namespace (SYN_SENT -> CLOSE: a transition and a
# finished timeline at once).
connect_once() { in_ns timeout 10 "$PEER1" refused 4 "$P" >/dev/null; }
# drive_until_exit PID: connect once every 50 ms until PID exits; 1 if it still runs after 10 s.
drive_until_exit() {
	local pid=$1 deadline=$(($(now_ns) + 10000000000))
	while kill -0 "$pid" 2>/dev/null; do
		[ "$(now_ns)" -ge "$deadline" ] && return 1
		connect_once
		sleep 0.05
	done
}
# bg NAME CMD...: CMD in the background, stdout to $RUN.NAME.out (or to $TO when set) and
# stderr to $RUN.NAME.err; sets PID. 1 (and a failed test) if tcpdwell does not say it is
# tracing within 10 s.
bg() {
	local name=$1
	shift
	# Emptied first: the redirections happen in the child, after a wait may have looked. Not a
	# FIFO given as TO: opening it would hand its reader an end of file.
	[ -p "${TO:-$RUN.$name.out}" ] || : >"${TO:-$RUN.$name.out}"
	: >"$RUN.$name.err"
	"$@" >"${TO:-$RUN.$name.out}" 2>"$RUN.$name.err" &
	PID=$!
	BG+=("$PID")
	if ! wait_until 10 grep -qs "tcpdwell: tracing" "$RUN.$name.err"; then
		not_ok "$LABEL: $name: tcpdwell starts tracing within 10 s" \
			"stderr: $(cat "$RUN.$name.err")"
		stop "$PID" "$LABEL: $name" KILL
		return 1
	fi
}
part_signals() {
	local v sig name pids=() got
	LABEL=signals
	RUN=$TMP/sig
	new_ns sig || { not_ok "signals: cannot create a network namespace"; return; }
	next_port
	# Each view ended by each signal, after it has seen a connection (SIGHUP: the SSH session
	# it runs in dropped).
	for sig in INT TERM HUP; do
		for v in "trace -j" "timeline -j" "stat -j" "stat"; do
			name="${v// /}-$sig"
			# shellcheck disable=SC2086
			bg "$name" "$TD" $v -N "$INO" --no-seed || continue
			pids+=("$name:$PID:$sig")
		done
	done
	connect_once
	# Records reach the output at the next poll (--latency, 100 ms).
	seen() {
		for sig in INT TERM HUP; do
			grep -qs '"new":"CLOSE"' "$RUN.trace-j-$sig.out" &&
				grep -qs '"type":"timeline"' "$RUN.timeline-j-$sig.out" || return 1
		done
	}
	wait_until 5 seen
	for got in "${pids[@]}"; do
		IFS=: read -r name PID sig <<<"$got"
		stop "$PID" "signals: $name" "$sig"
		expect_eq "signals: $name: exit 0 on SIG$sig" 0 "$RC" "stderr: $(cat "$RUN.$name.err")"
		expect_match "signals: $name: nothing on stderr but the start line" "$TRACING_LINE" \
			"$(cat "$RUN.$name.err")"
		case $name in
		stat-*) # The final table, in text or JSON.
			expect_match "signals: $name: final table printed" \
				'( *STATE .*SYN_SENT +1 .*LOST 0 records|\{"type":"stat",.*"state":"SYN_SENT","count":1,.*) ' \
				"$(tr '\n' ' ' <"$RUN.$name.out")" ;;
		*) expect_match "signals: $name: the connection is in the output" '[1-9][0-9]*' \
			"$(grep -c "\"rport\":$P" "$RUN.$name.out")" ;;
		esac
		[[ $name == *-j-* ]] && expect_eq "signals: $name: every line whole, contract kept" "" \
			"$(contract "$RUN.$name.out")"
	done

	# record ended by SIGHUP or SIGTERM: the recording ends with its END record (replay warns
	# when it is missing) and holds the connection made while it ran.
	for sig in HUP TERM; do
		"$TD" record -N "$INO" --no-seed -o "$RUN.rec-$sig.tdr" 2>"$RUN.rec-$sig.err" &
		PID=$!
		BG+=("$PID")
		wait_until 10 grep -qs "Ctrl-C to end" "$RUN.rec-$sig.err" ||
			not_ok "signals: record -o: starts within 10 s" "$(cat "$RUN.rec-$sig.err")"
		connect_once
		rec_has() {
			"$TD" trace -j -i "$RUN.rec-$sig.tdr" 2>/dev/null | grep -q "\"rport\":$P,"
		}
		wait_until 5 rec_has
		stop "$PID" "signals: record SIG$sig" "$sig"
		expect_eq "signals: record: exit 0 on SIG$sig" 0 "$RC" "$(cat "$RUN.rec-$sig.err")"
		got=$("$TD" trace -j -i "$RUN.rec-$sig.tdr" 2>&1 >"$RUN.rec-$sig.replay")
		expect_eq "signals: record: SIG$sig leaves the END record (replay says nothing)" "" \
			"$got"
		expect_match "signals: record: SIG$sig: the connection is in the recording" \
			'[1-9][0-9]*' "$(grep -c "\"rport\":$P," "$RUN.rec-$sig.replay")"
	done

	# A reader that goes away (`| head -1`): tcpdwell ignores SIGPIPE and ends with status 0
	# at its next write (not 141, killed by the signal), saying nothing.
	mkfifo "$RUN.fifo"
	head -1 <"$RUN.fifo" >"$RUN.pipe.out" &
	BG+=("$!")
	local reader=$!
	if TO=$RUN.fifo bg pipe "$TD" trace -j -N "$INO" --no-seed; then
		drive_until_exit "$PID" || not_ok "signals: | head -1: tcpdwell ends within 10 s"
		stop "$PID" "signals: | head -1"
		expect_eq "signals: | head -1: exit 0" 0 "$RC"
		expect_match "signals: | head -1: nothing on stderr but the start line" \
			"$TRACING_LINE" "$(cat "$RUN.pipe.err")"
		expect_eq "signals: | head -1: the reader got one whole record" transition \
			"$(jq -r .type "$RUN.pipe.out" 2>&1)"
	fi
	stop "$reader" "signals: head -1"

	# A full disk: status 1 and one line that says what could not be written and why. -o makes
	# regular files only (a device is refused: files.sh), so its full disk is a 4 KiB tmpfs.
	mkdir -p "$RUN.fs" && mount -t tmpfs -o size=4k tdfull "$RUN.fs" ||
		not_ok "signals: cannot mount a tmpfs on $RUN.fs"
	for v in "trace -j" "timeline -j" "timeline -o $RUN.fs/tl" "stat -j"; do
		name=full-${v%% /*}
		name=${name//[ \/]/}
		# shellcheck disable=SC2086
		TO=/dev/full bg "$name" "$TD" $v -N "$INO" --no-seed || continue
		if [[ $v == stat* ]]; then
			connect_once # a sample for the table, written at exit
			stop "$PID" "full disk: $v"
		else
			drive_until_exit "$PID" || not_ok "full disk: $v: tcpdwell ends within 10 s"
			stop "$PID" "full disk: $v"
		fi
		got="cannot write output"
		[[ $v == *-o* ]] && got="cannot write '$RUN.fs/tl'"
		expect_eq "full disk: $v >/dev/full: exit 1" 1 "$RC"
		expect_match "full disk: $v >/dev/full: one line says why" \
			"$TRACING_LINE"$'\n'"tcpdwell: $got: No space left on device" \
			"$(cat "$RUN.$name.err")"
	done
	umount "$RUN.fs"
	del_ns "$NS"
}

# ================================================================================================
# d. `tcpdwell check` names every feature with what this host has, and the path a real load
# chose: the one `trace` then reports using; --backend and --buffer force theirs. Exit 1 when it
# cannot trace.
# ================================================================================================
yn() { if "$@"; then echo yes; else echo no; fi; }
# has_cap BIT: yes if this shell (and so tcpdwell started from it) has that effective capability.
has_cap() {
	local eff
	eff=$(awk '$1 == "CapEff:" { print $2 }' /proc/self/status)
	yn test $(((16#$eff >> $1) & 1)) = 1
}
# field TEXT NAME: the value after "NAME:" in check's output.
field() { sed -n "s/^$2: *//p" <<<"$1"; }
part_check() {
	local out rc want feat
	LABEL=check
	RUN=$TMP/check
	out=$("$TD" check 2>&1)
	rc=$?
	expect_eq "check: exit 0 as root" 0 "$rc" "$out"
	expect_eq "check: kernel" "$(uname -r)" "$(field "$out" kernel)"
	expect_match "check: BTF" "$(yn test -e /sys/kernel/btf/vmlinux).*" "$(field "$out" BTF)"
	want=no
	[ "$(bpftool feature probe kernel 2>/dev/null | grep -c 'map_type ringbuf is available')" \
		-gt 0 ] && want=yes
	expect_match "check: ring buffer (bpftool feature probe)" "$want.*" \
		"$(field "$out" "ring buffer")"
	want=no
	grep -qw tw_timer_handler /proc/kallsyms && want=yes
	expect_eq "check: TIME_WAIT timer symbol (/proc/kallsyms)" "$want (tw_timer_handler)" \
		"$(field "$out" "TIME_WAIT timer symbol")"
	expect_eq "check: tracefs" "$(yn test -d /sys/kernel/tracing/events)" \
		"$(field "$out" tracefs)"
	expect_eq "check: accept tracepoints" \
		"$(yn test -d /sys/kernel/tracing/events/syscalls/sys_exit_accept4)" \
		"$(field "$out" "accept tracepoints")"
	want="CAP_BPF $(has_cap 39), CAP_PERFMON $(has_cap 38), CAP_SYS_ADMIN $(has_cap 21)"
	want+=", CAP_SYS_RESOURCE $(has_cap 24)"
	expect_eq "check: capabilities (this shell's CapEff)" "$want" "$(field "$out" capabilities)"
	feat=$(field "$out" "will use")
	want='(tp_btf|tracepoint) backend, (slots|ring|perf) buffer, '
	want+='cookie (from the helper|read from the socket), TIME_WAIT (yes|no .*), '
	want+='accept owners (yes|no .*)'
	expect_match "check: will use: backend, buffer, cookie, TIME_WAIT, accept owners" "$want" \
		"$feat"
	expect_match "check: buffer size" \
		'([0-9]+ rings of [0-9]+ records|one ring buffer|[0-9]+ perf buffers), [0-9.]+ MiB' \
		"$(field "$out" "buffer size")" "$out"
	# A size given is shared by the slot rings (112-byte slots, a power of two each), with no
	# floor of the default's 1,024 records.
	local out64 size64 rings per=16
	out64=$("$TD" check --ringbuf-size 64K 2>&1)
	size64=$(field "$out64" "buffer size")
	if [[ $size64 =~ ^([0-9]+)\ rings\ of ]]; then
		rings=${BASH_REMATCH[1]}
		while [ $((per * 2 * 112 * rings)) -le 65536 ]; do per=$((per * 2)); done
		expect_eq "check --ringbuf-size 64K: the rings share it" \
			"$rings rings of $per records" "${size64%%,*}" "$out64"
	else
		expect_eq "check --ringbuf-size 64K: one ring buffer of it" \
			"one ring buffer, 0.1 MiB" "$size64" "$out64"
	fi
	# What trace says it uses is what check chose.
	new_ns check || { not_ok "check: cannot create a network namespace"; return; }
	if bg trace "$TD" trace -N "$INO" --no-seed; then
		stop "$PID" "check: trace"
		want="?"
		re='^([a-z_]+) backend, ([a-z]+) buffer,.*TIME_WAIT (yes|no).*accept owners (yes|no)'
		if [[ $feat =~ $re ]]; then
			want="${BASH_REMATCH[1]}, ${BASH_REMATCH[2]} buffer, "
			[ "${BASH_REMATCH[3]}" = yes ] || want+="no "
			want+=TIME_WAIT
			[ "${BASH_REMATCH[4]}" = yes ] && want+=", accept owners"
		fi
		expect_eq "check: trace uses what check chose" "($want)" \
			"$(grep -o '([^)]*)' "$RUN.trace.err" | head -1)"
	fi
	del_ns "$NS"
	out=$("$TD" check --backend tracepoint 2>&1)
	expect_match "check --backend tracepoint: forced, cookie read from the socket" \
		'tracepoint backend, [a-z]+ buffer, cookie read from the socket, .*' \
		"$(field "$out" "will use")" "$out"
	out=$("$TD" check --buffer perf 2>&1)
	expect_match "check --buffer perf: forced" '[a-z_]+ backend, perf buffer, .*' \
		"$(field "$out" "will use")" "$out"
	out=$("${NOBODY[@]}" --inh-caps=-all "$TD" check 2>&1)
	rc=$?
	expect_eq "check as nobody: exit 1" 1 "$rc" "$out"
	expect_eq "check as nobody: capabilities" \
		"CAP_BPF no, CAP_PERFMON no, CAP_SYS_ADMIN no, CAP_SYS_RESOURCE no" \
		"$(field "$out" capabilities)"
	expect_match "check as nobody: will use: nothing, and why" \
		'nothing: cannot trace: .*missing capabilities: CAP_BPF CAP_PERFMON .*' \
		"$(field "$out" "will use")"
}

# ================================================================================================
# e. Privileges. Without root and capabilities: exit 1 naming the missing ones. As nobody with
# only the capabilities the README documents: it traces, owners included. Once attached, no
# thread keeps any capability (capset is per thread: every /proc/PID/task/*/status is read).
# ================================================================================================
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
DOC_CAPS=+bpf,+perfmon,+dac_read_search,+sys_ptrace
# with_caps CAPS: set WITH to the setpriv command that runs a program as nobody with exactly
# CAPS (setpriv's +a,+b form) in its inheritable, ambient and bounding sets, as systemd's
# AmbientCapabilities= does. setpriv execs the program: its pid is tcpdwell's.
with_caps() {
	WITH=("${NOBODY[@]}" --inh-caps="-all,$1" --ambient-caps="$1" --bounding-set="-all,$1")
}
# thread_caps PID: "N threads: CapEff/CapPrm of each that is not zero", or "N threads: none".
thread_caps() {
	local t n=0 bad=""
	for t in /proc/"$1"/task/*; do
		n=$((n + 1))
		bad+=$(awk -v t="${t##*/}" '($1 == "CapEff:" || $1 == "CapPrm:") &&
			$2 != "0000000000000000" { printf " %s %s %s", t, $1, $2 }' "$t/status")
	done
	echo "$n threads:${bad:- none}"
}
part_privileges() {
	local out rc got cp
	LABEL=privileges
	RUN=$TMP/priv
	new_ns priv || { not_ok "privileges: cannot create a network namespace"; return; }
	# Runnable by nobody? (The tree may sit in a directory only root can enter.)
	if ! "${NOBODY[@]}" test -x "$TD"; then
		install -d -m 0755 "$TMP/bin" && chmod 0755 "$TMP" && cp "$TD" "$PEER1" "$TMP/bin/"
		NTD=$TMP/bin/tcpdwell
	else
		NTD=$TD
	fi
	out=$("${NOBODY[@]}" --inh-caps=-all timeout 10 "$NTD" trace -j -N "$INO" 2>"$RUN.none.err")
	rc=$?
	expect_eq "privileges: no capabilities: exit 1" 1 "$rc"
	expect_match "privileges: no capabilities: one line naming CAP_BPF and CAP_PERFMON" \
		'tcpdwell: failed to load BPF programs: .*missing capabilities: CAP_BPF CAP_PERFMON .*' \
		"$(cat "$RUN.none.err")"
	expect_eq "privileges: no capabilities: the JSON stream says it too" \
		"$(sed 's/^tcpdwell: //' "$RUN.none.err")" "$(jq -r 'select(.type == "error") |
		.message' <<<"$out")"
	with_caps +bpf
	"${WITH[@]}" timeout 10 "$NTD" trace -N "$INO" >/dev/null 2>"$RUN.bpf.err"
	rc=$?
	expect_eq "privileges: CAP_BPF only: exit 1" 1 "$rc"
	expect_match "privileges: CAP_BPF only: names the one missing" \
		'tcpdwell: failed to load BPF programs: .*missing capabilities: CAP_PERFMON .*' \
		"$(cat "$RUN.bpf.err")"

	# The documented set: it works, owners of accepted sockets included.
	with_caps "$DOC_CAPS"
	if bg caps "${WITH[@]}" "$NTD" trace -j -N "$INO"; then
		expect_match "privileges: documented capabilities: every feature" \
			"$TRACING_LINE" "$(grep tracing "$RUN.caps.err")"
		expect_match "privileges: documented capabilities: no thread keeps a capability" \
			'[1-9][0-9]* threads: none' "$(thread_caps "$PID")"
		expect_eq "privileges: documented capabilities: no new privileges" 1 \
			"$(awk '$1 == "NoNewPrivs:" { print $2 }' "/proc/$PID/status")"
		next_port
		got=$(in_ns timeout 10 "$PEER1" client-first 4 "$P")
		cp=$(jq -r .client_port <<<"$got")
		traced() {
			[ "$(jq -R -r --argjson p "$P" 'fromjson? | select(.type == "transition" and
				.new == "CLOSE" and (.lport == $p or .rport == $p) and .rport != 0) |
				.pid' "$RUN.caps.out" | sort | xargs)" = \
				"$(jq -r '[.server_pid, .client_pid] | sort | join(" ")' <<<"$got")" ]
		}
		wait_until 5 traced
		expect_eq "privileges: documented capabilities: both ends traced, with their owners" \
			"$(jq -r '[.server_pid, .client_pid] | sort | join(" ")' <<<"$got")" \
			"$(jq -R -r --argjson p "$P" 'fromjson? | select(.type == "transition" and
				.new == "CLOSE" and (.lport == $p or .rport == $p) and .rport != 0) |
				.pid' "$RUN.caps.out" | sort | xargs)" "client port $cp"
		stop "$PID" "privileges: documented capabilities"
		expect_eq "privileges: documented capabilities: exit 0 on SIGINT" 0 "$RC" \
			"$(cat "$RUN.caps.err")"
	fi

	# As root: every thread of trace drops everything once tracing.
	if bg root "$TD" trace -j -N "$INO" --no-seed; then
		expect_match "privileges: root: no thread of trace keeps a capability" \
			'[1-9][0-9]* threads: none' "$(thread_caps "$PID")"
		stop "$PID" "privileges: root trace"
	fi
	del_ns "$NS"
}

for part in loss recursion wakeup flood signals check privileges; do
	[[ $part =~ ^($ONLY)$ ]] && "part_$part"
done

echo "$ME: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
