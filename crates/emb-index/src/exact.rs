//! Exact search: every vector scored against the query, from a flat file read by mmap.
//!
//! A [`VectorFile`] holds one collection's vectors, normalised, as one row-major `f32` matrix,
//! with the ids in the same (sorted) order and the [`Generation`] of the collection they were
//! read from. Searching it is a SIMD dot-product scan split across the cores, each core keeping
//! its own bounded top-k heap: the speed is that of memory.
//!
//! Layout (little-endian): a 128-byte header (`EMBVECS2`, dimensions u32, 0 u32, count u64,
//! generation counter u64, database identity as 32 ASCII bytes, the CRC-32 of everything after
//! the header u32, zeros, and at 124 the CRC-32 of the header's first 124 bytes), then
//! `count × dimensions` `f32`, then `count + 1` u64 offsets into the id bytes, then the id bytes
//! (UTF-8).
//!
//! Opening a file checks both sums, over the whole file on every core, before anything reads it:
//! every search scans all the vectors anyway, and the analyses read the matrix directly. A file
//! that fails (or has another format, such as `EMBVECS1`) is [`Error::Damaged`] and is read
//! again from the database.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use emb_core::index::{Hit, Query, VectorIndex};
use emb_core::store::Generation;
use emb_core::topk::TopK;
use emb_core::{blob, distance};
use memmap2::Mmap;
use rayon::prelude::*;

use crate::{checksum, Error, Result};

/// The database identity recorded when the store could not vouch for a generation.
pub const UNTRUSTED: &str = "untrusted";
const MAGIC: &[u8; 8] = b"EMBVECS2";
const HEADER: usize = 128;
/// Where the header holds the sum of the body, and the sum of itself.
const BODY_SUM: usize = 64;
const HEADER_SUM: usize = HEADER - 4;
const IDENTITY: usize = 32;
/// Rows scored per kernel call: enough to amortise the call, few enough to stay in L1.
const BLOCK_ROWS: usize = 64;

/// A collection's vectors, mapped from their file.
pub struct VectorFile {
    map: Mmap,
    dimensions: usize,
    count: usize,
    generation: Generation,
}

impl VectorFile {
    /// Writes the vectors that `fill` hands to the writer into `path` (atomically: a reader
    /// sees the old file or the new one, never a part), then opens it. `fill` returns the
    /// generation the vectors were read at; without one the file records [`UNTRUSTED`], which
    /// matches no store's generation, so it is never mistaken for current.
    pub fn build(
        path: &Path,
        fill: impl FnOnce(&mut VectorFileWriter) -> Result<Option<Generation>>,
    ) -> Result<Self> {
        let directory = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(directory).map_err(Error::io(directory))?;
        let temporary = temporary_path(directory, path);
        let file = File::create(&temporary).map_err(Error::io(&temporary))?;
        let mut writer = VectorFileWriter {
            out: BufWriter::with_capacity(1 << 20, file),
            dimensions: None,
            count: 0,
            ids: Vec::new(),
            offsets: vec![0],
            sum: crc32fast::Hasher::new(),
            path: temporary.clone(),
        };
        writer.out.write_all(&[0; HEADER]).map_err(Error::io(&temporary))?;
        let outcome = fill(&mut writer).and_then(|generation| writer.finish(generation));
        if let Err(error) = outcome {
            let _ = std::fs::remove_file(&temporary);
            return Err(error);
        }
        std::fs::rename(&temporary, path).map_err(Error::io(path))?;
        Self::open(path)?.ok_or_else(|| Error::io(path)(std::io::ErrorKind::NotFound.into()))
    }

    /// Opens the file at `path`: `None` if it is missing, [`Error::Damaged`] if it is not a
    /// whole vector file of this format with every checksum right.
    pub fn open(path: &Path) -> Result<Option<Self>> {
        let Some((_, map)) = crate::map_file(path)? else { return Ok(None) };
        Self::parse(map).map(Some).map_err(|detail| Error::damaged(path, detail))
    }

