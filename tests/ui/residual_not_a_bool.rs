use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, residual: yes>);

fn main() {}
