#!/bin/bash
# Resets with their direction and the kernel's reason, on real loopback connections in a
# network namespace of their own, IPv4 and IPv6: rstpeer makes one connection for each way a
# reset is sent (close() with unread data, SO_LINGER 0, a connect to a closed port, data sent to
# a socket closed since, whose timewait socket answers, and to one shut down, which aborts) and
# names each end's port. Under `trace -j -w` and `timeline -j`:
# - each end's reset is reported, with its direction, the state it came in (an abort's after
#   its -> CLOSE), and the reason the kernel gives (6.10 and later; before, null); the abort on
#   data after shutdown is traced by the kernel as a received reset, then the sent one: trace
#   shows both, the timeline the sent one;
# - the kernel's own count agrees: the namespace's OutRsts counter grew by 10, the 8 resets
#   tcpdwell reports sent plus the 2 sent for no socket (the closed port); before 6.10 the
#   tracepoint does not fire for the timewait sockets' 2, and 6 are reported;
# - the timelines end in the same resets, in JSON and in text (`CLOSE (RST sent: REASON)`);
# - replaying the recording gives the same trace byte for byte; doctor's rst finding counts
#   the resets by direction and reason, and the Perfetto export has an rst instant for each.
# Needs root. Usage: rst.sh [--keep].
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=rst
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
RP=$(realpath "$OUTPUT/tests/rstpeer")
[ -x "$RP" ] || { echo "$ME: $RP missing: run make first" >&2; exit 1; }

NS=tdrst$$
cleanup_ns() { ip netns del "$NS" 2>/dev/null; }
trap 'cleanup_ns; cleanup' EXIT
if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	echo "$ME: cannot make a netns" >&2
	exit 1
fi
NSINO=$(stat -Lc %i "/run/netns/$NS")
inns() { ip netns exec "$NS" "$@"; }
# The namespace's Tcp OutRsts: resets sent, for a socket or for none.
out_rsts() {
	# shellcheck disable=SC2016 # awk's own $1
	inns awk '$1 == "Tcp:" { if (!c) { for (i = 2; i <= NF; i++) if ($i == "OutRsts") c = i }
		else print $c }' /proc/net/snmp
}

# The reasons the kernel gives (enum sk_rst_reason, 6.10+; tcp_close(), tcp_disconnect(),
# tcp_timewait_state_process()). Before 6.10 the tracepoint has none, and fires only for a full
# socket (tcp_v4_send_reset() checked sk_fullsock()): a timewait socket's reset is not shown,
# so of the kernel's 8 resets 4 are reported sent (TW_SENT 0).
IFS=. read -r KMAJ KMIN _ <<<"$(uname -r)"
if [ "$KMAJ" -gt 6 ] || { [ "$KMAJ" = 6 ] && [ "${KMIN%%[!0-9]*}" -ge 10 ]; }; then
	R_UNREAD='"TCP_ABORT_ON_CLOSE"' R_LINGER='"TCP_STATE"' R_TW='"TCP_TIMEWAIT_SOCKET"'
	R_DATA='"TCP_ABORT_ON_DATA"'
	TW_SENT=1
else
	R_UNREAD=null R_LINGER=null R_TW=null R_DATA=null
	TW_SENT=0
fi
# Both families: unread's server, linger0's client, after_shutdown's server (, after_close's).
SENT=$((6 + 2 * TW_SENT))
# Received, both families: unread's client, linger0's server, refused's, after_close's client,
# after_shutdown's client; trace also has the kernel's received reset of after_shutdown's server.
RECEIVED=10

LABEL=rst
RUN=$TMP/rst
TRACERS=()
start_tracer tr trace -j --no-seed -N "$NSINO" -w "$RUN.tdr" || exit 1
start_tracer tl timeline -j --no-seed -N "$NSINO" || exit 1
before=$(out_rsts)
for FAM in 4 6; do
	port=$((41000 + FAM * 10))
	if ! inns "$RP" "-$FAM" "$port" >"$RUN.rp$FAM" 2>"$RUN.rp$FAM.err"; then
		not_ok "IPv$FAM: rstpeer runs" "$(cat "$RUN.rp$FAM.err")"
	fi
