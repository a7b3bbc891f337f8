#!/usr/bin/env bash
# bench/run.sh - chainwatch against the baselines, on the same files, in one run (issue 6).
#
# Usage (as root, from anywhere):
#   bench/run.sh [CHAINWATCH_BINARY]        default .build-release/release/chainwatch
# Env: BENCH_RUNS (default 3), BENCH_HELPERS (busy-host processes, default 300),
#      BENCH_ROOT_LIBS (libraries copied into the big fixture root, default 2000),
#      BENCH_DAEMON_SCANS (warm daemon scans measured, default 8).
#
# Baselines, each run on the files chainwatch reads:
#   (a) Openwall detect.sh: ldd sshd -> hexdump | grep the liblzma it finds  (bench/openwall-detect.sh)
#   (b) yara with the same 34-byte signature                                  (bench/xz-signature.yar)
#   (c) the floor: sha256sum over the distinct files chainwatch hashes        (bench/fileset.py)
#       and `cat /proc/[0-9]*/maps` (what a scan that reads no file still has to do)
# Scenarios: this host; a "busy" host (this host + BENCH_HELPERS processes each dlopen()ing a
# different library); a fixture root with ~2000 libraries (--root); a small fixture root where
# (a) does exactly chainwatch's work; a planted root (make-root.sh --signature) for the verdicts.
#
# Exit status: 0 all verdicts agree (targets may be MISSED: they are printed, not fatal),
# 1 chainwatch's verdict differs from a baseline's on the same files, 2 could not run.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CW="$(realpath "${1:-$REPO/.build-release/release/chainwatch}")"
RULES="$REPO/rules"
MAKE_ROOT="$REPO/Tests/Fixtures/make-root.sh"
RUNS="${BENCH_RUNS:-3}"
HELPERS="${BENCH_HELPERS:-300}"
ROOT_LIBS="${BENCH_ROOT_LIBS:-2000}"
DAEMON_SCANS="${BENCH_DAEMON_SCANS:-8}"
# --scan-now hashes with 2 workers by default, so the sha256sum floor gets as many (xargs -P)
JOBS=2
SIG=f30f1efa554889f54c89ce5389fb81e7000000804883ec28488954241848894c2410

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$CW" ] || die "no chainwatch binary at $CW (build: swift build -c release)"
[ "$(id -u)" = 0 ] || die "run as root: dropping the page cache and reading every /proc/PID/maps need it"
for tool in yara hexdump sha256sum ldd python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install yara bsdextrautils time)"
done

# --- clean-up: every process we start and every temp file goes on exit, whatever the exit ----
WORK="$(mktemp -d /tmp/chainwatch-bench.XXXXXX)"
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

# --- cold cache: drop the page cache before each cold run (root only; noted if it fails) -------
DROP='sync; echo 3 > /proc/sys/vm/drop_caches'
if ! sh -c "$DROP" 2>/dev/null; then
  echo "NOTE: cannot drop the page cache: 'cold' figures below are really warm-cache figures"
  DROP=true
fi

# --- the shipped rules without byte rules: every file is searched for every pattern of every byte rule in the
# read that hashes it (the rules' names only decide which findings count), so the cost of the search, and of the
# signatures running on every ELF file, is the ratio of a scan with the shipped rules to one with these
NOSIG_RULES="$WORK/rules-no-signatures"
cp -r "$RULES" "$NOSIG_RULES"
rm "$NOSIG_RULES"/cve-2024-3094/signatures.yaml
"$CW" --check-rules "$NOSIG_RULES" > /dev/null || die "the rules without signatures do not load"

# --- provenance: the shipped rules without the provenance rules, so files are not also hashed with the digest
# their package recorded (MD5 for dpkg); both scans must read exactly the same bytes (no second pass)
NOPROV_RULES="$WORK/rules-no-provenance"
cp -r "$RULES" "$NOPROV_RULES"
rm -r "$NOPROV_RULES"/provenance
"$CW" --check-rules "$NOPROV_RULES" > /dev/null || die "the rules without provenance do not load"

