//! The U-Net family: norms, activations, dropout, pixel shuffle, residual blocks, attention,
//! deep supervision and any-size inputs, each checked for output shapes, exact parameter
//! counts (PARAMS and the summary agree with burn's count of the built network, and with
//! PyTorch's for the combinations of `scripts/variant_params.py`) and its behaviour.

use unet::backend::{Cpu, CpuAutodiff};
use unet::burn::module::Module;
use unet::burn::tensor::{Int, TensorData, Tolerance};
use unet::prelude::*;
use unet::Network;

type B = Cpu;

unet!(Batch<depth: 2, base: 8, norm: batch>);
unet!(Instance<depth: 2, base: 8, norm: instance, act: gelu>);
unet!(Group<depth: 3, base: 8, norm: group(4), act: silu, classes: 3>);
unet!(Layer<depth: 2, base: 6, norm: layer, act: leaky_relu(0.2)>);
unet!(PRelu<depth: 2, base: 4, act: prelu, in_channels: 3>);
unet!(Mish<depth: 2, base: 4, act: mish>);
unet!(Shuffle<depth: 2, base: 4, up: pixelshuffle>);
unet!(Residual<depth: 2, base: 4, residual: true, norm: batch>);
unet!(ResidualValid<depth: 2, base: 4, residual: true, padding: valid>);
unet!(Gate<depth: 3, base: 4, attention: gate>);
unet!(GateValid<depth: 2, base: 4, attention: gate, padding: valid, up: bilinear>);
unet!(GateConcat<depth: 2, base: 4, attention: gate, up: nearest_concat>);
unet!(Scse<depth: 2, base: 32, attention: scse>);
unet!(Dropout<depth: 2, base: 4, dropout: { bottleneck: 0.5, blocks: 0.2 }>);
unet!(Deep<depth: 4, base: 4, deep_supervision: 3, classes: 2>);
unet!(Padded<depth: 3, base: 4, pad_input: true>);
unet!(PaddedDeep<depth: 3, base: 4, pad_input: true, deep_supervision: 2>);
unet!(Everything<depth: 3, base: 8, norm: group(2), act: prelu, residual: true, attention: scse,
      up: pixelshuffle, dropout: 0.3, deep_supervision: 1, pad_input: true, in_channels: 2, classes: 4>);

// The same three networks are built from stock torch.nn layers by scripts/variant_params.py.
unet!(BatchClassic<depth: 4, base: 64, norm: batch>);
unet!(GroupResidualGate<depth: 3, base: 16, norm: group(8), act: prelu, residual: true,
      attention: gate, up: bilinear, in_channels: 3, classes: 2>);
unet!(InstanceScseShuffle<depth: 3, base: 32, norm: instance, act: leaky_relu, attention: scse,
      up: pixelshuffle, deep_supervision: 2, classes: 4>);
// And these two by scripts/summary_memory.py, which runs torchsummary on them.
unet!(Paper<depth: 4, base: 64, up: transposed, padding: valid, classes: 2>);
unet!(BatchDropout<depth: 3, base: 16, norm: batch, dropout: { bottleneck: 0.5, blocks: 0.1 },
      up: bilinear, in_channels: 3, classes: 4>);

fn device() -> unet::burn::tensor::Device<B> {
    Default::default()
}

fn random<Bk: Backend>(shape: [usize; 4], device: &Bk::Device) -> Tensor<Bk, 4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
}

/// Output shape, and PARAMS and the summary's total against burn's count of the built `net`
/// (independent of the macro's plan). burn counts BatchNorm's running mean and variance as
/// parameters; PyTorch (and PARAMS) counts only trainable ones. The extra is `2 * C` per
/// BatchNorm ([`batch_norm_channels`]), summed by the caller.
fn check<N: Network<B>>(net: &N, input: [usize; 2], output: [usize; 2], running_stats: usize) {
    let x = random::<B>([2, N::IN_CHANNELS, input[0], input[1]], &device());
    let y = net.forward_checked(x).expect(N::NAME);
    assert_eq!(
        y.dims(),
        [2, N::CLASSES, output[0], output[1]],
        "{}",
        N::NAME
    );
    assert_eq!(
        net.num_params(),
        N::PARAMS + running_stats,
        "{} PARAMS",
        N::NAME
    );
    assert_eq!(
        N::layer_summary().total_params(),
        net.num_params() - running_stats,
        "{} summary",
        N::NAME
    );
}

