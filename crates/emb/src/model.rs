//! [`Model`]: a loaded embedding model.

use emb_models::{
    AudioModel, ClipModel, Located, Locator, ModelError, PictureModel, PixelModel, ResnetModel,
    SentenceTransformer, Tokenized, WordVectorModel,
};

use crate::{Embedded, ModelInfo, Result, TokenReport, Vector};

/// Counts the tokens of a piece of text (see [`Model::token_counter`]).
pub type TokenCounter = std::sync::Arc<dyn Fn(&str) -> usize + Send + Sync>;

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
    inner: Inner,
}

/// The kinds of model emb runs. One is held per loaded model, so the size of the larger
/// variant costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Transformer(SentenceTransformer),
    Words(WordVectorModel),
    Clip(ClipModel),
    Pixels(PixelModel),
    Resnet(ResnetModel),
    Audio(AudioModel),
}

impl Inner {
    fn load(path: &std::path::Path, name: &str) -> Result<Self> {
        Ok(if emb_models::resolve::is_word_vectors(path) {
            Self::Words(WordVectorModel::load(path, name)?)
        } else if emb_models::clip_folder(path).is_some() {
            Self::Clip(ClipModel::load(path, name)?)
        } else if emb_models::resnet_folder(path) {
            Self::Resnet(ResnetModel::load(path, name)?)
        } else {
            Self::Transformer(SentenceTransformer::load(path, name)?)
        })
    }

    fn info(&self) -> &ModelInfo {
        match self {
            Self::Transformer(model) => model.info(),
            Self::Words(model) => model.info(),
            Self::Clip(model) => model.info(),
            Self::Pixels(model) => model.info(),
            Self::Resnet(model) => model.info(),
            Self::Audio(model) => PictureModel::info(model),
        }
    }

    /// The error for text given to a model that takes only pictures.
    fn no_text(&self) -> crate::Error {
        let hint = if matches!(self, Self::Audio(_)) {
            "it embeds sounds (give a WAV, FLAC, MP3 or Ogg file with -i, or --files DIR GLOB \
             --binary)"
        } else {
            "it embeds pictures (give a picture file with -i, or --files DIR GLOB --binary); \
             for text in the same space as pictures use a CLIP model"
        };
        ModelError::WrongInput {
            model: self.info().name.clone(),
            kind: "text".into(),
            hint: hint.into(),
        }
        .into()
    }

    /// The prompt to put before every text: `prompt`, else the model's prompt `name`, else its
    /// default prompt. Word vectors have no named prompts.
    fn prompt(&self, prompt: Option<&str>, name: Option<&str>) -> Result<Option<String>> {
        match self {
            Self::Transformer(model) => Ok(model.resolve_prompt(prompt, name)?),
            Self::Words(_) | Self::Clip(_) | Self::Pixels(_) | Self::Resnet(_) | Self::Audio(_) => {
                match (prompt, name) {
                    (Some(prompt), _) => Ok(Some(prompt.to_owned())),
                    (None, Some(name)) => Err(emb_models::ModelError::UnknownPrompt {
                        model: self.info().name.clone(),
                        name: name.to_owned(),
                        available: "none".to_owned(),
                    }
                    .into()),
                    (None, None) => Ok(None),
                }
            }
        }
    }
}

impl Model {
    /// Loads a model by short name (`all-MiniLM-L6-v2`), hub id (`BAAI/bge-small-en-v1.5`) or
    /// folder path, looking where [`Locator::from_environment`] says.
    pub fn load(name: &str) -> Result<Self> {
        Self::load_with(name, &Locator::from_environment())
    }

    /// Loads a model, looking where `locator` says.
    pub fn load_with(name: &str, locator: &Locator) -> Result<Self> {
        if name.starts_with("pixels:") {
            let model = PixelModel::parse(name)?;
            let located = Located {
                id: model.info().name.clone(),
                path: model.info().path.clone(),
                source: emb_models::Source::Path,
            };
            return Ok(Self { located, inner: Inner::Pixels(model) });
        }
        if let Some(picture_model) = name.strip_prefix(emb_models::audio::PREFIX) {
            let model = AudioModel::new(emb_models::load_picture_model(picture_model, locator)?);
            let info = PictureModel::info(&model);
            let located = Located {
                id: info.name.clone(),
                path: info.path.clone(),
                source: emb_models::Source::Path,
            };
            return Ok(Self { located, inner: Inner::Audio(model) });
        }
        let located = locator.locate(name)?;
        let display_name = match located.source {
            emb_models::Source::Path => name.to_owned(),
            _ => located.id.clone(),
        };
        let inner = Inner::load(&located.path, &display_name)?;
        Ok(Self { located, inner })
    }

    /// What the model is: dimensions, maximum length, pooling, prompts, size.
    pub fn info(&self) -> &ModelInfo {
        self.inner.info()
    }

