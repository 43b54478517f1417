# mk/version.mk: the version hookwarden reports (--version, the
# hookwarden_build_info metric, the "serving" log line).
#
# In a git checkout of this repository it is `git describe --tags --always
# --dirty` over release tags (vX.Y.Z), without the "v": "0.1.0" on a tag,
# "0.1.0-3-gabc1234" three commits after it, "-dirty" with uncommitted
# changes. With no release tag reachable it is the Makefile's VERSION (the
# version being prepared) with "-dev-g<commit>". Outside a checkout (a source
# archive, a Docker build context without .git) it is the Makefile's VERSION.
# `make VERSION=X` on the command line wins over all of these.
# RELEASE_VERSION is always the Makefile's VERSION: the next release, which
# deploy/base's image tag and the top CHANGELOG.md entry name (docs/releasing.md).

RELEASE_VERSION := $(VERSION)
ifneq ($(origin VERSION),command line)
VERSION := $(shell mk/version.sh "$(CURDIR)" "$(RELEASE_VERSION)")
endif

# The objects that print the version are rebuilt when it changes: the stamp
# file is rewritten only then.
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(@D)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
$(BUILD)/obj/main.o $(BUILD)/obj/metrics.o $(BUILD)/obj/config.o: $(BUILD)/version.stamp

.PHONY: FORCE version
FORCE:

# Prints the version a build would report.
version:
	@echo '$(VERSION)'
