#!/usr/bin/env bash
# Fuzzes chainwatch's parsers of attacker-controlled input with libFuzzer (swiftc -sanitize=fuzzer):
# ELF (with .gnu_debugdata), IFUNC resolvers (the Capstone walk), xz, /proc/PID/maps, dpkg status, rpm's databases (rpmdb.sqlite, Berkeley DB Packages,
# ndb Packages.db), ld.so.conf, ld.so.cache, rule files and baselines (CycloneDX JSON).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     default: 60 seconds for every target
#
# Each target runs for SECONDS with a 10 s per-input timeout (a hang is a finding) and a memory cap. Seed corpora
# are made here from fixtures and this host's own files. Any crash, hang or leak of memory past the cap fails the
# script; libFuzzer writes the input to .build-fuzz/artifacts/TARGET/, and it becomes a regression test in
# Tests/ChainwatchTests/FuzzRegressionTests.swift (replay it with .build-fuzz/.../chainwatch-fuzz TARGET FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(elf ifunc elf-file xz maps dpkg rpmdb rpm-bdb rpm-ndb ldconf ldcache rules changelog apk baseline)

./scripts/setup.sh --tests # the seeds are built like test fixtures: gcc, rpm, db5.3-util
scratch=.build-fuzz
swift build -c release --scratch-path "$scratch" --product chainwatch-fuzz \
  -Xswiftc -sanitize=fuzzer -Xswiftc -DCHAINWATCH_FUZZING -Xswiftc -parse-as-library >&2
fuzzer="$scratch/release/chainwatch-fuzz"

