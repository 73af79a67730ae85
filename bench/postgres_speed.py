"""emb on PostgreSQL with pgvector: bulk ingest of 100,000 pre-computed 384-d vectors, the HNSW
index build, and recall@10 of indexed searches against exact ones.

    scripts/with-postgres python3 bench/postgres_speed.py [--dataset minilm|glove100] [--count 100000]

Runs against the server EMB_TEST_POSTGRES names (scripts/with-postgres starts a private one).
The vectors: the all-MiniLM-L6-v2 embeddings of ../shared/corpus/corpus_20k.jsonl made by
`bench/ann_data.py minilm20k` (about 19,000 real vectors), and, to reach the count, copies of
them moved by Gaussian noise to a cosine of about 0.9 from their original (near-duplicates, as
real collections hold), normalised. The queries are the 1,000 held-out real vectors of
minilm20k; exact neighbours are computed here with numpy. `--dataset glove100` uses the first
100,000 GloVe 100-d word vectors of `bench/ann_data.py glove100` and its held-out queries
instead: real vectors whose neighbourhoods are harder for HNSW.

Measured, each in the same run:
  * `emb collections import` of an .npy matrix (with its ids beside it) into PostgreSQL;
  * `emb collections copy` of the same collection from a SQLite file into a fresh PostgreSQL
    collection;
  * `emb index build` (pgvector HNSW, m = 16, ef_construction = 200 unless given);
  * recall@10 and queries per second of `emb serve`'s search route at several ef_search values
    and with `exact`, over HTTP from one client.
"""
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent
try:
    import numpy as np
except ImportError:  # run again with the peers' venv, which has numpy
    python = subprocess.run([str(ROOT / "bench/setup-peers")], capture_output=True, text=True, check=True).stdout.strip()
    os.execv(python, [python, *sys.argv])

EMB = ROOT / "target/release/emb"
MODEL_FOLDER = pathlib.Path(os.environ.get("EMB_HOME", pathlib.Path.home() / ".local/share/emb")) / "models/sentence-transformers/all-MiniLM-L6-v2"
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(arguments, **options):
    started = time.perf_counter()
    result = subprocess.run([str(EMB), *arguments], capture_output=True, text=True, check=False, **options)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"emb {' '.join(arguments)} failed:\n{result.stderr}")
    return seconds, result


