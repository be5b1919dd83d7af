#!/bin/bash
# The files tcpdwell writes (record -o, a view's -w, timeline -o): made new with mode 0600, never
# through a symbolic link; an existing file is refused with exit 1 and a line naming it, --force
# replaces a regular file and nothing else (a link is refused, its target left as it was); -o -
# is stdout. Live runs stay in a network namespace of the test's own (-N), timeline -o also runs
# on a checked-in recording. Needs root. OUTPUT=build by default.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
PEER=$OUTPUT/tests/peer
for f in "$TD" "$PEER"; do
	[ -x "$f" ] || { echo "files: $f missing: run make integration first" >&2; exit 1; }
done
TD=$(realpath "$TD")
PEER=$(realpath "$PEER")
TMP=$(mktemp -d)
NS=tdfiles$$
REC=tests/data/doctor-rst.tdr
PASS=0
FAIL=0
N=0

cleanup() {
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N - $1"; shift
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
check() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "actual:   $3" "${@:4}"; fi
}
# wait_for SECONDS CMD...: poll every 50 ms until CMD succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.05
	done
}
finish() {
	echo "files: $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit
}

ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || {
	not_ok "cannot make a network namespace"; finish; }
INO=$(stat -L -c %i "/run/netns/$NS")
in_ns() { ip netns exec "$NS" "$@"; }

# run ARGS...: tcpdwell ARGS, bounded; its stderr in ERR, its status in RC.
run() {
	ERR=$(timeout 30 "$TD" "$@" 2>&1 >"$TMP/stdout")
	RC=$?
}
# refused TAG PATTERN ARGS...: exit 1 and one line of stderr matching PATTERN.
refused() {
	local tag=$1 pat=$2; shift 2
	run "$@"
	if [ "$RC" = 1 ] && [ "$(printf '%s\n' "$ERR" | grep -c .)" = 1 ] &&
		printf '%s' "$ERR" | grep -Eq "$pat"; then
		ok "$tag: exit 1, $ERR"
	else
		not_ok "$tag" "exit $RC" "$ERR"
	fi
}
mode() { stat -c %a "$1"; }
replays() { "$TD" trace -j -i "$1" >/dev/null 2>&1; }
umask 022

# --- timeline -o, on a recording --------------------------------------------------------------
run timeline -i "$REC" -o "$TMP/tl.txt"
check "timeline -o NEW: exit 0" 0 "$RC" "$ERR"
check "timeline -o NEW: mode 600" 600 "$(mode "$TMP/tl.txt")"
lines=$(grep -c . "$TMP/tl.txt")
[ "$lines" -ge 3 ] && ok "timeline -o NEW: the timeline is in the file ($lines lines)" ||
	not_ok "timeline -o NEW: $lines lines"
cp "$TMP/tl.txt" "$TMP/tl.want"
echo precious >"$TMP/target"
chmod 644 "$TMP/target"
ln -s "$TMP/target" "$TMP/link"
refused "timeline -o EXISTING" "^tcpdwell: '$TMP/tl.txt' exists \(use --force to replace it\)$" \
	timeline -i "$REC" -o "$TMP/tl.txt"
refused "timeline -o LINK" "'$TMP/link' exists \(use --force to replace it\)" \
	timeline -i "$REC" -o "$TMP/link"
refused "timeline --force -o LINK" "^tcpdwell: cannot replace '$TMP/link': it is a symbolic link$" \
	timeline -i "$REC" --force -o "$TMP/link"
check "timeline -o LINK: the link's target is untouched" "precious 644" \
	"$(cat "$TMP/target") $(mode "$TMP/target")"
echo old >"$TMP/tl.txt" && chmod 644 "$TMP/tl.txt"
run timeline -i "$REC" --force -o "$TMP/tl.txt"
check "timeline --force -o EXISTING: exit 0" 0 "$RC" "$ERR"
if cmp -s "$TMP/tl.txt" "$TMP/tl.want" && [ "$(mode "$TMP/tl.txt")" = 600 ]; then
	ok "timeline --force -o EXISTING: replaced, mode 600"
else
	not_ok "timeline --force -o EXISTING: not replaced" "mode $(mode "$TMP/tl.txt")" \
		"$(head -3 "$TMP/tl.txt")"
fi
mkfifo "$TMP/fifo"
refused "timeline --force -o FIFO" "cannot replace '$TMP/fifo': not a regular file" \
	timeline -i "$REC" --force -o "$TMP/fifo"
run timeline -i "$REC" -o -
if [ "$RC" = 0 ] && cmp -s "$TMP/stdout" "$TMP/tl.want"; then
	ok "timeline -o -: the timeline on stdout"
else
	not_ok "timeline -o -" "exit $RC" "$ERR"
fi
run timeline -i "$REC" --force
check "--force without a file: a usage error (exit 2)" \
	"2 tcpdwell: option --force needs -o FILE or -w FILE (see tcpdwell --help)" "$RC $ERR"

