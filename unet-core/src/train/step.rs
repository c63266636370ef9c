//! The training and validation steps every network runs in the epoch loop.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData, Transaction};

use super::batch::SegBatch;
use super::loss::Loss;
use crate::data::{Image, Mask, Targets};
use crate::error::ShapeError;
use crate::infer::metrics::{Confusion, MetricsError};
use crate::infer::scores::ImageScores;
use crate::infer::tta::Tta;
use crate::network::Network;

/// Validation samples kept for the per-epoch picture: image, truth, prediction.
pub type Preview = Vec<(Image, Mask, Mask)>;

/// Exact statistics of one epoch of one split.
#[derive(Clone, Debug)]
pub struct EpochStats {
    /// Sum of the batches' mean losses, weighted by their images.
    loss_sum: f64,
    /// Images seen.
    pub images: usize,
    /// Pixel confusion matrix over the epoch (validation only).
    pub confusion: Confusion,
    /// Validation samples for the picture.
    pub preview: Preview,
    /// Each validation image's own scores (images only; volumes have none).
    pub scores: Vec<ImageScores>,
    /// What the network's outputs mean.
    targets: Targets,
}

impl EpochStats {
    /// Empty statistics for a network with `classes` outputs (2 for a sigmoid output).
    pub fn new(classes: usize) -> Self {
        Self::for_targets(classes, Targets::Classes)
    }

    /// Empty statistics for a network with `channels` outputs that mean `targets`.
    pub fn for_targets(channels: usize, targets: Targets) -> Self {
        Self {
            loss_sum: 0.0,
            images: 0,
            confusion: Confusion::for_targets(channels, targets),
            preview: Vec::new(),
            scores: Vec::new(),
            targets,
        }
    }

    /// Adds a batch's mean loss over `images` images.
    pub fn add_loss(&mut self, loss: f64, images: usize) {
        self.loss_sum += loss * images as f64;
        self.images += images;
    }

    /// Mean loss over images (NaN before the first batch).
    pub fn loss(&self) -> f64 {
        if self.images == 0 {
            f64::NAN
        } else {
            self.loss_sum / self.images as f64
        }
    }
}

/// The logits cropped to the targets' centre, the targets cropped to the logits' size
/// (`padding: valid` networks return less than their input), and the loss with its
/// deep-supervision terms.
fn forward_loss<B: Backend, N: Network<B, D>, const D: usize>(
    net: &N,
    batch: SegBatch<B, D>,
) -> Result<Scored<B, D>, ShapeError> {
    let (logits, aux) = net.forward_deep(batch.images)?;
    let size = logits.dims()[2..].to_vec();
    let targets = crate::feature::center_crop_to(batch.targets, &size);
    let weights = batch
        .weights
        .map(|w| crate::feature::center_crop_to(w, &size));
    let loss = batch
        .loss
        .compute_weighted(logits.clone(), targets.clone(), weights.clone());
    let loss = deep_supervision_loss(&batch.loss, loss, aux, &targets, weights.as_ref());
    Ok(Scored {
        loss,
        logits,
        targets,
    })
}

/// A batch through the network: its loss, the main logits and the targets they match.
struct Scored<B: Backend, const D: usize> {
    loss: Tensor<B, 1>,
    logits: Tensor<B, D>,
    targets: Tensor<B, D, Int>,
}

/// Nearest-neighbour resize of every spatial axis to `size` (the source of output index `o`
/// is `floor(o * have / size)`, as `interpolate`'s nearest mode), for maps and volumes.
fn nearest_resize<B: Backend, const D: usize>(x: Tensor<B, D>, size: &[usize]) -> Tensor<B, D> {
    let mut x = x;
    for (i, &out) in size.iter().enumerate() {
        let axis = i + 2;
        let have = x.dims()[axis];
        if have != out {
            let source: Vec<i64> = (0..out).map(|o| (o * have / out) as i64).collect();
            let source = Tensor::from_data(TensorData::new(source, [out]), &x.device());
            x = x.select(axis, source);
        }
    }
    x
}

/// Adds the deep-supervision heads' losses: head `j` (1/2^j size) is up-sampled to the
/// targets' size (nearest) and weighted `1 / 2^j`, nnU-Net's halving weights; the sum is
/// divided by the total weight so the loss stays on the scale of the main head's.
fn deep_supervision_loss<B: Backend, const D: usize>(
    loss: &Loss,
    main: Tensor<B, 1>,
    aux: Vec<Tensor<B, D>>,
    targets: &Tensor<B, D, Int>,
    weights: Option<&Tensor<B, D>>,
) -> Tensor<B, 1> {
    if aux.is_empty() {
        return main;
    }
    let size = targets.dims()[2..].to_vec();
    let mut total = main;
    let mut weight = 1.0;
    for (j, logits) in aux.into_iter().enumerate() {
        let scale = 0.5f64.powi(j as i32 + 1);
        let up = nearest_resize(logits, &size);
        total = total + loss.compute_weighted(up, targets.clone(), weights.cloned()) * scale;
        weight += scale;
    }
    total / weight
}

