//! [`SharedMatrix`]: the weights every training thread reads and writes at once, without locks.
//!
//! This is the one place training needs `unsafe`. word2vec (the C original, gensim's Cython,
//! fastText) trains "Hogwild": threads update the shared vectors with plain loads and stores and
//! no synchronisation, betting that two threads rarely touch the same row at the same moment,
//! and that when they do, a lost or half-applied update is noise that stochastic gradient
//! descent absorbs (Recht et al., 2011). Locks or atomic read-modify-writes per float would cost
//! more than the arithmetic they guard, and atomic loads and stores cannot be vectorised.
//!
//! # Safety argument
//!
//! - Rows never move or change size while threads run: the storage is allocated once, before
//!   the threads start, and handed back only after every thread has joined
//!   ([`std::thread::scope`]). Row indexes are checked against the row count.
//! - Within one thread no two live slices of the same matrix overlap: the trainer holds at most
//!   one row of a matrix mutably at a time, and the input and output vectors live in separate
//!   matrices (see `worker.rs`). So a single-threaded run is ordinary, race-free code, and is
//!   exactly reproducible for a seed.
//! - Across threads the same row may be read and written at once. In Rust's memory model, as in
//!   C's, that is a data race and so formally undefined behaviour; it is the same race the
//!   reference implementations run. What makes it benign in practice: the accesses are aligned
//!   `f32` loads and stores (no float is ever torn on the targets we build for), every slice
//!   lives for one prediction at most (so no stale copy of a row outlives it), and no control
//!   flow depends on a racy value beyond a comparison of a dot product, whose worst case is a
//!   skipped or extra update. Indexes never come from the shared weights.
//!
//! Rows are padded to whole [`Block`]s of 16 floats, 64-byte aligned, so that the kernels run
//! on full vector registers with no remainder loop and rows never share a cache line. The
//! padding stays zero: it is never written but as `0 × g`.

use memmap2::MmapMut;

/// Floats per [`Block`].
pub(crate) const LANES: usize = 16;

/// Sixteen floats on a 64-byte boundary: one AVX-512 register, two AVX2 ones, one cache line.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct Block(pub [f32; LANES]);

impl Block {
    /// All zeros.
    pub const ZERO: Self = Self([0.0; LANES]);
}

/// The number of blocks a row of `dimensions` floats takes.
pub(crate) fn blocks_for(dimensions: usize) -> usize {
    dimensions.div_ceil(LANES)
}

/// A matrix of `f32` rows that several threads update at once without locks (see the module
/// documentation for why that is acceptable here and what it costs).
///
/// The rows live in an anonymous memory map, which starts zeroed and page-aligned; on Linux it
/// asks for transparent huge pages, since a large vocabulary's rows are reached at random and
/// 4 KiB pages would make nearly every such access a TLB miss as well as a cache miss.
pub(crate) struct SharedMatrix {
    /// Owns the memory. Never used again until the matrix is dropped: every access goes
    /// through `start`.
    _map: MmapMut,
    start: *mut Block,
    rows: usize,
    row_blocks: usize,
}

// SAFETY: the matrix is shared between the training threads on purpose; the races that follow
// are those of Hogwild training, argued for in the module documentation. The pointer is to
// memory the matrix owns.
unsafe impl Sync for SharedMatrix {}
// SAFETY: as above; the map may be unmapped from any thread.
unsafe impl Send for SharedMatrix {}

