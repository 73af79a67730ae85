//! The host's SQLite, reached only through the routines it hands a loadable extension.
//!
//! An extension must not call the `sqlite3_*` symbols of whatever SQLite it happens to link:
//! the host (the `sqlite3` shell, Python, Datasette, emb itself) may run another copy or
//! version. SQLite passes every extension a table of its own functions,
//! `sqlite3_api_routines`, whose layout only ever grows at the end; [`Routines`] declares it up to
//! the last entry emb uses (`db_filename`, SQLite 3.7.10), and the thin wrappers below are the
//! only code that calls through it.

use std::ffi::{c_char, c_int, c_uchar, c_void, CStr};
use std::sync::atomic::{AtomicPtr, Ordering};

use libsqlite3_sys::{sqlite3, sqlite3_context, sqlite3_module, sqlite3_stmt, sqlite3_value};

/// An entry of the table emb does not call (every entry is one function pointer).
type Unused = Option<unsafe extern "C" fn()>;
/// How SQLite frees what it was handed (`SQLITE_TRANSIENT`: it copies).
type Destructor = Option<unsafe extern "C" fn(*mut c_void)>;
/// A scalar function or an aggregate's step.
pub type Scalar =
    Option<unsafe extern "C" fn(*mut sqlite3_context, c_int, *mut *mut sqlite3_value)>;
/// An aggregate's final step.
pub type Final = Option<unsafe extern "C" fn(*mut sqlite3_context)>;

