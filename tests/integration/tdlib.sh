# shellcheck shell=bash disable=SC2034
# Helpers shared by the integration scripts that drive tests/integration/tdpeer under tcpdwell:
# TAP-style assertions that print tag, expected and actual; bounded waits; tracer start and stop;
# jq readers of the JSON Lines output; per-run expectations of each connection's transitions,
# owner and timeline; the JSON contract. Sourced after the caller set OUTPUT, ME and KEEP.
# (SC2034: the sequences and peer values defined here are used by the scripts that source it.)
TD=$OUTPUT/tcpdwell
PEER=$OUTPUT/tests/tdpeer
if [ "$(id -u)" != 0 ]; then
	echo "$ME: needs root (loads BPF programs)" >&2
	exit 1
fi
for f in "$TD" "$PEER"; do
	[ -x "$f" ] || { echo "$ME: $f missing: run make first" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "$ME: jq missing (apt-get install jq)" >&2; exit 1; }

TMP=$(mktemp -d "/tmp/tdwell-$ME.XXXXXX")
N=0
FAILED=0
BG=()	# background processes this script started and has not reaped yet

# reaped PID: PID was waited for; its number may now belong to anyone else, never signal it.
reaped() {
	local p keep=()
	for p in "${BG[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	BG=("${keep[@]}")
}

cleanup() {
	local p
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" != 0 ]; then
		echo "# outputs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

# --- reporting ------------------------------------------------------------------------------
ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}
# not_ok NAME EVIDENCE...: each evidence argument is printed as a "#" line (multi-line allowed).
not_ok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	local l
	for l in "$@"; do
		while IFS= read -r line; do printf '#   %s\n' "$line"; done <<<"$l"
	done
}
# expect_eq TAG EXPECTED ACTUAL [EVIDENCE...]
expect_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3" "${@:4}"; fi
}
# expect_match TAG REGEX ACTUAL [EVIDENCE...]: REGEX is a bash ERE, anchored here.
expect_match() {
	if [[ $3 =~ ^($2)$ ]]; then
		ok "$1"
	else
		not_ok "$1" "expected (regex): $2" "actual:           $3" "${@:4}"
	fi
}
# expect_range TAG LO HI ACTUAL [EVIDENCE...]: integer LO <= ACTUAL <= HI.
expect_range() {
	if [[ $4 =~ ^-?[0-9]+$ ]] && [ "$4" -ge "$2" ] && [ "$4" -le "$3" ]; then
		ok "$1 ($4)"
	else
		not_ok "$1" "expected: $2 .. $3" "actual:   $4" "${@:5}"
	fi
}

# wait_until SECONDS CMD...: poll CMD every POLL seconds (default 20 ms) until it succeeds;
# 1 if SECONDS pass first.
wait_until() {
	local deadline
	deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -ge "$deadline" ] && return 1
		sleep "${POLL:-0.02}"
	done
}

# --- ports ------------------------------------------------------------------------------------
# Below the ephemeral range (32768+), so a test port is never some client's source port.
PORT_NEXT=$((20000 + RANDOM % 10000))
# next_port: set P to a port no socket uses (not in a subshell: the counter moves on).
next_port() {
	while :; do
		PORT_NEXT=$((PORT_NEXT + 1))
		[ $PORT_NEXT -ge 32000 ] && PORT_NEXT=20001
		ss -Htan "sport = :$PORT_NEXT or dport = :$PORT_NEXT" | grep -q . || break
	done
	P=$PORT_NEXT
}

