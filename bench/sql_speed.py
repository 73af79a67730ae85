"""emb_cosine of emb's SQLite extension against the Python function llm registers, over the same
100,000 rows in one full-table query each.

    python3 bench/sql_speed.py [--rows 100000] [--dimensions 384] [--runs 3]

Both run in the same process on the same connection of Python's sqlite3 module:
  * llm's way (llm/embeddings.py, Collection.similar_by_vector): a one-argument SQL function
    `distance_score(embedding)` that decodes the blob with llm.decode and scores it with
    llm.cosine_similarity against the query vector it holds, registered with create_function;
  * emb's way: `.load`ed libemb_sqlite and `emb_cosine(embedding, ?)` with the query blob.
The query is `select id, <score> as score from embeddings order by score desc limit 10`; the two
top-10 lists are checked to agree. The vectors are seeded uniform random float32, stored as llm
stores them (little-endian float32 blobs in llm's embeddings table). Prints one JSON object with
the best time of each over --runs runs and their ratio.

Needs a Python whose sqlite3 module loads extensions (scripts/setup-sqlite-hosts finds one; this
script re-runs itself with it) and llm itself, imported from the peers' venv (bench/setup-peers),
which must be the same Python minor version.
"""
import argparse
import json
import os
import pathlib
import random
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXTENSION = ROOT / "target/release/libemb_sqlite.so"

if not hasattr(sqlite3.Connection, "enable_load_extension"):
    hosts = subprocess.run([str(ROOT / "scripts/setup-sqlite-hosts")], capture_output=True, text=True, check=True)
    python = hosts.stdout.splitlines()[1]
    os.execv(python, [python, *sys.argv])


def import_llm():
    peers = subprocess.run([str(ROOT / "bench/setup-peers")], capture_output=True, text=True, check=True).stdout.strip()
    site = subprocess.run(
        [peers, "-c", "import llm, os, sys; print(os.path.dirname(os.path.dirname(llm.__file__))); print(sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()
    if site[1] != str(sys.version_info[:2]):
        sys.exit(f"the peers' venv runs Python {site[1]} but this one is {sys.version_info[:2]}: llm cannot be imported here")
    sys.path.append(site[0])
    import llm
    return llm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=384)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    if not EXTENSION.is_file():
        sys.exit(f"{EXTENSION} is missing: run `make build`")
    llm = import_llm()

    generator = random.Random(42)
    pack = struct.Struct("<%df" % arguments.dimensions).pack

    def random_vector():
        return [generator.random() - 0.5 for _ in range(arguments.dimensions)]

    with tempfile.TemporaryDirectory() as folder:
        connection = sqlite3.connect(os.path.join(folder, "embeddings.db"))
        connection.execute("create table embeddings (collection_id integer, id text, embedding blob, primary key (collection_id, id))")
        connection.executemany(
            "insert into embeddings values (1, ?, ?)",
            ((f"item-{index}", pack(*random_vector())) for index in range(arguments.rows)),
        )
        connection.commit()
        query = random_vector()
        query_blob = pack(*query)
        vector = llm.decode(query_blob)

        def distance_score(other_encoded):
            other_vector = llm.decode(other_encoded)
            return llm.cosine_similarity(other_vector, vector)

        connection.create_function("distance_score", 1, distance_score)
        connection.enable_load_extension(True)
        connection.load_extension(str(EXTENSION))
        connection.enable_load_extension(False)

        def best(sql, parameters):
            times, result = [], None
            for _ in range(arguments.runs):
                started = time.perf_counter()
                result = connection.execute(sql, parameters).fetchall()
                times.append(time.perf_counter() - started)
            return min(times), result

        template = "select id, {score} as score from embeddings order by score desc limit 10"
        python_seconds, python_top = best(template.format(score="distance_score(embedding)"), ())
        emb_seconds, emb_top = best(template.format(score="emb_cosine(embedding, ?)"), (query_blob,))
        same = [row[0] for row in python_top] == [row[0] for row in emb_top] and all(
            abs(a[1] - b[1]) < 1e-5 for a, b in zip(python_top, emb_top)
        )
        print(json.dumps({
            "rows": arguments.rows,
            "dimensions": arguments.dimensions,
            "sqlite": sqlite3.sqlite_version,
            "python_function_seconds": round(python_seconds, 4),
            "emb_cosine_seconds": round(emb_seconds, 4),
            "speedup": round(python_seconds / emb_seconds, 1),
            "same_top_10": same,
        }))
        if not same:
            sys.exit("the two rankings differ")


main()
