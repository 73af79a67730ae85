//! [`Model`]: a loaded embedding model.

use emb_models::{Located, Locator, SentenceTransformer};

use crate::{Embedded, ModelInfo, Result, TokenReport, Vector};

/// Options for one embedding call.
#[derive(Debug, Clone, Default)]
pub struct EmbedOptions {
    /// Text prepended to every input (e.g. `"query: "`). Default: none.
    pub prompt: Option<String>,
    /// The name of one of the model's prompts (`query`, `document`, ...) to prepend, used when
    /// `prompt` is not set. Default: the model's `default_prompt_name`, if any.
    pub prompt_name: Option<String>,
}

/// A loaded embedding model.
pub struct Model {
    located: Located,
    inner: SentenceTransformer,
}

impl Model {
    /// Loads a model by short name (`all-MiniLM-L6-v2`), hub id (`BAAI/bge-small-en-v1.5`) or
    /// folder path, looking where [`Locator::from_environment`] says.
    pub fn load(name: &str) -> Result<Self> {
        Self::load_with(name, &Locator::from_environment())
    }

    /// Loads a model, looking where `locator` says.
    pub fn load_with(name: &str, locator: &Locator) -> Result<Self> {
        let located = locator.locate(name)?;
        let display_name = match located.source {
            emb_models::Source::Path => name.to_owned(),
            _ => located.id.clone(),
        };
        let inner = SentenceTransformer::load(&located.path, &display_name)?;
        Ok(Self { located, inner })
    }

    /// What the model is: dimensions, maximum length, pooling, prompts, size.
    pub fn info(&self) -> &ModelInfo {
        self.inner.info()
    }

    /// Where the model was found.
    pub fn location(&self) -> &Located {
        &self.located
    }

    /// The number of dimensions of the model's vectors.
    pub fn dimensions(&self) -> usize {
        self.inner.info().dimensions
    }

    /// Embeds `texts` with the model's default prompt (if it has one).
    pub fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vector>> {
        Ok(self.embed_with(texts, &EmbedOptions::default())?.vectors)
    }

    /// Embeds `texts` with `options`, also reporting how many were truncated.
    pub fn embed_with<S: AsRef<str>>(
        &self,
        texts: &[S],
        options: &EmbedOptions,
    ) -> Result<Embedded> {
        let prompt =
            self.inner.resolve_prompt(options.prompt.as_deref(), options.prompt_name.as_deref())?;
        Ok(self.inner.embed_texts(texts, prompt.as_deref())?)
    }

    /// The prompt `options` put before every text (`None` for none).
    pub fn prompt(&self, options: &EmbedOptions) -> Result<Option<String>> {
        Ok(self.inner.resolve_prompt(options.prompt.as_deref(), options.prompt_name.as_deref())?)
    }

    /// Shows how `text` is tokenized (with the prompt of `options`), and whether it would be
    /// truncated.
    pub fn tokenize(&self, text: &str, options: &EmbedOptions) -> Result<TokenReport> {
        let prompt =
            self.inner.resolve_prompt(options.prompt.as_deref(), options.prompt_name.as_deref())?;
        Ok(self.inner.tokenize(text, prompt.as_deref())?)
    }

    /// The model as an [`Embedder`](crate::Embedder), for code generic over models.
    pub fn embedder(&self) -> &dyn crate::Embedder {
        &self.inner
    }
}

/// Loads the model folder at `path` just to describe it (dimensions, pooling, size, ...).
pub fn describe(path: &std::path::Path, name: &str) -> Result<ModelInfo> {
    Ok(SentenceTransformer::load(path, name)?.info().clone())
}
