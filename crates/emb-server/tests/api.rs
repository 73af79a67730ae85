//! The routes against a real server on loopback with the tiny model: the shapes clients rely
//! on, the collection routes end to end, the key, and the limits.

mod common;

use base64::Engine as _;
use common::Served;
use serde_json::{json, Value};

fn vectors(answer: &common::Answer) -> Vec<Vec<f32>> {
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| serde_json::from_value(item["embedding"].clone()).expect("floats"))
        .collect()
}

#[test]
fn embeddings_answer_as_openai_does() {
    let served = Served::start(|_| {});
    let answer = served.post("/v1/embeddings", &json!({"input": ["Hello world", "Goodbye"]}));
    let body = answer.json();
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][1]["index"], 1);
    assert_eq!(body["data"][0]["object"], "embedding");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap() >= 4, "{body}");
    let floats = vectors(&answer);
    assert_eq!(floats.len(), 2);
    assert_ne!(floats[0], floats[1]);

    // base64 is the same float32 values, little-endian.
    let encoded = served
        .post("/v1/embeddings", &json!({"input": "Hello world", "encoding_format": "base64"}));
    let text = encoded.json()["data"][0]["embedding"].as_str().unwrap().to_owned();
    let bytes = base64::engine::general_purpose::STANDARD.decode(text).unwrap();
    assert_eq!(emb::blob::decode(&bytes).unwrap(), floats[0]);

    // A single string is one input; shortened vectors are normalised again.
    let short =
        vectors(&served.post("/v1/embeddings", &json!({"input": "Hello world", "dimensions": 4})));
    assert_eq!(short[0].len(), 4);
    let length: f32 = short[0].iter().map(|value| value * value).sum::<f32>().sqrt();
    assert!((length - 1.0).abs() < 1e-5, "{length}");

    // The same text alone and in a batch gives the same vector (batching changes nothing).
    let alone = vectors(&served.post("/v1/embeddings", &json!({"input": "Goodbye"})));
    let cosine = emb::distance::cosine(&alone[0], &floats[1]);
    assert!(cosine > 0.99999, "{cosine}");

    let models = served.get("/v1/models").json();
    assert_eq!(models["data"][0]["id"], common::tiny_model());
    let missing =
        served.post("/v1/embeddings", &json!({"input": "x", "model": "text-embedding-3-small"}));
    assert_eq!(missing.status, 404);
    assert!(missing.json()["error"]["message"].as_str().unwrap().contains("does not serve"));
}

#[test]
fn token_ids_are_the_models_own() {
    let served = Served::start(|_| {});
    let tokens = served.post("/tokenize", &json!({"inputs": "hello world"})).json();
    let ids: Vec<u64> =
        tokens[0].as_array().unwrap().iter().map(|token| token["id"].as_u64().unwrap()).collect();
    assert!(ids.len() >= 3, "{tokens}");
    // The ids without [CLS] and [SEP] embed as the text does.
    let inner = &ids[1..ids.len() - 1];
    let by_ids = vectors(&served.post("/v1/embeddings", &json!({"input": [inner]})));
    let by_text = vectors(&served.post("/v1/embeddings", &json!({"input": "hello world"})));
    assert!(emb::distance::cosine(&by_ids[0], &by_text[0]) > 0.9999);
    let outside = served.post("/v1/embeddings", &json!({"input": [[1, 2, 4_000_000_000_u64]]}));
    assert_eq!(outside.status, 422, "{}", outside.body);
}

#[test]
fn empty_text_and_nul_bytes_are_refused_as_the_cli_refuses_them() {
    let served = Served::start(|_| {});
    let cases = [
        (json!({"input": ""}), "/v1/embeddings", "the text is empty"),
        (
            json!({"input": ["fine", "  "]}),
            "/v1/embeddings",
            "text 1 (counting from 0): the text is empty",
        ),
        (json!({"input": "a\u{0}b"}), "/v1/embeddings", "NUL byte (at byte 1)"),
        (json!({"inputs": ""}), "/embed", "the text is empty"),
    ];
    for (body, route, says) in cases {
        let answer = served.post(route, &body);
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(says), "{body}: {message}");
    }
    served.post("/v1/collections/notes/items", &json!({"items": [{"id": "a", "text": "a cat"}]}));
    let search = served.post("/v1/collections/notes/search", &json!({"text": ""}));
    assert_eq!(search.status, 422, "{}", search.body);
}

