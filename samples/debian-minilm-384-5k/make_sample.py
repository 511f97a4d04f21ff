"""Cuts the demo sample out of ../shared/data/debian-minilm-384 (run from the repo root).

Every 12th base row (5,053 vectors), the first 200 queries, their exact top-100 among the sample by squared L2,
and the sampled rows' package texts as JSON-lines payloads.
"""
import gzip, json, os, sys
sys.path.insert(0, "../shared/data/tools")
import numpy as np
import vecio

src = "../shared/data/debian-minilm-384"
dst = "samples/debian-minilm-384-5k"
base = vecio.read_fvecs(f"{src}/base.fvecs")
queries = vecio.read_fvecs(f"{src}/query.fvecs")[:200]
rows = np.arange(0, base.shape[0], 12)
sample = np.ascontiguousarray(base[rows])
truth, _ = vecio.exact_knn(sample, queries, k=100)
vecio.write_vecs(f"{dst}/base.fvecs", sample)
vecio.write_vecs(f"{dst}/query.fvecs", queries)
vecio.write_vecs(f"{dst}/groundtruth.ivecs", truth.astype(np.int32))

query_rows = {int(line) for line in open(f"{src}/query_rows.txt") if line.strip()}
texts = []
with gzip.open(f"{src}/corpus.tsv.gz", "rt", encoding="utf-8") as corpus:
    for position, line in enumerate(corpus):
        if position not in query_rows:
            texts.append(line.rstrip("\n").split("\t", 1))
wanted = set(rows.tolist())
with open(f"{dst}/payloads.jsonl", "w", encoding="utf-8") as out:
    for r in rows:
        package, text = texts[r]
        out.write(json.dumps({"package": package, "text": text}, ensure_ascii=False) + "\n")
print(sample.shape, queries.shape, truth.shape)
