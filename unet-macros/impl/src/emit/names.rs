//! The names and paths every part of the emission shares: the declared items, the `unet`
//! crate's path, and the block types of the network's rank.

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use unet_vocab::{Arg, Word};

/// The names every invocation declares, and the hidden module that holds them.
pub struct Names {
    pub net: Ident,
    pub encoder: Ident,
    pub skips: Ident,
    pub decoder: Ident,
    pub outputs: Ident,
    pub module: Ident,
}

impl Names {
    pub fn new(net: &Ident) -> Self {
        let span = net.span();
        // `r#Net` may name the network, but `r#NetEncoder` is no identifier: derive from `Net`.
        let text = net.unraw();
        let derived = |suffix: &str| Ident::new(&format!("{text}{suffix}"), span);
        Names {
            net: net.clone(),
            encoder: derived("Encoder"),
            skips: derived("Skips"),
            decoder: derived("Decoder"),
            outputs: derived("Outputs"),
            module: Ident::new(&format!("__unet_{text}"), span),
        }
    }
}

/// Paths into the `unet` crate (`::unet` or the `#[unet(crate = ...)]` path) for a network
/// of `dims` spatial dimensions: 2D and 3D differ only in these.
pub struct Paths {
    pub krate: TokenStream,
    pub dims: usize,
}

impl Paths {
    pub fn new(krate: &syn::Path, dims: usize) -> Self {
        Paths {
            krate: krate.to_token_stream(),
            dims,
        }
    }

    /// The rank of the network's tensors (`[N, C, H, W]` or `[N, C, D, H, W]`), as
    /// generated code writes it: `4`.
    pub fn rank(&self) -> proc_macro2::Literal {
        proc_macro2::Literal::usize_unsuffixed(self.dims + 2)
    }

    /// The spatial dimensions as generated code writes them: `2`.
    pub fn dims_lit(&self) -> proc_macro2::Literal {
        proc_macro2::Literal::usize_unsuffixed(self.dims)
    }

    /// A block type or config of this rank: `DownBlock` / `DownBlock3d`.
    pub fn block(&self, name: &str) -> TokenStream {
        let k = &self.krate;
        let ident = match self.dims {
            3 => format_ident!("{name}3d"),
            _ => format_ident!("{name}"),
        };
        quote!(#k::blocks::#ident)
    }

    /// The same block's `Config`: `DownBlockConfig` / `DownBlock3dConfig`.
    pub fn config(&self, name: &str) -> TokenStream {
        let k = &self.krate;
        let ident = match self.dims {
            3 => format_ident!("{name}3dConfig"),
            _ => format_ident!("{name}Config"),
        };
        quote!(#k::blocks::#ident)
    }

    /// An item at the crate root: `Feature`, `ShapeError`, `Network`.
    pub fn root(&self, name: &str) -> TokenStream {
        let k = &self.krate;
        let ident = format_ident!("{name}");
        quote!(#k::#ident)
    }

    /// The marker of `level`: `L3`, the crate's name for `Down<Down<Down<L0>>>` (levels go
    /// up to the largest depth, 8).
    pub fn level(&self, level: usize) -> TokenStream {
        let k = &self.krate;
        let marker = format_ident!("L{level}");
        quote!(#k::#marker)
    }

    /// A typed map of `channels` channels at `level`, of this rank.
    pub fn feature(&self, channels: usize, level: usize) -> TokenStream {
        let (k, l, r) = (&self.krate, self.level(level), self.rank());
        quote!(#k::Feature<B, #channels, #l, #r>)
    }

    /// An untyped tensor of this rank.
    pub fn tensor(&self) -> TokenStream {
        let r = self.rank();
        quote!(burn::tensor::Tensor<B, #r>)
    }

    /// A vocabulary value as generated code writes it: `::unet::blocks::ActKind::LeakyRelu(0.01)`.
    pub fn word<W: Word>(&self, value: W) -> TokenStream {
        let k = &self.krate;
        let ty = format_ident!("{}", W::ENUM);
        let (variant, arg) = value.variant();
        let variant = format_ident!("{variant}");
        // The padding is the crate root's (`unet::PaddingKind`), every other option a block's.
        let module = match W::ENUM {
            "PaddingKind" => quote!(#k),
            _ => quote!(#k::blocks),
        };
        match arg {
            Arg::None => quote!(#module::#ty::#variant),
            Arg::Count(n) => quote!(#module::#ty::#variant(#n)),
            Arg::Number(x) => quote!(#module::#ty::#variant(#x)),
        }
    }

    /// `Some([a, b, ...])` or `None`.
    pub fn sizes(sizes: Option<&[usize]>) -> TokenStream {
        match sizes {
            Some(s) => quote!(::core::option::Option::Some([#(#s),*])),
            None => quote!(::core::option::Option::None),
        }
    }

    /// The spatial axes' names as parameters: `height, width` or `depth, height, width`.
    pub fn axes(&self) -> Vec<Ident> {
        let names: &[&str] = match self.dims {
            3 => &["depth", "height", "width"],
            _ => &["height", "width"],
        };
        names.iter().map(|n| format_ident!("{n}")).collect()
    }
}
