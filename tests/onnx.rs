//! ONNX export: every variant's graph, run by tract (a pure-Rust ONNX runtime), gives burn's
//! forward to a relative L2 error below 1e-5, at two input sizes where the graph's sizes are
//! dynamic. The weights, BatchNorm's running statistics included, are jittered first, so a
//! norm's scale or a statistic the graph dropped would show.

use unet::burn::backend::Flex;
use unet::burn::module::Module;
use unet::burn::tensor::{Distribution, Tensor};
use unet::onnx::{self, Export, OnnxError, OnnxOptions};
use unet::{unet, Network};

use tract_onnx::prelude::*;

type B = Flex;

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
unet!(InstanceGelu<depth: 2, base: 4, norm: instance, act: gelu, up: bilinear_concat, dropout: 0.3>);
unet!(LayerSilu<depth: 2, base: 4, norm: layer, act: silu, up: nearest_concat, deep_supervision: 1,
      classes: 2>);
unet!(BilinearResidual<depth: 2, base: 4, up: bilinear, residual: true, norm: batch, in_channels: 3>);
unet!(PadMish<depth: 2, base: 4, act: mish, pad_input: true, deep_supervision: 1, in_channels: 2>);
unet!(ValidGate<depth: 2, base: 4, padding: valid, attention: gate, up: bilinear, residual: true>);
unet!(ValidDeclared<depth: 2, base: 2, padding: valid, input: (44, 52)>);
unet!(Volume<depth: 2, base: 2, dims: 3, norm: batch, residual: true>);
unet!(VolumeScse<depth: 1, base: 4, dims: 3, up: nearest_concat, attention: scse, norm: group(2)>);
unet!(VolumeTrilinear<depth: 2, base: 2, dims: 3, up: bilinear, pad_input: true, attention: gate,
      deep_supervision: 1, classes: 2>);
unet!(VolumeValid<depth: 1, base: 2, dims: 3, padding: valid, up: nearest, input: (20, 20, 24)>);
unet!(VolumeInstancePrelu<depth: 2, base: 2, dims: 3, norm: instance, act: prelu,
      up: bilinear_concat>);
unet!(VolumeLayerValid<depth: 1, base: 2, dims: 3, norm: layer, act: gelu, padding: valid,
      residual: true, input: (20, 20, 24)>);

fn net<N: Network<B, D>, const D: usize>() -> N {
    N::init(&Default::default()).map(&mut Jitter)
}

/// Runs the model's bytes in tract on one input; every output, flattened.
fn tract_run(bytes: &[u8], shape: &[usize], data: &[f32]) -> Vec<Vec<f32>> {
    let model = tract_onnx::onnx()
        .model_for_read(&mut &bytes[..])
        .expect("tract reads the model")
        .with_input_fact(0, f32::fact(shape).into())
        .expect("the input fact applies")
        .into_optimized()
        .expect("tract analyses the model")
        .into_runnable()
        .expect("tract plans the model");
    let input = tract_onnx::prelude::Tensor::from_shape(shape, data).expect("input tensor");
    let outputs = model
        .run(tvec!(input.into()))
        .expect("tract runs the model");
    outputs
        .iter()
        .map(|o| {
            o.to_plain_array_view::<f32>()
                .expect("f32 output")
                .iter()
                .copied()
                .collect()
        })
        .collect()
}

fn values<const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data().to_vec::<f32>().expect("f32 values")
}

/// Exports `net` with `options` and checks tract's outputs (logits, and the aux heads when
/// asked for) against burn's at every input shape.
fn agrees<N: Export<B, D>, const D: usize>(net: &N, options: &OnnxOptions, shapes: &[[usize; D]]) {
    let bytes = onnx::to_bytes::<B, N, D>(net, options).expect("the network exports");
    for &shape in shapes {
        let x = Tensor::<B, D>::random(shape, Distribution::Normal(0.0, 1.0), &Default::default());
        let (out, aux) = net.forward_deep(x.clone()).expect("burn's forward");
        let mut want = vec![values(out)];
        if options.aux {
            want.extend(aux.into_iter().map(values));
        }
        let got = tract_run(&bytes, &shape, &values(x));
        assert_eq!(got.len(), want.len(), "{}: outputs", N::NAME);
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let err = rel_l2(g, w);
            assert!(
                err < 1e-5,
                "{} at {shape:?}, output {i}: rel L2 {err:e}",
                N::NAME
            );
        }
    }
}

fn dynamic() -> OnnxOptions {
    OnnxOptions::default()
}

fn with_aux() -> OnnxOptions {
    OnnxOptions {
        aux: true,
        ..OnnxOptions::default()
    }
}

