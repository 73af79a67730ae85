//! `emb_embed(text [, model])`, and the models a connection has loaded (once each).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use emb_core::{Embedder, Input};
use emb_models::Locator;

use crate::api::{Kind, Output, Value};

/// The models one connection has loaded, by the name they were asked for.
#[derive(Default)]
pub struct Models {
    loaded: Mutex<HashMap<String, Arc<dyn Embedder>>>,
}

impl Models {
    /// The model a call names, else `EMB_MODEL`, else the default set with `emb models default`.
    pub fn name(requested: Option<&str>) -> String {
        requested
            .map(str::to_owned)
            .or_else(|| std::env::var("EMB_MODEL").ok().filter(|name| !name.is_empty()))
            .unwrap_or_else(|| {
                emb_models::resolve::default_model(&emb_models::resolve::default_home())
            })
    }

    /// The model `name`, loaded on first use.
    pub fn get(&self, name: &str) -> Result<Arc<dyn Embedder>, String> {
        if let Some(model) = self.loaded.lock().unwrap_or_else(PoisonError::into_inner).get(name) {
            return Ok(Arc::clone(model));
        }
        // Loaded outside the lock; two first calls at once load twice and keep one.
        let model: Arc<dyn Embedder> = emb_models::load(name, &Locator::from_environment())
            .map_err(|error| format!("cannot load the model {name}: {}", chain(&error)))?
            .into();
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(Arc::clone(loaded.entry(name.to_owned()).or_insert(model)))
    }

    /// The vector of `text` by the model `name` (with the model's default prompt, as
    /// `emb embed` and `emb similar` use it).
    pub fn embed(&self, name: &str, text: &str) -> Result<Vec<f32>, String> {
        let model = self.get(name)?;
        model.embed(Input::Text(text)).map_err(|error| format!("{name}: {}", chain(&error)))
    }
}

/// An error and its causes, joined by ": " (a cause its error already quotes is left out).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let shown = cause.to_string();
        if !text.contains(&shown) {
            text.push_str(": ");
            text.push_str(&shown);
        }
        source = cause.source();
    }
    text
}

/// `emb_embed(text [, model])`: the text's vector as a float32 blob.
pub fn embed(models: &Models, arguments: &[Value]) -> Result<Output, String> {
    let text = match arguments[0].kind() {
        Kind::Text => arguments[0].text(),
        kind => return Err(format!("emb_embed: argument 1 is {}, not text", kind.name())),
    };
    let requested = match arguments.get(1) {
        None => None,
        Some(value) if value.kind() == Kind::Text => Some(value.text()),
        Some(value) => {
            return Err(format!(
                "emb_embed: argument 2 (the model) is {}, not text",
                value.kind().name()
            ))
        }
    };
    let name = Models::name(requested.as_deref());
    let vector = models.embed(&name, &text).map_err(|reason| format!("emb_embed: {reason}"))?;
    Ok(Output::Blob(emb_core::blob::encode(&vector)))
}
