//! The training and validation steps every generated network runs under burn's Learner.

use std::sync::Arc;

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Int, Tensor, Transaction};
use burn::train::metric::{Adaptor, ItemLazy, LossInput};
use burn::train::TrainOutput;

use super::batch::SegBatch;
use super::loss::{predict_classes, segmentation_loss};
use crate::data::{Image, Mask};
use crate::infer::metrics::Confusion;
use crate::network::Network;

/// Validation samples kept for the per-epoch picture: image, truth, prediction.
pub type Preview = Vec<(Image, Mask, Mask)>;

/// What a step returns: the loss, the predicted and true classes, and for validation batches
/// the images for the picture. Moved to the CPU lazily by the metric processor.
pub struct SegOutput<B: Backend> {
    /// Mean loss of the batch.
    pub loss: Tensor<B, 1>,
    /// Predicted class per pixel.
    pub predicted: Tensor<B, 3, Int>,
    /// True class per pixel.
    pub targets: Tensor<B, 3, Int>,
    /// Input images, when the batch asked for a preview.
    pub images: Option<Tensor<B, 4>>,
    /// Number of classes the confusion matrix counts (2 for a sigmoid output).
    pub classes: usize,
}

/// [`SegOutput`] on the CPU: the confusion matrix of the batch and its loss.
pub struct SegOutputSync {
    loss: Tensor<burn::backend::Flex, 1>,
    stats: SegStats,
}

/// The per-batch statistics the metrics read.
#[derive(Clone, Debug)]
pub struct SegStats {
    /// Mean loss of the batch.
    pub loss: f64,
    /// Images in the batch.
    pub images: usize,
    /// Pixel confusion matrix of the batch.
    pub confusion: Confusion,
    /// Samples for the picture (validation only).
    pub preview: Arc<Preview>,
}

fn to_u8(values: Vec<i32>) -> Vec<u8> {
    values.into_iter().map(|v| v.clamp(0, 255) as u8).collect()
}

impl<B: Backend> ItemLazy for SegOutput<B> {
    type ItemSync = SegOutputSync;

    fn sync(self) -> SegOutputSync {
        let [n, h, w] = self.targets.dims();
        let mut tx = Transaction::default()
            .register(self.loss)
            .register(self.predicted)
            .register(self.targets);
        if let Some(images) = self.images.clone() {
            tx = tx.register(images);
        }
        let mut data = tx.execute().into_iter();
        let mut next = || data.next().expect("registered tensor");
        let loss_data = next();
        let loss: f64 = loss_data
            .to_vec::<f32>()
            .map(|v| f64::from(v[0]))
            .unwrap_or(f64::NAN);
        let predicted = to_u8(next().convert::<i32>().to_vec().expect("int data"));
        let targets = to_u8(next().convert::<i32>().to_vec().expect("int data"));
        let mut confusion = Confusion::new(self.classes);
        confusion
            .add(&predicted, &targets)
            .expect("predictions and targets share a shape and the class range");
        let preview = match self.images {
            Some(images) => {
                let [_, c, ih, iw] = images.dims();
                let pixels: Vec<f32> = next().convert::<f32>().to_vec().expect("float data");
                (0..n)
                    .map(|i| {
                        let image = Image {
                            channels: c,
                            height: ih,
                            width: iw,
                            data: pixels[i * c * ih * iw..(i + 1) * c * ih * iw].to_vec(),
                        };
                        let truth = Mask {
                            height: h,
                            width: w,
                            data: targets[i * h * w..(i + 1) * h * w].to_vec(),
                        };
                        let pred = Mask {
                            height: h,
                            width: w,
                            data: predicted[i * h * w..(i + 1) * h * w].to_vec(),
                        };
                        (image, truth, pred)
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        let device = Default::default();
        SegOutputSync {
            loss: Tensor::from_floats([loss as f32], &device),
            stats: SegStats {
                loss,
                images: n,
                confusion,
                preview: Arc::new(preview),
            },
        }
    }
}

impl Adaptor<LossInput<burn::backend::Flex>> for SegOutputSync {
    fn adapt(&self) -> LossInput<burn::backend::Flex> {
        LossInput::new(self.loss.clone())
    }
}

impl Adaptor<SegStats> for SegOutputSync {
    fn adapt(&self) -> SegStats {
        self.stats.clone()
    }
}

/// Forward, loss and predictions shared by both steps. The network's output is cropped to the
/// targets with `padding: valid`, so targets are center-cropped to the output here.
fn run<B: Backend, N: Network<B>>(net: &N, batch: SegBatch<B>) -> (Tensor<B, 1>, SegOutput<B>) {
    let (logits, aux) = net
        .forward_deep(batch.images.clone())
        .unwrap_or_else(|e| panic!("training batch does not fit {}: {e}", N::NAME));
    let [_, c, h, w] = logits.dims();
    let [n, th, tw] = batch.targets.dims();
    let targets = if (th, tw) == (h, w) {
        batch.targets
    } else {
        let (top, left) = ((th - h) / 2, (tw - w) / 2);
        batch.targets.slice([0..n, top..top + h, left..left + w])
    };
    let loss = segmentation_loss(batch.loss, logits.clone(), targets.clone());
    let loss = deep_supervision_loss(batch.loss, loss, aux, &targets);
    let images = batch
        .preview
        .then(|| crate::feature::center_crop(batch.images, h, w));
    let output = SegOutput {
        loss: loss.clone(),
        predicted: predict_classes(logits),
        targets,
        images,
        classes: c.max(2),
    };
    (loss, output)
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

/// A training step: forward, loss, backward.
pub fn train_step<B: AutodiffBackend, N: Network<B> + burn::module::AutodiffModule<B>>(
    net: &N,
    batch: SegBatch<B>,
) -> TrainOutput<SegOutput<B>> {
    let (loss, mut output) = run(net, batch);
    output.loss = output.loss.detach();
    TrainOutput::new(net, loss.backward(), output)
}

/// A validation step: forward and loss, no gradients.
pub fn valid_step<B: Backend, N: Network<B>>(net: &N, batch: SegBatch<B>) -> SegOutput<B> {
    run(net, batch).1
}

#[cfg(test)]
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
