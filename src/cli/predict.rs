//! `predict`: masks (and overlays) for images of any size, by overlap-tile inference.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use clap::Args;

use super::{shown, with_backend, BackendArgs, Family};
use crate::data::{self, Mask, Targets};
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
    /// Output folder for `<name>.png` masks (created if missing); for a multi-label model,
    /// `<label>/<name>.png`, one 0/255 mask per label.
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

/// The labels of the checkpoint's run when it was multi-label (its `config.json`).
pub(super) fn run_labels(checkpoint_path: &Path) -> Option<Vec<String>> {
    let file = checkpoint::resolve(checkpoint_path).ok()?;
    checkpoint::run_config(&file)?.labels
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
    let labels = run_labels(&args.checkpoint);
    if let Some(name) = labels.iter().flatten().find(|l| !one_folder(l)) {
        bail!(
            "the checkpoint's run names a label {name:?}, which is no folder name: fix `labels` in its config.json"
        );
    }
    let targets = Targets::of_labels(labels.as_ref());
    let outputs = Outputs {
        folder: &args.output,
        labels: labels.as_deref(),
        overlay: args.overlay,
        overwrite: args.overwrite,
    };
    let plan = output_plan(&paths, &outputs)?;
    // Every input is decoded once before anything is written, so a bad file leaves no partial
    // output; below each is decoded again, segmented and written before the next, so memory
    // holds one image and its mask, not the folder.
    for path in &paths {
        data::load_image(path, N::IN_CHANNELS)?;
    }
    let net: N = checkpoint::load_network(&args.checkpoint, device)?;
    crate::fsio::create_dir_durable(&args.output).with_context(|| shown(&args.output))?;
    for name in labels.iter().flatten() {
        let folder = args.output.join(name);
        crate::fsio::create_dir_durable(&folder).with_context(|| shown(&folder))?;
    }
    let classes = N::CLASSES.max(2);
    let tta = Tta::mirror_if(args.tta);
    for target in &plan {
        let image = data::load_image(&target.input, N::IN_CHANNELS)?;
        let mask = segment::segment_as::<B, N>(&net, &image, &spec, tta, targets, device)
            .with_context(|| shown(&target.input))?;
        if labels.is_some() {
            for (k, path) in target.masks.iter().enumerate() {
                let plane = Mask::new(mask.height, mask.width, data::label_plane(&mask.data, k));
                atomic_write(path, &mask_to_png(&plane, 2)).with_context(|| shown(path))?;
            }
        } else {
            for path in &target.masks {
                atomic_write(path, &mask_to_png(&mask, classes)).with_context(|| shown(path))?;
            }
        }
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

/// Whether `name` is one folder's name: no separator, not `.` or `..`.
fn one_folder(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(std::path::Component::Normal(_)), None)
    )
}

/// The files one input becomes.
struct Target {
    input: PathBuf,
    /// Its mask, or one mask per label.
    masks: Vec<PathBuf>,
    overlay: Option<PathBuf>,
}

/// What `predict` writes, and where.
struct Outputs<'a> {
    /// The output folder.
    folder: &'a Path,
    /// A multi-label model's labels: one subfolder of masks each.
    labels: Option<&'a [String]>,
    overlay: bool,
    overwrite: bool,
}

/// Where each input's masks (and overlay) go, refused before anything is written when the
/// output folder is or holds an input, two inputs would write one file, or a file would be
/// replaced without `overwrite`.
fn output_plan(inputs: &[PathBuf], outputs: &Outputs) -> anyhow::Result<Vec<Target>> {
    let (output, overlay, overwrite) = (outputs.folder, outputs.overlay, outputs.overwrite);
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
        let file = format!("{stem}.png");
        let masks = match outputs.labels {
            Some(labels) => labels.iter().map(|l| output.join(l).join(&file)).collect(),
            None => vec![output.join(&file)],
        };
        let overlay = overlay.then(|| output.join(format!("{stem}_overlay.png")));
        for file in masks.iter().chain(&overlay) {
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
            masks,
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
