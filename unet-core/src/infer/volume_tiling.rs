//! Overlap-tile inference on volumes: [`predict_tiled`](super::tiling::predict_tiled) along
//! three axes. Cubic windows of `tile` voxels, mirror-padded past the border, their
//! `(tile - margin)`^3 outputs blended with the product of the three axes' Gaussian importance weights.

use super::tiling::{
    axis_weight_sum, importance, reflect, tile_starts, visible, TileSpec, TiledError,
};
use crate::data::Volume;

/// Runs a network over `volume` window by window and returns `classes x D x H x W` logits for
/// exactly the volume's voxels. `run` receives a `channels x tile^3` window and must return
/// `classes x (tile - margin)^3` logits for its centre; the spec, padding, blending and errors
/// are those of [`predict_tiled`](super::tiling::predict_tiled), per axis.
///
/// # Errors
/// An invalid `spec`, volume data of the wrong length, a failing `run`, or `run` returning
/// the wrong number of logits.
pub fn predict_tiled_volume<E>(
    volume: &Volume,
    spec: &TileSpec,
    classes: usize,
    mut run: impl FnMut(&Volume) -> Result<Vec<f32>, E>,
) -> Result<Vec<f32>, TiledError<E>> {
    spec.validate()?;
    let (c, size) = (volume.channels, volume.size);
    let n: usize = size.iter().product();
    if volume.data.len() != c * n {
        return Err(TiledError::ImageShape {
            expected: c * n,
            got: volume.data.len(),
        });
    }
    if n == 0 {
        return Ok(Vec::new());
    }
    let (tile, out, half) = (spec.tile, spec.output(), (spec.margin / 2) as i64);
    let starts = size.map(|len| tile_starts(len, out, spec.stride()));
    let weight = importance(out);
    let sums: Vec<Vec<f64>> = (0..3)
        .map(|a| axis_weight_sum(size[a], &starts[a], &weight))
        .collect();
    let expected = classes * out * out * out;
    let mut acc = vec![0.0f64; classes * n];
    let mut window = Volume::zeros(c, [tile; 3]);
    for &z0 in &starts[0] {
        for &y0 in &starts[1] {
            for &x0 in &starts[2] {
                let corner = [z0, y0, x0];
                let source: Vec<Vec<usize>> = (0..3)
                    .map(|a| {
                        (0..tile as i64)
                            .map(|j| reflect(corner[a] - half + j, size[a]))
                            .collect()
                    })
                    .collect();
                fill_window(volume, &source, &mut window.data);
                let logits = run(&window).map_err(TiledError::Network)?;
                if logits.len() != expected {
                    return Err(TiledError::OutputSize {
                        expected,
                        got: logits.len(),
                    });
                }
                let seen: Vec<(usize, usize)> =
                    (0..3).map(|a| visible(corner[a], out, size[a])).collect();
                for k in 0..classes {
                    for jz in seen[0].0..seen[0].1 {
                        for jy in seen[1].0..seen[1].1 {
                            let row = ((k * out + jz) * out + jy) * out;
                            let (z, y) = ((z0 + jz as i64) as usize, (y0 + jy as i64) as usize);
                            let to = k * n + (z * size[1] + y) * size[2];
                            let plane_weight = weight[jz] * weight[jy];
                            for jx in seen[2].0..seen[2].1 {
                                let x = (x0 + jx as i64) as usize;
                                acc[to + x] +=
                                    plane_weight * weight[jx] * f64::from(logits[row + jx]);
                            }
                        }
                    }
                }
            }
        }
    }
    let plane = size[1] * size[2];
    Ok(acc
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let i = i % n;
            let (z, y, x) = (i / plane, (i / size[2]) % size[1], i % size[2]);
            (v / (sums[0][z] * sums[1][y] * sums[2][x])) as f32
        })
        .collect())
}

/// Writes `volume[ch][source[0][z]][source[1][y]][source[2][x]]` into `out[ch][z][y][x]`.
fn fill_window(volume: &Volume, source: &[Vec<usize>], out: &mut [f32]) {
    let [_, h, w] = volume.size;
    let n = volume.data.len() / volume.channels.max(1);
    let mut o = 0;
    for ch in 0..volume.channels {
        for &sz in &source[0] {
            for &sy in &source[1] {
                let row = ch * n + (sz * h + sy) * w;
                for &sx in &source[2] {
                    out[o] = volume.data[row + sx];
                    o += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn numbered(size: [usize; 3]) -> Volume {
        let n: usize = size.iter().product();
        Volume {
            channels: 1,
            size,
            data: (0..n)
                .map(|i| ((i * 37 + 11) % 256) as f32 / 256.0)
                .collect(),
        }
    }

    /// A fake network: the centre of the window's channel 0, plus `k` for class `k`.
    fn centre(
        spec: TileSpec,
        classes: usize,
    ) -> impl FnMut(&Volume) -> Result<Vec<f32>, Infallible> {
        move |win: &Volume| {
            assert_eq!(win.size, [spec.tile; 3]);
            let (t, out, half) = (spec.tile, spec.output(), spec.margin / 2);
            let mut v = Vec::new();
            for k in 0..classes {
                for z in 0..out {
                    for y in 0..out {
                        for x in 0..out {
                            v.push(win.data[((z + half) * t + y + half) * t + x + half] + k as f32);
                        }
                    }
                }
            }
            Ok(v)
        }
    }

    #[test]
    fn an_identity_network_gives_the_volume_back_whatever_the_tiling() {
        let volume = numbered([7, 9, 5]);
        for (tile, overlap, margin) in [(4, 0, 0), (6, 2, 2), (8, 3, 4), (16, 0, 0)] {
            let spec = TileSpec {
                tile,
                overlap,
                margin,
            };
            let logits = predict_tiled_volume(&volume, &spec, 2, centre(spec, 2)).unwrap();
            let n = volume.data.len();
            for (i, v) in volume.data.iter().enumerate() {
                assert!((logits[i] - v).abs() < 1e-6, "tile {tile}: voxel {i}");
                assert!(
                    (logits[n + i] - v - 1.0).abs() < 1e-6,
                    "tile {tile}: class 1"
                );
            }
        }
    }

    #[test]
    fn a_network_returning_the_wrong_size_is_an_error() {
        let spec = TileSpec {
            tile: 4,
            overlap: 0,
            margin: 0,
        };
        let err = predict_tiled_volume(&numbered([4, 4, 4]), &spec, 1, |_| {
            Ok::<_, Infallible>(vec![0.0; 3])
        })
        .unwrap_err();
        assert!(matches!(
            err,
            TiledError::OutputSize {
                expected: 64,
                got: 3
            }
        ));
    }
}