done
after=$(out_rsts)
# 9 connections per family end (the listeners too, which have no reset).
ended() {
	[ "$(jq -R -c 'fromjson? | select(.type == "timeline" and .role != "listen")' \
		"$RUN.tl.json" | wc -l)" -ge 18 ]
}
if wait_until 10 ended; then ok "every connection ended"; else
	not_ok "every connection ended within 10 s" "$(cat "$RUN.tl.json")"; fi
stop_tracers

expect_eq "the kernel sent 10 resets in the namespace (OutRsts)" 10 $((after - before))
expect_eq "trace: $((SENT + RECEIVED + 2)) resets: $SENT sent (the kernel's 10 less the 2 for no socket$(
	[ $TW_SENT = 1 ] || echo " and the 2 of timewait sockets, untraced before 6.10")), $((RECEIVED + 2)) received" \
	"$((SENT + RECEIVED + 2)) $SENT $((RECEIVED + 2))" "$(jq -R -r 'fromjson? | select(.type == "rst") | .rst.dir' "$RUN.tr.json" |
		awk '{ n++; s += $1 == "sent"; r += $1 == "received" } END { print n + 0, s + 0, r + 0 }')" \
	"$(jq -R -c 'fromjson? | select(.type == "rst")' "$RUN.tr.json")"

# rst_of FILE TYPE LPORT RPORT: "dir state reason" of the reset of that end, in trace's rst
# lines (the state it came in) or the timelines (state: its last one before CLOSE).
rst_of() {
	jq -R -r --arg t "$2" --argjson l "$3" --argjson r "$4" 'fromjson? |
		select(.type == $t and .lport == $l and .rport == $r and .rst != null) |
		"\(.rst.dir) \(if $t == "rst" then .state else .states[-1].state end) \(.rst.reason |
			tojson)"' "$1"
}
# expect_end FAM SCENARIO SIDE LPORT RPORT DIR STATE REASON [LAST]: LAST, the timeline's
# last state before CLOSE, is STATE but for an abort's reset, which comes in CLOSE.
expect_end() {
	local what="IPv$1 $2: the $3's reset"
	expect_eq "trace: $what" "$6 $7 $8" "$(rst_of "$RUN.tr.json" rst "$4" "$5")" \
		"$(jq -R -c --argjson l "$4" 'fromjson? | select(.lport == $l)' "$RUN.tr.json")"
	expect_eq "timeline: $what" "$6 ${9:-$7} $8" "$(rst_of "$RUN.tl.json" timeline "$4" "$5")"
}
for FAM in 4 6; do
	port=$((41000 + FAM * 10))
	while read -r sc cl; do
		case $sc in
		unread)
			expect_end "$FAM" "$sc" server "$port" "$cl" sent CLOSE "$R_UNREAD" ESTABLISHED
			expect_end "$FAM" "$sc" client "$cl" "$port" received ESTABLISHED null ;;
		linger0)
			expect_end "$FAM" "$sc" client "$cl" "$port" sent CLOSE "$R_LINGER" ESTABLISHED
			expect_end "$FAM" "$sc" server "$port" "$cl" received ESTABLISHED null ;;
		refused)
			expect_end "$FAM" "$sc" client "$cl" $((port + 1)) received SYN_SENT null ;;
		after_close)
			# The server's end lives on as a timewait socket in FIN_WAIT2; it answers.
			if [ $TW_SENT = 1 ]; then
				expect_end "$FAM" "$sc" server "$port" "$cl" sent FIN_WAIT2 "$R_TW"
			else
				expect_eq "trace: IPv$FAM $sc: the server's timewait socket's reset: not shown" \
					"" "$(rst_of "$RUN.tr.json" rst "$port" "$cl")"
			fi
			expect_end "$FAM" "$sc" client "$cl" "$port" received CLOSE_WAIT null ;;
		after_shutdown)
			# tcp_reset() traces a received reset; then the abort's reset is sent.
			expect_eq "trace: IPv$FAM $sc: the server's resets, received then sent" \
				"received FIN_WAIT2 null;sent CLOSE $R_DATA" \
				"$(rst_of "$RUN.tr.json" rst "$port" "$cl" | paste -sd ';')"
			expect_eq "timeline: IPv$FAM $sc: the server's reset: sent" \
				"sent FIN_WAIT2 $R_DATA" "$(rst_of "$RUN.tl.json" timeline "$port" "$cl")"
			expect_end "$FAM" "$sc" client "$cl" "$port" received CLOSE_WAIT null ;;
		*) not_ok "IPv$FAM: rstpeer's scenario '$sc' is known" ;;
		esac
	done < <(jq -r '"\(.scenario) \(.client)"' "$RUN.rp$FAM")
	expect_eq "IPv$FAM: rstpeer ran its 5 scenarios" 5 "$(grep -c . "$RUN.rp$FAM")"
