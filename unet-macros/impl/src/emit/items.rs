//! The network's inherent items: its consts, size helpers, forwards and summary, as one list
//! that both the real expansion and the fallback after an error emit (the fallback with
//! permissive types and no bodies), so the two always declare the same API.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::names::Paths;
use super::{forward, Gen};
use unet_vocab::Extent;

/// One associated const: its doc, name, type and value, and the value the fallback gives it.
struct Const {
    doc: String,
    name: &'static str,
    ty: TokenStream,
    value: Option<TokenStream>,
    fallback: TokenStream,
}

/// The consts, in the order the docs list them; values only with a plan.
fn consts(p: &Paths, g: Option<&Gen>) -> Vec<Const> {
    let (k, dims) = (&p.krate, p.dims_lit());
    let spatial = if p.dims == 3 {
        "`[depth, height, width]`"
    } else {
        "`[height, width]`"
    };
    let len = g.map_or(0, |g| g.plan.depth + 1);
    let v = |f: &dyn Fn(&Gen) -> TokenStream| g.map(f);
    let c = |doc: String, name, ty, value, fallback| Const {
        doc,
        name,
        ty,
        value,
        fallback,
    };
    let usize_ty = || quote!(usize);
    let zero = || quote!(0);
    let none = || quote!(::core::option::Option::None);
    let sizes_ty = quote!(::core::option::Option<[usize; #dims]>);
    vec![
        c("Spatial dimensions: 2 for `[N, C, H, W]` images, 3 for `[N, C, D, H, W]` volumes.".into(), "DIMS", usize_ty(), Some(quote!(#dims)), quote!(#dims)),
        c("Number of 2x down-samplings.".into(), "DEPTH", usize_ty(), v(&|g| { let d = g.plan.depth; quote!(#d) }), zero()),
        c("Width of each level, level 0 first; the last is the bottleneck.".into(), "CHANNELS", quote!([usize; #len]), v(&|g| { let ch = &g.plan.channels; quote!([#(#ch),*]) }), quote!([])),
        c("Input channels.".into(), "IN_CHANNELS", usize_ty(), v(&|g| { let c = g.plan.in_channels; quote!(#c) }), zero()),
        c("Output channels (class logits).".into(), "CLASSES", usize_ty(), v(&|g| { let c = g.plan.classes; quote!(#c) }), zero()),
        c("Trainable parameters, computed at expansion (PyTorch's count for the same net).".into(), "PARAMS", usize_ty(), v(&|g| { let n = g.plan.params; quote!(#n) }), zero()),
        c("The up-sampling method.".into(), "UP", quote!(#k::blocks::UpMode), v(&|g| g.p.word(g.plan.up)), quote!(#k::blocks::UpMode::Transposed)),
        c("Border handling of the 3x3 convolutions.".into(), "PADDING", quote!(#k::PaddingKind), v(&|g| g.p.word(g.plan.padding)), quote!(#k::PaddingKind::Same)),
        c(format!("The declared input {spatial}, if any."), "INPUT", sizes_ty.clone(), v(&|g| Paths::sizes(g.plan.input.as_deref())), none()),
        c(format!("The output {spatial} for the declared input, if any."), "OUTPUT", sizes_ty, v(&|g| Paths::sizes(g.plan.output().as_deref())), none()),
        c("Pixels lost between input and output along each axis (valid padding: `12 * 2^depth - 8`).".into(), "MARGIN", usize_ty(), v(&|g| { let m = g.plan.margin(); quote!(#m) }), zero()),
        c("Whether the network pads any input size itself (`pad_input`).".into(), "PAD_INPUT", quote!(bool), v(&|g| { let b = g.plan.options.pad_input; quote!(#b) }), quote!(false)),
    ]
}

/// One method: its doc, signature and body (`None`: the fallback's `unreachable!()`).
struct Method {
    doc: String,
    sig: TokenStream,
    body: Option<TokenStream>,
}

/// The names generated code gives the typed forward's input and output types.
fn typed(p: &Paths, g: Option<&Gen>) -> (TokenStream, TokenStream, TokenStream) {
    match g {
        Some(g) => (quote!(), p.feature(g.plan.in_channels, 0), g.output_ty()),
        None => {
            let (k, r) = (&p.krate, p.rank());
            let l0 = p.level(0);
            (
                quote!(<const I: usize, const O: usize>),
                quote!(#k::Feature<B, I, #l0, #r>),
                quote!(#k::Feature<B, O, #l0, #r>),
            )
        }
    }
}

fn methods(p: &Paths, g: Option<&Gen>) -> Vec<Method> {
    let (k, r, tensor) = (&p.krate, p.rank(), p.tensor());
    let shape_error = quote!(#k::ShapeError);
    let axes = p.axes();
    let dims = p.dims_lit();
    let shape = if p.dims == 3 {
        "[N, C, D, H, W]"
    } else {
        "[N, C, H, W]"
    };
    let (generics, input, output) = typed(p, g);
    let v = |f: &dyn Fn(&Gen) -> TokenStream| g.map(f);
    let m = |doc: String, sig, body| Method { doc, sig, body };
    vec![
        m("Initialises all weights on `device`.".into(),
          quote!(fn new(device: &B::Device) -> Self),
          v(&|g| { let (e, d) = (&g.names.encoder, &g.names.decoder); quote!(Self { encoder: #e::new(device), decoder: #d::new(device) }) })),
        m(format!("Checks an `{shape}` shape against this network's channels and size rules."),
          quote!(fn check_input(shape: [usize; #r]) -> ::core::result::Result<(), #shape_error>),
          v(&|g| { let (c, d, pad, pi) = (g.plan.in_channels, g.plan.depth, g.p.word(g.plan.padding), g.plan.options.pad_input);
                   quote!(#k::check_input(shape, #c, #d, #pad, Self::INPUT, #pi)) })),
        m(format!("The output size for an input of {}, or why it does not fit.", axes.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(" x ")),
          quote!(fn output_size(#(#axes: usize),*) -> ::core::result::Result<[usize; #dims], #shape_error>),
          v(&|g| { let c = g.plan.in_channels; quote! { Self::check_input([1, #c, #(#axes),*])?; Ok([#(#axes - Self::MARGIN),*]) } })),
        m(format!("Runs the network on an untyped `{shape}` tensor, checking its shape first."),
          quote!(fn forward(&self, x: #tensor) -> ::core::result::Result<#tensor, #shape_error>),
          v(&|g| { let main = if g.plan.options.deep_supervision == 0 { quote!(y) } else { quote!(y.out) };
                   quote! { Self::check_input(x.dims())?; let y = self.forward_typed(#k::Feature::try_new(x)?); Ok(#main.into_tensor()) } })),
        m("Runs the network on a typed input. Spatial sizes are not checked here: a size `check_input` rejects gives a cropped output (or a burn panic if too small).".into(),
          quote!(fn forward_typed #generics(&self, x: #input) -> #output),
          v(&forward::typed_body)),
        m("A per-layer table (name, type, output, params) ending with the parameter total; output sizes are symbolic (`64 x (H-4) x (W-4)`), or concrete for a declared `input`.".into(),
          quote!(fn summary() -> #k::Summary),
          v(&summary_body)),
        m(format!("The layer table for an `{shape}` input: each layer's output shape and torchsummary's memory figures, or the `ShapeError` `forward` would give."),
          quote!(fn summary_for(shape: [usize; #r]) -> ::core::result::Result<#k::ShapedSummary, #shape_error>),
          v(&|_| quote! { Self::check_input(shape)?; Ok(Self::summary().for_input(&shape)) })),
    ]
}

/// An extent as a constant expression.
fn extent(k: &TokenStream, e: Extent) -> TokenStream {
    match e {
        Extent::Map { offset, level } => quote!(#k::Extent::Map { offset: #offset, level: #level }),
        Extent::Input => quote!(#k::Extent::Input),
        Extent::Pooled => quote!(#k::Extent::Pooled),
    }
}

/// The plan's layer table as a const.
fn summary_body(g: &Gen) -> TokenStream {
    let k = &g.p.krate;
    let (name, config, dims) = (g.plan.name_text(), g.plan.config_line(), g.p.dims_lit());
    let rows = g.plan.rows.iter().map(|r| {
        let (name, kind, channels, params) = (&r.name, &r.kind, r.channels, r.params);
        let at = extent(k, r.extent);
        let outputs = r.outputs.iter().map(|o| {
            let (name, kind, c, e) = (o.name, &o.kind, o.channels, extent(k, o.extent));
            quote!(#k::LayerOutput { name: #name, kind: #kind, channels: #c, extent: #e })
        });
        quote!(#k::SummaryRow::new(#name, #kind, #channels, #at, #params, &[#(#outputs),*]))
    });
    let n = g.plan.rows.len();
    let in_channels = g.plan.in_channels;
    let pad_to = match g.plan.options.pad_input {
        true => {
            let m = 1usize << g.plan.depth;
            quote!(::core::option::Option::Some(#m))
        }
        false => quote!(::core::option::Option::None),
    };
    quote! {
        const ROWS: [#k::SummaryRow; #n] = [#(#rows),*];
        #k::Summary {
            name: #name,
            config: #config,
            dims: #dims,
            in_channels: #in_channels,
            input: #k::sizes(&Self::INPUT),
            pad_to: #pad_to,
            rows: &ROWS,
        }
    }
}

/// `impl Net<B> { consts; methods }`, real (`g` given) or the fallback's.
pub fn inherent(p: &Paths, net: &syn::Ident, g: Option<&Gen>) -> TokenStream {
    let consts = consts(p, g).into_iter().map(|c| {
        let (doc, name, ty) = (&c.doc, format_ident!("{}", c.name), &c.ty);
        let value = c.value.unwrap_or(c.fallback);
        quote!(#[doc = #doc] pub const #name: #ty = #value;)
    });
    let methods = methods(p, g).into_iter().map(|m| {
        let (doc, sig) = (&m.doc, &m.sig);
        let body = m.body.unwrap_or_else(|| quote!(unreachable!()));
        quote!(#[doc = #doc] pub #sig { #body })
    });
    quote! {
        impl<B: burn::tensor::backend::Backend> #net<B> {
            #(#consts)*
            #(#methods)*
        }
    }
}
