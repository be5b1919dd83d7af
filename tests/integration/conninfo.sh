#!/bin/bash
# What the handshake and the connection carried, on real sockets in a network namespace of the
# test's own, IPv4 and IPv6, under `trace -j` and `timeline -j -w` (tests/integration/xfer.c
# moves a known number of bytes each way; nftables drops handshake packets exactly):
# - bytes: the server end's bytes_received and bytes_acked are what xfer moved up and down (the
#   kernel counts sequence space: one more for the FIN, which both ends' FINs were here);
# - SYNs: the first two SYNs to one port are dropped (numgen), so the client's connect waits
#   two retransmission timeouts, 1 s each at least (linear on 6.10 and later,
#   net.ipv4.tcp_syn_linear_timeouts; 1 + 2 s before); its handshake_retrans (trace -j, leaving SYN_SENT) is the SYNs the output hook
#   counted minus one: 2;
# - SYN-ACKs: the first SYN-ACK from another port is dropped; the server end's
#   handshake_retrans is the SYN-ACKs counted minus one (the client's own SYN retransmission
#   may make the server send one more, and the count follows);
# - every ended connection has a handshake RTT sample where the kernel takes one, and the
#   replay of the recording gives the same timelines.
# Needs root. Usage: conninfo.sh [--keep].
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=conninfo
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
XF=$(realpath "$OUTPUT/tests/xfer")
[ -x "$XF" ] || { echo "$ME: $XF missing: run make first" >&2; exit 1; }
command -v nft >/dev/null || { echo "$ME: nft missing (make deps installs nftables)" >&2; exit 1; }

NS=tdconn$$
cleanup_ns() { ip netns del "$NS" 2>/dev/null; }
trap 'cleanup_ns; cleanup' EXIT
if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	echo "$ME: cannot make a netns" >&2
	exit 1
fi
NSINO=$(stat -Lc %i "/run/netns/$NS")
inns() { ip netns exec "$NS" "$@"; }

UP=1000000
DOWN=234567
PB=9001 # bytes
PS=9002 # SYNs dropped
PA=9003 # SYN-ACK dropped

LABEL=conninfo
RUN=$TMP/conninfo
TRACERS=()
start_tracer tr trace -j --no-seed -N "$NSINO" || exit 1
start_tracer tl timeline -j --no-seed -N "$NSINO" -w "$RUN.tdr" || exit 1
start_tracer st stat -j --by lport --no-seed -N "$NSINO" || exit 1
next_port
SP=$P
start_tracer sv serve --by lport --no-seed -N "$NSINO" --interval 100ms \
	--listen "127.0.0.1:$SP" || exit 1

# The output hook counts what is sent; the input hook drops the first packets of a kind.
nft_rules() {
	inns nft -f - <<EOF
table inet td {
	counter syns {}
	counter synacks {}
	chain out {
		type filter hook output priority 0;
		tcp dport $PS tcp flags & (syn | ack) == syn counter name syns
		tcp sport $PA tcp flags & (syn | ack) == syn | ack counter name synacks
	}
	chain in {
		type filter hook input priority 0;
		tcp dport $PS tcp flags & (syn | ack) == syn numgen inc mod 3 < 2 drop
		tcp sport $PA tcp flags & (syn | ack) == syn | ack numgen inc mod 2 < 1 drop
	}
}
EOF
}
counted() { inns nft -j list counter inet td "$1" | jq '.nftables[1].counter.packets'; }

for FAM in 4 6; do
	inns nft delete table inet td 2>/dev/null
	if ! nft_rules; then
		not_ok "IPv$FAM: nftables rules load"
		continue
	fi
	pids=()
	for p in $PB $PS $PA; do
		inns "$XF" "-$FAM" "$p" "$UP" "$DOWN" >"$RUN.x$FAM.$p" 2>"$RUN.x$FAM.$p.err" &
		pids+=("$!")
		BG+=("$!")
	done
	for pid in "${pids[@]}"; do
		wait "$pid"
		reaped "$pid"
	done
	for p in $PB $PS $PA; do
		[ -s "$RUN.x$FAM.$p" ] || not_ok "IPv$FAM: xfer on port $p" "$(cat "$RUN.x$FAM.$p.err")"
	done
	printf -v "SYNS_$FAM" %s "$(counted syns)"
	printf -v "SYNACKS_$FAM" %s "$(counted synacks)"
done

# Every server end (lport one of ours) has ended: 2 families x 3 ports.
server_ends() {
	[ "$(jq -R -c 'fromjson? | select(.type == "timeline" and .role == "passive")' \
		"$RUN.tl.json" | wc -l)" -ge 6 ]
}
if wait_until 10 server_ends; then ok "conninfo: every server end finished"; else
	not_ok "conninfo: every server end finished within 10 s" "$(cat "$RUN.tl.json")"; fi
# serve --by lport: the bytes each listening port's connections carried (both families'),
# published every 100 ms.
scrape() {
	curl -s --max-time 5 "http://127.0.0.1:$SP/metrics" >"$RUN.metrics" &&
		grep -q "^tcpdwell_bytes_received_total{lport=\"$PB\"} $((2 * (UP + 1)))$" \
			"$RUN.metrics"
}
if wait_until 10 scrape; then ok "serve --by lport: bytes per listening port"; else
	not_ok "serve --by lport: bytes per listening port within 10 s" \
		"$(grep -E 'bytes|retrans' "$RUN.metrics")"; fi
expect_eq "serve --by lport: bytes sent by port $PB's connections" \
	"tcpdwell_bytes_sent_total{lport=\"$PB\"} $((2 * (DOWN + 1)))" \
	"$(grep "^tcpdwell_bytes_sent_total{lport=\"$PB\"}" "$RUN.metrics")"
