//! Volumes for 3D networks (`dims: 3`): a CDHW image, a DHW mask of class indices, their
//! sample, and the augmentations that keep both aligned (random crop, flips along each axis,
//! quarter turns in the height-width plane). Borders are mirrored as for images.

use rand::{Rng, RngExt};

use super::augment::{centred_offset, mirror};
use super::Augment;

/// A volume in CDHW layout, f32 values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// Number of channels.
    pub channels: usize,
    /// `[depth, height, width]` in voxels.
    pub size: [usize; 3],
    /// `channels * depth * height * width` values, channel-major then depth, row, column.
    pub data: Vec<f32>,
}

impl Volume {
    /// A volume filled with zeros.
    pub fn zeros(channels: usize, size: [usize; 3]) -> Self {
        Self {
            channels,
            size,
            data: vec![0.0; channels * voxels(size)],
        }
    }

    /// `[channels, depth, height, width]`.
    pub fn shape(&self) -> [usize; 4] {
        let [d, h, w] = self.size;
        [self.channels, d, h, w]
    }
}

/// A volume of class indices (0 = background), DHW layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeMask {
    /// `[depth, height, width]` in voxels.
    pub size: [usize; 3],
    /// `depth * height * width` class indices.
    pub data: Vec<u8>,
}

impl VolumeMask {
    /// A mask filled with class 0.
    pub fn zeros(size: [usize; 3]) -> Self {
        Self {
            size,
            data: vec![0; voxels(size)],
        }
    }

    /// Fraction of voxels whose class is not 0.
    pub fn foreground_fraction(&self) -> f64 {
        let n = self.data.len().max(1);
        self.data.iter().filter(|&&v| v != 0).count() as f64 / n as f64
    }
}

/// One training example of a 3D network: a volume and its mask of the same size.
#[derive(Clone, Debug, PartialEq)]
pub struct VolumeSample {
    /// A name for messages and reports.
    pub name: String,
    /// The input volume.
    pub image: Volume,
    /// The target mask, the volume's `size`.
    pub mask: VolumeMask,
}

/// Voxels of a `[d, h, w]` block.
pub(crate) fn voxels([d, h, w]: [usize; 3]) -> usize {
    d * h * w
}

/// Index of voxel `[z, y, x]` in a block of `size`.
#[inline]
fn at([_, h, w]: [usize; 3], [z, y, x]: [usize; 3]) -> usize {
    (z * h + y) * w + x
}

impl VolumeSample {
    /// A randomly augmented copy: crop (a cube of `augment.crop`), flips along each axis
    /// (`flip`), quarter turns in the height-width plane (`rot90`; half turns where height
    /// and width differ), then the intensity changes. The elastic deformation is defined for images only and is not
    /// applied here (a 3D run refuses it when it checks its settings).
    pub fn augmented(&self, augment: &Augment, rng: &mut impl Rng) -> Self {
        let mut out = match augment.crop {
            Some(side) => {
                let mut offset = |extent: usize| {
                    if extent >= side {
                        rng.random_range(0..=(extent - side) as u64) as isize
                    } else {
                        centred_offset(extent, side)
                    }
                };
                let from = self.image.size.map(&mut offset);
                self.window(from, [side; 3])
            }
            None => self.clone(),
        };
        if augment.flip {
            for axis in 0..3 {
                if rng.random_bool(0.5) {
                    out = out.flipped(axis);
                }
            }
        }
        if augment.rot90 {
            let [_, h, w] = out.image.size;
            let turns = if h == w {
                rng.random_range(0..4u32)
            } else {
                2 * rng.random_range(0..2u32)
            };
            for _ in 0..turns {
                out = out.quarter_turn();
            }
        }
        if let Some(intensity) = augment.intensity {
            let channels = out.image.channels;
            intensity.apply(&mut out.image.data, channels, &out.image.size, rng);
        }
        out
    }

    /// The central cube of side `side` (mirror-padded where the volume is smaller).
    pub fn center_cropped(&self, side: usize) -> Self {
        let from = self.image.size.map(|extent| centred_offset(extent, side));
        self.window(from, [side; 3])
    }

