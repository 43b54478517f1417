#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Stops the build before its first compile when pkg-config cannot find a
# library, naming the Debian (bookworm) package that provides it; without
# this check a missing library shows up as a missing header deep in a
# compiler error. Called by the Makefile's pkg-check targets:
#   mk/pkg-check.sh PKG_CONFIG MODULE:DEBIAN-PACKAGE...
# Prints nothing and exits 0 when every module is found.
set -u
pc=$1
shift
if ! command -v "$pc" >/dev/null 2>&1; then
	echo "hookwarden: $pc not found: install the Debian package pkg-config" >&2
	echo "hookwarden: (as root: make deps, or apt-get install pkg-config)" >&2
	exit 1
fi
missing="" pkgs=""
for pair in "$@"; do
	mod=${pair%%:*} deb=${pair#*:}
	"$pc" --exists "$mod" 2>/dev/null && continue
	echo "hookwarden: pkg-config cannot find $mod: install the Debian package $deb" >&2
	missing="$missing $mod"
	case " $pkgs " in *" $deb "*) ;; *) pkgs="$pkgs $deb" ;; esac
done
[ -z "$missing" ] && exit 0
echo "hookwarden: (as root: make deps, or apt-get install$pkgs)" >&2
exit 1
