//! Every block's `onnx` method: the block's inference pass as graph nodes, named by module
//! path (dropout is left out: it is the identity at inference).

use burn::nn::interpolate::InterpolateMode;
use burn::nn::norm::Normalization;
use burn::tensor::backend::Backend;

use super::graph::{Graph, Value};
use super::layers::OnnxConv;
use super::OnnxError;
use crate::blocks::{
    Act, AttentionGate, AttentionGate3d, DoubleConv, DoubleConv3d, DownBlock, DownBlock3d, Head,
    Head3d, MergeConv, MergeConv3d, Scse, Scse3d, UpBlock, UpBlock3d, UpSample, UpSample3d,
};

/// conv -> norm -> act -> conv -> norm (-> + shortcut) -> act: the body of every level.
#[allow(clippy::too_many_arguments)]
fn double_conv<B: Backend, C: OnnxConv>(
    g: &mut Graph,
    path: &str,
    (conv1, norm1, act1): (&C, &Option<Normalization<B>>, &Act<B>),
    (conv2, norm2, act2): (&C, &Option<Normalization<B>>, &Act<B>),
    shortcut: Option<Option<&C>>,
    x: &Value,
) -> Result<Value, OnnxError> {
    let norm = |g: &mut Graph, i: u8, n: &Option<Normalization<B>>, v: Value| match n {
        Some(n) => g.norm(&format!("{path}.norm{i}"), n, &v),
        None => Ok(v),
    };
    let h = g.conv(&format!("{path}.conv1"), conv1, x)?;
    let h = norm(g, 1, norm1, h)?;
    let h = g.act(&format!("{path}.act1"), act1, &h)?;
    let y = g.conv(&format!("{path}.conv2"), conv2, &h)?;
    let mut y = norm(g, 2, norm2, y)?;
    if let Some(project) = shortcut {
        let s = g.center_crop_like(&format!("{path}.shortcut/crop"), x, &y);
        let s = match project {
            Some(p) => g.conv(&format!("{path}.shortcut.project"), p, &s)?,
            None => s,
        };
        y = g.binary("Add", &format!("{path}/residual"), &y, &s);
    }
    g.act(&format!("{path}.act2"), act2, &y)
}

/// The `onnx` method of a two-convolution block (the same fields in 2D and 3D).
macro_rules! double_conv_onnx {
    ($block:ident, $($param:ident),*) => {
        impl<B: Backend, $(const $param: usize),*> $block<B, $($param),*> {
            /// The block as ONNX nodes under module path `path`.
            pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<Value, OnnxError> {
                let shortcut = self.shortcut.as_ref().map(|s| s.project.as_ref());
                double_conv(
                    g,
                    path,
                    (&self.conv1, &self.norm1, &self.act1),
                    (&self.conv2, &self.norm2, &self.act2),
                    shortcut,
                    x,
                )
            }
        }
    };
}

double_conv_onnx!(DoubleConv, CIN, COUT);
double_conv_onnx!(DoubleConv3d, CIN, COUT);
double_conv_onnx!(MergeConv, UP, SKIP, COUT);
double_conv_onnx!(MergeConv3d, UP, SKIP, COUT);

impl<B: Backend, const CIN: usize, const COUT: usize> DownBlock<B, CIN, COUT> {
    /// The level as ONNX nodes: `(skip, pooled)`.
    pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<(Value, Value), OnnxError> {
        let pool = &self.pool;
        if pool.kernel_size != [2, 2] || pool.stride != [2, 2] || pool.ceil_mode {
            return Err(OnnxError::Unsupported {
                key: "pool",
                what: format!(
                    "a {:?} max-pool of stride {:?}",
                    pool.kernel_size, pool.stride
                ),
            });
        }
        let skip = self.conv.onnx(g, &format!("{path}.conv"), x)?;
        let pooled = g.max_pool_2x(&format!("{path}.pool"), &skip);
        Ok((skip, pooled))
    }
}

impl<B: Backend, const CIN: usize, const COUT: usize> DownBlock3d<B, CIN, COUT> {
    /// The level as ONNX nodes: `(skip, pooled)`.
    pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<(Value, Value), OnnxError> {
        let skip = self.conv.onnx(g, &format!("{path}.conv"), x)?;
        let pooled = g.max_pool_2x(&format!("{path}.pool"), &skip);
        Ok((skip, pooled))
    }
}

impl<B: Backend, const CIN: usize, const COUT: usize> UpSample<B, CIN, COUT> {
    /// The 2x up-sampling as ONNX nodes.
    pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<Value, OnnxError> {
        let mut x = x.clone();
        if let Some(t) = &self.transposed {
            x = g.conv(&format!("{path}.transposed"), t, &x)?;
        }
        if let Some(i) = &self.interpolate {
            let linear = match i.mode {
                InterpolateMode::Linear => true,
                InterpolateMode::Nearest => false,
                ref other => {
                    return Err(OnnxError::Unsupported {
                        key: "up",
                        what: format!("{other:?} interpolation"),
                    })
                }
            };
            if i.align_corners || i.output_size.is_some() || i.scale_factor != Some([2.0, 2.0]) {
                return Err(OnnxError::Unsupported {
                    key: "up",
                    what: "an interpolation other than 2x without corner alignment".into(),
                });
            }
            x = g.resize_2x(&format!("{path}.interpolate"), &x, linear);
        }
        if let Some(p) = &self.project {
            x = g.conv(&format!("{path}.project"), p, &x)?;
        }
        if let Some(s) = &self.subpixel {
            let conv = g.conv(&format!("{path}.subpixel"), s, &x)?;
            x = g.shuffle_2x(&format!("{path}.shuffle"), &conv);
        }
        Ok(x)
    }
}

