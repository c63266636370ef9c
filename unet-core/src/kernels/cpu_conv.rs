//! 2D convolutions as im2col GEMMs on the host, for flex (f32, one group).
//!
//! burn-autodiff computes the weight gradient with burn's generic `conv2d_weight_backward`: a
//! convolution of the batch-swapped input with the batch-swapped output gradient as an
//! `H x W` kernel. On flex that costs 11-14x the forward pass on wide, shallow maps (see
//! BENCHMARKS.md). Here every pass is one GEMM per tile of output rows, the way Caffe and
//! cuDNN's GEMM algorithms do it, on NCHW data without a layout change:
//!
//! - forward: `y[Cout, tile] = W[Cout, Cin*kh*kw] @ im2col(x)[Cin*kh*kw, tile]`;
//! - weight gradient: `dW[Cout, Cin*kh*kw] += grad[Cout, tile] @ im2col(x)[tile, Cin*kh*kw]`;
//! - input gradient (stride 1): the forward pass of `grad` with the weights flipped and
//!   transposed, padded by `d*(k-1) - p`.
//!
//! The column buffer of a tile is sized to stay in cache, and the tiles run on rayon's threads.

use rayon::prelude::*;

use super::matmul::{product, View};
use super::tiling::{sum_over_tiles, Pool, SharedOut, Tiles};
use super::winograd;

/// The geometry of one convolution, in the order burn's `ConvOptions` gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Input `[N, Cin, H, W]`.
    pub input: [usize; 4],
    /// Output channels.
    pub channels_out: usize,
    /// Kernel `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Zero padding on both sides, `[ph, pw]`.
    pub padding: [usize; 2],
    /// Dilation `[dh, dw]`.
    pub dilation: [usize; 2],
}

impl ConvGeometry {
    /// Output height and width, or `None` when the kernel does not fit the padded input.
    pub fn output(&self) -> Option<[usize; 2]> {
        let side = |i: usize| {
            let span = self.dilation[i] * (self.kernel[i].checked_sub(1)?) + 1;
            let padded = self.input[2 + i] + 2 * self.padding[i];
            (self.stride[i] > 0 && padded >= span).then(|| (padded - span) / self.stride[i] + 1)
        };
        Some([side(0)?, side(1)?])
    }

    /// Whether `x`, `weight` and `bias` have the lengths of this convolution's input
    /// (`[N, Cin, H, W]`), weights (`[Cout, Cin, kh, kw]`) and bias (`[Cout]`).
    pub fn fits(&self, x: &[f32], weight: &[f32], bias: Option<&[f32]>) -> bool {
        let [n, cin, h, w] = self.input;
        let cout = self.channels_out;
        x.len() == n * cin * h * w
            && weight.len() == cout * cin * self.kernel[0] * self.kernel[1]
            && bias.is_none_or(|b| b.len() == cout)
    }
}

/// The im2col column buffers of the forward pass and the weight gradient, kept between calls.
static COLUMNS: Pool<Vec<f32>> = Pool::new();

/// Fills `cols` with the im2col columns of tile `t` of `x`: returns its image, output rows
/// and number of positions `k` (`cols` is `[Cin*kh*kw, k]`).
fn tile_columns(
    tiles: &Tiles,
    x: &[f32],
    g: ConvGeometry,
    t: usize,
    cols: &mut Vec<f32>,
) -> (usize, std::ops::Range<usize>, usize) {
    let [_, cin, h, w] = g.input;
    let wo = g.output().map_or(0, |[_, wo]| wo);
    let (image, rows) = tiles.get(t);
    let k = rows.len() * wo;
    cols.resize(cin * g.kernel[0] * g.kernel[1] * k, 0.0);
    let plane = cin * h * w;
    im2col_rows(&x[image * plane..][..plane], g, rows.clone(), wo, cols);
    (image, rows, k)
}

/// `y` (`[N, Cout, Ho, Wo]`, row-major) of a convolution with `groups = 1`, from `x`
/// (`[N, Cin, H, W]`), `weight` (`[Cout, Cin, kh, kw]`) and an optional `bias` (`[Cout]`):
/// by [`winograd`] where it applies and pays, otherwise as im2col GEMMs ([`im2col_forward`]).
///
/// Returns `None` when the slices do not match the geometry.
pub fn conv2d_forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: ConvGeometry,
) -> Option<Vec<f32>> {
    if winograd::applies(g) && winograd::pays(g) {
        winograd::forward(x, weight, bias, g)
    } else {
        im2col_forward(x, weight, bias, g)
    }
}

