//! `Database::cluster`: k-means (a given k, or the k with the best silhouette) or density
//! clustering (HDBSCAN), with each cluster named by its distinctive words.

use emb_analysis::{hdbscan, kmeans, labels, quality};
use serde::Serialize;

use super::Snapshot;
use crate::{Database, Error, Result};

/// How to choose the clusters.
#[derive(Clone, Debug, PartialEq)]
pub enum ClusterMethod {
    /// k-means with this many clusters.
    KMeans {
        /// The number of clusters.
        k: usize,
    },
    /// k-means with the k in `2..=max_k` whose clustering has the best silhouette.
    Auto {
        /// The largest k tried.
        max_k: usize,
    },
    /// HDBSCAN: clusters are dense regions, as many as there are; items in none are noise.
    Density {
        /// The fewest items a cluster may have.
        min_cluster_size: usize,
        /// The neighbours (the item itself included) that measure how dense an item's
        /// surroundings are: fewer call fewer items noise. `None`: `min_cluster_size`.
        min_samples: Option<usize>,
    },
}

/// How to cluster a collection.
#[derive(Clone, Debug)]
pub struct ClusterSettings {
    /// The method. Default: k-means, automatic k up to 20.
    pub method: ClusterMethod,
    /// Name each cluster by its distinctive words (needs stored content). Default true.
    pub labels: bool,
    /// Words in a name. Default 3.
    pub label_terms: usize,
    /// k-means starts for the final clustering, the lowest inertia kept (one per k while
    /// choosing k). Default 4: one start can settle in a poor split.
    pub starts: usize,
    /// Random seed. Default 0.
    pub seed: u64,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        Self {
            method: ClusterMethod::Auto { max_k: 20 },
            labels: true,
            label_terms: 3,
            starts: 4,
            seed: 0,
        }
    }
}

/// One cluster, as `emb cluster` prints it (llm-cluster's shape plus a label).
#[derive(Clone, Debug, Serialize)]
pub struct Cluster {
    /// The cluster's number, from 0, largest cluster first.
    pub id: usize,
    /// Its distinctive words, joined (`None` without stored content or without `labels`).
    pub label: Option<String>,
    /// A title written by a language model, when one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// How many items it holds.
    pub size: usize,
    /// Its items, nearest the centre first.
    pub items: Vec<Member>,
}

/// One item of a cluster.
#[derive(Clone, Debug, Serialize)]
pub struct Member {
    /// The item's id.
    pub id: String,
    /// Its stored text, if stored.
    pub content: Option<String>,
}

/// The clusters of a collection.
#[derive(Clone, Debug, Serialize)]
pub struct Clustering {
    /// The clusters, largest first.
    pub clusters: Vec<Cluster>,
    /// Items in no cluster (density clustering's noise).
    pub noise: Vec<Member>,
    /// The mean silhouette of the clustering (on up to 2,000 sampled items).
    pub silhouette: Option<f64>,
    /// For `Auto`: each k tried and its silhouette.
    pub tried: Vec<(usize, f64)>,
}

impl Clustering {
    /// Each item's cluster number, by id.
    pub fn assignments(&self) -> impl Iterator<Item = (&str, usize)> {
        self.clusters.iter().flat_map(|cluster| {
            cluster.items.iter().map(move |item| (item.id.as_str(), cluster.id))
        })
    }
}

/// Items sampled for a silhouette.
const SILHOUETTE_SAMPLE: usize = 2000;

impl Database {
    /// Clusters `collection`.
    pub fn cluster(&self, collection: &str, settings: &ClusterSettings) -> Result<Clustering> {
        let snapshot = self.snapshot(collection, true)?;
        cluster_snapshot(&snapshot, settings)
    }
}

