#!/bin/bash
# `tcpdwell top` used the way a person uses it, in a tmux terminal (send-keys, capture-pane).
# tests/integration/cwhold holds server sockets in CLOSE_WAIT in a network namespace of the
# test's own (selected with -N, which the kernel side filters, so that other traffic on the host
# does not reach the table): one set opened before tcpdwell starts (found by the socket dump:
# AGE is a lower bound) and one after (traced: AGE is the time held). Both must be shown with
# the server's pid; `s` and `o` change the state filter and the order, `h` shows the help, a
# resize redraws at the new width, `q` exits with status 0 and gives the terminal back. Then
# the same view with stdout not a terminal: text snapshots between "---" lines.
# Needs root (BPF) and tmux. Every wait polls a condition with a bound.
# (SC2317: the condition functions are called through wait_until and trap.)
# shellcheck disable=SC2317
set -uo pipefail
ME=top_tmux
cd "$(dirname "$0")/../.." || exit 1
OUTPUT=${OUTPUT:-build}
TD=$OUTPUT/tcpdwell
KEEP=${KEEP:-0}

if [ "$(id -u)" != 0 ]; then
	echo "$ME: needs root (loads BPF programs)" >&2
	exit 1
fi
[ -x "$TD" ] || { echo "$ME: $TD missing: run make first" >&2; exit 1; }
for c in tmux ss ip; do
	command -v $c >/dev/null || { echo "$ME: $c missing (make deps)" >&2; exit 1; }
done

TMP=$(mktemp -d "/tmp/tdwell-$ME.XXXXXX")
SOCK=tdwell-$ME-$$ # a tmux server of our own: the user's sessions are never touched
NS=tdwell-$ME-$$
N=0
FAILED=0
BG=()

tm() { tmux -L "$SOCK" -f "$TMP/tmux.conf" "$@"; }

cleanup() {
	local p
	tm kill-server 2>/dev/null
	for p in "${BG[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ "$KEEP" = 1 ] || [ "$FAILED" != 0 ]; then
		echo "# outputs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT

ok() {
	N=$((N + 1))
	echo "ok $N - $1"
}
# not_ok NAME EVIDENCE...: each evidence argument becomes "#" lines.
not_ok() {
	local e l
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	for e in "$@"; do
		while IFS= read -r l; do echo "#   $l"; done <<<"$e"
	done
}
finish() {
	echo "$ME: $((N - FAILED)) passed, $FAILED failed"
	[ "$FAILED" = 0 ]
	exit
}

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds; 1 if SECONDS pass first.
# CMD is run again each time: conditions are functions, never "$(...)" expanded once here.
wait_until() {
	local tries=$(($1 * 10))
	shift
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -le 0 ] && return 1
		sleep 0.1
	done
}

screen() { tm capture-pane -p -t top 2>/dev/null; }
shows() { screen | grep -q -- "$1"; }
# Table rows (PID COMM STATE AGE ...) in STATE, owned by PID when given.
rows() { screen | awk -v s="$1" -v p="${2:-}" '$3 == s && (p == "" || $1 == p)'; }
nrows() { rows "$@" | wc -l; }
rows_are() { [ "$(nrows "$1" "${2:-}")" = "$3" ]; } # STATE PID COUNT
status_line() { screen | grep -m1 '^transitions '; }
status_has() { status_line | grep -q -- "$1"; }
# Rows in STATE [owned by PID] whose AGE is a lower bound (">= 1.23s").
lower_bound_rows() { rows "$@" | awk '$4 == ">="' | wc -l; }
clock() { screen | awk 'NR == 1 { print $3 }'; }
# The STATE or PID column of the table rows, in screen order.
column() { screen | awk -v c="$1" '$3 ~ /^[A-Z][A-Z_0-9]+$/ && $3 != "STATE" { print $c }'; }
# AGE of the first row in STATE owned by PID, in seconds ("850.0ms", "3.52s"); -1 if none.
age_s() {
	rows "$1" "$2" | awk '{ v = $4
		if (v ~ /ms$/) { sub(/ms$/, "", v); v /= 1000 }
		else if (v ~ /us$/) { sub(/us$/, "", v); v /= 1e6 }
		else if (v ~ /ns$/) v = 0
		else if (v ~ /^[0-9.]+s$/) sub(/s$/, "", v)
		else v = -1
		print v + 0; exit } END { if (!NR) print -1 }'
}
now_s() { date +%s.%N; }
evidence() {
	printf 'screen:\n%s\nstderr:\n%s' "$(screen)" "$(tail -5 "$TMP/top.err" 2>/dev/null)"
}

