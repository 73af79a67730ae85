"""Side-by-side word2vec training: emb (target/release/word2vec-bench) against gensim 4.4.0's
Word2Vec, on the same text files with the same settings and thread count, in one run.

    python3 bench/word2vec_speed.py [--threads 2] [--rounds 1] [--small-rounds 5]
        [--corpora lee,large] [--architectures skip-gram,cbow] [--python PY] [--json FILE]
    python3 bench/word2vec_speed.py --build-corpus     # only build the large corpus

Corpora (one sentence per line, split at whitespace, as gensim's LineSentence reads them):
  lee    gensim's lee_background.cor (300 news articles, 59,890 words; scripts/fetch-eval-data).
  large  7.4 million words of English built here from two Debian packages fetched with
         `apt-get download` (run `apt-get update` once first): dict-gcide (the Collaborative
         International Dictionary of English, Webster's 1913 and its additions: its dictd file
         with headwords, pronunciations and [bracketed] notes removed) and linux-doc-6.1 (the
         Linux kernel's Documentation/*.rst). Every blank-line separated paragraph becomes one
         line, lowercased, with every run of characters outside a-z turned into one space.
         Written once to $EMB_BENCH_CACHE/word2vec/large.txt (about 42 MB).
Settings, the same for both: vector_size 100, window 5, min_count 5, negative 5, sample 1e-3,
alpha 0.025 to 0.0001, 5 epochs, seed 1, `threads` workers; skip-gram (sg=1), and CBOW (sg=0,
cbow_mean) once for the record. gensim runs `Word2Vec(...)` then `build_vocab(LineSentence)` and
`train(LineSentence, total_examples=corpus_count, epochs=5)`, exactly what
`Word2Vec(LineSentence(path), ...)` does, each timed. emb's binary reports the same two steps:
reading and counting the corpus (kept in memory as word numbers), then the epochs.
Speed: words of the corpus as read, times the epochs, per second of training alone ("training")
and of vocabulary plus training ("total"); gensim's training re-reads and re-splits the file
every epoch, emb's does not, which the "total" figure accounts for. Runs alternate gensim, emb,
one process each, and each is reported with the load average before it.
Quality: gensim's `evaluate_word_pairs` on WordSim353 for both models (emb's saved as word2vec
binary and loaded by gensim), over the pairs whose two words are in both vocabularies (compared
upper-cased, as evaluate_word_pairs does), so both score the same pairs. Bar: emb at least 1.5x
gensim's training words/second at the same thread count, with a comparable Spearman.
"""
import argparse
import gzip
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import side_by_side  # noqa: E402

WORK = side_by_side.CACHE / "word2vec"
PACKAGES = ("dict-gcide", "linux-doc-6.1")
SETTINGS = {"vector_size": 100, "window": 5, "min_count": 5, "negative": 5, "sample": 1e-3,
            "alpha": 0.025, "min_alpha": 0.0001, "epochs": 5, "seed": 1}
ARCHITECTURES = {"skip-gram": 1, "cbow": 0}


def eval_folder():
    """gensim's test data (lee_background.cor, wordsim353.tsv), fetched once."""
    script = side_by_side.ROOT / "scripts/fetch-eval-data"
    return pathlib.Path(subprocess.run([str(script)], check=True, capture_output=True,
                                       text=True).stdout.strip())


def paragraphs(text):
    """Each blank-line separated paragraph as one line: lowercase a-z words."""
    for paragraph in re.split(r"\n\s*\n", text):
        words = re.sub(r"[^a-z]+", " ", paragraph.lower()).split()
        if words:
            yield " ".join(words)


def large_corpus():
    """Builds the large corpus from the Debian packages (once); returns its path."""
    path = WORK / "large.txt"
    if path.exists():
        return path
    debs = WORK / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for package in PACKAGES:
        if not list(debs.glob(f"{package}_*.deb")):
            print(f"apt-get download {package} ...", file=sys.stderr, flush=True)
            subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
    tree = WORK / "tree"
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    partial = path.with_suffix(".partial")
    with open(partial, "w") as output:
        with gzip.open(tree / "usr/share/dictd/gcide.dict.dz", "rt", encoding="utf-8",
                       errors="replace") as dictionary:
            text = dictionary.read()
        text = re.sub(r"\\[^\\\n]*\\\s*(\([^()\n]*\))?", " ", text)  # \Head"word\ (pronunciation)
        text = re.sub(r"\[[^\]]{0,400}\]", " ", text)  # [1913 Webster], [etymology], [a^] codes
        output.writelines(line + "\n" for line in paragraphs(text))
        documentation = tree / "usr/share/doc/linux-doc-6.1/Documentation"
        for page in sorted(documentation.rglob("*.rst.gz")):
            with gzip.open(page, "rt", encoding="utf-8", errors="replace") as source:
                output.writelines(line + "\n" for line in paragraphs(source.read()))
    partial.rename(path)
    return path


