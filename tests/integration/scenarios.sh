#!/bin/bash
# Scenario suite: real BPF on real loopback connections, IPv4 and IPv6. For each scenario played
# by tests/integration/tdpeer (client or server closes first, half-close, close() after
# shutdown(), a held CLOSE_WAIT, RST, refused connect, pre-fork, a server that never closes,
# TIME_WAIT reuse) it runs fresh `tcpdwell trace -j` and `timeline -j` processes, waits (bounded)
# for the records, stops them with SIGINT and asserts every transition of both sides, the owners,
# the dwell and the JSON. The 60-s TIME_WAIT expiry is tw_expire.sh.
# Needs root. Usage: scenarios.sh [--only REGEX] [--keep]: REGEX matches all of SCENARIO-FAMILY
# (e.g. "rst-4", "tw-reuse-.", "(prefork|refused)-6"); OUTPUT=build by default.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
ONLY='.*'
KEEP=0
while [ $# -gt 0 ]; do
	case $1 in
	--only) ONLY=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--only REGEX] [--keep]" >&2; exit 2 ;;
	esac
done
ME=scenarios
# How soon after CLOSE_WAIT began the test sees the stuck record (1.2 s plus one 20 ms poll).
# Under full emulation (tests/vm: qemu without KVM) the test's own polling lags: it sets more.
STUCK_SEEN_MAX_MS=${TD_STUCK_SEEN_MAX_MS:-1220}
# How far a peer's own clock readings may be from the kernel's events (scheduling: EOF read after
# the FIN's arrival, a reconnect after close()): emulation sets more.
WAKE_SLACK_MS=${TD_WAKE_SLACK_MS:-20}
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh

# --- scenarios ------------------------------------------------------------------------------------
# Also runs `trace -L P` and `trace -R P`: filters select whole connections, so -L P shows the
# listener and the server's connection only, -R P the client's connection only (its
# CLOSE>SYN_SENT included although it carries lport 0).
# conn_seqs FILE JQ-CONDITION: one line per connection whose transitions match, "LPORT RPORT:
# OLD>NEW ..." (the tuple of its last record: a connect()'s first one has lport 0), sorted.
conn_seqs() {
	keyed "$1" | jq -R -r -s "[split(\"\\n\")[] | fromjson? | select($2)] | group_by(.cookie) |
		.[] | \"\\(.[-1].lport) \\(.[-1].rport): \\(map(\"\\(.old)>\\(.new)\") | join(\" \"))\"" |
		sort
}

sc_client_first() {
	local want got
	begin_run client-first || return
	start_tracer by_lport trace -j -L "$P" || { abandon; return; }
	start_tracer by_rport trace -j -R "$P" || { abandon; return; }
	play client-first || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE $CLOSE_ACTIVE_ORPHAN" "$CPID"
	expect_timeline server "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID"
	expect_no_timeline client "$CP" "$P"
	finish_run
	# Compared connection by connection (its final tuple and its transitions in order), so that
	# it holds on paths without cookies too (keyed: grouped by tuple and order there).
	want=$(conn_seqs "$RUN.trace.json" ".family == $FAM and .lport == $P")
	got=$(conn_seqs "$RUN.by_lport.json" true)
	expect_eq "$LABEL: trace -L $P: the listener's and the server's connections only" \
		"$want" "$got" "records:" "$(jq -R -c 'fromjson? | select(.type == "transition") |
			{cookie, lport, rport, old, new}' "$RUN.by_lport.json")"
	want=$(conn_seqs "$RUN.trace.json" ".family == $FAM and .rport == $P")
	got=$(conn_seqs "$RUN.by_rport.json" true)
	expect_eq "$LABEL: trace -R $P: the client's connection only, all of it" "$want" "$got"
}

sc_server_first() {
	begin_run server-first || return
	play server-first || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_ACTIVE_ORPHAN" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE $CLOSE_PASSIVE" "$CPID"
	expect_timeline client "$CP" "$P" active "$TL_ACTIVE_CLOSED" "$CPID"
	expect_no_timeline server "$P" "$CP"
	finish_run
}

# shutdown(SHUT_WR) keeps the client's socket: its TIME_WAIT entry is seen when it happens.
sc_half_close() {
	begin_run half-close || return
	play half-close || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE $TO_TIME_WAIT" "$CPID"
	expect_timeline server "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID"
	expect_no_timeline client "$CP" "$P"
	finish_run
}

