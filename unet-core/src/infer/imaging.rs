//! Writing results to disk: atomic file writes and PNG pictures of images,
//! masks, overlays, sample grids and training curves.
//!
//! All encoders return the PNG file's bytes; write them with
//! [`crate::fsio::atomic_write`] so that a crash never leaves a half-written file.
//! Float pixel values are mapped to bytes as `round(255 * clamp(v, 0, 1))`
//! (NaN becomes 0).

use std::sync::OnceLock;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use plotters::prelude::*;

use crate::data::{Image, Mask, IGNORE};

/// Errors of the PNG encoders.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// Width or height is zero, or too small for the requested picture.
    #[error("invalid picture size {width}x{height}: {reason}")]
    InvalidSize {
        /// Requested width in pixels.
        width: u32,
        /// Requested height in pixels.
        height: u32,
        /// Why the size is rejected.
        reason: &'static str,
    },
    /// The pixel buffer does not hold `width * height * channels` bytes.
    #[error("pixel buffer has {got} bytes, expected {expected}")]
    DataLength {
        /// `width * height * channels`.
        expected: usize,
        /// Actual buffer length.
        got: usize,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(#[from] image::ImageError),
    /// The embedded font could not be loaded by the plotting library.
    #[error("the embedded font could not be registered with plotters")]
    Font,
    /// The plotting library failed to draw the chart.
    #[error("plotting failed: {0}")]
    Plot(String),
}

/// Pixel layout of the buffer given to [`encode_png`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PngColor {
    /// One byte per pixel, grey level.
    Gray,
    /// Three bytes per pixel, red, green, blue.
    Rgb,
}

impl PngColor {
    fn channels(self) -> usize {
        match self {
            PngColor::Gray => 1,
            PngColor::Rgb => 3,
        }
    }
}

/// Padding in pixels between (and around) the cells of [`grid_png`].
pub const GRID_PAD: usize = 4;

/// Opacity of the class colour in [`overlay_png`].
pub const OVERLAY_ALPHA: f32 = 0.45;

/// Distinct colours for foreground classes 1, 2, ... (class `k` uses entry
/// `(k - 1) % len`).
pub const CLASS_COLORS: [[u8; 3]; 12] = [
    [230, 25, 75],   // red
    [60, 180, 75],   // green
    [0, 130, 200],   // blue
    [255, 225, 25],  // yellow
    [245, 130, 48],  // orange
    [145, 30, 180],  // purple
    [70, 240, 240],  // cyan
    [240, 50, 230],  // magenta
    [210, 245, 60],  // lime
    [250, 190, 212], // pink
    [0, 128, 128],   // teal
    [170, 110, 40],  // brown
];

/// Line colours of [`curve_png`] (Tableau 10), series `i` uses entry `i % 10`.
pub const SERIES_COLORS: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

/// The overlay colour of class `k` (`k >= 1`; class 0 is background and gets
/// black).
pub fn class_color(k: u8) -> [u8; 3] {
    if k == 0 {
        [0, 0, 0]
    } else {
        CLASS_COLORS[(k as usize - 1) % CLASS_COLORS.len()]
    }
}

/// Encodes a raw 8-bit pixel buffer (row-major, `width * height * channels`
/// bytes) as PNG.
///
/// # Errors
/// [`ImagingError::InvalidSize`] for a zero width or height (PNG cannot store
/// them), [`ImagingError::DataLength`] for a buffer of the wrong size,
/// [`ImagingError::Encode`] if the encoder fails.
pub fn encode_png(
    width: u32,
    height: u32,
    color: PngColor,
    pixels: &[u8],
) -> Result<Vec<u8>, ImagingError> {
    if width == 0 || height == 0 {
        return Err(ImagingError::InvalidSize {
            width,
            height,
            reason: "PNG images must have at least one pixel",
        });
    }
    let expected = width as usize * height as usize * color.channels();
    if pixels.len() != expected {
        return Err(ImagingError::DataLength {
            expected,
            got: pixels.len(),
        });
    }
    let mut out = Vec::new();
    let ty = match color {
        PngColor::Gray => ExtendedColorType::L8,
        PngColor::Rgb => ExtendedColorType::Rgb8,
    };
    PngEncoder::new(&mut out).write_image(pixels, width, height, ty)?;
    Ok(out)
}

