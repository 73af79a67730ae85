//! How good a model is on local, labelled data: `emb eval`. The data sets come from gensim's
//! test data (`scripts/fetch-eval-data` installs them):
//!
//! - **Lee similarity**: 50 news documents, each pair rated for similarity by people; the score
//!   is Pearson's correlation of the ratings with the cosine of the documents' embeddings over
//!   the 1,225 pairs (the upper triangle of the ratings matrix). all-MiniLM-L6-v2 reaches 0.656.
//! - **`mini_newsgroup`**: 200 posts from alt.atheism and sci.space, headers removed (they name the
//!   newsgroup). Clustering (k-means, k = 2) scored by V-measure; zero-shot classification
//!   against "atheism, religion" and "space, astronomy"; logistic regression trained on half the
//!   posts and tested on the other half; and retrieval: the share of each post's 10 most
//!   similar other posts that are of its class.

use std::path::{Path, PathBuf};

use emb_analysis::classify::{self, Logistic, LogisticSettings};
use emb_analysis::{kmeans, neighbours, quality, Rows};
use serde::Serialize;

use crate::{EmbedOptions, Error, Model, Result};

/// One measured quality.
#[derive(Clone, Debug, Serialize)]
pub struct Measure {
    /// The data set.
    pub dataset: String,
    /// What was measured.
    pub task: String,
    /// The metric's name.
    pub metric: String,
    /// Its value.
    pub value: f64,
    /// What the model is known to reach, when known (all-MiniLM-L6-v2 on the Lee corpus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<f64>,
    /// The number of items it was measured on.
    pub items: usize,
}

/// The folder `scripts/fetch-eval-data` installs the data into, under the emb home.
pub fn default_folder(home: &Path) -> PathBuf {
    home.join("eval").join("gensim-4.4.0")
}

fn read(folder: &Path, name: &str) -> Result<Vec<u8>> {
    let path = folder.join(name);
    std::fs::read(&path).map_err(|source| Error::File { path, source })
}

fn embed(model: &Model, options: &EmbedOptions, texts: &[String]) -> Result<(Vec<f32>, usize)> {
    let vectors = model.embed_with(texts, options)?.vectors;
    let dimensions = vectors.first().map_or(1, Vec::len);
    Ok((vectors.concat(), dimensions))
}

/// The Lee document-similarity correlation of `model`.
pub fn lee(model: &Model, options: &EmbedOptions, folder: &Path) -> Result<Measure> {
    // The corpus is Latin-1 text, one document per line.
    let documents: Vec<String> = read(folder, "lee.cor")?
        .split(|&byte| byte == b'\n')
        .map(|line| line.iter().map(|&byte| char::from(byte)).collect::<String>().trim().to_owned())
        .filter(|line| !line.is_empty())
        .collect();
    let ratings: Vec<Vec<f64>> = String::from_utf8_lossy(&read(folder, "similarities0-1.txt")?)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.split_whitespace().filter_map(|value| value.parse().ok()).collect())
        .collect();
    let count = documents.len();
    if ratings.len() != count || ratings.iter().any(|row| row.len() != count) {
        return Err(Error::File {
            path: folder.join("similarities0-1.txt"),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("expected a {count} x {count} matrix of ratings for the {count} documents of lee.cor"),
            ),
        });
    }
    let (values, dimensions) = embed(model, options, &documents)?;
    let rows = Rows::new(&values, dimensions)?;
    let (mut human, mut machine) = (Vec::new(), Vec::new());
    for i in 0..count {
        for j in i + 1..count {
            human.push(ratings[i][j]);
            machine.push(f64::from(emb_core::distance::cosine(rows.row(i), rows.row(j))));
        }
    }
    let minilm = crate::hub_id(&model.info().name) == "sentence-transformers/all-MiniLM-L6-v2";
    Ok(Measure {
        dataset: "lee".into(),
        task: "document similarity against human ratings".into(),
        metric: "pearson".into(),
        value: quality::pearson(&human, &machine),
        reference: minilm.then_some(0.656),
        items: human.len(),
    })
}

/// A post of `mini_newsgroup`.
#[derive(serde::Deserialize)]
struct Post {
    label: String,
    text: String,
}

/// The text of a post without its header block (which names its newsgroup).
fn body(text: &str) -> &str {
    text.split_once("\n\n").map_or(text, |(_, body)| body).trim()
}

