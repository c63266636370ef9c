//! PyTorch interop: the fixtures of `scripts/make_fixtures.py` (a down/up-layout U-Net in PyTorch)
//! load into the matching `unet!` networks and reproduce PyTorch's outputs; mismatched files
//! give one error naming every problem; `save_safetensors` gives back PyTorch's tensors bit for
//! bit; `unet import` turns a `.pt` into a run folder. No Python needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use safetensors::{Dtype, SafeTensors};
use unet::backend::Cpu;
use unet::burn::module::Module;
use unet::burn::tensor::TensorData;
use unet::interop::{InteropError, Problem};
use unet::prelude::*;
use unet::Network;

type B = Cpu;

// One network per fixture: depth 2, base 8, as in scripts/make_fixtures.py.
unet!(Transposed<depth: 2, base: 8, up: transposed>);
unet!(Bilinear<depth: 2, base: 8, up: bilinear>);
unet!(Nearest<depth: 2, base: 8, up: nearest>);
unet!(BilinearConcat<depth: 2, base: 8, up: bilinear_concat>);
unet!(NearestConcat<depth: 2, base: 8, up: nearest_concat>);
unet!(Valid<depth: 2, base: 8, up: transposed, padding: valid>);
unet!(RgbClasses2<depth: 2, base: 8, up: transposed, in_channels: 3, classes: 2>);
// milesial/Pytorch-UNet's model (`bilinear=False`) at depth 2, base 8.
unet!(Milesial<depth: 2, base: 8, norm: batch, up: transposed, in_channels: 3, classes: 2>);

// Networks that do not fit the fixtures.
unet!(Wide<depth: 2, base: 16, up: transposed>);
unet!(Deeper<depth: 3, base: 8, up: transposed>);
unet!(Shallower<depth: 1, base: 8, up: transposed>);

// The concat modes elsewhere: valid padding, other widths.
unet!(NearestConcatValid<depth: 3, base: 4, up: nearest_concat, padding: valid, in_channels: 3, classes: 2>);
unet!(BilinearConcatOdd<depth: 2, channels: [3, 5, 7], up: bilinear_concat>);
// Every norm, in 2D and 3D: their tensors save under PyTorch's names (`norm1.weight`, not
// burn's `norm1.Instance.gamma`) and load back.
unet!(InstanceNorm<depth: 2, base: 4, norm: instance, residual: true>);
unet!(GroupNorm<depth: 2, base: 4, norm: group(2), act: prelu>);
unet!(LayerNorm<depth: 2, base: 4, norm: layer, up: bilinear>);
unet!(InstanceNorm3d<depth: 1, base: 4, norm: instance, dims: 3, up: bilinear>);
unet!(BatchNorm3d<depth: 1, base: 4, norm: batch, dims: 3, classes: 2>);

fn device() -> unet::burn::tensor::Device<B> {
    Default::default()
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("unet-pytorch-{}-{name}", std::process::id()));
    std::fs::remove_dir_all(&dir).ok();
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// `input` and `output` of `NAME.io.safetensors`.
fn io(name: &str) -> (Tensor<B, 4>, Vec<f32>, Vec<usize>) {
    let bytes = std::fs::read(fixture(&format!("{name}.io.safetensors"))).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let input = file.tensor("input").unwrap();
    let output = file.tensor("output").unwrap();
    assert_eq!(input.dtype(), Dtype::F32);
    let x = Tensor::from_data(
        TensorData::new(f32s(input.data()), input.shape().to_vec()),
        &device(),
    );
    (x, f32s(output.data()), output.shape().to_vec())
}

/// `||y - y_ref|| / ||y_ref||`.
fn relative_l2(y: &[f32], reference: &[f32]) -> f64 {
    assert_eq!(y.len(), reference.len());
    let (mut diff, mut norm) = (0f64, 0f64);
    for (a, b) in y.iter().zip(reference) {
        diff += (f64::from(*a) - f64::from(*b)).powi(2);
        norm += f64::from(*b).powi(2);
    }
    diff.sqrt() / norm.sqrt()
}

