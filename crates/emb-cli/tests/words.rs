//! `emb words` and word-vector models against gensim 4.4.0's answers on the same files
//! (`tests/fixtures/words/gensim.json`, made by `bench/reference/words_reference.py` from gensim's
//! own `test_glove.txt`), and the errors bad vector files must give.

mod common;

use std::path::PathBuf;

use common::{eval_data, failure, json_lines, success, Sandbox};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/words")
}

fn reference() -> Value {
    let text =
        std::fs::read_to_string(fixtures().join("gensim.json")).expect("the gensim reference");
    serde_json::from_str(&text).expect("JSON")
}

fn glove() -> String {
    eval_data().join("test_glove.txt").display().to_string()
}

fn evaluate(sandbox: &Sandbox, extra: &[&str]) -> Value {
    let questions = fixtures().join("questions.txt");
    let pairs = fixtures().join("pairs.tsv");
    let (stdout, _) = success(
        sandbox
            .emb()
            .args(["words", "eval", "--json", "-m", &glove(), "--analogies"])
            .arg(questions)
            .arg("--similarity")
            .arg(pairs)
            .args(extra),
    );
    serde_json::from_str(&stdout).expect("one JSON object")
}

/// Section counts must be gensim's exactly: the same questions skipped, the same predictions.
fn assert_same_sections(emb: &Value, gensim: &Value) {
    let gensim_sections = gensim["sections"].as_array().unwrap();
    let (total, sections) = gensim_sections.split_last().unwrap();
    let emb_sections = emb["sections"].as_array().unwrap();
    assert_eq!(emb_sections.len(), sections.len());
    for (ours, theirs) in emb_sections.iter().zip(sections) {
        assert_eq!(ours["section"], theirs["section"]);
        assert_eq!(
            (&ours["correct"], &ours["incorrect"]),
            (&theirs["correct"], &theirs["incorrect"]),
            "{ours}"
        );
    }
    assert_eq!((&emb["correct"], &emb["incorrect"]), (&total["correct"], &total["incorrect"]));
    let accuracy = emb["accuracy"].as_f64().unwrap();
    assert!((accuracy - gensim["score"].as_f64().unwrap()).abs() <= 0.001, "{accuracy}");
}

#[test]
fn evaluation_equals_gensims_on_its_test_vectors() {
    let sandbox = Sandbox::new();
    let gensim = reference();
    let result = evaluate(&sandbox, &[]);
    assert_same_sections(&result["analogies"], &gensim["analogies"]);
    let pairs = &result["similarity"][0];
    for (ours, theirs) in [
        ("spearman", "spearman"),
        ("pearson", "pearson"),
        ("out_of_vocabulary_percent", "oov_percent"),
    ] {
        let (ours, theirs) =
            (pairs[ours].as_f64().unwrap(), gensim["pairs"][theirs].as_f64().unwrap());
        assert!((ours - theirs).abs() <= 0.001, "{ours} vs gensim {theirs}");
    }
    let restricted = evaluate(&sandbox, &["--restrict-vocab", "40"]);
    assert_same_sections(&restricted["analogies"], &gensim["analogies_restricted_40"]);

    let (stdout, _) = success(
        sandbox
            .emb()
            .args(["words", "eval", "--json", "-m", &glove(), "--analogies"])
            .arg(eval_data().join("questions-words.txt")),
    );
    let result: Value = serde_json::from_str(&stdout).unwrap();
    assert_same_sections(&result["analogies"], &gensim["questions_words"]);
}

fn answers(stdout: &str) -> Vec<(String, f64)> {
    json_lines(stdout)
        .iter()
        .map(|line| (line["word"].as_str().unwrap().to_owned(), line["score"].as_f64().unwrap()))
        .collect()
}

