//! Building the HNSW graph: nodes inserted concurrently, each node's links guarded by its own
//! lock (as in the original paper's reference implementation), then frozen into flat arrays.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering as Memory};
use std::sync::{Mutex, MutexGuard, PoisonError};

use emb_core::distance;

/// A node and its distance (`1 - cosine`) from whatever is being searched for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Near {
    pub distance: f32,
    pub node: u32,
}

impl PartialEq for Near {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Near {}
impl PartialOrd for Near {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Near {
    fn cmp(&self, other: &Self) -> Ordering {
        self.distance.total_cmp(&other.distance).then(self.node.cmp(&other.node))
    }
}

/// Which nodes a search has already seen: a mark per node, cleared in O(1) by moving to the next
/// epoch.
pub(crate) struct Visited {
    marks: Vec<u16>,
    epoch: u16,
}

impl Visited {
    pub fn new() -> Self {
        Self { marks: Vec::new(), epoch: 0 }
    }

    /// Forgets every mark, for a search over `nodes` nodes.
    pub fn reset(&mut self, nodes: usize) {
        if self.marks.len() < nodes {
            self.marks.resize(nodes, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.iter_mut().for_each(|mark| *mark = 0);
            self.epoch = 1;
        }
    }

    /// Marks `node`; whether it was unmarked.
    #[inline]
    pub fn insert(&mut self, node: u32) -> bool {
        let mark = &mut self.marks[node as usize];
        let fresh = *mark != self.epoch;
        *mark = self.epoch;
        fresh
    }
}

/// How many links ahead of the one being scored a walk asks for codes to load. Asking for all of
/// a node's links at once (up to 32 vectors of several cache lines) fills the core's queue of
/// outstanding loads, and the prefetches themselves stall: on GloVe 100-d at ef 200, 4 ahead
/// answered 2,960-3,130 queries/s against 2,160-2,440 for all at once (perf: 15% of the time had
/// gone to the prefetch instructions), and the build, which walks the same way, took 54.9 s
/// instead of 69.7 s.
pub(crate) const PREFETCH_AHEAD: usize = 4;

/// The most of one vector prefetched explicitly; the hardware streams the rest. With vectors
/// asked for only [`PREFETCH_AHEAD`] links ahead, a whole 384-d vector (1,536 bytes) is worth it:
/// 41,800-41,900 queries/s on minilm20k at ef 10 against 38,600-38,900 with the first 512 bytes.
const PREFETCH_BYTES: usize = 2048;

/// Asks the CPU to start loading the cache lines of `values` (up to [`PREFETCH_BYTES`]).
#[inline]
pub(crate) fn prefetch<T>(values: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        let start = values.as_ptr().cast::<i8>();
        let bytes = std::mem::size_of_val(values).min(PREFETCH_BYTES);
        for offset in (0..bytes).step_by(64) {
            // SAFETY: prefetching is a hint that never faults; the address is inside `values`.
            unsafe {
                std::arch::x86_64::_mm_prefetch(start.add(offset), std::arch::x86_64::_MM_HINT_T0);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = values;
}

/// The links of a graph being built.
pub(crate) struct Builder<'a> {
    /// Links per node above level 0.
    pub m: usize,
    /// Links per node on level 0 (twice `m`).
    pub m0: usize,
    pub ef_construction: usize,
    dimensions: usize,
    /// Normalised vectors, row-major, one per node.
    vectors: &'a [f32],
    pub levels: Vec<u8>,
    /// Level 0: per node, a count then `m0` slots. Written only under the node's lock.
    level0: Vec<AtomicU32>,
    /// Per node, its links above level 0 (`level × (1 + m)`: a count then `m` slots per level);
    /// the mutex is also the node's lock for level 0.
    upper: Vec<Mutex<Vec<u32>>>,
    /// The entry point and the top level: `None` until the first node is in.
    entry: Mutex<Option<(u32, u8)>>,
}

/// A graph's links, frozen into flat arrays.
pub(crate) struct Frozen {
    pub levels: Vec<u8>,
    pub level0: Vec<u32>,
    pub upper_offsets: Vec<u32>,
    pub upper: Vec<u32>,
    pub entry: Option<(u32, u8)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'a> Builder<'a> {
    /// An empty graph over `vectors` (`levels.len()` rows of `dimensions`), whose nodes will be
    /// inserted with the given levels.
    pub fn new(
        m: usize,
        ef_construction: usize,
        dimensions: usize,
        vectors: &'a [f32],
        levels: Vec<u8>,
    ) -> Self {
        let m0 = 2 * m;
        let count = levels.len();
        let upper =
            levels.iter().map(|&level| Mutex::new(vec![0; usize::from(level) * (1 + m)])).collect();
        let level0 = (0..count * (1 + m0)).map(|_| AtomicU32::new(0)).collect();
        Self {
            m,
            m0,
            ef_construction,
            dimensions,
            vectors,
            levels,
            level0,
            upper,
            entry: Mutex::new(None),
        }
    }

    /// A graph over `vectors` with the links of `frozen` (whose nodes are the first of
    /// `levels`), ready to take more nodes.
    pub fn thaw(
        m: usize,
        ef_construction: usize,
        dimensions: usize,
        vectors: &'a [f32],
        levels: Vec<u8>,
        frozen: &FrozenView<'_>,
    ) -> Self {
        let builder = Self::new(m, ef_construction, dimensions, vectors, levels);
        let known = frozen.levels.len();
        for node in 0..known {
            let node32 = node as u32;
            let links = frozen.neighbours(node32, 0);
            builder.write_links(node32, 0, links);
            for level in 1..=frozen.levels[node] {
                builder.write_links(node32, level, frozen.neighbours(node32, level));
            }
        }
        *lock(&builder.entry) = frozen.entry;
        builder
    }

    fn vector(&self, node: u32) -> &[f32] {
        let start = node as usize * self.dimensions;
        &self.vectors[start..start + self.dimensions]
    }

    fn distance(&self, a: &[f32], node: u32) -> f32 {
        1.0 - distance::dot(a, self.vector(node))
    }

    fn capacity(&self, level: u8) -> usize {
        if level == 0 {
            self.m0
        } else {
            self.m
        }
    }

    /// Copies the links of `node` on `level` into `out` (taking the node's lock).
    fn read_links(&self, node: u32, level: u8, out: &mut Vec<u32>) {
        let guard = lock(&self.upper[node as usize]);
        self.copy_locked(&guard, node, level, out);
    }

    /// Copies the links of `node` on `level` into `out`; `upper` is the node's locked upper
    /// links.
    fn copy_locked(&self, upper: &[u32], node: u32, level: u8, out: &mut Vec<u32>) {
        out.clear();
        if level == 0 {
            let base = node as usize * (1 + self.m0);
            let count = self.level0[base].load(Memory::Relaxed) as usize;
            out.extend(
                self.level0[base + 1..base + 1 + count]
                    .iter()
                    .map(|slot| slot.load(Memory::Relaxed)),
            );
        } else {
            let base = (usize::from(level) - 1) * (1 + self.m);
            let count = upper[base] as usize;
            out.extend_from_slice(&upper[base + 1..base + 1 + count]);
        }
    }

    /// Replaces the links of `node` on `level` (taking the node's lock).
    fn write_links(&self, node: u32, level: u8, links: &[u32]) {
        let mut guard = lock(&self.upper[node as usize]);
        self.write_locked(&mut guard, node, level, links);
    }

    fn write_locked(&self, upper: &mut [u32], node: u32, level: u8, links: &[u32]) {
        let links = &links[..links.len().min(self.capacity(level))];
        if level == 0 {
            let base = node as usize * (1 + self.m0);
            for (slot, &link) in self.level0[base + 1..].iter().zip(links) {
                slot.store(link, Memory::Relaxed);
            }
            self.level0[base].store(links.len() as u32, Memory::Relaxed);
        } else {
            let base = (usize::from(level) - 1) * (1 + self.m);
            upper[base + 1..base + 1 + links.len()].copy_from_slice(links);
            upper[base] = links.len() as u32;
        }
    }

    /// Inserts every node of `nodes` into the graph, on `threads` threads, calling `progress`
    /// with the number inserted so far now and then.
    pub fn insert_all(
        &self,
        nodes: std::ops::Range<u32>,
        threads: usize,
        progress: &(dyn Fn(u64) + Sync),
    ) {
        let mut next = nodes.start;
        if lock(&self.entry).is_none() && next < nodes.end {
            self.insert(next, &mut Visited::new());
            next += 1;
        }
        let cursor = AtomicUsize::new(next as usize);
        let done = AtomicUsize::new((next - nodes.start) as usize);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut visited = Visited::new();
                    loop {
                        let node = cursor.fetch_add(1, Memory::Relaxed);
                        if node >= nodes.end as usize {
                            break;
                        }
                        self.insert(node as u32, &mut visited);
                        let finished = done.fetch_add(1, Memory::Relaxed) + 1;
                        if finished.is_multiple_of(1024) {
                            progress(finished as u64);
                        }
                    }
                });
            }
        });
        progress(done.load(Memory::Relaxed) as u64);
    }

