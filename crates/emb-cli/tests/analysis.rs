//! The analysis commands through the real `emb` binary and the real model: clusters with
//! names, maps, classification, scores, near-duplicates, outliers, recommendations, and
//! `emb eval` against the quality bars.

mod common;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use common::{eval_data, failure, json_lines, success, Sandbox};

const COOKING: [&str; 8] = [
    "Simmer the tomato sauce with garlic and basil for twenty minutes.",
    "Knead the bread dough until it is smooth, then let it rise.",
    "Roast the vegetables in a hot oven with olive oil and salt.",
    "Whisk the eggs and sugar before folding in the flour for the cake.",
    "Marinate the chicken overnight in yoghurt and spices.",
    "Caramelise the onions slowly in butter over a low heat.",
    "Season the soup with pepper and a squeeze of lemon before serving.",
    "Fry the rice with soy sauce, spring onions and a beaten egg.",
];
const ASTRONOMY: [&str; 8] = [
    "The telescope revealed the rings of Saturn and four of Jupiter's moons.",
    "A supernova outshines its whole galaxy for a few weeks.",
    "Light from the Andromeda galaxy left it two and a half million years ago.",
    "The planet orbits its star inside the habitable zone.",
    "Astronomers measured the redshift of the distant quasar.",
    "A total solar eclipse darkened the sky at noon.",
    "The comet's tail always points away from the Sun.",
    "Neutron stars spin hundreds of times per second.",
];
const PROGRAMMING: [&str; 8] = [
    "The function returns an error when the file cannot be opened.",
    "Refactor the class so that each method does one thing.",
    "The compiler rejected the program because of a type mismatch.",
    "Write a unit test for the parser before fixing the bug.",
    "The loop iterates over the list and appends each item to the result.",
    "Use a hash map to look up the user by id in constant time.",
    "The database query runs inside a transaction and commits at the end.",
    "The recursive function overflows the stack on deep inputs.",
];

/// The 24 texts as JSON lines with their topic in metadata, plus a near-duplicate of one and an
/// item about nothing the others are about.
fn items() -> String {
    let mut lines = String::new();
    for (topic, texts) in
        [("cooking", COOKING), ("astronomy", ASTRONOMY), ("programming", PROGRAMMING)]
    {
        for (index, text) in texts.iter().enumerate() {
            let line =
                serde_json::json!({"id": format!("{topic}-{index}"), "text": text, "topic": topic});
            writeln!(lines, "{line}").unwrap();
        }
    }
    let copy = serde_json::json!({"id": "cooking-copy", "text": "Simmer the tomato sauce with garlic and basil for 20 minutes.", "topic": "cooking"});
    let odd = serde_json::json!({"id": "odd", "text": "Zxqv blorp 7731 ###", "topic": "other"});
    writeln!(lines, "{copy}\n{odd}").unwrap();
    lines
}

fn topic(id: &str) -> &str {
    id.split('-').next().unwrap()
}

/// A sandbox with the items embedded (content stored, topic in metadata) in collection "notes".
fn notes() -> Sandbox {
    let sandbox = Sandbox::with_model();
    let input = sandbox.file("notes.jsonl", items());
    success(sandbox.emb().args(["embed-multi", "notes"]).arg(&input).args([
        "--store",
        "--id-column",
        "id",
        "--text-column",
        "text",
        "--metadata-columns",
        "topic",
    ]));
    sandbox
}

