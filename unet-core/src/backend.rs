//! Backend type aliases for the compiled features, and CUDA and wgpu probes that return an
//! error instead of letting cudarc or cubecl panic in a worker thread on machines without a
//! GPU (or, for wgpu, without a Vulkan, Metal or DirectX driver).

/// The default CPU backend: burn's `flex` (pure Rust; measured fastest of burn's CPU backends).
#[cfg(feature = "cpu")]
pub type Cpu = burn::backend::Flex;

/// [`Cpu`] with automatic differentiation, for training.
#[cfg(feature = "cpu")]
pub type CpuAutodiff = burn::backend::Autodiff<Cpu>;

/// burn's CUDA backend (cudarc; the driver and NVRTC are loaded at run time).
#[cfg(feature = "cuda")]
pub type Cuda = burn::backend::Cuda;

/// burn's `ndarray` CPU backend (feature `ndarray`, with OpenBLAS under `ndarray-blas`).
#[cfg(feature = "ndarray")]
pub type NdArray = burn::backend::NdArray;

/// burn's `candle` CPU backend (feature `candle`; deprecated by burn 0.21, kept for the
/// backend comparison in `benches/backends.rs`).
#[cfg(feature = "candle")]
#[allow(deprecated)]
pub type Candle = burn::backend::Candle;

/// [`Cuda`] with automatic differentiation, for training.
#[cfg(feature = "cuda")]
pub type CudaAutodiff = burn::backend::Autodiff<Cuda>;

/// burn's WebGPU backend: CubeCL's kernels, the ones the CUDA backend compiles too, through
/// Vulkan (Linux, Windows), Metal (macOS) or DirectX 12. On a machine without a GPU, Mesa's
/// lavapipe (Debian's `mesa-vulkan-drivers`) is a Vulkan device on the CPU.
#[cfg(feature = "wgpu")]
pub type Wgpu = burn::backend::Wgpu;

/// [`Wgpu`] with automatic differentiation, for training.
#[cfg(feature = "wgpu")]
pub type WgpuAutodiff = burn::backend::Autodiff<Wgpu>;

/// An adapter (a GPU, or a software device such as lavapipe) that [`Wgpu`] can run on.
#[cfg(feature = "wgpu")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WgpuAdapter {
    /// The adapter's name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Its kind: `DiscreteGpu`, `IntegratedGpu`, `VirtualGpu`, `Cpu` or `Other`.
    pub kind: String,
    /// Its driver, e.g. `llvmpipe`.
    pub driver: String,
}

/// The adapters of the graphics API that [`Wgpu`] uses on this system (Vulkan on Linux and
/// Windows, Metal on macOS), in wgpu's order.
#[cfg(feature = "wgpu")]
pub fn wgpu_adapters() -> Vec<WgpuAdapter> {
    use burn::backend::wgpu::graphics::{AutoGraphicsApi, GraphicsApi};
    let backends = wgpu::Backends::from(AutoGraphicsApi::backend());
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    futures_lite::future::block_on(instance.enumerate_adapters(backends))
        .iter()
        .map(|adapter| {
            let info = adapter.get_info();
            WgpuAdapter {
                name: info.name,
                kind: format!("{:?}", info.device_type),
                driver: info.driver,
            }
        })
        .collect()
}

/// The [`Wgpu`] device to compute on: burn's default (the best adapter), after checking that
/// there is one, since burn-wgpu panics in a worker thread when it finds none.
///
/// # Errors
/// [`BackendError::NoWgpuAdapter`] where the graphics API has no adapter.
#[cfg(feature = "wgpu")]
pub fn wgpu_device() -> Result<burn::backend::wgpu::WgpuDevice, BackendError> {
    if wgpu_adapters().is_empty() {
        return Err(BackendError::NoWgpuAdapter);
    }
    Ok(burn::backend::wgpu::WgpuDevice::DefaultDevice)
}

/// The shared objects the CUDA driver API lives in, tried in order.
pub const CUDA_DRIVER_LIBRARIES: &[&str] = &["libcuda.so.1", "libcuda.so", "nvcuda.dll"];

/// Why a backend cannot be used on this machine.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// No CUDA driver library could be loaded.
    #[error("no CUDA driver found (tried {tried}): this machine has no NVIDIA driver; use the CPU backend")]
    NoCudaDriver {
        /// The library names tried, comma-separated.
        tried: String,
    },
    /// The driver loaded but does not export the driver API.
    #[error("the CUDA driver library {library} lacks `{symbol}`")]
    MissingSymbol {
        /// The library that loaded.
        library: String,
        /// The symbol it lacks.
        symbol: &'static str,
    },
    /// `cuInit` or a query failed.
    #[error("the CUDA driver failed: {call} returned error {code}")]
    DriverCall {
        /// The driver call.
        call: &'static str,
        /// Its `CUresult`.
        code: i32,
    },
    /// The driver works but sees no device, or fewer than asked for.
    #[error("CUDA device {index} requested, but the driver reports {count} device(s)")]
    NoSuchDevice {
        /// The device index asked for.
        index: usize,
        /// Devices the driver reports.
        count: usize,
    },
    /// wgpu finds no adapter for its graphics API.
    #[error("wgpu finds no Vulkan, Metal or DirectX 12 adapter on this machine: install a GPU driver, or Mesa's lavapipe for a Vulkan device on the CPU (Debian: mesa-vulkan-drivers)")]
    NoWgpuAdapter,
    /// The backend was not compiled into this binary.
    #[error("the {backend} backend is not compiled in: rebuild with `--features {backend}`")]
    NotCompiled {
        /// The backend's feature name.
        backend: &'static str,
    },
}

