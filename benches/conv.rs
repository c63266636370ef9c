//! The forward and input-gradient passes of every 3x3 convolution of the two benchmark rows
//! (`small`: 4x3x128x128, base 16; `classic`: 1x1x256x256, base 64; depth 4, same padding),
//! each as the im2col GEMMs of `unet::kernels::cpu_conv` and by Winograd F(2x2, 3x3)
//! (`unet::kernels::winograd`), on the same data; the two outputs are checked to agree
//! (relative L2 error below 1e-5) before they are timed.
//!
//! ```sh
//! cargo bench --bench conv                     # 5 timed runs per pass after 1 warm-up
//! UNET_BENCH_REPEATS=9 cargo bench --bench conv
//! ```
//!
//! Prints one line per convolution (median ms of each method and the ratio Winograd / im2col;
//! `*` marks those `cpu_conv::conv2d_forward` runs by Winograd, `winograd::pays`) and each
//! row's totals: all im2col, all Winograd, and as picked.

use unet::kernels::cpu_conv::{im2col_forward, input_grad_as_forward, ConvGeometry};
use unet::kernels::winograd;
use unet_bench::{time_alternating, Case, CLASSIC, SMALL};

/// The 3x3 convolutions of a depth-4 same-padded U-Net on `case` with level widths `channels`:
/// name, input `[N, Cin, H, W]` and output channels.
fn convs(case: Case, channels: [usize; 5]) -> Vec<(String, [usize; 4], usize)> {
    let n = case.batch;
    let side = |level: usize| [case.size[0] >> level, case.size[1] >> level];
    let mut out = Vec::new();
    let mut cin = case.in_channels;
    for (level, &c) in channels.iter().enumerate() {
        let [h, w] = side(level);
        let name = if level == 4 {
            "bottleneck".to_string()
        } else {
            format!("down{}", level + 1)
        };
        out.push((format!("{name}.conv1"), [n, cin, h, w], c));
        out.push((format!("{name}.conv2"), [n, c, h, w], c));
        cin = c;
    }
    for level in (0..4).rev() {
        let ([h, w], c) = (side(level), channels[level]);
        out.push((format!("up{}.conv1", 4 - level), [n, 2 * c, h, w], c));
        out.push((format!("up{}.conv2", 4 - level), [n, c, h, w], c));
    }
    out
}

fn values(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| (((i as u32).wrapping_mul(2654435761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

fn relative_l2(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm.max(1e-30)).sqrt()
}

/// Median seconds of im2col and Winograd on `x` with `weight`, after checking they agree.
fn time_pass(label: &str, x: &[f32], weight: &[f32], g: ConvGeometry, repeats: usize) -> [f64; 2] {
    let slow = im2col_forward(x, weight, None, g).expect("im2col applies");
    let fast = winograd::forward(x, weight, None, g).expect("winograd applies");
    let error = relative_l2(&fast, &slow);
    assert!(
        error < 1e-5,
        "{label}: Winograd differs from im2col by {error} (relative L2)"
    );
    let stats = time_alternating(
        1,
        repeats,
        &mut [
            &mut || drop(im2col_forward(x, weight, None, g)),
            &mut || drop(winograd::forward(x, weight, None, g)),
        ],
    );
    [stats[0].median, stats[1].median]
}

fn main() {
    let repeats: usize = std::env::var("UNET_BENCH_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    println!("median of {repeats} runs, ms: im2col / Winograd (ratio)");
    for (case, channels) in [
        (SMALL, [16, 32, 64, 128, 256]),
        (CLASSIC, [64, 128, 256, 512, 1024]),
    ] {
        let mut totals = [[0.0f64; 3]; 2];
        for (i, (name, input, cout)) in convs(case, channels).into_iter().enumerate() {
            let g = ConvGeometry {
                input,
                channels_out: cout,
                kernel: [3, 3],
                stride: [1, 1],
                padding: [1, 1],
                dilation: [1, 1],
            };
            let x = values(input.iter().product(), 1);
            let weight = values(cout * input[1] * 9, 2);
            let forward = time_pass(&name, &x, &weight, g, repeats);
            let picked = |pass: [f64; 2], g| pass[usize::from(winograd::pays(g))];
            let mark = |g| if winograd::pays(g) { '*' } else { ' ' };
            let mut line = format!(
                "{:<8} {name:<17} {input:?} -> {cout:<5} forward{} {:7.2} / {:7.2} ({:.2})",
                case.name,
                mark(g),
                forward[0] * 1e3,
                forward[1] * 1e3,
                forward[1] / forward[0]
            );
            // The network's first convolution needs no input gradient.
            if i > 0 {
                let (flipped, back) = input_grad_as_forward(&weight, g).expect("stride 1");
                let grad = values(input[0] * cout * input[2] * input[3], 3);
                let input_grad = time_pass(&name, &grad, &flipped, back, repeats);
                line += &format!(
                    "   input grad{} {:7.2} / {:7.2} ({:.2})",
                    mark(back),
                    input_grad[0] * 1e3,
                    input_grad[1] * 1e3,
                    input_grad[1] / input_grad[0]
                );
                (0..2).for_each(|m| totals[1][m] += input_grad[m]);
                totals[1][2] += picked(input_grad, back);
            }
            (0..2).for_each(|m| totals[0][m] += forward[m]);
            totals[0][2] += picked(forward, g);
            println!("{line}");
        }
        for (pass, [a, b, c]) in ["forward", "input grad"].iter().zip(totals) {
            println!(
                "{:<8} total {pass:<10} {:8.2} / {:8.2} ms ({:.2}); as picked {:8.2} ms ({:.2})",
                case.name,
                a * 1e3,
                b * 1e3,
                b / a,
                c * 1e3,
                c / a
            );
        }
    }
}
