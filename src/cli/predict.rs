//! `predict`: masks (and overlays) for images of any size, by overlap-tile inference.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::{shown, with_backend, BackendArgs, Family};
use crate::data;
use crate::fsio::atomic_write;
use crate::infer::imaging::{mask_to_png, overlay_png};
use crate::infer::segment;
use crate::infer::tiling::TileSpec;
use crate::infer::tta::Tta;
use crate::train::checkpoint;
use crate::Network;

/// Options of `unet predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Checkpoint: `runs/NAME/best` (or `.../best.mpk`).
    #[arg(long)]
    pub(super) checkpoint: PathBuf,
    /// An image, or a folder of images.
    #[arg(long)]
    pub(super) input: PathBuf,
    /// Output folder for `<name>.png` masks (created if missing).
    #[arg(long)]
    pub(super) output: PathBuf,
    /// Also write `<name>_overlay.png`: the mask tinted over the image.
    #[arg(long)]
    pub(super) overlay: bool,
    /// Replace masks (and overlays) that already exist in the output folder.
    #[arg(long)]
    pub(super) overwrite: bool,
    /// Tile side (network input) for overlap-tile inference [default: 256, or the nearest
    /// size the model accepts].
    #[arg(long)]
    pub(super) tile: Option<usize>,
    /// Overlap between neighbouring tiles' outputs, in pixels.
    #[arg(long, default_value_t = 32)]
    pub(super) overlap: usize,
    /// Test-time augmentation: average the logits over every mirroring of each tile (4
    /// forward passes per tile).
    #[arg(long)]
    pub(super) tta: bool,
    /// Model name, when the checkpoint's run folder has no `config.json`.
    #[arg(long)]
    pub(super) model: Option<String>,
    #[command(flatten)]
    pub(super) backend: BackendArgs,
}

/// The model a checkpoint was trained as: its run's `config.json`, checked against `--model`.
pub(super) fn model_of(checkpoint_path: &Path, asked: Option<&str>) -> anyhow::Result<String> {
    let file = checkpoint::resolve(checkpoint_path)?;
    match (checkpoint::run_config(&file).map(|c| c.model), asked) {
        (Some(trained), Some(asked)) if trained != asked => {
            Err(checkpoint::CheckpointError::ModelMismatch {
                path: shown(&file),
                trained,
                asked: asked.to_string(),
            }
            .into())
        }
        (Some(trained), _) => Ok(trained),
        (None, Some(asked)) => Ok(asked.to_string()),
        (None, None) => Err(anyhow!(
            "cannot tell which model {} belongs to (no config.json beside it): pass --model",
            shown(&file)
        )),
    }
}

/// The tile spec for `N`: `--tile` checked against the model, or a default near 256.
pub(super) fn tile_spec<B: crate::burn::tensor::backend::Backend, N: Network<B>>(
    tile: Option<usize>,
    overlap: usize,
) -> anyhow::Result<TileSpec> {
    let tile = match tile {
        Some(t) if !N::fits(t) => {
            let (below, above) = crate::geometry::nearest_valid(N::DEPTH, N::PADDING, t);
            let near = crate::geometry::nearest_text(below, above);
            bail!(
                "--tile {t} does not fit model {}: nearest valid tiles {near}",
                N::NAME
            );
        }
        Some(t) => t,
        None => segment::default_tile::<B, N, 4>(256),
    };
    let spec = TileSpec {
        tile,
        overlap,
        margin: N::MARGIN,
    };
    spec.validate()
        .with_context(|| format!("--tile {tile} --overlap {overlap}"))?;
    Ok(spec)
}

/// Runs `predict` for the network family `F`.
pub(super) fn run<F: Family>(args: &PredictArgs) -> anyhow::Result<()> {
    with_backend!(&args.backend, B, devices => predict::<B, F::Net<B>>(args, &devices[0]))
}

fn predict<B: crate::burn::tensor::backend::Backend, N: Network<B>>(
    args: &PredictArgs,
    device: &B::Device,
) -> anyhow::Result<()> {
    let spec = tile_spec::<B, N>(args.tile, args.overlap)?;
    let paths = data::list_images(&args.input)?;
    let plan = output_plan(&paths, &args.output, args.overlay, args.overwrite)?;
    // Every input is decoded once before anything is written, so a bad file leaves no partial
    // output; below each is decoded again, segmented and written before the next, so memory
    // holds one image and its mask, not the folder.
    for path in &paths {
        data::load_image(path, N::IN_CHANNELS)?;
    }
    let net: N = checkpoint::load_network(&args.checkpoint, device)?;
    crate::fsio::create_dir_durable(&args.output).with_context(|| shown(&args.output))?;
    let classes = N::CLASSES.max(2);
    for target in &plan {
        let image = data::load_image(&target.input, N::IN_CHANNELS)?;
        let mask = segment::segment::<B, N>(&net, &image, &spec, Tta::mirror_if(args.tta), device)
            .with_context(|| shown(&target.input))?;
        atomic_write(&target.mask, &mask_to_png(&mask, classes))
            .with_context(|| shown(&target.mask))?;
        if let Some(overlay) = &target.overlay {
            atomic_write(overlay, &overlay_png(&image, &mask)).with_context(|| shown(overlay))?;
        }
    }
    println!(
        "wrote {} mask(s){} to {} (tile {}, overlap {})",
        plan.len(),
        if args.overlay { " and overlays" } else { "" },
        shown(&args.output),
        spec.tile,
        spec.overlap
    );
    Ok(())
}

/// The files one input becomes.
struct Target {
    input: PathBuf,
    mask: PathBuf,
    overlay: Option<PathBuf>,
}

/// Where each input's mask (and overlay) goes, refused before anything is written when the
/// output folder is or holds an input, two inputs would write one file, or a file would be
/// replaced without `overwrite`.
fn output_plan(
    inputs: &[PathBuf],
    output: &Path,
    overlay: bool,
    overwrite: bool,
) -> anyhow::Result<Vec<Target>> {
    if output.exists() && !output.is_dir() {
        bail!("--output {} is a file: pass a folder", shown(output));
    }
    if let Ok(folder) = output.canonicalize() {
        for input in inputs {
            if input.canonicalize().is_ok_and(|i| i.starts_with(&folder)) {
                bail!(
                    "--output {} holds the input {}: write the masks to another folder",
                    shown(output),
                    shown(input)
                );
            }
        }
    }
    let mut plan = Vec::with_capacity(inputs.len());
    let mut sources = std::collections::HashMap::new();
    for input in inputs {
        let stem = input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let mask = output.join(format!("{stem}.png"));
        let overlay = overlay.then(|| output.join(format!("{stem}_overlay.png")));
        for file in std::iter::once(&mask).chain(&overlay) {
            if let Some(other) = sources.insert(file.clone(), input) {
                bail!(
                    "inputs {} and {} would both be written to {}: rename one of them",
                    shown(other),
                    shown(input),
                    shown(file)
                );
            }
        }
        plan.push(Target {
            input: input.clone(),
            mask,
            overlay,
        });
    }
    if !overwrite {
        let mut existing = sources.keys().filter(|f| f.exists()).collect::<Vec<_>>();
        existing.sort();
        if let Some(first) = existing.first() {
            bail!(
                "{} already exists{}: pass --overwrite to replace, or another --output",
                shown(first),
                match existing.len() {
                    1 => String::new(),
                    n => format!(" (and {} more)", n - 1),
                }
            );
        }
    }
    Ok(plan)
}
