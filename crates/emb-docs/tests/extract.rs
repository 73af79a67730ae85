//! Extraction of real files written to a temporary folder: encodings, junk, HTML, Markdown, PDF.

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use emb_docs::extract::{
    extract_bytes, extract_file, Document, ExtractError, ExtractOptions, Format, DEFAULT_MAX_BYTES,
};
use encoding_rs::{SHIFT_JIS, WINDOWS_1252};
use tempfile::TempDir;

fn write(folder: &TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = folder.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn extract(path: &Path) -> Result<Document, ExtractError> {
    extract_file(path, &ExtractOptions::default())
}

fn forced(label: &str) -> ExtractOptions {
    ExtractOptions { encoding: Some(label.to_owned()), ..ExtractOptions::default() }
}

#[test]
fn windows_1252_text_is_detected_and_decoded_exactly() {
    let text = "Le café était fermé.\r\nUne idée naïve – “quotes” et déjà vu, à l’école.\r\n";
    let (bytes, _, unmappable) = WINDOWS_1252.encode(text);
    assert!(!unmappable);
    assert!(std::str::from_utf8(&bytes).is_err(), "the fixture must not be UTF-8");
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "notes.txt", &bytes)).unwrap();

    assert_eq!(document.encoding, "windows-1252");
    assert_eq!(document.format, Format::Text);
    assert_eq!(
        document.text,
        "Le café était fermé.\nUne idée naïve – “quotes” et déjà vu, à l’école.\n"
    );
}

#[test]
fn shift_jis_text_is_detected_and_decoded_exactly() {
    let text = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n\
                何でも薄暗いじめじめした所でニャーニャー泣いていた事だけは記憶している。\n";
    let (bytes, _, unmappable) = SHIFT_JIS.encode(text);
    assert!(!unmappable);
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "memo.txt", &bytes)).unwrap();

    assert_eq!(document.encoding, "Shift_JIS");
    assert_eq!(document.text, text);
}

#[test]
fn utf16le_with_a_byte_order_mark_is_decoded_and_the_mark_dropped() {
    let text = "Grüße aus Köln\r\n日本語も\r\n";
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "export.csv", &bytes)).unwrap();

    assert_eq!(document.encoding, "UTF-16LE");
    assert_eq!(document.text, "Grüße aus Köln\n日本語も\n");
}

#[test]
fn utf8_byte_order_mark_is_dropped() {
    let folder = TempDir::new().unwrap();
    let path = write(&folder, "bom.txt", "\u{feff}first\nsecond\n".as_bytes());

    let document = extract(&path).unwrap();

    assert_eq!(document.encoding, "UTF-8");
    assert_eq!(document.text, "first\nsecond\n");
}

#[test]
fn forced_encoding_is_used_instead_of_detection() {
    // Russian in KOI8-R, which detection alone could take for another Cyrillic encoding.
    let text = "Съешь же ещё этих мягких французских булок.\n";
    let (bytes, _, unmappable) = encoding_rs::KOI8_R.encode(text);
    assert!(!unmappable);
    let folder = TempDir::new().unwrap();
    let path = write(&folder, "russian.txt", &bytes);

    let document = extract_file(&path, &forced("koi8-r")).unwrap();

    assert_eq!(document.encoding, "KOI8-R");
    assert_eq!(document.text, text);
}

#[test]
fn forced_utf8_refuses_invalid_bytes_with_their_offset() {
    let mut bytes = b"plain ascii ".to_vec();
    bytes.push(0xE9);
    let folder = TempDir::new().unwrap();
    let path = write(&folder, "latin1.txt", &bytes);

    let error = extract_file(&path, &forced("utf-8")).unwrap_err();

    assert!(matches!(error, ExtractError::InvalidUtf8 { offset: 12 }), "{error:?}");
    // Without the forced label, the same file is Latin-1 text.
    assert_eq!(extract(&path).unwrap().text, "plain ascii é");
}

#[test]
fn unknown_encoding_label_is_an_error_naming_the_label() {
    let folder = TempDir::new().unwrap();
    let path = write(&folder, "a.txt", b"hello");

    let error = extract_file(&path, &forced("klingon-8")).unwrap_err();

    assert!(
        matches!(&error, ExtractError::UnknownEncoding { label } if label == "klingon-8"),
        "{error:?}"
    );
    assert!(error.to_string().contains("windows-1252"), "{error}");
}

