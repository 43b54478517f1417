# mk/dist.mk: release artifacts (docs/releasing.md).
#
#   make dist [IMAGE=registry.example.com/platform/hookwarden] [DIST=dist]
#
# writes DIST/ with
#   hookwarden-VERSION-linux-ARCH.tar.gz   the binary, LICENSE, README.md,
#                                          CHANGELOG.md, docs/, the Helm plugin
#                                          and the install manifest
#   hookwarden-VERSION-install.yaml        deploy/base rendered, image IMAGE:VERSION
#   SHA256SUMS
# VERSION comes from mk/version.mk (git describe). Needs kubectl (kustomize).

DIST  ?= dist
IMAGE ?= hookwarden

.PHONY: dist
dist: all
	@test "$(SAN)" != 1 || { echo "make dist: not from a sanitizer build (SAN=1)" >&2; exit 1; }
	mk/dist.sh "$(BIN)" "$(VERSION)" "$(RELEASE_VERSION)" "$(IMAGE)" "$(DIST)"