# close() after shutdown() in FIN_WAIT2: the kernel reports FIN_WAIT2 -> FIN_WAIT2, which is not a
# state change: no such record, and FIN_WAIT2's dwell runs on across it.
sc_shutdown_close() {
	begin_run shutdown-close || return
	play shutdown-close || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side client "$CP" "$P" 1 \
		"$OPEN_ACTIVE ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2( FIN_WAIT2>TIME_WAIT)?" "$CPID"
	expect_timeline server "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID"
	expect_no_timeline client "$CP" "$P"
	finish_run
}

sc_cw_hold() {
	local cw_tl cw_tr held
	begin_run cw-hold || return
	play cw-hold 1500 || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE $CLOSE_ACTIVE_ORPHAN" "$CPID"
	expect_timeline server "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID"
	finish_run
	held=$(peer server held_ns)
	[[ $held =~ ^[0-9]+$ ]] || held=0
	cw_tl=$(timelines "$RUN.timeline.json" "$FAM" "$P" "$CP" |
		jq -r '.states[] | select(.state == "CLOSE_WAIT") | .dwell_ns' | head -1)
	# The kernel's CLOSE_WAIT began before the server read EOF and ended in its close(): at
	# least the 1.5 s hold, at most the hold the server measured plus its wakeup for EOF.
	expect_range "$LABEL: server timeline: CLOSE_WAIT dwell from 1.5 s to the server's hold + $WAKE_SLACK_MS ms" \
		1500000000 $((held + WAKE_SLACK_MS * 1000000)) "$cw_tl" \
		"server held it $held ns (EOF seen to close())"
	cw_tr=$(jq -R -r --argjson l "$P" --argjson r "$CP" 'fromjson? | select(.type ==
		"transition" and .lport == $l and .rport == $r and .old == "CLOSE_WAIT") | .dwell_ns' \
		"$RUN.trace.json" | head -1)
	expect_range "$LABEL: server trace: CLOSE_WAIT>LAST_ACK dwell from 1.5 s to the server's hold + $WAKE_SLACK_MS ms" \
		1500000000 $((held + WAKE_SLACK_MS * 1000000)) "$cw_tr" \
		"server held it $held ns (EOF seen to close())"
}

sc_rst() {
	begin_run rst || return
	play rst || { abandon; return; }
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE ESTABLISHED>CLOSE" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE ESTABLISHED>CLOSE" "$CPID"
	expect_timeline server "$P" "$CP" passive 'SYN_RECV ESTABLISHED' "$SPID"
	expect_timeline client "$CP" "$P" active 'SYN_SENT ESTABLISHED' "$CPID"
	finish_run
}

sc_refused() {
	local tr
	begin_run refused || return
	play refused || { abandon; return; }
	CPID=$(peer client pid)
	CP=$(peer client lport)
	if [ "$CP" = 0 ]; then
		# The port could not be read back: take it from the record that follows SYN_SENT.
		CP=$(jq -R -r --argjson r "$P" --argjson f "$FAM" 'fromjson? | select(.type ==
			"transition" and .family == $f and .rport == $r and .lport != 0) | .lport' \
			"$RUN.trace.json" | head -1)
	fi
	expect_side client "$CP" "$P" 1 'CLOSE>SYN_SENT SYN_SENT>CLOSE' "$CPID"
	expect_timeline client "$CP" "$P" active SYN_SENT "$CPID"
	finish_run
	tr=$(jq -R -c --argjson r "$P" --argjson f "$FAM" 'fromjson? | select(.type ==
		"transition" and .family == $f and .rport == $r)' "$RUN.trace.json" | jq -s length)
	expect_eq "$LABEL: only the client's two records name port $P" 2 "$tr"
}

