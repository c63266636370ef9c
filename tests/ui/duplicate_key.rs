use unet::prelude::*;

unet!(pub Net<depth: 4, base: 8, depth: 3>);

fn main() {}