    /// Inserts one node (its vector and level are already known).
    fn insert(&self, node: u32, visited: &mut Visited) {
        let level = self.levels[node as usize];
        let mut guard = lock(&self.entry);
        let Some((entry, top)) = *guard else {
            // The first node.
            *guard = Some((node, level));
            return;
        };
        // A node that raises the top level keeps the entry lock until it is linked in.
        let entry_guard = if level > top {
            Some(guard)
        } else {
            drop(guard);
            None
        };
        let query = self.vector(node);
        let mut current = Near { distance: self.distance(query, entry), node: entry };
        let mut links = Vec::with_capacity(self.m0 + 1);
        for layer in (level + 1..=top).rev() {
            current = self.greedy(query, current, layer, &mut links);
        }
        let mut entries = vec![current];
        for layer in (0..=level.min(top)).rev() {
            let found = self.search_layer(query, &entries, self.ef_construction, layer, visited);
            let chosen = self.select(&found, self.m);
            let chosen_nodes: Vec<u32> = chosen.iter().map(|near| near.node).collect();
            self.write_links(node, layer, &chosen_nodes);
            for near in &chosen {
                self.connect(near.node, node, near.distance, layer, &mut links);
            }
            entries = found;
        }
        if let Some(mut guard) = entry_guard {
            if level > top {
                *guard = Some((node, level));
            }
        }
    }

