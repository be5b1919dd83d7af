#!/bin/bash
# tcpdwell benchmark: the loopback connection storm (storm.c) run with no tracer, under each
# tcpdwell mode and under libbpf-tools' tcpstates, interleaved round by round on the same machine
# so that every ratio compares runs minutes apart, never days. Per run it records connections/s,
# lost records, the tracer's CPU time and its peak RSS; after the rounds, more runs per tracer
# (interleaved) with kernel.bpf_stats_enabled measure its BPF programs' run time (the statistics
# cost two clock reads per program run: the rounds do not pay for them, as a production host does
# not). A hold run measures tcpdwell's memory with 100,000 connections open.
# Writes build/bench/results.md and results.json and prints the table. Needs root.
set -uo pipefail

usage() {
	cat <<EOF
usage: bench.sh [OPTIONS]
  --rounds N          interleaved rounds, each runs every mode once (default 5)
  --cost-rounds N     interleaved rounds of the tracers with BPF statistics on, which give the
                      BPF cost (default 3)
  --seconds S         storm duration of each run (default 5)
  --quick             smoke run: 2 rounds of 2 s, 1 cost round, hold 20000 connections
  --modes LIST        comma-separated, in run order (default none,stat,stat-accept,trace,
                      timeline,tcpstates; stat-accept: tcpdwell stat --accept, the accept
                      tracepoints on; stat-by: tcpdwell stat --by lport, which reads what
                      each connection carried;
                      also stat-notw: tcpdwell stat --no-timewait)
  --hold N            connections held open under 'tcpdwell stat' (default 100000, 0: skip)
  --replay N          replay speed: 'tcpdwell stat -i' of a synthetic recording of N connection
                      lives (default 500000, about 3.2M records; 0: skip), 9 runs on one CPU
  --closer SIDE       which side closes first in the storm: server (default) or client; reset:
                      the client, with a reset (SO_LINGER 0): every connection sends one
  -6                  IPv6 storm (default IPv4)
  --threads N         storm client threads (default 2)
  --server-threads N  storm server threads (default 2)
  --keep              keep the tracers' output files in build/bench/run/
  --no-build          use the tcpdwell binary already built (storm is still built)
The tracers' programs are told apart from anything else loaded by the prog_id lines in
/proc/PID/fdinfo of the tracer process; the sysctls changed here are put back at exit.
EOF
}

cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
STORM=$OUTPUT/storm
OUT=$OUTPUT/bench
RUN=$OUT/run

ROUNDS=5
COST_ROUNDS=3
SECS=5
MODES=none,stat,stat-accept,trace,timeline,tcpstates
HOLD=100000
REPLAY=500000
CLOSER=server
FAMILY=4
THREADS=2
SERVERS=2
KEEP=0
BUILD=1
ARGS_GIVEN="$*"
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift ;;
	--cost-rounds) COST_ROUNDS=${2:?}; shift ;;
	--seconds) SECS=${2:?}; shift ;;
	--quick) ROUNDS=2; COST_ROUNDS=1; SECS=2; HOLD=20000; REPLAY=50000 ;;
	--modes) MODES=${2:?}; shift ;;
	--hold) HOLD=${2:?}; shift ;;
	--replay) REPLAY=${2:?}; shift ;;
	--closer) CLOSER=${2:?}; shift ;;
	-6) FAMILY=6 ;;
	--threads) THREADS=${2:?}; shift ;;
	--server-threads) SERVERS=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	--no-build) BUILD=0 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

die() {
	echo "bench: $*" >&2
	exit 1
}
note() {
	echo "bench: $*" >&2
}

[ "$(id -u)" = 0 ] || die "needs root (BPF programs, sysctls, 200,000 open files)"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer, not '$ROUNDS'"
[[ $COST_ROUNDS =~ ^[1-9][0-9]*$ ]] ||
	die "--cost-rounds must be a positive integer, not '$COST_ROUNDS'"
[[ $SECS =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--seconds must be a number"
[[ $HOLD =~ ^[0-9]+$ ]] || die "--hold must be a number"
[[ $REPLAY =~ ^[0-9]+$ ]] || die "--replay must be a number"
[[ $CLOSER =~ ^(client|server|reset)$ ]] || die "--closer is client, server or reset"
IFS=, read -ra MODE_LIST <<<"$MODES"
NEED_TD=0
for m in "${MODE_LIST[@]}"; do
	case $m in
	none | tcpstates) ;;
	stat | stat-notw | stat-accept | stat-by | trace | timeline) NEED_TD=1 ;;
	*) die "unknown mode '$m' (none, stat, stat-notw, stat-accept, stat-by, trace, timeline, tcpstates)" ;;
	esac
done
[ "$HOLD" -gt 0 ] && NEED_TD=1
[ "$REPLAY" -gt 0 ] && NEED_TD=1

