#!/usr/bin/env python3
"""yara-hits.py - which chainwatch rules a yara run over the generated rules found, as chainwatch would count them.

  yara -p 2 -N --scan-list RULES.yar LIST | yara-hits.py INDEX.json [NAMES.json]

Reads yara's "RULE PATH" lines; prints "RULE-ID PATH" for each hit, sorted. A rule with `files:` globs (in
INDEX.json, written by byte-rules-to-yara.py) counts only on a file one of whose names matches one of them
(fnmatch, no directory part, as rules/FORMAT.md says chainwatch matches): its names from NAMES.json (written by
cdx-files.py), else the path's base name.
"""
import fnmatch, json, os, sys

index = json.load(open(sys.argv[1]))
names = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else {}
hits = set()
for line in sys.stdin:
    rule, _, path = line.rstrip("\n").partition(" ")
    if rule not in index or not path:
        continue
    globs = index[rule]["files"]
    if globs:
        known = names.get(path) or [os.path.basename(path)]
        if not any(fnmatch.fnmatchcase(n, g) for n in known for g in globs):
            continue
    hits.add((index[rule]["id"], path))
for rule_id, path in sorted(hits):
    print(rule_id, path)