/// What the CUDA driver reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CudaDriver {
    /// `cuDriverGetVersion`, e.g. 12040 for CUDA 12.4.
    pub version: i32,
    /// `cuDeviceGetCount`.
    pub devices: usize,
}

/// Probes the CUDA driver: loads it, initialises it and counts devices.
pub fn cuda_driver() -> Result<CudaDriver, BackendError> {
    probe_cuda_driver(CUDA_DRIVER_LIBRARIES)
}

/// [`cuda_driver`] with an explicit list of library names to try.
pub fn probe_cuda_driver(candidates: &[&str]) -> Result<CudaDriver, BackendError> {
    type CuInit = unsafe extern "C" fn(u32) -> i32;
    type CuQuery = unsafe extern "C" fn(*mut i32) -> i32;

    // SAFETY: loading the NVIDIA driver runs its initialisers, which is what cudarc does too.
    let Some((name, lib)) = candidates.iter().find_map(|name| {
        unsafe { libloading::Library::new(name) }
            .ok()
            .map(|l| (*name, l))
    }) else {
        return Err(BackendError::NoCudaDriver {
            tried: candidates.join(", "),
        });
    };
    let symbol = |s: &'static str| BackendError::MissingSymbol {
        library: name.to_string(),
        symbol: s,
    };
    // SAFETY: these are the driver API's documented C signatures.
    let result = unsafe {
        let init: libloading::Symbol<CuInit> =
            lib.get(b"cuInit\0").map_err(|_| symbol("cuInit"))?;
        let version: libloading::Symbol<CuQuery> = lib
            .get(b"cuDriverGetVersion\0")
            .map_err(|_| symbol("cuDriverGetVersion"))?;
        let count: libloading::Symbol<CuQuery> = lib
            .get(b"cuDeviceGetCount\0")
            .map_err(|_| symbol("cuDeviceGetCount"))?;
        let code = init(0);
        if code != 0 {
            return Err(BackendError::DriverCall {
                call: "cuInit",
                code,
            });
        }
        let mut v = 0;
        let code = version(&mut v);
        if code != 0 {
            return Err(BackendError::DriverCall {
                call: "cuDriverGetVersion",
                code,
            });
        }
        let mut n = 0;
        let code = count(&mut n);
        if code != 0 {
            return Err(BackendError::DriverCall {
                call: "cuDeviceGetCount",
                code,
            });
        }
        Ok(CudaDriver {
            version: v,
            devices: n.max(0) as usize,
        })
    };
    // Unloading the NVIDIA driver is known to crash some versions; cudarc loads it again anyway.
    core::mem::forget(lib);
    result
}

/// The CUDA device `index`, after checking that a driver and that device exist.
#[cfg(feature = "cuda")]
pub fn cuda_device(index: usize) -> Result<burn::backend::cuda::CudaDevice, BackendError> {
    let driver = cuda_driver()?;
    if index >= driver.devices {
        return Err(BackendError::NoSuchDevice {
            index,
            count: driver.devices,
        });
    }
    Ok(burn::backend::cuda::CudaDevice::new(index))
}

/// The CUDA device `index`; without the `cuda` feature this always says so.
#[cfg(not(feature = "cuda"))]
pub fn cuda_device(_index: usize) -> Result<core::convert::Infallible, BackendError> {
    Err(BackendError::NotCompiled { backend: "cuda" })
}

/// Whether `B` computes in this machine's memory: flex, ndarray or candle, with or without
/// autodiff (what [`TrainConfig::check`](crate::train::TrainConfig::check) weighs a batch
/// against).
#[cfg_attr(not(feature = "train"), allow(dead_code))]
pub(crate) fn on_cpu<B: burn::tensor::backend::Backend>() -> bool {
    use std::any::TypeId;
    #[allow(unused)]
    type Ad<T> = burn::backend::Autodiff<T>;
    let on_host: &[TypeId] = &[
        #[cfg(feature = "cpu")]
        TypeId::of::<Cpu>(),
        #[cfg(feature = "cpu")]
        TypeId::of::<Ad<Cpu>>(),
        #[cfg(feature = "ndarray")]
        TypeId::of::<NdArray>(),
        #[cfg(feature = "ndarray")]
        TypeId::of::<Ad<NdArray>>(),
        #[cfg(feature = "candle")]
        TypeId::of::<Candle>(),
        #[cfg(feature = "candle")]
        TypeId::of::<Ad<Candle>>(),
    ];
    on_host.contains(&TypeId::of::<B>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_driver_library_is_an_error_not_a_panic() {
        let err = probe_cuda_driver(&["libunet-no-such-driver.so.1"]).unwrap_err();
        assert_eq!(
            err,
            BackendError::NoCudaDriver {
                tried: "libunet-no-such-driver.so.1".into()
            }
        );
        assert!(err.to_string().contains("no CUDA driver found"));
    }

    #[test]
    fn library_without_driver_api_is_reported_by_symbol() {
        // libm is present on every Linux machine and exports no CUDA symbols.
        let err = probe_cuda_driver(&["libm.so.6"]).unwrap_err();
        assert_eq!(
            err,
            BackendError::MissingSymbol {
                library: "libm.so.6".into(),
                symbol: "cuInit"
            }
        );
    }
}
