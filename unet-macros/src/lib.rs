//! The `unet!` macro: one line in, a typed, shape-checked U-Net out.
//!
//! This crate is only the compiler's entry point; the compiler itself (parse, checks, plan,
//! emit) is `unet-macros-impl`, a plain library on `proc_macro2` tokens, so it is unit- and
//! property-tested and benchmarked outside the compiler.

use proc_macro::TokenStream;

/// Declares a typed U-Net: `unet!(pub CellNet<depth: 4, base: 64, up: transposed>);`
///
/// Emits `CellNet<B>`, `CellNetEncoder<B>`, `CellNetSkips<B>` and `CellNetDecoder<B>`, with
/// every channel count written into the block types. Keys: `depth` (1..=8, required),
/// `base` (channels of level 0), `growth` (default 2), `channels: [c0, .., c_depth]`
/// (instead of `base`/`growth`), `up` (`transposed` | `bilinear` | `nearest` |
/// `bilinear_concat` | `nearest_concat` | `pixelshuffle`), `in_channels` (default 1),
/// `classes` (default 1), `padding` (`same` | `valid`), `input: (H, W)` (optional, checked
/// here), `norm` (`none` | `batch` | `instance` | `group(G)` | `layer`), `act` (`relu` |
/// `leaky_relu(s)` | `gelu` | `silu` | `prelu` | `mish`), `dropout` (`p` or
/// `{ bottleneck: p, blocks: q }`), `residual`, `attention` (`none` | `gate` | `scse`),
/// `deep_supervision: k`, `dims` (`2` | `3`), `pad_input`. See the README for the full table.
///
/// `#[unet(crate = path)]` before the name makes the generated code name the `unet` crate by
/// `path`, for crates that re-export it: `unet!(#[unet(crate = my::unet)] pub Net<...>)`.
#[proc_macro]
pub fn unet(input: TokenStream) -> TokenStream {
    unet_macros_impl::expand(input.into()).into()
}