#[test]
fn tei_routes_answer_as_tei_does() {
    let served = Served::start(|_| {});
    let embedded: Vec<Vec<f32>> =
        serde_json::from_str(&served.post("/embed", &json!({"inputs": ["a cat", "a dog"]})).body)
            .unwrap();
    assert_eq!(embedded.len(), 2);
    let similarity: Vec<f32> = serde_json::from_str(
        &served
            .post(
                "/similarity",
                &json!({"inputs": {"source_sentence": "a cat", "sentences": ["a cat", "a dog"]}}),
            )
            .body,
    )
    .unwrap();
    assert!((similarity[0] - 1.0).abs() < 1e-5, "{similarity:?}");
    assert!((similarity[1] - emb::distance::cosine(&embedded[0], &embedded[1])).abs() < 1e-5);
}

#[test]
fn collections_are_written_searched_and_analysed() {
    collections_round_trip(&Served::start(|_| {}));
}

/// The same routes on PostgreSQL with pgvector, when `EMB_TEST_POSTGRES` names a server (as
/// `make test` does).
#[test]
fn collections_are_written_searched_and_analysed_on_postgres() {
    let Ok(url) = std::env::var("EMB_TEST_POSTGRES") else {
        eprintln!("skipped: EMB_TEST_POSTGRES is not set (`make test` runs a server)");
        return;
    };
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).expect("the test server");
    admin.batch_execute("DROP DATABASE IF EXISTS emb_server_api WITH (FORCE)").unwrap();
    admin.batch_execute("CREATE DATABASE emb_server_api").unwrap();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base);
    let database = std::path::PathBuf::from(format!("{base}/emb_server_api"));
    collections_round_trip(&Served::start(|settings| settings.database = database));
}

