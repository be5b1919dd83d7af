#!/bin/bash
# The accept-queue wait on real loopback connections, IPv4 and IPv6: acceptq leaves each of
# N connections in its listener's accept queue for WAIT_MS and says how long each really waited
# (from its connect() returning to the accept() returning, CLOCK_MONOTONIC like the kernel's
# timestamps), then resets one more client while it is still queued. Under `timeline -j -w`
# and `stat --accept -j`:
# - every accepted connection's accept_wait_ns is within 5 ms of what acceptq measured, and
#   never_accepted is false; the one reset in the queue is never_accepted, accept_wait_ns null
#   (acceptq's accept() still returns it, in CLOSE: that adds no connection);
# - serve --accept counts them per listening port (tcpdwell_accept_wait_seconds,
#   tcpdwell_never_accepted_total);
# - stat has an ACCEPT_WAIT row of the 2N accepted, none shorter than WAIT_MS;
# - replaying the recording gives the same timelines, doctor finds accept-queue with the 2N
#   accepted late and the 2 never accepted under acceptq's pid, and the Perfetto export has
#   one accept instant per accepted connection.
# Needs root. Usage: accept.sh [--keep].
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
KEEP=0
[ "${1:-}" = --keep ] && KEEP=1
ME=accept
# shellcheck source=tests/integration/tdlib.sh
. tests/integration/tdlib.sh
AQ=$OUTPUT/tests/acceptq
[ -x "$AQ" ] || { echo "$ME: $AQ missing: run make first" >&2; exit 1; }
# promtool checks the exposition (Debian's prometheus package, as prometheus.sh installs it).
if ! command -v promtool >/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null 2>&1
	systemctl stop prometheus >/dev/null 2>&1 || true
fi

WAIT_MS=150 # above doctor's accept-wait threshold (100ms)
NCONN=3
TOL_NS=5000000

LABEL=accept
RUN=$TMP/accept
TRACERS=()
next_port
P4=$P
next_port
P6=$P
# Only the listeners' side: -L keeps the passive connections (and the listeners).
start_tracer tl timeline -j --no-seed -L "$P4,$P6" -w "$RUN.tdr" || exit 1
start_tracer st stat --accept -j --no-seed -L "$P4,$P6" || exit 1
next_port
SP=$P
start_tracer sv serve --accept --no-seed -L "$P4,$P6" --interval 100ms \
	--listen "127.0.0.1:$SP" || exit 1

for FAM in 4 6; do
	port_var=P$FAM
	if ! "$AQ" "-$FAM" "${!port_var}" "$WAIT_MS" "$NCONN" >"$RUN.aq$FAM" 2>"$RUN.aq$FAM.err"; then
		not_ok "IPv$FAM: acceptq runs" "$(cat "$RUN.aq$FAM.err")"
	fi
done

# Every connection of both families ended: 2 (N + 1) passive timelines.
timelines() {
	[ "$(jq -R -c 'fromjson? | select(.type == "timeline" and .role == "passive")' \
		"$RUN.tl.json" | wc -l)" -ge $((2 * (NCONN + 1))) ]
}
if wait_until 10 timelines; then ok "accept: every passive connection finished"; else
	not_ok "accept: every passive connection finished within 10 s" "$(cat "$RUN.tl.json")"; fi
# serve --accept: per listening port, the accepted in the histogram, the reset one never
# accepted (published every 100 ms).
scrape() {
	curl -s --max-time 5 "http://127.0.0.1:$SP/metrics" >"$RUN.metrics" &&
		grep -q "^tcpdwell_never_accepted_total{lport=\"$P6\"} 1$" "$RUN.metrics"
}
if wait_until 10 scrape; then ok "serve --accept: published"; else
	not_ok "serve --accept: publishes both ports within 10 s" "$(cat "$RUN.metrics")"; fi
for port in "$P4" "$P6"; do
	expect_eq "serve --accept: port $port: accepted, of them under 100ms, never accepted" \
		"$NCONN 0 1" "$(awk -v p="lport=\"$port\"" '
			$1 == "tcpdwell_accept_wait_seconds_count{" p "}" { n = $2 }
			$1 == "tcpdwell_accept_wait_seconds_bucket{" p ",le=\"0.1\"}" { b = $2 }
			$1 == "tcpdwell_never_accepted_total{" p "}" { v = $2 }
			END { print n + 0, b + 0, v + 0 }' "$RUN.metrics")" "$(grep accept "$RUN.metrics")"
done
if promtool check metrics <"$RUN.metrics" >"$RUN.promtool" 2>&1; then
	ok "serve --accept: promtool check metrics"
