#!/usr/bin/env bash
# Crates outside the repository whose only dependency is `unet` (by path):
# - `mytool`, whose whole main.rs is one `unet::cli!` over its own networks: built, then its
#   commands run on a tiny run (models, summary, train, eval, predict, export, an unknown
#   model);
# - `mymodel`, on the model-only build (`default-features = false, features = ["cpu"]`): a
#   network's checked forward pass and its table;
# - `myvolumes`, 3D networks (norms, residual blocks, every 3D `up` mode) reached through a
#   re-export (`#[unet(crate = ...)]`), used as 2D ones are: their table, checked forward, and
#   a save -> load round trip of their weights under PyTorch names, and one training epoch
#   through the library's entry point (`Training::<B, 5>`) on synthetic solids, then an
#   overlap-tile segmentation of a whole volume with the trained network, and an ONNX export.
# CI runs this; so can you.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mytool/src" "$work/mymodel/src" "$work/myvolumes/src"

manifest() { # name, unet dependency line
  cat <<EOF
[package]
name = "$1"
version = "0.1.0"
edition = "2021"

[dependencies]
$2

[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
opt-level = 3
debug = false
EOF
}
manifest mytool "unet = { path = \"$repo\" }" >"$work/mytool/Cargo.toml"
manifest mymodel "unet = { path = \"$repo\", default-features = false, features = [\"cpu\"] }" \
  >"$work/mymodel/Cargo.toml"
manifest myvolumes "unet = { path = \"$repo\" }" >"$work/myvolumes/Cargo.toml"

cat >"$work/mytool/src/main.rs" <<'EOF'
use unet::prelude::*;
unet!(pub MyNet<depth: 3, base: 8>);
unet!(pub Wide<depth: 2, base: 32, in_channels: 3, classes: 4, norm: batch>);
fn main() -> std::process::ExitCode {
    unet::cli!(mynet = MyNet, wide = Wide)
}
EOF
cat >"$work/mymodel/src/main.rs" <<'EOF'
use unet::prelude::*;
unet!(pub MyNet<depth: 3, base: 8, classes: 2, norm: batch>);
fn main() {
    type B = unet::backend::Cpu;
    let device = Default::default();
    let net = MyNet::<B>::new(&device);
    let x = Tensor::<B, 4>::random([1, 1, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(net.forward(x).unwrap().dims(), [1, 2, 32, 32]);
    assert!(net.forward(Tensor::zeros([1, 1, 30, 32], &device)).is_err());
    println!("{}", MyNet::<B>::summary());
}
EOF

cat >"$work/myvolumes/src/main.rs" <<'EOF'
//! 3D networks used as 2D ones are, through a re-export of `unet`.
pub use unet as nets;
use nets::burn::tensor::{backend::Backend, Distribution, ElementConversion, Tensor};
use nets::Network;

nets::unet!(#[unet(crate = crate::nets)] pub Plain<depth: 2, base: 4, dims: 3>);
nets::unet!(#[unet(crate = crate::nets)] pub Batch<depth: 2, base: 4, dims: 3, norm: batch, up: bilinear, classes: 2>);
nets::unet!(#[unet(crate = crate::nets)] pub Residual<depth: 2, base: 4, dims: 3, norm: instance, residual: true, up: nearest>);
nets::unet!(#[unet(crate = crate::nets)] pub Grouped<depth: 2, base: 4, dims: 3, norm: group(2), up: bilinear_concat, in_channels: 2>);
nets::unet!(#[unet(crate = crate::nets)] pub Valid<depth: 1, base: 4, dims: 3, padding: valid, up: nearest_concat, input: (20, 20, 20)>);

/// Table, checked forward, and a save -> load round trip, for any network of rank 5.
fn exercise<B: Backend, N: Network<B, 5>>(
    side: usize,
    save: impl Fn(&N, &std::path::Path),
    load: impl Fn(&std::path::Path) -> N,
    device: &B::Device,
) {
    let summary = N::layer_summary();
    assert_eq!(summary.dims, 3);
    println!("{}: {} params, {}", N::NAME, summary.total_params(), summary.rows[0].kind);
    let net = N::init(device);
    let shape = [1, N::IN_CHANNELS, side, side, side];
    let x = Tensor::<B, 5>::random(shape, Distribution::Normal(0.0, 1.0), device);
    let y = net.forward_checked(x.clone()).expect("a size that fits");
    let out = side - N::MARGIN;
    assert_eq!(y.dims(), [1, N::CLASSES, out, out, out]);
    let wrong = Tensor::<B, 5>::zeros([1, N::IN_CHANNELS, side, side, side + 1], device);
    assert!(net.forward_checked(wrong).is_err(), "an odd size is refused");
    let name = format!("myvolumes-{}-{}.safetensors", N::NAME, std::process::id());
    let file = std::env::temp_dir().join(name);
    save(&net, &file);
    let back = load(&file);
    std::fs::remove_file(&file).unwrap();
    let z = back.forward_checked(x).unwrap();
    let diff = (y - z).abs().max().into_scalar().elem::<f32>();
    assert!(diff < 1e-6, "{} round trip changed the output by {diff}", N::NAME);
}

macro_rules! exercise {
    ($net:ident, $side:expr, $device:expr) => {
        exercise::<B, $net<B>>(
            $side,
            |n, f| n.save_safetensors(f).unwrap(),
            |f| $net::<B>::load_pytorch(f, $device).unwrap(),
            $device,
        )
    };
}

type B = nets::backend::Cpu;

/// One epoch of `Residual` through the library's training entry point, then the trained
/// network segments a whole volume larger than its tiles.
fn train_one_epoch() {
    use nets::infer::{segment, tiling::TileSpec, tta::Tta};
    use nets::train::{TrainConfig, Training};
    type A = nets::backend::CpuAutodiff;
    let dir = std::env::temp_dir().join(format!("myvolumes-run-{}", std::process::id()));
    let config = TrainConfig::new("residual").with_epochs(1).with_crop(8).with_epoch_size(8);
    let train = nets::data::generate_volumes(1, 4, 12, 1);
    let valid = nets::data::generate_volumes(2, 2, 8, 1);
    let summary = Training::<A, 5>::new(config, &dir)
        .fit::<Residual<A>>(train, valid)
        .expect("one epoch trains");
    println!("trained: {:?}", summary.rows[0]);
    let net: Residual<B> =
        nets::train::checkpoint::load_network(&dir.join("best"), &Default::default()).unwrap();
    let volume = nets::data::generate_volumes(3, 1, 12, 1).remove(0);
    let spec = TileSpec { tile: 8, overlap: 2, margin: 0 };
    let mask = segment::segment_volume(&net, &volume.image, &spec, Tta::Off, &Default::default()).unwrap();
    assert_eq!(mask.size, [12, 12, 12]);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn main() {
    let device = Default::default();
    train_one_epoch();
    exercise!(Plain, 8, &device);
    exercise!(Batch, 8, &device);
    exercise!(Residual, 8, &device);
    exercise!(Grouped, 8, &device);
    exercise!(Valid, 20, &device);
    println!("{}", Valid::<B>::summary());
    let onnx = std::env::temp_dir().join(format!("myvolumes-{}.onnx", std::process::id()));
    Residual::<B>::new(&device).save_onnx(&onnx).expect("a 3D network exports");
    assert!(std::fs::metadata(&onnx).unwrap().len() > 1000);
    std::fs::remove_file(&onnx).unwrap();
}
EOF

# The repository's versions of every dependency, and its build folder, so nothing new is
# downloaded and burn is not compiled again.
for crate in mytool mymodel myvolumes; do
  cp "$repo/Cargo.lock" "$work/$crate/"
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
for crate in mytool mymodel myvolumes; do
  (cd "$work/$crate" && cargo build --quiet)
done
tool="$CARGO_TARGET_DIR/debug/mytool"
run="$work/run"
set -x
"$CARGO_TARGET_DIR/debug/mymodel" | tail -n 1
"$CARGO_TARGET_DIR/debug/myvolumes"
"$tool" models
"$tool" summary --model wide | tail -n 2
"$tool" train --model mynet --epochs 1 --epoch-size 16 --synthetic-count 16 --out "$run"
"$tool" eval --checkpoint "$run/best" --count 4
"$tool" predict --checkpoint "$run/best" --input "$run/samples/epoch-001.png" --output "$work/masks"
test -f "$work/masks/epoch-001.png"
"$tool" export --checkpoint "$run/best" --format onnx --out "$work/mynet.onnx"
test -s "$work/mynet.onnx"
if "$tool" train --model nosuch 2>"$work/err"; then exit 1; fi
grep -q 'unknown model `nosuch` (available: mynet, wide)' "$work/err"
