//! Embedding models for `emb`.
//!
//! [`SentenceTransformer`] runs sentence-transformers folders of the BERT family
//! (BERT, `RoBERTa`, XLM-`RoBERTa`) in pure Rust, matching sentence-transformers'
//! vectors; [`resolve`] finds a model by name or path in the emb cache, the
//! Hugging Face cache or the hub; [`WordVectorModel`] embeds texts with static word vectors
//! (GloVe, word2vec, fastText).
//!
//! ```no_run
//! use emb_models::SentenceTransformer;
//!
//! let model = SentenceTransformer::load("models/all-MiniLM-L6-v2".as_ref(), "all-MiniLM-L6-v2")?;
//! let embedded = model.embed_texts(&["Hello world"], None)?;
//! assert_eq!(embedded.vectors[0].len(), 384);
//! # Ok::<(), emb_models::ModelError>(())
//! ```
#![warn(missing_docs)]

mod attention;
pub mod audio;
mod bert;
mod clip;
mod cross_encoder;
mod error;
mod hub;
mod kernels;
mod layers;
pub mod pictures;
mod pixels;
mod pooling;
mod resnet;
pub mod resolve;
mod sentence_transformer;
mod tensors;
mod word_vectors;

pub use audio::AudioModel;
pub use clip::{clip_folder, ClipModel};
pub use cross_encoder::{cross_encoder_folder, CrossEncoder, CrossEncoderInfo};
pub use emb_words;
pub use error::{ModelError, Result};
pub use pixels::PixelModel;
pub use pooling::Pooling;
pub use resnet::{resnet_folder, ResnetModel};
pub use resolve::{Located, Locator, Source};
pub use sentence_transformer::{Embedded, ModelInfo, SentenceTransformer, TokenReport, Tokenized};
pub use word_vectors::{Weighting, WordVectorConfig, WordVectorModel};

/// A picture decoded and readied for one [`PictureModel`] (resized, cropped, scaled), not yet
/// embedded.
#[derive(Debug, Clone)]
pub struct PreparedPicture {
    tensor: Vec<f32>,
}

/// A model that embeds pictures. Preparing (decoding, resizing) is separate from embedding, so a
/// caller can prepare many pictures in parallel, set aside the ones that fail, and embed the rest
/// in batches.
pub trait PictureModel: Send + Sync {
    /// What the model is.
    fn info(&self) -> &ModelInfo;

    /// Decodes an encoded picture (JPEG, PNG, WebP, GIF) and readies it for the model.
    fn prepare_picture(&self, bytes: &[u8]) -> Result<PreparedPicture> {
        self.prepare_rgb(&pictures::decode(bytes)?)
    }

    /// Readies a decoded picture for the model.
    fn prepare_rgb(&self, picture: &pictures::Rgb) -> Result<PreparedPicture>;

    /// Embeds prepared pictures, in their order.
    fn embed_pictures(&self, prepared: &[PreparedPicture]) -> Result<Vec<emb_core::Vector>>;
}

/// Prepares encoded pictures in parallel and embeds them, failing on the first that cannot be
/// read (naming its position).
pub fn embed_picture_bytes(
    model: &dyn PictureModel,
    pictures: &[&[u8]],
) -> Result<Vec<emb_core::Vector>> {
    use rayon::prelude::*;
    let prepared: Vec<PreparedPicture> = pictures
        .par_iter()
        .enumerate()
        .map(|(index, bytes)| {
            model.prepare_picture(bytes).map_err(|error| match error {
                ModelError::Picture(problem) if pictures.len() > 1 => {
                    ModelError::Picture(format!("picture {}: {problem}", index + 1))
                }
                other => other,
            })
        })
        .collect::<Result<_>>()?;
    model.embed_pictures(&prepared)
}

/// Loads the picture model `name` (CLIP, a ResNet, or `pixels:...`), as `locator` says; a text
/// model is refused.
pub fn load_picture_model(name: &str, locator: &Locator) -> Result<Box<dyn PictureModel>> {
    if name.starts_with(pixels::PREFIX) {
        return Ok(Box::new(PixelModel::parse(name)?));
    }
    let located = locator.locate(name)?;
    let shown = match located.source {
        Source::Path => name,
        _ => located.id.as_str(),
    };
    if clip_folder(&located.path).is_some() {
        Ok(Box::new(ClipModel::load(&located.path, shown)?))
    } else if resnet_folder(&located.path) {
        Ok(Box::new(ResnetModel::load(&located.path, shown)?))
    } else {
        Err(ModelError::WrongInput {
            model: shown.to_owned(),
            kind: "pictures".into(),
            hint: "sounds are embedded as spectrogram pictures, so audio: needs a picture \
                   model: a CLIP model, a ResNet or pixels:WxH:gray (e.g. audio:clip-ViT-B-32)"
                .into(),
        })
    }
}

/// Embeds `inputs`, which must all be of `kind` (pictures, or sounds for `audio:` models), with
/// `model` (named `name` in errors): the [`emb_core::Embedder::embed_batch`] of models that
/// take encoded files.
pub(crate) fn embed_binary_inputs(
    model: &dyn PictureModel,
    name: &str,
    kind: emb_core::InputKind,
    inputs: &[emb_core::Input<'_>],
) -> emb_core::Result<Vec<emb_core::Vector>> {
    let mut encoded = Vec::with_capacity(inputs.len());
    for input in inputs {
        match input {
            emb_core::Input::Image(bytes) | emb_core::Input::Audio(bytes)
                if input.kind() == kind =>
            {
                encoded.push(*bytes);
            }
            other => {
                return Err(emb_core::Error::UnsupportedInput {
                    model: name.to_owned(),
                    kind: other.kind(),
                })
            }
        }
    }
    embed_picture_bytes(model, &encoded).map_err(|error| emb_core::Error::Embedding {
        model: name.to_owned(),
        source: Box::new(error),
    })
}

/// GEMM parallelism over every core rayon has (none when it has one).
pub(crate) fn parallelism() -> gemm::Parallelism {
    match rayon::current_num_threads() {
        0 | 1 => gemm::Parallelism::None,
        threads => gemm::Parallelism::Rayon(threads),
    }
}

/// Loads the model `name` (a short name, hub id, folder path or `pixels:WxH:gray`, looked up as
/// `locator` says) as an [`emb_core::Embedder`]: a sentence-transformers folder, CLIP, a ResNet,
/// word vectors or raw pixels.
pub fn load(name: &str, locator: &Locator) -> Result<Box<dyn emb_core::Embedder>> {
    if name.starts_with(pixels::PREFIX) {
        return Ok(Box::new(PixelModel::parse(name)?));
    }
    if let Some(picture_model) = name.strip_prefix(audio::PREFIX) {
        return Ok(Box::new(AudioModel::new(load_picture_model(picture_model, locator)?)));
    }
    let located = locator.locate(name)?;
    let shown = match located.source {
        Source::Path => name,
        _ => located.id.as_str(),
    };
    Ok(if resolve::is_word_vectors(&located.path) {
        Box::new(WordVectorModel::load(&located.path, shown)?)
    } else if clip_folder(&located.path).is_some() {
        Box::new(ClipModel::load(&located.path, shown)?)
    } else if resnet_folder(&located.path) {
        Box::new(ResnetModel::load(&located.path, shown)?)
    } else {
        Box::new(SentenceTransformer::load(&located.path, shown)?)
    })
}
