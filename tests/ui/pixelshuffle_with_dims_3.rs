use unet::prelude::*;

// Sub-pixel up-sampling exists for 2D maps only.
unet!(pub Volume<depth: 2, base: 8, dims: 3, up: pixelshuffle>);

fn main() {}
