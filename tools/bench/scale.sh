#!/usr/bin/env bash
# Issue 8's scale table, one size per run: build a store of N generated rows (public row i mod 60,629 plus seeded
# noise, never written out), its exact ground truth, then ev bench cached (1 thread and all cores) and under
# memlimit at 1/8 of the store's size, append 10 % and bench again, retrain and bench again, and delete it all.
#
#   tools/bench/scale.sh N NLIST [WORK]      e.g. tools/bench/scale.sh 1000000 4096 /work/data/scale
#
# Environment: STAGES=build,truth,info,bench,append,retrain,clean (default all, in that order); TRAIN_ROWS
# (default min(N, 1,000,000)); ROWS (default f16). Needs root for memlimit (../shared/tools/memlimit).
# Results: WORK/results-N/*.json and WORK/results-N/log.txt. Expect hours at 30M on 2 cores (docs/benchmarks-scale.md).
set -euo pipefail
n=${1:?N}; nlist=${2:?NLIST}; work=${3:-/work/data/scale}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
shared="$(cd "$root/.." && pwd)/shared"
store="$work/store-$n"; data="$work/data-$n"; out="$work/results-$n"
train_rows=${TRAIN_ROWS:-$(( n < 1000000 ? n : 1000000 ))}
rows=${ROWS:-f16}
mkdir -p "$out"
exec > >(tee -a "$out/log.txt") 2>&1
bin="$work/bin"
if [[ ! -x "$bin/bench/EmbeddedVectors.Benchmarks" ]]; then
  dotnet build "$root/tools/EmbeddedVectors.Benchmarks" -c Release -o "$bin/bench" > /dev/null
  dotnet build "$root/tools/EmbeddedVectors.Cli" -c Release -o "$bin/ev" > /dev/null
fi
B="$bin/bench/EmbeddedVectors.Benchmarks"; EV="$bin/ev/ev"
export DOTNET_TieredCompilation=0
stage() { echo "=== $(date -u +%FT%TZ) $* | $(uptime | sed 's/.*load/load/')"; }
only() { [[ -z "${STAGES:-}" || ",$STAGES," == *",$1,"* ]]; }
bench() { "$EV" bench "$store" --queries "$data/query.fvecs" --gt "$data/groundtruth.ivecs" --nprobe 16,32,64 --rerank 100 "$@"; }

if only build; then stage build; "$B" store build --out "$store" --scale "$n" --nlist "$nlist" --train-rows "$train_rows" --rows "$rows" --batch 100000 --force --json "$out/build.json"; fi
if only truth; then stage truth; "$B" scaled --scale "$n" --out "$data" --no-base; fi
if only info; then stage info; "$EV" info "$store" --json > "$out/info.json"; cat "$out/info.json"; fi
if only bench; then
  stage bench; bench --json "$out/bench-1t.json"; bench --threads 0 --json "$out/bench-all.json"
  limit=$(( $(du -sb "$store" | cut -f1) / 8 / 1048576 ))M
  stage "bench under memlimit --cold $limit"
  "$shared/tools/memlimit" --cold "$limit" "$EV" bench "$store" --queries "$data/query.fvecs" --gt "$data/groundtruth.ivecs" --nprobe 16,32,64 --rerank 100 --json "$out/bench-mem-1t.json"
  "$shared/tools/memlimit" --cold "$limit" "$EV" bench "$store" --queries "$data/query.fvecs" --gt "$data/groundtruth.ivecs" --nprobe 32 --rerank 100 --threads 0 --json "$out/bench-mem-all.json"
fi
if only append; then
  stage "append 10 %"; "$B" store build --out "$store" --append --start "$n" --scale $(( n / 10 )) --batch 100000 --json "$out/append.json"
  # Recall against the truth of the first N rows: the appended rows are noisy copies, so it drops a little; QPS is the point.
  stage bench after append; bench --json "$out/bench-after-append.json"
fi
if only retrain; then
  stage retrain; /usr/bin/time -v "$EV" retrain "$store" --sample "$train_rows" 2>&1 | tail -25
  stage bench after retrain; bench --json "$out/bench-after-retrain.json"
fi
if only clean; then stage clean; rm -rf "$store" "$data"; fi
stage done
