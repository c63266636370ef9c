//! `eval`: pixel accuracy, Dice and IoU of a checkpoint on a folder or synthetic images, and
//! the means of per-image scores (Dice, boundary F1, HD95, V_rand, V_info).

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;

use super::predict::tile_spec;
use super::{with_backend, BackendArgs, Family};
use crate::data::{self, MaskMode, MaskSpec, Sample, Targets};
use crate::infer::metrics::{Confusion, EvalReport};
use crate::infer::scores::ImageScores;
use crate::infer::segment;
use crate::infer::tta::Tta;
use crate::train::checkpoint;
use crate::Network;

/// Options of `unet eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Checkpoint: `runs/NAME/best` (or `.../best.mpk`).
    #[arg(long)]
    pub(super) checkpoint: PathBuf,
    /// `synthetic` (freshly generated shapes) or a folder with `image/` and `label/`.
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// Seed of the synthetic images.
    #[arg(long, default_value_t = 4242)]
    seed: u64,
    /// Number of synthetic images.
    #[arg(long, default_value_t = 128)]
    count: usize,
    /// Side of the synthetic images [default: the run's crop size, else 64].
    #[arg(long)]
    size: Option<usize>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Tile side for overlap-tile inference [default: near 256].
    #[arg(long)]
    tile: Option<usize>,
    /// Overlap between neighbouring tiles' outputs, in pixels.
    #[arg(long, default_value_t = 32)]
    overlap: usize,
    /// Test-time augmentation: average the logits over every mirroring of each tile (4
    /// forward passes per tile).
    #[arg(long)]
    tta: bool,
    /// A mask value whose pixels count in no score [default: the run's --ignore-label].
    #[arg(long)]
    ignore_label: Option<u16>,
    /// Model name, when the checkpoint's run folder has no `config.json`.
    #[arg(long)]
    pub(super) model: Option<String>,
    #[command(flatten)]
    backend: BackendArgs,
}

/// Runs `eval` for the network family `F`.
pub(super) fn run<F: Family>(args: &EvalArgs) -> anyhow::Result<()> {
    with_backend!(&args.backend, B, devices => eval::<B, F::Net<B>>(args, &devices[0]))
}

fn samples(
    args: &EvalArgs,
    channels: usize,
    classes: usize,
    labels: Option<&[String]>,
) -> anyhow::Result<Vec<Sample>> {
    if args.data == "synthetic" {
        if labels.is_some() {
            bail!("--data synthetic: the checkpoint's run is multi-label, and synthetic masks are classes: pass a folder with one mask folder per label");
        }
        let run = checkpoint::resolve(&args.checkpoint)
            .ok()
            .and_then(|f| checkpoint::run_config(&f));
        let size = args
            .size
            .or(run.filter(|c| c.data == "synthetic").map(|c| c.crop))
            .unwrap_or(64);
        if args.count == 0 || size < 8 {
            bail!("--count must be at least 1 and --size at least 8");
        }
        super::synthetic_fits(
            args.count,
            size,
            channels,
            &format!("--count {} at --size {size}", args.count),
        )?;
        return Ok(data::generate(args.seed, args.count, size, channels));
    }
    let ignore = args.ignore_label.or_else(|| {
        checkpoint::resolve(&args.checkpoint)
            .ok()
            .and_then(|f| checkpoint::run_config(&f))
            .and_then(|c| c.ignore_label)
    });
    let mode = MaskMode::for_targets(classes, Targets::of_labels(labels));
    let masks = MaskSpec::from(mode).with_ignore(ignore);
    let folder = data::read_folder(std::path::Path::new(&args.data), channels, masks)?;
    if let Some(labels) = labels.filter(|l| *l != folder.labels.as_slice()) {
        bail!(
            "--data {}: label/ holds the labels {:?}, and the checkpoint was trained on {labels:?}",
            args.data,
            folder.labels
        );
    }
    for note in &folder.notes {
        eprintln!("note: {note}");
    }
    Ok(folder.samples)
}

fn eval<B: crate::burn::tensor::backend::Backend, N: Network<B>>(
    args: &EvalArgs,
    device: &B::Device,
) -> anyhow::Result<()> {
    let spec = tile_spec::<B, N>(args.tile, args.overlap)?;
    let labels = super::predict::run_labels(&args.checkpoint);
    let targets = Targets::of_labels(labels.as_ref());
    let samples = samples(args, N::IN_CHANNELS, N::CLASSES, labels.as_deref())?;
    let net: N = checkpoint::load_network(&args.checkpoint, device)?;
    let mut confusion = Confusion::for_targets(N::CLASSES, targets);
    let mut scores = Vec::with_capacity(samples.len());
    let tta = Tta::mirror_if(args.tta);
    for sample in &samples {
        let mask = segment::segment_as::<B, N>(&net, &sample.image, &spec, tta, targets, device)
            .with_context(|| sample.name.clone())?;
        confusion.add(&mask.data, &sample.mask.data)?;
        let size = (mask.height, mask.width);
        let truth = &sample.mask.data;
        scores.push(ImageScores::of_targets(
            &mask.data,
            truth,
            size,
            N::CLASSES,
            targets,
        ));
    }
    let report = EvalReport::from_confusion(&confusion, samples.len()).with_image_scores(&scores);
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!(
            "{} images: pixel accuracy {:.4}, Dice {:.4}, IoU {:.4}",
            report.images, report.pixel_accuracy, report.dice, report.iou
        );
        for (k, c) in report.per_class.iter().enumerate() {
            let name = match &labels {
                Some(names) => format!("label {}", names.get(k).map_or("?", String::as_str)),
                None => format!("class {k}"),
            };
            println!("  {name}: Dice {:.4}, IoU {:.4}", c.dice, c.iou);
        }
        if let Some(s) = &report.per_image {
            let hd95 = s.hd95.map_or("-".to_string(), |d| format!("{d:.2} px"));
            println!(
                "  per image: Dice {:.4}, boundary F1 {:.4}, HD95 {hd95}",
                s.dice, s.boundary_f1
            );
            println!(
                "  V_rand {:.4} (split {:.4}, merge {:.4}), V_info {:.4} (split {:.4}, merge {:.4})",
                s.rand.score, s.rand.split, s.rand.merge, s.info.score, s.info.split, s.info.merge
            );
        }
    }
    Ok(())
}
