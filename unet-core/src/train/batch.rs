//! Samples to tensors: which items an epoch draws, in which order, and their augmented batch.
//!
//! Draw `k` of an epoch is item `order[k]`, augmented by a generator seeded from
//! `(seed, epoch, k)`: the same run gives the same batches on any thread or device count.

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use super::config::TrainConfig;
use super::loss::Loss;
use crate::data::{Augment, DataError, Elastic, Example, Intensity};

/// A batch: images `[N, C, spatial...]`, class indices `[N, 1, spatial...]` (the same rank,
/// so one loss serves images and volumes), and how to score it. `D` is 4 for images, 5 for
/// volumes.
#[derive(Clone, Debug)]
pub struct SegBatch<B: Backend, const D: usize = 4> {
    /// Images, values in [0, 1].
    pub images: Tensor<B, D>,
    /// Class index per pixel or voxel, on a channel axis of size 1.
    pub targets: Tensor<B, D, Int>,
    /// Per-pixel loss weights, the targets' shape, when every sample has them.
    pub weights: Option<Tensor<B, D>>,
    /// The loss to train with.
    pub loss: Loss,
}

impl<B: Backend, const D: usize> SegBatch<B, D> {
    /// Stacks samples of one size into a batch on `device`.
    ///
    /// # Errors
    /// The samples differ in size or channels.
    pub fn from_samples<S: Example<D>>(
        samples: &[S],
        loss: impl Into<Loss>,
        device: &B::Device,
    ) -> Result<Self, DataError> {
        let (images, masks, shape) = crate::data::to_batch(samples)?;
        let images = Tensor::from_data(TensorData::new(images, shape), device);
        let mut target_shape = shape;
        target_shape[1] = 1;
        let masks: Vec<i32> = masks.into_iter().map(i32::from).collect();
        let targets = Tensor::from_data(TensorData::new(masks, target_shape), device);
        let weights: Option<Vec<f32>> = samples
            .iter()
            .map(|s| s.pixel_weights())
            .collect::<Option<Vec<_>>>()
            .map(|all| all.concat());
        let weights = weights.map(|w| Tensor::from_data(TensorData::new(w, target_shape), device));
        Ok(Self {
            images,
            targets,
            weights,
            loss: loss.into(),
        })
    }
}

/// The augmentation a configuration asks for, cropping to the network's input size.
pub fn augmentation(config: &TrainConfig) -> Augment {
    Augment {
        crop: Some(config.crop),
        flip: config.flip,
        rot90: config.flip,
        elastic: config.elastic.then(Elastic::default),
        intensity: config.intensity.then(Intensity::default),
    }
}

fn mix(seed: u64, epoch: usize, k: usize) -> u64 {
    seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ ((k as u64) << 20)
}

/// The items of one epoch: `items` draws cycling through `samples` sample indices, shuffled
/// with a generator seeded from `(seed, epoch)`.
pub fn epoch_order(samples: usize, items: usize, seed: u64, epoch: usize) -> Vec<usize> {
    if samples == 0 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..items).map(|k| k % samples).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix(seed, epoch, usize::MAX)));
    order
}

/// The augmented samples of draws `first..first + indices.len()` of `epoch`, made in
/// parallel; `indices` are sample indices from [`epoch_order`].
pub fn draw_batch<S: Example<D>, const D: usize>(
    samples: &[S],
    indices: &[usize],
    first: usize,
    augment: &Augment,
    seed: u64,
    epoch: usize,
) -> Vec<S> {
    indices
        .par_iter()
        .enumerate()
        .map(|(j, &i)| {
            let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, epoch, first + j));
            samples[i].augmented(augment, &mut rng)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_draws_every_sample_equally_often_in_a_seeded_order() {
        let order = epoch_order(5, 20, 7, 1);
        for i in 0..5 {
            assert_eq!(order.iter().filter(|&&k| k == i).count(), 4);
        }
        assert_eq!(order, epoch_order(5, 20, 7, 1));
        assert_ne!(order, epoch_order(5, 20, 7, 2));
        assert!(epoch_order(0, 20, 7, 1).is_empty());
    }

    #[test]
    fn draws_depend_on_their_position_not_on_the_batch_they_come_in() {
        let samples = crate::data::generate(3, 4, 32, 1);
        let augment = Augment {
            crop: Some(16),
            flip: true,
            rot90: true,
            elastic: None,
            intensity: None,
        };
        let whole = draw_batch(&samples, &[0, 1, 2, 3], 0, &augment, 9, 1);
        let second_half = draw_batch(&samples, &[2, 3], 2, &augment, 9, 1);
        assert_eq!(&whole[2..], &second_half[..]);
    }
}
