#!/bin/sh
# Copy into ROOTFS the shared libraries that BINARY needs and that the runtime
# image, gcr.io/distroless/base-debian12, does not already have.
#
#   deploy/image/runtime-libs.sh BINARY ROOTFS
#
# distroless/base-debian12 ships glibc and libssl3 (libssl, libcrypto); every
# other library that ldd lists is copied (libmicrohttpd, jansson, libyaml,
# GnuTLS and its dependencies...), to the path it resolves to in the build image
# (same Debian release, so the same paths the runtime loader searches), with its
# soname link beside it. libgcc_s is added as well: glibc loads it at run time
# for thread cancellation and unwinding, and base-debian12 does not have it.
# Prints the sonames it copied. Used by the Dockerfile, and by tests/deploy,
# which runs the result in a chroot holding only these libraries, glibc and
# libssl3.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 BINARY ROOTFS" >&2; exit 2; }
bin=$1
root=$2
[ -x "$bin" ] || { echo "$0: not an executable: $bin" >&2; exit 1; }

copy_lib() { # soname path
	real=$(readlink -f "$2")
	dir=$(dirname "$real")
	mkdir -p "$root$dir"
	cp "$real" "$root$real"
	[ "$(basename "$real")" = "$1" ] || ln -sf "$(basename "$real")" "$root$dir/$1"
	echo "$1"
}

out=$(ldd "$bin") || { echo "$0: ldd failed on $bin" >&2; exit 1; }
if printf '%s\n' "$out" | grep -q 'not found'; then
	printf '%s\n' "$out" >&2
	echo "$0: unresolved libraries" >&2
	exit 1
fi
printf '%s\n' "$out" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' |
	while read -r soname path; do
		case $soname in
		# glibc (libc6) and libssl3: provided by distroless/base-debian12.
		libc.so.* | libm.so.* | libpthread.so.* | libdl.so.* | librt.so.* | \
			libresolv.so.* | libutil.so.* | ld-linux*.so.* | \
			libssl.so.3 | libcrypto.so.3)
			continue ;;
		esac
		copy_lib "$soname" "$path"
	done

gcc_s=$(ldconfig -p | awk '$1 == "libgcc_s.so.1" { print $NF; exit }')
[ -n "$gcc_s" ] || { echo "$0: libgcc_s.so.1 not found" >&2; exit 1; }
copy_lib libgcc_s.so.1 "$gcc_s"
