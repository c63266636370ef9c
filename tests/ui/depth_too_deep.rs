use unet::prelude::*;

unet!(pub Net<depth: 9, base: 8>);

fn main() {}