    fn parse(map: Mmap) -> Result<Self, String> {
        if map.len() < HEADER || map[..7] != MAGIC[..7] {
            return Err("not a vector file".into());
        }
        if map[..8] != MAGIC[..] {
            return Err(format!(
                "a vector file of another format ({}; this emb reads {})",
                String::from_utf8_lossy(&map[..8]),
                String::from_utf8_lossy(MAGIC)
            ));
        }
        let word = |at: usize| u64::from_le_bytes(map[at..at + 8].try_into().unwrap_or_default());
        let half = |at: usize| u32::from_le_bytes(map[at..at + 4].try_into().unwrap_or_default());
        if half(HEADER_SUM) != checksum::crc(&map[..HEADER_SUM]) {
            return Err("its header does not match its checksum".into());
        }
        let dimensions = half(8) as usize;
        let count = usize::try_from(word(16)).map_err(|_| "an impossible count")?;
        let counter = word(24);
        let database = std::str::from_utf8(&map[32..32 + IDENTITY])
            .map_err(|_| "an identity that is not text")?
            .trim_end()
            .to_owned();
        let ids_at = count
            .checked_mul(dimensions)
            .and_then(|floats| floats.checked_mul(4))
            .and_then(|bytes| bytes.checked_add(HEADER))
            .and_then(|at| count.checked_add(1)?.checked_mul(8)?.checked_add(at))
            .filter(|&ids_at| ids_at <= map.len())
            .ok_or("shorter than its header says")?;
        if half(BODY_SUM) != checksum::crc_parallel(&map[HEADER..]) {
            return Err("its vectors or ids do not match their checksum".into());
        }
        let file = Self { map, dimensions, count, generation: Generation { database, counter } };
        // Offsets that rise to the end of the file, so that no id can be read out of bounds.
        let offsets = (0..=count).map(|index| file.offset(index));
        let rising = offsets.clone().zip(offsets.skip(1)).all(|(low, high)| low <= high);
        if file.offset(0) != 0
            || !rising
            || ids_at.checked_add(file.offset(count)) != Some(file.map.len())
        {
            return Err("its id offsets do not fit the file".into());
        }
        Ok(file)
    }

    /// The generation of the collection these vectors were read from.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }

    /// The number of vectors.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there are no vectors.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The number of dimensions.
    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The normalised vectors, row-major.
    pub fn matrix(&self) -> &[f32] {
        let bytes = &self.map[HEADER..HEADER + self.count * self.dimensions * 4];
        // SAFETY: the map is page-aligned and HEADER is a multiple of 4, so the bytes are aligned
        // for f32, and every bit pattern is a valid f32.
        let (head, floats, _) = unsafe { bytes.align_to::<f32>() };
        debug_assert!(head.is_empty());
        floats
    }

    /// The normalised vector of `row`.
    pub fn row(&self, row: usize) -> &[f32] {
        &self.matrix()[row * self.dimensions..(row + 1) * self.dimensions]
    }

    fn offsets_at(&self) -> usize {
        HEADER + self.count * self.dimensions * 4
    }

    fn offset(&self, index: usize) -> usize {
        let at = self.offsets_at() + index * 8;
        u64::from_le_bytes(self.map[at..at + 8].try_into().unwrap_or_default()) as usize
    }

    /// The id of `row`.
    pub fn id(&self, row: usize) -> &str {
        let base = self.offsets_at() + (self.count + 1) * 8;
        let bytes = &self.map[base + self.offset(row)..base + self.offset(row + 1)];
        std::str::from_utf8(bytes).unwrap_or_default()
    }

