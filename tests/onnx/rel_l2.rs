//! The relative L2 error every parity test reports: shared by `tests/onnx.rs` (tract against
//! burn) and `tests/gpu.rs` (a GPU backend against flex).

/// `|got - want| / |want|` over all values (`want` of norm 0 counts as 1e-15).
pub fn rel_l2(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "output sizes");
    let (mut diff, mut norm) = (0.0f64, 0.0f64);
    for (g, w) in got.iter().zip(want) {
        diff += f64::from(g - w).powi(2);
        norm += f64::from(*w).powi(2);
    }
    (diff / norm.max(1e-30)).sqrt()
}
