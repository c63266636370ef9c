use unet::prelude::*;

unet!(pub Net<depth: 0, base: 8>);

fn main() {}
