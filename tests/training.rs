//! The library's training loop end to end on networks declared here: a network with every
//! block learns the shapes, and two devices train like one with their batches together.
//!
//! A test binary of its own: training sets the seed of the backend's random generator, which is
//! global, so beside tests that draw random masks (dropout in `variants.rs`) it would make
//! their draws repeat.

use unet::backend::CpuAutodiff;
use unet::prelude::*;

/// Runs `f` on a thread with 64 MiB of stack: unoptimised, this test crate's generated
/// forward and backward passes and the loop need more than a test thread's 2 MiB.
///
/// Runs take turns: each sets the seed of burn's global generator, and another run's seed landing
/// between a run's initialisation and its draws would change its weights.
fn on_a_big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    static TURNS: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = TURNS.lock().unwrap_or_else(|p| p.into_inner());
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

unet!(Trainable<depth: 2, base: 8, norm: batch, act: leaky_relu, attention: gate,
      deep_supervision: 1, dropout: { bottleneck: 0.2, blocks: 0.05 }>);

#[test]
fn a_network_with_norms_attention_dropout_and_deep_supervision_learns_the_shapes() {
    use unet::train::{LossKind, TrainConfig, Training};
    let config = TrainConfig::new("trainable")
        .with_seed(7)
        .with_crop(32)
        .with_lr(3e-3)
        .with_loss(Some(LossKind::Bce))
        .with_epoch_size(256)
        .with_workers(1);
    let dir = std::env::temp_dir().join(format!("unet-variants-train-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let train = unet::data::synthetic::generate(1, 64, 32, 1);
    let valid = unet::data::synthetic::generate(2, 16, 32, 1);
    let run_dir = dir.clone();
    let summary = on_a_big_stack(move || {
        Training::<CpuAutodiff>::new(config, &run_dir).fit::<Trainable<CpuAutodiff>>(train, valid)
    })
    .unwrap();
    let rows = &summary.rows;
    println!("{rows:?}");
    assert_eq!(rows.len(), 3);
    assert!(rows[2].train_loss < rows[0].train_loss, "{rows:?}");
    // Three short epochs on 32x32 shapes: clearly better than predicting all background.
    assert!(rows[2].dice > 0.9, "{rows:?}");
    assert!(dir.join("best.mpk").exists());
    std::fs::remove_dir_all(&dir).ok();
}

unet!(TwoDevices<depth: 2, base: 4>);

/// One epoch of `TwoDevices` with `devices` flex devices of `batch` images each, into a fresh
/// folder; the validation loss of that epoch.
fn valid_loss_after_one_epoch(devices: usize, batch: usize) -> f64 {
    use unet::train::{TrainConfig, Training};
    let config = TrainConfig::new("two-devices")
        .with_epochs(1)
        .with_crop(32)
        .with_batch(batch)
        .with_epoch_size(32)
        .with_flip(false)
        .with_workers(0);
    let dir = std::env::temp_dir().join(format!(
        "unet-variants-devices-{}-{devices}-{batch}",
        std::process::id()
    ));
    std::fs::remove_dir_all(&dir).ok();
    let train = unet::data::synthetic::generate(3, 32, 32, 1);
    let valid = unet::data::synthetic::generate(4, 8, 32, 1);
    let run_dir = dir.clone();
    let summary = on_a_big_stack(move || {
        Training::<CpuAutodiff>::new(config, &run_dir)
            .devices(vec![Default::default(); devices])
            .fit::<TwoDevices<CpuAutodiff>>(train, valid)
    })
    .unwrap();
    // The run records the strategy that spread its steps.
    let saved = std::fs::read_to_string(dir.join("config.json")).unwrap();
    let strategy = if devices > 1 {
        "multi_device"
    } else {
        "one_device"
    };
    assert!(
        saved.contains(&format!(r#""strategy": "{strategy}""#)),
        "{saved}"
    );
    std::fs::remove_dir_all(&dir).ok();
    summary.rows[0].valid_loss
}

#[test]
fn a_batch_past_the_epoch_on_two_devices_is_one_step_of_the_whole_epoch() {
    // A batch per device of usize::MAX asks for more samples a step than any count can hold:
    // the step takes the whole epoch (on the first device), as one device's step of 32 does.
    let whole = valid_loss_after_one_epoch(1, 32);
    let saturated = valid_loss_after_one_epoch(2, usize::MAX);
    assert!(
        ((whole - saturated) / whole).abs() < 1e-6,
        "one step of 32: {whole}, two devices of usize::MAX: {saturated}"
    );
}

#[test]
fn two_devices_with_half_batches_train_like_one_device_with_the_whole_batch() {
    // Each step gives each device half of the same draws (here both are the one flex
    // device); their gradients are summed, which Adam's update does not see (it is invariant
    // to the gradients' scale but for its epsilon), so the two runs agree up to rounding.
    let one = valid_loss_after_one_epoch(1, 8);
    let two = valid_loss_after_one_epoch(2, 4);
    assert!(
        ((one - two) / one).abs() < 1e-5,
        "one device: {one}, two devices: {two}"
    );
    // The comparison can tell runs apart: one device with the half batch takes twice the
    // steps and ends elsewhere.
    let half = valid_loss_after_one_epoch(1, 4);
    assert!(
        ((one - half) / one).abs() > 1e-3,
        "batch 8: {one}, batch 4: {half}"
    );
}

unet!(Volumes<depth: 2, base: 4, dims: 3, norm: instance, residual: true, up: nearest,
      deep_supervision: 1>);

#[test]
fn a_3d_network_trains_through_the_same_entry_point_and_segments_a_whole_volume() {
    use unet::infer::{segment, tiling::TileSpec, tta::Tta};
    use unet::train::{LossKind, TrainConfig, Training};
    let config = TrainConfig::new("volumes")
        .with_epochs(2)
        .with_seed(5)
        .with_crop(16)
        .with_batch(2)
        .with_lr(1e-2)
        .with_loss(Some(LossKind::BceDice))
        .with_epoch_size(24)
        .with_workers(1);
    let dir = std::env::temp_dir().join(format!("unet-volumes-train-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    // Training volumes larger than the crop (random 16^3 windows), validation whole.
    let train = unet::data::generate_volumes(1, 8, 20, 1);
    let valid = unet::data::generate_volumes(2, 2, 16, 1);
    let test = unet::data::generate_volumes(3, 1, 20, 1).remove(0);
    let run_dir = dir.clone();
    let (summary, mask) = on_a_big_stack(move || {
        // The rank of the run is its second parameter: 5 for volumes (4, the default, for images).
        let summary = Training::<CpuAutodiff, 5>::new(config, &run_dir)
            .fit::<Volumes<CpuAutodiff>>(train, valid)?;
        let device = Default::default();
        let net: Volumes<unet::backend::Cpu> =
            unet::train::checkpoint::load_network(&run_dir.join("best"), &device)
                .expect("the best record loads");
        let spec = TileSpec {
            tile: 16,
            overlap: 4,
            margin: 0,
        };
        let mask = segment::segment_volume(&net, &test.image, &spec, Tta::Mirror, &device).unwrap();
        Ok::<_, unet::train::TrainError>((summary, (mask, test.mask)))
    })
    .unwrap();
    let rows = &summary.rows;
    println!("{rows:?}");
    assert_eq!(rows.len(), 2);
    assert!(rows[1].train_loss < rows[0].train_loss, "{rows:?}");
    assert!(rows[1].dice > 0.8, "{rows:?}");
    assert!(dir.join("samples/epoch-002.png").exists());
    // The whole 20^3 volume, tiled by 16^3 windows: a mask of its size that finds the solids.
    let (predicted, truth) = mask;
    assert_eq!(predicted.size, [20, 20, 20]);
    let agree = predicted
        .data
        .iter()
        .zip(&truth.data)
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        agree as f64 / truth.data.len() as f64 > 0.8,
        "{agree} of 8000 voxels agree"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Records the learning rate of every step.
struct Rates(std::sync::Arc<std::sync::Mutex<Vec<f64>>>);

impl unet::train::Observer for Rates {
    fn observe(&mut self, event: &unet::train::Event<'_>) {
        if let unet::train::Event::Step { lr, .. } = event {
            self.0.lock().unwrap().push(*lr);
        }
    }
}

/// `epochs` epochs of 4 steps of `TwoDevices` under `config`'s recipe, into a fresh folder:
/// the run's summary and every step's learning rate.
fn recipe_run(
    name: &str,
    config: unet::train::TrainConfig,
) -> (unet::train::TrainSummary, Vec<f64>) {
    use unet::train::Training;
    let config = config
        .with_crop(16)
        .with_batch(4)
        .with_epoch_size(16)
        .with_workers(0);
    let dir = std::env::temp_dir().join(format!("unet-recipe-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let train = unet::data::synthetic::generate(5, 16, 16, 1);
    let valid = unet::data::synthetic::generate(6, 4, 16, 1);
    let (run_dir, rates) = (
        dir.clone(),
        std::sync::Arc::new(std::sync::Mutex::new(Vec::new())),
    );
    let observed = Rates(rates.clone());
    let summary = on_a_big_stack(move || {
        Training::<CpuAutodiff>::new(config, &run_dir)
            .observe(observed)
            .fit::<TwoDevices<CpuAutodiff>>(train, valid)
    })
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let rates = rates.lock().unwrap().clone();
    (summary, rates)
}

#[test]
fn each_step_applies_the_scheduled_rate_and_every_optimizer_trains() {
    use unet::train::{Choice, OptimizerKind, Schedule, TrainConfig};
    let config = TrainConfig::new("two-devices")
        .with_epochs(2)
        .with_lr(2e-3)
        .with_schedule(Schedule::Cosine)
        .with_warmup(0.25);
    let (summary, rates) = recipe_run("cosine", config.clone());
    // 8 steps: the first two warm up from 0, the other six follow half a cosine.
    let expected: Vec<f64> = (0..8).map(|k| config.lr_at(k as f64 / 8.0)).collect();
    assert_eq!(rates, expected);
    assert_eq!(rates[0], 0.0);
    assert!(
        (rates[2] - 2e-3).abs() < 1e-15 && rates[7] < rates[3],
        "{rates:?}"
    );
    assert_eq!(summary.rows.len(), 2);
    for optimizer in [OptimizerKind::AdamW, OptimizerKind::Sgd] {
        let config = TrainConfig::new("two-devices")
            .with_epochs(2)
            .with_optimizer(optimizer)
            .with_lr(optimizer.default_lr())
            .with_schedule(Schedule::Poly)
            .with_weight_decay(Some(1e-4));
        let (summary, rates) = recipe_run(optimizer.name(), config);
        let rows = &summary.rows;
        assert!(
            rows[1].train_loss < rows[0].train_loss,
            "{optimizer:?}: {rows:?}"
        );
        assert_eq!(rates[0], optimizer.default_lr());
    }
}

#[test]
fn early_stopping_ends_the_run_once_the_dice_stops_improving() {
    use unet::train::TrainConfig;
    // A rate too small to move an f32 weight: every epoch validates the same weights, so
    // the first epoch stays the best and patience 2 ends the run after the third.
    let config = TrainConfig::new("two-devices")
        .with_epochs(6)
        .with_lr(1e-30)
        .with_patience(Some(2));
    let (summary, _) = recipe_run("patience", config);
    assert!(summary.stopped_early);
    assert_eq!(summary.rows.len(), 3, "{:?}", summary.rows);
    assert_eq!(summary.best().unwrap().epoch, 1);
}

unet!(TwoLabels<depth: 2, base: 8, classes: 2>);

/// The synthetic shapes with a second label on each shape's rim (shape pixels beside a
/// background pixel): two labels that overlap, as bits 0 and 1 of the masks.
fn shapes_and_rims(seed: u64, count: usize) -> Vec<unet::data::Sample> {
    let mut samples = unet::data::synthetic::generate(seed, count, 32, 1);
    for sample in &mut samples {
        let mask = sample.mask.clone();
        let (h, w) = (mask.height, mask.width);
        let background = |y: usize, x: usize| mask.get(y, x) == 0;
        for y in 0..h {
            for x in 0..w {
                let rim = !background(y, x)
                    && ((y > 0 && background(y - 1, x))
                        || (y + 1 < h && background(y + 1, x))
                        || (x > 0 && background(y, x - 1))
                        || (x + 1 < w && background(y, x + 1)));
                sample.mask.set(y, x, mask.get(y, x) | u8::from(rim) << 1);
            }
        }
    }
    samples
}

#[test]
fn a_multi_label_network_learns_two_overlapping_labels_with_one_sigmoid_each() {
    use unet::train::{TrainConfig, Training};
    let config = TrainConfig::new("two-labels")
        .with_seed(3)
        .with_crop(32)
        .with_lr(3e-3)
        .with_epochs(8)
        .with_labels(Some(vec!["shape".into(), "rim".into()]))
        .with_epoch_size(256)
        .with_workers(1);
    let loss = config.loss_for(2);
    assert_eq!(loss.targets, unet::data::Targets::Labels);
    let dir = std::env::temp_dir().join(format!("unet-multi-label-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let (train, valid) = (shapes_and_rims(1, 64), shapes_and_rims(2, 16));
    let run_dir = dir.clone();
    let summary = on_a_big_stack(move || {
        Training::<CpuAutodiff>::new(config, &run_dir).fit::<TwoLabels<CpuAutodiff>>(train, valid)
    })
    .unwrap();
    let rows = &summary.rows;
    println!("{rows:?}");
    assert_eq!(rows.len(), 8);
    assert!(rows[7].train_loss < rows[0].train_loss / 4.0, "{rows:?}");
    // The mean of the two labels' foreground Dice (the rim, one pixel wide, is the harder):
    // a label left unlearnt would hold it at 0.5 or below.
    assert!(rows[7].dice > 0.9, "{rows:?}");
    let saved = std::fs::read_to_string(dir.join("config.json")).unwrap();
    assert!(saved.contains("\"rim\""), "{saved}");
    std::fs::remove_dir_all(&dir).ok();
}
