//! The `unet` tool end to end: a tiny training run, resume, time budget, prediction and
//! evaluation; and every kind of bad input giving one line on stderr, exit code 2 and no
//! partial output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

fn unet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unet"))
        .args(args)
        .output()
        .expect("run unet")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unet-cli-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Exit code 2 and exactly one stderr line, containing every fragment.
fn assert_one_line_error(out: &Output, fragments: &[&str]) {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{stderr}");
    for f in fragments {
        assert!(lines[0].contains(f), "`{f}` missing from: {}", lines[0]);
    }
}

/// One tiny training run shared by the tests that need a checkpoint.
fn trained() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = scratch("trained").join("run");
        let out = unet(&[
            "train",
            "--model",
            "tiny",
            "--epochs",
            "2",
            "--epoch-size",
            "64",
            "--synthetic-count",
            "64",
            "--out",
            dir.to_str().unwrap(),
        ]);
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "train failed:\n{stdout}\n{stderr}");
        dir
    })
}

fn write_png(path: &Path, w: u32, h: u32, value: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_pixel(w, h, image::Luma([value]))
        .save(path)
        .unwrap();
}

/// A file name with its image and mask sizes (width, height).
type Pair<'a> = (&'a str, (u32, u32), (u32, u32));

fn folder(name: &str, pairs: &[Pair]) -> PathBuf {
    let dir = scratch(name);
    for (file, image_size, mask_size) in pairs {
        write_png(
            &dir.join("image").join(file),
            image_size.0,
            image_size.1,
            100,
        );
        write_png(&dir.join("label").join(file), mask_size.0, mask_size.1, 255);
    }
    dir
}

/// `unet train --model tiny` on a data folder into a fresh run folder named `label`.
fn train_on(data: &Path, label: &str) -> (Output, PathBuf) {
    let run = scratch(label).join("run");
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--data",
        data.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    (out, run)
}

#[test]
fn training_writes_config_metrics_pictures_and_atomic_checkpoints() {
    let dir = trained();
    for file in [
        "config.json",
        "metrics.csv",
        "curves.png",
        "best.mpk",
        "last.mpk",
        "samples/epoch-001.png",
        "samples/epoch-002.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,valid_loss,pixel_accuracy,dice,iou,seconds,image_dice,boundary_f1,hd95,v_rand,v_info"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn resume_continues_from_the_last_checkpoint() {
    let src = trained();
    let dir = scratch("resume").join("run");
    // Copy the finished run, then ask for one more epoch.
    copy_dir(src, &dir);
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--resume",
        "--epochs",
        "3",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let epochs: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(epochs, ["1", "2", "3"], "{csv}");
    assert!(dir.join("checkpoint/model-3.mpk").is_file());
}

#[test]
fn a_run_folder_is_never_overwritten_without_resume() {
    let dir = trained();
    let before = std::fs::read(dir.join("best.mpk")).unwrap();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["already holds a run", "--resume"]);
    assert_eq!(std::fs::read(dir.join("best.mpk")).unwrap(), before);
}

#[test]
fn time_budget_cuts_the_epoch_short_then_validates_and_saves() {
    let dir = scratch("budget").join("run");
    // An epoch of 100000 crops would take hours; a 2-second budget must end it early.
    let started = std::time::Instant::now();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--minutes",
        "0.03",
        "--epoch-size",
        "100000",
        "--synthetic-count",
        "16",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        started.elapsed().as_secs() < 60,
        "took {:?}",
        started.elapsed()
    );
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "one epoch expected:\n{csv}");
    assert!(dir.join("best.mpk").is_file() && dir.join("last.mpk").is_file());
}