/// A training step: forward, loss and backward. Returns the batch's mean loss (detached, so
/// reading it can wait until every device has its work queued) and the gradients.
///
/// # Errors
/// The batch does not fit the network.
pub fn train_step<B: AutodiffBackend, N: Network<B, D> + AutodiffModule<B>, const D: usize>(
    net: &N,
    batch: SegBatch<B, D>,
) -> Result<(Tensor<B, 1>, B::Gradients), ShapeError> {
    weighted_train_step(net, batch, 1.0)
}

/// [`train_step`] with the gradients of `weight` times the loss: the share of one device's
/// batch in a step's images, so that the devices' gradients add up to the whole batch's.
pub(crate) fn weighted_train_step<
    B: AutodiffBackend,
    N: Network<B, D> + AutodiffModule<B>,
    const D: usize,
>(
    net: &N,
    batch: SegBatch<B, D>,
    weight: f64,
) -> Result<(Tensor<B, 1>, B::Gradients), ShapeError> {
    let loss = forward_loss(net, batch)?.loss;
    let value = loss.clone().detach();
    let grads = if weight == 1.0 {
        loss.backward()
    } else {
        (loss * weight).backward()
    };
    Ok((value, grads))
}

/// A scalar tensor's value.
pub(crate) fn scalar<B: Backend>(tensor: Tensor<B, 1>) -> f64 {
    f64::from(tensor.into_scalar().elem::<f32>())
}

fn to_u8(values: Vec<i32>) -> Vec<u8> {
    values.into_iter().map(|v| v.clamp(0, 255) as u8).collect()
}

/// A validation step: forward and loss, no gradients; adds the batch to `stats`, keeping up
/// to `keep_preview` samples for the picture (of a volume, its middle slice). The loss is the
/// plain forward's, the training objective; the predicted classes come from `tta`'s logits.
///
/// # Errors
/// The batch does not fit the network, or its classes are out of the network's range.
pub fn valid_step<B: Backend, N: Network<B, D>, const D: usize>(
    net: &N,
    batch: SegBatch<B, D>,
    tta: Tta,
    stats: &mut EpochStats,
    keep_preview: usize,
) -> Result<(), StepError> {
    let images = batch.images.clone();
    let loss_fn = batch.loss.clone();
    let Scored {
        loss,
        logits,
        targets,
    } = forward_loss(net, batch)?;
    let logits = tta.average_with(net, images.clone(), logits)?;
    let dims = targets.dims();
    let (n, size) = (dims[0], dims[2..].to_vec());
    let room = keep_preview.saturating_sub(stats.preview.len()).min(n);
    let mut tx = Transaction::default()
        .register(loss)
        .register(loss_fn.decide(logits))
        .register(targets);
    if room > 0 {
        tx = tx.register(crate::feature::center_crop_to(
            images.narrow(0, 0, room),
            &size,
        ));
    }
    let mut data = tx.execute().into_iter();
    let mut next = || data.next().ok_or(StepError::Readback);
    let loss = next()?
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|_| StepError::Readback)?;
    let predicted = to_u8(
        next()?
            .convert::<i32>()
            .to_vec()
            .map_err(|_| StepError::Readback)?,
    );
    let truth = to_u8(
        next()?
            .convert::<i32>()
            .to_vec()
            .map_err(|_| StepError::Readback)?,
    );
    stats.add_loss(f64::from(loss[0]), n);
    stats.confusion.add(&predicted, &truth)?;
    if let &[h, w] = size.as_slice() {
        let (channels, targets) = (stats.confusion.classes(), stats.targets);
        let per_image = predicted.chunks_exact(h * w).zip(truth.chunks_exact(h * w));
        let scores =
            per_image.map(|(p, t)| ImageScores::of_targets(p, t, (h, w), channels, targets));
        stats.scores.extend(scores);
    }
    if room > 0 {
        let pixels = next()?
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|_| StepError::Readback)?;
        add_preview(stats, &size, room, &pixels, &truth, &predicted);
    }
    Ok(())
}

/// Keeps the first `room` samples' pictures: for volumes, their middle slice along depth.
fn add_preview(
    stats: &mut EpochStats,
    size: &[usize],
    room: usize,
    pixels: &[f32],
    truth: &[u8],
    predicted: &[u8],
) {
    let (h, w) = (size[size.len() - 2], size[size.len() - 1]);
    let plane = h * w;
    let voxels: usize = size.iter().product();
    let middle = (voxels / plane) / 2 * plane;
    let c = pixels.len() / (room * voxels);
    for i in 0..room {
        let mut image = Image::zeros(c, h, w);
        for ch in 0..c {
            let from = (i * c + ch) * voxels + middle;
            image.data[ch * plane..(ch + 1) * plane].copy_from_slice(&pixels[from..from + plane]);
        }
        let from = i * voxels + middle;
        let slice = |v: &[u8]| Mask::new(h, w, v[from..from + plane].to_vec());
        stats.preview.push((image, slice(truth), slice(predicted)));
    }
}

