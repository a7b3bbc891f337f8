#!/usr/bin/env python3
"""cdx-files.py - the files a chainwatch scan read, from its own CycloneDX SBOM, for the baselines of bench/run.sh.

  cdx-files.py ROOT SBOM.json [NAMES.json] > LIST   (NUL-separated host paths; "N files, B bytes, ..." on stderr)

NAMES.json (optional): each listed path -> every name chainwatch knew the file by (chainwatch:name: base names,
SONAME, DT_NEEDED names), for bench/yara-hits.py to apply a rule's `files:` globs as chainwatch does.

`chainwatch --format cyclonedx` has one component per file the scan read (type application, library or file;
bom-ref "file:PATH"; evidence.occurrences[0].location = PATH), so the baselines run on exactly chainwatch's files
instead of a reconstruction. PATH is the path inside the scanned root: for --root R the host path is R + PATH;
for a host scan it is the host path (a container process's file already shows as /proc/PID/root/PATH).

A file mapped by a process but deleted (or replaced by an upgrade) since has no path that names it any more:
chainwatch reads it through /proc/PID/map_files/START-END. Its component says so (property chainwatch:seen-as =
"mapped (deleted from disk)", with chainwatch:pid), and this does the same: the first of those pids whose maps
still show "PATH (deleted)" gives the map_files entry. A component whose file cannot be found any more (its
process exited since) is counted as missing and left out.

Distinct by (device, inode) as chainwatch is (two paths of one file in the SBOM would be one read).
"""
import json, os, stat, sys

root = sys.argv[1].rstrip("/") or "/"
doc = json.load(open(sys.argv[2]))
names_out = sys.argv[3] if len(sys.argv) > 3 else None


def host_path(path):
    return path if root == "/" else root + (path if path.startswith("/") else "/" + path)


def mapped_deleted(path, pids):
    """/proc/PID/map_files/START-END of a mapping of PATH that the maps show as deleted."""
    for pid in pids:
        try:
            lines = open("/proc/%s/maps" % pid).read().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5] == path + " (deleted)":
                return "/proc/%s/map_files/%s" % (pid, parts[0])
    return None


files, names, missing, via_map_files, components = {}, {}, 0, 0, 0
for component in doc.get("components", []):
    ref = component.get("bom-ref", "")
    if not ref.startswith("file:"):
        continue                                   # packages, the subject
    components += 1
    occurrences = (component.get("evidence") or {}).get("occurrences") or []
    path = occurrences[0]["location"] if occurrences else ref[len("file:"):].split("#sha256:")[0]
    props = component.get("properties") or []
    seen = [p["value"] for p in props if p["name"] == "chainwatch:seen-as"]
    pids = [p["value"] for p in props if p["name"] == "chainwatch:pid"]
    candidate = None
    if any("deleted" in s for s in seen) and root == "/":
        candidate = mapped_deleted(path, pids)
        if candidate:
            via_map_files += 1
    if candidate is None:
        candidate = host_path(path)
    try:
        st = os.stat(candidate)
    except OSError:
        missing += 1
        continue
    if not stat.S_ISREG(st.st_mode):
        missing += 1
        continue
    first = files.setdefault((st.st_dev, st.st_ino), (candidate, st.st_size))[0]
    names.setdefault(first, set()).update([p["value"] for p in props if p["name"] == "chainwatch:name"]
                                          + [os.path.basename(path)])

if names_out:
    json.dump({p: sorted(n) for p, n in names.items()}, open(names_out, "w"))
total = 0
for path, size in files.values():
    sys.stdout.write(path + "\0")
    total += size
sys.stderr.write("%d files, %d bytes, %d components, %d via map_files, %d missing\n"
                 % (len(files), total, components, via_map_files, missing))