for t in jq bpftool make cc ss; do
	command -v $t >/dev/null || die "$t is missing (make deps installs it)"
done
if [ "$REPLAY" -gt 0 ] && [ ! -x /usr/bin/time ]; then
	note "installing time (for the replay runs)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time \
		>/dev/null || die "cannot install time"
fi
TCPSTATES=$(command -v tcpstates || echo /usr/sbin/tcpstates)
if [[ ,$MODES, == *,tcpstates,* ]] && [ ! -x "$TCPSTATES" ]; then
	note "installing libbpf-tools (for tcpstates)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbpf-tools \
		>/dev/null || die "cannot install libbpf-tools"
	TCPSTATES=$(command -v tcpstates || echo /usr/sbin/tcpstates)
	[ -x "$TCPSTATES" ] || die "libbpf-tools has no tcpstates"
fi

make --no-print-directory -s OUTPUT="$OUTPUT" "$STORM" || die "cannot build $STORM"
if [ $NEED_TD = 1 ] && [ $BUILD = 1 ]; then
	make --no-print-directory -s OUTPUT="$OUTPUT" all ||
		die "cannot build tcpdwell (a baseline without it: --modes none,tcpstates --hold 0)"
fi
[ $NEED_TD = 0 ] || [ -x "$TD" ] || die "$TD is missing"

mkdir -p "$OUT"
rm -rf "$RUN"
mkdir -p "$RUN"
CLK_TCK=$(getconf CLK_TCK)
TRACER_PID=
HOLD_PID=
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
OLD_REUSE=$(sysctl -n net.ipv4.tcp_tw_reuse)

cleanup() {
	[ -n "$HOLD_PID" ] && kill -TERM "$HOLD_PID" 2>/dev/null
	[ -n "$TRACER_PID" ] && kill -INT "$TRACER_PID" 2>/dev/null
	[ -n "$HOLD_PID$TRACER_PID" ] && sleep 1 && {
		[ -n "$HOLD_PID" ] && kill -KILL "$HOLD_PID" 2>/dev/null
		[ -n "$TRACER_PID" ] && kill -KILL "$TRACER_PID" 2>/dev/null
	}
	sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS" net.ipv4.tcp_tw_reuse="$OLD_REUSE"
	[ $KEEP = 1 ] || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
sysctl -qw kernel.bpf_stats_enabled=0 net.ipv4.tcp_tw_reuse=1 || die "cannot set sysctls"

# First of COUNT consecutive loopback ports from BASE on that nothing listens.
free_ports() { # BASE COUNT
	local p=$1
	while [ "$p" -lt $(($1 + 200)) ]; do
		if [ -z "$(ss -Htln "( sport >= :$p and sport < :$(($p + $2)) )")" ]; then
			echo "$p"
			return 0
		fi
		p=$(($p + $2))
	done
	return 1
}
STORM_PORT=$(free_ports 9970 4) || die "no free loopback ports near 9970"
STORM_ARGS=(-t "$THREADS" -s "$SERVERS" -c "$CLOSER" -"$FAMILY" -p "$STORM_PORT" -P 4)

# Other tracers on the same tracepoint slow every run, the 'none' ones included: say so now
# (each run also counts them, and results.md carries the warning).
FOREIGN=$(bpftool prog show -j | jq '[.[] | select((.name // "") |
	test("^td_.*state|^handle_set_state$"))] | length')
if [ "$FOREIGN" -gt 0 ]; then
	note "warning: other tracers' state programs are already loaded ($FOREIGN; processes:" \
		"$(pgrep -x 'tcpdwell|tcpstates' | paste -sd' ' -)): all runs will be slower"
fi

# CPU time (utime + stime, in clock ticks) of a process, all its threads included.
cpu_ticks() { # PID
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}