impl SharedMatrix {
    /// `rows` rows of `dimensions` zeros.
    pub fn zeros(rows: usize, dimensions: usize) -> Self {
        let row_blocks = blocks_for(dimensions);
        let bytes = (rows * row_blocks * size_of::<Block>()).max(size_of::<Block>());
        let mut map = MmapMut::map_anon(bytes).expect("memory for the training weights");
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage); // a hint: without it, all still works
                                                       // Maps start on a page boundary, which is 64-byte aligned.
        #[allow(clippy::cast_ptr_alignment)]
        let start = map.as_mut_ptr().cast::<Block>();
        assert!(start.is_aligned(), "an anonymous map on a page boundary");
        Self { _map: map, start, rows, row_blocks }
    }

    /// `rows` rows of `dimensions` values, each made by `value` (called row by row, in order).
    pub fn from_fn(rows: usize, dimensions: usize, mut value: impl FnMut() -> f32) -> Self {
        let matrix = Self::zeros(rows, dimensions);
        for row in 0..rows {
            // SAFETY: no other slice of the matrix exists yet.
            let blocks = unsafe { matrix.row_mut(row) };
            for index in 0..dimensions {
                blocks[index / LANES].0[index % LANES] = value();
            }
        }
        matrix
    }

    /// Blocks per row.
    pub fn row_blocks(&self) -> usize {
        self.row_blocks
    }

    /// Row `row`, to read.
    ///
    /// # Safety
    ///
    /// The calling thread must hold no mutable slice of the same row while this one lives.
    /// Other threads may write the row meanwhile (the Hogwild race of the module docs).
    #[inline(always)]
    pub unsafe fn row(&self, row: usize) -> &[Block] {
        assert!(row < self.rows, "row {row} of a {}-row matrix", self.rows);
        // SAFETY: in bounds (checked above) of memory the matrix owns, aligned for `Block` (the
        // map is page-aligned); aliasing as the caller promised.
        unsafe {
            std::slice::from_raw_parts(self.start.add(row * self.row_blocks), self.row_blocks)
        }
    }

    /// Row `row`, to update.
    ///
    /// # Safety
    ///
    /// The calling thread must hold no other slice of the same row while this one lives. Other
    /// threads may read and write the row meanwhile (the Hogwild race of the module docs).
    #[inline(always)]
    #[allow(clippy::mut_from_ref)] // the matrix is shared memory, written through `&self`
    pub unsafe fn row_mut(&self, row: usize) -> &mut [Block] {
        assert!(row < self.rows, "row {row} of a {}-row matrix", self.rows);
        // SAFETY: as in `row`.
        unsafe {
            std::slice::from_raw_parts_mut(self.start.add(row * self.row_blocks), self.row_blocks)
        }
    }

    /// Asks the CPU to bring row `row` into its caches ahead of use (a hint: nothing is read).
    #[inline(always)]
    pub fn prefetch(&self, row: usize) {
        #[cfg(target_arch = "x86_64")]
        for block in 0..self.row_blocks {
            let address = self.start.wrapping_add(row * self.row_blocks + block);
            // SAFETY: a prefetch reads nothing and cannot fault, whatever the address.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                    address.cast::<i8>(),
                );
            }
        }
    }

    /// The rows cut back to `dimensions` values each, row-major.
    pub fn into_values(self, dimensions: usize) -> Vec<f32> {
        let mut values = Vec::with_capacity(self.rows * dimensions);
        for row in 0..self.rows {
            // SAFETY: the matrix is owned here, so no other slice of it exists.
            let blocks = unsafe { self.row(row) };
            values.extend(blocks.iter().flat_map(|block| block.0).take(dimensions));
        }
        values
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_padded_to_whole_aligned_blocks() {
        let mut next = 0.0;
        let matrix = SharedMatrix::from_fn(3, 20, || {
            next += 1.0;
            next
        });
        assert_eq!(matrix.row_blocks(), 2);
        // SAFETY: one thread, one slice at a time.
        let row = unsafe { matrix.row(1) };
        assert_eq!(row.as_ptr() as usize % 64, 0);
        assert_eq!(row[0].0[0], 21.0);
        assert_eq!(row[1].0[3], 40.0);
        assert_eq!(row[1].0[4..], [0.0; 12]);
        let values = matrix.into_values(20);
        assert_eq!(values.len(), 60);
        assert_eq!(values[..3], [1.0, 2.0, 3.0]);
        assert_eq!(values[59], 60.0);
    }

    #[test]
    fn updates_through_one_row_are_seen_by_the_next_read() {
        let matrix = SharedMatrix::zeros(2, 16);
        // SAFETY: one thread, one slice at a time.
        unsafe { matrix.row_mut(1)[0].0[5] = 2.5 };
        assert_eq!(unsafe { matrix.row(1) }[0].0[5], 2.5);
        assert_eq!(unsafe { matrix.row(0) }[0], Block::ZERO);
    }

    #[test]
    #[should_panic(expected = "row 2 of a 2-row matrix")]
    fn rows_out_of_range_panic() {
        let matrix = SharedMatrix::zeros(2, 4);
        // SAFETY: one thread, one slice at a time.
        let _ = unsafe { matrix.row(2) };
    }
}
