#!/usr/bin/python3
"""FAISS anchor for the filtered-search benchmark (docs/benchmarks-filters.md, `store filters`).

FAISS IVFPQ (nlist 1024, m 48, 8-bit, L2, trained on every base vector) searched with an IDSelectorBitmap through
SearchParametersIVF(sel=..., nprobe=...), alone and under IndexRefineFlat (exact re-ranking of --rerank candidates,
as the store's default re-ranking), at the same filters as `store filters`: bucket < t for selectivities 0.01%..100%,
and a new 1% range each query. FAISS filters inside the scan of the probed cells and does not probe further, so a
selective filter comes back short: the table counts the short queries.

The buckets are the benchmark's own (`store filters --fields-out buckets.i32`: int32 a row, row order), so both
sides filter the same rows. Run it with FAISS 1.15 AVX-512 (see /work/shared/tools/faiss-avx512/README.md):

  dotnet tools/EmbeddedVectors.Benchmarks/bin/Release/net10.0/EmbeddedVectors.Benchmarks.dll store filters \\
      --dir /tmp/evfilt/store --queries 1 --reps 1 --fields-out /tmp/evfilt/buckets.i32
  PYTHONPATH=/work/shared/tools/faiss-avx512 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \\
      env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE taskset -c 1 /usr/bin/python3 tools/bench/faiss_filters.py \\
      --data /work/shared/data/debian-minilm-384 --buckets /tmp/evfilt/buckets.i32 --nprobe 16,48 --rerank 200

QPS is one thread (OMP_NUM_THREADS=1): each pass searches all queries in one call (FAISS's batch path, which is
what a FAISS user on one thread gets); the median of --reps passes.
"""

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import faiss

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faiss_bench import read_fvecs  # noqa: E402  (same directory)

BUCKETS = 10_000
SELECTIVITIES = [("none", -1), ("0.01%", 1), ("0.1%", 10), ("1%", 100), ("10%", 1_000), ("50%", 5_000),
                 ("100%", BUCKETS), ("1%, new each query", -2)]


def range_start(q):
    """The first bucket of query q's range for the new-each-query filter (as FiltersCommand.RangeStart)."""
    return q * 97 % (BUCKETS - 100)


def masks_for(below, buckets, nq):
    """One boolean mask over the rows per query (the same array for a fixed filter)."""
    if below == -1:
        return None
    if below == -2:
        return [(buckets >= range_start(q)) & (buckets < range_start(q) + 100) for q in range(nq)]
    mask = buckets < below
    return [mask] * nq


def exact_topk(base, queries, masks, k):
    """Brute force, float32: the k nearest rows passing each query's mask (fewer when fewer pass)."""
    norms = (base * base).sum(axis=1)
    out = []
    for start in range(0, len(queries), 100):
        chunk = queries[start:start + 100]
        d = norms[None, :] - 2.0 * chunk @ base.T
        for i in range(len(chunk)):
            row = d[i]
            if masks is not None:
                row = np.where(masks[start + i], row, np.inf)
            idx = np.argsort(row, kind="stable")[:k]
            out.append([int(j) for j in idx if np.isfinite(row[j])])
    return out


def selector(mask):
    bits = np.packbits(mask.astype(np.uint8), bitorder="little")
    return faiss.IDSelectorBitmap(len(mask), faiss.swig_ptr(bits)), bits  # keep bits alive


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="directory with base.fvecs and query.fvecs")
    parser.add_argument("--buckets", required=True, help="int32 bucket a row (store filters --fields-out)")
    parser.add_argument("--nlist", type=int, default=1024)
    parser.add_argument("--m", type=int, default=48)
    parser.add_argument("--nprobe", default="16,48")
    parser.add_argument("--rerank", type=int, default=200, help="IndexRefineFlat candidates (0: no refine rows)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--queries", type=int, default=0)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--json")
    args = parser.parse_args()

    base = read_fvecs(os.path.join(args.data, "base.fvecs"))
    queries = read_fvecs(os.path.join(args.data, "query.fvecs"))
    if args.queries > 0:
        queries = queries[:args.queries]
    buckets = np.fromfile(args.buckets, dtype="<i4")
    if len(buckets) != len(base):
        raise SystemExit(f"{args.buckets} holds {len(buckets)} buckets for {len(base)} rows")
    nq, d, k = len(queries), base.shape[1], args.k

    t = time.time()
    ivfpq = faiss.IndexIVFPQ(faiss.IndexFlatL2(d), d, args.nlist, args.m, 8)
    ivfpq.train(base)
    # IndexRefineFlat.add adds to its base index (the IVFPQ) and to its flat rows alike.
    refine = faiss.IndexRefineFlat(ivfpq) if args.rerank > 0 else None
    (refine or ivfpq).add(base)
    print(f"built IVFPQ in {time.time() - t:.1f} s", file=sys.stderr)

    rows = []
    for name, below in SELECTIVITIES:
        masks = masks_for(below, buckets, nq)
        truth = exact_topk(base, queries, masks, k)
        matches = [len(base) if masks is None else int(masks[q].sum()) for q in range(nq)]
        sels = None
        if masks is not None:
            if below == -2:
                sels = [selector(masks[q]) for q in range(nq)]
            else:
                one = selector(masks[0])
                sels = [one] * nq
        for nprobe in [int(x) for x in args.nprobe.split(",")]:
            for mode in (["ivfpq"] + (["ivfpq+refine"] if refine is not None else [])):
                def params(q):
                    ivf = faiss.SearchParametersIVF(nprobe=nprobe)
                    if sels is not None:
                        ivf.sel = sels[q][0]
                    if mode == "ivfpq":
                        return ivf
                    return faiss.IndexRefineSearchParameters(k_factor=args.rerank / k, base_index_params=ivf)

                index = ivfpq if mode == "ivfpq" else refine
                per_query = below == -2
                shared = None if per_query else params(0)

                def run():
                    if not per_query:
                        return index.search(queries, k, params=shared)[1]
                    out = np.empty((nq, k), dtype=np.int64)
                    for q in range(nq):
                        out[q] = index.search(queries[q:q + 1], k, params=params(q))[1][0]
                    return out

                ids = run()
                short = sum(1 for q in range(nq) if int((ids[q] >= 0).sum()) < min(k, matches[q]))
                found = sum(len(set(int(x) for x in ids[q] if x >= 0) & set(truth[q])) for q in range(nq))
                relevant = sum(len(truth[q]) for q in range(nq))
                qps = []
                for _ in range(args.reps):
                    t = time.perf_counter()
                    run()
                    qps.append(nq / (time.perf_counter() - t))
                row = dict(filter=name, matches=matches[0], nprobe=nprobe, mode=mode, rerank=args.rerank if mode != "ivfpq" else 0,
                           short=short, recall=found / relevant if relevant else 1.0, qps=statistics.median(qps),
                           qps_min=min(qps), qps_max=max(qps))
                rows.append(row)
                print(f"{name:>20} {mode:>13} nprobe {nprobe:>3}: matches {matches[0]:>6} short {short:>4} "
                      f"recall {row['recall']:.3f} QPS {row['qps']:,.0f} ({min(qps):,.0f}-{max(qps):,.0f})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(faiss=faiss.__version__, options=faiss.get_compile_options(), args=vars(args), rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
