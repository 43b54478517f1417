# mk/native.mk: the native admission policies of `hookwarden export
# admission-policy` (issue #19), proven equal to the webhook.
#   make test-native   export the default, tests/deploy/native/policies and the
#                      golden cases' policies; validate them against the v1
#                      schemas; put every case (tests/deploy/native/cases.mjs)
#                      through the webhook and through the exported CEL
#                      (@bufbuild/cel, tests/deploy/native/kube-cel.mjs), with
#                      admission-sim as kube-apiserver; compare.
# Needs node + npm (tests/deploy's pinned packages), Go for admission-sim,
# python3 and curl.

.PHONY: test-native
EXTRA_TESTS += test-native

test-native: all
	tests/deploy/native/run.sh $(BIN)
