use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Net<depth: 3, base: 8, deep_supervision: 2>);

// aux2 is at level 2 (1/4 resolution): it cannot be used as a level-1 map.
fn level_one(net: &Net<Cpu>, x: Feature<Cpu, 1, L0>) -> Feature<Cpu, 1, L1> {
    net.forward_typed(x).aux2
}

fn main() {}
