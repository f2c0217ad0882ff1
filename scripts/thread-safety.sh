#!/usr/bin/env bash
# The compiler checks the locks: runs clang's -Wthread-safety analysis
# (-fsyntax-only, no code generated) over every .cc file under controller/
# and worker/, each with its flags from the build's compile_commands.json
# (scripts/build.sh exports it), in parallel. The analysis reads the
# ABSL_GUARDED_BY / ABSL_EXCLUSIVE_LOCKS_REQUIRED annotations on
# absl::Mutex; GCC ignores them, so the build alone checks nothing.
# Prints one line per file with a finding, the findings, and a summary;
# exits non-zero on any warning or error, or when a file is not in the
# build. Called by scripts/test.sh after the build and before ctest.
# With file arguments, checks only those (paths from the repository root).
# Build directory: $NAS_BUILD_DIR (default: build/ in the repository).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
build=${NAS_BUILD_DIR:-$repo/build}
db="$build/compile_commands.json"
clang=$(command -v clang++ || command -v clang++-14 || true)
if [[ -z "$clang" ]]; then
  echo "thread-safety.sh: clang++ not found (apt-get install clang-14)" >&2
  exit 1
fi
if [[ ! -f "$db" ]]; then
  echo "thread-safety.sh: $db missing; run scripts/build.sh first" >&2
  exit 1
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
start=$(date +%s)

# One line per file: the compile command rewritten for clang, run in its
# directory; g++-only flags are dropped or tolerated.
python3 - "$repo" "$db" "$clang" "$out" "$@" <<'EOF'
import json, os, shlex, sys
repo, db, clang, out = sys.argv[1:5]
only = {os.path.normpath(os.path.join(repo, f)) for f in sys.argv[5:]}
roots = [os.path.join(repo, "controller") + "/", os.path.join(repo, "worker") + "/"]
on_disk = set()
for root in roots:
    for d, _, files in os.walk(root):
        on_disk.update(os.path.join(d, f) for f in files if f.endswith(".cc"))
if only:
    on_disk &= only
jobs = {}
for e in json.load(open(db)):
    f = os.path.normpath(os.path.join(e["directory"], e["file"]))
    if f not in on_disk or f in jobs:
        continue
    args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
    if os.path.basename(args[0]) == "ccache":
        args = args[1:]
    keep, skip = [], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a == e["file"] or a == f:
            continue
        keep.append(a)
    cmd = [clang, "-fsyntax-only", "-Wthread-safety", "-Werror=thread-safety",
           "-Wno-unknown-warning-option", "-Qunused-arguments"] + keep + [f]
    jobs[f] = "cd %s && %s" % (shlex.quote(e["directory"]), shlex.join(cmd))
with open(os.path.join(out, "jobs"), "w") as j:
    for f in sorted(jobs):
        j.write(jobs[f] + "\n")
with open(os.path.join(out, "missing"), "w") as m:
    for f in sorted(on_disk - set(jobs)):
        m.write(os.path.relpath(f, repo) + "\n")
EOF

total=$(wc -l <"$out/jobs")
# Each job writes its diagnostics to $out/log.<n>.
nl -ba -w1 -s' ' "$out/jobs" |
  xargs -d '\n' -P "$(nproc)" -n 1 bash -c '
    n=${1%% *}; cmd=${1#* }
    bash -c "$cmd" >"'"$out"'/log.$n" 2>&1 || echo "exit $?" >>"'"$out"'/log.$n"
  ' _

bad=0
for n in $(seq 1 "$total"); do
  log="$out/log.$n"
  if [[ -s "$log" ]]; then
    file=$(sed -n "${n}p" "$out/jobs" | awk '{print $NF}')
    echo "thread-safety.sh: ${file#"$repo"/}:" >&2
    cat "$log" >&2
    bad=$((bad + 1))
  fi
done
missing=$(wc -l <"$out/missing")
if [[ $missing -gt 0 ]]; then
  echo "thread-safety.sh: not in $db (build them first):" >&2
  cat "$out/missing" >&2
fi
warnings=$(cat "$out"/log.* 2>/dev/null | grep -c 'warning:\|error:' || true)
echo "thread-safety.sh: $total files checked in $(($(date +%s) - start)) s;" \
  "$bad with findings ($warnings warnings/errors); $missing not in the build" >&2
[[ $bad -eq 0 && $missing -eq 0 ]]
