//! Bytes to text: byte order marks, a forced encoding, UTF-8, an HTML `<meta charset>`, or
//! the legacy encoding that detection finds; line endings become `\n`.

use std::borrow::Cow;

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};

use super::{ExtractError, ExtractOptions};

/// How many leading bytes are searched for a NUL byte to call a file binary (as git does).
const BINARY_SNIFF_BYTES: usize = 8 * 1024;
/// How many leading bytes of an HTML file are searched for `<meta charset>`.
const META_SNIFF_BYTES: usize = 4 * 1024;

/// Decodes `bytes` into text with `\n` line endings and returns the name of the encoding used.
///
/// In order: a UTF-16 byte order mark; a forced UTF-16 encoding; NUL bytes make the file binary;
/// a UTF-8 byte order mark; a forced encoding; valid UTF-8; the encoding `declared` by the file
/// itself (HTML `<meta charset>`); corrupt UTF-8 is refused; else detection.
pub(super) fn decode(
    bytes: &[u8],
    options: &ExtractOptions,
    declared: Option<&'static Encoding>,
) -> Result<(String, &'static str), ExtractError> {
    let forced = options
        .encoding
        .as_deref()
        .map(|label| {
            Encoding::for_label_no_replacement(label.trim().as_bytes())
                .ok_or_else(|| ExtractError::UnknownEncoding { label: label.to_owned() })
        })
        .transpose()?;
    let bom = Encoding::for_bom(bytes);

    let (text, encoding) = match (bom, forced) {
        (Some((encoding, bom_length)), _) if is_utf16(encoding) => {
            (decode_lossy(encoding, &bytes[bom_length..]), encoding)
        }
        (None, Some(encoding)) if is_utf16(encoding) => (decode_lossy(encoding, bytes), encoding),
        _ if bytes[..bytes.len().min(BINARY_SNIFF_BYTES)].contains(&0) => {
            return Err(ExtractError::Binary);
        }
        (Some((encoding, bom_length)), _) => {
            (decode_strict(encoding, bytes, bom_length)?, encoding)
        }
        (None, Some(encoding)) => (decode_strict(encoding, bytes, 0)?, encoding),
        (None, None) => detect(bytes, declared)?,
    };
    Ok((normalize_line_endings(text), encoding.name()))
}

fn is_utf16(encoding: &'static Encoding) -> bool {
    encoding == UTF_16LE || encoding == UTF_16BE
}

/// Decodes `bytes` (without a byte order mark), replacing malformed sequences with U+FFFD.
fn decode_lossy<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Cow<'a, str> {
    encoding.decode_without_bom_handling(bytes).0
}

/// Decodes `bytes[start..]`; for UTF-8, a malformed sequence is an error rather than U+FFFD.
fn decode_strict<'a>(
    encoding: &'static Encoding,
    bytes: &'a [u8],
    start: usize,
) -> Result<Cow<'a, str>, ExtractError> {
    if encoding != UTF_8 {
        return Ok(decode_lossy(encoding, &bytes[start..]));
    }
    std::str::from_utf8(&bytes[start..])
        .map(Cow::Borrowed)
        .map_err(|error| ExtractError::InvalidUtf8 { offset: start + error.valid_up_to() })
}