    /// The row of `id`, if present (ids are sorted).
    pub fn find(&self, id: &str) -> Option<usize> {
        let (mut low, mut high) = (0, self.count);
        while low < high {
            let middle = usize::midpoint(low, high);
            match self.id(middle).cmp(id) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(middle),
            }
        }
        None
    }

    /// The rows whose ids start with `prefix`: a contiguous range, since ids are sorted.
    fn prefix_rows(&self, prefix: &str) -> std::ops::Range<usize> {
        let first = self.partition(|id| id < prefix);
        let end = first + self.partition_from(first, |id| id.starts_with(prefix));
        first..end
    }

    fn partition(&self, before: impl Fn(&str) -> bool) -> usize {
        self.partition_from(0, before)
    }

    fn partition_from(&self, start: usize, before: impl Fn(&str) -> bool) -> usize {
        let (mut low, mut high) = (start, self.count);
        while low < high {
            let middle = usize::midpoint(low, high);
            if before(self.id(middle)) {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        low - start
    }
}

impl VectorIndex for VectorFile {
    type Error = Error;

    fn len(&self) -> usize {
        self.count
    }

    fn dimensions(&self) -> usize {
        self.dimensions
    }

    fn search(&self, query: &Query<'_>) -> Result<Vec<Hit>> {
        emb_core::distance::check_dimensions(self.dimensions, query.vector.len())?;
        let mut vector = query.vector.to_vec();
        distance::normalize(&mut vector);
        let rows = self.prefix_rows(query.prefix);
        let excluded = query.exclude.and_then(|id| self.find(id));
        let threshold = query.threshold.unwrap_or(f32::NEG_INFINITY);
        let k = query.k;
        let dimensions = self.dimensions;
        if let Some(allowed) = query.allowed {
            let mut chosen: Vec<usize> = allowed.iter().filter_map(|id| self.find(id)).collect();
            chosen.sort_unstable();
            chosen.dedup();
            return Ok(self.search_rows(&vector, &chosen, rows, excluded, threshold, k));
        }
        let matrix = &self.matrix()[rows.start * dimensions..rows.end * dimensions];
        let threads = rayon::current_num_threads().max(1);
        // A few chunks per thread so an uneven machine still finishes together.
        let chunk_rows = rows.len().div_ceil(threads * 4).max(BLOCK_ROWS);
        let best = matrix
            .par_chunks(chunk_rows * dimensions)
            .enumerate()
            .map(|(chunk, slice)| {
                let mut top = TopK::new(k);
                let mut scores = [0.0_f32; BLOCK_ROWS];
                for (block, block_rows) in slice.chunks(BLOCK_ROWS * dimensions).enumerate() {
                    let scores = &mut scores[..block_rows.len() / dimensions];
                    distance::dot_rows(block_rows, &vector, scores);
                    let first = rows.start + chunk * chunk_rows + block * BLOCK_ROWS;
                    for (offset, &score) in scores.iter().enumerate() {
                        if score >= threshold && score > top.threshold() {
                            let row = first + offset;
                            if Some(row) != excluded {
                                top.push(score, row);
                            }
                        }
                    }
                }
                top
            })
            .reduce(|| TopK::new(k), merge);
        Ok(best
            .into_sorted()
            .into_iter()
            .map(|(score, row)| Hit { id: self.id(row).to_owned(), score })
            .collect())
    }
}

impl VectorFile {
    /// The best `k` of the `chosen` rows that lie in `range`: a filtered search.
    fn search_rows(
        &self,
        vector: &[f32],
        chosen: &[usize],
        range: std::ops::Range<usize>,
        excluded: Option<usize>,
        threshold: f32,
        k: usize,
    ) -> Vec<Hit> {
        let chunk = chosen.len().div_ceil(rayon::current_num_threads().max(1) * 4).max(256);
        let best = chosen
            .par_chunks(chunk)
            .map(|rows| {
                let mut top = TopK::new(k);
                for &row in rows {
                    if !range.contains(&row) || Some(row) == excluded {
                        continue;
                    }
                    let score = distance::dot(self.row(row), vector);
                    if score >= threshold {
                        top.push(score, row);
                    }
                }
                top
            })
            .reduce(|| TopK::new(k), merge);
        best.into_sorted()
            .into_iter()
            .map(|(score, row)| Hit { id: self.id(row).to_owned(), score })
            .collect()
    }
}

/// The best of two partial top-k selections.
fn merge(mut left: TopK<usize>, right: TopK<usize>) -> TopK<usize> {
    for (score, row) in right.into_sorted() {
        left.push(score, row);
    }
    left
}

/// Receives the vectors of a [`VectorFile`] being built, in id order.
pub struct VectorFileWriter {
    out: BufWriter<File>,
    dimensions: Option<usize>,
    count: usize,
    ids: Vec<u8>,
    offsets: Vec<u64>,
    /// The running sum of everything written after the header.
    sum: crc32fast::Hasher,
    path: PathBuf,
}

impl VectorFileWriter {
    /// Adds the item `id` with the vector stored as the little-endian `f32` blob `bytes`.
    /// Ids must come in ascending order.
    pub fn push(&mut self, id: &str, bytes: &[u8]) -> Result<()> {
        let mut vector =
            blob::decode(bytes).map_err(|source| Error::Item { id: id.to_owned(), source })?;
        let dimensions = *self.dimensions.get_or_insert(vector.len());
        if vector.len() != dimensions {
            return Err(Error::Item {
                id: id.to_owned(),
                source: emb_core::Error::DimensionMismatch {
                    expected: dimensions,
                    received: vector.len(),
                },
            });
        }
        distance::normalize(&mut vector);
        self.write(&blob::encode(&vector))?;
        self.ids.extend_from_slice(id.as_bytes());
        self.offsets.push(self.ids.len() as u64);
        self.count += 1;
        Ok(())
    }

    /// Writes `bytes` after what is written, adding them to the sum.
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.sum.update(bytes);
        self.out.write_all(bytes).map_err(Error::io(&self.path))
    }

    /// Completes the file.
    fn finish(&mut self, generation: Option<Generation>) -> Result<()> {
        let generation =
            generation.unwrap_or_else(|| Generation { database: UNTRUSTED.to_owned(), counter: 0 });
        let offsets: Vec<u8> =
            self.offsets.iter().flat_map(|offset| offset.to_le_bytes()).collect();
        self.write(&offsets)?;
        let ids = std::mem::take(&mut self.ids);
        self.write(&ids)?;
        let path = self.path.clone();
        let io = Error::io(&path);
        let mut header = [0_u8; HEADER];
        header[..8].copy_from_slice(MAGIC);
        header[8..12].copy_from_slice(&(self.dimensions.unwrap_or(0) as u32).to_le_bytes());
        header[16..24].copy_from_slice(&(self.count as u64).to_le_bytes());
        header[24..32].copy_from_slice(&generation.counter.to_le_bytes());
        let identity = generation.database.as_bytes();
        let mut padded = [b' '; IDENTITY];
        padded[..identity.len().min(IDENTITY)]
            .copy_from_slice(&identity[..identity.len().min(IDENTITY)]);
        header[32..32 + IDENTITY].copy_from_slice(&padded);
        let body = std::mem::take(&mut self.sum).finalize();
        header[BODY_SUM..BODY_SUM + 4].copy_from_slice(&body.to_le_bytes());
        let sum = checksum::crc(&header[..HEADER_SUM]);
        header[HEADER_SUM..].copy_from_slice(&sum.to_le_bytes());
        self.out.flush().map_err(&io)?;
        let file = self.out.get_mut();
        std::io::Seek::seek(file, std::io::SeekFrom::Start(0)).map_err(&io)?;
        file.write_all(&header).map_err(&io)?;
        Ok(())
    }
}