# Seeds: real examples of each input, so mutation starts from the interesting structure.
seeds="$scratch/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{elf,ifunc,elf-file,xz,maps,dpkg,rpmdb,rpm-bdb,rpm-ndb,ldconf,ldcache,rules,changelog,apk,baseline}
fixture="$scratch/fixture-root"
rm -rf "$fixture"
Tests/Fixtures/make-root.sh "$fixture" --strip --signature >/dev/null
cp "$fixture/usr/lib/x86_64-linux-gnu/liblzma.so.5.6.1" "$seeds/elf/stripped-ifunc.so"
cp "$(readlink -f /usr/lib/x86_64-linux-gnu/liblzma.so.5)" "$seeds/elf/host-liblzma.so"
cp /bin/true "$seeds/elf/true"
cp "$seeds"/elf/* "$seeds/elf-file/"
# The resolver walk: the IFUNC fixtures (benign kinds, the backdoor's shapes, hostile code) and the fixture liblzma.
Tests/Fixtures/make-ifunc.sh "$scratch/ifunc-fixtures" >&2
cp "$scratch"/ifunc-fixtures/*.so "$seeds"/elf/stripped-ifunc.so "$seeds/ifunc/"
objcopy --dump-section .gnu_debugdata="$seeds/xz/debugdata.xz" "$seeds/elf/stripped-ifunc.so"
printf 'chainwatch fuzz seed\n' | xz -c > "$seeds/xz/small.xz"
head -c 4096 /proc/self/maps > "$seeds/maps/self"
head -c 65536 /var/lib/dpkg/status > "$seeds/dpkg/status"
cp "$fixture/var/lib/dpkg/status" "$seeds/dpkg/fixture-status"
Tests/Fixtures/make-rpmdb.sh "$scratch/rpm-root" xz-libs:5.6.1:2.fc40 epoched:1.0:1:1:2 >/dev/null
cp "$scratch/rpm-root/var/lib/rpm/rpmdb.sqlite" "$seeds/rpmdb/two-packages.sqlite"
# The same headers as Berkeley DB hash files (both byte orders, small pages so the headers overflow) and as ndb.
Tests/Fixtures/make-rpm-bdb.sh "$seeds/rpm-bdb/le-512" --pagesize 512 --from-sqlite "$seeds/rpmdb/two-packages.sqlite" >/dev/null
Tests/Fixtures/make-rpm-bdb.sh "$seeds/rpm-bdb/be-1024" --pagesize 1024 --big-endian --from-sqlite "$seeds/rpmdb/two-packages.sqlite" >/dev/null
Tests/Fixtures/make-rpm-ndb.py "$seeds/rpm-ndb/two-packages.db" --from-sqlite "$seeds/rpmdb/two-packages.sqlite"
Tests/Fixtures/make-rpm-ndb.py "$seeds/rpm-ndb/gaps.db" --gaps --from-sqlite "$seeds/rpmdb/two-packages.sqlite"
rm -rf "$scratch/rpm-root"
cat /etc/ld.so.conf /etc/ld.so.conf.d/*.conf > "$seeds/ldconf/host.conf" 2>/dev/null || true
head -c 65536 /etc/ld.so.cache > "$seeds/ldcache/host-head"
cp rules/cve-2024-3094/*.yaml "$seeds/rules/"
for doc in /usr/share/doc/{xz-utils,liblzma5,libc6,dpkg}; do
  for f in "$doc"/changelog.Debian.gz "$doc"/changelog.gz; do [ -f "$f" ] && { head -c 65536 "$f" > "$seeds/changelog/$(basename "$doc")"; break; }; done
done
printf 'P:xz-libs\nV:5.6.1-r1\nA:x86_64\no:xz\nt:1709942400\nF:usr/lib\nR:liblzma.so.5.6.1\nZ:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n' > "$seeds/apk/installed"
# A baseline in chainwatch's own shape: packages, a file with its SHA-256 and owner, a container with its own.
cat > "$seeds/baseline/small.cdx.json" <<'EOF'
{"bomFormat": "CycloneDX", "specVersion": "1.6", "metadata": {"tools": {"components": [{"name": "chainwatch", "version": "0"}]}},
 "components": [
  {"type": "library", "bom-ref": "pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64", "name": "liblzma5", "version": "5.4.1-1",
   "purl": "pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64&distro=debian-12&upstream=xz-utils"},
  {"type": "library", "bom-ref": "file:/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1", "name": "liblzma.so.5.4.1",
   "hashes": [{"alg": "SHA-256", "content": "0000000000000000000000000000000000000000000000000000000000000000"}],
   "evidence": {"occurrences": [{"location": "/usr/lib/x86_64-linux-gnu/liblzma.so.5.4.1"}]},
   "properties": [{"name": "chainwatch:package", "value": "pkg:deb/debian/liblzma5@5.4.1-1?arch=amd64"}]},
  {"type": "container", "bom-ref": "container:web", "name": "web", "properties": [{"name": "chainwatch:container:key", "value": "container:name:web"}],
   "components": [{"type": "library", "bom-ref": "container:web/p", "name": "musl", "purl": "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64"},
                  {"type": "library", "bom-ref": "container:web/k", "name": "kernel", "purl": "pkg:rpm/fedora/kernel@6.1-1?epoch=2"}]}]}
EOF

status=0
for target in "${targets[@]}"; do
  corpus="$scratch/corpus/$target" artifacts="$scratch/artifacts/$target/"
  mkdir -p "$corpus" "$artifacts"
  echo "== $target: ${seconds}s" >&2
  if ! CHAINWATCH_FUZZ_TARGET="$target" "$fuzzer" "$corpus" "$seeds/$target" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
      -artifact_prefix="$artifacts" -print_final_stats=1 2> "$scratch/$target.log"; then
    echo "FINDING in $target: see $scratch/$target.log and $artifacts" >&2
    status=1
  fi
  grep -E "stat::number_of_executed_runs|Done [0-9]+ runs" "$scratch/$target.log" | tail -1 >&2 || true
done
[ $status -eq 0 ] && echo "fuzz: ${#targets[@]} targets, ${seconds}s each, no finding"
exit $status