sc_prefork() {
	local i kid kport cpid cport
	begin_run prefork || return
	play prefork || { abandon; return; }
	LPID=$(peer listener pid)
	expect_side listener "$P" 0 1 "$LISTENER" "$LPID"
	expect_timeline listener "$P" 0 listen LISTEN "$LPID"
	expect_eq "$LABEL: three children and three clients played" "3 3" \
		"$(peer server pid | wc -l) $(peer client pid | wc -l)"
	for i in 1 2 3; do
		kid=$(peer server pid | sed -n "${i}p")
		kport=$(peer server rport | sed -n "${i}p")
		cpid=$(peer client pid ".lport == $kport")
		cport=$kport
		expect_side "server child $i" "$P" "$kport" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" \
			"$kid" "$LPID"
		expect_side "client $i" "$cport" "$P" 1 "$OPEN_ACTIVE $CLOSE_ACTIVE_ORPHAN" "$cpid"
		expect_timeline "server child $i" "$P" "$kport" passive "$TL_PASSIVE_CLOSED" "$kid"
	done
	finish_run
}

# A server that leaves a peer-closed connection open: --stuck CLOSE_WAIT=1s must report it,
# with the server's pid, while it is still there and within 1.2 s.
STUCK_SEEN_NS=
stuck_seen() {
	if [ -z "$STUCK_SEEN_NS" ] && [ -n "$(stuck_record)" ]; then
		STUCK_SEEN_NS=$(date +%s%N)
	fi
	[ -n "$STUCK_SEEN_NS" ]
}
stuck_record() {
	jq -R -c --argjson l "$P" 'fromjson? | select(.type == "stuck" and .lport == $l)' \
		"$RUN.trace.json" | head -1
}
sc_never_close() {
	local peer_pid st rec cw_at cw_time seen_ms pos_stuck pos_close cw_tl
	begin_run never-close --stuck CLOSE_WAIT=1s || return
	STUCK_SEEN_NS=
	timeout 30 "$PEER" never-close "$FAM" "$P" 1600 >"$PEERS" 2>"$PEERS.err" &
	peer_pid=$!
	BG+=("$peer_pid")
	wait_until 5 stuck_seen
	wait "$peer_pid"
	st=$?
	reaped "$peer_pid"
	if [ $st != 0 ]; then
		not_ok "$LABEL: tdpeer never-close $FAM $P 1600" "$(cat "$PEERS.err")"
		abandon
		return
	fi
	read_pair
	expect_side server "$P" "$CP" 1 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side client "$CP" "$P" 1 "$OPEN_ACTIVE $CLOSE_ACTIVE_ORPHAN" "$CPID"
	expect_timeline server "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID"
	finish_run
	rec=$(stuck_record)
	expect_eq "$LABEL: stuck record: state pid comm lport rport" \
		"CLOSE_WAIT $SPID tdpeer $P $CP" \
		"$(jq -r '"\(.state) \(.pid) \(.comm) \(.lport) \(.rport)"' <<<"${rec:-null}")" \
		"stuck: ${rec:-(none)}"
	expect_range "$LABEL: stuck record: dwell at report 1 s .. 1.2 s" 1000000000 1200000000 \
		"$(jq -r .dwell_ns <<<"${rec:-null}")"
	# Seen here within 1.2 s of the kernel's ESTABLISHED>CLOSE_WAIT (plus one 20 ms poll).
	cw_time=$(jq -R -r --argjson l "$P" --argjson r "$CP" 'fromjson? | select(.type ==
		"transition" and .lport == $l and .rport == $r and .new == "CLOSE_WAIT") | .time' \
		"$RUN.trace.json" | head -1)
	cw_at=$(date -d "$cw_time" +%s%N 2>/dev/null)
	seen_ms=
	[ -n "$cw_at" ] && [ -n "$STUCK_SEEN_NS" ] && seen_ms=$(((STUCK_SEEN_NS - cw_at) / 1000000))
	expect_range "$LABEL: stuck record printed within $((STUCK_SEEN_MAX_MS / 10 * 10)) ms of CLOSE_WAIT (ms)" \
		1000 "$STUCK_SEEN_MAX_MS" \
		"$seen_ms" "CLOSE_WAIT entered at $cw_time"
	pos_stuck=$(grep -n '"type":"stuck"' "$RUN.trace.json" | head -1 | cut -d: -f1)
	pos_close=$(grep -n "\"lport\":$P,.*\"old\":\"CLOSE_WAIT\"" "$RUN.trace.json" | head -1 |
		cut -d: -f1)
	expect_eq "$LABEL: stuck record comes while the socket is still in CLOSE_WAIT" yes \
		"$([ -n "$pos_stuck" ] && [ -n "$pos_close" ] && [ "$pos_stuck" -lt "$pos_close" ] &&
			echo yes || echo "stuck at line ${pos_stuck:-?}, CLOSE_WAIT>LAST_ACK at ${pos_close:-?}")"
	cw_tl=$(timelines "$RUN.timeline.json" "$FAM" "$P" "$CP" |
		jq -r '.states[] | select(.state == "CLOSE_WAIT") | .dwell_ns' | head -1)
	expect_range "$LABEL: server timeline: CLOSE_WAIT dwell 1.6 s .. 1.7 s (closed at exit)" \
		1600000000 1700000000 "$cw_tl"
}

