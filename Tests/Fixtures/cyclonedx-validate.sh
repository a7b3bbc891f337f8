#!/usr/bin/env bash
# cyclonedx-validate.sh - check CycloneDX 1.6 JSON documents with the reference validator.
#
# Why this exists: chainwatch writes its findings as a CycloneDX 1.6 JSON BOM.  A test that only decodes the output
# with chainwatch's own types proves nothing about what other tools will accept; this script runs the OWASP
# cyclonedx-python-lib strict JSON validator (JsonStrictValidator(SchemaVersion.V1_6): the official 1.6 schema, no
# unknown properties, formats such as date-time and iri-reference checked) over the files instead.
#
# The library comes from PyPI into a virtual environment of its own, created on first use and reused after that:
#   ${CHAINWATCH_VENV:-/var/tmp/chainwatch-cyclonedx-venv}
# Every package in it is pinned (below), so every machine validates against the same schema copy with the same
# format checkers.  The venv counts as ready only once a marker file holding the pins is written last; a venv
# without it (an interrupted creation) or with other pins is removed and made again.  Creation is serialised with
# flock on ${CHAINWATCH_VENV}.lock, so tests may call this script in parallel.  Python: ${CHAINWATCH_PYTHON:-/usr/bin/python3}
# (Debian's python3; its venv module needs the python3-venv package, which scripts/setup.sh installs).
#
# Usage:
#   cyclonedx-validate.sh --schema SCHEMA FILE...
#     The same, against the JSON Schema SCHEMA (any draft jsonschema knows, formats checked) instead of CycloneDX:
#     chainwatch's own JSON report (docs/schema/report.schema.json) and its SARIF logs (schemas/sarif-schema-2.1.0.json)
#     are checked with it, in the same pinned venv.
#   cyclonedx-validate.sh FILE...
#     Prints "FILE: valid" for each valid file, and "FILE: invalid: N error(s)" followed by one line per
#     error ("  at JSONPATH: MESSAGE", with the closest sub-schema errors indented below for anyOf/oneOf) for
#     each invalid one, all on stdout.
#
# Exit status:
#   0  every FILE is valid
#   1  at least one FILE is not valid CycloneDX 1.6 (including a FILE that is not UTF-8 JSON at all)
#   2  set-up failure or usage error: no FILE, a FILE that cannot be read, the venv could not be made (no network to
#      PyPI, python3-venv missing, ...); the message says what to do.  Never means "invalid".
set -euo pipefail