def vectors(dataset, count, seed=9):
    if dataset == "glove100":
        # Real word vectors (GloVe 6B, 100-d), a harder neighbourhood structure.
        path = CACHE / "glove100.base.npy"
        if not path.exists():
            sys.exit(f"no {path}: run `python3 bench/ann_data.py glove100` first")
        base = np.load(path, mmap_mode="r")[:count].astype(np.float32)
        base /= np.linalg.norm(base, axis=1, keepdims=True)
        queries = np.load(CACHE / "glove100.queries.npy").astype(np.float32)
        return base, queries
    base_path = CACHE / "minilm20k.base.npy"
    if not base_path.exists():
        sys.exit(f"no {base_path}: run `python3 bench/ann_data.py minilm20k` first")
    base = np.load(base_path).astype(np.float32)
    queries = np.load(CACHE / "minilm20k.queries.npy").astype(np.float32)
    generator = np.random.default_rng(seed)
    rows = [base]
    made = len(base)
    while made < count:
        take = min(len(base), count - made)
        noisy = base[:take] + generator.normal(0.0, 0.0247, size=(take, base.shape[1])).astype(np.float32)
        rows.append(noisy)
        made += take
    matrix = np.concatenate(rows)[:count]
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix.astype(np.float32), queries


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as answer:
        return json.load(answer)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["minilm", "glove100"], default="minilm")
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=5000)
    arguments = parser.parse_args()
    url = os.environ.get("EMB_TEST_POSTGRES")
    if not url:
        sys.exit("EMB_TEST_POSTGRES is not set: run under scripts/with-postgres")
    if not EMB.exists():
        sys.exit("no target/release/emb: run `make build`")

    matrix, queries = vectors(arguments.dataset, arguments.count)
    queries = queries[: arguments.queries]
    count, dimensions = matrix.shape
    results = {"dataset": arguments.dataset, "count": count, "dimensions": dimensions}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        environment = dict(os.environ, EMB_HOME=str(scratch / "home"), EMB_OFFLINE="1")
        np.save(scratch / "vectors.npy", matrix)
        with open(scratch / "vectors.jsonl", "w") as ids:
            for index in range(count):
                ids.write(json.dumps({"id": f"v{index:06d}"}) + "\n")

        log(f"importing {count} vectors of {dimensions} dimensions into PostgreSQL ...")
        seconds, _ = run(["collections", "import", "bench", str(scratch / "vectors.npy"), "-m", "all-MiniLM-L6-v2",
                          "-d", url, "--batch-size", str(arguments.batch_size)], env=environment)
        results["import_seconds"] = seconds
        results["import_vectors_per_second"] = count / seconds
        log(f"  import: {seconds:.1f} s, {count / seconds:,.0f} vectors/s")

        sqlite = scratch / "bench.db"
        run(["collections", "import", "bench", str(scratch / "vectors.npy"), "-m", "all-MiniLM-L6-v2",
             "-d", str(sqlite), "--batch-size", str(arguments.batch_size)], env=environment)
        base = url.rsplit("/", 1)[0]
        subprocess.run([os.path.join(os.environ["EMB_TEST_POSTGRES_BIN"], "psql"), url, "-qc",
                        "DROP DATABASE IF EXISTS emb_bench_copy", "-c", "CREATE DATABASE emb_bench_copy"],
                       check=True, capture_output=True)
        log("copying the collection from SQLite into another PostgreSQL database ...")
        seconds, _ = run(["collections", "copy", "bench", "--from", str(sqlite), "--to", f"{base}/emb_bench_copy",
                          "--batch-size", str(arguments.batch_size)], env=environment)
        results["copy_seconds"] = seconds
        results["copy_vectors_per_second"] = count / seconds
        log(f"  copy: {seconds:.1f} s, {count / seconds:,.0f} vectors/s")

        log(f"building the HNSW index (m = {arguments.m}, ef_construction = {arguments.ef_construction}) ...")
        seconds, _ = run(["index", "build", "bench", "-d", url, "--m", str(arguments.m),
                          "--ef-construction", str(arguments.ef_construction)], env=environment)
        results["index_build_seconds"] = seconds
        log(f"  index: {seconds:.1f} s")

        truth = np.argsort(-(queries @ matrix.T), axis=1)[:, :10]
        truth_ids = [{f"v{index:06d}" for index in row} for row in truth]
        port = free_port()
        server = subprocess.Popen([str(EMB), "serve", "-d", url, "--port", str(port), "-m", str(MODEL_FOLDER)],
                                  env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            address = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    urllib.request.urlopen(f"{address}/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.05)
            searches = []
            for ef in [None, 40, 64, 100, 200, 400]:
                found = 0
                started = time.perf_counter()
                for query, expected in zip(queries, truth_ids):
                    body = {"vector": query.tolist(), "k": 10}
                    if ef is None:
                        body["exact"] = True
                    else:
                        body["ef"] = ef
                    hits = post(f"{address}/v1/collections/bench/search", body)["data"]
                    found += len({hit["id"] for hit in hits} & expected)
                seconds = time.perf_counter() - started
                recall = found / (10 * len(queries))
                label = "exact" if ef is None else f"ef {ef}"
                searches.append({"ef": ef, "recall_at_10": recall, "queries_per_second": len(queries) / seconds})
                log(f"  {label:>6}: recall@10 {recall:.3f}, {len(queries) / seconds:,.0f} queries/s (HTTP, one client)")
            results["searches"] = searches
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