in_ns() { ip netns exec "$NS" "$@"; }
close_wait_on() { in_ns ss -Htan state close-wait "( sport = :$1 )" | wc -l; }
holds() { [ "$(close_wait_on "$1")" -ge "$2" ]; } # PORT N: N sockets in CLOSE_WAIT on PORT

CW=$OUTPUT/tests/cwhold
if [ ! -x "$CW" ]; then
	CW=$TMP/cwhold
	${CC:-cc} -O2 -Wall -o "$CW" tests/integration/cwhold.c || exit 1
fi
# start_holder PORT N: cwhold makes N connections whose client closes at once; its server holds
# them in CLOSE_WAIT longer than this script runs (cleanup kills it). HOLDER is the server's pid
# as cwhold prints it: `ip netns exec` may run it in a child of its own.
holder_pid() { sed -n 's/.*"server_pid":\([0-9]*\).*/\1/p' "$TMP/cw-$1.out"; }
holder_up() { [ -n "$(holder_pid "$1")" ]; }
start_holder() {
	in_ns "$CW" "$1" "$2" 600000 >"$TMP/cw-$1.out" 2>&1 &
	BG+=($!)
	disown $! # killed at cleanup: no job report for it
	wait_until 10 holder_up "$1"
	HOLDER=$(holder_pid "$1")
	BG+=("$HOLDER")
}

if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	echo "$ME: cannot make network namespace $NS" >&2
	exit 1
fi
NSINO=$(stat -L -c %i "/run/netns/$NS")
P1=$((20000 + RANDOM % 20000))
P2=$((P1 + 1))
printf 'set -g remain-on-exit on\nset -g status off\n' >"$TMP/tmux.conf"

# --- before the start: one socket in CLOSE_WAIT for the socket dump ------------------------------
start_holder "$P1" 1
PID1=$HOLDER
if ! wait_until 10 holds "$P1" 1; then
	not_ok "cwhold holds a CLOSE_WAIT socket on port $P1" "$(cat "$TMP/cw-$P1.out")" \
		"$(in_ns ss -tanp "( sport = :$P1 or dport = :$P1 )")"
	finish
fi

tm new-session -d -s top -x 160 -y 40 \
	"'$TD' top --interval 1s -N $NSINO -L $P1,$P2 2>'$TMP/top.err'; echo \$? >'$TMP/rc'"
if wait_until 30 shows "PID COMM"; then
	ok "top starts and draws its header ($(screen | head -1 | tr -s ' '))"
else
	not_ok "top starts and draws its header" "$(evidence)"
	finish
fi

seeded_shown() { [ "$(lower_bound_rows CLOSE_WAIT "$PID1")" = 1 ]; }
if wait_until 10 seeded_shown; then
	ok "socket from before the start: CLOSE_WAIT, pid $PID1, AGE a lower bound"
else
	not_ok "socket from before the start: CLOSE_WAIT, pid $PID1, AGE a lower bound" \
		"expected one row: $PID1 ... CLOSE_WAIT >= ..." "$(evidence)"
fi