#[test]
fn corrupt_utf8_is_refused_with_the_offset_of_the_first_bad_byte() {
    let prefix = "Ünïcödé text — mostly fine ";
    let mut bytes = prefix.as_bytes().to_vec();
    bytes.push(0xFF);
    bytes.extend_from_slice("and then more ✓".as_bytes());
    let folder = TempDir::new().unwrap();

    let error = extract(&write(&folder, "damaged.md", &bytes)).unwrap_err();

    match error {
        ExtractError::InvalidUtf8 { offset } => assert_eq!(offset, prefix.len()),
        other => panic!("expected InvalidUtf8, got {other:?}"),
    }
}

#[test]
fn binary_files_are_refused() {
    let png = [
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, b'I', b'H', b'D',
        b'R', 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89,
    ];
    // Bytes of a simple generator, with NULs among them.
    let mut state = 0x2545_F491_u32;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    assert!(noise.contains(&0));
    let folder = TempDir::new().unwrap();

    for path in [write(&folder, "logo.png", &png), write(&folder, "data.txt", &noise)] {
        let error = extract(&path).unwrap_err();
        assert!(matches!(error, ExtractError::Binary), "{}: {error:?}", path.display());
    }
}

#[test]
fn files_over_the_limit_are_refused_from_their_metadata() {
    let folder = TempDir::new().unwrap();
    let path = folder.path().join("huge.log");
    // Sparse: no 100 MB are written, and none must be read.
    File::create(&path).unwrap().set_len(100_000_000).unwrap();

    let error = extract(&path).unwrap_err();

    assert!(
        matches!(error, ExtractError::TooLarge { size: 100_000_000, limit: DEFAULT_MAX_BYTES }),
        "{error:?}"
    );
    assert!(error.to_string().contains("--max-file-size"), "{error}");

    let small = write(&folder, "small.txt", b"eleven byte");
    let options = ExtractOptions { max_bytes: 10, ..ExtractOptions::default() };
    let error = extract_file(&small, &options).unwrap_err();
    assert!(matches!(error, ExtractError::TooLarge { size: 11, limit: 10 }), "{error:?}");
}

#[test]
fn missing_files_and_folders_are_io_errors_naming_the_path() {
    let folder = TempDir::new().unwrap();
    let missing = folder.path().join("missing.txt");

    for path in [missing.as_path(), folder.path()] {
        match extract(path).unwrap_err() {
            ExtractError::Io { path: reported, .. } => assert_eq!(reported, path),
            other => panic!("expected Io for {}, got {other:?}", path.display()),
        }
    }
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Release notes &ndash; emb</title>
  <style>body { font-family: sans-serif; }</style>
  <script>window.track = function () { return "<p>not text</p>"; };</script>
</head>
<body>
  <nav>
    <ul>
      <li><a href="/">Home</a></li>
      <li><a href="/docs">Docs</a>
        <ul><li>Guide</li></ul>
      </li>
    </ul>
  </nav>
  <main>
    <h1>Version   2.0</h1>
    <p>Faster   search &amp; smaller
       indexes &mdash; it&#8217;s here.&nbsp;Try it.</p>
    <h2 id="install">Install</h2>
    <pre><code>cargo install emb
  emb --version</code></pre>
    <noscript>Enable JavaScript</noscript>
    <div>Questions? <a href="mailto:team@example.com">Write to us</a>.<br>We answer within a day.</div>
    <table><tr><th>Model</th><th>Dims</th></tr><tr><td>small</td><td>384</td></tr></table>
  </main>
  <template><p>hidden</p></template>
  <script src="app.js"></script>
</body>
</html>
"#;

#[test]
fn html_page_becomes_readable_text() {
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "index.html", PAGE.as_bytes())).unwrap();

    assert_eq!(document.format, Format::Html);
    assert_eq!(document.encoding, "UTF-8");
    assert_eq!(
        document.text,
        "# Release notes – emb\n\
         \n\
         - Home\n\
         - Docs\n\
         \x20 - Guide\n\
         \n\
         # Version 2.0\n\
         \n\
         Faster search & smaller indexes — it’s here. Try it.\n\
         \n\
         ## Install\n\
         \n\
         cargo install emb\n\
         \x20 emb --version\n\
         \n\
         Questions? Write to us.\n\
         We answer within a day.\n\
         \n\
         Model Dims\n\
         small 384\n"
    );
}

