//! Embeds text files and ranks them by similarity to a query: what `make demo`
//! runs on the README.md files of the crates in the local cargo registry.
//!
//! `cargo run --release --example rank -p emb -- "sqlite backup tools" FILE...`

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let query = arguments.next().ok_or("usage: rank QUERY FILE...")?;
    let paths: Vec<String> = arguments.collect();
    let model_name = std::env::var("EMB_MODEL").unwrap_or_else(|_| "all-MiniLM-L6-v2".to_owned());
    let model = emb::Model::load(&model_name)?;

    let mut documents = Vec::new();
    let mut names = Vec::new();
    for path in &paths {
        match std::fs::read(path) {
            Ok(bytes) => {
                documents.push(String::from_utf8_lossy(&bytes).into_owned());
                names.push(path.clone());
            }
            Err(error) => eprintln!("skipping {path}: {error}"),
        }
    }
    let start = Instant::now();
    let embedded = model.embed_with(&documents, &emb::EmbedOptions::default())?;
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "embedded {} files with {} in {seconds:.1} s ({:.0} files/s; {} longer than {} tokens were truncated)",
        documents.len(),
        model.info().name,
        documents.len() as f64 / seconds,
        embedded.truncated,
        model.info().max_seq_length,
    );
    let query_vector = model.embed(&[query.as_str()])?.remove(0);
    let mut top = emb::topk::TopK::new(10);
    for (index, vector) in embedded.vectors.iter().enumerate() {
        top.push(emb::distance::cosine(&query_vector, vector), index);
    }
    println!("\nmost similar to {query:?}:");
    for (score, index) in top.into_sorted() {
        // .../registry/src/INDEX/CRATE-VERSION/README.md -> CRATE-VERSION
        let path = std::path::Path::new(&names[index]);
        let label = path
            .parent()
            .and_then(|folder| folder.file_name())
            .map_or_else(|| names[index].clone(), |name| name.to_string_lossy().into_owned());
        println!("{score:.3}  {label}");
    }
    Ok(())
}
