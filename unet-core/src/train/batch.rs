//! Samples to tensors: the augmented dataset and the batcher burn's data loader drives.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset;
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::loss::LossKind;
use crate::data::{Augment, Sample};

/// A batch: images `[N, C, H, W]`, class indices `[N, H, W]`, and how to score it.
#[derive(Clone, Debug)]
pub struct SegBatch<B: Backend> {
    /// Images, values in [0, 1].
    pub images: Tensor<B, 4>,
    /// Class index per pixel.
    pub targets: Tensor<B, 3, Int>,
    /// The loss to train with.
    pub loss: LossKind,
    /// Whether the step should return images for the validation picture.
    pub preview: bool,
}

/// Stacks [`Sample`]s into a [`SegBatch`].
#[derive(Clone, Debug)]
pub struct SegBatcher {
    loss: LossKind,
    preview: bool,
}

impl SegBatcher {
    /// A batcher for training (`preview` false) or validation (`preview` true).
    pub fn new(loss: LossKind, preview: bool) -> Self {
        Self { loss, preview }
    }
}

impl<B: Backend> Batcher<B, Sample, SegBatch<B>> for SegBatcher {
    fn batch(&self, items: Vec<Sample>, device: &B::Device) -> SegBatch<B> {
        // Samples of one dataset share a size (crops or a fixed synthetic size); the loaders
        // below guarantee it, so a mismatch here is a bug, not bad input.
        let (images, masks, [n, c, h, w]) =
            crate::data::to_batch(&items).expect("samples of one batch share a size");
        let images = Tensor::from_data(TensorData::new(images, [n, c, h, w]), device);
        let masks: Vec<i32> = masks.into_iter().map(i32::from).collect();
        let targets = Tensor::from_data(TensorData::new(masks, [n, h, w]), device);
        SegBatch {
            images,
            targets,
            loss: self.loss,
            preview: self.preview,
        }
    }
}

/// Serves samples, augmenting each draw reproducibly: draw `k` of item `i` uses a generator
/// seeded from `(seed, i, k)`, whatever the worker thread or order.
///
/// With a deadline, it ends the epoch early once the deadline has passed (after serving at
/// least `min_items` in the run): burn's loader takes a missing item as the end of the data, so
/// the epoch's validation and checkpoint still run. This is how `--minutes` stops on time.
pub struct AugmentedDataset {
    samples: Arc<Vec<Sample>>,
    augment: Augment,
    seed: u64,
    draws: Vec<AtomicU32>,
    len: usize,
    deadline: Option<Instant>,
    min_items: usize,
    served: AtomicUsize,
}

impl AugmentedDataset {
    /// `len` items per epoch, cycling through `samples` (`len` may exceed their number when
    /// augmentation makes each draw different).
    pub fn new(samples: Arc<Vec<Sample>>, augment: Augment, seed: u64, len: usize) -> Self {
        let draws = (0..len).map(|_| AtomicU32::new(0)).collect();
        Self {
            samples,
            augment,
            seed,
            draws,
            len,
            deadline: None,
            min_items: 0,
            served: AtomicUsize::new(0),
        }
    }

    /// Ends epochs early once `deadline` has passed, after at least `min_items` items.
    pub fn with_deadline(mut self, deadline: Instant, min_items: usize) -> Self {
        self.deadline = Some(deadline);
        self.min_items = min_items;
        self
    }
}

impl Dataset<Sample> for AugmentedDataset {
    fn get(&self, index: usize) -> Option<Sample> {
        if index >= self.len || self.samples.is_empty() {
            return None;
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d)
            && self.served.load(Ordering::Relaxed) >= self.min_items
        {
            return None;
        }
        self.served.fetch_add(1, Ordering::Relaxed);
        let sample = &self.samples[index % self.samples.len()];
        let draw = self.draws[index].fetch_add(1, Ordering::Relaxed);
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ ((index as u64) << 20) ^ u64::from(draw));
        Some(self.augment.apply(sample, &mut rng))
    }

    fn len(&self) -> usize {
        self.len
    }
}
