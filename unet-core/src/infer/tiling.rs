//! Overlap-tile inference with mirror padding, the strategy of the U-Net
//! paper (Ronneberger et al. 2015, fig. 2).
//!
//! A network maps a `tile x tile` input window to a
//! `(tile - margin) x (tile - margin)` output that corresponds to the centre
//! of the window (`margin / 2` pixels are lost on each side; `margin` is 0 for
//! "same"-padding networks and e.g. 184 for the paper's valid-padding net with
//! 572-pixel input). [`predict_tiled`] covers an image of any size with such
//! windows, feeds them to the network, and stitches the outputs back into a
//! `classes x H x W` logit map of exactly the image size. Window pixels that
//! fall outside the image are filled by mirror reflection (see
//! [`mirror_pad`]).
//!
//! # Blending
//!
//! Where output tiles overlap, the logits are **averaged with Gaussian
//! importance weights**, nnU-Net's blending: inside a tile of output size `n`,
//! the pixel at offset `j` (along one axis) has weight
//! `exp(-(j - (n - 1) / 2)^2 / (2 sigma^2))` with `sigma = n / 8`, and the
//! 2-D weight is the product of the two axes' weights. Pixels near a tile's
//! border, where the network saw the least context, count far less than its
//! centre (`e^-8` at the very edge), which hides seams. Every weight is
//! positive, so every pixel is defined. Accumulation is done in `f64`: where
//! all tiles agree, the result equals their common value.

use crate::data::Image;

/// The largest tile side: one tile's activations already take gigabytes.
pub const MAX_TILE: usize = 8192;

/// Invalid [`TileSpec`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// `tile <= margin`: the network would produce no output pixel.
    #[error("tile size {tile} must be larger than the margin {margin}")]
    TileNotLargerThanMargin {
        /// The requested network input size.
        tile: usize,
        /// The requested margin.
        margin: usize,
    },
    /// The margin is odd, so it cannot be split evenly between both sides.
    #[error("margin {margin} must be even (the network loses margin/2 pixels on each side)")]
    OddMargin {
        /// The requested margin.
        margin: usize,
    },
    /// `overlap >= tile - margin`: tiles would not advance.
    #[error(
        "overlap {overlap} must be smaller than the tile output size {output} (tile - margin)"
    )]
    OverlapTooLarge {
        /// The requested overlap.
        overlap: usize,
        /// The output size `tile - margin`.
        output: usize,
    },
    /// The tile is larger than [`MAX_TILE`].
    #[error("tile size {tile} is above the largest, {MAX_TILE}")]
    TileTooLarge {
        /// The requested network input size.
        tile: usize,
    },
    /// The caller's input-size rule (see [`TileSpec::validate_with`]) rejects
    /// the tile size.
    #[error("tile size {tile} is not an input size the network accepts")]
    TileRejected {
        /// The rejected network input size.
        tile: usize,
    },
}

/// Error of [`predict_tiled`]: an invalid spec or input, a network failure,
/// or a network output of the wrong size.
#[derive(Debug, thiserror::Error)]
pub enum TiledError<E> {
    /// The [`TileSpec`] is invalid.
    #[error("invalid tile spec: {0}")]
    Spec(#[from] TileError),
    /// The image's `data` length does not match `channels * height * width`.
    #[error("image data has {got} values, expected {expected} (channels x height x width)")]
    ImageShape {
        /// `channels * height * width`.
        expected: usize,
        /// `data.len()`.
        got: usize,
    },
    /// The network returned a logit vector of the wrong length for a window.
    #[error(
        "network returned {got} values for a window, expected {expected} \
         (classes x (tile - margin) x (tile - margin))"
    )]
    OutputSize {
        /// `classes * (tile - margin)^2`.
        expected: usize,
        /// Length actually returned.
        got: usize,
    },
    /// The network (the `run` closure) failed.
    #[error("network failed: {0}")]
    Network(#[source] E),
}

