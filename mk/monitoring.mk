# mk/monitoring.mk: checks of deploy/monitoring (issue #13).
#   make test-monitoring   promtool check rules and promtool test rules on the
#                          alert rules, the dashboard's queries, and every metric
#                          they use against a running hookwarden (tests/monitoring/run.sh)
# Needs promtool (Debian's prometheus package), python3-yaml, curl.

.PHONY: test-monitoring
EXTRA_TESTS += test-monitoring

test-monitoring: all
	tests/monitoring/run.sh
