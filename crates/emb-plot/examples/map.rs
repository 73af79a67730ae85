//! Draws a realistic map, 20,000 points in 20 clusters of different sizes and spreads with
//! labels, some noise, a metadata string and a number, to PNG, SVG and HTML.
//!
//! ```text
//! cargo run -p emb-plot --release --example map -- [OUTPUT_FOLDER] [POINTS]
//! ```
//! The folder defaults to the current one and the count to 20,000.

use std::time::Instant;

use emb_plot::{Field, Map, Point, Style};

/// A small seeded generator (xorshift64*), so the example needs no dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Standard normal (Box–Muller).
    fn normal(&mut self) -> f32 {
        let radius = (-2.0 * (1.0 - self.uniform()).ln()).sqrt();
        radius * (std::f32::consts::TAU * self.uniform()).cos()
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.next() as usize % words.len()]
    }
}

const TOPICS: [&str; 20] = [
    "sqlite, backup, database",
    "rust, borrow checker, lifetimes",
    "sourdough, bread, baking",
    "kubernetes, pods, deployment",
    "tomatoes, garden, compost",
    "python, packaging, wheels",
    "cycling, gravel, bikepacking",
    "jazz, piano, chords",
    "postgres, indexes, vacuum",
    "coffee, espresso, grinder",
    "embeddings, vectors, search",
    "birds, migration, wetlands",
    "chess, openings, endgames",
    "linux, kernel, drivers",
    "photography, lenses, film",
    "climbing, bouldering, grades",
    "tea, oolong, brewing",
    "astronomy, telescopes, nebulae",
    "knitting, wool, patterns",
    "sailing, knots, navigation",
];

const WORDS: [&str; 16] = [
    "notes on",
    "why",
    "a guide to",
    "fixing",
    "thoughts about",
    "the trouble with",
    "<draft>",
    "learning",
    "more on",
    "questions & answers:",
    "weekly",
    "how I use",
    "\"quoted\"",
    "tips for",
    "revisiting",
    "one year of",
];

const SOURCES: [&str; 4] = ["blog", "wiki", "chat", "mail"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut arguments = std::env::args().skip(1);
    let folder = std::path::PathBuf::from(arguments.next().unwrap_or_else(|| ".".to_owned()));
    let count: usize = arguments.next().map_or(Ok(20_000), |count| count.parse())?;
    std::fs::create_dir_all(&folder)?;

    let map = make_map(count);
    let style = Style::default();

    let start = Instant::now();
    let svg = emb_plot::svg(&map, &style)?;
    let svg_time = start.elapsed();
    let start = Instant::now();
    let rendered = emb_plot::png(&map, &style)?;
    let png_time = start.elapsed();
    let start = Instant::now();
    let html = emb_plot::html(&map, &style)?;
    let html_time = start.elapsed();
    let by_year = Style { colour_by: Some("year".to_owned()), ..Style::default() };
    let numeric = emb_plot::png(&map, &by_year)?;

    std::fs::write(folder.join("map.svg"), &svg)?;
    std::fs::write(folder.join("map.png"), &rendered.png)?;
    std::fs::write(folder.join("map.html"), &html)?;
    std::fs::write(folder.join("map-by-year.png"), &numeric.png)?;
    for warning in &rendered.warnings {
        eprintln!("warning: {warning}");
    }
    println!("{count} points");
    println!("svg  {:>8.1} ms {:>10} bytes", svg_time.as_secs_f64() * 1e3, svg.len());
    println!(
        "png  {:>8.1} ms {:>10} bytes (svg included)",
        png_time.as_secs_f64() * 1e3,
        rendered.png.len()
    );
    println!("html {:>8.1} ms {:>10} bytes", html_time.as_secs_f64() * 1e3, html.len());
    Ok(())
}

/// Clusters of different sizes and spreads, a little noise between them.
fn make_map(count: usize) -> Map {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    // Centres on a jittered 5x4 grid, so clusters mostly stand apart and a few touch.
    let centres: Vec<(f32, f32, f32)> = (0..TOPICS.len())
        .map(|cluster| {
            let (column, row) = ((cluster % 5) as f32, (cluster / 5) as f32);
            let x = column * 4.5 + random.normal() * 0.9;
            let y = row * 3.8 + random.normal() * 0.8;
            (x, y, 0.35 + random.uniform() * 0.6)
        })
        .collect();
    // Cluster sizes fall off, as they do in real collections.
    let weights: Vec<f32> =
        (0..TOPICS.len()).map(|cluster| 1.0 / (1.0 + cluster as f32 * 0.25)).collect();
    let total: f32 = weights.iter().sum();
    let mut points = Vec::with_capacity(count);
    let mut clusters = Vec::with_capacity(count);
    let mut sources = Vec::with_capacity(count);
    let mut years = Vec::with_capacity(count);
    for index in 0..count {
        let noise = random.uniform() < 0.04;
        let cluster = {
            let mut target = random.uniform() * total;
            weights.iter().position(|weight| {
                target -= weight;
                target <= 0.0
            })
        }
        .unwrap_or(0);
        let (x, y) = if noise {
            (random.uniform() * 21.0 - 1.5, random.uniform() * 14.5 - 1.5)
        } else {
            let (centre_x, centre_y, spread) = centres[cluster];
            (centre_x + random.normal() * spread, centre_y + random.normal() * spread * 0.8)
        };
        let topic_words: Vec<&str> = TOPICS[cluster].split(", ").collect();
        let text = format!(
            "{} {} and {}: {}",
            random.pick(&WORDS),
            random.pick(&topic_words),
            random.pick(&topic_words),
            "some longer body text that goes on for a while to look like a real note. "
                .repeat(1 + index % 3),
        );
        points.push(Point::new(format!("note-{index:05}"), x, y).with_text(text));
        clusters.push((!noise).then(|| cluster.to_string()));
        sources.push(Some(random.pick(&SOURCES)));
        years.push(
            (index % 23 != 0).then(|| {
                2005.0 + f64::from(cluster as u32) * 0.6 + f64::from(random.uniform() * 8.0)
            }),
        );
    }
    let mut cluster_field = Field::category("cluster", clusters).with_missing("noise");
    for (cluster, topic) in TOPICS.iter().enumerate() {
        cluster_field = cluster_field.with_label(cluster.to_string(), *topic);
    }
    Map {
        title: Some("Notes embedded with all-MiniLM-L6-v2, projected with UMAP".to_owned()),
        points,
        fields: vec![
            cluster_field,
            Field::category("source", sources),
            Field::number("year", years),
        ],
    }
}
