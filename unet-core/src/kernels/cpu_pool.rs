//! The U-Net's 2x2 stride-2 max-pool for inference, on the host: one pass over the input and
//! no indices. flex's max-pool computes the argmax of every window for its backward pass even
//! where there is none, which took about a tenth of `unet predict`'s time (BENCHMARKS.md).

use rayon::prelude::*;

/// The 2x2 stride-2 max-pool of `x`, `[n, c, h, w]` row-major: `[n, c, h / 2, w / 2]` (a last
/// odd row or column is dropped, as PyTorch's and burn's floor mode). `None` when `x` does
/// not hold `n * c * h * w` values.
pub fn max_pool_2x2(x: &[f32], [n, c, h, w]: [usize; 4]) -> Option<Vec<f32>> {
    let plane = h.checked_mul(w)?;
    if x.len() != n.checked_mul(c)?.checked_mul(plane)? {
        return None;
    }
    let (ho, wo) = (h / 2, w / 2);
    let mut out = vec![0.0f32; n * c * ho * wo];
    if out.is_empty() {
        return Some(out);
    }
    out.par_chunks_mut(ho * wo)
        .zip(x.par_chunks(plane))
        .for_each(|(out, x)| {
            for (y, row) in out.chunks_exact_mut(wo).enumerate() {
                let top = &x[2 * y * w..2 * y * w + 2 * wo];
                let bottom = &x[(2 * y + 1) * w..(2 * y + 1) * w + 2 * wo];
                for ((o, t), b) in row
                    .iter_mut()
                    .zip(top.chunks_exact(2))
                    .zip(bottom.chunks_exact(2))
                {
                    *o = t[0].max(t[1]).max(b[0].max(b[1]));
                }
            }
        });
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_output_is_the_largest_of_its_window_and_odd_edges_are_dropped() {
        // One plane of 3x5: windows over rows 0-1 and columns 0-1, 2-3.
        let x = [
            1.0, 5.0, -1.0, -2.0, 9.0, //
            3.0, 2.0, -4.0, -3.0, 9.0, //
            9.0, 9.0, 9.0, 9.0, 9.0,
        ];
        assert_eq!(max_pool_2x2(&x, [1, 1, 3, 5]), Some(vec![5.0, -1.0]));
        // Two planes stay apart.
        let two: Vec<f32> = (0..32).map(|v| v as f32).collect();
        assert_eq!(
            max_pool_2x2(&two, [2, 1, 4, 4]),
            Some(vec![5.0, 7.0, 13.0, 15.0, 21.0, 23.0, 29.0, 31.0])
        );
        assert_eq!(max_pool_2x2(&two, [2, 1, 4, 5]), None);
        assert_eq!(max_pool_2x2(&[1.0], [1, 1, 1, 1]), Some(vec![]));
    }
}
