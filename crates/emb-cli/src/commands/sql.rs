//! `emb sql` and `emb sql-extension-path`: SQL with emb's functions, through the same loadable
//! extension the sqlite3 shell and Python load.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use base64::Engine;
use rusqlite::types::ValueRef;

use crate::cli::SqlArgs;
use crate::output::Printer;

/// The variable that names the extension's file, for an install that keeps it elsewhere.
const EXTENSION_VARIABLE: &str = "EMB_SQLITE_EXTENSION";

/// Where the extension is: `EMB_SQLITE_EXTENSION`, else beside the `emb` binary.
fn extension_path() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(EXTENSION_VARIABLE).filter(|path| !path.is_empty()) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            bail!("{EXTENSION_VARIABLE} names {}, which is not a file", path.display());
        }
        return Ok(path);
    }
    let executable = std::env::current_exe().context("cannot tell where the emb binary is")?;
    let name =
        format!("{}emb_sqlite{}", std::env::consts::DLL_PREFIX, std::env::consts::DLL_SUFFIX);
    let path = executable.parent().map_or_else(|| name.clone().into(), |folder| folder.join(&name));
    if !path.is_file() {
        bail!(
            "emb's SQLite extension is not built: {} is missing; build it with `cargo build \
             --release -p emb-sqlite` (or `make build`), or set {EXTENSION_VARIABLE} to its path",
            path.display()
        );
    }
    Ok(path)
}

pub fn print_extension_path() -> Result<()> {
    let path = extension_path()?;
    let mut printer = Printer::new();
    printer.line(&path.display().to_string())?;
    Ok(printer.finish()?)
}

pub fn run(arguments: &SqlArgs) -> Result<()> {
    let database = super::open_database(&arguments.database)?;
    let Some(store) = database.sqlite() else {
        bail!(
            "emb sql runs SQLite; on PostgreSQL use psql and pgvector's operators (<=> is cosine \
             distance) on the table of the collection"
        );
    };
    let Some(header) = database.header(&arguments.collection)? else {
        bail!("there is no collection {:?} in {}", arguments.collection, database.path().display());
    };
    let model = arguments.model.clone().unwrap_or(header.model);
    // The extension reads its default model from EMB_MODEL; set before it loads and before any
    // thread starts.
    std::env::set_var("EMB_MODEL", &model);
    let connection = store.connection();
    let path = extension_path()?;
    // SAFETY: loads emb's own extension, found beside this binary (or where the user said);
    // loading is switched off again right after.
    unsafe {
        let _guard = rusqlite::LoadExtensionGuard::new(connection)?;
        connection
            .load_extension(&path, None::<&str>)
            .with_context(|| format!("cannot load {}", path.display()))?;
    }
    let quoted = arguments.collection.replace('\'', "''");
    connection.execute_batch(&format!(
        "CREATE TEMP VIEW items AS SELECT id, embedding, content, metadata, updated FROM \
         embeddings WHERE collection_id = (SELECT id FROM collections WHERE name = '{quoted}')"
    ))?;
    let mut statement =
        connection.prepare(&arguments.sql).map_err(sql_error).context("cannot run the SQL")?;
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mut rows = statement.query([]).map_err(sql_error).context("the SQL failed")?;
    let mut printer = Printer::new();
    while let Some(row) = rows.next().map_err(sql_error).context("the SQL failed")? {
        let mut object = serde_json::Map::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            object.insert(name.clone(), json_of(row.get_ref(index)?));
        }
        match printer.json(&object) {
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            written => written?,
        }
    }
    Ok(printer.finish()?)
}

/// SQLite's own message, without rusqlite's description of the generic error code after it.
fn sql_error(error: rusqlite::Error) -> anyhow::Error {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) => anyhow::anyhow!(message),
        rusqlite::Error::SqlInputError { msg, offset, .. } => {
            anyhow::anyhow!("{msg} (at character {offset} of the SQL)")
        }
        other => other.into(),
    }
}

/// A column's value as JSON; a blob as Datasette writes one.
fn json_of(value: ValueRef<'_>) -> serde_json::Value {
    match value {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(integer) => integer.into(),
        ValueRef::Real(real) => real.into(),
        ValueRef::Text(text) => String::from_utf8_lossy(text).into_owned().into(),
        ValueRef::Blob(blob) => serde_json::json!({
            "$base64": true,
            "encoded": base64::engine::general_purpose::STANDARD.encode(blob),
        }),
    }
}
