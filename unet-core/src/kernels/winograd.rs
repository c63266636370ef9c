//! 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray,
//! "Fast Algorithms for Convolutional Neural Networks", 2016), for flex (f32, one group).
//!
//! Each 2x2 block of outputs comes from a 4x4 patch of the input `d` and the 3x3 kernel `g` as
//! `Y = A^T [(G g G^T) . (B^T d B)] A`: 16 multiplications where the direct convolution takes
//! 36. Summed over input channels, the element-wise products become 16 GEMMs
//! `M[k] = U[k] @ V[k]` (`U[k]`: `[Cout, Cin]` transformed kernels, `V[k]`: `[Cin, tiles]`
//! transformed patches), so the arithmetic drops 2.25x and no im2col buffer is built. The
//! transforms only add and subtract (and halve, for `G`), so the result stays within a few
//! ulps of the direct sum. The input gradient of a stride-1 3x3 convolution is such a
//! convolution too ([`super::cpu_conv::conv2d_input_grad`]), so both passes take this path.
//!
//! The work is split into blocks of whole tile rows of one image whose `V` and `M` stay in
//! cache, run on rayon's threads; the bias is added in the output transform.

use rayon::prelude::*;

use super::cpu_conv::{self, ConvGeometry};
use super::matmul::{product, View};
use super::tiling::{Pool, SharedOut, Tiles};

/// Points of the transformed tile: `U`, `V` and `M` have this many `[rows, cols]` planes.
const POINTS: usize = 16;

/// Whether [`forward`] computes this convolution: a 3x3 kernel with stride and dilation 1
/// (any padding).
pub fn applies(g: ConvGeometry) -> bool {
    g.kernel == [3, 3] && g.stride == [1, 1] && g.dilation == [1, 1]
}

/// Whether [`forward`] beats the im2col GEMMs on a convolution that [`applies`]: with at least
/// [`MIN_TILES`] 2x2 output tiles per image and [`MIN_CHANNELS`] input and output channels.
/// Measured on every 3x3 convolution of the benchmark rows with `cargo bench --bench conv`
/// (BENCHMARKS.md): fewer tiles leave the GEMMs too short, and fewer channels too little work
/// per transformed value.
pub fn pays(g: ConvGeometry) -> bool {
    g.output()
        .is_some_and(|[ho, wo]| ho.div_ceil(2) * wo.div_ceil(2) >= MIN_TILES)
        && g.input[1].min(g.channels_out) >= MIN_CHANNELS
}

/// Fewest output tiles per image for which [`pays`] (a 64x64 output).
pub const MIN_TILES: usize = 1024;

/// Fewest input and output channels for which [`pays`].
pub const MIN_CHANNELS: usize = 64;

/// `y` (`[N, Cout, Ho, Wo]`) of a convolution that [`applies`], from `x` (`[N, Cin, H, W]`),
/// `weight` (`[Cout, Cin, 3, 3]`) and an optional `bias` (`[Cout]`), all row-major.
///
/// Returns `None` when the convolution does not apply or the slices do not match the
/// geometry.
pub fn forward(
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: ConvGeometry,
) -> Option<Vec<f32>> {
    let [n, cin, h, w] = g.input;
    let [ho, wo] = g.output()?;
    let cout = g.channels_out;
    if !applies(g) || !g.fits(x, weight, bias) {
        return None;
    }
    if cin == 0 {
        // No input channels: the output is the bias, which the im2col pass writes already.
        return cpu_conv::im2col_forward(x, weight, bias, g);
    }
    let mut y = vec![0.0f32; n * cout * ho * wo];
    if y.is_empty() {
        return Some(y);
    }
    let u = kernel_transform(weight, cout, cin);
    let grid = [ho.div_ceil(2), wo.div_ceil(2)];
    let tiles = Tiles::new(POINTS * (cin + cout), grid);
    let out = SharedOut::new(&mut y);
    (0..tiles.count(n)).into_par_iter().for_each_init(
        || SCRATCH.take(),
        |scratch, t| {
            let (image, rows) = tiles.get(t);
            let plane = &x[image * cin * h * w..][..cin * h * w];
            let block = Block { g, grid, rows };
            let io = Io {
                plane,
                u: &u,
                out: &out,
                image,
                bias,
            };
            // SAFETY: block (image, rows) writes output rows 2 * rows of image `image`, for
            // every output channel: no other block writes them.
            unsafe { block.run(&io, scratch) };
        },
    );
    Some(y)
}