    /// The word vectors, when the model is static word vectors (GloVe, word2vec, fastText).
    pub fn word_vectors(&self) -> Option<&emb_models::emb_words::WordVectors> {
        match &self.inner {
            Inner::Words(model) => Some(model.vectors()),
            _ => None,
        }
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
        let prompt = self.prompt(options)?;
        match &self.inner {
            Inner::Transformer(model) => Ok(model.embed_texts(texts, prompt.as_deref())?),
            Inner::Words(model) => {
                let vectors = match prompt {
                    Some(prompt) => {
                        let prompted: Vec<String> =
                            texts.iter().map(|text| format!("{prompt}{}", text.as_ref())).collect();
                        model.embed_texts(&prompted)?
                    }
                    None => model.embed_texts(texts)?,
                };
                Ok(Embedded { vectors, truncated: 0 })
            }
            Inner::Clip(model) => {
                let prompted: Vec<String> = texts
                    .iter()
                    .map(|text| {
                        format!("{}{}", prompt.as_deref().unwrap_or_default(), text.as_ref())
                    })
                    .collect();
                Ok(model.embed_texts(&prompted)?)
            }
            Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_) => Err(self.inner.no_text()),
        }
    }

    /// The model's picture side, when it embeds pictures (CLIP, ResNet, raw pixels) or sounds
    /// (as spectrogram pictures).
    pub fn pictures(&self) -> Option<&dyn PictureModel> {
        match &self.inner {
            Inner::Clip(model) => Some(model),
            Inner::Pixels(model) => Some(model),
            Inner::Resnet(model) => Some(model),
            Inner::Audio(model) => Some(model),
            Inner::Transformer(_) | Inner::Words(_) => None,
        }
    }

    /// Whether the model embeds text.
    pub fn takes_text(&self) -> bool {
        !matches!(self.inner, Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_))
    }

    /// Embeds encoded pictures (JPEG, PNG, WebP, GIF), or sounds (WAV, FLAC, MP3, Ogg) for an
    /// `audio:` model, in their order; fails on the first that cannot be read, naming its
    /// position.
    pub fn embed_pictures(&self, pictures: &[&[u8]]) -> Result<Vec<Vector>> {
        let model = self.pictures().ok_or_else(|| ModelError::WrongInput {
            model: self.info().name.clone(),
            kind: "pictures or sounds".into(),
            hint: "it embeds text; use a CLIP model (e.g. -m clip-ViT-B-32), a ResNet or raw \
                   pixels (-m pixels:28x28:gray) for pictures, and audio:MODEL (e.g. -m \
                   audio:clip-ViT-B-32) for sounds"
                .into(),
        })?;
        Ok(emb_models::embed_picture_bytes(model, pictures)?)
    }

    /// Readies `texts` (with the prompt of `options`) for [`Model::embed_prepared`]: tokenized
    /// and cut to the model's maximum length, so their token counts are known before the model
    /// runs. Prepared texts of one model can be joined into one batch.
    pub fn prepare<S: AsRef<str>>(&self, texts: &[S], options: &EmbedOptions) -> Result<Prepared> {
        let prompt = self.prompt(options)?;
        Ok(match &self.inner {
            Inner::Transformer(model) => {
                Prepared::Tokens(model.tokenize_texts(texts, prompt.as_deref())?)
            }
            Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_) => {
                return Err(self.inner.no_text())
            }
            Inner::Words(_) | Inner::Clip(_) => Prepared::Texts(
                texts
                    .iter()
                    .map(|text| {
                        format!("{}{}", prompt.as_deref().unwrap_or_default(), text.as_ref())
                    })
                    .collect(),
            ),
        })
    }

    /// Embeds texts readied by [`Model::prepare`] of this model, in their order.
    pub fn embed_prepared(&self, prepared: &Prepared) -> Result<Embedded> {
        match (&self.inner, prepared) {
            (Inner::Transformer(model), Prepared::Tokens(tokenized)) => {
                Ok(model.embed_tokenized(tokenized)?)
            }
            (Inner::Words(model), Prepared::Texts(texts)) => {
                Ok(Embedded { vectors: model.embed_texts(texts)?, truncated: 0 })
            }
            (Inner::Clip(model), Prepared::Texts(texts)) => Ok(model.embed_texts(texts)?),
            _ => Err(emb_models::ModelError::Tokenizer(format!(
                "texts prepared for another kind of model were given to {}",
                self.info().name
            ))
            .into()),
        }
    }

    /// The text of the token ids `ids` in the model's own vocabulary (special tokens left
    /// out); word vectors have no token ids.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        match &self.inner {
            Inner::Transformer(model) => Ok(model.decode(ids)?),
            Inner::Clip(model) => Ok(model.decode(ids)?),
            Inner::Words(_) | Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_) => Err(
                emb_models::ModelError::Tokenizer(format!("{} has no token ids", self.info().name))
                    .into(),
            ),
        }
    }

    /// The prompt `options` put before every text (`None` for none).
    pub fn prompt(&self, options: &EmbedOptions) -> Result<Option<String>> {
        self.inner.prompt(options.prompt.as_deref(), options.prompt_name.as_deref())
    }

    /// Shows how `text` is tokenized (with the prompt of `options`), and whether it would be
    /// truncated.
    pub fn tokenize(&self, text: &str, options: &EmbedOptions) -> Result<TokenReport> {
        let prompt = self.prompt(options)?;
        match &self.inner {
            Inner::Transformer(model) => Ok(model.tokenize(text, prompt.as_deref())?),
            Inner::Words(model) => {
                Ok(model.tokenize(&format!("{}{text}", prompt.unwrap_or_default())))
            }
            Inner::Clip(model) => {
                Ok(model.tokenize(&format!("{}{text}", prompt.unwrap_or_default()))?)
            }
            Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_) => Err(self.inner.no_text()),
        }
    }

    /// A function counting the tokens of a piece of text as this model splits it (special
    /// tokens not counted; words for word vectors), for chunking documents to fit it.
    pub fn token_counter(&self) -> Result<TokenCounter> {
        Ok(match &self.inner {
            Inner::Transformer(model) => std::sync::Arc::new(model.token_counter()),
            Inner::Clip(model) => std::sync::Arc::new(model.token_counter()),
            Inner::Words(_) => std::sync::Arc::new(|text: &str| text.split_whitespace().count()),
            Inner::Pixels(_) | Inner::Resnet(_) | Inner::Audio(_) => {
                return Err(self.inner.no_text())
            }
        })
    }

    /// The most tokens of text that fit the model with `options`' prompt and the special tokens
    /// around it, or `None` when the model takes any length (word vectors).
    pub fn token_budget(&self, options: &EmbedOptions) -> Result<Option<usize>> {
        let report = self.tokenize("", options)?;
        if report.max_seq_length == 0 {
            return Ok(None);
        }
        Ok(Some(report.max_seq_length.saturating_sub(report.ids.len())))
    }

    /// The model as an [`Embedder`](crate::Embedder), for code generic over models.
    pub fn embedder(&self) -> &dyn crate::Embedder {
        match &self.inner {
            Inner::Transformer(model) => model,
            Inner::Words(model) => model,
            Inner::Clip(model) => model,
            Inner::Pixels(model) => model,
            Inner::Resnet(model) => model,
            Inner::Audio(model) => model,
        }
    }
}