# --- tracers ----------------------------------------------------------------------------------
# TD_EXTRA_ARGS: words added to every tracer's command line, to run a suite through another
# kernel path, e.g. TD_EXTRA_ARGS="--backend tracepoint" or "--buffer perf".
read -r -a TD_EXTRA <<<"${TD_EXTRA_ARGS:-}"
# start_tracer NAME ARGS...: tcpdwell ARGS in the background, stdout to $RUN.NAME.json and
# stderr to $RUN.NAME.err; sets TRACER_<NAME>. 1 if it does not say it is tracing within
# TD_START_MAX_S seconds (10; more under emulation, where loading and the socket dump are slow).
START_MAX_S=${TD_START_MAX_S:-10}
start_tracer() {
	local name=$1 pid
	shift
	# Emptied here, not by the redirections below: those happen in the child after the fork,
	# and a wait that ran first would find an earlier tracer's start line under the same name.
	: >"$RUN.$name.json"
	: >"$RUN.$name.err"
	"$TD" "$@" "${TD_EXTRA[@]}" >"$RUN.$name.json" 2>"$RUN.$name.err" &
	pid=$!
	BG+=("$pid")
	printf -v "TRACER_$name" %s "$pid"
	TRACERS+=("$name")
	if ! wait_until "$START_MAX_S" grep -qs "tcpdwell: tracing" "$RUN.$name.err"; then
		not_ok "$LABEL: tcpdwell $* starts tracing within $START_MAX_S s" \
			"stderr: $(cat "$RUN.$name.err")"
		return 1
	fi
}

# stop_tracers: SIGINT each tracer of this run; each must exit within 10 s with status 0.
stop_tracers() {
	local name pid st
	for name in "${TRACERS[@]}"; do
		pid_var=TRACER_$name
		pid=${!pid_var}
		kill -INT "$pid" 2>/dev/null
	done
	for name in "${TRACERS[@]}"; do
		pid_var=TRACER_$name
		pid=${!pid_var}
		if wait_until 10 eval "! kill -0 $pid 2>/dev/null"; then
			wait "$pid"
			st=$?
			reaped "$pid"
			expect_eq "$LABEL: $name exits 0 on SIGINT" 0 "$st" "stderr: $(cat "$RUN.$name.err")"
		else
			not_ok "$LABEL: $name exits within 10 s of SIGINT"
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			reaped "$pid"
		fi
	done
}

# --- reading the records ----------------------------------------------------------------------
# The files are read while tcpdwell writes them: a partial last line is skipped (fromjson?).

