"""Side-by-side approximate nearest neighbour search: emb's HNSW index (target/release/ann-bench)
against hnswlib and FAISS, on the same vectors, queries and exact ground truth, in one run.

    python3 bench/ann_speed.py [DATASET ...] [--clustered1m] [--threads N] [--quantize Q|all]
                               [--engines emb,hnswlib,faiss-hnsw,faiss-flat] [--rounds R]
                               [--json FILE]

Datasets (built by bench/ann_data.py into $EMB_BENCH_CACHE, run first if missing): glove100 and
minilm20k by default; clustered1m (1,000,000 x 384) with --clustered1m or by name, as it is slow.

Every engine builds with the same M (16) and efConstruction (200) on N threads (--threads,
default all cores), then answers the 1,000 queries on one thread, sweeping ef (--efs); recall@10
is against the exact top 10.
  emb         ann-bench --base --queries --truth --m --ef-construction --threads --quantize --efs
              --k (JSON lines: build, one search per ef); --quantize none|f16|int8|binary|all is
              passed through (all: one build per quantisation).
  hnswlib     Index('ip'), init_index(M, ef_construction), add_items(num_threads=N); queries with
              set_ef(ef) and knn_query(num_threads=1).
  faiss-hnsw  IndexHNSWFlat(d, M, METRIC_INNER_PRODUCT), efConstruction, add with N OpenMP
              threads; search with efSearch = ef on 1 thread.
  faiss-flat  IndexFlatIP: exact search on 1 thread (the brute-force baseline).
Each engine runs in its own process, one after another (hnswlib and FAISS in the peers' venv from
bench/setup-peers). Each ef is warmed up on 100 queries before it is timed (as ann-bench does).
The peers' QPS is one knn_query/search call over all 1,000 queries on one thread (their fastest
way: no Python per query); their p50/p99 latencies come from a second pass of one call per query
(Python call overhead included). emb's QPS and latencies come from its own loop of one query at
a time. The headline compares, for each engine, the smallest ef at which recall@10 >= 0.95:
emb QPS / hnswlib QPS (bar: >= 1.0) and emb build seconds / hnswlib build seconds (bar: <= 1.2).
"""
import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
CACHE = pathlib.Path(os.environ.get("EMB_BENCH_CACHE", pathlib.Path.home() / ".cache/emb/bench"))
ENGINES = ("emb", "hnswlib", "faiss-hnsw", "faiss-flat")
PEERS = ("hnswlib", "faiss-hnsw", "faiss-flat")
QUANTIZATIONS = ("none", "f16", "int8", "binary")
DEFAULT_DATASETS = ("glove100", "minilm20k")
TARGET_RECALL = 0.95
QPS_BAR, BUILD_BAR = 1.0, 1.2


# --- the peers, run as `PEERS_PYTHON ann_speed.py --worker ENGINE ...` ----------------------

def emit(**event):
    print(json.dumps(event), flush=True)


