//! `emb` as a loadable SQLite extension: embeddings inside any SQLite tool.
//!
//! Load the library the workspace builds (`libemb_sqlite.so`; `emb sql-extension-path` prints
//! where) and these SQL functions are there:
//!
//! | function | what it returns |
//! |---|---|
//! | `emb_cosine(a, b)`, `emb_dot(a, b)`, `emb_l2(a, b)` | cosine similarity, dot product, Euclidean distance |
//! | `emb_decode(v)` / `emb_encode(v)` | the vector as a JSON array / as a float32 blob |
//! | `emb_dims(v)` | its number of dimensions |
//! | `emb_average(v)` (aggregate) | the mean vector (the centroid) of a group, as a blob |
//! | `emb_embed(text [, model])` | the text's vector, by the model (default: `EMB_MODEL`, else emb's default) |
//! | `emb_search(collection, query [, k])` (table) | `id, score, content, metadata` of the k nearest items |
//!
//! Vectors are float32 blobs (as emb and llm store them) or JSON arrays of numbers.
//!
//! ```sql
//! .load ./libemb_sqlite
//! select id, emb_cosine(embedding, emb_embed('sqlite backup tools')) as score
//!   from embeddings order by score desc limit 5;
//! select * from emb_search('readmes', 'sqlite backup tools', 5);
//! ```
//!
//! Models load once per connection. Every call reaches SQLite through the routines the host
//! passes ([`api`]), so the extension works in any host of SQLite 3.9 or newer.
#![warn(missing_docs)]

pub mod api;
mod models;
mod search;
mod vectors;

use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use libsqlite3_sys::{
    sqlite3, sqlite3_context, sqlite3_value, SQLITE_DETERMINISTIC, SQLITE_ERROR, SQLITE_INNOCUOUS,
    SQLITE_OK, SQLITE_UTF8,
};

use crate::api::{Context, Output, Routines, Value};
use crate::models::Models;

/// A scalar SQL function of the vectors module.
type Pure = fn(Context, &[Value]) -> Result<Output, String>;
/// A scalar SQL function.
type Function = Box<dyn Fn(Context, &[Value]) -> Result<Output, String> + Send + Sync>;

/// The entry point SQLite looks for in `libemb_sqlite` (from the file's name).
///
/// # Safety
/// Called by SQLite's extension loader with an open connection and its routines.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_embsqlite_init(
    db: *mut sqlite3,
    error: *mut *mut c_char,
    routines: *const Routines,
) -> c_int {
    // SAFETY: as SQLite promises.
    unsafe { sqlite3_extension_init(db, error, routines) }
}

/// The entry point SQLite tries first, so that the library loads under any file name.
///
/// # Safety
/// Called by SQLite's extension loader with an open connection and its routines.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_extension_init(
    db: *mut sqlite3,
    error: *mut *mut c_char,
    routines: *const Routines,
) -> c_int {
    // SAFETY: SQLite passes its own routines.
    // Without the routines there is no allocator to hand back a message with.
    if unsafe { api::install(routines) }.is_err() {
        return SQLITE_ERROR;
    }
    // SAFETY: the connection SQLite is loading the extension into.
    match catch_unwind(|| unsafe { register(db) }) {
        Ok(Ok(())) => SQLITE_OK,
        Ok(Err(message)) => {
            if !error.is_null() {
                // SAFETY: SQLite frees the message with its allocator.
                unsafe { *error = api::sqlite_string(&format!("emb: {message}")) };
            }
            SQLITE_ERROR
        }
        Err(_) => SQLITE_ERROR,
    }
}

