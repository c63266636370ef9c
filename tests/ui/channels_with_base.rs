use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, channels: [8, 16, 32]>);

fn main() {}