    /// The block of `size` whose first corner is `from` (may lie outside: mirrored).
    fn window(&self, from: [isize; 3], size: [usize; 3]) -> Self {
        self.remap(size, |p| [0, 1, 2].map(|i| from[i] + p[i] as isize))
    }

    /// Mirrored along `axis` (0 depth, 1 height, 2 width).
    fn flipped(&self, axis: usize) -> Self {
        let size = self.image.size;
        self.remap(size, |p| {
            let mut q = p.map(|v| v as isize);
            q[axis] = (size[axis] - 1 - p[axis]) as isize;
            q
        })
    }

    /// Turned 90 degrees clockwise in the height-width plane (height and width swap).
    fn quarter_turn(&self) -> Self {
        let [d, h, w] = self.image.size;
        self.remap([d, w, h], |[z, y, x]| {
            [z as isize, (h - 1 - x) as isize, y as isize]
        })
    }

    /// A sample of `size` whose voxel `p` is this sample's voxel `source(p)`, mirrored in.
    fn remap(&self, size: [usize; 3], source: impl Fn([usize; 3]) -> [isize; 3]) -> Self {
        let have = self.image.size;
        let channels = self.image.channels;
        let mut image = Volume::zeros(channels, size);
        let mut mask = VolumeMask::zeros(size);
        let (n_in, n_out) = (voxels(have), voxels(size));
        for z in 0..size[0] {
            for y in 0..size[1] {
                for x in 0..size[2] {
                    let s = source([z, y, x]);
                    let src = at(have, [0, 1, 2].map(|i| mirror(s[i], have[i])));
                    let dst = at(size, [z, y, x]);
                    mask.data[dst] = self.mask.data[src];
                    for c in 0..channels {
                        image.data[c * n_out + dst] = self.image.data[c * n_in + src];
                    }
                }
            }
        }
        Self {
            name: self.name.clone(),
            image,
            mask,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A volume whose value tells where a voxel came from, mask = parity of the index.
    fn numbered(size: [usize; 3]) -> VolumeSample {
        let n = voxels(size);
        VolumeSample {
            name: "numbered".into(),
            image: Volume {
                channels: 1,
                size,
                data: (0..n).map(|i| i as f32).collect(),
            },
            mask: VolumeMask {
                size,
                data: (0..n).map(|i| (i % 2) as u8).collect(),
            },
        }
    }

    #[test]
    fn image_and_mask_move_together_under_every_augmentation() {
        let sample = numbered([6, 8, 8]);
        let augment = Augment {
            crop: Some(4),
            flip: true,
            rot90: true,
            elastic: None,
            intensity: None,
        };
        for seed in 0..20 {
            let out = sample.augmented(&augment, &mut ChaCha8Rng::seed_from_u64(seed));
            assert_eq!(out.image.size, [4, 4, 4]);
            for (v, m) in out.image.data.iter().zip(&out.mask.data) {
                assert_eq!((*v as usize % 2) as u8, *m, "seed {seed}");
            }
        }
    }

    #[test]
    fn a_flip_reverses_one_axis_and_a_quarter_turn_swaps_height_and_width() {
        let sample = numbered([2, 3, 4]);
        let flipped = sample.flipped(0);
        assert_eq!(
            flipped.image.data[0],
            sample.image.data[at([2, 3, 4], [1, 0, 0])]
        );
        let turned = sample.quarter_turn();
        assert_eq!(turned.image.size, [2, 4, 3]);
        let four = (0..4).fold(sample.clone(), |s, _| s.quarter_turn());
        assert_eq!(four, sample);
    }

    #[test]
    fn a_centre_crop_larger_than_the_volume_is_mirror_padded() {
        let sample = numbered([2, 2, 2]);
        let big = sample.center_cropped(4);
        assert_eq!(big.image.size, [4, 4, 4]);
        let small = numbered([6, 6, 6]).center_cropped(2);
        assert_eq!(small.image.data[0], at([6, 6, 6], [2, 2, 2]) as f32);
    }
}
