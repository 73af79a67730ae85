//! From the spanning tree to flat clusters.
//!
//! 1. Single linkage: the tree's edges taken lightest first, each joining two groups into a
//!    node of the dendrogram at that distance.
//! 2. Condensing: walking the dendrogram from the top at density `λ = 1 / distance`, a cluster
//!    breaks into the parts that are connected below that distance. Merges at the same
//!    distance happen at once, so a cluster can break into more than two parts, and the result
//!    does not depend on the order tied edges were joined in (scikit-learn takes them one at a
//!    time in the order its sort leaves them). Two or more parts of at least
//!    `min_cluster_size` points give birth to one cluster each; with one such part the cluster
//!    lives on in it; the points of smaller parts leave the cluster at that `λ`.
//! 3. Stability (excess of mass) of a cluster: `Σ (λ_leave(p) − λ_birth)` over its points,
//!    where a point leaves when it falls out or when the cluster splits.
//! 4. Selection, leaves up: a cluster is kept when its own stability is at least the best its
//!    descendants achieve together (then none of them is), else it passes that sum up. The root
//!    is never kept unless a single cluster is allowed.
//! 5. Each point takes the kept cluster it left or that contains the one it left; the rest is
//!    noise. A point's strength is `λ_leave(p)` over the largest `λ_leave` in its cluster.

use super::spanning_tree::Edge;
use super::union_find::UnionFind;
use super::Clustering;

/// One node of the dendrogram: two nodes (point `i < n`, or merge `i - n`) joined at a
/// distance.
#[derive(Clone, Copy, Debug)]
struct Merge {
    children: [u32; 2],
    distance: f32,
    size: u32,
}

/// A cluster of the condensed tree.
#[derive(Clone, Debug)]
struct Cluster {
    parent: Option<usize>,
    /// `λ` at which it split off its parent (0 for the root).
    birth: f64,
    stability: f64,
}

/// The clusters of `count` points joined by the spanning tree `edges`.
pub(super) fn select(
    count: usize,
    mut edges: Vec<Edge>,
    min_cluster_size: usize,
    allow_single_cluster: bool,
) -> Clustering {
    edges.sort_unstable_by(|a, b| {
        a.weight.total_cmp(&b.weight).then(a.low.cmp(&b.low)).then(a.high.cmp(&b.high))
    });
    let merges = single_linkage(count, &edges);
    let condensed = condense(count, &merges, min_cluster_size);
    let chosen = excess_of_mass(&condensed.clusters, allow_single_cluster);
    label(&condensed, &chosen)
}

fn single_linkage(count: usize, edges: &[Edge]) -> Vec<Merge> {
    let mut sets = UnionFind::new(count);
    // The dendrogram node standing for each set, by the set's root.
    let mut node_of = (0..count as u32).collect::<Vec<u32>>();
    let mut sizes = vec![1_u32; count];
    let mut merges = Vec::with_capacity(count.saturating_sub(1));
    for edge in edges {
        let (a, b) = (sets.find(edge.low), sets.find(edge.high));
        let root = sets.union(a, b).expect("a spanning tree has no cycle");
        let size = sizes[a as usize] + sizes[b as usize];
        merges.push(Merge {
            children: [node_of[a as usize], node_of[b as usize]],
            distance: edge.weight,
            size,
        });
        node_of[root as usize] = (count + merges.len() - 1) as u32;
        sizes[root as usize] = size;
    }
    merges
}

/// The condensed tree: its clusters (the root first, children after parents) and, for every
/// point, the cluster it left and the `λ` at which it left.
struct Condensed {
    clusters: Vec<Cluster>,
    left_from: Vec<usize>,
    left_at: Vec<f64>,
}

/// `λ − birth`, 0 when both are infinite.
fn excess(lambda: f64, birth: f64) -> f64 {
    if lambda == birth {
        0.0
    } else {
        lambda - birth
    }
}

