//! Multi-page TIFF stacks, as EM and microscopy data ship (ISBI 2012's `train-volume.tif`):
//! one page per section, read page by page with the `tiff` crate.
//!
//! [`super::folder`] asks [`page_count`] of every TIFF it pairs; a file of more than one page
//! is read with [`read_pages`], each page becoming one sample. Single pages stay with the
//! `image` crate's decoder, which knows more TIFF flavours (palette, YCbCr, 1-bit).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use image::{DynamicImage, ImageBuffer};
use tiff::decoder::{Decoder, DecodingResult};
use tiff::ColorType;

use super::DataError;

/// Whether `head` (a file's first bytes) opens a TIFF: `II*\0` or `MM\0*` (BigTIFF: 43).
pub(super) fn is_tiff(head: &[u8]) -> bool {
    matches!(
        head,
        [b'I', b'I', 42 | 43, 0, ..] | [b'M', b'M', 0, 42 | 43, ..]
    )
}

fn open(path: &Path) -> Result<Decoder<BufReader<File>>, DataError> {
    let file = File::open(path).map_err(|e| DataError::unreadable(path, e))?;
    Decoder::new(BufReader::new(file)).map_err(|e| DataError::unreadable(path, e))
}

/// The number of pages (image file directories) of the TIFF file at `path`.
pub(super) fn page_count(path: &Path) -> Result<usize, DataError> {
    let mut decoder = open(path)?;
    let mut pages = 1;
    while decoder.more_images() {
        decoder
            .next_image()
            .map_err(|e| DataError::unreadable(path, format!("page {pages}: {e}")))?;
        pages += 1;
    }
    Ok(pages)
}

/// Every page of the TIFF file at `path`, in order: 8- or 16-bit gray, gray+alpha, RGB or
/// RGBA. Any other page (1-bit, float, palette, CMYK, planar) is an error naming the page.
pub(super) fn read_pages(path: &Path) -> Result<Vec<DynamicImage>, DataError> {
    let mut decoder = open(path)?;
    let mut pages = Vec::new();
    loop {
        let page = pages.len();
        let failed = |e: tiff::TiffError| DataError::unreadable(path, format!("page {page}: {e}"));
        let (width, height) = decoder.dimensions().map_err(failed)?;
        let colour = decoder.colortype().map_err(failed)?;
        let data = decoder.read_image().map_err(failed)?;
        pages.push(to_dynamic(width, height, colour, data).ok_or_else(|| {
            DataError::unreadable(
                path,
                format!(
                    "page {page} is {colour:?}: TIFF stacks are read as 8- or 16-bit gray or RGB (chunky)"
                ),
            )
        })?);
        if !decoder.more_images() {
            return Ok(pages);
        }
        decoder
            .next_image()
            .map_err(|e| DataError::unreadable(path, format!("page {}: {e}", pages.len())))?;
    }
}

