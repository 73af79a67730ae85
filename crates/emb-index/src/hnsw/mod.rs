//! Approximate nearest-neighbour search with a hierarchical navigable small-world graph
//! (Malkov & Yashunin, 2016), persisted in one file that opens by mmap.
//!
//! The index keeps, per node: its id, its level, its links (`2m` on level 0, `m` above), its
//! code (the vector as searched: full `f32`, or quantised, see [`Quantization`]) and, when the
//! code is quantised, the full normalised vector for rescoring. Items are never moved: a changed
//! item becomes a new node and the old one is marked deleted (still walked through, never
//! returned); when more than a quarter of the nodes are deleted, an update rebuilds the graph.
//!
//! Layout (little-endian): a 512-byte header (`EMBHNSW1`, format version 2, then the numbers
//! [`Layout`] holds, a table of 13 sections as byte offset and length, the CRC-32 of each
//! section, and at 508 the CRC-32 of the header's first 508 bytes), then the sections, each
//! aligned to 64 bytes: id offsets (`u64`), id bytes, live nodes ordered by id (`u32`), levels
//! (`u8`), the deleted bitset (`u64` words), level-0 links (`u32`, per node a count then `2m`
//! slots), offsets into the upper links (`u32`), the upper links (per level a count then `m`
//! slots), quantisation parameters (`f32`), codes, full vectors (`f32`, quantised indexes only),
//! a CRC-32 per code, and a CRC-32 per full vector.
//!
//! Checks: opening verifies the header and every section but the codes and the full vectors
//! whole (ids, links, levels and the sums of the rest: 169 MB at 1,000,000 x 384 with m 16, of
//! 2.1 GB), and that every link and id offset points inside the index. A code is checked the
//! first time a search scores it (a bit per node remembers it), and a full vector each time a
//! search reads it to rescore, so that opening a large index does not read its vectors. A code or
//! full vector that fails makes the search return [`Error::Damaged`]; [`Hnsw::verify`] checks
//! everything at once. A file of format version 1 (without sums) is refused.

mod codes;
#[cfg(test)]
mod fuzz;
mod graph;
#[cfg(test)]
mod open_cost;

use std::cell::RefCell;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use emb_core::distance;
use emb_core::index::{Hit, Query, VectorIndex};
use emb_core::store::Generation;
use emb_core::topk::TopK;
use memmap2::Mmap;

pub use codes::Quantization;
use codes::{CodeSums, Codes, Prepared};
use graph::{Builder, Frozen, FrozenView, Near, Visited, PREFETCH_AHEAD};

use crate::checksum::{self, Verified};
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"EMBHNSW1";
const VERSION: u32 = 2;
const HEADER: usize = 512;
const TABLE: usize = 128;
/// Where the header keeps each section's sum (after the table), and its own.
const SECTION_SUMS: usize = TABLE + SECTIONS * 16;
const HEADER_SUM: usize = HEADER - 4;
const ALIGN: usize = 64;
const IDENTITY: usize = 32;
const NO_ENTRY: u32 = u32::MAX;
/// Candidates kept while searching when the query does not say.
pub const DEFAULT_EF: usize = 100;
/// Rebuild instead of patching once this share of the nodes is deleted.
const MAX_DELETED: f64 = 0.25;
/// A filter letting fewer than one node in this many through is answered by scanning the nodes
/// it lets through, which is then cheaper than walking a graph of mostly rejected nodes.
const SCAN_BELOW: usize = 50;

/// The sections of an index file, in file order.
#[derive(Debug, Clone, Copy)]
enum Section {
    IdOffsets,
    IdBytes,
    Order,
    Levels,
    Deleted,
    Level0,
    UpperOffsets,
    Upper,
    Parameters,
    Codes,
    Full,
    CodeSums,
    FullSums,
}
const SECTIONS: usize = 13;

impl Section {
    /// Whether opening checks the section whole (the large ones are checked as read).
    fn checked_at_open(self) -> bool {
        !matches!(self, Self::Codes | Self::Full)
    }
}

/// Every section, in file order.
const ALL_SECTIONS: [Section; SECTIONS] = [
    Section::IdOffsets,
    Section::IdBytes,
    Section::Order,
    Section::Levels,
    Section::Deleted,
    Section::Level0,
    Section::UpperOffsets,
    Section::Upper,
    Section::Parameters,
    Section::Codes,
    Section::Full,
    Section::CodeSums,
    Section::FullSums,
];

/// How to build an index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameters {
    /// Links per node (twice as many on the bottom level). Default: 16.
    pub m: usize,
    /// Candidates kept while linking a new node: more builds a better graph, slower. Default:
    /// 200.
    pub ef_construction: usize,
    /// How vectors are stored for searching. Default: full `f32`.
    pub quantization: Quantization,
    /// Seeds the random levels, so the same input builds the same graph. Default: fixed.
    pub seed: u64,
}

impl Default for Parameters {
    fn default() -> Self {
        Self { m: 16, ef_construction: 200, quantization: Quantization::None, seed: 0x5eed }
    }
}

