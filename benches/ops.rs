//! Where a flex train step spends its time, op by op, and whether an equivalent formulation of
//! the slow ops is cheaper: the project's host GEMM kernels (`unet::kernels`, what the blocks
//! use on flex), the decoder's 2x2 stride-2 transposed convolution as one matmul and a pixel
//! shuffle, the 3x3 convolution as shifted matmuls or unfold + matmul, and the 2x2 max-pool as a
//! reshape and a max; then each pass of the 3x3 convolution alone (burn's ops against the
//! kernels).
//!
//! ```sh
//! cargo bench --bench ops                      # 10 timed runs per op after 2 warm-ups
//! UNET_BENCH_REPEATS=20 cargo bench --bench ops
//! ```
//!
//! Every row is timed forward + backward (sum of the output, then `backward()`) on the autodiff
//! flex backend, at the shapes of the `small` (4x3x128x128, base 16) and `classic`
//! (1x1x256x256, base 64) benchmark rows; alternatives are alternated with the op they would
//! replace in one process and checked to give the same output.

use unet::backend::{Cpu, CpuAutodiff};
use unet::burn::module::AutodiffModule;
use unet::burn::nn::conv::{Conv2dConfig, ConvTranspose2dConfig};
use unet::burn::nn::pool::MaxPool2dConfig;
use unet::burn::nn::PaddingConfig2d;
use unet::burn::tensor::backend::Backend;
use unet::burn::tensor::{Distribution, Tensor};
use unet::kernels;
use unet::kernels::cpu_conv::{self, ConvGeometry};
use unet_bench::time_alternating;

type A = CpuAutodiff;

/// `[N, Cin, H, W] -> [N, Cout, 2H, 2W]` as `ConvTranspose2d(k=2, s=2)` with weight
/// `[Cin, Cout, 2, 2]`: every input pixel is a matmul to a 2x2 block of `Cout` channels.
fn transposed_as_matmul<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [n, cin, h, w] = x.dims();
    let cout = weight.dims()[1];
    let rows = x.permute([0, 2, 3, 1]).reshape([n * h * w, cin]);
    let y = rows.matmul(weight.reshape([cin, cout * 4]));
    y.reshape([n, h, w, cout, 2, 2])
        .permute([0, 3, 1, 4, 2, 5])
        .reshape([n, cout, 2 * h, 2 * w])
        + bias.reshape([1, cout, 1, 1])
}

/// The nine windows of a 3x3 kernel (padding 1) over `x`, tap-major (`dy * 3 + dx`), each the
/// channels-last `[N*H*W, Cin]` rows the tap reads.
fn shifted_windows<B: Backend>(x: Tensor<B, 4>) -> Vec<Tensor<B, 2>> {
    let [n, cin, h, w] = x.dims();
    let padded = x
        .pad(
            [(0, 0), (0, 0), (1, 1), (1, 1)],
            unet::burn::tensor::ops::PadMode::Constant(0.0),
        )
        .permute([0, 2, 3, 1]);
    (0..9)
        .map(|t| {
            let (dy, dx) = (t / 3, t % 3);
            padded
                .clone()
                .slice([0..n, dy..dy + h, dx..dx + w, 0..cin])
                .reshape([n * h * w, cin])
        })
        .collect()
}

/// A 3x3 convolution (padding 1, weight `[Cout, Cin, 3, 3]`) as nine matmuls on shifted
/// windows of the channels-last input: `sum_taps x[.., y+dy, x+dx, :] @ W[:, :, dy, dx]^T`.
fn conv3x3_as_shifted_matmuls<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [n, cin, h, w] = x.dims();
    let cout = weight.dims()[0];
    // [9, Cin, Cout]: tap-major.
    let taps = weight.permute([2, 3, 1, 0]).reshape([9, cin, cout]);
    shifted_windows(x)
        .into_iter()
        .enumerate()
        .map(|(t, window)| {
            let tap = taps
                .clone()
                .slice([t..t + 1, 0..cin, 0..cout])
                .reshape([cin, cout]);
            window.matmul(tap)
        })
        .reduce(|sum, y| sum + y)
        .expect("nine taps")
        .reshape([n, h, w, cout])
        .permute([0, 3, 1, 2])
        + bias.reshape([1, cout, 1, 1])
}

/// A 3x3 convolution (padding 1) as im2col (`unfold4d`) and one matmul.
fn conv3x3_as_unfold_matmul<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Tensor<B, 1>,
) -> Tensor<B, 4> {
    let [n, cin, h, w] = x.dims();
    let cout = weight.dims()[0];
    let cols = unet::burn::tensor::module::unfold4d(
        x,
        [3, 3],
        unet::burn::tensor::ops::UnfoldOptions::new([1, 1], [1, 1], [1, 1]),
    ); // [N, Cin*9, H*W]
    let y = weight.reshape([1, cout, cin * 9]).matmul(cols); // [N, Cout, H*W]
    y.reshape([n, cout, h, w]) + bias.reshape([1, cout, 1, 1])
}

