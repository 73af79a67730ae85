//! `emb cluster`: clusters of a collection, named by their distinctive words.

use anyhow::{bail, Result};
use emb::analysis::{ClusterMethod, ClusterSettings};

use crate::cli::{ClusterArgs, ClusterMethodArg};
use crate::output::Printer;

pub fn run(arguments: &ClusterArgs) -> Result<()> {
    let mut database = super::open_database(&arguments.database)?;
    let settings = ClusterSettings {
        method: match (arguments.method, arguments.k) {
            (ClusterMethodArg::Hdbscan, None) => {
                ClusterMethod::Density { min_cluster_size: arguments.min_cluster_size }
            }
            (ClusterMethodArg::Hdbscan, Some(_)) => {
                bail!("-k sets the number of k-means clusters; hdbscan finds its own (see --min-cluster-size)")
            }
            (ClusterMethodArg::Kmeans, Some(k)) => ClusterMethod::KMeans { k },
            (ClusterMethodArg::Kmeans, None) => ClusterMethod::Auto { max_k: arguments.max_k },
        },
        labels: arguments.terms > 0,
        label_terms: arguments.terms,
        starts: arguments.starts,
        seed: arguments.seed,
    };
    let started = std::time::Instant::now();
    let mut clustering = database.cluster(&arguments.collection, &settings)?;
    if let Some(model) = &arguments.summary_model {
        let settings = emb::analysis::SummarySettings::from_environment(model);
        let titles = emb::analysis::summarise(&clustering.clusters, &settings)?;
        for (cluster, title) in clustering.clusters.iter_mut().zip(titles) {
            cluster.summary = Some(title);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(field) = &arguments.save {
        let mut numbers = Vec::new();
        let mut names = Vec::new();
        for cluster in &clustering.clusters {
            for item in &cluster.items {
                numbers.push((item.id.clone(), serde_json::json!(cluster.id)));
                let name = cluster.summary.as_ref().or(cluster.label.as_ref());
                names.push((item.id.clone(), serde_json::json!(name)));
            }
        }
        database.set_metadata_field(&arguments.collection, field, &numbers)?;
        database.set_metadata_field(&arguments.collection, &format!("{field}_label"), &names)?;
    }
    for cluster in &mut clustering.clusters {
        for item in &mut cluster.items {
            item.content = match (arguments.truncate, item.content.take()) {
                (0, _) | (_, None) => None,
                (limit, Some(text)) => Some(truncate(&text, limit)),
            };
        }
    }
    let mut printer = Printer::new();
    if arguments.table {
        printer.line(&format!("{:>7}  {:>6}  {}", "cluster", "items", "label / first items"))?;
        for cluster in &clustering.clusters {
            printer.line(&format!(
                "{:>7}  {:>6}  {}",
                cluster.id,
                cluster.size,
                cluster.summary.as_deref().or(cluster.label.as_deref()).unwrap_or("-")
            ))?;
            for item in cluster.items.iter().take(3) {
                let text = item
                    .content
                    .as_deref()
                    .map(|c| format!(": {}", c.replace('\n', " ")))
                    .unwrap_or_default();
                printer.line(&format!("{:>17}{}{text}", "", item.id))?;
            }
        }
    } else {
        printer.line(&serde_json::to_string_pretty(&clustering.clusters)?)?;
    }
    printer.finish()?;
    let noise = if clustering.noise.is_empty() {
        String::new()
    } else {
        format!(", {} items in none (noise)", clustering.noise.len())
    };
    let silhouette =
        clustering.silhouette.map_or_else(String::new, |s| format!(", silhouette {s:.3}"));
    let chosen =
        if clustering.tried.is_empty() { String::new() } else { " (chosen by silhouette)".into() };
    eprintln!(
        "{}: {} clusters{chosen}{noise}{silhouette} in {seconds:.1} s{}",
        arguments.collection,
        clustering.clusters.len(),
        if arguments.save.is_some() { "; saved to metadata" } else { "" }
    );
    Ok(())
}

/// `text` cut to at most `limit` characters, with an ellipsis when cut.
pub fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}