#[test]
fn html_meta_charset_names_the_encoding() {
    let html = "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; \
                charset=ISO-8859-1\"></head><body><p>Ça coûte 5 €.</p></body></html>";
    let (bytes, _, _) = WINDOWS_1252.encode(html);
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "old.htm", &bytes)).unwrap();

    // ISO-8859-1 is decoded as windows-1252, as browsers do (and the € needs it).
    assert_eq!(document.encoding, "windows-1252");
    assert_eq!(document.text, "Ça coûte 5 €.\n");
}

#[test]
fn markdown_front_matter_is_dropped_but_line_numbers_kept() {
    let markdown =
        "---\r\ntitle: Notes\r\ntags: [rust, search]\r\n---\r\n# Heading\r\n\r\nBody line.\r\n";
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "notes.md", markdown.as_bytes())).unwrap();

    assert_eq!(document.format, Format::Markdown);
    assert_eq!(document.text, "\n\n\n\n# Heading\n\nBody line.\n");
    for (number, line) in markdown.lines().enumerate().skip(4) {
        assert_eq!(document.text.lines().nth(number), Some(line), "line {}", number + 1);
    }
}

#[test]
fn markdown_without_closed_front_matter_is_kept_whole() {
    let markdown = "---\nnot front matter\n\nText\n";

    let document =
        extract_bytes(markdown.as_bytes(), Format::Markdown, &ExtractOptions::default()).unwrap();

    assert_eq!(document.text, markdown);
}

/// A PDF of `objects` (object `n` is `objects[n - 1]`, the catalog is object 1), with the
/// cross-reference table computed from where each object lands.
fn pdf<T: AsRef<[u8]>>(objects: &[T]) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(bytes.len());
        writeln!(bytes, "{} 0 obj", index + 1).unwrap();
        bytes.extend_from_slice(object.as_ref());
        bytes.extend_from_slice(b"\nendobj\n");
    }
    let xref = bytes.len();
    let size = objects.len() + 1;
    write!(bytes, "xref\n0 {size}\n0000000000 65535 f \n").unwrap();
    for offset in offsets {
        writeln!(bytes, "{offset:010} 00000 n ").unwrap();
    }
    write!(bytes, "trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").unwrap();
    bytes
}

fn stream(dictionary: &str, content: &str) -> String {
    format!("<< {dictionary} /Length {} >>\nstream\n{content}\nendstream", content.len())
}

/// A stream object with binary content.
fn binary_stream(dictionary: &str, content: &[u8]) -> Vec<u8> {
    let mut bytes = format!("<< {dictionary} /Length {} >>\nstream\n", content.len()).into_bytes();
    bytes.extend_from_slice(content);
    bytes.extend_from_slice(b"\nendstream");
    bytes
}

/// `data` through zlib, as a PDF's `FlateDecode` filter expects it.
fn deflated(data: impl std::io::Read) -> Vec<u8> {
    let mut encoder = flate2::read::ZlibEncoder::new(data, flate2::Compression::fast());
    let mut compressed = Vec::new();
    std::io::Read::read_to_end(&mut encoder, &mut compressed).unwrap();
    compressed
}

/// 300 MiB of zero bytes, deflated (about 300 KB): more than text extraction decodes from a
/// file of that size.
fn deflated_zeros() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| deflated(std::io::repeat(0).take(300 << 20)))
}

/// `data` in ASCII85, as a PDF's `ASCII85Decode` filter expects it (with its `~>` end).
fn ascii85(data: &[u8]) -> Vec<u8> {
    let mut text = Vec::new();
    for group in data.chunks(4) {
        let mut word = [0_u8; 4];
        word[..group.len()].copy_from_slice(group);
        let mut value = u32::from_be_bytes(word);
        let mut digits = [0_u8; 5];
        for digit in digits.iter_mut().rev() {
            *digit = b'!' + (value % 85) as u8;
            value /= 85;
        }
        text.extend_from_slice(&digits[..=group.len()]);
    }
    text.extend_from_slice(b"~>");
    text
}

/// A one-page PDF whose text is drawn by content stream 4 and which has `extra` as object 6
/// (the page's resources name it /Im1, so it may be a picture).
fn pdf_with_streams(content: &[u8], content_dictionary: &str, extra: &[u8]) -> Vec<u8> {
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
          /Resources << /Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >> >> /Contents 4 0 R >>"
            .to_vec(),
        binary_stream(content_dictionary, content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        extra.to_vec(),
    ])
}

