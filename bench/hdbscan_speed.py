"""Side-by-side HDBSCAN: emb's (target/release/hdbscan-bench) against scikit-learn's HDBSCAN on
the same points, in one run.

    python3 bench/hdbscan_speed.py [blobs] [minilm20k] [--rounds 2] [--min-cluster-size 5]
                                   [--python PY] [--json FILE]

Datasets (both by default):
  blobs      10,000 2-D points: sklearn.datasets.make_blobs(9,500 points, 8 centres in
             (-10, 10)², standard deviations 0.4 to 1.6 by centre, random_state=0) and 500
             points uniform over the blobs' bounding box widened by 20% (numpy seed 0).
  minilm20k  the 20,000 all-MiniLM-L6-v2 vectors (minilm20k's base and queries together, as
             bench/cluster_speed.py makes them), normalised, 384-d.
Both engines: min_cluster_size 15 on blobs and 5 on minilm20k (--min-cluster-size sets both),
min_samples = min_cluster_size, Euclidean distance (on the unit MiniLM vectors it orders pairs as cosine does; scikit-learn's cosine
takes its brute-force path with a dense 20,000² float64 matrix), excess-of-mass selection, no
single cluster. scikit-learn runs with algorithm='auto' (a KD-tree for the core distances, then
Prim's algorithm over the data, one core); emb on every core.
Rounds alternate scikit-learn, emb, ..., one process each, with the load average before each.
Times are of the fit alone, data already in memory.
Agreement: the adjusted Rand index of the two labelings (noise as one more label; bar on blobs
>= 0.95) and the share of points both call noise or both call clustered. At min_cluster_size 15
the blobs come out as 7 clusters (two of the 8 touch) plus noise. At 5 both engines find about
300 small clusters inside the blobs whose edges hinge on tied mutual reachability distances:
scikit-learn joins tied merges one at a time in the order numpy's sort leaves them (its own tree
code on its own spanning tree with the ties sorted stably instead agrees with it only to an
adjusted Rand index of 0.96 there), while emb splits a cluster at all tied merges at once.
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import side_by_side  # noqa: E402

DATASETS = ("blobs", "minilm20k")
MIN_CLUSTER_SIZE = {"blobs": 15, "minilm20k": 5}
ARI_BAR = 0.95


def make_blobs(output):
    import numpy as np
    from sklearn.datasets import make_blobs as blobs

    spreads = np.linspace(0.4, 1.6, 8)
    points, _ = blobs(n_samples=9_500, centers=8, n_features=2, cluster_std=spreads,
                      center_box=(-10.0, 10.0), random_state=0)
    low, high = points.min(axis=0), points.max(axis=0)
    margin = 0.1 * (high - low)
    noise = np.random.default_rng(0).uniform(low - margin, high + margin, size=(500, 2))
    np.save(output, np.concatenate([points, noise]).astype(np.float32))


def scikit_learn(arguments):
    import numpy as np
    import sklearn
    from sklearn.cluster import HDBSCAN

    data = np.load(arguments.data)
    model = HDBSCAN(min_cluster_size=arguments.min_cluster_size, metric="euclidean")
    start = time.perf_counter()
    labels = model.fit_predict(data)
    seconds = time.perf_counter() - start
    np.save(arguments.labels[0], labels.astype(np.int32).reshape(-1, 1))
    side_by_side.emit(event="hdbscan", seconds=seconds, rows=len(data),
                      clusters=int(labels.max() + 1), noise=int((labels < 0).sum()),
                      version=sklearn.__version__)


def compare(arguments):
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    first, second = (np.load(path).ravel() for path in arguments.labels)
    side_by_side.emit(event="compare", adjusted_rand_index=float(adjusted_rand_score(first, second)),
                      noise_agreement=float(((first < 0) == (second < 0)).mean()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", metavar="DATASET", help="blobs, minilm20k")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--min-cluster-size", type=int,
                        help="for every dataset (default: 15 on blobs, 5 on minilm20k)")
    parser.add_argument("--python", help="the peers' Python (default: $EMB_PEERS_PYTHON or "
                                         "bench/setup-peers)")
    parser.add_argument("--json", help="also write every result here")
    parser.add_argument("--worker", choices=("blobs", "corpus", "hdbscan", "compare"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--labels", action="append", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker == "blobs":
        make_blobs(arguments.data)
        return
    if arguments.worker == "corpus":
        import cluster_speed

        print(cluster_speed.corpus_matrix())
        return
    if arguments.worker == "hdbscan":
        scikit_learn(arguments)
        return
    if arguments.worker == "compare":
        compare(arguments)
        return
    datasets = arguments.datasets or list(DATASETS)
    for name in datasets:
        if name not in DATASETS:
            parser.error(f"unknown dataset {name!r}: choose from {', '.join(DATASETS)}")
    binary = side_by_side.build("hdbscan-bench")
    python = side_by_side.peers_python(arguments.python)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="emb-hdbscan-"))
    results, summaries = [], []
    for name in datasets:
        if name == "blobs":
            data = scratch / "blobs.npy"
            subprocess.run([python, __file__, "--worker", "blobs", "--data", data], check=True)
        else:
            data = subprocess.run([python, __file__, "--worker", "corpus"], check=True,
                                  capture_output=True, text=True).stdout.strip()
        size = arguments.min_cluster_size or MIN_CLUSTER_SIZE[name]
        runs = []
        for round_number in range(arguments.rounds):
            for engine in ("scikit-learn", "emb"):
                labels = scratch / f"{name}-{engine}-{round_number}.npy"
                print(f"[{time.strftime('%H:%M:%S')}] {name}, round {round_number + 1}: "
                      f"{engine} ...", file=sys.stderr, flush=True)
                if engine == "emb":
                    command = [binary, "--data", data, "--metric", "euclidean",
                               "--min-cluster-size", size, "--labels", labels]
                else:
                    command = [python, __file__, "--worker", "hdbscan", "--data", data,
                               "--min-cluster-size", size, "--labels", labels]
                events, run = side_by_side.run_events(command)
                result = {"dataset": name, "engine": engine, "round": round_number,
                          **events["hdbscan"], **run}
                runs.append((result, labels))
                side_by_side.emit(event="run", **result)
        peer_labels = next(labels for result, labels in runs if result["engine"] != "emb")
        ours_labels = next(labels for result, labels in runs if result["engine"] == "emb")
        events, _ = side_by_side.run_events([python, __file__, "--worker", "compare",
                                             "--labels", peer_labels, "--labels", ours_labels])
        by_engine = {engine: [result for result, _ in runs if result["engine"] == engine]
                     for engine in ("scikit-learn", "emb")}
        seconds = {engine: side_by_side.median([r["seconds"] for r in engine_runs])
                   for engine, engine_runs in by_engine.items()}
        last = {engine: engine_runs[-1] for engine, engine_runs in by_engine.items()}
        summary = {"event": "summary", "dataset": name, "rows": last["emb"]["rows"],
                   "min_cluster_size": size, "rounds": arguments.rounds,
                   "seconds": seconds,
                   "time_ratio_emb_over_scikit_learn": seconds["emb"] / seconds["scikit-learn"],
                   "clusters": {engine: run["clusters"] for engine, run in last.items()},
                   "noise_fraction": {engine: run["noise"] / run["rows"]
                                      for engine, run in last.items()},
                   **events["compare"]}
        if name == "blobs":
            summary["adjusted_rand_index_bar"] = f">= {ARI_BAR}"
        summaries.append(summary)
        results.extend(result for result, _ in runs)
        side_by_side.emit(**summary)
    print(f"\nHDBSCAN, Euclidean, median of {arguments.rounds} rounds:", file=sys.stderr)
    for summary in summaries:
        print(f"  {summary['dataset']} ({summary['rows']:,} points, min_cluster_size "
              f"{summary['min_cluster_size']})", file=sys.stderr)
        for engine in ("scikit-learn", "emb"):
            print(f"    {engine:<13}{summary['seconds'][engine]:9.2f} s  "
                  f"{summary['clusters'][engine]:5d} clusters  "
                  f"noise {summary['noise_fraction'][engine]:.1%}", file=sys.stderr)
        bar = (f" ({'meets' if summary['adjusted_rand_index'] >= ARI_BAR else 'MISSES'} the bar "
               f">= {ARI_BAR})" if summary["dataset"] == "blobs" else "")
        print(f"    emb / scikit-learn time {summary['time_ratio_emb_over_scikit_learn']:.3f}x; "
              f"adjusted Rand index {summary['adjusted_rand_index']:.4f}{bar}; noise agreement "
              f"{summary['noise_agreement']:.2%}", file=sys.stderr)
    if arguments.json:
        report = {"machine": side_by_side.machine(), "emb_commit": side_by_side.git_commit()}
        pathlib.Path(arguments.json).write_text(
            "\n".join(json.dumps(r) for r in results + summaries + [report]) + "\n")


if __name__ == "__main__":
    main()
