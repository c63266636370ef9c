use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, dropout: { bottleneck: 0.5, block: 0.1 }>);

fn main() {}
