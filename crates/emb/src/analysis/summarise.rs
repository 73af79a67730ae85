//! Cluster titles written by a language model behind an OpenAI-compatible chat endpoint (`OpenAI`,
//! llama.cpp's server, Ollama, vLLM, ...), for when distinctive words are not enough.

use std::fmt::Write as _;

use super::Cluster;
use crate::chat::{variable, ChatEndpoint, Message};
use crate::Result;

/// Where and how to ask.
#[derive(Clone, Debug)]
pub struct SummarySettings {
    /// The endpoint (`EMB_LLM_BASE_URL`, default `https://api.openai.com/v1`), the model, and a
    /// bearer token (`EMB_LLM_API_KEY`, else `OPENAI_API_KEY`) if the endpoint needs one.
    pub endpoint: ChatEndpoint,
    /// Items shown to the model per cluster (nearest the centre first). Default 10.
    pub examples: usize,
    /// Characters kept of each item. Default 300.
    pub characters: usize,
}

impl SummarySettings {
    /// Settings for `model`, with the endpoint and key from the environment.
    pub fn from_environment(model: &str) -> Self {
        let endpoint =
            ChatEndpoint::configured(None, Some(model)).unwrap_or_else(|| ChatEndpoint {
                base_url: "https://api.openai.com/v1".into(),
                model: model.to_owned(),
                api_key: variable("EMB_LLM_API_KEY"),
            });
        Self { endpoint, examples: 10, characters: 300 }
    }
}

/// The prompt for one cluster: its distinctive words and its central items.
fn prompt(cluster: &Cluster, settings: &SummarySettings) -> String {
    let mut text = String::from(
        "These texts were grouped together by their meaning. Reply with a short title (at most \
         eight words) that says what they have in common, and nothing else.\n",
    );
    if let Some(label) = &cluster.label {
        let _ = writeln!(text, "Distinctive words: {label}");
    }
    for item in cluster.items.iter().take(settings.examples) {
        let content = item.content.as_deref().unwrap_or(&item.id);
        let cut: String = content.chars().take(settings.characters).collect();
        let _ = writeln!(text, "- {}", cut.replace('\n', " "));
    }
    text
}

/// A title for each cluster, in order, from the endpoint.
pub fn summarise(clusters: &[Cluster], settings: &SummarySettings) -> Result<Vec<String>> {
    clusters
        .iter()
        .map(|cluster| {
            let reply =
                settings.endpoint.complete(&[Message::new("user", prompt(cluster, settings))])?;
            Ok(reply.trim().trim_matches('"').to_owned())
        })
        .collect()
}
