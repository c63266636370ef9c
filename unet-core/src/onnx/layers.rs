//! burn's layers as ONNX nodes: convolutions, norms, activations, pooling, up-sampling,
//! shuffles, crops and `pad_input`'s pad. Each takes a value and returns its output, with the
//! output's spatial sizes when the input's are fixed.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d};
use burn::nn::norm::Normalization;
use burn::nn::{PaddingConfig2d, PaddingConfig3d};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::graph::{Attr, Graph, Value};
use super::OnnxError;
use crate::blocks::Act;

/// The name of parameter `param` of the module at `path`: the down/up layout's PyTorch name
/// where it has one (`encoder.down1.conv.conv1.weight` -> `down1.conv.net.0.weight`), else the
/// module path.
pub(crate) fn param_name(path: &str, param: &str) -> String {
    let full = format!("{path}.{param}");
    crate::interop::pytorch_name(&full).unwrap_or(full)
}

/// The node name of the module at `path`: its weight's PyTorch name without `.weight`.
pub(crate) fn node_name(path: &str) -> String {
    let weight = param_name(path, "weight");
    weight
        .strip_suffix(".weight")
        .map(str::to_string)
        .unwrap_or(weight)
}

/// Where and how a convolution slides, as ONNX's attributes read it.
pub(crate) struct ConvGeometry {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    /// Begins of every axis, then ends.
    pads: Vec<usize>,
    dilations: Vec<usize>,
    groups: usize,
    out_channels: usize,
    /// `Some(output padding)` for a transposed convolution.
    transposed: Option<Vec<usize>>,
}

impl ConvGeometry {
    fn output_size(&self, input: &[usize]) -> Vec<usize> {
        let axes = self.kernel.len();
        (0..axes)
            .map(|i| {
                let (k, s, d) = (self.kernel[i], self.strides[i], self.dilations[i]);
                let pads = self.pads[i] + self.pads[i + axes];
                let span = d * (k - 1) + 1;
                match &self.transposed {
                    None => (input[i] + pads).saturating_sub(span) / s + 1,
                    Some(extra) => ((input[i] - 1) * s + span + extra[i]).saturating_sub(pads),
                }
            })
            .collect()
    }
}

/// A convolution of any rank, plain or transposed.
pub(crate) trait OnnxConv {
    /// Its kernel, strides, pads, dilations and groups.
    fn geometry(&self) -> Result<ConvGeometry, OnnxError>;
    /// Stores the weight and bias under `path`; returns their names.
    fn store(&self, g: &mut Graph, path: &str) -> Result<(String, Option<String>), OnnxError>;
}

fn unsupported(key: &'static str, what: String) -> OnnxError {
    OnnxError::Unsupported { key, what }
}

fn pads_2d(p: &PaddingConfig2d) -> Result<Vec<usize>, OnnxError> {
    match p {
        PaddingConfig2d::Valid => Ok(vec![0; 4]),
        &PaddingConfig2d::Explicit(top, left, bottom, right) => Ok(vec![top, left, bottom, right]),
        PaddingConfig2d::Same => Err(unsupported("padding", "burn's `Same` padding".into())),
    }
}

fn pads_3d(p: &PaddingConfig3d) -> Result<Vec<usize>, OnnxError> {
    match p {
        PaddingConfig3d::Valid => Ok(vec![0; 6]),
        &PaddingConfig3d::Explicit(d, h, w) => Ok(vec![d, h, w, d, h, w]),
        PaddingConfig3d::Same => Err(unsupported("padding", "burn's `Same` padding".into())),
    }
}

/// Stores a convolution's weight and optional bias.
macro_rules! store_conv {
    () => {
        fn store(&self, g: &mut Graph, path: &str) -> Result<(String, Option<String>), OnnxError> {
            let weight = g.weight(&param_name(path, "weight"), self.weight.val(), None)?;
            let bias = match &self.bias {
                Some(b) => Some(g.weight(&param_name(path, "bias"), b.val(), None)?),
                None => None,
            };
            Ok((weight, bias))
        }
    };
}

