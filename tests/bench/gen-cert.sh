#!/bin/sh
# Self-signed ECDSA P-256 cert for 127.0.0.1 (bench only), in DIR (default
# $BENCH_DIR/certs, else /tmp/hwbench/certs); made once, kept if present.
#   gen-cert.sh [DIR]
set -e
d=${1:-${BENCH_DIR:-/tmp/hwbench}/certs}
mkdir -p "$d"
[ -s "$d/server.crt" ] && exit 0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
  -subj "/CN=hookwarden-bench" -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$d/server.key" -out "$d/server.crt" 2>/dev/null
chmod 600 "$d/server.key"
