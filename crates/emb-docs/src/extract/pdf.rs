//! PDF to text, page by page, with the PDF reader's panics and endless recursions kept from
//! the caller.

use std::any::Any;
use std::cell::Cell;
use std::collections::HashSet;
use std::panic::AssertUnwindSafe;
use std::sync::Once;

use pdf_extract::content::Content;
use pdf_extract::{Dictionary, Document as PdfDocument, Object, ObjectId, PlainTextOutput, Stream};

use super::{tidy_lines, ExtractError};

mod streams;

/// Stack of the thread that reads a PDF: the PDF reader recurses into nested forms.
const PDF_STACK_BYTES: usize = 64 * 1024 * 1024;
/// Form `XObject`s drawn inside each other deeper than this make a PDF be refused.
const MAX_FORM_DEPTH: usize = 32;
/// Page tree ancestors followed, at most, to find a page's inherited resources.
const MAX_PAGE_TREE_DEPTH: usize = 256;

/// The text of a PDF's pages, separated by a blank line.
///
/// The PDF reader (`pdf-extract`) panics on some malformed files, so it runs under
/// `catch_unwind` with the panic message kept from the panic hook, on a thread with a large
/// stack, after loops that would make it recurse without end were ruled out.
pub(super) fn pdf_to_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let read =
        || catch_quietly(|| read_pdf(bytes)).unwrap_or_else(|message| Err(pdf_error(message)));
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("emb-docs-pdf".to_owned())
            .stack_size(PDF_STACK_BYTES)
            .spawn_scoped(scope, read);
        match reader {
            Ok(reader) => {
                reader.join().unwrap_or_else(|_| Err(pdf_error("the PDF reader stopped")))
            }
            // No thread could be started: read here, on the caller's stack.
            Err(_) => read(),
        }
    })
}

fn pdf_error(message: impl Into<String>) -> ExtractError {
    ExtractError::Pdf { message: message.into() }
}

fn read_pdf(bytes: &[u8]) -> Result<String, ExtractError> {
    let loaded = streams::within_budget(streams::budget_for(bytes.len()), || {
        let options = lopdf::LoadOptions::with_filter(streams::limit_decoded_streams);
        PdfDocument::load_mem_with_options(bytes, options)
    });
    let mut document = match loaded {
        Ok(document) => document.map_err(|error| pdf_error(error.to_string()))?,
        Err(budget) => {
            return Err(pdf_error(format!(
                "its compressed streams expand to more than {} MiB, more than a file of {} \
                 bytes should (a decompression bomb?), so it was not read",
                budget >> 20,
                bytes.len()
            )))
        }
    };
    if document.is_encrypted() && document.decrypt("").is_err() {
        return Err(pdf_error(
            "it is encrypted with a password; decrypt it first (for example with qpdf --decrypt)",
        ));
    }
    check_pdf_structure(&document).map_err(pdf_error)?;

    let mut pages = Vec::new();
    let mut failures = Vec::new();
    for &number in document.get_pages().keys() {
        let mut text = String::new();
        let result = catch_quietly(|| {
            pdf_extract::output_doc_page(&document, &mut PlainTextOutput::new(&mut text), number)
        });
        match result {
            Ok(Ok(())) => {
                let page = tidy_lines(&text);
                if !page.is_empty() {
                    pages.push(page);
                }
            }
            Ok(Err(error)) => failures.push(format!("page {number}: {error}")),
            Err(panic) => failures.push(format!("page {number}: {panic}")),
        }
    }
    // Each page ends with a newline: joined with another, they leave a blank line between them.
    let text = pages.join("\n");
    match failures.first() {
        Some(failure) if text.is_empty() => Err(pdf_error(failure.clone())),
        Some(_) => {
            tracing::warn!(failures = ?failures, "skipped PDF pages whose text could not be read");
            Ok(text)
        }
        None if text.is_empty() => Err(ExtractError::NoText),
        None => Ok(text),
    }
}

/// Refuses PDFs that would make the PDF reader recurse without end and overflow the stack (an
/// abort, which `catch_unwind` cannot stop): a page tree whose ancestors loop, or form `XObject`s
/// that draw each other in a loop.
fn check_pdf_structure(document: &PdfDocument) -> Result<(), String> {
    let mut checked = HashSet::new();
    for &page_id in document.get_pages().values() {
        let page = document.get_dictionary(page_id).map_err(|error| error.to_string())?;
        inherited(document, page, b"MediaBox")?;
        let Some(resources) =
            inherited(document, page, b"Resources")?.and_then(|object| object.as_dict().ok())
        else {
            continue;
        };
        for (_, id, form) in forms(document, resources) {
            check_form(document, id, form, resources, &mut Vec::new(), &mut checked)?;
        }
    }
    Ok(())
}

