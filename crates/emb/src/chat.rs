//! A client for OpenAI-compatible chat-completions endpoints (`OpenAI`, Ollama, llama.cpp's
//! server, vLLM, LM Studio, ...): one reply whole, or streamed as server-sent events.

use std::io::BufRead;
use std::time::Duration;

use serde::Serialize;

use crate::{Error, Result};

/// Where a language model answers, and as whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatEndpoint {
    /// The base URL up to and including `/v1` (`http://localhost:11434/v1` for Ollama).
    pub base_url: String,
    /// The model name the endpoint knows.
    pub model: String,
    /// A bearer token, if the endpoint needs one.
    pub api_key: Option<String>,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// What it says.
    pub content: String,
}

impl Message {
    /// A message from `role`.
    pub fn new(role: &str, content: impl Into<String>) -> Self {
        Self { role: role.to_owned(), content: content.into() }
    }
}

/// The value of environment variable `name`, when set and not empty.
pub(crate) fn variable(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl ChatEndpoint {
    /// The endpoint named by the environment: `EMB_LLM_BASE_URL` (else `OpenAI`'s, when
    /// `OPENAI_API_KEY` is set), `EMB_LLM_MODEL`, and the key in `EMB_LLM_API_KEY` or
    /// `OPENAI_API_KEY`. `base_url` and `model` given here win over the environment. `None`
    /// when no endpoint is named at all.
    pub fn configured(base_url: Option<&str>, model: Option<&str>) -> Option<Self> {
        let api_key = variable("EMB_LLM_API_KEY").or_else(|| variable("OPENAI_API_KEY"));
        let base_url =
            base_url.map(str::to_owned).or_else(|| variable("EMB_LLM_BASE_URL")).or_else(|| {
                variable("OPENAI_API_KEY").map(|_| "https://api.openai.com/v1".to_owned())
            })?;
        let model =
            model.map(str::to_owned).or_else(|| variable("EMB_LLM_MODEL")).unwrap_or_default();
        Some(Self { base_url, model, api_key })
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    fn failure(&self, problem: impl Into<String>) -> Error {
        Error::Chat { url: self.url(), problem: problem.into() }
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(300)))
            .http_status_as_error(false)
            .build()
            .into()
    }

    fn send(&self, messages: &[Message], stream: bool) -> Result<ureq::http::Response<ureq::Body>> {
        if self.model.is_empty() {
            return Err(self.failure(
                "no model named: pass --llm-model (or set EMB_LLM_MODEL) to a model the endpoint \
                 serves",
            ));
        }
        let body = serde_json::json!({
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "stream": stream,
        });
        let mut request = Self::agent().post(self.url());
        if let Some(key) = &self.api_key {
            request = request.header("Authorization", &format!("Bearer {key}"));
        }
        let mut response =
            request.send_json(&body).map_err(|error| self.failure(error.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            let cut: String = text.chars().take(500).collect();
            return Err(self.failure(format!("HTTP {status}: {cut}")));
        }
        Ok(response)
    }

    /// The model's whole reply to `messages`.
    pub fn complete(&self, messages: &[Message]) -> Result<String> {
        let mut response = self.send(messages, false)?;
        let reply: serde_json::Value = response
            .body_mut()
            .read_json()
            .map_err(|error| self.failure(format!("the reply is not JSON: {error}")))?;
        reply["choices"][0]["message"]["content"].as_str().map(str::to_owned).ok_or_else(|| {
            self.failure(format!("no choices[0].message.content in the reply: {reply}"))
        })
    }

    /// The model's reply to `messages`, handed to `on_text` piece by piece as it is written
    /// (server-sent events, `"stream": true`), and returned whole at the end. An endpoint that
    /// answers with one JSON reply instead of a stream is understood too.
    pub fn stream(&self, messages: &[Message], on_text: &mut dyn FnMut(&str)) -> Result<String> {
        let response = self.send(messages, true)?;
        let is_stream = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/event-stream"));
        let mut body = response.into_body();
        let mut reader = std::io::BufReader::new(body.with_config().limit(u64::MAX).reader());
        if !is_stream {
            let reply: serde_json::Value = serde_json::from_reader(reader)
                .map_err(|error| self.failure(format!("the reply is not JSON: {error}")))?;
            let text = reply["choices"][0]["message"]["content"].as_str().ok_or_else(|| {
                self.failure(format!("no choices[0].message.content in the reply: {reply}"))
            })?;
            on_text(text);
            return Ok(text.to_owned());
        }
        let mut whole = String::new();
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader
                .read_line(&mut line)
                .map_err(|error| self.failure(format!("the stream broke off: {error}")))?;
            if read == 0 {
                break;
            }
            let Some(data) = line.trim_end().strip_prefix("data:") else { continue };
            let data = data.trim();
            if data == "[DONE]" {
                break;
            }
            let event: serde_json::Value = serde_json::from_str(data)
                .map_err(|error| self.failure(format!("an event is not JSON ({error}): {data}")))?;
            if let Some(problem) = event.get("error") {
                return Err(self.failure(format!("the endpoint reported an error: {problem}")));
            }
            if let Some(piece) = event["choices"][0]["delta"]["content"].as_str() {
                on_text(piece);
                whole.push_str(piece);
            }
        }
        Ok(whole)
    }
}