/// Loads `NAME.pt` (and `NAME.safetensors` if there is one) into `N`, runs the stored input
/// and checks the output against PyTorch's; returns the relative L2 errors.
fn assert_parity<N: Network<B>>(name: &str) -> Vec<f64> {
    let (x, reference, shape) = io(name);
    let mut errors = Vec::new();
    for file in [format!("{name}.pt"), format!("{name}.safetensors")] {
        let path = fixture(&file);
        if !path.exists() {
            continue;
        }
        let net: N = unet::interop::load_pytorch::<B, N, 4>(&path, &device())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(net.num_params(), N::PARAMS, "{file}");
        let y = net.forward_checked(x.clone()).unwrap();
        assert_eq!(y.dims().to_vec(), shape, "{file}");
        let error = relative_l2(&y.into_data().to_vec::<f32>().unwrap(), &reference);
        println!("{file}: relative L2 error {error:.3e}");
        assert!(error < 1e-5, "{file}: relative L2 error {error:e}");
        errors.push(error);
    }
    assert!(!errors.is_empty(), "no weights for fixture {name}");
    errors
}

#[test]
fn transposed_fixture_reproduces_pytorch() {
    assert_eq!(assert_parity::<Transposed<B>>("transposed").len(), 2);
}

#[test]
fn bilinear_fixture_reproduces_pytorch() {
    assert_parity::<Bilinear<B>>("bilinear");
}

#[test]
fn nearest_fixture_reproduces_pytorch() {
    assert_parity::<Nearest<B>>("nearest");
}

#[test]
fn bilinear_concat_fixture_reproduces_pytorch() {
    assert_eq!(
        assert_parity::<BilinearConcat<B>>("bilinear_concat").len(),
        2
    );
}

#[test]
fn nearest_concat_fixture_reproduces_pytorch() {
    assert_parity::<NearestConcat<B>>("nearest_concat");
}

#[test]
fn valid_padding_fixture_reproduces_pytorch() {
    assert_eq!(
        unet::geometry::output_size(2, unet::PaddingKind::Valid, 60).ok(),
        Some(20)
    );
    assert_parity::<Valid<B>>("valid");
}

#[test]
fn rgb_two_class_fixture_reproduces_pytorch() {
    assert_parity::<RgbClasses2<B>>("rgb_classes2");
}

/// The tensors of a `.safetensors` file: name -> (dtype, shape, bytes).
fn tensors(path: &Path) -> BTreeMap<String, (Dtype, Vec<usize>, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, t)| (name, (t.dtype(), t.shape().to_vec(), t.data().to_vec())))
        .collect()
}

#[test]
fn concat_modes_count_parameters_like_pytorch() {
    // The PyTorch counts of the fixtures (printed by scripts/make_fixtures.py).
    assert_eq!(BilinearConcat::<B>::PARAMS, 29_617);
    assert_eq!(NearestConcat::<B>::PARAMS, 29_617);
    assert_eq!(Transposed::<B>::PARAMS, 29_321);
    assert_eq!(Bilinear::<B>::PARAMS, 27_401);
    assert_eq!(RgbClasses2::<B>::PARAMS, 29_474);
    let in_file: usize = tensors(&fixture("bilinear_concat.safetensors"))
        .values()
        .map(|(_, shape, _)| shape.iter().product::<usize>())
        .sum();
    assert_eq!(in_file, BilinearConcat::<B>::PARAMS);
    assert_eq!(
        BilinearConcat::<B>::UP,
        unet::blocks::UpMode::BilinearConcat
    );
}

#[test]
fn concat_modes_keep_the_deep_width_up_to_the_merge() {
    let net = NearestConcatValid::<B>::new(&device());
    assert_eq!(net.num_params(), NearestConcatValid::<B>::PARAMS);
    assert_eq!(
        NearestConcatValid::<B>::summary().total_params(),
        net.num_params()
    );
    // depth 3, valid: margin 12 * 8 - 8 = 88.
    let x = Tensor::random([2, 3, 108, 100], Distribution::Normal(0.0, 1.0), &device());
    assert_eq!(net.forward(x).unwrap().dims(), [2, 2, 20, 12]);

    let net = BilinearConcatOdd::<B>::new(&device());
    let x = Tensor::random([1, 1, 12, 20], Distribution::Normal(0.0, 1.0), &device());
    assert_eq!(net.forward(x).unwrap().dims(), [1, 1, 12, 20]);
    let dc = |i: usize, o: usize| 9 * i * o + o + 9 * o * o + o;
    let params = dc(1, 3) + dc(3, 5) + dc(5, 7) + dc(7 + 5, 5) + dc(5 + 3, 3) + 3 + 1;
    assert_eq!(BilinearConcatOdd::<B>::PARAMS, params);
    assert_eq!(net.num_params(), params);

    let table = BilinearConcatOdd::<B>::summary().to_string();
    assert!(table.contains("Upsample bilinear x2"), "{table}");
    // The typed path: up1 keeps the bottleneck's 7 channels, the merge sees 7 + 5.
    let (bottom, skips) = net
        .encoder
        .forward(Feature::try_new(Tensor::zeros([1, 1, 8, 8], &device())).unwrap());
    let up: Feature<B, 7, L1> = net.decoder.up1.up.forward(bottom);
    let merged = net
        .decoder
        .up1
        .conv
        .forward(unet::Concat::new(up, skips.level1));
    assert_eq!(merged.into_tensor().dims(), [1, 5, 4, 4]);
}