/// [`conv2d_forward`] as im2col GEMMs, whatever the kernel.
///
/// Returns `None` when the slices do not match the geometry.
pub fn im2col_forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: ConvGeometry,
) -> Option<Vec<f32>> {
    let [n, cin, _, _] = g.input;
    let [ho, wo] = g.output()?;
    let cout = g.channels_out;
    let columns = cin * g.kernel[0] * g.kernel[1];
    if !g.fits(x, weight, bias) {
        return None;
    }
    let plane = ho * wo;
    let len = n * cout * plane;
    if len == 0 {
        return Some(Vec::new());
    }
    let mut y = Vec::with_capacity(len);
    let out = SharedOut::uninit(&mut y.spare_capacity_mut()[..len]);
    let tiles = Tiles::new(columns, [ho, wo]);
    let parts = channel_parts(tiles.count(n), cout);
    (0..tiles.count(n)).into_par_iter().for_each_init(
        || COLUMNS.take(),
        |cols, t| {
            let (image, rows, k) = tile_columns(&tiles, x, g, t, cols);
            let cols = &cols[..];
            // y[co, p] = bias[co] + sum_c W[co, c] cols[c, p] for the tile's positions p, in
            // parts of the output channels where the tiles are too few for the threads. The
            // bias is written where the GEMM adds (while those rows are in the cache), so y is
            // neither zeroed nor passed over again: that was 5% of a `predict`.
            parts.par_iter().for_each(|channels| {
                let offset = (image * cout + channels.start) * plane + rows.start * wo;
                for co in channels.clone() {
                    let b = bias.map_or(0.0, |b| b[co]);
                    // SAFETY: channel co's rows of this tile belong to this tile and part
                    // alone (as for the product below).
                    unsafe { out.fill(offset + (co - channels.start) * plane, k, b) };
                }
                let lhs = View::new(&weight[channels.start * columns..], columns, 1);
                let rhs = View::new(cols, k, 1);
                let dims = [channels.len(), k, columns];
                // SAFETY: tile (image, rows) writes y[image][co][rows.start * wo..][..k] for
                // co in `channels`: those elements belong to this tile and part alone, and
                // were filled just above.
                unsafe { out.add_product(offset, [plane, 1], lhs, rhs, dims) };
            });
        },
    );
    // SAFETY: every element of y[..len] is written: the tiles cover every image and output
    // row, and their parts every output channel.
    unsafe { y.set_len(len) };
    Some(y)
}

/// The output channels `0..cout` in as many ranges as keep two rayon threads' worth of work
/// per thread when there are only `tiles` tiles (one range when the tiles are enough), each at
/// least [`MIN_PART_CHANNELS`] wide: the deep levels of a one-image batch have a single tile.
fn channel_parts(tiles: usize, cout: usize) -> Vec<std::ops::Range<usize>> {
    let wanted = (2 * rayon::current_num_threads()).div_ceil(tiles.max(1));
    let count = wanted.clamp(1, (cout / MIN_PART_CHANNELS).max(1));
    let width = cout.div_ceil(count);
    (0..cout)
        .step_by(width.max(1))
        .map(|c| c..(c + width).min(cout))
        .collect()
}

/// Fewest output channels in one part of a tile's GEMM (a multiple of the GEMM's row block).
const MIN_PART_CHANNELS: usize = 64;

/// The input gradient `dX` (`[N, Cin, H, W]`) of a stride-1 convolution from the output
/// gradient `grad` (`[N, Cout, Ho, Wo]`) and `weight`: the forward pass of `grad` with the
/// weights flipped and transposed ([`input_grad_as_forward`]). `None` for strides other than 1,
/// padding wider than the kernel's reach, or slices that do not match the geometry.
pub fn conv2d_input_grad(grad: &[f32], weight: &[f32], g: ConvGeometry) -> Option<Vec<f32>> {
    let (flipped, back) = input_grad_as_forward(weight, g)?;
    conv2d_forward(grad, &flipped, None, back)
}