stop_tracers

server_tl() { # FAMILY PORT
	jq -R -c --argjson f "$1" --argjson p "$2" 'fromjson? | select(.type == "timeline" and
		.role == "passive" and .family == $f and .lport == $p)' "$RUN.tl.json"
}
client_syn() { # FAMILY PORT: the client's transition out of SYN_SENT
	jq -R -c --argjson f "$1" --argjson p "$2" 'fromjson? | select(.type == "transition" and
		.family == $f and .rport == $p and .old == "SYN_SENT")' "$RUN.tr.json"
}

for FAM in 4 6; do
	x=$(cat "$RUN.x$FAM.$PB")
	tl=$(server_tl "$FAM" "$PB")
	expect_eq "IPv$FAM: xfer moved what it was told" "$UP $DOWN" \
		"$(jq -r '"\(.up) \(.down)"' <<<"$x")" "$x"
	# Sequence space: the data and the FIN each way.
	expect_eq "IPv$FAM: server end: bytes_received = up + FIN, bytes_acked = down + FIN" \
		"$((UP + 1)) $((DOWN + 1))" "$(jq -r '"\(.bytes_received) \(.bytes_acked)"' <<<"$tl")" "$tl"
	expect_eq "IPv$FAM: server end: segments and an RTT sample" true \
		"$(jq -r '.segs_in > 0 and .segs_out > 0 and .srtt_ns > 0 and .min_rtt_ns > 0 and
			.handshake_retrans == 0 and .handshake_rtt_ns > 0' <<<"$tl")" "$tl"

	syns_var=SYNS_$FAM
	tr=$(client_syn "$FAM" "$PS")
	expect_eq "IPv$FAM: nftables counted 3 SYNs (2 dropped)" 3 "${!syns_var}"
	expect_eq "IPv$FAM: client: handshake_retrans = SYNs sent - 1" \
		"$((${!syns_var} - 1))" "$(jq -r '.handshake_retrans' <<<"$tr")" "$tr"
	cn=$(jq -r '.connect_ns' "$RUN.x$FAM.$PS")
	expect_eq "IPv$FAM: the connect took the two retransmission timeouts (2 s or more)" true \
		"$([ "${cn:-0}" -ge 2000000000 ] && echo true || echo false)" "connect_ns $cn"

	synacks_var=SYNACKS_$FAM
	tl=$(server_tl "$FAM" "$PA")
	if [ "${!synacks_var:-0}" -ge 2 ]; then
		ok "IPv$FAM: nftables counted ${!synacks_var} SYN-ACKs (the first dropped)"
	else
		not_ok "IPv$FAM: nftables counted 2 or more SYN-ACKs" "counted: ${!synacks_var}"
	fi
	expect_eq "IPv$FAM: server end: handshake_retrans = SYN-ACKs sent - 1" \
		"$((${!synacks_var} - 1))" "$(jq -r '.handshake_retrans' <<<"$tl")" "$tl"
done

# stat --by lport: the count rows of port PB, a sample per connection (both families).
row=$(jq -c --argjson p "$PB" 'select(.type == "stat" and .state == "BYTES_RECV" and
	.lport == $p)' "$RUN.st.json" | tail -1)
expect_eq "stat --by lport: BYTES_RECV of port $PB: 2 connections, their sum" \
	"2 $((2 * (UP + 1)))" "$(jq -r '"\(.count) \(.sum)"' <<<"$row")" "$(cat "$RUN.st.json")"
# The text timeline says why the handshake was slow; --wide adds what it carried.
"$TD" timeline --wide -i "$RUN.tdr" >"$RUN.wide.txt" 2>&1
expect_eq "timeline --wide: port $PA's server ends: their SYN-ACKs retransmitted" \
	"$((SYNACKS_4 - 1)) $((SYNACKS_6 - 1))" \
	"$(for a in "127.0.0.1" "\[::1\]"; do
		sed -n "s/.* $a:$PA .*SYN_RECV (\([0-9]*\) SYN-ACKs\{0,1\} retransmitted).*/\1/p" \
			"$RUN.wide.txt"
	done | paste -sd ' ')" "$(cat "$RUN.wide.txt")"
expect_eq "timeline --wide: port $PB's server ends: the bytes they carried" 2 \
	"$(grep -c ":$PB .*sent $((DOWN + 1)) B, received $((UP + 1)) B" "$RUN.wide.txt")" \
	"$(cat "$RUN.wide.txt")"
"$TD" timeline --format perfetto -i "$RUN.tdr" -o "$RUN.pf" 2>"$RUN.pf.err"
# Handshakes: the 6 server ends and the 6 clients, still in TIME_WAIT (drawn open); what
# they carried: the server ends, which ended.
expect_eq "timeline --format perfetto: handshake and carried instants" "12 6" \
	"$(jq -r '[([.traceEvents[] | select(.ph == "i" and .name == "handshake")] | length),
		([.traceEvents[] | select(.ph == "i" and .name == "carried")] | length)] |
		join(" ")' "$RUN.pf")"
"$TD" timeline -j -i "$RUN.tdr" >"$RUN.replay.json" 2>"$RUN.replay.err"
expect_eq "timeline -i: the live timelines, byte for byte" \
	"$(jq -R -c 'fromjson? | select(.type == "timeline")' "$RUN.tl.json")" \
	"$(jq -R -c 'fromjson? | select(.type == "timeline")' "$RUN.replay.json")"
expect_eq "no chain break (every -> CLOSE had its counters)" "" \
	"$(jq -R -c 'fromjson? | select(.type == "lost" and .chain_breaks != 0)' \
		"$RUN.tl.json" "$RUN.replay.json")"

echo "conninfo: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
