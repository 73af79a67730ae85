//! The store conformance suite: every store (SQLite, and PostgreSQL with pgvector when
//! `EMB_TEST_POSTGRES` names a server, as `make test` does) passes the same tests.

use std::collections::HashMap;

use emb_core::filter::Filter;
use emb_core::store::{Change, Item, Store, VectorQuery};
use emb_store::{PostgresStore, SqliteStore};

fn item(id: &str, vector: Vec<f32>, hash: u8) -> Item {
    Item {
        id: id.into(),
        vector,
        content: Some(format!("text of {id}")),
        content_blob: None,
        content_hash: [hash; 16],
        metadata: None,
    }
}

fn upsert(id: &str, vector: Vec<f32>) -> Change {
    Change::Upsert(item(id, vector, 0))
}

fn ids_of(store: &dyn Store, collection: &str, prefix: &str) -> Vec<String> {
    let mut ids = Vec::new();
    store
        .for_each(collection, prefix, &mut |record| {
            ids.push(record.id);
            Ok(())
        })
        .unwrap();
    ids
}

fn writes_reads_and_counts_changes(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    let first = store.generation("c").unwrap().unwrap();
    store
        .apply(
            "c",
            &[
                Change::Upsert(item("b", vec![0.0, 1.0], 1)),
                Change::Upsert(item("a", vec![1.0, 0.0], 2)),
            ],
        )
        .unwrap();
    let second = store.generation("c").unwrap().unwrap();
    assert!(second.counter > first.counter);
    assert_eq!(second.database, first.database);
    let info = store.collection("c").unwrap().unwrap();
    assert_eq!((info.count, info.dimensions, info.model.as_str()), (2, Some(2), "m"));
    let header = store.header("c").unwrap().unwrap();
    assert_eq!((header.model.as_str(), header.dimensions), ("m", Some(2)));

    let mut seen = Vec::new();
    let scanned = store
        .scan_vectors("c", &mut |id, bytes| {
            seen.push((id.to_owned(), emb_core::blob::decode(bytes).unwrap()));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, [("a".to_owned(), vec![1.0, 0.0]), ("b".to_owned(), vec![0.0, 1.0])]);
    assert_eq!(scanned, Some(second.clone()));

    let prints = store.fingerprints("c", &["a", "zzz"]).unwrap();
    assert_eq!(prints.len(), 1);
    assert_eq!(prints["a"].content_hash, Some([2; 16]));

    store
        .apply("c", &[Change::Metadata { id: "a".into(), metadata: Some("{\"x\":1}".into()) }])
        .unwrap();
    assert!(store.generation("c").unwrap().unwrap().counter > second.counter);
    let records = store.get("c", &["a", "missing"]).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].metadata.as_deref(), Some("{\"x\":1}"));
    assert_eq!(records[0].vector, vec![1.0, 0.0]);
    assert_eq!(records[0].content.as_deref(), Some("text of a"));
    assert_eq!(records[0].content_hash, Some([2; 16]));
    assert!(records[0].updated.is_some());

    store.apply("c", &[Change::Delete { id: "a".into() }]).unwrap();
    assert_eq!(store.collection("c").unwrap().unwrap().count, 1);
    assert!(store.delete_collection("c").unwrap());
    assert!(!store.delete_collection("c").unwrap());
    assert!(store.collection("c").unwrap().is_none());
    assert!(store.header("c").unwrap().is_none());
}

