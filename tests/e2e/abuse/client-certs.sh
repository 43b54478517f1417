#!/bin/sh
# Client certificates for the --client-ca-file checks, with openssl:
#   client-certs.sh DIR
# DIR/client-ca.crt        the CA given to --client-ca-file
# DIR/client.{crt,key}     a client certificate it signed (clientAuth)
# DIR/rogue.{crt,key}      a client certificate from another CA, same subject
# DIR/selfsigned.{crt,key} a self-signed client certificate
set -eu
d=$1
mkdir -p "$d"
cd "$d"
ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
printf '%s\n' "$ext" >client.ext
ca() { # ca NAME SUBJECT
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "$2" -keyout "$1.key" -out "$1.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() { # leaf NAME CA
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=kube-apiserver-admission" -keyout "$1.key" -out "$1.csr" 2>/dev/null
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" -CAcreateserial -days 2 \
		-extfile client.ext -out "$1.crt" 2>/dev/null
}
ca client-ca "/CN=hookwarden test client CA"
ca rogue-ca "/CN=hookwarden test client CA"
leaf client client-ca
leaf rogue rogue-ca
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-subj "/CN=kube-apiserver-admission" -keyout selfsigned.key -out selfsigned.crt 2>/dev/null
