//! A bounded fuzz test of opening index files: random bytes, and whole indexes with bytes
//! changed, cut or added (half of them with every checksum made right again, so that the checks
//! behind the sums are reached too), handed to [`Hnsw::open`], then searched, verified and
//! updated when they open. Nothing may panic, abort or hang. The generator is seeded: a failure
//! names its case, and repeats.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::*;

/// `SplitMix64`.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }

    fn float(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// A number of the kinds that find edges: small, near a power of two, or anything.
    fn number(&mut self) -> u64 {
        match self.below(4) {
            0 => self.next() % 8,
            1 => (1u64 << self.below(64)).wrapping_add(self.next() % 3).wrapping_sub(1),
            2 => u64::MAX - self.next() % 4,
            _ => self.next(),
        }
    }
}

fn index(kind: Quantization, random: &mut Random) -> Vec<u8> {
    let (count, dimensions) = (200, 12);
    let ids = (0..count).map(|node| format!("{}/{node}", ["a", "b"][node % 2])).collect();
    let vectors = (0..count * dimensions).map(|_| random.float()).collect();
    let parameters = Parameters { m: 4, ef_construction: 20, quantization: kind, seed: 1 };
    let mut index = Hnsw::build(dimensions, parameters, ids, vectors, None, &|_| {}).unwrap();
    // Some deleted nodes, so that the bitset and the order matter.
    let changes = (0..20).map(|node| (format!("a/{}", node * 2), None)).collect();
    index = index.update(changes, None, &|_| {}).unwrap();
    index.storage.bytes().to_vec()
}

/// Makes every sum of `bytes` right again for whatever its header now says, where it can.
fn reseal(bytes: &mut [u8]) {
    if bytes.len() < HEADER {
        return;
    }
    let u64_at =
        |bytes: &[u8], at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    let range = |bytes: &[u8], section: Section| {
        let offset = usize::try_from(u64_at(bytes, TABLE + section as usize * 16)).ok()?;
        let length = usize::try_from(u64_at(bytes, TABLE + section as usize * 16 + 8)).ok()?;
        Some(offset..offset.checked_add(length).filter(|&end| end <= bytes.len())?)
    };
    let dimensions = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let kind = Quantization::from_code(u32::from_le_bytes(bytes[40..44].try_into().unwrap()));
    let rows = [
        (Section::Codes, Section::CodeSums, kind.map_or(0, |kind| kind.code_bytes(dimensions))),
        (Section::Full, Section::FullSums, dimensions * 4),
    ];
    for (section, sums_section, row_bytes) in rows {
        if let (Some(rows), Some(sums)) = (range(bytes, section), range(bytes, sums_section)) {
            let sums_of_rows = checksum::row_sums(&bytes[rows], row_bytes);
            let room = sums_of_rows.len().min(sums.len() / 4);
            fill_u32(&mut bytes[sums], &sums_of_rows[..room]);
        }
    }
    for section in ALL_SECTIONS.into_iter().filter(|section| section.checked_at_open()) {
        if let Some(at) = range(bytes, section) {
            let sum = checksum::crc(&bytes[at]);
            let slot = SECTION_SUMS + section as usize * 4;
            bytes[slot..slot + 4].copy_from_slice(&sum.to_le_bytes());
        }
    }
    let sum = checksum::crc(&bytes[..HEADER_SUM]);
    bytes[HEADER_SUM..HEADER].copy_from_slice(&sum.to_le_bytes());
}

