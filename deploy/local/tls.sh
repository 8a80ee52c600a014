#!/usr/bin/env bash
# Throwaway TLS material for the local stack (`deploy/local/stack up --tls` runs it; it can also run
# on its own). Everything goes to "$EHRFLOW_STACK_HOME/tls", never into the repository:
#
#   ca.key, ca.crt              a private CA, valid for TLS_CA_DAYS (default 825)
#   server.key, server.crt      a server certificate for 127.0.0.1, ::1 and localhost signed by it
#   kafka.keystore.p12          PKCS12 keystore (server key + chain) for the broker's SASL_SSL listener
#   kafka.truststore.p12        PKCS12 truststore holding the CA, for Java clients (keytool), and
#                               for the broker's mTLS listener to check client certificates
#   client.key, client.crt      a client certificate (CN=ehrflow-client, clientAuth) signed by the CA,
#                               for the mTLS listener (KAFKA_SSL_CERT / KAFKA_SSL_KEY)
#   credentials                 generated secrets, KEY=VALUE, mode 600: store password, Kafka SCRAM
#                               user and password, Redis password, PostgreSQL password
#
# Idempotent: existing material is kept. A server or client certificate that is missing, expires
# within a day or no longer chains to the CA is re-issued, and the keystores follow it. Delete the directory to
# start from a new CA.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${EHRFLOW_STACK_HOME:=$repo/.run/stack}"
: "${TLS_CA_DAYS:=825}"
: "${TLS_SERVER_DAYS:=397}"

dir="$EHRFLOW_STACK_HOME/tls"
say() { printf '[tls] %s\n' "$*" >&2; }
die() { printf '[tls] error: %s\n' "$*" >&2; exit 1; }
command -v openssl >/dev/null || die "openssl is required"
command -v keytool >/dev/null || die "keytool (from the JDK) is required"

mkdir -p "$dir"
chmod 755 "$dir"
umask 077

# Secrets are hex so that they are safe in URLs, shell `eval` and Java properties without escaping.
secret() { openssl rand -hex 24; }

creds="$dir/credentials"
touch "$creds"
chmod 600 "$creds"
ensure_secret() {
  local key=$1 value=${2:-}
  grep -q "^$key=" "$creds" && return
  [[ -n "$value" ]] || value=$(secret)
  echo "$key=$value" >>"$creds"
}
ensure_secret TLS_STORE_PASSWORD
ensure_secret KAFKA_SASL_USERNAME ehrflow
ensure_secret KAFKA_SASL_PASSWORD
ensure_secret REDIS_TLS_PASSWORD
ensure_secret PG_TLS_PASSWORD
# shellcheck disable=SC1090
source "$creds"

if [[ ! -s "$dir/ca.key" || ! -s "$dir/ca.crt" ]] || ! openssl x509 -checkend 86400 -noout -in "$dir/ca.crt" >/dev/null; then
  say "creating a throwaway CA in $dir"
  openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days "$TLS_CA_DAYS" \
    -subj "/O=ehrflow local stack/CN=ehrflow local CA $(date -u +%Y%m%dT%H%M%SZ)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  rm -f "$dir/server.crt"
fi

server_ok() {
  [[ -s "$dir/server.key" && -s "$dir/server.crt" ]] &&
    openssl x509 -checkend 86400 -noout -in "$dir/server.crt" >/dev/null &&
    openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" >/dev/null 2>&1
}

if ! server_ok; then
  say "issuing the server certificate for 127.0.0.1, ::1, localhost"
  openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=ehrflow local stack/CN=localhost" \
    -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  cat >"$dir/server.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EOF
  openssl x509 -req -sha256 -days "$TLS_SERVER_DAYS" -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext"
fi
client_ok() {
  [[ -s "$dir/client.key" && -s "$dir/client.crt" ]] &&
    openssl x509 -checkend 86400 -noout -in "$dir/client.crt" >/dev/null &&
    openssl verify -CAfile "$dir/ca.crt" "$dir/client.crt" >/dev/null 2>&1
}

if ! client_ok; then
  say "issuing the client certificate CN=ehrflow-client"
  openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "/O=ehrflow local stack/CN=ehrflow-client" \
    -keyout "$dir/client.key" -out "$dir/client.csr" 2>/dev/null
  cat >"$dir/client.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth
EOF
  openssl x509 -req -sha256 -days "$TLS_SERVER_DAYS" -in "$dir/client.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -extfile "$dir/client.ext" -out "$dir/client.crt" 2>/dev/null
  rm -f "$dir/client.csr" "$dir/client.ext"
fi
chmod 644 "$dir/client.crt"
chmod 600 "$dir/client.key"

# Readable by the server processes this stack starts (PostgreSQL copies the key into its own data
# directory with its own ownership); the CA key stays private.
chmod 644 "$dir/ca.crt" "$dir/server.crt"
chmod 600 "$dir/ca.key" "$dir/server.key"

if [[ ! -s "$dir/kafka.keystore.p12" || "$dir/server.crt" -nt "$dir/kafka.keystore.p12" ]]; then
  say "building the Kafka keystore and truststore (PKCS12)"
  rm -f "$dir/kafka.keystore.p12" "$dir/kafka.truststore.p12" "$dir/server.p12"
  # keytool cannot read a PEM private key: bundle key and chain with openssl, then let keytool
  # write the keystore the JVM reads.
  openssl pkcs12 -export -name kafka -inkey "$dir/server.key" -in "$dir/server.crt" -certfile "$dir/ca.crt" \
    -passout "pass:$TLS_STORE_PASSWORD" -out "$dir/server.p12"
  keytool -importkeystore -noprompt -srckeystore "$dir/server.p12" -srcstoretype PKCS12 \
    -srcstorepass "$TLS_STORE_PASSWORD" -destkeystore "$dir/kafka.keystore.p12" -deststoretype PKCS12 \
    -deststorepass "$TLS_STORE_PASSWORD" >/dev/null 2>&1 || die "keytool could not build the keystore"
  keytool -importcert -noprompt -alias ehrflow-local-ca -file "$dir/ca.crt" \
    -keystore "$dir/kafka.truststore.p12" -storetype PKCS12 -storepass "$TLS_STORE_PASSWORD" >/dev/null 2>&1 ||
    die "keytool could not build the truststore"
  rm -f "$dir/server.p12"
fi

echo "$dir"
