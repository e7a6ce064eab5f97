# shellcheck shell=bash
# Sourced by scripts/load.sh: the upstream and the four targets (direct, nginx, HAProxy,
# Portcullis) with equivalent configurations for one key count, started pinned, and checked
# before anything is measured. Uses load.sh's settings, ports and helpers.

start_upstream() {
    free_port UPSTREAM_PORT
    ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$UPSTREAM_BIN" "$UPSTREAM_PORT" 2>"$WORK/upstream.log" &
    UPSTREAM_PID=$!
    PIDS+=("$UPSTREAM_PID")
    wait_accept "$UPSTREAM_PORT" "$UPSTREAM_PID" 10 "$(now_us)" >/dev/null
}

# Print the helper config $1 with its @PEER_HEADERS@ line replaced by the fragment $2 when
# PEER_HEADERS=same (the peers then forward the fields Portcullis adds), else removed.
with_peer_headers() {
    local fragment=/dev/null
    [ "$PEER_HEADERS" = same ] && fragment="$HELPERS/$2"
    sed -e "/@PEER_HEADERS@/{r $fragment" -e "d}" "$HELPERS/$1"
}

# Configs for key count $KEYS in $KWORK (fresh ports each time).
write_configs() {
    local access_nginx="access_log $KWORK/nginx-access.log combined buffer=32k flush=100ms;"
    local access_portcullis=json haproxy_log="log stdout format raw local0"
    case "$ACCESS_LOG" in
        off) access_portcullis=off access_nginx="access_log off;" haproxy_log="" ;;
        text) access_portcullis=text ;;
    esac
    free_port NGINX_PORT
    free_port NGINX_H2_PORT
    free_port HAPROXY_PORT
    free_port PORTCULLIS_PORT
    mkdir -p "$KWORK/nginx/tmp"
    with_peer_headers front.conf peer-headers.nginx |
        sed -e "s|@PORT@|$NGINX_PORT|g" -e "s|@H2PORT@|$NGINX_H2_PORT|g" \
            -e "s|@UPSTREAM@|$UPSTREAM_PORT|g" -e "s|@WORK@|$KWORK/nginx|g" \
            -e "s|@KEYS@|$KWORK/nginx-keys.map|g" -e "s|@ACCESS_LOG@|$access_nginx|g" \
            >"$KWORK/nginx/nginx.conf"
    with_peer_headers haproxy.cfg peer-headers.haproxy |
        sed -e "s|@PORT@|$HAPROXY_PORT|g" -e "s|@UPSTREAM@|$UPSTREAM_PORT|g" \
            -e "s|@KEYS@|$KWORK/haproxy-keys.map|g" -e "s|@LOG@|$haproxy_log|g" \
            >"$KWORK/haproxy.cfg"
    cat >"$KWORK/portcullis.json" <<EOF
{
  "listeners": [{ "address": "127.0.0.1:$PORTCULLIS_PORT" }],
  "workers": 1,
  "policy": "policy",
  "log": {
    "format": "text", "level": "info",
    "access": { "format": "$access_portcullis", "destination": "file", "path": "$KWORK/portcullis-access.log" }
  }
}
EOF
}

# Start target $1 pinned to SERVER_CPUS, timing how long until it accepts and answers 200.
start_target() {
    local target=$1 t0 accept ready pid port
    t0=$(now_us)
    case "$target" in
        b)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$(command -v nginx || echo /usr/sbin/nginx)" \
                -p "$KWORK/nginx" -e "$KWORK/nginx/error.log" -c "$KWORK/nginx/nginx.conf" &
            NGINX_PID=$! pid=$! port=$NGINX_PORT ;;
        c)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$(command -v haproxy || echo /usr/sbin/haproxy)" \
                -db -f "$KWORK/haproxy.cfg" >>"$KWORK/haproxy-access.log" 2>"$KWORK/haproxy.log" &
            HAPROXY_PID=$! pid=$! port=$HAPROXY_PORT ;;
        d)
            ${SERVER_PIN[@]+"${SERVER_PIN[@]}"} "$PORTCULLIS_BIN" serve --config "$KWORK/portcullis.json" \
                2>"$KWORK/portcullis.log" &
            PORTCULLIS_PID=$! pid=$! port=$PORTCULLIS_PORT ;;
    esac
    PIDS+=("$pid")
    accept=$(wait_accept "$port" "$pid" 120 "$t0")
    ready=$(wait_ready "$port" "$t0")
    echo "$KEYS $target $accept $ready" >>"$KWORK/startup.tsv"
    log "$(target_name "$target"): accepts after $accept ms, first 200 after $ready ms"
}

# Every target answers a known key with 200 and (proxies) an unknown one with 401, over HTTP/1.1
# and h2c; a target without h2c is left out of the h2 mix (reported as "-").
check_targets() {
    local t port got
    declare -gA H2_OK=()
    for t in $TARGETS; do
        port=$(target_port "$t" allow)
        got=$(status_of "$port" "$ALLOWED_KEY" h1)
        [ "$got" = 200 ] || die "$(target_name "$t") answered $got to a known key, expected 200 (logs in $WORK)"
        if [ "$t" != a ]; then
            got=$(status_of "$port" "$DENIED_KEY" h1)
            [ "$got" = 401 ] || die "$(target_name "$t") answered $got to an unknown key, expected 401 (logs in $WORK)"
        fi
        port=$(target_port "$t" h2)
        H2_OK[$t]=0
        if [ "$(status_of "$port" "$H2_KEY" h2)" = 200 ] &&
            { [ "$t" = a ] || [ "$(status_of "$port" "$DENIED_KEY" h2)" = 401 ]; }; then
            H2_OK[$t]=1
        else
            case " $MIXES " in *" h2 "*) log "$(target_name "$t") does not serve h2c as expected: left out of the h2 mix" ;; esac
        fi
    done
}
