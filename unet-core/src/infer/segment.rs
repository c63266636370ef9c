//! Whole-image segmentation with a network: overlap-tile inference, then class decisions.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::tiling::{predict_tiled, TileSpec, TiledError};
use super::tta::Tta;
use super::volume_tiling::predict_tiled_volume;
use crate::data::{Image, Mask, Targets, Volume, VolumeMask};
use crate::error::ShapeError;
use crate::network::Network;

/// A tile size for `N` near `wanted` output pixels: the input side must fit the network, and
/// its output side is `input - N::MARGIN`.
pub fn default_tile<B: Backend, N: Network<B, D>, const D: usize>(wanted: usize) -> usize {
    if let Some(&[h, ..]) = N::INPUT {
        return h;
    }
    N::fitting_size(wanted.saturating_add(N::MARGIN))
}

/// `spec` with its tile shrunk to the smallest the network takes that still covers an image
/// of side `side` in one window (and no overlap, which one window does not need); `spec`
/// itself when the image needs several tiles.
pub fn fitted_spec<B: Backend, N: Network<B, D>, const D: usize>(
    spec: &TileSpec,
    side: usize,
) -> TileSpec {
    let needed = side + N::MARGIN;
    match (needed..spec.tile).find(|&s| N::fits(s)) {
        Some(tile) if N::INPUT.is_none() => TileSpec {
            tile,
            overlap: 0,
            margin: spec.margin,
        },
        _ => *spec,
    }
}

/// Per-class logits `[classes, H, W]` for an image of any size, by overlap-tile inference
/// with mirror padding (the paper's strategy), each window's logits averaged over its
/// mirrorings with [`Tta::Mirror`].
pub fn logits<B: Backend, N: Network<B>>(
    net: &N,
    image: &Image,
    spec: &TileSpec,
    tta: Tta,
    device: &B::Device,
) -> Result<Vec<f32>, TiledError<ShapeError>> {
    predict_tiled(image, spec, N::CLASSES, |window| {
        let x = Tensor::<B, 4>::from_data(
            TensorData::new(
                window.data.clone(),
                [1, window.channels, window.height, window.width],
            ),
            device,
        );
        let y = tta.forward(net, x)?;
        Ok(y.into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("float logits"))
    })
}

/// Class per pixel from `[classes, H, W]` logits (threshold 0 for a single sigmoid output).
pub fn decide(logits: &[f32], classes: usize, height: usize, width: usize) -> Mask {
    Mask {
        height,
        width,
        data: class_per_point(logits, classes, height * width),
    }
}

/// What each of `points` pixels means from `[channels, points]` logits: its class, or for a
/// multi-label network its label bits (bit `k` where channel `k`'s logit is above 0).
pub fn decide_points(logits: &[f32], channels: usize, points: usize, targets: Targets) -> Vec<u8> {
    match targets {
        Targets::Classes => class_per_point(logits, channels, points),
        Targets::Labels => (0..points)
            .map(|i| {
                (0..channels.min(8))
                    .filter(|&k| logits[k * points + i] > 0.0)
                    .fold(0u8, |bits, k| bits | (1 << k))
            })
            .collect(),
    }
}

/// The class of each of `points` pixels or voxels from `[classes, points]` logits.
fn class_per_point(logits: &[f32], classes: usize, plane: usize) -> Vec<u8> {
    (0..plane)
        .map(|i| {
            if classes == 1 {
                u8::from(logits[i] > 0.0)
            } else {
                let best = (0..classes)
                    .max_by(|&a, &b| logits[a * plane + i].total_cmp(&logits[b * plane + i]));
                best.unwrap_or(0) as u8
            }
        })
        .collect()
}

/// Segments `image`: overlap-tile logits, then a class per pixel. The mask has the image's size.
pub fn segment<B: Backend, N: Network<B>>(
    net: &N,
    image: &Image,
    spec: &TileSpec,
    tta: Tta,
    device: &B::Device,
) -> Result<Mask, TiledError<ShapeError>> {
    segment_as::<B, N>(net, image, spec, tta, Targets::Classes, device)
}

/// [`segment`] for a network whose outputs mean `targets`: for a multi-label network, a mask
/// of label bits ([`decide_points`]).
pub fn segment_as<B: Backend, N: Network<B>>(
    net: &N,
    image: &Image,
    spec: &TileSpec,
    tta: Tta,
    targets: Targets,
    device: &B::Device,
) -> Result<Mask, TiledError<ShapeError>> {
    let spec = fitted_spec::<B, N, 4>(spec, image.height.max(image.width));
    let l = logits::<B, N>(net, image, &spec, tta, device)?;
    let (height, width) = (image.height, image.width);
    Ok(Mask {
        height,
        width,
        data: decide_points(&l, N::CLASSES, height * width, targets),
    })
}

/// Per-class logits `[classes, D, H, W]` for a volume of any size, by overlap-tile inference
/// with mirror padding, as [`logits`] for images.
pub fn volume_logits<B: Backend, N: Network<B, 5>>(
    net: &N,
    volume: &Volume,
    spec: &TileSpec,
    tta: Tta,
    device: &B::Device,
) -> Result<Vec<f32>, TiledError<ShapeError>> {
    predict_tiled_volume(volume, spec, N::CLASSES, |window| {
        let [d, h, w] = window.size;
        let x = Tensor::<B, 5>::from_data(
            TensorData::new(window.data.clone(), [1, window.channels, d, h, w]),
            device,
        );
        let y = tta.forward(net, x)?;
        Ok(y.into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .expect("float logits"))
    })
}

/// Segments `volume`: overlap-tile logits, then a class per voxel, of the volume's size.
pub fn segment_volume<B: Backend, N: Network<B, 5>>(
    net: &N,
    volume: &Volume,
    spec: &TileSpec,
    tta: Tta,
    device: &B::Device,
) -> Result<VolumeMask, TiledError<ShapeError>> {
    let side = volume.size.iter().copied().max().unwrap_or(0);
    let spec = fitted_spec::<B, N, 5>(spec, side);
    let l = volume_logits::<B, N>(net, volume, &spec, tta, device)?;
    let voxels = volume.size.iter().product();
    Ok(VolumeMask {
        size: volume.size,
        data: class_per_point(&l, N::CLASSES, voxels),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_decisions_set_the_bit_of_every_channel_above_zero() {
        // Three channels over two points, channel-major.
        let logits = [0.5, -1.0, 2.0, 0.1, -0.2, -3.0];
        assert_eq!(
            decide_points(&logits, 3, 2, Targets::Labels),
            [0b011, 0b010]
        );
        // The same logits as classes: the largest channel wins.
        assert_eq!(decide_points(&logits, 3, 2, Targets::Classes), [1, 1]);
    }
}
