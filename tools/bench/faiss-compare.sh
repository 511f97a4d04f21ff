#!/usr/bin/env bash
# Side-by-side benchmark: our `ev bench` against FAISS on the same data, with the same parameters,
# one thread, pinned to the same core; then a markdown table of ratios. FAISS is FAISS 1.15 built for
# this CPU (AVX-512, OpenBLAS) from ../shared/tools/faiss-avx512 (its README: apt-get install -y
# python3-numpy python3-packaging libopenblas0-pthread libgomp1, once per machine); --faiss debian
# runs Debian's python3-faiss 1.7.3 instead (a generic build without AVX2: for old comparisons only).
#
#   tools/bench/faiss-compare.sh [ev bench arguments] [script options]
#
# ev bench arguments (passed to both sides; defaults used for any not given):
#   --base ../shared/data/debian-minilm-384/base.fvecs      (paths relative to the repo root)
#   --queries ../shared/data/debian-minilm-384/query.fvecs
#   --gt ../shared/data/debian-minilm-384/groundtruth.ivecs
#   --index ivfpq  --nlist 1024  --m 48  --nprobe 1,2,4,8,16,32,64  --rerank 0  --k 10  --threads 1
#   --nbits N, --train-size N, --codes pq8|pq4fs    (given to ours only when given here)
#   --codes pq4fs (or --index ivfpqfs) runs FAISS's IndexIVFPQFastScan (--index ivfpqfs) and ours
#   as `--index ivfpq --codes pq4fs`. Any other --flag is passed to both sides as it is
#   (faiss_bench.py ignores what it does not know, with a warning).
# Script options:
#   --no-build            use out/ev/ev as it is
#   --faiss-only          skip ours (and the table); --ours-only skips FAISS
#   --faiss-blas system|openblas
#                         system (default): the BLAS that libblas.so.3 points to. On this
#                         Debian image that is the slow reference (netlib) BLAS, which FAISS
#                         uses for k-means (train), add, and any search batch of >= 20 queries;
#                         single-query search does not touch BLAS.
#                         openblas: fetch Debian's libopenblas0-openmp with `apt-get download`
#                         into out/bench/openblas (once; nothing is installed system-wide) and
#                         put it first on LD_LIBRARY_PATH for the FAISS run.
#   --cpu N               core to pin both sides to (default 1, or $BENCH_CPU)
#   --faiss avx512|debian which FAISS (default avx512: ../shared/tools/faiss-avx512)
# Environment: EV_BIN=path runs that binary as ours instead of building and running out/ev/ev.
# Results: out/bench/{ev,faiss}-<index>.{json,txt} and out/bench/compare-<index>.md
set -euo pipefail

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(git -C "$script_dir" rev-parse --show-toplevel 2>/dev/null || (cd "$script_dir/../.." && pwd))"
cd "$root"

declare -A opt=(
  [base]=../shared/data/debian-minilm-384/base.fvecs
  [queries]=../shared/data/debian-minilm-384/query.fvecs
  [gt]=../shared/data/debian-minilm-384/groundtruth.ivecs
  [index]=ivfpq
  [nlist]=1024
  [m]=48
  [nprobe]=1,2,4,8,16,32,64
  [rerank]=0
  [k]=10
  [threads]=1
)
declare -A given=()
extra=()
build=1
run_ours=1
run_faiss=1
faiss_blas=system
faiss_build=avx512
cpu="${BENCH_CPU:-1}"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

while (($#)); do
  arg="$1"
  if [[ "$arg" == --*=* ]]; then  # --name=value
    set -- "${arg%%=*}" "${arg#*=}" "${@:2}"
    arg="$1"
  fi
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    --no-build) build=0; shift ;;
    --faiss-only) run_ours=0; shift ;;
    --ours-only) run_faiss=0; shift ;;
    --faiss-blas) faiss_blas="${2:?--faiss-blas needs system|openblas}"; shift 2 ;;
    --cpu) cpu="${2:?--cpu needs a core number}"; shift 2 ;;
    --faiss) faiss_build="${2:?--faiss needs avx512|debian}"; shift 2 ;;
    --json) echo "faiss-compare: ignoring --json, results go to out/bench/" >&2; shift 2 ;;
    --base|--queries|--gt|--index|--nlist|--m|--nbits|--nprobe|--rerank|--k|--threads|--train-size|--codes)
      [[ $# -ge 2 ]] || { echo "faiss-compare: $arg needs a value" >&2; exit 2; }
      opt[${arg#--}]="$2"; given[${arg#--}]=1; shift 2 ;;
    *) extra+=("$arg"); shift ;;
  esac
done

case "$faiss_blas" in system|openblas) ;; *) echo "faiss-compare: --faiss-blas system|openblas" >&2; exit 2 ;; esac
case "$faiss_build" in avx512|debian) ;; *) echo "faiss-compare: --faiss avx512|debian" >&2; exit 2 ;; esac
faiss_avx512="$(cd "$root/.." && pwd)/shared/tools/faiss-avx512"
if [[ "$faiss_build" == avx512 && ! -d "$faiss_avx512/faiss" ]]; then
  echo "faiss-compare: no FAISS AVX-512 build at $faiss_avx512 (or pass --faiss debian)" >&2; exit 2
