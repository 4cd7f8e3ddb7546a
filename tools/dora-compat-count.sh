#!/usr/bin/env bash
# How `zeroflow check` fares on dora's example dataflows, "with the executables in place".
# Reads a local git mirror of dora-rs/dora (nothing of it is kept or built): for each GIT_REF,
# extracts the ref's examples/ into a temporary folder (git archive), creates a placeholder
# for every node `path:` that does not exist there (an executable `#!/bin/sh` stub; a readable
# file for `.py` paths; bare names get the stub beside the dataflow file, where zeroflow looks
# first), runs `zeroflow check` on each examples/**/*.yml|yaml and prints one line per file:
#   REF  accepted|rejected  FILE  [the first error, or "N errors: ..."]
# and a summary per ref. --as-shipped skips the placeholders. Not part of the build or tests.
#
#   tools/dora-compat-count.sh [--as-shipped] ZEROFLOW_BINARY DORA_GIT_DIR GIT_REF...
# e.g. tools/dora-compat-count.sh build/default/tools/zeroflow /work/.mirror/dora-rs+dora/repo \
#        v0.3.13 HEAD
set -euo pipefail

placeholders=1
if [[ ${1:-} == --as-shipped ]]; then
    placeholders=0
    shift
fi
if [[ $# -lt 3 ]]; then
    sed -n '2,15p' "$0" >&2
    exit 2
fi
zeroflow=$(realpath "$1")
repo=$2
shift 2
work=$(mktemp -d /tmp/dora-compat-XXXXXX)
trap 'rm -rf "$work"' EXIT

for ref in "$@"; do
    root="$work/$ref"
    mkdir -p "$root"
    git -C "$repo" archive "$ref" examples | tar -x -C "$root"
    mapfile -t files < <(cd "$root" && find examples -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
    # Placeholders for the programs the dataflows name (PyYAML reads the files).
    ((placeholders)) && python3 - "$root" "${files[@]}" <<'PY'
import os, stat, sys, yaml
root = sys.argv[1]
for rel in sys.argv[2:]:
    path = os.path.join(root, rel)
    try:
        doc = yaml.safe_load(open(path))
    except Exception:
        continue
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        continue
    for node in doc["nodes"]:
        if not isinstance(node, dict):
            continue
        p = node.get("path")
        if not isinstance(p, str) or p in ("dynamic", "shell") or "://" in p or "$" in p:
            continue
        target = p if os.path.isabs(p) else os.path.join(os.path.dirname(path), p)
        target = os.path.normpath(target)
        if not target.startswith(root + os.sep) or os.path.exists(target):
            continue  # outside the extracted tree (absolute paths), or there already
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as f:
            f.write("" if p.endswith(".py") else "#!/bin/sh\nexit 0\n")
        if not p.endswith(".py"):
            os.chmod(target, 0o755)
PY
    accepted=0
    rejected=0
    for rel in "${files[@]}"; do
        if out=$(cd "$root" && "$zeroflow" check "$rel" 2>&1); then
            accepted=$((accepted + 1))
            printf '%s\taccepted\t%s\n' "$ref" "$rel"
        else
            rejected=$((rejected + 1))
            errors=$(grep -c ': error: ' <<<"$out" || true)
            reasons=$(grep ': error: ' <<<"$out" | sed -E 's/^[^ ]*: error: //' | sort -u | paste -sd'|' -)
            printf '%s\trejected\t%s\t%s error(s): %s\n' "$ref" "$rel" "$errors" "$reasons"
        fi
    done
    printf '%s: %d accepted, %d rejected of %d\n' "$ref" "$accepted" "$rejected" "${#files[@]}"
done