fn mismatch(e: InteropError) -> (String, Vec<Problem>) {
    let text = e.to_string();
    match e {
        InteropError::Mismatch { problems, .. } => (text, problems),
        other => panic!("expected a mismatch, got: {other}"),
    }
}

#[test]
fn another_width_lists_every_wrongly_shaped_tensor_with_both_shapes() {
    let e = Wide::<B>::load_pytorch(fixture("transposed.pt"), &device()).unwrap_err();
    let (text, problems) = mismatch(e);
    // Every tensor but `out.bias` ([1] in both) differs.
    assert_eq!(problems.len(), 25, "{text}");
    assert!(
        problems.iter().all(|p| matches!(p, Problem::Shape { .. })),
        "{text}"
    );
    assert!(problems.contains(&Problem::Shape {
        name: "down1.conv.net.0.weight".into(),
        expected: vec![16, 1, 3, 3],
        found: vec![8, 1, 3, 3],
    }));
    assert!(
        text.contains("wrong shape `up1.up.weight`: the file has [32, 16, 2, 2], the network expects [64, 32, 2, 2]"),
        "{text}"
    );
    // The header says what the file holds; then one line per problem, in network order.
    assert!(text.starts_with(&format!(
        "{} does not fit network Wide (25 problems); the file holds `depth: 2, base: 8, up: transposed, in_channels: 1, classes: 1`:\n  wrong shape `down1.conv.net.0.weight`",
        fixture("transposed.pt").display()
    )), "{text}");
    assert_eq!(text.lines().count(), 26, "one line per problem: {text}");
}

#[test]
fn a_deeper_network_lists_the_missing_tensors_by_pytorch_name() {
    let e = Deeper::<B>::load_pytorch(fixture("transposed.safetensors"), &device()).unwrap_err();
    let (text, problems) = mismatch(e);
    for name in [
        "down3.conv.net.0.weight",
        "down3.conv.net.2.bias",
        "up3.up.weight",
        "up3.conv.net.2.weight",
    ] {
        assert!(
            problems
                .iter()
                .any(|p| matches!(p, Problem::Missing { name: n, .. } if n == name)),
            "{name} missing in: {text}"
        );
    }
    assert!(
        text.contains("missing `down3.conv.net.0.weight` (the network expects [32, 16, 3, 3])"),
        "{text}"
    );
    assert!(
        text.contains("wrong shape `bottleneck.net.0.weight`: the file has [32, 16, 3, 3], the network expects [64, 32, 3, 3]"),
        "{text}"
    );
}

#[test]
fn a_shallower_network_lists_the_unexpected_tensors() {
    let e = Shallower::<B>::load_pytorch(fixture("transposed.pt"), &device()).unwrap_err();
    let (text, problems) = mismatch(e);
    assert!(
        problems.contains(&Problem::Unexpected {
            name: "down2.conv.net.0.weight".into(),
            found: vec![16, 8, 3, 3],
        }),
        "{text}"
    );
    assert!(
        text.contains("unexpected `up2.conv.net.2.bias` [8] (not in the network)"),
        "{text}"
    );
}