/// Channels of every DoubleConv's norms in a same-width-per-level net: two norms per block,
/// encoder levels, bottleneck and decoder levels.
fn batch_norm_channels(channels: &[usize]) -> usize {
    let depth = channels.len() - 1;
    let encoder: usize = channels.iter().map(|c| 2 * c).sum();
    let decoder: usize = channels[..depth].iter().map(|c| 2 * c).sum();
    encoder + decoder
}

#[test]
fn every_norm_and_activation_keeps_shapes_and_counts_exact() {
    let d = device();
    let stats = 2 * batch_norm_channels(&Batch::<B>::CHANNELS);
    check(&Batch::<B>::new(&d), [16, 8], [16, 8], stats);
    check(&Instance::<B>::new(&d), [8, 12], [8, 12], 0);
    check(&Group::<B>::new(&d), [16, 16], [16, 16], 0);
    check(&Layer::<B>::new(&d), [8, 8], [8, 8], 0);
    check(&PRelu::<B>::new(&d), [8, 4], [8, 4], 0);
    check(&Mish::<B>::new(&d), [8, 8], [8, 8], 0);
}

#[test]
fn mish_is_x_times_tanh_of_softplus_after_each_norm() {
    let block = &Mish::<B>::new(&device()).encoder.down1.conv;
    let x = random::<B>([1, 4, 3, 3], &device());
    let expected = x.clone() * x.clone().exp().log1p().tanh();
    let got = block.act1.forward(x);
    let diff = (got - expected).abs().max().into_scalar();
    assert!(diff < 1e-5, "{diff}");
    assert!(Mish::<B>::summary().rows[0].kind.contains("+ Mish)"));
}

#[test]
fn norms_take_the_conv_bias_away_and_add_a_scale_and_shift() {
    // One DoubleConv 1 -> 8 -> 8 with a norm: 9*1*8 + 9*8*8 weights, 2 * (8 + 8) affine.
    let row = |s: unet::Summary| s.rows[0].params;
    assert_eq!(row(Batch::<B>::summary()), 9 * 8 + 9 * 64 + 2 * 16);
    assert_eq!(row(Instance::<B>::summary()), 9 * 8 + 9 * 64 + 2 * 16);
    assert!(Batch::<B>::summary().rows[0].kind.contains("BatchNorm"));
    assert!(Group::<B>::summary().rows[0].kind.contains("GroupNorm(4)"));
    assert!(Layer::<B>::summary().rows[0]
        .kind
        .contains("LeakyReLU(0.2)"));
    // PReLU: one learned slope per activation, two per DoubleConv.
    assert_eq!(row(PRelu::<B>::summary()), 9 * 3 * 4 + 4 + 9 * 16 + 4 + 2);
}

#[test]
fn pixel_shuffle_and_residual_blocks_keep_shapes_with_both_paddings() {
    let d = device();
    check(&Shuffle::<B>::new(&d), [8, 16], [8, 16], 0);
    let stats = 2 * batch_norm_channels(&Residual::<B>::CHANNELS);
    check(&Residual::<B>::new(&d), [12, 8], [12, 8], stats);
    // Valid padding: the shortcut is center-cropped to the shrunken body (44 -> 4 at depth 2).
    check(&ResidualValid::<B>::new(&d), [44, 52], [4, 12], 0);
}

#[test]
fn pixel_shuffle_moves_channel_blocks_to_pixel_offsets_like_pytorch() {
    // PyTorch: PixelShuffle(2) of channel 4c + 2i + j goes to (2y + i, 2x + j).
    let x = Tensor::<B, 1, Int>::arange(0..16, &device())
        .float()
        .reshape([1, 4, 2, 2]);
    let y = unet::blocks::pixel_shuffle(x);
    assert_eq!(y.dims(), [1, 1, 4, 4]);
    let expected = TensorData::from([[[
        [0.0f32, 4.0, 1.0, 5.0],
        [8.0, 12.0, 9.0, 13.0],
        [2.0, 6.0, 3.0, 7.0],
        [10.0, 14.0, 11.0, 15.0],
    ]]]);
    y.into_data().assert_eq(&expected, true);
}

