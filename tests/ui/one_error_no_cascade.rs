//! A bad key gives one error; later uses of the names do not cascade.
use unet::backend::Cpu;
use unet::prelude::*;

unet!(pub Net<depth: 2, base: 8, up: bilinaer>);

fn main() {
    let device = Default::default();
    let net = Net::<Cpu>::new(&device);
    let x = Tensor::<Cpu, 4>::zeros([1, 1, 16, 16], &device);
    let _ = net.forward(x);
    println!("{}", Net::<Cpu>::summary());
}