# --- runtime checks: the shipped rules plus a got-integrity rule on every import of every process, against the
# shipped rules without any runtime rule; the difference over the processes checked is the cost per process
RUNTIME_RULES="$WORK/rules-runtime-all"
NORUNTIME_RULES="$WORK/rules-no-runtime"
cp -r "$RULES" "$RUNTIME_RULES"
cp -r "$RULES" "$NORUNTIME_RULES"
rm -r "$NORUNTIME_RULES"/cve-2024-3094/runtime.yaml "$NORUNTIME_RULES"/loader-injection
cat > "$RUNTIME_RULES/all-imports.yaml" <<'YAML'
chainwatch-rules: 1
rules:
  - id: bench-got-every-import
    title: every import of every process
    kind: got-integrity
    severity: high
    message-id: 7c1e9a3b5d2f4e6a8b0c1d2e3f4a5b6c
    description: bench only
    match:
      programs: ["*"]
YAML
"$CW" --check-rules "$RUNTIME_RULES" > /dev/null && "$CW" --check-rules "$NORUNTIME_RULES" > /dev/null \
  || die "the runtime rule variants do not load"

# the host's real sshd runs during the bench (daemonized with a pid file; stopped on exit), so the shipped
# runtime rules have an sshd to check
mkdir -p /run/sshd
if /usr/sbin/sshd -p 2222 -o ListenAddress=127.0.0.1 -o PidFile="$WORK/sshd.pid" 2>/dev/null; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$WORK/sshd.pid" ] && break; sleep 0.1; done
  [ -s "$WORK/sshd.pid" ] && PIDS+=("$(cat "$WORK/sshd.pid")")
else
  echo "NOTE: could not start sshd on 127.0.0.1:2222; the runtime checks have no sshd to check" >&2
fi

# --- timing: median wall-clock seconds of $RUNS runs -----------------------------------------
# hyperfine when installed (it also subtracts its shell's start-up), else our own loop.
# Exit codes are ignored: grep/chainwatch use them for verdicts, checked separately.
median_of() { python3 -c 'import statistics,sys; print("%.3f" % statistics.median(map(float, sys.argv[1:])))' "$@"; }
timeit() {   # timeit cold|warm 'shell command' -> median seconds on stdout
  local mode="$1" cmd="$2" prep=true
  [ "$mode" = cold ] && prep="$DROP"
  if command -v hyperfine >/dev/null; then
    local extra=(); [ "$mode" = warm ] && extra=(--warmup 1)
    hyperfine --runs "$RUNS" "${extra[@]}" -i --style none --prepare "$prep" \
      --export-json "$WORK/h.json" "$cmd" >/dev/null 2>&1 || { echo nan; return; }
    python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$WORK/h.json"
  else
    local i t0 t1 times=()
    [ "$mode" = warm ] && sh -c "$cmd" >/dev/null 2>&1
    for ((i = 0; i < RUNS; i++)); do
      sh -c "$prep" >/dev/null 2>&1
      t0=$(date +%s.%N); sh -c "$cmd" >/dev/null 2>&1; t1=$(date +%s.%N)
      times+=("$(echo "$t1 - $t0" | bc)")
    done
    median_of "${times[@]}"
  fi
}
ratio() { python3 -c 'import sys; a,b=map(float,sys.argv[1:]); print("%.2f" % (a/b) if b > 0 else "inf")' "$1" "$2"; }
le() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2"; }

# --- the table ---------------------------------------------------------------------------------
TABLE="$WORK/table"
MISSED=0
VERDICT_FAIL=0
row() {  # row SCENARIO FIGURE CHAINWATCH BASELINE-NAME BASELINE RATIO TARGET STATUS
  printf '%-8s | %-40s | %10s | %-28s | %10s | %7s | %-8s | %s\n' "$@" >> "$TABLE"
}
# compare SCENARIO FIGURE CW_SECONDS BASELINE_NAME BASELINE_SECONDS MAX_RATIO|-
compare() {
  local r status="" target="-"
  r=$(ratio "$3" "$5")
  if [ "$6" != - ]; then
    target="<= ${6}x"
    if le "$r" "$6"; then status=met; else status="MISSED (${r}x, target ${6}x)"; MISSED=$((MISSED + 1)); fi
  fi
  row "$1" "$2" "${3}s" "$4" "${5}s" "${r}x" "$target" "$status"
}