#[test]
fn clusters_follow_the_topics_carry_names_and_can_be_saved() {
    let sandbox = notes();
    let (stdout, stderr) =
        success(sandbox.emb().args(["cluster", "notes", "-k", "3", "--save", "cluster"]));
    assert!(stderr.contains("3 clusters"), "{stderr}");
    let clusters: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
    assert_eq!(clusters.len(), 3);
    let mut seen = HashSet::new();
    for cluster in &clusters {
        let items = cluster["items"].as_array().unwrap();
        assert_eq!(cluster["size"].as_u64().unwrap() as usize, items.len());
        // Each cluster is one topic, but for at most one stray item (k-means on 26 short
        // sentences is not a classifier).
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for item in items {
            *counts.entry(topic(item["id"].as_str().unwrap())).or_default() += 1;
        }
        let (&main, &count) = counts.iter().max_by_key(|(_, &count)| count).unwrap();
        assert!(count >= items.len() - 1 && count >= 7, "a cluster mixes topics: {cluster}");
        seen.insert(main);
        let label = cluster["label"].as_str().expect("a name");
        assert!(!label.is_empty() && label.split(", ").count() <= 3, "{label}");
    }
    assert_eq!(seen.len(), 3);
    // Saved: every item carries its cluster number and name; its other metadata is kept.
    let (stdout, _) = success(sandbox.emb().args(["similar", "notes", "cooking-0", "-n", "1"]));
    let hit = &json_lines(&stdout)[0];
    assert!(hit["metadata"]["cluster"].is_u64(), "{hit}");
    assert!(hit["metadata"]["cluster_label"].is_string(), "{hit}");
    assert!(hit["metadata"]["topic"].is_string(), "{hit}");

    // Density clustering finds the topics without k, and may leave items out as noise.
    let (stdout, stderr) = success(sandbox.emb().args([
        "cluster",
        "notes",
        "--method",
        "hdbscan",
        "--min-cluster-size",
        "4",
    ]));
    let clusters: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("a JSON array");
    assert!((2..=4).contains(&clusters.len()), "{stderr}\n{stdout}");
    let stderr =
        failure(sandbox.emb().args(["cluster", "notes", "--method", "hdbscan", "-k", "3"]));
    assert!(stderr.contains("hdbscan finds its own"), "{stderr}");
    // Asking for dense regions larger than the topics leaves most items as noise, and says
    // what to change; fewer samples per density call fewer items noise.
    let noise = |stderr: &str| -> f64 {
        stderr
            .split("noise: ")
            .nth(1)
            .and_then(|rest| rest.split('%').next())
            .map_or(0.0, |share| share.parse().unwrap())
    };
    let hdbscan = |min_samples: &str| {
        success(sandbox.emb().args(["cluster", "notes", "--method", "hdbscan"]).args([
            "--min-cluster-size",
            "8",
            "--min-samples",
            min_samples,
        ]))
        .1
    };
    let strict = hdbscan("12");
    assert!(noise(&strict) > 30.0, "{strict}");
    assert!(strict.contains("lower --min-samples (now 12, try 6)"), "{strict}");
    let loose = hdbscan("2");
    assert!(noise(&loose) < noise(&strict), "{loose}\n{strict}");

    // Without -k the number of clusters is chosen, and the table form prints.
    let (table, stderr) =
        success(sandbox.emb().args(["cluster", "notes", "--max-k", "6", "--table"]));
    assert!(stderr.contains("chosen by silhouette"), "{stderr}");
    assert!(table.starts_with("cluster"), "{table}");
}

/// A one-shot OpenAI-compatible chat endpoint on localhost: answers `replies` requests with
/// titles "Title 1", "Title 2", ... and returns what it was sent.
fn chat_endpoint(replies: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for (number, stream) in listener.incoming().take(replies).enumerate() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            assert!(request_line.starts_with("POST /v1/chat/completions"), "{request_line}");
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            bodies.push(String::from_utf8(body).unwrap());
            let reply = serde_json::json!({"choices": [{"message": {"role": "assistant", "content": format!("Title {}", number + 1)}}]}).to_string();
            write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}", reply.len()).unwrap();
        }
        bodies
    });
    (url, handle)
}

#[test]
fn a_language_model_can_title_the_clusters() {
    let sandbox = notes();
    let (url, endpoint) = chat_endpoint(3);
    let (stdout, _) = success(
        sandbox
            .emb()
            .args(["cluster", "notes", "-k", "3", "--summary-model", "tiny-llm"])
            .env("EMB_LLM_BASE_URL", &url)
            .env("EMB_LLM_API_KEY", "secret"),
    );
    let clusters: Vec<serde_json::Value> = serde_json::from_str(&stdout).unwrap();
    let titles: Vec<&str> = clusters.iter().map(|c| c["summary"].as_str().unwrap()).collect();
    assert_eq!(titles, ["Title 1", "Title 2", "Title 3"]);
    let bodies = endpoint.join().unwrap();
    let first: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(first["model"], "tiny-llm");
    let prompt = first["messages"][0]["content"].as_str().unwrap();
    let central = clusters[0]["items"][0]["content"].as_str().unwrap().trim_end_matches('…');
    assert!(prompt.contains(central), "{prompt}");

    // An endpoint that is not there is a clear error, not a panic.
    let stderr = failure(
        sandbox
            .emb()
            .args(["cluster", "notes", "-k", "2", "--summary-model", "x"])
            .env("EMB_LLM_BASE_URL", "http://127.0.0.1:9/v1"),
    );
    assert!(
        stderr
            .contains("asking the language model at http://127.0.0.1:9/v1/chat/completions failed"),
        "{stderr}"
    );
}