/// `struct sqlite3_api_routines` of sqlite3ext.h, entry for entry, up to `db_filename`.
#[repr(C)]
#[allow(clippy::struct_field_names)]
pub struct Routines {
    aggregate_context: Option<unsafe extern "C" fn(*mut sqlite3_context, c_int) -> *mut c_void>,
    aggregate_count: Unused,
    bind_blob: Unused,
    bind_double: Unused,
    bind_int: Unused,
    bind_int64: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int, i64) -> c_int>,
    bind_null: Unused,
    bind_parameter_count: Unused,
    bind_parameter_index: Unused,
    bind_parameter_name: Unused,
    bind_text: Option<
        unsafe extern "C" fn(*mut sqlite3_stmt, c_int, *const c_char, c_int, Destructor) -> c_int,
    >,
    bind_text16: Unused,
    bind_value: Unused,
    busy_handler: Unused,
    busy_timeout: Unused,
    changes: Unused,
    close: Unused,
    collation_needed: Unused,
    collation_needed16: Unused,
    column_blob: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int) -> *const c_void>,
    column_bytes: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int) -> c_int>,
    column_bytes16: Unused,
    column_count: Unused,
    column_database_name: Unused,
    column_database_name16: Unused,
    column_decltype: Unused,
    column_decltype16: Unused,
    column_double: Unused,
    column_int: Unused,
    column_int64: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int) -> i64>,
    column_name: Unused,
    column_name16: Unused,
    column_origin_name: Unused,
    column_origin_name16: Unused,
    column_table_name: Unused,
    column_table_name16: Unused,
    column_text: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int) -> *const c_uchar>,
    column_text16: Unused,
    column_type: Option<unsafe extern "C" fn(*mut sqlite3_stmt, c_int) -> c_int>,
    column_value: Unused,
    commit_hook: Unused,
    complete: Unused,
    complete16: Unused,
    create_collation: Unused,
    create_collation16: Unused,
    create_function: Unused,
    create_function16: Unused,
    create_module: Unused,
    data_count: Unused,
    db_handle: Unused,
    declare_vtab: Option<unsafe extern "C" fn(*mut sqlite3, *const c_char) -> c_int>,
    enable_shared_cache: Unused,
    errcode: Unused,
    errmsg: Option<unsafe extern "C" fn(*mut sqlite3) -> *const c_char>,
    errmsg16: Unused,
    exec: Unused,
    expired: Unused,
    finalize: Option<unsafe extern "C" fn(*mut sqlite3_stmt) -> c_int>,
    free: Option<unsafe extern "C" fn(*mut c_void)>,
    free_table: Unused,
    get_autocommit: Unused,
    get_auxdata: Option<unsafe extern "C" fn(*mut sqlite3_context, c_int) -> *mut c_void>,
    get_table: Unused,
    global_recover: Unused,
    interruptx: Unused,
    last_insert_rowid: Unused,
    libversion: Unused,
    libversion_number: Option<unsafe extern "C" fn() -> c_int>,
    malloc: Option<unsafe extern "C" fn(c_int) -> *mut c_void>,
    mprintf: Unused,
    open: Unused,
    open16: Unused,
    prepare: Unused,
    prepare16: Unused,
    profile: Unused,
    progress_handler: Unused,
    realloc: Unused,
    reset: Option<unsafe extern "C" fn(*mut sqlite3_stmt) -> c_int>,
    result_blob:
        Option<unsafe extern "C" fn(*mut sqlite3_context, *const c_void, c_int, Destructor)>,
    result_double: Option<unsafe extern "C" fn(*mut sqlite3_context, f64)>,
    result_error: Option<unsafe extern "C" fn(*mut sqlite3_context, *const c_char, c_int)>,
    result_error16: Unused,
    result_int: Unused,
    result_int64: Option<unsafe extern "C" fn(*mut sqlite3_context, i64)>,
    result_null: Option<unsafe extern "C" fn(*mut sqlite3_context)>,
    result_text:
        Option<unsafe extern "C" fn(*mut sqlite3_context, *const c_char, c_int, Destructor)>,
    result_text16: Unused,
    result_text16be: Unused,
    result_text16le: Unused,
    result_value: Unused,
    rollback_hook: Unused,
    set_authorizer: Unused,
    set_auxdata: Option<unsafe extern "C" fn(*mut sqlite3_context, c_int, *mut c_void, Destructor)>,
    xsnprintf: Unused,
    step: Option<unsafe extern "C" fn(*mut sqlite3_stmt) -> c_int>,
    table_column_metadata: Unused,
    thread_cleanup: Unused,
    total_changes: Unused,
    trace: Unused,
    transfer_bindings: Unused,
    update_hook: Unused,
    user_data: Option<unsafe extern "C" fn(*mut sqlite3_context) -> *mut c_void>,
    value_blob: Option<unsafe extern "C" fn(*mut sqlite3_value) -> *const c_void>,
    value_bytes: Option<unsafe extern "C" fn(*mut sqlite3_value) -> c_int>,
    value_bytes16: Unused,
    value_double: Option<unsafe extern "C" fn(*mut sqlite3_value) -> f64>,
    value_int: Unused,
    value_int64: Option<unsafe extern "C" fn(*mut sqlite3_value) -> i64>,
    value_numeric_type: Unused,
    value_text: Option<unsafe extern "C" fn(*mut sqlite3_value) -> *const c_uchar>,
    value_text16: Unused,
    value_text16be: Unused,
    value_text16le: Unused,
    value_type: Option<unsafe extern "C" fn(*mut sqlite3_value) -> c_int>,
    vmprintf: Unused,
    overload_function: Unused,
    prepare_v2: Option<
        unsafe extern "C" fn(
            *mut sqlite3,
            *const c_char,
            c_int,
            *mut *mut sqlite3_stmt,
            *mut *const c_char,
        ) -> c_int,
    >,
    prepare16_v2: Unused,
    clear_bindings: Unused,
    create_module_v2: Option<
        unsafe extern "C" fn(
            *mut sqlite3,
            *const c_char,
            *const sqlite3_module,
            *mut c_void,
            Destructor,
        ) -> c_int,
    >,
    bind_zeroblob: Unused,
    blob_bytes: Unused,
    blob_close: Unused,
    blob_open: Unused,
    blob_read: Unused,
    blob_write: Unused,
    create_collation_v2: Unused,
    file_control: Unused,
    memory_highwater: Unused,
    memory_used: Unused,
    mutex_alloc: Unused,
    mutex_enter: Unused,
    mutex_free: Unused,
    mutex_leave: Unused,
    mutex_try: Unused,
    open_v2: Unused,
    release_memory: Unused,
    result_error_nomem: Option<unsafe extern "C" fn(*mut sqlite3_context)>,
    result_error_toobig: Option<unsafe extern "C" fn(*mut sqlite3_context)>,
    sleep: Unused,
    soft_heap_limit: Unused,
    vfs_find: Unused,
    vfs_register: Unused,
    vfs_unregister: Unused,
    xthreadsafe: Unused,
    result_zeroblob: Unused,
    result_error_code: Unused,
    test_control: Unused,
    randomness: Unused,
    context_db_handle: Option<unsafe extern "C" fn(*mut sqlite3_context) -> *mut sqlite3>,
    extended_result_codes: Unused,
    limit: Unused,
    next_stmt: Unused,
    sql: Unused,
    status: Unused,
    backup_finish: Unused,
    backup_init: Unused,
    backup_pagecount: Unused,
    backup_remaining: Unused,
    backup_step: Unused,
    compileoption_get: Unused,
    compileoption_used: Unused,
    create_function_v2: Option<
        unsafe extern "C" fn(
            *mut sqlite3,
            *const c_char,
            c_int,
            c_int,
            *mut c_void,
            Scalar,
            Scalar,
            Final,
            Destructor,
        ) -> c_int,
    >,
    db_config: Unused,
    db_mutex: Unused,
    db_status: Unused,
    extended_errcode: Unused,
    log: Unused,
    soft_heap_limit64: Unused,
    sourceid: Unused,
    stmt_status: Unused,
    strnicmp: Unused,
    unlock_notify: Unused,
    wal_autocheckpoint: Unused,
    wal_checkpoint: Unused,
    wal_hook: Unused,
    blob_reopen: Unused,
    vtab_config: Unused,
    vtab_on_conflict: Unused,
    close_v2: Unused,
    db_filename: Option<unsafe extern "C" fn(*mut sqlite3, *const c_char) -> *const c_char>,
}