/// A fresh temporary path beside `target`.
pub(crate) fn temporary_path(directory: &Path, target: &Path) -> PathBuf {
    let name = target.file_name().and_then(|name| name.to_str()).unwrap_or("vectors");
    let unique = format!(
        ".{name}.{}.{}.partial",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.subsec_nanos())
    );
    directory.join(unique)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(directory: &Path, items: &[(&str, Vec<f32>)]) -> VectorFile {
        let path = directory.join("v.bin");
        VectorFile::build(&path, |writer| {
            for (id, vector) in items {
                writer.push(id, &blob::encode(vector))?;
            }
            Ok(Some(Generation { database: "abc".into(), counter: 7 }))
        })
        .unwrap()
    }

    #[test]
    fn finds_the_nearest_like_a_brute_force_cosine() {
        let directory = tempfile::tempdir().unwrap();
        let mut items = Vec::new();
        let mut state = 12345_u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let ids: Vec<String> = (0..1000).map(|i| format!("item-{i:04}")).collect();
        for id in &ids {
            items.push((id.as_str(), (0..37).map(|_| next()).collect::<Vec<f32>>()));
        }
        let file = build(directory.path(), &items);
        assert_eq!((file.len(), file.dimensions()), (1000, 37));
        assert_eq!(file.generation().counter, 7);
        assert_eq!(file.generation().database, "abc");
        let query: Vec<f32> = (0..37).map(|_| next()).collect();

        let mut expected: Vec<(f32, &str)> =
            items.iter().map(|(id, v)| (distance::cosine(v, &query), *id)).collect();
        expected.sort_by(|a, b| b.0.total_cmp(&a.0));
        let hits = file.search(&Query { k: 5, ..Query::new(&query) }).unwrap();
        for (hit, (score, id)) in hits.iter().zip(&expected) {
            assert_eq!(hit.id, *id);
            assert!((hit.score - score).abs() < 1e-5);
        }

        let excluded = file
            .search(&Query { k: 5, exclude: Some(expected[0].1), ..Query::new(&query) })
            .unwrap();
        assert_eq!(excluded[0].id, expected[1].1);

        let prefixed =
            file.search(&Query { k: 3, prefix: "item-09", ..Query::new(&query) }).unwrap();
        assert!(prefixed.iter().all(|hit| hit.id.starts_with("item-09")));
        assert_eq!(prefixed.len(), 3);

        let above =
            file.search(&Query { k: 1000, threshold: Some(0.3), ..Query::new(&query) }).unwrap();
        assert_eq!(above.len(), expected.iter().filter(|(score, _)| *score >= 0.3).count());
        assert_eq!(file.find("item-0500"), Some(500));

        // A filter's rows: only even rows, still k results.
        let even: Vec<String> = (0..1000).step_by(2).map(|i| format!("item-{i:04}")).collect();
        let filtered =
            file.search(&Query { k: 5, allowed: Some(&even), ..Query::new(&query) }).unwrap();
        let expected_even: Vec<&str> = expected
            .iter()
            .filter(|(_, id)| id[5..].parse::<usize>().unwrap() % 2 == 0)
            .take(5)
            .map(|(_, id)| *id)
            .collect();
        assert_eq!(filtered.iter().map(|hit| hit.id.as_str()).collect::<Vec<_>>(), expected_even);
        assert_eq!(file.find("nope"), None);
    }

    #[test]
    fn a_truncated_file_is_not_trusted() {
        let directory = tempfile::tempdir().unwrap();
        build(directory.path(), &[("a", vec![1.0, 0.0])]);
        let path = directory.path().join("v.bin");
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(matches!(VectorFile::open(&path), Err(Error::Damaged { .. })));
        assert!(VectorFile::open(&directory.path().join("missing")).unwrap().is_none());
    }

    #[test]
    fn a_changed_byte_anywhere_is_noticed() {
        let directory = tempfile::tempdir().unwrap();
        build(directory.path(), &[("a", vec![1.0, 0.0]), ("b", vec![0.0, 1.0])]);
        let path = directory.path().join("v.bin");
        let bytes = std::fs::read(&path).unwrap();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            std::fs::write(&path, &damaged).unwrap();
            assert!(matches!(VectorFile::open(&path), Err(Error::Damaged { .. })), "byte {at}");
        }
        // The format before checksums.
        let mut old = bytes.clone();
        old[7] = b'1';
        std::fs::write(&path, &old).unwrap();
        let error = VectorFile::open(&path).err().unwrap();
        assert!(error.to_string().contains("another format (EMBVECS1"), "{error}");
    }

    /// Random and changed files (half with both sums made right again, so that the checks
    /// behind them are reached) never make opening or searching panic. Seeded: a failure
    /// repeats.
    #[test]
    fn damaged_vector_files_never_panic() {
        const SEED: u64 = 0x5eed_7ec5;
        let directory = tempfile::tempdir().unwrap();
        let items: Vec<(String, Vec<f32>)> = (0..300)
            .map(|row| {
                (format!("id-{row:03}"), (0..8).map(|x| ((row * 7 + x) % 13) as f32).collect())
            })
            .collect();
        let items: Vec<(&str, Vec<f32>)> =
            items.iter().map(|(id, v)| (id.as_str(), v.clone())).collect();
        build(directory.path(), &items);
        let path = directory.path().join("v.bin");
        let whole = std::fs::read(&path).unwrap();
        let mut state = SEED;
        let mut next = move |bound: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 33) as usize) % bound.max(1)
        };
        let mut opened = 0;
        for case in 0..1000 {
            let mut bytes = whole.clone();
            match next(4) {
                0 => bytes.truncate(next(bytes.len())),
                1 => bytes = (0..next(3 * HEADER)).map(|_| next(256) as u8).collect(),
                2 => {
                    // A header number: dimensions, count, or an id offset.
                    let at = [8, 16, 20, HEADER + 300 * 8 * 4 + 8 * next(301)][next(4)];
                    let value = [0, 1, u64::MAX, 1 << next(64), next(1 << 20) as u64][next(5)];
                    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
                }
                _ => {
                    let at = next(bytes.len());
                    bytes[at] ^= 1 << next(8);
                }
            }
            if next(2) == 0 && bytes.len() >= HEADER {
                let body = checksum::crc(&bytes[HEADER..]);
                bytes[BODY_SUM..BODY_SUM + 4].copy_from_slice(&body.to_le_bytes());
                let sum = checksum::crc(&bytes[..HEADER_SUM]);
                bytes[HEADER_SUM..HEADER].copy_from_slice(&sum.to_le_bytes());
            }
            std::fs::write(&path, &bytes).unwrap();
            let outcome = std::panic::catch_unwind(|| {
                if let Ok(Some(file)) = VectorFile::open(&path) {
                    let query = vec![1.0; file.dimensions().min(64)];
                    let _ = file.search(&Query { k: 3, prefix: "id-1", ..Query::new(&query) });
                    let _ = file.search(&Query::new(&query));
                    let _ = (file.find("id-007"), file.len());
                    return true;
                }
                false
            });
            let opens = outcome.unwrap_or_else(|_| panic!("case {case} (seed {SEED:#x})"));
            opened += usize::from(opens);
        }
        assert!(opened < 1000, "{opened}");
    }

    #[test]
    fn a_wrong_dimension_names_the_item() {
        let directory = tempfile::tempdir().unwrap();
        let error = VectorFile::build(&directory.path().join("v.bin"), |writer| {
            writer.push("a", &blob::encode(&[1.0, 0.0]))?;
            writer.push("b", &blob::encode(&[1.0]))?;
            Ok(None)
        })
        .err()
        .unwrap();
        assert!(error.to_string().contains("\"b\""), "{error}");
    }
}