    /// Walks greedily on `level` from `current` to the node nearest `query`.
    fn greedy(&self, query: &[f32], mut current: Near, level: u8, links: &mut Vec<u32>) -> Near {
        loop {
            let mut moved = false;
            self.read_links(current.node, level, links);
            for &link in links.iter() {
                let distance = self.distance(query, link);
                if distance < current.distance {
                    current = Near { distance, node: link };
                    moved = true;
                }
            }
            if !moved {
                return current;
            }
        }
    }

    /// The `ef` nodes nearest `query` on `level` reachable from `entries`, nearest first.
    fn search_layer(
        &self,
        query: &[f32],
        entries: &[Near],
        ef: usize,
        level: u8,
        visited: &mut Visited,
    ) -> Vec<Near> {
        visited.reset(self.levels.len());
        let mut candidates = BinaryHeap::with_capacity(ef * 2);
        let mut found = BinaryHeap::with_capacity(ef + 1);
        for &entry in entries {
            if visited.insert(entry.node) {
                candidates.push(Reverse(entry));
                found.push(entry);
            }
        }
        while found.len() > ef {
            found.pop();
        }
        let mut links = Vec::with_capacity(self.m0);
        while let Some(Reverse(nearest)) = candidates.pop() {
            let worst = found.peek().map_or(f32::INFINITY, |near: &Near| near.distance);
            if nearest.distance > worst && found.len() >= ef {
                break;
            }
            self.read_links(nearest.node, level, &mut links);
            // Keep the unseen links, and load each one's vector while the few before it are
            // scored: the walk waits on memory, not on arithmetic.
            links.retain(|&link| visited.insert(link));
            for &link in links.iter().take(PREFETCH_AHEAD) {
                prefetch(self.vector(link));
            }
            for (index, &link) in links.iter().enumerate() {
                if let Some(&later) = links.get(index + PREFETCH_AHEAD) {
                    prefetch(self.vector(later));
                }
                let distance = self.distance(query, link);
                let worst = found.peek().map_or(f32::INFINITY, |near: &Near| near.distance);
                if found.len() < ef || distance < worst {
                    let near = Near { distance, node: link };
                    candidates.push(Reverse(near));
                    found.push(near);
                    if found.len() > ef {
                        found.pop();
                    }
                }
            }
        }
        found.into_sorted_vec()
    }

