//! Loading image/mask folders and single images.
//!
//! A data set folder holds `image/NAME.EXT` and `label/NAME.EXT`, paired by file stem: any of
//! the [`IMAGE_EXTENSIONS`] on either side, so `image/a.jpg` pairs with `label/a.png`. PNG,
//! JPEG, TIFF, BMP, GIF and WebP are decoded. A multi-page TIFF (a stack, as EM and microscopy
//! data ship) gives one sample per page, named `NAME-000`, `NAME-001`, ...; its mask is a
//! stack of as many pages.
//!
//! Masks are read as their raw values: 8- and 16-bit gray values unscaled, palette PNGs as
//! their palette indices, colour masks as their luminance (or their one value where the three
//! channels agree). [`MaskMode`] says how these values become classes, and [`read_folder`]
//! returns, next to the samples, notes on what it found and how it read it.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use image::DynamicImage;

use super::{stack, DataError, Image, Mask, Sample, IGNORE};

/// How mask pixel values become class indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskMode {
    /// Two classes, decided over all the masks of a folder at once: if every value is 0 or 1,
    /// those are the classes; otherwise values above half the range (127 for 8-bit masks,
    /// 32767 for 16-bit ones) are class 1. Colour masks are read as their luminance.
    ///
    /// A folder in which no pixel comes out as class 1 is [`DataError::NoForeground`].
    Binary,
    /// Values are class indices: gray values as stored (16-bit ones unscaled), palette PNGs'
    /// palette indices. Any value `>= classes` is [`DataError::MaskValueOutOfRange`]; a colour
    /// mask whose channels differ is [`DataError::ColourMask`].
    Indexed {
        /// The number of classes.
        classes: usize,
    },
    /// Labels of a multi-label network ([`Targets::Labels`](super::Targets::Labels)):
    /// [`read_folder`] reads `label/` as one folder of binary masks per label (sorted by
    /// name: label 0 is the first), each read as [`MaskMode::Binary`], and packs them into one
    /// mask of label bits. A single mask file ([`load_mask`]) holds the bits already: values
    /// of at least `2^labels` are [`DataError::MaskValueOutOfRange`].
    Labels {
        /// The number of labels, at most [`MAX_LABELS`](super::MAX_LABELS).
        labels: usize,
    },
}

impl MaskMode {
    /// How the masks of a network with `classes` outputs are read: binary for one or two
    /// classes, class indices otherwise.
    pub fn for_classes(classes: usize) -> Self {
        if classes <= 2 {
            Self::Binary
        } else {
            Self::Indexed { classes }
        }
    }

    /// How the masks of a network with `channels` outputs that mean `targets` are read:
    /// [`MaskMode::for_classes`], or one folder per label.
    pub fn for_targets(channels: usize, targets: super::Targets) -> Self {
        match targets {
            super::Targets::Classes => Self::for_classes(channels),
            super::Targets::Labels => Self::Labels { labels: channels },
        }
    }
}

/// How mask files become class indices: the [`MaskMode`], and the stored value, if any, that
/// marks pixels to leave out. Every loading function takes a [`MaskMode`] alone too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaskSpec {
    /// How the other values become classes.
    pub mode: MaskMode,
    /// A raw mask value (a gray value as stored, or a palette index) read as [`IGNORE`]:
    /// pixels left out of the loss and of every score, such as the unlabelled border of
    /// PASCAL VOC's masks (255). It is neither a class nor counted in [`MaskMode::Binary`]'s
    /// decision. `None`: every value is a class.
    pub ignore: Option<u16>,
}

impl From<MaskMode> for MaskSpec {
    fn from(mode: MaskMode) -> Self {
        Self { mode, ignore: None }
    }
}

impl MaskSpec {
    /// Sets [`MaskSpec::ignore`].
    pub fn with_ignore(mut self, ignore: Option<u16>) -> Self {
        self.ignore = ignore;
        self
    }

    /// Whether the stored value `v` is the ignore label.
    fn ignores(self, v: u16) -> bool {
        self.ignore == Some(v)
    }

    /// Whether every value of `mask` but the ignore label is 0 or 1: [`MaskMode::Binary`]
    /// then reads the values as the classes.
    fn zero_one(self, mask: &RawMask) -> bool {
        mask.values.iter().all(|&v| v <= 1 || self.ignores(v))
    }
}

/// File extensions [`list_images`] and [`read_folder`] accept (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 8] = ["png", "jpg", "jpeg", "tif", "tiff", "bmp", "gif", "webp"];

/// What [`DataError::NoImages`] says was looked for.
const IMAGE_FILES: &str = "image (png/jpg/jpeg/tif/tiff/bmp/gif/webp)";

/// A data set folder as [`read_folder`] read it.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedFolder {
    /// The samples, sorted by file stem (the pages of a stack in page order).
    pub samples: Vec<Sample>,
    /// One line each: something found in the folder and how it was read (masks of only 0 and
    /// 1 read as classes, a TIFF stack read page by page, palette masks read as indices, ...).
    pub notes: Vec<String>,
    /// With [`MaskMode::Labels`], the label folders' names, label 0 first; empty otherwise.
    pub labels: Vec<String>,
}

/// Loads the samples of a data set folder: [`read_folder`] without its notes.
pub fn load_folder(
    dir: &Path,
    channels: usize,
    masks: impl Into<MaskSpec>,
) -> Result<Vec<Sample>, DataError> {
    read_folder(dir, channels, masks).map(|loaded| loaded.samples)
}

/// Loads every image of `dir/image/` with the mask of the same file stem in `dir/label/`
/// (extensions [`IMAGE_EXTENSIONS`], either side any of them), sorted by stem.
///
/// Images (gray, gray+alpha, RGB or RGBA, 8 or 16 bit) are converted to `channels`
/// (1: luminance; 3: RGB, gray replicated); alpha is dropped. A multi-page TIFF image gives one
/// sample per page, `STEM-000`, `STEM-001`, ..., and its mask must have as many pages. Masks are
/// read as raw values and mapped to classes by `masks` ([`MaskMode`] or [`MaskSpec`]),
/// [`MaskMode::Binary`] deciding over all the masks at once; the ignore label's pixels become
/// [`IGNORE`]. Other sample names are the file stems.
///
/// Two files of one stem in one folder are [`DataError::DuplicateStem`]; an image without a
/// mask or a mask without an image is an error, as is a stack and a mask of different page
/// counts or an image and a mask of different sizes.
pub fn read_folder(
    dir: &Path,
    channels: usize,
    masks: impl Into<MaskSpec>,
) -> Result<LoadedFolder, DataError> {
    let spec = masks.into();
    let mode = spec.mode;
    check_channels(dir, channels)?;
    if !dir.exists() {
        return Err(DataError::NotFound {
            path: dir.to_path_buf(),
        });
    }
    if !dir.is_dir() {
        return Err(DataError::unreadable(dir, "not a folder"));
    }
    let image_dir = subfolder(dir, "image")?;
    let label_dir = subfolder(dir, "label")?;
    match mode {
        MaskMode::Labels { labels } => {
            read_labels(&image_dir, &label_dir, channels, labels, spec.ignore)
        }
        _ => read_pairs(&image_dir, &label_dir, channels, spec),
    }
}

