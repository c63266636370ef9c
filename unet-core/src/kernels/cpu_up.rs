//! The U-Net's learned 2x up-sampling, a transposed convolution whose kernel equals its stride
//! (2x2, stride 2, no padding), as GEMMs on the host for flex (f32, one group).
//!
//! With kernel == stride the output windows do not overlap, so the transposed convolution is
//! exactly one matrix product and a pixel shuffle:
//! `Z[(co, a, b), p] = sum_ci W[ci, (co, a, b)] * x[ci, p]`, then
//! `y[co, s*i + a, s*j + b] = Z[(co, a, b), (i, j)] + bias[co]`. burn computes
//! its backward with the generic formulations (a convolution with an `H x W` kernel for the
//! weight gradient); here both gradients share one un-shuffled copy `G` of the output gradient:
//! `dx = W[ci, m] @ G[m, p]` and `dW += x[ci, p] @ G[m, p]^T`.

use rayon::prelude::*;

use super::matmul::{product, View};
use super::tiling::{sum_over_tiles, Pool, SharedOut, Tiles};

/// The geometry of a transposed convolution with kernel == stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpGeometry {
    /// Input `[N, Cin, H, W]`.
    pub input: [usize; 4],
    /// Output channels.
    pub channels_out: usize,
    /// Kernel and stride `[kh, kw]`.
    pub kernel: [usize; 2],
}

impl UpGeometry {
    /// `Cout * kh * kw`: the rows of `Z` and `G`.
    fn taps(&self) -> usize {
        self.channels_out * self.kernel[0] * self.kernel[1]
    }

    /// Output `[N, Cout, kh * H, kw * W]`.
    pub fn output(&self) -> [usize; 4] {
        let [n, _, h, w] = self.input;
        [n, self.channels_out, self.kernel[0] * h, self.kernel[1] * w]
    }

    /// Tiles of whole input rows, each with its `[taps, positions]` block of `Z` (or `G`).
    fn tiles(&self) -> Tiles {
        Tiles::new(self.taps(), [self.input[2], self.input[3]])
    }
}

/// Each rayon job's two buffers, forward (the tile's products and one output row) and backward
/// (the un-shuffled gradient and the tile's input gradient), kept between calls.
static BUFFERS: Pool<(Vec<f32>, Vec<f32>)> = Pool::new();

/// `y` (`[N, Cout, kh*H, kw*W]`) from `x` (`[N, Cin, H, W]`), `weight` (`[Cin, Cout, kh, kw]`)
/// and an optional `bias` (`[Cout]`); `None` when the slices do not match the geometry.
pub fn up_forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: UpGeometry,
) -> Option<Vec<f32>> {
    let [n, cin, h, w] = g.input;
    let taps = g.taps();
    let [kh, kw] = g.kernel;
    let cout = g.channels_out;
    if x.len() != n * cin * h * w
        || weight.len() != cin * taps
        || bias.is_some_and(|b| b.len() != cout)
    {
        return None;
    }
    let [_, _, ho, wo] = g.output();
    let mut y = vec![0.0f32; n * cout * ho * wo];
    let out = SharedOut::new(&mut y);
    let tiles = g.tiles();
    (0..tiles.count(n)).into_par_iter().for_each_init(
        || BUFFERS.take(),
        |buffers, t| {
            let (z, line) = &mut **buffers;
            let (image, rows) = tiles.get(t);
            let k = rows.len() * w;
            z.resize(taps * k, 0.0);
            line.resize(wo, 0.0);
            let x_tile = &x[image * cin * h * w + rows.start * w..];
            // Z[m, p] = sum_ci W[ci, m] x[ci, p]: lhs W^T (m, ci) at ci * taps + m.
            let (lhs, rhs) = (View::new(weight, 1, taps), View::new(x_tile, h * w, 1));
            product(z, [k, 1], false, lhs, rhs, [taps, k, cin]);
            for co in 0..cout {
                let b = bias.map_or(0.0, |b| b[co]);
                for (r, i) in rows.clone().enumerate() {
                    for a in 0..kh {
                        let start = ((image * cout + co) * ho + i * kh + a) * wo;
                        for bx in 0..kw {
                            let z_row = &z[((co * kh + a) * kw + bx) * k + r * w..][..w];
                            for (j, v) in z_row.iter().enumerate() {
                                line[j * kw + bx] = v + b;
                            }
                        }
                        // SAFETY: output row (image, co, i*kh + a) belongs to the tile that
                        // holds input row i alone; `start + wo <= y.len()` by the geometry.
                        unsafe { out.write(start, line) };
                    }
                }
            }
        },
    );
    Some(y)
}