#[test]
fn attention_gates_and_scse_keep_shapes_and_counts() {
    let d = device();
    check(&Gate::<B>::new(&d), [16, 24], [16, 24], 0);
    check(&GateValid::<B>::new(&d), [44, 44], [4, 4], 0);
    check(&GateConcat::<B>::new(&d), [8, 8], [8, 8], 0);
    check(&Scse::<B>::new(&d), [8, 8], [8, 8], 0);
    let gate = Gate::<B>::summary();
    let row = gate
        .rows
        .iter()
        .find(|r| r.name == "decoder.up3.gate")
        .unwrap();
    // Skip of 4 channels, gating map of 4: W_g 4->2, W_x 4->2, psi 2->1, all with bias.
    assert_eq!(row.params, (4 * 2 + 2) + (4 * 2 + 2) + (2 + 1));
}

#[test]
fn an_attention_gate_weights_the_skip_by_a_per_pixel_factor_in_zero_one() {
    let d = device();
    let gate = unet::blocks::AttentionGateConfig::new().init::<B, 4, 6>(&d);
    let g = Feature::<B, 4, L0>::try_new(random::<B>([1, 4, 5, 5], &d)).unwrap();
    let skip = random::<B>([1, 6, 5, 5], &d).abs() + 0.1;
    let gated = gate.forward(&g, Feature::<B, 6, L0>::try_new(skip.clone()).unwrap());
    let ratio = gated.into_tensor() / skip;
    // The same factor for every channel of a pixel, strictly between 0 and 1.
    let spread = ratio.clone().max_dim(1) - ratio.clone().min_dim(1);
    assert!(spread.max().into_scalar() < 1e-5);
    assert!(ratio.clone().min().into_scalar() > 0.0);
    assert!(ratio.max().into_scalar() < 1.0);
}

#[test]
fn dropout_is_active_in_training_and_off_in_inference() {
    let d = device();
    let net = Dropout::<B>::new(&d);
    let x = random::<B>([1, 1, 16, 16], &d);
    let a = net.forward(x.clone()).unwrap();
    let b = net.forward(x).unwrap();
    a.into_data().assert_eq(&b.into_data(), true);
    assert!(Dropout::<B>::summary()
        .rows
        .iter()
        .any(|r| r.kind.contains("Dropout 0.5")));
    assert!(Dropout::<B>::summary().rows[0].kind.contains("Dropout 0.2"));

    let ad = Default::default();
    let net = Dropout::<CpuAutodiff>::new(&ad);
    let x = random::<CpuAutodiff>([1, 1, 16, 16], &ad).require_grad();
    let a = net.forward(x.clone()).unwrap();
    let b = net.forward(x).unwrap();
    let diff = (a - b).abs().max().into_scalar();
    assert!(
        diff > 0.0,
        "two training forwards drew the same dropout masks"
    );
}

#[test]
fn deep_supervision_returns_a_typed_output_per_decoder_level() {
    let d = device();
    let net = Deep::<B>::new(&d);
    let x = Feature::<B, 1, L0>::try_new(random::<B>([2, 1, 32, 48], &d)).unwrap();
    let out: DeepOutputs<B> = net.forward_typed(x);
    let main: Feature<B, 2, L0> = out.out;
    let aux1: Feature<B, 2, L1> = out.aux1;
    let aux2: Feature<B, 2, L2> = out.aux2;
    let aux3: Feature<B, 2, L3> = out.aux3;
    assert_eq!(main.dims(), [2, 2, 32, 48]);
    assert_eq!(aux1.dims(), [2, 2, 16, 24]);
    assert_eq!(aux2.dims(), [2, 2, 8, 12]);
    assert_eq!(aux3.dims(), [2, 2, 4, 6]);
    check(&net, [32, 16], [32, 16], 0);
    let (main, aux) = net.forward_deep(random::<B>([1, 1, 16, 16], &d)).unwrap();
    assert_eq!(main.dims(), [1, 2, 16, 16]);
    let sizes: Vec<_> = aux.iter().map(|t| t.dims()).collect();
    assert_eq!(sizes, [[1, 2, 8, 8], [1, 2, 4, 4], [1, 2, 2, 2]]);
}

