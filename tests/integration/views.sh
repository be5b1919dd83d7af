#!/bin/bash
# The timeline views on real loopback connections: `timeline --format perfetto -o FILE` must be
# valid trace-event JSON after SIGINT (checked with jq), with one track per connection under its
# owner, one slice per state (as many as `timeline -j` reports states) and dur equal to dwell_ns;
# `timeline --pair` must print both ends of a loopback connection in one block, client and server
# columns, SYN_SENT before SYN_RECV before the server's ESTABLISHED. Needs root.
# Usage: views.sh [--keep].
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=views
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh

LABEL=views
RUN=$TMP/views
TRACERS=()
start_tracer json timeline -j || exit 1
# --no-seed: the sockets of the whole host found at start are no part of what is checked.
start_tracer pf timeline --format perfetto --no-seed -o "$RUN.pf.out" || exit 1
start_tracer pair timeline --pair || exit 1

# Two RST-closed connections (both ends finish at once, no TIME_WAIT), IPv4 and IPv6.
PORTS=()
for FAM in 4 6; do
	next_port
	PEERS=$RUN.peer.$FAM
	LABEL="IPv$FAM views rst"
	play rst || continue
	PORTS+=("$P")
	printf -v "CPORT_$FAM" %s "$(peer client lport)"
done

# Both ends' timelines for each port, in the -j view (the views see the same records).
ends_seen() {
	local p n
	for p in "${PORTS[@]}"; do
		n=$(jq -s --argjson p "$p" '[.[] | select(.type == "timeline" and .rport != 0 and
			(.lport == $p or .rport == $p))] | length' "$RUN.json.json" 2>/dev/null)
		[ "${n:-0}" -ge 2 ] || return 1
	done
}
LABEL=views
if wait_until 10 ends_seen; then ok "both ends of ${#PORTS[@]} connections finished"; else
	not_ok "both ends finished within 10 s" "$(cat "$RUN.json.json")"; fi
# SIGINT; each must exit 0 within 10 s (the perfetto JSON is closed in app_close).
stop_tracers

# A connection whose records show one missing (a chain break) while no record was counted lost
# is a bug; these tracers see the whole host, whose load may make them lose records (said, and
# then breaks are expected).
expect_eq "views: timeline -j: no chain break without a loss counted" "" \
	"$(jq -R -c 'fromjson? | select(.type == "lost" and .chain_breaks != 0 and
		.ringbuf + .recursion == 0)' "$RUN.json.json" | head -1)"
for name in pair pf; do
	# text: the lost line on stdout, or on stderr beside perfetto's JSON
	expect_eq "views: $name: no chain break without a loss counted" "" \
		"$(cat "$RUN.$name.json" "$RUN.$name.err" | grep '^LOST .*no loss counted' | head -1)"
done

# --- perfetto ---------------------------------------------------------------------------------
PF=$RUN.pf.out
if jq -e . "$PF" >/dev/null 2>&1; then ok "perfetto output is valid JSON"; else
	not_ok "perfetto output is valid JSON" "$(tail -c 400 "$PF")"; fi
expect_eq "perfetto: displayTimeUnit ns, traceEvents an array" "ns array" \
	"$(jq -r '"\(.displayTimeUnit) \(.traceEvents | type)"' "$PF")"
# M (names), X (states), and thread-scoped instants on a connection's track: its accept, the
# end of its handshake, what it carried, its reset.
expect_eq "perfetto: only M and X events, and the connection instants" "" \
	"$(jq -r '.traceEvents[] | select(.ph != "M" and .ph != "X" and (.ph != "i" or .s != "t" or
		(.name | IN("accept", "handshake", "carried", "rst") | not))) | "\(.ph) \(.name)"' "$PF")"
# Lookups by object key, not by searching arrays: the trace holds every connection of the host
# still open at the end, which on a busy machine is tens of thousands of tracks.
expect_eq "perfetto: every X slice's pid has a process_name" "" \
	"$(jq -r '(reduce (.traceEvents[] | select(.name == "process_name") | "\(.pid)") as $k
		({}; .[$k] = 1)) as $n |
		.traceEvents[] | select(.ph == "X") | select($n["\(.pid)"] == null) | .pid' "$PF")"
expect_eq "perfetto: every track has one thread_name" "" \
	"$(jq -r '.traceEvents | (reduce (.[] | select(.name == "thread_name") | "\(.pid)/\(.tid)")
		as $k ({}; .[$k] += 1)) as $t |
		(.[] | select(.ph == "X") | "\(.pid)/\(.tid)" | select($t[.] == null)),
		(if [$t[] | select(. > 1)] | length > 0 then "duplicate thread_name" else empty end)' \
		"$PF" | sort -u)"