/// The forward convolution whose output is the input gradient of a stride-1 convolution `g`:
/// its weights (`weight` flipped and transposed to `[Cin, Cout, kh, kw]`) and geometry (on the
/// output gradient, padded by `d*(k-1) - p`). `None` for strides other than 1, padding wider
/// than the kernel's reach, or weights that do not match `g`.
pub fn input_grad_as_forward(weight: &[f32], g: ConvGeometry) -> Option<(Vec<f32>, ConvGeometry)> {
    let [_, cin, h, w] = g.input;
    let [kh, kw] = g.kernel;
    let cout = g.channels_out;
    let [ho, wo] = g.output()?;
    if g.stride != [1, 1] || weight.len() != cout * cin * kh * kw {
        return None;
    }
    let reach = [g.dilation[0] * (kh - 1), g.dilation[1] * (kw - 1)];
    let flipped_padding = [
        reach[0].checked_sub(g.padding[0])?,
        reach[1].checked_sub(g.padding[1])?,
    ];
    let back = ConvGeometry {
        input: [g.input[0], cout, ho, wo],
        channels_out: cin,
        kernel: g.kernel,
        stride: [1, 1],
        padding: flipped_padding,
        dilation: g.dilation,
    };
    (back.output()? == [h, w]).then_some(())?;
    let mut flipped = vec![0.0f32; weight.len()];
    for co in 0..cout {
        for ci in 0..cin {
            for ky in 0..kh {
                for kx in 0..kw {
                    flipped[((ci * cout + co) * kh + kh - 1 - ky) * kw + kw - 1 - kx] =
                        weight[((co * cin + ci) * kh + ky) * kw + kx];
                }
            }
        }
    }
    Some((flipped, back))
}

/// `dW` (`[Cout, Cin, kh, kw]`, row-major) of a convolution with `groups = 1`, from the input
/// `x` (`[N, Cin, H, W]`, row-major) and the output gradient `grad` (`[N, Cout, Ho, Wo]`).
///
/// Returns `None` when the slices do not match the geometry.
pub fn conv2d_weight_grad(x: &[f32], grad: &[f32], g: ConvGeometry) -> Option<Vec<f32>> {
    let [n, cin, h, w] = g.input;
    let [ho, wo] = g.output()?;
    let cout = g.channels_out;
    if x.len() != n * cin * h * w || grad.len() != n * cout * ho * wo {
        return None;
    }
    let columns = cin * g.kernel[0] * g.kernel[1];
    let out_len = cout * columns;
    if out_len == 0 || n * ho * wo == 0 {
        return Some(vec![0.0; out_len]);
    }
    let tiles = Tiles::new(columns, [ho, wo]);
    // Parts of the output channels where the tiles are too few for the threads.
    let width = channel_parts(tiles.count(n), cout)[0].len();
    let dw = sum_over_tiles(
        tiles.count(n),
        out_len,
        &COLUMNS,
        |acc, cols: &mut Vec<f32>, t| {
            let (image, rows, k) = tile_columns(&tiles, x, g, t, cols);
            let cols = &cols[..];
            // dW[co, c] += sum_p grad[co, p] cols[c, p] over the tile's positions p.
            let grad_tile = &grad[image * cout * ho * wo + rows.start * wo..];
            acc.par_chunks_mut(width * columns)
                .enumerate()
                .for_each(|(part, acc)| {
                    let lhs = View::new(&grad_tile[part * width * ho * wo..], ho * wo, 1);
                    let rhs = View::new(cols, 1, k);
                    let dims = [acc.len() / columns, columns, k];
                    product(acc, [columns, 1], true, lhs, rhs, dims);
                });
        },
    );
    Some(dw)
}