else
	not_ok "serve --accept: promtool check metrics" "$(head -5 "$RUN.promtool")"
fi
stop_tracers

for FAM in 4 6; do
	port_var=P$FAM
	port=${!port_var}
	expect_eq "IPv$FAM: acceptq reports $NCONN accepted and 1 reset in the queue" \
		"$NCONN 1" "$(jq -rs '[(map(select(.state == "ESTABLISHED")) | length),
			(map(select(.state == "CLOSE")) | length)] | join(" ")' "$RUN.aq$FAM")" \
		"$(cat "$RUN.aq$FAM")"
	while read -r rport queued state; do
		tl=$(jq -R -c --argjson p "$port" --argjson r "$rport" 'fromjson? |
			select(.type == "timeline" and .lport == $p and .rport == $r)' "$RUN.tl.json")
		if [ "$state" = CLOSE ]; then
			expect_eq "IPv$FAM: reset while queued: never_accepted, no wait" "true null" \
				"$(jq -r '"\(.never_accepted) \(.accept_wait_ns)"' <<<"$tl")" "$tl"
			continue
		fi
		got=$(jq -r '.accept_wait_ns' <<<"$tl")
		expect_eq "IPv$FAM: accepted: never_accepted false" false \
			"$(jq -r '.never_accepted' <<<"$tl")" "$tl"
		if [[ $got =~ ^[0-9]+$ ]] && [ $((got - queued)) -le $TOL_NS ] &&
			[ $((queued - got)) -le $TOL_NS ]; then
			ok "IPv$FAM: accept_wait_ns $got within 5 ms of the $queued ns measured"
		else
			not_ok "IPv$FAM: accept_wait_ns within 5 ms of the wait measured" \
				"measured: $queued" "reported: $got" "$tl"
		fi
	done < <(jq -r '"\(.rport) \(.queued_ns) \(.state)"' "$RUN.aq$FAM")
done

# stat --accept: one ACCEPT_WAIT row, the 2N accepted, none shorter than the sleep.
row=$(jq -c 'select(.type == "stat" and .state == "ACCEPT_WAIT")' "$RUN.st.json" | tail -1)
expect_eq "stat --accept: ACCEPT_WAIT row counts the $((2 * NCONN)) accepted" $((2 * NCONN)) \
	"$(jq -r '.count' <<<"$row")" "$(cat "$RUN.st.json")"
expect_eq "stat --accept: none shorter than ${WAIT_MS}ms" true \
	"$(jq -r --argjson w $((WAIT_MS * 1000000)) '.min_ns >= $w' <<<"$row")" "$row"
# stat without --accept leaves the accept tracepoints off, and has no such row.
expect_eq "stat without --accept: no ACCEPT_WAIT row" "" \
	"$("$TD" stat -j -i "$RUN.tdr" 2>&1 | jq -c 'select(.state == "ACCEPT_WAIT")')"

# Replay: the same timelines, doctor's finding, Perfetto's instants.
"$TD" timeline -j -i "$RUN.tdr" >"$RUN.replay.json" 2>"$RUN.replay.err"
expect_eq "timeline -i: the live timelines, byte for byte" \
	"$(jq -R -c 'fromjson? | select(.type == "timeline")' "$RUN.tl.json")" \
	"$(jq -R -c 'fromjson? | select(.type == "timeline")' "$RUN.replay.json")"
"$TD" doctor -j -i "$RUN.tdr" >"$RUN.doctor.json" 2>"$RUN.doctor.err"
f=$(jq -c '.findings[] | select(.id == "accept-queue")' "$RUN.doctor.json")
expect_eq "doctor -i: accept-queue: accepted late, never accepted" \
	"$((2 * NCONN)) 2" "$(jq -r '"\(.evidence.accepted_late) \(.evidence.never_accepted)"' \
		<<<"$f")" "$(cat "$RUN.doctor.json")"
expect_eq "doctor -i: accept-queue: worst listener named with its owner" acceptq \
	"$(jq -r '.top[0].comm' <<<"$f")" "$f"
"$TD" timeline --format perfetto -i "$RUN.tdr" -o "$RUN.pf" 2>"$RUN.pf.err"
expect_eq "timeline --format perfetto: an accept instant per accepted connection" \
	$((2 * NCONN)) "$(jq '[.traceEvents[] | select(.ph == "i" and .name == "accept")] |
		length' "$RUN.pf")"

echo "accept: $((N - FAILED)) passed, $FAILED failed"
[ "$FAILED" = 0 ]