/// Encodes internally built buffers whose size is known to be right.
fn encode_checked(width: usize, height: usize, color: PngColor, pixels: &[u8]) -> Vec<u8> {
    encode_png(width as u32, height as u32, color, pixels)
        .unwrap_or_else(|e| panic!("cannot encode a {width}x{height} PNG: {e}"))
}

fn to_u8(v: f32) -> u8 {
    // `as` saturates and maps NaN to 0.
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Grey level of class `k` in a mask picture: 0/255 for binary masks
/// (`classes <= 2`, any non-zero class is 255), else
/// `round(255 * k / (classes - 1))`, with `k` clamped to `classes - 1`.
pub fn mask_level(k: u8, classes: usize) -> u8 {
    if classes <= 2 {
        if k == 0 {
            0
        } else {
            255
        }
    } else {
        let top = classes - 1;
        let k = (k as usize).min(top);
        ((255 * k) as f64 / top as f64).round() as u8
    }
}

fn check_mask(mask: &Mask) {
    assert_eq!(
        mask.data.len(),
        mask.height * mask.width,
        "mask data length does not match height x width"
    );
}

fn check_image(image: &Image) {
    assert_eq!(
        image.data.len(),
        image.channels * image.height * image.width,
        "image data length does not match channels x height x width"
    );
}

/// Grey PNG of a mask: class `k` becomes [`mask_level`]`(k, classes)`
/// (binary: 0/255; more classes: evenly spread grey levels).
///
/// # Panics
/// If the mask is empty (PNG needs at least one pixel) or its data length is
/// not `height * width`.
pub fn mask_to_png(mask: &Mask, classes: usize) -> Vec<u8> {
    check_mask(mask);
    let pixels: Vec<u8> = mask.data.iter().map(|&k| mask_level(k, classes)).collect();
    encode_checked(mask.width, mask.height, PngColor::Gray, &pixels)
}

/// RGB pixels (row-major, 3 bytes each) of an image: 3 channels are RGB,
/// any other channel count shows channel 0 as grey.
fn image_rgb(image: &Image) -> Vec<u8> {
    check_image(image);
    let n = image.height * image.width;
    let mut out = Vec::with_capacity(3 * n);
    if image.channels == 3 {
        for i in 0..n {
            for c in 0..3 {
                out.push(to_u8(image.data[c * n + i]));
            }
        }
    } else if image.channels > 0 {
        for &v in &image.data[..n] {
            let g = to_u8(v);
            out.extend_from_slice(&[g, g, g]);
        }
    } else {
        out.resize(3 * n, 0);
    }
    out
}

/// PNG of an image: grey for 1 channel, RGB for 3 channels; any other
/// channel count is shown as grey from channel 0 (black for 0 channels).
/// Values are mapped with `round(255 * clamp(v, 0, 1))`.
///
/// # Panics
/// If the image is empty (PNG needs at least one pixel) or its data length is
/// not `channels * height * width`.
pub fn image_to_png(image: &Image) -> Vec<u8> {
    check_image(image);
    if image.channels == 3 {
        encode_checked(image.width, image.height, PngColor::Rgb, &image_rgb(image))
    } else {
        let n = image.height * image.width;
        let pixels: Vec<u8> = if image.channels == 0 {
            vec![0; n]
        } else {
            image.data[..n].iter().map(|&v| to_u8(v)).collect()
        };
        encode_checked(image.width, image.height, PngColor::Gray, &pixels)
    }
}

/// RGB PNG of `image` (grey or RGB, as in [`image_to_png`]) with every
/// foreground pixel of `mask` tinted with its [`class_color`] at
/// [`OVERLAY_ALPHA`] (45 %) opacity; background pixels are unchanged.
///
/// # Panics
/// If the image and mask sizes differ, either is empty, or a data length is
/// inconsistent.
pub fn overlay_png(image: &Image, mask: &Mask) -> Vec<u8> {
    check_mask(mask);
    assert_eq!(
        (image.height, image.width),
        (mask.height, mask.width),
        "overlay: image and mask sizes differ"
    );
    let mut rgb = image_rgb(image);
    for (px, &k) in rgb.chunks_exact_mut(3).zip(&mask.data) {
        if k != 0 {
            let col = class_color(k);
            for (p, c) in px.iter_mut().zip(col) {
                *p = ((1.0 - OVERLAY_ALPHA) * *p as f32 + OVERLAY_ALPHA * c as f32).round() as u8;
            }
        }
    }
    encode_checked(image.width, image.height, PngColor::Rgb, &rgb)
}

/// Colour of class `k` in a grid mask cell: binary masks (`classes <= 2`)
/// are black/white like [`mask_to_png`]; with more classes, background is
/// black and class `k` gets [`class_color`]`(k)`. Ignored pixels
/// ([`IGNORE`], where it is no class) are mid-grey.
fn mask_cell_color(k: u8, classes: usize) -> [u8; 3] {
    if k == IGNORE && classes <= usize::from(IGNORE) {
        [128, 128, 128]
    } else if classes <= 2 {
        let g = mask_level(k, classes);
        [g, g, g]
    } else {
        class_color(k)
    }
}

/// Size `(width, height)` in pixels of the picture made by [`grid_png`] for
/// `rows`: width `3 * cell_w + 4 * GRID_PAD`, where `cell_w` is the largest
/// width of any image or mask; height `sum(row_h) + (rows + 1) * GRID_PAD`,
/// where `row_h` is the largest height in the row.
pub fn grid_size(rows: &[(Image, Mask, Mask)]) -> (usize, usize) {
    let cell_w = rows
        .iter()
        .map(|(i, t, p)| i.width.max(t.width).max(p.width))
        .max()
        .unwrap_or(0);
    let heights: usize = rows
        .iter()
        .map(|(i, t, p)| i.height.max(t.height).max(p.height))
        .sum();
    (
        3 * cell_w + 4 * GRID_PAD,
        heights + (rows.len() + 1) * GRID_PAD,
    )
}

/// A picture of samples, like `plot_img_array` of the pytorch-unet tutorial:
/// one row per sample, columns input image / ground-truth mask / predicted
/// mask, [`GRID_PAD`] white pixels between and around the cells, white
/// background. Each cell is centred in its slot (see [`grid_size`]).
/// Images are drawn as in [`image_to_png`]; binary masks black/white, masks
/// with more classes in [`class_color`]s on black.
///
/// The result is always an RGB PNG; with no rows it is a small blank picture.
///
/// # Panics
/// If a data length is inconsistent with its dimensions.
pub fn grid_png(rows: &[(Image, Mask, Mask)], classes: usize) -> Vec<u8> {
    let (gw, gh) = grid_size(rows);
    let cell_w = (gw - 4 * GRID_PAD) / 3;
    let mut canvas = vec![255u8; gw * gh * 3];
    let mut blit = |x0: usize, y0: usize, w: usize, h: usize, rgb: &[u8]| {
        for y in 0..h {
            let dst = ((y0 + y) * gw + x0) * 3;
            canvas[dst..dst + 3 * w].copy_from_slice(&rgb[3 * y * w..3 * (y + 1) * w]);
        }
    };
    let mut y0 = GRID_PAD;
    for (image, truth, pred) in rows {
        let row_h = image.height.max(truth.height).max(pred.height);
        let image_px = image_rgb(image);
        let mask_px = |m: &Mask| -> Vec<u8> {
            check_mask(m);
            m.data
                .iter()
                .flat_map(|&k| mask_cell_color(k, classes))
                .collect()
        };
        let cells = [
            (image.width, image.height, image_px),
            (truth.width, truth.height, mask_px(truth)),
            (pred.width, pred.height, mask_px(pred)),
        ];
        for (col, (w, h, px)) in cells.iter().enumerate() {
            let x = GRID_PAD + col * (cell_w + GRID_PAD) + (cell_w - w) / 2;
            let y = y0 + (row_h - h) / 2;
            blit(x, y, *w, *h, px);
        }
        y0 += row_h + GRID_PAD;
    }
    encode_checked(gw, gh, PngColor::Rgb, &canvas)
}

/// Family name under which the embedded font is registered with plotters.
const FONT_FAMILY: &str = "sans-serif";

/// Registers the embedded TrueType font (Ubuntu Light, from the
/// `epaint_default_fonts` crate) with plotters, once per process.
fn ensure_font() -> Result<(), ImagingError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(
            FONT_FAMILY,
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(ImagingError::Font)
    }
}