status_kb() { # PID FIELD
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# The BPF programs a process holds (prog_id lines of its fdinfo), comma-separated.
prog_ids_of() { # PID
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un |
		paste -sd, -
}

# bpf_stats of the programs IDS whose name starts with PREFIX, as a JSON array, and in
# .foreign the number of other tracers' state programs loaded (tcpdwell's or tcpstates').
prog_stats() { # IDS PREFIX
	bpftool prog show -j | jq -c --arg ids "$1" --arg pfx "$2" '
		($ids | split(",") | map(select(length > 0) | tonumber)) as $want
		| {progs: [.[] | select((.id as $i | $want | index($i)) and
					((.name // "") | startswith($pfx)))
			   | {id, name: (.name // ""), cnt: (.run_cnt // 0),
			      ns: (.run_time_ns // 0), misses: (.recursion_misses // 0)}],
		   foreign: [.[] | select((.id as $i | $want | index($i) | not) and ((.name // "")
			| test("^td_.*state|^handle_set_state$")))] | length}'
}

# Poll COMMAND until it succeeds (0) or gives up (2: what it waits for is dead), at most SECONDS.
wait_for() { # SECONDS COMMAND...
	local end=$(($(date +%s%N) + ${1%.*} * 1000000000)) rc
	shift
	while :; do
		"$@"
		rc=$?
		[ $rc = 0 ] || [ $rc = 2 ] && return $rc
		[ "$(date +%s%N)" -ge $end ] && return 1
		sleep 0.05
	done
}

td_ready() { # ERRFILE PID
	grep -q 'tcpdwell: tracing' "$1" && return 0
	kill -0 "$2" 2>/dev/null || return 2
	return 1
}

# tcpstates prints nothing we can wait for (its stdout is a file): it is ready when its
# program has run for a state change of ours.
tcpstates_ready() { # PID
	local ids
	kill -0 "$1" 2>/dev/null || return 2
	ids=$(prog_ids_of "$1")
	[ -n "$ids" ] || return 1
	# Its program runs once attached: counted only with BPF statistics on, for this probe.
	sysctl -qw kernel.bpf_stats_enabled=1
	"$STORM" -d 0.05 -t 1 -s 1 -p "$STORM_PORT" -P 1 >/dev/null 2>&1
	local runs
	runs=$(prog_stats "$ids" "" | jq '[.progs[] | .cnt] | add // 0')
	[ "$COST_RUN" = 1 ] || sysctl -qw kernel.bpf_stats_enabled=0
	[ "$runs" -gt 0 ]
}

# Wait until the tracer has caught up (its CPU time stops growing), at most 10 s.
quiesce() { # PID
	local prev=-1 cur same=0 n=0
	while [ $n -lt 100 ]; do
		cur=$(cpu_ticks "$1") || return 1
		if [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0
		fi
		prev=$cur
		n=$((n + 1))
		sleep 0.1
	done
	return 1
}

# Send SIGINT and reap, at most SECONDS; SIGKILL after that. Returns the exit status.
stop_tracer() { # PID SECONDS
	local i=0 rc
	kill -INT "$1" 2>/dev/null
	while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 20)) ]; do
		sleep 0.05
		i=$((i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		note "tracer $1 did not exit within $2 s of SIGINT: killed"
		kill -KILL "$1" 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	rc=$?
	TRACER_PID=
	return $rc
}

evicted_of() { # ERRFILE
	sed -nE 's/^tcpdwell: ([0-9]+) connections evicted.*/\1/p' "$1" | tail -1
}

# Lost records as the tracer reported them: "RINGBUF RECURSION", or "null null" if it did not.
lost_of() { # MODE OUTFILE ERRFILE
	local l
	case $1 in
	stat | stat-notw | stat-accept | stat-by)
		l=$(grep -a '^LOST ' "$2" | tail -1)
		if [[ $l =~ ^LOST\ 0\ records ]]; then
			echo "0 0"
		elif [[ $l =~ ([0-9]+)\ ring\ buffer\ full,\ ([0-9]+)\ skipped ]]; then
			echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
		else
			echo "null null"
		fi
		;;
	trace | timeline)
		l=$(grep -aE '"type": *"lost"' "$2" | tail -1)
		if [ -n "$l" ]; then
			jq -r '"\(.ringbuf) \(.recursion)"' <<<"$l"
		else
			echo "0 0"
		fi
		;;
	tcpstates)
		# perf buffer losses are printed on stderr ("lost N events on CPU #C")
		grep -aoE 'lost [0-9]+ events' "$3" | awk '{ n += $2 } END { print n + 0 }'
		;;
	esac
}

run_one() { # MODE ROUND
	# ROUND "cost": a run with kernel.bpf_stats_enabled, after the rounds
	local mode=$1 r=$2 cmd=() pfx="" out="$RUN/$1.$2.out" err="$RUN/$1.$2.err" cost=false
	COST_RUN=0
	[ "$r" = cost ] && cost=true && r=0 && COST_RUN=1 && sysctl -qw kernel.bpf_stats_enabled=1
	local ids="" a='{"progs":[]}' b t0=0 t1=0 hwm=0 storm rc st rb=0 rec=0 bytes=0 evicted=0
	local ok=true why="" info=""

	case $mode in
	stat) cmd=("$TD" stat) ;;
	stat-notw) cmd=("$TD" stat --no-timewait) ;;
	stat-accept) cmd=("$TD" stat --accept) ;;
	stat-by) cmd=("$TD" stat --by lport) ;;
	trace) cmd=("$TD" trace -j) ;;
	timeline) cmd=("$TD" timeline -j) ;;
	tcpstates) cmd=("$TCPSTATES") ;;
	esac
	[ "$mode" = tcpstates ] || pfx=td_
	if [ ${#cmd[@]} -gt 0 ]; then
		"${cmd[@]}" >"$out" 2>"$err" &
		TRACER_PID=$!
		if [ "$mode" = tcpstates ]; then
			wait_for 10 tcpstates_ready "$TRACER_PID"
		else
			wait_for 10 td_ready "$err" "$TRACER_PID"
		fi
		st=$?
		if [ $st != 0 ]; then
			stop_tracer "$TRACER_PID" 5
			die "$mode did not start within 10 s: $(head -c 600 "$err")"
		fi
		ids=$(prog_ids_of "$TRACER_PID")
		a=$(prog_stats "$ids" "$pfx")
		t0=$(cpu_ticks "$TRACER_PID")
		info=$(grep -a -m1 '^tcpdwell: tracing' "$err")
	fi

	storm=$(timeout $((${SECS%.*} + 40)) "$STORM" -d "$SECS" "${STORM_ARGS[@]}" \
		2>"$RUN/storm.err")
	rc=$?
	if [ $rc != 0 ] || [ -z "$storm" ]; then
		ok=false
		why="storm failed ($rc): $(head -c 300 "$RUN/storm.err")"
		storm='{"connections":0,"connections_per_s":0,"errors":0}'
	fi

	b=$a
	if [ -n "$TRACER_PID" ]; then
		quiesce "$TRACER_PID" || note "$mode was still busy 10 s after the storm"
		t1=$(cpu_ticks "$TRACER_PID")
		hwm=$(status_kb "$TRACER_PID" VmHWM)
		b=$(prog_stats "$ids" "$pfx")
		if ! stop_tracer "$TRACER_PID" 30; then
			ok=false
			why="$mode failed: $(grep -av '^tcpdwell: tracing' "$err" | head -c 300)"
		fi
		if [ "$mode" = tcpstates ]; then
			rb=$(lost_of tcpstates "$out" "$err")
			rec=null # from recursion_misses below
		else
			read -r rb rec <<<"$(lost_of "$mode" "$out" "$err")"
		fi
		bytes=$(stat -c %s "$out")
		evicted=$(evicted_of "$err")
		[ $KEEP = 1 ] || rm -f "$out"
	else
		b=$(prog_stats "" "-")
	fi

	jq -c -n --arg mode "$mode" --argjson round "$r" --argjson storm "$storm" \
		--argjson a "$a" --argjson b "$b" --argjson ticks $((t1 - t0)) \
		--argjson hz "$CLK_TCK" \
		--argjson hwm "${hwm:-0}" --argjson rb "$rb" --argjson rec "$rec" \
		--argjson bytes "$bytes" --argjson evicted "${evicted:-0}" --argjson ok $ok \
		--arg why "$why" --arg pfx "$pfx" --arg info "$info" --argjson cost $cost '
		$b.foreign as $foreign | $a.progs as $a | $b.progs as $b
		| def delta(f): [$b[] as $x | ($a[] | select(.id == $x.id) | f) as $old
			| ($x | f) - $old] | add // 0;
		# One state change runs every program attached to inet_sock_set_state once (in
		# tcpdwell those have "state" in their name): the state-change count is the largest
		# run count among them.
		([$b[] as $x | $a[] | select(.id == $x.id) |
			select($pfx == "" or (.name | test("state"))) |
			$x.cnt - .cnt] | max // 0) as $events
		| (delta(.misses)) as $misses
		| {mode: $mode, round: $round, cost: $cost, ok: $ok, error: $why, tracer_info: $info,
		   other_tracers: $foreign,
		   conns_per_s: $storm.connections_per_s, connections: $storm.connections,
		   storm_errors: $storm.errors,
		   programs: [$b[] | .name],
		   per_program: [$b[] as $x | $a[] | select(.id == $x.id)
				 | {name: $x.name, runs: ($x.cnt - .cnt), ns: ($x.ns - .ns)}],
		   events: $events, prog_runs: delta(.cnt), prog_ns: delta(.ns),
		   recursion_misses: $misses,
		   cpu_s: (if $mode == "none" then null else $ticks / $hz end),
		   peak_rss_kb: (if $mode == "none" then null else $hwm end),
		   output_bytes: $bytes,
		   evicted: $evicted,
		   lost_ringbuf: $rb,
		   lost_recursion: (if $mode == "tcpstates" then $misses else $rec end)}
		| .lost = (if .mode == "none" then 0
			   elif .lost_ringbuf == null or .lost_recursion == null then null
			   else .lost_ringbuf + .lost_recursion end)' >>"$RUN/runs.jsonl"
	$cost && sysctl -qw kernel.bpf_stats_enabled=0
	[ $ok = true ] || note "round $r $mode: $why"
	jq -r '"  \(if .cost then "cost   " else "round \(.round)" end) \(.mode | . + " " * (10 - length)) \(.conns_per_s | tostring
		| " " * (7 - length) + .) conn/s  lost \(.lost)\(if .cost then "  events \(.events)" else "" end)\(
		if .storm_errors > 0 then "  storm errors \(.storm_errors)" else "" end)"' \
		<"$RUN/runs.jsonl" | tail -1
}

tw_count() {
	ss -Htan state time-wait | wc -l
}
tw_low() {
	[ "$(tw_count)" -le 1000 ]
}

# The host has no work of its own left (under 5% of its CPU time busy over half a second): a
# mass TIME_WAIT expiry leaves the kernel freeing sockets for a few seconds after the last is
# gone, on the CPU the replay is pinned to (seen: three of five replay runs 30% slow).
host_quiet() {
	local a b
	read -ra a < <(sed -n 's/^cpu  *//p' /proc/stat)
	sleep 0.5
	read -ra b < <(sed -n 's/^cpu  *//p' /proc/stat)
	awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " "); t = 0
		for (i = 1; i <= n; i++) t += y[i] - x[i]
		idle = (y[4] - x[4]) + (y[5] - x[5])
		exit !(t > 0 && (t - idle) / t < 0.05) }'
}

