//! Turn a file into text for embedding: Markdown, HTML, PDF and plain text in any encoding.
//!
//! [`extract_file`] reads a file (refusing one over [`ExtractOptions::max_bytes`] before reading
//! it) and [`extract_bytes`] takes bytes already in memory. Either returns a [`Document`] or an
//! [`ExtractError`] that says what is wrong with the file and what to do about it, so a caller
//! walking a folder can report the file and go on with the next one.
//!
//! - Text is decoded from a byte order mark, a forced `--encoding`, or else as UTF-8 when it is
//!   valid UTF-8, or else from the legacy encoding that detection finds (windows-1252, `Shift_JIS`,
//!   GBK, …). Line endings become `\n`.
//! - Markdown stays Markdown; YAML front matter becomes empty lines, so line numbers still match.
//! - HTML becomes readable text: headings become `#` lines, list items `- ` lines, scripts,
//!   styles and the `<head>` are dropped and the `<title>` opens the text as a `# ` line.
//! - PDF pages become text separated by a blank line.
//!
//! ```
//! use emb_docs::extract::{extract_bytes, ExtractOptions, Format};
//!
//! let html = b"<title>Notes</title><h2>Caf&eacute;</h2><ul><li>one<li>two</ul>";
//! let document = extract_bytes(html, Format::Html, &ExtractOptions::default())?;
//! assert_eq!(document.text, "# Notes\n\n## Café\n\n- one\n- two\n");
//! assert_eq!(document.encoding, "UTF-8");
//! # Ok::<(), emb_docs::extract::ExtractError>(())
//! ```

mod decode;
mod html;
mod pdf;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use decode::{declared_charset, decode};
use html::html_to_text;
use pdf::pdf_to_text;

/// The default of [`ExtractOptions::max_bytes`]: 20 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;
/// [`Document::encoding`] of a PDF, whose text comes from the encodings of its fonts.
const PDF_ENCODING: &str = "PDF";

/// The kind of a file, which decides how its text is extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Markdown (`.md`, `.markdown`, `.mdx`), kept as Markdown without its front matter.
    Markdown,
    /// HTML (`.html`, `.htm`, `.xhtml`), reduced to readable text.
    Html,
    /// PDF (`.pdf`), the text of its pages.
    Pdf,
    /// Anything else, read as plain text.
    Text,
}

impl Format {
    /// The format of a file, from its extension (case-insensitive); unknown extensions are text.
    pub fn from_path(path: &Path) -> Format {
        let extension =
            path.extension().and_then(|extension| extension.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("md" | "markdown" | "mdx") => Format::Markdown,
            Some("html" | "htm" | "xhtml") => Format::Html,
            Some("pdf") => Format::Pdf,
            _ => Format::Text,
        }
    }
}

/// The text of a file, ready for chunking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The text, with `\n` line endings and no byte order mark.
    pub text: String,
    /// The format the text was extracted as.
    pub format: Format,
    /// The encoding the bytes were decoded from (`"UTF-8"`, `"windows-1252"`, `"Shift_JIS"`, …);
    /// `"PDF"` for a PDF, whose text is decoded by its fonts' own encodings.
    pub encoding: &'static str,
}

/// Settings of an extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractOptions {
    /// A WHATWG encoding label (`windows-1252`, `shift_jis`, `utf-16le`, …) to decode text with
    /// instead of detecting it; a byte order mark still wins. Default: `None` (detect).
    pub encoding: Option<String>,
    /// Files larger than this many bytes are refused with [`ExtractError::TooLarge`] before they
    /// are read. Default: [`DEFAULT_MAX_BYTES`] (20 MiB).
    pub max_bytes: u64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        Self { encoding: None, max_bytes: DEFAULT_MAX_BYTES }
    }
}

/// Why a file's text could not be extracted; the caller reports the file and skips it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The file could not be read (missing, unreadable, or not a regular file).
    #[error("could not read {path}: {source}; check that it is a regular file you may read")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The file is larger than [`ExtractOptions::max_bytes`].
    #[error(
        "the file is {size} bytes, over the limit of {limit} bytes; raise the limit with \
         --max-file-size or leave the file out"
    )]
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The file has NUL bytes near its start, so it is binary (an image, an archive, …).
    #[error(
        "the file is binary (it has NUL bytes), not text; leave it out, or if it is UTF-16 text \
         without a byte order mark, force the encoding with --encoding utf-16le (or utf-16be)"
    )]
    Binary,
    /// The file is mostly UTF-8 but has bytes that are not: decoding it any way would garble it.
    #[error(
        "the file is UTF-8 with invalid bytes at byte offset {offset}; fix or re-save it as \
         UTF-8, or force its real encoding with --encoding"
    )]
    InvalidUtf8 {
        /// The offset in the file of the first byte that is not valid UTF-8.
        offset: usize,
    },
    /// The encoding forced with `--encoding` is not a known WHATWG label.
    #[error(
        "unknown encoding {label:?}; use a WHATWG label such as utf-8, windows-1252, \
         iso-8859-15, shift_jis, euc-jp, gbk, big5, euc-kr or utf-16le"
    )]
    UnknownEncoding {
        /// The label as given.
        label: String,
    },
    /// The PDF could not be read: it is damaged, encrypted, or beyond the PDF reader.
    #[error(
        "could not read the PDF: {message}; if it opens in a PDF viewer, save or print it to a \
         new PDF and try that"
    )]
    Pdf {
        /// What went wrong.
        message: String,
    },
    /// The PDF was read but has no text: its pages are empty or are scanned images.
    #[error(
        "the PDF has no text; it may be scanned images: run OCR first (for example with \
         ocrmypdf) and embed the result"
    )]
    NoText,
}

