#!/usr/bin/env bash
# Runs the test command under a time limit, so that a test that hangs fails the run with a
# diagnosis instead of running into CI's own limit with nothing to show for it (once in CI a
# run printed nothing after its first two minutes, and the test runner's buffered output of the
# minute before was lost with it).
#
#   scripts/watchdog.sh MINUTES LOG -- COMMAND [ARGUMENTS...]
#
# COMMAND's output goes to the terminal and to LOG, line by line (stdbuf: the Swift test runner
# buffers its output in 4 KB blocks when it writes to a pipe). Past MINUTES the watchdog prints
# the tests that started and did not end, and every thread's stack of COMMAND and each of its
# descendants (the test runner, and the `episodic` children the tests start), then stops them
# all and exits 124. Otherwise it exits with COMMAND's status.
set -uo pipefail

[ $# -ge 4 ] && [ "$3" = "--" ] || {
  echo "usage: $0 MINUTES LOG -- COMMAND [ARGUMENTS...]" >&2
  exit 2
}
minutes=$1 log=$2
shift 3
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')

say() { echo "[watchdog] $*" >&2; }

# Every descendant of $1, depth first.
descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# Test names that started more often than they ended, from a Swift Testing log.
unfinished_tests() {
  awk '
    /^◇ Test [^ ]+ started\.$/ && $3 != "run" { started[$3]++ }
    /^(✔|✘) Test [^ ]+ (with [0-9]+ test cases? )?(passed|failed)/ { ended[$3]++ }
    END { for (name in started) if (started[name] > ended[name]) print "  " name }
  ' "$log" | sort
}

# Every thread's stack of a process, symbols demangled; a line saying why when gdb is missing.
stacks() {
  local pid=$1
  if ! command -v gdb >/dev/null; then
    echo "  (gdb is not installed: scripts/setup.sh --dev installs it)"
    return
  fi
  local demangle=cat
  command -v swift-demangle >/dev/null && demangle="swift-demangle --simplified"
  timeout 120 gdb -p "$pid" -batch -nx -ex "set pagination off" -ex "thread apply all bt" 2>/dev/null |
    grep -E '^(Thread|#)' | $demangle
}

diagnose() {
  say "the tests did not finish within $minutes minutes"
  say "tests that started and did not end:"
  unfinished_tests >&2
  local pid
  for pid in $(descendants "$command_pid"); do
    say "process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)"
    stacks "$pid" >&2
  done
}

: >"$log"
work=$(mktemp -d)
fired="$work/timed-out"
# Output through a FIFO to tee, so that this script can wait for tee's last line before it exits.
mkfifo "$work/output"
tee -a "$log" <"$work/output" &
tee_pid=$!
stdbuf -oL -eL "$@" >"$work/output" 2>&1 &
command_pid=$!

(
  sleep "$seconds" &
  wait $!
  kill -0 "$command_pid" 2>/dev/null || exit 0
  : >"$fired"
  diagnose
  pids=$(descendants "$command_pid")
  kill -TERM "$command_pid" $pids 2>/dev/null
  sleep 5
  kill -KILL "$command_pid" $pids 2>/dev/null
) &
watchdog_pid=$!

wait "$command_pid"
status=$?
if [ -e "$fired" ]; then
  wait "$watchdog_pid" 2>/dev/null
  status=124
else
  pkill -P "$watchdog_pid" sleep 2>/dev/null
  wait "$watchdog_pid" 2>/dev/null
fi
# tee ends when every writer has closed the FIFO; a child the tests left running with it open
# would keep it waiting, so it gets 30 s.
for _ in $(seq 30); do kill -0 "$tee_pid" 2>/dev/null || break; sleep 1; done
if kill -0 "$tee_pid" 2>/dev/null; then
  say "a process the tests started still holds their output open 30 s after they ended:"
  for fd in /proc/[0-9]*/fd/*; do
    [ "$(readlink "$fd" 2>/dev/null)" = "$work/output" ] && pid=${fd#/proc/} && echo "${pid%%/*}"
  done | sort -u | while read -r pid; do
    [ "$pid" = "$tee_pid" ] || say "  process $pid: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-300)"
  done
  kill "$tee_pid" 2>/dev/null
fi
rm -rf "$work"
exit "$status"