schema=""
if [ "${1:-}" = --schema ]; then
  [ $# -ge 3 ] || { echo "usage: cyclonedx-validate.sh --schema SCHEMA FILE..." >&2; exit 2; }
  schema=$2
  shift 2
  [ -f "$schema" ] && [ -r "$schema" ] || { echo "cyclonedx-validate: cannot read the schema $schema" >&2; exit 2; }
fi
if [ $# -eq 0 ]; then
  echo "usage: cyclonedx-validate.sh [--schema SCHEMA] FILE..." >&2
  exit 2
fi

venv=${CHAINWATCH_VENV:-/var/tmp/chainwatch-cyclonedx-venv}
python=${CHAINWATCH_PYTHON:-/usr/bin/python3}

# cyclonedx-python-lib with its "json-validation" extra (jsonschema[format-nongpl], referencing) and everything those
# pull in, as `pip freeze` listed it.  Without the format extras jsonschema skips format checks silently, so they are
# pinned too.  To move to a newer release: make a scratch venv, `pip install 'cyclonedx-python-lib[json-validation]==V'`,
# and paste its `pip freeze` here.
requirements='
cyclonedx-python-lib[json-validation]==11.12.0
arrow==1.4.0
attrs==26.1.0
boolean.py==5.0
defusedxml==0.7.1
fqdn==1.6.0
idna==3.20
isoduration==20.11.0
jsonpointer==3.12
jsonschema==4.26.0
jsonschema-specifications==2025.9.1
lark==1.3.1
license-expression==30.4.4
packageurl-python==0.17.6
py-serializable==2.2.0
python-dateutil==4.0.0
referencing==0.37.0
rfc3339-validator==0.1.4
rfc3986-validator==0.1.1
rfc3987-syntax==1.1.0
rpds-py==2026.9.1
six==1.17.0
sortedcontainers==2.4.0
typing_extensions==4.16.0
tzdata==2026.6
uri-template==1.3.0
webcolors==25.10.0
'
marker="$venv/.chainwatch-ready"
# What the marker must hold: the pins and the interpreter the venv was made from.
# ($(...) drops trailing newlines, as the $(cat) that reads the marker back does.)
want_marker=$(printf 'python=%s\n%s' "$python" "$requirements")

fail_setup() {
  echo "cyclonedx-validate: $*" >&2
  exit 2
}

venv_ready() {
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$want_marker" ] &&
    "$venv/bin/python" -c 'import cyclonedx.schema' 2>/dev/null # cheap: importing jsonschema takes a second
}

make_venv() {
  local log
  # Remove only what this script made: a venv (pyvenv.cfg) or an empty directory, never whatever CHAINWATCH_VENV names.
  if [ -e "$venv" ] && ! [ -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A -- "$venv" 2>/dev/null || echo x)" ]; then
    fail_setup "$venv exists and is not a venv; remove it or set CHAINWATCH_VENV to another path"
  fi
  rm -rf -- "$venv"
  log=$(mktemp "${TMPDIR:-/tmp}/cyclonedx-validate.XXXXXX.log") || fail_setup "cannot create a temporary file (TMPDIR)"
  [ -x "$python" ] || fail_setup "no Python at $python; run scripts/setup.sh as root (installs python3 and python3-venv), or set CHAINWATCH_PYTHON"
  if ! "$python" -m venv "$venv" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf -- "$venv" "$log"
    fail_setup "could not create the venv $venv with $python -m venv (Debian: the python3-venv package is missing?); run scripts/setup.sh as root"
  fi
  printf '%s\n' "$requirements" > "$venv/requirements.txt"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      -r "$venv/requirements.txt" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf -- "$venv" "$log"
    fail_setup "pip could not install cyclonedx-python-lib into $venv (see pip's output above); PyPI must be reachable. Run again once it is"
  fi
  rm -f -- "$log"
  printf '%s' "$want_marker" > "$marker.tmp"
  mv -- "$marker.tmp" "$marker"
}

for f in "$@"; do
  [ -f "$f" ] && [ -r "$f" ] || fail_setup "cannot read $f"
done

mkdir -p -- "$(dirname -- "$venv")" || fail_setup "cannot create the parent directory of $venv; set CHAINWATCH_VENV"
exec 9>>"$venv.lock" || fail_setup "cannot open the lock file $venv.lock; set CHAINWATCH_VENV to a writable place"
if ! venv_ready; then
  flock -x 9
  venv_ready || make_venv
fi
# A shared lock while validating: a rebuild (other pins) in another process waits for this run to end.
flock -s 9
venv_ready || fail_setup "the venv $venv is not usable after creation; remove it and run again"

if [ -n "$schema" ]; then
  status=0
  "$venv/bin/python" - "$schema" "$@" <<'PY' || status=$?
import json
import sys
from jsonschema.validators import validator_for

with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
cls = validator_for(schema)
cls.check_schema(schema)
# The schema's own dialect's format checker (Draft 4 for SARIF 2.1.0, 2020-12 for chainwatch's report).
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
bad = 0
for path in sys.argv[2:]:
    try:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
    except Exception as error:
        print(f"{path}: invalid: not UTF-8 JSON: {error}")
        bad += 1
        continue
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        bad += 1
        print(f"{path}: invalid: {len(errors)} error(s)")
        for error in errors[:50]:
            print(f"  at {error.json_path}: {error.message}")
    else:
        print(f"{path}: valid")
sys.exit(1 if bad else 0)
PY
  exit "$status"
fi

status=0
"$venv/bin/python" - "$@" <<'PY' || status=$?
import json
import sys
import traceback

try:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator
    from jsonschema.exceptions import relevance
except Exception:
    traceback.print_exc()
    print("cyclonedx-validate: the venv cannot import the validator; remove it (CHAINWATCH_VENV) and run again",
          file=sys.stderr)
    sys.exit(2)

LIMIT = 400


def short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= LIMIT else text[:LIMIT] + " ..."


def leaves(error, depth=0):
    """The deepest sub-errors of an anyOf/oneOf failure, most relevant first."""
    out = []
    for sub in sorted(error.context or [], key=relevance):
        if sub.context and depth < 3:
            out.extend(leaves(sub, depth + 1))
        else:
            out.append(sub)
    return out


def main():
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    invalid = 0
    for name in sys.argv[1:]:
        try:
            with open(name, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as e:
            print(f"cyclonedx-validate: cannot read {name}: {e}", file=sys.stderr)
            return 2
        except UnicodeDecodeError as e:  # JSON is UTF-8 (RFC 8259)
            print(f"{name}: invalid: not UTF-8: {e}")
            invalid += 1
            continue
        try:
            errors = validator.validate_str(text, all_errors=True)
        except json.JSONDecodeError as e:
            print(f"{name}: invalid: not JSON: {e}")
            invalid += 1
            continue
        errors = list(errors or [])
        if not errors:
            print(f"{name}: valid")
            continue
        invalid += 1
        print(f"{name}: invalid: {len(errors)} error(s)")
        for wrapped in errors:
            e = wrapped.data
            print(f"  at {e.json_path}: {short(e.message)}")
            for sub in leaves(e)[:6]:
                print(f"    - at {sub.json_path}: {short(sub.message)}")
    return 1 if invalid else 0


try:
    sys.exit(main())
except SystemExit:
    raise
except BaseException:  # a crash of the validator is no verdict on the files
    traceback.print_exc()
    print("cyclonedx-validate: the validator crashed (above)", file=sys.stderr)
    sys.exit(2)
PY
exit "$status"