fn assert_same_answers(ours: &[(String, f64)], theirs: &Value) {
    let theirs: Vec<(String, f64)> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_f64().unwrap()))
        .collect();
    assert_eq!(ours.len(), theirs.len());
    for ((word, score), (expected, expected_score)) in ours.iter().zip(&theirs) {
        assert_eq!(word, expected, "{ours:?} vs gensim {theirs:?}");
        assert!((score - expected_score).abs() < 1e-4, "{ours:?} vs gensim {theirs:?}");
    }
}

#[test]
fn nearest_words_analogies_and_the_odd_one_out_are_gensims() {
    let sandbox = Sandbox::new();
    let gensim = reference();
    for (word, expected) in gensim["most_similar"].as_object().unwrap() {
        let (stdout, _) =
            success(sandbox.emb().args(["words", "similar", word, "-n", "5", "-m", &glove()]));
        assert_same_answers(&answers(&stdout), expected);
    }
    for case in gensim["analogy"].as_array().unwrap() {
        let [b, c] =
            [&case["positive"][0], &case["positive"][1]].map(|word| word.as_str().unwrap());
        let a = case["negative"][0].as_str().unwrap();
        for scoring in ["add", "multiply"] {
            // emb words analogy A B C: A is to B as C is to ?, so B - A + C, gensim's order.
            let (stdout, _) = success(sandbox.emb().args([
                "words",
                "analogy",
                a,
                b,
                c,
                "-n",
                "3",
                "--scoring",
                scoring,
                "-m",
                &glove(),
            ]));
            assert_same_answers(&answers(&stdout), &case[scoring]);
        }
        let expression = format!("{b} - {a} + {c}");
        let (stdout, _) =
            success(sandbox.emb().args(["words", "calc", &expression, "-n", "3", "-m", &glove()]));
        assert_same_answers(&answers(&stdout), &case["add"]);
    }
    for (words, odd) in gensim["doesnt_match"].as_object().unwrap() {
        let (stdout, _) =
            success(sandbox.emb().args(["words", "doesnt-match", words, "-m", &glove()]));
        assert_eq!(stdout.trim(), odd.as_str().unwrap(), "{words}");
    }
}

