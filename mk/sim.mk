# mk/sim.mk: admission-sim, the project's kube-apiserver stand-in (issue #12),
# built from tests/apiserver with Debian's Go packages; included by the top
# Makefile. Every end-to-end suite calls the webhook through it.
#
#   make sim        build/tools/admission-sim (rebuilt only when its sources change)
#   make test-sim   its Go unit tests (defaulting, typed decode, validation,
#                   selection, patching), then its self-test against
#                   tests/apiserver/selftest/responder.py; part of `make test`

.PHONY: sim test-sim
EXTRA_TESTS += test-sim

sim:
	tests/apiserver/cached.sh build/tools

test-sim:
	tests/apiserver/build.sh --test
	tests/apiserver/selftest.sh "$$(tests/apiserver/cached.sh build/tools)"
