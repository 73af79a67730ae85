//! Finding a model by name or path: an explicit folder, the emb model cache,
//! the Hugging Face cache, then the Hugging Face hub.

use std::path::{Path, PathBuf};

use crate::error::{ModelError, Result};
use crate::hub;

/// The folder of the emb cache that holds word vectors registered under a name of their own.
const LOCAL: &str = "local";

/// Short names that map to a hub organisation other than `sentence-transformers`.
const KNOWN_ORGANISATIONS: &[(&str, &str)] = &[
    ("bge-small-en-v1.5", "BAAI"),
    ("bge-base-en-v1.5", "BAAI"),
    ("bge-large-en-v1.5", "BAAI"),
    ("e5-small-v2", "intfloat"),
    ("e5-base-v2", "intfloat"),
    ("multilingual-e5-small", "intfloat"),
    ("gte-small", "thenlper"),
    ("gte-base", "thenlper"),
];

/// Short names that stand for one particular hub repository: torchvision's ImageNet ResNet
/// weights as timm publishes them in safetensors.
const KNOWN_IDS: &[(&str, &str)] = &[
    ("resnet18", "timm/resnet18.tv_in1k"),
    ("resnet34", "timm/resnet34.tv_in1k"),
    ("resnet50", "timm/resnet50.tv_in1k"),
    ("resnet101", "timm/resnet101.tv_in1k"),
    ("resnet152", "timm/resnet152.tv_in1k"),
];

/// Where a model was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// A folder path given by the user.
    Path,
    /// The emb model cache (`$EMB_HOME/models`).
    EmbCache,
    /// The Hugging Face cache (`~/.cache/huggingface/hub`).
    HuggingFaceCache,
    /// Downloaded from the hub just now into the emb cache.
    Downloaded,
}

/// A model folder that was found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Located {
    /// The hub id (`org/name`), or the path as given for folders.
    pub id: String,
    /// The folder.
    pub path: PathBuf,
    /// Where it was found.
    pub source: Source,
}

/// How to look for models. [`Locator::from_environment`] reads the usual variables.
#[derive(Debug, Clone)]
pub struct Locator {
    /// The emb home folder; models live in its `models/` folder. Default: `EMB_HOME`, else
    /// the user's data folder + `emb` (`~/.local/share/emb` on Linux).
    pub home: PathBuf,
    /// The Hugging Face hub cache. Default: `HF_HUB_CACHE`, else `HF_HOME/hub`, else
    /// `~/.cache/huggingface/hub`.
    pub huggingface_cache: Option<PathBuf>,
    /// Whether a missing model may be downloaded. Default: true unless `EMB_OFFLINE` or
    /// `HF_HUB_OFFLINE` is set to `1`.
    pub allow_download: bool,
    /// The hub's address. Default: `HF_ENDPOINT`, else `https://huggingface.co`.
    pub endpoint: String,
    /// A hub access token. Default: `HF_TOKEN`.
    pub token: Option<String>,
}

/// The default emb home folder: `EMB_HOME`, else the user's data folder + `emb`.
pub fn default_home() -> PathBuf {
    std::env::var_os("EMB_HOME").filter(|home| !home.is_empty()).map_or_else(
        || dirs::data_dir().unwrap_or_else(|| PathBuf::from(".")).join("emb"),
        PathBuf::from,
    )
}

/// The model used when none is named: `all-MiniLM-L6-v2`.
pub const BUILT_IN_DEFAULT_MODEL: &str = "all-MiniLM-L6-v2";

/// The file in the emb home folder that names the default model (`emb models default`).
pub fn default_model_file(home: &Path) -> PathBuf {
    home.join("default_model.txt")
}

/// The default model: the one named in [`default_model_file`], else [`BUILT_IN_DEFAULT_MODEL`].
pub fn default_model(home: &Path) -> String {
    std::fs::read_to_string(default_model_file(home))
        .ok()
        .map(|text| text.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| BUILT_IN_DEFAULT_MODEL.to_owned())
}

fn variable_is_on(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| matches!(value.as_str(), "1" | "true" | "yes" | "on"))
}