/// How to cut an image into network windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileSpec {
    /// Network input size: every window passed to the network is
    /// `tile x tile` pixels. Choose it to satisfy the network's input rule
    /// (e.g. a multiple of 16); [`TileSpec::validate_with`] can check that.
    pub tile: usize,
    /// Minimum number of output pixels shared by neighbouring tiles (along
    /// each axis). 0 means tiles just touch (except the last tile of a row or
    /// column, which is shifted back to end at the image border).
    pub overlap: usize,
    /// Input pixels lost by the network: the output is
    /// `(tile - margin) x (tile - margin)`, centred in the window. Must be even.
    pub margin: usize,
}

impl TileSpec {
    /// Output size of one window, `tile - margin` (meaningful once validated).
    pub fn output(&self) -> usize {
        self.tile.saturating_sub(self.margin)
    }

    /// Distance between the starts of consecutive tiles,
    /// `tile - margin - overlap` (meaningful once validated).
    pub fn stride(&self) -> usize {
        self.output().saturating_sub(self.overlap)
    }

    /// Checks `tile > margin`, `margin` even and `overlap < tile - margin`.
    ///
    /// # Errors
    /// The first violated rule, as a [`TileError`].
    pub fn validate(&self) -> Result<(), TileError> {
        if self.tile > MAX_TILE {
            return Err(TileError::TileTooLarge { tile: self.tile });
        }
        if self.tile <= self.margin {
            return Err(TileError::TileNotLargerThanMargin {
                tile: self.tile,
                margin: self.margin,
            });
        }
        if !self.margin.is_multiple_of(2) {
            return Err(TileError::OddMargin {
                margin: self.margin,
            });
        }
        if self.overlap >= self.output() {
            return Err(TileError::OverlapTooLarge {
                overlap: self.overlap,
                output: self.output(),
            });
        }
        Ok(())
    }

    /// [`TileSpec::validate`], plus the network's own input-size rule:
    /// `accepts(tile)` must be true (e.g. `|n| n % 16 == 0`).
    ///
    /// # Errors
    /// As [`TileSpec::validate`], or [`TileError::TileRejected`].
    pub fn validate_with(&self, accepts: impl Fn(usize) -> bool) -> Result<(), TileError> {
        self.validate()?;
        if !accepts(self.tile) {
            return Err(TileError::TileRejected { tile: self.tile });
        }
        Ok(())
    }
}

/// Maps any integer coordinate into `0..n` by mirror reflection without
/// repeating the edge pixel (numpy's `reflect`), repeatedly if needed:
/// `... 2 1 | 0 1 2 ... n-1 | n-2 n-3 ...`. `n` must be at least 1.
pub(super) fn reflect(i: i64, n: usize) -> usize {
    if n == 1 {
        return 0;
    }
    let period = 2 * (n as i64 - 1);
    let r = i.rem_euclid(period);
    if r < n as i64 {
        r as usize
    } else {
        (period - r) as usize
    }
}

/// Pads `image` by mirror reflection: `top`/`bottom` rows and `left`/`right`
/// columns are added, reflected about the edge pixel without repeating it
/// (numpy's `np.pad(..., mode="reflect")`). Pads larger than the image are
/// handled by reflecting again and again (the image is extended periodically
/// with its mirror image). An axis of length 1 is repeated; along an axis of
/// length 0 there is nothing to reflect and padded pixels are 0.
///
/// # Panics
/// If `image.data.len() != channels * height * width`.
pub fn mirror_pad(image: &Image, top: usize, bottom: usize, left: usize, right: usize) -> Image {
    let (c, h, w) = (image.channels, image.height, image.width);
    assert_eq!(
        image.data.len(),
        c * h * w,
        "image data length does not match channels x height x width"
    );
    let (nh, nw) = (h + top + bottom, w + left + right);
    let mut data = vec![0.0f32; c * nh * nw];
    if h > 0 && w > 0 {
        let rows: Vec<usize> = (0..nh).map(|y| reflect(y as i64 - top as i64, h)).collect();
        let cols: Vec<usize> = (0..nw)
            .map(|x| reflect(x as i64 - left as i64, w))
            .collect();
        fill_window(image, &rows, &cols, &mut data);
    }
    Image {
        channels: c,
        height: nh,
        width: nw,
        data,
    }
}