fn condense(count: usize, merges: &[Merge], min_cluster_size: usize) -> Condensed {
    let mut clusters = vec![Cluster { parent: None, birth: 0.0, stability: 0.0 }];
    let mut left_from = vec![0; count];
    let mut left_at = vec![0.0; count];
    let size =
        |node: u32| if (node as usize) < count { 1 } else { merges[node as usize - count].size };
    // The cluster each merge node stands for, if it is one.
    let mut cluster_of = vec![None; merges.len()];
    if let Some(root) = cluster_of.last_mut() {
        *root = Some(0);
    }
    let (mut parts, mut stack) = (Vec::new(), Vec::new());
    for index in (0..merges.len()).rev() {
        let Some(cluster) = cluster_of[index] else { continue };
        let distance = merges[index].distance;
        let lambda = if distance > 0.0 { 1.0 / f64::from(distance) } else { f64::INFINITY };
        let birth = clusters[cluster].birth;
        // The parts the cluster breaks into at this distance: merges at the same distance
        // happen at once, so their children are parts side by side (whatever order the tied
        // edges were joined in).
        parts.clear();
        stack.extend(merges[index].children);
        while let Some(node) = stack.pop() {
            match (node as usize).checked_sub(count) {
                Some(merge) if merges[merge].distance == distance => {
                    stack.extend(merges[merge].children);
                }
                _ => parts.push(node),
            }
        }
        let large = parts.iter().filter(|&&part| size(part) as usize >= min_cluster_size).count();
        for &part in &parts {
            if size(part) as usize >= min_cluster_size {
                if large > 1 {
                    // A true split: a new cluster for each large part.
                    clusters[cluster].stability += excess(lambda, birth) * f64::from(size(part));
                    clusters.push(Cluster { parent: Some(cluster), birth: lambda, stability: 0.0 });
                    cluster_of[part as usize - count] = Some(clusters.len() - 1);
                } else {
                    // The cluster shrinks into its one large part.
                    cluster_of[part as usize - count] = Some(cluster);
                }
            } else {
                // A small part's points fall out.
                stack.push(part);
                while let Some(node) = stack.pop() {
                    if let Some(merge) = (node as usize).checked_sub(count) {
                        stack.extend(merges[merge].children);
                    } else {
                        left_from[node as usize] = cluster;
                        left_at[node as usize] = lambda;
                        clusters[cluster].stability += excess(lambda, birth);
                    }
                }
            }
        }
    }
    Condensed { clusters, left_from, left_at }
}

/// Which clusters excess-of-mass selection keeps.
fn excess_of_mass(clusters: &[Cluster], allow_single_cluster: bool) -> Vec<bool> {
    let mut selected = vec![false; clusters.len()];
    // The best total stability of a selection within each cluster's subtree, and the sum over
    // its children so far.
    let mut best = vec![0.0_f64; clusters.len()];
    let mut children = vec![0.0_f64; clusters.len()];
    for index in (0..clusters.len()).rev() {
        let cluster = &clusters[index];
        let selectable = cluster.parent.is_some() || allow_single_cluster;
        if selectable && cluster.stability >= children[index] {
            selected[index] = true;
            best[index] = cluster.stability;
        } else {
            best[index] = children[index];
        }
        if let Some(parent) = cluster.parent {
            children[parent] += best[index];
        }
    }
    // Keep the selected clusters with no selected ancestor.
    let mut covered = vec![false; clusters.len()];
    for index in 0..clusters.len() {
        let above = clusters[index].parent.is_some_and(|parent| covered[parent]);
        if above {
            selected[index] = false;
        }
        covered[index] = above || selected[index];
    }
    selected
}