fn plot_err<E: std::fmt::Display>(e: E) -> ImagingError {
    ImagingError::Plot(e.to_string())
}

/// Smallest accepted width of [`curve_png`].
pub const CURVE_MIN_WIDTH: u32 = 160;
/// Smallest accepted height of [`curve_png`].
pub const CURVE_MIN_HEIGHT: u32 = 120;

/// A line chart (RGB PNG, `width x height`) of per-epoch values: series `i`
/// is drawn in [`SERIES_COLORS`]`[i % 10]`, value `j` (0-based) at epoch
/// `x = j + 1`. Every finite value gets a dot, consecutive finite values are
/// joined by a line; NaN and infinite values are skipped (they break the
/// line). The chart has a title, labelled axes ("epoch" horizontally) and a
/// legend with the series names, placed in the upper or lower right corner,
/// whichever the curves' last epochs cross less. Text is drawn with an
/// embedded font, so no system font is needed.
///
/// Works with any number of points, including 1 and none (empty axes).
///
/// # Errors
/// [`ImagingError::InvalidSize`] below [`CURVE_MIN_WIDTH`] x
/// [`CURVE_MIN_HEIGHT`], [`ImagingError::Font`] / [`ImagingError::Plot`] if
/// plotters fails, [`ImagingError::Encode`] if PNG encoding fails.
pub fn curve_png(
    title: &str,
    series: &[(&str, Vec<f64>)],
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ImagingError> {
    if width < CURVE_MIN_WIDTH || height < CURVE_MIN_HEIGHT {
        return Err(ImagingError::InvalidSize {
            width,
            height,
            reason: "curve pictures must be at least 160x120",
        });
    }
    ensure_font()?;

    let n = series
        .iter()
        .map(|(_, v)| v.len())
        .max()
        .unwrap_or(0)
        .max(1);
    let finite = || {
        series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .filter(|v| v.is_finite())
    };
    let (lo, hi) = finite().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (y0, y1) = if lo > hi {
        (0.0, 1.0)
    } else if hi - lo > 0.0 && (hi - lo).is_finite() {
        let pad = 0.05 * (hi - lo);
        (lo - pad, hi + pad)
    } else if lo == hi {
        let pad = if lo == 0.0 { 1.0 } else { 0.1 * lo.abs() };
        (lo - pad, hi + pad)
    } else {
        // The span overflows f64: plot the safe part of the range.
        (lo / 2.0, hi / 2.0)
    };
    let (x0, x1) = (0.5, n as f64 + 0.5);

    // The legend goes to the right-hand corner (upper or lower) crossed by
    // fewer points of the last 40 % of epochs; ties go to the upper corner.
    let (mut upper, mut lower) = (0usize, 0usize);
    for (_, values) in series {
        for (j, &v) in values.iter().enumerate() {
            if v.is_finite() && (j + 1) as f64 > 0.6 * n as f64 {
                let t = (v - y0) / (y1 - y0);
                upper += usize::from(t > 0.6);
                lower += usize::from(t < 0.4);
            }
        }
    }
    let legend_pos = if lower < upper {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };

    let mut buf = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let title_size = (height / 20).clamp(12, 28);
        let label_size = (height / 32).clamp(10, 18);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, title_size))
            .margin(10)
            .x_label_area_size(label_size * 3)
            .y_label_area_size(label_size * 5)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(plot_err)?;
        let x_fmt = |x: &f64| {
            if (x - x.round()).abs() < 1e-6 && *x >= 1.0 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        };
        let y_fmt = |y: &f64| format_tick(*y, y1 - y0);
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(n.clamp(2, 10))
            .y_labels(8)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .label_style((FONT_FAMILY, label_size))
            .axis_desc_style((FONT_FAMILY, label_size))
            .light_line_style(RGBColor(235, 235, 235))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .map_err(plot_err)?;

        for (i, (name, values)) in series.iter().enumerate() {
            let [r, g, b] = SERIES_COLORS[i % SERIES_COLORS.len()];
            let color = RGBColor(r, g, b);
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite())
                .map(|(j, &v)| ((j + 1) as f64, v))
                .collect();
            chart
                .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
                .map_err(plot_err)?
                .label(*name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3))
                });
            // One line per run of consecutive finite values.
            for run in values
                .iter()
                .enumerate()
                .map(|(j, &v)| ((j + 1) as f64, v))
                .collect::<Vec<_>>()
                .split(|(_, v)| !v.is_finite())
                .filter(|run| run.len() > 1)
            {
                chart
                    .draw_series(LineSeries::new(run.iter().copied(), color.stroke_width(2)))
                    .map_err(plot_err)?;
            }
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(legend_pos)
                .label_font((FONT_FAMILY, label_size))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(160, 160, 160))
                .draw()
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    encode_png(width, height, PngColor::Rgb, &buf)
}