/// The routines of the SQLite that loaded the extension.
static ROUTINES: AtomicPtr<Routines> = AtomicPtr::new(std::ptr::null_mut());

/// Checks every routine emb calls is present, then keeps `routines` for every later call.
/// The error names what is missing.
///
/// # Safety
/// `routines` is the table SQLite passed to the extension's entry point.
pub unsafe fn install(routines: *const Routines) -> Result<(), String> {
    // SAFETY: the caller passes SQLite's table, which lives as long as the process.
    let table = unsafe { routines.as_ref() }.ok_or("SQLite passed no API routines")?;
    macro_rules! require {
        ($($name:ident),*) => {
            $(if table.$name.is_none() {
                return Err(format!("this SQLite lacks sqlite3_{}", stringify!($name)));
            })*
        };
    }
    require!(
        aggregate_context,
        bind_int64,
        bind_text,
        column_blob,
        column_bytes,
        column_int64,
        column_text,
        column_type,
        context_db_handle,
        create_function_v2,
        create_module_v2,
        db_filename,
        declare_vtab,
        errmsg,
        finalize,
        free,
        get_auxdata,
        libversion_number,
        malloc,
        prepare_v2,
        reset,
        result_blob,
        result_double,
        result_error,
        result_error_nomem,
        result_error_toobig,
        result_int64,
        result_null,
        result_text,
        set_auxdata,
        step,
        user_data,
        value_blob,
        value_bytes,
        value_double,
        value_int64,
        value_text,
        value_type
    );
    ROUTINES.store(routines.cast_mut(), Ordering::Release);
    Ok(())
}

/// The installed routines.
fn routines() -> &'static Routines {
    let table = ROUTINES.load(Ordering::Acquire);
    // SAFETY: set once by `install` from SQLite's static table before any function is
    // registered, so every caller runs after it.
    unsafe { table.as_ref() }.expect("the extension's routines are installed before use")
}

/// Calls the routine `$name`, which `install` checked is present.
macro_rules! call {
    ($name:ident($($argument:expr),* $(,)?)) => {
        (routines().$name.expect(concat!("sqlite3_", stringify!($name), " is checked at load")))(
            $($argument),*
        )
    };
}

