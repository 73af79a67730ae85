//! One suite every vector index passes: the exact scan and the HNSW index (with each kind of
//! quantisation) answer the same queries, on fixed seeds, and are held to exact search.

use std::collections::HashSet;

use emb_core::distance;
use emb_core::store::Generation;
use emb_index::exact::VectorFile;
use emb_index::hnsw::{Hnsw, Parameters, Quantization};
use emb_index::{Error, Query, VectorIndex};

/// Clustered data: `count` vectors of `dimensions` around 40 random centres.
struct Data {
    ids: Vec<String>,
    vectors: Vec<Vec<f32>>,
    queries: Vec<Vec<f32>>,
}

struct Random(u64);

impl Random {
    fn next(&mut self) -> f32 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn vector(&mut self, dimensions: usize) -> Vec<f32> {
        (0..dimensions).map(|_| self.next()).collect()
    }
}

fn data(seed: u64, count: usize, dimensions: usize) -> Data {
    let mut random = Random(seed);
    let centres: Vec<Vec<f32>> = (0..40).map(|_| random.vector(dimensions)).collect();
    let around = |random: &mut Random, index: usize| -> Vec<f32> {
        let centre = &centres[index % centres.len()];
        centre.iter().map(|x| x + 1.2 * random.next()).collect()
    };
    let vectors: Vec<Vec<f32>> = (0..count).map(|index| around(&mut random, index * 7)).collect();
    let queries = (0..50).map(|index| around(&mut random, index * 3)).collect();
    let ids =
        (0..count).map(|index| format!("{}/{index:05}", ["a", "b", "c", "d"][index % 4])).collect();
    Data { ids, vectors, queries }
}

/// The exact answer: ids by cosine, best first, among those `keep` accepts.
fn truth(data: &Data, query: &[f32], k: usize, keep: &dyn Fn(&str) -> bool) -> Vec<(String, f32)> {
    let mut scored: Vec<(String, f32)> = data
        .ids
        .iter()
        .zip(&data.vectors)
        .filter(|(id, _)| keep(id))
        .map(|(id, vector)| (id.clone(), distance::cosine(vector, query)))
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    scored.truncate(k);
    scored
}

fn exact(data: &Data, folder: &std::path::Path) -> VectorFile {
    let mut order: Vec<usize> = (0..data.ids.len()).collect();
    order.sort_by(|&a, &b| data.ids[a].cmp(&data.ids[b]));
    VectorFile::build(&folder.join("vectors"), |writer| {
        for &row in &order {
            writer.push(&data.ids[row], &emb_core::blob::encode(&data.vectors[row]))?;
        }
        Ok(Some(Generation { database: "test".into(), counter: 1 }))
    })
    .unwrap()
}

fn hnsw(data: &Data, quantization: Quantization) -> Hnsw {
    let dimensions = data.vectors[0].len();
    let parameters = Parameters { quantization, ..Parameters::default() };
    let flat = data.vectors.concat();
    Hnsw::build(dimensions, parameters, data.ids.clone(), flat, None, &|_| {}).unwrap()
}

