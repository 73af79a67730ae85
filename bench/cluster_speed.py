"""Side-by-side k-means and PCA: emb (target/release/cluster-bench) against scikit-learn, on the
same 20,000 all-MiniLM-L6-v2 vectors of ../shared/corpus/corpus_20k.jsonl, in one run.

    python3 bench/cluster_speed.py [--k 20] [--rounds 3] [--json FILE]

The vectors are minilm20k's base and queries put back together (bench/ann_data.py makes them;
this script runs it if they are missing). Each round runs, one after the other, scikit-learn's
KMeans(n_clusters=k, random_state=round) with its defaults (k-means++ start, n_init='auto' =
one start, Lloyd, tol 1e-4) and emb's k-means with its defaults (one greedy k-means++ start too, the
same tolerance rule, Elkan's bounds) and seed = round, both on all cores; then PCA(2) of each. Bars (issue 5): emb's k-means time
<= scikit-learn's and its inertia within 1% of scikit-learn's (lower is fine); PCA's explained
variance ratios equal to 1e-4. Times are wall clock of the fit alone (data already in memory).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))


def peers_python():
    return subprocess.run([str(ROOT / "bench/setup-peers")], check=True, capture_output=True,
                          text=True).stdout.strip()


def corpus_matrix():
    """The 20,000 vectors as one .npy (made once from minilm20k's base and queries)."""
    path = CACHE / "corpus20k.npy"
    if not path.exists():
        if not (CACHE / "minilm20k.base.npy").exists():
            subprocess.run([sys.executable, str(ROOT / "bench/ann_data.py"), "minilm20k"], check=True)
        import numpy as np

        base = np.load(CACHE / "minilm20k.base.npy")
        queries = np.load(CACHE / "minilm20k.queries.npy")
        np.save(path, np.concatenate([base, queries]).astype(np.float32))
    return path


def scikit_learn(path, k, seed):
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA

    matrix = np.load(path)
    start = time.perf_counter()
    model = KMeans(n_clusters=k, random_state=seed).fit(matrix)
    kmeans_seconds = time.perf_counter() - start
    start = time.perf_counter()
    pca = PCA(n_components=2).fit(matrix)
    pca_seconds = time.perf_counter() - start
    return {"engine": "scikit-learn", "version": sklearn.__version__, "seed": seed,
            "kmeans_seconds": kmeans_seconds, "inertia": float(model.inertia_),
            "iterations": int(model.n_iter_), "pca_seconds": pca_seconds,
            "explained_variance_ratio": [float(x) for x in pca.explained_variance_ratio_]}


def emb(path, k, seed):
    binary = ROOT / "target/release/cluster-bench"
    output = subprocess.run([str(binary), "--base", str(path), "--k", str(k), "--seed", str(seed)],
                            check=True, capture_output=True, text=True).stdout
    events = {event["event"]: event for event in map(json.loads, output.splitlines())}
    return {"engine": "emb", "seed": seed, "kmeans_seconds": events["kmeans"]["seconds"],
            "inertia": events["kmeans"]["inertia"], "iterations": events["kmeans"]["iterations"],
            "starts": events["kmeans"]["starts"], "pca_seconds": events["pca"]["seconds"],
            "explained_variance_ratio": events["pca"]["explained_variance_ratio"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(scikit_learn(arguments.worker, arguments.k, arguments.seed)))
        return
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "emb-bench", "--bin",
                    "cluster-bench"], cwd=ROOT, check=True)
    python = peers_python()
    path = subprocess.run([python, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); "
                           "import cluster_speed; print(cluster_speed.corpus_matrix())"],
                          check=True, capture_output=True, text=True).stdout.strip()
    results = []
    for seed in range(arguments.rounds):
        load = os.getloadavg()[0]
        peer = json.loads(subprocess.run([python, __file__, "--worker", path, "--k", str(arguments.k),
                                          "--seed", str(seed)], check=True, capture_output=True,
                                         text=True).stdout)
        ours = emb(path, arguments.k, seed)
        for result in (peer, ours):
            result["load"] = load
            results.append(result)
            print(json.dumps(result), flush=True)
    peers = [r for r in results if r["engine"] == "scikit-learn"]
    ours = [r for r in results if r["engine"] == "emb"]
    median = lambda values: sorted(values)[len(values) // 2]
    time_ratio = median([r["kmeans_seconds"] for r in ours]) / median([r["kmeans_seconds"] for r in peers])
    inertia_ratio = median([r["inertia"] for r in ours]) / median([r["inertia"] for r in peers])
    pca_difference = max(abs(a - b) for r, p in zip(ours, peers)
                         for a, b in zip(r["explained_variance_ratio"], p["explained_variance_ratio"]))
    pca_ratio = median([r["pca_seconds"] for r in ours]) / median([r["pca_seconds"] for r in peers])
    summary = {"event": "summary", "vectors": str(path), "k": arguments.k,
               "kmeans_time_ratio": time_ratio, "kmeans_time_bar": "<= 1.0",
               "inertia_ratio": inertia_ratio, "inertia_bar": "<= 1.01",
               "pca_max_ratio_difference": pca_difference, "pca_bar": "<= 1e-4",
               "pca_time_ratio": pca_ratio}
    print(json.dumps(summary))
    print(f"k-means k={arguments.k}: emb {median([r['kmeans_seconds'] for r in ours]):.2f} s "
          f"vs scikit-learn {median([r['kmeans_seconds'] for r in peers]):.2f} s "
          f"(ratio {time_ratio:.2f}, bar <= 1.0); inertia ratio {inertia_ratio:.4f} (bar <= 1.01)",
          file=sys.stderr)
    print(f"PCA: largest explained-variance-ratio difference {pca_difference:.2e} (bar 1e-4); "
          f"time ratio {pca_ratio:.2f}", file=sys.stderr)
    if arguments.json:
        pathlib.Path(arguments.json).write_text("\n".join(json.dumps(r) for r in results + [summary]) + "\n")


if __name__ == "__main__":
    main()