/// The version of the host's SQLite, as 3045003 for 3.45.3.
pub fn version() -> i32 {
    // SAFETY: takes no arguments.
    unsafe { call!(libversion_number()) }
}

/// `SQLITE_TRANSIENT`: SQLite copies the bytes before the call returns.
#[allow(clippy::unnecessary_wraps, reason = "the routines take the destructor as an Option")]
fn transient() -> Destructor {
    // SAFETY: SQLite defines SQLITE_TRANSIENT as the destructor pointer -1, which it never calls.
    Some(unsafe { std::mem::transmute::<isize, unsafe extern "C" fn(*mut c_void)>(-1) })
}

/// A string allocated by SQLite's allocator (for `zErrMsg` of a virtual table), or null when out
/// of memory.
pub fn sqlite_string(text: &str) -> *mut c_char {
    let text = text.replace('\0', " ");
    let Ok(length) = c_int::try_from(text.len() + 1) else { return std::ptr::null_mut() };
    // SAFETY: malloc returns `length` writable bytes or null.
    let memory = unsafe { call!(malloc(length)) }.cast::<u8>();
    if !memory.is_null() {
        // SAFETY: `memory` holds text.len() + 1 bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), memory, text.len());
            *memory.add(text.len()) = 0;
        }
    }
    memory.cast()
}

/// Frees what SQLite's allocator gave.
///
/// # Safety
/// `pointer` is null or from SQLite's allocator, and not used again.
pub unsafe fn free(pointer: *mut c_void) {
    // SAFETY: as the caller promises.
    unsafe { call!(free(pointer)) }
}

/// Registers a function (a scalar one with `scalar`, an aggregate with `step` and `last`) that
/// takes `arguments` arguments (-1: any number), with `data` handed to every call and freed by
/// `destroy` when the function is dropped.
///
/// # Safety
/// `db` is an open connection; `data` is what the callbacks expect and `destroy` frees it.
#[allow(clippy::too_many_arguments)]
pub unsafe fn create_function(
    db: *mut sqlite3,
    name: &CStr,
    arguments: c_int,
    flags: c_int,
    data: *mut c_void,
    callbacks: (Scalar, Scalar, Final),
    destroy: Destructor,
) -> Result<(), String> {
    let (scalar, step, last) = callbacks;
    // SAFETY: as the caller promises.
    let code = unsafe {
        call!(create_function_v2(
            db,
            name.as_ptr(),
            arguments,
            flags,
            data,
            scalar,
            step,
            last,
            destroy
        ))
    };
    check(db, code, &format!("cannot register {}", name.to_string_lossy()))
}

/// Registers the virtual table module `module` as `name`, with `data` handed to its connect.
///
/// # Safety
/// `db` is an open connection; `module` lives as long as the connection.
pub unsafe fn create_module(
    db: *mut sqlite3,
    name: &CStr,
    module: &'static sqlite3_module,
    data: *mut c_void,
    destroy: Destructor,
) -> Result<(), String> {
    // SAFETY: as the caller promises.
    let code = unsafe { call!(create_module_v2(db, name.as_ptr(), module, data, destroy)) };
    check(db, code, &format!("cannot register {}", name.to_string_lossy()))
}

/// Declares the columns of a virtual table from its connect method.
///
/// # Safety
/// Called from `xConnect` with the connection SQLite passed.
pub unsafe fn declare_vtab(db: *mut sqlite3, schema: &CStr) -> Result<(), String> {
    // SAFETY: as the caller promises.
    let code = unsafe { call!(declare_vtab(db, schema.as_ptr())) };
    check(db, code, "cannot declare the table")
}

/// `Ok` for `SQLITE_OK`, else the connection's message after `what`.
fn check(db: *mut sqlite3, code: c_int, what: &str) -> Result<(), String> {
    if code == libsqlite3_sys::SQLITE_OK {
        Ok(())
    } else {
        Err(format!("{what}: {}", message(db)))
    }
}