/// Holds `index` to exact search over `data`; `floor` is the recall@10 it must reach searching
/// with `ef` candidates.
fn conforms<I: VectorIndex>(index: &I, data: &Data, (ef, floor): (usize, f64), name: &str) {
    assert_eq!(index.len(), data.ids.len(), "{name}");
    assert_eq!(index.dimensions(), data.vectors[0].len(), "{name}");
    let everything = |_: &str| true;
    let mut found = 0;
    for query in &data.queries {
        let hits = index.search(&Query { ef: Some(ef), ..Query::new(query) }).unwrap();
        assert_eq!(hits.len(), 10, "{name}");
        let expected = truth(data, query, 10, &everything);
        let expected_ids: HashSet<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
        found += hits.iter().filter(|hit| expected_ids.contains(hit.id.as_str())).count();
        for pair in hits.windows(2) {
            assert!(pair[0].score >= pair[1].score, "{name}: hits out of order");
        }
        // Scores are true cosines, whatever the index stores.
        for hit in &hits {
            let row = data.ids.iter().position(|id| *id == hit.id).unwrap();
            let score = distance::cosine(&data.vectors[row], query);
            assert!(
                (hit.score - score).abs() < 1e-4,
                "{name}: {} scored {} not {score}",
                hit.id,
                hit.score
            );
        }
    }
    let recall = found as f64 / (10 * data.queries.len()) as f64;
    eprintln!("{name}: recall@10 {recall}");
    assert!(recall >= floor, "{name}: recall@10 {recall} < {floor}");

    let query = &data.queries[0];
    // A prefix: only ids with it, still k of them.
    let hits = index.search(&Query { prefix: "b/", ..Query::new(query) }).unwrap();
    assert_eq!(hits.len(), 10, "{name}");
    assert!(hits.iter().all(|hit| hit.id.starts_with("b/")), "{name}");
    // Leaving the nearest out.
    let nearest = truth(data, query, 1, &everything).remove(0).0;
    let hits = index.search(&Query { exclude: Some(&nearest), ..Query::new(query) }).unwrap();
    assert!(hits.iter().all(|hit| hit.id != nearest), "{name}");
    assert_eq!(hits.len(), 10, "{name}");
    // A threshold.
    let hits = index.search(&Query { k: 50, threshold: Some(0.5), ..Query::new(query) }).unwrap();
    assert!(hits.iter().all(|hit| hit.score >= 0.5), "{name}");
    // A filter letting few through (scanned) and one letting many through (walked): k results,
    // only allowed ids, and the best of them.
    for every in [97, 3] {
        let allowed: Vec<String> = data.ids.iter().step_by(every).cloned().collect();
        let chosen: HashSet<&str> = allowed.iter().map(String::as_str).collect();
        let hits = index.search(&Query { allowed: Some(&allowed), ..Query::new(query) }).unwrap();
        assert_eq!(hits.len(), 10, "{name}: filter 1/{every}");
        assert!(hits.iter().all(|hit| chosen.contains(hit.id.as_str())), "{name}");
        let expected = truth(data, query, 10, &|id| chosen.contains(id));
        let expected: HashSet<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
        let right = hits.iter().filter(|hit| expected.contains(hit.id.as_str())).count();
        assert!(right >= 8, "{name}: filter 1/{every}: {right} of 10 right");
    }
    // More than there are.
    let hits = index
        .search(&Query { k: data.ids.len() + 5, ef: Some(data.ids.len() + 5), ..Query::new(query) })
        .unwrap();
    assert!(hits.len() >= data.ids.len() * 9 / 10, "{name}: {} of {}", hits.len(), data.ids.len());
    // The wrong size of query.
    assert!(index.search(&Query::new(&query[1..])).is_err(), "{name}");
}

#[test]
fn every_index_answers_like_exact_search() {
    let data = data(11, 10_000, 48);
    let folder = tempfile::tempdir().unwrap();
    conforms(&exact(&data, folder.path()), &data, (10, 1.0), "exact");
    // A small ef, so that the graph's quality shows.
    conforms(&hnsw(&data, Quantization::None), &data, (40, 0.95), "hnsw");
    conforms(&hnsw(&data, Quantization::F16), &data, (40, 0.95), "hnsw f16");
    conforms(&hnsw(&data, Quantization::Int8), &data, (40, 0.9), "hnsw int8");
    // One bit per dimension of 48 says little: binary codes need many candidates rescored.
    conforms(&hnsw(&data, Quantization::Binary), &data, (400, 0.8), "hnsw binary");
}