def describe_packages():
    versions = {}
    for deb in sorted((WORK / "debs").glob("*.deb")):
        fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version"], check=True,
                                capture_output=True, text=True).stdout.split()
        versions[fields[1]] = fields[3]
    return versions


def gensim_run(arguments):
    """Trains with gensim in this (the peers') Python, saves the vectors, prints a JSON line."""
    import gensim
    from gensim.models import Word2Vec
    from gensim.models.word2vec import LineSentence

    model = Word2Vec(sg=ARCHITECTURES[arguments.architecture], workers=arguments.threads,
                     **SETTINGS)
    start = time.perf_counter()
    model.build_vocab(LineSentence(arguments.corpus))
    vocabulary_seconds = time.perf_counter() - start
    start = time.perf_counter()
    trained, raw = model.train(LineSentence(arguments.corpus), total_examples=model.corpus_count,
                               epochs=model.epochs)
    training_seconds = time.perf_counter() - start
    model.wv.save_word2vec_format(arguments.output, binary=True)
    side_by_side.emit(event="word2vec", vocabulary_size=len(model.wv),
                      corpus_words=raw // model.epochs, epochs=model.epochs,
                      trained_words=trained, vocabulary_seconds=vocabulary_seconds,
                      training_seconds=training_seconds, version=gensim.__version__)


def gensim_evaluate(arguments):
    """WordSim353 Spearman and Pearson of both models over the pairs both vocabularies hold."""
    from gensim.models import KeyedVectors

    models = {name: KeyedVectors.load_word2vec_format(path, binary=True)
              for name, path in (("emb", arguments.emb), ("gensim", arguments.gensim))}
    known = [{word.upper() for word in model.index_to_key} for model in models.values()]
    lines = pathlib.Path(arguments.pairs).read_text().splitlines()
    pairs = [line for line in lines if not line.startswith("#") and line.strip()]
    shared = [line for line in pairs
              if all(word.upper() in vocabulary for word in line.split("\t")[:2]
                     for vocabulary in known)]
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as restricted:
        restricted.write("\n".join(shared) + "\n")
    scores = {}
    for name, model in models.items():
        (pearson, _), (spearman, _), _ = model.evaluate_word_pairs(restricted.name)
        scores[name] = {"spearman": float(spearman), "pearson": float(pearson)}
    same_words = models["emb"].index_to_key == models["gensim"].index_to_key
    same_set = set(models["emb"].index_to_key) == set(models["gensim"].index_to_key)
    side_by_side.emit(event="evaluation", pairs=len(pairs), shared_pairs=len(shared),
                      scores=scores, same_vocabulary=same_set, same_order=same_words)


def run_once(command, engine, corpus, architecture, round_number, threads, output):
    """Runs one training process; returns its result with words/second figures."""
    events, run = side_by_side.run_events(command)
    event = events["word2vec"]
    words = event["corpus_words"] * event["epochs"]
    seconds = event["training_seconds"] + event["vocabulary_seconds"]
    result = {**event, "engine": engine, "corpus": corpus, "architecture": architecture,
              "round": round_number, "threads": threads, **run,
              "training_words_per_second": words / event["training_seconds"],
              "total_words_per_second": words / seconds, "vectors": str(output)}
    side_by_side.emit(event="run", **result)
    return result


def summarise(runs, evaluation, corpus, architecture, threads):
    """Median speeds of each engine, their ratios, and the WordSim353 scores."""
    speed = {engine: {kind: side_by_side.median([r[f"{kind}_words_per_second"] for r in runs
                                                 if r["engine"] == engine])
                      for kind in ("training", "total")}
             for engine in ("emb", "gensim")}
    last = runs[-1]
    return {"event": "summary", "corpus": corpus, "architecture": architecture,
            "threads": threads, "rounds": len(runs) // 2, "corpus_words": last["corpus_words"],
            "vocabulary_size": {r["engine"]: r["vocabulary_size"] for r in runs[-2:]},
            "words_per_second": speed,
            "training_speed_ratio": speed["emb"]["training"] / speed["gensim"]["training"],
            "total_speed_ratio": speed["emb"]["total"] / speed["gensim"]["total"],
            "bar": "training_speed_ratio >= 1.5", "wordsim353": evaluation}


