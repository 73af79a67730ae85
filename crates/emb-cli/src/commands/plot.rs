//! `emb plot`: a collection drawn as a map (PNG, SVG or an interactive HTML page).

use anyhow::{bail, Context, Result};
use emb::analysis::{ClusterMethod, ClusterSettings, ColourBy, MapSettings, ProjectionSettings};
use emb::plot::Style;

use crate::cli::PlotArgs;

pub fn run(arguments: &PlotArgs) -> Result<()> {
    let extension = arguments
        .output
        .extension()
        .and_then(|extension| extension.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if !matches!(extension.as_str(), "png" | "svg" | "html" | "htm") {
        bail!("{}: the output must end in .png, .svg or .html", arguments.output.display());
    }
    let colour_by = match arguments.color_by.as_str() {
        "cluster" => ColourBy::Cluster,
        other => match other.strip_prefix("metadata.") {
            Some(field) if !field.is_empty() => ColourBy::Metadata(field.to_owned()),
            _ => bail!("--color-by takes cluster or metadata.FIELD, not {other:?}"),
        },
    };
    let database = super::open_database(&arguments.database)?;
    let settings = MapSettings {
        projection: ProjectionSettings {
            method: super::project::method(arguments.method),
            dimensions: 2,
            seed: arguments.seed,
        },
        colour_by,
        clusters: ClusterSettings {
            method: arguments
                .k
                .map_or(ClusterMethod::Auto { max_k: 20 }, |k| ClusterMethod::KMeans { k }),
            seed: arguments.seed,
            ..ClusterSettings::default()
        },
        title: arguments.title.clone(),
        thumbnails: !arguments.no_thumbnails,
    };
    let started = std::time::Instant::now();
    let drawn = database.map(&arguments.collection, &settings)?;
    let style = Style {
        width: arguments.width,
        height: arguments.height,
        show_labels: !arguments.no_labels,
        show_thumbnails: !arguments.no_thumbnails,
        colour_by: Some(drawn.colour_by.clone()),
        ..Style::default()
    };
    let bytes = match extension.as_str() {
        "png" => {
            let rendered = emb::plot::png(&drawn.map, &style)?;
            for warning in &rendered.warnings {
                eprintln!("warning: {warning}");
            }
            rendered.png
        }
        "svg" => emb::plot::svg(&drawn.map, &style)?.into_bytes(),
        _ => emb::plot::html(&drawn.map, &style)?.into_bytes(),
    };
    std::fs::write(&arguments.output, bytes)
        .with_context(|| format!("cannot write {}", arguments.output.display()))?;
    eprintln!(
        "{}: {} items drawn ({}, coloured by {}) to {} in {:.1} s",
        arguments.collection,
        drawn.map.points.len(),
        drawn.method,
        drawn.colour_by,
        arguments.output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