/// `U[k][co][ci]` = point `k` of `G g G^T` for the kernel `g` of `(co, ci)`, with
/// `G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]`.
fn kernel_transform(weight: &[f32], cout: usize, cin: usize) -> Vec<f32> {
    let pairs = cout * cin;
    let mut u = vec![0.0f32; POINTS * pairs];
    let transformed: Vec<[f32; POINTS]> = weight
        .par_chunks_exact(9)
        .map(|g| {
            // G g, a column at a time: its 4 rows of 3 as 3 columns of 4.
            let gg: [[f32; 4]; 3] = std::array::from_fn(|j| by_g([g[j], g[3 + j], g[6 + j]]));
            // (G g) G^T, a row at a time: 4 rows of 4.
            let mut point = [0.0f32; POINTS];
            for (r, row) in point.chunks_exact_mut(4).enumerate() {
                row.copy_from_slice(&by_g([gg[0][r], gg[1][r], gg[2][r]]));
            }
            point
        })
        .collect();
    for (pair, point) in transformed.iter().enumerate() {
        for (k, value) in point.iter().enumerate() {
            u[k * pairs + pair] = *value;
        }
    }
    u
}

/// `G v` with `G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]`.
fn by_g([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
}

/// The forward pass's scratch, kept between calls.
static SCRATCH: Pool<Scratch> = Pool::new();

/// A rayon job's buffers, kept across its blocks.
#[derive(Default)]
struct Scratch {
    /// `V[k][ci][tile]`, the block's transformed input patches.
    v: Vec<f32>,
    /// `M[k][co][tile]`, their products with the transformed kernels.
    m: Vec<f32>,
    /// One padded input row.
    padded: Vec<f32>,
    /// Its even columns.
    even: Vec<f32>,
    /// Its odd columns.
    odd: Vec<f32>,
    /// The column transform of the four rows: `[row][point column][tile]`.
    columns: Vec<f32>,
}

/// What a block reads and where it writes.
struct Io<'a> {
    /// The image's input, `[Cin, H, W]`.
    plane: &'a [f32],
    /// The transformed kernels, `[16][Cout][Cin]`.
    u: &'a [f32],
    /// The whole output.
    out: &'a SharedOut<'a>,
    /// The image's index in the batch.
    image: usize,
    /// The bias, `[Cout]`.
    bias: Option<&'a [f32]>,
}

/// The tile rows `rows` (of a `grid` of 2x2 output tiles) of one image.
struct Block {
    g: ConvGeometry,
    grid: [usize; 2],
    rows: std::ops::Range<usize>,
}

