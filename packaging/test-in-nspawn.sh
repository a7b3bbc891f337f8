#!/usr/bin/env bash
# Installs the Debian package in a Debian 12 (bookworm) container booted with systemd as PID 1
# (systemd-nspawn --boot) and checks the units as systemd runs them, which test-in-debootstrap.sh (a chroot, no
# init) cannot:
#
#   1. dpkg -i under a running systemd: the postinst enables and starts chainwatch.service, which is active
#      (running), sent its "started" journal entry, and whose status (StatusText) says "Last scan: ..." after the
#      first scan;
#   2. the watchdog: with WatchdogSec=6s (a drop-in) the service stays up for 20 s (several periods) with the same
#      MainPID, NRestarts=0, watchdog pings seen and no watchdog timeout in its journal;
#   3. systemctl reload chainwatch: the journal gets the daemon's "reloaded" entry (CHAINWATCH_DAEMON=reloaded);
#   4. chainwatch.timer loads, enables and starts chainwatch-scan.service (a drop-in makes it fire at once), which
#      exits 0 (Result=success, ExecMainStatus=0) with a clean report on the clean container;
#   5. a library carrying the backdoor's byte signature (the benign fixture of Tests/Fixtures/make-root.sh
#      --signature), mapped by two processes in the container (one in /opt, one in /tmp: the service has
#      PrivateTmp=yes), gives a journal alert for each with the signature rule's MESSAGE_ID and the process's pid,
#      and journalctl -x explains it with the installed catalog's text;
#   6. (run after 7) metrics-file in /etc/chainwatch/chainwatch.conf: the daemon writes the node_exporter textfile
#      in /var/lib/prometheus/node-exporter (the one directory the unit lets it write besides its state) with
#      chainwatch_scans_total of 1 or more after the first scan, mode 0644. Last because a package built before
#      metrics-file existed fails here (the daemon rejects the unknown key);
#   7. systemctl stop chainwatch: inactive, Result=success, exit 0, the "stopped" entry, well within TimeoutStopSec;
#   8. (run before 7) the sandbox hides nothing the scan needs: the findings above info of the daemon (its journal
#      alerts), of a one-shot scan in chainwatch-scan.service's sandbox and of an unconfined root scan in the
#      container (systemd-run chainwatch --scan-now --format json) are the same rule+path set, and the sandboxed
#      scan skips nothing the unconfined one reads (nor does the daemon's own last scan, by count);
#
# then powers the container off (systemctl poweroff; on failure or interrupt, SIGTERM to nspawn, then SIGKILL) and
# removes what the run made: its cgroups, its temporary directory. The checks run in the order 1-5, 8, 7, 6.
#
#   sudo ./packaging/test-in-nspawn.sh [DEB]
#
# DEB: the package to test. Without it, packaging/build-deb.sh builds one first (as test-in-debootstrap.sh does).
# Needs root, systemd-container (systemd-nspawn; installed when missing, with debootstrap, gcc and jq) and, once,
# the Debian mirror this machine's apt uses (CHAINWATCH_MIRROR overrides it). Works without systemd on the host:
# nspawn runs with --register=no --keep-unit in a cgroup this script creates (and removes), in a private mount
# namespace. Checks 5 and 8 build their fixtures with Tests/Fixtures/make-root.sh (gcc).
# The container root (debootstrap bookworm minbase + systemd, systemd-sysv, dbus, openssh-server and the package's
# Depends) is built once into packaging/cache/nspawn-bookworm-ARCH-KEY/ (git-ignored; KEY hashes the mirror and
# the package list, so changed Depends build a new one) and never written to: the container boots it with
# --volatile=overlay (every write goes to a tmpfs). CHAINWATCH_REBUILD_ROOT=1 builds it afresh. The first run
# takes 1 to 3 minutes (debootstrap, about 60 s here); later runs about 30 s, 20 of them the watchdog check.
# Prints an "ok:" line per check and PASSED, or the first failed check (with the daemon's journal) and exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
started=$(date +%s)

log() { echo "test-in-nspawn: $*" >&2; }
die() { echo "test-in-nspawn: FAILED: $*" >&2; exit 1; }
ok() { echo "test-in-nspawn: ok: $*" >&2; }

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
  -*) die "unknown option $1 (see --help)" ;;
esac
[ $# -le 1 ] || die "one package at most (see --help)"
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, systemd-nspawn and nsenter need it): sudo $0"