# --- after the start: three traced ones -----------------------------------------------------------
T2=$(now_s)
start_holder "$P2" 3
PID2=$HOLDER
if ! wait_until 10 holds "$P2" 3; then
	not_ok "cwhold holds 3 CLOSE_WAIT sockets on port $P2" "$(cat "$TMP/cw-$P2.out")" \
		"$(in_ns ss -tanp "( sport = :$P2 or dport = :$P2 )")"
fi
if wait_until 10 rows_are CLOSE_WAIT "$PID2" 3; then
	if [ "$(lower_bound_rows CLOSE_WAIT "$PID2")" = 0 ]; then
		ok "traced sockets: 3 CLOSE_WAIT rows with pid $PID2, AGE measured"
	else
		not_ok "traced sockets: AGE measured, not a lower bound" \
			"$(rows CLOSE_WAIT "$PID2")"
	fi
else
	not_ok "traced sockets: 3 CLOSE_WAIT rows with pid $PID2" "$(evidence)"
fi

# AGE is the time in CLOSE_WAIT so far: what the test measured, less up to one interval (the
# snapshot on screen may be that old) and the record latency.
aged() { awk -v a="$(age_s CLOSE_WAIT "$PID2")" 'BEGIN { exit !(a >= 2) }'; }
if wait_until 5 aged; then
	age=$(age_s CLOSE_WAIT "$PID2")
	held=$(awk -v t0="$T2" -v t1="$(now_s)" 'BEGIN { printf "%.2f", t1 - t0 }')
	if awk -v a="$age" -v h="$held" 'BEGIN { exit !(a <= h + 0.05 && a >= h - 1.3) }'; then
		ok "traced AGE ${age}s matches ${held}s held (within one interval)"
	else
		not_ok "traced AGE matches the time held" "AGE ${age}s, held ${held}s" "$(evidence)"
	fi
else
	not_ok "traced AGE reaches 2 s" "$(evidence)"
fi

counts_shown() { shows "C CLOSE_WAIT 4" && shows "L LISTEN 2"; }
if wait_until 5 counts_shown; then
	ok "header counts sockets per state (CLOSE_WAIT 4, LISTEN 2)"
else
	not_ok "header counts sockets per state (CLOSE_WAIT 4, LISTEN 2)" "$(evidence)"
fi

T0=$(clock)
clock_moved() { [ "$(clock)" != "$T0" ]; }
if wait_until 5 clock_moved; then
	ok "the view refreshes every interval (clock moved from $T0)"
else
	not_ok "the view refreshes every interval" "clock stays at $T0" "$(evidence)"
fi

# --- keys -----------------------------------------------------------------------------------------
# s: all -> each state with sockets in kernel order (CLOSE_WAIT 8, LISTEN 10) -> all.
only_close_wait() { status_has "state: CLOSE_WAIT" && rows_are LISTEN "" 0 &&
	rows_are CLOSE_WAIT "" 4; }
only_listen() { status_has "state: LISTEN" && rows_are CLOSE_WAIT "" 0 &&
	rows_are LISTEN "$PID1" 1 && rows_are LISTEN "$PID2" 1; }
every_state() { status_has "state: all" && rows_are CLOSE_WAIT "" 4 && rows_are LISTEN "" 2; }
tm send-keys -t top s
if wait_until 5 only_close_wait; then
	ok "s: only CLOSE_WAIT rows"
else
	not_ok "s: only CLOSE_WAIT rows" "$(evidence)"
fi
tm send-keys -t top s
if wait_until 5 only_listen; then
	ok "s again: only the two listeners, with their pids"
else
	not_ok "s again: only the two listeners, with their pids" "$(evidence)"
fi
tm send-keys -t top s
if wait_until 5 every_state; then
	ok "s a third time: every state again"
else
	not_ok "s a third time: every state again" "$(evidence)"
fi

by_state() { status_has "sort: state" &&
	[ "$(column 3 | uniq | tr '\n' ' ')" = "CLOSE_WAIT LISTEN " ]; }
by_pid() { status_has "sort: pid" && column 1 | sort -n -c 2>/dev/null; }
tm send-keys -t top o
if wait_until 5 by_state; then
	ok "o: sorted by state"
