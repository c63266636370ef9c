//! `pad_input` in the graph: the pad up to a multiple of `2^depth` and the crop back, with
//! constant bounds when the input size is fixed and computed from the input's shape when not.

use super::graph::{Attr, Graph, Value};
use crate::feature::{pads_to_multiple, window_at_level};

/// Where `pad_input`'s pad put the input inside the padded map.
#[derive(Clone, Debug)]
pub enum Window {
    /// The input size is fixed: the offset and size of the original, per spatial axis.
    Fixed {
        /// Offset of the original in the padded map.
        at: Vec<usize>,
        /// The original's size.
        size: Vec<usize>,
    },
    /// The input size is not fixed: the names of the int64 offset and size tensors.
    Dynamic {
        /// Offsets, one per spatial axis.
        at: String,
        /// Sizes, one per spatial axis.
        size: String,
    },
}

impl Graph {
    /// Pads `x` to a multiple of `multiple` along every spatial axis, split evenly before and
    /// after, as the network's forward does: by reflection (by repeating the edge where a
    /// fixed size is too small to reflect).
    pub fn pad_to_multiple(&mut self, x: &Value, multiple: usize) -> (Value, Window) {
        match x.spatial.clone() {
            Some(size) => self.pad_fixed(x, multiple, size),
            None => self.pad_dynamic(x, multiple),
        }
    }

    fn pad_fixed(&mut self, x: &Value, multiple: usize, size: Vec<usize>) -> (Value, Window) {
        let (pads, reflect) = pads_to_multiple(&size, multiple);
        let (before, after): (Vec<usize>, Vec<usize>) = pads.into_iter().unzip();
        let window = Window::Fixed {
            at: before.clone(),
            size: size.clone(),
        };
        if before.iter().chain(&after).all(|&p| p == 0) {
            return (x.clone(), window);
        }
        let as_i64 = |v: &[usize]| v.iter().map(|&p| p as i64).collect::<Vec<_>>();
        let pads = [vec![0, 0], as_i64(&before), vec![0, 0], as_i64(&after)].concat();
        let pads = self.ints("pad_input.pads", &pads);
        let mode = if reflect { "reflect" } else { "edge" };
        let out = self.node(
            "Pad",
            "pad_input",
            &[&x.name, &pads],
            vec![Attr::Str("mode", mode)],
        );
        let padded = (0..size.len())
            .map(|i| before[i] + size[i] + after[i])
            .collect();
        let v = Value {
            name: out,
            channels: x.channels,
            spatial: Some(padded),
        };
        (v, window)
    }

    fn pad_dynamic(&mut self, x: &Value, multiple: usize) -> (Value, Window) {
        let axes = self.rank() - 2;
        let size = self.node(
            "Shape",
            "pad_input/size",
            &[&x.name],
            vec![Attr::Int("start", 2)],
        );
        let m = self.ints("pad_input.multiple", &vec![multiple as i64; axes]);
        let two = self.ints("pad_input.two", &vec![2; axes]);
        let rem = self.node("Mod", "pad_input/rem", &[&size, &m], vec![]);
        let short = self.node("Sub", "pad_input/short", &[&m, &rem], vec![]);
        let total = self.node("Mod", "pad_input/total", &[&short, &m], vec![]);
        let before = self.node("Div", "pad_input/before", &[&total, &two], vec![]);
        let after = self.node("Sub", "pad_input/after", &[&total, &before], vec![]);
        let zeros = self.ints("pad_input.zeros", &[0, 0]);
        let concat = vec![Attr::Int("axis", 0)];
        let pads = self.node(
            "Concat",
            "pad_input/pads",
            &[&zeros, &before, &zeros, &after],
            concat,
        );
        let reflect = vec![Attr::Str("mode", "reflect")];
        let out = self.node("Pad", "pad_input", &[&x.name, &pads], reflect);
        let v = Value {
            name: out,
            channels: x.channels,
            spatial: None,
        };
        (v, Window::Dynamic { at: before, size })
    }

    /// The original's window of an output at decoder `level` (offsets halve and sizes halve
    /// rounding up, per level): the inverse of [`Graph::pad_to_multiple`].
    pub fn crop_to_window(&mut self, y: &Value, window: &Window, level: usize) -> Value {
        let name = format!("pad_input/crop{level}");
        match window {
            Window::Fixed { at, size } => {
                let (at, size) = window_at_level(at, size, level);
                self.window(&name, y, &at, &size)
            }
            Window::Dynamic { at, size } => {
                let axes = self.rank() - 2;
                let scale = self.ints(&format!("{name}.scale"), &vec![1 << level; axes]);
                let round = self.ints(&format!("{name}.round"), &vec![(1 << level) - 1; axes]);
                let starts = self.node("Div", &format!("{name}/starts"), &[at, &scale], vec![]);
                let up = self.node("Add", &format!("{name}/round_up"), &[size, &round], vec![]);
                let sizes = self.node("Div", &format!("{name}/sizes"), &[&up, &scale], vec![]);
                let ends = self.node("Add", &format!("{name}/ends"), &[&starts, &sizes], vec![]);
                let axes: Vec<i64> = (2..self.rank() as i64).collect();
                let axes = self.ints(&format!("{name}.axes"), &axes);
                let out = self.node("Slice", &name, &[&y.name, &starts, &ends, &axes], vec![]);
                Value {
                    name: out,
                    channels: y.channels,
                    spatial: None,
                }
            }
        }
    }
}