/// Reads the file at `path` and extracts its text, in the [`Format`] its extension names.
///
/// The size is checked from the file's metadata before anything is read.
pub fn extract_file(path: &Path, options: &ExtractOptions) -> Result<Document, ExtractError> {
    let io_error = |source| ExtractError::Io { path: path.to_path_buf(), source };
    // Checked before opening: opening a named pipe would block until something writes to it.
    let metadata = std::fs::metadata(path).map_err(io_error)?;
    if !metadata.is_file() {
        let source = io::Error::new(io::ErrorKind::InvalidInput, "not a regular file");
        return Err(io_error(source));
    }
    check_size(metadata.len(), options.max_bytes)?;
    let file = File::open(path).map_err(io_error)?;
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // One byte over the limit is enough to see that the file grew past it since `metadata`.
    file.take(options.max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(io_error)?;
    extract_bytes(&bytes, Format::from_path(path), options)
}

/// Extracts the text of `bytes`, the content of a file in `format`.
pub fn extract_bytes(
    bytes: &[u8],
    format: Format,
    options: &ExtractOptions,
) -> Result<Document, ExtractError> {
    check_size(bytes.len() as u64, options.max_bytes)?;
    let (text, encoding) = match format {
        Format::Text => decode(bytes, options, None)?,
        Format::Markdown => {
            let (text, encoding) = decode(bytes, options, None)?;
            (blank_front_matter(text), encoding)
        }
        Format::Html => {
            let (html, encoding) = decode(bytes, options, declared_charset(bytes))?;
            (html_to_text(&html), encoding)
        }
        Format::Pdf => (pdf_to_text(bytes)?, PDF_ENCODING),
    };
    Ok(Document { text, format, encoding })
}

fn check_size(size: u64, limit: u64) -> Result<(), ExtractError> {
    if size > limit {
        return Err(ExtractError::TooLarge { size, limit });
    }
    Ok(())
}

/// Replaces YAML front matter (a first line `---` up to a line `---` or `...`) with as many empty
/// lines, so that line numbers still match the file.
fn blank_front_matter(text: String) -> String {
    let mut lines = text.split_inclusive('\n');
    if lines.next().map(str::trim_end) != Some("---") {
        return text;
    }
    let mut end = text.find('\n').map_or(text.len(), |newline| newline + 1);
    for line in lines {
        end += line.len();
        if matches!(line.trim_end(), "---" | "...") {
            let newlines = text[..end].matches('\n').count();
            return "\n".repeat(newlines) + &text[end..];
        }
    }
    text
}

/// Trims the end of each line, keeps at most one blank line in a row, drops blank lines at both
/// ends, and ends the text with a newline unless it is empty.
fn tidy_lines(text: &str) -> String {
    let mut tidy = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank = !tidy.is_empty();
            continue;
        }
        if blank {
            tidy.push('\n');
            blank = false;
        }
        tidy.push_str(line);
        tidy.push('\n');
    }
    tidy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_extension_whatever_its_case() {
        assert_eq!(Format::from_path(Path::new("a/README.MD")), Format::Markdown);
        assert_eq!(Format::from_path(Path::new("page.mdx")), Format::Markdown);
        assert_eq!(Format::from_path(Path::new("page.XHTML")), Format::Html);
        assert_eq!(Format::from_path(Path::new("paper.Pdf")), Format::Pdf);
        assert_eq!(Format::from_path(Path::new("main.rs")), Format::Text);
        assert_eq!(Format::from_path(Path::new("Makefile")), Format::Text);
        assert_eq!(serde_json::to_string(&Format::Html).unwrap(), "\"html\"");
    }

    #[test]
    fn default_limit_is_20_mib() {
        assert_eq!(ExtractOptions::default().max_bytes, 20 * 1024 * 1024);
        assert_eq!(ExtractOptions::default().encoding, None);
    }

    #[test]
    fn front_matter_becomes_empty_lines() {
        assert_eq!(blank_front_matter("---\na: 1\n---\nText\n".to_owned()), "\n\n\nText\n");
        assert_eq!(blank_front_matter("---\na: 1\n...\n".to_owned()), "\n\n\n");
        assert_eq!(blank_front_matter("---\na: 1\n---".to_owned()), "\n\n");
        assert_eq!(blank_front_matter("Text\n---\nb\n---\n".to_owned()), "Text\n---\nb\n---\n");
        assert_eq!(blank_front_matter("---\nunclosed\n".to_owned()), "---\nunclosed\n");
        assert_eq!(blank_front_matter("----\n---\n".to_owned()), "----\n---\n");
    }

    #[test]
    fn tidy_lines_trims_and_collapses_blank_lines() {
        assert_eq!(tidy_lines("\n\n  a  \n\n\n\nb\t\n \n"), "  a\n\nb\n");
        assert_eq!(tidy_lines(" \n "), "");
    }
}
