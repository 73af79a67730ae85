"""Side-by-side UMAP to 2-D: emb's umap::project (target/release/umap-bench) against umap-learn, on
the same vectors in one run, with the trustworthiness of both maps measured by the same code.

    python3 bench/umap_speed.py [--rounds R] [--json FILE] [--keep DIR] [--umap-bench PATH]

Data: the 20,000 all-MiniLM-L6-v2 vectors of shared/corpus/corpus_20k.jsonl, that is
minilm20k.base.npy (19,000) then minilm20k.queries.npy (1,000) from $EMB_BENCH_CACHE (built by
bench/ann_data.py; run it first if they are missing), written once as one float32 matrix.

Both run with 15 neighbours, min_dist 0.1, cosine distance, 2 components, the default epochs
(200 above 10,000 points) and all cores:
  umap-learn  umap.UMAP(n_neighbors=15, min_dist=0.1, metric='cosine', n_components=2) with no
              random_state, so that it runs in parallel as a user would, in the peers' venv
              (bench/setup-peers). Each round's process first fits 5,000 rows to compile its
              numba code (warm-up, timed apart), then times fit_transform on all rows (warm).
              The cold time, what a first call in a fresh process costs, is one more process
              timing fit_transform on all rows with no warm-up, run once before the rounds.
  emb         umap-bench --input X.npy --output MAP.npy: umap::project with its defaults
              (spectral start, exact k-nearest neighbours); its time is project() alone, as the
              peer's is fit_transform alone (loading the matrix is not timed for either).
Rounds alternate peer, emb, peer, emb, ... (--rounds, default 2), each noting the load average
before it starts, since the machine may be shared.

Trustworthiness at k=15 (scikit-learn's definition, Euclidean on the normalised vectors, so in
cosine order) of every map comes from emb's trustworthiness (umap-bench --score MAP.npy). That
code is checked in the same run against sklearn.manifold.trustworthiness on a random subsample of
3,000 rows (--subsample) of the first round's two maps, handed to scikit-learn as float64 (on
float32 input it rounds the distances to float32 before ranking them, which moves a few near-tied
ranks: that value is printed too).

The bars: emb's seconds / umap-learn's warm seconds <= 1.0, and emb's trustworthiness at least
umap-learn's minus 0.02.
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))
NEIGHBOURS, MINIMUM_DISTANCE, TRUST_K = 15, 0.1, 15
WARM_UP_ROWS = 5000  # above umap-learn's 4,096, so that its approximate neighbour code compiles
TIME_BAR, TRUST_BAR = 1.0, 0.02


def emit(**event):
    print(json.dumps(event), flush=True)


# --- the peer, run as `PEERS_PYTHON umap_speed.py --worker umap-learn ...` -------------------

def fit(vectors):
    import umap

    model = umap.UMAP(n_neighbors=NEIGHBOURS, min_dist=MINIMUM_DISTANCE, metric="cosine",
                      n_components=2)
    start = time.perf_counter()
    embedding = model.fit_transform(vectors)
    return time.perf_counter() - start, embedding


def worker(arguments):
    """Times umap-learn (after a small warm-up unless --cold) and saves its map."""
    import warnings

    import numpy as np

    warnings.filterwarnings("ignore")
    start = time.perf_counter()
    import umap  # noqa: F401  (the import is part of a cold start)

    import_seconds = time.perf_counter() - start
    vectors = np.load(arguments.input)
    emit(event="version", engine="umap-learn", version=package_version("umap-learn"),
         numba=package_version("numba"), threads=numba_threads())
    if arguments.cold:
        seconds, embedding = fit(vectors)
        emit(event="cold", seconds=seconds, import_seconds=import_seconds)
    else:
        warm_up_seconds, _ = fit(vectors[:WARM_UP_ROWS])
        seconds, embedding = fit(vectors)
        emit(event="warm", seconds=seconds, warm_up_seconds=warm_up_seconds,
             warm_up_rows=WARM_UP_ROWS)
    np.save(arguments.output, embedding.astype(np.float32))


def sklearn_check(arguments):
    """sklearn.manifold.trustworthiness of the subsampled maps given, one JSON line each: on the
    rows as float64 (exact distances, as emb ranks them) and as given (float32, where
    scikit-learn rounds the distances to float32 before ranking them, so near-ties may fall
    either way)."""
    import numpy as np
    from sklearn.manifold import trustworthiness

    high = np.load(arguments.input)
    for path in arguments.maps:
        low = np.load(path)
        exact = trustworthiness(high.astype(np.float64), low.astype(np.float64),
                                n_neighbors=TRUST_K)
        rounded = trustworthiness(high, low, n_neighbors=TRUST_K)
        emit(event="sklearn", map=path, rows=len(high), trustworthiness=float(exact),
             float32=float(rounded))


def package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def numba_threads():
    try:
        import numba
        return numba.config.NUMBA_NUM_THREADS
    except ImportError:
        return None


# --- the driver ------------------------------------------------------------------------------

def peers_python():
    return subprocess.run([str(ROOT / "bench/setup-peers")], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.strip()


def run(command):
    """Runs one process; returns its JSON events by name (and an error, if it failed)."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    events = {"wall_seconds": round(time.perf_counter() - started, 2)}
    for line in result.stdout.splitlines():
        if line.strip().startswith("{"):
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            events[event.pop("event")] = event
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        events["error"] = f"exit status {result.returncode}: {tail}"
    return events


