//! Intensity augmentation: random brightness, contrast, gamma, Gaussian noise and Gaussian blur
//! of the image alone (the mask is untouched), nnU-Net's set, each with its own probability.
//!
//! Works on any rank: an image is `[channels, spatial...]` values, channel-major, so 2D images
//! and 3D volumes share the code. Each change is drawn per image and applied to every channel
//! alike, except the noise, which is drawn per value.

use rand::{Rng, RngExt};

use super::augment::{mirror, standard_normal};

/// One random change: applied with `probability`, its strength drawn uniformly from
/// `low..=high`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Chance {
    /// How often the change is applied, in `[0, 1]`.
    pub probability: f64,
    /// The smallest strength.
    pub low: f32,
    /// The largest strength.
    pub high: f32,
}

impl Chance {
    const fn new(probability: f64, low: f32, high: f32) -> Self {
        Self {
            probability,
            low,
            high,
        }
    }

    /// The strength of this image's change, or `None` when it is not applied.
    fn draw(&self, rng: &mut impl Rng) -> Option<f32> {
        if self.probability <= 0.0 || !rng.random_bool(self.probability.min(1.0)) {
            return None;
        }
        Some(self.low + (self.high - self.low) * rng.random::<f32>())
    }
}

/// The intensity changes, applied in nnU-Net's order: noise, blur, brightness, contrast, gamma.
///
/// `Intensity::default()` is nnU-Net's setting scaled to images in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Intensity {
    /// Additive Gaussian noise; the strength is its standard deviation.
    pub noise: Chance,
    /// Gaussian blur; the strength is sigma in pixels.
    pub blur: Chance,
    /// Multiplication by the strength.
    pub brightness: Chance,
    /// Scaling about the mean by the strength, clipped to the image's range before it.
    pub contrast: Chance,
    /// `min + range * ((x - min) / range)^strength`, which keeps the range.
    pub gamma: Chance,
}

impl Default for Intensity {
    /// nnU-Net's probabilities and ranges; the noise's standard deviation is up to 0.05 of
    /// the `[0, 1]` range (nnU-Net draws a variance up to 0.1 of z-scored intensities).
    fn default() -> Self {
        Self {
            noise: Chance::new(0.1, 0.0, 0.05),
            blur: Chance::new(0.2, 0.5, 1.0),
            brightness: Chance::new(0.15, 0.75, 1.25),
            contrast: Chance::new(0.15, 0.75, 1.25),
            gamma: Chance::new(0.3, 0.7, 1.5),
        }
    }
}

impl Intensity {
    /// Changes `values`, an image of `channels` planes of the `spatial` shape, in place.
    ///
    /// # Panics
    /// If `values.len()` is not `channels` times the product of `spatial`.
    pub fn apply(
        &self,
        values: &mut [f32],
        channels: usize,
        spatial: &[usize],
        rng: &mut impl Rng,
    ) {
        let plane: usize = spatial.iter().product();
        assert_eq!(
            values.len(),
            channels * plane,
            "image values and shape differ"
        );
        if plane == 0 {
            return;
        }
        if let Some(std) = self.noise.draw(rng) {
            values
                .iter_mut()
                .for_each(|v| *v += std * standard_normal(rng));
        }
        if let Some(sigma) = self.blur.draw(rng) {
            values
                .chunks_exact_mut(plane)
                .for_each(|p| gaussian_blur(p, spatial, sigma));
        }
        if let Some(factor) = self.brightness.draw(rng) {
            values.iter_mut().for_each(|v| *v *= factor);
        }
        if let Some(factor) = self.contrast.draw(rng) {
            values
                .chunks_exact_mut(plane)
                .for_each(|p| scale_contrast(p, factor));
        }
        if let Some(gamma) = self.gamma.draw(rng) {
            values
                .chunks_exact_mut(plane)
                .for_each(|p| apply_gamma(p, gamma));
        }
    }
}

/// The smallest and largest value of a non-empty plane.
fn range(plane: &[f32]) -> (f32, f32) {
    plane
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        })
}

/// `(x - mean) * factor + mean`, clipped to the plane's range before the change.
fn scale_contrast(plane: &mut [f32], factor: f32) {
    let mean = (plane.iter().map(|&v| f64::from(v)).sum::<f64>() / plane.len() as f64) as f32;
    let (lo, hi) = range(plane);
    for v in plane {
        *v = ((*v - mean) * factor + mean).clamp(lo, hi);
    }
}

/// `lo + span * ((x - lo) / span)^gamma`; a constant plane is left as it is.
fn apply_gamma(plane: &mut [f32], gamma: f32) {
    let (lo, hi) = range(plane);
    let span = hi - lo;
    if span <= 0.0 {
        return;
    }
    for v in plane {
        *v = lo + span * ((*v - lo) / span).powf(gamma);
    }
}

/// The normalised kernel of a Gaussian of `sigma` pixels, truncated at 3 sigma (scipy's
/// `gaussian_filter` truncates at 4; 3 loses under 0.3% of the mass).
fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as isize;
    let taps: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = taps.iter().sum();
    taps.into_iter().map(|t| t / total).collect()
}

