//! Writes a held-out set of networks as ONNX models, each with an input and burn's outputs
//! for it, for `scripts/check_onnx.py` to run through onnx.checker and onnxruntime:
//!
//! ```text
//! cargo run --release --example onnx_fixtures -- /tmp/onnx-check
//! python3 scripts/check_onnx.py /tmp/onnx-check
//! ```
//!
//! None of these networks is one of `tests/onnx.rs`'s. The weights, BatchNorm's running
//! statistics included, are jittered away from their initial values.

use std::path::{Path, PathBuf};

use unet::burn::backend::Flex;
use unet::burn::tensor::{Distribution, Tensor};
use unet::onnx::{Export, OnnxOptions};
use unet::{unet, Network};

type B = Flex;

#[path = "../tests/onnx/jitter.rs"]
mod jitter;
use jitter::Jitter;

unet!(ValidTransposed<depth: 3, base: 8, padding: valid, up: transposed, classes: 2>);
unet!(BatchGateRgb<depth: 3, base: 8, norm: batch, up: bilinear, attention: gate, in_channels: 3,
      classes: 4>);
unet!(GroupGeluShuffle<depth: 2, base: 8, norm: group(4), act: gelu, residual: true,
      up: pixelshuffle, attention: scse, deep_supervision: 1>);
unet!(InstanceMishPadded<depth: 3, base: 4, norm: instance, act: mish, up: nearest_concat,
      pad_input: true>);
unet!(LayerPreluConcat<depth: 2, base: 4, norm: layer, act: prelu, up: bilinear_concat, dropout: 0.2,
      classes: 3>);
unet!(ValidSiluResidual<depth: 2, base: 4, act: silu, up: nearest, padding: valid, residual: true>);
unet!(DeepLeaky<depth: 4, base: 4, act: leaky_relu(0.01), norm: batch, up: transposed>);
unet!(VolumePadded<depth: 2, base: 2, dims: 3, norm: batch, up: bilinear, attention: scse,
      pad_input: true, deep_supervision: 1>);
unet!(VolumeValidGate<depth: 1, base: 2, dims: 3, padding: valid, up: transposed, attention: gate,
      norm: group(2)>);

fn write_f32(path: &Path, values: &[f32]) -> std::io::Result<()> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    unet::fsio::atomic_write(path, &bytes)
}

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 values")
}

/// Exports a jittered `N` with its input `shape`, burn's outputs and a manifest entry.
fn case<N: Export<B, D>, const D: usize>(
    dir: &Path,
    shape: [usize; D],
    options: OnnxOptions,
) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
    let device = Default::default();
    let net = N::init(&device).map(&mut Jitter);
    let name = N::NAME;
    unet::onnx::save_onnx(&net, &dir.join(format!("{name}.onnx")), &options)?;
    let x = Tensor::<B, D>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    write_f32(&dir.join(format!("{name}.input.bin")), &values(x.clone()))?;
    let (out, aux) = net.forward_deep(x)?;
    let mut outputs = vec![("logits".to_string(), out)];
    if options.aux {
        outputs.extend(
            aux.into_iter()
                .enumerate()
                .map(|(j, a)| (format!("aux{}", j + 1), a)),
        );
    }
    let mut listed = Vec::new();
    for (output, t) in outputs {
        let dims = t.dims().to_vec();
        write_f32(&dir.join(format!("{name}.{output}.bin")), &values(t))?;
        listed.push(serde_json::json!({ "name": output, "shape": dims }));
    }
    println!("{name}: {shape:?}");
    Ok(serde_json::json!({ "model": name, "input": shape.to_vec(), "outputs": listed }))
}

fn fixed(size: &[usize]) -> OnnxOptions {
    OnnxOptions {
        input: Some(size.to_vec()),
        aux: false,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "onnx-check".into()),
    );
    unet::fsio::create_dir_durable(&dir)?;
    let aux = OnnxOptions {
        input: None,
        aux: true,
    };
    let valid = <ValidTransposed<B> as Network<B>>::fitting_size(60);
    let silu = <ValidSiluResidual<B> as Network<B>>::fitting_size(30);
    let volume = <VolumeValidGate<B> as Network<B, 5>>::fitting_size(12);
    let cases = vec![
        case::<ValidTransposed<B>, 4>(&dir, [2, 1, valid, valid], fixed(&[valid, valid]))?,
        case::<BatchGateRgb<B>, 4>(&dir, [2, 3, 32, 24], OnnxOptions::default())?,
        case::<GroupGeluShuffle<B>, 4>(&dir, [1, 1, 20, 28], aux.clone())?,
        case::<InstanceMishPadded<B>, 4>(&dir, [2, 1, 30, 21], OnnxOptions::default())?,
        case::<LayerPreluConcat<B>, 4>(&dir, [1, 1, 24, 16], OnnxOptions::default())?,
        case::<ValidSiluResidual<B>, 4>(&dir, [1, 1, silu, silu + 4], fixed(&[silu, silu + 4]))?,
        case::<DeepLeaky<B>, 4>(&dir, [2, 1, 48, 32], OnnxOptions::default())?,
        case::<VolumePadded<B>, 5>(&dir, [1, 1, 6, 9, 11], aux)?,
        case::<VolumeValidGate<B>, 5>(&dir, [1, 1, volume, volume, volume], fixed(&[volume; 3]))?,
    ];
    let manifest = serde_json::to_string_pretty(&cases)?;
    unet::fsio::atomic_write(&dir.join("manifest.json"), manifest.as_bytes())?;
    println!("wrote {} models to {}", cases.len(), dir.display());
    Ok(())
}
