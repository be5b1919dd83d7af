#!/bin/bash
# The differential soak: tests/integration/soakgen makes connections over loopback (IPv4 and
# IPv6, every close order) in a network namespace of its own, while tests/bench/storm churns
# connections in another namespace and two CPU hogs keep both CPUs busy, so that tcpdwell's
# programs nest in softirq and irq. Five paths trace the load namespace at once (-N): trace -j
# with the slot rings, --buffer ring, --buffer perf, --backend tracepoint, and record -o
# (replayed afterwards with trace -j -i). tests/integration/soakcheck then checks, per
# connection, the same transitions on every path, every chain whole, and every difference
# covered by a loss that path counted. A second phase runs the classic-tracepoint path alone (no
# other tracer makes the kernel assign cookies: connections are known by tuple and order) and
# checks its chains.
# Needs root. Usage: soak.sh [--short] [--keep] [--ftrace] [-n CONNECTIONS] [-s SEED]
# TD_SOAK_TRACER_ARGS: more options for every tracer of the first phase (e.g. --no-timewait).
#   --short  the short form (TD_SOAK_SHORT=1 too): 30,000 connections, then 10,000
#            alone, under 90 s; default: 1,000,000 connections, then 200,000 alone
#   --ftrace also keep the kernel's own trace of the state tracepoint on the soak's ports (a
#            tracefs instance: ground truth for a record every path is missing)
# Prints one summary line per phase ("soak: ..."); exit 1 on any unexplained difference or
# broken chain, with the raw files kept and their directory named.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
ME=soak
SHORT=${TD_SOAK_SHORT:-0}
KEEP=0
FTRACE=0
SEED=${TD_SOAK_SEED:-$(($(date +%s) % 100000))}
N=""
while [ $# -gt 0 ]; do
	case $1 in
	--short) SHORT=1; shift ;;
	--keep) KEEP=1; shift ;;
	--ftrace) FTRACE=1; shift ;;
	-n) N=$2; shift 2 ;;
	-s) SEED=$2; shift 2 ;;
	*) echo "usage: $0 [--short] [--keep] [--ftrace] [-n CONNECTIONS] [-s SEED]" >&2; exit 2 ;;
	esac
done
if [ "$SHORT" = 1 ]; then
	N=${N:-30000} N_ALONE=10000 MAX_S=40
else
	N=${N:-1000000} N_ALONE=200000 MAX_S=1500
fi
[[ $N =~ ^[1-9][0-9]*$ ]] || { echo "$ME: bad connection count '$N'" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "$ME: bad seed '$SEED'" >&2; exit 2; }

TD=$OUTPUT/tcpdwell
GEN=$OUTPUT/tests/soakgen
CHECK=$OUTPUT/tests/soakcheck
STORM=$OUTPUT/storm
[ "$(id -u)" = 0 ] || { echo "$ME: needs root (loads BPF programs)" >&2; exit 1; }
for f in "$TD" "$GEN" "$CHECK" "$STORM"; do
	[ -x "$f" ] || { echo "$ME: $f missing: run make soak" >&2; exit 1; }
done
command -v ip >/dev/null || { echo "$ME: ip (iproute2) missing" >&2; exit 1; }

TMP=$(mktemp -d "/tmp/tdwell-$ME.XXXXXX")
FAILED=0
BG=() # processes this script started and has not reaped
NSES=()

