//! After an error, still declare the names, with the same inherent items as a real network
//! (permissive types, no bodies), so the user sees the one real mistake and not a cascade of
//! "cannot find type `CellNet`" or "no function `summary`".

use proc_macro2::TokenStream;
use quote::quote;

use super::items;
use super::names::{Names, Paths};
use crate::ast::Header;

/// The error, then the fallback items when the header parsed.
pub fn emit(error: syn::Error, header: Option<&Header>, dims: usize) -> TokenStream {
    let error = error.to_compile_error();
    let Some(header) = header else {
        return error;
    };
    let krate = header
        .unet_attrs()
        .0
        .unwrap_or_else(|_| syn::parse_quote!(::unet));
    let p = Paths::new(&krate, dims);
    let Names {
        net,
        encoder,
        skips,
        decoder,
        module,
        ..
    } = Names::new(&header.name);
    let inherent = items::inherent(&p, &net, None);
    let (vis, k, r) = (&header.vis, &p.krate, p.rank());
    quote! {
        #error
        #[doc(hidden)]
        #[allow(non_snake_case, dead_code, unused, clippy::all)]
        mod #module {
            use #k::burn;
            use ::core::marker::PhantomData;

            pub struct #net<B: burn::tensor::backend::Backend> { pub encoder: #encoder<B>, pub decoder: #decoder<B> }
            pub struct #encoder<B: burn::tensor::backend::Backend>(PhantomData<B>);
            pub struct #skips<B: burn::tensor::backend::Backend>(PhantomData<B>);
            pub struct #decoder<B: burn::tensor::backend::Backend>(PhantomData<B>);

            #inherent

            #k::__interop_fallback!{ #net, #r }
            #k::__onnx_fallback!{ #net }
        }
        #[allow(unused_imports)]
        #vis use #module::{#net, #encoder, #skips, #decoder};
    }
}
