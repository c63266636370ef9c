//! `unet train` on the image files people have: JPEG images with 0/1 PNG masks, and a
//! multi-page TIFF stack (as EM data ships) with a mask stack.

use std::path::Path;

use super::{scratch, text, unet};

const SIDE: u32 = 64;

/// A bright disc of radius 14 centred at `(cx, cy)` on a dark, gently textured background.
fn disc_image(cx: u32, cy: u32) -> Vec<u8> {
    (0..SIDE * SIDE)
        .map(|i| {
            let (x, y) = (i % SIDE, i / SIDE);
            if inside(x, y, cx, cy) {
                200 + ((x * 7 + y * 3) % 40) as u8
            } else {
                20 + ((x * 5 + y * 11) % 30) as u8
            }
        })
        .collect()
}

/// `foreground` inside the disc of [`disc_image`], 0 outside.
fn disc_mask(cx: u32, cy: u32, foreground: u8) -> Vec<u8> {
    (0..SIDE * SIDE)
        .map(|i| {
            if inside(i % SIDE, i / SIDE, cx, cy) {
                foreground
            } else {
                0
            }
        })
        .collect()
}

fn inside(x: u32, y: u32, cx: u32, cy: u32) -> bool {
    let (dx, dy) = (x.abs_diff(cx), y.abs_diff(cy));
    dx * dx + dy * dy <= 14 * 14
}

/// The disc centre of image `i`: a different place in each.
fn centre(i: u32) -> (u32, u32) {
    (18 + (i * 13) % 28, 18 + (i * 23) % 28)
}

fn gray(pixels: Vec<u8>) -> image::GrayImage {
    image::GrayImage::from_raw(SIDE, SIDE, pixels).unwrap()
}