/// The geometry of a plain convolution (same fields in 2D and 3D; `$pads` reads its padding).
macro_rules! conv_geometry {
    ($pads:ident) => {
        fn geometry(&self) -> Result<ConvGeometry, OnnxError> {
            Ok(ConvGeometry {
                kernel: self.kernel_size.to_vec(),
                strides: self.stride.to_vec(),
                pads: $pads(&self.padding)?,
                dilations: self.dilation.to_vec(),
                groups: self.groups,
                out_channels: self.weight.dims()[0],
                transposed: None,
            })
        }
    };
}

impl<B: Backend> OnnxConv for Conv2d<B> {
    conv_geometry!(pads_2d);
    store_conv!();
}

impl<B: Backend> OnnxConv for Conv3d<B> {
    conv_geometry!(pads_3d);
    store_conv!();
}

/// The geometry of a transposed convolution (same fields in 2D and 3D).
macro_rules! transposed_geometry {
    () => {
        fn geometry(&self) -> Result<ConvGeometry, OnnxError> {
            Ok(ConvGeometry {
                kernel: self.kernel_size.to_vec(),
                strides: self.stride.to_vec(),
                pads: [self.padding, self.padding].concat(),
                dilations: self.dilation.to_vec(),
                groups: self.groups,
                out_channels: self.weight.dims()[1] * self.groups,
                transposed: Some(self.padding_out.to_vec()),
            })
        }
    };
}

impl<B: Backend> OnnxConv for ConvTranspose2d<B> {
    transposed_geometry!();
    store_conv!();
}

impl<B: Backend> OnnxConv for ConvTranspose3d<B> {
    transposed_geometry!();
    store_conv!();
}

fn ints(v: &[usize]) -> Vec<i64> {
    v.iter().map(|&x| x as i64).collect()
}

impl Graph {
    /// A convolution (`Conv` or `ConvTranspose`) of the module at `path`.
    pub(crate) fn conv(
        &mut self,
        path: &str,
        conv: &impl OnnxConv,
        x: &Value,
    ) -> Result<Value, OnnxError> {
        let geo = conv.geometry()?;
        let (weight, bias) = conv.store(self, path)?;
        let mut inputs = vec![x.name.as_str(), weight.as_str()];
        if let Some(b) = &bias {
            inputs.push(b);
        }
        let mut attrs = vec![
            Attr::Ints("kernel_shape", ints(&geo.kernel)),
            Attr::Ints("strides", ints(&geo.strides)),
            Attr::Ints("pads", ints(&geo.pads)),
            Attr::Ints("dilations", ints(&geo.dilations)),
            Attr::Int("group", geo.groups as i64),
        ];
        let op = match &geo.transposed {
            None => "Conv",
            Some(extra) => {
                attrs.push(Attr::Ints("output_padding", ints(extra)));
                "ConvTranspose"
            }
        };
        let name = self.node(op, &node_name(path), &inputs, attrs);
        Ok(Value {
            name,
            channels: geo.out_channels,
            spatial: x.spatial.as_ref().map(|s| geo.output_size(s)),
        })
    }

