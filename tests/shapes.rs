//! Generated networks on the CPU backend: output shapes, parameter counts, consts, summaries
//! and the run-time shape errors at the untyped boundary.

use unet::backend::Cpu;
use unet::burn::module::Module;
use unet::geometry::SizeProblem;
use unet::prelude::*;
use unet::{Concat, ShapeError};

type B = Cpu;

// Every `up` x `padding` combination at depths 1 and 3, plus odd widths and classes.
unet!(TransSame1<depth: 1, base: 4, up: transposed, padding: same>);
unet!(TransSame3<depth: 3, base: 4, up: transposed, padding: same, in_channels: 2, classes: 3>);
unet!(BilinSame1<depth: 1, base: 4, up: bilinear, padding: same>);
unet!(BilinSame3<depth: 3, base: 4, up: bilinear, padding: same, classes: 2>);
unet!(NearSame1<depth: 1, base: 4, up: nearest, padding: same>);
unet!(NearSame3<depth: 3, base: 3, up: nearest, padding: same, growth: 3>);
unet!(TransValid1<depth: 1, base: 4, up: transposed, padding: valid>);
unet!(TransValid3<depth: 3, base: 4, up: transposed, padding: valid, classes: 2>);
unet!(BilinValid1<depth: 1, base: 4, up: bilinear, padding: valid>);
unet!(BilinValid3<depth: 3, channels: [4, 6, 10, 12], up: bilinear, padding: valid>);
unet!(NearValid1<depth: 1, base: 4, up: nearest, padding: valid, in_channels: 3>);
unet!(NearValid3<depth: 3, base: 4, up: nearest, padding: valid>);
unet!(Deep5<depth: 5, base: 2, growth: 1>);
unet!(Declared<depth: 2, base: 4, input: (32, 48)>);
unet!(
    /// The classic U-Net of the down/up-layout PyTorch reference (depth 4, base 64).
    Classic<depth: 4, base: 64, up: transposed>
);
unet!(Paper<depth: 4, base: 64, up: transposed, padding: valid, in_channels: 1, classes: 2, input: (572, 572)>);

fn device() -> unet::burn::tensor::Device<B> {
    Default::default()
}

fn random(shape: [usize; 4]) -> Tensor<B, 4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &device())
}

/// The paper's relation, written independently of the library: valid padding loses
/// `12 * 2^depth - 8` pixels per axis.
fn valid_output(depth: usize, input: usize) -> usize {
    input - (12 * (1 << depth) - 8)
}

macro_rules! check_net {
    ($net:ident, $input:expr, $out:expr) => {{
        let net = $net::<B>::new(&device());
        let [h, w]: [usize; 2] = $input;
        let x = random([2, $net::<B>::IN_CHANNELS, h, w]);
        let y = net.forward(x).expect(stringify!($net));
        assert_eq!(
            y.dims(),
            [2, $net::<B>::CLASSES, $out[0], $out[1]],
            stringify!($net)
        );
        assert_eq!(
            $net::<B>::output_size(h, w).unwrap(),
            $out,
            stringify!($net)
        );
        // PARAMS and the summary's total come from the macro's plan; burn's count of the
        // built network is the independent one (no BatchNorm here, so no running stats).
        assert_eq!(
            net.num_params(),
            $net::<B>::PARAMS,
            "{} PARAMS",
            stringify!($net)
        );
        assert_eq!(
            $net::<B>::summary().total_params(),
            net.num_params(),
            "{} summary",
            stringify!($net)
        );
    }};
}

#[test]
fn same_padding_keeps_the_input_size_for_every_up_mode() {
    check_net!(TransSame1, [6, 10], [6, 10]);
    check_net!(TransSame3, [16, 24], [16, 24]);
    check_net!(BilinSame1, [8, 8], [8, 8]);
    check_net!(BilinSame3, [24, 16], [24, 16]);
    check_net!(NearSame1, [4, 2], [4, 2]);
    check_net!(NearSame3, [8, 16], [8, 16]);
    check_net!(Deep5, [32, 64], [32, 64]);
}

#[test]
fn valid_padding_loses_the_paper_margin_for_every_up_mode() {
    let d1 = [valid_output(1, 24), valid_output(1, 20)];
    check_net!(TransValid1, [24, 20], d1);
    check_net!(BilinValid1, [24, 20], d1);
    check_net!(NearValid1, [24, 20], d1);
    let d3 = [valid_output(3, 100), valid_output(3, 108)];
    check_net!(TransValid3, [100, 108], d3);
    check_net!(BilinValid3, [100, 108], d3);
    check_net!(NearValid3, [100, 108], d3);
    assert_eq!(TransValid3::<B>::MARGIN, 88);
}

