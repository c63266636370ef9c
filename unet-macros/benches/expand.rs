//! Expansion time of `unet!`: `unet_macros_impl::expand` on proc-macro2 tokens, outside the compiler.
//!
//! The compiler is the plain library `unet-macros-impl`, so this bench calls it directly.
//!
//! ```sh
//! cargo bench -p unet-macros --bench expand                     # 1000 runs per invocation
//! UNET_EXPAND_REPEATS=50 cargo bench -p unet-macros --bench expand
//! ```
//!
//! Prints the median (and minimum) per invocation in ms and whether it is under the 5 ms
//! target; exits with status 1 if a median is over it.

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use proc_macro2::TokenStream;

/// Median expansion time must stay below this, in milliseconds.
const TARGET_MS: f64 = 5.0;

/// `(label, invocation, whether it is meant to be an error)`.
const INVOCATIONS: &[(&str, &str, bool)] = &[
    (
        "depth 8, every key but channels",
        "#[doc = \"deep\"] pub Deep<depth: 8, base: 4, growth: 2, up: bilinear, in_channels: 3, classes: 5, padding: same, input: (500, 512), norm: group(4), act: leaky_relu(0.1), dropout: { bottleneck: 0.5, blocks: 0.1 }, residual: true, attention: gate, deep_supervision: 7, dims: 2, pad_input: true>",
        false,
    ),
    (
        "depth 8, channels instead of base/growth",
        "pub Deep<depth: 8, channels: [4, 8, 16, 32, 64, 128, 256, 512, 1024], up: transposed, in_channels: 3, classes: 5, padding: valid, input: (3068, 3068)>",
        false,
    ),
    (
        "depth 8, 3D with every 3D key",
        "pub Volume<depth: 8, base: 4, dims: 3, up: nearest, in_channels: 2, classes: 3, padding: same, input: (256, 256, 512), norm: instance, act: gelu, dropout: { bottleneck: 0.5, blocks: 0.1 }, residual: true>",
        false,
    ),
    (
        "classic (depth 4, base 64)",
        "pub CellNet<depth: 4, base: 64, up: transposed>",
        false,
    ),
    (
        "an error (unknown key)",
        "pub Net<depth: 8, base: 4, dpeth: 3>",
        true,
    ),
];

fn main() {
    let repeats: usize = std::env::var("UNET_EXPAND_REPEATS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
        .max(1);
    println!("unet! expansion time: median (min) of {repeats} runs after 10 warm-up runs");
    let mut over = false;
    for &(label, source, error) in INVOCATIONS {
        let tokens = TokenStream::from_str(source).expect("the invocation tokenizes");
        let expanded = unet_macros_impl::expand(tokens.clone());
        let errors = expanded.to_string().matches("compile_error").count();
        assert_eq!(
            errors > 0,
            error,
            "`{source}` expanded to {errors} compile_error!(s)"
        );
        for _ in 0..10 {
            black_box(unet_macros_impl::expand(black_box(tokens.clone())));
        }
        let mut ms: Vec<f64> = (0..repeats)
            .map(|_| {
                let tokens = tokens.clone();
                let start = Instant::now();
                black_box(unet_macros_impl::expand(black_box(tokens)));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        let ok = median < TARGET_MS;
        over |= !ok;
        println!(
            "{label:<42} {median:>8.3} ms ({:.3} ms min), {:.1} KiB of code out{}: {} the {TARGET_MS} ms target",
            ms[0],
            expanded.to_string().len() as f64 / 1024.0,
            if errors > 0 {
                format!(", {errors} compile_error!")
            } else {
                String::new()
            },
            if ok { "under" } else { "OVER" },
        );
    }
    if over {
        std::process::exit(1);
    }
}
