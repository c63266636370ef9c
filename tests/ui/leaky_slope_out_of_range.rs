use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, act: leaky_relu(1.5)>);

fn main() {}
