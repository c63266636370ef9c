//! `export`: a checkpoint as an ONNX model, for onnxruntime, TensorRT, OpenVINO or a browser.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use super::{parse_size, shown, Family};
use crate::onnx::{Export, OnnxOptions};
use crate::train::checkpoint;

/// The formats `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(super) enum Format {
    /// An ONNX model (opset 17), with a dynamic batch.
    Onnx,
}

/// Options of `unet export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Checkpoint: `runs/NAME/best` (or `.../best.mpk`).
    #[arg(long)]
    pub(super) checkpoint: PathBuf,
    /// What to write.
    #[arg(long, value_enum, default_value = "onnx")]
    format: Format,
    /// The file to write (its folder is created if missing).
    #[arg(long)]
    out: PathBuf,
    /// A fixed input size, `HEIGHTxWIDTH` or one side [default: the network's declared input;
    /// without one, any size for `padding: same`, which `padding: valid` needs one for].
    #[arg(long, value_parser = parse_size)]
    input: Option<[usize; 2]>,
    /// Also output the deep-supervision heads' logits (`aux1`, ...).
    #[arg(long)]
    aux: bool,
    /// Replace `--out` if it exists.
    #[arg(long)]
    overwrite: bool,
    /// Model name, when the checkpoint's run folder has no `config.json`.
    #[arg(long)]
    pub(super) model: Option<String>,
}

/// Runs `export` for the network family `F` (on the CPU: the graph holds the weights'
/// values, whichever backend trained them).
pub(super) fn run<F: Family>(args: &ExportArgs) -> anyhow::Result<()> {
    type Cpu = crate::backend::Cpu;
    export::<F::Net<Cpu>>(args)
}

fn export<N: Export<crate::backend::Cpu>>(args: &ExportArgs) -> anyhow::Result<()> {
    let Format::Onnx = args.format;
    let source = checkpoint::resolve(&args.checkpoint)?;
    if args.out.exists() {
        let same = std::fs::canonicalize(&args.out).ok() == std::fs::canonicalize(&source).ok();
        if same {
            bail!(
                "--out {} is the checkpoint itself: pass another file",
                shown(&args.out)
            );
        }
        if !args.overwrite {
            bail!(
                "--out {} exists: pass --overwrite to replace it",
                shown(&args.out)
            );
        }
        if args.out.is_dir() {
            bail!("--out {} is a folder: pass a file name", shown(&args.out));
        }
    }
    let net: N = checkpoint::load_network(&source, &Default::default())?;
    let options = OnnxOptions {
        input: args.input.map(|s| s.to_vec()),
        aux: args.aux,
    };
    if let Some(folder) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::fsio::create_dir_durable(folder).with_context(|| shown(folder))?;
    }
    crate::onnx::save_onnx(&net, &args.out, &options)?;
    let size = match options.input.as_deref().or(N::INPUT) {
        Some([h, w]) => format!("{h}, {w}"),
        _ => "height, width".into(),
    };
    println!(
        "exported {} to {} (ONNX opset {}): input `input` [batch, {}, {size}], output `logits` [batch, {}, ...]",
        N::NAME,
        shown(&args.out),
        crate::onnx::OPSET,
        N::IN_CHANNELS,
        N::CLASSES
    );
    Ok(())
}