/// Writes `cols[(ci*kh + ky)*kw + kx][pos]` = the input under kernel tap `(ky, kx)` for the
/// output positions of `rows` (zero where the tap falls in the padding).
fn im2col_rows(
    x: &[f32],
    g: ConvGeometry,
    rows: std::ops::Range<usize>,
    wo: usize,
    cols: &mut [f32],
) {
    let [_, cin, h, w] = g.input;
    let [kh, kw] = g.kernel;
    let k = rows.len() * wo;
    for ci in 0..cin {
        let plane = &x[ci * h * w..(ci + 1) * h * w];
        for ky in 0..kh {
            for kx in 0..kw {
                let column = &mut cols[((ci * kh + ky) * kw + kx) * k..][..k];
                let x_offset = (kx * g.dilation[1]) as isize - g.padding[1] as isize;
                for (r, oy) in rows.clone().enumerate() {
                    let out = &mut column[r * wo..(r + 1) * wo];
                    let iy =
                        (oy * g.stride[0] + ky * g.dilation[0]) as isize - g.padding[0] as isize;
                    if iy < 0 || iy >= h as isize {
                        out.fill(0.0);
                        continue;
                    }
                    let line = &plane[iy as usize * w..(iy as usize + 1) * w];
                    if g.stride[1] == 1 {
                        // The valid output columns read one contiguous run of the input line.
                        let start = (-x_offset).clamp(0, wo as isize) as usize;
                        let end =
                            (w as isize - x_offset).clamp(start as isize, wo as isize) as usize;
                        out[..start].fill(0.0);
                        let from = (start as isize + x_offset) as usize;
                        out[start..end].copy_from_slice(&line[from..from + end - start]);
                        out[end..].fill(0.0);
                    } else {
                        for (ox, value) in out.iter_mut().enumerate() {
                            let ix = (ox * g.stride[1]) as isize + x_offset;
                            *value = if ix < 0 || ix >= w as isize {
                                0.0
                            } else {
                                line[ix as usize]
                            };
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `y`, `dX` and `dW` by the definition, one multiply-add at a time (`dX` and `dW` as the
    /// adjoints of `y`).
    fn naive(x: &[f32], weight: &[f32], grad: &[f32], g: ConvGeometry) -> [Vec<f32>; 3] {
        let [n, cin, h, w] = g.input;
        let [ho, wo] = g.output().unwrap();
        let [kh, kw] = g.kernel;
        let cout = g.channels_out;
        let mut y = vec![0.0f32; n * cout * ho * wo];
        let mut dx = vec![0.0f32; x.len()];
        let mut dw = vec![0.0f32; weight.len()];
        for b in 0..n {
            for co in 0..cout {
                for oy in 0..ho {
                    for ox in 0..wo {
                        let o = ((b * cout + co) * ho + oy) * wo + ox;
                        for ci in 0..cin {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy * g.stride[0] + ky * g.dilation[0]) as isize
                                        - g.padding[0] as isize;
                                    let ix = (ox * g.stride[1] + kx * g.dilation[1]) as isize
                                        - g.padding[1] as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w
                                    {
                                        let i =
                                            ((b * cin + ci) * h + iy as usize) * w + ix as usize;
                                        let wi = ((co * cin + ci) * kh + ky) * kw + kx;
                                        y[o] += weight[wi] * x[i];
                                        dx[i] += weight[wi] * grad[o];
                                        dw[wi] += grad[o] * x[i];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        [y, dx, dw]
    }

    fn assert_close(what: &str, fast: &[f32], slow: &[f32], g: ConvGeometry) {
        assert_eq!(fast.len(), slow.len(), "{what} length for {g:?}");
        for (i, (a, b)) in fast.iter().zip(slow).enumerate() {
            assert!(
                (a - b).abs() <= 1e-3 * (1.0 + b.abs()),
                "{what}[{i}] {a} != {b} for {g:?}"
            );
        }
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    fn check(g: ConvGeometry) {
        let [ho, wo] = g.output().unwrap();
        let x = values(g.input.iter().product(), 7);
        let grad = values(g.input[0] * g.channels_out * ho * wo, 11);
        let weight = values(g.channels_out * g.input[1] * g.kernel[0] * g.kernel[1], 13);
        let bias = values(g.channels_out, 17);
        let [mut y, dx, dw] = naive(&x, &weight, &grad, g);
        assert_close("dW", &conv2d_weight_grad(&x, &grad, g).unwrap(), &dw, g);
        let plane = ho * wo;
        for (i, v) in y.iter_mut().enumerate() {
            *v += bias[(i / plane) % g.channels_out];
        }
        let fast_y = conv2d_forward(&x, &weight, Some(&bias), g).unwrap();
        assert_close("y", &fast_y, &y, g);
        match conv2d_input_grad(&grad, &weight, g) {
            Some(fast_dx) => assert_close("dX", &fast_dx, &dx, g),
            None => assert!(
                g.stride != [1, 1] || g.padding[0] > g.dilation[0] * (g.kernel[0] - 1),
                "dX refused for {g:?}"
            ),
        }
    }

    fn geometry(input: [usize; 4], cout: usize, kernel: usize) -> ConvGeometry {
        ConvGeometry {
            input,
            channels_out: cout,
            kernel: [kernel, kernel],
            stride: [1, 1],
            padding: [kernel / 2, kernel / 2],
            dilation: [1, 1],
        }
    }

    #[test]
    fn passes_match_the_definition_for_padded_3x3() {
        check(geometry([2, 3, 9, 7], 4, 3));
    }

    #[test]
    fn passes_match_the_definition_for_valid_1x1_and_odd_sizes() {
        check(ConvGeometry {
            padding: [0, 0],
            ..geometry([3, 5, 11, 6], 2, 3)
        });
        check(geometry([1, 4, 5, 5], 3, 1));
    }

    #[test]
    fn passes_match_the_definition_with_stride_dilation_and_uneven_padding() {
        check(ConvGeometry {
            stride: [2, 3],
            dilation: [2, 1],
            padding: [1, 2],
            ..geometry([2, 3, 13, 10], 5, 3)
        });
    }

    #[test]
    fn passes_split_tall_maps_into_tiles_that_add_up() {
        // 576 columns give 455-position tiles: 12 rows of 40, three tiles per image.
        check(geometry([2, 64, 30, 40], 2, 3));
    }

    #[test]
    fn passes_split_the_channels_of_a_lone_tile_into_parts_that_add_up() {
        // One tile (72 columns) and 130 output channels: two parts of 65 channels.
        assert_eq!(channel_parts(1, 130), [0..65, 65..130]);
        check(geometry([1, 8, 6, 6], 130, 3));
    }

    fn relative_l2(a: &[f32], b: &[f32]) -> f64 {
        let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
        let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
        (diff / norm).sqrt()
    }

    #[test]
    fn forward_and_input_grad_take_winograd_where_it_pays_and_agree_with_im2col() {
        let g = geometry([1, 64, 64, 64], 64, 3);
        assert!(winograd::pays(g));
        assert!(!winograd::pays(geometry([1, 64, 62, 64], 64, 3)));
        assert!(!winograd::pays(geometry([1, 64, 64, 64], 32, 3)));
        let x = values(g.input.iter().product(), 7);
        let weight = values(64 * 64 * 9, 13);
        let bias = values(64, 17);
        let y = conv2d_forward(&x, &weight, Some(&bias), g).unwrap();
        assert_eq!(y, winograd::forward(&x, &weight, Some(&bias), g).unwrap());
        let e = relative_l2(&y, &im2col_forward(&x, &weight, Some(&bias), g).unwrap());
        assert!(e < 1e-5, "forward differs from im2col by {e}");
        let (flipped, back) = input_grad_as_forward(&weight, g).unwrap();
        let dx = conv2d_input_grad(&x, &weight, g).unwrap();
        let e = relative_l2(&dx, &im2col_forward(&x, &flipped, None, back).unwrap());
        assert!(e < 1e-5, "input grad differs from im2col by {e}");
    }

    #[test]
    fn passes_refuse_slices_that_do_not_match_the_geometry() {
        let g = geometry([1, 2, 4, 4], 3, 3);
        assert!(conv2d_weight_grad(&[0.0; 31], &[0.0; 48], g).is_none());
        assert!(conv2d_weight_grad(&[0.0; 32], &[0.0; 47], g).is_none());
        assert!(conv2d_forward(&[0.0; 32], &[0.0; 53], None, g).is_none());
        assert!(conv2d_forward(&[0.0; 32], &[0.0; 54], Some(&[0.0; 2]), g).is_none());
        assert!(conv2d_input_grad(&[0.0; 48], &[0.0; 53], g).is_none());
    }

    #[test]
    fn input_grad_also_covers_dilated_kernels_with_stride_one() {
        check(ConvGeometry {
            dilation: [2, 3],
            padding: [2, 1],
            ..geometry([2, 3, 10, 11], 4, 3)
        });
    }
}