# verdicts: does each tool flag the signature?
cw_flags() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(f["kind"]=="byte-signature" for f in d["findings"]) else 1)' "$1"; }
yara_flags() { [ -n "$(yara -N --scan-list "$HERE/xz-signature.yar" "$1" 2>/dev/null)" ]; }
# the two baselines over a file set, as shell commands for timeit: (c) sha256sum of a nul-separated list, (b) yara
sha_cmd() { echo "xargs -0 -P $JOBS -n 64 sha256sum < '$1'"; }
yara_cmd() { echo "yara -N --scan-list '$HERE/xz-signature.yar' '$1'"; }
verdict() {  # verdict SCENARIO EXPECTED(yes|no) CW(yes|no) OPENWALL YARA
  local s=agree
  if [ "$3" != "$2" ] || [ "$4" != "$2" ] || [ "$5" != "$2" ]; then s="DIFFERS"; VERDICT_FAIL=1; fi
  echo "verdict $1: expected=$2 chainwatch=$3 openwall=$4 yara=$5 -> $s" | tee -a "$WORK/verdicts"
}
yn() { if "$@" > /dev/null; then echo yes; else echo no; fi; }
# what chainwatch flagged (so a DIFFERS can be explained: e.g. a deleted-but-mapped library that
# chainwatch reads through /proc/PID/map_files while fileset.py, and so yara, only sees paths)
cw_evidence() { python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["kind"] == "byte-signature":
        e = f["evidence"]; print("  chainwatch %s: %s pids=%s seen_as=%s" % (f["rule"], e.get("path"), e.get("pids"), e.get("seen_as")))' "$1" >&2; }

# nul-separated list -> newline list for yara --scan-list (fixture/host paths hold no newline)
scanlist() { tr '\0' '\n' < "$1" > "$1.lines"; echo "$1.lines"; }

# file set for ROOT from a chainwatch JSON; prints "count bytes"; checks the count against
# files_examined (fileset.py is a reconstruction: a few percent apart is expected on a live
# host because processes come and go between the two)
fileset() {  # fileset ROOT JSON OUT [--processes]
  local root="$1" json="$2" out="$3"; shift 3
  "$HERE/fileset.py" "$root" "$json" "$@" > "$out" 2> "$out.count"
  local n bytes examined
  n=$(awk '{print $1}' "$out.count"); bytes=$(awk '{print $3}' "$out.count")
  examined=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["scan"]["statistics"]["files_examined"])' "$json")
  echo "  file set: $n files ($((bytes / 1048576)) MiB) by fileset.py; chainwatch files_examined=$examined" >&2
  echo "$n $bytes"
}

