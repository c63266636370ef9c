//! The GPU code path run for real: each compiled GPU backend (burn-wgpu, burn-cuda; both run
//! CubeCL's kernels) against flex for several variants, and `unet train` on it.
//!
//! `cargo test --features wgpu --test gpu` needs a wgpu adapter: Mesa's lavapipe (Debian's
//! `mesa-vulkan-drivers`) is a Vulkan device on the CPU. `cargo test --features cuda --test
//! gpu` needs an NVIDIA GPU (`scripts/gpu_check.sh`). Without the device each test says so and
//! passes, unless `UNET_REQUIRE_WGPU` (or `UNET_REQUIRE_CUDA`) is set, as CI sets it for wgpu
//! after installing lavapipe.
#![cfg(any(feature = "wgpu", feature = "cuda"))]

use std::process::{Command, Output};

use unet::backend::Cpu;
use unet::burn::module::Module;
use unet::burn::tensor::backend::Backend;
use unet::burn::tensor::{Distribution, Tensor};
use unet::train::checkpoint;
use unet::{unet, Network};

#[path = "onnx/jitter.rs"]
mod jitter;
use jitter::Jitter;
#[path = "onnx/rel_l2.rs"]
mod rel_l2;
use rel_l2::rel_l2;

unet!(Plain<depth: 2, base: 4, up: transposed>);
unet!(BatchGate<depth: 3, base: 4, norm: batch, act: leaky_relu(0.1), up: nearest, attention: gate>);
unet!(GroupScse<depth: 2, base: 8, norm: group(2), act: prelu, up: pixelshuffle, attention: scse,
      residual: true, classes: 3>);
unet!(InstanceGelu<depth: 2, base: 4, norm: instance, act: gelu, up: bilinear_concat>);
unet!(LayerMishValid<depth: 2, base: 4, norm: layer, act: mish, up: bilinear, padding: valid,
      residual: true>);
unet!(PadDeep<depth: 2, base: 4, act: silu, pad_input: true, deep_supervision: 1, classes: 2>);
unet!(Volume<depth: 2, base: 2, dims: 3, norm: batch, residual: true, attention: scse>);

/// Whether the backend's device is there (`found` names it); without it, a note, or a failure
/// when `require` is set in the environment.
fn device_found(test: &str, found: Option<String>, require: &str) -> bool {
    if let Some(device) = found {
        eprintln!("{test}: on {device}");
        return true;
    }
    assert!(
        std::env::var_os(require).is_none(),
        "{test}: {require} is set and the device is missing"
    );
    eprintln!("{test}: skipped, no device (set {require} to make this a failure)");
    false
}

/// One network with jittered weights (BatchNorm's statistics too) on flex and the same on
/// `G`: every output of `forward_deep` on one random input agrees to a relative L2 of 1e-4.
/// Returns the worst error.
fn agrees<G: Backend, NC: Network<Cpu, D>, NG: Network<G, D>, const D: usize>(
    device: &G::Device,
    shape: [usize; D],
) -> f64 {
    let cpu: NC = NC::init(&Default::default()).map(&mut Jitter);
    let bytes = checkpoint::module_bytes::<Cpu, _>(&cpu).expect("encode the weights");
    let record =
        checkpoint::decode::<G, <NG as Module<G>>::Record>(bytes, device).expect("decode them");
    let gpu: NG = NG::init(device).load_record(record);
    let x = Tensor::<Cpu, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default());
    let xg = Tensor::<G, D>::from_data(x.to_data(), device);
    let (want, want_aux) = cpu.forward_deep(x).expect("flex forward");
    let (got, got_aux) = gpu.forward_deep(xg).expect("GPU forward");
    assert_eq!(want_aux.len(), got_aux.len());
    let pairs = std::iter::once((want, got)).chain(want_aux.into_iter().zip(got_aux));
    let mut worst = 0.0f64;
    for (w, g) in pairs {
        let (w, g) = (
            w.into_data().to_vec::<f32>().unwrap(),
            g.into_data().to_vec::<f32>().unwrap(),
        );
        let e = rel_l2(&g, &w);
        assert!(e < 1e-4, "{}: relative L2 {e:e}", NC::NAME);
        worst = worst.max(e);
    }
    worst
}