fn collections_round_trip(served: &Served) {
    let items: Vec<Value> = (0..30)
        .map(|index| {
            let topic = ["cats purr", "rust compiles", "rain falls"][index % 3];
            json!({"id": format!("item-{index}"), "text": format!("{topic} {index}"), "metadata": {"topic": index % 3}})
        })
        .collect();
    let written = served.post("/v1/collections/notes/items", &json!({"items": items}));
    assert_eq!(written.status, 200, "{}", written.body);
    assert_eq!(written.json()["embedded"], 30);
    // The same items again are skipped: nothing is embedded twice.
    let again = served.post("/v1/collections/notes/items", &json!({"items": items}));
    assert_eq!(again.json()["skipped"], 30);

    let list = served.get("/v1/collections").json();
    assert_eq!(list["data"][0]["name"], "notes");
    assert_eq!(list["data"][0]["count"], 30);

    // A search by text is a search by the text's vector (the tiny model ranks at random, so
    // the two are compared rather than a ranking checked).
    let hits =
        served.post("/v1/collections/notes/search", &json!({"text": "cats purr 3", "k": 3})).json();
    let query = vectors(&served.post("/v1/embeddings", &json!({"input": "cats purr 3"})));
    let same =
        served.post("/v1/collections/notes/search", &json!({"vector": query[0], "k": 3})).json();
    assert_eq!(hits["data"].as_array().unwrap().len(), 3, "{hits}");
    assert_eq!(hits, same);
    assert!(hits["data"][0]["content"].as_str().unwrap().contains(' '));
    let by_id =
        served.post("/v1/collections/notes/search", &json!({"id": "item-3", "k": 3})).json();
    assert!(by_id["data"].as_array().unwrap().iter().all(|hit| hit["id"] != "item-3"));
    let filtered = served
        .post(
            "/v1/collections/notes/search",
            &json!({"text": "cats", "k": 5, "filter": "topic = 1"}),
        )
        .json();
    let filtered = filtered["data"].as_array().unwrap();
    assert_eq!(filtered.len(), 5);
    assert!(filtered.iter().all(|hit| hit["metadata"]["topic"] == 1));
    let typo = served
        .post("/v1/collections/notes/search", &json!({"text": "cats", "filter": "tpoic = 1"}))
        .json();
    assert_eq!(typo["data"].as_array().unwrap().len(), 0);
    let warning = typo["warnings"][0].as_str().unwrap();
    assert!(warning.contains(r#"["tpoic"]"#) && warning.contains(r#""topic""#), "{warning}");
    assert!(served
        .post("/v1/collections/notes/search", &json!({"text": "cats", "filter": "topic = 99"}))
        .json()
        .get("warnings")
        .is_none());
    let hybrid = served
        .post("/v1/collections/notes/search", &json!({"text": "rain", "k": 3, "hybrid": true}));
    assert_eq!(hybrid.status, 200, "{}", hybrid.body);

    let item = served.get("/v1/collections/notes/items/item-4?vector=true").json();
    assert_eq!(item["content"], "rust compiles 4");
    let dimensions = item["vector"].as_array().unwrap().len();

    // Vectors made elsewhere go in as they are; a wrong length is refused whole.
    let mut unique = vec![0.0_f32; dimensions];
    unique[0] = 1.0;
    let put = served.post(
        "/v1/collections/notes/items",
        &json!({"items": [{"id": "outside", "vector": unique, "text": "given"}]}),
    );
    assert_eq!(put.json()["written"], 1, "{}", put.body);
    let by_vector =
        served.post("/v1/collections/notes/search", &json!({"vector": unique, "k": 1})).json();
    assert_eq!(by_vector["data"][0]["id"], "outside", "{by_vector}");
    assert_eq!(by_vector["data"][0]["content"], "given");
    let wrong = served.post("/v1/collections/notes/search", &json!({"vector": [1.0, 2.0], "k": 1}));
    assert_eq!(wrong.status, 422);
    let bad = served
        .post("/v1/collections/notes/items", &json!({"items": [{"id": "bad", "vector": [1.0]}]}));
    assert_eq!(bad.status, 422, "{}", bad.body);

    let deleted = served.post(
        "/v1/collections/notes/items/delete",
        &json!({"ids": ["outside", "item-0", "never"]}),
    );
    assert_eq!(deleted.json()["deleted"], 2);
    assert_eq!(served.get("/v1/collections/notes").json()["count"], 29);

    let related = served.post("/v1/collections/notes/related", &json!({"k": 2})).json();
    assert_eq!(related["data"].as_array().unwrap().len(), 29);
    let clusters = served.post("/v1/collections/notes/cluster", &json!({"k": 3})).json();
    assert_eq!(clusters["clusters"].as_array().unwrap().len(), 3, "{clusters}");
    let projection = served.post("/v1/collections/notes/project", &json!({"method": "pca"})).json();
    assert_eq!(projection["coordinates"].as_array().unwrap().len(), 29 * 2);
    let map = served.get("/v1/collections/notes/map.html?method=pca");
    assert_eq!(map.status, 200);
    assert!(map.content_type.starts_with("text/html"));
    assert!(map.body.contains("item-4"));

    let gone = served.send("DELETE", "/v1/collections/notes", None, &[]);
    assert_eq!(gone.json()["deleted"], true);
    assert_eq!(served.get("/v1/collections/notes").status, 404);
}

#[test]
fn a_key_guards_everything_but_health_and_the_page() {
    let served = Served::start(|settings| settings.api_key = Some("sesame".into()));
    assert_eq!(served.get("/health").status, 200);
    assert_eq!(served.get("/").status, 200);
    let refused = served.get("/v1/collections");
    assert_eq!(refused.status, 401);
    assert!(refused.json()["error"]["message"].as_str().unwrap().contains("Bearer"));
    let wrong = served.send("GET", "/v1/collections", None, &[("Authorization", "Bearer sesamE")]);
    assert_eq!(wrong.status, 401);
    let right = served.send("GET", "/v1/collections", None, &[("Authorization", "Bearer sesame")]);
    assert_eq!(right.status, 200);
    // The scheme's name is case-insensitive (RFC 9110); the key is not.
    for header in ["bearer sesame", "BEARER sesame"] {
        let answer = served.send("GET", "/v1/collections", None, &[("Authorization", header)]);
        assert_eq!(answer.status, 200, "{header}");
    }
}

#[test]
fn limits_answer_with_clear_errors() {
    let served = Served::start(|settings| {
        settings.body_limit = 10_000;
        settings.max_inputs = 4;
        settings.max_request_tokens = 40;
    });
    // Bodies far over the limit too: the client writes all of it before it reads the answer,
    // and must get the 413 rather than a broken pipe.
    for words in [5_000, 1_000_000] {
        let large = served.post("/v1/embeddings", &json!({"input": "word ".repeat(words)}));
        assert_eq!(large.status, 413, "{}", large.body);
        assert!(large.json()["error"]["message"].as_str().unwrap().contains("--body-limit"));
    }
    let many = served.post("/v1/embeddings", &json!({"input": ["a", "b", "c", "d", "e"]}));
    assert_eq!(many.status, 422);
    assert!(many.json()["error"]["message"].as_str().unwrap().contains("--max-inputs"));
    // Each text is cut at the model's 24 tokens, so four long ones hold 96 > 40.
    let long = "many words here ".repeat(20);
    let tokens = served.post("/v1/embeddings", &json!({"input": [long, long, long, long]}));
    assert_eq!(tokens.status, 422, "{}", tokens.body);
    assert!(tokens.json()["error"]["message"].as_str().unwrap().contains("--max-request-tokens"));
}

/// Filters nested or chained far past the limits (which once overflowed the server's stack and
/// killed the process) answer 422 with the limit named, quickly, up to bodies near the 2 MB limit,
/// and the server answers afterwards.
#[test]
fn hostile_filters_answer_422_and_the_server_keeps_answering() {
    let served = Served::start(|_| {});
    let items: Vec<Value> = (0..4)
        .map(|index| json!({"id": format!("i{index}"), "text": format!("text {index}"), "metadata": {"year": 2000 + index}}))
        .collect();
    let written = served.post("/v1/collections/c/items", &json!({"items": items}));
    assert_eq!(written.status, 200, "{}", written.body);
    let search = |filter: &str| {
        served.post("/v1/collections/c/search", &json!({"text": "text", "k": 4, "filter": filter}))
    };
    let nested = |levels: usize| format!("{}year > 1{}", "(".repeat(levels), ")".repeat(levels));
    let chain = |count: usize, separator: &str| vec!["year > 1"; count].join(separator);
    let values = (0..200_000).map(|n| n.to_string()).collect::<Vec<_>>().join(",");
    let deep = "nests deeper than 64 levels";
    let many = "more than 256 conditions";
    for (filter, limit) in [
        (nested(2_500), deep),
        (nested(12_000), deep),
        (nested(100_000), deep),
        ("(".repeat(1_000_000), deep),
        (format!("{}year > 1", "not ".repeat(3_000)), deep),
        (format!("{}year > 1", "not ".repeat(250_000)), deep),
        (chain(8_000, " and "), many),
        (chain(20_000, " and "), many),
        (chain(110_000, " or "), many),
        (format!("year in ({values})"), many),
    ] {
        assert!(filter.len() < 2 * 1024 * 1024 - 100, "{} bytes", filter.len());
        let answer = search(&filter);
        assert_eq!(answer.status, 422, "{}", &answer.body[..answer.body.len().min(300)]);
        let message = answer.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(limit), "{message}");
        assert!(message.len() < 400, "the answer repeats the filter: {message}");
        assert_eq!(served.get("/health").status, 200);
    }
    // At the limits a filter runs.
    let widest = format!("{}{}", "not ".repeat(64), chain(256, " and "));
    let answer = search(&widest);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["data"].as_array().unwrap().len(), 4);
    let answer = search("year >= 2002");
    assert_eq!(answer.json()["data"].as_array().unwrap().len(), 2, "{}", answer.body);
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_nothing_else_fails() {
    let served = Served::start(|settings| {
        settings.batching.queue_capacity = 1;
        settings.batching.max_batch_requests = 1;
    });
    let texts: Vec<String> =
        (0..64).map(|index| format!("sentence number {index} about many things")).collect();
    let body = json!({"input": texts}).to_string();
    let statuses: Vec<(u16, Option<String>, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..32)
            .map(|_| {
                scope.spawn(|| {
                    let answer = served.send("POST", "/v1/embeddings", Some(body.as_bytes()), &[]);
                    (answer.status, answer.retry_after, answer.body)
                })
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().unwrap()).collect()
    });
    for (status, retry_after, body) in &statuses {
        match status {
            200 => {}
            503 => {
                assert_eq!(retry_after.as_deref(), Some("1"));
                assert!(body.contains("busy"), "{body}");
            }
            other => panic!("status {other}: {body}"),
        }
    }
    assert!(statuses.iter().any(|(status, ..)| *status == 200));
}