#[test]
fn pad_input_accepts_any_size_and_crops_back_to_it() {
    let d = device();
    let net = Padded::<B>::new(&d);
    for [h, w] in [[37, 23], [1, 1], [8, 8], [9, 100], [3, 2]] {
        check(&net, [h, w], [h, w], 0);
        assert_eq!(Padded::<B>::output_size(h, w).unwrap(), [h, w]);
    }
    assert!(<Padded<B> as Network<B>>::fits(13));
    assert_eq!(Padded::<B>::summary().rows[0].name, "pad");
    let shapes = Padded::<B>::summary_for([1, 1, 20, 33]).unwrap().shapes();
    assert_eq!(
        (&shapes[0], shapes.last().unwrap()),
        (&vec![1, 24, 40], &vec![1, 20, 33])
    );
    assert!(Padded::<B>::summary()
        .to_string()
        .contains("16 x H'/4 x W'/4"));
    // At a multiple of 2^depth nothing is padded: the output is the plain path's.
    let x = random::<B>([1, 1, 16, 24], &d);
    let plain = {
        let (bottom, skips) = net.encoder.forward(Feature::try_new(x.clone()).unwrap());
        net.decoder.forward(bottom, skips).into_tensor()
    };
    let padded = net.forward(x).unwrap();
    padded
        .into_data()
        .assert_approx_eq::<f32>(&plain.into_data(), Tolerance::default());
    let deep = PaddedDeep::<B>::new(&d);
    let out = deep.forward_typed(Feature::try_new(random::<B>([1, 1, 13, 30], &d)).unwrap());
    assert_eq!(out.out.dims(), [1, 1, 13, 30]);
    assert_eq!(out.aux1.dims(), [1, 1, 7, 15]);
    assert_eq!(out.aux2.dims(), [1, 1, 4, 8]);
}

#[test]
fn every_key_at_once_compiles_runs_and_counts_exactly() {
    let d = device();
    let net = Everything::<B>::new(&d);
    check(&net, [19, 21], [19, 21], 0);
    let (_, aux) = net.forward_deep(random::<B>([1, 2, 19, 21], &d)).unwrap();
    assert_eq!(aux[0].dims(), [1, 4, 10, 11]);
    let config = Everything::<B>::summary().config;
    for part in [
        "GroupNorm(2)",
        "PReLU",
        "residual",
        "scSE",
        "deep supervision 1",
        "pad_input",
    ] {
        assert!(config.contains(part), "{config}");
    }
}

#[test]
fn batch_norm_uses_batch_statistics_in_training_and_running_ones_in_inference() {
    let ad = Default::default();
    let net = Batch::<CpuAutodiff>::new(&ad);
    let x = random::<CpuAutodiff>([4, 1, 8, 8], &ad) * 3.0 + 5.0;
    let train = net.forward(x.clone().require_grad()).unwrap();
    let infer = unet::burn::module::AutodiffModule::valid(&net)
        .forward(x.inner())
        .unwrap();
    let diff = (train.inner() - infer).abs().max().into_scalar();
    assert!(diff > 1e-3, "train and inference BatchNorm agree ({diff})");
}

/// torchsummary's figures for the input `scripts/summary_memory.py` gave network `name`, next
/// to `summary_for`'s for the same input.
fn memory_against_pytorch<N: Network<B>>(name: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/summary_memory.json"
    );
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let torch = &all[name];
    let shape: Vec<usize> = serde_json::from_value(torch["input"].clone()).unwrap();
    let ours = N::summary_for(shape.try_into().unwrap()).unwrap().memory();
    for (key, value) in [
        ("input_mb", ours.input_mb),
        ("forward_backward_mb", ours.forward_backward_mb),
        ("params_mb", ours.params_mb),
        ("total_mb", ours.total_mb()),
    ] {
        let expected = torch[key].as_f64().unwrap();
        assert!(
            (value - expected).abs() <= 1e-9 * expected,
            "{name} {key}: {value} here, {expected} in PyTorch"
        );
    }
}

#[test]
fn memory_matches_torchsummary_for_the_paper_and_a_batch_norm_dropout_network() {
    memory_against_pytorch::<Paper<B>>("Paper");
    memory_against_pytorch::<BatchDropout<B>>("BatchDropout");
}

#[test]
fn memory_matches_pytorchs_layer_count_for_norms_residuals_gates_scse_and_deep_heads() {
    memory_against_pytorch::<BatchClassic<B>>("BatchClassic");
    memory_against_pytorch::<GroupResidualGate<B>>("GroupResidualGate");
    memory_against_pytorch::<InstanceScseShuffle<B>>("InstanceScseShuffle");
}

#[test]
fn params_match_pytorchs_count_for_three_combinations() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/variant_params.json"
    );
    let counts: std::collections::HashMap<String, usize> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(counts["BatchClassic"], BatchClassic::<B>::PARAMS);
    assert_eq!(counts["GroupResidualGate"], GroupResidualGate::<B>::PARAMS);
    assert_eq!(
        counts["InstanceScseShuffle"],
        InstanceScseShuffle::<B>::PARAMS
    );
    let d = device();
    let stats = 2 * batch_norm_channels(&BatchClassic::<B>::CHANNELS);
    assert_eq!(
        BatchClassic::<B>::new(&d).num_params(),
        counts["BatchClassic"] + stats
    );
    assert_eq!(
        GroupResidualGate::<B>::new(&d).num_params(),
        counts["GroupResidualGate"]
    );
    assert_eq!(
        InstanceScseShuffle::<B>::new(&d).num_params(),
        counts["InstanceScseShuffle"]
    );
}

