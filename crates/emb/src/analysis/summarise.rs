//! Cluster titles written by a language model behind an OpenAI-compatible chat endpoint (`OpenAI`,
//! llama.cpp's server, Ollama, vLLM, ...), for when distinctive words are not enough.

use std::fmt::Write as _;
use std::time::Duration;

use super::Cluster;
use crate::{Error, Result};

/// Where and how to ask.
#[derive(Clone, Debug)]
pub struct SummarySettings {
    /// The endpoint's base URL, up to `/v1` (`EMB_LLM_BASE_URL`; default
    /// `https://api.openai.com/v1`).
    pub base_url: String,
    /// The model name the endpoint knows.
    pub model: String,
    /// A bearer token (`EMB_LLM_API_KEY`, else `OPENAI_API_KEY`), if the endpoint needs one.
    pub api_key: Option<String>,
    /// Items shown to the model per cluster (nearest the centre first). Default 10.
    pub examples: usize,
    /// Characters kept of each item. Default 300.
    pub characters: usize,
}

impl SummarySettings {
    /// Settings for `model`, with the endpoint and key from the environment.
    pub fn from_environment(model: &str) -> Self {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        Self {
            base_url: variable("EMB_LLM_BASE_URL")
                .unwrap_or_else(|| "https://api.openai.com/v1".into()),
            model: model.to_owned(),
            api_key: variable("EMB_LLM_API_KEY").or_else(|| variable("OPENAI_API_KEY")),
            examples: 10,
            characters: 300,
        }
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
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/chat/completions", settings.base_url.trim_end_matches('/'));
    let failure = |problem: String| Error::Summary { url: url.clone(), problem };
    clusters
        .iter()
        .map(|cluster| {
            let body = serde_json::json!({
                "model": settings.model,
                "messages": [{"role": "user", "content": prompt(cluster, settings)}],
                "temperature": 0,
            });
            let mut request = agent.post(&url);
            if let Some(key) = &settings.api_key {
                request = request.header("Authorization", &format!("Bearer {key}"));
            }
            let mut response =
                request.send_json(&body).map_err(|error| failure(error.to_string()))?;
            let status = response.status();
            let reply: serde_json::Value = response.body_mut().read_json().map_err(|error| {
                failure(format!("HTTP {status}, and the reply is not JSON: {error}"))
            })?;
            if !status.is_success() {
                return Err(failure(format!("HTTP {status}: {reply}")));
            }
            reply["choices"][0]["message"]["content"]
                .as_str()
                .map(|title| title.trim().trim_matches('"').to_owned())
                .ok_or_else(|| {
                    failure(format!("no choices[0].message.content in the reply: {reply}"))
                })
        })
        .collect()
}
