use unet::prelude::*;

unet!(pub Net<depth: 3, base: 8, deep_supervision: 3>);

fn main() {}