/// Changes `bytes` in one of several ways; what it did.
fn mutate(bytes: &mut Vec<u8>, random: &mut Random) -> String {
    match random.below(7) {
        0 => {
            let flips = 1 + random.below(8);
            for _ in 0..flips {
                let at = random.below(bytes.len());
                bytes[at] ^= 1 << random.below(8);
            }
            format!("{flips} bits flipped")
        }
        1 => {
            let at = random.below(bytes.len());
            let length = (1 + random.below(4096)).min(bytes.len() - at);
            bytes[at..at + length].iter_mut().for_each(|byte| *byte = random.next() as u8);
            format!("{length} random bytes at {at}")
        }
        2 => {
            let length = random.below(bytes.len());
            bytes.truncate(length);
            format!("cut to {length} bytes")
        }
        3 => {
            let extra = 1 + random.below(5000);
            bytes.extend((0..extra).map(|_| random.next() as u8));
            format!("{extra} bytes added")
        }
        4 => {
            // A header number: counts, dimensions, m, entry, the section table.
            let at = 8 + 4 * random.below((SECTION_SUMS - 8) / 4);
            let value = random.number();
            let width = if random.below(2) == 0 { 4 } else { 8 };
            bytes[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
            format!("header bytes {at}..{} set to {value:#x}", at + width)
        }
        5 => {
            // A link (or link count) of the bottom level or above.
            let section =
                [Section::Level0, Section::Upper, Section::UpperOffsets, Section::IdOffsets]
                    [random.below(4)];
            let at = TABLE + section as usize * 16;
            let offset = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
            let length = u64::from_le_bytes(bytes[at + 8..at + 16].try_into().unwrap()) as usize;
            if length < 4 || offset + length > bytes.len() {
                return "nothing".into();
            }
            let slot = offset + 4 * random.below(length / 4);
            let value = random.number() as u32;
            bytes[slot..slot + 4].copy_from_slice(&value.to_le_bytes());
            format!("{section:?} word at {slot} set to {value:#x}")
        }
        _ => {
            let length = random.below(HEADER * 3);
            *bytes = (0..length).map(|_| random.next() as u8).collect();
            if length >= 12 && random.below(2) == 0 {
                bytes[..8].copy_from_slice(MAGIC);
                bytes[8..12].copy_from_slice(&VERSION.to_le_bytes());
            }
            format!("{length} random bytes")
        }
    }
}

/// Uses an index that opened as a search would, and as an update would.
fn exercise(index: &Hnsw, random: &mut Random) {
    let dimensions = index.layout.dimensions.min(64);
    let vector: Vec<f32> = (0..dimensions).map(|_| random.float()).collect();
    let allowed = vec!["a/3".to_owned(), "b/5".to_owned(), "zz".to_owned()];
    for query in [
        Query::new(&vector),
        Query { k: 5, ef: Some(3), prefix: "b/", ..Query::new(&vector) },
        Query { k: 3, allowed: Some(&allowed), exclude: Some("a/3"), ..Query::new(&vector) },
    ] {
        let _ = index.search(&query);
    }
    let _ = index.info();
    let _ = index.find("a/7");
    if index.verify().is_ok() && random.below(4) == 0 {
        let changes = vec![("new".to_owned(), Some(vector)), ("a/1".to_owned(), None)];
        let _ = index.update(changes, None, &|_| {});
    }
}

#[test]
fn damaged_index_files_never_panic() {
    const SEED: u64 = 0x00e1_b5ee_d000_0001;
    const CASES: usize = 400;
    let mut random = Random(SEED);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("index");
    let mut opened = 0;
    for kind in Quantization::ALL {
        let whole = index(kind, &mut random);
        for case in 0..CASES {
            let mut bytes = whole.clone();
            let mut done = mutate(&mut bytes, &mut random);
            if random.below(2) == 0 {
                reseal(&mut bytes);
                done.push_str(", resealed");
            }
            std::fs::write(&path, &bytes).unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| match Hnsw::open(&path) {
                Ok(Some(index)) => {
                    exercise(&index, &mut random);
                    true
                }
                Ok(None) => panic!("a file that exists opened as missing"),
                Err(_) => false,
            }));
            let opens =
                outcome.unwrap_or_else(|_| panic!("{kind} case {case} (seed {SEED:#x}): {done}"));
            opened += usize::from(opens);
        }
    }
    // Some changes (bits of the codes that were resealed, a seed, a count of candidates) leave
    // an index that opens; most do not.
    eprintln!("{opened} of {} opened", 4 * CASES);
    assert!(opened < 4 * CASES / 2, "{opened} opened");
}
