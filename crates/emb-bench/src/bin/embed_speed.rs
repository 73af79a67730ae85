//! Embeds every text of a JSON-lines corpus with a sentence-transformers model
//! and prints one JSON object of timings: what `bench/embed_speed.py` compares
//! with sentence-transformers.
//!
//! Usage: `embed_speed MODEL_FOLDER CORPUS.jsonl [REPEATS]`

use std::time::Instant;

use emb_models::SentenceTransformer;

fn main() -> anyhow::Result<()> {
    let arguments: Vec<String> = std::env::args().collect();
    let [_, folder, corpus, rest @ ..] = arguments.as_slice() else {
        anyhow::bail!("usage: embed_speed MODEL_FOLDER CORPUS.jsonl [REPEATS]");
    };
    let repeats: usize = rest.first().map_or(Ok(3), |text| text.parse())?;
    let texts = emb_bench::read_jsonl_texts(corpus)?;
    let model = SentenceTransformer::load(folder.as_ref(), folder)?;
    let info = model.info().clone();

    // Token counts as the model sees them (after truncation), for tokens/s and FLOPs.
    let mut tokens = 0_usize;
    let mut squared_tokens = 0_usize;
    for text in &texts {
        let used = model.tokenize(text, None)?.used;
        tokens += used;
        squared_tokens += used * used;
    }
    model.embed_texts(&texts[..texts.len().min(64)], None)?; // warm up
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        let embedded = model.embed_texts(&texts, None)?;
        best = best.min(start.elapsed().as_secs_f64());
        std::hint::black_box(embedded);
    }
    // BERT FLOPs: per layer, 2 * tokens * (4 h^2 + 2 h i) for the dense layers and
    // 4 * n^2 * h per sequence of n tokens for attention scores and weighted sums.
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(info.path.join("config.json"))?)?;
    let hidden = config["hidden_size"].as_u64().unwrap_or(0) as f64;
    let intermediate = config["intermediate_size"].as_u64().unwrap_or(0) as f64;
    let layers = config["num_hidden_layers"].as_u64().unwrap_or(0) as f64;
    let flops = layers
        * (2.0 * tokens as f64 * (4.0 * hidden * hidden + 2.0 * hidden * intermediate)
            + 4.0 * squared_tokens as f64 * hidden);
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let peak = emb_bench::measure_peak_flops(threads);
    let report = serde_json::json!({
        "texts": texts.len(),
        "tokens": tokens,
        "seconds": best,
        "texts_per_second": texts.len() as f64 / best,
        "tokens_per_second": tokens as f64 / best,
        "gflops_per_second": flops / best / 1e9,
        "peak_gflops_per_second": peak / 1e9,
        "fraction_of_peak": flops / best / peak,
        "threads": threads,
    });
    println!("{report}");
    Ok(())
}
