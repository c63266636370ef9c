//! The `unet` tool: train a macro-generated U-Net on images with masks, segment images with it,
//! evaluate it. `unet --help` lists the commands.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
