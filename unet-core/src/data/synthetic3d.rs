//! Seeded synthetic volumes, the 3D counterpart of [`super::synthetic`]: 2 to 5 filled solids
//! (balls, boxes and rods along a random axis) on a dark, mildly noisy background; the mask is
//! 1 inside a solid and 0 elsewhere. Volume `i` depends only on `(seed, i)`, bit for bit on
//! every platform (integer and `f32` draws, `+ - * /` and comparisons only).

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::synthetic::{radii, uniform};
use super::volume::{voxels, Volume, VolumeMask, VolumeSample};

/// The solids drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Solid {
    Ball,
    Box,
    /// A rod of square section along axis 0 (depth), 1 (height) or 2 (width).
    Rod(usize),
}

/// Generates `count` volumes of `size`^3 voxels with `channels` channels.
/// Names are `synthetic3d-000000`, ... Any size works: solids shrink to fit small volumes.
pub fn generate_volumes(
    seed: u64,
    count: usize,
    size: usize,
    channels: usize,
) -> Vec<VolumeSample> {
    (0..count)
        .map(|i| generate_one(seed, i as u64, size, channels))
        .collect()
}

fn generate_one(seed: u64, index: u64, size: usize, channels: usize) -> VolumeSample {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let shape = [size; 3];
    let n = voxels(shape);
    let mut image = Volume::zeros(channels, shape);
    let mut mask = VolumeMask::zeros(shape);
    for c in 0..channels {
        let level = uniform(&mut rng, 0.05, 0.3);
        image.data[c * n..(c + 1) * n].fill(level);
    }
    let s = size as u32;
    let Some((r_min, r_max)) = radii(size, 8, 4) else {
        return VolumeSample {
            name: format!("synthetic3d-{index:06}"),
            image,
            mask,
        };
    };
    for _ in 0..rng.random_range(2..=5u32) {
        let solid = match rng.random_range(0..3u32) {
            0 => Solid::Ball,
            1 => Solid::Box,
            _ => Solid::Rod(rng.random_range(0..3u32) as usize),
        };
        let r = rng.random_range(r_min..=r_max);
        let centre = [0; 3].map(|_: u32| rng.random_range(r..=s - r) as f32);
        let colour: Vec<f32> = (0..channels)
            .map(|_| uniform(&mut rng, 0.55, 0.95))
            .collect();
        fill(&mut image, &mut mask, solid, centre, r as f32, &colour);
    }
    for v in &mut image.data {
        let noise = rng.random::<f32>() + rng.random::<f32>() + rng.random::<f32>() - 1.5;
        *v = (*v + 0.06 * noise).clamp(0.0, 1.0);
    }
    VolumeSample {
        name: format!("synthetic3d-{index:06}"),
        image,
        mask,
    }
}

/// Paints `solid` of radius `r` at `centre` into the volume and its mask.
fn fill(
    image: &mut Volume,
    mask: &mut VolumeMask,
    solid: Solid,
    centre: [f32; 3],
    r: f32,
    colour: &[f32],
) {
    let [d, h, w] = image.size;
    let n = d * h * w;
    for z in 0..d {
        for y in 0..h {
            for x in 0..w {
                let p = [z, y, x];
                let o = [0, 1, 2].map(|i| p[i] as f32 + 0.5 - centre[i]);
                if inside(solid, o, r) {
                    let i = (z * h + y) * w + x;
                    mask.data[i] = 1;
                    for (c, &level) in colour.iter().enumerate() {
                        image.data[c * n + i] = level;
                    }
                }
            }
        }
    }
}

/// Whether the offset `o` from the centre is inside `solid` of radius `r`.
fn inside(solid: Solid, o: [f32; 3], r: f32) -> bool {
    match solid {
        Solid::Ball => o.iter().map(|v| v * v).sum::<f32>() <= r * r,
        Solid::Box => o.iter().all(|v| v.abs() <= r),
        // A rod spans the volume along its axis, with a square section of half-side r / 3.
        Solid::Rod(axis) => (0..3).all(|i| i == axis || o[i].abs() <= r / 3.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_volumes_and_another_seed_others() {
        let a = generate_volumes(3, 3, 16, 1);
        assert_eq!(a, generate_volumes(3, 3, 16, 1));
        assert_ne!(a, generate_volumes(4, 3, 16, 1));
        assert_eq!(a[..2], generate_volumes(3, 2, 16, 1)[..]);
    }

    #[test]
    fn solids_are_bright_foreground_on_a_dark_background() {
        for sample in generate_volumes(1, 8, 16, 2) {
            let fg = sample.mask.foreground_fraction();
            assert!(fg > 0.0 && fg < 0.9, "{}: {fg}", sample.name);
            let n = sample.mask.data.len();
            let mean = |class: u8| {
                let values: Vec<f32> = (0..n)
                    .filter(|&i| sample.mask.data[i] == class)
                    .map(|i| sample.image.data[i])
                    .collect();
                values.iter().sum::<f32>() / values.len() as f32
            };
            assert!(mean(1) > mean(0) + 0.2, "{}", sample.name);
        }
    }
}
