//! The whole `unet` tool for your own networks: this file is a user crate's entire
//! `main.rs`. `cargo run --example your_own_tool -- models` lists them; every command of
//! `unet` works on them (`summary`, `train`, `eval`, `predict`, `import`, `bench`).

use unet::prelude::*;

unet!(pub MyNet<depth: 3, base: 8>);
unet!(pub Wide<depth: 2, base: 32, in_channels: 3, classes: 4, norm: batch>);
unet!(pub Deep<depth: 2, base: 8, classes: 3, padding: valid, deep_supervision: 1>);

fn main() -> std::process::ExitCode {
    unet::cli!(mynet = MyNet, wide = Wide, deep = Deep)
}
