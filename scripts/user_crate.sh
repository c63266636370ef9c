#!/usr/bin/env bash
# Crates outside the repository whose only dependency is `unet` (by path):
# - `mytool`, whose whole main.rs is one `unet::cli!` over its own networks: built, then its
#   commands run on a tiny run (models, summary, train, eval, predict, an unknown model);
# - `mymodel`, on the model-only build (`default-features = false, features = ["cpu"]`): a
#   network's checked forward pass and its table.
# CI runs this; so can you.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/mytool/src" "$work/mymodel/src"

manifest() { # name, unet dependency line
  cat <<EOF
[package]
name = "$1"
version = "0.1.0"
edition = "2021"

[dependencies]
$2

[profile.dev.package."*"]
opt-level = 3
EOF
}
manifest mytool "unet = { path = \"$repo\" }" >"$work/mytool/Cargo.toml"
manifest mymodel "unet = { path = \"$repo\", default-features = false, features = [\"cpu\"] }" \
  >"$work/mymodel/Cargo.toml"

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

# The repository's versions of every dependency, and its build folder, so nothing new is
# downloaded and burn is not compiled again.
for crate in mytool mymodel; do
  cp "$repo/Cargo.lock" "$work/$crate/"
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
for crate in mytool mymodel; do
  (cd "$work/$crate" && cargo build --quiet)
done
tool="$CARGO_TARGET_DIR/debug/mytool"
run="$work/run"
set -x
"$CARGO_TARGET_DIR/debug/mymodel" | tail -n 1
"$tool" models
"$tool" summary --model wide | tail -n 2
"$tool" train --model mynet --epochs 1 --epoch-size 16 --synthetic-count 16 --out "$run"
"$tool" eval --checkpoint "$run/best" --count 4
"$tool" predict --checkpoint "$run/best" --input "$run/samples/epoch-001.png" --output "$work/masks"
test -f "$work/masks/epoch-001.png"
if "$tool" train --model nosuch 2>"$work/err"; then exit 1; fi
grep -q 'unknown model `nosuch` (available: mynet, wide)' "$work/err"