/// Tick label with as many decimals as the axis span needs.
fn format_tick(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        3
    };
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-4 && span < 1e-3) {
        format!("{v:.2e}")
    } else {
        format!("{v:.decimals$}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsio::atomic_write;
    use std::fs;
    use std::path::Path;
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> Self {
            static N: AtomicU64 = AtomicU64::new(0);
            let p = std::env::temp_dir().join(format!(
                "unet-infer-test-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn entries(&self) -> Vec<String> {
            let mut v: Vec<String> = fs::read_dir(&self.0)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn atomic_write_creates_and_replaces() {
        let dir = TempDir::new("replace");
        let target = dir.0.join("out.png");
        atomic_write(&target, b"first").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"first");
        atomic_write(&target, b"second, longer").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"second, longer");
        atomic_write(&target, b"").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"");
        assert_eq!(dir.entries(), vec!["out.png".to_string()]);
    }

    #[test]
    fn atomic_write_failures_leave_no_temp_file() {
        let dir = TempDir::new("fail");
        // Missing target directory.
        let missing = dir.0.join("no-such-dir").join("x.png");
        assert!(atomic_write(&missing, b"data").is_err());
        assert!(dir.entries().is_empty());

        // The rename fails (target is a non-empty directory): the old content
        // stays and the temporary file is removed.
        let old = dir.0.join("old");
        fs::create_dir(&old).unwrap();
        fs::write(old.join("keep.txt"), b"keep").unwrap();
        assert!(atomic_write(&old, b"data").is_err());
        assert_eq!(dir.entries(), vec!["old".to_string()]);
        assert_eq!(fs::read(old.join("keep.txt")).unwrap(), b"keep");

        // An existing file is kept when writing elsewhere fails.
        let file = dir.0.join("a.txt");
        atomic_write(&file, b"old").unwrap();
        assert!(atomic_write(&dir.0.join("a.txt").join("b"), b"new").is_err());
        assert_eq!(fs::read(&file).unwrap(), b"old");
        assert_eq!(dir.entries(), vec!["a.txt".to_string(), "old".to_string()]);

        assert!(atomic_write(Path::new("/"), b"x").is_err());
    }

    fn decode(png: &[u8]) -> image::DynamicImage {
        image::load_from_memory(png).unwrap()
    }

    #[test]
    fn mask_png_levels() {
        let mask = Mask {
            height: 2,
            width: 3,
            data: vec![0, 1, 0, 1, 1, 0],
        };
        let img = decode(&mask_to_png(&mask, 2));
        assert_eq!(img.color(), image::ColorType::L8);
        let l = img.to_luma8();
        assert_eq!(l.dimensions(), (3, 2));
        assert_eq!(l.into_raw(), vec![0, 255, 0, 255, 255, 0]);

        let mask = Mask {
            height: 1,
            width: 5,
            data: vec![0, 1, 2, 3, 9],
        };
        let l = decode(&mask_to_png(&mask, 4)).to_luma8();
        // round(255 * k / 3), k clamped to 3
        assert_eq!(l.into_raw(), vec![0, 85, 170, 255, 255]);
        assert_eq!(mask_level(1, 3), 128); // 127.5 rounds up
    }

    #[test]
    fn image_png_grey_and_rgb() {
        let grey = Image {
            channels: 1,
            height: 2,
            width: 2,
            data: vec![0.0, 0.5, 1.0, 2.0],
        };
        let d = decode(&image_to_png(&grey));
        assert_eq!(d.color(), image::ColorType::L8);
        assert_eq!(d.to_luma8().into_raw(), vec![0, 128, 255, 255]);

        // CHW: R plane, G plane, B plane.
        let rgb = Image {
            channels: 3,
            height: 1,
            width: 2,
            data: vec![1.0, 0.0, 0.0, 1.0, -1.0, 0.2],
        };
        let d = decode(&image_to_png(&rgb));
        assert_eq!(d.color(), image::ColorType::Rgb8);
        assert_eq!(d.to_rgb8().into_raw(), vec![255, 0, 0, 0, 255, 51]);
    }

    #[test]
    fn overlay_tints_foreground_only() {
        let image = Image {
            channels: 1,
            height: 1,
            width: 3,
            data: vec![1.0, 1.0, 0.0],
        };
        let mask = Mask {
            height: 1,
            width: 3,
            data: vec![0, 1, 2],
        };
        let d = decode(&overlay_png(&image, &mask)).to_rgb8();
        assert_eq!(d.dimensions(), (3, 1));
        let px = d.into_raw();
        assert_eq!(&px[0..3], &[255, 255, 255]);
        let mix = |base: u8, c: u8| (0.55 * base as f32 + 0.45 * c as f32).round() as u8;
        let [r, g, b] = class_color(1);
        assert_eq!(&px[3..6], &[mix(255, r), mix(255, g), mix(255, b)]);
        let [r, g, b] = class_color(2);
        assert_eq!(&px[6..9], &[mix(0, r), mix(0, g), mix(0, b)]);
        assert_ne!(class_color(1), class_color(2));
    }

    #[test]
    fn grid_layout() {
        let img = |h, w, v| Image {
            channels: 1,
            height: h,
            width: w,
            data: vec![v; h * w],
        };
        let mask = |h, w, k| Mask {
            height: h,
            width: w,
            data: vec![k; h * w],
        };
        let rows = vec![
            (img(10, 12, 0.0), mask(10, 12, 1), mask(10, 12, 0)),
            (img(6, 8, 1.0), mask(6, 8, 0), mask(6, 8, 1)),
        ];
        let (w, h) = grid_size(&rows);
        assert_eq!((w, h), (3 * 12 + 4 * GRID_PAD, 10 + 6 + 3 * GRID_PAD));
        let d = decode(&grid_png(&rows, 2)).to_rgb8();
        assert_eq!(d.dimensions(), (w as u32, h as u32));
        let at = |x: usize, y: usize| d.get_pixel(x as u32, y as u32).0;
        let p = GRID_PAD;
        assert_eq!(at(0, 0), [255, 255, 255]); // border
        assert_eq!(at(p, p), [0, 0, 0]); // row 0 image (black)
        assert_eq!(at(p + 12 + p, p), [255, 255, 255]); // row 0 truth (class 1)
        assert_eq!(at(p + 2 * (12 + p), p), [0, 0, 0]); // row 0 prediction
        assert_eq!(at(p + 12, p), [255, 255, 255]); // gap between cells
                                                    // Row 1 cells are 8 wide, centred in 12-wide slots.
        let y1 = p + 10 + p;
        assert_eq!(at(p + 2, y1), [255, 255, 255]); // image (white)
        assert_eq!(at(p + 12 + p + 2, y1), [0, 0, 0]); // truth background
        assert_eq!(at(p + 12 + p + 1, y1), [255, 255, 255]); // slot margin
        assert_eq!(at(p + 2 * (12 + p) + 2, y1), [255, 255, 255]);

        // Multi-class masks use class colours.
        let rows = vec![(img(2, 2, 0.5), mask(2, 2, 2), mask(2, 2, 0))];
        let d = decode(&grid_png(&rows, 3)).to_rgb8();
        assert_eq!(d.get_pixel((p + 2 + p) as u32, p as u32).0, class_color(2));
        assert_eq!(d.get_pixel(p as u32, p as u32).0, [128, 128, 128]);

        let d = decode(&grid_png(&[], 2));
        assert_eq!(
            (d.width() as usize, d.height() as usize),
            (4 * GRID_PAD, GRID_PAD)
        );
    }

    #[test]
    fn curves_render() {
        let one = curve_png("one point", &[("loss", vec![0.7])], 320, 240).unwrap();
        let d = decode(&one);
        assert_eq!((d.width(), d.height()), (320, 240));

        let train: Vec<f64> = (0..20).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let mut val: Vec<f64> = (0..20).map(|i| 1.2 / (1.0 + i as f64) + 0.05).collect();
        val[3] = f64::NAN;
        val[10] = f64::INFINITY;
        let png = curve_png(
            "U-Net training",
            &[("train loss", train), ("val loss", val)],
            640,
            400,
        )
        .unwrap();
        let d = decode(&png).to_rgb8();
        assert_eq!(d.dimensions(), (640, 400));
        let has = |c: [u8; 3]| d.pixels().any(|p| p.0 == c);
        assert!(has(SERIES_COLORS[0]) && has(SERIES_COLORS[1]));
        // Some text (dark anti-aliased pixels) was drawn.
        assert!(d.pixels().filter(|p| p.0 == [0, 0, 0]).count() > 50);

        // Degenerate inputs.
        curve_png("", &[], 200, 150).unwrap();
        curve_png("nan", &[("x", vec![f64::NAN; 3])], 200, 150).unwrap();
        curve_png("flat", &[("x", vec![0.0; 5]), ("y", vec![])], 200, 150).unwrap();
        curve_png("huge", &[("x", vec![-1e308, 1e308])], 200, 150).unwrap();
        assert!(matches!(
            curve_png("t", &[], 10, 10),
            Err(ImagingError::InvalidSize { .. })
        ));
    }

    #[test]
    #[ignore = "writes sample pictures to target/pictures for a visual check"]
    fn write_sample_pictures() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pictures");
        fs::create_dir_all(&dir).unwrap();
        let train: Vec<f64> = (0..20).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let mut val: Vec<f64> = (0..20).map(|i| 1.2 / (1.0 + i as f64) + 0.05).collect();
        val[3] = f64::NAN;
        let dice: Vec<f64> = (0..20).map(|i| 1.0 - 0.8 / (1.0 + i as f64)).collect();
        let png = curve_png(
            "U-Net training",
            &[("train loss", train), ("val loss", val), ("val dice", dice)],
            640,
            400,
        )
        .unwrap();
        atomic_write(&dir.join("curve20.png"), &png).unwrap();
        let png = curve_png("One epoch", &[("loss", vec![0.7])], 320, 240).unwrap();
        atomic_write(&dir.join("curve1.png"), &png).unwrap();

        let (h, w) = (48, 64);
        let image = Image {
            channels: 3,
            height: h,
            width: w,
            data: (0..3 * h * w)
                .map(|i| ((i % (h * w)) % w) as f32 / w as f32 * (1 + i / (h * w)) as f32 / 3.0)
                .collect(),
        };
        let mask = |r: f32| Mask {
            height: h,
            width: w,
            data: (0..h * w)
                .map(|i| {
                    let (y, x) = ((i / w) as f32 - 24.0, (i % w) as f32 - 32.0);
                    let d = (x * x + y * y).sqrt();
                    if d < r / 2.0 {
                        2
                    } else if d < r {
                        1
                    } else {
                        0
                    }
                })
                .collect(),
        };
        atomic_write(&dir.join("overlay.png"), &overlay_png(&image, &mask(18.0))).unwrap();
        let rows = vec![
            (image.clone(), mask(18.0), mask(16.0)),
            (image, mask(12.0), mask(14.0)),
        ];
        atomic_write(&dir.join("grid.png"), &grid_png(&rows, 3)).unwrap();
    }
}