/// Writes `image[ch][rows[y]][cols[x]]` into `out[ch][y][x]`.
fn fill_window(image: &Image, rows: &[usize], cols: &[usize], out: &mut [f32]) {
    let (h, w) = (image.height, image.width);
    let (oh, ow) = (rows.len(), cols.len());
    for ch in 0..image.channels {
        let plane = &image.data[ch * h * w..(ch + 1) * h * w];
        let out_plane = &mut out[ch * oh * ow..(ch + 1) * oh * ow];
        for (out_row, &sy) in out_plane.chunks_exact_mut(ow).zip(rows) {
            let src = &plane[sy * w..(sy + 1) * w];
            for (o, &sx) in out_row.iter_mut().zip(cols) {
                *o = src[sx];
            }
        }
    }
}

/// Start positions (in image coordinates, possibly negative) of the output
/// tiles along an axis of length `len`.
///
/// If the image fits in one output tile, a single tile is centred on it.
/// Otherwise tiles start at `0, stride, 2 stride, ...`, and the last one is
/// shifted back to end exactly at the image border.
pub(super) fn tile_starts(len: usize, out: usize, stride: usize) -> Vec<i64> {
    if len <= out {
        return vec![-(((out - len) / 2) as i64)];
    }
    let last = len - out;
    let mut starts: Vec<i64> = (0..last).step_by(stride).map(|s| s as i64).collect();
    starts.push(last as i64);
    starts
}

/// The fraction of a tile's output side that is one standard deviation of its importance
/// weights (nnU-Net's `sigma_scale`).
pub const GAUSSIAN_SIGMA_SCALE: f64 = 1.0 / 8.0;

/// Gaussian importance weights along one axis of a tile's `n` output pixels: centred on the
/// tile, `sigma = n / 8`, 1 at the centre. Symmetric, so a mirrored tile weighs alike.
pub(super) fn importance(n: usize) -> Vec<f64> {
    let centre = (n as f64 - 1.0) / 2.0;
    let sigma = n as f64 * GAUSSIAN_SIGMA_SCALE;
    (0..n)
        .map(|j| (-(j as f64 - centre).powi(2) / (2.0 * sigma * sigma)).exp())
        .collect()
}

/// Per-pixel total weight along one axis: the sum of the importance weights of
/// all tiles covering each pixel.
pub(super) fn axis_weight_sum(len: usize, starts: &[i64], ramp: &[f64]) -> Vec<f64> {
    let mut sum = vec![0.0; len];
    for &s in starts {
        for (j, &w) in ramp.iter().enumerate() {
            let p = s + j as i64;
            if (0..len as i64).contains(&p) {
                sum[p as usize] += w;
            }
        }
    }
    sum
}

