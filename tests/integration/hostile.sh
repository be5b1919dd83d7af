#!/bin/bash
# Hostile recordings: crafted files replayed through every view, each bounded by `timeout 10`. A
# clock that leaps to the end of ktime_t must not hang `stat --interval 1ns` (it counted its way
# there a period at a time); a tick past that range or going back is damage (exit 1, one line
# naming the byte); timewait and accept records with a state outside the kernel's enum are
# ignored, never shown; terminal escapes in a process or host name reach no text view raw. The files are in tests/fuzz/corpus (tests/fuzz/mkcorpus.c writes them),
# so the fuzzer tries them too. Also: signals while a write waits for a slow pipe, and a
# recording truncated while it is replayed (a clear error, not SIGBUS). Run in a SANITIZE=1 build (OUTPUT=build/san), undefined
# behaviour ends the run. Needs no root. OUTPUT=build by default.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
C=tests/fuzz/corpus
for f in "$TD" "$OUTPUT/mkrecording"; do
	[ -x "$f" ] || { echo "hostile: $f missing: run make integration first" >&2; exit 1; }
done
TD=$(realpath "$TD")
TMP=$(mktemp -d)
PASS=0
FAIL=0
N=0
trap 'rm -rf "$TMP"' EXIT

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"; shift
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3" "${@:4}"; fi
}
# run ARGS...: tcpdwell ARGS within 10 s; stdout in $TMP/out, stderr in ERR, status in RC
# (124: it did not finish; 137: nor on SIGTERM).
run() {
	timeout -k 2 10 "$TD" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	RC=$?
	ERR=$(cat "$TMP/err")
}

# Every view on every crafted file: it ends by itself, with 0 or 1, never a signal.
for f in tick-leap tick-wrap tick-back bad-states hostile-names; do
	for v in "trace" "trace -j" "timeline" "stat --interval 1ns" "stat -j --interval 1ns --by comm" \
		"top --interval 1ns" "doctor" "doctor -j" "timeline --format perfetto"; do
		# shellcheck disable=SC2086
		run $v -i "$C/$f.rec"
		if [ "$RC" = 0 ] || [ "$RC" = 1 ]; then
			ok "$f: $v -i ends by itself (exit $RC)"
		else
			not_ok "$f: $v -i: exit $RC (124: still running after 10 s)" "$ERR"
		fi
	done
done

# A leap of 2^63 ns with a 1 ns period: one table per tick, no count to 2^63.
run stat --interval 1ns -i "$C/tick-leap.rec"
check "tick-leap: stat --interval 1ns exits 0" 0 "$RC" "$ERR"
# (the first tick sets the first deadline; the two after it pass one each)
check "tick-leap: a table at each tick past a deadline, and the final one" 3 \
	"$(grep -c '^ *STATE' "$TMP/out")"
# Past ktime_t's range, or back in time: damage, named with its byte offset.
run stat --interval 1ns -i "$C/tick-wrap.rec"
check "tick-wrap: exit 1, the tick named" \
	"1 tcpdwell: '$C/tick-wrap.rec': tick record at byte 262: time 18446744073709551614 ns is out of range" \
	"$RC $ERR"
run trace -i "$C/tick-back.rec"
check "tick-back: exit 1, the tick named" \
	"1 tcpdwell: '$C/tick-back.rec': tick record at byte 262: time 3600000000000 ns goes back before the last tick (9223372036854775807 ns)" \
	"$RC $ERR"

# States outside the enum: ignored; the records around them still count.
run trace -j -i "$C/bad-states.rec"
check "bad-states: trace -j exits 0" 0 "$RC" "$ERR"
check "bad-states: every state shown is a kernel state" "" \
	"$(jq -r '.old, .new' "$TMP/out" | grep -vxE 'CLOSE|SYN_SENT|ESTABLISHED|CLOSE_WAIT')"