impl Block {
    /// The three steps on the block: input transform, products, output transform (into
    /// `out`), compiled for AVX-512 or AVX2 where the CPU has them (the crate's baseline is
    /// SSE2, and the transforms' loops vectorise as wide as the target allows).
    ///
    /// # Safety
    /// No other thread may write the block's output rows during the call.
    unsafe fn run(&self, io: &Io<'_>, s: &mut Scratch) {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU has AVX-512F; the rest is the caller's promise.
                return unsafe { self.run_avx512(io, s) };
            }
            if std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma") {
                // SAFETY: the CPU has AVX2 and FMA; the rest is the caller's promise.
                return unsafe { self.run_avx2(io, s) };
            }
        }
        // SAFETY: the caller's promise.
        unsafe { self.run_here(io, s) }
    }

    /// [`Block::run`] with AVX-512F.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn run_avx512(&self, io: &Io<'_>, s: &mut Scratch) {
        // SAFETY: the caller's promise.
        unsafe { self.run_here(io, s) }
    }

    /// [`Block::run`] with AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(&self, io: &Io<'_>, s: &mut Scratch) {
        // SAFETY: the caller's promise.
        unsafe { self.run_here(io, s) }
    }

    /// [`Block::run`] for whatever target it is inlined into.
    #[inline(always)]
    unsafe fn run_here(&self, io: &Io<'_>, s: &mut Scratch) {
        self.input_transform(io.plane, s);
        self.products(io.u, s);
        // SAFETY: the caller's promise.
        unsafe { self.output_transform(io.out, io.image, io.bias, s) };
    }

    /// Tiles in the block.
    fn tiles(&self) -> usize {
        self.rows.len() * self.grid[1]
    }

    /// Fills `scratch.v` with `B^T d B` of every tile's 4x4 input patch `d`, for every input
    /// channel of `plane` (`[Cin, H, W]`), with
    /// `B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]`.
    #[inline(always)]
    fn input_transform(&self, plane: &[f32], s: &mut Scratch) {
        let [_, cin, h, w] = self.g.input;
        let tw = self.grid[1];
        let count = self.tiles();
        s.v.resize(POINTS * cin * count, 0.0);
        s.columns.resize(16 * tw, 0.0);
        s.padded.resize(2 * tw + 2, 0.0);
        s.even.resize(tw + 1, 0.0);
        s.odd.resize(tw + 1, 0.0);
        for ci in 0..cin {
            let channel = &plane[ci * h * w..][..h * w];
            for (local, ty) in self.rows.clone().enumerate() {
                for r in 0..4 {
                    let iy = (2 * ty + r) as isize - self.g.padding[0] as isize;
                    let line =
                        (iy >= 0 && (iy as usize) < h).then(|| &channel[iy as usize * w..][..w]);
                    pad(line, self.g.padding[1], &mut s.padded);
                    for ((e, o), pair) in s
                        .even
                        .iter_mut()
                        .zip(&mut s.odd)
                        .zip(s.padded.chunks_exact(2))
                    {
                        (*e, *o) = (pair[0], pair[1]);
                    }
                    column_transform(&s.even, &s.odd, &mut s.columns[r * 4 * tw..][..4 * tw]);
                }
                let (c, tw4) = (&s.columns, 4 * tw);
                for j in 0..4 {
                    let row = |r: usize| &c[r * tw4 + j * tw..][..tw];
                    let (r0, r1, r2, r3) = (row(0), row(1), row(2), row(3));
                    let at = |i: usize| (i * 4 + j) * cin * count + ci * count + local * tw;
                    combine(&mut s.v[at(0)..][..tw], r0, r2, |a, b| a - b);
                    combine(&mut s.v[at(1)..][..tw], r1, r2, |a, b| a + b);
                    combine(&mut s.v[at(2)..][..tw], r2, r1, |a, b| a - b);
                    combine(&mut s.v[at(3)..][..tw], r1, r3, |a, b| a - b);
                }
            }
        }
    }

    /// `M[k] = U[k] @ V[k]` for the 16 points.
    fn products(&self, u: &[f32], s: &mut Scratch) {
        let cin = self.g.input[1];
        let cout = self.g.channels_out;
        let count = self.tiles();
        s.m.resize(POINTS * cout * count, 0.0);
        for k in 0..POINTS {
            let lhs = View::new(&u[k * cout * cin..][..cout * cin], cin, 1);
            let rhs = View::new(&s.v[k * cin * count..][..cin * count], count, 1);
            let dst = &mut s.m[k * cout * count..][..cout * count];
            product(dst, [count, 1], false, lhs, rhs, [cout, count, cin]);
        }
    }

    /// Writes `A^T M A` (+ bias) of every tile and output channel to the block's output rows
    /// of `image`, with `A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]`.
    ///
    /// # Safety
    /// No other thread may write those output rows during the call.
    #[inline(always)]
    unsafe fn output_transform(
        &self,
        out: &SharedOut<'_>,
        image: usize,
        bias: Option<&[f32]>,
        s: &mut Scratch,
    ) {
        let [ho, wo] = self.g.output().unwrap_or([0, 0]);
        let cout = self.g.channels_out;
        let tw = self.grid[1];
        let count = self.tiles();
        s.columns.resize(16 * tw, 0.0);
        for co in 0..cout {
            let b = bias.map_or(0.0, |b| b[co]);
            for (local, ty) in self.rows.clone().enumerate() {
                let m = |k: usize| &s.m[(k * cout + co) * count + local * tw..][..tw];
                // A^T m: the two rows of sums, for each point column j.
                let (sums, _) = s.columns.split_at_mut(8 * tw);
                for j in 0..4 {
                    let (m0, m1, m2, m3) = (m(j), m(4 + j), m(8 + j), m(12 + j));
                    let top = &mut sums[j * tw..][..tw];
                    for t in 0..tw {
                        top[t] = m0[t] + m1[t] + m2[t];
                    }
                    let bottom = &mut sums[(4 + j) * tw..][..tw];
                    for t in 0..tw {
                        bottom[t] = m1[t] - m2[t] - m3[t];
                    }
                }
                for i in 0..2 {
                    let oy = 2 * ty + i;
                    if oy >= ho {
                        break;
                    }
                    // SAFETY: row `oy` of (image, co) belongs to this block (the caller's
                    // promise), and nothing else reads or writes it while `line` lives.
                    let line = unsafe { out.slice_mut(((image * cout + co) * ho + oy) * wo, wo) };
                    let p = |j: usize| &sums[(4 * i + j) * tw..][..tw];
                    let (p0, p1, p2, p3) = (p(0), p(1), p(2), p(3));
                    let mut pairs = line.chunks_exact_mut(2);
                    for (t, pair) in (&mut pairs).enumerate() {
                        pair[0] = p0[t] + p1[t] + p2[t] + b;
                        pair[1] = p1[t] - p2[t] - p3[t] + b;
                    }
                    if let [last] = pairs.into_remainder() {
                        *last = p0[tw - 1] + p1[tw - 1] + p2[tw - 1] + b;
                    }
                }
            }
        }
    }
}

