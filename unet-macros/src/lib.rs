//! The `unet!` macro: one line in, a typed, shape-checked U-Net out.
//!
//! A small compiler: [`ast`] parses the invocation keeping every span, [`valid`] checks it
//! into a [`plan::Plan`] (all channel counts, sizes and parameter counts computed here),
//! [`expand`] emits the typed structs, and [`fallback`] still emits the names after an
//! error so one mistake gives one message. [`expand::expand`] works on `proc_macro2` tokens
//! so it is unit- and property-tested outside the compiler.

mod ast;
mod expand;
mod fallback;
// The one source of size arithmetic, shared with unet-core so compile-time and run-time
// checks agree; some of its items are only used at run time.
#[allow(dead_code)]
#[path = "../../unet-core/src/geometry.rs"]
mod geometry;
mod plan;
mod suggest;
mod valid;
mod volume;

use proc_macro::TokenStream;

/// Declares a typed U-Net: `unet!(pub CellNet<depth: 4, base: 64, up: transposed>);`
///
/// Emits `CellNet<B>`, `CellNetEncoder<B>`, `CellNetSkips<B>` and `CellNetDecoder<B>`, with
/// every channel count written into the block types. Keys: `depth` (1..=8, required),
/// `base` (channels of level 0), `growth` (default 2), `channels: [c0, .., c_depth]`
/// (instead of `base`/`growth`), `up` (`transposed` | `bilinear` | `nearest` |
/// `bilinear_concat` | `nearest_concat` |
/// `pixelshuffle`), `in_channels` (default 1), `classes` (default 1), `padding` (`same` |
/// `valid`), `input: (H, W)` (optional, checked here), `norm` (`none` | `batch` | `instance` |
/// `group(G)` | `layer`), `act` (`relu` | `leaky_relu(s)` | `gelu` | `silu` | `prelu`),
/// `dropout` (`p` or `{ bottleneck: p, blocks: q }`), `residual`, `attention` (`none` | `gate` |
/// `scse`), `deep_supervision: k`, `dims` (`2` | `3`), `pad_input`. See the README for the full
/// table.
#[proc_macro]
pub fn unet(input: TokenStream) -> TokenStream {
    expand::expand(input.into()).into()
}

#[cfg(test)]
mod tests;