/// What an index holds, as `emb index info` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// Items that searches can return.
    pub items: usize,
    /// Nodes of changed or removed items, kept until the next rebuild.
    pub deleted: usize,
    /// Dimensions of the vectors.
    pub dimensions: usize,
    /// The build parameters.
    pub parameters: Parameters,
    /// The size of the index (file or memory) in bytes.
    pub bytes: usize,
    /// The bytes a search reads: all but the full vectors kept for rescoring.
    pub search_bytes: usize,
    /// The collection generation the index reflects.
    pub generation: Generation,
}

/// The numbers in an index's header.
#[derive(Debug, Clone)]
struct Layout {
    dimensions: usize,
    count: usize,
    deleted: usize,
    parameters: Parameters,
    entry: Option<(u32, u8)>,
    generation: Generation,
    sections: [(usize, usize); SECTIONS],
}

enum Storage {
    Mapped { map: Mmap, file: File, path: PathBuf },
    Owned { words: Vec<u64>, length: usize },
}

impl Storage {
    fn bytes(&self) -> &[u8] {
        match self {
            Self::Mapped { map, .. } => map,
            Self::Owned { words, length } => &as_bytes(words)[..*length],
        }
    }
}

fn as_bytes(words: &[u64]) -> &[u8] {
    // SAFETY: any initialised memory is valid as bytes, and u8 needs no alignment.
    unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), words.len() * 8) }
}

fn as_bytes_mut(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: as above; every byte pattern is a valid u64, so writes cannot break the words.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), words.len() * 8) }
}

/// Views `bytes` as values of `T` (a plain number type); the caller has aligned them.
fn cast<T: Copy>(bytes: &[u8]) -> &[T] {
    // SAFETY: T is one of u16/u32/u64/f32, for which every bit pattern is valid; sections start
    // at 64-byte offsets of a page-aligned map or a u64 buffer, so `head` is empty.
    let (head, values, _) = unsafe { bytes.align_to::<T>() };
    assert!(head.is_empty(), "misaligned index section");
    values
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::new());
}

/// An HNSW index over one collection's vectors.
pub struct Hnsw {
    storage: Storage,
    layout: Layout,
    /// The pages of the codes found whole so far.
    verified: Verified,
}