# Wait (at most 30 s) for host_quiet before a measurement; say so if it never came.
settle_host() {
	wait_for 30 host_quiet || note "the host stayed busy (over 5% of its CPU time) for 30 s; going on"
}

held_ready() { # JSONFILE PID
	grep -q '"mode":"hold"' "$1" && return 0
	kill -0 "$2" 2>/dev/null || return 2
	return 1
}

# 100,000 connections held open (both ends local: twice as many sockets) while `tcpdwell stat`
# traces them; RSS read once the table has taken them all in.
run_hold() {
	local err="$RUN/hold.err" out="$RUN/hold.out" rss0 rss1 hwm port per prev same=0 n=0 st
	local evicted=0 heldjson tw

	# storm uses one listening port per holding process (see storm.c: run_hold)
	per=$((($(ulimit -Hn) - 64) / 2))
	[ $per -gt 20000 ] && per=20000
	# TIME_WAIT sockets left by earlier storms would be loaded into the table too: let them
	# expire first (60 s), up to 70 s.
	if [ "$(tw_count)" -gt 1000 ]; then
		note "waiting up to 70 s for $(tw_count) TIME_WAIT sockets to expire first"
		wait_for 70 tw_low
	fi
	tw=$(tw_count)
	port=$(free_ports 10000 $(((HOLD + per - 1) / per))) || die "no free ports for the hold"
	"$TD" stat >"$out" 2>"$err" &
	TRACER_PID=$!
	wait_for 10 td_ready "$err" "$TRACER_PID" ||
		die "tcpdwell stat did not start: $(head -c 600 "$err")"
	quiesce "$TRACER_PID"
	rss0=$(status_kb "$TRACER_PID" VmRSS)
	"$STORM" --hold "$HOLD" -"$FAMILY" -p "$port" >"$RUN/held.json" 2>"$RUN/held.err" &
	HOLD_PID=$!
	wait_for 300 held_ready "$RUN/held.json" "$HOLD_PID" ||
		die "storm --hold $HOLD failed or took over 300 s: $(head -c 300 "$RUN/held.err")"
	heldjson=$(cat "$RUN/held.json")
	# Let the tracer drain its buffer: RSS stable for 1 s (at most 30 s).
	prev=-1
	while [ $n -lt 150 ] && [ $same -lt 5 ]; do
		rss1=$(status_kb "$TRACER_PID" VmRSS)
		if [ "$rss1" = "$prev" ]; then same=$((same + 1)); else same=0; fi
		prev=$rss1
		n=$((n + 1))
		sleep 0.2
	done
	hwm=$(status_kb "$TRACER_PID" VmHWM)
	stop_tracer "$TRACER_PID" 30
	st=$?
	kill -TERM "$HOLD_PID"
	wait_for 60 bash -c "! kill -0 $HOLD_PID 2>/dev/null" || kill -KILL "$HOLD_PID"
	wait "$HOLD_PID" 2>/dev/null
	HOLD_PID=
	evicted=$(evicted_of "$err")
	jq -c -n --argjson held "$heldjson" --argjson rss0 "$rss0" --argjson rss1 "$rss1" \
		--argjson hwm "$hwm" --argjson evicted "${evicted:-0}" --argjson st "$st" \
		--argjson tw "$tw" '
		{connections: $held.connections, sockets: $held.sockets,
		 open_seconds: $held.seconds, rss_before_kb: $rss0, rss_kb: $rss1,
		 peak_rss_kb: $hwm,
		 bytes_per_connection: ((($rss1 - $rss0) * 1024 / $held.connections) | floor),
		 bytes_per_socket: ((($rss1 - $rss0) * 1024 / $held.sockets) | floor),
		 rss_mb: ($rss1 / 1024), evicted: $evicted, exit_status: $st,
		 time_wait_at_start: $tw}' >"$RUN/hold.json"
}