/// The connection's last error message.
fn message(db: *mut sqlite3) -> String {
    // SAFETY: errmsg returns a NUL-terminated string owned by the connection.
    let text = unsafe { call!(errmsg(db)) };
    if text.is_null() {
        "unknown error".to_owned()
    } else {
        // SAFETY: non-null and NUL-terminated.
        unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
    }
}

/// The file of the connection's main database (`None` for an in-memory or temporary one).
///
/// # Safety
/// `db` is an open connection.
pub unsafe fn main_file(db: *mut sqlite3) -> Option<std::path::PathBuf> {
    // SAFETY: as the caller promises; the name is NUL-terminated.
    let name = unsafe { call!(db_filename(db, c"main".as_ptr())) };
    if name.is_null() {
        return None;
    }
    // SAFETY: non-null and NUL-terminated, owned by the connection.
    let name = unsafe { CStr::from_ptr(name) }.to_str().ok()?;
    (!name.is_empty()).then(|| std::path::PathBuf::from(name))
}

/// The SQL type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// NULL.
    Null,
    /// An integer.
    Integer,
    /// A floating-point number.
    Float,
    /// Text.
    Text,
    /// A blob.
    Blob,
}

impl Kind {
    fn of(code: c_int) -> Self {
        match code {
            libsqlite3_sys::SQLITE_INTEGER => Self::Integer,
            libsqlite3_sys::SQLITE_FLOAT => Self::Float,
            libsqlite3_sys::SQLITE_TEXT => Self::Text,
            libsqlite3_sys::SQLITE_BLOB => Self::Blob,
            _ => Self::Null,
        }
    }

    /// How messages name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Null => "NULL",
            Self::Integer => "an integer",
            Self::Float => "a real",
            Self::Text => "text",
            Self::Blob => "a blob",
        }
    }
}

/// An argument of a function call, valid during the call.
#[derive(Clone, Copy)]
pub struct Value(*mut sqlite3_value);

impl Value {
    /// Its SQL type.
    pub fn kind(self) -> Kind {
        // SAFETY: a value SQLite passed to the running call.
        Kind::of(unsafe { call!(value_type(self.0)) })
    }

    /// Its bytes as a blob.
    pub fn blob<'call>(self) -> &'call [u8] {
        // SAFETY: per SQLite's rules, ask for the pointer first, then the size; the bytes stay
        // valid until the call returns.
        unsafe {
            let pointer = call!(value_blob(self.0)).cast::<u8>();
            let length = usize::try_from(call!(value_bytes(self.0))).unwrap_or(0);
            bytes(pointer, length)
        }
    }

    /// Its bytes as UTF-8 text (invalid UTF-8 replaced).
    pub fn text<'call>(self) -> std::borrow::Cow<'call, str> {
        // SAFETY: as for `blob`.
        let bytes = unsafe {
            let pointer = call!(value_text(self.0)).cast::<u8>();
            let length = usize::try_from(call!(value_bytes(self.0))).unwrap_or(0);
            bytes(pointer, length)
        };
        String::from_utf8_lossy(bytes)
    }

    /// Its value as an integer.
    pub fn integer(self) -> i64 {
        // SAFETY: a value SQLite passed to the running call.
        unsafe { call!(value_int64(self.0)) }
    }

    /// Its value as a real.
    pub fn real(self) -> f64 {
        // SAFETY: a value SQLite passed to the running call.
        unsafe { call!(value_double(self.0)) }
    }
}

/// `length` bytes at `pointer` (none when null).
///
/// # Safety
/// `pointer` is null or points at `length` readable bytes that outlive `'a`.
unsafe fn bytes<'a>(pointer: *const u8, length: usize) -> &'a [u8] {
    if pointer.is_null() || length == 0 {
        &[]
    } else {
        // SAFETY: as the caller promises.
        unsafe { std::slice::from_raw_parts(pointer, length) }
    }
}

/// The arguments SQLite passed.
///
/// # Safety
/// `argv` holds `argc` values.
pub unsafe fn arguments(argc: c_int, argv: *mut *mut sqlite3_value) -> Vec<Value> {
    let count = usize::try_from(argc).unwrap_or(0);
    if argv.is_null() || count == 0 {
        return Vec::new();
    }
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts(argv, count) }.iter().map(|&value| Value(value)).collect()
}