impl Hnsw {
    /// Builds an index of the items `ids` whose vectors are the rows of `vectors` (row-major,
    /// `dimensions` columns, normalised here), recording `generation` (or [`crate::UNTRUSTED`]).
    /// `progress` hears how many items are linked in so far.
    pub fn build(
        dimensions: usize,
        parameters: Parameters,
        ids: Vec<String>,
        mut vectors: Vec<f32>,
        generation: Option<Generation>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Self> {
        check_parameters(&parameters)?;
        if vectors.len() != ids.len() * dimensions {
            return Err(Error::Core(emb_core::Error::DimensionMismatch {
                expected: ids.len() * dimensions,
                received: vectors.len(),
            }));
        }
        for row in vectors.chunks_exact_mut(dimensions.max(1)) {
            distance::normalize(row);
        }
        let levels = (0..ids.len()).map(|node| level(parameters, node as u64)).collect();
        let frozen = link(parameters, dimensions, &vectors, levels, None, progress);
        let deleted = vec![false; ids.len()];
        assemble(dimensions, parameters, &ids, &vectors, &deleted, &frozen, generation)
    }

    /// A new index with `changes` applied: each `(id, Some(vector))` adds or replaces an item,
    /// each `(id, None)` removes it. Recorded at `generation`.
    pub fn update(
        &self,
        changes: Vec<(String, Option<Vec<f32>>)>,
        generation: Option<Generation>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Self> {
        // Everything is copied into the new index: none of it may be damaged.
        self.verify()?;
        let dimensions = self.layout.dimensions;
        let parameters = self.layout.parameters;
        let mut ids: Vec<String> =
            (0..self.layout.count).map(|node| self.id(node as u32).to_owned()).collect();
        let mut vectors = self.full_vectors();
        let mut deleted: Vec<bool> =
            (0..self.layout.count).map(|node| self.is_deleted(node as u32)).collect();
        let mut added: HashMap<String, usize> = HashMap::new();
        for (id, vector) in changes {
            if let Some(node) =
                added.remove(&id).or_else(|| self.find(&id).map(|node| node as usize))
            {
                deleted[node] = true;
            }
            if let Some(mut vector) = vector {
                distance::check_dimensions(dimensions, vector.len())
                    .map_err(|source| Error::Item { id: id.clone(), source })?;
                distance::normalize(&mut vector);
                vectors.extend_from_slice(&vector);
                added.insert(id.clone(), ids.len());
                ids.push(id);
                deleted.push(false);
            }
        }
        let removed = deleted.iter().filter(|&&gone| gone).count();
        if removed as f64 > MAX_DELETED * ids.len() as f64 {
            let (ids, vectors) = live(dimensions, ids, &vectors, &deleted);
            return Self::build(dimensions, parameters, ids, vectors, generation, progress);
        }
        let known = self.graph().levels;
        let levels = (0..ids.len())
            .map(|node| known.get(node).copied().unwrap_or_else(|| level(parameters, node as u64)))
            .collect();
        let frozen = link(parameters, dimensions, &vectors, levels, Some(self.graph()), progress);
        assemble(dimensions, parameters, &ids, &vectors, &deleted, &frozen, generation)
    }

    /// Opens the index file at `path` by mmap: `None` if it is missing, [`Error::Damaged`] if
    /// it is not a whole index of this format whose checked sections match their sums (see the
    /// module's documentation for what is checked when).
    pub fn open(path: &Path) -> Result<Option<Self>> {
        let Some((file, map)) = crate::map_file(path)? else { return Ok(None) };
        let layout = parse(&map).map_err(|detail| Error::damaged(path, detail))?;
        let verified = Verified::new(layout.count, false);
        let index = Self {
            storage: Storage::Mapped { map, file, path: path.to_owned() },
            layout,
            verified,
        };
        // The bottom links, most of what is checked here, are summed as `consistent` reads them.
        let summed =
            |section: &Section| section.checked_at_open() && !matches!(section, Section::Level0);
        if let Some(section) = ALL_SECTIONS.into_iter().filter(summed).find(|&section| {
            checksum::crc_parallel(index.section(section)) != index.section_sum(section)
        }) {
            return Err(Error::damaged(
                path,
                format!("its {section:?} section does not match its checksum"),
            ));
        }
        index.consistent().map_err(|detail| Error::damaged(path, detail))?;
        Ok(Some(index))
    }

    /// Checks every code page and full vector not yet checked against its sum (opening checks
    /// the rest): [`Error::Damaged`] names the first that fails. Reads the whole file once
    /// (the full vectors by reading, not mapping); later calls return at once.
    pub fn verify(&self) -> Result<()> {
        if self.verified.is_whole() {
            return Ok(());
        }
        let codes = self.section(Section::Codes);
        let code_bytes = self.layout.parameters.quantization.code_bytes(self.layout.dimensions);
        let sums = cast(self.section(Section::CodeSums));
        self.verified.check_all(codes, code_bytes, sums).map_err(|node| {
            Error::damaged(
                self.path(),
                format!("the code of node {node} does not match its checksum"),
            )
        })?;
        if self.layout.parameters.quantization.rescores() && self.layout.count > 0 {
            let dimensions = self.layout.dimensions;
            let mut full = vec![0.0; dimensions];
            for node in 0..self.layout.count as u32 {
                self.read_full(node, &mut full)?;
            }
        }
        self.verified.set_whole();
        Ok(())
    }

    /// The file the index was opened from (or a name for one built in memory).
    fn path(&self) -> &Path {
        match &self.storage {
            Storage::Mapped { path, .. } => path,
            Storage::Owned { .. } => Path::new("(index in memory)"),
        }
    }

    /// The sum the header records for `section`.
    fn section_sum(&self, section: Section) -> u32 {
        let at = SECTION_SUMS + section as usize * 4;
        u32::from_le_bytes(self.storage.bytes()[at..at + 4].try_into().unwrap_or_default())
    }

    /// Whether every id offset, order entry, link and level of the index points inside it, so
    /// that no damaged file can make a search read out of bounds; and whether the bottom links
    /// match their sum (summed in the same pass).
    fn consistent(&self) -> std::result::Result<(), String> {
        let count = self.layout.count;
        let offsets: &[u64] = cast(self.section(Section::IdOffsets));
        let id_bytes = self.section(Section::IdBytes).len() as u64;
        let order: &[u32] = cast(self.section(Section::Order));
        let outside = || "a link or id offset points outside the index".to_owned();
        if offsets.len() != count + 1 || order.len() + self.layout.deleted != count {
            return Err(outside());
        }
        let ids_fit = offsets[0] == 0
            && offsets.windows(2).all(|pair| pair[0] <= pair[1])
            && offsets[count] == id_bytes;
        let in_range = |node: &u32| (*node as usize) < count;
        let m = self.layout.parameters.m;
        let levels = self.section(Section::Levels);
        let upper_offsets: &[u32] = cast(self.section(Section::UpperOffsets));
        let upper: &[u32] = cast(self.section(Section::Upper));
        // Each list is a count (at most its capacity) then that many links to existing nodes.
        let list_fits = |list: &[u32], capacity: usize| {
            let length = list[0] as usize;
            length <= capacity && list[1..=length].iter().all(in_range)
        };
        // Blocks of whole lists, of about 256 KB.
        let list_bytes = (1 + 2 * m) * 4;
        let block = list_bytes * (262_144 / list_bytes).max(1);
        let (level0_sum, bottom_fits) =
            checksum::crc_and_check(self.section(Section::Level0), block, |block| {
                cast::<u32>(block).chunks_exact(1 + 2 * m).all(|list| list_fits(list, 2 * m))
            });
        if level0_sum != self.section_sum(Section::Level0) {
            return Err("its Level0 section does not match its checksum".into());
        }
        // A link on level `l` reaches a node that has level `l`, so that the walk down never
        // asks a node for links on a level it lacks.
        let upper_fits = levels.iter().zip(upper_offsets).all(|(&level, &offset)| {
            let start = offset as usize;
            let end = start + usize::from(level) * (1 + m);
            end <= upper.len()
                && upper[start..end].chunks_exact(1 + m).enumerate().all(|(below, list)| {
                    list_fits(list, m)
                        && list[1..=list[0] as usize]
                            .iter()
                            .all(|&link| levels[link as usize] as usize > below)
                })
        });
        let entry_fits = self.layout.entry.is_none_or(|(node, top)| levels[node as usize] == top);
        let fits = ids_fit && order.iter().all(in_range) && bottom_fits && upper_fits && entry_fits;
        if fits {
            Ok(())
        } else {
            Err(outside())
        }
    }

    /// Writes the index to `path` atomically (readers see the old file or the new one).
    pub fn save(&self, path: &Path) -> Result<()> {
        let directory = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(directory).map_err(Error::io(directory))?;
        let temporary = crate::exact::temporary_path(directory, path);
        let written = File::create(&temporary).and_then(|mut file| {
            file.write_all(self.storage.bytes())?;
            file.sync_data()
        });
        if let Err(error) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(Error::io(&temporary)(error));
        }
        std::fs::rename(&temporary, path).map_err(Error::io(path))
    }

    /// The collection generation the index reflects.
    pub fn generation(&self) -> &Generation {
        &self.layout.generation
    }

    /// What the index holds.
    pub fn info(&self) -> Info {
        let full = self.layout.sections[Section::Full as usize].1;
        let bytes = self.storage.bytes().len();
        Info {
            items: self.layout.count - self.layout.deleted,
            deleted: self.layout.deleted,
            dimensions: self.layout.dimensions,
            parameters: self.layout.parameters,
            bytes,
            search_bytes: bytes - full,
            generation: self.layout.generation.clone(),
        }
    }

    fn section(&self, section: Section) -> &[u8] {
        let (offset, length) = self.layout.sections[section as usize];
        &self.storage.bytes()[offset..offset + length]
    }

    /// The id of `node`.
    fn id(&self, node: u32) -> &str {
        let offsets: &[u64] = cast(self.section(Section::IdOffsets));
        let bytes = self.section(Section::IdBytes);
        let node = node as usize;
        std::str::from_utf8(&bytes[offsets[node] as usize..offsets[node + 1] as usize])
            .unwrap_or_default()
    }

    fn is_deleted(&self, node: u32) -> bool {
        let words: &[u64] = cast(self.section(Section::Deleted));
        words[node as usize / 64] >> (node % 64) & 1 == 1
    }

    /// The live node of `id`, if any.
    pub fn find(&self, id: &str) -> Option<u32> {
        let order: &[u32] = cast(self.section(Section::Order));
        order.binary_search_by(|&node| self.id(node).cmp(id)).ok().map(|at| order[at])
    }

    /// The live nodes whose ids start with `prefix`.
    fn with_prefix(&self, prefix: &str) -> &[u32] {
        let order: &[u32] = cast(self.section(Section::Order));
        let first = order.partition_point(|&node| self.id(node) < prefix);
        let length = order[first..].partition_point(|&node| self.id(node).starts_with(prefix));
        &order[first..first + length]
    }

    fn graph(&self) -> FrozenView<'_> {
        let m = self.layout.parameters.m;
        FrozenView {
            m,
            m0: 2 * m,
            levels: self.section(Section::Levels),
            level0: cast(self.section(Section::Level0)),
            upper_offsets: cast(self.section(Section::UpperOffsets)),
            upper: cast(self.section(Section::Upper)),
            entry: self.layout.entry,
        }
    }

