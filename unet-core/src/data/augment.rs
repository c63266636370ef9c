//! Data augmentation that keeps image and mask aligned: random crop, flips, 90-degree
//! rotations and the U-Net paper's elastic deformation.
//!
//! Borders are mirrored (reflected about the edge pixels, like NumPy's `reflect` mode), both
//! when a crop is larger than the image and when the elastic deformation samples outside it.

use rand::{Rng, RngExt};

use super::{Image, Intensity, Mask, Sample};

/// Elastic deformation as in the U-Net paper (Ronneberger et al., 2015): random displacement
/// vectors on a coarse `grid` x `grid` grid spanning the image, drawn from N(0, `sigma` px) and
/// interpolated to every pixel with bicubic (Catmull-Rom) interpolation; the image is resampled
/// bilinearly and the mask by nearest neighbour, both mirrored at the borders.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elastic {
    /// Grid points per side (the paper: 3). Values below 2 act as 2.
    pub grid: usize,
    /// Standard deviation of the displacements, in pixels (the paper: 10).
    pub sigma: f32,
}

impl Default for Elastic {
    /// The paper's setting: a 3 x 3 grid, sigma 10 px.
    fn default() -> Self {
        Self {
            grid: 3,
            sigma: 10.0,
        }
    }
}

/// A random augmentation, applied in this order: crop, flips, rotation, elastic deformation,
/// intensity changes.
///
/// `Augment::default()` changes nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Augment {
    /// Random `crop` x `crop` window; an image smaller than that in either dimension is
    /// mirror-padded (centred) up to it first.
    pub crop: Option<usize>,
    /// Random horizontal and vertical flips, each with probability 1/2.
    pub flip: bool,
    /// Random rotation by a multiple of 90 degrees (square images), or by 0 or 180 degrees
    /// (non-square images, whose shape is thus kept).
    pub rot90: bool,
    /// Elastic deformation.
    pub elastic: Option<Elastic>,
    /// Random intensity changes of the image, after the geometric ones.
    pub intensity: Option<Intensity>,
}

impl Augment {
    /// Returns a randomly augmented copy of `sample`, with its mask transformed alike.
    ///
    /// # Panics
    /// If `crop` is `Some(0)`.
    pub fn apply(&self, sample: &Sample, rng: &mut impl Rng) -> Sample {
        let mut out = match self.crop {
            Some(size) => random_crop(sample, size, rng),
            None => sample.clone(),
        };
        if self.flip {
            if rng.random_bool(0.5) {
                out = flip_horizontal(&out);
            }
            if rng.random_bool(0.5) {
                out = flip_vertical(&out);
            }
        }
        if self.rot90 {
            let quarter_turns = if out.image.height == out.image.width {
                rng.random_range(0..4u32)
            } else {
                2 * rng.random_range(0..2u32)
            };
            for _ in 0..quarter_turns {
                out = rotate90(&out);
            }
        }
        if let Some(elastic) = self.elastic {
            out = elastic_deform(&out, elastic, rng);
        }
        if let Some(intensity) = self.intensity {
            let (c, h, w) = (out.image.channels, out.image.height, out.image.width);
            intensity.apply(&mut out.image.data, c, &[h, w], rng);
        }
        out
    }
}

/// The central `size` x `size` window of `sample` (mirror-padded where the sample is smaller).
///
/// Sample-level; the tensor-level crop of a feature map is `unet::center_crop`.
///
/// # Panics
/// If `size` is 0.
pub fn center_crop_sample(sample: &Sample, size: usize) -> Sample {
    assert!(size > 0, "crop size must be positive");
    let top = centred_offset(sample.image.height, size);
    let left = centred_offset(sample.image.width, size);
    extract(sample, top, left, size, size)
}