# The server closes first and holds TIME_WAIT; the client reconnects from the same port and
# its SYN ends that TIME_WAIT early.
sc_tw_reuse() {
	local gap end
	begin_run tw-reuse || return
	play tw-reuse 200 || { abandon; return; }
	LPID=$(peer listener pid)
	SPID=$(peer server pid '.conn == 1')
	CPID=$(peer client pid '.conn == 1')
	CP=$(peer client lport '.conn == 1')
	expect_eq "$LABEL: second connection from the same port" "$CP" \
		"$(peer client lport '.conn == 2')"
	expect_side listener "$P" 0 1 "$LISTENER" "$LPID"
	expect_side "server conn 1" "$P" "$CP" 1 \
		"$OPEN_PASSIVE $TO_TIME_WAIT TIME_WAIT>CLOSE" "$SPID"
	expect_side "client conn 1" "$CP" "$P" 1 "$OPEN_ACTIVE $CLOSE_PASSIVE" "$CPID"
	expect_side "server conn 2" "$P" "$CP" 2 "$OPEN_PASSIVE $CLOSE_PASSIVE" "$SPID"
	expect_side "client conn 2" "$CP" "$P" 2 "$OPEN_ACTIVE $CLOSE_ACTIVE_ORPHAN" "$CPID"
	expect_timeline "server conn 1" "$P" "$CP" passive \
		'SYN_RECV ESTABLISHED FIN_WAIT1 (FIN_WAIT2|CLOSING) TIME_WAIT' "$SPID" \
		'any(.states[]; .state == "TIME_WAIT")'
	expect_timeline "server conn 2" "$P" "$CP" passive "$TL_PASSIVE_CLOSED" "$SPID" \
		'all(.states[]; .state != "TIME_WAIT")'
	expect_timeline "client conn 1" "$CP" "$P" active "$TL_ACTIVE_CLOSED" "$CPID"
	finish_run
	gap=$(peer client gap_ns '.conn == 2')
	end=$(jq -R -c --argjson l "$P" --argjson r "$CP" 'fromjson? | select(.type ==
		"transition" and .lport == $l and .rport == $r and .old == "TIME_WAIT")' \
		"$RUN.trace.json" | head -1)
	expect_match "$LABEL: server TIME_WAIT>CLOSE: end reused or killed" 'reused|killed' \
		"$(jq -r .end <<<"${end:-null}")" "record: ${end:-(none)}"
	# TIME_WAIT began when the client's FIN arrived and ended with its new SYN.
	[[ $gap =~ ^[0-9]+$ ]] || gap=0
	expect_range "$LABEL: server TIME_WAIT dwell = client's close-to-reconnect gap ± $WAKE_SLACK_MS ms" \
		$((gap - WAKE_SLACK_MS * 1000000)) $((gap + WAKE_SLACK_MS * 1000000)) \
		"$(jq -r .dwell_ns <<<"${end:-null}")" "gap $gap ns"
	expect_match "$LABEL: server conn 1 timeline: end reused or killed" 'reused|killed' \
		"$(timelines "$RUN.timeline.json" "$FAM" "$P" "$CP" 'any(.states[]; .state ==
			"TIME_WAIT")' | jq -r .end)"
}

SCENARIOS="client_first server_first half_close shutdown_close cw_hold rst refused prefork never_close tw_reuse"
for FAM in 4 6; do
	LO=127.0.0.1
	[ $FAM = 6 ] && LO=::1
	for sc in $SCENARIOS; do
		[[ "${sc//_/-}-$FAM" =~ ^($ONLY)$ ]] || continue
		"sc_$sc"
	done
done

echo "integration: $((N - FAILED)) passed, $FAILED failed"
[ $FAILED = 0 ]