/// The weight gradient of a 3x3 convolution (padding 1) as nine matmuls of the shifted
/// channels-last input windows with the output gradient: `dW[:, :, dy, dx] = grad^T @ window`.
fn conv3x3_weight_grad_as_matmuls<B: Backend>(x: Tensor<B, 4>, grad: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, cin, h, w] = x.dims();
    let cout = grad.dims()[1];
    let g = grad.permute([1, 0, 2, 3]).reshape([cout, n * h * w]);
    let taps: Vec<Tensor<B, 2>> = shifted_windows(x)
        .into_iter()
        .map(|window| g.clone().matmul(window)) // [Cout, Cin]
        .collect();
    Tensor::stack::<3>(taps, 2).reshape([cout, cin, 3, 3])
}

/// 2x2 max-pool, stride 2, as a reshape and two maxes.
fn max_pool_as_reshape<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h / 2, 2, w / 2, 2])
        .max_dim(5)
        .max_dim(3)
        .reshape([n, c, h / 2, w / 2])
}

fn random(shape: [usize; 4]) -> Tensor<A, 4> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), &Default::default()).require_grad()
}

/// Forward, sum, backward; the gradients are dropped.
fn fwd_bwd(y: Tensor<A, 4>) {
    let grads = y.sum().backward();
    drop(grads);
}

fn max_abs_diff(a: Tensor<A, 4>, b: Tensor<A, 4>) -> f32 {
    (a.inner() - b.inner()).abs().max().into_scalar()
}

fn report(label: &str, names: &[&str], stats: &[unet_bench::Stats]) {
    let base = stats[0].median;
    let cells: Vec<String> = names
        .iter()
        .zip(stats)
        .map(|(n, s)| format!("{n} {:.2} ms (x{:.2})", s.median * 1e3, s.median / base))
        .collect();
    println!("{label:<44} {}", cells.join("   "));
}