/// A random `size` x `size` window; dimensions smaller than `size` are mirror-padded, centred.
fn random_crop(sample: &Sample, size: usize, rng: &mut impl Rng) -> Sample {
    assert!(size > 0, "crop size must be positive");
    let mut offset = |extent: usize| {
        if extent >= size {
            rng.random_range(0..=(extent - size) as u64) as isize
        } else {
            centred_offset(extent, size)
        }
    };
    let top = offset(sample.image.height);
    let left = offset(sample.image.width);
    extract(sample, top, left, size, size)
}

/// Offset of a centred window of `size` in `extent` (negative when `size > extent`).
pub(super) fn centred_offset(extent: usize, size: usize) -> isize {
    (extent as isize - size as isize).div_euclid(2)
}

/// Reflects index `i` into `0..n` about the edge pixels (period `2n - 2`, edges not repeated).
#[inline]
pub(super) fn mirror(i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let m = i.rem_euclid(period);
    (if m < n as isize { m } else { period - m }) as usize
}

/// Builds an `out_h` x `out_w` sample whose pixel `(y, x)` is the source pixel `source(y, x)`
/// (any integers; mirrored into the source).
fn remap(
    sample: &Sample,
    out_h: usize,
    out_w: usize,
    source: impl Fn(usize, usize) -> (isize, isize),
) -> Sample {
    let (h, w) = (sample.image.height, sample.image.width);
    let channels = sample.image.channels;
    let mut image = Image::zeros(channels, out_h, out_w);
    let mut mask = Mask::zeros(out_h, out_w);
    let mut weights = sample.weights.as_ref().map(|_| vec![0.0; out_h * out_w]);
    let (n_in, n_out) = (h * w, out_h * out_w);
    for y in 0..out_h {
        for x in 0..out_w {
            let (sy, sx) = source(y, x);
            let src = mirror(sy, h) * w + mirror(sx, w);
            let dst = y * out_w + x;
            mask.data[dst] = sample.mask.data[src];
            if let (Some(to), Some(from)) = (weights.as_mut(), sample.weights.as_ref()) {
                to[dst] = from[src];
            }
            for c in 0..channels {
                image.data[c * n_out + dst] = sample.image.data[c * n_in + src];
            }
        }
    }
    Sample {
        weights,
        ..Sample::new(sample.name.clone(), image, mask)
    }
}

/// The `h` x `w` window whose top-left corner is `(top, left)` (may lie outside: mirrored).
fn extract(sample: &Sample, top: isize, left: isize, h: usize, w: usize) -> Sample {
    remap(sample, h, w, |y, x| (top + y as isize, left + x as isize))
}

/// Mirror image left-right.
fn flip_horizontal(sample: &Sample) -> Sample {
    let (h, w) = (sample.image.height, sample.image.width);
    remap(sample, h, w, |y, x| (y as isize, (w - 1 - x) as isize))
}

/// Mirror image top-bottom.
fn flip_vertical(sample: &Sample) -> Sample {
    let (h, w) = (sample.image.height, sample.image.width);
    remap(sample, h, w, |y, x| ((h - 1 - y) as isize, x as isize))
}

/// Rotation by 90 degrees clockwise (height and width swap).
fn rotate90(sample: &Sample) -> Sample {
    let (h, w) = (sample.image.height, sample.image.width);
    remap(sample, w, h, |y, x| ((h - 1 - x) as isize, y as isize))
}