#[test]
fn registered_vectors_embed_texts_and_convert_between_formats() {
    let sandbox = Sandbox::new();
    success(sandbox.emb().args(["models", "add", "glove-test", &glove()]));
    let (listed, _) = success(sandbox.emb().args(["models", "list", "--json"]));
    let listed = json_lines(&listed);
    assert_eq!(listed[0]["name"], "glove-test");
    assert_eq!(listed[0]["dimensions"], 50);

    let (stdout, _) = success(sandbox.emb().args(["embed", "-m", "glove-test", "-c", "said"]));
    let said: Vec<f64> = serde_json::from_str(&stdout).unwrap();
    let line = std::fs::read_to_string(glove()).unwrap();
    let row: Vec<f64> = line
        .lines()
        .find(|line| line.starts_with("said "))
        .unwrap()
        .split(' ')
        .skip(1)
        .map(|value| value.parse().unwrap())
        .collect();
    assert_eq!(said.len(), 50);
    assert!(said.iter().zip(&row).all(|(a, b)| (a - b).abs() < 1e-6));

    let (stdout, _) =
        success(sandbox.emb().args(["embed", "-m", "glove-test", "-c", "He said: \"the year\"!"]));
    let mean: Vec<f64> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(mean.len(), 50);
    let stderr =
        failure(sandbox.emb().args(["embed", "-m", "glove-test", "-c", "wombats zeppelins"]));
    assert!(stderr.contains("none of the words of \"wombats zeppelins\""), "{stderr}");

    let binary = sandbox.path().join("v.bin");
    let native = sandbox.path().join("v.embw");
    success(sandbox.emb().args(["words", "convert", &glove()]).arg(&binary));
    success(sandbox.emb().args(["words", "convert"]).arg(&binary).arg(&native));
    let (from_native, _) =
        success(sandbox.emb().args(["words", "similar", "he", "-n", "3", "-m"]).arg(&native));
    let (from_text, _) =
        success(sandbox.emb().args(["words", "similar", "he", "-n", "3", "-m", "glove-test"]));
    assert_eq!(from_native, from_text);

    let picture = sandbox.path().join("words.png");
    success(
        sandbox
            .emb()
            .args([
                "words",
                "plot",
                "he",
                "she",
                "his",
                "her",
                "year",
                "percent",
                "-m",
                "glove-test",
                "-o",
            ])
            .arg(&picture),
    );
    assert!(std::fs::read(&picture).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn bad_vector_files_and_unknown_words_give_errors_that_say_where() {
    let sandbox = Sandbox::new();
    let cases = [
        (
            "ragged.txt",
            "the 1 2 3\nof 4 5\n",
            "ragged.txt:2: 2 values where 3 were expected (a ragged line)",
        ),
        (
            "header.txt",
            "3 2\nthe 1 2\nof 3 4\n",
            "header.txt:1: the header says 3 words but the file has 2 lines after it",
        ),
        (
            "dimension.vec",
            "2 3\nthe 1 2 3 4\nof 1 2 3\n",
            "dimension.vec:2: 4 values where 3 were expected",
        ),
        (
            "number.txt",
            "the 1 2\nof 1 two\n",
            "number.txt:2: value 2 of \"of\" is not a number: \"two\"",
        ),
    ];
    for (name, text, expected) in cases {
        let path = sandbox.file(name, text);
        let stderr = failure(sandbox.emb().args(["words", "similar", "the", "-m"]).arg(&path));
        assert!(stderr.contains(expected), "{name}: {stderr}");
        let stderr = failure(sandbox.emb().args(["models", "add", "broken"]).arg(&path));
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
    let stderr =
        failure(sandbox.emb().args(["words", "analogy", "wombat", "zz", "quux", "-m", &glove()]));
    assert!(stderr.contains("not in the vocabulary: zz, quux, wombat"), "{stderr}");
    let stderr = failure(sandbox.emb().args(["words", "calc", "he + + she", "-m", &glove()]));
    assert!(stderr.contains("two operators in a row"), "{stderr}");
    let stderr = failure(sandbox.emb().args(["words", "similar", "he"]));
    assert!(stderr.contains("emb models add glove-100"), "{stderr}");
}

#[test]
fn training_builds_gensims_vocabulary_and_vectors_that_load_as_a_model() {
    let sandbox = Sandbox::new();
    let corpus = eval_data().join("lee_background.cor");
    let output = sandbox.path().join("lee.vec");
    let (_, stderr) =
        success(sandbox.emb().args(["words", "train"]).arg(&corpus).arg("-o").arg(&output).args([
            "--sg",
            "--threads",
            "1",
            "--epochs",
            "2",
            "--add",
            "lee",
        ]));
    // gensim 4.4.0: Word2Vec(LineSentence(lee_background.cor), min_count=5) keeps 1,762 words
    // of the 59,890, most frequent first: the to of in and a is The.
    assert!(stderr.contains("trained 1762 words of 100 dimensions on 59890 words"), "{stderr}");
    let text = std::fs::read_to_string(&output).unwrap();
    let words: Vec<&str> =
        text.lines().skip(1).take(8).map(|line| line.split(' ').next().unwrap()).collect();
    assert_eq!(words, ["the", "to", "of", "in", "and", "a", "is", "The"]);
    let (stdout, _) = success(sandbox.emb().args(["words", "similar", "government", "-m", "lee"]));
    assert_eq!(json_lines(&stdout).len(), 10);

    let empty = sandbox.file("empty.txt", "\n\n");
    let stderr = failure(sandbox.emb().args(["words", "train"]).arg(&empty).args(["-o", "x.bin"]));
    assert!(stderr.contains("cannot train on"), "{stderr}");
    let stderr = failure(sandbox.emb().args(["words", "train"]).arg(&corpus).args([
        "-o",
        "x.bin",
        "--min-count",
        "100000",
    ]));
    assert!(stderr.contains("cannot train on"), "{stderr}");
}
