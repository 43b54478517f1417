# shellcheck shell=bash
# The certificate lifecycle end to end (issue #16): gen-certs' names,
# --check's dates and refusals (expired, encrypted key, with a terminal
# attached), a server started with an expired pair (up, not ready, then
# ready on the renewed pair without a restart), a rotation to a pair whose
# notBefore is ahead (adopted once valid), a policy left broken for 10 s
# (logged once), and rotations racing SIGTERM (exit 0; under the sanitizer
# builds, no use-after-free). Pairs with chosen validity dates come from
# `openssl ca` signed by the suite's CA; the Secret volume is mimicked with
# a ..data symlink swapped the way the kubelet does.

CT="$HW_TMP/certs-e2e"
mkdir -p "$CT/ca"
: >"$CT/ca/index.txt"
echo 01 >"$CT/ca/serial"
cat >"$CT/ca/ca.cnf" <<EOF
[ca]
default_ca = hw
[hw]
database = $CT/ca/index.txt
new_certs_dir = $CT/ca
serial = $CT/ca/serial
policy = anything
default_md = sha256
copy_extensions = copy
unique_subject = no
[anything]
commonName = supplied
EOF

ct_date() { date -u -d "@$(( $(date +%s) + $1 ))" +%Y%m%d%H%M%SZ; }
# ct_pair DIR FROM TO: a serving pair valid from now+FROM to now+TO seconds.
ct_pair() {
  mkdir -p "$1"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/tls.key" \
    -subj /CN=hookwarden.hookwarden.svc -out "$1/tls.csr" \
    -addext "subjectAltName=DNS:hookwarden.hookwarden.svc,DNS:localhost,IP:127.0.0.1" 2>/dev/null &&
  openssl ca -batch -notext -config "$CT/ca/ca.cnf" -cert "$HW_CERTS/ca.crt" -keyfile "$HW_CERTS/ca.key" \
    -startdate "$(ct_date "$2")" -enddate "$(ct_date "$3")" -in "$1/tls.csr" -out "$1/tls.crt" 2>/dev/null
}
# ct_mount DIR GEN: DIR/tls.crt and DIR/tls.key through DIR/..data -> GEN (a sibling of ..data).
ct_mount() {
  ln -sfn "$2" "$1/..data_tmp" && mv -T "$1/..data_tmp" "$1/..data"
  [ -e "$1/tls.crt" ] || { ln -s ..data/tls.crt "$1/tls.crt"; ln -s ..data/tls.key "$1/tls.key"; }
}
ct_fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d :; }
ct_served() {
  openssl s_client -connect "127.0.0.1:$HW_PORT" -servername hookwarden.hookwarden.svc </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2 | tr -d :
}
ct_readyz() { curl -sk -o "$HW_TMP/ct-ready.body" -w '%{http_code}' "https://127.0.0.1:$HW_PORT/readyz"; }
ct_metric() { curl -sk "https://127.0.0.1:$HW_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# ct_serve NAME CERTDIR [flags]: like hw_start, but on the given pair and
# waiting for /healthz without verifying (the pair may be expired).
ct_serve() {
  local name=$1 d=$2; shift 2
  HW_PORT=$(hw_free_port)
  HW_LOG="$HW_TMP/server-$name.log"
  "$HW_BIN" serve --tls-cert-file "$d/tls.crt" --tls-private-key-file "$d/tls.key" --bind-address 127.0.0.1 \
    --port "$HW_PORT" --shutdown-grace-period 0 "$@" 2>"$HW_LOG" &
  HW_PID=$!
  for _ in $(seq 100); do
    curl -skf "https://127.0.0.1:$HW_PORT/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$HW_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "server $name did not start:"; cat "$HW_LOG"
  return 1
}
# ct_within SECONDS command...: runs command every 0.1 s until it succeeds;
# prints the seconds it took, fails after SECONDS.
ct_within() {
  local limit=$1 t0 ms; shift
  t0=$(date +%s%N)
  while ! "$@" >/dev/null 2>&1; do
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "$ms" -gt $(( limit * 1000 )) ]; then echo "not within ${limit}s"; return 1; fi
    sleep 0.1
  done
  ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  echo "after $((ms / 1000)).$(printf %03d $((ms % 1000)))s"
}

