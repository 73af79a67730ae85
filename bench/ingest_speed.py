"""Side-by-side ingest speed: `emb embed-multi --store` vs `llm embed-multi --store` (with
llm-sentence-transformers and the same all-MiniLM-L6-v2), on the same corpus, in one run.

    python3 bench/ingest_speed.py [--rounds 2] [CORPUS.jsonl]

Each round embeds the whole corpus into a fresh database with each tool, alternating, and keeps
each side's best wall time (start-up, model load, reading, embedding and writing all count, as a
user waits for them). Default corpus: ../shared/corpus/corpus.jsonl. Needs target/release/emb
(make build) and the peers' venv (bench/setup-peers).
"""
import argparse
import os
import pathlib
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("EMB_SHARED", ROOT.parent / "shared"))
HOME = pathlib.Path(os.environ.get("EMB_HOME", pathlib.Path.home() / ".local/share/emb"))
MODEL_FOLDER = HOME / "models/sentence-transformers/all-MiniLM-L6-v2"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def llm_environment(scratch):
    """llm, offline, finding the model in a Hugging Face style cache that links to the folder."""
    cached = scratch / "st-cache/models--sentence-transformers--all-MiniLM-L6-v2"
    (cached / "refs").mkdir(parents=True, exist_ok=True)
    (cached / "snapshots").mkdir(exist_ok=True)
    (cached / "refs/main").write_text("local")
    link = cached / "snapshots/local"
    if not link.exists():
        link.symlink_to(MODEL_FOLDER)
    return dict(os.environ, LLM_USER_PATH=str(scratch / "llm-home"), HF_HUB_OFFLINE="1",
                SENTENCE_TRANSFORMERS_HOME=str(scratch / "st-cache"))


def timed(command, environment):
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return seconds


def count(database):
    with sqlite3.connect(database) as connection:
        return connection.execute("select count(*) from embeddings").fetchone()[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpus", nargs="?", default=str(SHARED / "corpus/corpus.jsonl"))
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    python = subprocess.run([str(ROOT / "bench/setup-peers")], capture_output=True, text=True,
                            check=True).stdout.strip()
    llm = str(pathlib.Path(python).parent / "llm")
    emb = str(ROOT / "target/release/emb")
    texts = sum(1 for line in open(arguments.corpus) if line.strip())
    best = {"emb": None, "llm": None}
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        environment = llm_environment(scratch)
        for round_number in range(arguments.rounds):
            database = scratch / f"emb-{round_number}.db"
            seconds = timed([emb, "embed-multi", "docs", arguments.corpus, "--store", "-m", MODEL,
                             "-d", str(database)], environment)
            assert count(database) == texts, "emb stored the wrong number of items"
            best["emb"] = min(seconds, best["emb"] or seconds)
            database = scratch / f"llm-{round_number}.db"
            seconds = timed([llm, "embed-multi", "docs", arguments.corpus, "--format", "nl",
                             "--store", "-m", MODEL, "-d", str(database)], environment)
            assert count(database) == texts, "llm stored the wrong number of items"
            best["llm"] = min(seconds, best["llm"] or seconds)
    print(f"embed-multi --store of {pathlib.Path(arguments.corpus).name} ({texts} texts), "
          f"model {MODEL}, best of {arguments.rounds}")
    print(f"{'tool':6} {'seconds':>8} {'texts/s':>8}")
    for tool in ("emb", "llm"):
        print(f"{tool:6} {best[tool]:8.2f} {texts / best[tool]:8.1f}")
    print(f"ratio  {best['llm'] / best['emb']:.2f}x (emb faster)")


if __name__ == "__main__":
    main()