#[test]
fn classification_zero_shot_and_trained() {
    let sandbox = notes();
    let (stdout, _) = success(sandbox.emb().args([
        "classify",
        "notes",
        "--labels",
        "cooking,astronomy,programming",
    ]));
    let results = json_lines(&stdout);
    assert_eq!(results.len(), 26);
    let right = results
        .iter()
        .filter(|r| topic(r["id"].as_str().unwrap()) == r["label"].as_str().unwrap())
        .count();
    assert!(right >= 23, "zero-shot got {right} of 25 right: {stdout}");

    for method in ["centroid", "knn", "logistic"] {
        let (_, stderr) = success(sandbox.emb().args([
            "classify", "notes", "--train", "notes", "--field", "topic", "--method", method,
            "--eval", "topic",
        ]));
        assert!(stderr.contains("trained on 26 items"), "{stderr}");
        let accuracy: f64 = stderr
            .split("accuracy ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse().ok())
            .expect("an accuracy line");
        assert!(accuracy >= 0.9, "{method}: {stderr}");
    }

    // New texts from standard input, classified by what the collection taught.
    let (stdout, _) = success(
        sandbox.emb().args(["classify", "-", "--train", "notes", "--field", "topic"]).write_stdin(
            "Bake the pie until the crust is golden.\nThe galaxy holds billions of stars.\n",
        ),
    );
    let labels: Vec<String> =
        json_lines(&stdout).iter().map(|r| r["label"].as_str().unwrap().to_owned()).collect();
    assert_eq!(labels, ["cooking", "astronomy"]);

    // --save stores the class; bad requests fail clearly.
    success(sandbox.emb().args([
        "classify",
        "notes",
        "--labels",
        "food,space,code",
        "--save",
        "guess",
    ]));
    let (stdout, _) = success(sandbox.emb().args(["similar", "notes", "astronomy-1", "-n", "1"]));
    assert_eq!(json_lines(&stdout)[0]["metadata"]["guess"], "space");
    let stderr = failure(
        sandbox.emb().args(["classify", "notes", "--train", "notes", "--field", "missing"]),
    );
    assert!(stderr.contains("\"missing\""), "{stderr}");
    let stderr = failure(sandbox.emb().args(["classify", "notes", "--labels", "one"]));
    assert!(stderr.contains("two or more"), "{stderr}");

    // With a minimum score, a text that fits no class gets none.
    let (stdout, stderr) = success(
        sandbox
            .emb()
            .args(["classify", "-", "--labels", "cooking,astronomy,programming", "-m"])
            .arg(common::model_folder())
            .args(["--template", "This text is about {}.", "--min-score", "0.2"])
            .write_stdin(
                "Bake the pie until the crust is golden.\n\
                 The galaxy holds billions of stars.\n\
                 The compiler reports a type error in the function.\n\
                 The tax office opens at nine on Mondays.\n\
                 The referee blew the whistle at half time.\n\
                 Zxqv blorp 7731 ###\n",
            ),
    );
    let labels: Vec<serde_json::Value> =
        json_lines(&stdout).iter().map(|result| result["label"].clone()).collect();
    assert_eq!(
        labels,
        [
            serde_json::json!("cooking"),
            serde_json::json!("astronomy"),
            serde_json::json!("programming"),
            serde_json::Value::Null,
            serde_json::Value::Null,
            serde_json::Value::Null,
        ],
        "{stdout}"
    );
    assert!(stderr.contains("3 of 6 items scored below 0.2 for every class"), "{stderr}");
}

#[test]
fn scores_duplicates_outliers_recommendations_and_maps() {
    let sandbox = notes();
    // Between cooking and astronomy examples, astronomy items score high, cooking items low.
    let (stdout, _) = success(sandbox.emb().args([
        "score",
        "notes",
        "--from",
        "a recipe for dinner",
        "--from",
        "frying vegetables",
        "--to",
        "stars and planets",
        "--to",
        "a space telescope",
    ]));
    let scores: HashMap<String, f64> = json_lines(&stdout)
        .iter()
        .map(|r| (r["id"].as_str().unwrap().to_owned(), r["score"].as_f64().unwrap()))
        .collect();
    let mean = |topic_name: &str| {
        let values: Vec<f64> =
            scores.iter().filter(|(id, _)| topic(id) == topic_name).map(|(_, s)| *s).collect();
        values.iter().sum::<f64>() / values.len() as f64
    };
    assert!(mean("astronomy") > mean("cooking") + 0.3, "{stdout}");

    let (stdout, stderr) = success(sandbox.emb().args(["dedup", "notes", "--threshold", "0.95"]));
    let groups = json_lines(&stdout);
    assert_eq!(groups.len(), 1, "{stdout}");
    let pair: HashSet<&str> =
        [groups[0]["id"].as_str().unwrap(), groups[0]["duplicates"][0]["id"].as_str().unwrap()]
            .into();
    assert_eq!(pair, HashSet::from(["cooking-0", "cooking-copy"]));
    assert!(stderr.contains("1 groups"), "{stderr}");

    // The gibberish item is the farthest from its neighbours.
    let (stdout, _) = success(sandbox.emb().args(["outliers", "notes", "-n", "3", "-k", "5"]));
    let outliers = json_lines(&stdout);
    assert_eq!(outliers.len(), 3);
    assert_eq!(outliers[0]["id"], "odd", "{stdout}");
    // The local outlier factor compares densities: in 26 points of 384 dimensions it ranks the
    // gibberish item among the sparse ones, above 1 (denser than its neighbours is below 1).
    let (stdout, _) = success(
        sandbox.emb().args(["outliers", "notes", "-n", "26", "-k", "5", "--method", "lof"]),
    );
    let factors = json_lines(&stdout);
    let odd = factors.iter().position(|r| r["id"] == "odd").expect("every item scored");
    assert!(odd < 6 && factors[odd]["score"].as_f64().unwrap() > 1.0, "{stdout}");

    let (stdout, _) = success(sandbox.emb().args([
        "recommend",
        "notes",
        "--liked",
        "astronomy-0,astronomy-1",
        "--disliked",
        "cooking-0",
        "-n",
        "4",
    ]));
    let recommended = json_lines(&stdout);
    assert_eq!(recommended.len(), 4);
    for hit in &recommended {
        let id = hit["id"].as_str().unwrap();
        assert_eq!(topic(id), "astronomy", "{stdout}");
        assert!(id != "astronomy-0" && id != "astronomy-1");
    }
    let stderr = failure(sandbox.emb().args(["recommend", "notes", "--liked", "nope"]));
    assert!(stderr.contains("\"nope\""), "{stderr}");

    let map = sandbox.path().join("map.csv");
    let (_, stderr) =
        success(sandbox.emb().args(["project", "notes", "--method", "pca", "-o"]).arg(&map));
    assert!(stderr.contains("26 items projected by pca"), "{stderr}");
    let csv = std::fs::read_to_string(&map).unwrap();
    assert!(csv.starts_with("id,x,y\n"), "{csv}");
    assert_eq!(csv.lines().count(), 27);
    let (stdout, _) = success(sandbox.emb().args(["project", "notes", "--dims", "3"]));
    assert!(json_lines(&stdout).iter().all(|point| point["z"].is_f64()));
}

#[test]
fn maps_are_drawn_as_figures_and_pages() {
    let sandbox = notes();
    for name in ["map.png", "map.svg", "map.html"] {
        let output = sandbox.path().join(name);
        let (_, stderr) =
            success(sandbox.emb().args(["plot", "notes", "-k", "3", "-o"]).arg(&output));
        assert!(stderr.contains("26 items drawn"), "{stderr}");
        let bytes = std::fs::read(&output).unwrap();
        match name {
            "map.png" => assert!(bytes.starts_with(b"\x89PNG")),
            "map.svg" => {
                let svg = String::from_utf8(bytes).unwrap();
                assert!(svg.starts_with("<svg") && svg.matches("<circle").count() >= 26, "{svg}");
            }
            _ => {
                let page = String::from_utf8(bytes).unwrap();
                assert!(page.contains("Neutron stars spin hundreds of times per second."));
                assert!(!page.contains("https://") && !page.contains("http://"));
            }
        }
    }
    // Colour by a metadata field; an unknown field or a bad file name is a clear error.
    let output = sandbox.path().join("by-topic.svg");
    success(
        sandbox.emb().args(["plot", "notes", "--color-by", "metadata.topic", "-o"]).arg(&output),
    );
    assert!(std::fs::read_to_string(&output).unwrap().contains("astronomy"));
    let stderr = failure(
        sandbox.emb().args(["plot", "notes", "--color-by", "metadata.nope", "-o"]).arg(&output),
    );
    assert!(stderr.contains("\"nope\"") && stderr.contains("topic"), "{stderr}");
    let stderr = failure(sandbox.emb().args(["plot", "notes", "-o", "map.gif"]));
    assert!(stderr.contains(".png, .svg or .html"), "{stderr}");
}

#[test]
fn empty_or_missing_collections_fail_with_a_clear_message() {
    let sandbox = notes();
    let stderr = failure(sandbox.emb().args(["cluster", "nothing"]));
    assert!(stderr.contains("no collection named \"nothing\""), "{stderr}");
    let stderr = failure(sandbox.emb().args(["cluster", "notes", "-k", "40"]));
    assert!(stderr.contains("k = 40"), "{stderr}");
}

#[test]
fn the_default_model_meets_the_quality_bars_of_emb_eval() {
    let sandbox = Sandbox::with_model();
    let (stdout, _) = success(sandbox.emb().args(["eval", "--json", "--data"]).arg(eval_data()));
    let measures = json_lines(&stdout);
    let value = |dataset: &str, metric: &str| {
        measures
            .iter()
            .find(|m| m["dataset"] == dataset && m["metric"] == metric)
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("no {dataset} {metric} in {stdout}"))
    };
    // all-MiniLM-L6-v2 reaches 0.656 on the Lee corpus (sentence-transformers gives 0.6564).
    assert!((value("lee", "pearson") - 0.656).abs() <= 0.005, "{stdout}");
    assert!(value("mini_newsgroup", "v_measure") >= 0.7, "{stdout}");
    let zero_shot = measures
        .iter()
        .find(|m| m["task"].as_str().unwrap_or("").starts_with("zero-shot"))
        .expect("a zero-shot measure");
    assert!(zero_shot["value"].as_f64().unwrap() >= 0.9, "{stdout}");
    assert!(value("mini_newsgroup", "precision_at_10") >= 0.85, "{stdout}");

    let stderr = failure(sandbox.emb().args(["eval", "--data", "/nonexistent"]));
    assert!(stderr.contains("scripts/fetch-eval-data"), "{stderr}");
}

