#!/usr/bin/env bash
# Runs the libFuzzer harnesses of Fuzz/ for N minutes each (default 10), two at a time, and prints
# each run's last status line (executions, coverage). Crashes land in Fuzz/artifacts/<harness>/;
# reproduce one with `Fuzz/.build/debug/<harness> <file>`, then add it as a regression test.
#   usage: scripts/fuzz.sh [MINUTES] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/../Fuzz"
minutes="${1:-10}"; shift || true
harnesses=("$@")
[ ${#harnesses[@]} -eq 0 ] && harnesses=(FuzzTokenizer FuzzSafetensors FuzzEpisodeJSON FuzzDates)
# lld: gold mislinks SwiftPM executables that take their main from libFuzzer.
swift build -c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld
run() {
  local name="$1"
  mkdir -p "artifacts/$name" "corpus/$name"
  ".build/debug/$name" -max_total_time=$((minutes * 60)) -print_final_stats=1 -rss_limit_mb=4096 \
    -artifact_prefix="artifacts/$name/" "corpus/$name" > "artifacts/$name/log.txt" 2>&1 || true
  echo "== $name"; grep -E "^#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|cov:|Crash|ERROR" "artifacts/$name/log.txt" | tail -4
  ls "artifacts/$name" | grep -E "^(crash|leak|timeout|oom)-" && echo "FINDINGS in artifacts/$name" || echo "no crash"
}
i=0
for name in "${harnesses[@]}"; do
  run "$name" &
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