/// One standard normal draw (Box-Muller).
pub(super) fn standard_normal(rng: &mut impl Rng) -> f32 {
    let u1 = 1.0 - rng.random::<f32>(); // (0, 1]
    let u2 = rng.random::<f32>();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// Catmull-Rom weights for the four neighbours `i-1, i, i+1, i+2` at fraction `t` past `i`.
fn cubic_weights(t: f32) -> [f32; 4] {
    let t2 = t * t;
    let t3 = t2 * t;
    [
        0.5 * (-t3 + 2.0 * t2 - t),
        0.5 * (3.0 * t3 - 5.0 * t2 + 2.0),
        0.5 * (-3.0 * t3 + 4.0 * t2 + t),
        0.5 * (t3 - t2),
    ]
}

/// For each of `extent` pixels: the four grid indices (clamped) and their cubic weights, the
/// `grid` points spanning pixel 0 to pixel `extent - 1`.
fn grid_taps(extent: usize, grid: usize) -> Vec<([usize; 4], [f32; 4])> {
    let scale = if extent > 1 {
        (grid - 1) as f32 / (extent - 1) as f32
    } else {
        0.0
    };
    (0..extent)
        .map(|p| {
            let g = p as f32 * scale;
            let i = (g.floor() as usize).min(grid - 2);
            let t = g - i as f32;
            let clamp = |k: isize| k.clamp(0, grid as isize - 1) as usize;
            let i = i as isize;
            (
                [clamp(i - 1), clamp(i), clamp(i + 1), clamp(i + 2)],
                cubic_weights(t),
            )
        })
        .collect()
}

/// The elastic deformation described on [`Elastic`].
fn elastic_deform(sample: &Sample, elastic: Elastic, rng: &mut impl Rng) -> Sample {
    let grid = elastic.grid.max(2);
    let (h, w) = (sample.image.height, sample.image.width);
    let channels = sample.image.channels;
    // Coarse displacements, row-major over the grid: (dy, dx) in pixels.
    let coarse: Vec<(f32, f32)> = (0..grid * grid)
        .map(|_| {
            let dy = elastic.sigma * standard_normal(rng);
            let dx = elastic.sigma * standard_normal(rng);
            (dy, dx)
        })
        .collect();
    let rows = grid_taps(h, grid);
    let cols = grid_taps(w, grid);

    let mut image = Image::zeros(channels, h, w);
    let mut mask = Mask::zeros(h, w);
    let mut weights = sample.weights.as_ref().map(|_| vec![0.0; h * w]);
    let n = h * w;
    for (y, (ry, wy)) in rows.iter().enumerate() {
        for (x, (cx, wx)) in cols.iter().enumerate() {
            let (mut dy, mut dx) = (0.0f32, 0.0f32);
            for a in 0..4 {
                for b in 0..4 {
                    let weight = wy[a] * wx[b];
                    let (gy, gx) = coarse[ry[a] * grid + cx[b]];
                    dy += weight * gy;
                    dx += weight * gx;
                }
            }
            let sy = y as f32 + dy;
            let sx = x as f32 + dx;
            let dst = y * w + x;

            // Mask: nearest neighbour.
            let ny = mirror(sy.round() as isize, h);
            let nx = mirror(sx.round() as isize, w);
            mask.data[dst] = sample.mask.data[ny * w + nx];
            if let (Some(to), Some(from)) = (weights.as_mut(), sample.weights.as_ref()) {
                to[dst] = from[ny * w + nx];
            }

            // Image: bilinear between the four mirrored neighbours.
            let (fy, fx) = (sy.floor(), sx.floor());
            let (ty, tx) = (sy - fy, sx - fx);
            let (y0, x0) = (fy as isize, fx as isize);
            let (y0m, y1m) = (mirror(y0, h), mirror(y0 + 1, h));
            let (x0m, x1m) = (mirror(x0, w), mirror(x0 + 1, w));
            for c in 0..channels {
                let plane = &sample.image.data[c * n..(c + 1) * n];
                let top = plane[y0m * w + x0m] * (1.0 - tx) + plane[y0m * w + x1m] * tx;
                let bottom = plane[y1m * w + x0m] * (1.0 - tx) + plane[y1m * w + x1m] * tx;
                image.data[c * n + dst] = top * (1.0 - ty) + bottom * ty;
            }
        }
    }
    Sample {
        weights,
        ..Sample::new(sample.name.clone(), image, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A smooth deterministic image (blobs of varying size) with mask = image > 0.5. Channels 1
    /// and 2 (if any) are ramps `y / (h - 1)` and `x / (w - 1)`, which tell where a pixel came
    /// from.
    fn blobs(channels: usize, h: usize, w: usize) -> Sample {
        let image = Image::from_fn(channels, h, w, |c, y, x| {
            let (yf, xf) = (y as f32, x as f32);
            match c {
                0 => 0.5 + 0.45 * (xf * 0.09 + 0.3).sin() * (yf * 0.08 + xf * 0.01).cos(),
                1 => yf / (h - 1) as f32,
                _ => xf / (w - 1) as f32,
            }
        });
        let mask = Mask::from_fn(h, w, |y, x| u8::from(image.get(0, y, x) > 0.5));
        Sample::new("blobs", image, mask)
    }

    /// The source position `(y, x)` a transformed pixel came from, read from the ramps.
    fn source_of(out: &Sample, h: usize, w: usize, y: usize, x: usize) -> (f32, f32) {
        (
            out.image.get(1, y, x) * (h - 1) as f32,
            out.image.get(2, y, x) * (w - 1) as f32,
        )
    }

    /// Share of pixels where mask == (image channel 0 > 0.5).
    fn agreement(s: &Sample) -> f64 {
        let same = s
            .image
            .plane(0)
            .iter()
            .zip(&s.mask.data)
            .filter(|(&v, &m)| u8::from(v > 0.5) == m)
            .count();
        same as f64 / s.mask.data.len() as f64
    }

    /// A tiny sample with distinct values 0..h*w, mask = value as class.
    fn numbered(h: usize, w: usize) -> Sample {
        let image = Image::from_fn(1, h, w, |_, y, x| (y * w + x) as f32);
        let mask = Mask::from_fn(h, w, |y, x| (y * w + x) as u8);
        Sample::new("numbered", image, mask)
    }

    fn rows(s: &Sample) -> Vec<Vec<u8>> {
        s.mask
            .data
            .chunks(s.mask.width)
            .map(<[u8]>::to_vec)
            .collect()
    }

    #[test]
    fn default_augment_changes_nothing() {
        let s = blobs(3, 20, 30);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        assert_eq!(Augment::default().apply(&s, &mut rng), s);
    }

    #[test]
    fn mirror_reflects_about_edge_pixels() {
        let got: Vec<usize> = (-4..9).map(|i| mirror(i, 4)).collect();
        assert_eq!(got, [2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0, 1, 2]);
        assert_eq!(mirror(-5, 1), 0);
    }

    #[test]
    fn flips_and_rotation_move_pixels_as_expected() {
        let s = numbered(2, 3);
        assert_eq!(rows(&flip_horizontal(&s)), [[2, 1, 0], [5, 4, 3]]);
        assert_eq!(rows(&flip_vertical(&s)), [[3, 4, 5], [0, 1, 2]]);
        let r = rotate90(&s);
        assert_eq!((r.image.height, r.image.width), (3, 2));
        // Clockwise: the bottom-left pixel comes to the top-left.
        assert_eq!(rows(&r), [[3, 0], [4, 1], [5, 2]]);
        assert_eq!(r.image.data, [3.0, 0.0, 4.0, 1.0, 5.0, 2.0]);
        let four = rotate90(&rotate90(&rotate90(&r)));
        assert_eq!(four, s);
    }

    #[test]
    fn center_crop_sample_takes_the_middle_and_mirror_pads_small_images() {
        let s = numbered(4, 4);
        assert_eq!(rows(&center_crop_sample(&s, 2)), [[5, 6], [9, 10]]);
        let small = numbered(2, 2);
        // 2x2 -> 4x4: one mirrored row/column before, one after.
        assert_eq!(
            rows(&center_crop_sample(&small, 4)),
            [[3, 2, 3, 2], [1, 0, 1, 0], [3, 2, 3, 2], [1, 0, 1, 0]]
        );
    }

    #[test]
    fn random_crop_has_the_requested_size_and_lies_inside_the_image() {
        let s = numbered(10, 12);
        let aug = Augment {
            crop: Some(4),
            ..Augment::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut corners = std::collections::HashSet::new();
        for _ in 0..200 {
            let c = aug.apply(&s, &mut rng);
            assert_eq!(c.image.shape(), [1, 4, 4]);
            let first = c.image.data[0] as usize;
            let (top, left) = (first / 12, first % 12);
            assert!(top <= 6 && left <= 8);
            // A contiguous window of the original.
            assert_eq!(c.image.get(0, 3, 3) as usize, (top + 3) * 12 + left + 3);
            corners.insert((top, left));
        }
        assert!(corners.len() > 20, "crops are not random: {corners:?}");
    }

    #[test]
    fn crop_larger_than_image_mirror_pads_up_to_crop_size() {
        let s = blobs(3, 20, 50);
        let aug = Augment {
            crop: Some(32),
            ..Augment::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for _ in 0..20 {
            let c = aug.apply(&s, &mut rng);
            assert_eq!(c.image.shape(), [3, 32, 32]);
            assert_eq!((c.mask.height, c.mask.width), (32, 32));
            assert_eq!(agreement(&c), 1.0);
        }
    }

    #[test]
    fn image_and_mask_stay_aligned_through_crop_flips_and_rotation() {
        let aug = Augment {
            crop: Some(24),
            flip: true,
            rot90: true,
            elastic: None,
            intensity: None,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (h, w) in [(40, 40), (30, 45), (16, 20)] {
            let s = blobs(3, h, w);
            assert_eq!(agreement(&s), 1.0);
            for _ in 0..30 {
                let out = aug.apply(&s, &mut rng);
                assert_eq!(agreement(&out), 1.0);
                // The ramps identify the source pixel of every mask pixel.
                for y in 0..out.mask.height {
                    for x in 0..out.mask.width {
                        let (sy, sx) = source_of(&out, h, w, y, x);
                        let src = sy.round() as usize * w + sx.round() as usize;
                        assert_eq!(out.mask.get(y, x), s.mask.data[src]);
                    }
                }
            }
        }
    }

    #[test]
    fn pixel_weights_move_with_the_mask_through_every_augmentation() {
        // Weights equal to the mask's values: every augmentation must keep them equal.
        let mut s = numbered(12, 12);
        s.weights = Some(s.mask.data.iter().map(|&m| f32::from(m)).collect());
        let aug = Augment {
            crop: Some(16),
            flip: true,
            rot90: true,
            elastic: Some(Elastic::default()),
            intensity: Some(crate::data::Intensity::default()),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        for _ in 0..20 {
            let out = aug.apply(&s, &mut rng);
            let weights = out.weights.as_ref().expect("weights kept");
            let from_mask: Vec<f32> = out.mask.data.iter().map(|&m| f32::from(m)).collect();
            assert_eq!(weights, &from_mask);
        }
        assert_eq!(aug.apply(&numbered(4, 4), &mut rng).weights, None);
    }

    #[test]
    fn flips_and_rotations_are_all_used() {
        let s = numbered(3, 3);
        let aug = Augment {
            flip: true,
            rot90: true,
            ..Augment::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let outcomes: std::collections::HashSet<Vec<u8>> = (0..200)
            .map(|_| aug.apply(&s, &mut rng).mask.data)
            .collect();
        // The 8 symmetries of the square.
        assert_eq!(outcomes.len(), 8);
    }

    #[test]
    fn non_square_images_are_only_rotated_by_180_degrees() {
        let s = numbered(2, 3);
        let aug = Augment {
            rot90: true,
            ..Augment::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let outcomes: std::collections::HashSet<Vec<Vec<u8>>> =
            (0..100).map(|_| rows(&aug.apply(&s, &mut rng))).collect();
        let expected: std::collections::HashSet<Vec<Vec<u8>>> = [
            vec![vec![0, 1, 2], vec![3, 4, 5]],
            vec![vec![5, 4, 3], vec![2, 1, 0]],
        ]
        .into();
        assert_eq!(outcomes, expected);
    }

    #[test]
    fn image_and_mask_stay_mostly_aligned_through_elastic_deformation() {
        let aug = Augment {
            crop: None,
            flip: true,
            rot90: true,
            elastic: Some(Elastic::default()),
            intensity: None,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for (h, w) in [(64, 64), (48, 80)] {
            let s = blobs(3, h, w);
            let runs = 10;
            let mut mean = 0.0;
            for _ in 0..runs {
                let out = aug.apply(&s, &mut rng);
                assert_eq!(out.image.shape(), [3, h, w]);
                assert!(out.mask.data.iter().all(|&m| m <= 1));
                let a = agreement(&out);
                // Single draws with strong compression can dip a little below 98%.
                assert!(a >= 0.95, "agreement {a}");
                mean += a / runs as f64;
            }
            assert!(mean >= 0.98, "mean agreement {mean}");
        }
    }

    #[test]
    fn elastic_mask_disagrees_with_image_only_at_class_boundaries() {
        // Nearest-neighbour (mask) and bilinear (image) resampling may differ only where the
        // source position lies between pixels of different classes.
        let (h, w) = (64, 64);
        let s = blobs(3, h, w);
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        for _ in 0..5 {
            let out = elastic_deform(&s, Elastic::default(), &mut rng);
            for y in 0..h {
                for x in 0..w {
                    if u8::from(out.image.get(0, y, x) > 0.5) == out.mask.get(y, x) {
                        continue;
                    }
                    let (sy, sx) = source_of(&out, h, w, y, x);
                    let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
                    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
                    let classes =
                        [(y0, x0), (y0, x1), (y1, x0), (y1, x1)].map(|(y, x)| s.mask.get(y, x));
                    assert!(
                        classes.contains(&0) && classes.contains(&1),
                        "mismatch at ({y}, {x}) from ({sy}, {sx}) away from any boundary"
                    );
                }
            }
        }
    }

    #[test]
    fn elastic_deformation_moves_pixels_by_about_sigma() {
        let s = blobs(3, 64, 64);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut mean_shift = 0.0;
        let trials = 20;
        for _ in 0..trials {
            let out = elastic_deform(&s, Elastic::default(), &mut rng);
            assert_ne!(out.image, s.image);
            let mut shift = 0.0;
            for y in 0..64 {
                for x in 0..64 {
                    let (sy, sx) = source_of(&out, 64, 64, y, x);
                    shift += ((sy - y as f32).powi(2) + (sx - x as f32).powi(2)).sqrt();
                }
            }
            mean_shift += shift / 4096.0 / trials as f32;
        }
        // E|d| = sigma * sqrt(pi / 2) = 12.5 px for a 2-D N(0, 10) displacement; interpolation
        // between grid points and mirroring at the borders make it somewhat smaller.
        assert!((5.0..15.0).contains(&mean_shift), "mean shift {mean_shift}");
    }

    #[test]
    fn zero_sigma_elastic_deformation_is_the_identity() {
        let s = blobs(3, 17, 23);
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let out = elastic_deform(
            &s,
            Elastic {
                grid: 3,
                sigma: 0.0,
            },
            &mut rng,
        );
        assert_eq!(out, s);
    }

    #[test]
    fn grid_taps_interpolate_the_grid_points_exactly() {
        let taps = grid_taps(5, 3);
        // Pixel 0, 2, 4 sit on grid points 0, 1, 2.
        for (p, g) in [(0, 0), (2, 1), (4, 2)] {
            let (idx, w) = taps[p];
            let value: f32 = idx.iter().zip(w).map(|(&i, w)| w * i as f32).sum();
            assert!((value - g as f32).abs() < 1e-6, "pixel {p}: {value}");
        }
        for (_, w) in &taps {
            assert!((w.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
    }
}
