use unet::prelude::*;

unet!(pub Net<depth: 3, channels: [8, 16, 32]>);

fn main() {}