/// [`read_folder`] for class masks: the images of `image_dir` with the masks of `label_dir`.
fn read_pairs(
    image_dir: &Path,
    label_dir: &Path,
    channels: usize,
    spec: MaskSpec,
) -> Result<LoadedFolder, DataError> {
    let mode = spec.mode;
    let (image_dir, label_dir) = (image_dir.to_path_buf(), label_dir.to_path_buf());
    let images = files_by_stem(&image_dir)?;
    let labels = files_by_stem(&label_dir)?;
    if images.is_empty() {
        return Err(DataError::NoImages {
            dir: image_dir,
            what: IMAGE_FILES,
        });
    }
    for (stem, image) in &images {
        if !labels.contains_key(stem) {
            return Err(DataError::ImageWithoutMask {
                image: image.clone(),
                expected: label_dir.join(stem),
            });
        }
    }
    for (stem, mask) in &labels {
        if !images.contains_key(stem) {
            return Err(DataError::MaskWithoutImage {
                mask: mask.clone(),
                expected: image_dir.join(stem),
            });
        }
    }

    let mut notes = Vec::new();
    let mut read = Vec::with_capacity(images.len());
    for (stem, image_path) in &images {
        let mask_path = &labels[stem];
        let stem = stem.to_string_lossy();
        let image_pages = page_count(image_path)?;
        let mask_pages = page_count(mask_path)?;
        if image_pages != mask_pages {
            return Err(DataError::PageCountMismatch {
                image: image_path.clone(),
                image_pages,
                mask: mask_path.clone(),
                mask_pages,
            });
        }
        if image_pages == 1 {
            let image = load_image(image_path, channels)?;
            let mask = read_raw_mask(mask_path, mode)?;
            read.push(pair(stem.into_owned(), image_path, image, mask_path, mask)?);
            continue;
        }
        let image_stack = stack::read_pages(image_path)?;
        let mask_stack = stack::read_pages(mask_path)?;
        for (page, (image, mask)) in image_stack.iter().zip(mask_stack).enumerate() {
            let image = image_from_decoded(image, channels);
            let mask = raw_from_decoded(mask_path, mask, mode)?;
            let name = format!("{stem}-{page:03}");
            read.push(pair(name, image_path, image, mask_path, mask)?);
        }
        notes.push(format!(
            "{} is a stack of {image_pages} pages: read as samples {stem}-000 to {stem}-{:03}",
            image_path.display(),
            image_pages - 1
        ));
    }

    let masks: Vec<(&Path, &RawMask)> = read
        .iter()
        .map(|r| (r.mask_path.as_path(), &r.mask))
        .collect();
    let classes = folder_classes(&label_dir, &masks, spec, &mut notes)?;
    let samples = read
        .into_iter()
        .zip(classes)
        .map(|(r, classes)| {
            let mask = Mask::new(r.mask.height, r.mask.width, classes);
            Sample::new(r.name, r.image, mask)
        })
        .collect();
    Ok(LoadedFolder {
        samples,
        notes,
        labels: Vec::new(),
    })
}

/// [`read_folder`] for a multi-label network of `labels` labels: each folder of `label_dir`
/// read as binary masks of the images of `image_dir`, label `k`'s class 1 becoming bit `k`.
/// A pixel that is the ignore label in any label's mask is [`IGNORE`] in all.
///
/// Each label's pass decodes the images again: simpler than keeping the masks of one pass
/// apart from its images, and the images of a folder are read once per run.
fn read_labels(
    image_dir: &Path,
    label_dir: &Path,
    channels: usize,
    labels: usize,
    ignore: Option<u16>,
) -> Result<LoadedFolder, DataError> {
    let names = label_folders(label_dir)?;
    if names.len() != labels || labels > super::MAX_LABELS {
        return Err(DataError::LabelFolders {
            dir: label_dir.to_path_buf(),
            found: names,
            labels,
        });
    }
    let spec = MaskSpec::from(MaskMode::Binary).with_ignore(ignore);
    let mut samples: Vec<Sample> = Vec::new();
    let mut notes = Vec::new();
    for (k, name) in names.iter().enumerate() {
        let read = read_pairs(image_dir, &label_dir.join(name), channels, spec)?;
        notes.extend(read.notes);
        if k == 0 {
            // Classes 0 and 1 (and IGNORE) are already label 0's bits.
            samples = read.samples;
            continue;
        }
        for (sample, other) in samples.iter_mut().zip(read.samples) {
            for (bits, class) in sample.mask.data.iter_mut().zip(other.mask.data) {
                *bits = match (*bits, class) {
                    (IGNORE, _) | (_, IGNORE) => IGNORE,
                    (bits, class) => bits | (class << k),
                };
            }
        }
    }
    let listed: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(k, name)| format!("{k} = {name}"))
        .collect();
    notes.push(format!(
        "{} holds {labels} label folders, read as labels {}",
        label_dir.display(),
        listed.join(", ")
    ));
    Ok(LoadedFolder {
        samples,
        notes,
        labels: names,
    })
}

/// The labels of a multi-label data set folder: the names of the folders in `dir/label/`,
/// sorted (label 0 first), as [`read_folder`] reads them with [`MaskMode::Labels`].
pub fn label_names(dir: &Path) -> Result<Vec<String>, DataError> {
    label_folders(&subfolder(dir, "label")?)
}

/// The names of the folders in `dir`, sorted (hidden ones, starting with `.`, left out).
fn label_folders(dir: &Path) -> Result<Vec<String>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::unreadable(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::unreadable(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with('.') {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Loads one image as `channels` (1: luminance; 3: RGB, gray replicated) with values in `[0, 1]`.
///
/// The format is guessed from the file's content, falling back to its extension. A multi-page
/// TIFF gives its first page.
pub fn load_image(path: &Path, channels: usize) -> Result<Image, DataError> {
    check_channels(path, channels)?;
    Ok(image_from_decoded(&decode(path)?, channels))
}

/// Loads one mask (the first page of a multi-page TIFF), its raw values mapped to classes by
/// `masks` ([`MaskMode`] or [`MaskSpec`]).
///
/// [`MaskMode::Binary`] decides on this one file: values of only 0 and 1 are those classes,
/// otherwise values above half the range are class 1. A mask with no class-1 pixel is no
/// error here (see [`read_folder`] for the folder-wide check).
pub fn load_mask(path: &Path, masks: impl Into<MaskSpec>) -> Result<Mask, DataError> {
    let spec = masks.into();
    let raw = read_raw_mask(path, spec.mode)?;
    let classes = mask_classes(path, &raw, spec, spec.zero_one(&raw))?;
    Ok(Mask::new(raw.height, raw.width, classes))
}

/// The images to predict on: a file gives itself; a folder gives its files with one of the
/// [`IMAGE_EXTENSIONS`] (png, jpg, jpeg, tif, tiff, bmp, gif, webp; not recursing), sorted by
/// file name.
pub fn list_images(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let files: Vec<PathBuf> = image_files(path)?.into_values().collect();
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: path.to_path_buf(),
            what: IMAGE_FILES,
        });
    }
    Ok(files)
}

