#!/bin/bash
# Smoke test that needs only bash, busybox and jq (so it runs in the test VM as on a host): one
# `tcpdwell trace -j` and one `timeline -j` watch a busybox nc echo server on 127.0.0.1 take three
# connections and a connect to a closed port; the transitions, owners and cookies are checked.
# Needs root. Prints the records it saw (for the VM log) and "smoke: N passed, M failed".
# shellcheck disable=SC2016 # the jq programs in single quotes use jq's own $variables
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
START_WAIT=${SMOKE_START_WAIT:-90}	# seconds; BPF load is slow under emulation
TMP=$(mktemp -d /tmp/tdsmoke.XXXXXX)
N=0
FAILED=0
BG=()

cleanup() {
	local p
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N - $1"; shift
	local l
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
# check TAG EXPECTED ACTUAL
check() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3"; fi; }
# check_re TAG REGEX ACTUAL (anchored bash ERE)
check_re() { if [[ $3 =~ ^($2)$ ]]; then ok "$1 ($3)"; else not_ok "$1" "expected: /$2/" "actual:   $3"; fi; }
# wait_for SECONDS CMD...: poll CMD every 0.1 s; 1 when SECONDS pass first.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}
# port_used PORT: some IPv4 or IPv6 TCP socket has PORT at either end (from /proc, no ss).
port_used() {
	awk -v p="$(printf '%04X' "$1")" 'FNR > 1 { split($2, l, ":"); split($3, r, ":")
		if (l[2] == p || r[2] == p) found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6
}
# listening PORT: a socket listens on PORT (state 0A).
listening() {
	awk -v p="$(printf '%04X' "$1")" 'FNR > 1 && $4 == "0A" { split($2, l, ":")
		if (l[2] == p) found = 1 } END { exit !found }' /proc/net/tcp /proc/net/tcp6
}
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))	# below the ephemeral range
		port_used "$p" || { echo "$p"; return; }
	done
}
# jq over the trace records: tr FILTER [jq args...]
tr_q() { jq -r "${@:2}" "select(.type == \"transition\") | $1" "$TMP/trace.json"; }

[ "$(id -u)" = 0 ] || { echo "smoke: needs root (loads BPF programs)" >&2; exit 1; }
[ -x "$TD" ] || { echo "smoke: $TD missing: run make first" >&2; exit 1; }
for c in jq busybox; do
	command -v "$c" >/dev/null || { echo "smoke: $c missing" >&2; exit 1; }
done

P=$(free_port)
R=$(free_port)
[ "$R" = "$P" ] && R=$((P + 1))
echo "# smoke: echo server on port $P, refused connect to port $R"

for name in trace timeline; do
	"$TD" "$name" -j -v >"$TMP/$name.json" 2>"$TMP/$name.err" &
	BG+=($!)
	eval "${name}_pid=$!"
done
# ready_or_gone NAME PID: that tracer says it is tracing, or it has exited.
ready_or_gone() { grep -q "tcpdwell: tracing" "$TMP/$1.err" || ! kill -0 "$2" 2>/dev/null; }
# shellcheck disable=SC2154 # trace_pid, timeline_pid are set by the eval above
for name in trace timeline; do
	pid_var=${name}_pid
	wait_for "$START_WAIT" ready_or_gone "$name" "${!pid_var}"
	if ! grep -q "tcpdwell: tracing" "$TMP/$name.err"; then
		not_ok "tcpdwell $name -j starts within ${START_WAIT}s" "stderr (libbpf log with -v):"
		sed 's/^/#     /' "$TMP/$name.err" | head -300
		kill -0 "${!pid_var}" 2>/dev/null || { wait "${!pid_var}"; echo "#   exit status $?"; }
		echo "smoke: $((N - FAILED)) passed, $FAILED failed"
		exit 1
	fi
	ok "tcpdwell $name -j starts: $(grep "tcpdwell: tracing" "$TMP/$name.err")"
done

# Echo server: busybox nc -ll accepts again after each connection, each served by a cat.
busybox nc -ll -p "$P" -e /bin/cat </dev/null >/dev/null 2>&1 &
LPID=$!
BG+=("$LPID")
wait_for 10 listening "$P" || not_ok "busybox nc listens on $P"

CLIENT_PIDS=()
for i in 1 2 3; do
	echo "hello $i" | busybox nc -w 10 127.0.0.1 "$P" >"$TMP/client$i.out" 2>&1 &
	CLIENT_PIDS+=($!)
	wait "$!"
	check "client $i: echo through the server" "hello $i" "$(cat "$TMP/client$i.out")"
done
busybox nc -w 10 127.0.0.1 "$R" </dev/null >/dev/null 2>&1 &
RPID=$!
wait "$RPID" && not_ok "connect to closed port $R refused" "it succeeded"
kill -TERM "$LPID"
wait "$LPID" 2>/dev/null

