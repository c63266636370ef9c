//! The ONNX graph's wiring: `Export::wire`, the forward pass over the blocks' `onnx` methods,
//! handed to the core's `__onnx_methods!`, which keeps it only when `onnx` is built.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::Gen;

pub fn emit(g: &Gen) -> TokenStream {
    let plan = g.plan;
    let (k, r, net) = (&g.p.krate, g.p.rank(), &g.names.net);
    let (depth, heads) = (plan.depth, plan.options.deep_supervision);
    let downs = (1..=depth).map(|i| {
        let (field, level) = (format_ident!("down{i}"), format_ident!("level{}", i - 1));
        let path = format!("encoder.down{i}");
        quote!(let (#level, x) = self.encoder.#field.onnx(g, #path, &x)?;)
    });
    let ups = (1..=depth).map(|i| {
        let level = depth - i;
        let (field, skip) = (format_ident!("up{i}"), format_ident!("level{level}"));
        let path = format!("decoder.up{i}");
        let head = (1..=heads).contains(&level).then(|| {
            let (aux, path) = (format_ident!("aux{level}"), format!("decoder.aux{level}"));
            quote!(let #aux = self.decoder.#aux.onnx(g, #path, &x)?;)
        });
        quote! {
            let x = self.decoder.#field.onnx(g, #path, &x, &#skip)?;
            #head
        }
    });
    let pad = plan.options.pad_input.then(|| {
        let multiple = 1usize << depth;
        quote!(let (x, window) = g.pad_to_multiple(&x, #multiple);)
    });
    let crop = |v: &syn::Ident, level: usize| match pad {
        Some(_) => quote!(g.crop_to_window(&#v, &window, #level)),
        None => quote!(#v),
    };
    let out = crop(&format_ident!("out"), 0);
    let aux = (1..=heads).map(|j| crop(&format_ident!("aux{j}"), j));
    quote! {
        #k::__onnx_methods!{ #net, #r, {
            fn wire(
                &self,
                g: &mut #k::onnx::Graph,
                x: &#k::onnx::Value,
            ) -> ::core::result::Result<#k::onnx::Wired, #k::onnx::OnnxError> {
                let x = x.clone();
                #pad
                #( #downs )*
                let x = self.encoder.bottleneck.onnx(g, "encoder.bottleneck", &x)?;
                #( #ups )*
                let out = self.decoder.out.onnx(g, "decoder.out", &x)?;
                ::core::result::Result::Ok(#k::onnx::Wired {
                    out: #out,
                    aux: ::std::vec![#(#aux),*],
                })
            }
        }}
    }
}