    /// A norm layer of the module at `path`: `BatchNormalization` with the running
    /// statistics, `InstanceNormalization`, or a group norm as instance norm over the groups.
    pub(crate) fn norm<B: Backend>(
        &mut self,
        path: &str,
        norm: &Normalization<B>,
        x: &Value,
    ) -> Result<Value, OnnxError> {
        let node = node_name(path);
        match norm {
            Normalization::Batch(bn) => {
                let gamma = self.weight(&param_name(path, "weight"), bn.gamma.val(), None)?;
                let beta = self.weight(&param_name(path, "bias"), bn.beta.val(), None)?;
                let mean = self.weight(
                    &param_name(path, "running_mean"),
                    bn.running_mean.value(),
                    None,
                )?;
                let var = self.weight(
                    &param_name(path, "running_var"),
                    bn.running_var.value(),
                    None,
                )?;
                let attrs = vec![Attr::Float("epsilon", bn.epsilon as f32)];
                let inputs = [x.name.as_str(), &gamma, &beta, &mean, &var];
                Ok(self.same("BatchNormalization", &node, x, &inputs, attrs))
            }
            Normalization::Instance(n) => {
                let (scale, bias) = self.affine(
                    path,
                    n.gamma.as_ref(),
                    n.beta.as_ref(),
                    n.num_channels,
                    None,
                )?;
                let attrs = vec![Attr::Float("epsilon", n.epsilon as f32)];
                Ok(self.same(
                    "InstanceNormalization",
                    &node,
                    x,
                    &[&x.name, &scale, &bias],
                    attrs,
                ))
            }
            Normalization::Group(n) => {
                let groups = n.num_groups;
                let to_groups = self.ints(&format!("{node}.groups_shape"), &[0, groups as i64, -1]);
                let grouped = self.node(
                    "Reshape",
                    &format!("{node}/to_groups"),
                    &[&x.name, &to_groups],
                    vec![],
                );
                let ones = self.floats(
                    &format!("{node}.group_scale"),
                    &[groups],
                    &vec![1.0; groups],
                );
                let zeros =
                    self.floats(&format!("{node}.group_bias"), &[groups], &vec![0.0; groups]);
                let attrs = vec![Attr::Float("epsilon", n.epsilon as f32)];
                let normed = self.node(
                    "InstanceNormalization",
                    &format!("{node}/groups"),
                    &[&grouped, &ones, &zeros],
                    attrs,
                );
                let shape = self.node("Shape", &format!("{node}/shape"), &[&x.name], vec![]);
                let back = self.node(
                    "Reshape",
                    &format!("{node}/to_channels"),
                    &[&normed, &shape],
                    vec![],
                );
                let mut dims = vec![1; self.rank() - 1];
                dims[0] = n.num_channels;
                let (scale, bias) = self.affine(
                    path,
                    n.gamma.as_ref(),
                    n.beta.as_ref(),
                    n.num_channels,
                    Some(&dims),
                )?;
                let scaled = self.node("Mul", &format!("{node}/scale"), &[&back, &scale], vec![]);
                Ok(self.same(
                    "Add",
                    &format!("{node}/shift"),
                    x,
                    &[&scaled, &bias],
                    vec![],
                ))
            }
            _ => Err(unsupported(
                "norm",
                "burn's LayerNorm and RmsNorm (a generated network's layer norm is a 1-group norm)"
                    .into(),
            )),
        }
    }

    /// A norm's scale and shift (ones and zeros without `affine`), shaped `dims` if given.
    fn affine<B: Backend>(
        &mut self,
        path: &str,
        gamma: Option<&Param<Tensor<B, 1>>>,
        beta: Option<&Param<Tensor<B, 1>>>,
        channels: usize,
        dims: Option<&[usize]>,
    ) -> Result<(String, String), OnnxError> {
        let shape = dims.map(<[usize]>::to_vec).unwrap_or(vec![channels]);
        let one = |g: &mut Graph, param: &str, p: Option<&Param<Tensor<B, 1>>>, fill: f32| match p {
            Some(p) => g.weight(&param_name(path, param), p.val(), Some(&shape)),
            None => Ok(g.floats(&param_name(path, param), &shape, &vec![fill; channels])),
        };
        Ok((
            one(self, "weight", gamma, 1.0)?,
            one(self, "bias", beta, 0.0)?,
        ))
    }

