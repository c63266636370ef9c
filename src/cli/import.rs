//! `import`: PyTorch weights into a run folder that `eval` and `predict` use like a trained
//! one.

use std::path::PathBuf;

use anyhow::{anyhow, Context};
use clap::Args;

use super::{default_run_dir, shown, Family};
use crate::burn::tensor::backend::Backend;
use crate::fsio::atomic_write;
use crate::train::{checkpoint, Occupant, TrainConfig, TrainError};
use crate::Network;

/// Side of the synthetic images `eval` draws for an imported run (plus the model's margin).
const CROP: usize = 64;

/// Options of `unet import`.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Model name (see `unet models`); its architecture must be the file's.
    #[arg(long)]
    pub(super) model: String,
    /// PyTorch weights: a `.pt`/`.pth` state dict or a `.safetensors` file.
    #[arg(long)]
    from: PathBuf,
    /// Run folder to create [default: runs/<model>-<file name>]: a new or empty folder.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the run a run folder holds (a folder holding anything else is still refused).
    #[arg(long)]
    force: bool,
}

/// Problems shown in the one-line error of a file that does not fit the model.
const SHOWN_PROBLEMS: usize = 8;

/// A mismatch lists one problem per line; the CLI reports one line: the first problems
/// joined, and how many more there are.
fn one_line(e: &crate::interop::InteropError) -> anyhow::Error {
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
    anyhow!(line)
}

/// Runs `import` for the network family `F` registered as `name`.
pub(super) fn run<F: Family>(args: &ImportArgs, name: &str) -> anyhow::Result<()> {
    type Cpu = crate::backend::Cpu;
    import::<Cpu, F::Net<Cpu>>(args, name)
}

fn import<B: Backend, N: Network<B>>(args: &ImportArgs, name: &str) -> anyhow::Result<()> {
    let run_dir = args.out.clone().unwrap_or_else(|| {
        let stem = args.from.file_stem().unwrap_or(args.from.as_os_str());
        default_run_dir(name, &stem.to_string_lossy())
    });
    let config_path = run_dir.join("config.json");
    let occupant = crate::train::claim(&run_dir, false, args.force).map_err(|e| match e {
        TrainError::NotARunFolder { dir, found } => anyhow!(
            "--out {} holds {}, which is not a file of a run: pass a new or empty folder",
            shown(&dir),
            shown(&found)
        ),
        TrainError::RunExists { dir } => anyhow!(
            "--out {} already holds a run: pass --force to replace it, or another --out",
            shown(&dir)
        ),
        other => other.into(),
    })?;
    let device = Default::default();
    let net: N =
        crate::interop::load_pytorch::<B, N, 4>(&args.from, &device).map_err(|e| one_line(&e))?;
    // Only once the weights are read: a file that does not fit leaves the old run as it was.
    if occupant == Occupant::Run {
        crate::train::clear_run(&run_dir)?;
    }
    std::fs::create_dir_all(&run_dir)
        .with_context(|| format!("cannot create {}", shown(&run_dir)))?;
    let best = checkpoint::save_network(&net, &run_dir.join("best"))?;
    checkpoint::save_network(&net, &run_dir.join("last"))?;
    let config = TrainConfig::new(name)
        .with_data(format!("imported:{}", args.from.display()))
        .with_seed(0)
        .with_crop(N::fitting_size(CROP + N::MARGIN));
    // Written last: a folder with `config.json` is a complete run.
    atomic_write(&config_path, config.to_json().as_bytes())
        .with_context(|| format!("writing {}", shown(&config_path)))?;
    println!(
        "imported {} ({} parameters) from {} into {}",
        name,
        crate::group_thousands(N::PARAMS),
        shown(&args.from),
        shown(&best)
    );
    Ok(())
}