fn label(condensed: &Condensed, chosen: &[bool]) -> Clustering {
    let clusters = &condensed.clusters;
    let mut label_of = vec![None; clusters.len()];
    let mut stabilities = Vec::new();
    for index in 0..clusters.len() {
        label_of[index] = if chosen[index] {
            stabilities.push(clusters[index].stability);
            Some(stabilities.len() - 1)
        } else {
            clusters[index].parent.and_then(|parent| label_of[parent])
        };
    }
    let labels: Vec<Option<usize>> =
        condensed.left_from.iter().map(|&cluster| label_of[cluster]).collect();
    let mut densest = vec![0.0_f64; stabilities.len()];
    for (label, &lambda) in labels.iter().zip(&condensed.left_at) {
        if let Some(label) = *label {
            densest[label] = densest[label].max(lambda);
        }
    }
    let strengths = labels
        .iter()
        .zip(&condensed.left_at)
        .map(|(label, &lambda)| match *label {
            None => 0.0,
            Some(label) if lambda.is_infinite() || densest[label] == 0.0 => 1.0,
            Some(label) => (lambda / densest[label]) as f32,
        })
        .collect();
    Clustering { labels, strengths, stabilities }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(weight: f32, a: u32, b: u32) -> Edge {
        Edge { weight, low: a.min(b), high: a.max(b) }
    }

    /// Two chains of four points (tight links of 0.1) joined by a link of 1, and a point
    /// hanging off the second chain at 3.
    fn two_groups_and_an_outlier() -> Vec<Edge> {
        vec![
            edge(0.1, 0, 1),
            edge(0.1, 1, 2),
            edge(0.2, 2, 3),
            edge(1.0, 3, 4),
            edge(0.1, 4, 5),
            edge(0.1, 5, 6),
            edge(0.2, 6, 7),
            edge(3.0, 7, 8),
        ]
    }

    #[test]
    fn two_groups_are_found_and_the_outlier_is_noise() {
        let selection = select(9, two_groups_and_an_outlier(), 3, false);
        let labels = &selection.labels;
        assert_eq!(selection.stabilities.len(), 2);
        assert!(labels[..4].iter().all(|&label| label == labels[0] && label.is_some()));
        assert!(labels[4..8].iter().all(|&label| label == labels[4] && label.is_some()));
        assert_ne!(labels[0], labels[4]);
        assert_eq!(labels[8], None);
        assert_eq!(selection.strengths[8], 0.0);
        // Points 3 and 7 leave at λ = 1/0.2 while the densest leave at 1/0.1.
        assert!((selection.strengths[3] - 0.5).abs() < 1e-6);
        assert!((selection.strengths[0] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn stability_follows_its_definition() {
        let merges = single_linkage(9, &{
            let mut edges = two_groups_and_an_outlier();
            edges.sort_by(|a, b| a.weight.total_cmp(&b.weight));
            edges
        });
        let condensed = condense(9, &merges, 3);
        // The root loses point 8 at λ = 1/3, then splits at λ = 1 into two clusters of four.
        assert_eq!(condensed.clusters.len(), 3);
        let root = condensed.clusters[0].stability;
        assert!((root - (1.0 / 3.0 + 8.0 * 1.0)).abs() < 1e-9, "{root}");
        // Each child: points leave at 1/0.2 = 5 (one) and 1/0.1 = 10 (three), born at λ = 1.
        for child in &condensed.clusters[1..] {
            assert!((child.stability - (4.0 + 3.0 * 9.0)).abs() < 1e-6, "{}", child.stability);
        }
    }

    #[test]
    fn tied_merges_split_at_once_whatever_the_numbering() {
        // Two chains of five joined through point 10, by two edges of the same weight: at that
        // distance the root breaks into three parts and the bridging point is noise.
        let mut edges: Vec<Edge> = (0..4).map(|point| edge(0.1, point, point + 1)).collect();
        edges.extend((5..9).map(|point| edge(0.1, point, point + 1)));
        edges.extend([edge(1.0, 4, 10), edge(1.0, 10, 5)]);
        let selection = select(11, edges.clone(), 3, false);
        assert_eq!(selection.labels[10], None);
        assert!(selection.labels[..5].iter().all(|&label| label == Some(0)));
        assert!(selection.labels[5..10].iter().all(|&label| label == Some(1)));
        // The same points numbered backwards: the same partition.
        let last = 10;
        let reversed = edges.iter().map(|e| edge(e.weight, last - e.low, last - e.high)).collect();
        let selection = select(11, reversed, 3, false);
        assert_eq!(selection.labels[0], None);
        assert_eq!(selection.stabilities.len(), 2);
        assert!(selection.labels[1..6].iter().all(|&label| label == selection.labels[1]));
        assert!(selection.labels[6..].iter().all(|&label| label == selection.labels[6]));
        assert_ne!(selection.labels[1], selection.labels[6]);
    }

    #[test]
    fn without_a_true_split_everything_is_noise_unless_one_cluster_is_allowed() {
        let chain: Vec<Edge> =
            (0..5).map(|point| edge(0.1 * (point + 1) as f32, point, point + 1)).collect();
        let selection = select(6, chain.clone(), 3, false);
        assert!(selection.labels.iter().all(Option::is_none));
        let selection = select(6, chain, 3, true);
        assert!(selection.labels.iter().all(|&label| label == Some(0)));
    }
}
