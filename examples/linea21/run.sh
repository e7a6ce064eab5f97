#!/usr/bin/env bash
# The Linea21 example, end to end: PHP's built-in server runs app/index.php (a stand-in for
# Linea21's API front controller), Portcullis guards it with the tokens of Linea21's own
# permission file, and curl sends the requests. Then the script switches the API mode (Linea21's
# API_PROVIDE) by rewriting the policy, waits for each hot reload, and checks again.
# Usage: examples/linea21/run.sh   (PORTCULLIS_BIN: the gateway, default target/debug/portcullis)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
source "$HERE/../lib.sh"

TOKEN_1=linea21-6685453c9821b # indicator: list, info, info-full, values...; level: list; status all
TOKEN_2=linea21-895223bc9878a # indicator: all; level: list; no status (P)
PHP_PORT=$(free_port)
PORT=$(free_port)
ADMIN=$(free_port)
GW=http://127.0.0.1:$PORT

# The policy and the permission file, copied so that the mode can be rewritten; the upstream is
# pointed at this run's PHP port.
cp -r "$HERE/policy" "$HERE/linea21" "$WORK/"
sed -i "s#http://127.0.0.1:8000#http://127.0.0.1:$PHP_PORT#" "$WORK/policy/policy.json"
settings "$WORK/portcullis.json" "$PORT" "$ADMIN"

# php -n: no php.ini, so the machine's settings cannot change what PHP reads.
touch "$WORK/php-requests.txt"
(cd "$HERE/app" && REQUEST_LOG="$WORK/php-requests.txt" exec php -n -S "127.0.0.1:$PHP_PORT" index.php) >"$WORK/php.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$PHP_PORT/public/ready"
: >"$WORK/php-requests.txt"
start_gateway gateway "$WORK/portcullis.json" "$ADMIN"

php_seen() { wc -l <"$WORK/php-requests.txt"; }

# set_mode MODE: rewrite the policy (a temporary file renamed over it, as an editor does) and
# wait until the gateway has loaded the next generation.
set_mode() {
  local next
  next=$(($(status_field "$ADMIN" generation) + 1))
  sed "s/\"mode\": \"[a-z-]*\"/\"mode\": \"$1\"/" "$WORK/policy/policy.json" >"$WORK/policy/.policy.json.tmp"
  mv "$WORK/policy/.policy.json.tmp" "$WORK/policy/policy.json"
  wait_generation "$ADMIN" "$next"
  echo "== mode $1 (policy generation $next)"
}

echo "== mode limited-access (policy generation $(status_field "$ADMIN" generation))"
check "query style, ?token= kept for PHP (keep_credential)" 200 '"style":"query","module":"indicator","action":"list","token":"linea21-6685453c9821b"' \
  "$GW/api/?module=indicator&action=list&token=$TOKEN_1"
show
check "query style: the gateway names the token by id and passes its status" 200 '"gateway":{"key_id":"l21-c751726c91f6","credential":"api_key","module":"indicator","action":"list","status":"all"}' \
  "$GW/api/?module=indicator&action=list&token=$TOKEN_1"
check "path style, ?token= removed before PHP" 200 '"style":"path","module":"level","action":"list","token":null' \
  "$GW/api/level/list/?token=$TOKEN_2"
show
check "path style, Bearer header, status P for a token without status" 200 '"key_id":"l21-e914182ab406","credential":"api_key","module":"indicator","action":"delete","status":"P"' \
  -H "Authorization: Bearer $TOKEN_2" "$GW/api/indicator/delete/"
check "public page, no token" 200 '"style":"page"' "$GW/public/index.php"

before=$(php_seen)
check "no token" 401 '"error":"missing_credential"' "$GW/api/?module=indicator&action=list"
show
check "unknown token" 401 '"error":"invalid_credential"' "$GW/api/?module=indicator&action=list&token=linea21-000000000000"
check "token 1 may not delete indicators" 403 '"error":"permission_denied"' "$GW/api/?module=indicator&action=delete&token=$TOKEN_1"
check "token 2 may not read level values (path style)" 403 '"error":"permission_denied"' "$GW/api/level/values/?token=$TOKEN_2"
check "module given twice" 400 '"error":"repeated_parameter"' "$GW/api/?module=level&module=indicator&action=list&token=$TOKEN_1"
check "module as an array" 400 '"error":"array_parameter"' "$GW/api/?module[]=indicator&action=list&token=$TOKEN_1"
check "module spelled with a leading space (PHP would read it as module)" 400 '"error":"mangled_parameter"' "$GW/api/?module=indicator&%20module=level&action=list&token=$TOKEN_1"
check "no action" 400 '"error":"missing_parameter"' "$GW/api/?module=indicator&token=$TOKEN_1"
check "two credentials" 400 '"error":"multiple_credentials"' -H "X-API-Key: $TOKEN_1" "$GW/api/?module=indicator&action=list&token=$TOKEN_1"
check "out of a public page into the API" 400 '"error":"dot_segment"' --path-as-is "$GW/public/../api/?module=indicator&action=list"
check "unmapped" 404 '"error":"no_route"' "$GW/admin/?token=$TOKEN_1"
if [ "$(php_seen)" -ne "$before" ]; then
  echo "FAIL  a refused request reached PHP: $(tail -n +$((before + 1)) "$WORK/php-requests.txt" | tr '\n' ' ')"
  FAILURES=$((FAILURES + 1))
else
  echo "ok    none of the 11 refused requests reached PHP"
fi

set_mode disabled
check "the API is off, even with a valid token" 403 '"error":"api_disabled"' "$GW/api/?module=indicator&action=list&token=$TOKEN_1"
show
check "path style too" 403 '"error":"api_disabled"' "$GW/api/level/list/?token=$TOKEN_2"
check "public pages are not the API" 200 '"style":"page"' "$GW/public/index.php"

set_mode full-access
check "no token needed" 200 '"style":"query","module":"level","action":"values","token":null,"path":"/api/","gateway":{"key_id":null' \
  "$GW/api/?module=level&action=values"
show
check "a token is not checked (and PHP still gets it on the query route)" 200 '"token":"not-a-token"' \
  "$GW/api/?module=indicator&action=delete&token=not-a-token"
check "path style, no token" 200 '"style":"path","module":"level","action":"values"' "$GW/api/level/values/"
check "malformed requests are still refused" 400 '"error":"repeated_parameter"' "$GW/api/?module=level&module=indicator&action=list"

set_mode limited-access
check "back to tokens: none" 401 '"error":"missing_credential"' "$GW/api/?module=level&action=values"
check "back to tokens: token 1" 200 '"key_id":"l21-c751726c91f6"' "$GW/api/?module=indicator&action=values&token=$TOKEN_1"

finish
