#!/usr/bin/python3
"""FAISS side of the EmbeddedVectors side-by-side benchmark.

Run it with the system interpreter (/usr/bin/python3), where Debian's python3-faiss lives.
Needs only faiss and numpy. Its arguments mirror `ev bench`:

  faiss_bench.py --base B.fvecs --queries Q.fvecs --gt G.ivecs --index flat|ivf|pq|ivfpq|ivfpqfs
                 [--nlist 1024] [--m 48] [--nbits 8] [--nprobe 1,2,4,8,16,32,64] [--rerank 0]
                 [--k 10] [--threads 1] [--train-size N] [--codes pq8|pq4fs] [--json out.json]

Index types:
  flat     IndexFlatL2
  ivf      IndexIVFFlat(IndexFlatL2(d), d, nlist)
  pq       IndexPQ(d, m, nbits)
  ivfpq    IndexIVFPQ(IndexFlatL2(d), d, nlist, m, nbits), by_residual, precomputed tables (FAISS default)
  ivfpqfs  IndexIVFPQFastScan(IndexFlatL2(d), d, nlist, m, 4): 4-bit fast-scan codes (nbits forced to 4)
--codes pq4fs turns --index ivfpq into ivfpqfs (and pq8 keeps ivfpq), as `ev bench` does.

--rerank R > 0 wraps the index in IndexRefineFlat with k_factor = R / k: the base index returns
R candidates, which are re-ranked by exact L2 distance. --rerank takes a comma list too.

Training uses the first --train-size base vectors (default: all) and keeps FAISS's own sampling
defaults (coarse k-means: at most 256 * nlist points; PQ: at most 256 * ksub points; IVFPQ
residuals: at most 65,536 points); the JSON reports them.
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import faiss


# ---------------------------------------------------------------- readers


def _read_vecs(path, dtype):
    """TEXMEX .fvecs/.ivecs: each row is an int32 dimension, then dim values of 4 bytes."""
    raw = np.fromfile(path, dtype=np.int32)
    if raw.size == 0:
        raise ValueError(f"{path}: empty file")
    dim = int(raw[0])
    if dim <= 0 or raw.size % (dim + 1) != 0:
        raise ValueError(f"{path}: not a vecs file (dim {dim}, {raw.size} int32 words)")
    rows = raw.reshape(-1, dim + 1)
    if not np.all(rows[:, 0] == dim):
        raise ValueError(f"{path}: rows of different dimensions")
    return np.ascontiguousarray(rows[:, 1:].view(dtype))


def read_fvecs(path):
    return _read_vecs(path, np.float32)


def read_ivecs(path):
    return _read_vecs(path, np.int32)


def read_matrix(path, dtype):
    """.fvecs, .ivecs or .npy (2-D), converted to a C-contiguous array of dtype."""
    lower = path.lower()
    if lower.endswith(".npy"):
        arr = np.load(path, allow_pickle=False)
        if arr.ndim == 1:
            arr = arr.reshape(1, -1)
        if arr.ndim != 2:
            raise ValueError(f"{path}: expected a 2-D array, got shape {arr.shape}")
    elif lower.endswith(".fvecs"):
        arr = read_fvecs(path)
    elif lower.endswith(".ivecs"):
        arr = read_ivecs(path)
    else:
        raise ValueError(f"{path}: unknown extension (expected .fvecs, .ivecs or .npy)")
    return np.ascontiguousarray(arr, dtype=dtype)


# ---------------------------------------------------------------- arguments


def int_list(text):
    values = [int(t) for t in text.replace(" ", "").split(",") if t != ""]
    if not values:
        raise argparse.ArgumentTypeError("empty list")
    return values


def parse_args(argv):
    p = argparse.ArgumentParser(description="FAISS side of the EmbeddedVectors benchmark")
    p.add_argument("--base", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--gt", required=True)
    p.add_argument("--index", default="ivfpq", choices=["flat", "ivf", "pq", "ivfpq", "ivfpqfs"])
    p.add_argument("--codes", choices=["pq8", "pq4fs"], default=None,
                   help="pq4fs turns ivfpq into ivfpqfs (4-bit fast scan)")
    p.add_argument("--nlist", type=int, default=1024)
    p.add_argument("--m", type=int, default=48)
    p.add_argument("--nbits", type=int, default=8)
    p.add_argument("--nprobe", type=int_list, default=[1, 2, 4, 8, 16, 32, 64])
    p.add_argument("--rerank", type=int_list, default=[0])
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--train-size", type=int, default=0, help="0 or absent: all base vectors")
    p.add_argument("--warmup", type=int, default=50, help="queries run before each timing")
    p.add_argument("--min-seconds", type=float, default=0.5,
                   help="single-query passes go on until this long (as ev bench: 0.5 s)")
    p.add_argument("--repeat", type=int, default=3,
                   help="at least this many single-query passes and this many batch calls; "
                        "qps_best / batch_qps_best are the fastest (extras)")
    p.add_argument("--max-base", type=int, default=0, help="use only the first N base vectors")
    p.add_argument("--metric", default="l2", help="l2, ip or cosine (as ev bench)")
    p.add_argument("--json", default=None)
    args, unknown = p.parse_known_args(argv)
    if unknown:
        print(f"faiss_bench: ignoring arguments FAISS has no use for: {' '.join(unknown)}",
              file=sys.stderr)
    if args.codes == "pq4fs":
        if args.index not in ("ivfpq", "ivfpqfs"):
            p.error("--codes pq4fs goes with --index ivfpq")
        args.index = "ivfpqfs"
    elif args.codes == "pq8" and args.index == "ivfpqfs":
        p.error("--codes pq8 contradicts --index ivfpqfs")
    if args.index == "ivfpqfs" and args.nbits != 4:
        args.nbits = 4  # fast scan exists only for 4-bit codes
    if args.k <= 0:
        p.error("--k must be positive")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.metric.strip().lower() not in METRICS:
        p.error(f"unknown --metric {args.metric}: use l2, ip or cosine")
    args.metric = METRICS[args.metric.strip().lower()]
    return args


# ---------------------------------------------------------------- index


METRICS = {"l2": "l2", "euclidean": "l2", "ip": "ip", "inner_product": "ip", "innerproduct": "ip",
           "dot": "ip", "cosine": "cosine", "cos": "cosine"}


def build_index(args, d):
    """Returns (base_index, ivf_or_None, keepalive): the base index before any refine wrapper.
    Cosine is inner product on normalised vectors (main() normalises them)."""
    metric = faiss.METRIC_L2 if args.metric == "l2" else faiss.METRIC_INNER_PRODUCT
    keep = []
    ivf = None
    if args.index == "flat":
        index = faiss.IndexFlat(d, metric)
    elif args.index == "pq":
        index = faiss.IndexPQ(d, args.m, args.nbits, metric)
    else:
        quantizer = faiss.IndexFlat(d, metric)
        keep.append(quantizer)  # the IVF index does not own it
        if args.index == "ivf":
            index = faiss.IndexIVFFlat(quantizer, d, args.nlist, metric)
        elif args.index == "ivfpq":
            index = faiss.IndexIVFPQ(quantizer, d, args.nlist, args.m, args.nbits, metric)
            index.by_residual = True
            # use_precomputed_table stays at FAISS's default (0 = "choose at train time":
            # becomes 1 when the nlist * m * ksub float table fits in
            # precomputed_table_max_bytes, L2 only); the value after training is reported.
        elif args.index == "ivfpqfs":
            index = faiss.IndexIVFPQFastScan(quantizer, d, args.nlist, args.m, 4, metric)
            index.by_residual = True
        else:
            raise ValueError(args.index)
        ivf = index
    return index, ivf, keep


def recall(ids, gt, k):
    nq = ids.shape[0]
    r1 = float(np.mean(ids[:, 0] == gt[:nq, 0]))
    hits = 0
    for i in range(nq):
        hits += len(set(ids[i, :k].tolist()) & set(gt[i, :k].tolist()))
    return r1, hits / (nq * k)


def blas_info():
    """Which BLAS the process loaded (FAISS uses it for batches >= 20 queries, k-means, add)."""
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if "blas" in base or "mkl" in base:
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    info = {"libraries": sorted(libs), "openblas_core": None}
    if not any("openblas" in lib for lib in libs):
        return info
    try:
        import ctypes
        lib = ctypes.CDLL("libopenblas.so.0")
        lib.openblas_get_corename.restype = ctypes.c_char_p
        info["openblas_core"] = lib.openblas_get_corename().decode()
    except (OSError, AttributeError):
        info["openblas_core"] = None
    return info


# ---------------------------------------------------------------- main


def main(argv):
    args = parse_args(argv)
    faiss.omp_set_num_threads(args.threads)

    t0 = time.perf_counter()
    xb = read_matrix(args.base, np.float32)
    xq = read_matrix(args.queries, np.float32)
    gt = read_matrix(args.gt, np.int64)
    if args.max_base > 0:
        xb = np.ascontiguousarray(xb[:args.max_base])
    if args.metric == "cosine":
        xb = xb / np.maximum(np.linalg.norm(xb, axis=1, keepdims=True), 1e-30)
        xq = xq / np.maximum(np.linalg.norm(xq, axis=1, keepdims=True), 1e-30)
        xb, xq = (np.ascontiguousarray(x, dtype=np.float32) for x in (xb, xq))
    load_seconds = time.perf_counter() - t0
    n, d = xb.shape
    nq = xq.shape[0]
    k = args.k
    if xq.shape[1] != d:
        sys.exit(f"queries have dim {xq.shape[1]}, base has {d}")
    if gt.shape[0] < nq:
        sys.exit(f"ground truth has {gt.shape[0]} rows for {nq} queries")
    if gt.shape[1] < k:
        sys.exit(f"ground truth has {gt.shape[1]} neighbours per query, k is {k}")

    train_size = n if args.train_size <= 0 else min(args.train_size, n)
    xt = xb[:train_size]

    base_index, ivf, keep = build_index(args, d)
    # As `ev bench`: re-ranking applies to the PQ-coded indexes (ours: ivfpq only); flat and ivf
    # already store the vectors, so they run with rerank 0 only.
    reranks = args.rerank
    if args.index in ("flat", "ivf") and any(r > 0 for r in reranks):
        print(f"faiss_bench: --rerank ignored for --index {args.index}", file=sys.stderr)
        reranks = [0]
    refine = None
    if any(r > 0 for r in reranks):
        refine = faiss.IndexRefineFlat(base_index)
        keep.append(base_index)
    top = refine if refine is not None else base_index  # what train and add go through

    upt_before = int(ivf.use_precomputed_table) if args.index == "ivfpq" else None

    t0 = time.perf_counter()
    if not top.is_trained:
        top.train(xt)
    train_seconds = time.perf_counter() - t0

    t0 = time.perf_counter()
    top.add(xb)
    add_seconds = time.perf_counter() - t0

    upt_after = int(ivf.use_precomputed_table) if args.index == "ivfpq" else None

    nprobes = args.nprobe if ivf is not None else [0]
    results = []
    for nprobe in nprobes:
        if ivf is not None:
            ivf.nprobe = nprobe
        for rr in reranks:
            if rr > 0:
                # k_factor * k candidates from the base index, re-ranked exactly
                refine.k_factor = max(1.0, float(rr) / k)
                index = refine
            else:
                index = base_index
            # warm-up: single queries, then a small batch
            w = min(args.warmup, nq)
            for i in range(w):
                index.search(xq[i:i + 1], k)
            if w:
                index.search(xq[:w], k)

            # Single queries, timed as `ev bench` times them: whole passes over all queries, one
            # index.search call per query, repeated until at least --min-seconds have passed (and
            # at least --repeat passes); qps = queries searched / total time. qps_best is the
            # fastest single pass (this shared VM is noisy: passes differ by up to 40%).
            ids = np.empty((nq, k), dtype=np.int64)
            single, single_cpu = [], []
            start = time.perf_counter()
            while True:
                c0 = time.process_time()
                t0 = time.perf_counter()
                for i in range(nq):
                    _, I = index.search(xq[i:i + 1], k)
                    ids[i] = I[0]
                single.append(time.perf_counter() - t0)
                single_cpu.append(time.process_time() - c0)
                if len(single) >= args.repeat and time.perf_counter() - start >= args.min_seconds:
                    break

            # Batch: one index.search call with all queries; the first call is batch_qps, as in
            # `ev bench`; --repeat - 1 more calls give batch_qps_best.
            batch, batch_cpu = [], []
            for rep in range(args.repeat):
                c0 = time.process_time()
                t0 = time.perf_counter()
                _, bids = index.search(xq, k)
                batch.append(time.perf_counter() - t0)
                batch_cpu.append(time.process_time() - c0)

            r1, r10 = recall(ids, gt, k)
            br1, br10 = recall(bids, gt, k)
            results.append({
                "nprobe": int(nprobe),
                "rerank": int(rr),
                "recall_at_1": r1,
                "recall_at_10": r10,
                "qps": nq * len(single) / sum(single),
                "batch_qps": nq / batch[0],
                "latency_us": sum(single) / (nq * len(single)) * 1e6,
                "qps_best": nq / min(single),
                "batch_qps_best": nq / min(batch),
                "qps_cpu": nq * len(single_cpu) / sum(single_cpu),
                "batch_qps_cpu": nq / batch_cpu[0],
                "single_passes": len(single),
                "qps_worst": nq / max(single),
                "batch_qps_passes": [nq / t for t in batch],
                "batch_recall_at_1": br1,
                "batch_recall_at_10": br10,
                "k_factor": float(refine.k_factor) if rr > 0 else None,
            })

    out = {
        "index": args.index,
        "n": int(n),
        "dim": int(d),
        "k": k,
        "threads": args.threads,
        "train_seconds": train_seconds,
        "add_seconds": add_seconds,
        "engine": "faiss",
        "faiss_version": faiss.__version__,
        "results": results,
        # extras
        "nq": int(nq),
        "nlist": args.nlist if ivf is not None else None,
        "m": args.m if args.index in ("pq", "ivfpq", "ivfpqfs") else None,
        "nbits": args.nbits if args.index in ("pq", "ivfpq", "ivfpqfs") else None,
        "train_size": int(train_size),
        "code_size": int(base_index.sa_code_size()) if hasattr(base_index, "sa_code_size") else None,
        "use_precomputed_table_default": upt_before,
        "use_precomputed_table": upt_after,
        "by_residual": bool(ivf.by_residual) if ivf is not None and hasattr(ivf, "by_residual") else None,
        "metric": args.metric,
        "faiss_compile_options": faiss.get_compile_options() if hasattr(faiss, "get_compile_options") else None,
        "faiss_defaults": {
            "coarse_kmeans_max_points": 256 * args.nlist if ivf is not None else None,
            "pq_train_max_points": 256 * (1 << args.nbits)
            if args.index in ("pq", "ivfpq", "ivfpqfs") else None,
            "ivfpq_residual_train_max_points": 65536 if args.index in ("ivfpq", "ivfpqfs") else None,
        },
        "load_seconds": load_seconds,
        "timing": f"wall clock after {args.warmup} warm-up queries; qps: passes of one "
                  f"index.search per query for >= {args.min_seconds} s (>= {args.repeat} passes), "
                  "total; batch_qps: first single index.search with all queries; *_best: fastest "
                  f"of the passes / of {args.repeat} batch calls; *_cpu: by process CPU time",
        "blas": blas_info(),
        "omp_max_threads": faiss.omp_get_max_threads(),
        "env": {v: os.environ.get(v) for v in
                ("OMP_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS")},
    }

    # human table
    desc = args.index
    if ivf is not None:
        desc += f" nlist={args.nlist}"
    if args.index in ("pq", "ivfpq", "ivfpqfs"):
        desc += f" m={args.m} nbits={args.nbits}"
    print(f"FAISS {faiss.__version__} ({out['faiss_compile_options']}) {desc}  "
          f"n={n} dim={d} nq={nq} k={k} threads={args.threads} train_size={train_size}")
    line = f"train {train_seconds:.3f} s   add {add_seconds:.3f} s"
    if upt_after is not None:
        line += f"   use_precomputed_table {upt_before} -> {upt_after}"
    print(line)
    b = out["blas"]
    print(f"BLAS: {', '.join(b['libraries']) or '?'}"
          + (f" (OpenBLAS core {b['openblas_core']})" if b["openblas_core"] else "")
          + f"   metric {args.metric}")
    print(f"{'nprobe':>6} {'rerank':>6} {'recall@1':>9} {'recall@10':>10} {'qps':>10} "
          f"{'batch_qps':>10} {'lat_us':>8} {'qps_best':>9} {'bqps_best':>9}")
    for r in results:
        print(f"{r['nprobe']:>6} {r['rerank']:>6} {r['recall_at_1']:>9.4f} {r['recall_at_10']:>10.4f} "
              f"{r['qps']:>10.1f} {r['batch_qps']:>10.1f} {r['latency_us']:>8.1f} {r['qps_best']:>9.1f} {r['batch_qps_best']:>9.1f}")
    sys.stdout.flush()

    if args.json:
        parent = os.path.dirname(os.path.abspath(args.json))
        os.makedirs(parent, exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