check "bad-states: the transitions of valid records are shown" \
	"ESTABLISHED>CLOSE_WAIT CLOSE>SYN_SENT SYN_SENT>CLOSE" \
	"$(jq -r '"\(.old)>\(.new)"' "$TMP/out" | xargs)"
run top -i "$C/bad-states.rec"
check "bad-states: top shows no unknown state" "0 0" "$RC $(grep -c UNKNOWN "$TMP/out")"

# Terminal escapes in a process name and the host name: every text view escapes them (\xNN).
for v in "trace" "timeline" "stat --by comm" "doctor" "top"; do
	# shellcheck disable=SC2086
	run $v -i "$C/hostile-names.rec"
	raw=$(LC_ALL=C grep -c $'[\x01-\x08\x0b-\x1f\x7f-\xff]' "$TMP/out")
	check "hostile-names: $v -i: no control byte or invalid UTF-8 reaches the output" "0 0" \
		"$RC $raw" "$(cat -v "$TMP/out" | head -5)"
	case $v in
	trace | timeline) want='\\x1b]0;pwn\\x07\\x1b\[2J' ;;
	stat*) want='\\x1b]0;pwn\\x07' ;;
	doctor) want='from \\x1b]0;pwn\\x07\\x1b\[2Jnode\\x9b\\xff' ;;
	top) want='recording from \\x1b]0;pwn\\x07\\x1b\[2Jnode' ;;
	esac
	if grep -q "$want" "$TMP/out"; then
		ok "hostile-names: $v -i shows the name escaped"
	else
		not_ok "hostile-names: $v -i: no '$want'" "$(cat -v "$TMP/out" | head -5)"
	fi
done

# --- a replay writing to a pipe nobody reads: signals, and the file shrinking under it ---------
"$OUTPUT/mkrecording" "$TMP/big.tdr" 50000 >/dev/null || not_ok "mkrecording"
# wait_for SECONDS CMD...: poll every 20 ms until CMD succeeds; 1 if SECONDS pass first.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.02
	done
}
# blocked PID: PID waits in a write to a full pipe (its 1 MiB buffer and the pipe are full).
blocked() { [[ $(cat "/proc/$1/wchan" 2>/dev/null) == *pipe_write ]]; }
# slow_replay FILE: trace -j -i FILE into a FIFO this shell opens but does not read yet; PID.
slow_replay() {
	rm -f "$TMP/fifo"
	mkfifo "$TMP/fifo"
	"$TD" trace -j -i "$1" >"$TMP/fifo" 2>"$TMP/err" &
	PID=$!
	exec 3<"$TMP/fifo"
	wait_for 10 blocked $PID || not_ok "the replay never blocked on the pipe"
}
# drain: read the FIFO to its end, then the replay's status in RC and its stderr in ERR.
drain() {
	cat <&3 >/dev/null
	exec 3<&-
	wait $PID
	RC=$?
	ERR=$(cat "$TMP/err")
}
# Ctrl-C twice (or SIGTERM after SIGINT) while a write waits for a slow reader: the second
# signal came while a write had written nothing yet, which failed it with EINTR.
slow_replay "$TMP/big.tdr"
kill -INT $PID
wait_for 10 blocked $PID
kill -TERM $PID
drain
check "signals during a blocked write: exit 0, nothing on stderr" "0 " "$RC $ERR"
# A recording truncated while it is replayed: its pages past the new end are gone from the
# mapping, which raised SIGBUS (exit 135).
cp "$TMP/big.tdr" "$TMP/shrink.tdr"
slow_replay "$TMP/shrink.tdr"
truncate -s 65536 "$TMP/shrink.tdr"
drain
size=$(stat -c %s "$TMP/big.tdr")
if [ "$RC" = 1 ] && [[ $ERR =~ ^"tcpdwell: '$TMP/shrink.tdr': the file shrank while it was read (from $size to 65536 bytes); read up to byte "[0-9]+$ ]]; then
	ok "a recording truncated during the replay: exit 1, $ERR"
else
	not_ok "a recording truncated during the replay" "exit $RC" "$ERR"
fi

echo "hostile: $PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
