#!/usr/bin/env bash
# The fleet example, end to end: three gateway processes read one policy directory behind
# HAProxy (Debian's package, round robin, health-checked on each node's /readyz). The script
# checks that the balancer spreads requests over all three, that a token minted by a login
# through the balancer is accepted by every node, and that after an edit of the policy every node
# runs the same generation with the same policy SHA-256 (the one `portcullis check` prints).
# Usage: examples/fleet/run.sh   (PORTCULLIS_BIN: the gateway; HAPROXY: default /usr/sbin/haproxy)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
[ -x "$HAPROXY" ] || HAPROXY=$(command -v haproxy) ||
  { echo "haproxy not found (apt-get install haproxy)" >&2; exit 1; }
KEY=pcs_99d972de9436fbccb61bbad633c3344403dc8fe3ebe870639422638755c43d4e # reporting-job

APP_PORT=$(free_port)
cp -r "$HERE/policy" "$WORK/"
sed -i "s#http://127.0.0.1:8003#http://127.0.0.1:$APP_PORT#" "$WORK/policy/upstream.json"
bg app.log "$PYTHON" "$HERE/app.py" "$APP_PORT"
wait_http "http://127.0.0.1:$APP_PORT/api/reports/ready"

# Three nodes: own ports, one policy directory.
PORTS=() ADMINS=()
for n in 1 2 3; do
  PORTS+=("$(free_port)")
  ADMINS+=("$(free_port)")
  cat >"$WORK/node-$n.json" <<JSON
{
  "listeners": [{ "address": "127.0.0.1:${PORTS[n - 1]}" }],
  "admin": { "address": "127.0.0.1:${ADMINS[n - 1]}" },
  "workers": 2,
  "policy": "$WORK/policy",
  "limits": { "shutdown_grace_ms": 1000, "drain_timeout_ms": 5000 },
  "reload": { "debounce_ms": 50, "check_interval_ms": 1000 },
  "log": { "format": "text", "level": "info" }
}
JSON
  bg "node-$n.log" "$BIN" serve --config "$WORK/node-$n.json"
done
for n in 1 2 3; do wait_http "http://127.0.0.1:${ADMINS[n - 1]}/readyz" 30; done

# The balancer's port is picked last and HAProxy started up to three times: a port found free
# can be taken meanwhile (an outgoing connection's local port), and HAProxy then exits at once.
start_haproxy() {
FRONT=$(free_port)
LB=http://127.0.0.1:$FRONT
cat >"$WORK/haproxy.cfg" <<CFG
global
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
  retries 3
  option redispatch 1
frontend in
  bind 127.0.0.1:$FRONT
  default_backend portcullis
backend portcullis
  balance roundrobin
  option httpchk GET /readyz
  default-server inter 200ms fall 3 rise 1
  http-response set-header X-Served-By %[srv_name]
  server node-1 127.0.0.1:${PORTS[0]} check port ${ADMINS[0]}
  server node-2 127.0.0.1:${PORTS[1]} check port ${ADMINS[1]}
  server node-3 127.0.0.1:${PORTS[2]} check port ${ADMINS[2]}
CFG
"$HAPROXY" -c -q -f "$WORK/haproxy.cfg"
bg haproxy.log "$HAPROXY" -db -f "$WORK/haproxy.cfg"
}
for attempt in 1 2 3; do
  start_haproxy
  sleep 0.3
  if kill -0 "$LAST_PID" 2>/dev/null; then break; fi
  [ "$attempt" -lt 3 ] || { echo "HAProxy did not start:" >&2; cat "$WORK/haproxy.log" >&2; exit 1; }
done

# through_lb CURL_ARGS...: send one request; print the node that answered it (X-Served-By, set by
# HAProxy), nothing when nothing answered.
through_lb() {
  { curl -sS --max-time 10 -o /dev/null -D - "$@" 2>/dev/null || true; } | tr -d '\r' | sed -n 's/^x-served-by: //Ip'
}
# Wait until HAProxy's health checks have all three nodes up: round robin then cycles them.
deadline=$((SECONDS + 15))
while :; do
  seen=""
  for _ in 1 2 3 4 5 6; do seen="$seen $(through_lb -H "X-API-Key: $KEY" "$LB/api/reports/q3")"; done
  if [[ "$seen" == *node-1* && "$seen" == *node-2* && "$seen" == *node-3* ]]; then break; fi
  if [ "$SECONDS" -ge "$deadline" ]; then echo "HAProxy never used all three nodes:$seen" >&2; exit 1; fi
  sleep 0.2