/// Clusters a snapshot (see [`Database::cluster`]).
pub fn cluster_snapshot(snapshot: &Snapshot, settings: &ClusterSettings) -> Result<Clustering> {
    let rows = snapshot.rows();
    if snapshot.len() < 2 {
        return Err(Error::Analysis(emb_analysis::Error::Vectors(format!(
            "{} items: clustering needs at least 2",
            snapshot.len()
        ))));
    }
    let run = |k: usize, starts: usize| {
        let mut kmeans_settings = kmeans::Settings::new(k);
        kmeans_settings.seed = settings.seed;
        kmeans_settings.starts = starts;
        kmeans::kmeans(rows, &kmeans_settings)
    };
    let silhouette =
        |labels: &[usize]| quality::silhouette(rows, labels, SILHOUETTE_SAMPLE, settings.seed);
    let mut tried = Vec::new();
    let labels: Vec<Option<usize>> = match settings.method {
        ClusterMethod::KMeans { k } => {
            run(k, settings.starts)?.labels.into_iter().map(Some).collect()
        }
        ClusterMethod::Auto { max_k } => {
            let largest = max_k.min(snapshot.len() - 1).max(2);
            let mut best: Option<(f64, usize)> = None;
            for k in 2..=largest {
                let score = silhouette(&run(k, 1)?.labels)?;
                tried.push((k, score));
                if best.is_none_or(|(best, _)| score > best) {
                    best = Some((score, k));
                }
            }
            run(best.expect("k = 2 was tried").1, settings.starts)?
                .labels
                .into_iter()
                .map(Some)
                .collect()
        }
        ClusterMethod::Density { min_cluster_size, min_samples } => {
            let density =
                hdbscan::Settings { min_cluster_size, min_samples, ..hdbscan::Settings::default() };
            hdbscan::cluster(rows, &density)?.labels
        }
    };
    let k = labels.iter().flatten().max().map_or(0, |&label| label + 1);
    let mut sizes = vec![0_usize; k];
    for &label in labels.iter().flatten() {
        sizes[label] += 1;
    }
    // The silhouette of the clustered items (noise left out).
    let clustered: Vec<usize> = (0..labels.len()).filter(|&row| labels[row].is_some()).collect();
    let score = if k >= 2 && clustered.len() > k {
        let values: Vec<f32> =
            clustered.iter().flat_map(|&row| rows.row(row).iter().copied()).collect();
        let assigned: Vec<usize> = clustered.iter().filter_map(|&row| labels[row]).collect();
        let subset = emb_analysis::Rows::new(&values, rows.dimensions())?;
        Some(quality::silhouette(subset, &assigned, SILHOUETTE_SAMPLE, settings.seed)?)
    } else {
        None
    };
    // Largest cluster first; items nearest their cluster's mean first.
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut renumber = vec![0; k];
    for (new, &old) in order.iter().enumerate() {
        renumber[old] = new;
    }
    let labels: Vec<Option<usize>> =
        labels.iter().map(|label| label.map(|label| renumber[label])).collect();
    let names = if settings.labels && snapshot.contents.iter().any(Option::is_some) {
        let texts: Vec<&str> =
            snapshot.contents.iter().map(|c| c.as_deref().unwrap_or("")).collect();
        let label_settings =
            labels::Settings { terms: settings.label_terms, ..labels::Settings::default() };
        labels::distinctive_terms(&texts, &labels, k, &label_settings)
            .iter()
            .map(|terms| Some(labels::label(terms)).filter(|label| !label.is_empty()))
            .collect()
    } else {
        vec![None; k]
    };
    let dimensions = rows.dimensions();
    let mut means = vec![0.0_f32; k * dimensions];
    for (row, label) in labels.iter().enumerate() {
        if let Some(label) = label {
            for (total, &value) in
                means[label * dimensions..(label + 1) * dimensions].iter_mut().zip(rows.row(row))
            {
                *total += value / sizes[order[*label]] as f32;
            }
        }
    }
    let mut members: Vec<Vec<(f32, usize)>> = vec![Vec::new(); k];
    let mut noise = Vec::new();
    for (row, label) in labels.iter().enumerate() {
        match label {
            Some(label) => {
                let mean = &means[label * dimensions..(label + 1) * dimensions];
                members[*label].push((emb_core::distance::squared_l2(rows.row(row), mean), row));
            }
            None => noise.push(member(snapshot, row)),
        }
    }
    let clusters = members
        .into_iter()
        .enumerate()
        .map(|(id, mut items)| {
            items.sort_by(|a, b| a.0.total_cmp(&b.0));
            Cluster {
                id,
                label: names[id].clone(),
                summary: None,
                size: items.len(),
                items: items.into_iter().map(|(_, row)| member(snapshot, row)).collect(),
            }
        })
        .collect();
    Ok(Clustering { clusters, noise, silhouette: score, tried })
}

fn member(snapshot: &Snapshot, row: usize) -> Member {
    Member { id: snapshot.ids[row].clone(), content: snapshot.contents[row].clone() }
}