/// A mask's values as stored, before they become classes.
#[derive(Debug)]
struct RawMask {
    width: usize,
    height: usize,
    /// `width * height` values, row-major.
    values: Vec<u16>,
    /// Bits per value (1, 2, 4, 8 or 16); palette indices count as 8.
    bits: u8,
    kind: MaskKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MaskKind {
    /// Gray values (or colour whose three channels agree).
    Gray,
    /// Palette indices of a palette PNG.
    Palette,
    /// The luminance of a colour mask (only for [`MaskMode::Binary`]).
    Luminance,
}

impl RawMask {
    /// The largest value below "half the range": 127 for 8 bits, 32767 for 16.
    fn half(&self) -> u16 {
        ((1u32 << self.bits) - 1) as u16 / 2
    }
}

/// An image and its raw mask, read and checked for size.
struct ReadPair {
    name: String,
    image: Image,
    mask_path: PathBuf,
    mask: RawMask,
}

fn pair(
    name: String,
    image_path: &Path,
    image: Image,
    mask_path: &Path,
    mask: RawMask,
) -> Result<ReadPair, DataError> {
    if (image.width, image.height) != (mask.width, mask.height) {
        return Err(DataError::SizeMismatch {
            image: image_path.to_path_buf(),
            image_size: (image.width, image.height),
            mask: mask_path.to_path_buf(),
            mask_size: (mask.width, mask.height),
        });
    }
    Ok(ReadPair {
        name,
        image,
        mask_path: mask_path.to_path_buf(),
        mask,
    })
}

/// The classes of every mask of the folder `dir`, [`MaskMode::Binary`] deciding over all of
/// them; adds a note for each thing found that changes how masks are read.
fn folder_classes(
    dir: &Path,
    masks: &[(&Path, &RawMask)],
    spec: MaskSpec,
    notes: &mut Vec<String>,
) -> Result<Vec<Vec<u8>>, DataError> {
    let mode = spec.mode;
    let dir_shown = dir.display();
    let count = |kind: MaskKind| masks.iter().filter(|(_, m)| m.kind == kind).count();
    let zero_one = |m: &RawMask| spec.zero_one(m);
    let all_zero_one = masks.iter().all(|(_, m)| zero_one(m));
    let palette = count(MaskKind::Palette);
    match mode {
        MaskMode::Indexed { .. } | MaskMode::Labels { .. } => {
            if palette > 0 {
                notes.push(format!(
                    "{palette} of {} masks in {dir_shown} are palette PNGs: reading their palette indices as classes",
                    masks.len()
                ));
            }
        }
        MaskMode::Binary if all_zero_one => {
            notes.push(format!(
                "all masks in {dir_shown} hold only the values {{0, 1}}: reading them as classes 0 and 1"
            ));
        }
        MaskMode::Binary => {
            let stray: Vec<&Path> = masks
                .iter()
                .filter(|(_, m)| zero_one(m) && m.values.contains(&1) && m.bits > 1)
                .map(|(path, _)| *path)
                .collect();
            if let Some(first) = stray.first() {
                notes.push(format!(
                    "{} of {} masks in {dir_shown} (first: {}) hold only the values {{0, 1}} while others hold larger values: thresholded at half their range, they read as background only",
                    stray.len(),
                    masks.len(),
                    first.display()
                ));
            }
            let deep = masks.iter().filter(|(_, m)| m.bits == 16).count();
            if deep > 0 {
                notes.push(format!(
                    "{deep} of {} masks in {dir_shown} are 16-bit: values above 32767 read as class 1",
                    masks.len()
                ));
            }
            let colour = count(MaskKind::Luminance);
            if colour > 0 {
                notes.push(format!(
                    "{colour} of {} masks in {dir_shown} are colour images: reading their luminance, above half its range as class 1",
                    masks.len()
                ));
            }
            if palette > 0 {
                notes.push(format!(
                    "{palette} of {} masks in {dir_shown} are palette PNGs: reading their palette indices, above 127 as class 1",
                    masks.len()
                ));
            }
        }
    }
    if let Some(value) = spec.ignore {
        notes.push(ignore_note(dir, masks, value));
    }
    let classes = masks
        .iter()
        .map(|(path, mask)| mask_classes(path, mask, spec, all_zero_one))
        .collect::<Result<Vec<_>, _>>()?;
    let background = |c: &Vec<u8>| c.iter().all(|&v| v == 0 || v == IGNORE);
    if mode == MaskMode::Binary && classes.iter().all(background) {
        let mut seen = vec![false; 1 << 16];
        for (_, mask) in masks {
            for &v in &mask.values {
                seen[usize::from(v)] = true;
            }
        }
        let found: Vec<u16> = (0..=u16::MAX).filter(|&v| seen[usize::from(v)]).collect();
        return Err(DataError::NoForeground {
            dir: dir.to_path_buf(),
            values: found.iter().copied().take(8).collect(),
            distinct: found.len(),
        });
    }
    Ok(classes)
}

/// How many pixels of the folder's masks hold the ignore label: a count of 0 is most likely a
/// wrong value.
fn ignore_note(dir: &Path, masks: &[(&Path, &RawMask)], value: u16) -> String {
    let counts: Vec<usize> = masks
        .iter()
        .map(|(_, m)| m.values.iter().filter(|&&v| v == value).count())
        .collect();
    let pixels: usize = counts.iter().sum();
    let holding = counts.iter().filter(|&&n| n > 0).count();
    format!(
        "{pixels} pixels in {holding} of {} masks in {} hold the ignore label {value}: left out of the loss and the scores",
        masks.len(),
        dir.display()
    )
}

/// One mask's classes, the ignore label's pixels [`IGNORE`]. `zero_one`: for
/// [`MaskMode::Binary`], the values are the classes (every other value in the folder is 0 or
/// 1); otherwise they are thresholded at half their range.
fn mask_classes(
    path: &Path,
    mask: &RawMask,
    spec: MaskSpec,
    zero_one: bool,
) -> Result<Vec<u8>, DataError> {
    let class_of = |v: u16, class: u8| if spec.ignores(v) { IGNORE } else { class };
    match spec.mode {
        MaskMode::Binary if zero_one => {
            Ok(mask.values.iter().map(|&v| class_of(v, v as u8)).collect())
        }
        MaskMode::Binary => {
            let half = mask.half();
            Ok(mask
                .values
                .iter()
                .map(|&v| class_of(v, u8::from(v > half)))
                .collect())
        }
        MaskMode::Labels { labels } => mask_classes(
            path,
            mask,
            MaskSpec {
                mode: MaskMode::Indexed {
                    classes: 1 << labels.min(super::MAX_LABELS),
                },
                ..spec
            },
            zero_one,
        ),
        MaskMode::Indexed { classes } => {
            if let (Some(value), true) = (spec.ignore, classes > usize::from(IGNORE)) {
                return Err(DataError::IgnoreWithoutRoom { value, classes });
            }
            // Classes are stored as u8: 256 at most.
            let limit = classes.min(256);
            let out_of_range = |v: u16| usize::from(v) >= limit && !spec.ignores(v);
            if let Some(i) = mask.values.iter().position(|&v| out_of_range(v)) {
                return Err(DataError::MaskValueOutOfRange {
                    path: path.to_path_buf(),
                    value: mask.values[i],
                    classes,
                    x: i % mask.width,
                    y: i / mask.width,
                });
            }
            Ok(mask.values.iter().map(|&v| class_of(v, v as u8)).collect())
        }
    }
}

/// The first bytes of the file at `path` (fewer for a shorter file).
fn head(path: &Path) -> Result<Vec<u8>, DataError> {
    let file = File::open(path).map_err(|e| DataError::unreadable(path, e))?;
    let mut bytes = Vec::with_capacity(8);
    file.take(8)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::unreadable(path, e))?;
    Ok(bytes)
}

/// Pages of the file at `path`: those of a TIFF (by its content), 1 for any other format.
fn page_count(path: &Path) -> Result<usize, DataError> {
    if stack::is_tiff(&head(path)?) {
        stack::page_count(path)
    } else {
        Ok(1)
    }
}

/// One mask's raw values: gray and palette PNGs through the `png` crate (no expansion, no
/// scaling), everything else through the `image` crate.
fn read_raw_mask(path: &Path, mode: MaskMode) -> Result<RawMask, DataError> {
    if head(path)?.starts_with(b"\x89PNG\r\n\x1a\n") {
        if let Some(mask) = png_mask(path)? {
            return Ok(mask);
        }
    }
    raw_from_decoded(path, decode(path)?, mode)
}

/// A gray, gray+alpha or palette PNG's values (gray values, palette indices) as stored;
/// `None` for an RGB or RGBA PNG.
fn png_mask(path: &Path) -> Result<Option<RawMask>, DataError> {
    let failed = |e: png::DecodingError| DataError::unreadable(path, e);
    let file = File::open(path).map_err(|e| DataError::unreadable(path, e))?;
    let mut decoder = png::Decoder::new(BufReader::new(file));
    decoder.set_transformations(png::Transformations::IDENTITY);
    let mut reader = decoder.read_info().map_err(failed)?;
    let (samples, kind) = match reader.info().color_type {
        png::ColorType::Grayscale => (1, MaskKind::Gray),
        png::ColorType::GrayscaleAlpha => (2, MaskKind::Gray),
        png::ColorType::Indexed => (1, MaskKind::Palette),
        png::ColorType::Rgb | png::ColorType::Rgba => return Ok(None),
    };
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| DataError::unreadable(path, "image too large to decode"))?;
    let mut buffer = vec![0; size];
    let frame = reader.next_frame(&mut buffer).map_err(failed)?;
    let (width, height) = (frame.width as usize, frame.height as usize);
    let depth = frame.bit_depth as usize;
    let mut values = Vec::with_capacity(width * height);
    for row in buffer[..frame.buffer_size()].chunks_exact(frame.line_size) {
        values.extend((0..width).map(|x| match depth {
            16 => u16::from_be_bytes([row[2 * samples * x], row[2 * samples * x + 1]]),
            8 => u16::from(row[samples * x]),
            // 1, 2 or 4 bits: one sample per pixel (gray or palette), packed from the high bit.
            _ => {
                let bit = x * depth;
                u16::from((row[bit / 8] >> (8 - depth - bit % 8)) & ((1 << depth) - 1))
            }
        }));
    }
    let bits = if kind == MaskKind::Palette {
        8
    } else {
        depth as u8
    };
    Ok(Some(RawMask {
        width,
        height,
        values,
        bits,
        kind,
    }))
}

