#!/usr/bin/env bash
# sarif-validate.sh - check SARIF logs against the OASIS SARIF 2.1.0 JSON schema.
#
# Why this exists: `chainwatch scan --format sarif` is read by GitHub code scanning and other SARIF consumers. A test
# that decodes the output with chainwatch's own types proves nothing about what they accept; this script validates
# the files with Python's jsonschema (Draft 4, the schema's own dialect, with format checks for uri, uri-reference and
# date-time) against the vendored schema Tests/Fixtures/schemas/sarif-schema-2.1.0.json (see SOURCES.md there).
#
# jsonschema comes from PyPI into a venv of its own, made on first use and reused (the pattern of
# cyclonedx-validate.sh): ${CHAINWATCH_SARIF_VENV:-/var/tmp/chainwatch-sarif-venv}. Every package is pinned, the venv
# counts as ready only once a marker holding the pins is written last, and creation is serialised with flock.
# Python: ${CHAINWATCH_PYTHON:-/usr/bin/python3} (its venv module needs python3-venv, which scripts/setup.sh installs).
#
# Usage: sarif-validate.sh FILE...
#   Prints "FILE: valid", or "FILE: invalid: N error(s)" and one line per error, on stdout.
# Exit status: 0 every FILE is valid; 1 one is not (or is not UTF-8 JSON); 2 set-up failure or usage error.
set -euo pipefail

if [ $# -eq 0 ]; then
  echo "usage: sarif-validate.sh FILE..." >&2
  exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
schema="$here/schemas/sarif-schema-2.1.0.json"
venv=${CHAINWATCH_SARIF_VENV:-/var/tmp/chainwatch-sarif-venv}
python=${CHAINWATCH_PYTHON:-/usr/bin/python3}

# jsonschema with its format checkers (without them format checks are skipped silently), as `pip freeze` listed it.
requirements='
jsonschema[format-nongpl]==4.26.0
arrow==1.4.0
attrs==26.1.0
fqdn==1.6.0
idna==3.21
isoduration==20.11.0
jsonpointer==3.12
jsonschema-specifications==2025.9.1
lark==1.3.1
python-dateutil==4.0.0
referencing==0.37.0
rfc3339-validator==0.1.4
rfc3986-validator==0.1.1
rfc3987-syntax==1.1.0
rpds-py==2026.9.1
six==1.17.0
typing_extensions==4.16.0
tzdata==2026.6
uri-template==1.3.0
webcolors==25.10.0
'
marker="$venv/.chainwatch-ready"
want_marker=$(printf 'python=%s\n%s' "$python" "$requirements")

fail_setup() {
  echo "sarif-validate: $*" >&2
  exit 2
}

venv_ready() {
  [ -f "$marker" ] && [ "$(cat "$marker")" = "$want_marker" ] && [ -x "$venv/bin/python" ]
}

make_venv() {
  local log
  # Remove only what this script made: a venv (pyvenv.cfg) or an empty directory.
  if [ -e "$venv" ] && ! [ -f "$venv/pyvenv.cfg" ] && [ -n "$(ls -A -- "$venv" 2>/dev/null || echo x)" ]; then
    fail_setup "$venv exists and is not a venv; remove it or set CHAINWATCH_SARIF_VENV to another path"
  fi
  rm -rf -- "$venv"
  log=$(mktemp "${TMPDIR:-/tmp}/sarif-validate.XXXXXX.log") || fail_setup "cannot create a temporary file (TMPDIR)"
  [ -x "$python" ] || fail_setup "no Python at $python; run scripts/setup.sh --tests as root, or set CHAINWATCH_PYTHON"
  if ! "$python" -m venv "$venv" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf -- "$venv" "$log"
    fail_setup "could not create the venv $venv with $python -m venv (python3-venv missing?); run scripts/setup.sh --tests as root"
  fi
  printf '%s\n' "$requirements" > "$venv/requirements.txt"
  if ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
      -r "$venv/requirements.txt" >"$log" 2>&1; then
    cat "$log" >&2
    rm -rf -- "$venv" "$log"
    fail_setup "pip could not install jsonschema into $venv (see above); PyPI must be reachable. Run again once it is"
  fi
  rm -f -- "$log"
  printf '%s' "$want_marker" > "$marker.tmp"
  mv -- "$marker.tmp" "$marker"
}

[ -f "$schema" ] || fail_setup "no schema at $schema"
for f in "$@"; do
  [ -f "$f" ] && [ -r "$f" ] || fail_setup "cannot read $f"
done

mkdir -p -- "$(dirname -- "$venv")" || fail_setup "cannot create the parent directory of $venv"
exec 9>>"$venv.lock" || fail_setup "cannot open the lock file $venv.lock"
if ! venv_ready; then
  flock -x 9
  venv_ready || make_venv
fi
flock -s 9
venv_ready || fail_setup "the venv $venv is not usable after creation; remove it and run again"

status=0
"$venv/bin/python" - "$schema" "$@" <<'PY' || status=$?
import json
import sys
import traceback

try:
    from jsonschema import Draft4Validator
    from jsonschema.exceptions import relevance
except Exception:
    traceback.print_exc()
    print("sarif-validate: the venv cannot import jsonschema; remove it (CHAINWATCH_SARIF_VENV) and run again", file=sys.stderr)
    sys.exit(2)


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        schema = json.load(fh)
    Draft4Validator.check_schema(schema)
    validator = Draft4Validator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    invalid = 0
    for name in sys.argv[2:]:
        try:
            with open(name, encoding="utf-8") as fh:
                document = json.load(fh)
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            print(f"{name}: invalid: not UTF-8 JSON: {e}")
            invalid += 1
            continue
        errors = sorted(validator.iter_errors(document), key=relevance)
        if not errors:
            print(f"{name}: valid")
            continue
        invalid += 1
        print(f"{name}: invalid: {len(errors)} error(s)")
        for e in errors[:50]:
            print(f"  at {e.json_path}: {' '.join(str(e.message).split())[:400]}")
    return 1 if invalid else 0


try:
    sys.exit(main())
except SystemExit:
    raise
except BaseException:
    traceback.print_exc()
    print("sarif-validate: the validator crashed (above)", file=sys.stderr)
    sys.exit(2)
PY
exit "$status"