# del_ns NAME: end what is left running in namespace NAME, then delete it.
del_ns() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$1" 2>/dev/null
}
FT=""
cleanup() {
	local p ns
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	[ -z "$FT" ] || { echo 0 >"$FT/tracing_on"; rmdir "$FT"; } 2>/dev/null
	for ns in "${NSES[@]}"; do del_ns "$ns"; done
	if [ "$KEEP" = 1 ] || [ "$FAILED" != 0 ]; then
		echo "# $ME: raw files kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# reaped PID: forget PID (waited for: its number may be anyone's now).
reaped() {
	local p keep=()
	for p in "${BG[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BG=("${keep[@]}")
}
fail() {
	FAILED=$((FAILED + 1))
	echo "$ME: FAIL: $*"
}
now_s() { date +%s; }
# wait_until SECONDS CMD...: poll CMD every 100 ms until it succeeds; 1 if SECONDS pass first.
wait_until() {
	local deadline=$(($(now_s) + $1))
	shift
	until "$@"; do
		[ "$(now_s)" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

# new_ns NAME: a namespace with loopback up; sets NS and INO (its inode, for -N).
new_ns() {
	NS=td-$ME-$$-$1
	ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || return 1
	NSES+=("$NS")
	INO=$(stat -L -c %i "/run/netns/$NS")
}

# start_path NAME ARGS...: tcpdwell ARGS with its stdout reduced by soakcheck into
# $TMP/NAME.tsv (stderr in $TMP/NAME.err); sets PID_<NAME> and RPID_<NAME>. 1 if it does not
# say it is tracing within 30 s.
start_path() {
	local name=$1 pid
	shift
	mkfifo "$TMP/$name.fifo"
	"$CHECK" reduce <"$TMP/$name.fifo" >"$TMP/$name.tsv" &
	BG+=("$!")
	printf -v "RPID_$name" %s "$!"
	"$TD" "$@" >"$TMP/$name.fifo" 2>"$TMP/$name.err" &
	pid=$!
	BG+=("$pid")
	printf -v "PID_$name" %s "$pid"
	wait_until 30 grep -qs "tcpdwell: \(tracing\|recording\)" "$TMP/$name.err" && return 0
	fail "$name (tcpdwell $*) does not start tracing within 30 s: $(cat "$TMP/$name.err")"
	return 1
}

# stop_pid PID WHAT [SIGNAL]: signal it (INT) and wait at most 60 s for its exit status 0.
stop_pid() {
	local st
	kill "-${3:-INT}" "$1" 2>/dev/null
	if wait_until 60 eval "! kill -0 $1 2>/dev/null"; then
		wait "$1"
		st=$?
		reaped "$1"
		[ "$st" = 0 ] || [ -n "${3:-}" ] || fail "$2 exits with status $st"
	else
		fail "$2 does not exit within 60 s of SIG${3:-INT}"
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		reaped "$1"
	fi
}

# stop_path NAME: SIGINT the tracer, then wait (60 s at most) for its reducer to drain the pipe
# and exit 0.
stop_path() {
	local p=PID_$1 r=RPID_$1 st
	stop_pid "${!p}" "$1"
	if wait_until 60 eval "! kill -0 ${!r} 2>/dev/null"; then
		wait "${!r}"
		st=$?
		[ "$st" = 0 ] || fail "$1's reducer exits with status $st"
	else
		fail "$1's reducer does not end within 60 s of its input"
		kill -KILL "${!r}" 2>/dev/null
		wait "${!r}" 2>/dev/null
	fi
	reaped "${!r}"
}

# has_marker FILE: FILE (reduced) holds a marker's refused connect ending in CLOSE.
has_marker() {
	awk -F'\t' -v m="$MARKER" '$1 == "T" && $6 == m && $8 == "CLOSE" { f = 1; exit }
		END { exit !f }' "$1"
}
# all_markers PATH...: each path has shown a marker (the recording: its replay so far).
all_markers() {
	local name
	for name in "$@"; do
		if [ "$name" = record ]; then
			"$TD" trace -j -i "$TMP/record.tdr" 2>"$TMP/replay.err" |
				"$CHECK" reduce >"$TMP/replay.tsv"
			has_marker "$TMP/replay.tsv" || return 1
		else
			has_marker "$TMP/$name.tsv" || return 1
		fi
	done
}

# load_start: the storm in a namespace of its own and two CPU hogs at the lowest priority.
load_start() {
	local ns_keep=$NS ino_keep=$INO
	new_ns storm || { fail "cannot create the storm's namespace"; return 1; }
	STORM_NS=$NS
	ip netns exec "$NS" "$STORM" -t 1 -s 1 -d 3600 -c client -S 8 >"$TMP/storm.out" 2>&1 &
	STORM_PID=$!
	BG+=("$STORM_PID")
	HOGS=()
	for _ in 1 2; do
		nice -n 19 bash -c 'while :; do :; done' &
		HOGS+=("$!")
		BG+=("$!")
	done
	NS=$ns_keep INO=$ino_keep
}
load_stop() {
	local p
	for p in "${HOGS[@]}"; do stop_pid "$p" "CPU hog" TERM; done
	stop_pid "$STORM_PID" storm TERM
	del_ns "$STORM_NS"
}

# run_gen N PATH...: soakgen in the load namespace (GEN_RATE: connections begun a second, at
# most) until its load is over (its JSON line in
# $TMP/gen.json: sets CONNECTS and MARKER), then, once each PATH (and the recording, when
# "record" is one) has shown one of its markers, SIGUSR1 ends its markers; sets MARKERS.
run_gen() {
	local n=$1 gen st
	shift
	ip netns exec "$NS" "$GEN" -n "$n" -d "$MAX_S" -t 4 -s "$SEED" ${GEN_RATE:+-r "$GEN_RATE"} \
		>"$TMP/gen.json" 2>"$TMP/gen.err" &
	gen=$!
	BG+=("$gen")
	load_over() { grep -qs '"type":"soakgen"' "$TMP/gen.json" || ! kill -0 "$gen" 2>/dev/null; }
	wait_until $((MAX_S + 60)) load_over
	CONNECTS=$(sed -n 's/.*"type":"soakgen".*"connections":\([0-9]*\).*/\1/p' "$TMP/gen.json")
	MARKER=$(sed -n 's/.*"marker_port":\([0-9]*\).*/\1/p' "$TMP/gen.json")
	if [ -n "$MARKER" ]; then
		echo "# $ME: soakgen: $(head -1 "$TMP/gen.json")"
		wait_until 120 all_markers "$@" || fail "not every path showed a marker within 120 s"
	fi
	kill -USR1 "$gen" 2>/dev/null
	if wait_until 30 eval "! kill -0 $gen 2>/dev/null"; then
		wait "$gen"
		st=$?
	else
		kill -KILL "$gen" 2>/dev/null
		wait "$gen" 2>/dev/null
		st=timeout
	fi
	reaped "$gen"
	MARKERS=$(sed -n 's/.*"markers":\([0-9]*\).*/\1/p' "$TMP/gen.json")
	if [ "$st" != 0 ] || [ -z "$MARKERS" ] || [ -z "$CONNECTS" ]; then
		fail "soakgen failed (status $st): $(cat "$TMP/gen.err")"
		MARKER=""
		return 1
	fi
}

# caught_up PATH...: each path has shown every marker or counted at least as many losses as it
# is missing (the recording: its replay so far).
caught_up() {
	local name f
	for name in "$@"; do
		f=$TMP/$name.tsv
		if [ "$name" = record ]; then
			"$TD" trace -j -i "$TMP/record.tdr" 2>"$TMP/replay.err" |
				"$CHECK" reduce >"$TMP/replay.tsv"
			f=$TMP/replay.tsv
		fi
		awk -F'\t' -v m="$MARKER" -v want="$MARKERS" '
			$1 == "T" && $6 == m && $8 == "CLOSE" { n++ }
			$1 == "L" && $2 + $3 > lost { lost = $2 + $3 }
			END { exit !(n + lost >= want) }' "$f" || return 1
	done
}

PATHS=(slots ring perf tracepoint)

# ftrace_start: the state tracepoint on soakgen's ports (15000-15032) into a tracefs instance.
ftrace_start() {
	FT=/sys/kernel/tracing/instances/td-$ME-$$
	mkdir "$FT" || { fail "cannot create $FT"; FT=""; return 1; }
	echo 262144 >"$FT/buffer_size_kb"
	echo '(sport >= 15000 && sport <= 15032) || (dport >= 15000 && dport <= 15032)' \
		>"$FT/events/sock/inet_sock_set_state/filter"
	echo 1 >"$FT/events/sock/inet_sock_set_state/enable"
}
ftrace_stop() {
	[ -n "$FT" ] || return 0
	echo 0 >"$FT/tracing_on"
	cp "$FT/trace" "$TMP/ftrace.txt"
	echo "# $ME: the kernel's trace: $TMP/ftrace.txt ($(grep -c inet_sock_set_state \
		"$TMP/ftrace.txt") events; overruns: $(grep -h overrun "$FT"/per_cpu/*/stats |
		awk '{ s += $2 } END { print s }'))"
	rmdir "$FT"
	FT=""
}

# bpf_counters NAME: what the kernel counted for that tracer, into $TMP/NAME.bpf: its programs'
# run counts and recursion misses (bpftool) and its counters map (buffer full, records the
# catcher made), as evidence beside the verdict.
bpf_counters() {
	local p=PID_$1 fd id
	for fd in /proc/"${!p}"/fd/*; do
		case $(readlink "$fd") in
		anon_inode:bpf-map)
			id=$(awk '$1 == "map_id:" { print $2 }' "/proc/${!p}/fdinfo/${fd##*/}")
			[ "$(bpftool map show id "$id" -j 2>/dev/null | jq -r .name)" = counters ] &&
				bpftool map dump id "$id" -j | jq -c 'map({key: .formatted.key,
					sum: ([.formatted.values[].value] | add)})' | sed 's/^/counters /'
			;;
		anon_inode:bpf-prog)
			id=$(awk '$1 == "prog_id:" { print $2 }' "/proc/${!p}/fdinfo/${fd##*/}")
			bpftool prog show id "$id" -j 2>/dev/null |
				jq -c '{name, run_cnt, recursion_misses}'
			;;
		esac
	done >"$TMP/$1.bpf" 2>&1
}

