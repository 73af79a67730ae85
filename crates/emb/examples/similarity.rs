//! Embeds three sentences and prints their cosine similarity matrix.
//!
//! `cargo run --release --example similarity -p emb [MODEL]`

fn main() -> Result<(), emb::Error> {
    let name = std::env::args().nth(1).unwrap_or_else(|| "all-MiniLM-L6-v2".to_owned());
    let model = emb::Model::load(&name)?;
    let sentences =
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."];
    let vectors = model.embed(&sentences)?;
    for (sentence, row) in sentences.iter().zip(emb::similarity(&vectors, &vectors)) {
        let cells: Vec<String> = row.iter().map(|value| format!("{value:7.4}")).collect();
        println!("{} {sentence}", cells.join(" "));
    }
    Ok(())
}
