//! Long text into chunks that fit a model, measured by the model's own tokenizer.
//!
//! Splitting is semantic: a chunk is made of the largest units that fit — sections under a
//! heading, paragraphs, lines, sentences, words — so a chunk breaks at a heading or a paragraph
//! before it breaks inside a sentence. The [`text_splitter`] crate does the splitting (it tries the
//! coarsest level first and binary-searches how many units fit, asking the size of each candidate
//! from the caller's counter); this module adds what emb stores with each chunk: its line range,
//! its index and the heading it sits under.
//!
//! ```
//! use emb_docs::chunk::{chunk, ChunkOptions, ChunkSize};
//!
//! let text = "# Cats\n\nCats purr softly.\n\n# Dogs\n\nDogs bark loudly.\n";
//! let options = ChunkOptions { size: ChunkSize::Characters(30), overlap: 0, markdown: true };
//! let characters = |piece: &str| piece.chars().count();
//! let chunks = chunk(text, &options, &characters).unwrap();
//! assert_eq!(chunks[0].text, "# Cats\n\nCats purr softly.");
//! assert_eq!(chunks[1].heading.as_deref(), Some("Dogs"));
//! assert_eq!((chunks[1].start_line, chunks[1].end_line), (5, 7));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use text_splitter::{ChunkConfig, ChunkSizer, MarkdownSplitter, TextSplitter};

/// How big a chunk may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkSize {
    /// At most this many tokens of the model's tokenizer (special tokens not counted).
    Tokens(usize),
    /// At most this many characters (Unicode scalar values).
    Characters(usize),
}

impl ChunkSize {
    /// The number in the size, whatever its unit.
    pub fn limit(self) -> usize {
        match self {
            ChunkSize::Tokens(limit) | ChunkSize::Characters(limit) => limit,
        }
    }
}

impl FromStr for ChunkSize {
    type Err = ChunkError;

    /// Parses `tokens:256` or `chars:2000` (a bare number means tokens).
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let invalid = || ChunkError::InvalidSize { spec: spec.to_owned() };
        let (unit, number) = spec.split_once(':').unwrap_or(("tokens", spec));
        let limit: usize = number.trim().parse().map_err(|_| invalid())?;
        if limit == 0 {
            return Err(invalid());
        }
        match unit.trim() {
            "tokens" | "token" => Ok(ChunkSize::Tokens(limit)),
            "chars" | "characters" => Ok(ChunkSize::Characters(limit)),
            _ => Err(invalid()),
        }
    }
}

impl fmt::Display for ChunkSize {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChunkSize::Tokens(limit) => write!(formatter, "tokens:{limit}"),
            ChunkSize::Characters(limit) => write!(formatter, "chars:{limit}"),
        }
    }
}

/// How to chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkOptions {
    /// The largest chunk.
    pub size: ChunkSize,
    /// How much of the end of one chunk the next one repeats, in the unit of `size`
    /// (0 for none). Must be smaller than the size.
    pub overlap: usize,
    /// Split Markdown by its structure (headings, lists, code blocks) and record headings.
    pub markdown: bool,
}

/// One chunk of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Its place among the chunks of the text, from 0.
    pub index: usize,
    /// The chunk: a verbatim slice of the text, without leading and trailing blank space.
    pub text: String,
    /// The line it starts on, from 1.
    pub start_line: usize,
    /// The line it ends on, inclusive.
    pub end_line: usize,
    /// The text of the Markdown heading its first line of body text sits under (Markdown only).
    pub heading: Option<String>,
}

/// What can go wrong when chunking.
#[derive(Debug, thiserror::Error)]
pub enum ChunkError {
    /// The size was not `tokens:N` or `chars:N` with N above zero.
    #[error(
        "chunk size {spec:?} is not understood: write tokens:N (for example tokens:256) or chars:N"
    )]
    InvalidSize {
        /// What was given.
        spec: String,
    },
    /// The overlap is as large as the chunks, so chunking would never advance.
    #[error("an overlap of {overlap} is not smaller than the chunk size {size}: choose a smaller --overlap")]
    OverlapTooLarge {
        /// The overlap asked for.
        overlap: usize,
        /// The chunk size.
        size: ChunkSize,
    },
}

