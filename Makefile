# make demo   build in release mode, fetch the default model, run the main job on real data
# make test   every test (fetches the model first)
# make lint   rustfmt and clippy, warnings as errors
# make bench  speed against sentence-transformers (needs the Python peers: bench/setup-peers)

CARGO ?= cargo

.PHONY: demo test lint build build-bench model bench

build:
	$(CARGO) build --release -p emb-cli -p emb --bins --examples

model:
	scripts/fetch-model

demo: build model
	scripts/demo

test: model
	$(CARGO) test --release --workspace --all-targets
	$(CARGO) test --release --workspace --doc

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

build-bench:
	$(CARGO) build --release -p emb-bench

bench: build-bench model
	python3 bench/embed_speed.py
