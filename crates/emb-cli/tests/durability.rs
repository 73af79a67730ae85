//! Nothing lost: `emb embed-multi` killed with SIGKILL at random moments, and several processes
//! writing and reading one database at once.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use common::{json_lines, success, Sandbox};
use rusqlite::Connection;

const WORDS: [&str; 16] = [
    "river", "engine", "garden", "signal", "harbor", "ledger", "meadow", "socket", "lantern",
    "cipher", "orchard", "beacon", "thread", "canyon", "mirror", "parcel",
];

/// The text of item `index`: short, distinct, deterministic.
fn text(index: usize) -> String {
    let word = |shift: usize| WORDS[(index >> shift) % WORDS.len()];
    format!("Note {index} about the {} and the {} near the {}.", word(0), word(4), word(8))
}

fn write_items(sandbox: &Sandbox, count: usize) -> std::path::PathBuf {
    let mut lines = String::new();
    for index in 0..count {
        lines.push_str(
            &serde_json::json!({ "id": format!("item-{index:05}"), "text": text(index) })
                .to_string(),
        );
        lines.push('\n');
    }
    sandbox.file("items.jsonl", lines)
}

/// Checks the database as a crash may have left it; returns the number of items stored.
fn check_whole(sandbox: &Sandbox) -> usize {
    let connection = Connection::open(sandbox.database()).unwrap();
    let check: String =
        connection.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
    assert_eq!(check, "ok");
    let exists: bool = connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'embeddings')",
            [],
            |row| row.get(0),
        )
        .unwrap();
    if !exists {
        return 0;
    }
    let mut statement = connection
        .prepare("SELECT id, length(embedding), length(content_hash), content FROM embeddings")
        .unwrap();
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
                row.get::<_, String>(3)?,
            ))
        })
        .unwrap();
    let mut stored = 0;
    for row in rows {
        let (id, vector_bytes, hash_bytes, content) = row.unwrap();
        let index: usize = id.strip_prefix("item-").unwrap().parse().unwrap();
        assert_eq!((vector_bytes, hash_bytes), (384 * 4, 16), "item {id} is not whole");
        assert_eq!(content, text(index), "item {id} has the wrong content");
        stored += 1;
    }
    stored
}

/// A small pseudo-random number generator seeded from the clock: the kill moments differ run to
/// run, and the seed is printed so a failure can be replayed.
struct Random(u64);

impl Random {
    fn new() -> Self {
        let seed = std::env::var("EMB_TEST_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64
            });
        eprintln!("kill moments from EMB_TEST_SEED={seed}");
        Self(seed | 1)
    }

    fn below(&mut self, limit: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % limit
    }
}

#[test]
fn killed_at_random_moments_the_database_stays_whole_and_a_rerun_completes_it() {
    const ITEMS: usize = 20_000;
    let sandbox = Sandbox::with_model();
    let input = write_items(&sandbox, ITEMS);
    let mut random = Random::new();
    let mut previous = 0;
    for round in 0..5 {
        let mut child: std::process::Child = sandbox
            .process()
            .args(["embed-multi", "big"])
            .arg(&input)
            .arg("--store")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let delay = Duration::from_millis(200 + random.below(2_500));
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        assert!(
            !finished,
            "round {round}: the run ended before the kill; the test needs a bigger input"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let stored = check_whole(&sandbox);
        eprintln!("round {round}: killed after {delay:?}, {stored} items stored");
        assert!(stored >= previous, "items were lost");
        previous = stored;
    }
    assert!(previous < ITEMS, "every kill must have come before the end");

    let (_, stderr) =
        success(sandbox.emb().args(["embed-multi", "big"]).arg(&input).arg("--store"));
    let expected = format!("big: {} embedded, 0 updated, {previous} unchanged", ITEMS - previous);
    assert!(stderr.contains(&expected), "expected {expected:?} in {stderr}");
    assert_eq!(check_whole(&sandbox), ITEMS);
}

#[test]
fn two_writers_and_a_reader_share_one_database() {
    const ITEMS: usize = 1_500;
    let sandbox = Sandbox::with_model();
    let input = write_items(&sandbox, ITEMS);
    let seed = sandbox.file("seed.jsonl", "{\"id\": \"s\", \"text\": \"a river in a canyon\"}\n");
    success(sandbox.emb().args(["embed-multi", "seed"]).arg(&seed));

    let writer = |prefix: &str| {
        sandbox
            .process()
            .args(["embed-multi", "shared", "--batch-size", "50", "--prefix", prefix])
            .arg(&input)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let first = writer("a/");
    let second = writer("b/");
    let started = Instant::now();
    let mut searches = 0;
    while started.elapsed() < Duration::from_secs(4) {
        let (stdout, _) = success(sandbox.emb().args(["similar", "seed", "-c", "canyon river"]));
        assert_eq!(json_lines(&stdout)[0]["id"], "s");
        searches += 1;
    }
    for child in [first, second] {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "a writer failed: {stderr}");
        assert!(stderr.contains(&format!("{ITEMS} embedded")), "{stderr}");
    }
    assert!(searches > 3);
    let (stdout, _) = success(sandbox.emb().args(["collections", "info", "shared", "--json"]));
    assert_eq!(json_lines(&stdout)[0]["count"], 2 * ITEMS);
    // Both writers' items are searchable.
    let (stdout, _) = success(sandbox.emb().args(["similar", "shared", "a/item-00007", "-n", "1"]));
    assert_eq!(json_lines(&stdout)[0]["id"], "b/item-00007");
}
