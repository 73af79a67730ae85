//! What an embedder can be asked to embed.

use std::fmt;

/// One thing to embed, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    /// A piece of text.
    Text(&'a str),
    /// An encoded image (JPEG, PNG, ...).
    Image(&'a [u8]),
    /// Encoded audio (WAV, FLAC, ...).
    Audio(&'a [u8]),
}

impl Input<'_> {
    /// The kind of this input.
    pub fn kind(&self) -> InputKind {
        match self {
            Input::Text(_) => InputKind::Text,
            Input::Image(_) => InputKind::Image,
            Input::Audio(_) => InputKind::Audio,
        }
    }
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(text: &'a str) -> Self {
        Input::Text(text)
    }
}

/// The kinds of [`Input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// Text.
    Text,
    /// Images.
    Image,
    /// Audio.
    Audio,
}

impl fmt::Display for InputKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            InputKind::Text => "text",
            InputKind::Image => "image",
            InputKind::Audio => "audio",
        })
    }
}
