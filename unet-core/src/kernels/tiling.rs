//! How the kernels split their work: tiles of whole output rows sized for the cache, an output
//! buffer the tiles write at once (each its own elements), and the sum of per-tile
//! contributions (the weight gradients).

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};

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

/// Scratch buffers kept from one kernel call to the next. Rayon makes a fresh scratch for
/// every job it splits off, often one a tile, and a fresh `Vec` is zeroed as it grows: that
/// zeroing was 7% of a `predict`. A pooled scratch comes back already grown. The pool keeps at
/// most two a rayon thread (a few MiB in all), so what it holds stays bounded.
pub(super) struct Pool<T> {
    free: Mutex<Vec<T>>,
}

impl<T: Default> Pool<T> {
    /// An empty pool, for a `static`.
    pub(super) const fn new() -> Self {
        Self {
            free: Mutex::new(Vec::new()),
        }
    }

    /// A scratch from the pool, or a new one; it returns to the pool when dropped.
    pub(super) fn take(&'static self) -> Pooled<T> {
        let item = self.lock().pop().unwrap_or_default();
        Pooled { item, pool: self }
    }

    /// The free list; a panic elsewhere while it was held leaves it usable (it holds only
    /// scratch, whose contents nobody reads before writing).
    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.free.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A scratch taken from a [`Pool`], given back on drop.
pub(super) struct Pooled<T: Default + 'static> {
    item: T,
    pool: &'static Pool<T>,
}

impl<T: Default> Deref for Pooled<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.item
    }
}

impl<T: Default> DerefMut for Pooled<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.item
    }
}

impl<T: Default> Drop for Pooled<T> {
    fn drop(&mut self) {
        let mut free = self.pool.lock();
        if free.len() < 2 * rayon::current_num_threads() {
            free.push(std::mem::take(&mut self.item));
        }
    }
}

/// The sum over tiles `0..count` of what `add` writes for each into a zeroed buffer of `len`
/// elements, with rayon: one buffer and one scratch from `scratch` per rayon job, then added
/// up.
pub(super) fn sum_over_tiles<S: Default + Send>(
    count: usize,
    len: usize,
    scratch: &'static Pool<S>,
    add: impl Fn(&mut [f32], &mut S, usize) + Send + Sync,
) -> Vec<f32> {
    (0..count)
        .into_par_iter()
        .fold(
            || (vec![0.0f32; len], scratch.take()),
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

    /// Shares `buffer`, not yet written, for the length of the borrow: its elements must be
    /// written ([`SharedOut::fill`], [`SharedOut::write`]) before anything reads them.
    pub(super) fn uninit(buffer: &'a mut [MaybeUninit<f32>]) -> Self {
        Self {
            ptr: buffer.as_mut_ptr().cast(),
            len: buffer.len(),
            _buffer: std::marker::PhantomData,
        }
    }

    /// Sets `buffer[start..start + len]` to `value`.
    ///
    /// # Safety
    /// No other thread may touch those elements during the call.
    pub(super) unsafe fn fill(&self, start: usize, len: usize, value: f32) {
        assert!(start + len <= self.len, "fill out of bounds");
        for i in start..start + len {
            // SAFETY: in bounds by the assert; exclusive by the caller's promise. A raw write
            // needs no initialised value there.
            unsafe { self.ptr.add(i).write(value) };
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

    /// [`product`] added to the buffer from `offset` on.
    ///
    /// # Safety
    /// No other thread may touch the elements it writes during the call, and they must have
    /// been written before.
    pub(super) unsafe fn add_product(
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
                true,
                lhs,
                rhs,
                dims,
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scratch_given_back_comes_out_again_with_its_contents_and_the_pool_stays_bounded() {
        static POOL: Pool<Vec<f32>> = Pool::new();
        let mut first = POOL.take();
        first.resize(1000, 7.0);
        drop(first);
        // The buffer that comes out again is the grown one: nothing to zero.
        assert_eq!(*POOL.take(), vec![7.0; 1000]);
        let limit = 2 * rayon::current_num_threads();
        let many: Vec<_> = (0..limit + 3).map(|_| POOL.take()).collect();
        drop(many);
        assert_eq!(POOL.lock().len(), limit);
    }

    #[test]
    fn a_pool_poisoned_by_a_panic_still_hands_out_scratch() {
        static POOL: Pool<Vec<f32>> = Pool::new();
        let held = std::panic::catch_unwind(|| {
            let _guard = POOL.lock();
            panic!("while holding the pool");
        });
        assert!(held.is_err());
        POOL.take().push(1.0);
        assert_eq!(*POOL.take(), vec![1.0]);
    }
}