/// A decoded mask's values: gray as stored (alpha dropped); colour as its one value where the
/// three channels agree, otherwise as luminance for [`MaskMode::Binary`] and
/// [`DataError::ColourMask`] for [`MaskMode::Indexed`].
fn raw_from_decoded(
    path: &Path,
    decoded: DynamicImage,
    mode: MaskMode,
) -> Result<RawMask, DataError> {
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    let gray = |values: Vec<u16>, bits: u8| RawMask {
        width,
        height,
        values,
        bits,
        kind: MaskKind::Gray,
    };
    let first_of = |raw: &[u16], step: usize| raw.iter().step_by(step).copied().collect();
    let widen = |raw: Vec<u8>| raw.into_iter().map(u16::from).collect::<Vec<u16>>();
    Ok(match decoded {
        DynamicImage::ImageLuma8(g) => gray(widen(g.into_raw()), 8),
        DynamicImage::ImageLumaA8(g) => gray(first_of(&widen(g.into_raw()), 2), 8),
        DynamicImage::ImageLuma16(g) => gray(g.into_raw(), 16),
        DynamicImage::ImageLumaA16(g) => gray(first_of(&g.into_raw(), 2), 16),
        colour => {
            let deep = colour.color().bytes_per_pixel() / colour.color().channel_count() > 1;
            let (rgb, bits) = if deep {
                (colour.to_rgb16().into_raw(), 16)
            } else {
                (widen(colour.to_rgb8().into_raw()), 8)
            };
            let differs = rgb
                .chunks_exact(3)
                .position(|px| px[0] != px[1] || px[1] != px[2]);
            match (differs, mode) {
                (None, _) => gray(first_of(&rgb, 3), bits),
                (Some(i), MaskMode::Indexed { .. } | MaskMode::Labels { .. }) => {
                    return Err(DataError::ColourMask {
                        path: path.to_path_buf(),
                        x: i % width,
                        y: i / width,
                        rgb: [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]],
                    })
                }
                (Some(_), MaskMode::Binary) => RawMask {
                    width,
                    height,
                    values: if deep {
                        colour.to_luma16().into_raw()
                    } else {
                        widen(colour.to_luma8().into_raw())
                    },
                    bits,
                    kind: MaskKind::Luminance,
                },
            }
        }
    })
}

/// A decoded image as `channels` (1: luminance; 3: RGB, gray replicated) in `[0, 1]`.
fn image_from_decoded(decoded: &DynamicImage, channels: usize) -> Image {
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    let gray_source = !decoded.color().has_color();
    let rgb = to_unit_rgb(decoded);
    let n = width * height;
    let data = if channels == 1 {
        if gray_source {
            rgb.chunks_exact(3).map(|px| px[0]).collect()
        } else {
            // Rec. 709 luminance, as the `image` crate uses.
            rgb.chunks_exact(3)
                .map(|px| 0.2126 * px[0] + 0.7152 * px[1] + 0.0722 * px[2])
                .collect()
        }
    } else {
        // Interleaved RGB -> planar CHW.
        let mut planar = vec![0.0; 3 * n];
        for (i, px) in rgb.chunks_exact(3).enumerate() {
            planar[i] = px[0];
            planar[n + i] = px[1];
            planar[2 * n + i] = px[2];
        }
        planar
    };
    // 32-bit float sources may hold values outside [0, 1].
    let data = data.into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
    Image::new(channels, height, width, data)
}

fn check_channels(path: &Path, channels: usize) -> Result<(), DataError> {
    if channels == 1 || channels == 3 {
        Ok(())
    } else {
        Err(DataError::UnsupportedChannels {
            path: path.to_path_buf(),
            channels,
        })
    }
}

fn subfolder(dir: &Path, name: &'static str) -> Result<PathBuf, DataError> {
    let sub = dir.join(name);
    if sub.is_dir() {
        Ok(sub)
    } else {
        Err(DataError::SubfolderMissing {
            dir: dir.to_path_buf(),
            name,
        })
    }
}

/// The image files of `dir` keyed by file stem; two of one stem are
/// [`DataError::DuplicateStem`].
fn files_by_stem(dir: &Path) -> Result<BTreeMap<OsString, PathBuf>, DataError> {
    let mut by_stem: BTreeMap<OsString, PathBuf> = BTreeMap::new();
    for path in image_files(dir)?.into_values() {
        let stem = path.file_stem().unwrap_or_default().to_os_string();
        if let Some(other) = by_stem.get(&stem) {
            // `image_files` is sorted by file name: `other` comes first.
            return Err(DataError::DuplicateStem {
                stem: stem.to_string_lossy().into_owned(),
                first: other.clone(),
                second: path,
            });
        }
        by_stem.insert(stem, path);
    }
    Ok(by_stem)
}

/// Regular files in `dir` with one of the [`IMAGE_EXTENSIONS`] (case-insensitive), keyed and
/// so sorted by file name.
fn image_files(dir: &Path) -> Result<BTreeMap<OsString, PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::unreadable(dir, e))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::unreadable(dir, e))?;
        let path = entry.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)));
        if wanted && path.is_file() {
            files.insert(entry.file_name(), path);
        }
    }
    Ok(files)
}

/// Interleaved RGB values in `[0, 1]` (`v / 255` for 8-bit sources, `v / 65535` for 16-bit),
/// gray replicated and alpha dropped.
fn to_unit_rgb(decoded: &DynamicImage) -> Vec<f32> {
    match decoded {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => decoded
            .to_rgb8()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 255.0)
            .collect(),
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => decoded
            .to_rgb16()
            .into_raw()
            .into_iter()
            .map(|v| f32::from(v) / 65535.0)
            .collect(),
        _ => decoded.to_rgb32f().into_raw(),
    }
}

fn decode(path: &Path) -> Result<DynamicImage, DataError> {
    image::ImageReader::open(path)
        .map_err(|e| DataError::unreadable(path, e))?
        .with_guessed_format()
        .map_err(|e| DataError::unreadable(path, e))?
        .decode()
        .map_err(|e| DataError::unreadable(path, e))
}

#[cfg(test)]
mod tests {
    use super::super::stack::tests::{write_gray16_stack, write_gray8_stack};
    use super::*;
    use image::{GrayImage, Luma, Rgb, RgbImage};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A fresh folder under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = std::env::temp_dir()
                .join(format!("unet-data-test-{}-{label}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            Self(path)
        }

        /// Creates `image/` and `label/`.
        fn dataset(label: &str) -> Self {
            let dir = Self::new(label);
            std::fs::create_dir(dir.0.join("image")).unwrap();
            std::fs::create_dir(dir.0.join("label")).unwrap();
            dir
        }

        fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn write_gray(path: &Path, width: u32, height: u32, f: impl Fn(u32, u32) -> u8) {
        GrayImage::from_fn(width, height, |x, y| Luma([f(x, y)]))
            .save(path)
            .unwrap();
    }

    fn write_pair(dir: &Path, name: &str, size: u32) {
        write_gray(&dir.join("image").join(name), size, size, |x, y| {
            ((x * 7 + y * 3) % 256) as u8
        });
        write_gray(&dir.join("label").join(name), size, size, |x, _| {
            if x < size / 2 {
                0
            } else {
                255
            }
        });
    }

    /// `image/NAME` (4x1) with one 0/255 mask per label folder, `label/<label>/NAME`, each
    /// pixel `x` of label `k` set where bit `k` of `bits[x]` is; `ignored` pixels hold 128.
    fn write_labelled(dir: &Path, name: &str, labels: &[&str], bits: [u8; 4], ignored: &[u32]) {
        write_gray(&dir.join("image").join(name), 4, 1, |x, _| x as u8 * 60);
        for (k, label) in labels.iter().enumerate() {
            let folder = dir.join("label").join(label);
            std::fs::create_dir_all(&folder).unwrap();
            write_gray(&folder.join(name), 4, 1, |x, _| {
                if ignored.contains(&x) {
                    128
                } else if bits[x as usize] >> k & 1 == 1 {
                    255
                } else {
                    0
                }
            });
        }
    }

    #[test]
    fn label_folders_become_one_bit_each_in_sorted_order_and_the_ignore_label_wins() {
        let dir = TempDir::dataset("multi-label");
        let labels = ["nucleus", "cell", "edge"];
        write_labelled(dir.path(), "a.png", &labels, [0, 1, 6, 7], &[]);
        write_labelled(dir.path(), "b.png", &labels, [2, 4, 5, 3], &[]);
        let spec = MaskSpec::from(MaskMode::Labels { labels: 3 });
        let loaded = read_folder(dir.path(), 1, spec).unwrap();
        // Sorted: cell (bit 0), edge (bit 1), nucleus (bit 2); written as nucleus 1, cell 2,
        // edge 4.
        assert_eq!(loaded.labels, ["cell", "edge", "nucleus"]);
        let remap = |v: u8| (v >> 1 & 1) | (v >> 2 & 1) << 1 | (v & 1) << 2;
        assert_eq!(loaded.samples[0].mask.data, [0, 1, 6, 7].map(remap));
        assert_eq!(loaded.samples[1].mask.data, [2, 4, 5, 3].map(remap));
        assert!(loaded
            .notes
            .iter()
            .any(|n| n.contains("0 = cell, 1 = edge, 2 = nucleus")));
        assert_eq!(label_names(dir.path()).unwrap(), loaded.labels);

        // A pixel ignored in any label's mask is ignored in all.
        let dir = TempDir::dataset("multi-label-ignore");
        write_labelled(dir.path(), "a.png", &["p", "q"], [3, 1, 2, 0], &[2]);
        let spec = MaskSpec::from(MaskMode::Labels { labels: 2 }).with_ignore(Some(128));
        let loaded = read_folder(dir.path(), 1, spec).unwrap();
        assert_eq!(loaded.samples[0].mask.data, [3, 1, IGNORE, 0]);
    }

    #[test]
    fn label_folders_of_another_count_or_a_missing_mask_are_errors_naming_the_folder() {
        let dir = TempDir::dataset("multi-label-count");
        write_labelled(dir.path(), "a.png", &["p", "q"], [3, 1, 2, 0], &[]);
        let err = read_folder(dir.path(), 1, MaskMode::Labels { labels: 3 }).unwrap_err();
        let msg = message(&err);
        assert!(
            matches!(err, DataError::LabelFolders { labels: 3, .. }),
            "{msg}"
        );
        assert!(msg.contains("2 label folder(s) [\"p\", \"q\"]"), "{msg}");

        write_gray(&dir.path().join("image").join("b.png"), 4, 1, |_, _| 0);
        write_gray(&dir.path().join("label/p/b.png"), 4, 1, |_, _| 255);
        let err = read_folder(dir.path(), 1, MaskMode::Labels { labels: 2 }).unwrap_err();
        assert!(
            matches!(&err, DataError::ImageWithoutMask { expected, .. } if expected.ends_with("label/q/b")),
            "{}",
            message(&err)
        );
        // A single mask file holds the bits: values of 2^labels and above are out of range.
        let packed = dir.path().join("packed.png");
        write_gray(&packed, 2, 1, |x, _| [3, 4][x as usize]);
        assert!(load_mask(&packed, MaskMode::Labels { labels: 3 }).is_ok());
        let err = load_mask(&packed, MaskMode::Labels { labels: 2 }).unwrap_err();
        assert!(matches!(
            err,
            DataError::MaskValueOutOfRange { value: 4, .. }
        ));
    }

    fn message(err: &DataError) -> String {
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "message is not one line: {msg:?}");
        msg
    }

