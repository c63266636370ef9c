//! Nothing lost, nothing panics: outputs that would replace inputs or other files, resumed runs
//! with bad settings or a truncated checkpoint, Ctrl-C in the middle of an epoch, and command
//! lines generated at random.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;

use super::{assert_one_line_error, copy_dir, scratch, text, trained, unet, write_png};

/// Every file under `dir` with its bytes, sorted: what "unchanged" is compared by.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

/// A folder of two small gray images.
fn images(name: &str) -> PathBuf {
    let dir = scratch(name).join("images");
    write_png(&dir.join("a.png"), 24, 20, 90);
    write_png(&dir.join("b.png"), 20, 24, 160);
    dir
}

fn predict(input: &Path, output: &Path, extra: &[&str]) -> std::process::Output {
    let checkpoint = trained().join("best");
    let mut args = vec![
        "predict",
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    unet(&args)
}

#[test]
fn predict_into_the_folder_of_its_inputs_is_refused_and_the_inputs_stay() {
    let input = images("into-inputs");
    let before = contents(&input);
    let out = predict(&input, &input, &[]);
    assert_one_line_error(&out, &["--output", "holds the input", "a.png"]);
    let single = predict(&input.join("a.png"), &input, &[]);
    assert_one_line_error(&single, &["holds the input"]);
    assert_eq!(contents(&input), before);
}

#[test]
fn predict_replaces_existing_masks_only_with_overwrite() {
    let input = images("existing");
    let output = input.parent().unwrap().join("masks");
    std::fs::create_dir_all(&output).unwrap();
    std::fs::write(output.join("b.png"), b"someone's file").unwrap();
    let out = predict(&input, &output, &[]);
    assert_one_line_error(&out, &["b.png", "already exists", "--overwrite"]);
    assert_eq!(
        std::fs::read(output.join("b.png")).unwrap(),
        b"someone's file"
    );
    assert!(
        !output.join("a.png").exists(),
        "a mask was written before the refusal"
    );
    let out = predict(&input, &output, &["--overwrite"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let mask = image::open(output.join("b.png")).unwrap();
    assert_eq!((mask.width(), mask.height()), (20, 24));
}

#[test]
fn two_inputs_that_would_write_one_mask_are_refused_before_anything_is_written() {
    let input = images("one-name");
    std::fs::copy(input.join("a.png"), input.join("a.tif")).unwrap();
    let output = input.parent().unwrap().join("masks");
    let out = predict(&input, &output, &[]);
    assert_one_line_error(&out, &["a.png", "a.tif", "would both be written"]);
    assert!(!output.exists());
}

#[test]
fn training_into_a_folder_holding_other_files_is_refused_and_leaves_them() {
    let dir = scratch("foreign-run").join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("metrics.csv"), b"my own table").unwrap();
    std::fs::write(dir.join("best.mpk"), b"my own weights").unwrap();
    let before = contents(&dir);
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--model", "tiny", "--out", dir.to_str().unwrap()];
        args.extend_from_slice(extra);
        unet(&args)
    };
    assert_one_line_error(&train(&[]), &["already holds a run", "--force"]);
    assert_eq!(contents(&dir), before);
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    let before = contents(&dir);
    for extra in [&[][..], &["--force"], &["--resume"]] {
        assert_one_line_error(&train(extra), &["notes.txt", "not a file of a run"]);
        assert_eq!(contents(&dir), before, "{extra:?}");
    }
}

#[test]
fn force_starts_a_run_over_in_the_folder_of_another() {
    let dir = scratch("forced").join("run");
    copy_dir(trained(), &dir);
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--epochs",
        "1",
        "--epoch-size",
        "16",
        "--synthetic-count",
        "16",
        "--force",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(!dir.join("checkpoint/model-2.mpk").exists());
}

#[test]
fn importing_into_a_folder_holding_other_files_is_refused() {
    let dir = scratch("import-foreign").join("run");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("weights.pt"), b"mine").unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/milesial.pt");
    let out = unet(&[
        "import",
        "--model",
        "milesial",
        "--from",
        from.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_one_line_error(&out, &["weights.pt", "not a file of a run"]);
    assert_eq!(std::fs::read(dir.join("weights.pt")).unwrap(), b"mine");
}

#[test]
fn crops_smaller_than_the_default_shapes_train_without_a_panic() {
    let dir = scratch("crop4").join("run");
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--crop",
        "4",
        "--epochs",
        "1",
        "--epoch-size",
        "8",
        "--synthetic-count",
        "8",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert!(dir.join("best.mpk").exists());
}

#[test]
fn a_resumed_run_checks_its_new_settings_before_writing() {
    let dir = scratch("resume-settings").join("run");
    copy_dir(trained(), &dir);
    let before = contents(&dir);
    for (flag, value) in [
        ("--minutes", "inf"),
        ("--minutes", "1e300"),
        ("--epochs", "0"),
    ] {
        let out = unet(&[
            "train",
            "--model",
            "tiny",
            "--resume",
            flag,
            value,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_one_line_error(&out, &[&format!("{flag} ")]);
        assert_eq!(contents(&dir), before, "{flag} {value}");
    }
}

#[test]
fn resume_passes_over_a_truncated_newest_checkpoint_to_the_one_before() {
    let dir = scratch("truncated").join("run");
    copy_dir(trained(), &dir);
    let newest = dir.join("checkpoint/model-2.mpk");
    let bytes = std::fs::read(&newest).unwrap();
    std::fs::write(&newest, &bytes[..bytes.len() / 3]).unwrap();
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
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("skipping the checkpoint of epoch 2"),
        "{stderr}"
    );
    let epochs: Vec<String> = std::fs::read_to_string(dir.join("metrics.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(epochs, ["1", "2", "3"]);
    // Epoch 2 was trained again from epoch 1: its checkpoint is whole now.
    assert_ne!(std::fs::read(&newest).unwrap().len(), bytes.len() / 3);
}

/// The last epoch in a run folder's `metrics.csv`.
fn last_epoch(dir: &Path) -> usize {
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let last = csv.lines().last().unwrap();
    last.split(',').next().unwrap().parse().unwrap()
}

/// `unet train` of many short epochs, with standard output a pipe.
fn long_training(dir: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_unet"))
        .args([
            "train",
            "--model",
            "tiny",
            "--epochs",
            "1000",
            "--epoch-size",
            "64",
            "--synthetic-count",
            "32",
            "--out",
            dir.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start unet")
}

#[cfg(unix)]
#[test]
fn ctrl_c_checkpoints_the_epoch_under_way_and_the_run_resumes_to_the_same_epochs() {
    let dir = scratch("interrupted").join("run");
    let mut child = long_training(&dir);
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // The first finished epoch: training is under way in epoch 2 when the signal comes.
    let first = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("epoch 1/1000: train loss"));
    assert!(first.is_some(), "the run ended before its first epoch");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let rest: Vec<String> = lines.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(130), "{rest:?}\n{stderr}");
    assert!(rest.iter().any(|l| l.contains("--resume")), "{rest:?}");
    let last = last_epoch(&dir);
    assert!(last >= 2, "epoch {last}");
    assert!(dir.join(format!("checkpoint/optim-{last}.mpk")).is_file());

    let target = (last + 2).to_string();
    let out = unet(&[
        "train",
        "--model",
        "tiny",
        "--resume",
        "--epochs",
        &target,
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{:?}", text(&out));
    assert_eq!(last_epoch(&dir), last + 2);
}

/// The values a generated command line draws a flag's value from: valid ones, edge cases and
/// garbage, each bounded so no generated command runs for long.
fn value_of(command: &str, flag: &'static str) -> BoxedStrategy<String> {
    let pick = |values: &'static [&'static str]| {
        proptest::sample::select(values)
            .prop_map(str::to_string)
            .boxed()
    };
    if (command, flag) == ("summary", "--model") {
        // Valid padding's size rules as well as same padding's (a table costs no training).
        return pick(&["paper", "small", "x"]);
    }
    if (command, flag) == ("summary", "--input") {
        return pick(&[
            "572x572",
            "64",
            "570x572",
            "0x4",
            "16x16x16",
            "99999999999x99999999999",
            "18446744073709551615x1",
            "9223372036854775808x572",
            "x",
        ]);
    }
    match flag {
        "--epochs" => pick(&["0", "1", "2", "-1", "x", "", "18446744073709551616"]),
        "--minutes" => pick(&["0", "-1", "nan", "inf", "1e300", "1e-9", "0.002", "x"]),
        "--crop" | "--size" | "--tile" => pick(&[
            "0",
            "1",
            "4",
            "7",
            "16",
            "33",
            "99999999996",
            "18446744073709551615",
            "-3",
            "x",
        ]),
        "--epoch-size" | "--synthetic-count" | "--count" => {
            pick(&["0", "1", "8", "99999999999", "18446744073709551615", "-1"])
        }
        "--batch" => pick(&["0", "1", "3", "99999999999999", "18446744073709551615"]),
        "--lr" => pick(&["nan", "inf", "-1", "0", "1e-3", "1e300", "x"]),
        "--val-split" => pick(&["0", "0.5", "1", "1.5", "nan", "-0.1"]),
        "--workers" => pick(&["0", "1", "65", "18446744073709551615"]),
        "--loss" => pick(&["bce", "ce", "dice", "bce+dice", "x", ""]),
        "--schedule" => pick(&["constant", "cosine", "poly", "step", ""]),
        "--optimizer" => pick(&["adam", "adamw", "sgd", "lamb", ""]),
        "--warmup" | "--weight-decay" if command == "train" => {
            pick(&["0", "0.1", "1", "-0.5", "nan", "inf", "x"])
        }
        "--patience" => pick(&["0", "1", "18446744073709551615", "-1", "x"]),
        "--overlap" => pick(&["0", "4", "999999999", "18446744073709551615", "-1"]),
        "--seed" => pick(&["0", "18446744073709551615", "-1"]),
        "--model" => pick(&["tiny", "small", "milesial", "x", ""]),
        "--backend" => pick(&["cpu", "cuda", "wgpu", "x"]),
        "--ignore-label" => pick(&["0", "255", "65535", "65536", "-1", "x"]),
        "--border-weight" => pick(&["10,5", "10,1e30", "0,1", "-1,5", "1,0", "10", "x"]),
        "--class-weights" => pick(&["1,5", "1", "-1,1", "nan,1", "0,0", "x"]),
        "--repeats" | "--train-repeats" | "--warmup" => pick(&["0", "1", "x"]),
        _ => pick(&[""]),
    }
}

/// The flags of `command` the generator draws from (paths are filled in by [`run_case`]).
fn flags_of(command: &str) -> &'static [&'static str] {
    match command {
        "train" => &[
            "--epochs",
            "--minutes",
            "--crop",
            "--epoch-size",
            "--synthetic-count",
            "--batch",
            "--lr",
            "--val-split",
            "--workers",
            "--loss",
            "--schedule",
            "--optimizer",
            "--warmup",
            "--weight-decay",
            "--patience",
            "--ignore-label",
            "--border-weight",
            "--class-weights",
            "--multi-label",
            "--seed",
            "--model",
            "--no-flip",
            "--elastic",
            "--resume",
            "--force",
            "--data",
        ],
        "predict" | "eval" => &[
            "--tile",
            "--overlap",
            "--model",
            "--overlay",
            "--overwrite",
            "--count",
            "--size",
            "--backend",
            "--ignore-label",
            "--input",
            "--checkpoint",
        ],
        "import" => &["--model", "--from", "--force"],
        "bench" => &["--batch", "--size", "--model", "--repeats", "--warmup"],
        "summary" => &["--model", "--input", "--batch"],
        _ => &["--model"],
    }
}

/// A command and a few of its flags with generated values.
fn command_line() -> impl Strategy<Value = (&'static str, Vec<(&'static str, String)>)> {
    proptest::sample::select(&["train", "predict", "eval", "import", "bench", "summary"][..])
        .prop_flat_map(|command| {
            let flag = proptest::sample::select(flags_of(command))
                .prop_flat_map(move |f| (Just(f), value_of(command, f)));
            (Just(command), proptest::collection::vec(flag, 0..5))
        })
}

/// Runs one generated command line, with the flags every command of its kind needs for a
/// short run, returning its exit code and standard error.
fn run_case(command: &str, flags: &[(&'static str, String)]) -> (Option<i32>, String) {
    let dir = scratch("generated");
    let input = dir.join("images");
    write_png(&input.join("a.png"), 20, 20, 120);
    let paths = |flag: &str, value: &str| -> String {
        let path = match (flag, value) {
            ("--input", "") => input.clone(),
            ("--checkpoint", "") => trained().join("best"),
            ("--from", "") => {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/milesial.pt")
            }
            ("--data", "") => input.clone(),
            _ => return value.to_string(),
        };
        path.to_string_lossy().into_owned()
    };
    let mut args: Vec<String> = vec![command.to_string()];
    let defaults: &[(&str, &str)] = match command {
        "train" => &[
            ("--model", "tiny"),
            ("--epochs", "1"),
            ("--epoch-size", "8"),
            ("--synthetic-count", "8"),
        ],
        "predict" | "eval" => &[("--checkpoint", ""), ("--input", "")],
        "import" => &[("--model", "milesial"), ("--from", "")],
        "bench" => &[("--model", "tiny"), ("--quick", "")],
        _ => &[],
    };
    let given = |flag: &str| flags.iter().any(|(f, _)| *f == flag);
    let mut pairs: Vec<(&str, String)> = defaults
        .iter()
        .filter(|(f, _)| !given(f))
        .map(|(f, v)| (*f, v.to_string()))
        .collect();
    pairs.extend(flags.iter().map(|(f, v)| (*f, v.clone())));
    for (flag, value) in pairs {
        // eval takes no --input; predict takes no --count/--size.
        let skip = match command {
            "eval" => flag == "--input" || flag == "--overlay" || flag == "--overwrite",
            "predict" => flag == "--count" || flag == "--size",
            _ => false,
        };
        if skip {
            continue;
        }
        args.push(flag.to_string());
        let switch = matches!(
            flag,
            "--no-flip"
                | "--elastic"
                | "--resume"
                | "--force"
                | "--overlay"
                | "--overwrite"
                | "--quick"
        );
        if !switch {
            args.push(paths(flag, &value));
        }
    }
    if matches!(command, "train" | "import") {
        args.extend([
            "--out".into(),
            dir.join("run").to_string_lossy().into_owned(),
        ]);
    }
    if command == "predict" {
        args.extend([
            "--output".into(),
            dir.join("masks").to_string_lossy().into_owned(),
        ]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = unet(&refs);
    let stderr = text(&out).1;
    std::fs::remove_dir_all(&dir).ok();
    (out.status.code(), format!("{args:?}\n{stderr}"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 40,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Whatever the command line, the tool succeeds or refuses with exit code 2: never a
    /// panic (101), an abort or a signal.
    #[test]
    fn no_generated_command_line_reaches_a_panic((command, flags) in command_line()) {
        let (code, report) = run_case(command, &flags);
        prop_assert!(matches!(code, Some(0) | Some(2)), "exit {code:?}: {report}");
        prop_assert!(!report.contains("panicked"), "{report}");
    }
}
