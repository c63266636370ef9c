//! `predict`: masks (and overlays) for images of any size, by overlap-tile inference.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::{shown, with_backend, BackendArgs, Family};
use crate::data::{self, Image};
use crate::fsio::atomic_write;
use crate::infer::imaging::{mask_to_png, overlay_png};
use crate::infer::segment;
use crate::infer::tiling::TileSpec;
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
    /// Tile side (network input) for overlap-tile inference [default: 256, or the nearest
    /// size the model accepts].
    #[arg(long)]
    pub(super) tile: Option<usize>,
    /// Overlap between neighbouring tiles' outputs, in pixels.
    #[arg(long, default_value_t = 32)]
    pub(super) overlap: usize,
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
    // Read every input before writing anything, so bad input leaves no partial output.
    let paths = data::list_images(&args.input)?;
    let images: Vec<(PathBuf, Image)> = paths
        .into_iter()
        .map(|p| data::load_image(&p, N::IN_CHANNELS).map(|i| (p, i)))
        .collect::<Result<_, _>>()?;
    let net: N = checkpoint::load_network(&args.checkpoint, device)?;
    let mut outputs = Vec::with_capacity(images.len());
    for (path, image) in &images {
        let mask =
            segment::segment::<B, N>(&net, image, &spec, device).with_context(|| shown(path))?;
        outputs.push((path, image, mask));
    }
    std::fs::create_dir_all(&args.output).with_context(|| shown(&args.output))?;
    let classes = N::CLASSES.max(2);
    for (path, image, mask) in &outputs {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let target = args.output.join(format!("{stem}.png"));
        atomic_write(&target, &mask_to_png(mask, classes)).with_context(|| shown(&target))?;
        if args.overlay {
            let target = args.output.join(format!("{stem}_overlay.png"));
            atomic_write(&target, &overlay_png(image, mask)).with_context(|| shown(&target))?;
        }
    }
    println!(
        "wrote {} mask(s){} to {} (tile {}, overlap {})",
        outputs.len(),
        if args.overlay { " and overlays" } else { "" },
        shown(&args.output),
        spec.tile,
        spec.overlap
    );
    Ok(())
}