#[test]
fn another_up_mode_names_the_missing_and_the_unexpected_up_weights() {
    let e = Bilinear::<B>::load_pytorch(fixture("transposed.pt"), &device()).unwrap_err();
    let (text, problems) = mismatch(e);
    assert!(
        problems.contains(&Problem::Missing {
            name: "up1.up.1.weight".into(),
            expected: vec![16, 32, 1, 1],
        }),
        "{text}"
    );
    assert!(
        problems.contains(&Problem::Unexpected {
            name: "up1.up.weight".into(),
            found: vec![32, 16, 2, 2],
        }),
        "{text}"
    );
    // The concat fixture has no up weights at all, and a wider decoder conv.
    let e = Transposed::<B>::load_pytorch(fixture("bilinear_concat.pt"), &device()).unwrap_err();
    let (text, _) = mismatch(e);
    assert!(
        text.contains("missing `up2.up.bias` (the network expects [8])"),
        "{text}"
    );
    assert!(
        text.contains("wrong shape `up1.conv.net.0.weight`: the file has [16, 48, 3, 3], the network expects [16, 32, 3, 3]"),
        "{text}"
    );
}

#[test]
fn unknown_extension_and_missing_file_are_errors() {
    let e = Transposed::<B>::load_pytorch("weights.onnx", &device()).unwrap_err();
    assert!(matches!(e, InteropError::UnknownFormat { .. }), "{e}");
    assert!(
        e.to_string().contains("unknown weight file type `onnx`"),
        "{e}"
    );
    let e = Transposed::<B>::load_pytorch(fixture("transposed"), &device()).unwrap_err();
    assert!(matches!(e, InteropError::UnknownFormat { .. }), "{e}");

    let e = Transposed::<B>::load_pytorch(fixture("no_such_file.pt"), &device()).unwrap_err();
    assert!(matches!(e, InteropError::NotFound { .. }), "{e}");
    assert!(
        e.to_string().ends_with("no_such_file.pt: no such file"),
        "{e}"
    );
}

#[test]
fn garbage_is_a_read_error() {
    let dir = scratch("garbage");
    for name in ["garbage.pt", "garbage.safetensors"] {
        let path = dir.join(name);
        std::fs::write(&path, b"this is not a weight file").unwrap();
        let e = Transposed::<B>::load_pytorch(&path, &device()).unwrap_err();
        assert!(matches!(e, InteropError::Read { .. }), "{name}: {e}");
        assert_eq!(e.to_string().lines().count(), 1, "{e}");
    }
}

/// A `.safetensors` file of float32 zeros (int64 for `num_batches_tracked`) with these names.
fn write_safetensors(path: &Path, names: &[(&str, Vec<usize>)]) {
    let buffers: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = names
        .iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let dtype = if name.ends_with("num_batches_tracked") {
                Dtype::I64
            } else {
                Dtype::F32
            };
            let size = if dtype == Dtype::I64 { 8 } else { 4 };
            (name.to_string(), dtype, shape.clone(), vec![0u8; n * size])
        })
        .collect();
    let views = buffers.iter().map(|(name, dtype, shape, data)| {
        (
            name.clone(),
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap(),
        )
    });
    std::fs::write(path, safetensors::serialize(views, None).unwrap()).unwrap();
}

#[test]
fn milesial_pytorch_unet_weights_load_with_batch_norm_and_match_pytorch() {
    // scripts/make_milesial_fixture.py: milesial's modules at depth 2, base 8, eval mode.
    let (x, reference, shape) = io("milesial");
    for file in ["milesial.pt", "milesial.safetensors"] {
        let net = Milesial::<B>::load_pytorch(fixture(file), &device())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let y = net.forward(x.clone()).unwrap();
        assert_eq!(y.dims().to_vec(), shape, "{file}");
        let error = relative_l2(&y.into_data().to_vec::<f32>().unwrap(), &reference);
        println!("{file}: relative L2 error {error:.3e}");
        assert!(error < 1e-5, "{file}: relative L2 error {error:e}");
    }
}

#[test]
fn milesial_weights_save_back_under_milesials_names_bit_for_bit() {
    let dir = scratch("milesial-round-trip");
    let original = fixture("milesial.safetensors");
    let net = Milesial::<B>::load_pytorch(&original, &device()).unwrap();
    let saved = dir.join("milesial.safetensors");
    net.save_safetensors(&saved).unwrap();
    let (before, after) = (tensors(&original), tensors(&saved));
    // burn keeps no `num_batches_tracked` counter: every other tensor comes back.
    let kept: Vec<&String> = before
        .keys()
        .filter(|k| !k.ends_with("num_batches_tracked"))
        .collect();
    assert_eq!(kept, after.keys().collect::<Vec<_>>());
    for key in kept {
        assert!(after[key] == before[key], "{key} differs");
    }
}

