//! A bound on how much a PDF's compressed streams may expand to, checked while the PDF reader
//! loads them and before it expands any of them itself.
//!
//! The PDF reader (lopdf) inflates object streams as it loads a file and content streams as
//! their pages are read, each whole into memory. A file of a few megabytes can hold deflate
//! streams that expand a thousandfold (a decompression bomb), and a stream filtered twice by
//! `FlateDecode` a millionfold. The reader calls [`limit_decoded_streams`] on every object it
//! loads; that function measures what each stream would decode to, without keeping the
//! output, against a budget for the whole file, and empties a stream that would overspend it.
//! Pictures are emptied too: text extraction never reads their pixels.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{self, Read, Write};

use pdf_extract::{Dictionary, Object, ObjectId, Stream};

/// Decoded bytes allowed per byte of the file, and at least [`MINIMUM_BUDGET`] in all.
const BUDGET_PER_FILE_BYTE: u64 = 32;
/// Decoded bytes allowed for any file, however small.
const MINIMUM_BUDGET: u64 = 256 * 1024 * 1024;
/// Decoded bytes counted at a time.
const BUFFER_BYTES: usize = 64 * 1024;

thread_local! {
    /// The bytes the streams of the PDF being loaded on this thread may still decode to, or
    /// `None` once a stream went over.
    static REMAINING: Cell<Option<u64>> = const { Cell::new(None) };
}

/// What the streams of a file of `file_bytes` bytes may decode to, in all.
pub(super) fn budget_for(file_bytes: usize) -> u64 {
    (file_bytes as u64).saturating_mul(BUDGET_PER_FILE_BYTE).max(MINIMUM_BUDGET)
}

/// Runs `load` (which loads a PDF with [`limit_decoded_streams`] as its object filter) with
/// `budget` decoded bytes for the file's streams. Returns what `load` returned, or `Err` with
/// the budget when a stream would have gone over it (that stream was emptied, not decoded).
pub(super) fn within_budget<T>(budget: u64, load: impl FnOnce() -> T) -> Result<T, u64> {
    REMAINING.with(|remaining| remaining.set(Some(budget)));
    let loaded = load();
    match REMAINING.with(Cell::take) {
        Some(_) => Ok(loaded),
        None => Err(budget),
    }
}

/// The PDF reader's object filter (see [`within_budget`]): keeps every object, empties
/// pictures' streams, and spends each other stream's decoded size from this thread's budget,
/// emptying the stream once the budget is gone.
#[allow(clippy::unnecessary_wraps)] // the reader's filter signature
pub(super) fn limit_decoded_streams(
    id: ObjectId,
    object: &mut Object,
) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object {
        if stream.dict.get(b"Subtype").and_then(Object::as_name).is_ok_and(|name| name == b"Image")
        {
            empty(stream);
        } else if let Some(left) = REMAINING.with(Cell::get) {
            let size = decoded_size(stream, left);
            REMAINING.with(|remaining| remaining.set(size.map(|size| left - size)));
            if size.is_none() {
                empty(stream);
            }
        } else {
            // The budget is spent: nothing more is decoded.
            empty(stream);
        }
    }
    // Objects at the top level of the file are kept as changed in place, and what is returned
    // is dropped; objects from inside object streams are replaced by what is returned. Only the
    // first kind can be a stream, so only the second needs a copy.
    match object {
        Object::Stream(_) => Some((id, Object::Null)),
        other => Some((id, other.clone())),
    }
}

fn empty(stream: &mut Stream) {
    stream.dict.remove(b"Filter");
    stream.dict.remove(b"DecodeParms");
    stream.set_content(Vec::new());
}

