//! `unet predict`: masks (and overlays) for images of any size, by overlap-tile inference.

use std::path::{Path, PathBuf};

use clap::Args;
use unet::data::{self, Image};
use unet::infer::imaging::{atomic_write, mask_to_png, overlay_png};
use unet::infer::segment;
use unet::infer::tiling::TileSpec;
use unet::train::checkpoint;
use unet::Network;

use super::models::with_model;
use super::{shown, with_backend, BackendArgs, CliError};

/// Options of `unet predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// Checkpoint: `runs/NAME/best` (or `.../best.mpk`).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// An image, or a folder of images.
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder for `<name>.png` masks (created if missing).
    #[arg(long)]
    pub output: PathBuf,
    /// Also write `<name>_overlay.png`: the mask tinted over the image.
    #[arg(long)]
    pub overlay: bool,
    /// Tile side (network input) for overlap-tile inference [default: 256, or the nearest
    /// size the model accepts].
    #[arg(long)]
    pub tile: Option<usize>,
    /// Overlap between neighbouring tiles' outputs, in pixels.
    #[arg(long, default_value_t = 32)]
    pub overlap: usize,
    /// Model name, when the checkpoint's run folder has no `config.json`.
    #[arg(long)]
    pub model: Option<String>,
    #[command(flatten)]
    pub backend: BackendArgs,
}

/// The model a checkpoint was trained as: its run's `config.json`, checked against `--model`.
pub fn model_of(checkpoint_path: &Path, asked: Option<&str>) -> Result<String, CliError> {
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
        (None, None) => Err(CliError(format!(
            "cannot tell which model {} belongs to (no config.json beside it): pass --model",
            shown(&file)
        ))),
    }
}

/// The tile spec for `N`: `--tile` checked against the model, or a default near 256.
pub fn tile_spec<B: unet::burn::tensor::backend::Backend, N: Network<B>>(
    tile: Option<usize>,
    overlap: usize,
) -> Result<TileSpec, CliError> {
    let tile = match tile {
        Some(t) if !N::fits(t) => {
            let (below, above) = unet::geometry::nearest_valid(N::DEPTH, N::PADDING, t);
            let near = unet::geometry::nearest_text(below, above);
            return Err(CliError(format!(
                "--tile {t} does not fit model {}: nearest valid tiles {near}",
                N::NAME
            )));
        }
        Some(t) => t,
        None => segment::default_tile::<B, N>(256),
    };
    let spec = TileSpec {
        tile,
        overlap,
        margin: N::MARGIN,
    };
    spec.validate()
        .map_err(|e| CliError(format!("--tile {tile} --overlap {overlap}: {e}")))?;
    Ok(spec)
}

/// Runs `unet predict`.
pub fn run(args: &PredictArgs) -> Result<(), CliError> {
    let model = model_of(&args.checkpoint, args.model.as_deref())?;
    with_model!(model.as_str(), N => with_backend!(&args.backend, B, devices => predict::<B, N<B>>(args, &devices[0])))
}

fn predict<B: unet::burn::tensor::backend::Backend, N: Network<B>>(
    args: &PredictArgs,
    device: &B::Device,
) -> Result<(), CliError> {
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
        let mask = segment::segment::<B, N>(&net, image, &spec, device)
            .map_err(|e| CliError(format!("{}: {e}", shown(path))))?;
        outputs.push((path, image, mask));
    }
    std::fs::create_dir_all(&args.output)
        .map_err(|e| CliError(format!("{}: {e}", shown(&args.output))))?;
    let classes = N::CLASSES.max(2);
    for (path, image, mask) in &outputs {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image".into());
        let target = args.output.join(format!("{stem}.png"));
        atomic_write(&target, &mask_to_png(mask, classes))
            .map_err(|e| CliError(format!("{}: {e}", shown(&target))))?;
        if args.overlay {
            let target = args.output.join(format!("{stem}_overlay.png"));
            atomic_write(&target, &overlay_png(image, mask))
                .map_err(|e| CliError(format!("{}: {e}", shown(&target))))?;
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
