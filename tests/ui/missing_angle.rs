use unet::prelude::*;

unet!(pub Net(depth: 4, base: 64));

fn main() {}