unet!(Volume<depth: 2, base: 4, dims: 3, norm: instance, residual: true, classes: 2>);
unet!(VolumeValid<depth: 1, base: 2, dims: 3, padding: valid, up: nearest, input: (20, 20, 24)>);
unet!(VolumeConcat<depth: 2, base: 2, dims: 3, up: nearest_concat, norm: batch, dropout: 0.2>);
unet!(VolumeAnySize<depth: 2, base: 2, dims: 3, up: bilinear, pad_input: true, deep_supervision: 1,
      classes: 3>);
unet!(VolumeGate<depth: 2, base: 4, dims: 3, attention: gate, norm: group(2)>);
unet!(VolumeScse<depth: 2, base: 16, dims: 3, attention: scse, up: nearest_concat>);

#[test]
fn three_d_attention_gates_and_scse_keep_shapes_and_counts() {
    let d = device();
    let x = || Tensor::<B, 5>::random([1, 1, 4, 8, 8], Distribution::Normal(0.0, 1.0), &d);
    let gate = VolumeGate::<B>::new(&d);
    assert_eq!(gate.forward(x()).unwrap().dims(), [1, 1, 4, 8, 8]);
    assert_eq!(gate.num_params(), VolumeGate::<B>::PARAMS);
    assert!(gate.decoder.up1.gate.is_some());
    let scse = VolumeScse::<B>::new(&d);
    assert_eq!(scse.forward(x()).unwrap().dims(), [1, 1, 4, 8, 8]);
    assert_eq!(scse.num_params(), VolumeScse::<B>::PARAMS);
    assert_eq!(
        VolumeScse::<B>::summary().total_params(),
        scse.num_params(),
        "the table's rows count what the blocks allocate"
    );
}

#[test]
fn three_d_networks_pad_any_size_and_supervise_deeper_levels() {
    let d = device();
    let net = VolumeAnySize::<B>::new(&d);
    assert_eq!(net.num_params(), VolumeAnySize::<B>::PARAMS);
    // 5 x 7 x 9 is no multiple of 4: padded to 8 x 8 x 12, run, cropped back.
    let x = Tensor::<B, 5>::random([1, 1, 5, 7, 9], Distribution::Normal(0.0, 1.0), &d);
    assert_eq!(net.forward(x.clone()).unwrap().dims(), [1, 3, 5, 7, 9]);
    let (main, aux) = net.forward_deep(x).unwrap();
    assert_eq!(main.dims(), [1, 3, 5, 7, 9]);
    // The level-1 head at half resolution, rounded up.
    assert_eq!(
        aux.iter().map(|a| a.dims()).collect::<Vec<_>>(),
        [[1, 3, 3, 4, 5]]
    );
    assert_eq!(<VolumeAnySize<B> as Network<B, 5>>::DIMS, 3);
}

#[test]
fn three_d_networks_run_on_volumes_with_exact_counts() {
    let d = device();
    let net = Volume::<B>::new(&d);
    let x = Tensor::<B, 5>::random([2, 1, 8, 12, 16], Distribution::Normal(0.0, 1.0), &d);
    assert_eq!(net.forward(x).unwrap().dims(), [2, 2, 8, 12, 16]);
    assert_eq!(net.num_params(), Volume::<B>::PARAMS);
    assert_eq!(Volume::<B>::summary().total_params(), net.num_params());
    assert!(Volume::<B>::summary().rows[0].kind.contains("Conv 3x3x3"));

    // Valid padding: 20 -> 16 -> 8 -> 4 -> 8 -> 4 along each axis (margin 12 * 2 - 8 = 16).
    let valid = VolumeValid::<B>::new(&d);
    assert_eq!(VolumeValid::<B>::OUTPUT, Some([4, 4, 8]));
    let x = Tensor::<B, 5>::random([1, 1, 20, 20, 24], Distribution::Normal(0.0, 1.0), &d);
    assert_eq!(valid.forward(x).unwrap().dims(), [1, 1, 4, 4, 8]);
    assert_eq!(valid.num_params(), VolumeValid::<B>::PARAMS);
    let shaped = VolumeValid::<B>::summary_for([2, 1, 20, 20, 24]).unwrap();
    assert_eq!(shaped.shapes()[0], [2, 16, 16, 20]);
    assert_eq!(shaped.shapes().last().unwrap(), &[1, 4, 4, 8]);
    assert!(VolumeValid::<B>::summary()
        .to_string()
        .contains("2 x 18 x 18 x 22"));
    assert!(VolumeValid::<B>::summary_for([1, 1, 20, 20, 22]).is_err());

    let concat = VolumeConcat::<B>::new(&d);
    let x = Tensor::<B, 5>::random([1, 1, 4, 4, 4], Distribution::Normal(0.0, 1.0), &d);
    assert_eq!(concat.forward(x).unwrap().dims(), [1, 1, 4, 4, 4]);
    // burn counts BatchNorm's running statistics: 2 norms x (mean + var) per block.
    let stats: usize = 2 * batch_norm_channels(&VolumeConcat::<B>::CHANNELS);
    assert_eq!(concat.num_params(), VolumeConcat::<B>::PARAMS + stats);
}