# keyed FILE: FILE's transitions, one compact JSON line each, with a cookie that names the
# connection. Without the cookie helper (--backend tracepoint) the kernel's cookie is 0 until
# something generates one (a tp_btf tracer running at the same time does, mid-connection), and
# the records of a connection are known by tuple and order only, as the tracer knew them: such a
# connection gets cookie -N, also on its records that came with a cookie later. A connect()'s
# CLOSE>SYN_SENT (lport 0) belongs with the next SYN_SENT record of the same remote port and
# owner; a birth starts a new connection on its tuple; TIME_WAIT>CLOSE ends the one that entered
# TIME_WAIT there. (awk: jq would copy its state per record.)
# shellcheck disable=SC2016
AWK_KEYED='
function f(k) {
	if (!match($0, "\"" k "\":(\"[^\"]*\"|[^,}]*)"))
		return ""
	v = substr($0, RSTART + length(k) + 3, RLENGTH - length(k) - 3)
	gsub(/"/, "", v)
	return v
}
{
	c = f("cookie"); lp = f("lport"); rp = f("rport"); o = f("old"); w = f("new")
	t = f("family") " " f("netns") " " lp " " rp
	p = f("family") " " f("netns") " " rp " " f("pid")
	if (c != "0" && !(c in ck) && !(t in open) && !(t in tw) && !(o == "SYN_SENT" && (p in pend))) {
		print
		next
	}
	if (c in ck) id = ck[c]
	else if (o == "CLOSE" && w == "SYN_SENT" && lp == "0") { id = ++n; pend[p] = id }
	else if (o == "TIME_WAIT" && (t in tw)) { id = tw[t]; delete tw[t] }
	else if ((o == "LISTEN" && w == "SYN_RECV") || (o == "CLOSE" && w == "LISTEN")) {
		id = ++n; open[t] = id
	} else if (o == "SYN_SENT" && (p in pend)) { id = pend[p]; delete pend[p]; open[t] = id }
	else if (t in open) id = open[t]
	else { id = ++n; open[t] = id }
	if (c != "0") ck[c] = id
	if (w == "TIME_WAIT") { tw[t] = id; delete open[t] }
	else if (w == "CLOSE" && o != "TIME_WAIT") delete open[t]
	sub(/"cookie":[0-9]+/, "\"cookie\":-" id)
	print
}'
# Only the classic backend needs it; elsewhere the lines pass as they are (a partial last line
# too: the readers skip it with fromjson?).
keyed() {
	if [[ " ${TD_EXTRA[*]} " == *" tracepoint "* ]]; then
		grep -F '"type":"transition"' "$1" | awk "$AWK_KEYED"
	else
		grep -F '"type":"transition"' "$1"
	fi
}

# Duplicate children of a handshake completed twice at once: see children.jq.
# dup_children FILE FAM LPORT RPORT: the cookies of that tuple's duplicate children.
dup_children() {
	keyed "$1" | jq -n -R -r -L tests/integration --argjson f "$2" --argjson l "$3" \
		--argjson r "$4" 'include "children";
		[inputs | fromjson? | select(.type == "transition")] | dup_children($f; $l; $r)'
}
# cookies FILE FAM LPORT RPORT: cookies of the transitions with that tuple, first seen first,
# duplicate children left out.
cookies() {
	local all dups
	all=$(keyed "$1" | jq -R -r --argjson f "$2" --argjson l "$3" --argjson r "$4" 'fromjson? |
		select(.family == $f and .lport == $l and .rport == $r) | .cookie' | awk '!seen[$0]++')
	# One socket is the usual case, and cannot be a duplicate (polled: one jq less).
	if [ "$(grep -c . <<<"$all")" -le 1 ]; then
		[ -z "$all" ] || echo "$all"
		return
	fi
	dups=$(dup_children "$@" | paste -sd' ')
	awk -v dups=" $dups " 'index(dups, " " $0 " ") == 0' <<<"$all"
}
# nth_cookie FILE FAM LPORT RPORT IDX (1-based)
nth_cookie() {
	cookies "$1" "$2" "$3" "$4" | sed -n "${5}p"
}
# seq_of FILE COOKIE: "OLD>NEW OLD>NEW ..." of that connection, in output order.
seq_of() {
	[ -n "$2" ] || return 0
	keyed "$1" | jq -R -r --argjson c "$2" 'fromjson? | select(.cookie == $c) |
		"\(.old)>\(.new)"' |
		paste -sd' '
}
# records_of FILE COOKIE: the connection's transitions, compact, for evidence.
records_of() {
	[ -n "$2" ] || return 0
	keyed "$1" | jq -R -c --argjson c "$2" 'fromjson? | select(.cookie == $c) |
		{old, new, pid, comm, lport, rport, ts_ns, dwell_ns, end: .end}'
}
# port_records FILE PORT: every transition touching PORT, for evidence when nothing matched.
port_records() {
	jq -R -c --argjson p "$2" 'fromjson? | select(.type == "transition" and
		(.lport == $p or .rport == $p)) | {cookie, family, lport, rport, old, new, pid}' "$1"
}
# timelines FILE FAM LPORT RPORT [JQ_SELECT]: timeline lines of that tuple.
# Duplicate children's timelines (a passive connection that was only ever SYN_RECV, where another
# of the tuple got further) are left out.
timelines() {
	jq -n -R -c --argjson f "$2" --argjson l "$3" --argjson r "$4" "[inputs | fromjson? |
		select(.type == \"timeline\" and .family == \$f and .lport == \$l and .rport == \$r)] |
		(any(.[]; any(.states[]; .state == \"ESTABLISHED\"))) as \$won | .[] |
		select((\$won and .role == \"passive\" and ([.states[].state] == [\"SYN_RECV\"])) | not) |
		select(${5:-true})" "$1"
}

# Problems of one connection's records: tuple, addresses, owner and dwell arithmetic.
# shellcheck disable=SC2016
JQ_SIDE_PROBLEMS='
	[inputs | fromjson? | select(.type == "transition" and .cookie == $c)] as $rs |
	(if $rs == [] then "no records" else empty end),
	($rs | to_entries[] | .key as $i | .value as $x | $rs[$i - 1] as $prev |
	 (if $x.family != $f then "family \($x.family)" else empty end),
	 (if $x.rport != $r then "rport \($x.rport)" else empty end),
	 (if $x.lport == $l or ($x.old == "CLOSE" and $x.new == "SYN_SENT" and $x.lport == 0)
	  then empty else "lport \($x.lport) in \($x.old)>\($x.new)" end),
	 (if $x.laddr != $lo then "laddr \($x.laddr)" else empty end),
	 (if $r != 0 and $x.raddr != $lo then "raddr \($x.raddr)" else empty end),
	 (if $x.pid == $owner or ($x.pid == $early and
	     ($x.new == "SYN_RECV" or ($x.old == "SYN_RECV" and $x.new == "ESTABLISHED")))
	  then empty else "owner pid \($x.pid) in \($x.old)>\($x.new) (expected \($owner))" end),
	 (if $x.comm != "tdpeer" then "owner comm \($x.comm) in \($x.old)>\($x.new)" else empty end),
	 (if $i == 0 then
		(if $x.dwell_ns != null then "first record \($x.old)>\($x.new) has dwell_ns " +
		 "\($x.dwell_ns): nothing was measured before it" else empty end)
	  elif $x.ts_ns < $prev.ts_ns then "ts_ns goes back at \($x.old)>\($x.new)"
	  elif $x.dwell_ns != $x.ts_ns - $prev.ts_ns then
		"\($x.old)>\($x.new): dwell_ns \($x.dwell_ns) != ts_ns step \($x.ts_ns - $prev.ts_ns)"
	  else empty end))'

# --- expectations of one run -------------------------------------------------------------------
# A run registers what it expects, then finish_run waits for it (bounded), stops the tracers
# and asserts. Entries are fields joined by US (regexes and jq hold '|' and ';').
US=$'\x1f'
SIDES=()
TLS=()
NO_TLS=()
# expect_side NAME LPORT RPORT IDX REGEX OWNER [EARLY_OWNER]: the IDX-th connection with that
# tuple in trace output: its transitions match REGEX; every record belongs to OWNER (pid, comm
# tdpeer), except that LISTEN>SYN_RECV and SYN_RECV>ESTABLISHED, which come before accept(),
# may also carry EARLY_OWNER (the listener's owner).
expect_side() {
	SIDES+=("$1$US$2$US$3$US$4$US$5$US$6$US${7:--1}")
}
# expect_timeline NAME LPORT RPORT ROLE STATES_REGEX OWNER [JQ_SELECT]: exactly one timeline of
# that tuple (and JQ_SELECT), complete, with ROLE, OWNER and the states before CLOSE matching.
expect_timeline() {
	TLS+=("$1$US$2$US$3$US$4$US$5$US$6$US${7:-true}")
}
# expect_no_timeline NAME LPORT RPORT: an active closer still in TIME_WAIT: no timeline may say
# it finished.
expect_no_timeline() {
	NO_TLS+=("$1$US$2$US$3")
}

side_matches() {
	local name lport rport idx re owner early c
	IFS=$'\x1f' read -r name lport rport idx re owner early <<<"$1"
	c=$(nth_cookie "$RUN.trace.json" "$FAM" "$lport" "$rport" "$idx")
	[[ $(seq_of "$RUN.trace.json" "$c") =~ ^($re)$ ]]
}
timeline_present() {
	local name lport rport role re owner sel
	IFS=$'\x1f' read -r name lport rport role re owner sel <<<"$1"
	[ -n "$(timelines "$RUN.timeline.json" "$FAM" "$lport" "$rport" "$sel")" ]
}
all_expected_seen() {
	local s
	for s in "${SIDES[@]}"; do side_matches "$s" || return 1; done
	for s in "${TLS[@]}"; do timeline_present "$s" || return 1; done
	[ -z "${EXTRA_WAIT:-}" ] || $EXTRA_WAIT
}

check_side() {
	local name lport rport idx re owner early c seq problems dups
	IFS=$'\x1f' read -r name lport rport idx re owner early <<<"$1"
	c=$(nth_cookie "$RUN.trace.json" "$FAM" "$lport" "$rport" "$idx")
	if [ -z "$c" ]; then
		not_ok "$LABEL: $name: transitions ($lport -> $rport)" "no record with that tuple;" \
			"records on port $P:" "$(port_records "$RUN.trace.json" "$P")"
		return
	fi
	seq=$(seq_of "$RUN.trace.json" "$c")
	if ! [[ $seq =~ ^($re)$ ]] && [[ ${seq% TIME_WAIT>CLOSE} =~ ^($re)$ ]] &&
		tw_killed "$RUN.trace.json" "$c" "$lport" "$rport"; then
		ok "$LABEL: $name: transitions, its TIME_WAIT ended early as the kernel's did ($seq)"
	else
		expect_match "$LABEL: $name: transitions" "$re" "$seq" "records:" \
			"$(records_of "$RUN.trace.json" "$c")" "$(tw_evidence "$lport" "$rport")"
	fi
	dups=$(dup_children "$RUN.trace.json" "$FAM" "$lport" "$rport" | paste -sd' ')
	[ -z "$dups" ] || echo "# $LABEL: $name: a duplicate child of its handshake, closed in" \
		"SYN_RECV, left out: cookie $dups"
	problems=$(jq -n -R -r --argjson c "$c" --argjson f "$FAM" --argjson l "$lport" \
		--argjson r "$rport" --arg lo "$LO" --argjson owner "$owner" --argjson early "$early" \
		"$JQ_SIDE_PROBLEMS" < <(keyed "$RUN.trace.json"))
	expect_eq "$LABEL: $name: owner pid $owner, tuple and dwell of every record" "" \
		"$problems" "records:" "$(records_of "$RUN.trace.json" "$c")"
}

check_timeline() {
	local name lport rport role re owner sel all one got
	IFS=$'\x1f' read -r name lport rport role re owner sel <<<"$1"
	all=$(timelines "$RUN.timeline.json" "$FAM" "$lport" "$rport" "$sel")
	if [ "$(grep -c . <<<"$all")" != 1 ]; then
		not_ok "$LABEL: $name: one timeline ($lport -> $rport)" "timelines:" \
			"${all:-(none)}" "all timelines of this tuple:" \
			"$(timelines "$RUN.timeline.json" "$FAM" "$lport" "$rport")"
		return
	fi
	one=$all
	got=$(jq -r '"\(.role) \(.complete) \(.pid) \(.comm) | " +
		([.states[].state] | if .[-1] == "CLOSE" then .[:-1] else . end | join(" "))' <<<"$one")
	expect_match "$LABEL: $name: timeline (role complete pid comm | states)" \
		"$role true $owner tdpeer \| ($re)" "$got" "timeline: $one"
	# Every state before CLOSE measured, and the total equal to their sum (1 us rounding).
	got=$(jq -r '[.states[] | select(.state != "CLOSE")] as $s |
		if any($s[]; (.dwell_ns | type) != "number" or .dwell_ns < 0) then "unmeasured state"
		elif (([$s[].dwell_ns] | add) - .duration_ns | fabs) > 1000 then
			"sum of dwell \([$s[].dwell_ns] | add) != duration_ns \(.duration_ns)"
		else "" end' <<<"$one")
	expect_eq "$LABEL: $name: timeline dwell measured, sum = duration" "" "$got" "timeline: $one"
}

check_no_timeline() {
	local name lport rport got
	IFS=$'\x1f' read -r name lport rport <<<"$1"
	got=$(timelines "$RUN.timeline.json" "$FAM" "$lport" "$rport" '.complete')
	if [ -n "$got" ] && [ "$(grep -c . <<<"$got")" = 1 ] &&
		[[ $(jq -r .end <<<"$got") =~ ^(reset|killed)$ ]] && no_kernel_tw "$lport" "$rport"; then
		ok "$LABEL: $name: finished timeline only as the kernel ended its TIME_WAIT early"
		return
	fi
	expect_eq "$LABEL: $name: no finished timeline while in TIME_WAIT" "" "$got" \
		"$(tw_evidence "$lport" "$rport")"
}

# kernel_tw LPORT RPORT: the kernel's timewait sockets of that tuple now (ss), a line each.
kernel_tw() {
	ss -H -tan -"$FAM" state time-wait "( sport = :$1 and dport = :$2 )" 2>/dev/null
}
# no_kernel_tw LPORT RPORT: ss ran and lists no timewait socket of that tuple.
no_kernel_tw() {
	local kern
	kern=$(kernel_tw "$1" "$2") && [ -z "$kern" ]
}
# tw_killed FILE COOKIE LPORT RPORT: the connection's last record ended its TIME_WAIT early (a
# reset, a kill) and the kernel indeed holds no timewait socket of the tuple any more: one
# lasts 60 s, and a run takes seconds, so it was torn down while traced (seen once, on the 6.1
# guest, in client-first: the client's TIME_WAIT ended 13 ms into its connection's life).
tw_killed() {
	local last
	last=$(keyed "$1" | jq -R -r --argjson c "$2" 'fromjson? | select(.cookie == $c) |
		"\(.old)>\(.new) \(.end)"' | tail -1)
	[[ $last =~ ^TIME_WAIT\>CLOSE\ (reset|killed)$ ]] && no_kernel_tw "$3" "$4"
}
# tw_evidence LPORT RPORT: what the kernel says of that tuple's TIME_WAIT, for a failure.
tw_evidence() {
	echo "kernel timewait sockets of :$1 -> :$2 now: $(kernel_tw "$1" "$2" | paste -sd';')"
	echo "TcpExt: $(awk '/^TcpExt:/ { if (!n) { split($0, k); n = NF } else
		for (i = 2; i <= NF; i++) if (k[i] ~ /TW|TimeWait|Reset|RST|Abort/) printf "%s=%s ", k[i], $i }' \
		/proc/net/netstat)"
}

# The JSON contract, line by line: parses, has the keys of its type, values of the right kind.
# shellcheck disable=SC2016
JQ_CONTRACT='
def nat: type == "number" and . >= 0 and floor == .;
def port: nat and . <= 65535;
def state: . as $s | ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
	"TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING"] | index([$s]) != null;
def rfc3339: type == "string" and
	test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{9}(Z|[+-][0-9]{2}:[0-9]{2})$");
def need(ks): [ks[] as $k | select(has($k) | not) | "missing \($k)"];
def bad(cond; what): if cond then [] else [what] end;
def endpoint: need(["pid", "comm", "family", "laddr", "lport", "raddr", "rport", "netns", "cgroup"])
	+ bad(.pid == null or (.pid | nat and . > 0); "pid \(.pid)")
	+ bad(.comm == null or (.comm | type) == "string"; "comm \(.comm)")
	+ bad(.family == 4 or .family == 6; "family \(.family)")
	+ bad((.lport | port) and (.rport | port); "ports")
	+ bad((.laddr | type) == "string" and (.raddr | type) == "string"; "addresses")
	+ bad((.netns | nat) and (.cgroup | nat); "netns/cgroup");
def problems:
	if type != "object" then ["not an object"]
	elif .type == "transition" then
		need(["time", "ts_ns", "cookie", "old", "new", "dwell_ns"]) + endpoint
		+ bad(.time | rfc3339; "time \(.time)")
		+ bad((.ts_ns | nat) and (.cookie | nat); "ts_ns/cookie")
		+ bad((.old | state) and (.new | state) and .old != .new; "old/new \(.old)>\(.new)")
		+ bad(.dwell_ns == null or (.dwell_ns | nat); "dwell_ns \(.dwell_ns)")
		+ bad(.old != "TIME_WAIT" or .new != "CLOSE" or
			(.end == "expired" or .end == "reused" or .end == "killed" or
			.end == "reset" or .end == "gone"); "end \(.end)")
	elif .type == "timeline" then
		need(["role", "start", "duration_ns", "complete", "states"]) + endpoint
		+ bad(.role == "active" or .role == "passive" or .role == "listen" or
			.role == "unknown"; "role \(.role)")
		+ bad(.start | rfc3339; "start \(.start)")
		+ bad(.duration_ns | nat; "duration_ns \(.duration_ns)")
		+ bad((.complete | type) == "boolean"; "complete \(.complete)")
		+ bad((.states | type) == "array" and (.states | length) > 0 and
			all(.states[]; (.state | state) and
				(.dwell_ns == null or (.dwell_ns | nat))); "states")
	elif .type == "stat" then
		need(["state", "count", "min_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "max_ns"])
	elif .type == "lost" then
		need(["ringbuf", "recursion", "chain_breaks", "reconciled"])
		+ bad((.ringbuf | nat) and (.recursion | nat) and (.chain_breaks | nat) and
			(.reconciled | nat); "counts")
	elif .type == "evicted" then
		need(["connections", "max_conns"])
		+ bad((.connections | nat) and (.max_conns | nat); "counts")
	elif .type == "stuck" then need(["state", "dwell_ns"]) + endpoint
		+ bad(.state | state; "state \(.state)") + bad(.dwell_ns | nat; "dwell_ns")
	elif .type == "rst" then
		need(["time", "ts_ns", "cookie", "state", "rst"]) + endpoint
		+ bad(.time | rfc3339; "time \(.time)")
		+ bad((.ts_ns | nat) and (.cookie | nat); "ts_ns/cookie")
		+ bad(.state | state; "state \(.state)")
		+ bad((.rst.dir == "sent" or .rst.dir == "received") and
			(.rst.reason == null or (.rst.reason | type) == "string"); "rst \(.rst)")
	elif .type == "error" then []
	else ["unknown type \(.type)"] end;
. as $line | (try fromjson catch null) as $o |
if $o == null then "line \(input_line_number): does not parse: \($line)"
else ($o | problems) as $p |
	if $p == [] then empty else "line \(input_line_number): \($p | join(", ")): \($line)" end
end'

check_contract() {
	local name bad lost breaks skew
	for name in "${TRACERS[@]}"; do
		bad=$(jq -R -r "$JQ_CONTRACT" "$RUN.$name.json" 2>&1 | head -5)
		expect_eq "$LABEL: $name: every line parses and has the keys of its type" "" "$bad"
		lost=$(jq -R -c 'fromjson? | select((.type == "lost" and
			(.ringbuf > 0 or .recursion > 0)) or .type == "error")' "$RUN.$name.json" | head -3)
		expect_eq "$LABEL: $name: no lost records, no errors" "" "$lost"
		# A connection whose records show one missing: with no loss counted, a bug.
		breaks=$(jq -R -c 'fromjson? | select(.type == "lost" and .chain_breaks != 0)' \
			"$RUN.$name.json" | tail -1)
		expect_eq "$LABEL: $name: no chain break" "" "$breaks"
		# "time" is the wall clock of ts_ns: their difference is the same on every record.
		skew=$(jq -R -n -r '[inputs | fromjson? | select(.type == "transition") |
			(.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) +
			(.time | capture("\\.(?<f>[0-9]+)Z$").f | tonumber / 1e9) - .ts_ns / 1e9] |
			if length < 2 then 0 else (max - min) * 1e6 | floor end' "$RUN.$name.json")
		expect_range "$LABEL: $name: time - ts_ns constant within 1 ms (us)" 0 1000 "$skew"
	done
}

# finish_run: wait (at most 5 s) for every expectation, stop the tracers, assert.
finish_run() {
	local s name failed_before=$FAILED
	wait_until 5 all_expected_seen
	stop_tracers
	for s in "${SIDES[@]}"; do check_side "$s"; done
	for s in "${TLS[@]}"; do check_timeline "$s"; done
	for s in "${NO_TLS[@]}"; do check_no_timeline "$s"; done
	check_contract
	[ "$FAILED" = "$failed_before" ] && return
	for name in "${TRACERS[@]}"; do
		[ -s "$RUN.$name.tdr" ] || continue
		"$OUTPUT/tests/tdrdump" "$RUN.$name.tdr" >"$RUN.$name.raw.json" 2>&1
		echo "# $LABEL: the records $name was fed: $RUN.$name.raw.json"
	done
}

# begin_run SCENARIO: fresh port, files and tracers for one scenario and family.
begin_run() {
	LABEL="IPv$FAM $1"
	RUN=$TMP/$1-$FAM
	PEERS=$RUN.peer
	SIDES=()
	TLS=()
	NO_TLS=()
	TRACERS=()
	EXTRA_WAIT=
	next_port
	# Each view also keeps the records its table was fed (-w), in the order it was fed them:
	# when a check fails, tdrdump shows them raw (the run's files are kept).
	start_tracer trace trace -j -w "$RUN.trace.tdr" "${@:2}" &&
		start_tracer timeline timeline -j -w "$RUN.timeline.tdr"
}

# play SCENARIO [MS]: run tdpeer in the foreground; its JSON lines go to $PEERS.
play() {
	if ! timeout 30 "$PEER" "$1" "$FAM" "$P" "${@:2}" >"$PEERS" 2>"$PEERS.err"; then
		not_ok "$LABEL: tdpeer $1 $FAM $P $*" "$(cat "$PEERS.err")"
		return 1
	fi
}
# peer ROLE KEY [JQ_SELECT]: a value from tdpeer's lines.
peer() {
	jq -r --arg role "$1" "select(.role == \$role) | select(${3:-true}) | .$2" "$PEERS"
}
# abandon: the scenario could not be played; stop its tracers.
abandon() {
	stop_tracers
}

# --- the kernel's state machine, as transition sequences ----------------------------------------
OPEN_ACTIVE='CLOSE>SYN_SENT SYN_SENT>ESTABLISHED'
OPEN_PASSIVE='LISTEN>SYN_RECV SYN_RECV>ESTABLISHED'
CLOSE_PASSIVE='ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE'
# An active closer whose TIME_WAIT started: its FIN acked first (FIN_WAIT2), or the peer's FIN
# first (simultaneous close, CLOSING).
TO_TIME_WAIT='ESTABLISHED>FIN_WAIT1 (FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>TIME_WAIT|FIN_WAIT1>CLOSING CLOSING>TIME_WAIT)'
# After close() an orphaned FIN_WAIT2 becomes a timewait socket; the moment the peer's FIN turns
# it into TIME_WAIT may only be learned when TIME_WAIT ends (README), so the last step is optional.
CLOSE_ACTIVE_ORPHAN='ESTABLISHED>FIN_WAIT1 (FIN_WAIT1>FIN_WAIT2( FIN_WAIT2>TIME_WAIT)?|FIN_WAIT1>CLOSING CLOSING>TIME_WAIT)'
LISTENER='CLOSE>LISTEN LISTEN>CLOSE'
TL_ACTIVE_CLOSED='SYN_SENT ESTABLISHED CLOSE_WAIT LAST_ACK'
TL_PASSIVE_CLOSED='SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK'

# Listener and client/server lines every connected scenario has.
read_pair() {
	LPID=$(peer listener pid)
	SPID=$(peer server pid)
	CPID=$(peer client pid)
	CP=$(peer client lport)
	expect_side listener "$P" 0 1 "$LISTENER" "$LPID"
	expect_timeline listener "$P" 0 listen LISTEN "$LPID"
}