# --- scenario: a live host (this one, or this one made busy) -----------------------------------
host_scenario() {  # host_scenario NAME
  local name="$1" set="$WORK/$1.set" json="$WORK/$1.json" t
  echo "== $name: $(ls -d /proc/[0-9]* | wc -l) processes" >&2
  "$CW" --scan-now --rules "$RULES" --format json > "$json"
  fileset / "$json" "$set" --processes > "$WORK/$name.fs"
  local list; list=$(scanlist "$set")

  # verdict on the same files: no signature anywhere on a clean host
  verdict "$name" no "$(yn cw_flags "$json")" "$(yn "$HERE/openwall-detect.sh")" "$(yn yara_flags "$list")"
  cw_evidence "$json"

  local cw_cold cw_warm cw_nosig_cold cw_nosig_warm sha_cold sha_warm yara_cold yara_warm ow_cold ow_warm maps dpkgmaps
  cw_cold=$(timeit cold "'$CW' --scan-now --rules '$RULES' --format json")
  sha_cold=$(timeit cold "$(sha_cmd "$set")")
  yara_cold=$(timeit cold "$(yara_cmd "$list")")
  ow_cold=$(timeit cold "'$HERE/openwall-detect.sh'")
  cw_warm=$(timeit warm "'$CW' --scan-now --rules '$RULES' --format json")
  cw_nosig_cold=$(timeit cold "'$CW' --scan-now --rules '$NOSIG_RULES' --format json")
  cw_nosig_warm=$(timeit warm "'$CW' --scan-now --rules '$NOSIG_RULES' --format json")
  sha_warm=$(timeit warm "$(sha_cmd "$set")")
  yara_warm=$(timeit warm "$(yara_cmd "$list")")
  ow_warm=$(timeit warm "'$HERE/openwall-detect.sh'")
  maps=$(timeit warm "cat /proc/[0-9]*/maps")
  # a nothing-changed scan still reads the package database (dpkg status + every .list file):
  # not in the issue's floor, timed for context
  dpkgmaps=$(timeit warm "cat /proc/[0-9]*/maps /var/lib/dpkg/status /var/lib/dpkg/info/*.list")

  compare "$name" "cold scan vs sha256sum floor" "$cw_cold" "sha256sum same files" "$sha_cold" 1.5
  compare "$name" "cold scan vs yara (b)" "$cw_cold" "yara same files" "$yara_cold" 1
  compare "$name" "cold scan vs openwall (a) as published" "$cw_cold" "ldd+hexdump sshd liblzma" "$ow_cold" -
  compare "$name" "cold: byte search on every file vs none" "$cw_cold" "same rules, no byte rules" "$cw_nosig_cold" -
  compare "$name" "page-cache-warm --scan-now" "$cw_warm" "sha256sum same files" "$sha_warm" -
  compare "$name" "warm: byte search on every file vs none" "$cw_warm" "same rules, no byte rules" "$cw_nosig_warm" -
  compare "$name" "page-cache-warm --scan-now vs yara" "$cw_warm" "yara same files" "$yara_warm" 1
  compare "$name" "page-cache-warm vs openwall published" "$cw_warm" "ldd+hexdump sshd liblzma" "$ow_warm" -

  # (a) on the same work: hexdump|grep runs at ~2 MB/s, so over a GB it takes minutes; measure
  # its throughput on a few MB of the set (warm) and extrapolate to the set's bytes.
  local bytes sample="$WORK/sample" sbytes ts ow_same
  bytes=$(awk '{print $2}' "$WORK/$name.fs")
  python3 - "$set" > "$sample" <<'EOF'
import os, sys
paths = [p for p in open(sys.argv[1], "rb").read().split(b"\0") if p]
def size(p):
    try: return os.path.getsize(p)
    except OSError: return None     # gone since (other processes' files come and go)
sized = sorted((s, p) for p in paths for s in [size(p)] if s is not None)
out, total = [], 0
for s, p in sized:                  # small files first, up to ~8 MB
    if total > 8 << 20: break
    out.append(p); total += s
sys.stdout.buffer.write(b"\0".join(out) + b"\0")
EOF
  sbytes=$(xargs -0 stat -c %s < "$sample" 2>/dev/null | awk '{s+=$1} END {print s}')
  ts=$(timeit warm "'$HERE/openwall-detect.sh' --files '$sample'")
  ow_same=$(python3 -c 'import sys; t,s,b=map(float,sys.argv[1:]); print("%.1f" % (t*b/s))' "$ts" "$sbytes" "$bytes")
  compare "$name" "warm scan vs openwall (a) same files" "$cw_warm" "hexdump|grep, extrapolated" "$ow_same" 1

  # package integrity: the package's digest computed in the same read, never a second read of any file
  local prov_warm noprov_warm sbom_warm bytes_prov bytes_noprov
  prov_warm=$(timeit warm "'$CW' --scan-now --rules '$RULES' --format json")
  noprov_warm=$(timeit warm "'$CW' --scan-now --rules '$NOPROV_RULES' --format json")
  sbom_warm=$(timeit warm "'$CW' --scan-now --rules '$RULES' --format cyclonedx")
  bytes_prov=$("$CW" --scan-now --rules "$RULES" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  bytes_noprov=$("$CW" --scan-now --rules "$NOPROV_RULES" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  compare "$name" "warm: package digests checked vs not" "$prov_warm" "same rules, no provenance rules" "$noprov_warm" -
  compare "$name" "warm: CycloneDX SBOM vs JSON report" "$sbom_warm" "--format json" "$prov_warm" -
  local bst="met (same bytes)"
  if [ "$bytes_prov" != "$bytes_noprov" ]; then bst="MISSED: $bytes_prov vs $bytes_noprov bytes"; MISSED=$((MISSED + 1)); fi
  row "$name" "bytes read, integrity vs none (no second read)" "$bytes_prov" "no provenance rules" "$bytes_noprov" "-" "equal" "$bst"

  # runtime checks: every import of every process vs no runtime rule (library directories left out: they are
  # the same work in both)
  local rt_all rt_none checked per
  rt_all=$(timeit warm "'$CW' --scan-now --rules '$RUNTIME_RULES' --no-library-dirs --format json")
  rt_none=$(timeit warm "'$CW' --scan-now --rules '$NORUNTIME_RULES' --no-library-dirs --format json")
  checked=$("$CW" --scan-now --rules "$RUNTIME_RULES" --no-library-dirs --format json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["processes_checked"])')
  per=$(python3 -c 'import sys; a,b,n=map(float,sys.argv[1:]); print("%.4f" % (max(0.0, a-b)/max(n,1)))' "$rt_all" "$rt_none" "$checked")
  compare "$name" "GOT of every process ($checked checked)" "$rt_all" "same, no runtime rules" "$rt_none" -
  row "$name" "runtime checks, s per checked process" "$per" "-" "-" "-" "-" ""

  # peak RSS of one --scan-now
  /usr/bin/time -v "$CW" --scan-now --rules "$RULES" --format json > /dev/null 2> "$WORK/time.txt"
  local rss; rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
  local rss_mb; rss_mb=$(python3 -c "print('%.1f' % ($rss / 1024))")
  local st=met; if [ "$name" = host ] && ! le "$rss_mb" 40; then st="MISSED (${rss_mb} MB, target < 40 MB)"; MISSED=$((MISSED + 1)); fi
  [ "$name" = host ] || st="(no target)"
  row "$name" "peak RSS --scan-now (MB)" "$rss_mb" "-" "-" "-" "< 40 MB" "$st"

  daemon_scenario "$name" "$maps" "$dpkgmaps"
}

# --- the daemon: warm scan time, CPU per hour, RSS -------------------------------------------
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }   # utime+stime (fields 14,15)
scans_done() { grep -o 'Scan finished.*' "$1" | grep -o 'scan_id="[^"]*"' | sort -u | wc -l; }
wait_scans() {  # wait_scans STDERR N PID
  local i
  for ((i = 0; i < 1200; i++)); do
    [ "$(scans_done "$1")" -ge "$2" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
start_daemon() {  # start_daemon DIR INTERVAL -> pid on stdout
  local dir="$1"; mkdir -p "$dir/state"
  # no journald listening here (or not ours): entries go to stderr, which we parse
  printf 'interval = %s\nstate-dir = %s\nrules = %s\n' "$2" "$dir/state" "$RULES" > "$dir/chainwatch.conf"
  "$CW" --config "$dir/chainwatch.conf" > /dev/null 2> "$dir/stderr" &
  echo $!
}
# start_daemon ran in $(...), so the daemon is not our child: wait for /proc/PID to go instead
stop_daemon() { kill "$1" 2>/dev/null; local i; for ((i = 0; i < 100; i++)); do [ -d "/proc/$1" ] || return 0; sleep 0.1; done; }
daemon_scenario() {  # daemon_scenario NAME MAPS_SECONDS
  local name="$1" maps="$2" d="$WORK/$1-daemon" pid hz; hz=$(getconf CLK_TCK)
  # 1. scans every 2 s: scan 1 fills the fact cache, scans 2.. are "nothing changed" scans
  pid=$(start_daemon "$d" 2s); PIDS+=("$pid")
  wait_scans "$d/stderr" 2 "$pid" || { cat "$d/stderr" >&2; die "daemon did not finish 2 scans"; }
  local c0 t0 c1 t1; c0=$(cpu_ticks "$pid"); t0=$(date +%s.%N)
  wait_scans "$d/stderr" $((2 + DAEMON_SCANS)) "$pid" || die "daemon stopped scanning"
  c1=$(cpu_ticks "$pid"); t1=$(date +%s.%N)
  local hwm; hwm=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  stop_daemon "$pid"
  # warm scan time = median duration_s of scans 2 and later (scan_ids in order of appearance)
  local warm
  warm=$(grep -o 'Scan finished.*' "$d/stderr" | awk '!seen[$0]++' | grep -o 'duration_s="[0-9.]*"' \
         | tr -dc '0-9.\n' | tail -n +2 | xargs python3 -c 'import statistics,sys; print("%.3f" % statistics.median(map(float, sys.argv[1:])))')

  # 2. idle: interval 1h, after the first scan nothing should run but timers/watchdog wakeups
  local di="$WORK/$name-idle" ip ic0 ic1 it0 it1
  ip=$(start_daemon "$di" 1h); PIDS+=("$ip")
  wait_scans "$di/stderr" 1 "$ip" || die "idle daemon did not scan"
  sleep 1; ic0=$(cpu_ticks "$ip"); it0=$(date +%s.%N); sleep 40; ic1=$(cpu_ticks "$ip"); it1=$(date +%s.%N)
  stop_daemon "$ip"

  # CPU per warm scan = (CPU in the window - idle rate x window) / scans in the window;
  # CPU per hour at interval 1h = CPU per scan x 1 + idle rate x 3600
  local per_hour
  read -r per_scan idle per_hour < <(python3 -c '
import sys
c0,c1,t0,t1,ic0,ic1,it0,it1,hz,n = map(float, sys.argv[1:])
idle = (ic1-ic0)/hz/(it1-it0)
scan = max(0.0, ((c1-c0)/hz - idle*(t1-t0)) / n)
print("%.3f %.5f %.2f" % (scan, idle, scan + idle*3600))' "$c0" "$c1" "$t0" "$t1" "$ic0" "$ic1" "$it0" "$it1" "$hz" "$DAEMON_SCANS")

  compare "$name" "daemon warm scan (nothing changed)" "$warm" "cat /proc/[0-9]*/maps" "$maps" 2
  compare "$name" "daemon warm scan, context" "$warm" "cat maps + dpkg status+.list" "$3" -
  row "$name" "daemon CPU s per warm scan" "$per_scan" "-" "-" "-" "-" ""
  row "$name" "daemon idle CPU s per s" "$idle" "-" "-" "-" "-" ""
  row "$name" "daemon CPU s per hour (1h interval)" "$per_hour" "-" "-" "-" "-" ""
  row "$name" "daemon peak RSS (MB, VmHWM)" "$hwm" "-" "-" "-" "-" ""
}

# --- scenario: a fixture root, offline (--root) ------------------------------------------------
root_scenario() {  # root_scenario NAME ROOT EXPECTED(yes|no) [timing [startup]]
  local name="$1" root="$2" expect="$3" json="$WORK/$1.json" set="$WORK/$1.set" libdir="$2/usr/lib/x86_64-linux-gnu"
  echo "== $name: $root" >&2
  "$CW" --scan-now --rules "$RULES" --root "$root" --format json > "$json"
  fileset "$root" "$json" "$set" > "$WORK/$name.fs"
  local list; list=$(scanlist "$set")
  verdict "$name" "$expect" "$(yn cw_flags "$json")" "$(yn "$HERE/openwall-detect.sh" "$root/usr/sbin/sshd" "$libdir")" \
    "$(yn yara_flags "$list")"
  cw_evidence "$json"
  [ "${4:-}" = timing ] || return 0

  local cw_cold sha_cold yara_cold ow_cold ow_same
  if [ "${5:-}" = startup ]; then   # fixed cost: start, load and validate 19 rules, nothing scanned
    local start; start=$(timeit warm "'$CW' --check-rules '$RULES'")
    row "$name" "start-up: --check-rules (warm)" "${start}s" "-" "-" "-" "-" ""
  fi
  cw_cold=$(timeit cold "'$CW' --scan-now --rules '$RULES' --root '$root' --format json")
  local cw_nosig_cold; cw_nosig_cold=$(timeit cold "'$CW' --scan-now --rules '$NOSIG_RULES' --root '$root' --format json")
  sha_cold=$(timeit cold "$(sha_cmd "$set")")
  yara_cold=$(timeit cold "$(yara_cmd "$list")")
  ow_cold=$(timeit cold "'$HERE/openwall-detect.sh' '$root/usr/sbin/sshd' '$libdir'")
  compare "$name" "cold --root scan vs sha256sum floor" "$cw_cold" "sha256sum same files" "$sha_cold" 1.5
  compare "$name" "cold --root scan vs yara (b)" "$cw_cold" "yara same files" "$yara_cold" 1
  compare "$name" "cold: byte search on every file vs none" "$cw_cold" "same rules, no byte rules" "$cw_nosig_cold" -
  compare "$name" "cold --root vs openwall (a) published" "$cw_cold" "ldd+hexdump sshd liblzma" "$ow_cold" -
  if [ "$(awk '{print $1}' "$WORK/$name.fs")" -le 10 ]; then
    # small root: (a) over every file chainwatch reads is affordable, so time it for real
    ow_same=$(timeit cold "'$HERE/openwall-detect.sh' --files '$set'")
    compare "$name" "cold --root vs openwall (a) same files" "$cw_cold" "hexdump|grep same files" "$ow_same" 1
  fi
}

# ================================================================================================
echo "chainwatch: $CW ($("$CW" --help 2>/dev/null | head -1))"
echo "host: $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB; runs per figure: $RUNS (median)"

# 1. this host as it is
host_scenario host

# 2. planted and small fixture roots: verdicts must agree; the small one times (a) on its own work
"$MAKE_ROOT" "$WORK/planted" --signature > /dev/null || die "make-root.sh --signature failed"
root_scenario planted "$WORK/planted" yes
"$MAKE_ROOT" "$WORK/small" --host-liblzma > /dev/null || die "make-root.sh --host-liblzma failed"
root_scenario small "$WORK/small" no timing startup

# 3. a fixture root with thousands of libraries: the host's, copied (cp -L: each name a file)
"$MAKE_ROOT" "$WORK/big" --host-liblzma > /dev/null || die "make-root.sh --host-liblzma failed"
ls /usr/lib/x86_64-linux-gnu/*.so* | grep -v -e '/liblzma\.so' -e '/libsystemd\.so' | head -n "$ROOT_LIBS" \
  | xargs -d '\n' cp -L -n -t "$WORK/big/usr/lib/x86_64-linux-gnu/" 2>/dev/null
# the multiarch directory holds ~900 names here; fill up to ROOT_LIBS with other .so files on the
# host (files over 64 MB left out of the filler to keep the copy small), same names skipped (-n)
have=$(ls "$WORK/big/usr/lib/x86_64-linux-gnu" | wc -l)
if [ "$have" -lt "$ROOT_LIBS" ]; then
  find /usr/lib /usr/libexec /usr/local/lib /opt -name '*.so*' -type f -size -64M 2>/dev/null \
    | grep -v '^/usr/lib/x86_64-linux-gnu/[^/]*$' | sort | head -n $((ROOT_LIBS - have)) \
    | xargs -d '\n' cp -n -t "$WORK/big/usr/lib/x86_64-linux-gnu/" 2>/dev/null
fi
echo "big root: $(ls "$WORK/big/usr/lib/x86_64-linux-gnu" | wc -l) files, $(du -sm "$WORK/big" | cut -f1) MiB" >&2
root_scenario big "$WORK/big" no timing

# 4. an image of at least 500 MB compressed: this host's /usr, /etc and dpkg database as one gzip layer of an OCI
# layout, scanned with --image (unpack with whiteouts + a root scan) against the floor of decompressing the layer
# and hashing every member (`tar -xOzf LAYER | sha256sum`, one pass over the same bytes)
image_scenario() {
  local layout="$WORK/image" layer="$WORK/layer.tar.gz"
  mkdir -p "$layout/blobs/sha256"
  tar -C / --exclude='usr/share/doc' -cf - usr etc var/lib/dpkg 2>/dev/null | gzip -1 > "$layer"
  python3 - "$layout" "$layer" <<'PY'
import hashlib, json, os, sys
layout, layer = sys.argv[1], sys.argv[2]
def blob(data, name=None):
    digest = hashlib.sha256(data).hexdigest()
    open(os.path.join(layout, "blobs/sha256", digest), "wb").write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
h = hashlib.sha256()
with open(layer, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""): h.update(chunk)
digest = h.hexdigest()
os.rename(layer, os.path.join(layout, "blobs/sha256", digest))
config = blob(json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode())
layers = [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + digest,
           "size": os.path.getsize(os.path.join(layout, "blobs/sha256", digest))}]
manifest = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                            "config": dict(config, mediaType="application/vnd.oci.image.config.v1+json"), "layers": layers}).encode())
json.dump({"schemaVersion": 2, "manifests": [dict(manifest, mediaType="application/vnd.oci.image.manifest.v1+json",
           annotations={"org.opencontainers.image.ref.name": "bench-host"})]}, open(os.path.join(layout, "index.json"), "w"))
open(os.path.join(layout, "oci-layout"), "w").write('{"imageLayoutVersion":"1.0.0"}')
print(digest)
PY
  local blob; blob=$(ls -S "$layout/blobs/sha256" | head -1)
  local mb; mb=$(( $(stat -c %s "$layout/blobs/sha256/$blob") / 1000000 ))
  echo "== image: one layer of $mb MB compressed" >&2
  local cw floor
  cw=$(timeit warm "TMPDIR='$WORK' '$CW' --scan-now --rules '$RULES' --format json --image '$layout'")
  floor=$(timeit warm "tar -xOzf '$layout/blobs/sha256/$blob' | sha256sum")
  compare image "--image ($mb MB gzip layer) vs tar -xOzf | sha256sum" "$cw" "decompress + hash every member" "$floor" -
  rm -rf "$layout"
}
image_scenario

# 5. a busy host: HELPERS processes, each dlopen()ing a different host library (varied maps)
"$MAKE_ROOT" --maps-lib "$WORK/maps-lib" > /dev/null || die "make-root.sh --maps-lib failed"
mapfile -t libs < <(find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '*.so*' -type f | sort)
for ((i = 0; i < HELPERS; i++)); do
  "$WORK/maps-lib" "${libs[i % ${#libs[@]}]}" > /dev/null 2>&1 &
  PIDS+=("$!")
done
sleep 3   # let them dlopen; the ones whose library cannot load alone exit 1, which is fine
alive=0; for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=$((alive + 1)); done
echo "busy host: $alive of $HELPERS helper processes alive, each mapping a library" >&2
host_scenario busy

# ------------------------------------------------------------------------------------------------
echo
printf '%-8s | %-40s | %10s | %-28s | %10s | %7s | %-8s | %s\n' scenario figure chainwatch baseline "baseline" ratio target status
printf -- '-%.0s' {1..140}; echo
cat "$TABLE"
echo
for f in "$WORK"/*.fs; do echo "$(basename "$f" .fs): file set $(cat "$f") (count bytes)"; done
cat "$WORK/verdicts"
echo "targets missed: $MISSED"
if [ "$VERDICT_FAIL" != 0 ]; then echo "FAIL: chainwatch's verdict differs from a baseline's"; exit 1; fi
echo "verdicts: all agree"
