#!/usr/bin/env bash
# journal-sandbox.sh DIR
#   Starts a private mount namespace in which /run/systemd, /run/log and /var/log/journal are DIR's own directories,
#   runs the real systemd-journald inside it, and keeps the namespace alive with an anchor process.
#   Prints the anchor's pid. Run commands inside with: nsenter --mount=/proc/ANCHOR/ns/mnt -- COMMAND
#   Never passes an argument to systemd-journald: it would take it as a journal namespace.
# journal-sandbox.sh start-journald ANCHOR DIR   starts journald again inside (after a test killed it)
# Needs root (mount namespaces, bind mounts).
set -euo pipefail

# The namespace outlives this script: close every inherited descriptor above stderr so the anchor and journald do
# not hold a caller's pipes open (a test runner waiting for those pipes would hang).
for fd in $(ls /proc/$$/fd); do
  if [ "$fd" -gt 2 ]; then eval "exec $fd>&-" 2>/dev/null || true; fi
done

start_journald() { # runs inside the namespace
  local dir=$1
  mkdir -p /run/systemd/journal
  /lib/systemd/systemd-journald </dev/null >>"$dir/journald.log" 2>&1 &
  echo $! > "$dir/journald.pid"
}

wait_socket() {
  local dir=$1
  for _ in $(seq 1 100); do
    [ -S "$dir/run-systemd/journal/socket" ] && [ -s "$dir/journald.pid" ] && return 0
    sleep 0.05
  done
  echo "journal-sandbox: journald did not start; see $dir/journald.log" >&2
  return 1
}

if [ "${1:-}" = start-journald ]; then
  anchor=$2 dir=$3
  rm -f "$dir/run-systemd/journal/socket" "$dir/journald.pid"
  nsenter --mount=/proc/"$anchor"/ns/mnt -- bash -c "$(declare -f start_journald); start_journald '$dir'"
  wait_socket "$dir"
  exit 0
fi

dir=$(realpath "$1")
mkdir -p "$dir/run-systemd" "$dir/run-log" "$dir/journal" /run/systemd /run/log /var/log/journal
unshare --mount --propagation private -- bash -c "
  mount --bind '$dir/run-systemd' /run/systemd
  mount --bind '$dir/run-log' /run/log
  mount --bind '$dir/journal' /var/log/journal
  $(declare -f start_journald)
  start_journald '$dir'
  exec sleep infinity
" </dev/null >/dev/null 2>&1 &
echo $! > "$dir/anchor.pid"
wait_socket "$dir"
cat "$dir/anchor.pid"