else
	not_ok "o: sorted by state" "$(evidence)"
fi
tm send-keys -t top o
if wait_until 5 by_pid; then
	ok "o again: sorted by pid"
else
	not_ok "o again: sorted by pid" "$(evidence)"
fi
tm send-keys -t top o o
if wait_until 5 status_has "sort: dwell"; then
	ok "o cycles back to dwell"
else
	not_ok "o cycles back to dwell" "$(evidence)"
fi

tm send-keys -t top h
if wait_until 5 shows "tcpdwell top: keys"; then
	ok "h shows the help"
else
	not_ok "h shows the help" "$(evidence)"
fi
help_gone() { ! shows "tcpdwell top: keys" && shows "PID COMM"; }
tm send-keys -t top x
if wait_until 5 help_gone; then
	ok "any key closes the help"
else
	not_ok "any key closes the help" "$(evidence)"
fi

# The bar is as wide as the terminal allows: a redraw at 100 columns gives it a new width.
bar_cells() { screen | awk '/^sockets / { s = $0; sub(/^[^[]*\[/, "", s); sub(/\].*/, "", s);
	print length(s); exit }'; }
bar_end() { screen | awk '/^sockets / { print index($0, "]"); exit }'; }
redrawn_narrow() { [ "$(bar_end)" -gt 0 ] && [ "$(bar_end)" -le 100 ] && shows "PID COMM" &&
	rows_are CLOSE_WAIT "" 4; }
tm resize-window -t top -x 100 -y 30
if wait_until 5 redrawn_narrow; then
	ok "resize to 100x30: redrawn at the new width (bar $(bar_cells) cells)"
else
	not_ok "resize to 100x30: redrawn at the new width" "$(evidence)"
fi

tm send-keys -t top q
if wait_until 10 test -s "$TMP/rc"; then
	rc=$(cat "$TMP/rc")
	if [ "$rc" = 0 ]; then
		ok "q quits with status 0"
	else
		not_ok "q quits with status 0" "status $rc" "$(evidence)"
	fi
	alt=$(tm display-message -p -t top '#{alternate_on}')
	if [ "$alt" = 0 ]; then
		ok "the terminal is given back (alternate screen left)"
	else
		not_ok "the terminal is given back (alternate screen left)" "alternate_on=$alt"
	fi
else
	not_ok "q quits" "still running after 10 s" "$(evidence)"
fi

# --- not a terminal: the same snapshot as text every interval -------------------------------------
timeout 30 "$TD" top --interval 500ms -d 2500ms -N "$NSINO" -L "$P1,$P2" >"$TMP/text.out" \
	2>"$TMP/text.err"
rc=$?
snaps=$(grep -c '^tcpdwell top ' "$TMP/text.out")
seps=$(grep -c '^---$' "$TMP/text.out")
last=$(awk '/^---$/ { s = "" } { s = s $0 "\n" } END { printf "%s", s }' "$TMP/text.out")
if [ "$rc" = 0 ] && [ "$snaps" -ge 3 ] && [ "$seps" = $((snaps - 1)) ]; then
	ok "stdout not a terminal: $snaps text snapshots between '---' lines, status 0"
else
	not_ok "stdout not a terminal: text snapshots between '---' lines, status 0" \
		"status $rc, $snaps snapshots, $seps separators" "$(head -20 "$TMP/text.out")" \
		"$(tail -3 "$TMP/text.err")"
fi
if [ "$(awk -v p="$PID2" '$1 == p && $3 == "CLOSE_WAIT"' <<<"$last" | wc -l)" = 3 ] &&
	grep -q "C CLOSE_WAIT 4" <<<"$last" && ! grep -q $'\x1b' "$TMP/text.out"; then
	ok "text snapshot: the same rows and counts, no terminal controls"
else
	not_ok "text snapshot: the same rows and counts, no terminal controls" "$last"
fi

finish
