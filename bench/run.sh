#!/usr/bin/env bash
# bench/run.sh - chainwatch against the baselines, on the same files, in one run (issues 6 and 15).
#
# Usage (as root, from anywhere):
#   bench/run.sh [CHAINWATCH_BINARY]        default .build-release/release/chainwatch
#
# Env (every knob; defaults in brackets):
#   BENCH_RUNS           runs per figure, the median is printed [3]
#   BENCH_ONLY           run only these parts, space-separated, of: host planted small startup big image scale
#                        containers busy yara [all]
#   BENCH_DAEMON_SCANS   warm ("nothing changed") daemon scans measured, at interval 2s [8]
#   BENCH_IDLE_SECONDS   how long the idle daemon (interval 1h) is watched for its CPU per second [40]
#   BENCH_JOBS           --jobs values swept, cold and warm, on the host scan; empty: no sweep ["1 2 3 4"]
#   BENCH_ROOT_LIBS      libraries copied into the big fixture root; 0: no big root [2000]
#   BENCH_HELPERS        extra processes of the busy host; 0: no busy-host scenario [300]
#   BENCH_SKIP_IMAGE     1: no image scenario (it tars and gzips this host's /usr, ~2 GB, ~5 min) [0]
#   BENCH_IMAGE_DIRS     what of / goes into the image's one layer ["usr etc var/lib/dpkg"]
#   BENCH_IMAGE_RUNS     runs per image figure (each takes ~40 s on the whole /usr) [2]
#   BENCH_SCALE          0: no at-scale scenario [1]
#   BENCH_SCALE_PROCS    at scale: extra processes, in increasing order; empty: none ["500 1000 2000"]
#   BENCH_SCALE_LIBS     at scale: libraries in the --root, in increasing order; empty: none ["5000 10000 20000"]
#   BENCH_SCALE_LIB_MAX  at scale: largest host library (bytes) copied to fill the root [204800]
#   BENCH_CONTAINERS     containers: running containers of one image, in increasing order; empty: none ["1 10 50"]
#   BENCH_CONTAINERS_OTHER  containers: containers of another image added to the largest step; 0: none [5]
#   BENCH_CONTAINERS_WAIT   containers: seconds each step waits for containers it did not start to stop [600]
#
# The files: every baseline runs on exactly the files chainwatch read, taken from chainwatch's own
# CycloneDX SBOM of the same scan (bench/cdx-files.py: a component per file read; root-relative paths mapped
# to host paths for --root; files mapped but deleted since read through /proc/PID/map_files as chainwatch
# does; distinct by device and inode), its count printed next to files_examined / files_read of that scan.
#
# Baselines:
#   floor   openssl's SHA-NI SHA-256 over those files, two at a time (xargs -0 -P 2 -n 64 openssl dgst
#           -sha256): what the hardware can hash with chainwatch's 2 workers; and `cat /proc/[0-9]*/maps`
#           (what a scan that reads no file still has to do)
#   yara    yara -p 2 -N --scan-list with EVERY shipped byte-signature rule (generated at run time from
#           rules/**/*.yaml by bench/byte-rules-to-yara.py), searched on every file as chainwatch searches them
#   (a)     Openwall detect.sh: ldd sshd -> hexdump | grep the liblzma it finds (bench/openwall-detect.sh);
#           yara with only that signature (bench/xz-signature.yar) is one context row
#   true / yara --version   the start-up floor for `--check-rules`
# Scenarios: this host (with the host's sshd started on 127.0.0.1:2222 so the runtime checks have one to
# check); a planted root (make-root.sh --signature) that every tool must flag; a small fixture root; a root with
# BENCH_ROOT_LIBS libraries; an OCI image of this host's /usr; a busy host (BENCH_HELPERS processes each
# dlopen()ing a different library); at scale: BENCH_SCALE_PROCS extra processes and --roots of
# BENCH_SCALE_LIBS distinct library files, time per process / per file and peak RSS at each size; containers (podman
# with runc, needs Tests/Fixtures/make-container-images.sh's images, built or reused from its cache): the host with
# none started (the baseline, in the same run), then 1, 10, 50 containers of localhost/chainwatch-clean:test, then 5
# of localhost/chainwatch-xz:test on top, each `podman --runtime runc run -d --name cw-bench-N --network none
# --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 IMAGE` (sleep infinity), all removed at the end and on exit;
# per step the warm one-shot scan (time, bytes_read, files_read, containers), its peak RSS and the daemon's
# nothing-changed scan against its floor: every /proc/PID/maps once + one lstat per file the scan knows, a
# container's files through /proc/PID/root (the list from the same step's CycloneDX SBOM).
# Cold runs follow `sync; echo 3 > /proc/sys/vm/drop_caches`; warm runs follow one unmeasured run.
#
# Targets (issue 15; a row says met or MISSED, a miss is not an error):
#   warm one-shot scan <= 1.2x the SHA-NI floor and <= 0.4x yara; cold one-shot scan <= 0.8x yara (host, busy host,
#   big root; a root of a few files measures start-up instead); daemon nothing-changed scan <= 1.5x reading every
#   /proc/PID/maps once, with the shipped runtime rules on; peak RSS <= 40 MiB on this host, <= 64 MiB at the
#   largest scale sizes; cost per process / per file at the largest size <= 1.5x that at the smallest (linear);
#   --check-rules <= 15 ms; binary <= 25 MiB stripped as the .deb installs it; containers (issue 26): 50 containers
#   of one image <= 2x the scan with 1 (one-shot time, and bytes read), peak RSS <= 64 MiB at every step, the
#   daemon's nothing-changed scan with 50 <= 2x its floor (maps + one lstat per known file).
#   IFUNC resolvers (issue 25): the warm host scan with the ifunc-resolver rules <= 1.05x the scan without them, and the
#   same bytes read.
# Verdicts: yara's hit of a rule limited by `files:` globs counts only on a file with a matching name (yara itself
# searches every file, as chainwatch does), so both tools must report the same set of byte rules.
# YARA rule files (issue 23, part `yara`): the host with the three public xz YARA files (Tests/Fixtures/yara) added
#   to the shipped rules, against `yara -p 2 -N` with the same three files over the same file list (the file list
#   from that scan's SBOM): the same (YARA rule, file) verdicts file by file, chainwatch's cost against yara's own
#   scan plus chainwatch's scan without them (goal <= 1.0x), and bytes read with and without them: chainwatch's
#   bytes_read and the kernel's rchar of the process (read(2) bytes, /proc/PID/io as reaped by its shell), equal
#   but for the rule files' few KB.
# Duration with the defaults: ~15 min on a quiet 2-core machine, up to ~25 min on a loaded one; the containers part
# adds ~5 min, more while it waits for containers it did not start (BENCH_CONTAINERS_WAIT per step at most).
#
# Exit status: 0 all verdicts agree (targets may be MISSED: they are printed, not fatal),
# 1 a tool's verdict differs (which byte rules fire on the same files, or none where one was expected),
# 2 could not run. Every process it starts and every temporary file is removed on exit.
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
CW="$(realpath "${1:-$REPO/.build-release/release/chainwatch}")"
RULES="$REPO/rules"
MAKE_ROOT="$REPO/Tests/Fixtures/make-root.sh"
RUNS="${BENCH_RUNS:-3}"
DAEMON_SCANS="${BENCH_DAEMON_SCANS:-8}"
IDLE_SECONDS="${BENCH_IDLE_SECONDS:-40}"
JOB_SWEEP="${BENCH_JOBS-1 2 3 4}"
ROOT_LIBS="${BENCH_ROOT_LIBS:-2000}"
HELPERS="${BENCH_HELPERS:-300}"
SKIP_IMAGE="${BENCH_SKIP_IMAGE:-0}"
IMAGE_DIRS="${BENCH_IMAGE_DIRS:-usr etc var/lib/dpkg}"
IMAGE_RUNS="${BENCH_IMAGE_RUNS:-2}"
SCALE="${BENCH_SCALE:-1}"
SCALE_PROCS="${BENCH_SCALE_PROCS-500 1000 2000}"
SCALE_LIBS="${BENCH_SCALE_LIBS-5000 10000 20000}"
SCALE_LIB_MAX="${BENCH_SCALE_LIB_MAX:-204800}"
CONTAINER_STEPS="${BENCH_CONTAINERS-1 10 50}"
CONTAINERS_OTHER="${BENCH_CONTAINERS_OTHER:-5}"
CONTAINERS_WAIT="${BENCH_CONTAINERS_WAIT:-600}"
ONLY="${BENCH_ONLY:-host planted small startup big image scale containers busy yara}"
part() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
# --scan-now reads and hashes with 2 workers by default: the floor and yara get as many
JOBS=2

die() { echo "bench: $*" >&2; exit 2; }
[ -x "$CW" ] || die "no chainwatch binary at $CW (build: see packaging/build-deb.sh)"
[ "$(id -u)" = 0 ] || die "run as root: dropping the page cache and reading every /proc/PID/maps need it"
for tool in yara hyperfine openssl hexdump ldd python3 strip /usr/bin/time; do
  command -v "$tool" >/dev/null || die "missing $tool (apt-get install yara hyperfine openssl bsdextrautils binutils time)"
done
python3 -c 'import yaml' 2>/dev/null || die "python3 needs PyYAML (apt-get install python3-yaml)"