impl<B: Backend, const CIN: usize, const COUT: usize> UpSample3d<B, CIN, COUT> {
    /// The 2x up-sampling as ONNX nodes.
    pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<Value, OnnxError> {
        match (&self.transposed, &self.subpixel) {
            (Some(t), _) => g.conv(&format!("{path}.transposed"), t, x),
            (None, Some(s)) => {
                let conv = g.conv(&format!("{path}.subpixel"), s, x)?;
                Ok(g.shuffle_2x(&format!("{path}.shuffle"), &conv))
            }
            (None, None) => {
                let up = g.resize_2x(&format!("{path}.interpolate"), x, self.linear);
                match &self.project {
                    Some(p) => g.conv(&format!("{path}.project"), p, &up),
                    None => Ok(up),
                }
            }
        }
    }
}

/// The `onnx` method of an attention gate: `skip * sigmoid(psi(relu(gate(g) + skip(skip))))`.
macro_rules! gate_onnx {
    ($block:ident) => {
        impl<B: Backend, const G: usize, const X: usize> $block<B, G, X> {
            /// The gate as ONNX nodes: the skip `x` weighed by its attention map from `gating`.
            pub fn onnx(
                &self,
                g: &mut Graph,
                path: &str,
                gating: &Value,
                x: &Value,
            ) -> Result<Value, OnnxError> {
                let from_gate = g.conv(&format!("{path}.gate"), &self.gate, gating)?;
                let from_skip = g.conv(&format!("{path}.skip"), &self.skip, x)?;
                let sum = g.binary("Add", &format!("{path}/sum"), &from_gate, &from_skip);
                let a = g.unary("Relu", &format!("{path}/relu"), &sum);
                let psi = g.conv(&format!("{path}.psi"), &self.psi, &a)?;
                let alpha = g.unary("Sigmoid", &format!("{path}/sigmoid"), &psi);
                Ok(g.same(
                    "Mul",
                    &format!("{path}/weigh"),
                    x,
                    &[x.name(), alpha.name()],
                    vec![],
                ))
            }
        }
    };
}

gate_onnx!(AttentionGate);
gate_onnx!(AttentionGate3d);

/// The `onnx` method of scSE: `x * sigmoid(excite(relu(squeeze(mean x)))) + x * sigmoid(spatial(x))`.
macro_rules! scse_onnx {
    ($block:ident) => {
        impl<B: Backend, const C: usize> $block<B, C> {
            /// The recalibration as ONNX nodes.
            pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<Value, OnnxError> {
                let pooled = g.node(
                    "GlobalAveragePool",
                    &format!("{path}/pool"),
                    &[x.name()],
                    vec![],
                );
                let ones = vec![1; g.rank() - 2];
                let pooled = Value {
                    name: pooled,
                    channels: x.channels(),
                    spatial: Some(ones),
                };
                let squeezed = g.conv(&format!("{path}.squeeze"), &self.squeeze, &pooled)?;
                let squeezed = g.unary("Relu", &format!("{path}/relu"), &squeezed);
                let excited = g.conv(&format!("{path}.excite"), &self.excite, &squeezed)?;
                let channel = g.unary("Sigmoid", &format!("{path}/channel_gate"), &excited);
                let spatial = g.conv(&format!("{path}.spatial"), &self.spatial, x)?;
                let spatial = g.unary("Sigmoid", &format!("{path}/spatial_gate"), &spatial);
                let by_channel = g.same(
                    "Mul",
                    &format!("{path}/by_channel"),
                    x,
                    &[x.name(), channel.name()],
                    vec![],
                );
                let by_space = g.same(
                    "Mul",
                    &format!("{path}/by_space"),
                    x,
                    &[x.name(), spatial.name()],
                    vec![],
                );
                Ok(g.binary("Add", &format!("{path}/sum"), &by_channel, &by_space))
            }
        }
    };
}

scse_onnx!(Scse);
scse_onnx!(Scse3d);

/// The `onnx` method of a decoder level: up-sample, (gate,) concatenate, convolve (, scSE).
macro_rules! up_block_onnx {
    ($block:ident) => {
        impl<
                B: Backend,
                const CDEEP: usize,
                const UP: usize,
                const SKIP: usize,
                const COUT: usize,
            > $block<B, CDEEP, UP, SKIP, COUT>
        {
            /// The level as ONNX nodes, from the deeper map `x` and this level's `skip`.
            pub fn onnx(
                &self,
                g: &mut Graph,
                path: &str,
                x: &Value,
                skip: &Value,
            ) -> Result<Value, OnnxError> {
                let up = self.up.onnx(g, &format!("{path}.up"), x)?;
                let skip = g.center_crop_like(&format!("{path}/crop"), skip, &up);
                let skip = match &self.gate {
                    Some(gate) => gate.onnx(g, &format!("{path}.gate"), &up, &skip)?,
                    None => skip,
                };
                let merged = g.concat(&format!("{path}/concat"), &up, &skip);
                let out = self.conv.onnx(g, &format!("{path}.conv"), &merged)?;
                match &self.scse {
                    Some(scse) => scse.onnx(g, &format!("{path}.scse"), &out),
                    None => Ok(out),
                }
            }
        }
    };
}

up_block_onnx!(UpBlock);
up_block_onnx!(UpBlock3d);

/// The `onnx` method of a 1x1 head.
macro_rules! head_onnx {
    ($block:ident) => {
        impl<B: Backend, const CIN: usize, const CLASSES: usize> $block<B, CIN, CLASSES> {
            /// The head as an ONNX `Conv`.
            pub fn onnx(&self, g: &mut Graph, path: &str, x: &Value) -> Result<Value, OnnxError> {
                g.conv(&format!("{path}.conv"), &self.conv, x)
            }
        }
    };
}

head_onnx!(Head);
head_onnx!(Head3d);