    fn codes(&self) -> Codes<'_> {
        let bytes = self.section(Section::Codes);
        match self.layout.parameters.quantization {
            Quantization::None => Codes::F32(cast(bytes)),
            Quantization::F16 => Codes::F16(cast(bytes)),
            Quantization::Int8 => Codes::Int8(bytes),
            Quantization::Binary => Codes::Binary(cast(bytes)),
        }
    }

    /// Every node's full normalised vector, row-major.
    fn full_vectors(&self) -> Vec<f32> {
        let section = if self.layout.parameters.quantization.rescores() {
            Section::Full
        } else {
            Section::Codes
        };
        cast::<f32>(self.section(section)).to_vec()
    }

    /// Reads the full vector of `node` into `out`, without mapping it in (a read, so that
    /// rescoring does not grow the resident memory of a quantised index).
    /// Checked against the vector's sum.
    fn read_full(&self, node: u32, out: &mut [f32]) -> Result<()> {
        let dimensions = self.layout.dimensions;
        let (offset, _) = self.layout.sections[Section::Full as usize];
        let at = offset + node as usize * dimensions * 4;
        let expected = cast::<u32>(self.section(Section::FullSums))[node as usize];
        let sum = match &self.storage {
            Storage::Owned { .. } => {
                let bytes = &self.storage.bytes()[at..at + dimensions * 4];
                out.copy_from_slice(cast(bytes));
                checksum::crc(bytes)
            }
            Storage::Mapped { file, path, .. } => {
                let mut bytes = vec![0_u8; dimensions * 4];
                std::os::unix::fs::FileExt::read_exact_at(file, &mut bytes, at as u64)
                    .map_err(Error::io(path))?;
                for (x, chunk) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *x = f32::from_le_bytes(chunk.try_into().unwrap_or_default());
                }
                checksum::crc(&bytes)
            }
        };
        if sum != expected {
            return Err(Error::damaged(
                self.path(),
                format!("the full vector of node {node} does not match its checksum"),
            ));
        }
        Ok(())
    }

    /// The nodes a query may return, when it restricts them, and how many there are.
    fn accepted(&self, query: &Query<'_>) -> Option<(Vec<u64>, usize)> {
        if query.prefix.is_empty() && query.allowed.is_none() {
            return None;
        }
        let mut bits = vec![0_u64; self.layout.count.div_ceil(64)];
        let mut count = 0;
        let mut accept = |node: u32| {
            let word = &mut bits[node as usize / 64];
            let bit = 1 << (node % 64);
            if *word & bit == 0 {
                *word |= bit;
                count += 1;
            }
        };
        match query.allowed {
            Some(ids) => ids
                .iter()
                .filter(|id| id.starts_with(query.prefix))
                .filter_map(|id| self.find(id))
                .for_each(&mut accept),
            None => self.with_prefix(query.prefix).iter().copied().for_each(&mut accept),
        }
        Some((bits, count))
    }

    /// Walks the graph to the `ef` accepted nodes nearest the prepared query.
    fn walk(&self, prepared: &Prepared<'_>, ef: usize, accept: &dyn Fn(u32) -> bool) -> Vec<Near> {
        let graph = self.graph();
        let Some((entry, top)) = graph.entry else {
            return Vec::new();
        };
        let mut current = Near { distance: prepared.distance(entry), node: entry };
        for level in (1..=top).rev() {
            loop {
                let mut moved = false;
                for &link in graph.neighbours(current.node, level) {
                    let distance = prepared.distance(link);
                    if distance < current.distance {
                        current = Near { distance, node: link };
                        moved = true;
                    }
                }
                if !moved {
                    break;
                }
            }
        }
        VISITED.with_borrow_mut(|visited| {
            visited.reset(self.layout.count);
            visited.insert(current.node);
            let mut candidates = BinaryHeap::with_capacity(ef * 4);
            let mut found: BinaryHeap<Near> = BinaryHeap::with_capacity(ef + 1);
            candidates.push(Reverse(current));
            if accept(current.node) {
                found.push(current);
            }
            let mut worst = if found.len() >= ef { current.distance } else { f32::INFINITY };
            let mut unseen = Vec::with_capacity(graph.m0);
            while let Some(Reverse(nearest)) = candidates.pop() {
                if nearest.distance > worst {
                    break;
                }
                // The unseen links, each one's code loading while the few before it are scored.
                unseen.clear();
                unseen.extend(
                    graph
                        .neighbours(nearest.node, 0)
                        .iter()
                        .copied()
                        .filter(|&link| visited.insert(link)),
                );
                for &link in unseen.iter().take(PREFETCH_AHEAD) {
                    prepared.prefetch(link);
                }
                // The links of the candidate likely expanded next load while these are scored.
                if let Some(Reverse(next)) = candidates.peek() {
                    graph.prefetch_links(next.node);
                }
                for (index, &link) in unseen.iter().enumerate() {
                    if let Some(&later) = unseen.get(index + PREFETCH_AHEAD) {
                        prepared.prefetch(later);
                    }
                    let distance = prepared.distance(link);
                    if distance < worst {
                        let near = Near { distance, node: link };
                        candidates.push(Reverse(near));
                        if accept(link) {
                            found.push(near);
                            if found.len() > ef {
                                found.pop();
                            }
                            if found.len() >= ef {
                                worst = found.peek().map_or(f32::INFINITY, |near| near.distance);
                            }
                        }
                    }
                }
            }
            found.into_sorted_vec()
        })
    }

    /// The `ef` accepted nodes nearest the prepared query, by scanning the `bits` set.
    fn scan(
        prepared: &Prepared<'_>,
        ef: usize,
        bits: &[u64],
        accept: &dyn Fn(u32) -> bool,
    ) -> Vec<Near> {
        let mut top = TopK::new(ef);
        for (word_index, &word) in bits.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let node = (word_index * 64 + word.trailing_zeros() as usize) as u32;
                word &= word - 1;
                if accept(node) {
                    top.push(-prepared.distance(node), node);
                }
            }
        }
        top.into_sorted().into_iter().map(|(score, node)| Near { distance: -score, node }).collect()
    }
}