    /// The ISBI 2012 folder: next to the repository (`<repo>/unet-core/../../shared/...` once
    /// moved into unet-core), or at the absolute path used on the development machines.
    fn isbi_dir() -> Option<PathBuf> {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        [
            manifest.join("../../shared/data/isbi2012-membrane"),
            manifest.join("../shared/data/isbi2012-membrane"),
            PathBuf::from("/work/shared/data/isbi2012-membrane"),
        ]
        .into_iter()
        .find(|p| p.join("image").is_dir())
    }

    #[test]
    fn isbi_membrane_folder_loads_24_gray_512_samples_with_binary_masks() {
        let Some(dir) = isbi_dir() else {
            println!("note: isbi2012-membrane data set not found; skipping");
            return;
        };
        let samples = load_folder(&dir, 1, MaskMode::Binary).unwrap();
        assert_eq!(samples.len(), 24);
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names[0], "00");
        assert_eq!(names[23], "23");
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        let mut membrane = 0.0;
        for s in &samples {
            assert_eq!(s.image.shape(), [1, 512, 512]);
            assert_eq!((s.mask.height, s.mask.width), (512, 512));
            assert!(s.image.data.iter().all(|v| (0.0..=1.0).contains(v)));
            assert!(s.mask.data.iter().all(|&v| v <= 1));
            membrane += 1.0 - s.mask.foreground_fraction();
        }
        // README: membrane (value 0 -> class 0) is about 22% of the pixels.
        let membrane = membrane / samples.len() as f64;
        assert!(
            (0.1..0.35).contains(&membrane),
            "membrane fraction {membrane}"
        );