/// Registers every function and `emb_search` on `db`.
///
/// # Safety
/// `db` is an open connection and the routines are installed.
unsafe fn register(db: *mut sqlite3) -> Result<(), String> {
    let version = api::version();
    if version < 3_009_000 {
        return Err(format!(
            "emb needs SQLite 3.9.0 or newer (for table-valued functions); this one is {}.{}.{}",
            version / 1_000_000,
            version / 1000 % 1000,
            version % 1000
        ));
    }
    // Pure functions of their arguments: safe anywhere, even in views and triggers of an
    // untrusted schema (SQLITE_INNOCUOUS exists from 3.31).
    let pure = SQLITE_UTF8
        | SQLITE_DETERMINISTIC
        | if version >= 3_031_000 { SQLITE_INNOCUOUS } else { 0 };
    let scalars: [(&CStr, c_int, Pure); 6] = [
        (c"emb_cosine", 2, vectors::cosine),
        (c"emb_dot", 2, vectors::dot),
        (c"emb_l2", 2, vectors::l2),
        (c"emb_decode", 1, vectors::decode),
        (c"emb_encode", 1, vectors::encode),
        (c"emb_dims", 1, vectors::dimensions),
    ];
    for (name, arguments, function) in scalars {
        // SAFETY: as the caller promises.
        unsafe { scalar(db, name, arguments, pure, Box::new(function)) }?;
    }
    // SAFETY: as the caller promises; `average_step` and `average_final` keep the state.
    unsafe {
        api::create_function(
            db,
            c"emb_average",
            1,
            pure,
            std::ptr::null_mut(),
            (None, Some(average_step), Some(average_final)),
            None,
        )
    }?;
    let models = Arc::new(Models::default());
    // Deterministic, so SQLite embeds a constant text once per statement, not once per row; not
    // innocuous, as it reads model files.
    for arguments in [1, 2] {
        let models = Arc::clone(&models);
        let function: Function =
            Box::new(move |_, values: &[Value]| models::embed(&models, values));
        // SAFETY: as the caller promises.
        unsafe {
            scalar(db, c"emb_embed", arguments, SQLITE_UTF8 | SQLITE_DETERMINISTIC, function)
        }?;
    }
    let data = Box::into_raw(Box::new(models)).cast::<c_void>();
    // SAFETY: as the caller promises; SQLite frees `data` with `drop_models`.
    unsafe { api::create_module(db, c"emb_search", &search::MODULE, data, Some(drop_models)) }
}

unsafe extern "C" fn drop_models(data: *mut c_void) {
    // SAFETY: the box `register` gave, handed back once.
    drop(unsafe { Box::from_raw(data.cast::<Arc<Models>>()) });
}

/// Registers `function` as the scalar SQL function `name`.
///
/// # Safety
/// `db` is an open connection and the routines are installed.
unsafe fn scalar(
    db: *mut sqlite3,
    name: &CStr,
    arguments: c_int,
    flags: c_int,
    function: Function,
) -> Result<(), String> {
    let data = Box::into_raw(Box::new(function)).cast::<c_void>();
    // SAFETY: as the caller promises; SQLite frees `data` with `drop_function` (also when
    // registering fails).
    unsafe {
        api::create_function(
            db,
            name,
            arguments,
            flags,
            data,
            (Some(call_scalar), None, None),
            Some(drop_function),
        )
    }
}

unsafe extern "C" fn drop_function(data: *mut c_void) {
    // SAFETY: the box `scalar` gave, handed back once.
    drop(unsafe { Box::from_raw(data.cast::<Function>()) });
}

unsafe extern "C" fn call_scalar(
    context: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    let context = Context(context);
    // SAFETY: the data `scalar` registered, alive while the function is.
    let function = unsafe { &*context.user_data().cast::<Function>() };
    // SAFETY: SQLite passes `argc` arguments.
    let arguments = unsafe { api::arguments(argc, argv) };
    match catch_unwind(AssertUnwindSafe(|| function(context, &arguments))) {
        Ok(Ok(output)) => context.set(output),
        Ok(Err(message)) => context.fail(&message),
        Err(_) => context.fail("emb: internal error (a bug in emb; please report it)"),
    }
}

/// The running average of one group, kept in SQLite's aggregate memory as a pointer.
fn average_of(context: Context, size: usize) -> *mut *mut vectors::Average {
    context.aggregate_memory(size).cast()
}

unsafe extern "C" fn average_step(
    context: *mut sqlite3_context,
    argc: c_int,
    argv: *mut *mut sqlite3_value,
) {
    let context = Context(context);
    let slot = average_of(context, std::mem::size_of::<*mut vectors::Average>());
    if slot.is_null() {
        context.out_of_memory();
        return;
    }
    // SAFETY: SQLite's zeroed memory for this group holds null or the box made here.
    let average = unsafe {
        if (*slot).is_null() {
            *slot = Box::into_raw(Box::default());
        }
        &mut **slot
    };
    // SAFETY: SQLite passes `argc` arguments.
    let arguments = unsafe { api::arguments(argc, argv) };
    match catch_unwind(AssertUnwindSafe(|| average.step(&arguments))) {
        Ok(Ok(())) => {}
        Ok(Err(message)) => context.fail(&message),
        Err(_) => context.fail("emb_average: internal error (a bug in emb; please report it)"),
    }
}

unsafe extern "C" fn average_final(context: *mut sqlite3_context) {
    let context = Context(context);
    let slot = average_of(context, 0);
    // SAFETY: null (no row) or the memory `average_step` filled; SQLite calls this once per
    // group, also after an error, so the box is freed here.
    let average = unsafe {
        if slot.is_null() || (*slot).is_null() {
            None
        } else {
            Some(Box::from_raw(std::mem::replace(&mut *slot, std::ptr::null_mut())))
        }
    };
    context.set(average.map_or(Output::Null, |average| average.finish()));
}
