//! Reading the text a command works on, with errors that say where it went wrong.

use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::TextSource;

/// What a command was given to embed: text, or the bytes of a picture or a sound.
pub enum Query {
    /// Text.
    Text(String),
    /// An encoded picture or sound.
    Binary(Vec<u8>),
}

/// The text, picture or sound from `-c`, `-i FILE` or standard input. Input read from a file or
/// standard input is binary when `binary` is set or when its first bytes say it is a picture
/// (JPEG, PNG, WebP, GIF) or a sound (WAV, FLAC, MP3, Ogg); it is text otherwise.
pub fn read_query(source: &TextSource, binary: bool) -> Result<Query> {
    if source.content.is_none() {
        let (bytes, origin) = read_bytes(source)?;
        if binary
            || emb::pictures::format_of(&bytes).is_some()
            || emb::audio::format_of(&bytes).is_some()
        {
            if bytes.is_empty() {
                bail!("{origin} is empty (0 bytes): there is nothing to embed");
            }
            return Ok(Query::Binary(bytes));
        }
        let text = decode(bytes, &origin)?;
        check(&text, &origin)?;
        return Ok(Query::Text(text));
    }
    read_text(source, None).map(Query::Text)
}

/// Where the input of `source` comes from, for messages: the file, standard input, or `-c`.
pub fn origin(source: &TextSource) -> String {
    match source.input.as_deref() {
        Some(path) if path != Path::new("-") => path.display().to_string(),
        None if source.content.is_some() => "the text given with -c".to_owned(),
        _ => "standard input".to_owned(),
    }
}

/// The bytes of `-i FILE` or standard input, and a name for where they came from.
fn read_bytes(source: &TextSource) -> Result<(Vec<u8>, String)> {
    if let Some(path) = source.input.as_deref().filter(|path| *path != Path::new("-")) {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        return Ok((bytes, origin(source)));
    }
    let mut stdin = std::io::stdin();
    if source.input.is_none() && stdin.is_terminal() {
        bail!(
            "nothing to embed: give the text with -c TEXT, or a text or picture with -i FILE or \
             on standard input"
        );
    }
    let mut bytes = Vec::new();
    stdin.read_to_end(&mut bytes).context("cannot read standard input")?;
    Ok((bytes, origin(source)))
}

/// The text from `positional`, `-c`, `-i FILE` or standard input, in that order.
pub fn read_text(source: &TextSource, positional: Option<&str>) -> Result<String> {
    let text = if let Some(text) = positional.or(source.content.as_deref()) {
        text.to_owned()
    } else if let Some(path) = source.input.as_deref().filter(|path| *path != Path::new("-")) {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        decode(bytes, &path.display().to_string())?
    } else {
        let mut stdin = std::io::stdin();
        if source.input.is_none() && stdin.is_terminal() {
            bail!("nothing to embed: give the text with -c TEXT, -i FILE, or on standard input");
        }
        let mut bytes = Vec::new();
        stdin.read_to_end(&mut bytes).context("cannot read standard input")?;
        decode(bytes, "standard input")?
    };
    let origin = match positional {
        Some(_) => "the text given".to_owned(),
        None => origin(source),
    };
    check(&text, &origin)?;
    Ok(text)
}

/// Refuses text that no model should embed (the library's rule, which the server applies too).
fn check(text: &str, origin: &str) -> Result<()> {
    match emb::unembeddable(text) {
        Some(problem) => bail!("{origin}: {problem}"),
        None => Ok(()),
    }
}

/// Decodes UTF-8, naming `origin` and the byte offset of the first invalid byte on failure.
fn decode(bytes: Vec<u8>, origin: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        anyhow::anyhow!(
            "{origin} is not valid UTF-8: invalid byte 0x{:02x} at byte offset {offset}; \
             convert it first (e.g. iconv -f latin1 -t utf-8)",
            error.as_bytes()[offset]
        )
    })
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn invalid_utf8_names_origin_and_offset() {
        let error = decode(b"caf\xe9 au lait".to_vec(), "menu.txt").unwrap_err().to_string();
        assert!(
            error.starts_with("menu.txt is not valid UTF-8: invalid byte 0xe9 at byte offset 3"),
            "{error}"
        );
    }
}