#[test]
fn classic_unet_has_pytorchs_31_030_593_parameters() {
    assert_eq!(Classic::<B>::PARAMS, 31_030_593);
    assert_eq!(Classic::<B>::new(&device()).num_params(), 31_030_593);
    assert_eq!(Classic::<B>::CHANNELS, [64, 128, 256, 512, 1024]);
    assert_eq!(
        (
            Classic::<B>::DEPTH,
            Classic::<B>::IN_CHANNELS,
            Classic::<B>::CLASSES
        ),
        (4, 1, 1)
    );
    assert_eq!(Classic::<B>::UP, unet::blocks::UpMode::Transposed);
}

#[test]
fn paper_network_maps_572_to_388() {
    assert_eq!(Paper::<B>::INPUT, Some([572, 572]));
    assert_eq!(Paper::<B>::OUTPUT, Some([388, 388]));
    assert_eq!(Paper::<B>::MARGIN, 184);
    assert_eq!(Paper::<B>::output_size(572, 572).unwrap(), [388, 388]);
    // PyTorch's classic count plus the second class's head channel (64 weights + 1 bias);
    // valid padding changes no weight.
    assert_eq!(Paper::<B>::PARAMS, 31_030_593 + 65);
    assert_eq!(Paper::<B>::new(&device()).num_params(), 31_030_593 + 65);
}

/// The U-Net paper's Figure 1 for a 572x572 tile: every convolution, pooling and up-conv,
/// as `(channels, side)`, input to output.
#[rustfmt::skip]
const PAPER_FIGURE: [(usize, usize); 27] = [
    (64, 570), (64, 568), (64, 284),
    (128, 282), (128, 280), (128, 140),
    (256, 138), (256, 136), (256, 68),
    (512, 66), (512, 64), (512, 32),
    (1024, 30), (1024, 28),
    (512, 56), (512, 54), (512, 52),
    (256, 104), (256, 102), (256, 100),
    (128, 200), (128, 198), (128, 196),
    (64, 392), (64, 390), (64, 388),
    (2, 388),
];

#[test]
fn paper_network_layer_shapes_follow_the_papers_figure() {
    let shaped = Paper::<B>::summary_for([1, 1, 572, 572]).unwrap();
    let layers: Vec<(usize, usize)> = shaped
        .modules()
        .into_iter()
        .filter(|(_, l, _)| !l.kind.contains("ReLU"))
        .map(|(_, _, shape)| {
            assert_eq!(shape[1], shape[2], "{shape:?}");
            (shape[0], shape[1])
        })
        .collect();
    assert_eq!(layers, PAPER_FIGURE);
    // The declared input gives the same table, and a size the forward pass rejects gives
    // its error.
    assert_eq!(Paper::<B>::summary().to_string(), shaped.to_string());
    assert_eq!(
        Paper::<B>::summary_for([1, 1, 570, 570]).unwrap_err(),
        Paper::<B>::check_input([1, 1, 570, 570]).unwrap_err()
    );
}

// The same network without a declared input, to see its symbolic table.
unet!(PaperAnySize<depth: 4, base: 64, up: transposed, padding: valid, classes: 2>);

#[test]
fn valid_padding_shows_every_reduction_symbolically() {
    let text = PaperAnySize::<B>::summary().to_string();
    for size in [
        "64 x H-2 x W-2",
        "64 x H-4 x W-4",
        "64 x (H-4)/2 x (W-4)/2",
        "1024 x (H-124)/16 x (W-124)/16",
        "512 x (H-124)/8 x (W-124)/8",
        "2 x H-184 x W-184",
    ] {
        assert!(text.contains(size), "{size} missing from\n{text}");
    }
    let shaped = PaperAnySize::<B>::summary_for([1, 1, 572, 572]).unwrap();
    assert_eq!(
        shaped.shapes(),
        Paper::<B>::summary_for([1, 1, 572, 572]).unwrap().shapes()
    );
}

#[test]
fn summary_lists_every_layer_and_ends_with_the_total() {
    let text = Classic::<B>::summary().to_string();
    assert!(
        text.starts_with("Classic: U-Net depth 4, channels [64, 128, 256, 512, 1024]"),
        "{text}"
    );
    assert!(text.ends_with("Total params: 31,030,593"), "{text}");
    for layer in [
        "encoder.down1.conv",
        "encoder.bottleneck",
        "decoder.up1.up",
        "decoder.up4.conv",
        "decoder.out",
    ] {
        assert!(text.contains(layer), "{layer} missing from\n{text}");
    }
    assert!(text.contains("1024 x H/16 x W/16"), "{text}");
}

