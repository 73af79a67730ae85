//! Every item's nearest neighbours at once: the collection's normalised matrix multiplied by
//! itself a block of rows at a time (one GEMM per block), each row's top k kept.

use emb_core::topk::TopK;
use gemm::Parallelism;
use rayon::prelude::*;

use crate::exact::VectorFile;

/// Query rows per GEMM block: large enough for the GEMM to run at speed, small enough that the
/// block's scores (`BLOCK x count` floats) stay modest.
const BLOCK: usize = 256;

/// Calls `visit(row, neighbours)` for every row of `file`, in row order, with its `k` most
/// similar other rows as `(row, cosine)`, best first; stops at the first error `visit` returns.
pub fn all_neighbours<E>(
    file: &VectorFile,
    k: usize,
    visit: &mut dyn FnMut(usize, Vec<(usize, f32)>) -> Result<(), E>,
) -> Result<(), E> {
    let (count, dimensions) = (file.len(), file.dimensions());
    let matrix = file.matrix();
    let mut scores = vec![0.0_f32; BLOCK.min(count) * count];
    for start in (0..count).step_by(BLOCK) {
        let rows = BLOCK.min(count - start);
        let block = &matrix[start * dimensions..(start + rows) * dimensions];
        let scores = &mut scores[..rows * count];
        // SAFETY: `block` is rows x dimensions row-major; `matrix` is count x dimensions
        // row-major, read as its transpose (dimensions x count); `scores` is rows x count
        // row-major, and every index the strides reach is inside these slices.
        unsafe {
            gemm::gemm(
                rows,
                count,
                dimensions,
                scores.as_mut_ptr(),
                1,
                count as isize,
                false,
                block.as_ptr(),
                1,
                dimensions as isize,
                matrix.as_ptr(),
                dimensions as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                Parallelism::Rayon(0),
            );
        }
        let best: Vec<Vec<(usize, f32)>> = scores
            .par_chunks(count)
            .enumerate()
            .map(|(offset, row_scores)| {
                let row = start + offset;
                let mut top = TopK::new(k);
                for (other, &score) in row_scores.iter().enumerate() {
                    if other != row && score > top.threshold() {
                        top.push(score, other);
                    }
                }
                top.into_sorted().into_iter().map(|(score, other)| (other, score)).collect()
            })
            .collect();
        for (offset, neighbours) in best.into_iter().enumerate() {
            visit(start + offset, neighbours)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use emb_core::store::Generation;

    use super::*;
    use emb_core::index::{Query, VectorIndex};

    #[test]
    fn agrees_with_one_search_per_item() {
        let folder = tempfile::tempdir().unwrap();
        let mut state = 99_u64;
        let mut next = || {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            ((state >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        // More rows than one block, so the blocks' seams are crossed.
        let vectors: Vec<Vec<f32>> = (0..600).map(|_| (0..24).map(|_| next()).collect()).collect();
        let file = VectorFile::build(&folder.path().join("v"), |writer| {
            for (index, vector) in vectors.iter().enumerate() {
                writer.push(&format!("{index:04}"), &emb_core::blob::encode(vector))?;
            }
            Ok(Some(Generation { database: "test".into(), counter: 1 }))
        })
        .unwrap();
        let mut visited = 0;
        all_neighbours(&file, 5, &mut |row, neighbours| {
            let id = file.id(row).to_owned();
            let expected = file
                .search(&Query { k: 5, exclude: Some(&id), ..Query::new(file.row(row)) })
                .unwrap();
            assert_eq!(neighbours.len(), 5);
            for ((other, score), hit) in neighbours.iter().zip(&expected) {
                assert_eq!(file.id(*other), hit.id, "row {row}");
                assert!((score - hit.score).abs() < 1e-5);
            }
            visited += 1;
            Ok::<(), crate::Error>(())
        })
        .unwrap();
        assert_eq!(visited, 600);
    }
}
