//! Items of the generated code that exist only with some features of this crate. The macro
//! cannot see which features the `unet` crate was built with (a `#[cfg]` in generated code
//! reads the *user's* crate features), so it calls these macros, which expand to the items
//! or to nothing depending on how this crate was built.

/// `load_pytorch` and `save_safetensors` for a generated network (feature `interop`).
#[cfg(feature = "interop")]
#[doc(hidden)]
#[macro_export]
macro_rules! __interop_methods {
    ($net:ident, $rank:literal) => {
        impl<B: $crate::burn::tensor::backend::Backend> $net<B> {
            /// Loads weights saved by PyTorch (a `.pt`/`.pth` state dict or `.safetensors`)
            /// under the down/up layout's or milesial/Pytorch-UNet's key names; every mismatch is listed
            /// in one error.
            pub fn load_pytorch(
                path: impl ::core::convert::AsRef<::std::path::Path>,
                device: &B::Device,
            ) -> ::core::result::Result<Self, $crate::interop::InteropError> {
                $crate::interop::load_pytorch::<B, Self, $rank>(path, device)
            }

            /// Writes the weights as `.safetensors` under PyTorch key names, atomically.
            pub fn save_safetensors(
                &self,
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::core::result::Result<(), $crate::interop::InteropError> {
                $crate::interop::save_safetensors::<B, Self, $rank>(self, path)
            }
        }
    };
}

/// Without `interop`: nothing.
#[cfg(not(feature = "interop"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __interop_methods {
    ($net:ident, $rank:literal) => {};
}

/// The signatures of [`__interop_methods`] for the declarations emitted after a macro error.
#[cfg(feature = "interop")]
#[doc(hidden)]
#[macro_export]
macro_rules! __interop_fallback {
    ($net:ident, $rank:literal) => {
        impl<B: $crate::burn::tensor::backend::Backend> $net<B> {
            pub fn load_pytorch(
                _path: impl ::core::convert::AsRef<::std::path::Path>,
                _device: &B::Device,
            ) -> ::core::result::Result<Self, $crate::interop::InteropError> {
                unreachable!()
            }
            pub fn save_safetensors(
                &self,
                _path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::core::result::Result<(), $crate::interop::InteropError> {
                unreachable!()
            }
        }
    };
}

/// Without `interop`: nothing.
#[cfg(not(feature = "interop"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __interop_fallback {
    ($net:ident, $rank:literal) => {};
}