#[test]
fn same_padding_variants_match_burn_at_two_sizes_from_one_graph() {
    agrees(
        &net::<Plain<B>, 4>(),
        &dynamic(),
        &[[2, 1, 16, 24], [1, 1, 8, 8]],
    );
    agrees(
        &net::<BatchGate<B>, 4>(),
        &dynamic(),
        &[[2, 1, 16, 24], [1, 1, 32, 8]],
    );
    agrees(
        &net::<GroupScse<B>, 4>(),
        &dynamic(),
        &[[2, 1, 12, 16], [1, 1, 8, 4]],
    );
    agrees(
        &net::<InstanceGelu<B>, 4>(),
        &dynamic(),
        &[[2, 1, 16, 12], [1, 1, 8, 8]],
    );
    agrees(
        &net::<BilinearResidual<B>, 4>(),
        &dynamic(),
        &[[2, 3, 12, 16], [1, 3, 4, 8]],
    );
}

#[test]
fn deep_supervision_heads_are_outputs_when_asked_for() {
    let net = net::<LayerSilu<B>, 4>();
    agrees(&net, &with_aux(), &[[2, 1, 16, 12], [1, 1, 8, 8]]);
    agrees(&net, &dynamic(), &[[1, 1, 8, 8]]);
    let model = onnx::model::<B, _, 4>(&net, &with_aux()).unwrap();
    let names: Vec<&str> = model.graph.output.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["logits", "aux1"]);
    // The logits have the input's dynamic sizes, the half-size head its own.
    let spatial = |o: &onnx::proto::ValueInfoProto| -> Vec<String> {
        let Some(onnx::proto::type_proto::Value::TensorType(t)) = &o.type_.value else {
            panic!("{} is no tensor", o.name)
        };
        t.shape.dim[2..]
            .iter()
            .map(|d| match &d.value {
                Some(onnx::proto::tensor_shape_proto::dimension::Value::DimParam(p)) => p.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    };
    let graph = &model.graph;
    assert_eq!(spatial(&graph.input[0]), ["height", "width"]);
    assert_eq!(spatial(&graph.output[0]), ["height", "width"]);
    assert_eq!(spatial(&graph.output[1]), ["aux1_height", "aux1_width"]);
    // Without `aux` the head is not in the graph at all, nor are its weights.
    let model = onnx::model::<B, _, 4>(&net, &dynamic()).unwrap();
    assert!(model.graph.node.iter().all(|n| !n.name.contains("aux1")));
    assert!(model
        .graph
        .initializer
        .iter()
        .all(|t| !t.name.contains("aux1")));
    assert_eq!(model.graph.output.len(), 1);
}

#[test]
fn pad_input_pads_and_crops_in_the_graph_for_any_size() {
    let net = net::<PadMish<B>, 4>();
    agrees(
        &net,
        &with_aux(),
        &[[2, 2, 13, 19], [1, 2, 20, 24], [1, 2, 7, 5]],
    );
    // A fixed size too small to reflect: the graph repeats the edge, as the network does.
    let small = OnnxOptions {
        input: Some(vec![1, 3]),
        aux: true,
    };
    agrees(&net, &small, &[[1, 2, 1, 3]]);
}

#[test]
fn valid_padding_fixes_the_size_and_crops_skips_and_shortcuts() {
    let gate = net::<ValidGate<B>, 4>();
    let side = <ValidGate<B> as Network<B>>::fitting_size(40);
    let options = OnnxOptions {
        input: Some(vec![side, side + 8]),
        aux: false,
    };
    agrees(&gate, &options, &[[2, 1, side, side + 8]]);
    agrees(&net::<ValidDeclared<B>, 4>(), &dynamic(), &[[1, 1, 44, 52]]);
}

#[test]
fn volumes_export_every_up_mode_and_attention() {
    agrees(
        &net::<Volume<B>, 5>(),
        &dynamic(),
        &[[2, 1, 8, 4, 12], [1, 1, 4, 4, 4]],
    );
    agrees(
        &net::<VolumeScse<B>, 5>(),
        &dynamic(),
        &[[1, 1, 4, 6, 8], [2, 1, 2, 2, 2]],
    );
    agrees(
        &net::<VolumeTrilinear<B>, 5>(),
        &with_aux(),
        &[[1, 1, 5, 7, 9], [2, 1, 4, 4, 8]],
    );
    agrees(
        &net::<VolumeValid<B>, 5>(),
        &dynamic(),
        &[[1, 1, 20, 20, 24]],
    );
}

#[test]
fn volumes_export_instance_and_layer_norm_prelu_and_valid_shortcuts() {
    agrees(
        &net::<VolumeInstancePrelu<B>, 5>(),
        &dynamic(),
        &[[2, 1, 4, 8, 12], [1, 1, 8, 4, 4]],
    );
    agrees(
        &net::<VolumeLayerValid<B>, 5>(),
        &dynamic(),
        &[[2, 1, 20, 20, 24]],
    );
}

/// 3D sub-voxel convolution has no `unet!` key (PyTorch has no 3D pixel shuffle), but the
/// block exports: its graph, wired by hand, matches its forward.
#[test]
fn a_voxel_shuffle_block_matches_its_forward() {
    use unet::blocks::{UpMode, UpSample3d, UpSample3dConfig};
    let device = Default::default();
    let up: UpSample3d<B, 4, 2> =
        UpSample3dConfig::new(UpMode::PixelShuffle).init::<B, 4, 2>(&device);
    let up = up.map(&mut Jitter);
    let mut g = onnx::Graph::new(5);
    let x = g.input("input", 4, None);
    let y = up.onnx(&mut g, "up", &x).unwrap();
    g.output("out", &y);
    let bytes = unet::onnx::encode(g.into_model("shuffle", "")).unwrap();
    let shape = [2, 4, 2, 3, 4];
    let x = Tensor::<B, 5>::random(shape, Distribution::Normal(0.0, 1.0), &device);
    let want = values(
        up.forward::<unet::L0>(unet::Feature3d::try_new(x.clone()).unwrap())
            .into_tensor(),
    );
    let got = tract_run(&bytes, &shape, &values(x));
    assert!(rel_l2(&got[0], &want) < 1e-5);
}

#[test]
fn weights_and_nodes_carry_the_pytorch_names() {
    let model = onnx::model::<B, _, 4>(&net::<Plain<B>, 4>(), &dynamic()).unwrap();
    let graph = &model.graph;
    let weights: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    for name in [
        "down1.conv.net.0.weight",
        "bottleneck.net.2.bias",
        "up1.up.weight",
        "out.weight",
    ] {
        assert!(weights.contains(&name), "{name} not in {weights:?}");
    }
    assert!(graph
        .node
        .iter()
        .any(|n| n.name == "up2.conv.net.2" && n.op_type == "Conv"));
    assert_eq!(model.opset_import[0].version, onnx::OPSET);
    let batch = net::<BatchGate<B>, 4>();
    let model = onnx::model::<B, _, 4>(&batch, &dynamic()).unwrap();
    let names: Vec<&str> = model
        .graph
        .initializer
        .iter()
        .map(|t| t.name.as_str())
        .collect();
    assert!(
        names.contains(&"encoder.down1.conv.norm1.running_var"),
        "{names:?}"
    );
}

#[test]
fn sizes_the_network_rejects_are_typed_errors() {
    let valid = net::<ValidGate<B>, 4>();
    let err = onnx::to_bytes::<B, _, 4>(&valid, &dynamic()).unwrap_err();
    assert!(
        matches!(
            err,
            OnnxError::NeedsInputSize {
                key: "padding: valid"
            }
        ),
        "{err}"
    );
    let odd = OnnxOptions {
        input: Some(vec![13, 16]),
        aux: false,
    };
    let err = onnx::to_bytes::<B, _, 4>(&net::<Plain<B>, 4>(), &odd).unwrap_err();
    assert!(matches!(err, OnnxError::Input(_)), "{err}");
    // Past i64::MAX a dimension would be written negative: refused before any node.
    let huge = OnnxOptions {
        input: Some(vec![1 << 63, 16]),
        aux: false,
    };
    let err = onnx::to_bytes::<B, _, 4>(&net::<Plain<B>, 4>(), &huge).unwrap_err();
    assert!(
        matches!(err, OnnxError::InputTooLarge { side } if side == 1 << 63),
        "{err}"
    );
}

#[test]
fn save_onnx_writes_a_file_tract_reads() {
    let dir = std::env::temp_dir().join(format!("unet-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plain.onnx");
    let net = net::<Plain<B>, 4>();
    net.save_onnx(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let x = Tensor::<B, 4>::random(
        [1, 1, 8, 8],
        Distribution::Normal(0.0, 1.0),
        &Default::default(),
    );
    let want = values(net.forward_checked(x.clone()).unwrap());
    let got = tract_run(&bytes, &[1, 1, 8, 8], &values(x));
    assert!(rel_l2(&got[0], &want) < 1e-5);
    std::fs::remove_dir_all(&dir).unwrap();
}