#[test]
fn three_d_inputs_are_checked_on_every_axis() {
    let d = device();
    let net = Volume::<B>::new(&d);
    let x = Tensor::<B, 5>::zeros([1, 1, 6, 8, 8], &d);
    let err = net.forward(x).unwrap_err();
    assert!(
        matches!(
            err,
            unet::ShapeError::Spatial {
                axis: "depth",
                actual: 6,
                ..
            }
        ),
        "{err:?}"
    );
    let err = VolumeValid::<B>::output_size(20, 20, 20).unwrap_err();
    assert!(matches!(err, unet::ShapeError::Declared { .. }), "{err:?}");
}

#[test]
fn three_d_pooling_and_up_sampling_match_their_definitions() {
    let d = device();
    let x = Tensor::<B, 1, Int>::arange(0..64, &d)
        .float()
        .reshape([1, 1, 4, 4, 4]);
    let pooled = unet::blocks::max_pool3d_2x(x.clone());
    // The max of each 2x2x2 cube is its last element: index (2z+1)*16 + (2y+1)*4 + 2x+1.
    let expected: Vec<f32> = (0..8)
        .map(|i| {
            let (z, y, x) = (i / 4, (i / 2) % 2, i % 2);
            ((2 * z + 1) * 16 + (2 * y + 1) * 4 + 2 * x + 1) as f32
        })
        .collect();
    assert_eq!(pooled.dims(), [1, 1, 2, 2, 2]);
    assert_eq!(pooled.into_data().to_vec::<f32>().unwrap(), expected);
    let up = unet::blocks::upsample_nearest3d_2x(x.clone());
    assert_eq!(up.dims(), [1, 1, 8, 8, 8]);
    let back = unet::blocks::max_pool3d_2x(up);
    back.into_data().assert_eq(&x.into_data(), true);
}

/// Relative L2 distance of two tensors.
fn rel_l2(a: Tensor<B, 4>, b: Tensor<B, 4>) -> f32 {
    let diff: f32 = (a.clone() - b).powi_scalar(2).sum().into_scalar();
    let norm: f32 = a.powi_scalar(2).sum().into_scalar();
    (diff / norm).sqrt()
}

#[test]
fn mirrored_test_time_augmentation_commutes_with_mirroring_where_one_pass_does_not() {
    use unet::infer::tta::Tta;
    let device = device();
    let group = Group::<B>::new(&device);
    let x = random::<B>([2, 1, 16, 16], &device);
    let flipped = x.clone().flip([3]);
    let tta = |x| Tta::Mirror.forward(&group, x).unwrap();
    assert!(rel_l2(tta(flipped.clone()), tta(x.clone()).flip([3])) < 1e-5);
    let plain = |x| Tta::Off.forward(&group, x).unwrap();
    assert!(rel_l2(plain(flipped), plain(x.clone()).flip([3])) > 1e-3);
    // Valid padding: the output is the input's centre, so mirroring still lines up.
    let valid = GateValid::<B>::new(&device);
    let x = random::<B>([1, 1, 44, 44], &device);
    let y = Tta::Mirror.forward(&valid, x.clone().flip([2])).unwrap();
    assert_eq!(y.dims(), [1, 1, 4, 4]);
    assert!(rel_l2(y, Tta::Mirror.forward(&valid, x).unwrap().flip([2])) < 1e-5);
}
