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

/// `save_onnx` and `save_onnx_with` for a generated network, and its [`Export`] impl whose
/// `wire` the macro writes out (feature `onnx`).
///
/// [`Export`]: crate::onnx::Export
#[cfg(feature = "onnx")]
#[doc(hidden)]
#[macro_export]
macro_rules! __onnx_methods {
    ($net:ident, $rank:literal, { $($wire:tt)* }) => {
        impl<B: $crate::burn::tensor::backend::Backend> $crate::onnx::Export<B, $rank> for $net<B> {
            $($wire)*
        }

        impl<B: $crate::burn::tensor::backend::Backend> $net<B> {
            /// Writes the network's inference graph as an ONNX model (opset 17) with a dynamic
            /// batch, atomically; see [`unet::onnx`](crate::onnx) for its inputs and outputs.
            pub fn save_onnx(
                &self,
                path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::core::result::Result<(), $crate::onnx::OnnxError> {
                self.save_onnx_with(path, &::core::default::Default::default())
            }

            /// [`save_onnx`](Self::save_onnx) with options: a fixed input size, the
            /// deep-supervision outputs.
            pub fn save_onnx_with(
                &self,
                path: impl ::core::convert::AsRef<::std::path::Path>,
                options: &$crate::onnx::OnnxOptions,
            ) -> ::core::result::Result<(), $crate::onnx::OnnxError> {
                $crate::onnx::save_onnx::<B, Self, $rank>(self, path.as_ref(), options)
            }
        }
    };
}

/// Without `onnx`: nothing.
#[cfg(not(feature = "onnx"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __onnx_methods {
    ($net:ident, $rank:literal, { $($wire:tt)* }) => {};
}

/// The signatures of [`__onnx_methods`] for the declarations emitted after a macro error.
#[cfg(feature = "onnx")]
#[doc(hidden)]
#[macro_export]
macro_rules! __onnx_fallback {
    ($net:ident) => {
        impl<B: $crate::burn::tensor::backend::Backend> $net<B> {
            pub fn save_onnx(
                &self,
                _path: impl ::core::convert::AsRef<::std::path::Path>,
            ) -> ::core::result::Result<(), $crate::onnx::OnnxError> {
                unreachable!()
            }
            pub fn save_onnx_with(
                &self,
                _path: impl ::core::convert::AsRef<::std::path::Path>,
                _options: &$crate::onnx::OnnxOptions,
            ) -> ::core::result::Result<(), $crate::onnx::OnnxError> {
                unreachable!()
            }
        }
    };
}

/// Without `onnx`: nothing.
#[cfg(not(feature = "onnx"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __onnx_fallback {
    ($net:ident) => {};
}