/// `(dx, dW)` of [`up_forward`] from `x`, `weight` and the output gradient `grad`;
/// `None` when the slices do not match the geometry. The bias gradient is the sum of `grad`
/// over batch and positions (left to the caller).
pub fn up_backward(
    x: &[f32],
    weight: &[f32],
    grad: &[f32],
    g: UpGeometry,
) -> Option<(Vec<f32>, Vec<f32>)> {
    let [n, cin, h, w] = g.input;
    let taps = g.taps();
    let [kh, kw] = g.kernel;
    let cout = g.channels_out;
    let [_, _, ho, wo] = g.output();
    if x.len() != n * cin * h * w || weight.len() != cin * taps || grad.len() != n * cout * ho * wo
    {
        return None;
    }
    let mut dx = vec![0.0f32; x.len()];
    let out = SharedOut::new(&mut dx);
    let tiles = g.tiles();
    let dw = sum_over_tiles(tiles.count(n), cin * taps, &BUFFERS, |dw, scratch, t| {
        let (gt, dx_tile): &mut (Vec<f32>, Vec<f32>) = scratch;
        let (image, rows) = tiles.get(t);
        let k = rows.len() * w;
        // G[m, p]: the output gradient un-shuffled to the input's positions.
        gt.resize(taps * k, 0.0);
        for co in 0..cout {
            for (r, i) in rows.clone().enumerate() {
                for a in 0..kh {
                    let line = &grad[((image * cout + co) * ho + i * kh + a) * wo..][..wo];
                    for bx in 0..kw {
                        let g_row = &mut gt[((co * kh + a) * kw + bx) * k + r * w..][..w];
                        for (j, v) in g_row.iter_mut().enumerate() {
                            *v = line[j * kw + bx];
                        }
                    }
                }
            }
        }
        // dx[ci, p] = sum_m W[ci, m] G[m, p].
        dx_tile.resize(cin * k, 0.0);
        let (lhs, rhs) = (View::new(weight, taps, 1), View::new(gt, k, 1));
        product(dx_tile, [k, 1], false, lhs, rhs, [cin, k, taps]);
        for ci in 0..cin {
            let start = (image * cin + ci) * h * w + rows.start * w;
            // SAFETY: rows `rows` of channel ci of this image belong to this tile
            // alone; `start + k <= dx.len()` by the geometry.
            unsafe { out.write(start, &dx_tile[ci * k..][..k]) };
        }
        // dW[ci, m] += sum_p x[ci, p] G[m, p].
        let x_tile = &x[image * cin * h * w + rows.start * w..];
        let (lhs, rhs) = (View::new(x_tile, h * w, 1), View::new(gt, 1, k));
        product(dw, [taps, 1], true, lhs, rhs, [cin, taps, k]);
    });
    Some((dx, dw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// `y`, `dx` and `dW` by the definition of a transposed convolution with kernel == stride.
    fn naive(
        x: &[f32],
        weight: &[f32],
        bias: &[f32],
        grad: &[f32],
        g: UpGeometry,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let [n, cin, h, w] = g.input;
        let [_, cout, ho, wo] = g.output();
        let [kh, kw] = g.kernel;
        let mut y = vec![0.0f32; n * cout * ho * wo];
        let mut dx = vec![0.0f32; x.len()];
        let mut dw = vec![0.0f32; weight.len()];
        for b in 0..n {
            for (co, &bias_co) in bias.iter().enumerate() {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let o = ((b * cout + co) * ho + oy) * wo + ox;
                        y[o] += bias_co;
                        let (i, a, j, bx) = (oy / kh, oy % kh, ox / kw, ox % kw);
                        for ci in 0..cin {
                            let xi = ((b * cin + ci) * h + i) * w + j;
                            let wi = ((ci * cout + co) * kh + a) * kw + bx;
                            y[o] += weight[wi] * x[xi];
                            dx[xi] += weight[wi] * grad[o];
                            dw[wi] += x[xi] * grad[o];
                        }
                    }
                }
            }
        }
        (y, dx, dw)
    }

    fn check(g: UpGeometry) {
        let cin = g.input[1];
        let x = values(g.input.iter().product(), 3);
        let weight = values(cin * g.taps(), 5);
        let bias = values(g.channels_out, 7);
        let grad = values(g.output().iter().product(), 9);
        let (y, dx, dw) = naive(&x, &weight, &bias, &grad, g);
        let close = |what: &str, fast: &[f32], slow: &[f32]| {
            assert_eq!(fast.len(), slow.len(), "{what} length for {g:?}");
            for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-3 * (1.0 + b.abs()),
                    "{what}[{i}] {a} != {b} ({g:?})"
                );
            }
        };
        close("y", &up_forward(&x, &weight, Some(&bias), g).unwrap(), &y);
        let (fast_dx, fast_dw) = up_backward(&x, &weight, &grad, g).unwrap();
        close("dx", &fast_dx, &dx);
        close("dW", &fast_dw, &dw);
    }

    #[test]
    fn up_passes_match_the_definition_for_2x2_stride_2() {
        check(UpGeometry {
            input: [2, 5, 6, 7],
            channels_out: 3,
            kernel: [2, 2],
        });
    }

    #[test]
    fn up_passes_match_the_definition_for_uneven_kernels_and_many_tiles() {
        // A 3x2 kernel; then 274-row tiles over 300 rows: two tiles per image.
        check(UpGeometry {
            input: [1, 4, 40, 9],
            channels_out: 16,
            kernel: [3, 2],
        });
        check(UpGeometry {
            input: [3, 2, 300, 30],
            channels_out: 8,
            kernel: [2, 2],
        });
    }

    #[test]
    fn up_passes_refuse_slices_that_do_not_match_the_geometry() {
        let g = UpGeometry {
            input: [1, 2, 3, 3],
            channels_out: 2,
            kernel: [2, 2],
        };
        assert!(up_forward(&[0.0; 17], &[0.0; 16], None, g).is_none());
        assert!(up_forward(&[0.0; 18], &[0.0; 15], None, g).is_none());
        assert!(up_backward(&[0.0; 18], &[0.0; 16], &[0.0; 71], g).is_none());
    }
}
