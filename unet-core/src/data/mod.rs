//! Data for segmentation training: images, masks, loading, splitting, augmentation and batching.
//!
//! Independent of any tensor library: images are plain `Vec<f32>` in CHW layout with values in
//! `[0, 1]`, masks are plain `Vec<u8>` of class indices in HW layout, and [`to_batch`] stacks
//! samples into NCHW / NHW buffers that a backend can turn into tensors.
//!
//! - [`synthetic`]: a seeded synthetic shapes data set (circles, squares, triangles, crosses).
//! - [`synthetic3d`] and [`volume`]: the same for 3D networks (balls, boxes, rods), and volumes.
//! - [`example`]: what training needs of a sample, of either rank.
//! - [`folder`]: `image/*.png` + `label/*.png` folders, single images for prediction.
//! - [`split`]: train/validation split by file order.
//! - [`augment`]: random crop, flips, 90-degree rotations and elastic deformation.
//! - [`intensity`]: random brightness, contrast, gamma, noise and blur.
//! - [`batch`]: stacking samples into flat NCHW buffers.
//! - [`border`]: the U-Net paper's weight map for touching objects.

pub mod augment;
pub mod batch;
pub mod border;
pub mod error;
pub mod example;
pub mod folder;
pub mod intensity;
pub mod split;
mod stack;
pub mod synthetic;
pub mod synthetic3d;
pub mod volume;

pub use augment::{center_crop_sample, Augment, Elastic};
pub use batch::{to_batch, Batch};
pub use border::BorderWeight;
pub use error::DataError;
pub use example::Example;
pub use folder::{
    label_names, list_images, load_folder, load_image, load_mask, read_folder, LoadedFolder,
    MaskMode, MaskSpec,
};
pub use intensity::{Chance, Intensity};
pub use split::{split_validation, validation_count};
pub use synthetic::generate;
pub use synthetic3d::generate_volumes;
pub use volume::{Volume, VolumeMask, VolumeSample};

/// An image in CHW layout, f32 values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    /// Number of channels (1 for grayscale, 3 for RGB).
    pub channels: usize,
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// `channels * height * width` values, channel-major then row-major.
    pub data: Vec<f32>,
}

impl Image {
    /// Wraps `data` (CHW layout) as an image.
    ///
    /// # Panics
    /// If `data.len() != channels * height * width`.
    pub fn new(channels: usize, height: usize, width: usize, data: Vec<f32>) -> Self {
        assert_eq!(
            data.len(),
            channels * height * width,
            "image data length {} does not match {channels}x{height}x{width}",
            data.len()
        );
        Self {
            channels,
            height,
            width,
            data,
        }
    }

    /// An image filled with zeros.
    pub fn zeros(channels: usize, height: usize, width: usize) -> Self {
        Self::new(
            channels,
            height,
            width,
            vec![0.0; channels * height * width],
        )
    }

    /// Builds an image from a function of `(channel, y, x)`.
    pub fn from_fn(
        channels: usize,
        height: usize,
        width: usize,
        mut f: impl FnMut(usize, usize, usize) -> f32,
    ) -> Self {
        let mut data = Vec::with_capacity(channels * height * width);
        for c in 0..channels {
            for y in 0..height {
                for x in 0..width {
                    data.push(f(c, y, x));
                }
            }
        }
        Self::new(channels, height, width, data)
    }

    /// Index of `(c, y, x)` in [`Image::data`].
    #[inline]
    pub fn index(&self, c: usize, y: usize, x: usize) -> usize {
        debug_assert!(c < self.channels && y < self.height && x < self.width);
        (c * self.height + y) * self.width + x
    }

    /// The value at channel `c`, row `y`, column `x`.
    #[inline]
    pub fn get(&self, c: usize, y: usize, x: usize) -> f32 {
        self.data[self.index(c, y, x)]
    }

    /// Sets the value at channel `c`, row `y`, column `x`.
    #[inline]
    pub fn set(&mut self, c: usize, y: usize, x: usize, value: f32) {
        let i = self.index(c, y, x);
        self.data[i] = value;
    }

    /// The `height * width` values of channel `c`, row-major.
    pub fn plane(&self, c: usize) -> &[f32] {
        let n = self.height * self.width;
        &self.data[c * n..(c + 1) * n]
    }

    /// `[channels, height, width]`.
    pub fn shape(&self) -> [usize; 3] {
        [self.channels, self.height, self.width]
    }
}

/// The class index of pixels left out of the loss and of every score: what a mask value named
/// by [`MaskSpec::ignore`] (an "ignore label", PyTorch's `ignore_index`) is read as. It is
/// never a class of a network that uses it, so such networks have at most 255 classes.
pub const IGNORE: u8 = u8::MAX;