done
# Now six requests: round robin gives each node two.
rotation=()
for _ in 1 2 3 4 5 6; do rotation+=("$(through_lb -H "X-API-Key: $KEY" "$LB/api/reports/q3")"); done
if [ "$(printf '%s\n' "${rotation[@]}" | sort | uniq -c | awk '{print $1}' | tr -d '\n')" = 222 ]; then
  echo "ok    round robin through HAProxy, six requests: ${rotation[*]}"
else
  echo "FAIL  round robin through HAProxy, six requests: ${rotation[*]}"
  FAILURES=$((FAILURES + 1))
fi

# fleet_status: one line per node: generation and policy SHA-256 from its admin /status.
fleet_status() {
  for n in 1 2 3; do
    printf 'node-%s generation %s sha256 %s\n' "$n" \
      "$(status_field "${ADMINS[n - 1]}" generation)" "$(status_field "${ADMINS[n - 1]}" sha256)"
  done
}
# same_everywhere GENERATION SHA: poll until every node runs exactly that.
same_everywhere() {
  local deadline=$((SECONDS + 15)) want
  want=$(printf 'node-%s generation %s sha256 %s\n' 1 "$1" "$2" 2 "$1" "$2" 3 "$1" "$2")
  until [ "$(fleet_status)" = "$want" ]; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "FAIL  the nodes differ:"; fleet_status; return 1
    fi
    sleep 0.05
  done
  fleet_status | sed 's/^/      /'
}
policy_sha() { "$BIN" check --policy "$WORK/policy" 2>&1 | sed -n "s/.*: ok (.*), sha256 //p"; }

SHA1=$(policy_sha)
same_everywhere 1 "$SHA1"
echo "ok    all three nodes run generation 1, sha256 $SHA1 (= portcullis check)"

# A login through the balancer; the token it mints works on every node.
check "login through HAProxy" 200 '"token"' -D "$WORK/login.headers" --data-urlencode username=alice@example.org --data-urlencode password=alice-password "$LB/api2/auth-token/"
TOKEN=$(printf '%s' "$BODY" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
MINTED_BY=$(tr -d '\r' <"$WORK/login.headers" | sed -n 's/^x-served-by: //Ip')
echo "      the account token was minted by $MINTED_BY"
for n in 1 2 3; do
  check "node-$n directly accepts the token minted by $MINTED_BY" 200 '"for": "alice@example.org", "action": "view"' \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORTS[n - 1]}/api/reports/q3"
done
show
for n in 1 2 3; do
  check "node-$n: alice may not export yet" 403 '"error":"permission_denied"' \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORTS[n - 1]}/api/reports/q3/export"
done

# The edit: report readers may export too. Written as a deployment tool would (a temporary file
# renamed over the old one); each node notices it on its own.
"$PYTHON" - "$WORK/policy/policy.json" <<'PY'
import json, os, sys
path = sys.argv[1]
policy = json.load(open(path))
policy["roles"]["report-reader"]["reports"].append("export")
tmp = os.path.join(os.path.dirname(path), ".policy.json.tmp")
with open(tmp, "w") as f:
    json.dump(policy, f, indent=2)
os.replace(tmp, path)
PY
SHA2=$(policy_sha)
[ "$SHA2" != "$SHA1" ] || { echo "FAIL  the edit did not change the policy hash"; exit 1; }
same_everywhere 2 "$SHA2"
echo "ok    after the edit all three nodes run generation 2, sha256 $SHA2 (= portcullis check)"

for n in 1 2 3; do
  check "node-$n: the same token now exports" 200 '"action": "export"' \
    -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:${PORTS[n - 1]}/api/reports/q3/export"
done
check "and through HAProxy" 200 '"for": "alice@example.org"' -H "Authorization: Bearer $TOKEN" "$LB/api/reports/q3/export"
check "a forged token is refused" 401 '"error":"invalid_credential"' -H "Authorization: Bearer ${TOKEN%?????}AAAAA" "$LB/api/reports/q3"

finish