/// Runs a network over `image` tile by tile and returns `classes x H x W`
/// logits (CHW, row-major) for exactly the image's `H x W` pixels, for any
/// image size.
///
/// `run` receives a `channels x tile x tile` window (an [`Image`] with
/// `height == width == spec.tile`) and must return
/// `classes x (tile - margin) x (tile - margin)` logits for the window's
/// centre (offset `margin / 2`). Windows reaching past the image border are
/// mirror-padded (see [`mirror_pad`]); an image smaller than one output tile
/// is centred in a single window. Overlapping outputs are averaged with
/// Gaussian importance weights (see the [module docs](self)).
///
/// The number of windows along an axis of length `L` is 1 if
/// `L <= tile - margin`, else `ceil((L - out) / stride) + 1` with
/// `out = tile - margin` and `stride = out - overlap`. Windows are visited
/// row by row. An image with zero height or width yields an empty vector
/// without calling `run`.
///
/// # Errors
/// [`TiledError::Spec`] for an invalid `spec` (checked before anything runs),
/// [`TiledError::ImageShape`] if the image data length is inconsistent,
/// [`TiledError::Network`] as soon as `run` fails, and
/// [`TiledError::OutputSize`] if `run` returns a vector of the wrong length.
pub fn predict_tiled<E>(
    image: &Image,
    spec: &TileSpec,
    classes: usize,
    mut run: impl FnMut(&Image) -> Result<Vec<f32>, E>,
) -> Result<Vec<f32>, TiledError<E>> {
    spec.validate()?;
    let (c, h, w) = (image.channels, image.height, image.width);
    if image.data.len() != c * h * w {
        return Err(TiledError::ImageShape {
            expected: c * h * w,
            got: image.data.len(),
        });
    }
    if h == 0 || w == 0 {
        return Ok(Vec::new());
    }

    let (tile, out, half) = (spec.tile, spec.output(), (spec.margin / 2) as i64);
    let ys = tile_starts(h, out, spec.stride());
    let xs = tile_starts(w, out, spec.stride());
    let weight = importance(out);
    let wy = axis_weight_sum(h, &ys, &weight);
    let wx = axis_weight_sum(w, &xs, &weight);

    let expected = classes * out * out;
    let mut acc = vec![0.0f64; classes * h * w];
    let mut window = Image {
        channels: c,
        height: tile,
        width: tile,
        data: vec![0.0; c * tile * tile],
    };

    for &y0 in &ys {
        let rows: Vec<usize> = (0..tile as i64)
            .map(|j| reflect(y0 - half + j, h))
            .collect();
        for &x0 in &xs {
            let cols: Vec<usize> = (0..tile as i64)
                .map(|j| reflect(x0 - half + j, w))
                .collect();
            fill_window(image, &rows, &cols, &mut window.data);
            let logits = run(&window).map_err(TiledError::Network)?;
            if logits.len() != expected {
                return Err(TiledError::OutputSize {
                    expected,
                    got: logits.len(),
                });
            }
            // Visible part of this output tile, in tile coordinates.
            let (jy0, jy1) = visible(y0, out, h);
            let (jx0, jx1) = visible(x0, out, w);
            for k in 0..classes {
                let plane = &logits[k * out * out..(k + 1) * out * out];
                let acc_plane = &mut acc[k * h * w..(k + 1) * h * w];
                for jy in jy0..jy1 {
                    let y = (y0 + jy as i64) as usize;
                    let ry = weight[jy];
                    let src = &plane[jy * out..(jy + 1) * out];
                    let dst = &mut acc_plane[y * w..(y + 1) * w];
                    for jx in jx0..jx1 {
                        let x = (x0 + jx as i64) as usize;
                        dst[x] += ry * weight[jx] * src[jx] as f64;
                    }
                }
            }
        }
    }

    let mut result = Vec::with_capacity(classes * h * w);
    for plane in acc.chunks_exact(h * w) {
        for (row, &ry) in plane.chunks_exact(w).zip(&wy) {
            result.extend(row.iter().zip(&wx).map(|(&v, &rx)| (v / (ry * rx)) as f32));
        }
    }
    Ok(result)
}

