//! Malformed and hostile requests at every route: broken JSON, wrong types, huge and negative
//! numbers, invalid UTF-8, deep nesting, wrong dimensions, unknown fields, bad paths. Every
//! answer must be a success or a 4xx with a JSON error, never a 5xx, and the server must still
//! answer afterwards. The requests come from a seeded generator, so a failure repeats.

mod common;

use common::Served;
use serde_json::{json, Value};

/// A small deterministic generator (xorshift64*).
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Values of every JSON type, including ones no route takes.
fn hostile_value(random: &mut Random) -> Value {
    let deep = (0..200).fold(json!(1), |inner, _| json!([inner]));
    let choices = [
        json!(null),
        json!(true),
        json!(-1),
        json!(0),
        json!(1e308),
        json!(-1e308),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(3.5),
        json!(""),
        json!("x".repeat(5000)),
        json!("\u{0000}\u{FFFF}\u{1F600}"),
        json!([]),
        json!([[]]),
        json!([1, "a", null]),
        json!([[1, 2], ["a"]]),
        json!([1.5, 2.5]),
        json!([-1]),
        json!([4_294_967_296_u64]),
        json!({}),
        json!({"a": {"b": []}}),
        deep,
        json!(vec![0.5; 7]),
        json!(vec![1.0; 4096]),
        json!(vec!["a"; 3000]),
        json!("pca"),
        json!("umap"),
        json!("tsne"),
        json!("base64"),
        json!("lang = \"en\" and"),
        json!("year >= 2020"),
    ];
    random.pick(&choices).clone()
}

/// A valid body for each route, to mutate.
fn valid_bodies(dimensions: usize) -> Vec<(&'static str, &'static str, Value)> {
    let vector = vec![0.1_f32; dimensions];
    vec![
        (
            "POST",
            "/v1/embeddings",
            json!({"input": ["a", "b"], "encoding_format": "float", "dimensions": 8}),
        ),
        ("POST", "/embed", json!({"inputs": ["a"], "normalize": true, "prompt_name": null})),
        ("POST", "/tokenize", json!({"inputs": "hello"})),
        ("POST", "/similarity", json!({"inputs": {"source_sentence": "a", "sentences": ["b"]}})),
        (
            "POST",
            "/v1/collections/fuzz/items",
            json!({"items": [{"id": "x", "text": "t", "metadata": {"a": 1}}], "store": true}),
        ),
        ("POST", "/v1/collections/fuzz/items", json!({"items": [{"id": "v", "vector": vector}]})),
        ("POST", "/v1/collections/fuzz/items/delete", json!({"ids": ["nothing"]})),
        (
            "POST",
            "/v1/collections/fuzz/search",
            json!({"text": "t", "k": 3, "filter": "a = 1", "hybrid": true}),
        ),
        (
            "POST",
            "/v1/collections/fuzz/search",
            json!({"vector": vector, "k": 3, "ef": 10, "threshold": 0.1}),
        ),
        ("POST", "/v1/collections/fuzz/search", json!({"id": "item-1", "k": 3, "prefix": "item"})),
        ("POST", "/v1/collections/fuzz/related", json!({"k": 2})),
        ("POST", "/v1/collections/fuzz/cluster", json!({"k": 2})),
        ("POST", "/v1/collections/fuzz/project", json!({"method": "pca", "dimensions": 2})),
    ]
}

/// One mutation of `body`: a field replaced, removed or added, or the whole body replaced.
fn mutate(random: &mut Random, body: &Value) -> Value {
    let mut body = body.clone();
    match random.below(6) {
        0 => hostile_value(random),
        1 | 2 => {
            if let Some(object) = body.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                let key = random.pick(&keys).clone();
                object.insert(key, hostile_value(random));
            }
            body
        }
        3 => {
            if let Some(object) = body.as_object_mut() {
                let keys: Vec<String> = object.keys().cloned().collect();
                object.remove(random.pick(&keys));
            }
            body
        }
        4 => {
            if let Some(object) = body.as_object_mut() {
                object.insert("unexpected".into(), hostile_value(random));
            }
            body
        }
        _ => {
            // Nested: the first array or object inside gets a hostile member.
            if let Some(object) = body.as_object_mut() {
                for value in object.values_mut() {
                    if let Some(items) = value.as_array_mut() {
                        items.push(hostile_value(random));
                        break;
                    }
                    if let Some(inner) = value.as_object_mut() {
                        inner.insert("sentences".into(), hostile_value(random));
                        break;
                    }
                }
            }
            body
        }
    }
}

