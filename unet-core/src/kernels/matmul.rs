//! The one GEMM entry of the kernels: strided f32 views, bounds-checked, into the `gemm` crate
//! (the one flex itself uses), single-threaded per call (the kernels parallelise over tiles).

/// A strided matrix in a slice: element `(r, c)` is `data[r * rs + c * cs]`.
#[derive(Clone, Copy, Debug)]
pub(super) struct View<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> View<'a> {
    /// A view of `data` with the given strides.
    pub fn new(data: &'a [f32], rs: usize, cs: usize) -> Self {
        Self { data, rs, cs }
    }

    /// Asserts that a `rows x cols` matrix with these strides lies inside the data.
    fn check(&self, rows: usize, cols: usize, what: &str) {
        if rows > 0 && cols > 0 {
            let last = (rows - 1) * self.rs + (cols - 1) * self.cs;
            assert!(last < self.data.len(), "{what} out of bounds");
        }
    }
}

/// `dst(m, p) [+]= sum_c lhs(m, c) * rhs(c, p)` for `[m, p, c] < [rows, cols, depth]`, where
/// `dst(m, p)` is `dst[m * dst_rs + p * dst_cs]`; added to `dst` when `accumulate`.
pub(super) fn product(
    dst: &mut [f32],
    [dst_rs, dst_cs]: [usize; 2],
    accumulate: bool,
    lhs: View<'_>,
    rhs: View<'_>,
    dims: [usize; 3],
) {
    let len = dst.len();
    // SAFETY: `dst` is an exclusive borrow of `len` elements, distinct from `lhs` and `rhs`.
    unsafe {
        product_raw(
            dst.as_mut_ptr(),
            len,
            [dst_rs, dst_cs],
            accumulate,
            lhs,
            rhs,
            dims,
        )
    }
}

/// [`product`] into `len` elements from `dst`, which other threads may be writing elsewhere.
///
/// # Safety
/// `dst..dst + len` must be valid for writes, must not overlap `lhs` or `rhs`, and no other
/// thread may touch the elements this product writes during the call.
pub(super) unsafe fn product_raw(
    dst: *mut f32,
    len: usize,
    [dst_rs, dst_cs]: [usize; 2],
    accumulate: bool,
    lhs: View<'_>,
    rhs: View<'_>,
    [rows, cols, depth]: [usize; 3],
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(
        (rows - 1) * dst_rs + (cols - 1) * dst_cs < len,
        "dst out of bounds"
    );
    lhs.check(rows, depth, "lhs");
    rhs.check(depth, cols, "rhs");
    // SAFETY: the asserts bound the largest index each operand's (non-negative) strides reach;
    // the caller vouches for `dst`.
    unsafe {
        gemm::gemm(
            rows,
            cols,
            depth,
            dst,
            dst_cs as isize,
            dst_rs as isize,
            accumulate,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_follows_the_strides_and_accumulates_on_request() {
        // lhs 2x3 row-major, rhs 3x2 given transposed (column-major): dst 2x2.
        let lhs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let rhs_t = [1.0, 0.0, -1.0, 2.0, 1.0, 0.0];
        let mut dst = [10.0; 4];
        let (l, r) = (View::new(&lhs, 3, 1), View::new(&rhs_t, 1, 3));
        product(&mut dst, [2, 1], false, l, r, [2, 2, 3]);
        assert_eq!(dst, [-2.0, 4.0, -2.0, 13.0]);
        product(&mut dst, [2, 1], true, l, r, [2, 2, 3]);
        assert_eq!(dst, [-4.0, 8.0, -4.0, 26.0]);
    }

    #[test]
    #[should_panic(expected = "rhs out of bounds")]
    fn product_refuses_views_past_their_data() {
        let mut dst = [0.0; 4];
        let data = [1.0; 5];
        product(
            &mut dst,
            [2, 1],
            false,
            View::new(&data, 3, 1),
            View::new(&data, 2, 1),
            [1, 2, 3],
        );
    }
}