/// Adapts a counting closure to the splitter.
struct Counter<'counter>(&'counter (dyn Fn(&str) -> usize + Sync));

impl ChunkSizer for Counter<'_> {
    fn size(&self, chunk: &str) -> usize {
        (self.0)(chunk)
    }
}

/// Splits `text` into chunks of at most `options.size`, measured by `count_tokens` when the size
/// is in tokens (it should count the tokens of a piece without special tokens) and by characters
/// otherwise. A text that fits is one chunk; an empty text is none.
pub fn chunk(
    text: &str,
    options: &ChunkOptions,
    count_tokens: &(dyn Fn(&str) -> usize + Sync),
) -> Result<Vec<Chunk>, ChunkError> {
    let characters = |piece: &str| piece.chars().count();
    let counter = match options.size {
        ChunkSize::Tokens(_) => Counter(count_tokens),
        ChunkSize::Characters(_) => Counter(&characters),
    };
    let config = ChunkConfig::new(options.size.limit())
        .with_overlap(options.overlap)
        .map_err(|_| ChunkError::OverlapTooLarge { overlap: options.overlap, size: options.size })?
        .with_sizer(counter)
        .with_trim(true);
    let pieces: Vec<(usize, &str)> = if options.markdown {
        MarkdownSplitter::new(config).chunk_indices(text).collect()
    } else {
        TextSplitter::new(config).chunk_indices(text).collect()
    };
    let pieces = if options.markdown {
        let fits = |piece: &str| match options.size {
            ChunkSize::Tokens(limit) => count_tokens(piece) <= limit,
            ChunkSize::Characters(limit) => piece.chars().count() <= limit,
        };
        without_lone_headings(text, pieces, &fits)
    } else {
        pieces
    };
    let lines = LineIndex::new(text);
    let headings = if options.markdown { markdown_headings(text) } else { Vec::new() };
    let chunks = pieces
        .into_iter()
        .filter(|(_, piece)| !piece.trim().is_empty())
        .enumerate()
        .map(|(index, (start, piece))| {
            let end = start + piece.len();
            // The heading its first line of body text sits under (not one it opens with).
            let mut body = start;
            for line in piece.split_inclusive('\n') {
                if !line.trim().is_empty() && atx_heading(line.trim_start()).is_none() {
                    break;
                }
                body += line.len();
            }
            let heading = headings
                .iter()
                .take_while(|(offset, _)| *offset <= body.min(end.saturating_sub(1)))
                .last()
                .map(|(_, heading)| heading.clone());
            Chunk {
                index,
                text: piece.to_owned(),
                start_line: lines.line_of(start),
                end_line: lines.line_of(end.saturating_sub(1).max(start)),
                heading,
            }
        })
        .collect();
    Ok(chunks)
}

/// The pieces without those that are nothing but headings (the splitter leaves one when the
/// section under a heading is too big to join it): such a heading opens the next piece when
/// both still fit together, and is dropped otherwise (the pieces under it still name it as
/// their heading).
fn without_lone_headings<'text>(
    text: &'text str,
    pieces: Vec<(usize, &'text str)>,
    fits: &dyn Fn(&str) -> bool,
) -> Vec<(usize, &'text str)> {
    let heading_only = |piece: &str| {
        piece
            .lines()
            .filter(|line| !line.trim().is_empty())
            .all(|line| atx_heading(line.trim_start()).is_some())
    };
    let mut kept: Vec<(usize, &'text str)> = Vec::with_capacity(pieces.len());
    let mut pending: Option<usize> = None;
    for (start, piece) in pieces {
        if heading_only(piece) && !piece.trim().is_empty() {
            pending = Some(pending.unwrap_or(start));
            continue;
        }
        let joined = pending.take().map(|heading| (heading, &text[heading..start + piece.len()]));
        match joined {
            Some((heading, together)) if heading < start && fits(together) => {
                kept.push((heading, together));
            }
            _ => kept.push((start, piece)),
        }
    }
    kept
}

/// Byte offsets of line starts, to turn an offset into a line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(offset, _)| offset + 1))
            .collect();
        LineIndex { starts }
    }

    /// The 1-based line holding byte `offset`.
    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}

