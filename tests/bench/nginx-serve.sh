#!/bin/sh
# Run nginx in the foreground as the "physical limit" reference webhook.
# usage: nginx-serve.sh WORKERS PORT [tls|plain] [read|discard]
#   read    (default) the mirror module reads the whole body into memory
#           (client_body_buffer_size) before the fixed response is sent
#           (stub_status answers POST with 405, error_page maps it to @resp);
#   discard nginx's plain `return 200` path: the body is still read off the
#           socket and decrypted, but thrown away in a discard buffer.
# The fixed response is tests/data/bench/response-600.json (what the JSON
# handlers of the peers return).
# env NGINX_REUSEPORT=1 (default) adds `reuseport` to listen: one listen socket
# per worker, kernel hash spreads connections; 0 = shared socket (EPOLLEXCLUSIVE),
# which in our runs sometimes left one of 2 workers idle.
# Config and logs go to /tmp/hwbench/nginx-PORT.  exec's nginx, so $! of the
# caller is the master PID (workers are its children).
set -e
W=${1:-1}; PORT=${2:-8443}; MODE=${3:-tls}; BODYMODE=${4:-read}
B=$(cd "$(dirname "$0")" && pwd)
D=/tmp/hwbench/nginx-$PORT
mkdir -p "$D"; : > "$D/error.log"
C=${BENCH_DIR:-/tmp/hwbench}/certs
"$B/gen-cert.sh" "$C"
RESP=$(cat "$B/../data/bench/response-600.json")
RP=""; [ "${NGINX_REUSEPORT:-1}" = 1 ] && RP=" reuseport"
case "$MODE" in
  tls) LISTEN="listen 127.0.0.1:$PORT ssl$RP;
    ssl_certificate $C/server.crt;
    ssl_certificate_key $C/server.key;
    ssl_protocols TLSv1.3;" ;;
  plain) LISTEN="listen 127.0.0.1:$PORT$RP;" ;;
  *) echo "mode tls|plain" >&2; exit 2 ;;
esac
if [ "$BODYMODE" = read ]; then
  MUTATE="mirror /_read_body;        # PRECONTENT phase: reads the full body first
      mirror_request_body on;
      stub_status;                   # content handler: POST -> 405 (no I/O) ...
      error_page 405 =200 @resp;     # ... turned into the fixed 200 answer"
else
  MUTATE="return 200 '$RESP';"
fi
cat > "$D/nginx.conf" <<CONF
worker_processes $W;
pid $D/nginx.pid;
error_log $D/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 1000000;   # default 1000 would force a TLS reconnect every 1000 req
  keepalive_timeout 75s;
  client_body_buffer_size 64k;  # keep AdmissionReviews in memory, never temp files
  client_max_body_size 1m;
  client_body_temp_path $D/body;
  proxy_temp_path $D/proxy; fastcgi_temp_path $D/fcgi; uwsgi_temp_path $D/uwsgi; scgi_temp_path $D/scgi;
  server {
    $LISTEN
    location = /mutate {
      $MUTATE
    }
    location = /echo {               # verification only: echoes the body it read
      mirror /_read_body;
      mirror_request_body on;
      stub_status;
      error_page 405 =200 @echo;
    }
    location @resp { return 200 '$RESP'; }
    location @echo { return 200 \$request_body; }
    location = /_read_body { internal; return 204; }
  }
}
CONF
exec nginx -p "$D" -c "$D/nginx.conf" -g 'daemon off;'