/// A multi-page TIFF of `SIDE x SIDE` 8-bit gray pages, written by hand (little-endian,
/// uncompressed, one strip a page), so the test does not read back its own library's writer.
fn write_tiff_stack(path: &Path, pages: &[Vec<u8>]) {
    let mut out = b"II*\0".to_vec();
    out.extend(0u32.to_le_bytes());
    // Where the offset of the next page's directory goes.
    let mut link = 4;
    for page in pages {
        let data_at = out.len() as u32;
        out.extend(page);
        if out.len() % 2 == 1 {
            out.push(0);
        }
        let ifd_at = out.len() as u32;
        out[link..link + 4].copy_from_slice(&ifd_at.to_le_bytes());
        const SHORT: u16 = 3;
        const LONG: u16 = 4;
        let entries: [(u16, u16, u32); 9] = [
            (256, LONG, SIDE),              // ImageWidth
            (257, LONG, SIDE),              // ImageLength
            (258, SHORT, 8),                // BitsPerSample
            (259, SHORT, 1),                // Compression: none
            (262, SHORT, 1),                // PhotometricInterpretation: BlackIsZero
            (273, LONG, data_at),           // StripOffsets
            (277, SHORT, 1),                // SamplesPerPixel
            (278, LONG, SIDE),              // RowsPerStrip
            (279, LONG, page.len() as u32), // StripByteCounts
        ];
        out.extend((entries.len() as u16).to_le_bytes());
        for (tag, kind, value) in entries {
            out.extend(tag.to_le_bytes());
            out.extend(kind.to_le_bytes());
            out.extend(1u32.to_le_bytes());
            if kind == SHORT {
                out.extend((value as u16).to_le_bytes());
                out.extend([0, 0]);
            } else {
                out.extend(value.to_le_bytes());
            }
        }
        link = out.len();
        out.extend(0u32.to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

/// `unet train --model tiny` for one short epoch on `data`; the run folder.
fn train_briefly(data: &Path, label: &str) -> (std::process::Output, std::path::PathBuf) {
    train_briefly_with(data, label, &[])
}

/// [`train_briefly`] with more flags.
fn train_briefly_with(
    data: &Path,
    label: &str,
    more: &[&str],
) -> (std::process::Output, std::path::PathBuf) {
    let run = scratch(label).join("run");
    let mut args = vec![
        "train",
        "--model",
        "tiny",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "1",
        "--epoch-size",
        "16",
        "--batch",
        "4",
        "--out",
        run.to_str().unwrap(),
    ];
    args.extend(more);
    (unet(&args), run)
}

#[test]
fn training_on_jpeg_images_with_zero_one_png_masks_reads_them_as_classes() {
    let data = scratch("images-jpeg");
    std::fs::create_dir_all(data.join("image")).unwrap();
    std::fs::create_dir_all(data.join("label")).unwrap();
    for i in 0..6 {
        let (cx, cy) = centre(i);
        gray(disc_image(cx, cy))
            .save(data.join(format!("image/cell{i}.jpg")))
            .unwrap();
        gray(disc_mask(cx, cy, 1))
            .save(data.join(format!("label/cell{i}.png")))
            .unwrap();
    }
    let (out, run) = train_briefly(&data, "images-jpeg-run");
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "train failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(run.join("best.mpk").is_file(), "no best.mpk in {run:?}");
    assert!(
        stderr.contains("note: ") && stderr.contains("reading them as classes 0 and 1"),
        "no note on the 0/1 masks in stderr:\n{stderr}"
    );
}

#[test]
fn training_on_a_multi_page_tiff_stack_reads_one_sample_per_page() {
    let data = scratch("images-stack");
    std::fs::create_dir_all(data.join("image")).unwrap();
    std::fs::create_dir_all(data.join("label")).unwrap();
    let centres: Vec<(u32, u32)> = (0..8).map(centre).collect();
    let images: Vec<Vec<u8>> = centres.iter().map(|&(x, y)| disc_image(x, y)).collect();
    let masks: Vec<Vec<u8>> = centres.iter().map(|&(x, y)| disc_mask(x, y, 255)).collect();
    write_tiff_stack(&data.join("image/vol.tif"), &images);
    write_tiff_stack(&data.join("label/vol.tif"), &masks);
    let (out, run) = train_briefly(&data, "images-stack-run");
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "train failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(run.join("best.mpk").is_file(), "no best.mpk in {run:?}");
    // Eight pages, eight samples: the last fifth (rounded up) held out for validation.
    assert!(
        stdout.contains("(6 train / 2 validation images"),
        "stdout:\n{stdout}"
    );
    assert!(
        stderr.contains("vol-000 to vol-007"),
        "no note on the 8-page stack in stderr:\n{stderr}"
    );
}

#[test]
fn an_ignore_label_is_left_out_of_training_and_of_eval() {
    let data = scratch("images-ignore");
    std::fs::create_dir_all(data.join("image")).unwrap();
    std::fs::create_dir_all(data.join("label")).unwrap();
    for i in 0..6 {
        let (cx, cy) = centre(i);
        // 0/255 masks whose four top rows are unlabelled (128).
        let mut mask = disc_mask(cx, cy, 255);
        mask[..4 * SIDE as usize].fill(128);
        gray(disc_image(cx, cy))
            .save(data.join(format!("image/cell{i}.png")))
            .unwrap();
        gray(mask)
            .save(data.join(format!("label/cell{i}.png")))
            .unwrap();
    }
    let (out, run) = train_briefly_with(&data, "images-ignore-run", &["--ignore-label", "128"]);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "train failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let rows = 4 * SIDE as usize;
    assert!(
        stderr.contains(&format!(
            "{} pixels in 6 of 6 masks in {} hold the ignore label 128",
            6 * rows,
            data.join("label").display()
        )),
        "no note on the ignored pixels in stderr:\n{stderr}"
    );
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("\"ignore_label\": 128"), "{config}");
    // eval takes the run's ignore label: the same pixels count as with it given.
    let checkpoint = run.join("best");
    let eval = |more: &[&str]| {
        let mut args = vec!["eval", "--checkpoint", checkpoint.to_str().unwrap()];
        args.extend(["--data", data.to_str().unwrap(), "--json"]);
        args.extend(more);
        let out = unet(&args);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "eval failed:\n{stdout}\n{stderr}");
        stdout
    };
    let by_run = eval(&[]);
    assert_eq!(by_run, eval(&["--ignore-label", "128"]));
    // Read without it, 128 is foreground: other figures.
    assert_ne!(by_run, eval(&["--ignore-label", "7"]));
}

#[test]
fn an_ignore_label_on_synthetic_data_is_refused() {
    let out = unet(&["train", "--model", "tiny", "--ignore-label", "255"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--ignore-label needs --data FOLDER"),
        "{stderr}"
    );
}