#[test]
fn pdf_whose_streams_expand_a_thousandfold_is_refused_without_expanding_them() {
    let text = b"BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET";
    let bomb = binary_stream("/Filter /FlateDecode", deflated_zeros());
    // Twice deflated, the same 300 MiB take a few hundred bytes.
    let twice = binary_stream("/Filter [/FlateDecode /FlateDecode]", &deflated(deflated_zeros()));
    let as_content = pdf_with_streams(deflated_zeros(), "/Filter /FlateDecode", b"null");
    let in_ascii85 =
        binary_stream("/Filter [/ASCII85Decode /FlateDecode]", &ascii85(deflated_zeros()));
    let mut lzw = weezl::encode::Encoder::with_tiff_size_switch(weezl::BitOrder::Msb, 8);
    let in_lzw = binary_stream("/Filter /LZWDecode", &lzw.encode(&vec![0; 300 << 20]).unwrap());
    for (name, bytes) in [
        ("a stream no page draws", pdf_with_streams(text, "", &bomb)),
        ("twice deflated", pdf_with_streams(text, "", &twice)),
        ("deflated in ASCII85", pdf_with_streams(text, "", &in_ascii85)),
        ("LZW", pdf_with_streams(text, "", &in_lzw)),
        ("the page's content", as_content),
    ] {
        let started = std::time::Instant::now();
        let error = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap_err();
        match error {
            ExtractError::Pdf { message } => {
                assert!(message.contains("decompression bomb"), "{name}: {message}");
                assert!(message.contains("256 MiB"), "{name}: {message}");
            }
            other => panic!("{name}: expected Pdf, got {other:?}"),
        }
        eprintln!("{name}: {} bytes refused in {:?}", bytes.len(), started.elapsed());
    }
}

#[test]
fn objects_inside_object_streams_survive_the_stream_limit() {
    // The page's font, object 8, is stored inside object stream 7 (deflated, as writers do).
    let font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";
    let mut packed = b"8 0 ".to_vec();
    packed.extend_from_slice(font);
    let object_stream =
        binary_stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", &deflated(&packed[..]));
    let text = b"BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET";
    let bytes = pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
          /Resources << /Font << /F1 8 0 R >> >> /Contents 4 0 R >>"
            .to_vec(),
        binary_stream("/Filter /FlateDecode", &deflated(&text[..])),
        b"null".to_vec(),
        b"null".to_vec(),
        object_stream,
    ]);

    let document = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap();

    assert_eq!(document.text, "Hello PDF world\n");
}

#[test]
fn pictures_are_not_decoded_for_text_however_large() {
    let text = b"BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET";
    let picture = binary_stream(
        "/Type /XObject /Subtype /Image /Width 10240 /Height 10240 /ColorSpace /DeviceRGB \
         /BitsPerComponent 8 /Filter /FlateDecode",
        deflated_zeros(),
    );
    // A little compressed text is within the budget.
    let document = extract_bytes(
        &pdf_with_streams(&deflated(&text[..]), "/Filter /FlateDecode", &picture),
        Format::Pdf,
        &ExtractOptions::default(),
    )
    .unwrap();

    assert_eq!(document.text, "Hello PDF world\n");
}

/// A PDF with one page for each content stream: catalog 1, page tree 2, Helvetica 3, then a page
/// and its content for each page.
fn pdf_of_pages(contents: &[&str]) -> Vec<u8> {
    let kids: Vec<String> =
        (0..contents.len()).map(|page| format!("{} 0 R", 4 + 2 * page)).collect();
    let mut objects = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        format!("<< /Type /Pages /Kids [{}] /Count {} >>", kids.join(" "), contents.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    for (page, content) in contents.iter().enumerate() {
        objects.push(format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
            5 + 2 * page
        ));
        objects.push(stream("", content));
    }
    pdf(&objects)
}

#[test]
fn pdf_pages_are_extracted_in_order_separated_by_a_blank_line() {
    let bytes = pdf_of_pages(&[
        "BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET",
        "BT /F1 12 Tf 72 720 Td (Second page, second line) Tj 0 -14 Td (and its end) Tj ET",
    ]);
    let folder = TempDir::new().unwrap();

    let document = extract(&write(&folder, "report.pdf", &bytes)).unwrap();

    assert_eq!(document.format, Format::Pdf);
    assert_eq!(document.encoding, "PDF");
    assert_eq!(document.text, "Hello PDF world\n\nSecond page, second line\nand its end\n");
}

