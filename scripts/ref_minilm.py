#!/usr/bin/env python3
"""ref_minilm.py — the stored reference for all-MiniLM-L6-v2's sentence embeddings.

Runs sentence-transformers (PyTorch, float32, CPU) on the first N sentences of SST-2's dev set and writes
tests/ref/minilm_sst2.npy (float32 [N, 384], normalised as the model's Normalize module does) and
tests/ref/minilm_sst2.json (provenance). tests/test_bert.sh compares layerlab's `embed` with it, in CI without
PyTorch. Needs torch + transformers + sentence-transformers (not in CI):

    python scripts/ref_minilm.py .cache/models/all-MiniLM-L6-v2 ../shared/data/sst2_dev.tsv [N]
"""
import csv
import hashlib
import json
import sys

import numpy as np
import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer


def main():
    model_dir, tsv = sys.argv[1], sys.argv[2]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    with open(tsv, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    sents = [r[0] for r in rows[1:1 + n]]
    torch.manual_seed(0)
    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()
    with torch.no_grad():
        emb = model.encode(sents, batch_size=1, convert_to_numpy=True, normalize_embeddings=False)
    emb = np.asarray(emb, dtype=np.float32)
    np.save("tests/ref/minilm_sst2.npy", emb)
    with open(model_dir + "/model.safetensors", "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    meta = {
        "what": "sentence-transformers embeddings of the first %d sentences of sst2_dev.tsv (column 1, rows 2..)" % n,
        "model_safetensors_sha256": sha,
        "sentence_transformers": sentence_transformers.__version__,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "batch_size": 1,
        "shape": list(emb.shape),
        "command": "python scripts/ref_minilm.py " + " ".join(sys.argv[1:]),
    }
    with open("tests/ref/minilm_sst2.json", "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