fn filters_metadata(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    let with = |id: &str, metadata: Option<&str>| {
        Change::Upsert(Item { metadata: metadata.map(str::to_owned), ..item(id, vec![1.0], 0) })
    };
    store
        .apply(
            "c",
            &[
                with("a", Some(r#"{"lang": "en", "year": 2021, "draft": false}"#)),
                with(
                    "b",
                    Some(r#"{"lang": "fr", "year": "2019", "author": {"name": "O\"Brien"}}"#),
                ),
                with("c", Some(r#"{"lang": "en", "year": 2018, "draft": true, "score": 0.5}"#)),
                with("d", None),
                with("e", Some("not json")),
                with("f", Some(r#"{"lang": null, "year": "soon", "score": -1e3}"#)),
                with("g", Some(r#"{"lang": "x\u0000y"}"#)),
            ],
        )
        .unwrap();
    let ids = |text: &str| store.filter_ids("c", &Filter::parse(text).unwrap()).unwrap();
    assert_eq!(ids(r#"lang = "en" and year >= 2020"#), ["a"]);
    assert_eq!(ids("year < 2020"), ["b", "c"], "text that is a number compares as one");
    assert_eq!(ids("not lang = 'en'"), ["b", "d", "e", "f", "g"]);
    assert_eq!(ids("lang in ('fr', 'de') or draft = true"), ["b", "c"]);
    assert_eq!(ids("draft is null"), ["b", "d", "e", "f", "g"]);
    assert_eq!(ids("lang is null"), ["d", "e", "f"], "JSON null is null");
    assert_eq!(ids("lang is not null"), ["a", "b", "c", "g"], "a NUL in a value is kept");
    assert_eq!(ids("lang = null"), ["d", "e", "f"]);
    assert_eq!(ids(r#"author.name = 'O"Brien'"#), ["b"]);
    assert_eq!(ids("lang > 'en'"), ["b", "g"], "text orders bytewise");
    assert_eq!(ids("score < 0"), ["f"]);
    assert_eq!(ids("score >= 0.5"), ["c"]);
    assert_eq!(ids("draft != true"), ["a"]);
    assert_eq!(ids("year = 'soon'"), ["f"]);
    assert_eq!(
        store.metadata_keys("c").unwrap(),
        ["author", "draft", "lang", "score", "year"],
        "items without metadata or with text that is not a JSON object add nothing"
    );
}

/// The deepest and widest filters the parser allows run on every store (the deepest: a chain of
/// all the conditions whose first part sits under all the `not`s, 391 SQL expression levels
/// deep); a filter built by hand past a database's own limits is refused as the filter's fault.
fn filters_at_the_limits_run(store: &mut dyn Store) {
    use emb_core::filter::{Literal, Operator, MAX_CONDITIONS, MAX_NESTING};
    store.create_collection("c", "m").unwrap();
    let documents = [r#"{"n": 2, "s": "x"}"#, r#"{"n": "3"}"#, r#"{"n": 0}"#];
    let changes: Vec<Change> = documents
        .iter()
        .enumerate()
        .map(|(index, metadata)| {
            Change::Upsert(Item {
                metadata: Some((*metadata).to_owned()),
                ..item(&format!("i{index}"), vec![1.0, index as f32], 0)
            })
        })
        .collect();
    store.apply("c", &changes).unwrap();
    let chain = |count: usize| vec!["n > 1"; count].join(" and ");
    let values = (0..MAX_CONDITIONS).map(|n| n.to_string()).collect::<Vec<_>>().join(", ");
    for (text, expected) in [
        (chain(MAX_CONDITIONS), vec!["i0", "i1"]),
        (format!("{}{}", "not ".repeat(MAX_NESTING), chain(MAX_CONDITIONS)), vec!["i0", "i1"]),
        (format!("n in ({values})"), vec!["i0", "i1", "i2"]),
        (format!("{}n > 1{}", "not (".repeat(MAX_NESTING / 2), ")".repeat(MAX_NESTING / 2)), {
            vec!["i0", "i1"]
        }),
        (format!("{}s = 'x'", "not ".repeat(MAX_NESTING - 1)), vec!["i1", "i2"]),
    ] {
        let filter = Filter::parse(&text).unwrap();
        assert_eq!(store.filter_ids("c", &filter).unwrap(), expected, "{}", &text[..40]);
        if store.searches_natively() {
            let hits = store
                .search("c", &VectorQuery { filter: Some(&filter), ..query(&[1.0, 0.0], 3) })
                .unwrap()
                .unwrap();
            assert_eq!(hits.len(), expected.len());
        }
    }
    // Past the parser's limits, by hand: each store runs it or says the filter is too complex.
    let comparison = Filter::Compare {
        field: vec!["n".into()],
        operator: Operator::Greater,
        value: Literal::Number(1.0),
    };
    let wide = Filter::And(vec![comparison.clone(); 1500]);
    let deep = (0..1200).fold(comparison, |inner, _| Filter::Not(Box::new(inner)));
    for filter in [wide, deep] {
        match store.filter_ids("c", &filter) {
            Ok(_) | Err(emb_core::Error::FilterTooComplex { .. }) => {}
            Err(error) => panic!("{error}"),
        }
    }
}

fn last_write_of_an_id_wins_and_order_holds(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store
        .apply(
            "c",
            &[
                upsert("x", vec![1.0, 0.0]),
                upsert("y", vec![0.0, 1.0]),
                upsert("x", vec![0.5, 0.5]),
                Change::Delete { id: "y".into() },
                upsert("z", vec![1.0, 1.0]),
                Change::Metadata { id: "z".into(), metadata: Some("{\"k\": 2}".into()) },
                upsert("y", vec![0.25, 0.75]),
                Change::Delete { id: "never".into() },
            ],
        )
        .unwrap();
    let records: HashMap<String, _> = store
        .get("c", &["x", "y", "z"])
        .unwrap()
        .into_iter()
        .map(|record| (record.id.clone(), record))
        .collect();
    assert_eq!(records["x"].vector, [0.5, 0.5]);
    assert_eq!(records["y"].vector, [0.25, 0.75]);
    assert_eq!(records["z"].metadata.as_deref(), Some("{\"k\": 2}"), "metadata is kept as written");
    assert_eq!(store.collection("c").unwrap().unwrap().count, 3);
}

fn ids_order_bytewise_and_prefixes_select(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    let ids = ["é", "a/2", "B", "a", "a/1", "b%", "a_"];
    let changes: Vec<Change> = ids.iter().map(|id| upsert(id, vec![1.0])).collect();
    store.apply("c", &changes).unwrap();
    assert_eq!(ids_of(store, "c", ""), ["B", "a", "a/1", "a/2", "a_", "b%", "é"]);
    assert_eq!(ids_of(store, "c", "a/"), ["a/1", "a/2"]);
    assert_eq!(ids_of(store, "c", "b%"), ["b%"], "a prefix is not a pattern");
    assert_eq!(ids_of(store, "c", "a_"), ["a_"]);
    assert!(ids_of(store, "c", "zz").is_empty());
}

fn many_items_stream_out_whole(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    let count = 5_003;
    let changes: Vec<Change> = (0..count)
        .map(|index| upsert(&format!("item-{index:05}"), vec![index as f32, 1.0, -1.0]))
        .collect();
    for chunk in changes.chunks(2_000) {
        store.apply("c", chunk).unwrap();
    }
    assert_eq!(store.collection("c").unwrap().unwrap().count, count as u64);
    let mut seen = 0;
    let mut last = String::new();
    store
        .scan_vectors("c", &mut |id, bytes| {
            assert!(id > last.as_str());
            id.clone_into(&mut last);
            let vector = emb_core::blob::decode(bytes).unwrap();
            assert_eq!(vector[0], id[5..].parse::<f32>().unwrap());
            seen += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, count);
    assert_eq!(ids_of(store, "c", "item-0499").len(), 10);
}

fn related_items_are_replaced(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store.apply("c", &[upsert("a", vec![1.0]), upsert("b", vec![1.0])]).unwrap();
    store.store_related("c", &[("a".into(), vec![("b".into(), 0.5)])]).unwrap();
    store
        .store_related(
            "c",
            &[("a".into(), vec![("b".into(), 0.9)]), ("b".into(), vec![("a".into(), 0.9)])],
        )
        .unwrap();
    store.store_related("c", &[]).unwrap();
}

fn keywords_find_stored_content(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    let with = |id: &str, text: &str| {
        Change::Upsert(Item { content: Some(text.to_owned()), ..item(id, vec![1.0], 0) })
    };
    store
        .apply(
            "c",
            &[
                with("sql", "Backing up SQLite databases with the online backup API"),
                with("cats", "A crazy cat smiling at the camera"),
                with("both", "The cat sat on the SQLite database"),
                Change::Upsert(Item { content: None, ..item("none", vec![1.0], 0) }),
            ],
        )
        .unwrap();
    let Some(found) = store.keyword_search("c", "sqlite database", 10).unwrap() else {
        return; // a store without a full-text index
    };
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&"sql".to_owned()) && found.contains(&"both".to_owned()));
    assert_eq!(store.keyword_search("c", "cats!", 10).unwrap().unwrap().len(), 2, "stemmed");
    assert!(store.keyword_search("c", "&|!()", 10).unwrap().unwrap().is_empty());
    assert_eq!(store.keyword_search("c", "cat", 1).unwrap().unwrap().len(), 1);
}

fn empty_collections_answer_empty(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store.create_collection("c", "other").unwrap();
    let info = store.collection("c").unwrap().unwrap();
    assert_eq!((info.count, info.dimensions, info.model.as_str()), (0, None, "m"));
    assert!(ids_of(store, "c", "").is_empty());
    assert!(store.get("c", &["a"]).unwrap().is_empty());
    assert!(store.fingerprints("c", &["a"]).unwrap().is_empty());
    assert!(store.filter_ids("c", &Filter::parse("a = 1").unwrap()).unwrap().is_empty());
    store.apply("c", &[Change::Delete { id: "a".into() }]).unwrap();
    if let Some(hits) = store.search("c", &query(&[1.0, 0.0], 3)).unwrap() {
        assert!(hits.is_empty());
    }
    assert_eq!(store.collections().unwrap().len(), 1);
    assert!(store.collection("nothing").unwrap().is_none());
}

fn a_deleted_collection_comes_back_with_new_dimensions(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store.apply("c", &[upsert("a", vec![1.0, 2.0, 3.0])]).unwrap();
    store.delete_collection("c").unwrap();
    store.create_collection("c", "m2").unwrap();
    store.apply("c", &[upsert("a", vec![1.0, 2.0])]).unwrap();
    let info = store.collection("c").unwrap().unwrap();
    assert_eq!((info.count, info.dimensions, info.model.as_str()), (1, Some(2), "m2"));
}

fn blank_and_padded_names_are_refused(store: &mut dyn Store) {
    for name in ["", " ", "\t", " notes", "notes\n", "no\u{0}tes"] {
        let error = store.create_collection(name, "m").unwrap_err().to_string();
        assert!(error.contains("cannot name a collection"), "{name:?}: {error}");
    }
    assert!(store.collections().unwrap().is_empty());
    store.create_collection("notes of 2024", "m").unwrap();
}

fn indexes_are_registered_and_dropped(store: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store.apply("c", &[upsert("a", vec![1.0, 0.0])]).unwrap();
    assert!(store.index("c").unwrap().is_none());
    store.register_index("c", "{\"m\":16}").unwrap();
    assert_eq!(store.index("c").unwrap().unwrap().settings, "{\"m\":16}");
    assert!(store.drop_index("c").unwrap());
    assert!(store.index("c").unwrap().is_none());
    assert!(!store.drop_index("c").unwrap());
}

fn query(vector: &[f32], k: usize) -> VectorQuery<'_> {
    VectorQuery {
        vector,
        k,
        prefix: "",
        exclude: None,
        filter: None,
        threshold: None,
        exact: false,
        ef: None,
    }
}

/// Deterministic vectors in 8 dimensions.
fn vectors(count: usize) -> Vec<(String, Vec<f32>)> {
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..count)
        .map(|index| {
            let vector = (0..8)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
                })
                .collect();
            (format!("v{index:04}"), vector)
        })
        .collect()
}

fn exact(all: &[(String, Vec<f32>)], query: &[f32], keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut scored: Vec<(f32, &str)> = all
        .iter()
        .filter(|(id, _)| keep(id))
        .map(|(id, vector)| (emb_core::distance::cosine(query, vector), id.as_str()))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, id)| id.to_owned()).collect()
}

fn native_searches_match_exact_ones(store: &mut dyn Store) {
    if !store.searches_natively() {
        return;
    }
    store.create_collection("c", "m").unwrap();
    let all = vectors(600);
    let changes: Vec<Change> = all
        .iter()
        .enumerate()
        .map(|(index, (id, vector))| {
            Change::Upsert(Item {
                metadata: Some(format!("{{\"even\": {}}}", index % 2 == 0)),
                ..item(id, vector.clone(), 0)
            })
        })
        .collect();
    store.apply("c", &changes).unwrap();
    let target = all[7].1.clone();
    let even = Filter::parse("even = true").unwrap();
    let index_of = |id: &str| id[1..].parse::<usize>().unwrap();
    for indexed in [false, true] {
        if indexed {
            let settings =
                emb_core::store::NativeIndex { m: 16, ef_construction: 200, settings: "{}" };
            store.build_native_index("c", &settings).unwrap();
            assert!(store.native_index_bytes("c").unwrap().unwrap() > 0);
        }
        let search = |query: VectorQuery<'_>| -> Vec<String> {
            let hits = store.search("c", &query).unwrap().unwrap();
            for pair in hits.windows(2) {
                assert!(pair[0].1 >= pair[1].1, "best first");
            }
            hits.into_iter().map(|(id, _)| id).collect()
        };
        let top = search(VectorQuery { exact: true, ..query(&target, 10) });
        assert_eq!(top, exact(&all, &target, |_| true)[..10]);
        let found = search(VectorQuery { ef: Some(200), ..query(&target, 10) });
        let truth = &exact(&all, &target, |_| true)[..10];
        let recall = found.iter().filter(|id| truth.contains(id)).count();
        assert!(recall >= 9, "indexed = {indexed}: recall {recall}/10");
        let excluded =
            search(VectorQuery { exclude: Some("v0007"), exact: true, ..query(&target, 5) });
        assert_eq!(excluded, exact(&all, &target, |id| id != "v0007")[..5]);
        let prefixed = search(VectorQuery { prefix: "v01", ..query(&target, 5) });
        assert_eq!(prefixed, exact(&all, &target, |id| id.starts_with("v01"))[..5]);
        // A selective filter still returns k results (the index alone would run short).
        let filtered = search(VectorQuery { filter: Some(&even), ..query(&target, 50) });
        assert_eq!(filtered.len(), 50);
        assert!(filtered.iter().all(|id| index_of(id) % 2 == 0));
        let limit = emb_core::distance::cosine(&target, &all[index_of(&top[4])].1);
        let near = search(VectorQuery {
            threshold: Some(limit - 1e-6),
            exact: true,
            ..query(&target, 100)
        });
        assert_eq!(near, top[..5]);
    }
}

fn a_second_writer_changes_the_generation(store: &mut dyn Store, other: &mut dyn Store) {
    store.create_collection("c", "m").unwrap();
    store.apply("c", &[upsert("a", vec![1.0])]).unwrap();
    let before = store.generation("c").unwrap().unwrap();
    other.apply("c", &[upsert("b", vec![2.0])]).unwrap();
    let after = store.generation("c").unwrap().unwrap();
    assert!(after.counter > before.counter);
    assert_eq!(ids_of(store, "c", ""), ["a", "b"]);
}

/// A fresh database for `test` on the server `EMB_TEST_POSTGRES` names, or `None` (with a
/// note) when none is named.
fn postgres_url(test: &str) -> Option<String> {
    let Ok(url) = std::env::var("EMB_TEST_POSTGRES") else {
        eprintln!(
            "{test}: skipped for PostgreSQL (EMB_TEST_POSTGRES is not set; `make test` sets it)"
        );
        return None;
    };
    let mut admin = ::postgres::Client::connect(&url, ::postgres::NoTls).expect("the test server");
    let name = format!("emb_conformance_{test}");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name}")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    Some(format!("{base}/{name}"))
}

macro_rules! conformance {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $test() {
                    let mut store = emb_store::SqliteStore::open_in_memory().unwrap();
                    super::$test(&mut store);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $test() {
                    if let Some(url) = super::postgres_url(stringify!($test)) {
                        let mut store = emb_store::PostgresStore::connect(&url).unwrap();
                        super::$test(&mut store);
                    }
                }
            )*
        }
    };
}

conformance!(
    writes_reads_and_counts_changes,
    filters_metadata,
    filters_at_the_limits_run,
    last_write_of_an_id_wins_and_order_holds,
    ids_order_bytewise_and_prefixes_select,
    many_items_stream_out_whole,
    related_items_are_replaced,
    keywords_find_stored_content,
    empty_collections_answer_empty,
    a_deleted_collection_comes_back_with_new_dimensions,
    blank_and_padded_names_are_refused,
    indexes_are_registered_and_dropped,
    native_searches_match_exact_ones,
);

#[test]
fn sqlite_second_writer() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("two.db");
    let mut one = SqliteStore::open(&path).unwrap();
    let mut two = SqliteStore::open(&path).unwrap();
    a_second_writer_changes_the_generation(&mut one, &mut two);
}

#[test]
fn postgres_second_writer() {
    if let Some(url) = postgres_url("second_writer") {
        let mut one = PostgresStore::connect(&url).unwrap();
        let mut two = PostgresStore::connect(&url).unwrap();
        a_second_writer_changes_the_generation(&mut one, &mut two);
    }
}