/// Range `j0..j1` of tile offsets whose image coordinate `start + j` lies in
/// `0..len`.
pub(super) fn visible(start: i64, out: usize, len: usize) -> (usize, usize) {
    let j0 = (-start).max(0) as usize;
    let j1 = ((len as i64 - start).min(out as i64)).max(0) as usize;
    (j0.min(j1), j1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    /// Image with distinct, exactly representable values.
    fn test_image(channels: usize, h: usize, w: usize) -> Image {
        let data = (0..channels * h * w)
            .map(|i| ((i * 37 + 11) % 256) as f32 / 256.0)
            .collect();
        Image {
            channels,
            height: h,
            width: w,
            data,
        }
    }

    /// A fake network: the centre crop of the window's channel 0, copied to
    /// every class (class k gets + k so classes are distinguishable).
    fn identity_net(
        spec: TileSpec,
        classes: usize,
    ) -> impl FnMut(&Image) -> Result<Vec<f32>, Infallible> {
        move |win: &Image| {
            assert_eq!((win.height, win.width), (spec.tile, spec.tile));
            let (out, half) = (spec.output(), spec.margin / 2);
            let mut v = Vec::with_capacity(classes * out * out);
            for k in 0..classes {
                for y in 0..out {
                    for x in 0..out {
                        v.push(win.data[(y + half) * spec.tile + x + half] + k as f32);
                    }
                }
            }
            Ok(v)
        }
    }

    #[test]
    fn reflect_matches_numpy() {
        // np.pad([1, 2, 3], 4, mode="reflect") == [1 2 3 2 1 2 3 2 1 2 3]
        let img = Image {
            channels: 1,
            height: 1,
            width: 3,
            data: vec![1.0, 2.0, 3.0],
        };
        let p = mirror_pad(&img, 0, 0, 4, 4);
        assert_eq!(p.width, 11);
        assert_eq!(
            p.data,
            vec![1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0, 2.0, 1.0, 2.0, 3.0]
        );
        // np.pad([1, 2], 3, mode="reflect") == [2 1 2 1 2 1 2 1]
        let img2 = Image {
            channels: 1,
            height: 2,
            width: 1,
            data: vec![1.0, 2.0],
        };
        let p2 = mirror_pad(&img2, 3, 3, 0, 0);
        assert_eq!(p2.data, vec![2.0, 1.0, 2.0, 1.0, 2.0, 1.0, 2.0, 1.0]);
    }

    #[test]
    fn mirror_pad_2d_and_channels() {
        // 2 channels, 2x3; pad top 1, bottom 2, left 2, right 1.
        let img = test_image(2, 2, 3);
        let p = mirror_pad(&img, 1, 2, 2, 1);
        assert_eq!((p.channels, p.height, p.width), (2, 5, 6));
        let at =
            |im: &Image, c: usize, y: usize, x: usize| im.data[(c * im.height + y) * im.width + x];
        let rows = [1, 0, 1, 0, 1];
        let cols = [2, 1, 0, 1, 2, 1];
        for c in 0..2 {
            for (y, &sy) in rows.iter().enumerate() {
                for (x, &sx) in cols.iter().enumerate() {
                    assert_eq!(at(&p, c, y, x), at(&img, c, sy, sx));
                }
            }
        }
        // 1x1 image: constant; empty image: zeros.
        let one = Image {
            channels: 1,
            height: 1,
            width: 1,
            data: vec![0.5],
        };
        assert_eq!(mirror_pad(&one, 2, 2, 2, 2).data, vec![0.5; 25]);
        let empty = Image {
            channels: 1,
            height: 0,
            width: 3,
            data: vec![],
        };
        let pe = mirror_pad(&empty, 1, 1, 0, 0);
        assert_eq!((pe.height, pe.width, pe.data), (2, 3, vec![0.0; 6]));
    }

    #[test]
    fn identity_network_reproduces_image() {
        let sizes = [(1, 1), (5, 7), (16, 16), (37, 53), (100, 20)];
        let mut checked = 0;
        for &tile in &[16usize, 32] {
            for &margin in &[0usize, 8, 12] {
                for &overlap in &[0usize, 4, 8] {
                    let spec = TileSpec {
                        tile,
                        overlap,
                        margin,
                    };
                    if spec.validate().is_err() {
                        // e.g. tile 16, margin 12, overlap 4 or 8
                        assert!(overlap >= tile - margin);
                        continue;
                    }
                    for &(h, w) in &sizes {
                        for &channels in &[1usize, 3] {
                            let img = test_image(channels, h, w);
                            let classes = 2;
                            let out =
                                predict_tiled(&img, &spec, classes, identity_net(spec, classes))
                                    .unwrap();
                            assert_eq!(out.len(), classes * h * w);
                            for k in 0..classes {
                                let got = &out[k * h * w..(k + 1) * h * w];
                                let want: Vec<f32> =
                                    img.data[..h * w].iter().map(|v| v + k as f32).collect();
                                assert_eq!(got, &want[..], "{spec:?} {h}x{w} class {k}");
                            }
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 100);
    }

    #[test]
    fn identity_with_paper_like_margin_and_arbitrary_values() {
        // Non-dyadic values and larger tiles: still exact thanks to f64
        // accumulation.
        let spec = TileSpec {
            tile: 96,
            overlap: 10,
            margin: 44,
        };
        let mut img = test_image(1, 123, 77);
        for (i, v) in img.data.iter_mut().enumerate() {
            *v = (i as f32 * 0.618_034).fract();
        }
        let out = predict_tiled(&img, &spec, 1, identity_net(spec, 1)).unwrap();
        assert_eq!(out, img.data);
    }

    #[test]
    fn call_count_and_window_size() {
        let img = test_image(3, 64, 64);
        let spec = TileSpec {
            tile: 32,
            overlap: 0,
            margin: 0,
        };
        let mut calls = 0;
        let out = predict_tiled(&img, &spec, 2, |win: &Image| {
            calls += 1;
            assert_eq!(
                (win.channels, win.height, win.width, win.data.len()),
                (3, 32, 32, 3 * 32 * 32)
            );
            Ok::<_, Infallible>(vec![0.0; 2 * 32 * 32])
        })
        .unwrap();
        assert_eq!(calls, 4);
        assert_eq!(out.len(), 2 * 64 * 64);

        // 100 px with out 24 and stride 20 -> ceil(76/20)+1 = 5 per axis.
        let spec = TileSpec {
            tile: 32,
            overlap: 4,
            margin: 8,
        };
        let img = test_image(1, 100, 24);
        let mut calls = 0;
        predict_tiled(&img, &spec, 1, |win: &Image| {
            calls += 1;
            assert_eq!((win.height, win.width), (32, 32));
            Ok::<_, Infallible>(vec![0.0; 24 * 24])
        })
        .unwrap();
        assert_eq!(calls, 5);
    }

    #[test]
    fn overlaps_are_blended_with_gaussian_weights() {
        // 1x12 image, out 8, stride 4: tiles at x = 0 and x = 4. The network
        // outputs the call index everywhere, so pixel x gets tile 1's share of
        // the weight: g(x - 4) / (g(x) + g(x - 4)), g(j) = exp(-(j - 3.5)^2 / 2)
        // (sigma = 8 / 8 = 1).
        let img = test_image(1, 1, 12);
        let spec = TileSpec {
            tile: 8,
            overlap: 4,
            margin: 0,
        };
        let mut calls = 0.0f32;
        let out = predict_tiled(&img, &spec, 1, |_: &Image| {
            let v = vec![calls; 64];
            calls += 1.0;
            Ok::<_, Infallible>(v)
        })
        .unwrap();
        let g = |j: f64| (-(j - 3.5).powi(2) / 2.0).exp();
        for (x, got) in out.iter().enumerate() {
            let want = match x {
                0..4 => 0.0,
                4..8 => g(x as f64 - 4.0) / (g(x as f64) + g(x as f64 - 4.0)),
                _ => 1.0,
            };
            assert!((f64::from(*got) - want).abs() < 1e-6, "{out:?}");
        }
        // x = 4: exp(-6.125) / (exp(-0.125) + exp(-6.125)), tile 0's centre dominates.
        assert!((f64::from(out[4]) - 0.002_472).abs() < 1e-5);
    }

    #[test]
    fn importance_is_one_at_the_centre_symmetric_and_e_to_the_minus_8_at_the_edges() {
        let w = importance(16);
        for j in 0..16 {
            assert!((w[j] - w[15 - j]).abs() < 1e-15);
        }
        // sigma 2, edge 7.5 from the centre: exp(-7.5^2 / 8).
        assert!((w[0] - (-7.5f64 * 7.5 / 8.0).exp()).abs() < 1e-15);
        let odd = importance(9);
        assert_eq!(odd[4], 1.0);
    }

    #[test]
    fn windows_are_mirror_padded() {
        // The first window of a padding-margin net sees the image reflected
        // about its top-left pixel.
        let img = test_image(1, 40, 40);
        let spec = TileSpec {
            tile: 32,
            overlap: 0,
            margin: 8,
        };
        let padded = mirror_pad(&img, 4, 4, 4, 4);
        let mut first = None;
        predict_tiled(&img, &spec, 1, |win: &Image| {
            first.get_or_insert_with(|| win.data.clone());
            Ok::<_, Infallible>(vec![0.0; 24 * 24])
        })
        .unwrap();
        let first = first.unwrap();
        for y in 0..32 {
            for x in 0..32 {
                assert_eq!(first[y * 32 + x], padded.data[y * 48 + x]);
            }
        }
    }

    #[test]
    fn errors_surface() {
        let img = test_image(1, 10, 10);
        let bad = |tile, overlap, margin| {
            predict_tiled(
                &img,
                &TileSpec {
                    tile,
                    overlap,
                    margin,
                },
                1,
                |_: &Image| -> Result<Vec<f32>, Infallible> { panic!("must not run") },
            )
            .unwrap_err()
        };
        assert!(matches!(
            bad(8, 0, 8),
            TiledError::Spec(TileError::TileNotLargerThanMargin { tile: 8, margin: 8 })
        ));
        assert!(matches!(
            bad(16, 0, 3),
            TiledError::Spec(TileError::OddMargin { margin: 3 })
        ));
        assert!(matches!(
            bad(16, 8, 8),
            TiledError::Spec(TileError::OverlapTooLarge {
                overlap: 8,
                output: 8
            })
        ));
        let spec = TileSpec {
            tile: 20,
            overlap: 0,
            margin: 0,
        };
        assert_eq!(
            spec.validate_with(|n| n % 16 == 0),
            Err(TileError::TileRejected { tile: 20 })
        );
        assert_eq!(spec.validate_with(|n| n % 4 == 0), Ok(()));

        let e = predict_tiled(&img, &spec, 1, |_: &Image| Err("boom")).unwrap_err();
        assert!(matches!(e, TiledError::Network("boom")));
        assert_eq!(e.to_string(), "network failed: boom");

        let e = predict_tiled(&img, &spec, 2, |_: &Image| {
            Ok::<_, Infallible>(vec![0.0; 3])
        })
        .unwrap_err();
        assert!(matches!(
            e,
            TiledError::OutputSize {
                expected: 800,
                got: 3
            }
        ));

        let broken = Image {
            channels: 1,
            height: 2,
            width: 2,
            data: vec![0.0; 3],
        };
        assert!(matches!(
            predict_tiled(&broken, &spec, 1, |_: &Image| Ok::<_, Infallible>(vec![])),
            Err(TiledError::ImageShape {
                expected: 4,
                got: 3
            })
        ));
        let empty = Image {
            channels: 1,
            height: 0,
            width: 5,
            data: vec![],
        };
        assert_eq!(
            predict_tiled(
                &empty,
                &spec,
                1,
                |_: &Image| -> Result<Vec<f32>, Infallible> { panic!("must not run") }
            )
            .unwrap(),
            Vec::<f32>::new()
        );
    }
}