#[test]
fn wrong_channel_count_is_a_shape_error_naming_both() {
    let net = TransSame3::<B>::new(&device());
    let err = net.forward(random([1, 3, 16, 16])).unwrap_err();
    assert_eq!(
        err,
        ShapeError::Channels {
            expected: 2,
            actual: 3,
            shape: vec![1, 3, 16, 16]
        }
    );
    assert!(
        err.to_string().contains("expected 2 channels, got 3"),
        "{err}"
    );
}

#[test]
fn size_not_divisible_by_two_to_the_depth_names_the_nearest_sizes() {
    let net = TransSame3::<B>::new(&device());
    let err = net.forward(random([1, 2, 16, 20])).unwrap_err();
    match &err {
        ShapeError::Spatial {
            axis,
            actual,
            problem,
            below,
            above,
        } => {
            assert_eq!(
                (*axis, *actual, below, above),
                ("width", 20, &Some(16), &24)
            );
            assert_eq!(problem, &SizeProblem::NotMultiple { multiple: 8 });
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string().contains("nearest valid widths: 16 or 24"),
        "{err}"
    );
}

#[test]
fn valid_padding_rejects_an_odd_level_and_names_it() {
    let net = TransValid3::<B>::new(&device());
    let err = net.forward(random([1, 1, 102, 100])).unwrap_err();
    assert!(
        matches!(
            err,
            ShapeError::Spatial {
                axis: "height",
                actual: 102,
                problem: SizeProblem::OddAtLevel { .. },
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("level") && text.contains("odd size"),
        "{text}"
    );
}

#[test]
fn declared_input_size_is_enforced_at_run_time() {
    let net = Declared::<B>::new(&device());
    assert_eq!(
        net.forward(random([1, 1, 32, 48])).unwrap().dims(),
        [1, 1, 32, 48]
    );
    let err = net.forward(random([1, 1, 48, 32])).unwrap_err();
    assert_eq!(
        err,
        ShapeError::Declared {
            expected: vec![32, 48],
            actual: vec![48, 32]
        }
    );
}

#[test]
fn empty_batch_is_a_shape_error() {
    let net = TransSame1::<B>::new(&device());
    let err = net
        .forward(Tensor::zeros([0, 1, 8, 8], &device()))
        .unwrap_err();
    assert!(matches!(err, ShapeError::EmptyBatch { .. }), "{err:?}");
}

#[test]
fn feature_try_new_checks_the_channel_count() {
    assert!(Feature::<B, 3, L0>::try_new(random([1, 3, 4, 4])).is_ok());
    let err = Feature::<B, 4, L0>::try_new(random([1, 3, 4, 4])).unwrap_err();
    assert!(matches!(
        err,
        ShapeError::Channels {
            expected: 4,
            actual: 3,
            ..
        }
    ));
}

#[test]
fn concat_puts_the_upsampled_map_first_then_the_skip() {
    let up = Feature::<B, 2, L0>::try_new(Tensor::ones([1, 2, 4, 4], &device())).unwrap();
    let skip = Feature::<B, 3, L0>::try_new(Tensor::zeros([1, 3, 4, 4], &device())).unwrap();
    let cat = Concat::new(up, skip).into_tensor();
    assert_eq!(cat.dims(), [1, 5, 4, 4]);
    let per_channel: Vec<f32> = cat.sum_dim(3).sum_dim(2).into_data().to_vec().unwrap();
    assert_eq!(per_channel, vec![16.0, 16.0, 0.0, 0.0, 0.0]);
}

#[test]
fn concat_center_crops_a_larger_skip() {
    let up = Feature::<B, 1, L0>::try_new(Tensor::zeros([1, 1, 2, 2], &device())).unwrap();
    // 6x6 skip holding 0..36 row-major; the center 2x2 window is rows 2..4, cols 2..4.
    let values = Tensor::<B, 1, unet::burn::tensor::Int>::arange(0..36, &device()).float();
    let skip = Feature::<B, 1, L0>::try_new(values.reshape([1, 1, 6, 6])).unwrap();
    let cat = Concat::new(up, skip).into_tensor();
    let cropped: Vec<f32> = cat.narrow(1, 1, 1).into_data().to_vec().unwrap();
    assert_eq!(cropped, vec![14.0, 15.0, 20.0, 21.0]);
}

// Leaky units pass a gradient wherever they are: with ReLU, an unseeded initialisation
// occasionally leaves every unit of a 4-channel level dead for an 8x8 input, and no gradient
// reaches the first conv however the network is wired.
unet!(LeakySame1<depth: 1, base: 4, up: bilinear, padding: same, act: leaky_relu>);

#[test]
fn gradients_flow_through_a_generated_network() {
    type AD = unet::backend::CpuAutodiff;
    let device = Default::default();
    let net = LeakySame1::<AD>::new(&device);
    let x = Tensor::<AD, 4>::random([1, 1, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let loss = net.forward(x).unwrap().powi_scalar(2).mean();
    let grads = loss.backward();
    let first = net
        .encoder
        .down1
        .conv
        .conv1
        .weight
        .grad(&grads)
        .expect("gradient of the first conv");
    assert!(first.abs().sum().into_scalar() > 0.0);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn asking_for_cuda_without_the_feature_is_an_error() {
    let err = unet::backend::cuda_device(0).unwrap_err();
    assert_eq!(
        err,
        unet::backend::BackendError::NotCompiled { backend: "cuda" }
    );
}

#[test]
fn bilinear_upsampling_matches_pytorch_align_corners_false() {
    use unet::blocks::{UpMode, UpSample, UpSampleConfig};
    use unet::burn::module::Param;
    let device = device();
    let mut up: UpSample<B, 1, 1> = UpSampleConfig::new(UpMode::Bilinear).init(&device);
    // Make the 1x1 projection the identity so only the interpolation shows.
    let conv = up.project.as_mut().unwrap();
    conv.weight = Param::from_tensor(Tensor::ones([1, 1, 1, 1], &device));
    conv.bias = Some(Param::from_tensor(Tensor::zeros([1], &device)));
    let x = Tensor::<B, 1>::from_floats([0.0, 1.0, 2.0, 3.0], &device).reshape([1, 1, 2, 2]);
    let y = up
        .forward(Feature::<B, 1, L1>::try_new(x).unwrap())
        .into_tensor();
    let got: Vec<f32> = y.into_data().to_vec().unwrap();
    // torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    let want = [
        0.0, 0.25, 0.75, 1.0, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2.0, 2.25, 2.75, 3.0,
    ];
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "got {got:?}");
    }
}

// The macro's three delimiters, a doc comment, `struct` and a restricted visibility.
unet!(
    /// A doc comment carried over to the struct.
    pub Wired<depth: 2, base: 8, up: bilinear, in_channels: 3, classes: 4>
);
unet! { pub(crate) struct ValidBraced<depth: 1, base: 4, padding: valid, input: (20, 20)> }
unet![Bracketed<depth: 1, base: 2>];

#[test]
fn hand_wiring_through_the_public_fields_matches_forward() {
    let net = Wired::<B>::new(&device());
    let x = random([2, 3, 16, 16]);
    let y = net.forward(x.clone()).unwrap();
    assert_eq!(y.dims(), [2, 4, 16, 16]);
    let (bottom, skips) = net.encoder.forward(Feature::try_new(x).unwrap());
    let x1: Feature<B, 16, L1> = net.decoder.up1.forward(bottom, skips.level1);
    let x0: Feature<B, 8, L0> = net.decoder.up2.forward(x1, skips.level0);
    let logits: Feature<B, 4, L0> = net.decoder.out.forward(x0);
    let diff = (logits.into_tensor() - y).abs().max().into_scalar();
    assert!(diff < 1e-6, "hand wiring differs by {diff}");
}

#[test]
fn every_macro_delimiter_expands_to_a_working_network() {
    let valid = ValidBraced::<B>::new(&device());
    let out = valid
        .forward(Tensor::zeros([1, 1, 20, 20], &device()))
        .unwrap();
    assert_eq!(out.dims(), [1, 1, 4, 4]);
    assert_eq!(ValidBraced::<B>::OUTPUT, Some([4, 4]));
    assert_eq!(Bracketed::<B>::CHANNELS, [2, 4]);
}

#[test]
fn fitting_size_is_the_next_size_that_fits_and_ends_for_any_input() {
    fn check<N: unet::Network<B>>() {
        for s in 0..1500 {
            let scanned = (s..).find(|&t| N::fits(t)).unwrap();
            assert_eq!(N::fitting_size(s), scanned, "from {s}");
        }
    }
    check::<PaperAnySize<B>>();
    check::<TransSame3<B>>();
    check::<NearValid3<B>>();
    // Past i64::MAX no size fits valid padding: the input itself comes back, for the caller's
    // bound to refuse, at once rather than after 2^63 tries.
    let huge = 1usize << 63;
    assert_eq!(
        <PaperAnySize<B> as unet::Network<B>>::fitting_size(huge),
        huge
    );
}
