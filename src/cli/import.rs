//! `unet import`: PyTorch weights (the seeds' key names) into a run folder that `eval` and
//! `predict` use like a trained one.

use std::path::PathBuf;

use clap::Args;
use unet::burn::tensor::backend::Backend;
use unet::infer::imaging::atomic_write;
use unet::train::{checkpoint, LossKind, TrainConfig};
use unet::Network;

use super::models::with_model;
use super::{default_run_dir, shown, CliError};

/// Side of the synthetic images `eval` draws for an imported run (plus the model's margin).
const CROP: usize = 64;

/// Options of `unet import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Model name (see `unet models`); its architecture must be the file's.
    #[arg(long)]
    model: String,
    /// PyTorch weights: a `.pt`/`.pth` state dict or a `.safetensors` file.
    #[arg(long)]
    from: PathBuf,
    /// Run folder to create [default: runs/<model>-<file name>].
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Problems shown in the one-line error of a file that does not fit the model.
const SHOWN_PROBLEMS: usize = 8;

/// A mismatch lists one problem per line; the CLI reports one line: the first problems
/// joined, and how many more there are.
fn one_line(e: &unet::interop::InteropError) -> CliError {
    let text = e.to_string();
    let mut lines = text.lines().map(str::trim);
    let mut line = lines.next().unwrap_or_default().to_string();
    let rest: Vec<&str> = lines.collect();
    if !rest.is_empty() {
        line.push(' ');
        line.push_str(&rest[..rest.len().min(SHOWN_PROBLEMS)].join("; "));
        if rest.len() > SHOWN_PROBLEMS {
            line.push_str(&format!("; ... and {} more", rest.len() - SHOWN_PROBLEMS));
        }
    }
    CliError(line)
}

/// Runs `unet import`.
pub fn run(args: &ImportArgs) -> Result<(), CliError> {
    with_model!(args.model.as_str(), N => import::<unet::backend::Cpu, N<unet::backend::Cpu>>(args))
}

fn import<B: Backend, N: Network<B>>(args: &ImportArgs) -> Result<(), CliError> {
    let run_dir = args.out.clone().unwrap_or_else(|| {
        let stem = args.from.file_stem().unwrap_or(args.from.as_os_str());
        default_run_dir(&args.model, &stem.to_string_lossy())
    });
    let config_path = run_dir.join("config.json");
    if config_path.exists() {
        return Err(CliError(format!(
            "{} already holds a run: pass another --out",
            shown(&run_dir)
        )));
    }
    let device = Default::default();
    let net: N =
        unet::interop::load_pytorch::<B, N>(&args.from, &device).map_err(|e| one_line(&e))?;
    std::fs::create_dir_all(&run_dir)
        .map_err(|e| CliError(format!("cannot create {}: {e}", shown(&run_dir))))?;
    let best = checkpoint::save_network(&net, &run_dir.join("best"))?;
    checkpoint::save_network(&net, &run_dir.join("last"))?;
    let config = TrainConfig {
        model: args.model.clone(),
        data: format!("imported:{}", args.from.display()),
        seed: 0,
        epochs: 0,
        minutes: None,
        batch: 8,
        crop: N::fitting_size(CROP + N::MARGIN),
        lr: 1e-3,
        loss: LossKind::default_for(N::CLASSES),
        val_split: 0.2,
        flip: true,
        elastic: false,
        epoch_size: 0,
        workers: 2,
    };
    // Written last: a folder with `config.json` is a complete run.
    atomic_write(&config_path, config.to_json().as_bytes())
        .map_err(|e| CliError(format!("writing {}: {e}", shown(&config_path))))?;
    println!(
        "imported {} ({} parameters) from {} into {}",
        args.model,
        unet::group_thousands(N::PARAMS),
        shown(&args.from),
        shown(&best)
    );
    Ok(())
}