/// Decodes bytes that have no byte order mark and no forced encoding.
fn detect<'a>(
    bytes: &'a [u8],
    declared: Option<&'static Encoding>,
) -> Result<(Cow<'a, str>, &'static Encoding), ExtractError> {
    let error = match std::str::from_utf8(bytes) {
        // ASCII reads the same in any declared encoding; UTF-8 beyond ASCII beats a declaration.
        Ok(text) if declared.is_none_or(|encoding| encoding == UTF_8 || !text.is_ascii()) => {
            return Ok((Cow::Borrowed(text), UTF_8));
        }
        Ok(_) => None,
        Err(error) => Some(error),
    };
    if let Some(encoding) = declared.filter(|&encoding| encoding != UTF_8) {
        return Ok((decode_lossy(encoding, bytes), encoding));
    }
    if let Some(error) = error {
        if looks_like_corrupt_utf8(bytes) {
            return Err(ExtractError::InvalidUtf8 { offset: error.valid_up_to() });
        }
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding = detector.guess(None, Utf8Detection::Allow);
    Ok((decode_lossy(encoding, bytes), encoding))
}

/// Whether invalid UTF-8 is UTF-8 with damage rather than text in a legacy encoding.
///
/// It is when it has at least as many well-formed multi-byte sequences as invalid ones. Legacy
/// encodings form a few well-formed sequences by chance (in `Shift_JIS`, EUC-JP, GBK, Big5 and
/// EUC-KR text, one for every 2 to 6 invalid ones), so "any well-formed sequence" would refuse
/// every such file.
fn looks_like_corrupt_utf8(bytes: &[u8]) -> bool {
    let lead_bytes = |valid: &[u8]| valid.iter().filter(|&&byte| byte >= 0xC0).count();
    let (mut multibyte, mut invalid) = (0, 0);
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(_) => {
                multibyte += lead_bytes(rest);
                break;
            }
            Err(error) => {
                multibyte += lead_bytes(&rest[..error.valid_up_to()]);
                invalid += 1;
                match error.error_len() {
                    Some(length) => rest = &rest[error.valid_up_to() + length..],
                    None => break,
                }
            }
        }
    }
    invalid > 0 && multibyte >= invalid
}

/// Turns `\r\n` and lone `\r` into `\n`.
fn normalize_line_endings(text: Cow<'_, str>) -> String {
    if !text.contains('\r') {
        return text.into_owned();
    }
    let mut normalized = String::with_capacity(text.len());
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        if character == '\r' {
            characters.next_if_eq(&'\n');
            normalized.push('\n');
        } else {
            normalized.push(character);
        }
    }
    normalized
}

/// The encoding an HTML file declares in a `<meta charset>` or `<meta http-equiv>` near its start.
pub(super) fn declared_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = bytes[..bytes.len().min(META_SNIFF_BYTES)].to_ascii_lowercase();
    let mut rest = head.as_slice();
    while let Some(start) = find(rest, b"<meta") {
        let tag = &rest[start..];
        let end = tag.iter().position(|&byte| byte == b'>').unwrap_or(tag.len());
        let encoding = charset_attribute(&tag[..end])
            .and_then(Encoding::for_label_no_replacement)
            // A document whose `<meta>` could be read as ASCII is not UTF-16 (HTML standard).
            .map(|encoding| if is_utf16(encoding) { UTF_8 } else { encoding });
        if encoding.is_some() {
            return encoding;
        }
        rest = &tag[end..];
    }
    None
}