impl Locator {
    /// A locator configured from the environment (see the field docs for the variables).
    pub fn from_environment() -> Self {
        let huggingface_cache = std::env::var_os("HF_HUB_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HF_HOME").map(|home| PathBuf::from(home).join("hub")))
            .or_else(|| dirs::cache_dir().map(|cache| cache.join("huggingface/hub")));
        Self {
            home: default_home(),
            huggingface_cache,
            allow_download: !variable_is_on("EMB_OFFLINE") && !variable_is_on("HF_HUB_OFFLINE"),
            endpoint: std::env::var("HF_ENDPOINT")
                .unwrap_or_else(|_| "https://huggingface.co".to_owned()),
            token: std::env::var("HF_TOKEN").ok().filter(|token| !token.is_empty()),
        }
    }

    /// The emb model cache folder.
    pub fn models_folder(&self) -> PathBuf {
        self.home.join("models")
    }

    /// Finds `name` (a folder path, a hub id like `BAAI/bge-small-en-v1.5`, or a short name
    /// like `all-MiniLM-L6-v2`), downloading it into the emb cache if allowed and needed.
    pub fn locate(&self, name: &str) -> Result<Located> {
        if let Some(found) = self.find(name)? {
            return Ok(found);
        }
        let id = hub_id(name);
        let searched = self.searched(&id);
        if !self.allow_download {
            return Err(self.not_found(name, &searched, "; downloads are off (EMB_OFFLINE)"));
        }
        let destination = self.models_folder().join(&id);
        match hub::download(&id, &destination, &self.endpoint, self.token.as_deref()) {
            Ok(()) => Ok(Located { id, path: destination, source: Source::Downloaded }),
            Err(error) => Err(self.not_found(name, &searched, &format!("; {error}"))),
        }
    }

    /// Finds `name` locally, without downloading.
    pub fn find(&self, name: &str) -> Result<Option<Located>> {
        let as_path = expand_tilde(name);
        if as_path.is_dir() || as_path.is_file() {
            return Ok(Some(Located { id: name.to_owned(), path: as_path, source: Source::Path }));
        }
        if looks_like_path(name) {
            return Err(ModelError::NotAModel {
                path: as_path,
                problem: "no such folder".to_owned(),
            });
        }
        let registered = self.registered_folder(name);
        if !name.contains('/') && is_model_folder(&registered) {
            return Ok(Some(Located {
                id: name.to_owned(),
                path: registered,
                source: Source::EmbCache,
            }));
        }
        let id = hub_id(name);
        let cached = self.models_folder().join(&id);
        if is_model_folder(&cached) {
            return Ok(Some(Located { id, path: cached, source: Source::EmbCache }));
        }
        if let Some(snapshot) = self.huggingface_snapshot(&id) {
            return Ok(Some(Located { id, path: snapshot, source: Source::HuggingFaceCache }));
        }
        Ok(None)
    }

    /// The folder where word vectors registered as `name` live (`models/local/NAME`).
    pub fn registered_folder(&self, name: &str) -> PathBuf {
        self.models_folder().join(LOCAL).join(name)
    }

    /// Downloads `name` from the hub into the emb cache, replacing any copy there.
    pub fn pull(&self, name: &str) -> Result<Located> {
        let id = hub_id(name);
        let destination = self.models_folder().join(&id);
        hub::download(&id, &destination, &self.endpoint, self.token.as_deref())?;
        Ok(Located { id, path: destination, source: Source::Downloaded })
    }

    /// Every model folder in the emb cache and the Hugging Face cache.
    pub fn installed(&self) -> Vec<Located> {
        let mut found = Vec::new();
        for organisation in read_folders(&self.models_folder()) {
            for model in read_folders(&organisation) {
                if is_model_folder(&model) {
                    let id = if file_name(&organisation) == LOCAL {
                        file_name(&model).to_owned()
                    } else {
                        format!("{}/{}", file_name(&organisation), file_name(&model))
                    };
                    found.push(Located { id, path: model, source: Source::EmbCache });
                }
            }
        }
        if let Some(cache) = &self.huggingface_cache {
            for entry in read_folders(cache) {
                let Some(rest) = file_name(&entry).strip_prefix("models--").map(str::to_owned)
                else {
                    continue;
                };
                let id = rest.replacen("--", "/", 1);
                if let Some(snapshot) = self.huggingface_snapshot(&id) {
                    found.push(Located { id, path: snapshot, source: Source::HuggingFaceCache });
                }
            }
        }
        found
    }

    fn huggingface_snapshot(&self, id: &str) -> Option<PathBuf> {
        let repository =
            self.huggingface_cache.as_ref()?.join(format!("models--{}", id.replace('/', "--")));
        let snapshots = repository.join("snapshots");
        let main = std::fs::read_to_string(repository.join("refs/main")).ok();
        if let Some(revision) = main.map(|text| text.trim().to_owned()) {
            let snapshot = snapshots.join(revision);
            if is_model_folder(&snapshot) {
                return Some(snapshot);
            }
        }
        read_folders(&snapshots).into_iter().find(|snapshot| is_model_folder(snapshot))
    }

    fn searched(&self, id: &str) -> String {
        let mut places = vec![self.models_folder().join(id).display().to_string()];
        if let Some(cache) = &self.huggingface_cache {
            places.push(
                cache.join(format!("models--{}", id.replace('/', "--"))).display().to_string(),
            );
        }
        places.join(", ")
    }

    fn not_found(&self, name: &str, searched: &str, reason: &str) -> ModelError {
        ModelError::NotFound {
            name: name.to_owned(),
            searched: searched.to_owned(),
            reason: reason.to_owned(),
            cache: self.models_folder(),
        }
    }
}

