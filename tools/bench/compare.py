#!/usr/bin/env python3
"""Side-by-side table of two benchmark JSONs: ours (`ev bench --json`) and FAISS (faiss_bench.py).

  compare.py OURS.json FAISS.json

Both files have the shape
  {"index": ..., "n": ..., "dim": ..., "k": ..., "threads": ..., "train_seconds": ...,
   "add_seconds": ..., "engine": ..., "results": [{"nprobe", "rerank", "recall_at_1",
   "recall_at_10", "qps", "batch_qps"}, ...]}
Rows are matched by (nprobe, rerank). Ratios are ours / FAISS; Δrecall@10 is ours - FAISS.
Prints markdown. Standard library only.
"""

import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


ALIASES = {
    # `ev bench` (System.Text.Json SnakeCaseLower) writes RecallAt1 as recall_at1
    "recall_at_1": ("recall_at_1", "recall_at1"),
    "recall_at_10": ("recall_at_10", "recall_at10"),
}


def get(result, name):
    for alias in ALIASES.get(name, (name,)):
        if result.get(alias) is not None:
            return result[alias]
    return None


def key(result):
    return (int(result.get("nprobe") or 0), int(result.get("rerank") or 0))


def num(value, fmt):
    return "–" if value is None else format(value, fmt)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def describe(doc):
    parts = [str(doc.get("engine", "?"))]
    if doc.get("faiss_version"):
        parts.append(doc["faiss_version"])
    parts.append(f"index={doc.get('index')}")
    for name in ("codes", "nlist", "m", "nbits"):
        if doc.get(name) is not None:
            parts.append(f"{name}={doc[name]}")
    parts.append(f"n={doc.get('n')} dim={doc.get('dim')} k={doc.get('k')} threads={doc.get('threads')}")
    if doc.get("use_precomputed_table") is not None:
        parts.append(f"use_precomputed_table={doc['use_precomputed_table']}")
    blas = doc.get("blas")
    if isinstance(blas, dict) and blas.get("libraries"):
        core = f" ({blas['openblas_core']})" if blas.get("openblas_core") else ""
        parts.append("BLAS=" + ",".join(blas["libraries"]) + core)
    if doc.get("timing"):
        parts.append(f"timing: {doc['timing']}")
    return " ".join(parts)


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: compare.py OURS.json FAISS.json")
    ours, faiss = load(argv[0]), load(argv[1])

    print(f"- ours:  {describe(ours)}")
    print(f"- FAISS: {describe(faiss)}")
    for name in ("n", "dim", "k", "threads"):
        if ours.get(name) != faiss.get(name):
            print(f"- **warning**: {name} differs: ours {ours.get(name)}, FAISS {faiss.get(name)}")
    print()

    o = {key(r): r for r in ours.get("results", [])}
    f = {key(r): r for r in faiss.get("results", [])}
    header = ["nprobe", "rerank", "ours recall@1", "FAISS recall@1", "ours recall@10",
              "FAISS recall@10", "Δrecall@10", "ours QPS", "FAISS QPS", "QPS ratio",
              "ours batch QPS", "FAISS batch QPS"]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---:" for _ in header) + "|")
    for k in sorted(set(o) | set(f)):
        a, b = o.get(k, {}), f.get(k, {})
        a10, b10 = get(a, "recall_at_10"), get(b, "recall_at_10")
        delta = None if a10 is None or b10 is None else a10 - b10
        cells = [
            str(k[0]), str(k[1]),
            num(get(a, "recall_at_1"), ".4f"), num(get(b, "recall_at_1"), ".4f"),
            num(a10, ".4f"), num(b10, ".4f"), num(delta, "+.4f"),
            num(a.get("qps"), ".0f"), num(b.get("qps"), ".0f"),
            num(ratio(a.get("qps"), b.get("qps")), ".2f") + ("×" if a and b else ""),
            num(a.get("batch_qps"), ".0f"), num(b.get("batch_qps"), ".0f"),
        ]
        print("| " + " | ".join(cells) + " |")
    print()

    ot, ft = ours.get("train_seconds"), faiss.get("train_seconds")
    oa, fa = ours.get("add_seconds"), faiss.get("add_seconds")
    print(f"train: ours {num(ot, '.3f')} s, FAISS {num(ft, '.3f')} s, ratio {num(ratio(ot, ft), '.2f')}; "
          f"add: ours {num(oa, '.3f')} s, FAISS {num(fa, '.3f')} s, ratio {num(ratio(oa, fa), '.2f')} "
          f"(ratios ours / FAISS)")


if __name__ == "__main__":
    main(sys.argv[1:])
