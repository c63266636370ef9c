use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Volume<depth: 2, base: 4, dims: 3>);

// A 3D network takes `Feature3d` volumes (`Feature<B, C, L, 5>`: rank 5); a `Feature` image
// (rank 4, the default) is a type error.
fn run(net: &Volume<Cpu>, x: Feature<Cpu, 1, L0>) {
    let _ = net.forward_typed(x);
}

fn main() {}
