//! User settings kept in the emb home folder.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The model used when none is named: `all-MiniLM-L6-v2`.
pub const BUILT_IN_DEFAULT_MODEL: &str = emb_models::resolve::BUILT_IN_DEFAULT_MODEL;

/// The emb home folder (`EMB_HOME`, default `~/.local/share/emb` on Linux).
pub fn home() -> PathBuf {
    emb_models::resolve::default_home()
}

/// The default model: the one set with [`set_default_model`], else [`BUILT_IN_DEFAULT_MODEL`].
pub fn default_model(home: &Path) -> String {
    emb_models::resolve::default_model(home)
}

/// Makes `name` the default model.
pub fn set_default_model(home: &Path, name: &str) -> Result<()> {
    let path = emb_models::resolve::default_model_file(home);
    std::fs::create_dir_all(home)
        .map_err(|source| Error::Settings { path: home.to_owned(), source })?;
    std::fs::write(&path, format!("{name}\n")).map_err(|source| Error::Settings { path, source })
}
