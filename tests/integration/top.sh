#!/bin/bash
# `tcpdwell top` under tmux, as a person would use it: a connection held in
# CLOSE_WAIT must show up with its owner, `s` must change the state filter,
# `o` the sort, and `q` must quit with status 0. Needs root and tmux.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
TMP=$(mktemp -d)
SESSION=tdtop$$
PASS=0
FAIL=0
trap 'tmux kill-session -t $SESSION 2>/dev/null; kill $PEER_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	until "$@"; do
		[ $SECONDS -ge "$deadline" ] && return 1
		sleep 0.1
	done
}
screen() { tmux capture-pane -p -t "$SESSION"; }
shows() { screen | grep -q -- "$1"; }

command -v tmux >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tmux >/dev/null
PORT=$((30000 + RANDOM % 2000))

tmux new-session -d -s "$SESSION" -x 160 -y 40 \
	"$OUTPUT/tcpdwell top --interval 500ms -L $PORT; echo \$? > $TMP/rc"
if wait_for 10 shows "tcpdwell top:"; then
	ok "top starts and draws"
else
	not_ok "top starts and draws" "$(screen | head -5)"
fi

"$OUTPUT/tests/peer" cw-hold 4 "$PORT" 8000 >"$TMP/peer.out" &
PEER_PID=$!
# The peer prints its pids when it ends; its server pid is our child's pid.
if wait_for 10 shows "CLOSE_WAIT"; then
	ROW=$(screen | grep " CLOSE_WAIT " | grep -v "^CLOSE_WAIT" | head -1)
	PID=$(awk '{ print $1 }' <<<"$ROW")
	if [ "$PID" = "$PEER_PID" ]; then
		ok "CLOSE_WAIT connection shown with its owner ($ROW)"
	else
		not_ok "CLOSE_WAIT connection shown with its owner" "expected pid $PEER_PID" "row: $ROW"
	fi
else
	not_ok "CLOSE_WAIT connection shown" "$(screen | head -12)"
fi

tmux send-keys -t "$SESSION" s
if wait_for 5 bash -c "tmux capture-pane -p -t $SESSION | grep -q 'state: [A-Z]'"; then
	ok "s picks a state ($(screen | grep -o 'state: [A-Z_]*'))"
else
	not_ok "s picks a state" "$(screen | sed -n 3p)"
fi
tmux send-keys -t "$SESSION" o
if wait_for 5 shows "sort: state"; then
	ok "o changes the sort"
else
	not_ok "o changes the sort" "$(screen | sed -n 3p)"
fi

tmux send-keys -t "$SESSION" q
if wait_for 10 test -s "$TMP/rc"; then
	[ "$(cat "$TMP/rc")" = 0 ] && ok "q quits with status 0" ||
		not_ok "q quits with status 0" "rc=$(cat "$TMP/rc")"
else
	not_ok "q quits" "$(screen | head -3)"
fi

echo "top: $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