# --- record -o and -w, live ---------------------------------------------------------------------
run record -N "$INO" -d 300ms -o "$TMP/r.tdr"
check "record -o NEW: exit 0" 0 "$RC" "$ERR"
check "record -o NEW: mode 600" 600 "$(mode "$TMP/r.tdr")"
replays "$TMP/r.tdr" && ok "record -o NEW: the recording replays" || not_ok "record -o NEW: replay"
size=$(stat -c %s "$TMP/r.tdr")
refused "record -o EXISTING" "^tcpdwell: '$TMP/r.tdr' exists \(use --force to replace it\)$" \
	record -N "$INO" -d 300ms -o "$TMP/r.tdr"
check "record -o EXISTING: the file is untouched" "$size" "$(stat -c %s "$TMP/r.tdr")"
refused "record -o LINK" "'$TMP/link' exists \(use --force to replace it\)" \
	record -N "$INO" -d 300ms -o "$TMP/link"
refused "record --force -o LINK" "^tcpdwell: cannot replace '$TMP/link': it is a symbolic link$" \
	record -N "$INO" -d 300ms --force -o "$TMP/link"
ln -s "$TMP/nowhere" "$TMP/dangling"
refused "record -o DANGLING-LINK" "'$TMP/dangling' exists" \
	record -N "$INO" -d 300ms -o "$TMP/dangling"
check "record -o LINK: the link's target is untouched, none made" "precious 644 no" \
	"$(cat "$TMP/target") $(mode "$TMP/target") $([ -e "$TMP/nowhere" ] && echo yes || echo no)"
echo "not a recording" >"$TMP/old.tdr" && chmod 644 "$TMP/old.tdr"
run record -N "$INO" -d 300ms --force -o "$TMP/old.tdr"
check "record --force -o EXISTING: exit 0" 0 "$RC" "$ERR"
if replays "$TMP/old.tdr" && [ "$(mode "$TMP/old.tdr")" = 600 ]; then
	ok "record --force -o EXISTING: replaced by a recording that replays, mode 600"
else
	not_ok "record --force -o EXISTING" "mode $(mode "$TMP/old.tdr")"
fi
refused "record --force -o /dev/full" "cannot replace '/dev/full': not a regular file" \
	record -N "$INO" -d 300ms --force -o /dev/full
run record -N "$INO" -d 300ms -o -
if [ "$RC" = 0 ] && cp "$TMP/stdout" "$TMP/stdout.tdr" && replays "$TMP/stdout.tdr"; then
	ok "record -o -: a recording on stdout"
else
	not_ok "record -o -" "exit $RC" "$ERR"
fi
run trace -N "$INO" -d 300ms -w "$TMP/w.tdr"
check "trace -w NEW: exit 0, mode 600" "0 600" "$RC $(mode "$TMP/w.tdr")" "$ERR"
refused "trace -w EXISTING" "'$TMP/w.tdr' exists \(use --force to replace it\)" \
	trace -N "$INO" -d 300ms -w "$TMP/w.tdr"
refused "stat --force -w LINK" "cannot replace '$TMP/link': it is a symbolic link" \
	stat -N "$INO" -d 300ms --force -w "$TMP/link"
check "-w LINK: the link's target is untouched" "precious 644" \
	"$(cat "$TMP/target") $(mode "$TMP/target")"

# --- timeline -o FILE -w REC: the timeline in FILE, the records in REC -------------------------
"$TD" timeline -N "$INO" -o "$TMP/both.txt" -w "$TMP/both.tdr" 2>"$TMP/both.err" &
pid=$!
if wait_for 10 grep -q "Ctrl-C to end" "$TMP/both.err"; then
	for port in 21001 21002; do in_ns "$PEER" refused 4 $port >/dev/null 2>&1; done
	# Records reach REC at the next poll (--latency, 100 ms); FILE gets the timeline at the end.
	both_has() { "$TD" trace -j -i "$TMP/both.tdr" 2>/dev/null | grep -q '"rport":21002,'; }
	wait_for 10 both_has
	kill -INT $pid
fi
wait $pid
check "timeline -o FILE -w REC: exit 0" 0 "$?" "$(cat "$TMP/both.err")"
"$TD" timeline -i "$TMP/both.tdr" >"$TMP/both.replay" 2>"$TMP/both.replay.err"
check "timeline -o FILE -w REC: REC is a recording that replays" 0 "$?" \
	"$(cat "$TMP/both.replay.err")"
lines=$(grep -c ':2100[12] ' "$TMP/both.txt")
if [ "$lines" = 2 ] && cmp -s "$TMP/both.txt" "$TMP/both.replay"; then
	ok "timeline -o FILE -w REC: FILE holds the timeline, the same as REC replays"
else
	not_ok "timeline -o FILE -w REC: FILE holds $lines connections" \
		"$(diff -a "$TMP/both.txt" "$TMP/both.replay" | head -5 | cat -v)"
fi
check "timeline -o FILE -w REC: says where the records went" 1 \
	"$(grep -c "recorded [0-9]* records .* to '$TMP/both.tdr'" "$TMP/both.err")"

finish
