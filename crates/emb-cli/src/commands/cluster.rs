//! `emb cluster`: clusters of a collection, named by their distinctive words.

use anyhow::{bail, Result};
use emb::analysis::{ClusterMethod, ClusterSettings};

use crate::cli::{ClusterArgs, ClusterMethodArg};
use crate::output::Printer;

/// The share of noise above which hdbscan's result comes with advice on its settings.
const NOISY: f64 = 0.3;

pub fn run(arguments: &ClusterArgs) -> Result<()> {
    let mut database = super::open_database(&arguments.database)?;
    let settings = ClusterSettings {
        method: match (arguments.method, arguments.k) {
            (ClusterMethodArg::Hdbscan, None) => ClusterMethod::Density {
                min_cluster_size: arguments.min_cluster_size,
                min_samples: arguments.min_samples.map(|samples| samples as usize),
            },
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
    let total = clustering.noise.len() + clustering.clusters.iter().map(|c| c.size).sum::<usize>();
    let noise_share = clustering.noise.len() as f64 / total.max(1) as f64;
    let noise = if clustering.noise.is_empty() {
        String::new()
    } else {
        format!(", {} items in none (noise: {:.0}%)", clustering.noise.len(), 100.0 * noise_share)
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
    if noise_share > NOISY {
        let samples = arguments.min_samples.map_or(arguments.min_cluster_size, |s| s as usize);
        eprintln!(
            "note: {:.0}% of the items are noise, in no cluster: hdbscan found few dense regions \
             of {} or more items. For fewer noise items lower --min-samples (now {samples}, \
             try {}); for more, smaller clusters lower --min-cluster-size; or use k-means \
             (--method kmeans), which puts every item in a cluster",
            100.0 * noise_share,
            arguments.min_cluster_size,
            (samples / 2).max(1),
        );
    }
    Ok(())
}

/// `text` cut to at most `limit` characters, with an ellipsis when cut.
pub fn truncate(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}