#[test]
fn pdf_with_only_an_empty_page_has_no_text() {
    let bytes = pdf_of_pages(&["q Q"]);
    let folder = TempDir::new().unwrap();

    let error = extract(&write(&folder, "scan.pdf", &bytes)).unwrap_err();

    assert!(matches!(error, ExtractError::NoText), "{error:?}");
    assert!(error.to_string().contains("OCR"), "{error}");
}

#[test]
fn broken_pdfs_are_errors_not_panics() {
    let whole = pdf_of_pages(&["BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET"]);
    let folder = TempDir::new().unwrap();
    let broken: Vec<(&str, Vec<u8>)> = vec![
        ("garbage.pdf", b"this is not a PDF at all".to_vec()),
        ("header-only.pdf", b"%PDF-1.7\n".to_vec()),
        ("truncated.pdf", whole[..whole.len() / 2].to_vec()),
        ("empty.pdf", Vec::new()),
    ];

    for (name, bytes) in broken {
        let error = extract(&write(&folder, name, &bytes)).unwrap_err();
        assert!(matches!(error, ExtractError::Pdf { .. }), "{name}: {error:?}");
    }
}

#[test]
fn pdf_page_the_reader_panics_on_is_an_error() {
    // No MediaBox anywhere: the PDF reader panics on such a page.
    let bytes = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>".to_owned(),
        stream("", "BT ET"),
    ]);

    let error = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap_err();

    match error {
        ExtractError::Pdf { message } => assert!(message.contains("page 1"), "{message}"),
        other => panic!("expected Pdf, got {other:?}"),
    }
}

#[test]
fn pdf_forms_that_draw_themselves_are_refused_before_they_overflow_the_stack() {
    // Form 5 draws itself through the resources it inherits from the page.
    let bytes = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /XObject << /X1 5 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        stream("", "/X1 Do"),
        stream("/Type /XObject /Subtype /Form /BBox [0 0 10 10]", "/X1 Do"),
    ]);

    let error = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap_err();

    match error {
        ExtractError::Pdf { message } => assert!(message.contains("loop"), "{message}"),
        other => panic!("expected Pdf, got {other:?}"),
    }
}

#[test]
fn page_tree_whose_parents_loop_is_refused() {
    // The page has no MediaBox and its parent chain loops: 3 -> 5 -> 3.
    let bytes = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 5 0 R /Contents 4 0 R >>".to_owned(),
        stream("", "BT ET"),
        "<< /Type /Pages /Parent 3 0 R /Kids [] /Count 0 >>".to_owned(),
    ]);

    let error = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap_err();

    match error {
        ExtractError::Pdf { message } => assert!(message.contains("loop"), "{message}"),
        other => panic!("expected Pdf, got {other:?}"),
    }
}

#[test]
fn pdf_pages_that_fail_among_readable_ones_are_skipped() {
    // Page 2 has no MediaBox, which the PDF reader panics on; page 1 is fine.
    let bytes = pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
         /Resources << /Font << /F1 7 0 R >> >> /Contents 4 0 R >>"
            .to_owned(),
        stream("", "BT /F1 12 Tf 72 720 Td (Readable page) Tj ET"),
        "<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 7 0 R >> >> /Contents 6 0 R >>"
            .to_owned(),
        stream("", "BT /F1 12 Tf 72 720 Td (Lost page) Tj ET"),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ]);

    let document = extract_bytes(&bytes, Format::Pdf, &ExtractOptions::default()).unwrap();

    assert_eq!(document.text, "Readable page\n");
}

#[test]
fn mangled_files_are_errors_or_text_never_panics() {
    // Truncations and random byte changes of a valid PDF, read as every format; a panic that
    // escapes fails the test, a stack overflow aborts it.
    let original = pdf_of_pages(&[
        "BT /F1 12 Tf 72 720 Td (Hello PDF world) Tj ET",
        "BT /F1 12 Tf 72 720 Td [(Kerned) -250 (text)] TJ T* (next) ' ET",
    ]);
    let mut state = 0x9E37_79B9_u32;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        state
    };
    let options = ExtractOptions::default();
    let mut variants: Vec<Vec<u8>> =
        (0..original.len()).step_by(7).map(|cut| original[..cut].to_vec()).collect();
    for _ in 0..300 {
        let mut mangled = original.clone();
        for _ in 0..3 {
            let at = next() as usize % mangled.len();
            mangled[at] = (next() >> 24) as u8;
        }
        variants.push(mangled);
    }
    for bytes in &variants {
        for format in [Format::Pdf, Format::Html, Format::Markdown, Format::Text] {
            let _ = extract_bytes(bytes, format, &options);
        }
    }
}