/// The hub id for a name: `org/name` stays; a short name gets its organisation.
pub fn hub_id(name: &str) -> String {
    if name.contains('/') {
        return name.to_owned();
    }
    if let Some((_, id)) = KNOWN_IDS.iter().find(|(short, _)| short.eq_ignore_ascii_case(name)) {
        return (*id).to_owned();
    }
    let organisation = KNOWN_ORGANISATIONS
        .iter()
        .find(|(short, _)| short.eq_ignore_ascii_case(name))
        .map_or("sentence-transformers", |(_, organisation)| organisation);
    format!("{organisation}/{name}")
}

fn looks_like_path(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('/')
        || name.starts_with('~')
        || name.contains('\\')
        || name.matches('/').count() > 1
}

fn expand_tilde(name: &str) -> PathBuf {
    match (name.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(name),
    }
}

/// Whether `folder` holds a transformer config (at its root or in a module folder) or
/// registered word vectors.
pub fn is_model_folder(folder: &Path) -> bool {
    folder.join("config.json").is_file()
        || folder.join("modules.json").is_file()
        || is_word_vectors(folder)
}

/// Whether `path` is word vectors: a registered folder, or a file (models are folders).
pub fn is_word_vectors(path: &Path) -> bool {
    path.is_file() || path.join(crate::word_vectors::CONFIG_FILE).is_file()
}

fn read_folders(folder: &Path) -> Vec<PathBuf> {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries.flatten().map(|entry| entry.path()).filter(|path| path.is_dir()).collect()
        })
        .unwrap_or_default();
    folders.sort();
    folders
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|name| name.to_str()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locator(home: &Path) -> Locator {
        Locator {
            home: home.join("emb"),
            huggingface_cache: Some(home.join("hf")),
            allow_download: false,
            endpoint: "http://127.0.0.1:9".to_owned(),
            token: None,
        }
    }

    fn make_model(folder: &Path) {
        std::fs::create_dir_all(folder).unwrap();
        std::fs::write(folder.join("config.json"), "{}").unwrap();
    }

    #[test]
    fn short_names_get_their_organisation() {
        assert_eq!(hub_id("all-MiniLM-L6-v2"), "sentence-transformers/all-MiniLM-L6-v2");
        assert_eq!(hub_id("resnet50"), "timm/resnet50.tv_in1k");
        assert_eq!(hub_id("bge-small-en-v1.5"), "BAAI/bge-small-en-v1.5");
        assert_eq!(hub_id("intfloat/e5-large"), "intfloat/e5-large");
    }

    #[test]
    fn resolution_order_is_path_then_emb_cache_then_huggingface_cache() {
        let temporary = tempfile::tempdir().unwrap();
        let locator = locator(temporary.path());
        let snapshot = temporary
            .path()
            .join("hf/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc");
        make_model(&snapshot);
        std::fs::write(
            temporary.path().join("hf/models--sentence-transformers--all-MiniLM-L6-v2/refs"),
            "",
        )
        .ok();
        let found = locator.find("all-MiniLM-L6-v2").unwrap().unwrap();
        assert_eq!(found.source, Source::HuggingFaceCache);
        assert_eq!(found.path, snapshot);

        let cached = temporary.path().join("emb/models/sentence-transformers/all-MiniLM-L6-v2");
        make_model(&cached);
        let found = locator.find("all-MiniLM-L6-v2").unwrap().unwrap();
        assert_eq!((found.source, found.path), (Source::EmbCache, cached.clone()));

        let found = locator.find(cached.to_str().unwrap()).unwrap().unwrap();
        assert_eq!(found.source, Source::Path);

        let ids: Vec<String> = locator.installed().into_iter().map(|located| located.id).collect();
        assert_eq!(ids, vec!["sentence-transformers/all-MiniLM-L6-v2"; 2]);
    }

    #[test]
    fn missing_model_offline_says_how_to_get_it() {
        let temporary = tempfile::tempdir().unwrap();
        let error = locator(temporary.path()).locate("no-such-model").unwrap_err().to_string();
        assert!(error.contains("model no-such-model is not installed"), "{error}");
        assert!(error.contains("emb models pull no-such-model"), "{error}");
        assert!(error.contains("EMB_OFFLINE"), "{error}");
    }

    #[test]
    fn a_missing_folder_path_is_not_looked_up_on_the_hub() {
        let error = locator(Path::new("/nonexistent")).locate("./nowhere/model").unwrap_err();
        assert!(matches!(error, ModelError::NotAModel { .. }), "{error}");
    }
}
