"""Embeds a JSON-lines corpus with sentence-transformers and prints one JSON object of timings.

Usage: st_speed.py MODEL_FOLDER CORPUS.jsonl [REPEATS]   (PyTorch CPU, 2 threads, batch 32)
"""
import json
import sys
import time

import torch
from sentence_transformers import SentenceTransformer


def main():
    folder, corpus = sys.argv[1], sys.argv[2]
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    threads = int(__import__("os").environ.get("BENCH_THREADS", "2"))
    torch.set_num_threads(threads)
    texts = [json.loads(line)["text"] for line in open(corpus) if line.strip()]
    model = SentenceTransformer(folder, device="cpu")
    model.encode(texts[:64], batch_size=32)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            start = time.perf_counter()
            model.encode(texts, batch_size=32)
            best = min(best, time.perf_counter() - start)
    print(json.dumps({"texts": len(texts), "seconds": best, "texts_per_second": len(texts) / best,
                      "threads": threads, "torch": torch.__version__,
                      "sentence_transformers": __import__("sentence_transformers").__version__}))


if __name__ == "__main__":
    main()
