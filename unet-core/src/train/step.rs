//! The training and validation steps every network runs in the epoch loop.

use burn::module::AutodiffModule;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, Transaction};

use super::batch::SegBatch;
use super::loss::{predict_classes, segmentation_loss};
use crate::data::{Image, Mask};
use crate::error::ShapeError;
use crate::infer::metrics::{Confusion, MetricsError};
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
}

impl EpochStats {
    /// Empty statistics for a network with `classes` outputs (2 for a sigmoid output).
    pub fn new(classes: usize) -> Self {
        Self {
            loss_sum: 0.0,
            images: 0,
            confusion: Confusion::new(classes.max(2)),
            preview: Vec::new(),
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
fn forward_loss<B: Backend, N: Network<B>>(
    net: &N,
    batch: SegBatch<B>,
) -> Result<Scored<B>, ShapeError> {
    let (logits, aux) = net.forward_deep(batch.images)?;
    let [_, _, h, w] = logits.dims();
    let [n, th, tw] = batch.targets.dims();
    let targets = if (th, tw) == (h, w) {
        batch.targets
    } else {
        let (top, left) = ((th - h) / 2, (tw - w) / 2);
        batch.targets.slice([0..n, top..top + h, left..left + w])
    };
    let loss = segmentation_loss(batch.loss, logits.clone(), targets.clone());
    let loss = deep_supervision_loss(batch.loss, loss, aux, &targets);
    Ok(Scored {
        loss,
        logits,
        targets,
    })
}

/// A batch through the network: its loss, the main logits and the targets they match.
struct Scored<B: Backend> {
    loss: Tensor<B, 1>,
    logits: Tensor<B, 4>,
    targets: Tensor<B, 3, Int>,
}

/// Adds the deep-supervision heads' losses: head `j` (1/2^j size) is up-sampled to the
/// targets' size (nearest) and weighted `1 / 2^j`, nnU-Net's halving weights; the sum is
/// divided by the total weight so the loss stays on the scale of the main head's.
fn deep_supervision_loss<B: Backend>(
    kind: super::loss::LossKind,
    main: Tensor<B, 1>,
    aux: Vec<Tensor<B, 4>>,
    targets: &Tensor<B, 3, Int>,
) -> Tensor<B, 1> {
    if aux.is_empty() {
        return main;
    }
    let [_, h, w] = targets.dims();
    let mut total = main;
    let mut weight = 1.0;
    for (j, logits) in aux.into_iter().enumerate() {
        let scale = 0.5f64.powi(j as i32 + 1);
        let up = burn::tensor::module::interpolate(
            logits,
            [h, w],
            burn::tensor::ops::InterpolateOptions::new(burn::tensor::ops::InterpolateMode::Nearest),
        );
        total = total + segmentation_loss(kind, up, targets.clone()) * scale;
        weight += scale;
    }
    total / weight
}

/// A training step: forward, loss and backward. Returns the batch's mean loss (detached, so
/// reading it can wait until every device has its work queued) and the gradients.
///
/// # Errors
/// The batch does not fit the network.
pub fn train_step<B: AutodiffBackend, N: Network<B> + AutodiffModule<B>>(
    net: &N,
    batch: SegBatch<B>,
) -> Result<(Tensor<B, 1>, B::Gradients), ShapeError> {
    weighted_train_step(net, batch, 1.0)
}

/// [`train_step`] with the gradients of `weight` times the loss: the share of one device's
/// batch in a step's images, so that the devices' gradients add up to the whole batch's.
pub(crate) fn weighted_train_step<B: AutodiffBackend, N: Network<B> + AutodiffModule<B>>(
    net: &N,
    batch: SegBatch<B>,
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
/// to `keep_preview` samples for the picture.
///
/// # Errors
/// The batch does not fit the network, or its classes are out of the network's range.
pub fn valid_step<B: Backend, N: Network<B>>(
    net: &N,
    batch: SegBatch<B>,
    stats: &mut EpochStats,
    keep_preview: usize,
) -> Result<(), StepError> {
    let images = batch.images.clone();
    let Scored {
        loss,
        logits,
        targets,
    } = forward_loss(net, batch)?;
    let [n, h, w] = targets.dims();
    let room = keep_preview.saturating_sub(stats.preview.len()).min(n);
    let mut tx = Transaction::default()
        .register(loss)
        .register(predict_classes(logits))
        .register(targets);
    if room > 0 {
        tx = tx.register(crate::feature::center_crop(images.narrow(0, 0, room), h, w));
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
    if room > 0 {
        let pixels = next()?
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|_| StepError::Readback)?;
        let c = pixels.len() / (room * h * w);
        for i in 0..room {
            let image = Image::new(c, h, w, pixels[i * c * h * w..(i + 1) * c * h * w].to_vec());
            let plane = |v: &[u8]| Mask::new(h, w, v[i * h * w..(i + 1) * h * w].to_vec());
            stats
                .preview
                .push((image, plane(&truth), plane(&predicted)));
        }
    }
    Ok(())
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
    use crate::train::loss::LossKind;
    use burn::backend::Flex;
    use burn::tensor::{Distribution, TensorData};

    type B = Flex;

    fn targets() -> Tensor<B, 3, Int> {
        let data: Vec<i64> = (0..64)
            .map(|i| i64::from((i / 8 + i % 8) % 3 == 0))
            .collect();
        Tensor::from_data(TensorData::new(data, [1, 8, 8]), &Default::default())
    }

    #[test]
    fn without_heads_the_loss_is_the_main_heads() {
        let main = Tensor::<B, 1>::from_floats([0.7], &Default::default());
        let total = deep_supervision_loss(LossKind::Bce, main, Vec::new(), &targets());
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
        let same = deep_supervision_loss(LossKind::Bce, main.clone(), vec![coarse], &t);
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
        let total = deep_supervision_loss(LossKind::Bce, main, vec![h1, h2], &t).into_scalar();
        assert!((total - (l + a / 2.0 + b / 4.0) / 1.75).abs() < 1e-5);
    }
}