# ---- gen-certs and --check ----
"$HW_BIN" gen-certs --dir "$CT/prod" --service hookwarden --namespace platform >/dev/null
check "gen-certs: a production pair carries only the Service's names (no localhost, no 127.0.0.1)" bash -c "
  [ \"\$(openssl x509 -in '$CT/prod/tls.crt' -noout -ext subjectAltName | tail -1 | tr -d ' ')\" = \
    'DNS:hookwarden,DNS:hookwarden.platform,DNS:hookwarden.platform.svc,DNS:hookwarden.platform.svc.cluster.local' ]"
check "--check prints the validity window as dates, not Unix seconds" bash -c "
  '$HW_BIN' --check --tls-cert-file '$CT/prod/tls.crt' --tls-private-key-file '$CT/prod/tls.key' |
    grep -Eq 'valid from 20[0-9-]{8}T[0-9:]{8}Z to 20[0-9-]{8}T[0-9:]{8}Z, sha256 '"
ct_pair "$CT/expired" -7200 -3600
out=$("$HW_BIN" --check --tls-cert-file "$CT/expired/tls.crt" --tls-private-key-file "$CT/expired/tls.key" 2>&1); rc=$?
check "--check refuses an expired pair, saying when it expired" \
  bash -c '[ "$1" = 1 ] && printf "%s\n" "$2" | grep -Eq "tls.crt expired at 20[0-9-]{8}T[0-9:]{8}Z \(valid from "' _ "$rc" "$out"
openssl pkey -in "$CT/prod/tls.key" -aes256 -passout pass:secret -out "$CT/prod/encrypted.key" 2>/dev/null
# With a terminal attached, OpenSSL's default would prompt for the passphrase and wait.
out=$(timeout 20 script -qec "'$HW_BIN' --check --tls-cert-file '$CT/prod/tls.crt' --tls-private-key-file '$CT/prod/encrypted.key'" /dev/null </dev/null 2>&1); rc=$?
check "--check with an encrypted key fails at once on a terminal, saying it will not prompt" \
  bash -c '[ "$1" = 1 ] && printf "%s\n" "$2" | grep -q "encrypted.key is encrypted (it needs a passphrase): hookwarden does not prompt"' _ "$rc" "$out"

# ---- start with an expired pair: up, not ready, then the renewed pair ----
mkdir -p "$CT/m1"
ct_pair "$CT/m1/..expired" -7200 -3600
ct_pair "$CT/m1/..renewed" -60 86400
ct_mount "$CT/m1" ..expired
if ct_serve expired "$CT/m1"; then
  code=$(ct_readyz)
  check "started with an expired pair: the process stays up and /healthz answers 200" kill -0 "$HW_PID"
  check "started with an expired pair: /readyz answers 503 naming the expiry" bash -c \
    '[ "$1" = 503 ] && grep -Eq "^not ready: serving certificate expired at 20[0-9-]{8}T[0-9:]{8}Z$" "$2"' _ "$code" "$HW_TMP/ct-ready.body"
  check "started with an expired pair: the expiry gauge is its notAfter" test "$(ct_metric hookwarden_certificate_expiry_timestamp_seconds)" = \
    "$(date -u -d "$(openssl x509 -in "$CT/m1/..expired/tls.crt" -noout -enddate | cut -d= -f2)" +%s)"
  check "started with an expired pair: the log says it is served, not ready" \
    grep -q '"serving certificate is outside its validity window: /readyz fails until a valid pair is mounted".*"validity":"expired at ' "$HW_LOG"
  ct_mount "$CT/m1" ..renewed
  want=$(ct_fp "$CT/m1/..renewed/tls.crt")
  ready_on_renewed() { [ "$(ct_served)" = "$want" ] && [ "$(ct_readyz)" = 200 ]; }
  out=$(ct_within 10 ready_on_renewed)
  check "the renewed pair is served and /readyz is 200 within 10 s of the Secret's swap ($out)" ready_on_renewed
  hw_stop >/dev/null 2>&1
else
  fail "a server starts with an expired pair"
fi

# ---- rotation to a pair that is not valid yet; a policy broken for 10 s ----
mkdir -p "$CT/m2"
ct_pair "$CT/m2/..current" -60 86400
ct_mount "$CT/m2" ..current
echo '{"rules":{"ttl-after-finished":"deny"}}' >"$CT/policy.json"
if ct_serve ahead "$CT/m2" --config "$CT/policy.json" --reload-interval-ms 100; then
  old=$(ct_fp "$CT/m2/..current/tls.crt")
  ct_pair "$CT/m2/..ahead" 6 86400
  nb=$(date -u -d "$(openssl x509 -in "$CT/m2/..ahead/tls.crt" -noout -startdate | cut -d= -f2)" +%s)
  ct_mount "$CT/m2" ..ahead
  new=$(ct_fp "$CT/m2/..ahead/tls.crt")
  echo '{"rules":' >"$CT/policy.json"  # broken from now on, for 10 s
  t_broken=$(date +%s)
  sleep 1
  check "a pair not valid yet is not served before its notBefore" test "$(ct_served)" = "$old"
  check "meanwhile the process stays ready on the current pair" test "$(ct_readyz)" = 200
  while [ "$(date +%s)" -lt "$nb" ]; do sleep 0.2; done
  served_is_new() { [ "$(ct_served)" = "$new" ]; }
  out=$(ct_within 10 served_is_new)
  check "the pair is served within 10 s of becoming valid ($out)" test "$(ct_served)" = "$new"
  check "its wait was logged once, with how long, and it was never refused" bash -c "
    [ \$(grep -c 'new certificate is not valid yet' '$HW_LOG') = 1 ] && grep -q '\"wait_seconds\":[0-9]' '$HW_LOG' &&
    ! grep -q 'certificate reload refused' '$HW_LOG' && grep -q '\"waited_seconds\":[0-9]' '$HW_LOG'"
  while [ $(( $(date +%s) - t_broken )) -lt 10 ]; do sleep 0.5; done
  check "a policy file broken for 10 s (100 polls) is logged once" test "$(grep -c 'policy reload refused' "$HW_LOG")" = 1
  last=$(ct_metric 'hookwarden_reload_last_error_timestamp_seconds{kind="policy"}')
  check "hookwarden_reload_last_error_timestamp_seconds{kind=\"policy\"} says the error is current" \
    bash -c '[ $(( $(date +%s) - $1 )) -le 2 ]' _ "${last:-0}"
  check "a refused policy is counted once, not per poll" \
    test "$(ct_metric 'hookwarden_reloads_total{what="policy",result="failure"}')" = 1
  hw_stop >/dev/null 2>&1
else
  fail "a server starts for the rotation to a pair not valid yet"
fi

# ---- rotations racing SIGTERM ----
# The reload thread installs certificates into the server; shutdown used to
# free the server while it could still do so (ASan: heap-use-after-free in 9
# of 20 runs with a 1 ms poll). main now stops the reload thread first.
mkdir -p "$CT/m3"
ct_pair "$CT/m3/..g1" -60 86400
ct_pair "$CT/m3/..g2" -60 86400
ct_mount "$CT/m3" ..g1
race_rounds() {
  local bad=0 i rc
  for i in $(seq 20); do
    ct_serve "race-$i" "$CT/m3" --reload-interval-ms 1 >/dev/null || { echo "round $i: no start"; return 1; }
    ( while [ ! -e "$CT/m3/stop" ]; do ct_mount "$CT/m3" ..g2; ct_mount "$CT/m3" ..g1; done ) &
    local swapper=$!
    sleep "0.$(( (RANDOM % 3) + 1 ))"
    kill -TERM "$HW_PID"; rc=0; wait "$HW_PID" || rc=$?; HW_PID=
    touch "$CT/m3/stop"; wait "$swapper"; rm -f "$CT/m3/stop"
    if [ "$rc" != 0 ] || ! grep -q '"msg":"stopped"' "$HW_LOG" || grep -q 'Sanitizer' "$HW_LOG"; then
      echo "round $i: exit $rc"; grep -m5 -A5 'Sanitizer' "$HW_LOG"; bad=$((bad + 1))
    fi
  done
  [ "$bad" = 0 ]
}
check "20 rotations racing SIGTERM (1 ms poll): every server exits 0, stopped, no sanitizer report" race_rounds
