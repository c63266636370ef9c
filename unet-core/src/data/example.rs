//! What training needs of a sample, for images (rank 4 batches) and volumes (rank 5) alike.

use rand::Rng;

use super::volume::voxels;
use super::{center_crop_sample, Augment, BorderWeight, DataError, Sample, VolumeSample};

/// A training example whose batches have rank `D` (`[N, C, spatial...]`): [`Sample`] for
/// 2D networks, [`VolumeSample`] for 3D ones. The training loop needs nothing else of it.
pub trait Example<const D: usize>: Clone + Send + Sync {
    /// The name for messages.
    fn name(&self) -> &str;
    /// `[channels, spatial...]` of the image.
    fn shape(&self) -> Vec<usize>;
    /// The image values, channel-major.
    fn values(&self) -> &[f32];
    /// The class indices, one per pixel or voxel.
    fn classes(&self) -> &[u8];
    /// Per-pixel loss weights, one per pixel or voxel of the mask; `None`: all 1.
    fn pixel_weights(&self) -> Option<&[f32]> {
        None
    }
    /// The example with the U-Net paper's weight map as its pixel weights. Defined for
    /// images; a volume is returned as it is (3D runs refuse `border_weight` when they check
    /// their settings).
    fn with_border_weights(self, border: &BorderWeight) -> Self {
        let _ = border;
        self
    }
    /// A randomly augmented copy (image and mask alike).
    fn augmented(&self, augment: &Augment, rng: &mut impl Rng) -> Self;
    /// The centred window of side `side` on every spatial axis (mirror-padded if smaller).
    fn center_cropped(&self, side: usize) -> Self;
    /// Whether the mask has the image's size.
    ///
    /// # Errors
    /// [`DataError::SampleMaskMismatch`] when it does not.
    fn consistent(&self) -> Result<(), DataError>;
}

impl Example<4> for Sample {
    fn name(&self) -> &str {
        &self.name
    }
    fn shape(&self) -> Vec<usize> {
        self.image.shape().to_vec()
    }
    fn values(&self) -> &[f32] {
        &self.image.data
    }
    fn classes(&self) -> &[u8] {
        &self.mask.data
    }
    fn pixel_weights(&self) -> Option<&[f32]> {
        self.weights.as_deref()
    }
    fn with_border_weights(self, border: &BorderWeight) -> Self {
        Sample::with_border_weights(self, border)
    }
    fn augmented(&self, augment: &Augment, rng: &mut impl Rng) -> Self {
        augment.apply(self, rng)
    }
    fn center_cropped(&self, side: usize) -> Self {
        center_crop_sample(self, side)
    }
    fn consistent(&self) -> Result<(), DataError> {
        let pixels = self.mask.data.len();
        let weights_fit = self.weights.as_ref().is_none_or(|w| w.len() == pixels);
        if (self.mask.height, self.mask.width) == (self.image.height, self.image.width)
            && weights_fit
        {
            return Ok(());
        }
        Err(DataError::SampleMaskMismatch {
            name: self.name.clone(),
            image_size: vec![self.image.width, self.image.height],
            mask_size: vec![self.mask.width, self.mask.height],
        })
    }
}

impl Example<5> for VolumeSample {
    fn name(&self) -> &str {
        &self.name
    }
    fn shape(&self) -> Vec<usize> {
        self.image.shape().to_vec()
    }
    fn values(&self) -> &[f32] {
        &self.image.data
    }
    fn classes(&self) -> &[u8] {
        &self.mask.data
    }
    fn augmented(&self, augment: &Augment, rng: &mut impl Rng) -> Self {
        VolumeSample::augmented(self, augment, rng)
    }
    fn center_cropped(&self, side: usize) -> Self {
        VolumeSample::center_cropped(self, side)
    }
    fn consistent(&self) -> Result<(), DataError> {
        let size = self.image.size;
        let fits = self.mask.size == size
            && self.mask.data.len() == voxels(size)
            && self.image.data.len() == self.image.channels * voxels(size);
        if fits {
            return Ok(());
        }
        let [d, h, w] = size;
        let [md, mh, mw] = self.mask.size;
        Err(DataError::SampleMaskMismatch {
            name: self.name.clone(),
            image_size: vec![w, h, d],
            mask_size: vec![mw, mh, md],
        })
    }
}
