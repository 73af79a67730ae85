//! Readable names for clusters from their own words: class-based TF-IDF (c-TF-IDF). Each
//! cluster's texts are treated as one document; a term scores high when it is frequent in the
//! cluster and rare across clusters: `tf(t, c) × ln(1 + A / f(t))`, with `tf` the term's share of
//! the cluster's terms, `A` the mean number of terms per cluster and `f(t)` the term's count over
//! all clusters. Words and two-word phrases count as terms; common English words do not.

use std::collections::{HashMap, HashSet};

/// How to name clusters.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Terms in a label. Default 3.
    pub terms: usize,
    /// Count two-word phrases as terms too. Default true.
    pub phrases: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self { terms: 3, phrases: true }
    }
}

/// A term and its c-TF-IDF weight.
#[derive(Clone, Debug, PartialEq)]
pub struct Term {
    /// The word or phrase, lower case.
    pub text: String,
    /// Its weight in the cluster.
    pub weight: f64,
}

/// The distinctive terms of each of the `clusters` clusters, best first; `labels[i]` is the
/// cluster of `texts[i]` (`None`: in no cluster, e.g. noise; its words still count as the
/// background that makes other terms rare or common).
pub fn distinctive_terms(
    texts: &[&str],
    labels: &[Option<usize>],
    clusters: usize,
    settings: &Settings,
) -> Vec<Vec<Term>> {
    assert_eq!(texts.len(), labels.len(), "a label for every text");
    let stop: HashSet<&str> = STOP_WORDS.split_whitespace().collect();
    // Term counts per cluster and, per cluster, in how many of its texts each term appears.
    let mut counts: Vec<HashMap<String, f64>> = vec![HashMap::new(); clusters + 1];
    let mut documents: Vec<HashMap<String, usize>> = vec![HashMap::new(); clusters + 1];
    let mut sizes = vec![0_usize; clusters + 1];
    for (text, label) in texts.iter().zip(labels) {
        let slot = label.map_or(clusters, |label| label.min(clusters));
        sizes[slot] += 1;
        let terms = terms_of(text, &stop, settings.phrases);
        let mut seen = HashSet::new();
        for term in terms {
            *counts[slot].entry(term.clone()).or_default() += 1.0;
            if seen.insert(term.clone()) {
                *documents[slot].entry(term).or_default() += 1;
            }
        }
    }
    let mut overall: HashMap<&str, f64> = HashMap::new();
    for cluster in &counts {
        for (term, &count) in cluster {
            *overall.entry(term.as_str()).or_default() += count;
        }
    }
    let totals: Vec<f64> = counts.iter().map(|cluster| cluster.values().sum()).collect();
    let average = totals.iter().sum::<f64>() / (clusters + 1).max(1) as f64;
    (0..clusters)
        .map(|cluster| {
            // In a cluster of several texts, a term from a single text names that text, not the
            // cluster.
            let least = if sizes[cluster] >= 4 { 2 } else { 1 };
            let weight = |term: &str| {
                counts[cluster].get(term).map_or(0.0, |&count| {
                    count / totals[cluster] * (1.0 + average / overall[term]).ln()
                })
            };
            let mut scored: Vec<Term> = counts[cluster]
                .iter()
                .filter(|(term, _)| documents[cluster][term.as_str()] >= least)
                .map(|(term, &count)| {
                    let mut best = weight(term);
                    // A phrase that carries at least half the uses of one of its words stands for it: "gradient
                    // descent" rather than "gradient" and "descent".
                    if let Some((first, second)) = term.split_once(' ') {
                        for word in [first, second] {
                            if count >= 0.5 * counts[cluster][word] {
                                best = best.max(weight(word));
                            }
                        }
                    }
                    Term { text: term.clone(), weight: best }
                })
                .collect();
            scored.sort_by(|a, b| {
                let words = |term: &Term| term.text.matches(' ').count();
                b.weight
                    .total_cmp(&a.weight)
                    .then_with(|| words(b).cmp(&words(a)))
                    .then_with(|| a.text.cmp(&b.text))
            });
            pick(scored, settings.terms)
        })
        .collect()
}