impl VectorIndex for Hnsw {
    type Error = Error;

    fn len(&self) -> usize {
        self.layout.count - self.layout.deleted
    }

    fn dimensions(&self) -> usize {
        self.layout.dimensions
    }

    fn search(&self, query: &Query<'_>) -> Result<Vec<Hit>> {
        let dimensions = self.layout.dimensions;
        distance::check_dimensions(dimensions, query.vector.len())?;
        if query.k == 0 || self.is_empty() {
            return Ok(Vec::new());
        }
        let mut vector = query.vector.to_vec();
        distance::normalize(&mut vector);
        let parameters_bytes = self.section(Section::Parameters);
        let sums = CodeSums {
            bytes: self.section(Section::Codes),
            sums: cast(self.section(Section::CodeSums)),
            verified: &self.verified,
        };
        let kind = self.layout.parameters.quantization;
        let prepared = Prepared::new(self.codes(), sums, kind, cast(parameters_bytes), &vector);
        let excluded = query.exclude.and_then(|id| self.find(id));
        let deleted: &[u64] = cast(self.section(Section::Deleted));
        let live = |node: u32| {
            deleted[node as usize / 64] >> (node % 64) & 1 == 0 && Some(node) != excluded
        };
        let ef = query.ef.unwrap_or(DEFAULT_EF).max(query.k);
        let found = match self.accepted(query) {
            None => self.walk(&prepared, ef, &live),
            Some((bits, count)) if count * SCAN_BELOW < self.layout.count => {
                Self::scan(&prepared, ef, &bits, &live)
            }
            Some((bits, _)) => {
                let accept =
                    |node: u32| bits[node as usize / 64] >> (node % 64) & 1 == 1 && live(node);
                self.walk(&prepared, ef, &accept)
            }
        };
        if prepared.damaged() {
            return Err(Error::damaged(self.path(), "a code does not match its checksum"));
        }
        let mut scored: Vec<(f32, u32)> = if self.layout.parameters.quantization.rescores() {
            let mut full = vec![0.0; dimensions];
            let mut rescored = Vec::with_capacity(found.len());
            for near in &found {
                self.read_full(near.node, &mut full)?;
                rescored.push((distance::dot(&vector, &full), near.node));
            }
            rescored.sort_by(|a, b| b.0.total_cmp(&a.0));
            rescored
        } else {
            found.iter().map(|near| (1.0 - near.distance, near.node)).collect()
        };
        let threshold = query.threshold.unwrap_or(f32::NEG_INFINITY);
        scored.retain(|(score, _)| *score >= threshold);
        scored.truncate(query.k);
        Ok(scored
            .into_iter()
            .map(|(score, node)| Hit { id: self.id(node).to_owned(), score })
            .collect())
    }
}