    /// An activation of the module at `path`; GELU, SiLU and Mish as their formulas, which
    /// opset 17 has no single op for.
    pub(crate) fn act<B: Backend>(
        &mut self,
        path: &str,
        act: &Act<B>,
        x: &Value,
    ) -> Result<Value, OnnxError> {
        let node = node_name(path);
        let x_name = x.name.as_str();
        Ok(match act {
            Act::Relu(_) => self.same("Relu", &node, x, &[x_name], vec![]),
            Act::LeakyRelu(a) => {
                let attrs = vec![Attr::Float("alpha", a.negative_slope as f32)];
                self.same("LeakyRelu", &node, x, &[x_name], attrs)
            }
            Act::PRelu(a) => {
                let slope = self.weight(&param_name(path, "weight"), a.alpha.val(), None)?;
                self.same("PRelu", &node, x, &[x_name, &slope], vec![])
            }
            Act::Gelu(a) if a.approximate => {
                return Err(unsupported("act", "the tanh approximation of GELU".into()))
            }
            Act::Gelu(_) => {
                // x * 0.5 * (1 + erf(x / sqrt 2)), burn's exact GELU.
                let root2 = self.floats(&format!("{node}.sqrt2"), &[], &[std::f32::consts::SQRT_2]);
                let one = self.floats(&format!("{node}.one"), &[], &[1.0]);
                let half = self.floats(&format!("{node}.half"), &[], &[0.5]);
                let scaled = self.node("Div", &format!("{node}/div"), &[x_name, &root2], vec![]);
                let erf = self.node("Erf", &format!("{node}/erf"), &[&scaled], vec![]);
                let plus = self.node("Add", &format!("{node}/add"), &[&erf, &one], vec![]);
                let halved = self.node("Mul", &format!("{node}/half"), &[&plus, &half], vec![]);
                self.same("Mul", &node, x, &[x_name, &halved], vec![])
            }
            Act::Silu(_) => {
                let gate = self.node("Sigmoid", &format!("{node}/sigmoid"), &[x_name], vec![]);
                self.same("Mul", &node, x, &[x_name, &gate], vec![])
            }
            Act::Mish(_) => {
                let soft = self.node("Softplus", &format!("{node}/softplus"), &[x_name], vec![]);
                let tanh = self.node("Tanh", &format!("{node}/tanh"), &[&soft], vec![]);
                self.same("Mul", &node, x, &[x_name, &tanh], vec![])
            }
        })
    }

    /// Element-wise `op` of two values of one shape.
    pub(crate) fn binary(&mut self, op: &str, name: &str, a: &Value, b: &Value) -> Value {
        self.same(op, name, a, &[&a.name, &b.name], vec![])
    }

    /// Element-wise `op` of one value (`Relu`, `Sigmoid`).
    pub(crate) fn unary(&mut self, op: &str, name: &str, x: &Value) -> Value {
        self.same(op, name, x, &[&x.name], vec![])
    }

    /// A 2x max-pool of every spatial axis, stride 2, odd sizes floored.
    pub(crate) fn max_pool_2x(&mut self, name: &str, x: &Value) -> Value {
        let axes = self.rank() - 2;
        let attrs = vec![
            Attr::Ints("kernel_shape", vec![2; axes]),
            Attr::Ints("strides", vec![2; axes]),
        ];
        let out = self.node("MaxPool", name, &[&x.name], attrs);
        Value {
            name: out,
            channels: x.channels,
            spatial: x
                .spatial
                .as_ref()
                .map(|s| s.iter().map(|v| v / 2).collect()),
        }
    }

    /// 2x up-sampling of every spatial axis: nearest as PyTorch's (`asymmetric`, `floor`), or
    /// (bi/tri)linear without corner alignment (`half_pixel`).
    pub(crate) fn resize_2x(&mut self, name: &str, x: &Value, linear: bool) -> Value {
        let mut scales = vec![1.0; self.rank()];
        scales[2..].fill(2.0);
        let scales = self.floats(&format!("{name}.scales"), &[scales.len()], &scales);
        let attrs = if linear {
            vec![
                Attr::Str("mode", "linear"),
                Attr::Str("coordinate_transformation_mode", "half_pixel"),
            ]
        } else {
            vec![
                Attr::Str("mode", "nearest"),
                Attr::Str("coordinate_transformation_mode", "asymmetric"),
                Attr::Str("nearest_mode", "floor"),
            ]
        };
        let out = self.node("Resize", name, &[&x.name, "", &scales], attrs);
        Value {
            name: out,
            channels: x.channels,
            spatial: x
                .spatial
                .as_ref()
                .map(|s| s.iter().map(|v| v * 2).collect()),
        }
    }

