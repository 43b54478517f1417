#!/usr/bin/env bash
# mk/dist.sh BIN VERSION RELEASE_VERSION IMAGE DIST: the release artifacts
# (run by `make dist`; docs/releasing.md says what each is for).
#
#   DIST/hookwarden-VERSION-linux-ARCH.tar.gz  hookwarden-VERSION/ with bin/hookwarden,
#                                              LICENSE, README.md, CHANGELOG.md, docs/,
#                                              helm-plugin/, install.yaml
#   DIST/hookwarden-VERSION-install.yaml       deploy/base rendered by kustomize, the
#                                              image pinned to IMAGE:VERSION
#   DIST/SHA256SUMS
#
# The tarball is reproducible from the same binary and sources: entries sorted,
# owned by 0:0, dated at the commit (SOURCE_DATE_EPOCH when set), gzip without
# a name or time stamp.
set -euo pipefail

bin=$1 version=$2 release=$3 image=$4 dist=$5
prog=make-dist
die() {
	echo "$prog: $*" >&2
	exit 1
}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] ||
	die "version '$version' is not X.Y.Z[-suffix] (a tag must be vX.Y.Z)"
# On a release tag, the tag and the Makefile's VERSION must agree.
if [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && [ "$version" != "$release" ]; then
	die "tag v$version does not match the Makefile's VERSION $release (docs/releasing.md)"
fi
case $version in *-dirty) echo "$prog: warning: $version: uncommitted changes are in this build" >&2 ;; esac
[ -x "$bin" ] || die "no binary $bin"
out=$("$bin" --version) || die "$bin --version failed"
[ "$out" = "hookwarden $version" ] || die "$bin reports '$out', not 'hookwarden $version': run make clean"
command -v kubectl >/dev/null || die "kubectl (with kustomize) is needed to render the install manifest"

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) arch=$(uname -m) ;;
esac
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || stat -c %Y Makefile)
fi
name=hookwarden-$version
manifest=$name-install.yaml
tarball=$name-linux-$arch.tar.gz

mkdir -p "$dist"
work=$(mktemp -d "${TMPDIR:-/tmp}/hw-dist.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The install manifest: deploy/base with the image pinned, through a
# throwaway overlay (kustomize takes only relative paths to a base).
mkdir -p build/dist-overlay
cat >build/dist-overlay/kustomization.yaml <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../../deploy/base
images:
  - name: hookwarden
    newName: $image
    newTag: "$version"
YAML
{
	cat <<YAML
# hookwarden $version: install manifest (deploy/base, image $image:$version).
#
#   kubectl apply --server-side -f $manifest
#
# It holds every object except the TLS material: the pods wait for the Secret
# hookwarden-tls and the webhook has no caBundle until a certificate path is
# applied (docs/install.md, "Installing from a release"). Only Jobs labelled
# hookwarden.io/migration=true are affected meanwhile (they are refused).
YAML
	kubectl kustomize build/dist-overlay
} >"$work/$manifest" || die "kubectl kustomize failed"
rm -rf build/dist-overlay

stage=$work/stage/$name
mkdir -p "$stage/bin" "$stage/helm-plugin"
install -m 0755 "$bin" "$stage/bin/hookwarden"
strip --strip-unneeded "$stage/bin/hookwarden"
cp LICENSE README.md CHANGELOG.md "$stage/"
cp -R docs "$stage/docs"
cp deploy/helm-plugin/* "$stage/helm-plugin/"
# Helm requires a SemVer plugin version: the release's.
sed -i "s/^version: .*/version: $version/" "$stage/helm-plugin/plugin.yaml"
cp "$work/$manifest" "$stage/install.yaml"
chmod -R u=rwX,go=rX "$work/stage"
chmod 0755 "$stage/bin/hookwarden" "$stage/helm-plugin/hookwarden-render.sh"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
	--format=gnu -C "$work/stage" -cf - "$name" | gzip -n -9 >"$work/$tarball"

mv -f "$work/$tarball" "$work/$manifest" "$dist/"
(cd "$dist" && sha256sum "$tarball" "$manifest" >SHA256SUMS)
echo "$prog: wrote $dist/$tarball, $dist/$manifest, $dist/SHA256SUMS"