/// What a mask's values and a network's output channels mean.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Targets {
    /// One class per pixel: a softmax over the channels (one sigmoid for a 1-channel
    /// network), masks of class indices.
    #[default]
    Classes,
    /// Any number of labels per pixel (multi-label): one sigmoid per channel, masks whose
    /// value holds bit `k` where label `k` is present ([`label_plane`] unpacks one), read
    /// from one mask folder per label ([`MaskMode::Labels`]). At most [`MAX_LABELS`].
    Labels,
}

impl Targets {
    /// What a run's outputs mean from its label names: labels when it has them
    /// ([`TrainConfig::labels`](crate::train::TrainConfig::labels)), classes otherwise.
    pub fn of_labels<T>(labels: Option<T>) -> Self {
        match labels {
            Some(_) => Targets::Labels,
            None => Targets::Classes,
        }
    }
}

/// The most labels of a [`Targets::Labels`] network: their bits stay below [`IGNORE`].
pub const MAX_LABELS: usize = 7;

/// Label `k` of a multi-label mask ([`Targets::Labels`]) as a binary mask: 1 where bit `k`
/// is set, 0 elsewhere, [`IGNORE`] kept.
pub fn label_plane(mask: &[u8], k: usize) -> Vec<u8> {
    mask.iter()
        .map(|&v| match v {
            IGNORE => IGNORE,
            _ => v.checked_shr(k as u32).unwrap_or(0) & 1,
        })
        .collect()
}

/// A mask of class indices (0 = background; [`IGNORE`] for pixels left out), or of label
/// bits for a multi-label network ([`Targets::Labels`]), HW layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask {
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// `height * width` class indices, row-major.
    pub data: Vec<u8>,
}

impl Mask {
    /// Wraps `data` (row-major) as a mask.
    ///
    /// # Panics
    /// If `data.len() != height * width`.
    pub fn new(height: usize, width: usize, data: Vec<u8>) -> Self {
        assert_eq!(
            data.len(),
            height * width,
            "mask data length {} does not match {height}x{width}",
            data.len()
        );
        Self {
            height,
            width,
            data,
        }
    }

    /// A mask filled with class 0.
    pub fn zeros(height: usize, width: usize) -> Self {
        Self::new(height, width, vec![0; height * width])
    }

    /// Builds a mask from a function of `(y, x)`.
    pub fn from_fn(height: usize, width: usize, mut f: impl FnMut(usize, usize) -> u8) -> Self {
        let mut data = Vec::with_capacity(height * width);
        for y in 0..height {
            for x in 0..width {
                data.push(f(y, x));
            }
        }
        Self::new(height, width, data)
    }

    /// The class at row `y`, column `x`.
    #[inline]
    pub fn get(&self, y: usize, x: usize) -> u8 {
        debug_assert!(y < self.height && x < self.width);
        self.data[y * self.width + x]
    }

    /// Sets the class at row `y`, column `x`.
    #[inline]
    pub fn set(&mut self, y: usize, x: usize, class: u8) {
        debug_assert!(y < self.height && x < self.width);
        self.data[y * self.width + x] = class;
    }

    /// Fraction of pixels whose class is not 0.
    pub fn foreground_fraction(&self) -> f64 {
        if self.data.is_empty() {
            return 0.0;
        }
        self.data.iter().filter(|&&v| v != 0).count() as f64 / self.data.len() as f64
    }
}

/// One training example.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// A name for messages and reports (the file stem, or `synthetic-000042`).
    pub name: String,
    /// The input image.
    pub image: Image,
    /// The target mask, same height and width as `image`.
    pub mask: Mask,
    /// Per-pixel loss weights (row-major, the mask's size), moved with the mask by every
    /// augmentation; `None`: every pixel weighs 1. See [`Sample::with_border_weights`].
    pub weights: Option<Vec<f32>>,
}

impl Sample {
    /// Pairs an image with its mask.
    ///
    /// # Panics
    /// If the mask's height and width differ from the image's.
    pub fn new(name: impl Into<String>, image: Image, mask: Mask) -> Self {
        assert!(
            image.height == mask.height && image.width == mask.width,
            "mask {}x{} does not match image {}x{}",
            mask.height,
            mask.width,
            image.height,
            image.width
        );
        Self {
            name: name.into(),
            image,
            mask,
            weights: None,
        }
    }

    /// The sample with the U-Net paper's weight map of its mask as its pixel weights.
    pub fn with_border_weights(mut self, border: &BorderWeight) -> Self {
        self.weights = Some(border.weight_map(&self.mask));
        self
    }
}
