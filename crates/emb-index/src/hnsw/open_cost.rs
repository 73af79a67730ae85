//! What checking an index costs at 1,000,000 x 384, int8: `cargo test --release -p emb-index
//! --lib open_cost -- --ignored --nocapture` (writes a 2.1 GB file to the temporary folder).
//! The graph is random (every node on level 0, `2m` random links), which is all that checking
//! needs: sums and bounds cost the same for any links.

use std::time::Instant;

use super::*;

#[test]
#[ignore = "a benchmark: builds and writes a 2.1 GB index"]
fn open_cost_at_one_million() {
    let (count, dimensions, m) = (1_000_000_usize, 384, 16);
    let mut state = 7_u64;
    let mut next = move || {
        state =
            state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as u32
    };
    let vectors: Vec<f32> =
        (0..count * dimensions).map(|_| next() as f32 / (1u64 << 31) as f32 - 0.5).collect();
    let mut level0 = Vec::with_capacity(count * (1 + 2 * m));
    for _ in 0..count {
        level0.push(2 * m as u32);
        level0.extend((0..2 * m).map(|_| next() % count as u32));
    }
    let frozen = Frozen {
        levels: vec![0; count],
        level0,
        upper_offsets: vec![0; count],
        upper: Vec::new(),
        entry: Some((0, 0)),
    };
    let ids: Vec<String> = (0..count).map(|node| format!("item-{node:07}")).collect();
    let parameters = Parameters { m, quantization: Quantization::Int8, ..Parameters::default() };
    let deleted = vec![false; count];
    let started = Instant::now();
    let index = assemble(dimensions, parameters, &ids, &vectors, &deleted, &frozen, None).unwrap();
    eprintln!("assembled (with sums) in {:.2} s", started.elapsed().as_secs_f64());
    drop(vectors);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("index");
    index.save(&path).unwrap();
    drop(index);
    for round in 0..3 {
        let started = Instant::now();
        let index = Hnsw::open(&path).unwrap().unwrap();
        let opened = started.elapsed();
        let started = Instant::now();
        let consistent = index.consistent().is_ok();
        let bounds = started.elapsed();
        // What opening checked before sums: the bottom links' bounds, the bulk of `consistent`.
        let started = Instant::now();
        let level0: &[u32] = cast(index.section(Section::Level0));
        let bounds_only = level0
            .chunks_exact(1 + 2 * m)
            .all(|list| list[1..=list[0] as usize].iter().all(|&n| (n as usize) < count));
        let old_bounds = started.elapsed();
        let started = Instant::now();
        let others: usize = ALL_SECTIONS
            .into_iter()
            .filter(|section| section.checked_at_open() && !matches!(section, Section::Level0))
            .map(|section| {
                usize::from(
                    checksum::crc_parallel(index.section(section)) == index.section_sum(section),
                )
            })
            .sum();
        let other_sums = started.elapsed();
        let started = Instant::now();
        let checked: usize = ALL_SECTIONS
            .into_iter()
            .filter(|section| section.checked_at_open())
            .map(|section| {
                usize::from(checksum::crc(index.section(section)) == index.section_sum(section))
            })
            .sum();
        let sums = started.elapsed();
        let eager: usize = ALL_SECTIONS
            .into_iter()
            .filter(|section| section.checked_at_open())
            .map(|section| index.section(section).len())
            .sum();
        let query: Vec<f32> = (0..dimensions).map(|x| (x as f32).sin()).collect();
        let started = Instant::now();
        index.search(&Query { ef: Some(320), ..Query::new(&query) }).unwrap();
        let first = started.elapsed();
        let started = Instant::now();
        index.search(&Query { ef: Some(320), ..Query::new(&query) }).unwrap();
        let second = started.elapsed();
        // The same first search with every page taken as checked: what the lazy checks cost.
        let mut trusted = Hnsw::open(&path).unwrap().unwrap();
        trusted.verified = Verified::new(count, true);
        let started = Instant::now();
        trusted.search(&Query { ef: Some(320), ..Query::new(&query) }).unwrap();
        let unchecked = started.elapsed();
        // Warm searches: the checks left are a bit test per code scored.
        let queries: Vec<Vec<f32>> = (0..200)
            .map(|seed| (0..dimensions).map(|x| ((x * 31 + seed * 17) as f32).sin()).collect())
            .collect();
        let timed = |index: &Hnsw| {
            let started = Instant::now();
            for query in &queries {
                index.search(&Query { ef: Some(320), ..Query::new(query) }).unwrap();
            }
            started.elapsed().as_secs_f64() * 1e3 / queries.len() as f64
        };
        let (_, _) = (timed(&index), timed(&trusted));
        let (checked_warm, trusted_warm) = (timed(&index), timed(&trusted));
        eprintln!("warm search: {checked_warm:.2} ms checked, {trusted_warm:.2} ms unchecked");
        drop(trusted);
        let started = Instant::now();
        index.verify().unwrap();
        let verify = started.elapsed();
        let info = index.info();
        eprintln!(
            "round {round}: level-0 bounds alone (as before sums) {:.1} ms {bounds_only}, sums of the other checked sections {:.1} ms ({others}); open {:.1} ms (of which: sums of {:.0} MB as a separate pass {:.1} ms, bounds and level-0 sum {:.1} ms; \
             {consistent} {checked}); first search {:.2} ms ({:.2} ms unchecked), second {:.2} ms; verify all \
             ({:.0} MB: codes {:.0} MB + full vectors) {:.0} ms; file {:.0} MB, search bytes {:.0} MB",
            old_bounds.as_secs_f64() * 1e3,
            other_sums.as_secs_f64() * 1e3,
            opened.as_secs_f64() * 1e3,
            eager as f64 / 1e6,
            sums.as_secs_f64() * 1e3,
            bounds.as_secs_f64() * 1e3,
            first.as_secs_f64() * 1e3,
            unchecked.as_secs_f64() * 1e3,
            second.as_secs_f64() * 1e3,
            (info.bytes - eager) as f64 / 1e6,
            index.section(Section::Codes).len() as f64 / 1e6,
            verify.as_secs_f64() * 1e3,
            info.bytes as f64 / 1e6,
            info.search_bytes as f64 / 1e6,
        );
    }
}
