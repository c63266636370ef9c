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
        /// What was looked for, e.g. `"image (png/jpg/jpeg/tif/tiff/bmp/gif/webp)"`.
        what: &'static str,
    },
    /// An image in `image/` has no file of the same stem in `label/`.
    #[error(
        "image {} has no mask (expected {}.EXT, EXT one of png/jpg/jpeg/tif/tiff/bmp/gif/webp)",
        image.display(), expected.display()
    )]
    ImageWithoutMask {
        /// The image file.
        image: PathBuf,
        /// The mask looked for: `label/<stem>`, without extension (any image extension pairs).
        expected: PathBuf,
    },
    /// A mask in `label/` has no file of the same stem in `image/`.
    #[error(
        "mask {} has no image (expected {}.EXT, EXT one of png/jpg/jpeg/tif/tiff/bmp/gif/webp)",
        mask.display(), expected.display()
    )]
    MaskWithoutImage {
        /// The mask file.
        mask: PathBuf,
        /// The image looked for: `image/<stem>`, without extension (any image extension pairs).
        expected: PathBuf,
    },
    /// Two files in one folder have the same stem (`a.jpg` and `a.png`), so which one pairs
    /// with the other folder's `a` is ambiguous.
    #[error(
        "{} and {} both have the name `{stem}`: images and masks pair by file name without extension, so keep one of them",
        first.display(), second.display()
    )]
    DuplicateStem {
        /// The file stem the two share.
        stem: String,
        /// One of the files.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// A multi-page TIFF stack and its mask have different page counts.
    #[error(
        "image {} has {image_pages} page(s) but its mask {} has {mask_pages}: a stack needs one mask page per image page",
        image.display(), mask.display()
    )]
    PageCountMismatch {
        /// The image file.
        image: PathBuf,
        /// Its page count.
        image_pages: usize,
        /// The mask file.
        mask: PathBuf,
        /// Its page count.
        mask_pages: usize,
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
        /// The offending value (raw: 16-bit masks are not scaled).
        value: u16,
        /// The number of classes allowed.
        classes: usize,
        /// Column of the first offending pixel.
        x: usize,
        /// Row of the first offending pixel.
        y: usize,
    },
    /// An ignore label with 256 classes: every stored class index is a class, so none is left
    /// to mark the pixels to leave out.
    #[error(
        "ignore_label {value} needs a class index that is no class, and {classes} classes use all 256: use at most 255 classes"
    )]
    IgnoreWithoutRoom {
        /// The ignore label.
        value: u16,
        /// The classes asked for.
        classes: usize,
    },
    /// A multi-label folder's `label/` does not hold one folder per label.
    #[error(
        "{} holds {} label folder(s) {found:?}, and a network of {labels} labels needs one per label: label/<name>/<image stem>.<ext>",
        dir.display(), found.len()
    )]
    LabelFolders {
        /// The `label/` folder.
        dir: PathBuf,
        /// The names of the folders found in it, sorted.
        found: Vec<String>,
        /// The labels of the network.
        labels: usize,
    },
    /// A colour (RGB, not palette) mask was read as class indices, and its channels differ.
    #[error(
        "mask {} is a colour image (pixel at (x={x}, y={y}) is RGB ({}, {}, {})): class-index masks must be gray or palette images",
        path.display(), rgb[0], rgb[1], rgb[2]
    )]
    ColourMask {
        /// The mask file.
        path: PathBuf,
        /// Column of the first pixel whose channels differ.
        x: usize,
        /// Its row.
        y: usize,
        /// Its red, green and blue values.
        rgb: [u16; 3],
    },
    /// Read as two classes, no mask of the folder has a single foreground pixel: training on
    /// it would learn nothing.
    #[error(
        "no mask in {} has a foreground pixel (values found: {}); a 2-class model reads 0/255 or 0/1 masks",
        dir.display(), value_set(values, *distinct)
    )]
    NoForeground {
        /// The mask folder.
        dir: PathBuf,
        /// The smallest distinct raw values found (at most 8), sorted.
        values: Vec<u16>,
        /// How many distinct values the masks hold in all.
        distinct: usize,
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

/// `{0, 2}`, or `{0, 1, ..., 7, ... (12 values)}` when `distinct` is more than shown.
fn value_set(values: &[u16], distinct: usize) -> String {
    let parts: Vec<String> = values.iter().map(u16::to_string).collect();
    if distinct > values.len() {
        format!("{{{}, ... ({distinct} values)}}", parts.join(", "))
    } else {
        format!("{{{}}}", parts.join(", "))
    }
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
