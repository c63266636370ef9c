//! How the kernels split their work: tiles of whole output rows sized for the cache, an output
//! buffer the tiles write at once (each its own elements), and the sum of per-tile
//! contributions (the weight gradients).

use rayon::prelude::*;

use super::matmul::{product_raw, View};

/// Column-buffer elements a tile aims for (1 MiB of f32: the tile stays in L2).
const TILE_ELEMENTS: usize = 1 << 18;
/// Fewest positions in a tile, so a GEMM's long dimension never gets too short to pay for its
/// packing.
const MIN_TILE_POSITIONS: usize = 256;

/// Each image's `[rows, cols]` grid of positions (output pixels for a conv, input pixels for
/// the up-sampling) split into tiles of whole rows, each with about [`TILE_ELEMENTS`] entries
/// of its `[columns, positions]` buffer; tile `t` of all images is image `t / per_image`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tiles {
    /// Rows per tile (the last tile of an image may have fewer).
    rows: usize,
    /// Tiles per image.
    per_image: usize,
    /// The grid's rows and columns.
    grid: [usize; 2],
}

impl Tiles {
    /// Tiles of a `grid` of positions with `columns` buffer entries per position.
    pub fn new(columns: usize, grid: [usize; 2]) -> Self {
        let positions = (TILE_ELEMENTS / columns.max(1)).max(MIN_TILE_POSITIONS);
        let rows = positions.div_ceil(grid[1].max(1)).clamp(1, grid[0].max(1));
        Self {
            rows,
            per_image: grid[0].div_ceil(rows),
            grid,
        }
    }

    /// Tiles over `images` images.
    pub fn count(&self, images: usize) -> usize {
        images * self.per_image
    }

    /// Image and grid rows of tile `t`.
    pub fn get(&self, t: usize) -> (usize, std::ops::Range<usize>) {
        let first = (t % self.per_image) * self.rows;
        (
            t / self.per_image,
            first..(first + self.rows).min(self.grid[0]),
        )
    }
}

/// The sum over tiles `0..count` of what `add` writes for each into a zeroed buffer of `len`
/// elements, with rayon: one buffer and one scratch `S` per rayon job, then added up.
pub(super) fn sum_over_tiles<S: Default + Send>(
    count: usize,
    len: usize,
    add: impl Fn(&mut [f32], &mut S, usize) + Send + Sync,
) -> Vec<f32> {
    (0..count)
        .into_par_iter()
        .fold(
            || (vec![0.0f32; len], S::default()),
            |(mut acc, mut scratch), t| {
                add(&mut acc, &mut scratch, t);
                (acc, scratch)
            },
        )
        .map(|(acc, _)| acc)
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            a
        })
        .unwrap_or_else(|| vec![0.0; len])
}

/// An output buffer written by many tiles at once, each its own elements; it keeps the
/// buffer borrowed for as long as it lives.
pub(super) struct SharedOut<'a> {
    ptr: *mut f32,
    len: usize,
    _buffer: std::marker::PhantomData<&'a mut [f32]>,
}

// SAFETY: the tiles that share it write disjoint elements (each caller's promise), and the
// borrow it holds keeps the buffer alive and otherwise untouched meanwhile.
unsafe impl Send for SharedOut<'_> {}
unsafe impl Sync for SharedOut<'_> {}

impl<'a> SharedOut<'a> {
    /// Shares `buffer` for the length of the borrow.
    pub(super) fn new(buffer: &'a mut [f32]) -> Self {
        Self {
            ptr: buffer.as_mut_ptr(),
            len: buffer.len(),
            _buffer: std::marker::PhantomData,
        }
    }

    /// Copies `values` to `buffer[start..start + values.len()]`.
    ///
    /// # Safety
    /// No other thread may touch those elements during the call.
    pub(super) unsafe fn write(&self, start: usize, values: &[f32]) {
        assert!(start + values.len() <= self.len, "write out of bounds");
        // SAFETY: in bounds by the assert; exclusive by the caller's promise; `values` is
        // another buffer (a shared borrow cannot alias the exclusively borrowed output).
        unsafe {
            std::ptr::copy_nonoverlapping(values.as_ptr(), self.ptr.add(start), values.len())
        };
    }

    /// `buffer[start..start + len]`, to write in place.
    ///
    /// # Safety
    /// No other thread may touch those elements, and no other slice of them may exist, while
    /// the returned slice lives.
    #[allow(clippy::mut_from_ref)] // Disjoint writers are the point of this type.
    pub(super) unsafe fn slice_mut(&self, start: usize, len: usize) -> &mut [f32] {
        assert!(start + len <= self.len, "slice out of bounds");
        // SAFETY: in bounds by the assert; exclusive by the caller's promise.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(start), len) }
    }

    /// [`product`] into the buffer from `offset` on, overwriting.
    ///
    /// # Safety
    /// No other thread may touch the elements it writes during the call.
    pub(super) unsafe fn product(
        &self,
        offset: usize,
        strides: [usize; 2],
        lhs: View<'_>,
        rhs: View<'_>,
        dims: [usize; 3],
    ) {
        assert!(offset <= self.len, "offset out of bounds");
        // SAFETY: `ptr + offset .. ptr + len` lies in the borrowed buffer, which `lhs` and
        // `rhs` (shared borrows) cannot overlap; exclusivity is the caller's promise.
        unsafe {
            product_raw(
                self.ptr.add(offset),
                self.len - offset,
                strides,
                false,
                lhs,
                rhs,
                dims,
            )
        };
    }
}