def load():
    return [round(value, 2) for value in os.getloadavg()]


def score(umap_bench, matrix, embedding):
    """emb's trustworthiness of a map, from umap-bench --score."""
    events = run([umap_bench, "--input", matrix, "--score", embedding,
                  "--trustworthiness-k", str(TRUST_K)])
    if "error" in events:
        sys.exit(f"error: umap-bench --score {embedding}: {events['error']}")
    return events["trustworthiness"]["trustworthiness"]


def concatenate(python, matrix):
    """Writes minilm20k's base then queries as one float32 .npy file; returns its shape."""
    if not (CACHE / "minilm20k.json").exists():
        print(f"minilm20k is not in {CACHE}: running bench/ann_data.py minilm20k ...",
              file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench/ann_data.py"), "minilm20k"], check=True)
    code = ("import numpy as np, sys; base = np.load(sys.argv[1]); queries = np.load(sys.argv[2]);"
            "x = np.ascontiguousarray(np.concatenate([base, queries]), dtype=np.float32);"
            "np.save(sys.argv[3], x); print(x.shape[0], x.shape[1])")
    result = subprocess.run([python, "-c", code, str(CACHE / "minilm20k.base.npy"),
                             str(CACHE / "minilm20k.queries.npy"), matrix],
                            capture_output=True, text=True, check=True)
    return [int(value) for value in result.stdout.split()]


def subsample(python, matrix, maps, rows, folder):
    """Writes the same random `rows` rows of the matrix and of each map; returns the paths."""
    code = ("import numpy as np, sys; rows = int(sys.argv[1]); folder = sys.argv[2];"
            "x = np.load(sys.argv[3]); chosen = np.sort(np.random.default_rng(0).choice("
            "len(x), rows, replace=False)); np.save(folder + '/high.npy', x[chosen]);"
            "[np.save(folder + f'/map{i}.npy', np.load(p)[chosen]) for i, p in "
            "enumerate(sys.argv[4:])]")
    subprocess.run([python, "-c", code, str(rows), str(folder), matrix, *maps], check=True)
    return str(folder / "high.npy"), [str(folder / f"map{index}.npy") for index in range(len(maps))]


def machine():
    model = None
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def git_commit():
    result = subprocess.run(["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
                            capture_output=True, text=True, check=False)
    return result.stdout.strip() or None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2,
                        help="alternating umap-learn / emb rounds (default 2)")
    parser.add_argument("--subsample", type=int, default=3000,
                        help="rows on which emb's trustworthiness is checked against sklearn")
    parser.add_argument("--umap-bench", default=os.environ.get(
        "EMB_UMAP_BENCH", str(ROOT / "target/release/umap-bench")), help="emb's benchmark binary")
    parser.add_argument("--no-cold", action="store_true", help="skip umap-learn's cold run")
    parser.add_argument("--json", metavar="FILE", help="also write every result here")
    parser.add_argument("--keep", metavar="DIR", help="keep the matrix and the maps here")
    # Internal: run the peer, or sklearn's check, in the peers' venv.
    parser.add_argument("--worker", choices=("umap-learn", "sklearn"), help=argparse.SUPPRESS)
    parser.add_argument("--cold", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("maps", nargs="*", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker == "umap-learn":
        worker(arguments)
        return
    if arguments.worker == "sklearn":
        sklearn_check(arguments)
        return
    if not pathlib.Path(arguments.umap_bench).exists():
        sys.exit(f"error: {arguments.umap_bench} not found: "
                 "cargo build --release -p emb-bench --bin umap-bench")
    python = peers_python()
    script = str(pathlib.Path(__file__).resolve())
    folder = pathlib.Path(arguments.keep or tempfile.mkdtemp(prefix="emb-umap-"))
    folder.mkdir(parents=True, exist_ok=True)
    matrix = str(folder / "minilm20k.npy")
    count, dimensions = concatenate(python, matrix)
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
              "emb_commit": git_commit(), "rows": count, "dimensions": dimensions,
              "parameters": {"n_neighbors": NEIGHBOURS, "min_dist": MINIMUM_DISTANCE,
                             "metric": "cosine", "n_components": 2,
                             "trustworthiness_k": TRUST_K},
              "cold": None, "rounds": []}
    emit(event="data", rows=count, dimensions=dimensions, matrix=matrix)

    def peer(cold, output):
        command = [python, script, "--worker", "umap-learn", "--input", matrix, "--output", output]
        return run(command + (["--cold"] if cold else []))

    if not arguments.no_cold:
        print(f"[{time.strftime('%H:%M:%S')}] umap-learn, cold ...", file=sys.stderr, flush=True)
        before = load()
        events = peer(True, str(folder / "umap-learn-cold.npy"))
        if "error" in events:
            sys.exit(f"error: umap-learn: {events['error']}")
        report["cold"] = {"seconds": events["cold"]["seconds"],
                          "import_seconds": events["cold"]["import_seconds"], "load": before,
                          "trustworthiness": score(arguments.umap_bench, matrix,
                                                   str(folder / "umap-learn-cold.npy"))}
        emit(event="umap-learn-cold", **report["cold"])
    first_maps = None
    for number in range(1, arguments.rounds + 1):
        print(f"[{time.strftime('%H:%M:%S')}] round {number}: umap-learn ...", file=sys.stderr,
              flush=True)
        peer_map = str(folder / f"umap-learn-{number}.npy")
        before = load()
        events = peer(False, peer_map)
        if "error" in events:
            sys.exit(f"error: umap-learn: {events['error']}")
        peer_run = {"engine": "umap-learn", "round": number, "load": before,
                    "seconds": events["warm"]["seconds"],
                    "warm_up_seconds": events["warm"]["warm_up_seconds"],
                    "version": events["version"],
                    "trustworthiness": score(arguments.umap_bench, matrix, peer_map)}
        emit(event="run", **peer_run)
        print(f"[{time.strftime('%H:%M:%S')}] round {number}: emb ...", file=sys.stderr,
              flush=True)
        emb_map = str(folder / f"emb-{number}.npy")
        before = load()
        events = run([arguments.umap_bench, "--input", matrix, "--output", emb_map,
                      "--trustworthiness-k", str(TRUST_K)])
        if "error" in events:
            sys.exit(f"error: umap-bench: {events['error']}")
        emb_run = {"engine": "emb", "round": number, "load": before,
                   "seconds": events["umap"]["seconds"]["total"],
                   "phases": events["umap"]["seconds"], "threads": events["umap"]["threads"],
                   "trustworthiness": events["umap"]["trustworthiness"]}
        emit(event="run", **emb_run)
        report["rounds"].append({"umap-learn": peer_run, "emb": emb_run,
                                 "time_ratio": emb_run["seconds"] / peer_run["seconds"],
                                 "trustworthiness_difference":
                                     emb_run["trustworthiness"] - peer_run["trustworthiness"]})
        if first_maps is None:
            first_maps = [peer_map, emb_map]

    # emb's trustworthiness against scikit-learn's, on the same subsample of both maps.
    high, maps = subsample(python, matrix, first_maps, arguments.subsample, folder)
    checks = []
    sklearn_values = subprocess.run(
        [python, script, "--worker", "sklearn", "--input", high, *maps],
        capture_output=True, text=True, check=True).stdout.splitlines()
    for line, small_map, full_map in zip(sklearn_values, maps, first_maps):
        expected = json.loads(line)
        found = score(arguments.umap_bench, high, small_map)
        checks.append({"map": pathlib.Path(full_map).name, "rows": arguments.subsample,
                       "emb": found, "sklearn": expected["trustworthiness"],
                       "difference": found - expected["trustworthiness"],
                       "sklearn_float32": expected["float32"]})
        emit(event="check", **checks[-1])
    report["check"] = checks

    ratios = [entry["time_ratio"] for entry in report["rounds"]]
    differences = [entry["trustworthiness_difference"] for entry in report["rounds"]]
    report["summary"] = {"median_time_ratio": statistics.median(ratios),
                         "median_trustworthiness_difference": statistics.median(differences)}
    print(f"\nUMAP to 2-D, {count:,} x {dimensions} (all-MiniLM-L6-v2), k={NEIGHBOURS}, "
          f"min_dist={MINIMUM_DISTANCE}, cosine; trustworthiness at k={TRUST_K} by emb's code")
    header = (f"{'round':<7}{'engine':<12}{'load (1/5/15 min)':<20}{'seconds':>9}"
              f"{'trustworthiness':>17}   phases (emb) / warm-up (umap-learn)")
    print(header)
    print("-" * len(header))
    if report["cold"]:
        cold = report["cold"]
        print(f"{'cold':<7}{'umap-learn':<12}{' '.join(map(str, cold['load'])):<20}"
              f"{cold['seconds']:>9.2f}{cold['trustworthiness']:>17.4f}   "
              f"first call in a fresh process (+{cold['import_seconds']:.1f} s import)")
    for entry in report["rounds"]:
        for engine in ("umap-learn", "emb"):
            one = entry[engine]
            if engine == "emb":
                phases = one["phases"]
                detail = (f"neighbours {phases['neighbours']:.2f}, graph {phases['graph']:.2f}, "
                          f"start {phases['initialisation']:.2f}, "
                          f"descent {phases['optimisation']:.2f}")
            else:
                detail = f"warm-up on {WARM_UP_ROWS:,} rows {one['warm_up_seconds']:.1f} s"
            print(f"{one['round']:<7}{engine:<12}{' '.join(map(str, one['load'])):<20}"
                  f"{one['seconds']:>9.2f}{one['trustworthiness']:>17.4f}   {detail}")
    for check in checks:
        print(f"check: {check['map']} on {check['rows']:,} rows: emb {check['emb']:.10f}, "
              f"sklearn {check['sklearn']:.10f} (difference {check['difference']:+.1e}; "
              f"sklearn on float32 {check['sklearn_float32']:.10f})")
    ratio = report["summary"]["median_time_ratio"]
    difference = report["summary"]["median_trustworthiness_difference"]
    print(f"emb / umap-learn (warm) time: {', '.join(f'{value:.2f}' for value in ratios)}; "
          f"median {ratio:.2f} ({'meets' if ratio <= TIME_BAR else 'MISSES'} the bar <= "
          f"{TIME_BAR})")
    print(f"emb - umap-learn trustworthiness: "
          f"{', '.join(f'{value:+.4f}' for value in differences)}; median {difference:+.4f} "
          f"({'meets' if difference >= -TRUST_BAR else 'MISSES'} the bar >= -{TRUST_BAR})")
    if arguments.json:
        pathlib.Path(arguments.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {arguments.json}")


if __name__ == "__main__":
    main()