/// What a function returns.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A real.
    Real(f64),
    /// Text.
    Text(String),
    /// A blob.
    Blob(Vec<u8>),
}

/// The context of one function call (or one row of a virtual table's column).
#[derive(Clone, Copy)]
pub struct Context(pub *mut sqlite3_context);

impl Context {
    /// The data the function was registered with.
    pub fn user_data(self) -> *mut c_void {
        // SAFETY: a context SQLite passed to the running call.
        unsafe { call!(user_data(self.0)) }
    }

    /// The connection running the call.
    pub fn connection(self) -> *mut sqlite3 {
        // SAFETY: a context SQLite passed to the running call.
        unsafe { call!(context_db_handle(self.0)) }
    }

    /// The aggregate's memory of `size` zeroed bytes, the same on every step of one group;
    /// with size 0, null when no step ran.
    pub fn aggregate_memory(self, size: usize) -> *mut c_void {
        let size = c_int::try_from(size).unwrap_or(c_int::MAX);
        // SAFETY: a context SQLite passed to the running call.
        unsafe { call!(aggregate_context(self.0, size)) }
    }

    /// What `remember` kept for argument `index` earlier in this statement, if still valid.
    ///
    /// # Safety
    /// The function only ever remembers a `T` for this argument, and the reference is dropped
    /// before the call returns (SQLite may free the value after it).
    pub unsafe fn remembered<'call, T>(self, index: c_int) -> Option<&'call T> {
        // SAFETY: only `remember` sets auxiliary data, as a `Box<T>` for the caller's T.
        unsafe { call!(get_auxdata(self.0, index)).cast::<T>().as_ref() }
    }

    /// Keeps `value` with argument `index` for later rows of this statement; SQLite drops it
    /// when the argument changes from one row to the next, and at the end of the statement.
    pub fn remember<T: 'static>(self, index: c_int, value: T) {
        unsafe extern "C" fn drop_box<T>(pointer: *mut c_void) {
            // SAFETY: SQLite hands back the pointer `remember` gave, once.
            drop(unsafe { Box::from_raw(pointer.cast::<T>()) });
        }
        let pointer = Box::into_raw(Box::new(value)).cast::<c_void>();
        // SAFETY: SQLite owns the box from here and frees it with `drop_box`.
        unsafe { call!(set_auxdata(self.0, index, pointer, Some(drop_box::<T>))) }
    }

    /// Sets the call's result.
    pub fn set(self, output: Output) {
        // SAFETY: a context SQLite passed to the running call; SQLite copies text and blobs.
        unsafe {
            match output {
                Output::Null => call!(result_null(self.0)),
                Output::Integer(value) => call!(result_int64(self.0, value)),
                Output::Real(value) => call!(result_double(self.0, value)),
                Output::Text(text) => match c_int::try_from(text.len()) {
                    Ok(length) => {
                        call!(result_text(self.0, text.as_ptr().cast(), length, transient()));
                    }
                    Err(_) => call!(result_error_toobig(self.0)),
                },
                Output::Blob(blob) => match c_int::try_from(blob.len()) {
                    Ok(length) => {
                        call!(result_blob(self.0, blob.as_ptr().cast(), length, transient()));
                    }
                    Err(_) => call!(result_error_toobig(self.0)),
                },
            }
        }
    }

    /// Fails the call with `message`.
    pub fn fail(self, message: &str) {
        let length = c_int::try_from(message.len()).unwrap_or(c_int::MAX);
        // SAFETY: SQLite copies the message.
        unsafe { call!(result_error(self.0, message.as_ptr().cast(), length)) }
    }

    /// Fails the call for want of memory.
    pub fn out_of_memory(self) {
        // SAFETY: a context SQLite passed to the running call.
        unsafe { call!(result_error_nomem(self.0)) }
    }
}

/// A prepared statement on the host connection, finalized when dropped.
pub struct Statement {
    db: *mut sqlite3,
    statement: *mut sqlite3_stmt,
}