    /// At most `m` of `candidates` (nearest first) chosen to spread out: a candidate is kept
    /// only if it is nearer the base than to every one kept before it.
    fn select(&self, candidates: &[Near], m: usize) -> Vec<Near> {
        if candidates.len() <= m {
            return candidates.to_vec();
        }
        let mut chosen: Vec<Near> = Vec::with_capacity(m);
        for &candidate in candidates {
            if chosen.len() >= m {
                break;
            }
            let vector = self.vector(candidate.node);
            if chosen.iter().all(|kept| self.distance(vector, kept.node) >= candidate.distance) {
                chosen.push(candidate);
            }
        }
        chosen
    }

    /// Adds `new` (at `distance`) to the links of `node` on `level`, pruning them if full.
    fn connect(&self, node: u32, new: u32, distance: f32, level: u8, scratch: &mut Vec<u32>) {
        let mut guard = lock(&self.upper[node as usize]);
        self.copy_locked(&guard, node, level, scratch);
        if scratch.contains(&new) {
            return;
        }
        let capacity = self.capacity(level);
        if scratch.len() < capacity {
            scratch.push(new);
            let links = std::mem::take(scratch);
            self.write_locked(&mut guard, node, level, &links);
            *scratch = links;
            return;
        }
        let base = self.vector(node);
        let mut candidates: Vec<Near> = scratch
            .iter()
            .map(|&link| Near { distance: self.distance(base, link), node: link })
            .collect();
        candidates.push(Near { distance, node: new });
        candidates.sort_unstable();
        let kept: Vec<u32> =
            self.select(&candidates, capacity).iter().map(|near| near.node).collect();
        self.write_locked(&mut guard, node, level, &kept);
    }

    /// The links as flat arrays.
    pub fn freeze(self) -> Frozen {
        let level0 = self.level0.into_iter().map(AtomicU32::into_inner).collect();
        let mut upper_offsets = Vec::with_capacity(self.levels.len());
        let mut upper = Vec::new();
        for links in self.upper {
            let links = links.into_inner().unwrap_or_else(PoisonError::into_inner);
            upper_offsets.push(upper.len() as u32);
            upper.extend_from_slice(&links);
        }
        Frozen {
            levels: self.levels,
            level0,
            upper_offsets,
            upper,
            entry: self.entry.into_inner().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

/// Frozen links, borrowed (from memory or from a mapped file).
#[derive(Clone, Copy)]
pub(crate) struct FrozenView<'a> {
    pub m: usize,
    pub m0: usize,
    pub levels: &'a [u8],
    pub level0: &'a [u32],
    pub upper_offsets: &'a [u32],
    pub upper: &'a [u32],
    pub entry: Option<(u32, u8)>,
}

impl FrozenView<'_> {
    /// Asks the CPU to start loading the level-0 links of `node`.
    #[inline]
    pub fn prefetch_links(&self, node: u32) {
        let base = node as usize * (1 + self.m0);
        prefetch(&self.level0[base..base + 1 + self.m0]);
    }

    /// The links of `node` on `level`.
    #[inline]
    pub fn neighbours(&self, node: u32, level: u8) -> &[u32] {
        if level == 0 {
            let base = node as usize * (1 + self.m0);
            let count = (self.level0[base] as usize).min(self.m0);
            &self.level0[base + 1..base + 1 + count]
        } else {
            let base = self.upper_offsets[node as usize] as usize
                + (usize::from(level) - 1) * (1 + self.m);
            let count = (self.upper[base] as usize).min(self.m);
            &self.upper[base + 1..base + 1 + count]
        }
    }
}