# ---- phase 1: five paths at once --------------------------------------------------------------
phase_all() {
	new_ns load || { fail "cannot create a network namespace"; return; }
	local common=(-N "$INO" --no-seed ${TD_SOAK_TRACER_ARGS:-}) name
	# The slot rings' tracer keeps its records too (-w): a failing run's files then hold each
	# record's flags (TD_F_CAUGHT: made by the catcher) and the order the tracer got them in.
	start_path slots trace -j -w "$TMP/slots.tdr" "${common[@]}" &&
		start_path ring trace -j --buffer ring "${common[@]}" &&
		start_path perf trace -j --buffer perf "${common[@]}" &&
		start_path tracepoint trace -j --backend tracepoint "${common[@]}" &&
		start_path record record -o "$TMP/record.tdr" "${common[@]}" || return
	[ "$FTRACE" = 0 ] || ftrace_start || return
	load_start || return
	run_gen "$N" "${PATHS[@]}" record
	load_stop
	[ -n "${MARKER:-}" ] || return
	# Stopped once each has caught up with the last marker.
	wait_until 120 caught_up "${PATHS[@]}" record ||
		fail "not every path caught up with the last marker within 120 s"
	ftrace_stop
	for name in "${PATHS[@]}" record; do bpf_counters "$name"; done
	for name in "${PATHS[@]}" record; do stop_path "$name"; done
	"$TD" trace -j -i "$TMP/record.tdr" 2>"$TMP/replay.err" | "$CHECK" reduce >"$TMP/replay.tsv"
	[ -s "$TMP/replay.err" ] && echo "# $ME: replay said: $(cat "$TMP/replay.err")"
	# The markers are connects too.
	"$CHECK" compare --marker "$MARKER" --connects $((CONNECTS + MARKERS)) slots="$TMP/slots.tsv" \
		ring="$TMP/ring.tsv" perf="$TMP/perf.tsv" tracepoint="$TMP/tracepoint.tsv" \
		record="$TMP/replay.tsv" | tee "$TMP/compare.out"
	if [ "${PIPESTATUS[0]}" = 0 ]; then
		checker_can_fail
	else
		fail "phase 1: the paths differ or a chain broke"
		raw_records
	fi
	mkdir -p "$TMP/phase1" && mv "$TMP"/*.tsv "$TMP"/*.err "$TMP"/*.json "$TMP"/*.bpf \
		"$TMP/phase1/"
	rm -f "$TMP"/*.fifo
}

# raw_records: the recording's own items (tests/integration/tdrdump: kernel records as they
# came, timewait timer records included) of the offending connections compare.out names, into
# $TMP/offending.tdr.json, and printed.
raw_records() {
	local cookies
	[ -x "$OUTPUT/tests/tdrdump" ] || return 0
	cookies=$(awk -F'\t' '$1 == "#     T" { print $3 }' "$TMP/compare.out" | sort -u | paste -sd'|')
	[ -n "$cookies" ] || return 0
	"$OUTPUT/tests/tdrdump" "$TMP/record.tdr" 2>/dev/null |
		grep -E "\"cookie\":($cookies)[,}]" >"$TMP/offending.tdr.json"
	echo "# $ME: the recording's items of those connections ($TMP/offending.tdr.json):"
	sed 's/^/#   /' "$TMP/offending.tdr.json"
	"$OUTPUT/tests/tdrdump" "$TMP/slots.tdr" 2>/dev/null |
		grep -E "\"cookie\":($cookies)[,}]" >"$TMP/offending.slots.json"
	echo "# $ME: the slot rings' tracer's records of those connections ($TMP/offending.slots.json):"
	sed 's/^/#   /' "$TMP/offending.slots.json"
}

# checker_can_fail (after a passing comparison): the checker must fail on a copy of the slot
# rings' output with one transition taken out (a FIN_WAIT1 -> FIN_WAIT2, the record the issue
# saw go missing), and pass again once that copy counts a lost record.
checker_can_fail() {
	local line out want
	line=$(awk -F'\t' '$1 == "T" && $7 == "FIN_WAIT1" && $8 == "FIN_WAIT2" { print NR; exit }' \
		"$TMP/slots.tsv")
	[ -n "$line" ] || {
		fail "self-check: no FIN_WAIT1 -> FIN_WAIT2 in the slot rings' output"
		return
	}
	sed "${line}d" "$TMP/slots.tsv" >"$TMP/cut.tsv"
	out=$("$CHECK" compare --marker "$MARKER" --connects $((CONNECTS + MARKERS)) \
		slots="$TMP/slots.tsv" cut="$TMP/cut.tsv")
	want='cut: .* 1 missing, 0 conflicting, 1 chain breaks, 0 lost \(UNEXPLAINED\).*verdict FAIL'
	[[ $out =~ $want ]] ||
		fail "self-check: one record taken out is not reported: $(head -1 <<<"$out")"
	printf 'L\t0\t1\n' >>"$TMP/cut.tsv"
	out=$("$CHECK" compare --marker "$MARKER" --connects $((CONNECTS + MARKERS)) \
		slots="$TMP/slots.tsv" cut="$TMP/cut.tsv")
	[[ $out == *"verdict PASS"* ]] ||
		fail "self-check: one record taken out with one loss counted fails: $(head -1 <<<"$out")"
	rm -f "$TMP/cut.tsv"
}

# ---- phase 2: the classic tracepoint alone ---------------------------------------------------
phase_alone() {
	new_ns alone || { fail "cannot create a network namespace"; return; }
	start_path alone trace -j --backend tracepoint -N "$INO" --no-seed || return
	load_start || return
	# At the pace the five paths kept in phase 1: one tracer alone falls behind a loopback
	# storm of its own (53,000 losses of 1.8 million in 16 s), and losses excuse breaks.
	GEN_RATE=2000 run_gen "$N_ALONE" alone
	load_stop
	[ -n "${MARKER:-}" ] || return
	wait_until 120 caught_up alone ||
		fail "the classic path did not catch up with the last marker within 120 s"
	stop_path alone
	"$CHECK" compare --marker "$MARKER" --connects $((CONNECTS + MARKERS)) \
		tracepoint-alone="$TMP/alone.tsv" | tee "$TMP/alone.out"
	[ "${PIPESTATUS[0]}" = 0 ] || fail "phase 2: a chain of the classic path alone broke"
}

echo "# $ME: seed $SEED, $N connections, then $N_ALONE with the classic tracepoint alone"
phase_all
phase_alone
if [ "$FAILED" = 0 ]; then
	echo "$ME: PASS"
else
	echo "$ME: $FAILED failure(s)"
fi
[ "$FAILED" = 0 ]
