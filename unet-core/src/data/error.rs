//! The error type of the data module.

use std::path::PathBuf;

/// Everything that can go wrong while loading or batching data.
///
/// Every message is one line and names the file or folder concerned. Sizes are written
/// `WIDTHxHEIGHT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DataError {
    /// The data set folder (or the path given to [`super::list_images`]) does not exist.
    #[error("{} does not exist", path.display())]
    NotFound {
        /// The missing path.
        path: PathBuf,
    },
    /// The data set folder has no `image/` or no `label/` subfolder.
    #[error("data set folder {} has no `{name}/` subfolder (expected {})", dir.display(), dir.join(name).display())]
    SubfolderMissing {
        /// The data set folder.
        dir: PathBuf,
        /// `"image"` or `"label"`.
        name: &'static str,
    },
    /// A folder that should hold images holds none.
    #[error("no {what} files in {}", dir.display())]
    NoImages {
        /// The folder searched.
        dir: PathBuf,
        /// What was looked for, e.g. `"PNG"` or `"image (png/jpg/jpeg/tif/tiff)"`.
        what: &'static str,
    },
    /// An image in `image/` has no file of the same name in `label/`.
    #[error("image {} has no mask (expected {})", image.display(), expected.display())]
    ImageWithoutMask {
        /// The image file.
        image: PathBuf,
        /// The mask file that was looked for.
        expected: PathBuf,
    },
    /// A mask in `label/` has no file of the same name in `image/`.
    #[error("mask {} has no image (expected {})", mask.display(), expected.display())]
    MaskWithoutImage {
        /// The mask file.
        mask: PathBuf,
        /// The image file that was looked for.
        expected: PathBuf,
    },
    /// A file or folder could not be read or decoded.
    #[error("cannot read {}: {message}", path.display())]
    Unreadable {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's or the decoder's message (on one line).
        message: String,
    },
    /// An image and its mask have different sizes.
    #[error(
        "image {} is {}x{} but its mask {} is {}x{}",
        image.display(), image_size.0, image_size.1, mask.display(), mask_size.0, mask_size.1
    )]
    SizeMismatch {
        /// The image file.
        image: PathBuf,
        /// The image's `(width, height)`.
        image_size: (usize, usize),
        /// The mask file.
        mask: PathBuf,
        /// The mask's `(width, height)`.
        mask_size: (usize, usize),
    },
    /// A mask holds a value that is not a valid class index.
    #[error(
        "mask {} has value {value} at (x={x}, y={y}), not a class index below {classes}",
        path.display()
    )]
    MaskValueOutOfRange {
        /// The mask file.
        path: PathBuf,
        /// The offending value.
        value: u8,
        /// The number of classes allowed.
        classes: usize,
        /// Column of the first offending pixel.
        x: usize,
        /// Row of the first offending pixel.
        y: usize,
    },
    /// A channel count other than 1 or 3 was asked for.
    #[error("cannot load {} with {channels} channels: only 1 (gray) or 3 (RGB) are supported", path.display())]
    UnsupportedChannels {
        /// The file being loaded.
        path: PathBuf,
        /// The channel count asked for.
        channels: usize,
    },
    /// Samples of different shapes were put in one batch.
    #[error(
        "cannot batch sample {index} `{name}` of shape {} (C x spatial) with sample 0 `{first_name}` of shape {}",
        by(found), by(expected)
    )]
    BatchMismatch {
        /// Position of the offending sample in the batch.
        index: usize,
        /// Its name.
        name: String,
        /// Its `[channels, spatial...]`.
        found: Vec<usize>,
        /// The name of sample 0.
        first_name: String,
        /// The `[channels, spatial...]` of sample 0.
        expected: Vec<usize>,
    },
    /// A sample's mask does not match its own image's size.
    #[error(
        "sample `{name}` has a {} image but a {} mask",
        by(image_size),
        by(mask_size)
    )]
    SampleMaskMismatch {
        /// The sample's name.
        name: String,
        /// The image's size, width first (`[width, height]`, `[width, height, depth]`).
        image_size: Vec<usize>,
        /// The mask's size, in the same order.
        mask_size: Vec<usize>,
    },
    /// [`super::to_batch`] was given no samples.
    #[error("cannot build a batch from zero samples")]
    EmptyBatch,
}

/// `4x3x2`: a shape as messages print it.
fn by(sizes: &[usize]) -> String {
    let parts: Vec<String> = sizes.iter().map(usize::to_string).collect();
    parts.join("x")
}

impl DataError {
    /// [`DataError::Unreadable`] with `message` flattened to one line.
    pub(crate) fn unreadable(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        let message = message
            .to_string()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        DataError::Unreadable {
            path: path.into(),
            message,
        }
    }
}