/// What `stream` decodes to through its filters, in bytes, or `None` when that is over `limit`.
/// Filters the reader cannot decode count as their input (the reader leaves those alone).
fn decoded_size(stream: &Stream, limit: u64) -> Option<u64> {
    let Ok(filters) = stream.filters() else {
        return fits(stream.content.len() as u64, limit);
    };
    let early_change = stream
        .dict
        .get(b"DecodeParms")
        .and_then(Object::as_dict)
        .and_then(|parameters| parameters.get(b"EarlyChange"))
        .and_then(Object::as_i64)
        .map_or(true, |value| value != 0);
    let mut input = Cow::Borrowed(stream.content.as_slice());
    for (index, filter) in filters.iter().enumerate() {
        if index + 1 == filters.len() {
            // The last filter's output is only counted.
            return decode(filter, early_change, &input, &mut io::sink(), limit);
        }
        let mut output = Vec::new();
        decode(filter, early_change, &input, &mut output, limit)?;
        input = Cow::Owned(output);
    }
    fits(input.len() as u64, limit)
}

fn fits(size: u64, limit: u64) -> Option<u64> {
    (size <= limit).then_some(size)
}

/// Decodes `input` by `filter` into `output`, the way the PDF reader would, stopping once more
/// than `limit` bytes came out. Returns the bytes written, or `None` when over `limit`.
fn decode(
    filter: &[u8],
    early_change: bool,
    input: &[u8],
    output: &mut impl Write,
    limit: u64,
) -> Option<u64> {
    let written = match filter {
        b"FlateDecode" => {
            // As the reader does: zlib, and raw deflate after the 2-byte header when zlib fails
            // before any output.
            match copy_bounded(flate2::read::ZlibDecoder::new(input), output, limit) {
                (0, false) if input.len() > 2 => {
                    copy_bounded(flate2::read::DeflateDecoder::new(&input[2..]), output, limit).0
                }
                (written, _) => written,
            }
        }
        b"LZWDecode" => lzw(input, early_change, output, limit),
        b"ASCII85Decode" => {
            // At most four bytes per byte: the reader's own decoder is safe to run here.
            let mut dictionary = Dictionary::new();
            dictionary.set("Filter", Object::Name(filter.to_vec()));
            let decoded = Stream::new(dictionary, input.to_vec())
                .decompressed_content()
                .unwrap_or_else(|_| input.to_vec());
            if output.write_all(&decoded).is_err() {
                return None;
            }
            decoded.len() as u64
        }
        // The reader does not decode other filters: they stay as they are.
        _ => {
            if output.write_all(input).is_err() {
                return None;
            }
            input.len() as u64
        }
    };
    fits(written, limit)
}

/// Copies what `reader` yields into `output`, up to one byte past `limit`. Returns the bytes
/// copied and whether the reader ended cleanly (a corrupt stream stops with what it gave).
fn copy_bounded(reader: impl Read, output: &mut impl Write, limit: u64) -> (u64, bool) {
    let mut bounded = reader.take(limit.saturating_add(1));
    let mut buffer = vec![0_u8; BUFFER_BYTES];
    let mut written = 0;
    loop {
        match bounded.read(&mut buffer) {
            Ok(0) => return (written, true),
            Ok(count) => {
                if output.write_all(&buffer[..count]).is_err() {
                    return (written, false);
                }
                written += count as u64;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (written, false),
        }
    }
}

/// LZW as the reader decodes it: most significant bit first, the code size switching one code
/// early unless the stream's `EarlyChange` is 0.
fn lzw(input: &[u8], early_change: bool, output: &mut impl Write, limit: u64) -> u64 {
    let mut decoder = if early_change {
        weezl::decode::Decoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8)
    } else {
        weezl::decode::Decoder::new(weezl::BitOrder::Msb, 8)
    };
    let mut buffer = vec![0_u8; BUFFER_BYTES];
    let mut input = input;
    let mut written = 0_u64;
    while written <= limit {
        let result = decoder.decode_bytes(input, &mut buffer);
        input = &input[result.consumed_in..];
        if output.write_all(&buffer[..result.consumed_out]).is_err() {
            break;
        }
        written += result.consumed_out as u64;
        match result.status {
            Ok(weezl::LzwStatus::Ok) if result.consumed_in > 0 || result.consumed_out > 0 => {}
            _ => break,
        }
    }
    written
}