/// One decoded page as the `image` crate's type, `None` for a layout not read here.
fn to_dynamic(
    width: u32,
    height: u32,
    colour: ColorType,
    data: DecodingResult,
) -> Option<DynamicImage> {
    use ColorType::{Gray, Multiband, RGB, RGBA};
    use DecodingResult::{U16, U8};
    Some(match (colour, data) {
        (Gray(8), U8(v)) => DynamicImage::ImageLuma8(ImageBuffer::from_raw(width, height, v)?),
        (Gray(16), U16(v)) => DynamicImage::ImageLuma16(ImageBuffer::from_raw(width, height, v)?),
        (
            Multiband {
                bit_depth: 8,
                num_samples: 2,
            },
            U8(v),
        ) => DynamicImage::ImageLumaA8(ImageBuffer::from_raw(width, height, v)?),
        (
            Multiband {
                bit_depth: 16,
                num_samples: 2,
            },
            U16(v),
        ) => DynamicImage::ImageLumaA16(ImageBuffer::from_raw(width, height, v)?),
        (RGB(8), U8(v)) => DynamicImage::ImageRgb8(ImageBuffer::from_raw(width, height, v)?),
        (RGB(16), U16(v)) => DynamicImage::ImageRgb16(ImageBuffer::from_raw(width, height, v)?),
        (RGBA(8), U8(v)) => DynamicImage::ImageRgba8(ImageBuffer::from_raw(width, height, v)?),
        (RGBA(16), U16(v)) => DynamicImage::ImageRgba16(ImageBuffer::from_raw(width, height, v)?),
        _ => return None,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use tiff::encoder::{colortype, TiffEncoder};

    /// Writes `pages` 8-bit gray pages of `width x height`, page `p` holding `f(p, x, y)`.
    pub(in crate::data) fn write_gray8_stack(
        path: &Path,
        width: u32,
        height: u32,
        pages: u32,
        f: impl Fn(u32, u32, u32) -> u8,
    ) {
        let mut encoder = TiffEncoder::new(File::create(path).unwrap()).unwrap();
        for p in 0..pages {
            let data: Vec<u8> = (0..width * height)
                .map(|i| f(p, i % width, i / width))
                .collect();
            encoder
                .write_image::<colortype::Gray8>(width, height, &data)
                .unwrap();
        }
    }

    /// Writes `pages` 16-bit gray pages, page `p` holding `f(p, x, y)`.
    pub(in crate::data) fn write_gray16_stack(
        path: &Path,
        width: u32,
        height: u32,
        pages: u32,
        f: impl Fn(u32, u32, u32) -> u16,
    ) {
        let mut encoder = TiffEncoder::new(File::create(path).unwrap()).unwrap();
        for p in 0..pages {
            let data: Vec<u16> = (0..width * height)
                .map(|i| f(p, i % width, i / width))
                .collect();
            encoder
                .write_image::<colortype::Gray16>(width, height, &data)
                .unwrap();
        }
    }

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("unet-stack-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    /// Removes a [`temp_file`], and its folder once no other test's file is left in it.
    fn remove(path: &Path) {
        std::fs::remove_file(path).ok();
        std::fs::remove_dir(path.parent().unwrap()).ok();
    }

    #[test]
    fn tiff_magic_is_recognised_in_both_byte_orders_and_png_is_not() {
        assert!(is_tiff(b"II*\0rest"));
        assert!(is_tiff(b"MM\0*rest"));
        assert!(is_tiff(b"II+\0rest"));
        assert!(!is_tiff(b"\x89PNG\r\n\x1a\n"));
        assert!(!is_tiff(b"II"));
    }

    #[test]
    fn three_page_stack_counts_and_reads_three_gray8_pages_in_order() {
        let path = temp_file("three.tif");
        write_gray8_stack(&path, 5, 4, 3, |p, x, y| (p * 100 + x + 10 * y) as u8);
        assert_eq!(page_count(&path).unwrap(), 3);
        let pages = read_pages(&path).unwrap();
        assert_eq!(pages.len(), 3);
        for (p, page) in pages.iter().enumerate() {
            let DynamicImage::ImageLuma8(gray) = page else {
                panic!("page {p} is {:?}", page.color());
            };
            assert_eq!(gray.dimensions(), (5, 4));
            assert_eq!(gray.get_pixel(3, 2).0[0], (p * 100 + 3 + 20) as u8);
        }
        remove(&path);
    }

    #[test]
    fn sixteen_bit_stack_pages_keep_their_raw_values() {
        let path = temp_file("deep.tif");
        write_gray16_stack(&path, 3, 2, 2, |p, x, _| {
            1000 * p as u16 + 40000 * (x == 2) as u16
        });
        let pages = read_pages(&path).unwrap();
        let DynamicImage::ImageLuma16(second) = &pages[1] else {
            panic!("{:?}", pages[1].color());
        };
        assert_eq!(second.as_raw(), &[1000, 1000, 41000, 1000, 1000, 41000]);
        remove(&path);
    }

    #[test]
    fn rgb_stack_pages_read_as_rgb() {
        let path = temp_file("rgb.tif");
        let mut encoder = TiffEncoder::new(File::create(&path).unwrap()).unwrap();
        for p in 0..2u8 {
            encoder
                .write_image::<colortype::RGB8>(1, 1, &[p, 2, 3])
                .unwrap();
        }
        drop(encoder);
        let pages = read_pages(&path).unwrap();
        assert_eq!(pages[1].to_rgb8().as_raw(), &[1, 2, 3]);
        remove(&path);
    }

    #[test]
    fn float_stack_page_is_an_error_naming_the_page_and_its_layout() {
        let path = temp_file("float.tif");
        let mut encoder = TiffEncoder::new(File::create(&path).unwrap()).unwrap();
        encoder.write_image::<colortype::Gray8>(1, 1, &[0]).unwrap();
        encoder
            .write_image::<colortype::Gray32Float>(1, 1, &[0.5])
            .unwrap();
        drop(encoder);
        let err = read_pages(&path).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("float.tif") && msg.contains("page 1") && msg.contains("16-bit"),
            "{msg}"
        );
        remove(&path);
    }
}