/// Bytes that are not JSON, or not UTF-8, or cut short.
fn broken_bytes(random: &mut Random, body: &Value) -> Vec<u8> {
    let mut bytes = body.to_string().into_bytes();
    match random.below(4) {
        0 => bytes.truncate(random.below(bytes.len().max(1))),
        1 => {
            let at = random.below(bytes.len().max(1));
            bytes.insert(at, 0xFF);
            bytes.insert(at, 0xC3);
        }
        2 => bytes = (0..random.below(64)).map(|_| random.next() as u8).collect(),
        _ => {
            let at = random.below(bytes.len().max(1));
            bytes[at] = b'{';
        }
    }
    bytes
}

fn check(answer: &common::Answer, what: &str) {
    assert!(answer.status < 500, "{what}: {} {}", answer.status, answer.body);
    if answer.status >= 400 {
        let body: Value = serde_json::from_str(&answer.body).unwrap_or_else(|_| {
            panic!("{what}: {} without a JSON body: {:?}", answer.status, answer.body)
        });
        assert!(
            body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()),
            "{what}: {body}"
        );
    }
}

#[test]
fn no_request_gets_a_5xx_or_stops_the_server() {
    let served = Served::start(|settings| settings.body_limit = 256 * 1024);
    let items: Vec<Value> = (0..20)
        .map(|index| json!({"id": format!("item-{index}"), "text": format!("text {index}"), "metadata": {"a": index % 2}}))
        .collect();
    let made = served.post("/v1/collections/fuzz/items", &json!({"items": items}));
    assert_eq!(made.status, 200, "{}", made.body);
    let dimensions =
        served.get("/v1/collections/fuzz").json()["dimensions"].as_u64().unwrap() as usize;

    let mut random = Random(0x00C0_FFEE_1234_5678);
    let bodies = valid_bodies(dimensions);
    let mut statuses = std::collections::BTreeMap::new();
    for round in 0..1200 {
        let (method, path, body) = random.pick(&bodies);
        let (bytes, what) = if random.below(4) == 0 {
            (
                broken_bytes(&mut random, body),
                format!("round {round}: broken bytes to {method} {path}"),
            )
        } else {
            let mutated = mutate(&mut random, body);
            let what = format!("round {round}: {method} {path} {}", truncate(&mutated.to_string()));
            (mutated.to_string().into_bytes(), what)
        };
        let answer = served.send(method, path, Some(&bytes), &[]);
        check(&answer, &what);
        *statuses.entry(answer.status).or_insert(0) += 1;
    }

    // Paths and methods: unknown routes, bad names, invalid UTF-8 escapes, wrong methods.
    for (method, path) in [
        ("GET", "/v1/collections/%FF%FE"),
        ("GET", "/v1/collections/%FF/items/x"),
        ("GET", "/v1/collections/fuzz/items/%C3%28"),
        ("GET", "/v1/collections/fuzz/items/nothing"),
        ("GET", "/v1/collections/fuzz/map.html?method=sideways"),
        ("GET", "/v1/collections/fuzz/items/item-1?vector=maybe"),
        ("DELETE", "/v1/embeddings"),
        ("PUT", "/v1/collections"),
        ("GET", "/v1/embeddings"),
        ("POST", "/health"),
        ("GET", "/../../etc/passwd"),
        ("GET", "/v1/collections/nothing/map.html"),
    ] {
        let answer = served.send(method, path, None, &[]);
        check(&answer, &format!("{method} {path}"));
    }
    // A body without a JSON content type, and one over the limit.
    let plain = served.send(
        "POST",
        "/v1/embeddings",
        Some(b"{\"input\": \"a\"}"),
        &[("Content-Type", "text/plain")],
    );
    check(&plain, "text/plain body");
    let huge = json!({"input": "a ".repeat(200_000)}).to_string();
    let answer = served.send("POST", "/v1/embeddings", Some(huge.as_bytes()), &[]);
    assert_eq!(answer.status, 413);
    check(&answer, "a body over the limit");

    // Still serving, and its collection still whole.
    assert_eq!(served.get("/health").status, 200);
    let hits = served.post("/v1/collections/fuzz/search", &json!({"text": "text 3", "k": 2}));
    assert_eq!(hits.status, 200, "{}", hits.body);
    eprintln!("statuses: {statuses:?}");
    assert!(statuses.get(&200).copied().unwrap_or(0) > 50, "too few valid requests: {statuses:?}");
    assert!(
        statuses.keys().any(|status| *status == 422)
            && statuses.keys().any(|status| *status == 400)
    );
}

fn truncate(text: &str) -> String {
    text.chars().take(300).collect()
}
