//! The graph under construction: nodes, weights and constants, and the spatial sizes of each
//! value where the export fixed them, encoded with `onnx-protobuf`'s messages.

use std::collections::HashSet;

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use onnx_protobuf::attribute_proto::AttributeType;
use onnx_protobuf::tensor_proto::DataType;
use onnx_protobuf::tensor_shape_proto::{dimension, Dimension};
use onnx_protobuf::type_proto;
use onnx_protobuf::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use protobuf::{EnumOrUnknown, MessageField};

use super::OnnxError;

/// The ONNX operator set the graphs use.
pub const OPSET: i64 = 17;
/// The IR version of opset 17 (ONNX 1.12).
const IR_VERSION: i64 = 8;

/// A tensor of the graph: its name, channels, and spatial sizes when they are fixed (`None`
/// when the graph takes any size, as a `padding: same` network's does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Value {
    pub(crate) name: String,
    pub(crate) channels: usize,
    pub(crate) spatial: Option<Vec<usize>>,
}

impl Value {
    /// The value's name in the graph.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its channel count.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Its spatial sizes, when the export fixed them.
    pub fn spatial(&self) -> Option<&[usize]> {
        self.spatial.as_deref()
    }

    /// The same tensor shape under another name (the output of an element-wise node).
    fn renamed(&self, name: String) -> Value {
        Value {
            name,
            ..self.clone()
        }
    }
}

/// An attribute of a node.
pub(crate) enum Attr<'a> {
    Int(&'a str, i64),
    Ints(&'a str, Vec<i64>),
    Float(&'a str, f32),
    Str(&'a str, &'a str),
}

impl Attr<'_> {
    fn proto(self) -> AttributeProto {
        let mut a = AttributeProto::new();
        let (name, kind) = match self {
            Attr::Int(name, i) => {
                a.i = i;
                (name, AttributeType::INT)
            }
            Attr::Ints(name, ints) => {
                a.ints = ints;
                (name, AttributeType::INTS)
            }
            Attr::Float(name, f) => {
                a.f = f;
                (name, AttributeType::FLOAT)
            }
            Attr::Str(name, s) => {
                a.s = s.as_bytes().to_vec();
                (name, AttributeType::STRING)
            }
        };
        a.name = name.into();
        a.type_ = EnumOrUnknown::new(kind);
        a
    }
}

/// An ONNX graph being built, input to outputs, by the blocks' `onnx` methods (a generated
/// network's `wire` calls them in order; a hand-made graph can too).
#[derive(Debug)]
pub struct Graph {
    rank: usize,
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    taken: HashSet<String>,
}

/// Spatial axis names of a graph's dynamic sizes.
fn axis_names(rank: usize) -> &'static [&'static str] {
    &["depth", "height", "width"][5 - rank.min(5)..]
}

impl Graph {
    /// An empty graph over tensors of `rank` (4 for images, 5 for volumes).
    pub fn new(rank: usize) -> Self {
        Self {
            rank,
            nodes: Vec::new(),
            initializers: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            taken: HashSet::new(),
        }
    }

