"""Cuts the text sample out of ../shared/data/debian-minilm-384/corpus.tsv.gz (run from the repo root; SHARED=/path/to/shared if it is not ../shared).

Every 30th line of the corpus (2,055 package descriptions), as they are: `package<TAB>text`.
"""
import gzip

import os
src = os.environ.get("SHARED", "../shared") + "/data/debian-minilm-384/corpus.tsv.gz"
dst = "samples/debian-text-2k/packages.tsv"
with gzip.open(src, "rt", encoding="utf-8") as corpus, open(dst, "w", encoding="utf-8", newline="\n") as out:
    for position, line in enumerate(corpus):
        if position % 30 == 0:
            out.write(line)