#[test]
fn a_saved_index_reopens_the_same_and_damage_is_refused() {
    let data = data(5, 1500, 32);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("index");
    for quantization in Quantization::ALL {
        let built = hnsw(&data, quantization);
        built.save(&path).unwrap();
        let opened = Hnsw::open(&path).unwrap().unwrap();
        assert_eq!(opened.info(), built.info());
        for query in &data.queries {
            assert_eq!(
                opened.search(&Query::new(query)).unwrap(),
                built.search(&Query::new(query)).unwrap()
            );
        }
        let floor = if quantization == Quantization::Binary { (400, 0.8) } else { (40, 0.9) };
        conforms(&opened, &data, floor, "reopened");
    }
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
    let refused = |path: &std::path::Path| matches!(Hnsw::open(path), Err(Error::Damaged { .. }));
    assert!(refused(&path), "a truncated index");
    // A link to a node that does not exist (the first level-0 list's first slot).
    let mut damaged = bytes.clone();
    let level0 =
        u64::from_le_bytes(damaged[128 + 5 * 16..128 + 5 * 16 + 8].try_into().unwrap()) as usize;
    damaged[level0..level0 + 4].copy_from_slice(&2_u32.to_le_bytes());
    damaged[level0 + 4..level0 + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&path, &damaged).unwrap();
    assert!(refused(&path), "a damaged index");
    assert!(Hnsw::open(&folder.path().join("missing")).unwrap().is_none());
}

#[test]
fn updates_add_replace_and_remove_items() {
    let mut data = data(23, 2000, 32);
    let index = hnsw(&data, Quantization::Int8);
    let mut random = Random(99);
    // Replace 100 items, remove 100 (some that were just replaced), add 300.
    let mut changes = Vec::new();
    for row in (0..2000).step_by(20) {
        let vector = random.vector(32);
        data.vectors[row].clone_from(&vector);
        changes.push((data.ids[row].clone(), Some(vector)));
    }
    let mut removed = HashSet::new();
    for row in (0..2000).step_by(20).map(|row| row + 1).chain([20, 40]) {
        changes.push((data.ids[row].clone(), None));
        removed.insert(data.ids[row].clone());
    }
    for index in 0..300 {
        let vector =
            data.vectors[index * 5].iter().map(|x| x + 0.3 * random.next()).collect::<Vec<f32>>();
        let id = format!("new/{index:03}");
        changes.push((id.clone(), Some(vector.clone())));
        data.ids.push(id);
        data.vectors.push(vector);
    }
    let keep: Vec<bool> = data.ids.iter().map(|id| !removed.contains(id)).collect();
    let generation = Generation { database: "db".into(), counter: 9 };
    let updated = index.update(changes, Some(generation.clone()), &|_| {}).unwrap();
    assert_eq!(updated.generation(), &generation);
    let info = updated.info();
    assert_eq!(info.items, 2000 - removed.len() + 300);
    assert_eq!(info.deleted, 100 + removed.len());
    let live = Data {
        ids: data.ids.iter().zip(&keep).filter(|(_, k)| **k).map(|(id, _)| id.clone()).collect(),
        vectors: data
            .vectors
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(v, _)| v.clone())
            .collect(),
        queries: data.queries.clone(),
    };
    conforms(&updated, &live, (40, 0.9), "updated");
    // Removing most items rebuilds the graph without them.
    let gone: Vec<(String, Option<Vec<f32>>)> =
        live.ids.iter().skip(500).map(|id| (id.clone(), None)).collect();
    let shrunk = updated.update(gone, None, &|_| {}).unwrap();
    assert_eq!(shrunk.info().deleted, 0);
    assert_eq!(shrunk.info().items, 500);
}

#[test]
fn an_empty_index_finds_nothing() {
    let index =
        Hnsw::build(4, Parameters::default(), Vec::new(), Vec::new(), None, &|_| {}).unwrap();
    assert!(index.search(&Query::new(&[1.0, 0.0, 0.0, 0.0])).unwrap().is_empty());
    let one =
        Hnsw::build(2, Parameters::default(), vec!["x".into()], vec![3.0, 4.0], None, &|_| {})
            .unwrap();
    let hits = one.search(&Query::new(&[3.0, 4.0])).unwrap();
    assert_eq!(hits.len(), 1);
    assert!((hits[0].score - 1.0).abs() < 1e-6);
    let error = Hnsw::build(
        2,
        Parameters { m: 1, ..Parameters::default() },
        Vec::new(),
        Vec::new(),
        None,
        &|_| {},
    );
    assert!(error.is_err());
}
