#!/bin/sh
# A private CA for the NATS cluster and one certificate per node, with openssl.
#   deploy/nats/make-certs.sh OUT_DIR NAME[,ALIAS...] [NAME[,ALIAS...]...]
# NAME (and each ALIAS) is how clients and the other nodes reach that node: a host name or an IP
# address. Its certificate carries them as subjectAltNames and serves both as server and as
# client (routes use mutual TLS). Writes OUT_DIR/ca.pem, OUT_DIR/ca-key.pem (keep it offline: it signs new nodes),
# OUT_DIR/NAME.pem and OUT_DIR/NAME-key.pem. Keys are 0600; an existing CA is reused.
# CERT_DAYS (default 825) sets how long they are valid. The tests make a throwaway CA with it.
set -eu
if [ $# -lt 2 ]; then
  echo "usage: $0 OUT_DIR NAME [NAME...]" >&2
  exit 2
fi
out=$1
shift
days=${CERT_DAYS:-825}
umask 077
mkdir -p "$out"
if [ ! -f "$out/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/ca-key.pem" -out "$out/ca.pem" -days "$days" \
    -subj "/CN=orch NATS cluster CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 0644 "$out/ca.pem"
fi
for names in "$@"; do
  name=${names%%,*}
  san=
  for n in $(echo "$names" | tr ',' ' '); do
    case $n in
      *[!0-9.]*) san="$san${san:+,}DNS:$n" ;;
      *) san="$san${san:+,}IP:$n" ;;
    esac
  done
  ext="$out/$name.ext"
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$san" > "$ext"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/$name-key.pem" -out "$out/$name.csr" -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in "$out/$name.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" \
    -CAcreateserial -out "$out/$name.pem" -days "$days" -extfile "$ext" 2>/dev/null
  chmod 0644 "$out/$name.pem"
  rm -f "$out/$name.csr" "$ext"
done