/// A row of a [`Statement`], valid until the next step.
pub struct Row<'statement>(&'statement Statement);

impl Statement {
    /// Prepares `sql` on `db`.
    ///
    /// # Safety
    /// `db` is an open connection that outlives the statement.
    pub unsafe fn prepare(db: *mut sqlite3, sql: &str) -> Result<Self, String> {
        let length = c_int::try_from(sql.len()).map_err(|_| "statement too long".to_owned())?;
        let mut statement = std::ptr::null_mut();
        // SAFETY: as the caller promises; SQLite reads `length` bytes of `sql`.
        let code = unsafe {
            call!(prepare_v2(
                db,
                sql.as_ptr().cast(),
                length,
                &raw mut statement,
                std::ptr::null_mut()
            ))
        };
        check(db, code, "cannot prepare a query")?;
        Ok(Self { db, statement })
    }

    /// Binds text to parameter `index` (from 1).
    pub fn bind_text(&mut self, index: c_int, text: &str) -> Result<(), String> {
        let length = c_int::try_from(text.len()).map_err(|_| "text too long".to_owned())?;
        // SAFETY: a live statement; SQLite copies the text.
        let code = unsafe {
            call!(bind_text(self.statement, index, text.as_ptr().cast(), length, transient()))
        };
        check(self.db, code, "cannot bind a parameter")
    }

    /// Binds an integer to parameter `index` (from 1).
    pub fn bind_integer(&mut self, index: c_int, value: i64) -> Result<(), String> {
        // SAFETY: a live statement.
        let code = unsafe { call!(bind_int64(self.statement, index, value)) };
        check(self.db, code, "cannot bind a parameter")
    }

    /// Rewinds the statement to run again (its bindings stay until bound anew).
    pub fn reset(&mut self) {
        // SAFETY: a live statement; an error of the last step is reported by that step.
        unsafe { call!(reset(self.statement)) };
    }

    /// Steps to the next row: `None` when done.
    pub fn step(&mut self) -> Result<Option<Row<'_>>, String> {
        // SAFETY: a live statement.
        match unsafe { call!(step(self.statement)) } {
            libsqlite3_sys::SQLITE_ROW => Ok(Some(Row(self))),
            libsqlite3_sys::SQLITE_DONE => Ok(None),
            code => Err(check(self.db, code, "query failed").unwrap_err()),
        }
    }
}

impl Drop for Statement {
    fn drop(&mut self) {
        // SAFETY: prepared by `prepare`, finalized once.
        unsafe { call!(finalize(self.statement)) };
    }
}

impl Row<'_> {
    /// The SQL type of column `index` (from 0).
    pub fn kind(&self, index: c_int) -> Kind {
        // SAFETY: a statement on a row.
        Kind::of(unsafe { call!(column_type(self.0.statement, index)) })
    }

    /// Column `index` as an integer.
    pub fn integer(&self, index: c_int) -> i64 {
        // SAFETY: a statement on a row.
        unsafe { call!(column_int64(self.0.statement, index)) }
    }

    /// Column `index` as text (`None` when NULL).
    pub fn text(&self, index: c_int) -> Option<String> {
        if self.kind(index) == Kind::Null {
            return None;
        }
        // SAFETY: pointer first, then size; valid until the next step.
        let bytes = unsafe {
            let pointer = call!(column_text(self.0.statement, index)).cast::<u8>();
            let length = usize::try_from(call!(column_bytes(self.0.statement, index))).unwrap_or(0);
            bytes(pointer, length)
        };
        Some(String::from_utf8_lossy(bytes).into_owned())
    }

    /// Column `index` as a blob.
    pub fn blob(&self, index: c_int) -> &[u8] {
        // SAFETY: pointer first, then size; valid until the next step, which needs `&mut`.
        unsafe {
            let pointer = call!(column_blob(self.0.statement, index)).cast::<u8>();
            let length = usize::try_from(call!(column_bytes(self.0.statement, index))).unwrap_or(0);
            bytes(pointer, length)
        }
    }
}