fn check_parameters(parameters: &Parameters) -> Result<()> {
    if !(2..=256).contains(&parameters.m) || parameters.ef_construction == 0 {
        return Err(Error::Parameters(format!(
            "m must be between 2 and 256 and ef_construction at least 1 (got m = {}, \
             ef_construction = {})",
            parameters.m, parameters.ef_construction
        )));
    }
    Ok(())
}

/// The random level of `node`: geometric, with each level `m` times rarer than the one below.
fn level(parameters: Parameters, node: u64) -> u8 {
    let mut state = parameters.seed ^ node.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    state = (state ^ (state >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    state = (state ^ (state >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    state ^= state >> 31;
    let uniform = ((state >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let scale = 1.0 / (parameters.m as f64).ln();
    (-uniform.ln() * scale).floor().min(30.0) as u8
}

/// Links the nodes of `vectors` that `previous` does not already hold.
fn link(
    parameters: Parameters,
    dimensions: usize,
    vectors: &[f32],
    levels: Vec<u8>,
    previous: Option<FrozenView<'_>>,
    progress: &(dyn Fn(u64) + Sync),
) -> Frozen {
    let count = levels.len() as u32;
    let (Parameters { m, ef_construction, .. }, start) =
        (parameters, previous.map_or(0, |graph| graph.levels.len() as u32));
    let builder = match previous {
        Some(graph) => Builder::thaw(m, ef_construction, dimensions, vectors, levels, &graph),
        None => Builder::new(m, ef_construction, dimensions, vectors, levels),
    };
    builder.insert_all(start..count, rayon::current_num_threads(), progress);
    builder.freeze()
}

/// The live items of `ids` and their vectors.
fn live(
    dimensions: usize,
    ids: Vec<String>,
    vectors: &[f32],
    deleted: &[bool],
) -> (Vec<String>, Vec<f32>) {
    let mut kept = Vec::new();
    let mut rows = Vec::new();
    for ((id, row), gone) in
        ids.into_iter().zip(vectors.chunks_exact(dimensions.max(1))).zip(deleted)
    {
        if !gone {
            kept.push(id);
            rows.extend_from_slice(row);
        }
    }
    (kept, rows)
}

/// Lays an index out in memory.
fn assemble(
    dimensions: usize,
    parameters: Parameters,
    ids: &[String],
    vectors: &[f32],
    deleted: &[bool],
    frozen: &Frozen,
    generation: Option<Generation>,
) -> Result<Hnsw> {
    let count = ids.len();
    let kind = parameters.quantization;
    let mut order: Vec<u32> = (0..count as u32).filter(|&node| !deleted[node as usize]).collect();
    order.sort_unstable_by(|&a, &b| ids[a as usize].cmp(&ids[b as usize]));
    if let Some(pair) = order.windows(2).find(|pair| ids[pair[0] as usize] == ids[pair[1] as usize])
    {
        return Err(Error::Item {
            id: ids[pair[0] as usize].clone(),
            source: emb_core::Error::Store {
                context: "building an index".into(),
                source: "the id appears twice".into(),
            },
        });
    }
    let id_bytes: usize = ids.iter().map(String::len).sum();
    let parameters_values = codes::train(kind, vectors, dimensions, |row| !deleted[row]);
    let code_bytes = kind.code_bytes(dimensions);
    let lengths = [
        (count + 1) * 8,
        id_bytes,
        order.len() * 4,
        count,
        count.div_ceil(64) * 8,
        frozen.level0.len() * 4,
        frozen.upper_offsets.len() * 4,
        frozen.upper.len() * 4,
        parameters_values.len() * 4,
        count * code_bytes,
        if kind.rescores() { vectors.len() * 4 } else { 0 },
        count * 4,
        if kind.rescores() { count * 4 } else { 0 },
    ];
    let mut sections = [(0, 0); SECTIONS];
    let mut end = HEADER;
    for (section, length) in sections.iter_mut().zip(lengths) {
        let offset = end.next_multiple_of(ALIGN);
        *section = (offset, length);
        end = offset + length;
    }
    let mut words = vec![0_u64; end.div_ceil(8)];
    let bytes = as_bytes_mut(&mut words);
    let mut put = |section: Section, data: &mut dyn FnMut(&mut [u8])| {
        let (offset, length) = sections[section as usize];
        data(&mut bytes[offset..offset + length]);
    };
    put(Section::IdOffsets, &mut |out| {
        let mut offset = 0_u64;
        out[..8].copy_from_slice(&0_u64.to_le_bytes());
        for (id, slot) in ids.iter().zip(out[8..].chunks_exact_mut(8)) {
            offset += id.len() as u64;
            slot.copy_from_slice(&offset.to_le_bytes());
        }
    });
    put(Section::IdBytes, &mut |out| {
        let mut at = 0;
        for id in ids {
            out[at..at + id.len()].copy_from_slice(id.as_bytes());
            at += id.len();
        }
    });
    put(Section::Order, &mut |out| fill_u32(out, &order));
    put(Section::Levels, &mut |out| out.copy_from_slice(&frozen.levels));
    put(Section::Deleted, &mut |out| {
        for (node, _) in deleted.iter().enumerate().filter(|(_, gone)| **gone) {
            out[node / 8] |= 1 << (node % 8);
        }
    });
    put(Section::Level0, &mut |out| fill_u32(out, &frozen.level0));
    put(Section::UpperOffsets, &mut |out| fill_u32(out, &frozen.upper_offsets));
    put(Section::Upper, &mut |out| fill_u32(out, &frozen.upper));
    put(Section::Parameters, &mut |out| fill_f32(out, &parameters_values));
    put(Section::Codes, &mut |out| {
        for (row, code) in
            vectors.chunks_exact(dimensions.max(1)).zip(out.chunks_exact_mut(code_bytes.max(1)))
        {
            codes::encode(kind, &parameters_values, row, code);
        }
    });
    put(Section::Full, &mut |out| fill_f32(out, vectors));
    let range = |section: Section| {
        let (offset, length) = sections[section as usize];
        offset..offset + length
    };
    let code_sums = checksum::row_sums(&bytes[range(Section::Codes)], code_bytes);
    fill_u32(&mut bytes[range(Section::CodeSums)], &code_sums);
    let row_sums = checksum::row_sums(&bytes[range(Section::Full)], dimensions * 4);
    fill_u32(&mut bytes[range(Section::FullSums)], &row_sums);
    let removed = deleted.iter().filter(|gone| **gone).count();
    let layout = Layout {
        dimensions,
        count,
        deleted: removed,
        parameters,
        entry: frozen.entry,
        generation: generation
            .unwrap_or_else(|| Generation { database: crate::UNTRUSTED.to_owned(), counter: 0 }),
        sections,
    };
    let section_sums = ALL_SECTIONS.map(|section| {
        if section.checked_at_open() {
            checksum::crc(&bytes[range(section)])
        } else {
            0
        }
    });
    write_header(&mut bytes[..HEADER], &layout, &section_sums);
    let verified = Verified::new(count, true);
    Ok(Hnsw { storage: Storage::Owned { words, length: end }, layout, verified })
}

fn fill_u32(out: &mut [u8], values: &[u32]) {
    for (slot, value) in out.chunks_exact_mut(4).zip(values) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

fn fill_f32(out: &mut [u8], values: &[f32]) {
    for (slot, value) in out.chunks_exact_mut(4).zip(values) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// Writes the header: the layout, the sections' sums, and its own sum.
fn write_header(out: &mut [u8], layout: &Layout, section_sums: &[u32; SECTIONS]) {
    let mut put = |at: usize, bytes: &[u8]| out[at..at + bytes.len()].copy_from_slice(bytes);
    put(0, MAGIC);
    put(8, &VERSION.to_le_bytes());
    put(12, &(layout.dimensions as u32).to_le_bytes());
    put(16, &(layout.count as u64).to_le_bytes());
    put(24, &(layout.deleted as u64).to_le_bytes());
    put(32, &(layout.parameters.m as u32).to_le_bytes());
    put(36, &(layout.parameters.ef_construction as u32).to_le_bytes());
    put(40, &layout.parameters.quantization.code().to_le_bytes());
    let (entry, top) = layout.entry.unwrap_or((NO_ENTRY, 0));
    put(44, &entry.to_le_bytes());
    put(48, &u32::from(top).to_le_bytes());
    put(56, &layout.generation.counter.to_le_bytes());
    let mut identity = [b' '; IDENTITY];
    let name = layout.generation.database.as_bytes();
    identity[..name.len().min(IDENTITY)].copy_from_slice(&name[..name.len().min(IDENTITY)]);
    put(64, &identity);
    put(96, &layout.parameters.seed.to_le_bytes());
    for (index, (offset, length)) in layout.sections.iter().enumerate() {
        put(TABLE + index * 16, &(*offset as u64).to_le_bytes());
        put(TABLE + index * 16 + 8, &(*length as u64).to_le_bytes());
    }
    for (index, sum) in section_sums.iter().enumerate() {
        put(SECTION_SUMS + index * 4, &sum.to_le_bytes());
    }
    let sum = checksum::crc(&out[..HEADER_SUM]);
    out[HEADER_SUM..HEADER].copy_from_slice(&sum.to_le_bytes());
}

/// The layout of the index in `bytes`, or what is wrong with them. Checks the header's sum and
/// that each section lies inside the file with the length the header's numbers give it.
fn parse(bytes: &[u8]) -> std::result::Result<Layout, String> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not an index file (or its header is damaged)".into());
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let version = u32_at(8);
    if version != VERSION {
        return Err(format!(
            "an index of format version {version}; this emb reads version {VERSION} (the next \
             emb write rebuilds it)"
        ));
    }
    if u32_at(HEADER_SUM) != checksum::crc(&bytes[..HEADER_SUM]) {
        return Err("its header does not match its checksum".into());
    }
    let bad = |what: &str| format!("its header holds an impossible {what}");
    let dimensions = u32_at(12) as usize;
    let count = usize::try_from(u64_at(16)).map_err(|_| bad("count"))?;
    let deleted = usize::try_from(u64_at(24)).map_err(|_| bad("count of deleted nodes"))?;
    let parameters = Parameters {
        m: u32_at(32) as usize,
        ef_construction: u32_at(36) as usize,
        quantization: Quantization::from_code(u32_at(40)).ok_or_else(|| bad("quantisation"))?,
        seed: u64_at(96),
    };
    let entry = match u32_at(44) {
        NO_ENTRY => None,
        node => Some((node, u8::try_from(u32_at(48)).map_err(|_| bad("entry level"))?)),
    };
    let database = std::str::from_utf8(&bytes[64..64 + IDENTITY])
        .map_err(|_| bad("database identity"))?
        .trim_end()
        .to_owned();
    let generation = Generation { database, counter: u64_at(56) };
    let mut sections = [(0, 0); SECTIONS];
    for (index, section) in sections.iter_mut().enumerate() {
        let offset = usize::try_from(u64_at(TABLE + index * 16)).unwrap_or(usize::MAX);
        let length = usize::try_from(u64_at(TABLE + index * 16 + 8)).unwrap_or(usize::MAX);
        if offset % ALIGN != 0 || offset.checked_add(length).is_none_or(|end| end > bytes.len()) {
            return Err(format!("its section {:?} lies outside the file", ALL_SECTIONS[index]));
        }
        *section = (offset, length);
    }
    if deleted > count || entry.is_some_and(|(node, _)| node as usize >= count) {
        return Err(bad("count of deleted nodes or entry node"));
    }
    let kind = parameters.quantization;
    let code_bytes = kind.code_bytes(dimensions);
    let codes = count.checked_mul(code_bytes);
    let rescored = |length: Option<usize>| if kind.rescores() { length } else { Some(0) };
    let expected = [
        (Section::IdOffsets, count.checked_add(1).and_then(|ids| ids.checked_mul(8))),
        (Section::Levels, Some(count)),
        (Section::Deleted, Some(count.div_ceil(64) * 8)),
        (
            Section::Level0,
            parameters.m.checked_mul(2).and_then(|m0| count.checked_mul(m0 + 1)?.checked_mul(4)),
        ),
        (Section::UpperOffsets, count.checked_mul(4)),
        (Section::Codes, codes),
        (Section::Order, (count - deleted).checked_mul(4)),
        (Section::Parameters, Some(kind.parameters(dimensions) * 4)),
        (Section::Full, rescored(count.checked_mul(dimensions).and_then(|n| n.checked_mul(4)))),
        (Section::CodeSums, count.checked_mul(4)),
        (Section::FullSums, rescored(count.checked_mul(4))),
    ];
    if let Some((section, _)) =
        expected.iter().find(|(section, length)| Some(sections[*section as usize].1) != *length)
    {
        return Err(format!("its {section:?} section has the wrong length"));
    }
    Ok(Layout { dimensions, count, deleted, parameters, entry, generation, sections })
}