/// Why a validation step failed.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// The batch does not fit the network.
    #[error(transparent)]
    Shape(#[from] ShapeError),
    /// The targets hold classes the network does not predict.
    #[error(transparent)]
    Classes(#[from] MetricsError),
    /// The backend returned fewer or other tensors than asked for.
    #[error("the backend returned unreadable validation tensors")]
    Readback,
}

#[cfg(all(test, feature = "cpu"))]
mod tests {
    use super::*;
    use crate::train::loss::{segmentation_loss, LossKind};
    use burn::backend::Flex;
    use burn::tensor::Distribution;

    type B = Flex;

    fn targets() -> Tensor<B, 4, Int> {
        let data: Vec<i64> = (0..64)
            .map(|i| i64::from((i / 8 + i % 8) % 3 == 0))
            .collect();
        Tensor::from_data(TensorData::new(data, [1, 1, 8, 8]), &Default::default())
    }

    #[test]
    fn without_heads_the_loss_is_the_main_heads() {
        let main = Tensor::<B, 1>::from_floats([0.7], &Default::default());
        let total =
            deep_supervision_loss(&LossKind::Bce.into(), main, Vec::new(), &targets(), None);
        assert!((total.into_scalar() - 0.7).abs() < 1e-6);
    }

    #[test]
    fn heads_are_weighted_by_halves_and_the_sum_normalised() {
        let device = Default::default();
        let t = targets();
        // A head at 1/2 size that predicts the same everywhere as the main logits...
        let coarse = Tensor::<B, 4>::random([1, 1, 4, 4], Distribution::Normal(0.0, 1.0), &device);
        let fine = burn::tensor::module::interpolate(
            coarse.clone(),
            [8, 8],
            burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Nearest),
        );
        let main = segmentation_loss(LossKind::Bce, fine, t.clone());
        let l = main.clone().into_scalar();
        // ...leaves the loss unchanged: (l + l/2) / 1.5.
        let same =
            deep_supervision_loss(&LossKind::Bce.into(), main.clone(), vec![coarse], &t, None);
        assert!((same.into_scalar() - l).abs() < 1e-5);
        // Two heads with losses a and b: (l + a/2 + b/4) / 1.75.
        let h1 = Tensor::<B, 4>::random([1, 1, 4, 4], Distribution::Normal(0.0, 1.0), &device);
        let h2 = Tensor::<B, 4>::random([1, 1, 2, 2], Distribution::Normal(0.0, 1.0), &device);
        let up = |h: Tensor<B, 4>| {
            burn::tensor::module::interpolate(
                h,
                [8, 8],
                burn::tensor::ops::InterpolateOptions::new(
                    burn::tensor::ops::InterpolateMode::Nearest,
                ),
            )
        };
        let a = segmentation_loss(LossKind::Bce, up(h1.clone()), t.clone()).into_scalar();
        let b = segmentation_loss(LossKind::Bce, up(h2.clone()), t.clone()).into_scalar();
        let total = deep_supervision_loss(&LossKind::Bce.into(), main, vec![h1, h2], &t, None)
            .into_scalar();
        assert!((total - (l + a / 2.0 + b / 4.0) / 1.75).abs() < 1e-5);
    }

    #[test]
    fn nearest_resize_repeats_voxels_as_interpolate_repeats_pixels() {
        let device = Default::default();
        let map = Tensor::<B, 4>::random([1, 2, 3, 5], Distribution::Normal(0.0, 1.0), &device);
        let reference = burn::tensor::module::interpolate(
            map.clone(),
            [7, 10],
            burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Nearest),
        );
        let ours = nearest_resize(map, &[7, 10]);
        assert_eq!(ours.to_data(), reference.to_data());
        // A volume doubled along every axis: voxel (z, y, x) comes from (z/2, y/2, x/2).
        let volume =
            Tensor::<B, 5>::random([1, 1, 2, 3, 2], Distribution::Normal(0.0, 1.0), &device);
        let up = nearest_resize(volume.clone(), &[4, 6, 4])
            .to_data()
            .to_vec::<f32>()
            .unwrap();
        let src = volume.to_data().to_vec::<f32>().unwrap();
        for z in 0..4 {
            for y in 0..6 {
                for x in 0..4 {
                    assert_eq!(
                        up[(z * 6 + y) * 4 + x],
                        src[((z / 2) * 3 + y / 2) * 2 + x / 2]
                    );
                }
            }
        }
    }
}