done

# Replay: the same trace; the text timeline; doctor; Perfetto.
"$TD" trace -j -i "$RUN.tdr" >"$RUN.replay.json" 2>"$RUN.replay.err"
expect_eq "trace -i: the live trace (transitions and resets), byte for byte" \
	"$(jq -R -c 'fromjson? | select(.type == "transition" or .type == "rst")' "$RUN.tr.json")" \
	"$(jq -R -c 'fromjson? | select(.type == "transition" or .type == "rst")' \
		"$RUN.replay.json")"
"$TD" timeline -i "$RUN.tdr" >"$RUN.text" 2>&1
expect_eq "timeline text: $SENT end 'CLOSE (RST sent...)', $RECEIVED 'CLOSE (RST received)'" \
	"$SENT $RECEIVED" \
	"$(grep -c 'CLOSE (RST sent' "$RUN.text") $(grep -c 'CLOSE (RST received)' "$RUN.text")" \
	"$(cat "$RUN.text")"
if [ "$R_UNREAD" != null ]; then
	expect_eq "timeline text: the reasons named" 2 \
		"$(grep -c "CLOSE (RST sent: ${R_UNREAD//\"/})" "$RUN.text")" "$(cat "$RUN.text")"
fi
"$TD" doctor -j -i "$RUN.tdr" --threshold min-conns=1 >"$RUN.doctor.json" 2>"$RUN.doctor.err"
f=$(jq -c '.findings[] | select(.id == "rst")' "$RUN.doctor.json")
# Established connections only: the refused connects are syn-sent's.
expect_eq "doctor -i: rst: $SENT sent, 8 received" "$SENT 8" \
	"$(jq -r '"\(.evidence.rst_sent) \(.evidence.rst_received)"' <<<"$f")" \
	"$(cat "$RUN.doctor.json" "$RUN.doctor.err")"
if [ "$R_UNREAD" != null ]; then
	# "resets traced: 8 sent (NAME N, ...), 8 received", the names in the kernel's order.
	note=$(jq -r '.notes[] | select(startswith("resets traced"))' <<<"$f")
	expect_eq "doctor -i: rst: the sent ones by reason" \
		"8 sent; 8 received; TCP_ABORT_ON_CLOSE 2, TCP_ABORT_ON_DATA 2, TCP_STATE 2, TCP_TIMEWAIT_SOCKET 2" \
		"$(sed -n 's/^resets traced: \([0-9]* sent\) (.*), \([0-9]* received\)$/\1; \2/p' \
			<<<"$note"); $(sed -n 's/^resets traced: [0-9]* sent (\(.*\)), .*$/\1/p' <<<"$note" |
			sed 's/, /\n/g' | sort | paste -sd ',' | sed 's/,/, /g')" "$f"
fi
"$TD" timeline --format perfetto -i "$RUN.tdr" -o "$RUN.pf" 2>"$RUN.pf.err"
expect_eq "timeline --format perfetto: an rst instant per connection reset ($SENT sent, $RECEIVED received)" \
	"$SENT $RECEIVED" \
	"$(jq -r '[.traceEvents[] | select(.ph == "i" and .name == "rst") | .args.dir] |
		"\(map(select(. == "sent")) | length) \(map(select(. == "received")) | length)"' \
		"$RUN.pf")" "$(cat "$RUN.pf.err")"
expect_eq "no chain break" "" \
	"$(jq -R -c 'fromjson? | select(.type == "lost" and .chain_breaks != 0)' \
		"$RUN.tr.json" "$RUN.tl.json" "$RUN.replay.json")"

echo "rst: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
