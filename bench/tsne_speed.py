"""Side-by-side t-SNE: emb's Barnes-Hut t-SNE (target/release/tsne-bench) against scikit-learn's
TSNE on the same vectors, in one run.

    python3 bench/tsne_speed.py [--rows 5000] [--rounds 2] [--python PY] [--json FILE]

Data: the first ROWS rows of minilm20k.base.npy (all-MiniLM-L6-v2 vectors, normalised; made by
bench/ann_data.py, which this script runs if they are missing).
Settings, the same for both (scikit-learn's defaults but the metric): 2-D, perplexity 30, early
exaggeration 12 for 250 iterations, 1,000 iterations, learning rate 'auto' (max(n / 12 / 4, 50)),
angle (theta) 0.5, PCA start scaled to standard deviation 1e-4, metric cosine; seed = round.
Both use every core (scikit-learn's gradient through OpenMP, emb's through rayon).
Rounds alternate scikit-learn, emb, scikit-learn, emb, ..., one process each, and each run is
reported with the load average before it. Times are of the fit alone, data already in memory.
Quality: the trustworthiness (k=15, cosine distances in the input) of every map by
sklearn.manifold.trustworthiness, computed afterwards in a process of its own, and the final KL
divergence each reports. Goal (no bar is set): emb faster, trustworthiness within 0.02.
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

DATA = side_by_side.CACHE / "minilm20k.base.npy"
NEIGHBOURS = 15


def scikit_learn(arguments):
    """Runs TSNE in this (the peers') Python, saves the map, prints a JSON line."""
    import numpy as np
    import sklearn
    from sklearn.manifold import TSNE

    data = np.load(arguments.data)[:arguments.rows]
    model = TSNE(n_components=2, perplexity=arguments.perplexity, metric="cosine", init="pca",
                 random_state=arguments.seed)
    start = time.perf_counter()
    embedded = model.fit_transform(data)
    seconds = time.perf_counter() - start
    np.save(arguments.output, embedded.astype(np.float32))
    side_by_side.emit(event="tsne", seconds=seconds, kl_divergence=float(model.kl_divergence_),
                      iterations=int(model.n_iter_), rows=len(data), version=sklearn.__version__)


def trustworthiness(arguments):
    import numpy as np
    from sklearn.manifold import trustworthiness as measure

    data = np.load(arguments.data)[:arguments.rows]
    embedded = np.load(arguments.map)
    value = measure(data, embedded, n_neighbors=NEIGHBOURS, metric="cosine")
    side_by_side.emit(event="trustworthiness", value=float(value))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--perplexity", type=float, default=30.0)
    parser.add_argument("--python", help="the peers' Python (default: $EMB_PEERS_PYTHON or "
                                         "bench/setup-peers)")
    parser.add_argument("--json", help="also write every result here")
    parser.add_argument("--worker", choices=("tsne", "trustworthiness"), help=argparse.SUPPRESS)
    parser.add_argument("--data", default=str(DATA), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--map", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker == "tsne":
        scikit_learn(arguments)
        return
    if arguments.worker == "trustworthiness":
        trustworthiness(arguments)
        return
    if not DATA.exists():
        subprocess.run([sys.executable, str(side_by_side.ROOT / "bench/ann_data.py"), "minilm20k"],
                       check=True)
    binary = side_by_side.build("tsne-bench")
    python = side_by_side.peers_python(arguments.python)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="emb-tsne-"))
    common = ["--data", DATA, "--rows", arguments.rows, "--perplexity", arguments.perplexity]
    results = []
    for round_number in range(arguments.rounds):
        for engine in ("scikit-learn", "emb"):
            output = scratch / f"{engine}-{round_number}.npy"
            print(f"[{time.strftime('%H:%M:%S')}] round {round_number + 1}: {engine} ...",
                  file=sys.stderr, flush=True)
            if engine == "emb":
                command = [binary, *common, "--seed", round_number, "--output", output]
            else:
                command = [python, __file__, "--worker", "tsne", *common, "--seed", round_number,
                           "--output", output]
            events, run = side_by_side.run_events(command)
            results.append({"engine": engine, "round": round_number, **events["tsne"], **run,
                            "map": str(output)})
    for result in results:
        events, _ = side_by_side.run_events([python, __file__, "--worker", "trustworthiness",
                                             "--data", DATA, "--rows", arguments.rows,
                                             "--map", result.pop("map")])
        result["trustworthiness"] = events["trustworthiness"]["value"]
        side_by_side.emit(event="run", **result)
    by_engine = {engine: [r for r in results if r["engine"] == engine]
                 for engine in ("scikit-learn", "emb")}
    seconds = {engine: side_by_side.median([r["seconds"] for r in runs])
               for engine, runs in by_engine.items()}
    trust = {engine: side_by_side.median([r["trustworthiness"] for r in runs])
             for engine, runs in by_engine.items()}
    divergence = {engine: side_by_side.median([r["kl_divergence"] for r in runs])
                  for engine, runs in by_engine.items()}
    summary = {"event": "summary", "rows": arguments.rows, "perplexity": arguments.perplexity,
               "rounds": arguments.rounds, "seconds": seconds, "trustworthiness": trust,
               "kl_divergence": divergence,
               "time_ratio_emb_over_scikit_learn": seconds["emb"] / seconds["scikit-learn"],
               "trustworthiness_difference": trust["emb"] - trust["scikit-learn"],
               "machine": side_by_side.machine(), "emb_commit": side_by_side.git_commit()}
    side_by_side.emit(**summary)
    print(f"\nt-SNE of {arguments.rows:,} MiniLM vectors (cosine, perplexity "
          f"{arguments.perplexity:g}, 1,000 iterations), median of {arguments.rounds} rounds:",
          file=sys.stderr)
    for engine in ("scikit-learn", "emb"):
        print(f"  {engine:<13}{seconds[engine]:8.2f} s   trustworthiness@{NEIGHBOURS} "
              f"{trust[engine]:.4f}   KL {divergence[engine]:.4f}", file=sys.stderr)
    print(f"  emb / scikit-learn time: {summary['time_ratio_emb_over_scikit_learn']:.2f}x; "
          f"trustworthiness difference {summary['trustworthiness_difference']:+.4f} "
          "(goal: time < 1, |difference| <= 0.02)", file=sys.stderr)
    if arguments.json:
        pathlib.Path(arguments.json).write_text(
            "\n".join(json.dumps(r) for r in results + [summary]) + "\n")


if __name__ == "__main__":
    main()