/// The value of `key` in a page or the nearest of its ancestors that has it.
fn inherited<'a>(
    document: &'a PdfDocument,
    page: &'a Dictionary,
    key: &[u8],
) -> Result<Option<&'a Object>, String> {
    let mut node = page;
    for _ in 0..MAX_PAGE_TREE_DEPTH {
        if let Ok(value) = node.get(key) {
            return Ok(document.dereference(value).ok().map(|(_, object)| object));
        }
        let Ok(parent) = node.get(b"Parent").and_then(Object::as_reference) else {
            return Ok(None);
        };
        node = document.get_dictionary(parent).map_err(|error| error.to_string())?;
    }
    Err("its page tree loops".to_owned())
}

/// The form `XObject`s named in `resources`, with their names.
fn forms<'a>(
    document: &'a PdfDocument,
    resources: &'a Dictionary,
) -> impl Iterator<Item = (&'a [u8], ObjectId, &'a Stream)> + 'a {
    let xobjects = resources
        .get(b"XObject")
        .and_then(|object| document.dereference(object))
        .and_then(|(_, object)| object.as_dict())
        .ok();
    xobjects.into_iter().flat_map(Dictionary::iter).filter_map(|(name, object)| {
        let id = object.as_reference().ok()?;
        let stream = document.get_object(id).and_then(Object::as_stream).ok()?;
        let subtype = stream.dict.get(b"Subtype").and_then(Object::as_name).ok();
        (subtype == Some(b"Form")).then_some((name.as_slice(), id, stream))
    })
}

/// Checks that `form`, drawn with `resources` by the forms on `stack`, never draws itself.
fn check_form<'a>(
    document: &'a PdfDocument,
    id: ObjectId,
    form: &'a Stream,
    resources: &'a Dictionary,
    stack: &mut Vec<ObjectId>,
    checked: &mut HashSet<(ObjectId, *const Dictionary)>,
) -> Result<(), String> {
    if stack.contains(&id) {
        return Err("its form XObjects draw each other in a loop".to_owned());
    }
    if stack.len() >= MAX_FORM_DEPTH {
        return Err(format!("its form XObjects are nested more than {MAX_FORM_DEPTH} deep"));
    }
    // A form without resources of its own uses those of whatever draws it.
    let resources = form
        .dict
        .get(b"Resources")
        .and_then(|object| document.dereference(object))
        .and_then(|(_, object)| object.as_dict())
        .unwrap_or(resources);
    if !checked.insert((id, std::ptr::from_ref(resources))) {
        return Ok(());
    }
    let content = form.decompressed_content().unwrap_or_else(|_| form.content.clone());
    let Ok(content) = Content::decode(&content) else {
        return Ok(());
    };
    let drawn: HashSet<&[u8]> = content
        .operations
        .iter()
        .filter(|operation| operation.operator == "Do")
        .filter_map(|operation| operation.operands.first()?.as_name().ok())
        .collect();
    stack.push(id);
    for (name, child_id, child) in forms(document, resources) {
        if drawn.contains(name) {
            check_form(document, child_id, child, resources, stack, checked)?;
        }
    }
    stack.pop();
    Ok(())
}

thread_local! {
    /// Whether the panic hook installed by [`catch_quietly`] keeps this thread's panics quiet.
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work`, turning a panic into `Err(message)` that the panic hook does not print.
///
/// The first call wraps the process's panic hook in one that stays silent on threads inside
/// `catch_quietly` and calls the previous hook everywhere else.
fn catch_quietly<T>(work: impl FnOnce() -> T) -> Result<T, String> {
    static INSTALL_HOOK: Once = Once::new();
    INSTALL_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was_quiet = QUIET_PANICS.with(|quiet| quiet.replace(true));
    let result = std::panic::catch_unwind(AssertUnwindSafe(work));
    QUIET_PANICS.with(|quiet| quiet.set(was_quiet));
    result.map_err(|payload| panic_message(payload.as_ref()))
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("unknown error");
    format!("the PDF reader failed ({message})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_caught_quietly_and_the_flag_restored() {
        let result: Result<(), String> = catch_quietly(|| panic!("boom {}", 1));
        assert_eq!(result.unwrap_err(), "the PDF reader failed (boom 1)");
        assert!(!QUIET_PANICS.with(Cell::get));
        assert_eq!(catch_quietly(|| 7), Ok(7));
    }
}
