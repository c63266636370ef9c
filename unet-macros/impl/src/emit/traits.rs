//! The trait impls: `Network` (which the training loop, inference and I/O are generic over),
//! whose consts are the inherent ones, and the weight I/O methods of the `interop` feature.

use proc_macro2::TokenStream;
use quote::quote;

use super::Gen;

pub fn emit(g: &Gen) -> TokenStream {
    let (p, plan) = (&g.p, g.plan);
    let (k, r, tensor) = (&p.krate, p.rank(), p.tensor());
    let net = &g.names.net;
    let (name, description) = (plan.name_text(), plan.describe());
    let shape_error = quote!(#k::ShapeError);
    let forward_deep = (plan.options.deep_supervision > 0).then(|| {
        let aux = super::structs::fields("aux", 1..=plan.options.deep_supervision);
        quote! {
            fn forward_deep(&self, x: #tensor) -> ::core::result::Result<(#tensor, ::std::vec::Vec<#tensor>), #shape_error> {
                Self::check_input(x.dims())?;
                let y = self.forward_typed(#k::Feature::try_new(x)?);
                Ok((y.out.into_tensor(), ::std::vec![#(y.#aux.into_tensor()),*]))
            }
        }
    });
    quote! {
        impl<B: burn::tensor::backend::Backend> #k::Network<B, #r> for #net<B> {
            const NAME: &'static str = #name;
            const DESCRIPTION: &'static str = #description;
            const DIMS: usize = <#net<B>>::DIMS;
            const DEPTH: usize = <#net<B>>::DEPTH;
            const IN_CHANNELS: usize = <#net<B>>::IN_CHANNELS;
            const CLASSES: usize = <#net<B>>::CLASSES;
            const PARAMS: usize = <#net<B>>::PARAMS;
            const PADDING: #k::PaddingKind = <#net<B>>::PADDING;
            const MARGIN: usize = <#net<B>>::MARGIN;
            const INPUT: ::core::option::Option<&'static [usize]> = #k::sizes(&<#net<B>>::INPUT);
            const PAD_INPUT: bool = <#net<B>>::PAD_INPUT;

            fn init(device: &B::Device) -> Self {
                Self::new(device)
            }

            fn forward_checked(&self, x: #tensor) -> ::core::result::Result<#tensor, #shape_error> {
                self.forward(x)
            }

            fn layer_summary() -> #k::Summary {
                Self::summary()
            }

            #forward_deep
        }

        #k::__interop_methods!{ #net, #r }
    }
}
