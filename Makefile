# make demo   build in release mode, fetch the default model, run the main job on real data
# make test   every test (fetches the model, the reranker (scripts/fetch-reranker) and the evaluation data (gensim's, Fashion-MNIST), installs the Python
#             peers the llm and openai client tests run (bench/setup-peers) and Chromium with
#             Playwright for the page's browser test (scripts/setup-browser), and runs the tests
#             beside a private PostgreSQL 16 with pgvector (scripts/with-postgres, from the
#             pgserver wheel), and Debian's sqlite3 shell and a Python that loads SQLite
#             extensions for the extension's tests (scripts/setup-sqlite-hosts); all cached
#             outside the clone)
# make lint   rustfmt and clippy, warnings as errors
# make bench  speed against sentence-transformers, llm, hnswlib, FAISS, scikit-learn and gensim (needs the Python
#             peers: bench/setup-peers), emb serve under load (64 clients, batched and not), and
#             PostgreSQL ingest, index and recall (bench/postgres_speed.py, a private server),
#             CLIP pictures/s against PyTorch, Fashion-MNIST with raw pixels (kNN accuracy, maps),
#             and retrieval recall@5 / MRR of vector, hybrid and re-ranked search (bench/retrieval/run)

CARGO ?= cargo

.PHONY: demo test lint build build-bench model reranker eval-data peers browser postgres sqlite-hosts bench

build:
	$(CARGO) build --release -p emb-cli -p emb -p emb-sqlite --bins --examples --lib

model:
	scripts/fetch-model

reranker: peers
	scripts/fetch-reranker >/dev/null

eval-data:
	scripts/fetch-eval-data >/dev/null
	scripts/fetch-fashion-mnist >/dev/null

demo: build model
	scripts/demo

peers:
	bench/setup-peers >/dev/null

browser:
	scripts/setup-browser >/dev/null

postgres:
	scripts/setup-postgres >/dev/null

sqlite-hosts:
	scripts/setup-sqlite-hosts >/dev/null

test: model reranker eval-data peers browser postgres sqlite-hosts
	EMB_TEST_LLM="$$(dirname "$$(bench/setup-peers)")" EMB_TEST_BROWSER="$$(scripts/setup-browser)" \
		EMB_TEST_SQLITE3="$$(scripts/setup-sqlite-hosts | sed -n 1p)" \
		EMB_TEST_SQLITE_PYTHON="$$(scripts/setup-sqlite-hosts | sed -n 2p)" \
		scripts/with-postgres $(CARGO) test --release --workspace --all-targets
	$(CARGO) test --release --workspace --doc

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

build-bench:
	$(CARGO) build --release -p emb-bench

bench: build-bench build model reranker peers browser
	bench/retrieval/run
	python3 bench/cluster_speed.py
	python3 bench/umap_speed.py
	python3 bench/tsne_speed.py
	python3 bench/hdbscan_speed.py
	python3 bench/words_speed.py
	python3 bench/word2vec_speed.py
	python3 bench/embed_speed.py
	python3 bench/ingest_speed.py
	python3 bench/sql_speed.py
	python3 bench/picture_speed.py
	bench/fashion_mnist
	python3 bench/ann_data.py glove100 minilm20k
	python3 bench/ann_speed.py glove100 minilm20k --rounds 3
	./target/release/serve-load > target/serve-load.json
	bench/map/run > target/map-frames.jsonl
	scripts/with-postgres python3 bench/postgres_speed.py > target/postgres-minilm.json
	scripts/with-postgres python3 bench/postgres_speed.py --dataset glove100 > target/postgres-glove100.json