# Bounded wait for the last records: listener closed, three server sides closed.
n_of() { tr_q "select($1) | 1" --argjson p "$P" --argjson r "$R" | wc -l; }
# at_least N FILTER: N or more trace records match FILTER (re-read at every poll).
at_least() { [ "$(n_of "$2")" -ge "$1" ]; }
wait_for 20 at_least 3 '.lport == $p and .old == "LAST_ACK" and .new == "CLOSE"'
wait_for 20 at_least 1 '.lport == $p and .old == "LISTEN" and .new == "CLOSE"'
wait_for 20 at_least 1 '.rport == $r and .new == "CLOSE"'

for name in trace timeline; do
	pid_var=${name}_pid
	kill -INT "${!pid_var}"
	if wait_for 20 eval "! kill -0 ${!pid_var} 2>/dev/null"; then
		wait "${!pid_var}"
		check "tcpdwell $name exits 0 on SIGINT" 0 $?
	else
		not_ok "tcpdwell $name exits on SIGINT within 20 s"
	fi
done
BG=()

echo "# --- tcpdwell trace -j records for ports $P and $R ---"
jq -Mc --argjson p "$P" --argjson r "$R" 'select(.lport == $p or .rport == $p or .rport == $r
	or .type == "lost")' "$TMP/trace.json"
echo "# --- tcpdwell timeline -j records for ports $P and $R ---"
jq -Mc --argjson p "$P" --argjson r "$R" 'select(.lport == $p or .rport == $p or .rport == $r
	or .type == "lost")' "$TMP/timeline.json"
echo "# --- end of records ---"

bad=$(cat "$TMP/trace.json" "$TMP/timeline.json" | jq -c . 2>&1 >/dev/null | head -3)
check "every output line is JSON" "" "$bad"

# The listener.
LCOOKIE=$(tr_q 'select(.lport == $p and .old == "CLOSE" and .new == "LISTEN") | .cookie' \
	--argjson p "$P")
check "CLOSE -> LISTEN once, owned by the server" "1 $LPID" \
	"$(wc -w <<<"$LCOOKIE") $(tr_q 'select(.lport == $p and .new == "LISTEN") | .pid' \
		--argjson p "$P" | paste -sd' ')"
check "LISTEN -> CLOSE once" 1 "$(n_of '.lport == $p and .old == "LISTEN" and .new == "CLOSE"')"

# Duplicate children: when two CPUs complete one handshake at once (its ACK and the first data,
# seen under emulation on 6.1), each makes a child; the one that loses the race to the hash table
# is closed at once (tcp_v4_syn_recv_sock(): own_req false, tcp_done()). A real socket with a
# cookie of its own, traced as such, but not one of the three connections: it is left out below
# when another socket of its tuple reached ESTABLISHED and all it did was LISTEN -> SYN_RECV ->
# CLOSE (or SYN_RECV -> CLOSE, where the first carries the listener's tuple).
DUPS=$(jq -n -r --argjson p "$P" '[inputs | select(.type == "transition")] as $all |
	[$all[] | select(.lport == $p and .rport != 0)] | group_by(.rport)[] |
	select(any(.[]; .old == "SYN_RECV" and .new == "ESTABLISHED")) | [.[].cookie] | unique[] |
	. as $c | select([$all[] | select(.cookie == $c) | "\(.old)>\(.new)"] | join(" ") |
		. == "LISTEN>SYN_RECV SYN_RECV>CLOSE" or . == "SYN_RECV>CLOSE")' "$TMP/trace.json" |
	paste -sd' ')
DUPS_JSON="[${DUPS// /,}]"
[ -z "$DUPS" ] || echo "# note: duplicate children of a handshake, closed in SYN_RECV: cookie $DUPS"

# LISTEN -> SYN_RECV: one per connection; how each identifies itself is kernel-dependent.
check "LISTEN -> SYN_RECV three times on port $P" 3 \
	"$(tr_q 'select(.lport == $p and .old == "LISTEN" and .new == "SYN_RECV" and
		(.cookie | IN($d[]) | not)) | 1' --argjson p "$P" --argjson d "$DUPS_JSON" | wc -l)"
tr_q 'select(.lport == $p and .old == "LISTEN" and .new == "SYN_RECV") |
	"# note: LISTEN -> SYN_RECV record: laddr \(.laddr) lport \(.lport) raddr \(.raddr) rport \(.rport) cookie \(.cookie) (listener cookie \($l))"' \
	--argjson p "$P" --argjson l "${LCOOKIE:-null}"

