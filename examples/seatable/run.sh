#!/usr/bin/env bash
# The SeaTable example, end to end: dtable_server.py stands in for dtable-server, Portcullis
# answers SeaTable's token endpoints and guards the dtable-server, API-gateway and dtable-db
# routes with base tokens, and client.py drives it all with SeaTable's official Python client
# (seatable-api). Then a few requests with curl show the refusals as SeaTable clients see them.
# Usage: examples/seatable/run.sh   (PORTCULLIS_BIN: the gateway; PYTHON: a Python with
# seatable-api and requests, default the repository's .venv)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

"$PYTHON" -c 'import seatable_api, requests' 2>/dev/null ||
  { echo "$PYTHON lacks seatable-api: pip install -r tests/python/requirements.txt" >&2; exit 1; }

UP_PORT=$(free_port)
PORT=$(free_port)
ADMIN=$(free_port)
GW=http://127.0.0.1:$PORT

# The policy, copied (the API-token endpoints write portcullis-managed.json beside it), with this
# run's ports: the bases' URLs name the gateway, the upstream the stand-in.
cp -r "$HERE/policy" "$WORK/"
sed -i -e "s#http://127.0.0.1:8091/#$GW/#g" -e "s#http://127.0.0.1:8001#http://127.0.0.1:$UP_PORT#" \
  "$WORK/policy/policy.json"
settings "$WORK/portcullis.json" "$PORT" "$ADMIN"

bg dtable-server.log "$PYTHON" "$HERE/dtable_server.py" "$UP_PORT"
wait_http "http://127.0.0.1:$UP_PORT/__seen"
start_gateway gateway "$WORK/portcullis.json" "$ADMIN"

"$PYTHON" "$HERE/client.py" "$GW" "http://127.0.0.1:$UP_PORT"

PROJECTS=5f2c7a4e-9a1b-4c3d-8e2f-0a1b2c3d4e5f
check "rows without a token" 403 '{"error_msg":"Permission denied."}' "$GW/dtable-server/api/v1/dtables/$PROJECTS/rows/"
check "rows with a made-up token" 403 '{"error_msg":"Permission denied."}' -H "Authorization: Token not-a-token" "$GW/dtable-server/api/v1/dtables/$PROJECTS/rows/"
check "login with curl" 200 '"token"' --data-urlencode username=alice@example.org --data-urlencode password=alice-password "$GW/api2/auth-token/"
show
ACCOUNT=$(printf '%s' "$BODY" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["token"])')
check "an account token is no base token" 403 '{"error_msg":"Permission denied."}' -H "Authorization: Token $ACCOUNT" "$GW/dtable-server/api/v1/dtables/$PROJECTS/rows/"
check "access-token with the account token" 200 "\"dtable_uuid\":\"$PROJECTS\"" -H "Authorization: Token $ACCOUNT" "$GW/api/v2.1/workspace/1/dtable/Projects/access-token/"
show
BASE_TOKEN=$(printf '%s' "$BODY" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
check "rows with the base token (Bearer works too)" 200 '"rows"' -H "Authorization: Bearer $BASE_TOKEN" "$GW/dtable-server/api/v1/dtables/$PROJECTS/rows/"
check "a base the user does not have" 404 '' -H "Authorization: Token $ACCOUNT" "$GW/api/v2.1/workspace/1/dtable/Nope/access-token/"
show

finish