    /// The rank of the graph's feature maps.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// `name`, or `name_2`, `name_3`, ... if it is taken.
    fn unique(&mut self, name: &str) -> String {
        let mut candidate = name.to_string();
        let mut n = 1;
        while !self.taken.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{name}_{n}");
        }
        candidate
    }

    /// The `[N, C, spatial...]` type of a float tensor; `N` is named `batch`, dynamic spatial
    /// sizes `depth`, `height`, `width` behind `axes_prefix`.
    fn tensor_type(&self, v: &Value, axes_prefix: &str) -> ValueInfoProto {
        let dim = |value| {
            let mut d = Dimension::new();
            d.value = Some(value);
            d
        };
        let mut dims = vec![
            dim(dimension::Value::DimParam("batch".into())),
            dim(dimension::Value::DimValue(v.channels as i64)),
        ];
        for (i, axis) in axis_names(self.rank).iter().enumerate() {
            dims.push(dim(match &v.spatial {
                Some(s) => dimension::Value::DimValue(s[i] as i64),
                None => dimension::Value::DimParam(format!("{axes_prefix}{axis}")),
            }));
        }
        let mut shape = TensorShapeProto::new();
        shape.dim = dims;
        let mut tensor = type_proto::Tensor::new();
        tensor.elem_type = DataType::FLOAT as i32;
        tensor.shape = MessageField::some(shape);
        let mut ty = TypeProto::new();
        ty.value = Some(type_proto::Value::TensorType(tensor));
        let mut info = ValueInfoProto::new();
        info.name = v.name.clone();
        info.type_ = MessageField::some(ty);
        info
    }

    /// Declares the graph's input.
    pub fn input(&mut self, name: &str, channels: usize, spatial: Option<Vec<usize>>) -> Value {
        let v = Value {
            name: self.unique(name),
            channels,
            spatial,
        };
        let info = self.tensor_type(&v, "");
        self.inputs.push(info);
        v
    }

    /// Declares `v` an output of the graph under `name` (an Identity node renames it), of the
    /// input's spatial size: dynamic sizes share the input's names.
    pub fn output(&mut self, name: &str, v: &Value) {
        self.output_named(name, v, "");
    }

    /// [`Graph::output`] for an output of another spatial size than the input's (a
    /// deep-supervision head): dynamic sizes are its own, `NAME_height`, `NAME_width`.
    pub fn output_of_own_size(&mut self, name: &str, v: &Value) {
        self.output_named(name, v, &format!("{name}_"));
    }

    fn output_named(&mut self, name: &str, v: &Value, axes_prefix: &str) {
        let out = self.node("Identity", name, &[&v.name], vec![]);
        let renamed = v.renamed(out);
        let info = self.tensor_type(&renamed, axes_prefix);
        self.outputs.push(info);
    }

    /// Adds a node named `name` (made unique) and returns its output's name.
    pub(crate) fn node(
        &mut self,
        op: &str,
        name: &str,
        inputs: &[&str],
        attrs: Vec<Attr>,
    ) -> String {
        let name = self.unique(name);
        let mut node = NodeProto::new();
        node.op_type = op.into();
        node.name = name.clone();
        node.input = inputs.iter().map(|s| s.to_string()).collect();
        node.output = vec![name.clone()];
        node.attribute = attrs.into_iter().map(Attr::proto).collect();
        self.nodes.push(node);
        name
    }

    /// A node whose output has the shape of `like` (element-wise ops, norms, activations).
    pub(crate) fn same(
        &mut self,
        op: &str,
        name: &str,
        like: &Value,
        inputs: &[&str],
        attrs: Vec<Attr>,
    ) -> Value {
        let out = self.node(op, name, inputs, attrs);
        like.renamed(out)
    }

    /// An f32 initializer of shape `dims`.
    pub(crate) fn floats(&mut self, name: &str, dims: &[usize], data: &[f32]) -> String {
        let name = self.unique(name);
        let mut t = TensorProto::new();
        t.name = name.clone();
        t.data_type = DataType::FLOAT as i32;
        t.dims = dims.iter().map(|&d| d as i64).collect();
        t.raw_data = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializers.push(t);
        name
    }

    /// A 1-D int64 initializer (shapes, pads, slice bounds).
    pub(crate) fn ints(&mut self, name: &str, data: &[i64]) -> String {
        let name = self.unique(name);
        let mut t = TensorProto::new();
        t.name = name.clone();
        t.data_type = DataType::INT64 as i32;
        t.dims = vec![data.len() as i64];
        t.raw_data = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.initializers.push(t);
        name
    }

    /// A burn tensor's values as an initializer of its own shape, or of `dims` if given
    /// (the same number of elements: a norm's `[C]` scale as `[C, 1, 1]`).
    pub(crate) fn weight<B: Backend, const R: usize>(
        &mut self,
        name: &str,
        tensor: Tensor<B, R>,
        dims: Option<&[usize]>,
    ) -> Result<String, OnnxError> {
        let shape = tensor.dims();
        let data = tensor
            .into_data()
            .convert::<f32>()
            .to_vec::<f32>()
            .map_err(|e| OnnxError::Weights {
                name: name.to_string(),
                message: format!("{e:?}"),
            })?;
        Ok(self.floats(name, dims.unwrap_or(&shape), &data))
    }

    /// Drops the nodes no output depends on (the deep-supervision heads when they are not
    /// outputs) and the initializers only they read.
    fn prune(&mut self) {
        let mut needed: HashSet<String> = self.outputs.iter().map(|o| o.name.clone()).collect();
        let mut kept = vec![false; self.nodes.len()];
        // Nodes are in topological order, so one backward pass finds every needed one.
        for (i, node) in self.nodes.iter().enumerate().rev() {
            if node.output.iter().any(|o| needed.contains(o)) {
                kept[i] = true;
                needed.extend(node.input.iter().cloned());
            }
        }
        let mut keep = kept.into_iter();
        self.nodes.retain(|_| keep.next().unwrap_or(false));
        self.initializers.retain(|t| needed.contains(&t.name));
    }

    /// The model: this graph under `name`, with opset [`OPSET`], without the nodes no output
    /// depends on.
    pub fn into_model(mut self, name: &str, doc: &str) -> ModelProto {
        self.prune();
        let mut graph = GraphProto::new();
        graph.name = name.into();
        graph.doc_string = doc.into();
        graph.node = self.nodes;
        graph.initializer = self.initializers;
        graph.input = self.inputs;
        graph.output = self.outputs;
        let mut opset = OperatorSetIdProto::new();
        opset.version = OPSET;
        let mut model = ModelProto::new();
        model.ir_version = IR_VERSION;
        model.opset_import = vec![opset];
        model.producer_name = "unet".into();
        model.producer_version = env!("CARGO_PKG_VERSION").into();
        model.graph = MessageField::some(graph);
        model
    }
}