/// Every variant on `G` against flex; the worst error. On a thread of 256 MiB of stack: the
/// unoptimised forward through burn's fusion layer nests deeper than a test thread's 2 MiB.
fn every_variant<G: Backend>(device: &G::Device) -> f64 {
    let device = device.clone();
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || every_variant_here::<G>(&device))
        .expect("spawn the forward thread")
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn every_variant_here<G: Backend>(device: &G::Device) -> f64 {
    let side = <LayerMishValid<Cpu> as Network<Cpu>>::fitting_size(44);
    [
        agrees::<G, Plain<Cpu>, Plain<G>, 4>(device, [2, 1, 16, 24]),
        agrees::<G, BatchGate<Cpu>, BatchGate<G>, 4>(device, [2, 1, 16, 16]),
        agrees::<G, GroupScse<Cpu>, GroupScse<G>, 4>(device, [1, 1, 12, 8]),
        agrees::<G, InstanceGelu<Cpu>, InstanceGelu<G>, 4>(device, [2, 1, 8, 16]),
        agrees::<G, LayerMishValid<Cpu>, LayerMishValid<G>, 4>(device, [1, 1, side, side]),
        agrees::<G, PadDeep<Cpu>, PadDeep<G>, 4>(device, [2, 1, 13, 19]),
        agrees::<G, Volume<Cpu>, Volume<G>, 5>(device, [1, 1, 8, 4, 12]),
    ]
    .into_iter()
    .fold(0.0, f64::max)
}

fn unet_tool(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unet"))
        .args(args)
        .output()
        .expect("run unet")
}

/// `unet train --model tiny` for one epoch with `backend` flags, then `unet eval` of its
/// checkpoint on the CPU: the weights trained on the GPU segment there.
fn tiny_trains_an_epoch(label: &str, backend: &[&str]) {
    let dir = std::env::temp_dir().join(format!("unet-gpu-{label}-{}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    let run = dir.join("run");
    let mut args = vec![
        "train",
        "--model",
        "tiny",
        "--epochs",
        "1",
        "--epoch-size",
        "64",
    ];
    args.extend(["--synthetic-count", "64", "--batch", "8"]);
    args.extend(["--out", run.to_str().unwrap()]);
    args.extend(backend);
    let out = unet_tool(&args);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "train failed:\n{stdout}\n{stderr}");
    let checkpoint = run.join("best");
    let mut eval = vec!["eval", "--checkpoint", checkpoint.to_str().unwrap()];
    eval.extend(["--count", "8", "--json"]);
    let eval = unet_tool(&eval);
    let text = String::from_utf8_lossy(&eval.stdout);
    assert!(eval.status.success(), "eval failed: {text}");
    let report: serde_json::Value = serde_json::from_str(&text).expect("eval's JSON");
    let accuracy = report["pixel_accuracy"].as_f64().expect("pixel_accuracy");
    assert!(accuracy.is_finite() && accuracy > 0.5, "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[cfg(feature = "wgpu")]
mod wgpu {
    use super::*;
    use unet::backend::Wgpu;

    fn adapter(test: &str) -> bool {
        let found = unet::backend::wgpu_adapters()
            .first()
            .map(|a| format!("wgpu adapter {} ({}, {})", a.name, a.kind, a.driver));
        device_found(test, found, "UNET_REQUIRE_WGPU")
    }

    #[test]
    fn every_variant_forwards_on_wgpu_as_on_flex() {
        if !adapter("every_variant_forwards_on_wgpu_as_on_flex") {
            return;
        }
        let device = unet::backend::wgpu_device().expect("an adapter");
        let worst = every_variant::<Wgpu>(&device);
        eprintln!("worst relative L2, wgpu against flex: {worst:e}");
    }

    #[test]
    fn tiny_trains_an_epoch_with_backend_wgpu() {
        if adapter("tiny_trains_an_epoch_with_backend_wgpu") {
            tiny_trains_an_epoch("wgpu", &["--backend", "wgpu"]);
        }
    }

    #[test]
    fn backend_wgpu_refuses_devices_in_one_line() {
        let out = unet_tool(&["train", "--backend", "wgpu", "--devices", "cuda:0,cuda:1"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("--backend wgpu computes on its default adapter"),
            "{stderr}"
        );
    }
}

#[cfg(feature = "cuda")]
mod cuda {
    use super::*;
    use unet::backend::Cuda;

    /// The GPUs the driver reports (0 without a driver).
    fn gpus(test: &str) -> usize {
        let driver = unet::backend::cuda_driver().ok().filter(|d| d.devices > 0);
        let found = driver.map(|d| format!("{} CUDA device(s), driver {}", d.devices, d.version));
        if device_found(test, found, "UNET_REQUIRE_CUDA") {
            driver.map_or(0, |d| d.devices)
        } else {
            0
        }
    }

    #[test]
    fn every_variant_forwards_on_cuda_as_on_flex() {
        if gpus("every_variant_forwards_on_cuda_as_on_flex") == 0 {
            return;
        }
        let device = unet::backend::cuda_device(0).expect("GPU 0");
        let worst = every_variant::<Cuda>(&device);
        eprintln!("worst relative L2, cuda against flex: {worst:e}");
    }

    #[test]
    fn tiny_trains_an_epoch_on_every_gpu() {
        let n = gpus("tiny_trains_an_epoch_on_every_gpu");
        if n == 0 {
            return;
        }
        let devices: Vec<String> = (0..n).map(|i| format!("cuda:{i}")).collect();
        let devices = devices.join(",");
        tiny_trains_an_epoch("cuda", &["--backend", "cuda", "--devices", &devices]);
    }
}