MACHINE=$(jq -n --arg kernel "$(uname -r)" --argjson cpus "$(nproc)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--argjson mem_mb "$(awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo)" \
	'{kernel: $kernel, cpus: $cpus, cpu: $cpu, mem_mb: $mem_mb}')

# The hold runs first: the storms leave up to tcp_max_tw_buckets TIME_WAIT sockets behind for a
# minute, and tcpdwell loads the sockets that exist when it starts into its table.
HOLD_JSON=null
if [ "$HOLD" -gt 0 ]; then
	echo "bench: holding $HOLD connections open under tcpdwell stat"
	run_hold
	HOLD_JSON=$(cat "$RUN/hold.json")
	jq -r '"  \(.connections) connections: RSS \(.rss_kb) kB (\(.rss_before_kb) kB before), " +
		"\(.bytes_per_connection) bytes per connection"' <<<"$HOLD_JSON"
fi
# The held connections' sockets are now in TIME_WAIT, all expiring within the same second 60 s
# later: a burst of timer work (and for a tracer, of records) that is not the storm's. Let them
# go before the replay and the rounds, as before the hold.
if [ "$HOLD" -gt 0 ] && [ "$(tw_count)" -gt 1000 ]; then
	note "waiting up to 70 s for the hold's $(tw_count) TIME_WAIT sockets to expire"
	wait_for 70 tw_low
fi
settle_host

# Replay speed: one CPU (taskset), the recording in the page cache (a first run reads it),
# records over the process's CPU time (utime + stime: startup and the final table included).
REPLAY_JSON=null
if [ "$REPLAY" -gt 0 ]; then
	make --no-print-directory -s OUTPUT="$OUTPUT" "$OUTPUT/mkrecording" ||
		die "cannot build $OUTPUT/mkrecording"
	REC_FILE="$RUN/replay.tdr"
	RECORDS=$("$OUTPUT/mkrecording" "$REC_FILE" "$REPLAY" | awk '{ print $1 }') ||
		die "mkrecording failed"
	echo "bench: replaying $RECORDS records ($REPLAY connection lives) with tcpdwell stat -i"
	# Written back first: the flusher writing 200 MB out during the runs made them noisy.
	sync "$REC_FILE"
	"$TD" stat -i "$REC_FILE" >/dev/null || die "tcpdwell stat -i $REC_FILE failed"
	settle_host
	: >"$RUN/replay.jsonl"
	for i in $(seq 9); do
		/usr/bin/time -f '%U %S %e %M' -o "$RUN/replay.time" taskset -c 0 "$TD" stat \
			-i "$REC_FILE" >/dev/null || die "tcpdwell stat -i failed (run $i)"
		read -r ut st el rss <"$RUN/replay.time"
		jq -n --argjson u "$ut" --argjson s "$st" --argjson e "$el" --argjson r "$rss" \
			--argjson n "$RECORDS" '{cpu_s: ($u + $s), wall_s: $e, rss_kb: $r,
			records_per_s: (if ($u + $s) > 0 then $n / ($u + $s) else null end)}' \
			>>"$RUN/replay.jsonl"
	done
	REPLAY_JSON=$(jq -s --argjson n "$RECORDS" --argjson c "$REPLAY" \
		--argjson bytes "$(stat -c %s "$REC_FILE")" '
		def median: sort | if length % 2 == 1 then .[length / 2 | floor]
			else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		{records: $n, connections: $c, file_bytes: $bytes, runs: .,
		 records_per_s: {median: (map(.records_per_s) | median),
				 min: (map(.records_per_s) | min), max: (map(.records_per_s) | max)},
		 cpu_s: (map(.cpu_s) | median), peak_rss_kb: (map(.rss_kb) | max)}' \
		"$RUN/replay.jsonl")
	rm -f "$REC_FILE"
	jq -r '"  \(.records_per_s.median / 1e6 * 100 | floor / 100)M records/s on one CPU " +
		"(\(.records_per_s.min / 1e6 * 100 | floor / 100)-" +
		"\(.records_per_s.max / 1e6 * 100 | floor / 100)M)"' <<<"$REPLAY_JSON"
fi

settle_host
echo "bench: ${MODE_LIST[*]} x $ROUNDS rounds of ${SECS} s;" \
	"storm ${STORM_ARGS[*]}; $(uname -r), $(nproc) CPUs"
: >"$RUN/runs.jsonl"
for r in $(seq 1 "$ROUNDS"); do
	for m in "${MODE_LIST[@]}"; do
		run_one "$m" "$r"
		sleep 0.5
	done
done
for r in $(seq 1 "$COST_ROUNDS"); do
	for m in "${MODE_LIST[@]}"; do
		[ "$m" = none ] && continue
		run_one "$m" cost
		sleep 0.5
	done
done

# Per mode: median, min and max of each measure; ratios per round against that round's 'none'.
SUMMARY=$(
	cat <<'EOF'
def median: map(select(. != null)) | sort
	| if length == 0 then null
	  elif length % 2 == 1 then .[length / 2 | floor]
	  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
def mmm: map(select(. != null)) as $v
	| {median: ($v | median), min: ($v | min), max: ($v | max), n: ($v | length)};
def per(a; b): if a != null and b != null and b > 0 then a / b else null end;
def millions: if . == null then null else . * 1e6 end;

# The rounds run without BPF statistics: their events (state changes) are their connections
# times the changes per connection that the mode's cost run counted.
(map(select(.cost and .connections > 0)) | map({key: .mode, value: (.events / .connections)})
 | from_entries) as $per_conn
| (map(select(.mode == "none" and (.cost | not))) | map({key: (.round | tostring),
	value: .conns_per_s}) | from_entries) as $none
| map(if .cost then
	. + {ratio: null, cpu_s_per_M_events: (per(.cpu_s; .events) | millions),
	     cpu_s_per_M_runs: (per(.cpu_s; .prog_runs) | millions),
	     bpf_ns_per_event: per(.prog_ns; .events),
	     bpf_ns_per_run: per(.prog_ns; .prog_runs)}
      else
	(if .mode == "none" then null
	 else .connections * ($per_conn[.mode] // 0) end) as $ev
	| . + {events: $ev, ratio: per(.conns_per_s; $none[.round | tostring]),
	       cpu_s_per_M_events: (per(.cpu_s; $ev) | millions),
	       cpu_s_per_M_runs: null, bpf_ns_per_event: null, bpf_ns_per_run: null}
      end) as $all
| ($all | map(select(.cost | not))) as $runs
| ($all | map(select(.cost))) as $costs
| ($runs | map(select(.other_tracers > 0))) as $crowded
| {date: $date, command: $cmd, machine: $machine,
   config: {rounds: $rounds, cost_rounds: $cost_rounds, seconds: $secs,
	    order: ($order | split(",")), storm_args: $storm},
   warnings: (if ($crowded | length) > 0 then
		["TCP state programs of tracers the bench did not start (tcpdwell, tcpstates) " +
		 "were loaded during \($crowded | length) of \($runs | length) runs (up to " +
		 "\($crowded | map(.other_tracers) | max) programs): they slow every run, 'none' " +
		 "included, so these numbers are lower than on a quiet machine"]
	      else [] end),
   modes: [($order | split(","))[] as $m | ($costs | map(select(.mode == $m))) as $cr
	   | $runs | map(select(.mode == $m))
	   | select(length > 0) | {
	mode: $m,
	runs: length,
	failed_runs: (map(select(.ok | not)) | length),
	conns_per_s: (map(.conns_per_s) | mmm),
	ratio_to_none: (map(.ratio) | mmm),
	lost: (map(.lost) | mmm),
	lost_ringbuf: (map(.lost_ringbuf) | mmm),
	lost_recursion: (map(.lost_recursion) | mmm),
	events: (map(.events) | mmm),
	cpu_s_per_M_events: (map(.cpu_s_per_M_events) | mmm),
	cpu_s_per_M_runs: ($cr | map(.cpu_s_per_M_runs) | mmm),
	bpf_ns_per_event: ($cr | map(.bpf_ns_per_event) | mmm),
	bpf_ns_per_run: ($cr | map(.bpf_ns_per_run) | mmm),
	cost_run: ($cr | first | if . then {conns_per_s, lost, events, recursion_misses} else null
		end),
	peak_rss_mb: (map(.peak_rss_kb | if . == null then null else . / 1024 end) | mmm),
	programs: (map(.programs[]) | unique),
	bpf_ns_per_event_by_program: ($cr | map(.events) as $ev | [.[].per_program[]] | group_by(.name)
		| map({key: .[0].name, value: ((map(.ns) | add) / (($ev | add) // 0)
			| if isinfinite or isnan then null else . end)}) | from_entries),
	tracer_info: (map(.tracer_info) | first)}],
   hold: $hold,
   replay: $replay,
   runs: $runs,
   cost_runs: $costs}
EOF
)

# The markdown table and the notes that say what each column is.
TABLE=$(
	cat <<'EOF'
def fmt(d): if . == null then "-"
	else (. * pow(10; d) + 0.5 | floor | tostring) as $s
	| if d == 0 then $s
	  else ((d + 1 - ($s | length)) as $z | if $z > 0 then "0" * $z else "" end) + $s
	  | .[0:length - d] + "." + .[length - d:] end end;
def cell(d): if .median == null then "-"
	else "\(.median | fmt(d)) (\(.min | fmt(d))-\(.max | fmt(d)))" end;
def thousands: tostring
	| if length > 3 then (.[0:length - 3] | thousands) + "," + .[length - 3:] else . end;
def row: "| " + join(" | ") + " |";

.config as $c | .machine as $mc
| (["mode", "connections/s", "ratio to none", "lost", "tracer CPU s / M events",
    "BPF ns / event", "BPF ns / program run", "tracer peak RSS MB"] | row),
  ([range(8)] | map("---") | row),
  (.modes[] | [.mode, (.conns_per_s | cell(0)), (.ratio_to_none | cell(2)),
	       (if .mode == "none" then "-" else .lost | cell(0) end),
	       (.cpu_s_per_M_events | cell(2)), (.bpf_ns_per_event | cell(0)),
	       (.bpf_ns_per_run | cell(0)), (.peak_rss_mb | cell(1))] | row),
  "",
  "Medians (min-max) of \($c.rounds) interleaved rounds of \($c.seconds) s, each round running " +
  "\($c.order | join(", ")) in turn; the ratio is each run against the `none` run of its round. " +
  "Linux \($mc.kernel), \($mc.cpus) CPUs (\($mc.cpu)), \($mc.mem_mb / 1024 | floor) GB RAM; " +
  "\(.date); `\(.command)`.",
  "",
  "Storm: `storm \($c.storm_args)` (loopback; client threads and an epoll server in one " +
  "process; about 10 state changes per connection). `trace` and `timeline` run with `-j`, " +
  "and they and `tcpstates` write to a file.",
  "",
  "Events are TCP state changes: the run count of the tracer's `inet_sock_set_state` " +
  "program. The rounds run without BPF statistics, as a production host does (they cost two " +
  "clock reads per program run); after them \($c.cost_rounds) more " +
  "run\(if $c.cost_rounds == 1 then "" else "s" end) of each tracer, " +
  "interleaved, with `kernel.bpf_stats_enabled` give BPF ns / event: run time of all the " +
  "tracer's programs over those events (median and range of those runs), and BPF ns / " +
  "program run: the same time over all its program runs (timer and accept programs " +
  "included), and the state changes per connection that turn each round's " +
  "connections into events. Tracer CPU: utime+stime from /proc/PID/stat from attach " +
  "until it has processed the storm (1 s / M events = 1 us / event). Lost: as tcpdwell " +
  "reports it (ring buffer full + recursion); for tcpstates, its program's " +
  "`recursion_misses` plus perf buffer losses.",
  (if .hold then "",
   "Held open: \(.hold.connections | thousands) loopback connections " +
   "(\(.hold.sockets | thousands) sockets, both ends traced) under `tcpdwell stat`: " +
   "RSS \(.hold.rss_mb | fmt(1)) MB (\(.hold.rss_before_kb / 1024 | fmt(1)) MB before they " +
   "opened, peak \(.hold.peak_rss_kb / 1024 | fmt(1)) MB), " +
   "\(.hold.bytes_per_connection) bytes per connection (\(.hold.bytes_per_socket) per " +
   "socket), \(.hold.evicted) evicted; \(.hold.time_wait_at_start) TIME_WAIT sockets existed " +
   "when tcpdwell started."
   else empty end),
  (if .replay then "",
   "Replay: `tcpdwell stat -i` of a synthetic recording of " +
   "\(.replay.connections | thousands) connection lives (\(.replay.records | thousands) " +
   "records, 5,000 new connections a second, most ending in 60 s of TIME_WAIT: about 170,000 in the table at once), on one CPU: " +
   "\(.replay.records_per_s.median / 1e5 | floor / 10)M records/s " +
   "(\(.replay.records_per_s.min / 1e5 | floor / 10)-" +
   "\(.replay.records_per_s.max / 1e5 | floor / 10)M) over the process's CPU time, " +
   "startup and final table included; peak RSS \(.replay.peak_rss_kb / 1024 | floor) MB " +
   "(the recording is mapped)."
   else empty end),
  (.warnings[] | "", "**Warning:** \(.)"),
  (.modes[] | select(.failed_runs > 0)
   | "", "**\(.mode): \(.failed_runs) of \(.runs) runs failed** (runs[].error in results.json)")
EOF
)

jq -s --argjson machine "$MACHINE" --argjson hold "$HOLD_JSON" --argjson replay "$REPLAY_JSON" \
	--arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg cmd "bash tests/bench/bench.sh${ARGS_GIVEN:+ $ARGS_GIVEN}" \
	--arg storm "${STORM_ARGS[*]}" --arg order "$MODES" --argjson rounds "$ROUNDS" \
	--argjson cost_rounds "$COST_ROUNDS" --argjson secs "$SECS" "$SUMMARY" "$RUN/runs.jsonl" \
	>"$OUT/results.json" ||
	die "cannot summarise $RUN/runs.jsonl"
jq -r "$TABLE" "$OUT/results.json" >"$OUT/results.md" || die "cannot write $OUT/results.md"
echo
cat "$OUT/results.md"