/// Clustering, zero-shot, trained classification and retrieval on `mini_newsgroup`.
pub fn newsgroups(model: &Model, options: &EmbedOptions, folder: &Path) -> Result<Vec<Measure>> {
    let bytes = read(folder, "mini_newsgroup.jsonl")?;
    let posts: Vec<Post> = String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .map_err(|error| Error::File {
            path: folder.join("mini_newsgroup.jsonl"),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, error),
        })?;
    let mut names: Vec<String> = posts.iter().map(|post| post.label.clone()).collect();
    names.sort();
    names.dedup();
    let truth: Vec<usize> = posts
        .iter()
        .map(|post| names.iter().position(|name| *name == post.label).unwrap_or(0))
        .collect();
    let texts: Vec<String> = posts.iter().map(|post| body(&post.text).to_owned()).collect();
    let (values, dimensions) = embed(model, options, &texts)?;
    let rows = Rows::new(&values, dimensions)?;
    let measure = |task: &str, metric: &str, value: f64, items: usize| Measure {
        dataset: "mini_newsgroup".into(),
        task: task.into(),
        metric: metric.into(),
        value,
        reference: None,
        items,
    };
    let mut measures = labelled_measures("mini_newsgroup", rows, &truth, "post")?;

    // Zero-shot: descriptions of the two newsgroups, in the order of `names`.
    let descriptions: Vec<String> = names
        .iter()
        .map(|name| match name.as_str() {
            "alt.atheism" => "atheism, religion".to_owned(),
            "sci.space" => "space, astronomy".to_owned(),
            other => other.replace(['.', '_'], " "),
        })
        .collect();
    let (label_values, _) = embed(model, options, &descriptions)?;
    let predicted = classify::nearest_centre(rows, Rows::new(&label_values, dimensions)?)?;
    let classes: Vec<usize> = predicted.iter().map(|p| p.class).collect();
    let task = format!(
        "zero-shot classification against {}",
        descriptions.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join(" / ")
    );
    measures
        .insert(1, measure(&task, "accuracy", quality::accuracy(&truth, &classes), posts.len()));
    Ok(measures)
}

/// What labels say of vectors: k-means clustering against the classes (V-measure), logistic
/// regression trained on the even rows and tested on the odd ones (accuracy), and retrieval
/// (the share of each row's 10 nearest rows of its class). `truth` holds each row's class,
/// `0..classes`; `dataset` and `item` name them in the measures.
pub fn labelled_measures(
    dataset: &str,
    rows: Rows<'_>,
    truth: &[usize],
    item: &str,
) -> Result<Vec<Measure>> {
    let dimensions = rows.dimensions();
    let count = rows.len();
    let classes = truth.iter().max().map_or(0, |&class| class + 1);
    let measure = |task: String, metric: &str, value: f64, items: usize| Measure {
        dataset: dataset.into(),
        task,
        metric: metric.into(),
        value,
        reference: None,
        items,
    };
    let mut measures = Vec::new();

    let unit = emb_analysis::linear::normalised(rows);
    let clusters = kmeans::kmeans(Rows::new(&unit, dimensions)?, &kmeans::Settings::new(classes))?;
    let v = quality::v_measure(truth, &clusters.labels);
    measures.push(measure(
        "k-means clustering, k = number of classes".into(),
        "v_measure",
        v.v_measure,
        count,
    ));

    // Logistic regression: even rows train, odd rows test.
    let pick = |parity: usize| -> (Vec<f32>, Vec<usize>) {
        let mut picked = Vec::new();
        let mut labels = Vec::new();
        for i in (0..count).filter(|i| i % 2 == parity) {
            picked.extend_from_slice(rows.row(i));
            labels.push(truth[i]);
        }
        (picked, labels)
    };
    let ((train, train_labels), (test, test_labels)) = (pick(0), pick(1));
    let model_fit =
        Logistic::fit(Rows::new(&train, dimensions)?, &train_labels, &LogisticSettings::default())?;
    let predicted: Vec<usize> =
        model_fit.predict(Rows::new(&test, dimensions)?)?.iter().map(|p| p.class).collect();
    measures.push(measure(
        "logistic regression trained on half, tested on the other half".into(),
        "accuracy",
        quality::accuracy(&test_labels, &predicted),
        test_labels.len(),
    ));

    let graph = neighbours::exact(
        rows,
        10.min(count.saturating_sub(1)).max(1),
        neighbours::Metric::Cosine,
    )?;
    let same: usize = (0..count)
        .map(|row| graph.neighbours(row).filter(|&(other, _)| truth[other] == truth[row]).count())
        .sum();
    measures.push(measure(
        format!("retrieval: share of each {item}'s {} nearest of its class", graph.k),
        &format!("precision_at_{}", graph.k),
        same as f64 / (count * graph.k) as f64,
        count,
    ));
    Ok(measures)
}