expect_eq "perfetto: dur (us) equals args.dwell_ns" "" \
	"$(jq -r '.traceEvents[] | select(.ph == "X" and .args.dwell_ns != null) |
		select(((.dur * 1000) | round) != .args.dwell_ns) | "\(.name) \(.dur) \(.args.dwell_ns)"' "$PF")"
for p in "${PORTS[@]}"; do
	# Per cookie of a connection on port p: states in -j == X slices in perfetto.
	want=$(jq -r --argjson p "$p" 'select(.type == "timeline" and (.lport == $p or .rport == $p)) |
		"\(.cookie) \(.states | length)"' "$RUN.json.json" | sort)
	got=$(jq -r --argjson p "$p" '.traceEvents as $e |
		[$e[] | select(.name == "thread_name" and (.args.name | test(":\($p)( |$)"))) |
		{pid, tid}] as $tracks | $e[] | select(.ph == "X") |
		select({pid, tid} as $k | $tracks | index($k)) | .args.cookie' "$PF" |
		sort | uniq -c | awk '{print $2, $1}' | sort)
	expect_eq "perfetto: port $p: one slice per state for each connection" "$want" "$got"
	expect_eq "perfetto: port $p: thread names are laddr:lport > raddr:rport" 3 \
		"$(jq -r --argjson p "$p" '[.traceEvents[] | select(.name == "thread_name") | .args.name |
			select(test("^(\\[[0-9a-f:.]+\\]|[0-9.]+):[0-9]+ > (\\[[0-9a-f:.]+\\]|[0-9.]+):[0-9]+$")) |
			select(test(":\($p)( |$)"))] | length' "$PF")"
done

# --- pair -------------------------------------------------------------------------------------
# Columns: time at 3, client at 20, server at 52 (1-based); the block's lines up to a blank
# or the next PAIR/UNPAIRED header.
pair_block() {
	awk -v h="$1" 'index($0, h) == 1 { on = 1; print; next }
		on && /^(PAIR|UNPAIRED) / { exit } on { print }' "$RUN.pair.json"
}
for FAM in 4 6; do
	cport_var=CPORT_$FAM
	PEERS=$RUN.peer.$FAM
	[ -n "${!cport_var:-}" ] || continue
	p=${PORTS[$([ $FAM = 4 ] && echo 0 || echo 1)]}
	if [ $FAM = 4 ]; then ep="127.0.0.1:${!cport_var} > 127.0.0.1:$p"; else
		ep="[::1]:${!cport_var} > [::1]:$p"; fi
	blk=$(pair_block "PAIR $ep ")
	LABEL="IPv$FAM pair"
	if [ -n "$blk" ]; then ok "$LABEL: client and server printed as one pair"; else
		not_ok "$LABEL: a PAIR block for $ep" "$(cat "$RUN.pair.json")"; continue; fi
	# "C STATE" or "S STATE" per event line, in printed order.
	seq=$(awk 'NR > 2 { col = substr($0, 20, 1) != " " ? "C" : "S";
		s = col == "C" ? substr($0, 20) : substr($0, 52); split(s, w, " ");
		printf "%s%s:%s", sep, col, w[1]; sep = " " }' <<<"$blk")
	expect_match "$LABEL: handshake order SYN_SENT, SYN_RECV, server ESTABLISHED" \
		'C:SYN_SENT .*S:SYN_RECV .*S:ESTABLISHED .*' "$seq" "$blk"
	expect_match "$LABEL: client column SYN_SENT > ESTABLISHED > CLOSE" \
		'C:SYN_SENT( S:[A-Z_]+)* C:ESTABLISHED( S:[A-Z_]+)* C:CLOSE( S:[A-Z_]+)*' "$seq" "$blk"
	expect_match "$LABEL: server column SYN_RECV > ESTABLISHED > CLOSE" \
		'(C:[A-Z_]+ )*S:SYN_RECV( C:[A-Z_]+)* S:ESTABLISHED( C:[A-Z_]+)* S:CLOSE( C:[A-Z_]+)*' \
		"$seq" "$blk"
	expect_match "$LABEL: header names both owners" \
		"  TIME\\(UTC\\) +CLIENT $(peer client pid) tdpeer +SERVER [0-9]+ tdpeer" \
		"$(sed -n 2p <<<"$blk")"
done
# A listener has no other end: alone, marked.
expect_match "pair: the listener is printed alone, marked" '[1-9][0-9]*' \
	"$(grep -c "^UNPAIRED 0.0.0.0:0 > 127.0.0.1:${PORTS[0]} " "$RUN.pair.json")"

echo "$ME: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