packages=(debootstrap util-linux systemd-container gcc libc6-dev binutils xz-utils jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The Debian mirror apt uses on this machine (deb822 .sources or one-line sources.list), else deb.debian.org.
mirror_uris() {
  cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
    | sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
}
mirror=${CHAINWATCH_MIRROR:-$(mirror_uris | grep -E '/debian/?$' | head -1 || true)}
mirror=${mirror:-http://deb.debian.org/debian}
mirror=${mirror%/}
arch=$(dpkg --print-architecture)

# --- Run state, helpers and cleanup. -------------------------------------------------------------------------------
image=''
run=$(mktemp -d /var/tmp/chainwatch-nspawn.XXXXXX)
machine=chainwatch-nspawn-$$
nspawn_pid='' pid1='' cgroups=() made_dirs=()
# Commands in the container: all its namespaces (the mount namespace puts / at its root), a clean environment.
ct_env=(/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 TERM=dumb SYSTEMD_PAGER=
        SYSTEMD_COLORS=0)
in_ct() { nsenter -t "$pid1" -a "${ct_env[@]}" "$@" </dev/null; }
# put FILE MODE < CONTENT: write a file in the container (in its overlay: the cached root stays untouched).
put() { nsenter -t "$pid1" -a "${ct_env[@]}" sh -c 'mkdir -p "${1%/*}" && cat > "$1" && chmod "$2" "$1"' sh "$@"; }
show() { in_ct systemctl show -p "$2" --value "$1"; }
# The container's journal, read from the host (journalctl --root): polling it starts no process in the container,
# where the scans would see it come and go (a process that exits mid-scan is counted as skipped).
journal() { journalctl --root="/proc/$pid1/root" -q --no-pager "$@"; }
# The journal's last cursor; entries CURSOR [FIELD=VALUE]...: the entries after CURSOR ("": all of them) with those
# field values, as JSON lines. The fields are matched here, with jq: journalctl 252 given --after-cursor and a match
# drops the first matching entry (it skips one entry for the cursor's own, which the match already excluded).
cursor() { journal -n 1 -o export | sed -n 's/^__CURSOR=//p'; }
entries() {
  local c=$1 i=0 filter='.' args=() kv; shift
  for kv in "$@"; do
    args+=(--arg "k$i" "${kv%%=*}" --arg "v$i" "${kv#*=}"); filter+=" | select(.[\$k$i] == \$v$i)"; i=$((i + 1))
  done
  journal -o json ${c:+"--after-cursor=$c"} | jq -c "${args[@]}" "$filter"
}
# host_pid PID: the host's pid of the container's process PID.
host_pid() {
  local ns p
  ns=$(readlink "/proc/$pid1/ns/pid")
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/ns/pid" 2>/dev/null)" = "$ns" ] && [ "$(awk '/^NSpid:/ { print $NF }' "$p/status" 2>/dev/null)" = "$1" ] \
      && { echo "${p#/proc/}"; return 0; }
  done
  return 1
}
# MESSAGE of the entries after CURSOR from a unit or about it (systemd's own, with UNIT=).
unit_messages() { entries "$1" | jq -r --arg u "$2" 'select(._SYSTEMD_UNIT == $u or .UNIT == $u) | .MESSAGE'; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds, at most SECONDS.
wait_for() { local limit=$(( $1 * 4 )) i=0; shift; until "$@"; do i=$((i + 1)); [ $i -lt $limit ] || return 1; sleep 0.25; done; }
has_entry() { [ -n "$(entries "$@" | head -1)" ]; }
elapsed() { awk -v from="$1" -v to="$(date +%s.%N)" 'BEGIN { printf "%.2f", to - from }'; }

cleanup() {
  local status=$? i p cg left=''
  set +e
  if [ $status -ne 0 ] && [ -n "$pid1" ] && [ -d "/proc/$pid1" ]; then
    log "chainwatch.service's journal in the container:"
    journal -o short-monotonic -u chainwatch.service -u chainwatch-scan.service 2>&1 \
      | tail -25 | sed 's/^/    /' >&2
  fi
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # SIGTERM makes nspawn ask the container's systemd for an orderly poweroff (SIGRTMIN+3).
    kill -TERM "$nspawn_pid"
    for i in $(seq 100); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$nspawn_pid" 2>/dev/null && { log "systemd-nspawn did not exit in 20 s; killing it"; kill -KILL "$nspawn_pid"; }
    wait "$nspawn_pid" 2>/dev/null
  fi
  # Whatever still runs in this run's cgroups was started by this run (the container): kill it by pid, then remove
  # the cgroups, deepest first.
  for cg in "${cgroups[@]}"; do
    [ -d "$cg" ] || continue
    for i in $(seq 25); do
      p=$(find "$cg" -name cgroup.procs -exec cat {} + 2>/dev/null)
      [ -z "$p" ] && break
      kill -KILL $p 2>/dev/null; sleep 0.2
    done
    find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
    [ ! -d "$cg" ] || left="$left $cg"
  done
  [ -z "$left" ] || log "cgroups left:$left"
  for d in "${made_dirs[@]}"; do rmdir "$d" || log "could not remove $d"; done
  if grep -qF -e " $run" ${image:+-e " $image"} /proc/self/mountinfo; then
    log "mounts left under $image or $run; not deleting $run"
  else
    rm -rf --one-file-system "$run"
  fi
  echo "test-in-nspawn: $([ $status -eq 0 ] && echo PASSED || echo FAILED) in $(( $(date +%s) - started )) s" >&2
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The package. ---------------------------------------------------------------------------------------------------
if [ $# -eq 1 ]; then
  deb=$(realpath "$1")
else
  deb=$(./packaging/build-deb.sh | tail -1)
fi
[ -f "$deb" ] || die "no package at $deb"
# A copy, checked whole: the tree's package may be rebuilt while this runs.
log "package $deb ($(date -u -r "$deb" '+built %Y-%m-%d %H:%M:%S UTC'))"
cp "$deb" "$run/"
deb=$run/$(basename "$deb")
dpkg-deb --fsys-tarfile "$deb" >/dev/null 2>&1 || die "$(basename "$deb") is not a complete package (being rebuilt right now?)"
[ "$(dpkg-deb -f "$deb" Package)" = chainwatch ] || die "$(basename "$deb") is not the chainwatch package"
version=$(dpkg-deb -f "$deb" Version)

# --- The container root, built once. --------------------------------------------------------------------------------
# Everything the package Depends on must be in it: the container has no network (--private-network), so dpkg -i
# cannot fetch anything.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g')
root_packages=$(printf '%s\n' systemd systemd-sysv dbus libelf1 libarchive13 openssh-server $depends | sort -u | grep .)
cache=$repo/packaging/cache
image=$cache/nspawn-bookworm-$arch-$(printf '%s\n' "$mirror" $root_packages | sha256sum | cut -c1-8)
mkdir -p "$cache"
if [ "${CHAINWATCH_REBUILD_ROOT:-}" = 1 ] && [ -d "$image" ]; then
  log "CHAINWATCH_REBUILD_ROOT=1: removing $image"
  rm -rf --one-file-system "$image"
fi
if [ ! -d "$image" ]; then
  log "building the container root once into $image: bookworm minbase with $(echo $root_packages)"
  part=$image.part
  rm -rf --one-file-system "$part"
  t0=$(date +%s)
  if ! debootstrap --variant=minbase --include="$(echo $root_packages | tr ' ' ,)" bookworm "$part" "$mirror" \
    >"$part.log" 2>&1; then
    tail -20 "$part.log" >&2; rm -rf --one-file-system "$part" "$part.log"; die "debootstrap"
  fi
  rm -f "$part.log"
  cat > "$part/etc/apt/sources.list" <<EOF
deb $mirror bookworm main
deb $mirror bookworm-updates main
EOF
  echo chainwatch-nspawn > "$part/etc/hostname"   # debootstrap copies the host's
  rm -f "$part"/var/cache/apt/archives/*.deb
  [ -x "$part/lib/systemd/systemd" ] && [ "$(readlink "$part/sbin/init")" = /lib/systemd/systemd ] \
    || { rm -rf --one-file-system "$part"; die "the new root has no systemd as /sbin/init"; }
  mv "$part" "$image"
  log "container root built in $(( $(date +%s) - t0 )) s"
fi

# --- Boot. ----------------------------------------------------------------------------------------------------------

# nspawn's runtime directory must exist on the host (a tmpfs is mounted on it, privately): made here if missing,
# removed again afterwards.
for d in /run/systemd /run/systemd/nspawn; do
  [ -e "$d" ] || { mkdir "$d"; made_dirs=("$d" "${made_dirs[@]}"); }
done

# No systemd on the host to give nspawn a scope (--keep-unit): it runs in a cgroup of its own, in every hierarchy
# systemd uses (cgroup2, and the v1 name=systemd one of a legacy or hybrid host). nspawn puts the container under
# it (payload/), so the container's cgroups never land in the host's root cgroup and go away with this run.
while read -r mnt fstype opts; do
  case "$fstype" in
    cgroup2) ;;
    cgroup) [[ ",$opts," == *,name=systemd,* ]] || continue ;;
    *) continue ;;
  esac
  [ -d "$mnt/$machine" ] && continue   # the same hierarchy mounted twice
  mkdir "$mnt/$machine" || die "cannot create a cgroup in $mnt"
  cgroups+=("$mnt/$machine")
done < <(awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1), $(i + 3) }' /proc/self/mountinfo)
((${#cgroups[@]})) || die "no cgroup2 or name=systemd hierarchy is mounted (systemd in the container needs one)"

log "booting $image with systemd-nspawn --boot (volatile overlay)"
boot_started=$(date +%s.%N)
(
  for cg in "${cgroups[@]}"; do echo "$BASHPID" > "$cg/cgroup.procs"; done
  # A private mount namespace with a tmpfs for nspawn's runtime state (locks, mount propagation): /run is not a
  # tmpfs everywhere (nspawn then refuses to remove what it made there), and it all vanishes with the namespace.
  exec unshare --mount --propagation private sh -c '
    mount -t tmpfs -o mode=0755 chainwatch-nspawn /run/systemd/nspawn && exec "$@"' sh \
    systemd-nspawn --boot --register=no --keep-unit --private-network --volatile=overlay \
      --capability=CAP_CHECKPOINT_RESTORE --console=read-only --machine="$machine" -D "$image"
) </dev/null >"$run/console.log" 2>&1 &
nspawn_pid=$!

# The container's PID 1 is nspawn's child that is pid 1 in its own PID namespace; it is up when its private
# socket exists.
for i in $(seq 150); do
  kill -0 "$nspawn_pid" 2>/dev/null || { sed 's/^/    /' "$run/console.log" >&2; die "systemd-nspawn exited"; }
  for p in $(pgrep -P "$nspawn_pid" || true); do
    if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = 1 ]; then pid1=$p; fi
  done
  [ -n "$pid1" ] && [ -S "/proc/$pid1/root/run/systemd/private" ] && break
  sleep 0.2
done
[ -n "$pid1" ] && [ -S "/proc/$pid1/root/run/systemd/private" ] \
  || { sed 's/^/    /' "$run/console.log" >&2; die "the container's systemd did not come up in 30 s"; }

state=$(in_ct timeout 60 systemctl is-system-running --wait) || true
case "$state" in
  running) ;;
  degraded) log "the container booted degraded: $(in_ct systemctl list-units --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')" ;;
  *) sed 's/^/    /' "$run/console.log" >&2; die "the container's systemd is '$state'" ;;
esac
[[ "$(readlink "/proc/$pid1/exe")" == */lib/systemd/systemd ]] || die "the container's PID 1 is $(readlink "/proc/$pid1/exe")"
virt=$(in_ct systemd-detect-virt) || true
ok "booted systemd $(in_ct systemctl --version | sed -n '1s/^systemd \([0-9]*\).*/\1/p') as PID 1 in $virt ($state, $(elapsed "$boot_started") s; host pid $pid1)"

# --- 1. Install under systemd. --------------------------------------------------------------------------------------
# dpkg -i inside the running container (not into the cached root before boot): the postinst then runs where
# /run/systemd/system exists, so this is the path a real install takes (daemon-reload, enable, start).
put "/root/$(basename "$deb")" 0644 < "$deb"
t0=$(date +%s.%N)
out=$(in_ct dpkg -i "/root/$(basename "$deb")" 2>&1) || { echo "$out" | sed 's/^/    /' >&2; die "dpkg -i $(basename "$deb")"; }
[ "$(in_ct dpkg-query -W -f='${Status} ${Version}' chainwatch)" = "install ok installed $version" ] \
  || die "chainwatch $version is not installed"
[ "$(in_ct systemctl is-enabled chainwatch.service)" = enabled ] || die "chainwatch.service is not enabled"
[ "$(in_ct systemctl is-enabled chainwatch.timer || true)" = disabled ] || die "chainwatch.timer is not left disabled"
[ "$(show chainwatch.service ActiveState)/$(show chainwatch.service SubState)" = active/running ] \
  || die "the postinst did not start chainwatch.service: $(show chainwatch.service ActiveState)/$(show chainwatch.service SubState)"
ok "dpkg -i under systemd: chainwatch $version installed, chainwatch.service enabled and started ($(elapsed "$t0") s), chainwatch.timer disabled"

status_is_last_scan() { [[ "$(show chainwatch.service StatusText)" == "Last scan: "* ]]; }
wait_for 60 status_is_last_scan || die "StatusText is '$(show chainwatch.service StatusText)', not 'Last scan: ...'"
has_entry "" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=e3c5a7b9d1f2430e8c6a4b2d0f9e7c51 CHAINWATCH_DAEMON=started \
  || die "no 'started' entry from the daemon in the journal"
ok "chainwatch.service active (running), 'started' in the journal; StatusText=$(show chainwatch.service StatusText)"

# --- 2. The watchdog. -----------------------------------------------------------------------------------------------
printf '[Service]\nWatchdogSec=6s\n' | put /etc/systemd/system/chainwatch.service.d/test.conf 0644
in_ct systemctl daemon-reload
c=$(cursor)
in_ct systemctl restart chainwatch.service || die "systemctl restart chainwatch (WatchdogSec=6s)"
[ "$(show chainwatch.service WatchdogUSec)" = 6s ] || die "WatchdogUSec is $(show chainwatch.service WatchdogUSec), not 6s"
main=$(show chainwatch.service MainPID)
pings=()
for i in $(seq 10); do
  sleep 2
  pings+=("$(show chainwatch.service WatchdogTimestampMonotonic)")
done
[ "$(show chainwatch.service ActiveState)/$(show chainwatch.service SubState)" = active/running ] \
  || die "after 20 s with WatchdogSec=6s chainwatch.service is $(show chainwatch.service ActiveState)/$(show chainwatch.service SubState)"
[ "$(show chainwatch.service MainPID)" = "$main" ] || die "MainPID changed from $main to $(show chainwatch.service MainPID) in 20 s"
[ "$(show chainwatch.service NRestarts)" = 0 ] || die "NRestarts is $(show chainwatch.service NRestarts)"
if unit_messages "$c" chainwatch.service | grep -i 'watchdog'; then
  die "watchdog messages in chainwatch.service's journal (above)"
fi
distinct=$(printf '%s\n' "${pings[@]}" | grep -vx 0 | sort -u | wc -l)
[ "$distinct" -ge 4 ] || die "only $distinct distinct watchdog pings seen in 20 s (WatchdogTimestamp: ${pings[*]})"
ok "watchdog: WatchdogSec=6s, still running after 20 s (MainPID $main, NRestarts=0, no timeout; $distinct pings seen in 10 samples)"

# --- 3. Reload. -----------------------------------------------------------------------------------------------------
c=$(cursor)
in_ct systemctl reload chainwatch.service || die "systemctl reload chainwatch"
wait_for 30 has_entry "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=e3c5a7b9d1f2430e8c6a4b2d0f9e7c51 \
  CHAINWATCH_DAEMON=reloaded || die "no 'reloaded' entry (MESSAGE_ID e3c5a7b9..., CHAINWATCH_DAEMON=reloaded) in 30 s"
[ "$(show chainwatch.service MainPID)" = "$main" ] || die "reload changed MainPID"
ok "systemctl reload chainwatch: '$(entries "$c" _SYSTEMD_UNIT=chainwatch.service CHAINWATCH_DAEMON=reloaded | jq -r .MESSAGE | head -1)'"
# The reload scans at once: let that scan finish before the next check.
wait_for 60 has_entry "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60 \
  || die "no scan summary after the reload in 60 s"

# --- 4. The timer and the one-shot scan. ----------------------------------------------------------------------------
[ "$(show chainwatch.timer LoadState)" = loaded ] || die "chainwatch.timer: LoadState $(show chainwatch.timer LoadState)"
[ "$(show chainwatch.timer Triggers)" = chainwatch-scan.service ] || die "chainwatch.timer triggers '$(show chainwatch.timer Triggers)'"
# Fire 1 s after it starts instead of 10 minutes after boot.
printf '[Timer]\nOnActiveSec=1s\nRandomizedDelaySec=0\n' | put /etc/systemd/system/chainwatch.timer.d/test.conf 0644
in_ct systemctl daemon-reload
c=$(cursor)
t0=$(date +%s.%N)
in_ct systemctl enable --now chainwatch.timer >/dev/null 2>&1 || die "systemctl enable --now chainwatch.timer"
[ "$(in_ct systemctl is-enabled chainwatch.timer)" = enabled ] && [ "$(show chainwatch.timer ActiveState)" = active ] \
  || die "chainwatch.timer is $(in_ct systemctl is-enabled chainwatch.timer)/$(show chainwatch.timer ActiveState)"
scan_done() { [ "$(show chainwatch-scan.service ExecMainExitTimestampMonotonic)" != 0 ] \
  && [[ "$(show chainwatch-scan.service ActiveState)" =~ ^(inactive|failed)$ ]]; }
wait_for 300 scan_done || die "chainwatch-scan.service did not run and finish within 5 minutes of the timer"
result=$(show chainwatch-scan.service Result) status=$(show chainwatch-scan.service ExecMainStatus)
report=$(entries "$c" _SYSTEMD_UNIT=chainwatch-scan.service SYSLOG_IDENTIFIER=chainwatch-scan | jq -r .MESSAGE)
[ "$result" = success ] && [ "$status" = 0 ] \
  || { echo "$report" | sed 's/^/    /' >&2; die "chainwatch-scan.service: Result=$result ExecMainStatus=$status (expected success, 0)"; }
grep -q '^Result: nothing above info found.' <<<"$report" \
  || { echo "$report" | sed 's/^/    /' >&2; die "chainwatch-scan.service's report (journal) has no 'Result: nothing above info found.'"; }
in_ct systemctl disable --now chainwatch.timer >/dev/null 2>&1 || die "systemctl disable --now chainwatch.timer"
in_ct rm /etc/systemd/system/chainwatch.timer.d/test.conf
in_ct systemctl daemon-reload
ok "chainwatch.timer enabled and fired chainwatch-scan.service: Result=success, ExecMainStatus=0 ($(elapsed "$t0") s), report in the journal: $(grep '^Result:' <<<"$report")"

# --- 5. A planted library in a live process. ------------------------------------------------------------------------
"$repo/Tests/Fixtures/make-root.sh" "$run/signature-root" --signature >/dev/null || die "make-root.sh --signature"
"$repo/Tests/Fixtures/make-root.sh" --maps-lib "$run/maps-lib" >/dev/null || die "make-root.sh --maps-lib"
lib=liblzma.so.5.6.1
planted=(/opt/planted /tmp/planted)
c_planted=$(cursor)
pids=()
for dir in "${planted[@]}"; do
  unit=planted$([ "$dir" = /opt/planted ] || echo -tmp)
  put "$dir/maps-lib" 0755 < "$run/maps-lib"
  put "$dir/$lib" 0644 < "$run/signature-root/usr/lib/x86_64-linux-gnu/$lib"
  in_ct systemd-run --quiet --unit "$unit" "$dir/maps-lib" "$dir/$lib" || die "systemd-run --unit $unit"
  wait_for 10 has_entry "$c_planted" _SYSTEMD_UNIT="$unit.service" MESSAGE=ready || die "$unit.service did not print ready"
  pid=$(show "$unit.service" MainPID)
  in_ct grep -q " $dir/$lib\$" "/proc/$pid/maps" || die "pid $pid ($unit.service) does not map $dir/$lib"
  pids+=("$pid")
done
ok "planted: ${pids[0]} maps ${planted[0]}/$lib, ${pids[1]} maps ${planted[1]}/$lib (make-root.sh --signature; units planted, planted-tmp)"

rules_file=/usr/share/chainwatch/rules/cve-2024-3094/signatures.yaml
mid=$(in_ct sed -n '/- id: xz-backdoor-sig-openwall-detect-sh$/,/message-id:/s/^ *message-id: *//p' "$rules_file")
[[ "$mid" =~ ^[0-9a-f]{32}$ ]] || die "no message-id for xz-backdoor-sig-openwall-detect-sh in $rules_file"
c=$(cursor)
in_ct systemctl reload chainwatch.service || die "systemctl reload chainwatch"
wait_for 90 has_entry "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60 \
  || die "no scan summary in 90 s after the reload"
for i in 0 1; do
  path=${planted[$i]}/$lib
  alert=$(entries "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID="$mid" CHAINWATCH_PATH="$path" | head -1)
  [ -n "$alert" ] || die "no journal alert with MESSAGE_ID=$mid for $path"
  fields=$(jq -r '[.PRIORITY, .SYSLOG_IDENTIFIER, .CHAINWATCH_RULE, .CHAINWATCH_SEVERITY, .CHAINWATCH_EVENT, .CHAINWATCH_PID] | join(" ")' <<<"$alert")
  [ "$fields" = "2 chainwatch xz-backdoor-sig-openwall-detect-sh critical new ${pids[$i]}" ] \
    || die "the alert for $path has PRIORITY SYSLOG_IDENTIFIER RULE SEVERITY EVENT PID = '$fields'"
done
ok "journal alerts MESSAGE_ID=$mid (critical, PRIORITY=2, CHAINWATCH_PID = the planted process) for both paths"

# journalctl -x adds the catalog entry: its Subject and the first line of its text without a @FIELD@.
entry=$(in_ct cat /usr/lib/systemd/catalog/chainwatch.catalog | awk -v id="-- $mid" '
  $0 == id { on = 1; next } on && /^-- [0-9a-f]+$/ { exit } on')
subject=$(sed -n 's/^Subject: //p' <<<"$entry" | head -1)
text=$(awk 'body && NF && !/@/ { print; exit } /^$/ { body = 1 }' <<<"$entry")
[ -n "$subject" ] && [ -n "$text" ] || die "no catalog entry for $mid in /usr/lib/systemd/catalog/chainwatch.catalog"
explained=$(in_ct journalctl -x -q --no-pager MESSAGE_ID="$mid")
grep -qF "Subject: $subject" <<<"$explained" && grep -qF "$text" <<<"$explained" \
  || { echo "$explained" | head -20 | sed 's/^/    /' >&2; die "journalctl -x MESSAGE_ID=$mid does not show the catalog text"; }
ok "journalctl -x MESSAGE_ID=$mid explains it: 'Subject: $subject'"

# --- 8. The sandbox hides nothing the scan needs (while the planted processes run). ---------------------------------
# Note: the container's files are on overlayfs (--volatile=overlay), where chainwatch 0.1.0 skips the GOT check of
# sshd ("executable not readable as ELF; GOT not checked") sandboxed or not; the comparison below holds either way.
above_info_json='.findings[] | select(.severity != "info") | "\(.rule) \(.evidence.path // "-")"'
# One more daemon scan, started with SIGHUP from the host, its end awaited in the journal from the host: nothing
# comes and goes in the container during it, so what it skips is what the sandbox makes it skip.
c=$(cursor)
daemon_host_pid=$(host_pid "$main") || die "no host pid for the daemon (pid $main in the container)"
kill -HUP "$daemon_host_pid"
wait_for 90 has_entry "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60 \
  || die "no scan summary in 90 s after SIGHUP"
summary=$(entries "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=c7a0e2d4b1f94e6a8d3b5c9e1f2a4b60 | tail -1)
# The daemon's view: its journal alerts, the last event per rule and path, minus the cleared ones.
daemon_set=$(journal -o json _SYSTEMD_UNIT=chainwatch.service | jq -rs '
  [.[] | select(.CHAINWATCH_RULE != null)] | group_by(.CHAINWATCH_RULE + " " + (.CHAINWATCH_PATH // "-")) | map(last)
  | .[] | select(.CHAINWATCH_EVENT != "cleared" and .CHAINWATCH_SEVERITY != "info")
  | "\(.CHAINWATCH_RULE) \(.CHAINWATCH_PATH // "-")"' | sort -u)
# A one-shot scan in chainwatch-scan.service's sandbox, JSON to a file systemd opens before the sandbox applies.
in_ct sed -e 's|^ExecStart=.*|ExecStart=/usr/bin/chainwatch --scan-now --format json --jobs 1|' -e '/^SyslogIdentifier=/d' \
  /lib/systemd/system/chainwatch-scan.service > "$run/sandboxed.service"
printf 'StandardOutput=truncate:/run/chainwatch-test.json\n' >> "$run/sandboxed.service"
put /run/systemd/system/chainwatch-test-sandboxed.service 0644 < "$run/sandboxed.service"
in_ct systemctl daemon-reload
in_ct systemctl start chainwatch-test-sandboxed.service \
  || die "the sandboxed one-shot scan failed: Result=$(show chainwatch-test-sandboxed.service Result)"
in_ct cat /run/chainwatch-test.json > "$run/sandboxed.json"
# The same scan as root in the container, unconfined (the container's capabilities, no sandbox).
set +e
in_ct systemd-run --quiet --pipe --wait --collect --unit chainwatch-test-unconfined \
  /usr/bin/chainwatch --scan-now --format json --jobs 1 > "$run/unconfined.json"
status=$?
set -e
[ $status -le 1 ] && jq -e .findings "$run/unconfined.json" >/dev/null || die "unconfined chainwatch --scan-now --format json exited $status"
sandboxed_set=$(jq -r "$above_info_json" "$run/sandboxed.json" | sort -u)
unconfined_set=$(jq -r "$above_info_json" "$run/unconfined.json" | sort -u)
grep -qx "xz-backdoor-sig-openwall-detect-sh ${planted[1]}/$lib" <<<"$unconfined_set" \
  || die "the unconfined scan does not find the planted library: $unconfined_set"
if [ "$daemon_set" != "$unconfined_set" ] || [ "$sandboxed_set" != "$unconfined_set" ]; then
  diff <(echo "$unconfined_set") <(echo "$daemon_set") | sed 's/^/    unconfined vs daemon journal: /' >&2
  diff <(echo "$unconfined_set") <(echo "$sandboxed_set") | sed 's/^/    unconfined vs sandboxed one-shot: /' >&2
  die "the sandboxed service does not find what root finds unconfined (above)"
fi
# What the sandboxed scan skipped (pids left out: the two scans see their own transient processes) must be
# skipped unconfined too.
skipped='.skipped[] | "\(.subject | sub("^pid [0-9]+ "; "pid ")): \(.reason)"'
hidden=$(comm -23 <(jq -r "$skipped" "$run/sandboxed.json" | sort -u) <(jq -r "$skipped" "$run/unconfined.json" | sort -u))
[ -z "$hidden" ] || { echo "$hidden" | sed 's/^/    skipped only in the sandbox: /' >&2; die "the sandbox hides something from the scan (above)"; }
# The container's root is an overlay: maps and stat disagree on its files' device numbers, and the running sshd's
# GOT must still be found and checked, in the sandbox as outside it.
for scan in sandboxed unconfined; do
  checked=$(jq -r '.scan.statistics.processes_checked' "$run/$scan.json")
  [ "$checked" -ge 1 ] || die "the $scan scan checked no process's GOT (sshd runs in the container): $(jq -c '[.skipped[] | select(.reason | test("GOT"))]' "$run/$scan.json")"
done
stats='.scan.statistics | "\(.processes) processes (\(.processes_skipped) skipped, \(.processes_checked) GOT-checked), \(.files_read) files read"'
# The daemon's last scan (its summary entry) skipped no more than the unconfined scan and found as many above info.
read -r d_processes d_processes_skipped d_skipped d_above <<<"$(jq -r '[.CHAINWATCH_PROCESSES, .CHAINWATCH_PROCESSES_SKIPPED,
  .CHAINWATCH_SKIPPED, .CHAINWATCH_FINDINGS_ABOVE_INFO] | join(" ")' <<<"$summary")"
read -r u_processes_skipped u_skipped u_above <<<"$(jq -r '[.scan.statistics.processes_skipped, (.skipped | length),
  ([.findings[] | select(.severity != "info")] | length)] | join(" ")' "$run/unconfined.json")"
[ "$d_above" = "$u_above" ] && [ "$d_processes_skipped" -le "$u_processes_skipped" ] && [ "$d_skipped" -le "$u_skipped" ] \
  || die "the daemon's last scan: $d_above above info, $d_processes_skipped processes skipped, $d_skipped skipped; unconfined: $u_above, $u_processes_skipped, $u_skipped"
ok "sandbox: daemon journal, sandboxed one-shot and unconfined root scan agree on $(wc -l <<<"$unconfined_set") findings above info ($(tr '\n' ';' <<<"$unconfined_set" | sed 's/;$//; s/;/; /g')); sandboxed $(jq -r "$stats" "$run/sandboxed.json"), unconfined $(jq -r "$stats" "$run/unconfined.json"), daemon $d_processes processes ($d_processes_skipped skipped), $d_skipped skipped in all; skipped only in the sandbox: none"

# --- 7. Stop. -------------------------------------------------------------------------------------------------------
timeout_stop=$(in_ct systemd-analyze timespan "$(show chainwatch.service TimeoutStopUSec)" | sed -n 's/^ *μs: *//p')
c=$(cursor)
t0=$(date +%s.%N)
in_ct systemctl stop chainwatch.service || die "systemctl stop chainwatch"
took=$(elapsed "$t0")
[ "$(show chainwatch.service ActiveState)" = inactive ] && [ "$(show chainwatch.service Result)" = success ] \
  && [ "$(show chainwatch.service ExecMainStatus)" = 0 ] \
  || die "after stop: $(show chainwatch.service ActiveState), Result=$(show chainwatch.service Result), ExecMainStatus=$(show chainwatch.service ExecMainStatus)"
awk -v t="$took" -v max="$timeout_stop" 'BEGIN { exit !(t * 1000000 < max / 2) }' \
  || die "stopping took $took s, TimeoutStopSec is $(( timeout_stop / 1000000 )) s"
has_entry "$c" _SYSTEMD_UNIT=chainwatch.service MESSAGE_ID=e3c5a7b9d1f2430e8c6a4b2d0f9e7c51 CHAINWATCH_DAEMON=stopped \
  || die "no 'stopped' entry in the journal"
ok "systemctl stop chainwatch: inactive, Result=success, exit 0, 'stopped' in the journal, in $took s (TimeoutStopSec $(( timeout_stop / 1000000 )) s)"

# --- 6. The metrics file. -------------------------------------------------------------------------------------------
metrics=/var/lib/prometheus/node-exporter/chainwatch.prom
in_ct mkdir -p "${metrics%/*}"
in_ct sh -c "printf '\nmetrics-file = %s\n' '$metrics' >> /etc/chainwatch/chainwatch.conf"
c=$(cursor)
if ! in_ct systemctl start chainwatch.service 2>/dev/null; then
  unit_messages "$c" chainwatch.service | tail -5 | sed 's/^/    /' >&2
  die "chainwatch.service does not start with metrics-file = $metrics in chainwatch.conf (a package built before metrics-file?)"
fi
# The daemon may write the file before its first scan (chainwatch_scans_total 0); wait for the one after it.
metrics_after_scan() { in_ct grep -q '^chainwatch_scans_total [1-9]' "$metrics" 2>/dev/null; }
if ! wait_for 60 metrics_after_scan; then
  in_ct cat "$metrics" 2>&1 | grep -v '^#' | head -20 | sed 's/^/    /' >&2
  die "no chainwatch_scans_total of 1 or more in $metrics 60 s after the start"
fi
mode=$(in_ct stat -c '%a %U:%G' "$metrics")
[ "$mode" = "644 root:root" ] || die "$metrics is $mode, not 644 root:root"
ok "metrics: $metrics written by the sandboxed daemon, mode 0644, $(in_ct grep '^chainwatch_scans_total' "$metrics")"

# --- Power off. -----------------------------------------------------------------------------------------------------
t0=$(date +%s.%N)
in_ct systemctl poweroff || die "systemctl poweroff"
wait_for 30 eval '! kill -0 "$nspawn_pid" 2>/dev/null' || die "the container did not power off in 30 s"
set +e
wait "$nspawn_pid"
status=$?
set -e
nspawn_pid=''
[ $status -eq 0 ] || die "systemd-nspawn exited $status after poweroff"
ok "powered off in $(elapsed "$t0") s, systemd-nspawn exited 0"