/// The best `wanted` terms that share no word with a better one.
fn pick(scored: Vec<Term>, wanted: usize) -> Vec<Term> {
    let mut chosen: Vec<Term> = Vec::with_capacity(wanted);
    for term in scored {
        if chosen.len() == wanted {
            break;
        }
        let words: Vec<&str> = term.text.split(' ').collect();
        // A term is redundant when it shares a word with a chosen term ("character" after
        // "character mapping", "iana character" after it too).
        let redundant =
            chosen.iter().any(|other| other.text.split(' ').any(|word| words.contains(&word)));
        if !redundant {
            chosen.push(term);
        }
    }
    chosen
}

/// The label of a cluster: its terms joined by ", ".
pub fn label(terms: &[Term]) -> String {
    terms.iter().map(|term| term.text.as_str()).collect::<Vec<_>>().join(", ")
}

/// The words of `text` (lower case, letters and digits, at least two characters, not all digits,
/// not common words) and, with `phrases`, each two neighbouring such words.
fn terms_of(text: &str, stop: &HashSet<&str>, phrases: bool) -> Vec<String> {
    let mut terms = Vec::new();
    let mut previous: Option<String> = None;
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_')) {
        let word = raw.trim_matches('\'').to_lowercase();
        let keep = word.chars().count() >= 2
            && !word.chars().all(|c| c.is_ascii_digit())
            && !stop.contains(word.as_str());
        if !keep {
            previous = None;
            continue;
        }
        if phrases {
            if let Some(before) = &previous {
                terms.push(format!("{before} {word}"));
            }
        }
        terms.push(word.clone());
        previous = Some(word);
    }
    terms
}

/// Common English words that name nothing.
const STOP_WORDS: &str = "a about above after again against all also am an and any are aren't as \
at be because been before being below between both but by can can't cannot could couldn't did \
didn't do does doesn't doing don't down during each even ever every few for from further get gets \
got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him \
himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself just let's \
like made make many may me might more most much must mustn't my myself no nor not now of off often \
on once one only or other ought our ours ourselves out over own per rather really said same say \
says shall shan't she she'd she'll she's should shouldn't since so some still such than that \
that's the their theirs them themselves then there there's these they they'd they'll they're \
they've this those though through thus to too two under until up upon us use used uses using very \
via was wasn't we we'd we'll we're we've well were weren't what what's when when's where where's \
whether which while who who's whom whose why why's will with within without won't would wouldn't \
yet you you'd you'll you're you've your yours yourself yourselves also etc eg ie";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_cluster_by_its_own_frequent_words() {
        let texts = [
            "Back up the SQLite database with the backup API",
            "SQLite backup: copy a live database safely",
            "Restore an SQLite database from a backup file",
            "The sqlite database keeps a write-ahead log",
            "Train a neural network with gradient descent",
            "Gradient descent updates the network weights",
            "A neural network learns by gradient descent on a loss",
            "Deep neural network training needs many examples",
        ];
        let labels = [Some(0), Some(0), Some(0), Some(0), Some(1), Some(1), Some(1), Some(1)];
        let terms = distinctive_terms(&texts, &labels, 2, &Settings::default());
        let first = label(&terms[0]);
        let second = label(&terms[1]);
        assert!(first.contains("sqlite") && first.contains("database"), "{first}");
        assert!(
            second.contains("neural network") || second.contains("gradient descent"),
            "{second}"
        );
        assert!(!first.contains("the") && !second.contains(" a "));
        assert!((2..=3).contains(&terms[0].len()), "{terms:?}");
        // No word repeats inside a chosen phrase.
        for cluster in &terms {
            for term in cluster {
                let inside = cluster.iter().any(|other| {
                    other.text != term.text && other.text.split(' ').any(|w| w == term.text)
                });
                assert!(!inside, "{cluster:?}");
            }
        }
    }

    #[test]
    fn terms_skip_numbers_stop_words_and_single_letters() {
        let stop: HashSet<&str> = STOP_WORDS.split_whitespace().collect();
        let terms = terms_of("The 2 big cats, x and the 1999 dogs", &stop, true);
        assert_eq!(terms, vec!["big", "big cats", "cats", "dogs"]);
    }
}
