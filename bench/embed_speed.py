"""Side-by-side embedding speed: emb vs sentence-transformers on the same corpora, in one run.

    python3 bench/embed_speed.py [--rounds 2] [CORPUS.jsonl ...]

Runs each side `--rounds` times, alternating (so machine noise hits both alike), keeps each
side's best time, and prints texts/s, tokens/s, the ratio, and emb's achieved GFLOP/s as a
fraction of the machine's measured FMA peak. Default corpora: ../shared/corpus/corpus.jsonl and
corpus_short.jsonl. Needs target/release/embed_speed (make build-bench) and the peers' venv
(bench/setup-peers).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = pathlib.Path(os.environ.get("EMB_SHARED", ROOT.parent / "shared"))
HOME = pathlib.Path(os.environ.get("EMB_HOME", pathlib.Path.home() / ".local/share/emb"))
MODEL = os.environ.get("EMB_BENCH_MODEL", str(HOME / "models/sentence-transformers/all-MiniLM-L6-v2"))


def run(command):
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("corpora", nargs="*")
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    corpora = arguments.corpora or [str(SHARED / "corpus/corpus.jsonl"), str(SHARED / "corpus/corpus_short.jsonl")]
    python = subprocess.run([str(ROOT / "bench/setup-peers")], capture_output=True, text=True, check=True).stdout.strip()
    emb_program = str(ROOT / "target/release/embed_speed")
    rows = []
    for corpus in corpora:
        best_emb, best_st = None, None
        for _ in range(arguments.rounds):
            emb = run([emb_program, MODEL, corpus, "1"])
            st = run([python, str(ROOT / "bench/st_speed.py"), MODEL, corpus, "1"])
            if best_emb is None or emb["seconds"] < best_emb["seconds"]:
                best_emb = emb
            if best_st is None or st["seconds"] < best_st["seconds"]:
                best_st = st
        rows.append((pathlib.Path(corpus).name, best_emb, best_st))
    st = rows[0][2]
    print(f"model {MODEL}; sentence-transformers {st.get('sentence_transformers', '?')} "
          f"(torch {st.get('torch', '?')}, CPU) on {st['threads']} threads, batch 32")
    print(f"{'corpus':22} {'texts':>6} {'tokens':>7} {'emb texts/s':>12} {'st texts/s':>11} {'ratio':>6} "
          f"{'emb tokens/s':>13} {'GFLOP/s':>8} {'of peak':>8}")
    for name, emb, st in rows:
        ratio = emb["texts_per_second"] / st["texts_per_second"]
        print(f"{name:22} {emb['texts']:6d} {emb['tokens']:7d} {emb['texts_per_second']:12.1f} "
              f"{st['texts_per_second']:11.1f} {ratio:5.2f}x {emb['tokens_per_second']:13.0f} "
              f"{emb['gflops_per_second']:8.1f} {emb['fraction_of_peak']:7.0%}")
    print("(peak = measured FMA throughput on all cores: "
          + ", ".join(f"{emb['peak_gflops_per_second']:.0f}" for _, emb, _ in rows) + " GFLOP/s)")


if __name__ == "__main__":
    main()
