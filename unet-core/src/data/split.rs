//! Train/validation split by file order.

use super::Sample;

/// Splits `samples` into `(train, validation)`, keeping their order: the last
/// `ceil(fraction * n)` samples go to validation.
///
/// - `fraction <= 0` (or NaN) or `n < 2`: no validation samples.
/// - Otherwise at least 1 and at most `n - 1` validation samples, so neither side is empty.
///
/// The two parts never overlap and together hold every sample.
pub fn split_validation(mut samples: Vec<Sample>, fraction: f64) -> (Vec<Sample>, Vec<Sample>) {
    let count = validation_count(samples.len(), fraction);
    let validation = samples.split_off(samples.len() - count);
    (samples, validation)
}

/// How many of `n` samples [`split_validation`] puts in validation.
pub fn validation_count(n: usize, fraction: f64) -> usize {
    // `!(fraction > 0.0)` also catches NaN.
    if n < 2 || fraction.is_nan() || fraction <= 0.0 {
        return 0;
    }
    // The small slack keeps e.g. 0.1 * 30 = 3.0000000000000004 at 3, not 4.
    let wanted = (fraction * n as f64 - 1e-9).ceil();
    if wanted >= (n - 1) as f64 {
        n - 1
    } else {
        (wanted as usize).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Image, Mask};
    use super::*;

    fn samples(n: usize) -> Vec<Sample> {
        (0..n)
            .map(|i| Sample::new(format!("s{i:02}"), Image::zeros(1, 1, 1), Mask::zeros(1, 1)))
            .collect()
    }

    fn names(s: &[Sample]) -> Vec<&str> {
        s.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn last_ceil_fraction_of_samples_go_to_validation_in_file_order() {
        let (train, val) = split_validation(samples(24), 1.0 / 6.0);
        assert_eq!(train.len(), 20);
        assert_eq!(names(&val), ["s20", "s21", "s22", "s23"]);
        assert_eq!(names(&train)[..3], ["s00", "s01", "s02"]);
        // ceil rounds up partial samples.
        assert_eq!(split_validation(samples(10), 0.15).1.len(), 2);
    }

    #[test]
    fn fraction_products_that_are_whole_numbers_are_not_rounded_up() {
        assert_eq!(validation_count(30, 0.1), 3);
        assert_eq!(validation_count(24, 0.25), 6);
        assert_eq!(validation_count(100, 0.07), 7);
    }

    #[test]
    fn zero_fraction_gives_no_validation() {
        let (train, val) = split_validation(samples(5), 0.0);
        assert_eq!(train.len(), 5);
        assert!(val.is_empty());
        assert_eq!(validation_count(5, -0.5), 0);
        assert_eq!(validation_count(5, f64::NAN), 0);
    }

    #[test]
    fn tiny_positive_fraction_still_gives_one_validation_sample() {
        let (train, val) = split_validation(samples(2), 0.01);
        assert_eq!((names(&train), names(&val)), (vec!["s00"], vec!["s01"]));
    }

    #[test]
    fn training_set_is_never_emptied() {
        assert_eq!(validation_count(5, 1.0), 4);
        assert_eq!(validation_count(5, 0.99), 4);
        assert_eq!(validation_count(1, 0.5), 0);
        assert_eq!(validation_count(0, 0.5), 0);
        let (train, val) = split_validation(samples(1), 0.5);
        assert_eq!((train.len(), val.len()), (1, 0));
    }

    #[test]
    fn split_parts_never_overlap_and_cover_every_sample() {
        for n in 0..12 {
            for fraction in [0.0, 0.1, 0.2, 0.5, 0.9, 1.0] {
                let (train, val) = split_validation(samples(n), fraction);
                let mut all = names(&train);
                all.extend(names(&val));
                assert_eq!(all, names(&samples(n)));
            }
        }
    }
}