/// Separable Gaussian blur of one plane along every spatial axis, mirrored at the borders.
fn gaussian_blur(plane: &mut [f32], spatial: &[usize], sigma: f32) {
    let kernel = gaussian_kernel(sigma);
    let radius = (kernel.len() / 2) as isize;
    let mut line = Vec::new();
    for axis in 0..spatial.len() {
        let n = spatial[axis];
        let stride: usize = spatial[axis + 1..].iter().product();
        let outer = plane.len() / (n * stride);
        for o in 0..outer {
            for inner in 0..stride {
                let base = o * n * stride + inner;
                line.clear();
                line.extend((0..n).map(|i| plane[base + i * stride]));
                for i in 0..n {
                    plane[base + i * stride] = kernel
                        .iter()
                        .enumerate()
                        .map(|(k, &t)| t * line[mirror(i as isize + k as isize - radius, n)])
                        .sum();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn only(change: Chance) -> Intensity {
        let off = Chance::new(0.0, 0.0, 0.0);
        let mut intensity = Intensity {
            noise: off,
            blur: off,
            brightness: off,
            contrast: off,
            gamma: off,
        };
        intensity.noise = change;
        intensity
    }

    fn ramp(n: usize) -> Vec<f32> {
        (0..n).map(|i| i as f32 / (n - 1) as f32).collect()
    }

    #[test]
    fn a_change_of_probability_zero_never_happens_and_of_one_always() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let never = Chance::new(0.0, 1.0, 2.0);
        let always = Chance::new(1.0, 1.0, 2.0);
        for _ in 0..100 {
            assert_eq!(never.draw(&mut rng), None);
            let s = always.draw(&mut rng).unwrap();
            assert!((1.0..=2.0).contains(&s));
        }
    }

    #[test]
    fn probabilities_are_kept_over_many_draws() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let chance = Chance::new(0.3, 0.0, 1.0);
        let hits = (0..10_000)
            .filter(|_| chance.draw(&mut rng).is_some())
            .count();
        assert!((2_800..3_200).contains(&hits), "{hits}");
    }

    #[test]
    fn contrast_scales_about_the_mean_within_the_range() {
        let mut plane = vec![0.0, 0.25, 0.5, 0.75, 1.0];
        scale_contrast(&mut plane, 2.0);
        assert_eq!(plane, vec![0.0, 0.0, 0.5, 1.0, 1.0]);
        let mut plane = vec![0.0, 0.5, 1.0];
        scale_contrast(&mut plane, 0.5);
        assert_eq!(plane, vec![0.25, 0.5, 0.75]);
    }

    #[test]
    fn gamma_keeps_the_range_and_bends_the_middle() {
        let mut plane = vec![0.2, 0.4, 0.6];
        apply_gamma(&mut plane, 2.0);
        // lo 0.2, span 0.4: the middle (0.5 of the span) goes to 0.2 + 0.4 * 0.25.
        assert!((plane[0] - 0.2).abs() < 1e-7 && (plane[2] - 0.6).abs() < 1e-7);
        assert!((plane[1] - 0.3).abs() < 1e-6, "{plane:?}");
        let mut constant = vec![0.5; 4];
        apply_gamma(&mut constant, 0.7);
        assert_eq!(constant, vec![0.5; 4]);
    }

    #[test]
    fn blur_keeps_the_mean_of_a_plane_and_smooths_an_impulse_into_a_gaussian() {
        // A centred impulse far from the borders: the blur is the kernel itself, in 2D the
        // product of two; the mass is kept.
        let (h, w) = (21, 21);
        let mut plane = vec![0.0f32; h * w];
        plane[10 * w + 10] = 1.0;
        gaussian_blur(&mut plane, &[h, w], 1.0);
        let k = gaussian_kernel(1.0);
        assert_eq!(k.len(), 7);
        let total: f32 = plane.iter().sum();
        assert!((total - 1.0).abs() < 1e-5);
        assert!((plane[10 * w + 10] - k[3] * k[3]).abs() < 1e-7);
        assert!((plane[10 * w + 12] - k[3] * k[5]).abs() < 1e-7);
        // By hand: exp(-1/2) / (1 + 2 exp(-1/2) + 2 exp(-2) + 2 exp(-9/2)).
        let by_hand = (-0.5f32).exp()
            / (1.0 + 2.0 * (-0.5f32).exp() + 2.0 * (-2.0f32).exp() + 2.0 * (-4.5f32).exp());
        assert!((k[4] - by_hand).abs() < 1e-7);
    }

    #[test]
    fn blur_leaves_a_constant_volume_constant() {
        let mut volume = vec![0.7f32; 4 * 5 * 6];
        gaussian_blur(&mut volume, &[4, 5, 6], 0.8);
        assert!(volume.iter().all(|&v| (v - 0.7).abs() < 1e-6));
    }

    #[test]
    fn noise_has_the_drawn_standard_deviation() {
        let intensity = only(Chance::new(1.0, 0.05, 0.05));
        let mut values = vec![0.5f32; 20_000];
        intensity.apply(
            &mut values,
            1,
            &[100, 200],
            &mut ChaCha8Rng::seed_from_u64(3),
        );
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!((mean - 0.5).abs() < 2e-3 && (var.sqrt() - 0.05).abs() < 2e-3);
    }

    #[test]
    fn every_channel_gets_the_same_brightness() {
        let mut intensity = only(Chance::new(0.0, 0.0, 0.0));
        intensity.brightness = Chance::new(1.0, 0.5, 1.5);
        let mut values: Vec<f32> = ramp(8).into_iter().chain(ramp(8)).collect();
        intensity.apply(&mut values, 2, &[2, 4], &mut ChaCha8Rng::seed_from_u64(4));
        assert_eq!(values[..8], values[8..]);
        let factor = values[7];
        assert!((0.5..=1.5).contains(&factor) && factor != 1.0);
        assert!((values[3] - factor * 3.0 / 7.0).abs() < 1e-6);
    }
}