/// The value after `charset=` in a lowercased `<meta …` tag.
fn charset_attribute(tag: &[u8]) -> Option<&[u8]> {
    let after = &tag[find(tag, b"charset")? + b"charset".len()..];
    let value = after.trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let value = value.strip_prefix(b"\"").or_else(|| value.strip_prefix(b"'")).unwrap_or(value);
    let end = value
        .iter()
        .position(|&byte| matches!(byte, b'"' | b'\'' | b';' | b'/') || byte.is_ascii_whitespace())
        .unwrap_or(value.len());
    Some(&value[..end])
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_become_newlines() {
        let normalized = normalize_line_endings(Cow::Borrowed("a\r\nb\rc\n\r\nd\r"));
        assert_eq!(normalized, "a\nb\nc\n\nd\n");
    }

    #[test]
    fn damaged_utf8_is_told_apart_from_legacy_encodings() {
        let mut damaged = "naïve café".as_bytes().to_vec();
        damaged.push(0xFF);
        assert!(looks_like_corrupt_utf8(&damaged));
        // Truncated in the middle of the last character.
        let truncated = "déjà vu ✓".as_bytes();
        assert!(looks_like_corrupt_utf8(&truncated[..truncated.len() - 1]));

        let chinese =
            "我们今天讨论了机器学习和自然语言处理的最新进展，以及它们在搜索引擎中的应用。";
        let (gbk, _, _) = encoding_rs::GBK.encode(chinese);
        assert!(std::str::from_utf8(&gbk).is_err());
        assert!(!looks_like_corrupt_utf8(&gbk));
        let (latin, _, _) = encoding_rs::WINDOWS_1252.encode("Crème brûlée, ÉCOLE «élève»");
        assert!(!looks_like_corrupt_utf8(&latin));
    }

    #[test]
    fn gbk_text_is_detected_not_refused() {
        let chinese =
            "我们今天讨论了机器学习和自然语言处理的最新进展，以及它们在搜索引擎中的应用。\
                       文本嵌入模型可以把句子转换成向量。";
        let (bytes, _, _) = encoding_rs::GBK.encode(chinese);
        let (text, encoding) = decode(&bytes, &ExtractOptions::default(), None).unwrap();
        assert_eq!(encoding, "GBK");
        assert_eq!(text, chinese);
    }

    #[test]
    fn nul_bytes_make_a_file_binary_unless_it_is_utf16() {
        let options = ExtractOptions::default();
        assert!(matches!(decode(b"ab\0cd", &options, None), Err(ExtractError::Binary)));
        // NUL after the first 8 KiB: text with a stray NUL, not binary.
        let mut late = vec![b'a'; BINARY_SNIFF_BYTES];
        late.push(0);
        assert!(decode(&late, &options, None).is_ok());
        // UTF-16 without a byte order mark needs the encoding forced.
        let utf16: Vec<u8> = "hi".encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert!(matches!(decode(&utf16, &options, None), Err(ExtractError::Binary)));
        let forced =
            ExtractOptions { encoding: Some("utf-16be".to_owned()), ..ExtractOptions::default() };
        assert_eq!(decode(&utf16, &forced, None).unwrap(), ("hi".to_owned(), "UTF-16BE"));
    }

    #[test]
    fn a_byte_order_mark_wins_over_a_forced_encoding() {
        let forced = ExtractOptions {
            encoding: Some("windows-1252".to_owned()),
            ..ExtractOptions::default()
        };
        let bytes = "\u{feff}café".as_bytes();
        assert_eq!(decode(bytes, &forced, None).unwrap(), ("café".to_owned(), "UTF-8"));
        let mut damaged = bytes.to_vec();
        damaged.push(0xFF);
        assert!(matches!(
            decode(&damaged, &forced, None),
            Err(ExtractError::InvalidUtf8 { offset: 8 })
        ));
    }

    #[test]
    fn replacement_labels_are_unknown() {
        let forced = ExtractOptions {
            encoding: Some("iso-2022-kr".to_owned()),
            ..ExtractOptions::default()
        };
        assert!(matches!(
            decode(b"text", &forced, None),
            Err(ExtractError::UnknownEncoding { .. })
        ));
    }

    #[test]
    fn meta_charset_is_found_in_both_spellings() {
        let charset = |html: &str| declared_charset(html.as_bytes()).map(Encoding::name);
        assert_eq!(charset("<META CHARSET='Shift_JIS'>"), Some("Shift_JIS"));
        assert_eq!(charset("<meta charset=euc-kr>"), Some("EUC-KR"));
        assert_eq!(
            charset(
                r#"<meta name="x"><meta http-equiv="content-type" content="text/html; charset=koi8-r">"#
            ),
            Some("KOI8-R")
        );
        assert_eq!(charset(r#"<meta charset="utf-16">"#), Some("UTF-8"));
        assert_eq!(charset(r#"<meta charset="no-such-thing"><p>"#), None);
        assert_eq!(charset("<p>charset=gbk</p>"), None);
    }

    #[test]
    fn valid_utf8_beyond_ascii_beats_a_wrong_declaration() {
        let bytes = "<meta charset=iso-8859-1><p>naïve</p>".as_bytes();
        let declared = declared_charset(bytes);
        let (text, encoding) = decode(bytes, &ExtractOptions::default(), declared).unwrap();
        assert_eq!((text.as_str(), encoding), ("<meta charset=iso-8859-1><p>naïve</p>", "UTF-8"));
    }
}