#[test]
fn eval_says_how_to_get_its_data_and_measures_a_labelled_collection() {
    let sandbox = notes();
    // No data in this EMB_HOME: the error says what the data is and every way to go on.
    let stderr = failure(sandbox.emb().args(["eval"]));
    for says in
        ["no evaluation data in", "gensim 4.4.0", "--data DIR", "--collection NAME --field FIELD"]
    {
        assert!(stderr.contains(says), "{says}: {stderr}");
    }
    let (stdout, _) = success(sandbox.emb().args([
        "eval",
        "--collection",
        "notes",
        "--field",
        "topic",
        "--json",
    ]));
    let measures = json_lines(&stdout);
    let metrics: Vec<&str> = measures.iter().map(|m| m["metric"].as_str().unwrap()).collect();
    assert_eq!(metrics, ["v_measure", "accuracy", "precision_at_10"], "{stdout}");
    assert!(measures.iter().all(|m| m["dataset"] == "notes" && m["items"].as_u64().unwrap() > 0));
    // Three topics of 8 or 9 items and one odd item: chance would give a V-measure near 0.1,
    // an accuracy near 1/3 and a precision near 0.3 (at most 0.7 here: 10 nearest, 7 others of
    // a topic of 8).
    let value = |index: usize| measures[index]["value"].as_f64().unwrap();
    assert!(value(0) >= 0.4 && value(1) >= 0.85 && value(2) >= 0.5, "{stdout}");
    let stderr =
        failure(sandbox.emb().args(["eval", "--collection", "notes", "--field", "nothing"]));
    assert!(stderr.contains("two or more classes"), "{stderr}");
}
