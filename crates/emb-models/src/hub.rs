//! Downloading a sentence-transformers model from the Hugging Face hub.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::error::{ModelError, Result};

/// Files a model needs besides those under module folders; weights in other formats are skipped.
fn wanted(file: &str) -> bool {
    let skipped_folders = ["onnx/", "openvino/", "coreml/", "tf/", "flax/"];
    if skipped_folders.iter().any(|folder| file.starts_with(folder)) {
        return false;
    }
    let name = file.rsplit('/').next().unwrap_or(file);
    name == "model.safetensors"
        || Path::new(name).extension().is_some_and(|extension| {
            matches!(extension.to_str(), Some("json" | "txt" | "model"))
                && name != "onnx_config.json"
        })
}

fn failure(id: &str, endpoint: &str, problem: impl ToString) -> ModelError {
    ModelError::Download {
        name: id.to_owned(),
        endpoint: endpoint.to_owned(),
        problem: problem.to_string(),
    }
}

/// Downloads the files of `id` at revision `main` into `destination` (replaced whole, via a
/// `.partial` folder, so an interrupted download never leaves a half model behind).
pub(crate) fn download(
    id: &str,
    destination: &Path,
    endpoint: &str,
    token: Option<&str>,
) -> Result<()> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(10)))
        .timeout_recv_response(Some(Duration::from_secs(30)))
        .build()
        .into();
    let get = |url: &str| {
        let request = agent.get(url);
        match token {
            Some(token) => request.header("Authorization", &format!("Bearer {token}")).call(),
            None => request.call(),
        }
    };
    let listing_url = format!("{endpoint}/api/models/{id}/revision/main");
    let listing: serde_json::Value = get(&listing_url)
        .map_err(|error| failure(id, endpoint, error))?
        .body_mut()
        .read_json()
        .map_err(|error| failure(id, endpoint, error))?;
    let revision = listing["sha"].as_str().unwrap_or("main").to_owned();
    let files: Vec<String> = listing["siblings"]
        .as_array()
        .map(|siblings| {
            siblings
                .iter()
                .filter_map(|sibling| sibling["rfilename"].as_str())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if !files.iter().any(|file| file == "model.safetensors" || file.ends_with("/model.safetensors"))
    {
        return Err(failure(id, endpoint, "the repository has no model.safetensors"));
    }
    let partial = destination.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    for file in files.iter().filter(|file| wanted(file)) {
        tracing::info!(file, "downloading");
        let target = partial.join(file);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|error| ModelError::io(parent, error))?;
        }
        let url = format!("{endpoint}/{id}/resolve/{revision}/{file}");
        let mut response =
            get(&url).map_err(|error| failure(id, endpoint, format!("{file}: {error}")))?;
        let mut output =
            std::fs::File::create(&target).map_err(|error| ModelError::io(&target, error))?;
        let mut reader = response.body_mut().with_config().limit(u64::MAX).reader();
        std::io::copy(&mut reader, &mut output)
            .map_err(|error| failure(id, endpoint, format!("{file}: {error}")))?;
        output.flush().map_err(|error| ModelError::io(&target, error))?;
    }
    let _ = std::fs::remove_dir_all(destination);
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(|error| ModelError::io(parent, error))?;
    }
    std::fs::rename(&partial, destination).map_err(|error| ModelError::io(destination, error))
}

#[cfg(test)]
mod tests {
    use super::wanted;

    #[test]
    fn picks_the_files_a_sentence_transformers_folder_needs() {
        for file in [
            "config.json",
            "model.safetensors",
            "vocab.txt",
            "1_Pooling/config.json",
            "sentencepiece.bpe.model",
        ] {
            assert!(wanted(file), "{file}");
        }
        for file in [
            "pytorch_model.bin",
            "onnx/model.onnx",
            "onnx/config.json",
            "README.md",
            "rust_model.ot",
        ] {
            assert!(!wanted(file), "{file}");
        }
    }
}