#[test]
fn metrics_and_openapi_describe_the_server() {
    let served = Served::start(|_| {});
    served.post("/v1/embeddings", &json!({"input": "x"}));
    let metrics = served.get("/metrics").body;
    assert!(
        metrics.contains("emb_requests_total{route=\"/v1/embeddings\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("emb_batches_total 1"), "{metrics}");
    let document = served.get("/openapi.json").json();
    assert_eq!(document["openapi"].as_str().map(|version| &version[..2]), Some("3."));
    let paths = document["paths"].as_object().unwrap();
    for path in [
        "/v1/embeddings",
        "/v1/models",
        "/embed",
        "/tokenize",
        "/similarity",
        "/health",
        "/info",
        "/metrics",
        "/v1/collections",
        "/v1/collections/{name}",
        "/v1/collections/{name}/items",
        "/v1/collections/{name}/items/delete",
        "/v1/collections/{name}/items/{id}",
        "/v1/collections/{name}/search",
        "/v1/collections/{name}/related",
        "/v1/collections/{name}/cluster",
        "/v1/collections/{name}/project",
        "/v1/collections/{name}/map.html",
    ] {
        assert!(paths.contains_key(path), "{path} is not in /openapi.json");
    }
}

#[test]
fn searches_of_stored_pictures_carry_thumbnails_when_asked() {
    let served = Served::start(|_| {});
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures");
    {
        // A picture collection, written as `emb embed-multi --binary --store` writes it.
        let mut database = emb::Database::open(&served.database()).unwrap();
        let model =
            emb::Model::load(&fixtures.join("tiny/clip-h32").display().to_string()).unwrap();
        let items = emb::sources::read_files(
            &fixtures.join("images"),
            "*.{jpg,png,gif,webp}",
            &emb::sources::FileOptions { binary: true, ..Default::default() },
        )
        .unwrap();
        let options = emb::IngestOptions { store_content: true, ..emb::IngestOptions::default() };
        database.ingest("photos", &model, items, &options, &mut |_| {}).unwrap();
    }
    let ask = |thumbnails: bool| {
        served
            .post(
                "/v1/collections/photos/search",
                &json!({"id": "photo.jpg", "k": 3, "thumbnails": thumbnails}),
            )
            .json()
    };
    let with = ask(true);
    let hits = with["data"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    for hit in hits {
        let thumbnail = hit["thumbnail"].as_str().unwrap_or_default();
        assert!(thumbnail.starts_with("data:image/jpeg;base64,"), "{hit}");
    }
    assert!(ask(false)["data"][0].get("thumbnail").is_none());
}