# Each connection: the client side by its cookie (its CLOSE -> SYN_SENT has lport 0), the
# server side by its tuple.
mapfile -t CPORTS < <(tr_q 'select(.rport == $p and .old == "SYN_SENT" and .new == "ESTABLISHED")
	| .lport' --argjson p "$P")
check "three SYN_SENT -> ESTABLISHED to port $P" 3 "${#CPORTS[@]}"
i=0
for CP in "${CPORTS[@]}"; do
	CPID=${CLIENT_PIDS[$i]:-?}
	i=$((i + 1))
	CC=$(tr_q 'select(.rport == $p and .lport == $c and .new == "ESTABLISHED") | .cookie' \
		--argjson p "$P" --argjson c "$CP")
	check_re "client :$CP transitions" \
		"CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2( FIN_WAIT2>TIME_WAIT)?" \
		"$(tr_q 'select(.cookie == $k) | "\(.old)>\(.new)"' --argjson k "$CC" | paste -sd' ')"
	check "client :$CP owner is the nc that connected" "$CPID" \
		"$(tr_q 'select(.cookie == $k) | .pid' --argjson k "$CC" | sort -u | paste -sd' ')"
	check "client :$CP lport 0 only on CLOSE -> SYN_SENT" "0 $CP" \
		"$(tr_q 'select(.cookie == $k) | .lport' --argjson k "$CC" | sort -un | paste -sd' ')"
	SREC=$(tr_q 'select(.lport == $p and .rport == $c and (.cookie | IN($d[]) | not))' \
		--argjson p "$P" --argjson c "$CP" --argjson d "$DUPS_JSON")
	# LISTEN -> SYN_RECV fires on the new child, but on older kernels (seen on 6.1) before
	# the peer's address is copied into it: then the record carries the listener's tuple and
	# is not in this sequence (counted and described above); the SYN_RECV dwell shows that
	# the connection was stitched together all the same.
	check_re "server :$P<-:$CP transitions" \
		"(LISTEN>SYN_RECV )?SYN_RECV>ESTABLISHED ESTABLISHED>CLOSE_WAIT CLOSE_WAIT>LAST_ACK LAST_ACK>CLOSE" \
		"$(jq -r '"\(.old)>\(.new)"' <<<"$SREC" | paste -sd' ')"
	DW=$(jq -r 'select(.old == "SYN_RECV") | .dwell_ns' <<<"$SREC")
	if [[ $DW =~ ^[0-9]+$ ]] && [ "$DW" -lt 5000000000 ]; then
		ok "server :$P<-:$CP SYN_RECV dwell measured ($DW ns)"
	else
		not_ok "server :$P<-:$CP SYN_RECV dwell measured" "actual: '$DW'"
	fi
	# The child's records must all carry one cookie of their own, not the listener's.
	SC=$(jq -r .cookie <<<"$SREC" | sort -u | paste -sd' ')
	if [ "$(wc -w <<<"$SC")" = 1 ] && [ "$SC" != "$LCOOKIE" ] && [ "$SC" != 0 ]; then
		ok "server :$P<-:$CP one cookie of its own ($SC, listener $LCOOKIE)"
	else
		not_ok "server :$P<-:$CP one cookie of its own" "cookies: $SC" "listener: $LCOOKIE"
	fi
	check "server :$P<-:$CP no pid 0" "" \
		"$(jq -r 'select(.pid == 0) | "\(.old)>\(.new)"' <<<"$SREC" | paste -sd' ')"
	DW=$(tr_q 'select(.cookie == $k and .old == "SYN_SENT") | .dwell_ns' --argjson k "$CC")
	if [[ $DW =~ ^[0-9]+$ ]] && [ "$DW" -gt 0 ] && [ "$DW" -lt 5000000000 ]; then
		ok "client :$CP SYN_SENT dwell between 0 and 5 s ($DW ns)"
	else
		not_ok "client :$CP SYN_SENT dwell between 0 and 5 s" "actual: '$DW'"
	fi
done

check "refused connect: transitions" "CLOSE>SYN_SENT SYN_SENT>CLOSE" \
	"$(tr_q 'select(.rport == $r) | "\(.old)>\(.new)"' --argjson r "$R" | paste -sd' ')"
check "refused connect: owner" "$RPID" \
	"$(tr_q 'select(.rport == $r) | .pid' --argjson r "$R" | sort -u | paste -sd' ')"

TL=$(jq -r --argjson p "$P" --argjson d "$DUPS_JSON" 'select(.type == "timeline" and
	.lport == $p and .role == "passive" and (.cookie | IN($d[]) | not))
	| "\(.complete) \([.states[].state] | join(","))"' "$TMP/timeline.json" | sort | uniq -c |
	awk '{ $1 = $1; print }')
[ -z "$DUPS" ] || check "timeline: each duplicate child complete, only ever SYN_RECV" \
	"$(wc -w <<<"$DUPS") true SYN_RECV" \
	"$(jq -r --argjson d "$DUPS_JSON" 'select(.type == "timeline" and (.cookie | IN($d[])))
		| "\(.complete) \([.states[].state] | join(","))"' "$TMP/timeline.json" | sort |
		uniq -c | awk '{ $1 = $1; print }')"
check "timeline: three complete passive connections" \
	"3 true SYN_RECV,ESTABLISHED,CLOSE_WAIT,LAST_ACK" "$TL"
check "timeline: the refused connect" "active true SYN_SENT" \
	"$(jq -r --argjson r "$R" 'select(.type == "timeline" and .rport == $r) |
		"\(.role) \(.complete) \([.states[].state] | join(","))"' "$TMP/timeline.json")"

LOST=$(cat "$TMP/trace.json" "$TMP/timeline.json" | jq -c 'select(.type == "lost")')
[ -z "$LOST" ] || echo "# lost records reported: $LOST"

echo "smoke: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