/// The ATX headings (`# Title`) of a Markdown text outside fenced code blocks, with the byte
/// offset of their line.
fn markdown_headings(text: &str) -> Vec<(usize, String)> {
    let mut headings = Vec::new();
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        if indent <= 3 {
            if let Some(marker) = fence {
                if trimmed.starts_with(marker) {
                    fence = None;
                }
            } else if trimmed.starts_with("```") {
                fence = Some("```");
            } else if trimmed.starts_with("~~~") {
                fence = Some("~~~");
            } else if let Some(title) = atx_heading(trimmed) {
                headings.push((offset, title));
            }
        }
        offset += line.len();
    }
    headings
}

/// The title of an ATX heading line, without its `#` marks.
fn atx_heading(line: &str) -> Option<String> {
    let level = line.bytes().take_while(|&byte| byte == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t', '\n', '\r']) {
        return None;
    }
    let title = rest.trim().trim_end_matches('#').trim_end();
    (!title.is_empty()).then(|| title.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(piece: &str) -> usize {
        piece.split_whitespace().count()
    }

    fn options(size: ChunkSize, overlap: usize, markdown: bool) -> ChunkOptions {
        ChunkOptions { size, overlap, markdown }
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!("tokens:256".parse::<ChunkSize>().unwrap(), ChunkSize::Tokens(256));
        assert_eq!("chars:2000".parse::<ChunkSize>().unwrap(), ChunkSize::Characters(2000));
        assert_eq!("128".parse::<ChunkSize>().unwrap(), ChunkSize::Tokens(128));
        assert_eq!(ChunkSize::Tokens(256).to_string(), "tokens:256");
        for bad in ["tokens:0", "lines:3", "tokens:", "many"] {
            let error = bad.parse::<ChunkSize>().unwrap_err().to_string();
            assert!(error.contains("tokens:N"), "{bad}: {error}");
        }
    }

    #[test]
    fn every_chunk_fits_and_no_word_is_lost() {
        let sentence = "The quick brown fox jumps over the lazy dog.";
        let paragraphs: Vec<String> = (0..12)
            .map(|paragraph| (0..=paragraph % 4).map(|_| sentence).collect::<Vec<_>>().join(" "))
            .collect();
        let text = paragraphs.join("\n\n");
        let chunks = chunk(&text, &options(ChunkSize::Tokens(20), 0, false), &words).unwrap();
        assert!(chunks.len() > 5);
        for piece in &chunks {
            assert!(words(&piece.text) <= 20, "{:?}", piece.text);
            assert!(text.contains(&piece.text));
        }
        let total: usize = chunks.iter().map(|piece| words(&piece.text)).sum();
        assert_eq!(total, words(&text));
        let indices: Vec<usize> = chunks.iter().map(|piece| piece.index).collect();
        assert_eq!(indices, (0..chunks.len()).collect::<Vec<_>>());
    }

    #[test]
    fn paragraphs_are_kept_whole_when_they_fit() {
        let text = "One two three.\n\nFour five six seven.\n\nEight nine.";
        let chunks = chunk(text, &options(ChunkSize::Tokens(5), 0, false), &words).unwrap();
        let texts: Vec<&str> = chunks.iter().map(|piece| piece.text.as_str()).collect();
        assert_eq!(texts, ["One two three.", "Four five six seven.", "Eight nine."]);
        let lines: Vec<(usize, usize)> =
            chunks.iter().map(|piece| (piece.start_line, piece.end_line)).collect();
        assert_eq!(lines, [(1, 1), (3, 3), (5, 5)]);
    }

    #[test]
    fn overlap_repeats_the_end_of_the_previous_chunk() {
        let text = (1..=40).map(|number| format!("w{number}")).collect::<Vec<_>>().join(" ");
        let chunks = chunk(&text, &options(ChunkSize::Tokens(10), 3, false), &words).unwrap();
        for pair in chunks.windows(2) {
            let previous: Vec<&str> = pair[0].text.split_whitespace().collect();
            let next: Vec<&str> = pair[1].text.split_whitespace().collect();
            let shared = previous.iter().rev().take(3).filter(|word| next.contains(word)).count();
            assert!(shared >= 1, "{previous:?} then {next:?}");
            assert!(next.len() <= 10);
        }
        let last = chunks.last().unwrap();
        assert!(last.text.ends_with("w40"));
        let error = chunk(&text, &options(ChunkSize::Tokens(10), 10, false), &words).unwrap_err();
        assert!(matches!(error, ChunkError::OverlapTooLarge { overlap: 10, .. }));
    }

    #[test]
    fn markdown_breaks_at_headings_and_records_them() {
        let text = "# Guide\n\nIntro words here.\n\n## Install\n\nRun the installer now please.\n\n```\n# not a heading\ncode here\n```\n\n## Use\n\nCall it.\n";
        let chunks = chunk(text, &options(ChunkSize::Tokens(8), 0, true), &words).unwrap();
        let install = chunks.iter().find(|piece| piece.text.contains("installer")).unwrap();
        assert_eq!(install.heading.as_deref(), Some("Install"));
        assert!(!install.text.contains("Intro"));
        let code = chunks.iter().find(|piece| piece.text.contains("code here")).unwrap();
        assert_eq!(code.heading.as_deref(), Some("Install"));
        let usage = chunks.iter().find(|piece| piece.text.contains("Call it")).unwrap();
        assert_eq!(usage.heading.as_deref(), Some("Use"));
        assert_eq!(usage.end_line, 16);
    }

    #[test]
    fn a_heading_is_never_a_chunk_of_its_own() {
        let body = |word: &str| [word; 9].join(" ");
        let text = format!("# Title\n\n{}\n\n## Part\n\n{}\n", body("alpha"), body("beta"));
        let chunks = chunk(&text, &options(ChunkSize::Tokens(10), 0, true), &words).unwrap();
        let texts: Vec<&str> = chunks.iter().map(|piece| piece.text.as_str()).collect();
        assert_eq!(texts, [body("alpha"), body("beta")], "{chunks:#?}");
        assert_eq!(chunks[1].heading.as_deref(), Some("Part"));
        let roomy = chunk(&text, &options(ChunkSize::Tokens(12), 0, true), &words).unwrap();
        assert!(roomy[1].text.starts_with("## Part\n\nbeta"), "{roomy:#?}");
        assert_eq!(roomy[1].start_line, 5);
    }

    #[test]
    fn empty_and_blank_texts_have_no_chunks() {
        for text in ["", "  \n\n \n"] {
            let chunks = chunk(text, &options(ChunkSize::Tokens(8), 0, true), &words).unwrap();
            assert!(chunks.is_empty());
        }
    }

    #[test]
    fn a_word_longer_than_the_limit_is_cut_without_breaking_characters() {
        let text = "ééééééééééééééééééééééé";
        let chunks = chunk(text, &options(ChunkSize::Characters(5), 0, false), &words).unwrap();
        assert!(chunks.iter().all(|piece| piece.text.chars().count() <= 5));
        let joined: String = chunks.iter().map(|piece| piece.text.as_str()).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn headings_need_a_space_and_skip_fences() {
        assert_eq!(atx_heading("## Title ##\n").as_deref(), Some("Title"));
        assert_eq!(atx_heading("#hashtag"), None);
        assert_eq!(atx_heading("####### seven"), None);
        let headings = markdown_headings("# A\n~~~\n# B\n~~~\n# C\n");
        let titles: Vec<&str> = headings.iter().map(|(_, title)| title.as_str()).collect();
        assert_eq!(titles, ["A", "C"]);
        assert_eq!(headings[1].0, 16);
    }
}
