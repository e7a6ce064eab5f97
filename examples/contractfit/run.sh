#!/usr/bin/env bash
# The contract.fit example, end to end: app.py stands in for the application, Portcullis
# answers contract.fit's management API (/admin/auth, /admin/roles, /admin/users,
# /admin/auth/api-key) and guards the application's routes, and client.py (python-requests)
# creates keys scoped to an inbox and to a document and uses them inside and outside their scope.
# Then a restart shows that what the API wrote is kept.
# Usage: examples/contractfit/run.sh   (PORTCULLIS_BIN: the gateway; PYTHON: a Python with requests)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

APP_PORT=$(free_port)
PORT=$(free_port)
ADMIN=$(free_port)
GW=http://127.0.0.1:$PORT

# The policy, copied: the management API writes portcullis-managed.json beside it.
cp -r "$HERE/policy" "$WORK/"
sed -i "s#http://127.0.0.1:8002#http://127.0.0.1:$APP_PORT#" "$WORK/policy/policy.json"
settings "$WORK/portcullis.json" "$PORT" "$ADMIN"

bg app.log "$PYTHON" "$HERE/app.py" "$APP_PORT"
wait_http "http://127.0.0.1:$APP_PORT/__seen"
start_gateway gateway "$WORK/portcullis.json" "$ADMIN"

GATEWAY_PID=$LAST_PID
"$PYTHON" "$HERE/client.py" "$GW" "http://127.0.0.1:$APP_PORT" "$WORK/document-key"

# What the API wrote: digests only, in the policy directory.
"$PYTHON" - "$WORK/policy/portcullis-managed.json" <<'PY'
import json, sys
registry = json.load(open(sys.argv[1]))["registry"]
keys = registry["api_keys"]
assert len(keys) == 1 and len(keys[0]["sha256"]) == 64 and "token" not in keys[0], keys
print("ok    portcullis-managed.json: %d role, %d user, %d key (sha256 only)"
      % (len(registry["roles"]), len(registry["users"]), len(keys)))
PY

# A restart (SIGTERM, drain, start again): the document key is still there.
kill "$GATEWAY_PID"
wait "$GATEWAY_PID" || true
start_gateway gateway-restarted "$WORK/portcullis.json" "$ADMIN"
DOC_KEY=$(cat "$WORK/document-key")
check "after a restart, the document key still reads its document" 200 '"status": "processed"' \
  -H "X-API-Key: $DOC_KEY" "$GW/inboxes/5f0c0ffee0000000000000a1/documents/60ddb937b260064252bd5a98"
show
check "and only that one" 403 '"error":"out_of_scope"' "$GW/inboxes/5f0c0ffee0000000000000a1/documents?api_key=$DOC_KEY"
show

check "management needs a credential" 401 '"error":"missing_credential"' "$GW/admin/auth/api-key"
check "a wrong password" 401 '' -H 'Content-Type: application/json' -d '{"username": "admin@example.org", "password": "wrong"}' "$GW/admin/auth"
show
check "a made-up key" 401 '"error":"invalid_credential"' -H "X-API-Key: not-a-key" "$GW/inboxes/5f0c0ffee0000000000000a1/documents"

finish