    /// Sub-pixel shuffle `[N, C 2^k, ...] -> [N, C, 2x ...]` in PyTorch's `PixelShuffle` order:
    /// `DepthToSpace` (CRD) for images, reshape-transpose-reshape for volumes.
    pub(crate) fn shuffle_2x(&mut self, name: &str, x: &Value) -> Value {
        let axes = self.rank() - 2;
        let channels = x.channels >> axes;
        let spatial = x
            .spatial
            .as_ref()
            .map(|s| s.iter().map(|v| v * 2).collect());
        let out = if axes == 2 {
            let attrs = vec![Attr::Int("blocksize", 2), Attr::Str("mode", "CRD")];
            self.node("DepthToSpace", name, &[&x.name], attrs)
        } else {
            // [N, 8C, D, H, W] -> [NC, 2, 2, 2, D, H, W] -> [NC, D, 2, H, 2, W, 2] -> [N, C, 2D, 2H, 2W]
            let sizes = self.node(
                "Shape",
                &format!("{name}/spatial"),
                &[&x.name],
                vec![Attr::Int("start", 2)],
            );
            let batch = self.node(
                "Shape",
                &format!("{name}/batch"),
                &[&x.name],
                vec![Attr::Int("end", 1)],
            );
            let head = self.ints(&format!("{name}.split"), &[-1, 2, 2, 2]);
            let split = self.node(
                "Concat",
                &format!("{name}/split_shape"),
                &[&head, &sizes],
                vec![Attr::Int("axis", 0)],
            );
            let blocks = self.node(
                "Reshape",
                &format!("{name}/split"),
                &[&x.name, &split],
                vec![],
            );
            let perm = Attr::Ints("perm", vec![0, 4, 1, 5, 2, 6, 3]);
            let moved = self.node(
                "Transpose",
                &format!("{name}/interleave"),
                &[&blocks],
                vec![perm],
            );
            let two = self.ints(&format!("{name}.two"), &[2]);
            let doubled = self.node("Mul", &format!("{name}/doubled"), &[&sizes, &two], vec![]);
            let c = self.ints(&format!("{name}.channels"), &[channels as i64]);
            let shape = self.node(
                "Concat",
                &format!("{name}/shape"),
                &[&batch, &c, &doubled],
                vec![Attr::Int("axis", 0)],
            );
            self.node("Reshape", name, &[&moved, &shape], vec![])
        };
        Value {
            name: out,
            channels,
            spatial,
        }
    }

    /// Channel concatenation `[a, b]`.
    pub(crate) fn concat(&mut self, name: &str, a: &Value, b: &Value) -> Value {
        let out = self.node(
            "Concat",
            name,
            &[&a.name, &b.name],
            vec![Attr::Int("axis", 1)],
        );
        Value {
            name: out,
            channels: a.channels + b.channels,
            spatial: a.spatial.clone(),
        }
    }

    /// The spatial window `at..at + size` of `x` (constant bounds).
    pub(crate) fn window(&mut self, name: &str, x: &Value, at: &[usize], size: &[usize]) -> Value {
        if x.spatial.as_deref() == Some(size) {
            return x.clone();
        }
        let axes: Vec<i64> = (2..self.rank() as i64).collect();
        let ends: Vec<usize> = at.iter().zip(size).map(|(a, s)| a + s).collect();
        let starts = self.ints(&format!("{name}.starts"), &ints(at));
        let ends = self.ints(&format!("{name}.ends"), &ints(&ends));
        let axes = self.ints(&format!("{name}.axes"), &axes);
        let out = self.node("Slice", name, &[&x.name, &starts, &ends, &axes], vec![]);
        Value {
            name: out,
            channels: x.channels,
            spatial: Some(size.to_vec()),
        }
    }

    /// The center window of `x` the size of `like` (valid padding's skip and residual
    /// crops); with sizes not fixed, `x` itself, since with `padding: same` they agree.
    pub(crate) fn center_crop_like(&mut self, name: &str, x: &Value, like: &Value) -> Value {
        match (&x.spatial, &like.spatial) {
            (Some(have), Some(want)) if have != want => {
                let at: Vec<usize> = have.iter().zip(want).map(|(h, w)| (h - w) / 2).collect();
                self.window(name, x, &at, want)
            }
            _ => x.clone(),
        }
    }
}