fn main() {
    let repeats: usize = std::env::var("UNET_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let device = Default::default();
    // (row, batch, deep channels, out channels, deep side): each decoder level's up-sampling.
    let ups = [
        ("small up1 (4x256x8x8 -> 128)", 4, 256, 128, 8),
        ("small up4 (4x32x64x64 -> 16)", 4, 32, 16, 64),
        ("classic up1 (1x1024x16x16 -> 512)", 1, 1024, 512, 16),
        ("classic up4 (1x128x128x128 -> 64)", 1, 128, 64, 128),
    ];
    println!("flex, forward + backward, median of {repeats} runs (ratio to the first column)");
    for (label, n, cin, cout, side) in ups {
        let t = ConvTranspose2dConfig::new([cin, cout], [2, 2])
            .with_stride([2, 2])
            .init::<A>(&device);
        let x = random([n, cin, side, side]);
        let (weight, bias) = (t.weight.val(), t.bias.as_ref().unwrap().val());
        let same = max_abs_diff(
            t.forward(x.clone()),
            transposed_as_matmul(x.clone(), weight.clone(), bias.clone()),
        );
        assert!(same < 1e-3, "{label}: the formulations differ by {same}");
        let stats = time_alternating(
            2,
            repeats,
            &mut [
                &mut || fwd_bwd(t.forward(x.clone())),
                &mut || fwd_bwd(kernels::conv_transpose2d(&t, x.clone())),
                &mut || {
                    fwd_bwd(transposed_as_matmul(
                        x.clone(),
                        weight.clone(),
                        bias.clone(),
                    ))
                },
            ],
        );
        report(
            label,
            &["conv_transpose2d", "host GEMM (kernels)", "matmul+shuffle"],
            &stats,
        );
    }

    // The level's other ops at the same shapes, for scale: its 3x3 conv and its max-pool.
    let levels = [
        ("small level 3 (4x128x16x16)", 4, 128, 16),
        ("small level 0 (4x16x128x128)", 4, 16, 128),
        ("classic level 3 (1x512x32x32)", 1, 512, 32),
        ("classic level 0 (1x64x256x256)", 1, 64, 256),
    ];
    for (label, n, c, side) in levels {
        let x = random([n, c, side, side]);
        let pool = MaxPool2dConfig::new([2, 2]).init();
        let same = max_abs_diff(pool.forward(x.clone()), max_pool_as_reshape(x.clone()));
        assert!(same == 0.0, "{label}: the max-pools differ by {same}");
        let conv = Conv2dConfig::new([c, c], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init::<A>(&device);
        let (weight, bias) = (conv.weight.val(), conv.bias.as_ref().unwrap().val());
        for (name, other) in [
            (
                "shifted",
                conv3x3_as_shifted_matmuls(x.clone(), weight.clone(), bias.clone()),
            ),
            (
                "unfold",
                conv3x3_as_unfold_matmul(x.clone(), weight.clone(), bias.clone()),
            ),
        ] {
            let d = max_abs_diff(conv.forward(x.clone()), other);
            assert!(d < 1e-2, "{label}: conv as {name} differs by {d}");
        }
        let stats = time_alternating(
            2,
            repeats,
            &mut [
                &mut || fwd_bwd(conv.forward(x.clone())),
                &mut || fwd_bwd(kernels::conv2d(&conv, x.clone())),
                &mut || {
                    fwd_bwd(conv3x3_as_shifted_matmuls(
                        x.clone(),
                        weight.clone(),
                        bias.clone(),
                    ))
                },
                &mut || {
                    fwd_bwd(conv3x3_as_unfold_matmul(
                        x.clone(),
                        weight.clone(),
                        bias.clone(),
                    ))
                },
                &mut || fwd_bwd(pool.forward(x.clone())),
                &mut || fwd_bwd(max_pool_as_reshape(x.clone())),
            ],
        );
        report(
            label,
            &[
                "conv3x3",
                "im2col GEMM (kernels)",
                "9 shifted matmuls",
                "unfold+matmul",
                "max_pool2d",
                "reshape+max",
            ],
            &stats,
        );
        // The forward pass alone, inference backend.
        let xi = x.inner();
        let (ci, wi, bi) = (conv.valid(), weight.inner(), bias.clone().inner());
        let stats = time_alternating(
            2,
            repeats,
            &mut [
                &mut || drop(ci.forward(xi.clone())),
                &mut || {
                    drop(conv3x3_as_shifted_matmuls(
                        xi.clone(),
                        wi.clone(),
                        bi.clone(),
                    ))
                },
                &mut || drop(conv3x3_as_unfold_matmul(xi.clone(), wi.clone(), bi.clone())),
            ],
        );
        report(
            &format!("{label}, forward only"),
            &["conv3x3", "9 shifted matmuls", "unfold+matmul"],
            &stats,
        );
        // The two halves of the backward pass as burn-autodiff runs them on flex: the input
        // gradient (a transposed convolution) and the weight gradient (burn's generic
        // `conv2d_weight_backward`: a convolution of the batch-swapped input with the
        // batch-swapped gradient as an H x W kernel); and the weight gradient as nine matmuls.
        use unet::burn::tensor::module::{conv2d, conv_transpose2d};
        use unet::burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
        let g = ci.forward(xi.clone());
        let check = conv3x3_weight_grad_as_matmuls(xi.clone(), g.clone());
        let generic = conv2d(
            xi.clone().swap_dims(0, 1),
            g.clone().swap_dims(0, 1),
            None,
            ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
        )
        .swap_dims(0, 1);
        let scale = generic.clone().abs().max().into_scalar().max(1.0);
        let d = (check - generic).abs().max().into_scalar() / scale;
        assert!(
            d < 1e-3,
            "{label}: weight gradients differ by {d} (relative)"
        );
        // The same three passes as im2col GEMMs on the host (`unet::kernels::cpu_conv`,
        // what the blocks use on flex), on the same data.
        let data = |t: &Tensor<Cpu, 4>| t.to_data().to_vec::<f32>().unwrap();
        let (xv, wv, bv, gv) = (
            data(&xi),
            data(&wi),
            bias.inner().to_data().to_vec::<f32>().unwrap(),
            data(&g),
        );
        let geometry = ConvGeometry {
            input: [n, c, side, side],
            channels_out: c,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
        };
        let host_y = cpu_conv::conv2d_forward(&xv, &wv, Some(&bv), geometry).unwrap();
        let flex_y = data(&g);
        let d = host_y
            .iter()
            .zip(&flex_y)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(d < 1e-2, "{label}: the im2col forward differs by {d}");
        let stats = time_alternating(
            1,
            repeats,
            &mut [
                &mut || drop(ci.forward(xi.clone())),
                &mut || drop(cpu_conv::conv2d_forward(&xv, &wv, Some(&bv), geometry)),
                &mut || {
                    drop(conv_transpose2d(
                        g.clone(),
                        wi.clone(),
                        None,
                        ConvTransposeOptions::new([1, 1], [1, 1], [0, 0], [1, 1], 1),
                    ))
                },
                &mut || drop(cpu_conv::conv2d_input_grad(&gv, &wv, geometry)),
                &mut || {
                    drop(conv2d(
                        xi.clone().swap_dims(0, 1),
                        g.clone().swap_dims(0, 1),
                        None,
                        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                    ))
                },
                &mut || drop(cpu_conv::conv2d_weight_grad(&xv, &gv, geometry)),
                &mut || drop(conv3x3_weight_grad_as_matmuls(xi.clone(), g.clone())),
            ],
        );
        report(
            &format!("{label}, passes"),
            &[
                "forward (flex)",
                "forward (im2col)",
                "input grad (flex)",
                "input grad (im2col)",
                "weight grad (burn)",
                "weight grad (im2col)",
                "weight grad (9 matmuls)",
            ],
            &stats,
        );
    }
}
