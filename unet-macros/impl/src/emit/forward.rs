//! Construction and the forward passes: the encoder and decoder `new`/`forward`, and the body
//! of the network's typed forward (with `pad_input`'s pad and crop).

use proc_macro2::TokenStream;
use quote::quote;
use unet_vocab::Attention;

use super::structs::fields;
use super::Gen;

pub fn emit(g: &Gen) -> TokenStream {
    let (p, plan) = (&g.p, g.plan);
    let options = p.root("blocks");
    let block = g.block_options(&plan.block_options());
    let bottleneck = g.block_options(&plan.bottleneck_options());
    let (encoder, decoder) = (encoder(g), decoder(g));
    quote! {
        /// Options of every DoubleConv but the bottleneck's.
        const BLOCK_OPTIONS: #options::BlockOptions = #block;
        /// Options of the bottleneck's DoubleConv.
        const BOTTLENECK_OPTIONS: #options::BlockOptions = #bottleneck;
        #encoder
        #decoder
    }
}

fn encoder(g: &Gen) -> TokenStream {
    let (p, plan) = (&g.p, g.plan);
    let depth = plan.depth;
    let (downs, levels) = (fields("down", 1..=depth), fields("level", 0..depth));
    let (down, bottleneck) = (p.config("DownBlock"), p.config("DoubleConv"));
    let input = p.feature(plan.in_channels, 0);
    let bottom = p.feature(plan.channels[depth], depth);
    let (encoder, skips) = (&g.names.encoder, &g.names.skips);
    quote! {
        impl<B: burn::tensor::backend::Backend> #encoder<B> {
            /// Initialises the encoder's weights on `device`.
            pub fn new(device: &B::Device) -> Self {
                Self {
                    #( #downs: #down::new(BLOCK_OPTIONS).init(device), )*
                    bottleneck: #bottleneck::new(BOTTLENECK_OPTIONS).init(device),
                }
            }

            /// Runs the contracting path: the bottleneck's output and every level's skip.
            pub fn forward(&self, x: #input) -> (#bottom, #skips<B>) {
                #( let (#levels, x) = self.#downs.forward(x); )*
                (self.bottleneck.forward(x), #skips { #(#levels),* })
            }
        }
    }
}

fn decoder(g: &Gen) -> TokenStream {
    let (p, plan) = (&g.p, g.plan);
    let (depth, heads) = (plan.depth, plan.options.deep_supervision);
    let (ups, aux) = (fields("up", 1..=depth), fields("aux", 1..=heads));
    let (up, head) = (p.config("UpBlock"), p.config("Head"));
    let mode = p.word(plan.up);
    let attention = (plan.options.attention != Attention::None).then(|| {
        let a = p.word(plan.options.attention);
        quote!(.with_attention(#a))
    });
    let steps = (1..=depth).map(|i| {
        let level = depth - i;
        let (up, skip) = (&ups[i - 1], quote::format_ident!("level{level}"));
        let head = (1..=heads).contains(&level).then(|| {
            let field = &aux[level - 1];
            quote!(let #field = self.#field.forward(x.clone());)
        });
        quote! {
            let x = self.#up.forward(x, skips.#skip);
            #head
        }
    });
    let result = if heads == 0 {
        quote!(self.out.forward(x))
    } else {
        let outputs = &g.names.outputs;
        quote!(#outputs { out: self.out.forward(x), #(#aux),* })
    };
    let bottom = p.feature(plan.channels[depth], depth);
    let (decoder, skips, out) = (&g.names.decoder, &g.names.skips, g.output_ty());
    quote! {
        impl<B: burn::tensor::backend::Backend> #decoder<B> {
            /// Initialises the decoder's weights on `device`.
            pub fn new(device: &B::Device) -> Self {
                Self {
                    #( #ups: #up::new(#mode, BLOCK_OPTIONS) #attention .init(device), )*
                    #( #aux: #head::new().init(device), )*
                    out: #head::new().init(device),
                }
            }

            /// Runs the expanding path from the bottleneck, consuming the skips deepest first.
            pub fn forward(&self, bottom: #bottom, skips: #skips<B>) -> #out {
                let x = bottom;
                #( #steps )*
                #result
            }
        }
    }
}

/// The body of `forward_typed`: encoder then decoder; with `pad_input`, padded to a multiple
/// of 2^depth first and every output cropped back (a head of level `j` to its scaled window).
pub fn typed_body(g: &Gen) -> TokenStream {
    let plan = g.plan;
    let run = quote! {
        let (bottom, skips) = self.encoder.forward(x);
        self.decoder.forward(bottom, skips)
    };
    if !plan.options.pad_input {
        return run;
    }
    let heads = plan.options.deep_supervision;
    let multiple = 1usize << plan.depth;
    let crop = if heads == 0 {
        quote!(y.cropped(&at, size, 0))
    } else {
        let crops = (1..=heads).map(|j| {
            let field = quote::format_ident!("aux{j}");
            quote!(#field: y.#field.cropped(&at, size, #j))
        });
        let outputs = &g.names.outputs;
        quote!(#outputs { out: y.out.cropped(&at, size, 0), #(#crops),* })
    };
    quote! {
        let dims = x.dims();
        let size = &dims[2..];
        let (x, at) = x.padded_to_multiple(#multiple);
        let y = { #run };
        #crop
    }
}