/// Loads the model folder at `path` just to describe it (dimensions, pooling, size, ...).
pub fn describe(path: &std::path::Path, name: &str) -> Result<ModelInfo> {
    if emb_models::cross_encoder_folder(path) {
        let info = emb_models::CrossEncoder::load(path, name)?.info().clone();
        return Ok(ModelInfo {
            name: info.name,
            path: info.path,
            architecture: info.architecture,
            dimensions: 1,
            max_seq_length: info.max_length,
            pooling: "reranker".to_owned(),
            normalize: false,
            prompts: std::collections::BTreeMap::new(),
            size_bytes: info.size_bytes,
        });
    }
    Ok(Inner::load(path, name)?.info().clone())
}

/// Registers the word-vectors file `source` (GloVe, word2vec text or binary, fastText `.vec`,
/// the wink JSON) as the model `name`: converts it once into emb's mmap-able file in the emb
/// model cache, so `-m NAME` loads it in a fraction of a second.
pub fn register_word_vectors(
    name: &str,
    source: &std::path::Path,
    weighting: emb_models::Weighting,
) -> Result<Located> {
    let locator = Locator::from_environment();
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(emb_models::emb_words::Error::Settings(format!(
            "{name:?} cannot name a model: use letters, digits, '-', '_' and '.' (no '/')"
        ))
        .into());
    }
    let destination = locator.registered_folder(name);
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| crate::Error::File { path: parent.to_owned(), source: error })?;
    }
    WordVectorModel::register(source, &destination, weighting)?;
    Ok(Located { id: name.to_owned(), path: destination, source: emb_models::Source::EmbCache })
}

/// Texts readied for one model by [`Model::prepare`]: tokenized (transformers) or with their
/// prompt (word vectors), not yet embedded.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// Token ids cut to the model's maximum length.
    Tokens(Tokenized),
    /// Texts for word vectors, prompt included.
    Texts(Vec<String>),
}

impl Prepared {
    /// The number of texts.
    pub fn len(&self) -> usize {
        match self {
            Self::Tokens(tokenized) => tokenized.len(),
            Self::Texts(texts) => texts.len(),
        }
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The tokens each text costs the model: its token count for a transformer, its word count
    /// for word vectors.
    pub fn token_counts(&self) -> Vec<usize> {
        match self {
            Self::Tokens(tokenized) => tokenized.lengths().collect(),
            Self::Texts(texts) => {
                texts.iter().map(|text| text.split_whitespace().count()).collect()
            }
        }
    }

    /// Appends `other`'s texts after these when the two can run as one batch; gives `other`
    /// back when they cannot (a different prompt length, or another kind of model).
    pub fn join(&mut self, other: Prepared) -> std::result::Result<(), Prepared> {
        match (self, other) {
            (Self::Tokens(mine), Self::Tokens(theirs)) => mine.join(theirs).map_err(Self::Tokens),
            (Self::Texts(mine), Self::Texts(theirs)) => {
                mine.extend(theirs);
                Ok(())
            }
            (_, other) => Err(other),
        }
    }
}