fi
for f in base queries gt; do
  [[ -f "${opt[$f]}" ]] || { echo "faiss-compare: --$f ${opt[$f]}: no such file (relative to $root)" >&2; exit 2; }
done

# Index names: ours spells 4-bit fast-scan PQ as `--index ivfpq --codes pq4fs`, FAISS as ivfpqfs.
ours_index="${opt[index]}"
faiss_index="${opt[index]}"
ours_codes="${opt[codes]:-}"
if [[ "${opt[codes]:-}" == pq4fs || "${opt[index]}" == ivfpqfs ]]; then
  ours_index=ivfpq
  ours_codes=pq4fs
  faiss_index=ivfpqfs
fi
label="$faiss_index"

common=(--base "${opt[base]}" --queries "${opt[queries]}" --gt "${opt[gt]}"
        --nlist "${opt[nlist]}" --m "${opt[m]}" --nprobe "${opt[nprobe]}" --rerank "${opt[rerank]}"
        --k "${opt[k]}" --threads "${opt[threads]}")
[[ -n "${given[train-size]:-}" ]] && common+=(--train-size "${opt[train-size]}")

ours_args=(bench "${common[@]}" --index "$ours_index")
[[ -n "$ours_codes" ]] && ours_args+=(--codes "$ours_codes")
[[ -n "${given[nbits]:-}" ]] && ours_args+=(--nbits "${opt[nbits]}")
faiss_args=("${common[@]}" --index "$faiss_index" --nbits "${opt[nbits]:-8}")

# Both sides on one core, so they are measured alike (2-core machine: the other core is left
# for builds and the OS).
pin=()
if command -v taskset >/dev/null 2>&1; then
  if ((cpu < $(nproc --all))); then pin=(taskset -c "$cpu"); else pin=(taskset -c 0); fi
else
  echo "faiss-compare: taskset not found, running unpinned" >&2
fi

mkdir -p out/bench
ours_json="out/bench/ev-$label.json"
faiss_json="out/bench/faiss-$label.json"

ev_bin="${EV_BIN:-out/ev/ev}"
[[ -n "${EV_BIN:-}" ]] && build=0

if ((run_ours)); then
  if ((build)); then
    echo "== building tools/EmbeddedVectors.Cli (Release) -> out/ev" >&2
    dotnet build tools/EmbeddedVectors.Cli -c Release -o out/ev
  fi
  echo "== ours: ${pin[*]} $ev_bin ${ours_args[*]} ${extra[*]-} --json $ours_json" >&2
  "${pin[@]}" "$ev_bin" "${ours_args[@]}" "${extra[@]}" --json "$ours_json" \
    | tee "out/bench/ev-$label.txt"
fi

if ((run_faiss)); then
  # FAISS run only: the environment here sets OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) on some
  # processors because older OpenBLAS builds misbehave on them; they would also slow a current
  # OpenBLAS, so they are unset (env -u) for this one command and never elsewhere. faiss_bench.py
  # reports the BLAS library and OpenBLAS kernel it ran with, and its recall checks the results.
  # OMP_NUM_THREADS=1: FAISS's OpenMP (and an OpenMP OpenBLAS) stay on one thread.
  faiss_env=(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1)
  # The AVX-512 build is a Python package directory, found first on PYTHONPATH; it links OpenBLAS itself.
  [[ "$faiss_build" == avx512 ]] && faiss_env+=(PYTHONPATH="$faiss_avx512${PYTHONPATH:+:$PYTHONPATH}")
  if [[ "$faiss_blas" == openblas ]]; then
    blas_dir="$root/out/bench/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp"
    if [[ ! -e "$blas_dir/libblas.so.3" ]]; then
      echo "== fetching Debian's libopenblas0-openmp into out/bench/openblas (no install)" >&2
      tmp="$(mktemp -d)"; chmod 755 "$tmp"  # readable by apt's _apt user
      (cd "$tmp" && apt-get download libopenblas0-openmp)
      dpkg -x "$tmp"/libopenblas0-openmp_*.deb "$root/out/bench/openblas"
      rm -rf "$tmp"
    fi
    faiss_env+=(LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  fi
  echo "== FAISS: ${pin[*]} /usr/bin/python3 tools/bench/faiss_bench.py ${faiss_args[*]} ${extra[*]-} --json $faiss_json" >&2
  "${faiss_env[@]}" "${pin[@]}" /usr/bin/python3 tools/bench/faiss_bench.py \
    "${faiss_args[@]}" "${extra[@]}" --json "$faiss_json" | tee "out/bench/faiss-$label.txt"
fi

if ((run_ours && run_faiss)); then
  echo
  python3 tools/bench/compare.py "$ours_json" "$faiss_json" | tee "out/bench/compare-$label.md"
fi
