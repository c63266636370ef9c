use unet::prelude::*;

unet!(pub Net<base: 8, up: bilinear>);

fn main() {}
