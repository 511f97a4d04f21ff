#!/usr/bin/env bash
# Paired before/after benchmark of two `ev` builds on the public set: the builds alternate, run after run, pinned
# to one core (and niced, so other work on the machine yields to them), so drift in the machine's load falls on
# both alike. Prints QPS per setting for each run and the after/before ratio of the medians.
#
#   tools/bench/paired.sh BEFORE_EV AFTER_EV [PAIRS=3]
#
# BEFORE_EV / AFTER_EV: paths of the two `ev` executables (dotnet build tools/EmbeddedVectors.Cli -c Release -o DIR).
# Measures: the in-memory IVFPQ index (8-bit, m 48) and fast-scan (m 96, rerank 100), and the on-disk store of each
# (built once by BEFORE_EV, so both builds can open it), at nprobe 8, 16, 32, one thread.
# Results: out/paired/*.json and out/paired/summary.md. Environment: BENCH_CPU (default 1), DATA (default ../shared/data/debian-minilm-384).
set -euo pipefail
before=$1; after=$2; pairs=${3:-3}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
data=${DATA:-$root/../shared/data/debian-minilm-384}
cpu=${BENCH_CPU:-1}
out=$root/out/paired; mkdir -p "$out"
run() { nice -n -20 taskset -c "$cpu" "$@" > /dev/null; }
# NPROBES: the nprobe list; put a warm-up value first (e.g. 64,8,16,32) to measure the others with every cell's
# tables built (the store builds them lazily on a cell's first probe, so a first row also pays for that).
nprobes=${NPROBES:-8,16,32}
common=(--queries "$data/query.fvecs" --gt "$data/groundtruth.ivecs" --nprobe "$nprobes" --k 10 --threads 1)

for kind in pq8 pq4fs; do
  store=$out/store-$kind
  if [ ! -f "$store/MANIFEST" ]; then
    rm -rf "$store"
    if [ $kind = pq8 ]; then "$before" create "$store" --dim 384 --nlist 1024 --m 48 > /dev/null
    else "$before" create "$store" --dim 384 --nlist 1024 --m 96 --codes pq4fs > /dev/null; fi
    "$before" add "$store" --vectors "$data/base.fvecs" --commit-every 100000 > /dev/null
  fi
done

cases=${CASES:-memory-pq8 memory-pq4fs store-pq8 store-pq4fs}
for pair in $(seq 1 "$pairs"); do
  for side in before after; do
    ev=${!side}
    for case in $cases; do
      case $case in
        memory-pq8) run "$ev" bench --base "$data/base.fvecs" --index ivfpq --nlist 1024 --m 48 --rerank 0 "${common[@]}" --json "$out/$case-$side-$pair.json" ;;
        memory-pq4fs) run "$ev" bench --base "$data/base.fvecs" --index ivfpq --nlist 1024 --m 96 --codes pq4fs --rerank 100 "${common[@]}" --json "$out/$case-$side-$pair.json" ;;
        store-pq8) run "$ev" bench "$out/store-pq8" --rerank 0 "${common[@]}" --json "$out/$case-$side-$pair.json" ;;
        store-pq4fs) run "$ev" bench "$out/store-pq4fs" --rerank 100 "${common[@]}" --json "$out/$case-$side-$pair.json" ;;
      esac
    done
  done
done

python3 - "$out" "$pairs" "$cases" <<'PY'
import json, statistics, sys
out, pairs, cases = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
lines = ["| case | nprobe | recall@10 before | recall@10 after | QPS before (runs) | QPS after (runs) | after / before (medians) |", "|---|---|---|---|---|---|---|"]
for case in cases:
    runs = {side: [json.load(open(f"{out}/{case}-{side}-{p}.json")) for p in range(1, pairs + 1)] for side in ("before", "after")}
    for i, row in enumerate(runs["before"][0]["results"]):
        qps = {side: [r["results"][i]["qps"] for r in runs[side]] for side in runs}
        rec = {side: runs[side][0]["results"][i]["recall_at_10"] for side in runs}
        ratio = statistics.median(qps["after"]) / statistics.median(qps["before"])
        lines.append(f"| {case} | {row['nprobe']} | {rec['before']:.4f} | {rec['after']:.4f} | {' / '.join(f'{q:,.0f}' for q in qps['before'])} | {' / '.join(f'{q:,.0f}' for q in qps['after'])} | {ratio:.3f} |")
open(f"{out}/summary.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