/// `padded[c] = line[c - padding]`, zero outside the line (`None`: a padding row).
#[inline(always)]
fn pad(line: Option<&[f32]>, padding: usize, padded: &mut [f32]) {
    let Some(line) = line else {
        padded.fill(0.0);
        return;
    };
    let start = padding.min(padded.len());
    let end = (padding + line.len()).min(padded.len());
    padded[..start].fill(0.0);
    padded[start..end].copy_from_slice(&line[..end - start]);
    padded[end..].fill(0.0);
}

/// `d B` for every tile of one input row: `columns[j][t]` from padded columns `2t..2t + 4`.
#[inline(always)]
fn column_transform(even: &[f32], odd: &[f32], columns: &mut [f32]) {
    let tw = columns.len() / 4;
    let (c0, rest) = columns.split_at_mut(tw);
    let (c1, rest) = rest.split_at_mut(tw);
    let (c2, c3) = rest.split_at_mut(tw);
    for t in 0..tw {
        let (d0, d1, d2, d3) = (even[t], odd[t], even[t + 1], odd[t + 1]);
        c0[t] = d0 - d2;
        c1[t] = d1 + d2;
        c2[t] = d2 - d1;
        c3[t] = d1 - d3;
    }
}

/// `dst[t] = op(a[t], b[t])`.
#[inline(always)]
fn combine(dst: &mut [f32], a: &[f32], b: &[f32], op: impl Fn(f32, f32) -> f32) {
    for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
        *d = op(*a, *b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The convolution by its definition, in f64.
    fn direct(x: &[f32], weight: &[f32], bias: &[f32], g: ConvGeometry) -> Vec<f64> {
        let [n, cin, h, w] = g.input;
        let [ho, wo] = g.output().unwrap();
        let cout = g.channels_out;
        let mut y = vec![0.0f64; n * cout * ho * wo];
        for (o, value) in y.iter_mut().enumerate() {
            let (ox, oy) = (o % wo, (o / wo) % ho);
            let (co, b) = ((o / (wo * ho)) % cout, o / (wo * ho * cout));
            *value = f64::from(bias[co]);
            for ci in 0..cin {
                for ky in 0..3 {
                    for kx in 0..3 {
                        let iy = (oy + ky) as isize - g.padding[0] as isize;
                        let ix = (ox + kx) as isize - g.padding[1] as isize;
                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                            let xi = ((b * cin + ci) * h + iy as usize) * w + ix as usize;
                            let wi = (co * cin + ci) * 9 + ky * 3 + kx;
                            *value += f64::from(weight[wi]) * f64::from(x[xi]);
                        }
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    /// Relative L2 error of the Winograd output against the definition.
    fn relative_error(g: ConvGeometry) -> f64 {
        let x = values(g.input.iter().product(), 3);
        let weight = values(g.channels_out * g.input[1] * 9, 5);
        let bias = values(g.channels_out, 9);
        let fast = forward(&x, &weight, Some(&bias), g).expect("applies");
        let slow = direct(&x, &weight, &bias, g);
        assert_eq!(fast.len(), slow.len(), "{g:?}");
        let diff: f64 = fast
            .iter()
            .zip(&slow)
            .map(|(a, b)| (f64::from(*a) - b).powi(2))
            .sum();
        let norm: f64 = slow.iter().map(|b| b * b).sum();
        (diff / norm.max(1e-30)).sqrt()
    }

    fn geometry(input: [usize; 4], cout: usize, padding: [usize; 2]) -> ConvGeometry {
        ConvGeometry {
            input,
            channels_out: cout,
            kernel: [3, 3],
            stride: [1, 1],
            padding,
            dilation: [1, 1],
        }
    }

    #[test]
    fn matches_the_definition_on_padded_even_and_odd_maps() {
        for g in [
            geometry([2, 3, 8, 8], 4, [1, 1]),
            geometry([1, 5, 9, 7], 3, [1, 1]),
            geometry([3, 2, 1, 1], 2, [1, 1]),
            geometry([1, 1, 2, 5], 1, [1, 1]),
        ] {
            let e = relative_error(g);
            assert!(e < 1e-6, "relative error {e} for {g:?}");
        }
    }

    #[test]
    fn matches_the_definition_without_padding_and_with_wide_padding() {
        for g in [
            geometry([2, 4, 10, 9], 3, [0, 0]),
            geometry([1, 3, 3, 3], 2, [0, 0]),
            geometry([1, 2, 6, 5], 3, [2, 0]),
            geometry([2, 3, 5, 4], 2, [0, 2]),
        ] {
            let e = relative_error(g);
            assert!(e < 1e-6, "relative error {e} for {g:?}");
        }
    }

    #[test]
    fn matches_the_definition_when_the_map_splits_into_blocks() {
        // 16 x (64 + 48) entries per tile give the 256-tile minimum: 13 rows of 21 tiles,
        // four blocks per image, the last one two rows short of the others.
        let g = geometry([2, 64, 82, 41], 48, [1, 1]);
        let tiles = Tiles::new(POINTS * (64 + 48), [41, 21]);
        assert!(tiles.count(1) > 2, "{tiles:?}");
        let e = relative_error(g);
        assert!(e < 1e-6, "relative error {e} for {g:?}");
    }

    #[test]
    fn refuses_other_kernels_strides_and_mismatched_slices() {
        let g = geometry([1, 2, 4, 4], 3, [1, 1]);
        assert!(forward(&[0.0; 32], &[0.0; 54], None, g).is_some());
        assert!(forward(&[0.0; 31], &[0.0; 54], None, g).is_none());
        assert!(forward(&[0.0; 32], &[0.0; 53], None, g).is_none());
        assert!(forward(&[0.0; 32], &[0.0; 54], Some(&[0.0; 2]), g).is_none());
        let strided = ConvGeometry {
            stride: [2, 1],
            ..g
        };
        let dilated = ConvGeometry {
            dilation: [1, 2],
            ..g
        };
        let wide = ConvGeometry {
            kernel: [5, 5],
            ..g
        };
        for other in [strided, dilated, wide] {
            assert!(!applies(other));
            assert!(forward(&[0.0; 32], &[0.0; 54], None, other).is_none());
        }
    }

    #[test]
    fn an_input_without_channels_gives_the_bias() {
        let g = geometry([1, 0, 3, 3], 2, [1, 1]);
        let y = forward(&[], &[], Some(&[1.5, -2.0]), g).unwrap();
        assert_eq!(y, [[1.5; 9], [-2.0; 9]].concat());
    }
}