#[test]
fn norm_tensors_missing_from_a_file_are_listed_with_their_shapes() {
    // A down/up-layout file has no BatchNorm: each missing norm parameter names its shape.
    let e = Milesial::<B>::load_pytorch(fixture("rgb_classes2.pt"), &device()).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("missing `encoder.down1.conv.norm1.gamma` (the network expects [8])"),
        "{text}"
    );
}

#[test]
fn milesial_keys_into_a_network_without_batch_norm_name_the_configuration_they_need() {
    let e = Transposed::<B>::load_pytorch(fixture("milesial.safetensors"), &device()).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, InteropError::Mismatch { .. }), "{e}");
    assert!(
        text.contains("the file holds `depth: 2, base: 8, norm: batch, up: transposed, in_channels: 3, classes: 2`"),
        "{text}"
    );
    assert!(
        text.contains("unexpected `inc.double_conv.1.running_mean`"),
        "{text}"
    );
}

#[test]
fn foreign_keys_are_an_unknown_convention() {
    let path = scratch("foreign").join("foreign.safetensors");
    write_safetensors(&path, &[("fc.weight", vec![2, 2]), ("fc.bias", vec![2])]);
    let e = Transposed::<B>::load_pytorch(&path, &device()).unwrap_err();
    assert!(matches!(e, InteropError::UnknownConvention { .. }), "{e}");
    assert!(e.to_string().contains("`fc.bias`, `fc.weight`"), "{e}");
}

#[test]
fn num_batches_tracked_is_ignored() {
    let dir = scratch("tracked");
    // The transposed fixture's tensors plus a stray counter: it loads.
    let mut file = tensors(&fixture("transposed.safetensors"));
    file.insert(
        "down1.conv.net.1.num_batches_tracked".into(),
        (Dtype::I64, vec![], vec![0; 8]),
    );
    let views = file.iter().map(|(name, (dtype, shape, data))| {
        (
            name.clone(),
            safetensors::tensor::TensorView::new(*dtype, shape.clone(), data).unwrap(),
        )
    });
    let path = dir.join("tracked.safetensors");
    std::fs::write(&path, safetensors::serialize(views, None).unwrap()).unwrap();
    Transposed::<B>::load_pytorch(&path, &device()).unwrap();
}

#[test]
fn save_safetensors_gives_back_pytorchs_tensors_bit_for_bit() {
    let dir = scratch("round-trip");
    fn round_trip<N: Network<B>>(name: &str, dir: &Path) {
        let original = fixture(&format!("{name}.safetensors"));
        let net: N = unet::interop::load_pytorch::<B, N, 4>(&original, &device()).unwrap();
        let saved = dir.join(format!("{name}.safetensors"));
        unet::interop::save_safetensors::<B, N, 4>(&net, &saved).unwrap();
        let (before, after) = (tensors(&original), tensors(&saved));
        assert_eq!(
            before.keys().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{name}: the same PyTorch names"
        );
        for (key, tensor) in &before {
            assert!(after[key] == *tensor, "{name}: {key} differs");
        }
    }
    round_trip::<Transposed<B>>("transposed", &dir);
    round_trip::<BilinearConcat<B>>("bilinear_concat", &dir);
    // No temporary files left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["bilinear_concat.safetensors", "transposed.safetensors"]
    );
}

#[test]
fn saved_projection_weights_load_back_to_the_same_outputs() {
    // `up{k}.up.1.*` (Sequential(Upsample, Conv2d)) is written under the name it was read from.
    let dir = scratch("projection");
    let net = Nearest::<B>::load_pytorch(fixture("nearest.pt"), &device()).unwrap();
    let path = dir.join("nearest.safetensors");
    net.save_safetensors(&path).unwrap();
    assert!(tensors(&path).contains_key("up1.up.1.weight"));
    let again = Nearest::<B>::load_pytorch(&path, &device()).unwrap();
    let (x, _, _) = io("nearest");
    let a = net.forward(x.clone()).unwrap().into_data();
    let b = again.forward(x).unwrap().into_data();
    assert_eq!(a, b);
}