def worker(arguments):
    """Builds one peer index and sweeps ef, printing the same JSON lines as ann-bench."""
    import resource

    import numpy as np

    base = np.load(arguments.base)
    queries = np.load(arguments.queries)
    truth = np.load(arguments.truth)[:, :arguments.k]
    count, dimensions = base.shape
    threads, k = arguments.threads, arguments.k
    efs = [int(ef) for ef in arguments.efs.split(",")]
    scratch = tempfile.mkdtemp(prefix="emb-ann-")
    saved = os.path.join(scratch, "index")
    if arguments.worker == "hnswlib":
        import hnswlib

        emit(event="version", engine="hnswlib", version=package_version("hnswlib"))
        index = hnswlib.Index(space="ip", dim=dimensions)
        start = time.perf_counter()
        index.init_index(max_elements=count, M=arguments.m,
                         ef_construction=arguments.ef_construction, random_seed=100)
        index.add_items(base, np.arange(count), num_threads=threads)
        seconds = time.perf_counter() - start
        index.save_index(saved)
        index.set_num_threads(1)

        def search(ef, batch):
            index.set_ef(ef)
            return index.knn_query(batch, k=k, num_threads=1)[0]
    else:
        import faiss

        emit(event="version", engine=arguments.worker, version=faiss.__version__)
        faiss.omp_set_num_threads(threads)
        start = time.perf_counter()
        if arguments.worker == "faiss-hnsw":
            index = faiss.IndexHNSWFlat(dimensions, arguments.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = arguments.ef_construction
        else:
            index = faiss.IndexFlatIP(dimensions)
            efs = [None]
        index.add(base)
        seconds = time.perf_counter() - start
        if arguments.worker == "faiss-hnsw":
            faiss.write_index(index, saved)
        else:
            base.tofile(saved)  # a flat index is its vectors
        faiss.omp_set_num_threads(1)

        def search(ef, batch):
            if ef is not None:
                index.hnsw.efSearch = ef
            return index.search(batch, k)[1]
    emit(event="build", seconds=seconds, index_bytes=os.path.getsize(saved), threads=threads)
    os.remove(saved)
    os.rmdir(scratch)
    for ef in efs:
        search(ef, queries[:100])  # warm up
        start = time.perf_counter()
        found = search(ef, queries)
        elapsed = time.perf_counter() - start
        latencies = []
        for row in range(len(queries)):
            one = time.perf_counter()
            search(ef, queries[row:row + 1])
            latencies.append((time.perf_counter() - one) * 1e3)
        hits = sum(len(set(found[row].tolist()) & set(truth[row].tolist()))
                   for row in range(len(queries)))
        latencies.sort()
        emit(event="search", ef=ef, recall=hits / (len(queries) * k),
             qps=len(queries) / elapsed, qps_loop=len(queries) / (sum(latencies) / 1e3),
             p50_ms=latencies[(len(latencies) - 1) // 2],
             p99_ms=latencies[int((len(latencies) - 1) * 0.99)])
    emit(event="memory", peak_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


# --- the driver ------------------------------------------------------------------------------

def peers_python():
    return subprocess.run([str(ROOT / "bench/setup-peers")], stdout=subprocess.PIPE, text=True,
                          check=True).stdout.strip()


def ensure_dataset(name):
    description = CACHE / f"{name}.json"
    if not description.exists():
        print(f"{name} is not in {CACHE}: running bench/ann_data.py {name} ...", file=sys.stderr,
              flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench/ann_data.py"), name], check=True)
    return json.loads(description.read_text())


def run_engine(command, environment=None):
    """Runs one engine's process; returns its parsed events (or an error)."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment,
                            check=False)
    run = {"build": None, "searches": [], "memory": None, "version": None,
           "wall_seconds": round(time.perf_counter() - started, 2)}
    for line in result.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        kind = event.pop("event", None)
        if kind == "search":
            run["searches"].append(event)
        elif kind in ("build", "memory", "open"):
            run[kind] = event
        elif kind == "version":
            run["version"] = event.get("version")
    if result.returncode != 0 or run["build"] is None or not run["searches"]:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        run["error"] = f"exit status {result.returncode}: {tail}"
    return run


def best_of(rounds):
    """One run per engine from several rounds: least build seconds, and per ef the most QPS, the
    least latencies and the mean recall (hnswlib and FAISS build on threads, so their graphs and
    recall vary a little between builds)."""
    if len(rounds) == 1:
        return rounds[0]
    merged = []
    for runs in zip(*rounds):
        good = [run for run in runs if not run.get("error")]
        if not good:
            merged.append(runs[0])
            continue
        run = json.loads(json.dumps(good[0]))
        run["build"]["seconds"] = min(one["build"]["seconds"] for one in good)
        for row, search in enumerate(run["searches"]):
            same = [one["searches"][row] for one in good if len(one["searches"]) > row]
            search["recall"] = sum(one["recall"] for one in same) / len(same)
            for key in ("qps", "qps_loop"):
                if key in search:
                    search[key] = max(one.get(key, 0) for one in same)
            for key in ("p50_ms", "p99_ms"):
                if key in search:
                    search[key] = min(one.get(key, float("inf")) for one in same)
        run["rounds"] = len(good)
        merged.append(run)
    return merged


def first_reaching(searches, target=TARGET_RECALL):
    """The search row with the smallest ef whose recall reaches the target, or None."""
    ordered = sorted(searches, key=lambda search: (search["ef"] is None, search["ef"] or 0))
    return next((search for search in ordered if search["recall"] >= target), None)


def megabytes(value):
    return f"{value / 1e6:.1f}" if isinstance(value, (int, float)) else "-"


def print_table(name, description, runs, arguments):
    print(f"\n{name}: {description['count']:,} x {description['dimensions']}, "
          f"{description['queries']:,} queries, recall@{arguments.k}, M={arguments.m}, "
          f"efConstruction={arguments.ef_construction}, build on {arguments.threads} threads, "
          "queries on 1")
    header = (f"{'engine':<16}{'build s':>9}{'index MB':>10}{'peak MB':>9}{'ef':>6}"
              f"{'recall@' + str(arguments.k):>11}{'QPS':>10}{'p50 ms':>9}{'p99 ms':>9}")
    print(header)
    print("-" * len(header))
    for run in runs:
        label = run["label"]
        if run.get("error"):
            print(f"{label:<16}  failed: {run['error'].splitlines()[0] if run['error'] else ''}")
            for line in run["error"].splitlines()[1:]:
                print(f"{'':<18}{line}")
            continue
        build = run["build"]
        peak = (run["memory"] or {}).get("peak_kb")
        for row, search in enumerate(run["searches"]):
            first = row == 0
            ef = "exact" if search["ef"] is None else search["ef"]
            print(f"{label if first else '':<16}"
                  f"{format(build['seconds'], '.2f') if first else '':>9}"
                  f"{megabytes(build.get('index_bytes')) if first else '':>10}"
                  f"{megabytes(peak * 1024 if peak else None) if first else '':>9}"
                  f"{ef:>6}{search['recall']:>11.4f}{search['qps']:>10,.0f}"
                  f"{search.get('p50_ms', float('nan')):>9.3f}"
                  f"{search.get('p99_ms', float('nan')):>9.3f}")
    if any(run["engine"] in PEERS for run in runs):
        print("(peers' QPS: one knn_query/search call over all queries on 1 thread; their p50/p99:"
              " one call per query, Python overhead included)")


def headline(runs):
    """emb (each quantisation) against hnswlib at the smallest ef reaching the target recall."""
    by_label = {run["label"]: run for run in runs if not run.get("error")}
    hnswlib = by_label.get("hnswlib")
    lines, results = [], []
    reference = first_reaching(hnswlib["searches"]) if hnswlib else None
    for run in runs:
        if run["engine"] == "faiss-flat" or run.get("error"):
            continue
        reached = first_reaching(run["searches"])
        entry = {"engine": run["label"], "ef": reached and reached["ef"],
                 "recall": reached and reached["recall"], "qps": reached and reached["qps"],
                 "build_seconds": run["build"]["seconds"]}
        if hnswlib and run is not hnswlib:
            entry["build_ratio_vs_hnswlib"] = run["build"]["seconds"] / hnswlib["build"]["seconds"]
            if reached and reference:
                entry["qps_ratio_vs_hnswlib"] = reached["qps"] / reference["qps"]
        results.append(entry)
    for entry in results:
        text = (f"ef={entry['ef']} recall {entry['recall']:.4f} QPS {entry['qps']:,.0f}"
                if entry["ef"] is not None else f"never reaches recall {TARGET_RECALL}")
        lines.append(f"  {entry['engine']:<16}{text}, build {entry['build_seconds']:.2f} s")
    for entry in results:
        if entry["engine"] == "hnswlib" or not entry["engine"].startswith("emb") or not hnswlib:
            continue
        qps_ratio = entry.get("qps_ratio_vs_hnswlib")
        build_ratio = entry["build_ratio_vs_hnswlib"]
        qps_text = (f"{qps_ratio:.2f}x ({'meets' if qps_ratio >= QPS_BAR else 'MISSES'} the "
                    f"bar >= {QPS_BAR})" if qps_ratio is not None else "n/a (target not reached)")
        lines.append(f"  {entry['engine']} / hnswlib: QPS {qps_text}; build time "
                     f"{build_ratio:.2f}x ({'meets' if build_ratio <= BUILD_BAR else 'MISSES'} "
                     f"the bar <= {BUILD_BAR})")
    return lines, results


def quantization_summary(runs, arguments):
    emb_runs = [run for run in runs if run["engine"] == "emb" and not run.get("error")]
    if len(emb_runs) < 2:
        return []
    efs = [search["ef"] for search in emb_runs[0]["searches"]]
    lines = [f"  {'quantize':<10}{'build s':>9}{'index MB':>10}{'search MB':>11}  "
             f"recall@{arguments.k} at ef {' '.join(f'{ef:>6}' for ef in efs)}"]
    for run in emb_runs:
        recalls = {search["ef"]: search["recall"] for search in run["searches"]}
        lines.append(f"  {run['quantize']:<10}{run['build']['seconds']:>9.2f}"
                     f"{megabytes(run['build'].get('index_bytes')):>10}"
                     f"{megabytes(run['build'].get('search_bytes')):>11}  "
                     f"{'':>{len(f'recall@{arguments.k} at ef')}} "
                     + " ".join(f"{recalls.get(ef, float('nan')):>6.3f}" for ef in efs))
    return lines


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
    parser.add_argument("datasets", nargs="*", metavar="DATASET",
                        help="glove100, minilm20k, clustered1m (default: glove100 minilm20k)")
    parser.add_argument("--clustered1m", action="store_true", help="also run clustered1m")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated, of {', '.join(ENGINES)} (default: all)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="build threads for every engine (default: all cores)")
    parser.add_argument("--quantize", default="none",
                        help=f"emb's vector codes: {'|'.join(QUANTIZATIONS)}|all")
    parser.add_argument("--efs", default="10,20,40,80,160,320")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--m", type=int, default=16)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ann-bench", default=os.environ.get(
        "EMB_ANN_BENCH", str(ROOT / "target/release/ann-bench")), help="emb's benchmark binary")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every engine this many times, alternating, and keep each "
                             "one's best (least build time, most QPS per ef, mean recall)")
    parser.add_argument("--json", metavar="FILE", help="also write every result here")
    # Internal: run one peer (in the peers' venv).
    parser.add_argument("--worker", choices=PEERS, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    parser.add_argument("--queries", help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments)
        return
    engines = [engine.strip() for engine in arguments.engines.split(",") if engine.strip()]
    for engine in engines:
        if engine not in ENGINES:
            parser.error(f"unknown engine {engine!r}: choose from {', '.join(ENGINES)}")
    quantizations = (list(QUANTIZATIONS) if arguments.quantize == "all"
                     else arguments.quantize.split(","))
    for quantization in quantizations:
        if quantization not in QUANTIZATIONS:
            parser.error(f"unknown quantisation {quantization!r}")
    datasets = list(arguments.datasets or DEFAULT_DATASETS)
    if arguments.clustered1m and "clustered1m" not in datasets:
        datasets.append("clustered1m")
    if "emb" in engines and not pathlib.Path(arguments.ann_bench).exists():
        sys.exit(f"error: {arguments.ann_bench} not found: cargo build --release -p emb-bench "
                 "(or leave emb out with --engines)")
    python = peers_python() if any(engine in PEERS for engine in engines) else None
    # One thread for BLAS everywhere (FAISS's exact search would otherwise use more); the
    # engines' own build threads are set explicitly.
    environment = dict(os.environ, OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(),
              "parameters": {"m": arguments.m, "ef_construction": arguments.ef_construction,
                             "threads": arguments.threads, "efs": arguments.efs,
                             "k": arguments.k, "quantize": quantizations,
                             "target_recall": TARGET_RECALL, "ann_bench": arguments.ann_bench},
              "emb_commit": git_commit(), "datasets": {}}
    for name in datasets:
        description = ensure_dataset(name)
        files = {kind: str(CACHE / f"{name}.{kind}.npy") for kind in ("base", "queries", "truth")}
        common = ["--base", files["base"], "--queries", files["queries"], "--truth",
                  files["truth"], "--m", str(arguments.m), "--ef-construction",
                  str(arguments.ef_construction), "--threads", str(arguments.threads),
                  "--efs", arguments.efs, "--k", str(arguments.k)]
        rounds = []
        for round_number in range(arguments.rounds):
            runs = []
            for engine in engines:
                variants = quantizations if engine == "emb" else [None]
                for quantization in variants:
                    label = engine if quantization is None else f"emb ({quantization})"
                    print(f"[{time.strftime('%H:%M:%S')}] {name}: {label}"
                          + (f", round {round_number + 1}" if arguments.rounds > 1 else "")
                          + " ...", file=sys.stderr, flush=True)
                    if engine == "emb":
                        command = [arguments.ann_bench, *common, "--quantize", quantization]
                    else:
                        command = [python, str(pathlib.Path(__file__).resolve()), "--worker",
                                   engine, *common]
                    run = run_engine(command, environment)
                    run.update(engine=engine, label=label, quantize=quantization)
                    runs.append(run)
            rounds.append(runs)
        runs = best_of(rounds)
        print_table(name, description, runs, arguments)
        lines, results = headline(runs)
        if lines:
            print(f"smallest ef reaching recall@{arguments.k} >= {TARGET_RECALL}:")
            print("\n".join(lines))
        summary = quantization_summary(runs, arguments)
        if summary:
            print("emb by quantisation:")
            print("\n".join(summary))
        report["datasets"][name] = {
            "count": description["count"], "dimensions": description["dimensions"],
            "queries": description["queries"],
            "sha256": {kind: entry["sha256"] for kind, entry in description["files"].items()},
            "runs": runs, "headline": results,
            "rounds": rounds if arguments.rounds > 1 else None}
    if arguments.json:
        pathlib.Path(arguments.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"\nwrote {arguments.json}")


if __name__ == "__main__":
    main()