#[test]
fn predict_writes_masks_and_overlays_of_the_input_size() {
    let run = trained();
    let input = scratch("predict-in");
    write_png(&input.join("a.png"), 37, 53, 120);
    write_png(&input.join("b.png"), 300, 90, 30);
    let output = scratch("predict-out").join("masks");
    let out = unet(&[
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--overlay",
        "--tile",
        "32",
        "--overlap",
        "8",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    for (name, w, h) in [("a", 37, 53), ("b", 300, 90)] {
        let mask = image::open(output.join(format!("{name}.png"))).unwrap();
        assert_eq!((mask.width(), mask.height()), (w, h));
        let overlay = image::open(output.join(format!("{name}_overlay.png"))).unwrap();
        assert_eq!((overlay.width(), overlay.height()), (w, h));
    }
}

#[test]
fn export_writes_an_onnx_model_tract_runs_and_never_replaces_a_file_unasked() {
    let run = trained();
    let best = run.join("best");
    let best = best.to_str().unwrap();
    let out_dir = scratch("export").join("deploy");
    let model = out_dir.join("tiny.onnx");
    let model_arg = model.to_str().unwrap();
    let out = unet(&[
        "export",
        "--checkpoint",
        best,
        "--format",
        "onnx",
        "--out",
        model_arg,
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(
        text(&out)
            .0
            .contains("input `input` [batch, 1, height, width]"),
        "{:?}",
        text(&out)
    );
    use tract_onnx::prelude::Framework;
    let parsed = tract_onnx::onnx().model_for_path(&model);
    assert!(
        parsed.is_ok(),
        "tract cannot read the export: {:?}",
        parsed.err()
    );
    let again = unet(&["export", "--checkpoint", best, "--out", model_arg]);
    assert_one_line_error(&again, &["exists", "--overwrite"]);
    let replaced = unet(&[
        "export",
        "--checkpoint",
        best,
        "--out",
        model_arg,
        "--overwrite",
    ]);
    assert!(replaced.status.success(), "{:?}", text(&replaced));
    let checkpoint = run.join("best.mpk");
    let before = std::fs::read(&checkpoint).unwrap();
    let onto_input = unet(&[
        "export",
        "--checkpoint",
        best,
        "--out",
        checkpoint.to_str().unwrap(),
        "--overwrite",
    ]);
    assert_one_line_error(&onto_input, &["the checkpoint itself"]);
    assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
    let odd = out_dir.join("odd.onnx");
    let bad_size = unet(&[
        "export",
        "--checkpoint",
        best,
        "--out",
        odd.to_str().unwrap(),
        "--input",
        "13x16",
    ]);
    assert_one_line_error(&bad_size, &["input size"]);
    assert!(!odd.exists());
}

#[test]
fn eval_with_tta_prints_one_json_object_with_the_agreed_keys() {
    let run = trained();
    let out = unet(&[
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--data",
        "synthetic",
        "--seed",
        "4242",
        "--count",
        "8",
        "--json",
        "--tta",
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let (stdout, _) = text(&out);
    let line = stdout.trim();
    assert!(
        line.starts_with('{') && line.ends_with('}') && !line.contains('\n'),
        "{stdout}"
    );
    for key in [
        "\"pixel_accuracy\":",
        "\"dice\":",
        "\"iou\":",
        "\"per_class\":",
        "\"images\":8",
        "\"per_image\":{\"dice\":",
        "\"boundary_f1\":",
        "\"hd95\":",
        "\"rand\":{\"score\":",
        "\"info\":{\"score\":",
    ] {
        assert!(line.contains(key), "{key} missing from {line}");
    }
}

#[test]
fn unknown_model_is_a_one_line_error() {
    let dir = scratch("unknown-model").join("run");
    let out = unet(&["train", "--model", "huge", "--out", dir.to_str().unwrap()]);
    assert_one_line_error(
        &out,
        &[
            "unknown model `huge`",
            "small, tiny, classic, paper, milesial",
        ],
    );
    assert!(!dir.exists(), "no run folder may be created");
}

#[test]
fn empty_folder_is_a_one_line_error() {
    let data = scratch("empty");
    std::fs::create_dir_all(data.join("image")).unwrap();
    std::fs::create_dir_all(data.join("label")).unwrap();
    let (out, run) = train_on(&data, "empty-run");
    assert_one_line_error(&out, &[data.to_str().unwrap()]);
    assert!(!run.join("config.json").exists());
}

#[test]
fn mask_without_image_names_the_mask() {
    let data = folder("orphan-mask", &[("a.png", (32, 32), (32, 32))]);
    write_png(&data.join("label").join("b.png"), 32, 32, 255);
    let (out, run) = train_on(&data, "orphan-run");
    assert_one_line_error(&out, &["b.png"]);
    assert!(!run.join("config.json").exists());
}

#[test]
fn image_without_mask_names_the_image() {
    let data = folder("orphan-image", &[("a.png", (32, 32), (32, 32))]);
    write_png(&data.join("image").join("c.png"), 32, 32, 9);
    let (out, _) = train_on(&data, "orphan-image-run");
    assert_one_line_error(&out, &["c.png"]);
}

#[test]
fn mismatched_image_and_mask_sizes_name_both_sizes() {
    let data = folder(
        "mismatch",
        &[("a.png", (32, 32), (32, 32)), ("b.png", (32, 32), (16, 32))],
    );
    let (out, _) = train_on(&data, "mismatch-run");
    assert_one_line_error(&out, &["b.png", "32x32", "16x32"]);
}

#[test]
fn unreadable_image_names_the_file() {
    let data = folder(
        "corrupt-image",
        &[("a.png", (32, 32), (32, 32)), ("b.png", (32, 32), (32, 32))],
    );
    std::fs::write(data.join("image").join("b.png"), b"not a png").unwrap();
    let (out, _) = train_on(&data, "corrupt-image-run");
    assert_one_line_error(&out, &["b.png"]);
}

#[test]
fn missing_prediction_input_is_an_error_and_writes_nothing() {
    let run = trained();
    let output = scratch("missing-input").join("out");
    let out = unet(&[
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--input",
        "/nonexistent/x.png",
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["/nonexistent/x.png"]);
    assert!(!output.exists());
}

#[test]
fn one_bad_image_among_good_ones_writes_no_mask_at_all() {
    let run = trained();
    let input = scratch("partial-in");
    write_png(&input.join("a.png"), 16, 16, 10);
    std::fs::write(input.join("b.png"), b"garbage").unwrap();
    let output = scratch("partial-out").join("out");
    let out = unet(&[
        "predict",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["b.png"]);
    assert!(!output.exists(), "no partial output");
}

#[test]
fn corrupt_checkpoint_is_a_one_line_error() {
    let run = trained();
    let dir = scratch("corrupt-ckpt");
    std::fs::copy(run.join("config.json"), dir.join("config.json")).unwrap();
    std::fs::write(dir.join("best.mpk"), b"\x93not msgpack at all").unwrap();
    let out = unet(&[
        "eval",
        "--checkpoint",
        dir.join("best").to_str().unwrap(),
        "--count",
        "2",
    ]);
    assert_one_line_error(&out, &["corrupt", "best.mpk"]);
}

#[test]
fn checkpoint_of_another_model_is_a_one_line_error() {
    let run = trained();
    let dir = scratch("foreign-ckpt");
    std::fs::copy(run.join("best.mpk"), dir.join("best.mpk")).unwrap();
    let out = unet(&[
        "eval",
        "--checkpoint",
        dir.join("best").to_str().unwrap(),
        "--model",
        "small",
        "--count",
        "2",
    ]);
    assert_one_line_error(&out, &["best.mpk", "another model"]);
    // With the run's config.json beside it, the mismatch is named before loading.
    let out = unet(&[
        "eval",
        "--checkpoint",
        run.join("best").to_str().unwrap(),
        "--model",
        "small",
        "--count",
        "2",
    ]);
    assert_one_line_error(&out, &["trained as model `tiny`, not `small`"]);
}

#[test]
fn missing_checkpoint_is_a_one_line_error() {
    let out = unet(&[
        "eval",
        "--checkpoint",
        "/nonexistent/run/best",
        "--model",
        "tiny",
    ]);
    assert_one_line_error(&out, &["checkpoint /nonexistent/run/best not found"]);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_backend_without_cuda_is_a_one_line_error() {
    let dir = scratch("cuda").join("run");
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--backend",
        "cuda",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["cuda"]);
    assert!(!dir.join("checkpoint").exists());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `examples/your_own_tool`: a user crate's `main.rs` that is one `unet::cli!` over networks
/// that are not the tool's (built by `cargo test` beside the `unet` binary).
fn own_tool(args: &[&str]) -> Output {
    let unet = Path::new(env!("CARGO_BIN_EXE_unet"));
    let exe = unet
        .parent()
        .unwrap()
        .join("examples")
        .join(format!("your_own_tool{}", std::env::consts::EXE_SUFFIX));
    assert!(
        exe.is_file(),
        "{} missing: `cargo test` builds the examples",
        exe.display()
    );
    Command::new(exe)
        .args(args)
        .output()
        .expect("run your_own_tool")
}

#[test]
fn a_crate_of_its_own_lists_and_summarises_exactly_its_networks() {
    let out = own_tool(&["models"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let (stdout, _) = text(&out);
    let names: Vec<&str> = stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["mynet", "wide", "deep"], "{stdout}");
    assert!(stdout.contains("batch norm"), "{stdout}");
    let out = own_tool(&["summary", "--model", "wide"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let out = own_tool(&["train", "--model", "small", "--epochs", "1"]);
    assert_one_line_error(&out, &["unknown model `small`", "mynet, wide, deep"]);
}

/// Trains `model` of the own tool for one short epoch, then evaluates and predicts with it.
fn train_eval_predict(model: &str) {
    let dir = scratch(&format!("own-{model}"));
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    let out = own_tool(&[
        "train",
        "--model",
        model,
        "--epochs",
        "1",
        "--epoch-size",
        "8",
        "--synthetic-count",
        "8",
        "--batch",
        "4",
        "--out",
        run_s,
    ]);
    assert!(out.status.success(), "train {model}: {:?}", text(&out));
    for file in ["config.json", "metrics.csv", "best.mpk", "last.mpk"] {
        assert!(run.join(file).is_file(), "{model}: {file} missing");
    }
    let best = run.join("best");
    let out = own_tool(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--count",
        "2",
        "--json",
    ]);
    assert!(out.status.success(), "eval {model}: {:?}", text(&out));
    assert!(text(&out).0.contains("\"images\":2"), "{:?}", text(&out));
    let input = dir.join("in");
    write_png(&input.join("a.png"), 40, 30, 90);
    let output = dir.join("out");
    let out = own_tool(&[
        "predict",
        "--checkpoint",
        best.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "predict {model}: {:?}", text(&out));
    let mask = image::open(output.join("a.png")).unwrap();
    assert_eq!((mask.width(), mask.height()), (40, 30));
}

#[test]
fn a_multi_class_valid_padding_deeply_supervised_network_of_a_user_crate_trains_evaluates_and_predicts(
) {
    train_eval_predict("deep");
}

#[test]
fn a_batchnorm_rgb_four_class_network_of_a_user_crate_trains_evaluates_and_predicts() {
    train_eval_predict("wide");
}

/// A data folder of `images` 48x48 images with one mask folder per label in `labels`:
/// label `k` covers the pixels whose column is below `16 * (k + 1)`, so the labels nest.
fn multi_label_folder(name: &str, images: usize, labels: &[&str]) -> PathBuf {
    let dir = scratch(name);
    for i in 0..images {
        let file = format!("{i:02}.png");
        let image = dir.join("image").join(&file);
        std::fs::create_dir_all(image.parent().unwrap()).unwrap();
        image::GrayImage::from_fn(48, 48, |x, _| image::Luma([(x * 5) as u8]))
            .save(&image)
            .unwrap();
        for (k, label) in labels.iter().enumerate() {
            let mask = dir.join("label").join(label).join(&file);
            std::fs::create_dir_all(mask.parent().unwrap()).unwrap();
            let edge = 16 * (k as u32 + 1);
            image::GrayImage::from_fn(48, 48, |x, _| image::Luma([if x < edge { 255 } else { 0 }]))
                .save(&mask)
                .unwrap();
        }
    }
    dir
}

#[test]
fn a_multi_label_run_of_a_user_crate_trains_evaluates_per_label_and_predicts_a_mask_per_label() {
    let labels = ["left", "middle", "most"];
    let data = multi_label_folder("multi-label", 4, &labels);
    let dir = scratch("multi-label-run");
    let run = dir.join("run");
    let train = |data: &Path, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "deep",
            "--data",
            data.to_str().unwrap(),
            "--epochs",
            "1",
            "--epoch-size",
            "4",
            "--batch",
            "2",
            "--crop",
            "44",
            "--val-split",
            "0.25",
            "--out",
            run.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        own_tool(&args)
    };
    // Two label folders for the three outputs of `deep`, or synthetic data: refused.
    let two = multi_label_folder("multi-label-two", 2, &labels[..2]);
    let out = train(&two, &["--multi-label"]);
    assert_one_line_error(
        &out,
        &["--multi-label", "2 label folder(s)", "3 output channel(s)"],
    );
    let out = own_tool(&[
        "train",
        "--model",
        "deep",
        "--data",
        "synthetic",
        "--multi-label",
    ]);
    assert_one_line_error(&out, &["--multi-label needs --data FOLDER"]);

    let out = train(&data, &["--multi-label", "--loss", "bce+dice"]);
    assert!(out.status.success(), "train: {:?}", text(&out));
    let config = std::fs::read_to_string(run.join("config.json")).unwrap();
    assert!(config.contains("\"most\""), "{config}");
    let best = run.join("best");
    let out = own_tool(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "eval: {:?}", text(&out));
    let (stdout, _) = text(&out);
    // One score per label.
    assert_eq!(stdout.matches("{\"dice\":").count(), 4, "{stdout}");
    let out = own_tool(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert!(
        text(&out).0.contains("label middle: Dice"),
        "{:?}",
        text(&out)
    );
    // A folder of other labels is refused by name.
    let other = multi_label_folder("multi-label-other", 2, &["a", "b", "c"]);
    let out = own_tool(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--data",
        other.to_str().unwrap(),
    ]);
    assert_one_line_error(
        &out,
        &["[\"a\", \"b\", \"c\"]", "[\"left\", \"middle\", \"most\"]"],
    );

    let output = dir.join("out");
    let out = own_tool(&[
        "predict",
        "--checkpoint",
        best.to_str().unwrap(),
        "--input",
        data.join("image").to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "predict: {:?}", text(&out));
    for label in labels {
        let mask = image::open(output.join(label).join("01.png"))
            .unwrap()
            .to_luma8();
        assert_eq!(mask.dimensions(), (48, 48));
        assert!(
            mask.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255),
            "{label}"
        );
    }
}

/// Resuming the shared run for a third epoch with `block` run on its folder first: root
/// ignores permissions, so the way of a file the epoch writes is blocked by a folder.
fn blocked_training(name: &str, block: impl Fn(&Path)) -> (Output, PathBuf) {
    let run = scratch(&format!("blocked-{name}")).join("run");
    copy_dir(trained(), &run);
    block(&run);
    let started = std::time::Instant::now();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--resume",
        "--epochs",
        "3",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(
        started.elapsed().as_secs() < 120,
        "took {:?}",
        started.elapsed()
    );
    (out, run)
}

/// A folder in the way of `path`, which a rename cannot replace.
fn occupy(path: &Path) {
    std::fs::remove_file(path).ok();
    std::fs::create_dir_all(path.join("occupied")).unwrap();
}

#[test]
fn a_checkpoint_that_cannot_be_written_ends_training_with_an_error_naming_it() {
    let (out, _) = blocked_training("checkpoint", |run| {
        occupy(&run.join("checkpoint/model-3.mpk"))
    });
    assert_one_line_error(&out, &["writing", "model-3.mpk"]);
    let (stderr, stdout) = (text(&out).1, text(&out).0);
    assert!(!stderr.contains("panicked"), "{stdout}\n{stderr}");
}

#[test]
fn a_last_checkpoint_that_cannot_be_replaced_ends_training_with_an_error_naming_it() {
    let (out, run) = blocked_training("last", |run| occupy(&run.join("last.mpk")));
    assert_one_line_error(&out, &["last.mpk"]);
    // The checkpoint commits an epoch and comes last: this epoch is not resumable, and what
    // it wrote before the failure is whole.
    assert!(!run.join("checkpoint/model-3.mpk").exists());
    let csv = std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[test]
fn resuming_to_no_more_epochs_than_trained_is_a_one_line_error() {
    let dir = scratch("resume-done").join("run");
    copy_dir(trained(), &dir);
    let before = std::fs::read(dir.join("metrics.csv")).unwrap();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--resume",
        "--epochs",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["--epochs 2", "more than 2"]);
    assert_eq!(std::fs::read(dir.join("metrics.csv")).unwrap(), before);
}

#[test]
fn a_new_run_never_mixes_its_checkpoints_with_another_runs() {
    let dir = scratch("mixed").join("run");
    copy_dir(trained(), &dir);
    // Without its config.json the folder passes the tool's check; the library still sees the
    // other run's checkpoints.
    std::fs::remove_file(dir.join("config.json")).unwrap();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--epochs",
        "1",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["already holds a run", "--resume", "--force"]);
    assert!(!dir.join("config.json").exists());
}

#[test]
fn out_of_range_settings_are_one_line_errors_naming_the_flag_before_anything_is_written() {
    for (flag, value, expected) in [
        ("--lr", "nan", "--lr NaN: expected a finite number above 0"),
        ("--lr", "-1", "--lr -1.0: expected a finite number above 0"),
        (
            "--minutes",
            "inf",
            "--minutes inf: expected a finite number",
        ),
        ("--minutes", "1e300", "--minutes 1e300"),
        (
            "--workers",
            "1000000",
            "--workers 1000000: expected at most 64",
        ),
        ("--val-split", "1.5", "--val-split 1.5: expected a fraction"),
        (
            "--epoch-size",
            "99999999999",
            "--epoch-size 99999999999: expected at most",
        ),
        // A 4096-pixel crop (moved to 4096) in batches of 4096: terabytes of activations.
        (
            "--batch",
            "4096 --crop 4096",
            "--batch 4096: expected at most",
        ),
    ] {
        let dir = scratch(&format!("range-{}", &flag[2..])).join("run");
        let mut args = vec!["train", "--model", "tiny", flag];
        args.extend(value.split(' '));
        args.extend(["--out", dir.to_str().unwrap()]);
        let out = unet(&args);
        assert_one_line_error(&out, &[expected]);
        assert!(!dir.exists(), "{flag} {value}: the run folder was created");
    }
}

/// `args` with standard output a pipe whose reader is gone before the tool writes.
fn with_closed_stdout(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_unet"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run unet");
    drop(child.stdout.take());
    child.wait_with_output().expect("wait for unet")
}

/// SIGPIPE's number on Linux and the BSDs.
#[cfg(unix)]
const SIGPIPE: i32 = 13;

#[cfg(unix)]
#[test]
fn every_command_ends_quietly_when_its_reader_goes_away() {
    use std::os::unix::process::ExitStatusExt;
    let run = trained();
    let best = run.join("best");
    let best = best.to_str().unwrap();
    let input = scratch("pipe-in");
    write_png(&input.join("a.png"), 20, 20, 100);
    let output = scratch("pipe-out").join("masks");
    let fresh = scratch("pipe-train").join("run");
    let exported = scratch("pipe-export").join("m.onnx");
    let commands: [&[&str]; 8] = [
        &["models"],
        &[
            "export",
            "--checkpoint",
            best,
            "--out",
            exported.to_str().unwrap(),
        ],
        &["summary", "--model", "paper"],
        &["--help"],
        &["eval", "--checkpoint", best, "--count", "2"],
        &[
            "predict",
            "--checkpoint",
            best,
            "--input",
            input.to_str().unwrap(),
            "--output",
            output.to_str().unwrap(),
        ],
        &["bench", "--model", "tiny", "--quick", "--size", "32"],
        &[
            "train",
            "--model",
            "tiny",
            "--epochs",
            "1",
            "--epoch-size",
            "8",
            "--synthetic-count",
            "8",
            "--out",
            fresh.to_str().unwrap(),
        ],
    ];
    for args in commands {
        let out = with_closed_stdout(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.success() || out.status.signal() == Some(SIGPIPE),
            "{args:?}: {:?}, stderr: {stderr}",
            out.status
        );
    }
}

#[path = "cli/images.rs"]
mod images;

#[path = "cli/reliability.rs"]
mod reliability;

#[test]
fn summary_for_an_input_prints_every_layers_shape_and_torchsummarys_memory() {
    let out = unet(&["summary", "--model", "paper", "--input", "572x572"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for line in [
        "Input: 1 x 1 x 572 x 572",
        "64 x 570 x 570",
        "64 x 568 x 568",
        "64 x 284 x 284",
        "1024 x 28 x 28",
        "Forward/backward pass size (MB): 1971.86",
        "Estimated Total Size (MB): 2091.48",
    ] {
        assert!(stdout.contains(line), "{line} missing from\n{stdout}");
    }
    let head = stdout
        .lines()
        .find(|l| l.starts_with("decoder.out"))
        .unwrap();
    assert!(head.contains("2 x 388 x 388"), "{head}");
    let batch = unet(&[
        "summary", "--model", "paper", "--input", "572", "--batch", "4",
    ]);
    assert!(
        text(&batch).0.contains("Input size (MB): 4.99"),
        "{:?}",
        text(&batch)
    );
    let symbolic = text(&unet(&["summary", "--model", "paper"])).0;
    assert!(
        symbolic.contains("1024 x (H-124)/16 x (W-124)/16"),
        "{symbolic}"
    );
    let odd = unet(&["summary", "--model", "paper", "--input", "570x572"]);
    assert_one_line_error(&odd, &["height 570", "odd size 279", "556 or 572"]);
    let batch_alone = unet(&["summary", "--model", "small", "--batch", "2"]);
    assert_one_line_error(&batch_alone, &["--batch needs --input"]);
}

#[test]
fn the_schedule_optimizer_decay_and_patience_are_flags_saved_with_the_run() {
    let dir = scratch("recipe").join("run");
    let run = dir.to_str().unwrap();
    let train = |epochs: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--model",
            "tiny",
            "--epochs",
            epochs,
            "--epoch-size",
            "8",
            "--synthetic-count",
            "16",
            "--out",
            run,
        ];
        args.extend_from_slice(extra);
        unet(&args)
    };
    let out = train(
        "2",
        &[
            "--optimizer",
            "sgd",
            "--schedule",
            "poly",
            "--warmup",
            "0.1",
            "--weight-decay",
            "3e-5",
            "--patience",
            "4",
            "--loss",
            "focal",
            "--class-weights",
            "1,3",
            "--border-weight",
            "10,5",
            "--intensity",
            "--tta",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let config = std::fs::read_to_string(dir.join("config.json")).unwrap();
    for field in [
        "\"optimizer\": \"sgd\"",
        "\"schedule\": \"poly\"",
        "\"lr\": 0.01",
        "\"weight_decay\": 0.00003",
        "\"patience\": 4",
        "\"loss\": \"focal\"",
        "\"intensity\": true",
        "\"tta\": \"mirror\"",
        "\"w0\": 10.0",
    ] {
        assert!(config.contains(field), "{field} missing from {config}");
    }
    // The optimizer's state is in the checkpoint: a resumed run keeps its optimizer.
    let other = train("3", &["--resume", "--optimizer", "adam"]);
    assert_eq!(other.status.code(), Some(2), "{:?}", text(&other));
    let resumed = train("3", &["--resume", "--schedule", "cosine"]);
    assert!(resumed.status.success(), "{:?}", text(&resumed));
    let weights = train("2", &["--force", "--class-weights", "1,2,3"]);
    assert_one_line_error(&weights, &["--class-weights has 3 values", "2 classes"]);
    let warmup = train("2", &["--force", "--warmup", "1"]);
    assert_one_line_error(&warmup, &["--warmup 1.0", "[0, 1)"]);
    let schedule = train("2", &["--force", "--schedule", "step"]);
    assert_eq!(schedule.status.code(), Some(2));
    assert!(
        text(&schedule).1.contains("constant, cosine, poly"),
        "{:?}",
        text(&schedule)
    );
}

/// A loopback address no one listens on (bound, read, released).
fn free_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// `unet train` as node `rank` of 2 at `address`, in folder `cwd`, its output piped.
fn node(rank: usize, address: &str, cwd: &Path, args: &[&str]) -> std::process::Child {
    let rank = rank.to_string();
    Command::new(env!("CARGO_BIN_EXE_unet"))
        .current_dir(cwd)
        .args(["train", "--nodes", "2", "--node-rank", &rank])
        .args(["--coordinator", address])
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start a node")
}

/// The parameters (not the running statistics) of a `tiny` checkpoint, in module order.
fn tiny_weights(path: &Path) -> Vec<f32> {
    use unet::burn::module::{Module, ModuleVisitor, Param};
    use unet::burn::tensor::{backend::Backend, Tensor};
    unet::unet!(Tiny<depth: 2, base: 8>);
    type Cpu = unet::backend::Cpu;
    struct Flat(Vec<f32>);
    impl<B: Backend> ModuleVisitor<B> for Flat {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
            self.0.extend(param.val().into_data().iter::<f32>());
        }
    }
    let bytes = std::fs::read(path).unwrap();
    let device = Default::default();
    let record = unet::train::checkpoint::decode::<Cpu, _>(bytes, &device).unwrap();
    let model = Tiny::<Cpu>::new(&device).load_record(record);
    let mut flat = Flat(Vec::new());
    model.visit(&mut flat);
    flat.0
}

fn relative_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm).sqrt()
}

#[test]
fn two_nodes_on_loopback_train_the_weights_one_process_trains_on_their_union() {
    let dir = scratch("nodes");
    let run = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["--model", "tiny", "--epochs", "2", "--epoch-size", "32"];
        args.extend(["--synthetic-count", "32", "--seed", "5", "--workers", "0"]);
        args.extend(extra);
        args.into_iter().map(String::from).collect()
    };
    let two = dir.join("two");
    let address = free_address();
    let args = run(&["--batch", "4", "--node-timeout", "60"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let member = node(1, &address, &dir, &args);
    let mut lead = args.clone();
    lead.extend(["--out", two.to_str().unwrap()]);
    let coordinator = node(0, &address, &dir, &lead);
    let (coordinator, member) = (
        coordinator.wait_with_output().unwrap(),
        member.wait_with_output().unwrap(),
    );
    assert!(coordinator.status.success(), "{:?}", text(&coordinator));
    // Node 1 ends well only if every epoch's weights matched node 0's, bit for bit (the
    // nodes compare fingerprints of their weights after each epoch).
    assert!(member.status.success(), "{:?}", text(&member));
    assert!(text(&member).0.contains("node 1 of 2: done"));
    let config = std::fs::read_to_string(two.join("config.json")).unwrap();
    assert!(config.contains(r#""strategy": "nodes""#), "{config}");
    let written: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(
        written.len(),
        1,
        "node 1 wrote nothing in the folder both ran in"
    );

    let one = dir.join("one");
    let args = run(&["--batch", "8", "--out", one.to_str().unwrap()]);
    let args: Vec<&str> = std::iter::once("train")
        .chain(args.iter().map(String::as_str))
        .collect();
    let alone = unet(&args);
    assert!(alone.status.success(), "{:?}", text(&alone));
    let (two, one) = (
        tiny_weights(&two.join("last.mpk")),
        tiny_weights(&one.join("last.mpk")),
    );
    let error = relative_l2(&two, &one);
    assert!(error < 1e-5, "relative L2 {error}");
    // The second epoch alone moved the weights far more than that.
    let start = tiny_weights(&dir.join("two/checkpoint/model-1.mpk"));
    assert!(relative_l2(&start, &one) > 1e-3);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_node_that_dies_ends_the_other_with_an_error_within_the_time_limit() {
    use std::io::BufRead;
    let args = [
        "--model",
        "tiny",
        "--epochs",
        "1000",
        "--epoch-size",
        "64",
        "--workers",
        "0",
        "--synthetic-count",
        "32",
        "--batch",
        "2",
        "--node-timeout",
        "30",
    ];
    let dir = scratch("node-dies");
    for dies in [1, 0] {
        let address = free_address();
        let out = dir.join(format!("run-{dies}"));
        let mut lead = args.to_vec();
        lead.extend(["--out", out.to_str().unwrap()]);
        let mut nodes = [
            node(0, &address, &dir, &lead),
            node(1, &address, &dir, &args),
        ];
        // Once node 0 has printed its first epoch, both are training.
        let stdout = nodes[0].stdout.take().unwrap();
        let mut lines = std::io::BufReader::new(stdout).lines();
        assert!(lines.any(|l| l.is_ok_and(|l| l.starts_with("epoch 1/"))));
        nodes[dies].kill().unwrap();
        let started = std::time::Instant::now();
        let [first, second] = nodes;
        let (mut dead, survivor) = if dies == 0 {
            (first, second)
        } else {
            (second, first)
        };
        let survivor = survivor.wait_with_output().unwrap();
        let (_, stderr) = text(&survivor);
        assert!(!survivor.status.success());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{:?}",
            started.elapsed()
        );
        assert!(
            stderr.contains(&format!("lost node {dies} while")),
            "{stderr}"
        );
        dead.wait().unwrap();
    }
    std::fs::remove_dir_all(&dir).ok();
}