/// Saves a fresh `N`, loads the file back, and compares the outputs on `x`.
fn save_load_keeps_the_outputs<N: Network<B, D>, const D: usize>(x: Tensor<B, D>, dir: &Path) {
    let net = N::init(&device());
    let path = dir.join(format!("{}.safetensors", N::NAME));
    unet::interop::save_safetensors::<B, N, D>(&net, &path).unwrap();
    let names = tensors(&path);
    assert!(
        names
            .keys()
            .all(|k| !k.contains("Instance") && !k.contains("Group") && !k.contains("Layer")),
        "{}: {:?}",
        N::NAME,
        names.keys()
    );
    let back: N = unet::interop::load_pytorch::<B, N, D>(&path, &device()).unwrap();
    let a = net.forward_checked(x.clone()).unwrap().into_data();
    let b = back.forward_checked(x).unwrap().into_data();
    assert_eq!(a, b, "{}", N::NAME);
}

#[test]
fn every_norm_saves_under_pytorch_names_and_loads_back_in_2d_and_3d() {
    let dir = scratch("norms");
    let image = || Tensor::<B, 4>::random([2, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device());
    save_load_keeps_the_outputs::<InstanceNorm<B>, 4>(image(), &dir);
    save_load_keeps_the_outputs::<GroupNorm<B>, 4>(image(), &dir);
    save_load_keeps_the_outputs::<LayerNorm<B>, 4>(image(), &dir);
    let volume =
        || Tensor::<B, 5>::random([1, 1, 4, 4, 4], Distribution::Normal(0.0, 1.0), &device());
    save_load_keeps_the_outputs::<InstanceNorm3d<B>, 5>(volume(), &dir);
    save_load_keeps_the_outputs::<BatchNorm3d<B>, 5>(volume(), &dir);
    assert!(
        tensors(&dir.join("BatchNorm3d.safetensors")).contains_key("inc.double_conv.1.running_var")
    );
}

fn unet_cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_unet"))
        .args(args)
        .output()
        .expect("run unet")
}

#[test]
fn unet_import_writes_a_run_folder_that_eval_uses() {
    let dir = scratch("import");
    let run = dir.join("runs").join("imported");
    let from = fixture("transposed.pt");
    let out = unet_cli(&[
        "import",
        "--model",
        "tiny",
        "--from",
        from.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for file in ["best.mpk", "last.mpk", "config.json"] {
        assert!(run.join(file).is_file(), "{file}");
    }
    let config = unet::train::TrainConfig::from_json(
        &std::fs::read_to_string(run.join("config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config.model, "tiny");
    assert_eq!(config.data, format!("imported:{}", from.display()));

    let best = run.join("best");
    let out = unet_cli(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--count",
        "2",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.trim_start().starts_with('{') && stdout.contains("\"dice\""),
        "{stdout}"
    );

    // The checkpoint holds PyTorch's weights: same outputs as loading the .pt directly.
    type Tiny = Transposed<B>;
    let imported: Tiny = unet::train::checkpoint::load_network(&best, &device()).unwrap();
    let direct = Tiny::load_pytorch(&from, &device()).unwrap();
    let (x, _, _) = io("transposed");
    assert_eq!(
        imported.forward(x.clone()).unwrap().into_data(),
        direct.forward(x).unwrap().into_data()
    );

    // A second import into the same folder is refused; so is a file of another model.
    let again = unet_cli(&[
        "import",
        "--model",
        "tiny",
        "--from",
        from.to_str().unwrap(),
        "--out",
        run.to_str().unwrap(),
    ]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("already holds a run"), "{stderr}");

    let other = dir.join("runs").join("small");
    let wrong = unet_cli(&[
        "import",
        "--model",
        "small",
        "--from",
        from.to_str().unwrap(),
        "--out",
        other.to_str().unwrap(),
    ]);
    assert_eq!(wrong.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for fragment in [
        "does not fit network Small (45 problems); the file holds `depth: 2, base: 8, up: transposed",
        "wrong shape `down1.conv.net.0.weight`: the file has [8, 1, 3, 3], the network expects [16, 1, 3, 3]",
        "; ... and 37 more",
    ] {
        assert!(stderr.contains(fragment), "`{fragment}` in {stderr}");
    }
    assert!(!other.exists(), "nothing written for a failed import");
}
