# deploy.mk: checks of everything that installs hookwarden (issue #4).
#   make test-deploy   render and validate deploy/, assert the webhook's safety
#                      properties, certs/make-overlay.sh, serve with the
#                      Deployment's arguments, make install, image emulation.
# Needs kubectl (with kustomize), node + npm (installs tests/deploy's pinned
# packages on first run), openssl, curl, python3; root for the chroot check.

.PHONY: test-deploy
EXTRA_TESTS += test-deploy

test-deploy: all
	tests/deploy/run.sh
