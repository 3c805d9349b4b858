#!/bin/bash
# The whole suite N times in a row (default 5) in one fresh clone of this repository's HEAD, run as CI runs it
# (`CI=true bash .ci/run`; the first run sets the clone up, the others reuse it), while a CPU hog keeps one of the
# machine's cores at 100 % (issue 14: the suite must hold on a busy 2-core machine). One line per run in
# OUT/summary.txt; each run's output in OUT/run-N.log.
#
#     bash scripts/suite_under_load.sh [RUNS] [OUT]      # OUT defaults to ./suite-under-load
set -u
runs=${1:-5}
out=$(realpath -m "${2:-suite-under-load}")
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
mkdir -p "$out"; : > "$out/summary.txt"
python3 -c 'while True: pass' & hog=$!
trap 'kill $hog 2>/dev/null' EXIT
failed=0
dir=$(mktemp -d); git clone -q "$repo" "$dir/repo"
trap 'kill $hog 2>/dev/null; rm -rf "$dir"' EXIT
commit=$(git -C "$dir/repo" rev-parse --short HEAD)
for i in $(seq "$runs"); do
  start=$(date +%s)
  (cd "$dir/repo" && CI=true bash .ci/run) > "$out/run-$i.log" 2>&1 < /dev/null
  rc=$?
  [ $rc -eq 0 ] || failed=1
  echo "run $i commit $commit exit $rc $(( $(date +%s) - start )) s: $(grep -E '[0-9]+ passed' "$out/run-$i.log" | tail -1)" | tee -a "$out/summary.txt"
done
exit $failed
