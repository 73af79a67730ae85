//! `emb project`: 2-D or 3-D coordinates of a collection's items.

use std::io::Write;

use anyhow::{Context, Result};
use emb::analysis::{ProjectionMethod, ProjectionSettings};

use crate::cli::{ProjectArgs, ProjectionMethodArg};
use crate::output::Printer;

pub fn run(arguments: &ProjectArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    let settings = ProjectionSettings {
        method: method(arguments.method),
        dimensions: usize::from(arguments.dims),
        seed: arguments.seed,
    };
    let started = std::time::Instant::now();
    let projection = database.project(&arguments.collection, &settings)?;
    let axes = ["x", "y", "z"];
    let record = |row: usize| {
        let point = projection.point(row);
        Point { id: &projection.ids[row], x: point[0], y: point[1], z: point.get(2).copied() }
    };
    match &arguments.output {
        None => {
            let mut printer = Printer::new();
            for row in 0..projection.ids.len() {
                printer.json(&record(row))?;
            }
            printer.finish()?;
        }
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            if path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("json")) {
                let all: Vec<Point> = (0..projection.ids.len()).map(record).collect();
                serde_json::to_writer(&mut out, &all)?;
            } else {
                let mut writer = csv::Writer::from_writer(&mut out);
                let mut header = vec!["id"];
                header.extend(&axes[..projection.dimensions]);
                writer.write_record(&header)?;
                for row in 0..projection.ids.len() {
                    let mut fields = vec![projection.ids[row].clone()];
                    fields.extend(projection.point(row).iter().map(ToString::to_string));
                    writer.write_record(&fields)?;
                }
                writer.flush()?;
            }
            out.flush().with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let explained =
        projection.explained_variance_ratio.as_ref().map_or_else(String::new, |ratios| {
            let parts: Vec<String> = ratios.iter().map(|r| format!("{:.1}%", r * 100.0)).collect();
            format!(" (variance explained: {})", parts.join(", "))
        });
    eprintln!(
        "{}: {} items projected by {} in {:.1} s{explained}",
        arguments.collection,
        projection.ids.len(),
        projection.method,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The library's projection method for a command-line choice.
pub fn method(choice: ProjectionMethodArg) -> ProjectionMethod {
    match choice {
        ProjectionMethodArg::Pca => ProjectionMethod::Pca,
        ProjectionMethodArg::Umap => ProjectionMethod::Umap,
    }
}

/// One item's coordinates, as printed.
#[derive(serde::Serialize)]
struct Point<'a> {
    id: &'a str,
    x: f32,
    y: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    z: Option<f32>,
}
