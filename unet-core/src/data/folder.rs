//! Loading image/mask folders and single images.
//!
//! A data set folder holds `image/NAME.png` and `label/NAME.png`, paired by file name.
//! Only PNG is decoded (the `image` crate is built with its `png` feature alone): other
//! formats listed by [`list_images`] fail in [`load_image`] with the decoder's message unless
//! the `image` crate's `jpeg`/`tiff` features are turned on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use image::DynamicImage;

use super::{DataError, Image, Mask, Sample};

/// How mask pixel values become class indices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskMode {
    /// Two classes: 0 for values `<= 127`, 1 for values above.
    Binary,
    /// Values are class indices; any value `>= classes` is an error.
    ///
    /// Store such masks as 8-bit grayscale PNGs: palette PNGs are expanded to colours by the
    /// decoder (and then reduced to luminance), and 16-bit masks are scaled to 8 bits.
    Indexed {
        /// The number of classes.
        classes: usize,
    },
}

/// File extensions [`list_images`] accepts (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "tif", "tiff"];

/// Loads every `dir/image/*.png` with its mask `dir/label/<same name>`, sorted by file name.
///
/// Images (gray, gray+alpha, RGB or RGBA, 8 or 16 bit) are converted to `channels`
/// (1: luminance; 3: RGB, gray replicated); alpha is dropped. Masks are read as 8-bit gray and
/// mapped to classes by `mask_mode`. Sample names are the file stems.
pub fn load_folder(
    dir: &Path,
    channels: usize,
    mask_mode: MaskMode,
) -> Result<Vec<Sample>, DataError> {
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
    let images = png_files(&image_dir)?;
    let labels = png_files(&label_dir)?;
    if images.is_empty() {
        return Err(DataError::NoImages {
            dir: image_dir,
            what: "PNG",
        });
    }
    for (name, image) in &images {
        if !labels.contains_key(name) {
            return Err(DataError::ImageWithoutMask {
                image: image.clone(),
                expected: label_dir.join(name),
            });
        }
    }
    for (name, mask) in &labels {
        if !images.contains_key(name) {
            return Err(DataError::MaskWithoutImage {
                mask: mask.clone(),
                expected: image_dir.join(name),
            });
        }
    }

    let mut samples = Vec::with_capacity(images.len());
    for (name, image_path) in &images {
        let mask_path = &labels[name];
        let image = load_image(image_path, channels)?;
        let mask = load_mask(mask_path, mask_mode)?;
        if (image.width, image.height) != (mask.width, mask.height) {
            return Err(DataError::SizeMismatch {
                image: image_path.clone(),
                image_size: (image.width, image.height),
                mask: mask_path.clone(),
                mask_size: (mask.width, mask.height),
            });
        }
        let stem = image_path
            .file_stem()
            .unwrap_or(name.as_os_str())
            .to_string_lossy()
            .into_owned();
        samples.push(Sample::new(stem, image, mask));
    }
    Ok(samples)
}

/// Loads one image as `channels` (1: luminance; 3: RGB, gray replicated) with values in `[0, 1]`.
///
/// The format is guessed from the file's content, falling back to its extension.
pub fn load_image(path: &Path, channels: usize) -> Result<Image, DataError> {
    check_channels(path, channels)?;
    let decoded = decode(path)?;
    let (width, height) = (decoded.width() as usize, decoded.height() as usize);
    let gray_source = !decoded.color().has_color();
    let rgb = to_unit_rgb(&decoded);
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
    Ok(Image::new(channels, height, width, data))
}

/// Loads one mask: 8-bit gray values mapped to classes by `mode`.
pub fn load_mask(path: &Path, mode: MaskMode) -> Result<Mask, DataError> {
    let gray = decode(path)?.into_luma8();
    let (width, height) = (gray.width() as usize, gray.height() as usize);
    let mut data = gray.into_raw();
    match mode {
        MaskMode::Binary => {
            for v in &mut data {
                *v = u8::from(*v > 127);
            }
        }
        MaskMode::Indexed { classes } => {
            if let Some(i) = data.iter().position(|&v| usize::from(v) >= classes) {
                return Err(DataError::MaskValueOutOfRange {
                    path: path.to_path_buf(),
                    value: data[i],
                    classes,
                    x: i % width,
                    y: i / width,
                });
            }
        }
    }
    Ok(Mask::new(height, width, data))
}

/// The images to predict on: a file gives itself; a folder gives its
/// `*.png`/`*.jpg`/`*.jpeg`/`*.tif`/`*.tiff` files (not recursing), sorted by file name.
pub fn list_images(path: &Path) -> Result<Vec<PathBuf>, DataError> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        return Err(DataError::NotFound {
            path: path.to_path_buf(),
        });
    }
    let files: Vec<PathBuf> = files_with_extension(path, &IMAGE_EXTENSIONS)?
        .into_values()
        .collect();
    if files.is_empty() {
        return Err(DataError::NoImages {
            dir: path.to_path_buf(),
            what: "image (png/jpg/jpeg/tif/tiff)",
        });
    }
    Ok(files)
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

fn png_files(dir: &Path) -> Result<BTreeMap<OsString, PathBuf>, DataError> {
    files_with_extension(dir, &["png"])
}

/// Regular files in `dir` whose extension is one of `extensions` (case-insensitive), keyed and
/// so sorted by file name.
fn files_with_extension(
    dir: &Path,
    extensions: &[&str],
) -> Result<BTreeMap<OsString, PathBuf>, DataError> {
    let entries = std::fs::read_dir(dir).map_err(|e| DataError::unreadable(dir, e))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry.map_err(|e| DataError::unreadable(dir, e))?;
        let path = entry.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)));
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
    fn folder_pairs_are_sorted_by_file_name_and_values_scaled_to_unit_range() {
        let dir = TempDir::dataset("sorted");
        for name in ["b.png", "a.png", "c.png"] {
            write_pair(dir.path(), name, 8);
        }
        // Non-PNG files and subfolders are ignored.
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
    fn folder_without_pngs_is_an_error_naming_the_image_folder() {
        let dir = TempDir::dataset("empty");
        std::fs::write(dir.path().join("image/readme.txt"), "x").unwrap();
        let err = load_folder(dir.path(), 1, MaskMode::Binary).unwrap_err();
        assert!(matches!(err, DataError::NoImages { .. }));
        let msg = message(&err);
        assert!(
            msg.contains("no PNG files") && msg.contains("image"),
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
            "c.TIF", "b.jpg", "a.png", "d.jpeg", "e.tiff", "z.txt", "y.bmp",
        ] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.png")).unwrap();
        let names: Vec<_> = list_images(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.png", "b.jpg", "c.TIF", "d.jpeg", "e.tiff"]);
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
}