# --- clean-up: every process we start and every temp file goes on exit, whatever the exit -------------------
WORK="$(mktemp -d /tmp/chainwatch-bench.XXXXXX)"
PIDS=()        # sshd (daemonized, so not our child), alive until exit
BUSY_PIDS=()   # the busy host's helpers, alive until exit
SCALE_PIDS=()  # the at-scale helpers, stopped at the end of their scenario
DAEMONS=()     # daemons (not our children: started in $(...)), stopped as soon as measured
CONTAINERS=()  # podman containers of the containers part (cw-bench-N), removed at its end
cleanup() {
  local pid
  for pid in "${DAEMONS[@]}" "${SCALE_PIDS[@]}" "${BUSY_PIDS[@]}" "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${SCALE_PIDS[@]}" "${BUSY_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
  [ "${#CONTAINERS[@]}" -gt 0 ] && podman rm -f -t 0 --ignore "${CONTAINERS[@]}" > /dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 2' INT TERM HUP

# --- cold cache: drop the page cache before each cold run (root only; noted if it fails) ----------------------
DROP='sync; echo 3 > /proc/sys/vm/drop_caches'
if ! sh -c "$DROP" 2>/dev/null; then
  echo "NOTE: cannot drop the page cache: 'cold' figures below are really warm-cache figures"
  DROP=true
fi

# --- yara with every shipped byte rule: one YARA rule per chainwatch byte-signature rule ------------------------
ALL_YAR="$WORK/all-byte-rules.yar"
ALL_IDX="$WORK/all-byte-rules.json"
"$HERE/byte-rules-to-yara.py" --index "$ALL_IDX" "$RULES" > "$ALL_YAR" 2> "$WORK/yar.count" \
  || { cat "$WORK/yar.count" >&2; die "could not turn the byte rules into YARA"; }
yara -w "$ALL_YAR" /dev/null 2> "$WORK/yar.err" || { cat "$WORK/yar.err" >&2; die "yara rejects the generated rules"; }
BYTE_RULES=$(awk '{print $1}' "$WORK/yar.count")

# --- rule variants ----------------------------------------------------------------------------------------------
# the shipped rules without byte rules: every file is searched for every pattern of every byte rule in the read
# that hashes it, so the cost of the search is the ratio of a scan with the shipped rules to one with these
NOSIG_RULES="$WORK/rules-no-signatures"
cp -r "$RULES" "$NOSIG_RULES"
grep -rl 'kind: byte-signature' "$NOSIG_RULES" --include='*.yaml' --include='*.yml' | xargs -r rm
"$CW" --check-rules "$NOSIG_RULES" > /dev/null || die "the rules without signatures do not load"

# provenance: the shipped rules without the provenance rules, so files are not also hashed with the digest their
# package recorded (MD5 for dpkg); both scans must read exactly the same bytes (no second pass)
NOPROV_RULES="$WORK/rules-no-provenance"
cp -r "$RULES" "$NOPROV_RULES"
rm -r "$NOPROV_RULES"/provenance
"$CW" --check-rules "$NOPROV_RULES" > /dev/null || die "the rules without provenance do not load"

# IFUNC resolvers (issue 25): the shipped rules without the ifunc-resolver rules, so no resolver is walked; the
# walk reads only the resolvers' code, so the scans must read the same bytes and cost at most 5% more
NOIFUNC_RULES="$WORK/rules-no-ifunc"
cp -r "$RULES" "$NOIFUNC_RULES"
rm -r "$NOIFUNC_RULES"/ifunc-resolvers
"$CW" --check-rules "$NOIFUNC_RULES" > /dev/null || die "the rules without ifunc-resolver rules do not load"

# runtime checks: the shipped rules plus a got-integrity rule on every import of every process, against the
# shipped rules without any runtime rule; the difference over the processes checked is the cost per process
RUNTIME_RULES="$WORK/rules-runtime-all"
NORUNTIME_RULES="$WORK/rules-no-runtime"
cp -r "$RULES" "$RUNTIME_RULES"
cp -r "$RULES" "$NORUNTIME_RULES"
grep -rlE 'kind: (got-integrity|loader-injection)' "$NORUNTIME_RULES" --include='*.yaml' --include='*.yml' | xargs -r rm
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
if ! "$CW" --check-rules "$RUNTIME_RULES" > /dev/null || ! "$CW" --check-rules "$NORUNTIME_RULES" > /dev/null; then
  die "the runtime rule variants do not load"
fi
# the daemon target is "with the runtime checks on": they are in the shipped rules
RUNTIME_SHIPPED=$(grep -rhE '^ *kind: (got-integrity|loader-injection)' "$RULES" --include='*.yaml' --include='*.yml' | wc -l)
[ "$RUNTIME_SHIPPED" -gt 0 ] || echo "NOTE: the shipped rules hold no runtime (got-integrity/loader-injection) rule" >&2

# the host's real sshd runs during the bench (daemonized with a pid file; stopped on exit), so the shipped
# runtime rules have an sshd to check
mkdir -p /run/sshd
if /usr/sbin/sshd -p 2222 -o ListenAddress=127.0.0.1 -o PidFile="$WORK/sshd.pid" 2>/dev/null; then
  for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$WORK/sshd.pid" ] && break; sleep 0.1; done
  [ -s "$WORK/sshd.pid" ] && PIDS+=("$(cat "$WORK/sshd.pid")")
else
  echo "NOTE: could not start sshd on 127.0.0.1:2222; the runtime checks have no sshd to check" >&2
fi

# --- timing: median wall-clock seconds of $RUNS runs (hyperfine, which subtracts its shell's start-up) ----------
# Exit codes are ignored: chainwatch and yara use them for verdicts, checked separately.
timeit() {   # timeit cold|warm|once 'shell command' -> median seconds on stdout
  local mode="$1" cmd="$2" prep=true extra=()
  [ "$mode" = cold ] && prep="$DROP"
  [ "$mode" = warm ] && extra=(--warmup 1)
  hyperfine --runs "$RUNS" "${extra[@]}" -i --style none --prepare "$prep" \
    --export-json "$WORK/h.json" "$cmd" >/dev/null 2>&1 || { echo nan; return; }
  python3 -c 'import json,sys; print("%.3f" % json.load(open(sys.argv[1]))["results"][0]["median"])' "$WORK/h.json"
}
calc() { python3 -c "import sys; a=[float(x) for x in sys.argv[1:]]; print($1)" "${@:2}"; }
ratio() { calc '"%.2f" % (a[0]/a[1]) if a[1] > 0 else "inf"' "$1" "$2"; }
le() { python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' "$1" "$2"; }
peak_rss_mb() {  # peak_rss_mb COMMAND... -> MiB (maximum resident set size of one run, /usr/bin/time -v)
  /usr/bin/time -v "$@" > /dev/null 2> "$WORK/time.txt"
  awk -F': ' '/Maximum resident set size/ {printf "%.1f\n", $2 / 1024}' "$WORK/time.txt"
}

# --- the table ----------------------------------------------------------------------------------------------------
TABLE="$WORK/table"
MISSED=0
VERDICT_FAIL=0
row() {  # row SCENARIO FIGURE CHAINWATCH BASELINE-NAME BASELINE RATIO TARGET STATUS
  printf '%-8s | %-54s | %10s | %-34s | %10s | %7s | %-9s | %s\n' "$@" >> "$TABLE"
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
# absolute SCENARIO FIGURE VALUE UNIT MAX|- -> a row with an absolute target (value <= MAX)
absolute() {
  local status="" target="-"
  if [ "$5" != - ]; then
    target="<= $5 $4"
    if le "$3" "$5"; then status=met; else status="MISSED ($3 $4, target $5 $4)"; MISSED=$((MISSED + 1)); fi
  fi
  row "$1" "$2" "$3 $4" "-" "-" "-" "$target" "$status"
}

# --- the files: chainwatch's own list of what it read ---------------------------------------------------------------
# fileset NAME ROOT [chainwatch scan options...]: one --format cyclonedx scan (with --metrics-file for its statistics)
# -> $WORK/NAME.set (NUL-separated), $WORK/NAME.lines (for yara), $WORK/NAME.names, $WORK/NAME.fs ("count bytes")
fileset() {
  local name="$1" root="$2"; shift 2
  "$CW" --scan-now --rules "$RULES" "$@" --format cyclonedx --metrics-file "$WORK/$name.prom" > "$WORK/$name.cdx"
  "$HERE/cdx-files.py" "$root" "$WORK/$name.cdx" "$WORK/$name.names" > "$WORK/$name.set" 2> "$WORK/$name.setinfo" \
    || die "cdx-files.py failed on $name's SBOM"
  tr '\0' '\n' < "$WORK/$name.set" > "$WORK/$name.lines"
  local n bytes examined read readbytes
  n=$(awk '{print $1}' "$WORK/$name.setinfo"); bytes=$(awk '{print $3}' "$WORK/$name.setinfo")
  examined=$(awk '/^chainwatch_files_examined / {print $2}' "$WORK/$name.prom")
  read=$(awk '/^chainwatch_files_read / {print $2}' "$WORK/$name.prom")
  readbytes=$(awk '/^chainwatch_read_bytes / {print $2}' "$WORK/$name.prom")
  echo "  file set from the SBOM: $(cat "$WORK/$name.setinfo"); the same scan's files_examined=$examined" \
       "files_read=$read bytes_read=$readbytes" >&2
  echo "$n $bytes $examined $read $readbytes" > "$WORK/$name.fs"
}
fs_count() { awk '{print $1}' "$WORK/$1.fs"; }
fs_bytes() { awk '{print $2}' "$WORK/$1.fs"; }

# the baselines over a file set, as shell commands for timeit
floor_cmd() { echo "xargs -0 -P $JOBS -n 64 openssl dgst -sha256 < '$WORK/$1.set' > /dev/null"; }
yara_cmd() { echo "yara -p $JOBS -N --scan-list '$ALL_YAR' '$WORK/$1.lines' > /dev/null"; }
yara1_cmd() { echo "yara -p $JOBS -N --scan-list '$HERE/xz-signature.yar' '$WORK/$1.lines' > /dev/null"; }

# --- verdicts: which byte rules fire, per tool, on the same files -----------------------------------------------------
cw_hits() {   # chainwatch JSON -> "RULE PATH" per byte-signature finding
  python3 -c 'import json,sys
for f in json.load(open(sys.argv[1]))["findings"]:
    if f["kind"] == "byte-signature": print(f["rule"], f["evidence"].get("path"))' "$1" | sort -u
}
yara_hits() {  # NAME -> "RULE PATH" per hit, name-limited rules counted only on files of those names
  yara -w -p "$JOBS" -N --scan-list "$ALL_YAR" "$WORK/$1.lines" 2>/dev/null \
    | "$HERE/yara-hits.py" "$ALL_IDX" "$WORK/$1.names"
}
# verdict NAME EXPECTED(yes|no) CW_JSON OPENWALL(yes|no): chainwatch and yara must fire the same rules, and every
# tool must say what was expected
verdict() {
  local name="$1" expect="$2" cwr yr cw=no ya=no s=agree
  cw_hits "$3" > "$WORK/$name.cwhits"
  yara_hits "$name" > "$WORK/$name.yarahits"
  [ -s "$WORK/$name.cwhits" ] && cw=yes
  [ -s "$WORK/$name.yarahits" ] && ya=yes
  cwr=$(awk '{print $1}' "$WORK/$name.cwhits" | sort -u | paste -sd, -)
  yr=$(awk '{print $1}' "$WORK/$name.yarahits" | sort -u | paste -sd, -)
  if [ "$cw" != "$expect" ] || [ "$ya" != "$expect" ] || [ "$4" != "$expect" ] || [ "$cwr" != "$yr" ]; then
    s=DIFFERS; VERDICT_FAIL=1
    sed 's/^/  chainwatch: /' "$WORK/$name.cwhits" >&2
    sed 's/^/  yara: /' "$WORK/$name.yarahits" >&2
  fi
  echo "verdict $name: expected=$expect chainwatch=$cw [${cwr:-}] yara($BYTE_RULES rules)=$ya [${yr:-}] openwall=$4 -> $s" \
    | tee -a "$WORK/verdicts" >&2
}
nprocs() { local p=(/proc/[0-9]*); echo "${#p[@]}"; }
yn() { if "$@" > /dev/null 2>&1; then echo yes; else echo no; fi; }

# --- scenario: a live host (this one, or this one made busy) ----------------------------------------------------------
host_scenario() {  # host_scenario NAME [sweep]
  local name="$1" json="$WORK/$1.json" scan="'$CW' --scan-now --rules '$RULES' --format json"
  echo "== $name: $(nprocs) processes" >&2
  fileset "$name" /
  "$CW" --scan-now --rules "$RULES" --format json > "$json"
  # verdict on the same files: no signature anywhere on a clean host
  verdict "$name" no "$json" "$(yn "$HERE/openwall-detect.sh")"

  local cw_cold cw_warm nosig_cold nosig_warm floor_cold floor_warm yara_cold yara_warm yara1_warm ow_cold ow_warm
  cw_cold=$(timeit cold "$scan")
  floor_cold=$(timeit cold "$(floor_cmd "$name")")
  yara_cold=$(timeit cold "$(yara_cmd "$name")")
  ow_cold=$(timeit cold "'$HERE/openwall-detect.sh'")
  nosig_cold=$(timeit cold "'$CW' --scan-now --rules '$NOSIG_RULES' --format json")
  cw_warm=$(timeit warm "$scan")
  floor_warm=$(timeit warm "$(floor_cmd "$name")")
  yara_warm=$(timeit warm "$(yara_cmd "$name")")
  yara1_warm=$(timeit warm "$(yara1_cmd "$name")")
  ow_warm=$(timeit warm "'$HERE/openwall-detect.sh'")
  nosig_warm=$(timeit warm "'$CW' --scan-now --rules '$NOSIG_RULES' --format json")

  compare "$name" "page-cache-warm --scan-now vs SHA-NI floor" "$cw_warm" "openssl sha256 -P2, same files" "$floor_warm" 1.2
  compare "$name" "page-cache-warm --scan-now vs yara" "$cw_warm" "yara -p2, all $BYTE_RULES byte rules" "$yara_warm" 0.4
  compare "$name" "cold --scan-now vs yara" "$cw_cold" "yara -p2, all $BYTE_RULES byte rules" "$yara_cold" 0.8
  compare "$name" "cold --scan-now vs SHA-NI floor" "$cw_cold" "openssl sha256 -P2, same files" "$floor_cold" -
  compare "$name" "warm: yara, Openwall signature only (context)" "$cw_warm" "yara -p2, 1 signature" "$yara1_warm" -
  compare "$name" "cold: byte search on every file vs none" "$cw_cold" "same rules, no byte rules" "$nosig_cold" -
  compare "$name" "warm: byte search on every file vs none" "$cw_warm" "same rules, no byte rules" "$nosig_warm" -
  compare "$name" "cold vs openwall (a) as published" "$cw_cold" "ldd+hexdump sshd liblzma" "$ow_cold" -
  compare "$name" "warm vs openwall (a) as published" "$cw_warm" "ldd+hexdump sshd liblzma" "$ow_warm" -

  # (a) on the same work: hexdump|grep runs at ~2 MB/s, so over a GB it takes minutes; measure its throughput
  # on a few MB of the set (warm) and extrapolate to the set's bytes.
  local sample="$WORK/sample" sbytes ts ow_same
  python3 - "$WORK/$name.set" > "$sample" <<'EOF'
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
  sbytes=$(xargs -0 stat -L -c %s < "$sample" 2>/dev/null | awk '{s+=$1} END {print s+0}')
  ts=$(timeit warm "'$HERE/openwall-detect.sh' --files '$sample'")
  ow_same=$(calc '"%.1f" % (a[0]*a[2]/a[1])' "$ts" "$sbytes" "$(fs_bytes "$name")")
  compare "$name" "warm vs openwall (a) same files" "$cw_warm" "hexdump|grep, extrapolated" "$ow_same" -

  # package integrity: the package's digest computed in the same read, never a second read of any file
  local prov_warm noprov_warm sbom_warm bytes_prov bytes_noprov
  prov_warm=$(timeit warm "$scan")
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

  # IFUNC resolvers walked in every ELF file read vs not at all: same bytes, at most 1.05x the time
  local ifunc_warm bytes_ifunc bytes_noifunc
  ifunc_warm=$(timeit warm "'$CW' --scan-now --rules '$NOIFUNC_RULES' --format json")
  compare "$name" "warm: IFUNC resolvers walked vs not" "$prov_warm" "same rules, no ifunc-resolver rules" "$ifunc_warm" 1.05
  bytes_ifunc=$("$CW" --scan-now --rules "$RULES" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  bytes_noifunc=$("$CW" --scan-now --rules "$NOIFUNC_RULES" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  bst="met (same bytes)"
  if [ "$bytes_ifunc" != "$bytes_noifunc" ]; then bst="MISSED: $bytes_ifunc vs $bytes_noifunc bytes"; MISSED=$((MISSED + 1)); fi
  row "$name" "bytes read, resolvers walked vs not" "$bytes_ifunc" "no ifunc-resolver rules" "$bytes_noifunc" "-" "equal" "$bst"

  # a baseline (issue 24): the warm scan judged against one written from this host vs the same scan without
  if [ "$name" = host ]; then
    local base_warm
    "$CW" --scan-now --rules "$RULES" --write-baseline "$WORK/baseline.cdx.json" > /dev/null 2>&1 || true
    base_warm=$(timeit warm "'$CW' --scan-now --rules '$RULES' --format json --baseline '$WORK/baseline.cdx.json'")
    compare "$name" "warm: judged against a baseline vs not" "$base_warm" "same scan, no --baseline" "$prov_warm" 1.05
  fi

  # runtime checks: every import of every process vs no runtime rule (library directories left out: they are the
  # same work in both)
  local rt_all rt_none checked per
  rt_all=$(timeit warm "'$CW' --scan-now --rules '$RUNTIME_RULES' --no-library-dirs --format json")
  rt_none=$(timeit warm "'$CW' --scan-now --rules '$NORUNTIME_RULES' --no-library-dirs --format json")
  checked=$("$CW" --scan-now --rules "$RUNTIME_RULES" --no-library-dirs --format json \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["processes_checked"])')
  per=$(calc '"%.4f" % (max(0.0, a[0]-a[1])/max(a[2],1))' "$rt_all" "$rt_none" "$checked")
  compare "$name" "GOT of every process ($checked checked)" "$rt_all" "same, no runtime rules" "$rt_none" -
  row "$name" "runtime checks, s per checked process" "${per}s" "-" "-" "-" "-" ""

  # peak RSS of one --scan-now
  local rss; rss=$(peak_rss_mb "$CW" --scan-now --rules "$RULES" --format json)
  if [ "$name" = host ]; then absolute "$name" "peak RSS --scan-now" "$rss" MiB 40
  else absolute "$name" "peak RSS --scan-now" "$rss" MiB -; fi

  [ "${2:-}" = sweep ] && jobs_sweep "$name"
  daemon_scenario "$name"
}

# --- --jobs, cold and warm (read-ahead is not an option: the scan starts reading the next 4 x jobs files early) ---
jobs_sweep() {
  local name="$1" j c w
  [ -n "$JOB_SWEEP" ] || return 0
  echo "== $name: --jobs sweep ($JOB_SWEEP)" >&2
  {
    echo "--jobs sweep, $name scan (--scan-now --format json; read-ahead = 4 x jobs files, not an option), median of $RUNS:"
    printf '  %6s | %9s | %9s\n' jobs cold warm
    for j in $JOB_SWEEP; do
      c=$(timeit cold "'$CW' --scan-now --jobs $j --rules '$RULES' --format json")
      w=$(timeit warm "'$CW' --scan-now --jobs $j --rules '$RULES' --format json")
      printf '  %6s | %8ss | %8ss%s\n' "$j" "$c" "$w" "$([ "$j" = "$JOBS" ] && echo '   (default)')"
    done
  } >> "$WORK/sweep"
}

# --- the daemon: warm scan time, CPU per hour, RSS ------------------------------------------------------------------
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
stop_daemon() {
  kill "$1" 2>/dev/null; local i
  for ((i = 0; i < 100; i++)); do [ -d "/proc/$1" ] || break; sleep 0.1; done
  local keep=() p; for p in "${DAEMONS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done; DAEMONS=("${keep[@]}")
}
# daemon_warm DIR: a daemon scanning every 2 s; scan 1 fills the fact cache, scans 2.. are "nothing changed" scans.
# Sets DW_WARM (median duration_s of scans 2 and later, in order of appearance), DW_C0/DW_C1 (its CPU ticks) and
# DW_T0/DW_T1 (wall clock) around BENCH_DAEMON_SCANS of them, DW_HWM (its VmHWM, MiB). Globals, not $(...): the
# daemon's pid must reach DAEMONS for the clean-up.
daemon_warm() {
  local d="$1" pid
  pid=$(start_daemon "$d" 2s); DAEMONS+=("$pid")
  wait_scans "$d/stderr" 2 "$pid" || { cat "$d/stderr" >&2; die "daemon did not finish 2 scans"; }
  DW_C0=$(cpu_ticks "$pid"); DW_T0=$(date +%s.%N)
  wait_scans "$d/stderr" $((2 + DAEMON_SCANS)) "$pid" || die "daemon stopped scanning"
  DW_C1=$(cpu_ticks "$pid"); DW_T1=$(date +%s.%N)
  DW_HWM=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
  stop_daemon "$pid"
  DW_WARM=$(grep -o 'Scan finished.*' "$d/stderr" | awk '!seen[$0]++' | grep -o 'duration_s="[0-9.]*"' \
         | tr -dc '0-9.\n' | tail -n +2 | xargs python3 -c 'import statistics,sys; print("%.3f" % statistics.median(map(float, sys.argv[1:])))')
}
daemon_scenario() {  # daemon_scenario NAME
  local name="$1" d="$WORK/$1-daemon" hz maps dpkgmaps; hz=$(getconf CLK_TCK)
  maps=$(timeit warm "cat /proc/[0-9]*/maps > /dev/null")
  # a nothing-changed scan still reads the package database (dpkg status + every .list file): not in the
  # issue's floor, timed for context
  dpkgmaps=$(timeit warm "cat /proc/[0-9]*/maps /var/lib/dpkg/status /var/lib/dpkg/info/*.list > /dev/null")
  # what a nothing-changed scan cannot skip by design: the maps, and one lstat of every file it knows (an in-place
  # rewrite keeps the inode, so only the stat's size/mtime/ctime shows it), timed for context
  local statmaps=""
  [ -s "$WORK/$name.lines" ] && statmaps=$(timeit warm "cat /proc/[0-9]*/maps > /dev/null; xargs -d '\\n' stat -c %i < '$WORK/$name.lines' > /dev/null")
  # 1. scans every 2 s: scan 1 fills the fact cache, scans 2.. are "nothing changed" scans
  daemon_warm "$d"
  local c0=$DW_C0 t0=$DW_T0 c1=$DW_C1 t1=$DW_T1 hwm=$DW_HWM warm=$DW_WARM

  # 2. idle: interval 1h, after the first scan nothing should run but timers/watchdog wakeups
  local di="$WORK/$name-idle" ip ic0 ic1 it0 it1
  ip=$(start_daemon "$di" 1h); DAEMONS+=("$ip")
  wait_scans "$di/stderr" 1 "$ip" || die "idle daemon did not scan"
  sleep 1; ic0=$(cpu_ticks "$ip"); it0=$(date +%s.%N); sleep "$IDLE_SECONDS"; ic1=$(cpu_ticks "$ip"); it1=$(date +%s.%N)
  stop_daemon "$ip"

  # CPU per warm scan = (CPU in the window - idle rate x window) / scans in the window;
  # CPU per hour at interval 1h = CPU per scan x 1 + idle rate x 3600
  local per_scan idle per_hour
  read -r per_scan idle per_hour < <(python3 -c '
import sys
c0,c1,t0,t1,ic0,ic1,it0,it1,hz,n = map(float, sys.argv[1:])
idle = (ic1-ic0)/hz/(it1-it0)
scan = max(0.0, ((c1-c0)/hz - idle*(t1-t0)) / n)
print("%.3f %.5f %.2f" % (scan, idle, scan + idle*3600))' "$c0" "$c1" "$t0" "$t1" "$ic0" "$ic1" "$it0" "$it1" "$hz" "$DAEMON_SCANS")

  compare "$name" "daemon nothing-changed scan, $RUNTIME_SHIPPED runtime rules" "$warm" "cat /proc/[0-9]*/maps" "$maps" 1.5
  compare "$name" "daemon scan, nothing changed, context" "$warm" "cat maps + dpkg status+.list" "$dpkgmaps" -
  [ -n "$statmaps" ] && compare "$name" "daemon scan, nothing changed, context" "$warm" "cat maps + lstat each known file" "$statmaps" -
  row "$name" "daemon CPU s per warm scan" "$per_scan" "-" "-" "-" "-" ""
  row "$name" "daemon idle CPU s per s" "$idle" "-" "-" "-" "-" ""
  row "$name" "daemon CPU s per hour (1h interval)" "$per_hour" "-" "-" "-" "-" ""
  absolute "$name" "daemon peak RSS (VmHWM)" "$hwm" MiB -
}

# --- scenario: a fixture root, offline (--root) ---------------------------------------------------------------------
root_scenario() {  # root_scenario NAME ROOT EXPECTED(yes|no) [timing]
  local name="$1" root="$2" expect="$3" json="$WORK/$1.json" libdir="$2/usr/lib/x86_64-linux-gnu"
  local scan="'$CW' --scan-now --rules '$RULES' --root '$root' --format json"
  echo "== $name: $root" >&2
  fileset "$name" "$root" --root "$root"
  "$CW" --scan-now --rules "$RULES" --root "$root" --format json > "$json"
  verdict "$name" "$expect" "$json" "$(yn "$HERE/openwall-detect.sh" "$root/usr/sbin/sshd" "$libdir")"
  [ "${4:-}" = timing ] || return 0

  local cw_cold cw_warm floor_cold floor_warm yara_cold yara_warm nosig_cold ow_cold ow_same target=-
  cw_cold=$(timeit cold "$scan")
  floor_cold=$(timeit cold "$(floor_cmd "$name")")
  yara_cold=$(timeit cold "$(yara_cmd "$name")")
  nosig_cold=$(timeit cold "'$CW' --scan-now --rules '$NOSIG_RULES' --root '$root' --format json")
  ow_cold=$(timeit cold "'$HERE/openwall-detect.sh' '$root/usr/sbin/sshd' '$libdir'")
  cw_warm=$(timeit warm "$scan")
  floor_warm=$(timeit warm "$(floor_cmd "$name")")
  yara_warm=$(timeit warm "$(yara_cmd "$name")")
  # the issue's targets are for real work; a root of a few files measures start-up (its own row below)
  [ "$(fs_count "$name")" -gt 10 ] && target=yes
  compare "$name" "cold --root vs yara" "$cw_cold" "yara -p2, all $BYTE_RULES byte rules" "$yara_cold" "$([ $target = yes ] && echo 0.8 || echo -)"
  compare "$name" "cold --root vs SHA-NI floor" "$cw_cold" "openssl sha256 -P2, same files" "$floor_cold" -
  compare "$name" "warm --root vs SHA-NI floor" "$cw_warm" "openssl sha256 -P2, same files" "$floor_warm" "$([ $target = yes ] && echo 1.2 || echo -)"
  compare "$name" "warm --root vs yara" "$cw_warm" "yara -p2, all $BYTE_RULES byte rules" "$yara_warm" "$([ $target = yes ] && echo 0.4 || echo -)"
  compare "$name" "cold: byte search on every file vs none" "$cw_cold" "same rules, no byte rules" "$nosig_cold" -
  compare "$name" "cold --root vs openwall (a) published" "$cw_cold" "ldd+hexdump sshd liblzma" "$ow_cold" -
  if [ "$(fs_count "$name")" -le 10 ]; then
    # small root: (a) over every file chainwatch reads is affordable, so time it for real
    ow_same=$(timeit cold "'$HERE/openwall-detect.sh' --files '$WORK/$name.set'")
    compare "$name" "cold --root vs openwall (a) same files" "$cw_cold" "hexdump|grep same files" "$ow_same" -
  fi
}

# --- start-up and size of the binary ----------------------------------------------------------------------------------
startup_and_size() {
  echo "== start-up and size" >&2
  hyperfine -N --warmup 3 -i --style none --export-json "$WORK/start.json" \
    "$CW --check-rules $RULES" "true" "yara --version" > /dev/null 2>&1 || die "hyperfine -N failed"
  local cw t y
  read -r cw t y < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))["results"]
print(" ".join("%.4f" % x["median"] for x in r))' "$WORK/start.json")
  local ms; ms=$(calc '"%.1f" % (a[0]*1000)' "$cw")
  absolute startup "--check-rules (shipped rules), warm, median" "$ms" ms 15
  compare startup "--check-rules vs true" "$cw" "true (hyperfine -N)" "$t" -
  compare startup "--check-rules vs yara --version" "$cw" "yara --version" "$y" -
  # installed size: the .deb installs the binary stripped as packaging/build-deb.sh does
  cp "$CW" "$WORK/chainwatch.stripped"
  strip --remove-section=.comment --remove-section=.note "$WORK/chainwatch.stripped" || die "strip failed"
  local mib unstripped
  mib=$(calc '"%.1f" % (a[0]/1048576)' "$(stat -c %s "$WORK/chainwatch.stripped")")
  unstripped=$(calc '"%.1f" % (a[0]/1048576)' "$(stat -c %s "$CW")")
  absolute startup "binary installed (stripped; ${unstripped} MiB as built)" "$mib" MiB 25
  rm -f "$WORK/chainwatch.stripped"
}

# --- at scale: many processes, many files ---------------------------------------------------------------------------
# the helpers: make-root.sh --maps-lib, each dlopen()ing a different host library (so every process's maps differ);
# they write "ready" to one file once the library is mapped, or exit 1 when it cannot be loaded alone (reaped and
# replaced by one with the next library)
MAPS_LIB="$WORK/maps-lib"
mapfile -t HOST_LIBS < <(find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '*.so*' -type f | sort)
NEXT_LIB=0
is_zombie() {  # is_zombie PID: exited (a zombie until reaped) or gone; no fork, as 2,000 of these run per poll
  local line
  { read -r line < "/proc/$1/stat"; } 2>/dev/null || return 0
  line=${line##*) }; [ "${line%% *}" = Z ]
}
spawn_helpers() {  # spawn_helpers ARRAY-NAME TARGET READY-FILE: until TARGET helpers in the array are alive and ready
  local -n arr="$1"; local target="$2" ready="$3" pid i tries=0 batch zombies keep
  [ -x "$MAPS_LIB" ] || "$MAKE_ROOT" --maps-lib "$MAPS_LIB" > /dev/null || die "make-root.sh --maps-lib failed"
  touch "$ready"
  while [ "${#arr[@]}" -lt "$target" ]; do
    tries=$((tries + 1)); [ "$tries" -le 20 ] || die "could not get $target helper processes running"
    batch=$((target - ${#arr[@]}))
    for ((i = 0; i < batch; i++)); do
      "$MAPS_LIB" "${HOST_LIBS[NEXT_LIB % ${#HOST_LIBS[@]}]}" >> "$ready" 2>/dev/null &
      arr+=("$!"); NEXT_LIB=$((NEXT_LIB + 1))
    done
    # wait until every helper is ready or has exited (an exited one is a zombie until reaped; only the living
    # ever wrote "ready", so ready lines + zombies = helpers when all are settled)
    for ((i = 0; i < 600; i++)); do
      zombies=0
      for pid in "${arr[@]}"; do is_zombie "$pid" && zombies=$((zombies + 1)); done
      [ $(( $(wc -l < "$ready") + zombies )) -ge "${#arr[@]}" ] && break
      sleep 0.2
    done
    keep=()
    for pid in "${arr[@]}"; do
      if is_zombie "$pid"; then wait "$pid" 2>/dev/null; else keep+=("$pid"); fi
    done
    arr=("${keep[@]}")
  done
}
stop_helpers() {  # stop_helpers ARRAY-NAME
  local -n list="$1"; local pid
  for pid in "${list[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${list[@]}"; do wait "$pid" 2>/dev/null; done
  list=()
}
scale_processes() {
  local base t0 n t rss per prev_n=0 prev_t first_per="" last_per="" files largest target
  largest=$(echo "$SCALE_PROCS" | awk '{print $NF}')
  local scan=("$CW" --scan-now --rules "$RULES" --no-library-dirs --format json)
  local scmd="'$CW' --scan-now --rules '$RULES' --no-library-dirs --format json"
  base=$(nprocs)
  t0=$(timeit warm "$scmd"); prev_t=$t0
  row scale "processes: host as is ($base), --no-library-dirs" "${t0}s" "-" "-" "-" "-" ""
  for n in $SCALE_PROCS; do
    echo "== scale: $n extra processes" >&2
    spawn_helpers SCALE_PIDS "$n" "$WORK/scale-ready"
    sleep 1
    t=$(timeit warm "$scmd")
    rss=$(peak_rss_mb "${scan[@]}")
    files=$("${scan[@]}" | python3 -c 'import json,sys; s=json.load(sys.stdin)["scan"]["statistics"]; print("%d processes, %d files read" % (s["processes"], s["files_read"]))')
    per=$(calc '"%.5f" % ((a[0]-a[1])/a[2])' "$t" "$t0" "$n")
    [ -n "$first_per" ] || first_per=$per
    last_per=$per
    row scale "+$n processes ($files)" "${t}s" "(t - t at +0) / $n" "${per}s" "-" "-" ""
    row scale "  slope from +$prev_n to +$n processes" "$(calc '"%.5f" % ((a[0]-a[1])/(a[2]-a[3]))' "$t" "$prev_t" "$n" "$prev_n")s" "s per process" "-" "-" "-" ""
    target=-; [ "$n" = "$largest" ] && target=64
    absolute scale "  peak RSS, +$n processes" "$rss" MiB "$target"
    prev_n=$n; prev_t=$t
  done
  linear scale "processes: cost per extra process, largest vs smallest" "$last_per" "$first_per"
  # stop them all now (the next scenarios measure a quiet host again)
  stop_helpers SCALE_PIDS
  rm -f "$WORK/scale-ready"
}
linear() {  # linear SCENARIO FIGURE PER_UNIT_LARGEST PER_UNIT_SMALLEST: met when within 1.5x
  local r; r=$(ratio "$3" "$4")
  if le "$r" 1.5; then row "$1" "$2" "${3}s" "at the smallest size" "${4}s" "${r}x" "<= 1.5x" met
  else row "$1" "$2" "${3}s" "at the smallest size" "${4}s" "${r}x" "<= 1.5x" "MISSED (not linear: ${r}x)"; MISSED=$((MISSED + 1)); fi
}
scale_root() {
  local root="$WORK/scale-root" libdir n t t0 rss per first_per="" last_per="" largest target
  echo "== scale: --root with $SCALE_LIBS libraries" >&2
  "$MAKE_ROOT" "$root" --host-liblzma > /dev/null || die "make-root.sh --host-liblzma failed"
  libdir="$root/usr/lib/x86_64-linux-gnu"
  local scan=("$CW" --scan-now --rules "$RULES" --root "$root" --format json)
  local scmd="'$CW' --scan-now --rules '$RULES' --root '$root' --format json"
  t0=$(timeit warm "$scmd")
  largest=$(echo "$SCALE_LIBS" | awk '{print $NF}')
  for n in $SCALE_LIBS; do
    # distinct files (chainwatch reads a device+inode once): copies of the host's small libraries, each under a
    # name of its own, until the directory holds n of them
    python3 - "$libdir" "$n" "$SCALE_LIB_MAX" <<'EOF' || die "could not fill the scale root"
import glob, os, shutil, sys
libdir, n, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = sorted(p for p in glob.glob("/usr/lib/x86_64-linux-gnu/*.so*")
             if os.path.isfile(p) and not os.path.islink(p) and 0 < os.path.getsize(p) <= limit
             and "liblzma" not in p and "libsystemd" not in p)
if not src:
    sys.exit("no host library of at most %d bytes" % limit)
have = len([x for x in os.listdir(libdir) if x.startswith("libbench")])
for i in range(have, n):
    shutil.copyfile(src[i % len(src)], os.path.join(libdir, "libbench%05d.so.1" % i))
EOF
    sync
    t=$(timeit warm "$scmd")
    rss=$(peak_rss_mb "${scan[@]}")
    local read; read=$("${scan[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["files_read"])')
    per=$(calc '"%.6f" % ((a[0]-a[1])/a[2])' "$t" "$t0" "$read")
    [ -n "$first_per" ] || first_per=$per
    last_per=$per
    row scale "--root, $n libraries ($read files read, $(du -sm "$root" | cut -f1) MiB)" "${t}s" "(t - t of the bare root) / files" "${per}s" "-" "-" ""
    target=-; [ "$n" = "$largest" ] && target=64
    absolute scale "  peak RSS, --root of $n libraries" "$rss" MiB "$target"
  done
  linear scale "--root: cost per file, largest vs smallest" "$last_per" "$first_per"
  rm -rf "$root"
}

# --- containers: every running container is a target of its own (issue 26) ------------------------------------------
# podman containers of the fixture images, started by this script (named cw-bench-N, removed at the end and on exit),
# in steps: none (the baseline, in the same run), then BENCH_CONTAINERS of one image, then BENCH_CONTAINERS_OTHER of
# another on top of the largest step, then none again (how far the host itself moved during the part). Per step: the
# one-shot scan (time, bytes and files read, containers counted, peak RSS) and the daemon's nothing-changed scan
# against its floor (every maps file once + one lstat per known file).
# The host's own share moves with whatever else runs on it (a compiler mapping a 100 MB library is read too), so the
# containers' bytes are also taken apart from it, in one scan: its SBOM's host files (bench/cdx-files.py, distinct by
# device and inode) against its bytes_read; the rest is what the containers cost.
CTR_IMAGE=localhost/chainwatch-clean:test
CTR_OTHER_IMAGE=localhost/chainwatch-xz:test
CTR_NEXT=1
start_containers() {  # start_containers IMAGE COUNT: COUNT more containers of IMAGE, running when this returns
  local image="$1" n="$2" i name
  for ((i = 0; i < n; i++)); do
    name="cw-bench-$CTR_NEXT"; CTR_NEXT=$((CTR_NEXT + 1))
    CONTAINERS+=("$name")   # before it exists: a start that fails half-way is removed on exit too
    podman --runtime runc run -d --name "$name" --network none --ulimit nofile=20000:20000 \
      --ulimit nproc=4096:4096 "$image" > /dev/null 2> "$WORK/podman.err" \
      || { cat "$WORK/podman.err" >&2; die "podman could not start $name of $image"; }
  done
}
remove_containers() {
  [ "${#CONTAINERS[@]}" -gt 0 ] || return 0
  podman rm -f -t 0 --ignore "${CONTAINERS[@]}" > /dev/null 2>&1
  CONTAINERS=()
}
# known_files CDX JSON -> every file the scan keeps a record of, one per line, one per root it was seen in: host
# files by their path, a container's through /proc/PID/root of one of its processes (the JSON's targets give pids)
known_files() {
  python3 - "$1" "$2" <<'PY'
import json, sys
cdx, report = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
pids = {t["target"].get("id"): t["pids"][0] for t in report.get("targets", [])
        if t["target"].get("kind") == "container" and t.get("pids")}
out = []
def walk(components, prefix):
    for c in components:
        ref = c.get("bom-ref", "")
        if c.get("type") == "container":
            cid = ref[len("container:"):]
            if cid in pids:
                walk(c.get("components", []), "/proc/%d/root" % pids[cid])
            continue
        tail = ref.split("/", 1)[1] if ref.startswith("container:") else ref
        if tail.startswith("file:"):
            occurrences = (c.get("evidence") or {}).get("occurrences") or []
            out.append(prefix + (occurrences[0]["location"] if occurrences else tail[5:].split("#sha256:")[0]))
        walk(c.get("components", []), prefix)
walk(cdx.get("components", []), "")
sys.stdout.write("".join(p + "\n" for p in out))
PY
}
# per step: CT one-shot s, CB/CF/CN bytes_read/files_read/containers (JSON), CR peak RSS, CD daemon warm s, CFLOOR and
# CMAPS its floors, CK known files, CXB/CXF the containers' bytes/files (SBOM scan minus its host files), CHB host bytes
declare -A CT CB CF CN CR CD CFLOOR CMAPS CK CXB CXF CHB
others_running() { podman ps --format '{{.Names}}' | grep -cv '^cw-bench-'; }
# Other people's containers (tests of the same images) would be scanned with ours: wait for them to stop, at most
# BENCH_CONTAINERS_WAIT seconds, then measure anyway (the step's row then says how many were scanned).
wait_for_others() {
  local i others
  for ((i = 0; i <= CONTAINERS_WAIT; i += 5)); do
    others=$(others_running)
    [ "$others" -eq 0 ] && return 0
    [ "$i" -eq 0 ] && echo "   waiting up to ${CONTAINERS_WAIT}s for $others container(s) not started by the bench to stop" >&2
    sleep 5
  done
  echo "NOTE: $others container(s) not started by the bench still run: measured with them" >&2
}
same_host() {  # same_host STEP STEP: the host's own files (bytes, from each step's SBOM) within 2% of each other
  python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if abs(a - b) <= 0.02 * max(a, b, 1) else 1)' \
    "${CHB[$1]}" "${CHB[$2]}"
}
containers_step() {  # containers_step NAME LABEL OURS [daemon-target]
  local name="$1" label="$2" ours="$3" json="$WORK/$1.json" scan="'$CW' --scan-now --format json --rules '$RULES'"
  wait_for_others
  local foreign; foreign=$(others_running)
  echo "== containers: $label ($(nprocs) processes)" >&2
  sleep 1   # let the last containers' processes settle
  "$CW" --scan-now --format json --rules "$RULES" > "$json"
  read -r "CN[$name]" "CF[$name]" "CB[$name]" < <(python3 -c 'import json,sys
s = json.load(open(sys.argv[1]))["scan"]["statistics"]; print(s["containers"], s["files_read"], s["bytes_read"])' "$json")
  # the containers' share, from one SBOM scan: its bytes_read minus its host files' bytes
  "$CW" --scan-now --format cyclonedx --rules "$RULES" --metrics-file "$WORK/$name.prom" > "$WORK/$name.cdx"
  "$HERE/cdx-files.py" / "$WORK/$name.cdx" > /dev/null 2> "$WORK/$name.setinfo" || die "cdx-files.py failed on $name's SBOM"
  local hostfiles missing sbytes sfiles
  hostfiles=$(awk '{print $1}' "$WORK/$name.setinfo"); CHB[$name]=$(awk '{print $3}' "$WORK/$name.setinfo")
  missing=$(awk '{print $(NF-1)}' "$WORK/$name.setinfo")
  sbytes=$(awk '/^chainwatch_read_bytes / {print $2}' "$WORK/$name.prom")
  sfiles=$(awk '/^chainwatch_files_read / {print $2}' "$WORK/$name.prom")
  CXB[$name]=$((sbytes - ${CHB[$name]})); CXF[$name]=$((sfiles - hostfiles))
  known_files "$WORK/$name.cdx" "$json" > "$WORK/$name.known"
  CK[$name]=$(wc -l < "$WORK/$name.known")
  CT[$name]=$(timeit warm "$scan")
  CR[$name]=$(peak_rss_mb "$CW" --scan-now --format json --rules "$RULES")
  CMAPS[$name]=$(timeit warm "cat /proc/[0-9]*/maps > /dev/null")
  CFLOOR[$name]=$(timeit warm "cat /proc/[0-9]*/maps > /dev/null; xargs -d '\\n' stat -c %i < '$WORK/$name.known' > /dev/null")
  daemon_warm "$WORK/$name-daemon"
  CD[$name]=$DW_WARM
  local hz cpu; hz=$(getconf CLK_TCK)
  cpu=$(calc '"%.3f" % ((a[1]-a[0])/a[4]/a[5])' "$DW_C0" "$DW_C1" "$DW_T0" "$DW_T1" "$hz" "$DAEMON_SCANS")

  local what="${CN[$name]} containers scanned ($ours ours), $(nprocs) processes"
  foreign=$(( $(others_running) > foreign ? $(others_running) : foreign ))
  if [ "$foreign" -gt 0 ] || [ "${CN[$name]}" != "$ours" ]; then
    what="$what; NOTE: containers not ours ran during the step ($foreign seen)"
  fi
  [ "$name" != ctr0 ] && ! same_host ctr0 "$name" \
    && what="$what; NOTE: the host's own files moved (${CHB[$name]} bytes, ${CHB[ctr0]} at the baseline): not comparable"
  if [ "$name" = ctr0 ]; then
    row "$name" "--scan-now, warm: $label" "${CT[$name]}s" "-" "-" "-" "-" "$what"
    row "$name" "  bytes read (files read)" "${CB[$name]}" "-" "-" "-" "-" "files ${CF[$name]}"
  else
    row "$name" "--scan-now, warm: $label" "${CT[$name]}s" "no containers" "${CT[ctr0]}s" "$(ratio "${CT[$name]}" "${CT[ctr0]}")x" "-" "$what"
    row "$name" "  bytes read (files read)" "${CB[$name]}" "no containers" "${CB[ctr0]}" "$(ratio "${CB[$name]}" "${CB[ctr0]}")x" "-" "files ${CF[$name]} (${CF[ctr0]})"
  fi
  row "$name" "  the containers' bytes (files), SBOM scan - host" "${CXB[$name]}" "that scan's host files" "${CHB[$name]}" "-" "-" \
    "files ${CXF[$name]} (host $hostfiles; $missing host files gone before counted)"
  absolute "$name" "  peak RSS --scan-now" "${CR[$name]}" MiB 64
  local target=-; [ "${4:-}" = daemon-target ] && target=2
  compare "$name" "  daemon nothing-changed scan vs its floor" "${CD[$name]}" "maps + lstat each of ${CK[$name]} known" "${CFLOOR[$name]}" "$target"
  compare "$name" "  daemon nothing-changed scan vs maps (context)" "${CD[$name]}" "cat /proc/[0-9]*/maps" "${CMAPS[$name]}" -
  row "$name" "  daemon CPU s per warm scan; VmHWM" "$cpu" "-" "-" "-" "-" "VmHWM ${DW_HWM} MiB"
}
containers_scenario() {
  local steps=($CONTAINER_STEPS) n have=0 first last
  [ "${#steps[@]}" -gt 0 ] || return 0
  command -v podman > /dev/null || die "the containers part needs podman and runc (scripts/setup.sh --tests installs them)"
  "$REPO/Tests/Fixtures/make-container-images.sh" > /dev/null || die "Tests/Fixtures/make-container-images.sh failed"
  if podman ps -a --format '{{.Names}}' | grep -q '^cw-bench-'; then
    die "containers named cw-bench-* exist (another bench run?): remove them (podman rm -f NAME) and run again"
  fi
  containers_step ctr0 "no containers started" 0
  first=${steps[0]}; last=${steps[$((${#steps[@]} - 1))]}
  for n in "${steps[@]}"; do
    start_containers "$CTR_IMAGE" $((n - have)); have=$n
    containers_step "ctr$n" "$n of one image" "$n" "$([ "$n" = "$last" ] && echo daemon-target)"
  done
  if [ "$CONTAINERS_OTHER" -gt 0 ]; then
    start_containers "$CTR_OTHER_IMAGE" "$CONTAINERS_OTHER"
    containers_step "ctr$last+$CONTAINERS_OTHER" "$last of one image + $CONTAINERS_OTHER of another" $((last + CONTAINERS_OTHER))
  fi
  remove_containers
  # the baseline again: how far the host moved on its own while the part ran
  containers_step ctr0-end "none again (all removed)" 0

  # the goals, the largest step against the smallest: the whole scan as the issue states them, then the containers'
  # own share (bytes exact, from the SBOM; time as each step minus the baseline, which the host's drift blurs)
  local a="ctr$first" b="ctr$last" r status drift=""
  [ "$a" = "$b" ] && return 0
  same_host "$a" "$b" || drift="; NOTE: the host's own files moved between the two steps (${CHB[$a]} vs ${CHB[$b]} bytes)"
  r=$(ratio "${CT[$b]}" "${CT[$a]}")
  if le "$r" 2; then status=met; else status="MISSED (${r}x, target 2x)"; MISSED=$((MISSED + 1)); fi
  row ctr-goal "one-shot time, $last containers vs $first (whole scan)" "${CT[$b]}s" "$first container(s) of the image" "${CT[$a]}s" "${r}x" "<= 2x" "$status$drift"
  r=$(ratio "${CB[$b]}" "${CB[$a]}")
  if le "$r" 2; then status=met; else status="MISSED (${r}x, target 2x)"; MISSED=$((MISSED + 1)); fi
  row ctr-goal "bytes read, $last containers vs $first (whole scan)" "${CB[$b]}" "$first container(s) of the image" "${CB[$a]}" "${r}x" "<= 2x" "$status$drift"
  r=$(ratio "${CXB[$b]}" "${CXB[$a]}")
  if le "$r" 2; then status=met; else status="MISSED (${r}x, target 2x)"; MISSED=$((MISSED + 1)); fi
  row ctr-goal "the containers' bytes, $last vs $first" "${CXB[$b]}" "$first container(s) of the image" "${CXB[$a]}" "${r}x" "<= 2x" "$status"
  row ctr-goal "  per container after the first: bytes, files" "$(calc '"%d" % ((a[0]-a[1])/(a[2]-a[3]))' "${CXB[$b]}" "${CXB[$a]}" "$last" "$first")" \
    "files" "$(calc '"%.2f" % ((a[0]-a[1])/(a[2]-a[3]))' "${CXF[$b]}" "${CXF[$a]}" "$last" "$first")" "-" "-" ""
  # the baseline for the containers' time: the faster of the two host-only steps (other load only ever adds time)
  local base; base=$(calc '"%.3f" % min(a)' "${CT[ctr0]}" "${CT[ctr0-end]}")
  row ctr-goal "  the containers' time, $last vs $first (step - baseline)" "$(calc '"%.3f" % (a[0]-a[1])' "${CT[$b]}" "$base")s" \
    "$first container(s)" "$(calc '"%.3f" % (a[0]-a[1])' "${CT[$a]}" "$base")s" \
    "$(calc '"%.2f" % ((a[1]-a[2])/(a[0]-a[2])) if a[0] != a[2] else "inf"' "${CT[$a]}" "${CT[$b]}" "$base")x" "-" \
    "baseline ${base}s: the faster host-only step (before ${CT[ctr0]}s, after ${CT[ctr0-end]}s)"
  row ctr-goal "  per container after the first: one-shot time" "$(calc '"%.1f" % ((a[0]-a[1])*1000/(a[2]-a[3]))' "${CT[$b]}" "${CT[$a]}" "$last" "$first")ms" "-" "-" "-" "-" ""
  row ctr-goal "  per container, 0 to $last: daemon warm scan" "$(calc '"%.2f" % ((a[0]-a[1])*1000/a[2])' "${CD[$b]}" "${CD[ctr0]}" "$last")ms" \
    "its floor per container" "$(calc '"%.2f" % ((a[0]-a[1])*1000/a[2])' "${CFLOOR[$b]}" "${CFLOOR[ctr0]}" "$last")ms" \
    "$(calc '"%.1f" % ((a[0]-a[1])/(a[2]-a[3])) if a[2] != a[3] else "inf"' "${CD[$b]}" "${CD[ctr0]}" "${CFLOOR[$b]}" "${CFLOOR[ctr0]}")x" "-" ""
  if [ "$CONTAINERS_OTHER" -gt 0 ]; then
    local c="ctr$last+$CONTAINERS_OTHER"
    row ctr-goal "  $CONTAINERS_OTHER of another image on top: time; bytes" "$(calc '"%.3f" % (a[0]-a[1])' "${CT[$c]}" "${CT[$b]}")s" \
      "the containers' bytes" "$((${CXB[$c]} - ${CXB[$b]}))" "-" "-" ""
  fi
  row ctr-goal "  the host alone, before and after: time; bytes" "${CT[ctr0]}s" "after" "${CT[ctr0-end]}s" \
    "$(ratio "${CT[ctr0-end]}" "${CT[ctr0]}")x" "-" "bytes_read ${CB[ctr0]} / ${CB[ctr0-end]}; daemon ${CD[ctr0]}s / ${CD[ctr0-end]}s"
}

# ====================================================================================================================
START=$(date +%s)
lap() { [ $((SECONDS - LAP)) -gt 0 ] && echo "$1 $((SECONDS - LAP)) s" >> "$WORK/laps"; LAP=$SECONDS; }
echo "chainwatch: $CW ($("$CW" --version 2>/dev/null | head -1))"
echo "host: $(uname -r), $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB; runs per figure: $RUNS (median)"
echo "yara: $(yara --version), $BYTE_RULES byte-signature rules generated from $RULES; openssl: $(openssl version | cut -d' ' -f1-2)"
LAP=$SECONDS

# 1. this host as it is
part host && host_scenario host sweep
lap host

# 2. planted and small fixture roots: verdicts must agree; the small one times (a) on its own work
if part planted; then
  "$MAKE_ROOT" "$WORK/planted" --signature > /dev/null || die "make-root.sh --signature failed"
  root_scenario planted "$WORK/planted" yes
fi
if part small; then
  "$MAKE_ROOT" "$WORK/small" --host-liblzma > /dev/null || die "make-root.sh --host-liblzma failed"
  root_scenario small "$WORK/small" no timing
fi
lap "planted+small"
part startup && startup_and_size
lap startup

# 3. a fixture root with thousands of libraries: the host's, copied (cp -L: each name a file)
if part big && [ "$ROOT_LIBS" -gt 0 ]; then
  "$MAKE_ROOT" "$WORK/big" --host-liblzma > /dev/null || die "make-root.sh --host-liblzma failed"
  find /usr/lib/x86_64-linux-gnu -maxdepth 1 -name '*.so*' | grep -v -e '/liblzma\.so' -e '/libsystemd\.so' | sort \
    | head -n "$ROOT_LIBS" | xargs -d '\n' cp -L -n -t "$WORK/big/usr/lib/x86_64-linux-gnu/" 2>/dev/null
  # the multiarch directory holds ~900 names here; fill up to ROOT_LIBS with other .so files on the host (files
  # over 64 MB left out of the filler to keep the copy small), same names skipped (-n)
  have=$(find "$WORK/big/usr/lib/x86_64-linux-gnu" -mindepth 1 -maxdepth 1 | wc -l)
  if [ "$have" -lt "$ROOT_LIBS" ]; then
    find /usr/lib /usr/libexec /usr/local/lib /opt -name '*.so*' -type f -size -64M 2>/dev/null \
      | grep -v '^/usr/lib/x86_64-linux-gnu/[^/]*$' | sort | head -n $((ROOT_LIBS - have)) \
      | xargs -d '\n' cp -n -t "$WORK/big/usr/lib/x86_64-linux-gnu/" 2>/dev/null
  fi
  echo "big root: $(find "$WORK/big/usr/lib/x86_64-linux-gnu" -mindepth 1 -maxdepth 1 | wc -l) files, $(du -sm "$WORK/big" | cut -f1) MiB" >&2
  root_scenario big "$WORK/big" no timing
  rm -rf "$WORK/big"
fi
lap big

# 4. an image of at least 500 MB compressed: this host's /usr, /etc and dpkg database (BENCH_IMAGE_DIRS) as one gzip layer of an OCI
# layout, scanned with --image (unpack with whiteouts + a root scan) against the floor of decompressing the layer
# and hashing every member (`tar -xOzf LAYER | sha256sum`, one pass over the same bytes)
image_scenario() {
  local layout="$WORK/image" layer="$WORK/layer.tar.gz"
  mkdir -p "$layout/blobs/sha256"
  echo "== image: making one gzip layer of $IMAGE_DIRS" >&2
  # shellcheck disable=SC2086 # a list of directories
  tar -C / --exclude='usr/share/doc' -cf - $IMAGE_DIRS 2>/dev/null | gzip -1 > "$layer"
  python3 - "$layout" "$layer" > /dev/null <<'PY'
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
  local blob; blob=$(find "$layout/blobs/sha256" -type f -printf '%s %f\n' | sort -n | tail -1 | cut -d' ' -f2)
  local mb; mb=$(( $(stat -c %s "$layout/blobs/sha256/$blob") / 1000000 ))
  echo "== image: one layer of $mb MB compressed" >&2
  # the layer was just written, so it is in the page cache: no warm-up run (each run takes half a minute)
  local cw floor
  cw=$(RUNS=$IMAGE_RUNS timeit once "TMPDIR='$WORK' '$CW' --scan-now --rules '$RULES' --format json --image '$layout'")
  floor=$(RUNS=$IMAGE_RUNS timeit once "tar -xOzf '$layout/blobs/sha256/$blob' | sha256sum")
  compare image "--image ($mb MB gzip layer)" "$cw" "tar -xOzf | sha256sum" "$floor" -
  rm -rf "$layout"
}
part image && [ "$SKIP_IMAGE" != 1 ] && image_scenario
lap image

# 5. at scale: thousands of processes, tens of thousands of files
if part scale && [ "$SCALE" != 0 ]; then
  [ -n "$SCALE_PROCS" ] && scale_processes
  lap "scale (processes)"
  [ -n "$SCALE_LIBS" ] && scale_root
  lap "scale (--root)"
fi

# 6. containers: none, then BENCH_CONTAINERS of one image, then BENCH_CONTAINERS_OTHER of another (removed after)
part containers && containers_scenario
lap containers

# 8. YARA rule files: the three public xz files added to the shipped rules (issue 23)
yara_scenario() {
  local yrules="$WORK/yara-rules" ydir="$REPO/Tests/Fixtures/yara" files
  files=("$ydir/bkdr_xz_util_cve_2024_3094.yar" "$ydir/Linux_Trojan_XZBackdoor.yar" "$ydir/unk_liblzma_backdoor.yara")
  # a rules directory of the three files alone, loaded beside the shipped rules
  mkdir -p "$yrules" && cp "${files[@]}" "$yrules"/ && chmod -R go-w "$yrules"
  echo "== yara: $(nprocs) processes, shipped rules + ${#files[@]} YARA files" >&2
  # verdicts, file by file: chainwatch's YARA findings on files against yara's own output on the same list, on
  # this host (nothing expected) and on a planted root (make-root.sh --signature: the rules must fire)
  yara_verdict() {  # yara_verdict NAME ROOT EXPECTED(yes|no|any) [--root ROOT]
    local name="$1" root="$2" expect="$3" s=agree got=no; shift 3
    fileset "$name" "$root" --rules "$yrules" "$@"
    "$CW" --scan-now --rules "$RULES" --rules "$yrules" "$@" --format json > "$WORK/$name.json"
    python3 -c 'import json,sys
prefix = "" if sys.argv[2] == "/" else sys.argv[2]
for f in json.load(open(sys.argv[1]))["findings"]:
    e = f["evidence"]
    if f["kind"] == "yara" and "process memory" not in (e.get("seen_as") or []): print(e["yara_rule"], prefix + e.get("path"))' \
      "$WORK/$name.json" "$root" | sort -u > "$WORK/$name.cwyara"
    yara -w -p "$JOBS" -N --scan-list "${files[@]}" "$WORK/$name.lines" 2>/dev/null | sort -u > "$WORK/$name.yarayara"
    [ -s "$WORK/$name.cwyara" ] && got=yes
    if ! cmp -s "$WORK/$name.cwyara" "$WORK/$name.yarayara" || { [ "$expect" != any ] && [ "$got" != "$expect" ]; }; then
      s=DIFFERS; VERDICT_FAIL=1
      diff "$WORK/$name.cwyara" "$WORK/$name.yarayara" | sed 's/^/  /' >&2
    fi
    echo "verdict $name: expected=$expect; chainwatch $(wc -l < "$WORK/$name.cwyara") (YARA rule, file) hits" \
      "[$(awk '{print $1}' "$WORK/$name.cwyara" | sort -u | paste -sd, -)], yara CLI $(wc -l < "$WORK/$name.yarayara")" \
      "on the same $(fs_count "$name") files -> $s" | tee -a "$WORK/verdicts" >&2
  }
  # the host: the tools must agree; whether anything fires is up to what runs on it (a test runner built from a
  # tree that carried a rule's string literally once did)
  yara_verdict yara / any
  "$MAKE_ROOT" "$WORK/yplanted" --signature > /dev/null || die "make-root.sh --signature failed"
  yara_verdict yplanted "$WORK/yplanted" yes --root "$WORK/yplanted"
  rm -rf "$WORK/yplanted"

  local with without ycli
  with=$(timeit warm "'$CW' --scan-now --rules '$RULES' --rules '$yrules' --format json")
  without=$(timeit warm "'$CW' --scan-now --rules '$RULES' --format json")
  ycli=$(timeit warm "yara -p $JOBS -N --scan-list ${files[*]} '$WORK/yara.lines' > /dev/null")
  compare yara "warm: with the 3 YARA files vs yara + without" "$with" "yara -p2 (3 files) + chainwatch without" \
    "$(calc '"%.3f" % (a[0]+a[1])' "$ycli" "$without")" 1.0
  compare yara "warm: with the 3 YARA files vs without" "$with" "chainwatch, shipped rules only" "$without" -
  compare yara "warm: yara -p2 with the 3 files, same list" "$ycli" "chainwatch, shipped rules only" "$without" -
  # one read: chainwatch's count, and the kernel's (rchar of the reaped child, in its shell's /proc/PID/io)
  local b_with b_without r_with r_without
  b_with=$("$CW" --scan-now --rules "$RULES" --rules "$yrules" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  b_without=$("$CW" --scan-now --rules "$RULES" --format json --no-processes \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan"]["statistics"]["bytes_read"])')
  r_with=$(sh -c '"$0" --scan-now --rules "$1" --rules "$2" --format json --no-processes > /dev/null; awk "/^rchar/ {print \$2}" /proc/$$/io' "$CW" "$RULES" "$yrules")
  r_without=$(sh -c '"$0" --scan-now --rules "$1" --format json --no-processes > /dev/null; awk "/^rchar/ {print \$2}" /proc/$$/io' "$CW" "$RULES")
  local bst="met (same bytes)"
  if [ "$b_with" != "$b_without" ]; then bst="MISSED: $b_with vs $b_without bytes"; MISSED=$((MISSED + 1)); fi
  row yara "bytes_read, YARA files vs none (--no-processes)" "$b_with" "shipped rules only" "$b_without" "-" "equal" "$bst"
  local rst="met (+$((r_with - r_without)) bytes: the rule files)"
  if [ $((r_with - r_without)) -gt $((1 << 20)) ]; then rst="MISSED: +$((r_with - r_without)) bytes"; MISSED=$((MISSED + 1)); fi
  row yara "kernel rchar, YARA files vs none (--no-processes)" "$r_with" "shipped rules only" "$r_without" "-" "+ <= 1 MiB" "$rst"
  absolute yara "peak RSS --scan-now, with the 3 YARA files" "$(peak_rss_mb "$CW" --scan-now --rules "$RULES" --rules "$yrules" --format json)" MiB -
  absolute yara "peak RSS --scan-now, shipped rules only" "$(peak_rss_mb "$CW" --scan-now --rules "$RULES" --format json)" MiB -
  rm -rf "$yrules"
}
part yara && yara_scenario
lap yara

# 7. a busy host: HELPERS processes, each dlopen()ing a different host library (varied maps); last, as they stay
if part busy && [ "$HELPERS" -gt 0 ]; then
  spawn_helpers BUSY_PIDS "$HELPERS" "$WORK/busy-ready"
  echo "busy host: $HELPERS helper processes alive, each mapping a library" >&2
  host_scenario busy
fi
lap busy

# --------------------------------------------------------------------------------------------------------------------
echo
printf '%-8s | %-54s | %10s | %-34s | %10s | %7s | %-9s | %s\n' scenario figure chainwatch baseline "baseline" ratio target status
printf -- '-%.0s' {1..168}; echo
cat "$TABLE"
echo
[ -s "$WORK/sweep" ] && { cat "$WORK/sweep"; echo; }
echo "file sets the baselines ran on (from each scenario's CycloneDX SBOM, distinct by device+inode), and the same scan's statistics:"
for f in "$WORK"/*.fs; do
  [ -e "$f" ] || continue
  read -r n bytes examined read readbytes < "$f"
  printf '  %-8s %6s files, %14s bytes | chainwatch files_examined %s, files_read %s, bytes_read %s\n' \
    "$(basename "$f" .fs)" "$n" "$bytes" "$examined" "$read" "$readbytes"
done
[ -s "$WORK/verdicts" ] && cat "$WORK/verdicts"
echo "targets missed: $MISSED; bench took $(( $(date +%s) - START )) s ($(paste -sd, "$WORK/laps" 2>/dev/null | sed 's/,/, /g'))"
if [ "$VERDICT_FAIL" != 0 ]; then echo "FAIL: the tools' verdicts differ on the same files"; exit 1; fi
echo "verdicts: all agree"