def print_table(summaries, threads):
    print(f"\nword2vec, {threads} threads, 100 dimensions, window 5, 5 epochs "
          "(median words/s of the corpus as read):", file=sys.stderr)
    for summary in summaries:
        speed, scores = summary["words_per_second"], summary["wordsim353"]["scores"]
        print(f"  {summary['corpus']:<6}{summary['architecture']:<10}"
              f"{summary['corpus_words']:>10,} words  training: "
              f"emb {speed['emb']['training']:>10,.0f}  "
              f"gensim {speed['gensim']['training']:>10,.0f}  "
              f"ratio {summary['training_speed_ratio']:.2f}  |  "
              f"with vocabulary: ratio {summary['total_speed_ratio']:.2f}  |  "
              f"WordSim353 Spearman over {summary['wordsim353']['shared_pairs']} pairs: "
              f"emb {scores['emb']['spearman']:.3f}  gensim {scores['gensim']['spearman']:.3f}",
              file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="rounds on the large corpus")
    parser.add_argument("--small-rounds", type=int, default=5, help="rounds on lee_background")
    parser.add_argument("--corpora", default="lee,large")
    parser.add_argument("--architectures", default="skip-gram,cbow")
    parser.add_argument("--python", help="the peers' Python with gensim 4.4.0 (default: "
                                         "$EMB_PEERS_PYTHON or bench/setup-peers)")
    parser.add_argument("--json", help="also write every result here")
    parser.add_argument("--build-corpus", action="store_true",
                        help="only build the large corpus and print its path")
    parser.add_argument("--worker", choices=("train", "evaluate"), help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--architecture", default="skip-gram", help=argparse.SUPPRESS)
    parser.add_argument("--output", help=argparse.SUPPRESS)
    parser.add_argument("--emb", help=argparse.SUPPRESS)
    parser.add_argument("--gensim", help=argparse.SUPPRESS)
    parser.add_argument("--pairs", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker == "train":
        gensim_run(arguments)
        return
    if arguments.worker == "evaluate":
        gensim_evaluate(arguments)
        return
    if arguments.build_corpus:
        print(large_corpus())
        return

    binary = side_by_side.build("word2vec-bench")
    python = side_by_side.peers_python(arguments.python)
    folder = eval_folder()
    corpora = {name: folder / "lee_background.cor" if name == "lee" else large_corpus()
               for name in arguments.corpora.split(",")}
    if "large" in corpora:
        side_by_side.emit(event="corpus", name="large", path=str(corpora["large"]),
                          packages=describe_packages(), bytes=corpora["large"].stat().st_size)
    scratch = pathlib.Path(tempfile.mkdtemp(prefix="emb-word2vec-"))
    results, summaries = [], []
    for name, corpus in corpora.items():
        for architecture in arguments.architectures.split(","):
            runs = []
            rounds = arguments.small_rounds if name == "lee" else arguments.rounds
            for round_number in range(rounds):
                for engine in ("gensim", "emb"):
                    output = scratch / f"{name}-{architecture}-{engine}-{round_number}.bin"
                    print(f"[{time.strftime('%H:%M:%S')}] {name} {architecture} round "
                          f"{round_number + 1}: {engine} ...", file=sys.stderr, flush=True)
                    common = ["--corpus", corpus, "--architecture", architecture,
                              "--threads", arguments.threads, "--output", output]
                    command = ([binary, *common] if engine == "emb"
                               else [python, __file__, "--worker", "train", *common])
                    runs.append(run_once(command, engine, name, architecture, round_number,
                                         arguments.threads, output))
            evaluation, _ = side_by_side.run_events(
                [python, __file__, "--worker", "evaluate", "--emb", runs[-1]["vectors"],
                 "--gensim", runs[-2]["vectors"], "--pairs", folder / "wordsim353.tsv"])
            summary = summarise(runs, evaluation["evaluation"], name, architecture,
                                arguments.threads)
            side_by_side.emit(**summary)
            summaries.append(summary)
            results.extend(runs)
    machine = {"event": "machine", **side_by_side.machine(),
               "emb_commit": side_by_side.git_commit()}
    side_by_side.emit(**machine)
    print_table(summaries, arguments.threads)
    if arguments.json:
        pathlib.Path(arguments.json).write_text(
            "\n".join(json.dumps(r) for r in results + summaries + [machine]) + "\n")


if __name__ == "__main__":
    main()