        // Three channels replicate the gray values.
        let rgb = load_image(&dir.join("image/00.png"), 3).unwrap();
        assert_eq!(rgb.shape(), [3, 512, 512]);
        assert_eq!(rgb.plane(0), samples[0].image.plane(0));
        assert_eq!(rgb.plane(1), rgb.plane(0));
        assert_eq!(rgb.plane(2), rgb.plane(0));
    }

    #[test]
    fn folder_pairs_are_sorted_by_file_stem_and_values_scaled_to_unit_range() {
        let dir = TempDir::dataset("sorted");
        for name in ["b.png", "a.png", "c.png"] {
            write_pair(dir.path(), name, 8);
        }
        // Files of other extensions and subfolders are ignored.
        std::fs::write(dir.path().join("image/notes.txt"), "x").unwrap();
        std::fs::create_dir(dir.path().join("label/sub.png")).unwrap();
        let samples = load_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        let names: Vec<_> = samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let s = &samples[0];
        assert_eq!(s.image.get(0, 0, 0), 0.0);
        assert_eq!(s.image.get(0, 2, 1), 13.0 / 255.0);
        assert_eq!(s.mask.get(0, 3), 0);
        assert_eq!(s.mask.get(0, 4), 1);
    }

    #[test]
    fn binary_mask_mode_thresholds_at_127() {
        let dir = TempDir::dataset("binary");
        write_gray(&dir.path().join("image/x.png"), 4, 1, |_, _| 0);
        write_gray(&dir.path().join("label/x.png"), 4, 1, |x, _| {
            [0, 127, 128, 255][x as usize]
        });
        let s = load_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        assert_eq!(s[0].mask.data, [0, 0, 1, 1]);
    }

    #[test]
    fn the_ignore_label_is_read_as_ignore_in_either_mode_and_decides_nothing() {
        let dir = TempDir::dataset("ignore");
        write_gray(&dir.path().join("image/x.png"), 4, 1, |_, _| 0);
        // 0/1 masks with 7 unlabelled: still read as the classes 0 and 1.
        write_gray(&dir.path().join("label/x.png"), 4, 1, |x, _| {
            [0, 1, 7, 1][x as usize]
        });
        let binary = MaskSpec::from(MaskMode::Binary).with_ignore(Some(7));
        let loaded = read_folder(dir.path(), 1, binary).unwrap();
        assert_eq!(loaded.samples[0].mask.data, [0, 1, IGNORE, 1]);
        assert!(
            loaded
                .notes
                .iter()
                .any(|n| n.starts_with("1 pixels in 1 of 1 masks")),
            "{:?}",
            loaded.notes
        );
        // Indexed: 7 is no class of 3, and no error.
        let indexed = MaskSpec::from(MaskMode::Indexed { classes: 3 }).with_ignore(Some(7));
        let s = load_folder(dir.path(), 1, indexed).unwrap();
        assert_eq!(s[0].mask.data, [0, 1, IGNORE, 1]);
        // Without it, 7 is out of range for 3 classes.
        assert!(load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).is_err());
        // 256 classes leave no index for it.
        let full = MaskSpec::from(MaskMode::Indexed { classes: 256 }).with_ignore(Some(7));
        assert_eq!(
            load_folder(dir.path(), 1, full).unwrap_err(),
            DataError::IgnoreWithoutRoom {
                value: 7,
                classes: 256
            }
        );
        // A folder whose foreground is all ignored has no foreground.
        write_gray(&dir.path().join("label/x.png"), 4, 1, |x, _| {
            [0, 0, 200, 0][x as usize]
        });
        let err = read_folder(
            dir.path(),
            1,
            MaskSpec::from(MaskMode::Binary).with_ignore(Some(200)),
        );
        assert!(
            matches!(err, Err(DataError::NoForeground { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn indexed_mask_mode_keeps_class_indices() {
        let dir = TempDir::dataset("indexed");
        write_gray(&dir.path().join("image/x.png"), 4, 1, |_, _| 0);
        write_gray(&dir.path().join("label/x.png"), 4, 1, |x, _| x as u8);
        let s = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 4 }).unwrap();
        assert_eq!(s[0].mask.data, [0, 1, 2, 3]);
    }

    #[test]
    fn mask_value_out_of_range_is_an_error_naming_file_value_and_position() {
        let dir = TempDir::dataset("range");
        write_gray(&dir.path().join("image/x.png"), 4, 2, |_, _| 0);
        write_gray(&dir.path().join("label/x.png"), 4, 2, |x, y| {
            if (x, y) == (2, 1) {
                7
            } else {
                1
            }
        });
        let err = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap_err();
        assert!(matches!(
            err,
            DataError::MaskValueOutOfRange {
                value: 7,
                classes: 3,
                x: 2,
                y: 1,
                ..
            }
        ));
        let msg = message(&err);
        assert!(msg.contains("x.png") && msg.contains("value 7"), "{msg}");
    }

    #[test]
    fn rgb_and_alpha_images_convert_to_requested_channels() {
        let dir = TempDir::new("rgb");
        let path = dir.path().join("rgb.png");
        RgbImage::from_pixel(2, 3, Rgb([255, 0, 51]))
            .save(&path)
            .unwrap();
        let rgb = load_image(&path, 3).unwrap();
        assert_eq!(rgb.shape(), [3, 3, 2]);
        assert_eq!(rgb.get(0, 2, 1), 1.0);
        assert_eq!(rgb.get(1, 2, 1), 0.0);
        assert_eq!(rgb.get(2, 2, 1), 0.2);
        let gray = load_image(&path, 1).unwrap();
        assert_eq!(gray.shape(), [1, 3, 2]);
        // Luminance: 0.2126 R + 0.7152 G + 0.0722 B.
        let expected = 0.2126 + 0.0722 * 0.2;
        assert!(
            (gray.get(0, 0, 0) - expected).abs() < 0.01,
            "{}",
            gray.get(0, 0, 0)
        );

        let rgba = dir.path().join("rgba.png");
        image::RgbaImage::from_pixel(2, 2, image::Rgba([10, 20, 30, 0]))
            .save(&rgba)
            .unwrap();
        let img = load_image(&rgba, 3).unwrap();
        assert_eq!(img.get(1, 1, 1), 20.0 / 255.0);
        let gray_alpha = dir.path().join("la.png");
        image::GrayAlphaImage::from_pixel(2, 2, image::LumaA([200, 9]))
            .save(&gray_alpha)
            .unwrap();
        assert_eq!(
            load_image(&gray_alpha, 1).unwrap().get(0, 0, 0),
            200.0 / 255.0
        );
        assert_eq!(
            load_image(&gray_alpha, 3).unwrap().get(2, 0, 0),
            200.0 / 255.0
        );
    }

    #[test]
    fn sixteen_bit_gray_image_keeps_full_range() {
        let dir = TempDir::new("16bit");
        let path = dir.path().join("deep.png");
        image::ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(2, 1, |x, _| {
            Luma([if x == 0 { 0 } else { 65535 }])
        })
        .save(&path)
        .unwrap();
        assert_eq!(load_image(&path, 1).unwrap().data, [0.0, 1.0]);
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_folder() {
        let dir = TempDir::new("missing");
        let gone = dir.path().join("nope");
        let err = load_folder(&gone, 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }));
        assert!(message(&err).contains("nope"));
    }

    #[test]
    fn dataset_path_that_is_a_file_is_an_error_naming_it() {
        let dir = TempDir::new("isfile");
        let file = dir.path().join("data.png");
        write_gray(&file, 2, 2, |_, _| 0);
        let err = load_folder(&file, 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::Unreadable { .. }));
        let msg = message(&err);
        assert!(
            msg.contains("data.png") && msg.contains("not a folder"),
            "{msg}"
        );
    }

    #[test]
    fn missing_image_subfolder_is_an_error_naming_it() {
        let dir = TempDir::new("noimage");
        std::fs::create_dir(dir.path().join("label")).unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(
            err,
            DataError::SubfolderMissing { name: "image", .. }
        ));
        assert!(message(&err).contains("image/"), "{err}");
    }

    #[test]
    fn missing_label_subfolder_is_an_error_naming_it() {
        let dir = TempDir::new("nolabel");
        std::fs::create_dir(dir.path().join("image")).unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(
            err,
            DataError::SubfolderMissing { name: "label", .. }
        ));
        assert!(message(&err).contains("label/"), "{err}");
    }

    #[test]
    fn folder_without_images_is_an_error_naming_the_image_folder_and_the_extensions() {
        let dir = TempDir::dataset("empty");
        std::fs::write(dir.path().join("image/readme.txt"), "x").unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::NoImages { .. }));
        let msg = message(&err);
        assert!(
            msg.contains("no image (png/jpg/jpeg/tif/tiff/bmp/gif/webp) files")
                && msg.contains("image"),
            "{msg}"
        );
    }

    #[test]
    fn image_without_mask_is_an_error_naming_the_file() {
        let dir = TempDir::dataset("nomask");
        write_pair(dir.path(), "a.png", 4);
        write_gray(&dir.path().join("image/lonely.png"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::ImageWithoutMask { .. }));
        let msg = message(&err);
        assert!(msg.contains("lonely.png") && msg.contains("label"), "{msg}");
    }

    #[test]
    fn mask_without_image_is_an_error_naming_the_file() {
        let dir = TempDir::dataset("noimg");
        write_pair(dir.path(), "a.png", 4);
        write_gray(&dir.path().join("label/orphan.png"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::MaskWithoutImage { .. }));
        assert!(message(&err).contains("orphan.png"), "{err}");
    }

    #[test]
    fn corrupt_image_is_an_error_with_the_decoder_message() {
        let dir = TempDir::dataset("corrupt");
        write_pair(dir.path(), "a.png", 4);
        // A PNG signature followed by garbage: the decoder, not the format guesser, fails.
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend_from_slice(b"this is not a png at all");
        std::fs::write(dir.path().join("image/a.png"), bytes).unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        let DataError::Unreadable {
            path,
            message: decoder,
        } = &err
        else {
            panic!("expected Unreadable, got {err:?}");
        };
        assert!(path.ends_with("image/a.png"));
        assert!(!decoder.is_empty());
        let msg = message(&err);
        assert!(
            msg.contains("a.png") && msg.contains(decoder.as_str()),
            "{msg}"
        );
    }

    #[test]
    fn unreadable_mask_is_an_error_naming_the_mask() {
        let dir = TempDir::dataset("badmask");
        write_pair(dir.path(), "a.png", 4);
        std::fs::write(dir.path().join("label/a.png"), b"garbage").unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(
            matches!(&err, DataError::Unreadable { path, .. } if path.ends_with("label/a.png"))
        );
        message(&err);
    }

    #[test]
    fn image_mask_size_mismatch_is_an_error_naming_both_sizes() {
        let dir = TempDir::dataset("size");
        write_gray(&dir.path().join("image/a.png"), 6, 4, |_, _| 0);
        write_gray(&dir.path().join("label/a.png"), 5, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(
            err,
            DataError::SizeMismatch {
                image_size: (6, 4),
                mask_size: (5, 4),
                ..
            }
        ));
        let msg = message(&err);
        assert!(
            msg.contains("6x4") && msg.contains("5x4") && msg.contains("a.png"),
            "{msg}"
        );
    }

    #[test]
    fn unsupported_channel_count_is_an_error() {
        let dir = TempDir::dataset("channels");
        write_pair(dir.path(), "a.png", 4);
        let err = load_folder(dir.path(), 2, MaskMode::Binary).unwrap_err();
        assert!(matches!(
            err,
            DataError::UnsupportedChannels { channels: 2, .. }
        ));
        let err = load_image(&dir.path().join("image/a.png"), 4).unwrap_err();
        assert!(message(&err).contains("4 channels"));
    }

    #[test]
    fn load_image_of_missing_file_is_an_error_naming_it() {
        let dir = TempDir::new("nofile");
        let err = load_image(&dir.path().join("ghost.png"), 1).unwrap_err();
        assert!(matches!(err, DataError::Unreadable { .. }));
        assert!(message(&err).contains("ghost.png"));
    }

    #[test]
    fn list_images_of_a_file_is_that_file() {
        let dir = TempDir::new("listfile");
        let path = dir.path().join("one.png");
        write_gray(&path, 2, 2, |_, _| 0);
        assert_eq!(list_images(&path).unwrap(), vec![path]);
    }

    #[test]
    fn list_images_of_a_folder_is_its_images_sorted() {
        let dir = TempDir::new("listdir");
        for name in [
            "c.TIF", "b.jpg", "a.png", "d.jpeg", "e.tiff", "z.txt", "y.bmp", "f.gif", "g.WebP",
            "h.psd",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.png")).unwrap();
        let names: Vec<_> = list_images(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["a.png", "b.jpg", "c.TIF", "d.jpeg", "e.tiff", "f.gif", "g.WebP", "y.bmp"]
        );
    }

    #[test]
    fn list_images_of_a_folder_without_images_is_an_error_naming_it() {
        let dir = TempDir::new("listempty");
        std::fs::write(dir.path().join("notes.txt"), b"").unwrap();
        let err = list_images(dir.path()).unwrap_err();
        assert!(matches!(err, DataError::NoImages { .. }));
        assert!(message(&err).contains("listempty"));
    }

    #[test]
    fn list_images_of_a_missing_path_is_an_error_naming_it() {
        let dir = TempDir::new("listmissing");
        let err = list_images(&dir.path().join("absent")).unwrap_err();
        assert!(matches!(err, DataError::NotFound { .. }));
        assert!(message(&err).contains("absent"));
    }

    // --- formats, stacks and raw mask values ---

    fn write_gray16(path: &Path, width: u32, height: u32, f: impl Fn(u32, u32) -> u16) {
        image::ImageBuffer::<Luma<u16>, Vec<u16>>::from_fn(width, height, |x, y| Luma([f(x, y)]))
            .save(path)
            .unwrap();
    }

    /// A PNG written with the `png` crate: `data` already packed to `depth` bits per sample.
    fn write_png(
        path: &Path,
        (width, height): (u32, u32),
        colour: png::ColorType,
        depth: png::BitDepth,
        palette: Option<&[u8]>,
        data: &[u8],
    ) {
        let file = std::io::BufWriter::new(File::create(path).unwrap());
        let mut encoder = png::Encoder::new(file, width, height);
        encoder.set_color(colour);
        encoder.set_depth(depth);
        if let Some(palette) = palette {
            encoder.set_palette(palette.to_vec());
        }
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(data).unwrap();
    }

    /// A 4x4 disc-ish test picture: `inside` where x + y < 3, `outside` elsewhere.
    fn corner(x: u32, y: u32, inside: u8, outside: u8) -> u8 {
        if x + y < 3 {
            inside
        } else {
            outside
        }
    }

    fn dir_note(dir: &Path) -> String {
        format!(
            "all masks in {} hold only the values {{0, 1}}: reading them as classes 0 and 1",
            dir.join("label").display()
        )
    }

    #[test]
    fn jpeg_images_pair_by_stem_with_zero_one_png_masks_read_as_classes_with_a_note() {
        let dir = TempDir::dataset("jpeg01");
        for name in ["b", "a"] {
            RgbImage::from_fn(8, 8, |x, y| {
                let v = corner(x, y, 250, 5);
                Rgb([v, v, v])
            })
            .save(dir.path().join(format!("image/{name}.jpg")))
            .unwrap();
            write_gray(
                &dir.path().join(format!("label/{name}.png")),
                8,
                8,
                |x, y| corner(x, y, 1, 0),
            );
        }
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        let names: Vec<_> = loaded.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let s = &loaded.samples[0];
        let corners = [(0, 0), (1, 1), (2, 2), (7, 7)].map(|(y, x)| s.mask.get(y, x));
        assert_eq!(corners, [1, 1, 0, 0]);
        assert_eq!(s.mask.data.iter().filter(|&&v| v == 1).count(), 6);
        // JPEG is lossy: near, not equal.
        assert!(s.image.get(0, 0, 0) > 0.9 && s.image.get(0, 7, 7) < 0.1);
        assert_eq!(loaded.notes, [dir_note(dir.path())]);
        // `load_folder` gives the same samples.
        assert_eq!(
            load_folder(dir.path(), 1, MaskMode::Binary).unwrap(),
            loaded.samples
        );
    }

    #[test]
    fn three_page_tiff_stack_with_mask_stack_gives_one_sample_per_page_named_by_page() {
        let dir = TempDir::dataset("stack3");
        write_gray8_stack(&dir.path().join("image/x.tif"), 6, 4, 3, |p, x, y| {
            (p * 50 + x + 10 * y) as u8
        });
        write_gray8_stack(&dir.path().join("label/x.tiff"), 6, 4, 3, |p, x, _| {
            if x == p {
                255
            } else {
                0
            }
        });
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        let names: Vec<_> = loaded.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["x-000", "x-001", "x-002"]);
        for (p, s) in loaded.samples.iter().enumerate() {
            assert_eq!(s.image.shape(), [1, 4, 6]);
            assert_eq!(s.image.get(0, 2, 3), (p * 50 + 3 + 20) as f32 / 255.0);
            for x in 0..6 {
                assert_eq!(s.mask.get(1, x), u8::from(x == p), "page {p} x {x}");
            }
        }
        assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
        let note = &loaded.notes[0];
        assert!(
            note.contains("x.tif") && note.contains("3 pages") && note.contains("x-000 to x-002"),
            "{note}"
        );
        // Three channels replicate the gray page.
        let rgb = load_folder(dir.path(), 3, MaskMode::Binary).unwrap();
        assert_eq!(rgb[2].image.plane(1), loaded.samples[2].image.plane(0));
    }

    #[test]
    fn sixteen_bit_tiff_stack_and_single_page_tiff_keep_the_full_range() {
        let dir = TempDir::dataset("stack16");
        write_gray16_stack(&dir.path().join("image/deep.tif"), 2, 1, 2, |p, x, _| {
            [0, 65535, 32768, 13107][(2 * p + x) as usize]
        });
        write_gray8_stack(&dir.path().join("label/deep.tif"), 2, 1, 2, |_, x, _| {
            (x * 255) as u8
        });
        let s = load_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        assert_eq!(s[0].image.data, [0.0, 1.0]);
        assert_eq!(s[1].image.data, [32768.0 / 65535.0, 0.2]);
        assert_eq!(s[1].mask.data, [0, 1]);

        // One page: the `image` crate's decoder, same values.
        let single = dir.path().join("single.tif");
        write_gray16_stack(&single, 2, 1, 1, |_, x, _| [0, 65535][x as usize]);
        assert_eq!(load_image(&single, 1).unwrap().data, [0.0, 1.0]);
    }

    #[test]
    fn tiff_stack_and_mask_of_different_page_counts_is_an_error_naming_both() {
        let dir = TempDir::dataset("pages");
        write_gray8_stack(&dir.path().join("image/v.tif"), 4, 4, 3, |_, _, _| 9);
        write_gray8_stack(&dir.path().join("label/v.tif"), 4, 4, 2, |_, _, _| 255);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(
            err,
            DataError::PageCountMismatch {
                image_pages: 3,
                mask_pages: 2,
                ..
            }
        ));
        let msg = message(&err);
        assert!(
            msg.contains("image/v.tif has 3 page(s)") && msg.contains("label/v.tif has 2"),
            "{msg}"
        );

        // A stack with a one-page mask of another format.
        std::fs::remove_file(dir.path().join("label/v.tif")).unwrap();
        write_gray(&dir.path().join("label/v.png"), 4, 4, |_, _| 255);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(message(&err).contains("has 1"), "{err}");
    }

    #[test]
    fn load_image_of_a_multi_page_tiff_reads_its_first_page() {
        let dir = TempDir::new("firstpage");
        let path = dir.path().join("vol.tif");
        write_gray8_stack(&path, 2, 2, 4, |p, _, _| (p * 60) as u8 + 51);
        assert_eq!(load_image(&path, 1).unwrap().data, [0.2; 4]);
        assert_eq!(list_images(dir.path()).unwrap(), [path]);
    }

    #[test]
    fn palette_png_masks_read_as_palette_indices_not_colours() {
        let dir = TempDir::dataset("palette");
        write_gray(&dir.path().join("image/p.png"), 4, 1, |_, _| 0);
        // Index 1 is red, 2 is green: expanded, their luminance would be 54 and 182.
        let palette = [0, 0, 0, 255, 0, 0, 0, 255, 0];
        let mask = dir.path().join("label/p.png");
        let eight = png::BitDepth::Eight;
        let indexed = png::ColorType::Indexed;
        write_png(&mask, (4, 1), indexed, eight, Some(&palette), &[0, 1, 2, 1]);
        let s = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap();
        assert_eq!(s[0].mask.data, [0, 1, 2, 1]);
        assert_eq!(
            load_mask(&mask, MaskMode::Indexed { classes: 3 })
                .unwrap()
                .data,
            [0, 1, 2, 1]
        );
        let loaded = read_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap();
        assert!(
            loaded.notes.iter().any(|n| n.contains("palette indices")),
            "{:?}",
            loaded.notes
        );

        // Four bits a pixel, packed two to a byte (rows padded to whole bytes).
        write_png(
            &mask,
            (3, 2),
            indexed,
            png::BitDepth::Four,
            Some(&palette),
            &[0x12, 0x00, 0x21, 0x10],
        );
        write_gray(&dir.path().join("image/p.png"), 3, 2, |_, _| 0);
        let s = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap();
        assert_eq!(s[0].mask.data, [1, 2, 0, 2, 1, 1]);
        // Index 2 is out of range for two classes.
        let err = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 2 }).unwrap_err();
        assert!(matches!(
            err,
            DataError::MaskValueOutOfRange {
                value: 2,
                x: 1,
                y: 0,
                ..
            }
        ));
    }

    #[test]
    fn one_bit_gray_png_masks_read_as_zero_one_classes() {
        let dir = TempDir::dataset("onebit");
        write_gray(&dir.path().join("image/b.png"), 10, 1, |_, _| 0);
        // 0b1010_0000, 0b01 then padding: pixels 1,0,1,0,0,0,0,0,0,1.
        let mask = dir.path().join("label/b.png");
        let gray = png::ColorType::Grayscale;
        write_png(
            &mask,
            (10, 1),
            gray,
            png::BitDepth::One,
            None,
            &[0xA0, 0x40],
        );
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        assert_eq!(loaded.samples[0].mask.data, [1, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(loaded.notes, [dir_note(dir.path())]);
    }

    #[test]
    fn sixteen_bit_mask_values_are_class_indices_not_scaled() {
        let dir = TempDir::dataset("mask16");
        write_gray(&dir.path().join("image/m.png"), 4, 1, |_, _| 0);
        write_gray16(&dir.path().join("label/m.png"), 4, 1, |x, _| x as u16);
        let indexed = MaskMode::Indexed { classes: 4 };
        let s = load_folder(dir.path(), 1, indexed).unwrap();
        assert_eq!(s[0].mask.data, [0, 1, 2, 3]);

        // A value past 8 bits is named as it is, not scaled or clipped.
        write_gray16(&dir.path().join("label/m.png"), 4, 1, |x, _| {
            [0, 1, 300, 2][x as usize]
        });
        let err = load_folder(dir.path(), 1, indexed).unwrap_err();
        assert!(matches!(
            err,
            DataError::MaskValueOutOfRange {
                value: 300,
                x: 2,
                ..
            }
        ));
        assert!(message(&err).contains("value 300"), "{err}");

        // Binary: thresholded at half the 16-bit range.
        write_gray16(&dir.path().join("label/m.png"), 4, 1, |x, _| {
            [0, 32767, 32768, 65535][x as usize]
        });
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        assert_eq!(loaded.samples[0].mask.data, [0, 0, 1, 1]);
        assert!(
            loaded
                .notes
                .iter()
                .any(|n| n.contains("16-bit") && n.contains("32767")),
            "{:?}",
            loaded.notes
        );
    }

    #[test]
    fn binary_folder_without_foreground_is_an_error_naming_the_values_found() {
        let dir = TempDir::dataset("nofg");
        for name in ["a", "b"] {
            write_gray(
                &dir.path().join(format!("image/{name}.png")),
                4,
                4,
                |_, _| 0,
            );
        }
        write_gray(&dir.path().join("label/a.png"), 4, 4, |x, _| {
            [0, 2][(x % 2) as usize]
        });
        write_gray(&dir.path().join("label/b.png"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        let DataError::NoForeground {
            dir: label,
            values,
            distinct,
        } = &err
        else {
            panic!("expected NoForeground, got {err:?}");
        };
        assert!(label.ends_with("label"));
        assert_eq!((values.as_slice(), *distinct), (&[0, 2][..], 2));
        let msg = message(&err);
        assert!(
            msg.contains("no mask in")
                && msg.contains("label")
                && msg.contains("(values found: {0, 2})")
                && msg.contains("0/255 or 0/1"),
            "{msg}"
        );

        // All zeros is no foreground either; many values are cut short.
        write_gray(&dir.path().join("label/a.png"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(message(&err).contains("values found: {0})"), "{err}");
        write_gray(&dir.path().join("label/a.png"), 4, 4, |x, y| {
            (x + 4 * y) as u8 * 2
        });
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(
            message(&err).contains("{0, 2, 4, 6, 8, 10, 12, 14, ... (16 values)}"),
            "{err}"
        );
        // The same masks as class indices are no error.
        assert!(load_folder(dir.path(), 1, MaskMode::Indexed { classes: 31 }).is_ok());
    }

    #[test]
    fn zero_one_decision_is_made_over_the_whole_folder() {
        let dir = TempDir::dataset("mixed");
        for name in ["a", "b"] {
            write_gray(
                &dir.path().join(format!("image/{name}.png")),
                2,
                1,
                |_, _| 0,
            );
        }
        write_gray(&dir.path().join("label/a.png"), 2, 1, |x, _| x as u8);
        write_gray(&dir.path().join("label/b.png"), 2, 1, |x, _| {
            (x * 255) as u8
        });
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        // Thresholded at 127 with the 0/255 mask, the 0/1 one is background, and a note says so.
        assert_eq!(loaded.samples[0].mask.data, [0, 0]);
        assert_eq!(loaded.samples[1].mask.data, [0, 1]);
        assert_eq!(loaded.notes.len(), 1, "{:?}", loaded.notes);
        assert!(
            loaded.notes[0].contains("1 of 2 masks") && loaded.notes[0].contains("a.png"),
            "{}",
            loaded.notes[0]
        );
        // Alone, that mask is read as classes.
        let a = dir.path().join("label/a.png");
        assert_eq!(load_mask(&a, MaskMode::Binary).unwrap().data, [0, 1]);
    }

    #[test]
    fn two_files_with_one_stem_in_a_folder_is_an_error_naming_both() {
        let dir = TempDir::dataset("stems");
        write_pair(dir.path(), "a.png", 4);
        write_gray(&dir.path().join("image/a.jpg"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(&err, DataError::DuplicateStem { stem, .. } if stem == "a"));
        let msg = message(&err);
        assert!(
            msg.contains("image/a.jpg") && msg.contains("image/a.png") && msg.contains("`a`"),
            "{msg}"
        );
    }

    #[test]
    fn image_without_mask_names_the_stem_expected_with_any_extension() {
        let dir = TempDir::dataset("nomaskext");
        write_pair(dir.path(), "a.png", 4);
        write_gray(&dir.path().join("image/c.bmp"), 4, 4, |_, _| 0);
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        let msg = message(&err);
        assert!(msg.contains("label/c.EXT") && msg.contains("webp"), "{msg}");
    }

    #[test]
    fn bmp_gif_webp_and_tiff_images_decode_with_exact_values() {
        let dir = TempDir::dataset("formats");
        for ext in ["bmp", "gif", "webp", "tif"] {
            let path = dir.path().join(format!("image/{ext}.{ext}"));
            RgbImage::from_fn(4, 4, |x, y| {
                let v = corner(x, y, 255, 0);
                Rgb([v, 0, 255 - v])
            })
            .save(&path)
            .unwrap_or_else(|e| panic!("{ext}: {e}"));
            let mask = dir.path().join(format!("label/{ext}.png"));
            write_gray(&mask, 4, 4, |x, y| corner(x, y, 255, 0));
        }
        let samples = load_folder(dir.path(), 3, MaskMode::Binary).unwrap();
        assert_eq!(samples.len(), 4);
        for s in &samples {
            assert_eq!(s.image.shape(), [3, 4, 4], "{}", s.name);
            assert_eq!(
                (s.image.get(0, 0, 0), s.image.get(2, 0, 0)),
                (1.0, 0.0),
                "{}",
                s.name
            );
            assert_eq!(
                (s.image.get(0, 3, 3), s.image.get(2, 3, 3)),
                (0.0, 1.0),
                "{}",
                s.name
            );
            assert_eq!(s.mask.foreground_fraction(), 6.0 / 16.0);
        }
    }

    #[test]
    fn colour_masks_are_an_error_as_indices_and_read_as_luminance_for_two_classes() {
        let dir = TempDir::dataset("colourmask");
        write_gray(&dir.path().join("image/c.png"), 3, 1, |_, _| 0);
        let mask = dir.path().join("label/c.png");
        RgbImage::from_fn(3, 1, |x, _| {
            [Rgb([0, 0, 0]), Rgb([255, 255, 255]), Rgb([255, 0, 0])][x as usize]
        })
        .save(&mask)
        .unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap_err();
        assert!(matches!(
            err,
            DataError::ColourMask {
                x: 2,
                y: 0,
                rgb: [255, 0, 0],
                ..
            }
        ));
        let msg = message(&err);
        assert!(msg.contains("c.png") && msg.contains("colour"), "{msg}");

        // Binary: luminance (red is 54), with a note.
        let loaded = read_folder(dir.path(), 1, MaskMode::Binary).unwrap();
        assert_eq!(loaded.samples[0].mask.data, [0, 1, 0]);
        assert!(
            loaded.notes.iter().any(|n| n.contains("luminance")),
            "{:?}",
            loaded.notes
        );

        // An RGB mask whose channels agree is read as its gray values.
        RgbImage::from_fn(3, 1, |x, _| {
            let v = x as u8;
            Rgb([v, v, v])
        })
        .save(&mask)
        .unwrap();
        let s = load_folder(dir.path(), 1, MaskMode::Indexed { classes: 3 }).unwrap();
        assert_eq!(s[0].mask.data, [0, 1, 2]);
    }
}
