#!/bin/bash
# Checks the deployment files in deploy/: the systemd unit passes systemd-analyze
# and runs unprivileged with only capabilities; the DaemonSet parses as YAML with
# what tracing needs; every metric the Grafana dashboard queries is exposed by a
# running `tcpdwell serve`. Needs root (it starts the exporter).
set -uo pipefail
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-build}
TMP=$(mktemp -d)
PASS=0
FAIL=0
TD_PID=
trap '[ -n "$TD_PID" ] && kill -INT $TD_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$TMP"' EXIT

ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "#   $l"; done; }

# systemd unit
UNIT=deploy/tcpdwell.service
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/sbin/tcpdwell|$PWD/$OUTPUT/tcpdwell|" "$UNIT" >"$TMP/tcpdwell.service"
	if out=$(systemd-analyze verify "$TMP/tcpdwell.service" 2>&1) && [ -z "$out" ]; then
		ok "systemd unit verifies"
	else
		not_ok "systemd unit verifies" "$out"
	fi
fi
if grep -qx 'DynamicUser=yes' "$UNIT" && ! grep -q '^User=root' "$UNIT" &&
	grep -q '^AmbientCapabilities=.*CAP_BPF.*CAP_PERFMON' "$UNIT" &&
	grep -qx 'NoNewPrivileges=yes' "$UNIT" && grep -q '^ExecStart=.* serve ' "$UNIT"; then
	ok "systemd unit runs serve unprivileged with capabilities"
else
	not_ok "systemd unit runs serve unprivileged with capabilities"
fi

# DaemonSet: its arguments, with $(HOST_IP) expanded to 127.0.0.1 as the kubelet would expand
# status.hostIP, and a free port for 9877, start the exporter that the rest of this test reads.
PORT=$(for p in $(seq 19880 19980); do ss -Htln "sport = :$p" | grep -q . || { echo $p; break; }; done)
if ! python3 -c 'import yaml' 2>/dev/null; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-yaml >/dev/null 2>&1
fi
if python3 - deploy/daemonset.yaml "$PORT" "$TMP/args" <<'EOF'; then
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
assert d["kind"] == "DaemonSet", d["kind"]
spec = d["spec"]["template"]["spec"]
assert spec["hostNetwork"] is True
c = spec["containers"][0]
assert c["args"][0] == "serve"
caps = c["securityContext"]["capabilities"]
assert caps["drop"] == ["ALL"] and {"BPF", "PERFMON"} <= set(caps["add"]), caps
assert c["resources"]["limits"]["memory"]
mounts = {m["mountPath"] for m in c["volumeMounts"]}
assert "/sys/kernel/btf" in mounts, mounts
env = {e["name"]: e for e in c["env"]}
assert env["HOST_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP", env
assert c["args"][c["args"].index("--listen") + 1] == "$(HOST_IP):9877", c["args"]
probe = c["readinessProbe"]["httpGet"]
assert probe["port"] == 9877 and probe["path"] == "/metrics" and "host" not in probe, probe
args = [a.replace("$(HOST_IP)", "127.0.0.1").replace(":9877", ":" + sys.argv[2]) for a in c["args"]]
open(sys.argv[3], "w").write("\n".join(args) + "\n")
EOF
	ok "DaemonSet parses and has host network, BPF capabilities, BTF, limits, listens on hostIP"
else
	not_ok "DaemonSet parses and has host network, BPF capabilities, BTF, limits, listens on hostIP"
fi

# Grafana dashboard: valid JSON, and only metrics that exist
if jq -e '.panels | length > 0' deploy/grafana-dashboard.json >/dev/null; then
	ok "dashboard is valid JSON"
else
	not_ok "dashboard is valid JSON"
fi
# The dwell heatmap is one panel per state: repeated by a multi-value variable over the
# states, each copy selecting its own.
if jq -e '(.templating.list[] | select(.name == "state") | .multi and .includeAll) and
	([.panels[] | select(.type == "heatmap" and .repeat == "state" and
		(.targets[0].expr | contains("state=\"$state\"")))] | length == 1)' \
	deploy/grafana-dashboard.json >/dev/null; then
	ok "dashboard repeats the dwell heatmap per state"
else
	not_ok "dashboard repeats the dwell heatmap per state"
fi
ARGS=(serve --listen "127.0.0.1:$PORT" --stuck CLOSE_WAIT=30s)
[ -s "$TMP/args" ] && mapfile -t ARGS <"$TMP/args"
"$OUTPUT/tcpdwell" "${ARGS[@]}" >/dev/null 2>"$TMP/err" &
TD_PID=$!
for _ in $(seq 100); do
	curl -s "http://127.0.0.1:$PORT/metrics" >"$TMP/metrics" 2>/dev/null && [ -s "$TMP/metrics" ] && break
	sleep 0.1
done
# What the readiness probe asks: /metrics on the pod's address, the node's with hostNetwork.
if [ -s "$TMP/metrics" ]; then
	ok "the DaemonSet's arguments serve /metrics on the host address (${ARGS[*]})"
else
	not_ok "the DaemonSet's arguments serve /metrics on the host address" "${ARGS[*]}" \
		"$(cat "$TMP/err")"
fi
# Exposed names, with a histogram's _bucket/_sum/_count series.
awk '/^# TYPE/ { print $3; if ($4 == "histogram") { print $3 "_bucket"; print $3 "_sum"; print $3 "_count" } }' \
	"$TMP/metrics" | sort -u >"$TMP/exposed"
jq -r '.panels[].targets[].expr, .templating.list[].query' deploy/grafana-dashboard.json |
	grep -o 'tcpdwell_[a-z_]*' |
	sort -u >"$TMP/used"
missing=$(comm -23 "$TMP/used" "$TMP/exposed")
if [ -s "$TMP/used" ] && [ -s "$TMP/exposed" ] && [ -z "$missing" ]; then
	ok "dashboard uses only exposed metrics ($(wc -l <"$TMP/used") names)"
else
	not_ok "dashboard uses only exposed metrics" "missing: $missing" "$(cat "$TMP/err")"
fi
for m in tcpdwell_state_dwell_seconds tcpdwell_sockets tcpdwell_transitions_total \
	tcpdwell_stuck_sockets tcpdwell_lost_records_total; do
	grep -q "$m" "$TMP/used" || not_ok "dashboard shows $m"
done

echo "deploy: $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
