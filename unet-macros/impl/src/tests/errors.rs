//! Every configuration mistake: its message, and the fallback names that stop a cascade.

use super::{assert_declares, assert_one_error, expect_errors, expect_ok};

#[test]
fn unknown_key_suggests_the_closest_known_key() {
    let (errors, out) = expect_errors("pub Net<dpeth: 4, base: 8>");
    assert_one_error(
        &errors,
        &[
            "unknown key `dpeth`",
            "did you mean `depth`?",
            "`depth`, `base`, `up`, `in_channels`, `classes`, `padding`, `growth`, `channels`, `input`, `norm`, `act`, `dropout`, `residual`, `attention`, `deep_supervision`, `dims`, `pad_input`",
        ],
    );
    assert_declares(&out, "Net");
}

#[test]
fn unknown_key_far_from_every_key_gets_no_suggestion() {
    let (errors, _) = expect_errors("Net<depth: 4, base: 8, kernel: 3>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("unknown key `kernel`"), "{errors:#?}");
    assert!(!errors[0].contains("did you mean"), "{errors:#?}");
}

#[test]
fn duplicate_key_reports_the_repeat_and_the_first_occurrence() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 8, depth: 3>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(
        &errors,
        &["duplicate key `depth`: each key may be given once"],
    );
    assert_one_error(&errors, &["`depth` first given here"]);
    assert_declares(&out, "Net");
}

#[test]
fn missing_depth_is_reported_and_the_names_are_still_declared() {
    let (errors, out) = expect_errors("pub CellNet<base: 64>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(&errors, &["missing required key `depth`", "1..=8"]);
    assert_declares(&out, "CellNet");
    // The fallback keeps the caller's visibility, so uses elsewhere still resolve.
    assert!(out.contains("pub use __unet_CellNet ::"), "{out}");
}

#[test]
fn missing_base_is_reported_and_channels_is_offered_instead() {
    let (errors, out) = expect_errors("Net<depth: 4>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "missing required key `base`",
            "give every width with `channels: [c0, ..., c_depth]`",
        ],
    );
    assert_declares(&out, "Net");
}

#[test]
fn channels_make_base_unnecessary() {
    let out = expect_ok("Net<depth: 2, channels: [4, 8, 16]>");
    assert!(out.contains("mod __unet_Net"), "{out}");
}

#[test]
fn depth_given_a_word_names_the_expected_kind() {
    let (errors, out) = expect_errors("Net<depth: transposed, base: 8>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`depth` expects an integer (the number of 2x down-samplings), found a word"],
    );
    assert_declares(&out, "Net");
}

#[test]
fn up_given_an_integer_lists_the_methods() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, up: 4>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`up` expects one of `transposed`, `bilinear`, `nearest`, `bilinear_concat`, `nearest_concat`, `pixelshuffle`, found an integer"],
    );
}

#[test]
fn other_value_kinds_are_named_in_the_message() {
    for (src, expected) in [
        (
            "Net<depth: 2.5, base: 8>",
            "`depth` expects an integer (the number of 2x down-samplings), found a float",
        ),
        (
            "Net<depth: 2, base: [8]>",
            "`base` expects an integer (channels of level 0), found a list",
        ),
        (
            "Net<depth: 2, base: 8, classes: (1, 2)>",
            "`classes` expects an integer (output channels of the 1x1 head), found a tuple",
        ),
        (
            "Net<depth: 2, channels: (4, 8, 16)>",
            "`channels` expects a list `[c0, c1, ...]`, found a tuple",
        ),
        (
            "Net<depth: 2, base: 8, input: 64>",
            "`input` expects `(height, width)`, found an integer",
        ),
        (
            "Net<depth: 2, base: 8, input: (64)>",
            "`input` expects `(height, width)`, found 1 value",
        ),
        (
            "Net<depth: 2, base: 8, input: (64, 64, 3)>",
            "`input` expects `(height, width)` (a volume `(depth, height, width)` needs `dims: 3`), found 3 values",
        ),
        (
            "Net<depth: 2, base: 8, padding: [same]>",
            "`padding` expects one of `same`, `valid`, found a list",
        ),
    ] {
        let (errors, _) = expect_errors(src);
        assert_eq!(errors.len(), 1, "{src}: {errors:#?}");
        assert_eq!(errors[0], expected, "{src}");
    }
}

#[test]
fn depth_zero_is_out_of_range() {
    let (errors, out) = expect_errors("Net<depth: 0, base: 8>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0],
        "`depth` must be between 1 and 8 (the number of 2x down-samplings), found 0"
    );
    assert_declares(&out, "Net");
}

#[test]
fn depth_nine_is_out_of_range() {
    let (errors, _) = expect_errors("Net<depth: 9, base: 8>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        errors[0],
        "`depth` must be between 1 and 8 (the number of 2x down-samplings), found 9"
    );
}

#[test]
fn negative_values_are_rejected_with_their_sign() {
    let (errors, _) = expect_errors("Net<depth: -1, base: -8>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`depth` must be between 1 and 8 (the number of 2x down-samplings), found -1"],
    );
    assert_one_error(
        &errors,
        &["`base` must be at least 1 (channels of level 0), found -8"],
    );
}

#[test]
fn negative_float_is_a_syntax_error_that_still_declares_the_names() {
    let (errors, out) = expect_errors("Net<depth: 2, base: -1.5>");
    assert_eq!(errors, ["negative values are not allowed here"]);
    assert_declares(&out, "Net");
}

#[test]
fn double_negation_is_not_read_as_positive() {
    // Regression: `- -1` used to be accepted as `1`.
    let (errors, _) = expect_errors("Net<depth: - -1, base: 8>");
    assert_eq!(errors, ["negative values are not allowed here"]);
    let (errors, _) = expect_errors("Net<depth: -four, base: 8>");
    assert_eq!(errors, ["expected a number after `-`"]);
}

#[test]
fn too_large_width_names_the_upper_bound() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 2000000>");
    assert_eq!(
        errors,
        ["`base` must be at most 1048576 (channels of level 0), found 2000000"]
    );
}

#[test]
fn integer_beyond_u64_is_out_of_range() {
    let (errors, _) = expect_errors("Net<depth: 99999999999999999999, base: 8>");
    assert_eq!(
        errors,
        ["`depth` must be between 1 and 8 (the number of 2x down-samplings), found 99999999999999999999"]
    );
}

#[test]
fn integer_beyond_i128_is_not_a_valid_integer() {
    let (errors, _) = expect_errors("Net<depth: 340282366920938463463374607431768211456, base: 8>");
    assert_eq!(errors, ["`depth` value is not a valid integer"]);
}

#[test]
fn largest_u64_is_out_of_range_not_wrapped() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 18446744073709551615>");
    assert_eq!(
        errors,
        ["`base` must be at most 1048576 (channels of level 0), found 18446744073709551615"]
    );
}

#[test]
fn unknown_up_value_suggests_bilinear() {
    let (errors, out) = expect_errors("Net<depth: 2, base: 8, up: bilinaer>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "unknown `up` value `bilinaer`",
            "did you mean `bilinear`?",
            "`transposed`, `bilinear`, `nearest`, `bilinear_concat`, `nearest_concat`",
        ],
    );
    assert_declares(&out, "Net");
}

#[test]
fn misspelled_concat_mode_suggests_the_concat_mode() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, up: bilinear_conact>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "unknown `up` value `bilinear_conact`",
            "did you mean `bilinear_concat`?",
        ],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, up: nearest_concta>");
    assert_one_error(&errors, &["did you mean `nearest_concat`?"]);
}

#[test]
fn unknown_padding_value_suggests_valid() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, padding: vaild>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "unknown `padding` value `vaild`",
            "did you mean `valid`?",
            "`same`, `valid`",
        ],
    );
}

#[test]
fn channels_with_the_wrong_length_count_depth_plus_one() {
    let (errors, out) = expect_errors("Net<depth: 2, channels: [4, 8]>");
    assert_eq!(
        errors,
        ["`channels` needs depth + 1 = 3 widths (c0..c2, one per level and the bottleneck), found 2"]
    );
    assert_declares(&out, "Net");
}

#[test]
fn channels_with_a_zero_width_is_out_of_range() {
    let (errors, _) = expect_errors("Net<depth: 2, channels: [4, 0, 16]>");
    assert_eq!(
        errors,
        ["`channels` must be at least 1 (a level's width), found 0"]
    );
}

#[test]
fn channels_combined_with_base_points_at_both() {
    let (errors, out) = expect_errors("Net<depth: 2, base: 4, channels: [4, 8, 16]>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`base` cannot be combined with `channels`, which gives every width"],
    );
    assert_one_error(&errors, &["`channels` given here"]);
    assert_declares(&out, "Net");
}

#[test]
fn channels_combined_with_growth_points_at_both() {
    let (errors, _) = expect_errors("Net<depth: 2, growth: 3, channels: [4, 8, 16]>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`growth` cannot be combined with `channels`, which gives every width"],
    );
    assert_one_error(&errors, &["`channels` given here"]);
}

#[test]
fn input_not_divisible_names_the_nearest_valid_sizes() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 8, input: (100, 100)>");
    // Height and width are the same mistake: one message, not two.
    assert_eq!(
        errors,
        ["input height 100 is not divisible by 2^4 = 16; nearest valid sizes: 96 and 112"]
    );
    assert_declares(&out, "Net");
}

#[test]
fn input_width_alone_is_reported_as_the_width() {
    let (errors, _) = expect_errors("Net<depth: 4, base: 8, input: (64, 100)>");
    assert_eq!(
        errors,
        ["input width 100 is not divisible by 2^4 = 16; nearest valid sizes: 96 and 112"]
    );
}

#[test]
fn input_different_bad_sizes_are_both_reported() {
    let (errors, _) = expect_errors("Net<depth: 4, base: 8, input: (100, 60)>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(&errors, &["input height 100", "96 and 112"]);
    assert_one_error(&errors, &["input width 60", "48 and 64"]);
}

#[test]
fn input_too_small_names_the_smallest_valid_size() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 8, input: (8, 8)>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "input height 8 is too small for depth 4",
            "the smallest valid size is 16",
        ],
    );
    assert_declares(&out, "Net");
}

#[test]
fn valid_padding_odd_size_names_level_and_nearest_sizes() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 64, padding: valid, input: (570, 570)>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "with `padding: valid`, input height 570",
            "odd size 279 at level 1",
            "nearest valid sizes: 556 and 572",
        ],
    );
    assert_declares(&out, "Net");
}

#[test]
fn valid_padding_non_positive_size_names_the_smallest_valid_size() {
    let (errors, _) = expect_errors("Net<depth: 4, base: 64, padding: valid, input: (20, 20)>");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_one_error(
        &errors,
        &[
            "input height 20",
            "too small for depth 4",
            "the smallest valid size is 188",
        ],
    );
}

#[test]
fn paper_input_is_accepted_with_valid_padding() {
    expect_ok("Net<depth: 4, base: 64, padding: valid, input: (572, 572)>");
}

#[test]
fn missing_angle_bracket_is_a_syntax_error_with_fallback() {
    let (errors, out) = expect_errors("pub Net depth: 4, base: 8");
    assert_eq!(
        errors,
        ["expected `<` and the configuration, as in `CellNet<depth: 4, base: 64>`"]
    );
    assert_declares(&out, "Net");
}

#[test]
fn positional_values_without_keys_ask_for_key_value() {
    let (errors, out) = expect_errors("Net<4, 64>");
    assert_eq!(errors, ["expected `key: value`, as in `depth: 4`"]);
    assert_declares(&out, "Net");
}

#[test]
fn unclosed_angle_bracket_is_reported() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 8");
    assert_eq!(errors, ["this `<` is never closed: expected `>`"]);
    assert_declares(&out, "Net");
}

#[test]
fn trailing_tokens_after_the_closing_angle_are_rejected() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 8> extra");
    assert_eq!(
        errors,
        ["unexpected tokens after the configuration's closing `>`"]
    );
    assert_declares(&out, "Net");
    let (errors, _) = expect_errors("Net<depth: 4, base: 8>; Other<depth: 2, base: 4>");
    assert_eq!(
        errors,
        ["unexpected tokens after the configuration's closing `>`"]
    );
}

#[test]
fn missing_colon_and_missing_value_are_named() {
    let (errors, _) = expect_errors("Net<depth 4, base: 8>");
    assert_eq!(errors, ["expected `:` after `depth`, as in `depth: value`"]);
    let (errors, _) = expect_errors("Net<depth:, base: 8>");
    assert_eq!(errors, ["`depth` has no value"]);
    let (errors, _) = expect_errors("Net<depth: 4 base: 8>");
    assert_eq!(errors, ["expected `,` or `>` after a value"]);
}

#[test]
fn missing_name_gives_only_the_error() {
    for src in [
        "<depth: 4, base: 8>",
        "",
        "pub",
        "struct <depth: 4>",
        "fn<depth: 4>",
    ] {
        let (errors, out) = expect_errors(src);
        assert_eq!(
            errors,
            ["expected the network's name, as in `unet!(pub CellNet<depth: 4, base: 64>)`"],
            "{src:?}"
        );
        assert!(
            !out.contains("mod __unet_"),
            "no fallback without a name: {out}"
        );
    }
}

#[test]
fn widths_that_overflow_the_maximum_are_reported() {
    let (errors, out) = expect_errors("Net<depth: 4, base: 1000000, growth: 1000>");
    assert_eq!(
        errors,
        ["channel widths exceed 1048576 at depth 4: base * growth^depth is too large"]
    );
    assert_declares(&out, "Net");
}

#[test]
fn independent_mistakes_are_all_reported_at_once() {
    let (errors, out) =
        expect_errors("Net<depth: 0, base: 8, up: bilinaer, padding: vaild, clases: 2>");
    assert_eq!(errors.len(), 4, "{errors:#?}");
    assert_one_error(&errors, &["`depth` must be between 1 and 8"]);
    assert_one_error(&errors, &["did you mean `bilinear`?"]);
    assert_one_error(&errors, &["did you mean `valid`?"]);
    assert_one_error(
        &errors,
        &["unknown key `clases`", "did you mean `classes`?"],
    );
    assert_declares(&out, "Net");
}

#[test]
fn raw_identifier_name_declares_unraw_companions_after_an_error() {
    // Regression: `r#Net` used to panic building the identifier `r#NetEncoder`.
    let (_, out) = expect_errors("pub r#Net<depth: 0, base: 8>");
    assert!(out.contains("mod __unet_Net "), "{out}");
    assert!(
        out.contains("use __unet_Net :: { r#Net , NetEncoder , NetSkips , NetDecoder }"),
        "{out}"
    );
}

#[test]
fn group_norm_must_divide_every_width_and_names_the_first_level_that_it_does_not() {
    let (errors, out) = expect_errors("Net<depth: 2, base: 12, growth: 2, norm: group(8)>");
    assert_one_error(
        &errors,
        &[
            "`group(8)` must divide every level's width",
            "level 0 has 12 channels",
            "[12, 24, 48]",
        ],
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_declares(&out, "Net");
    let (errors, _) = expect_errors("Net<depth: 2, channels: [8, 16, 20], norm: group(8)>");
    assert_one_error(&errors, &["the bottleneck (level 2) has 20 channels"]);
    expect_ok("Net<depth: 2, channels: [8, 16, 24], norm: group(8)>");
}

#[test]
fn group_norm_needs_a_group_count_and_other_norms_take_none() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, norm: group>");
    assert_one_error(
        &errors,
        &["`group` needs a group count, as in `norm: group(8)`"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, norm: group(0)>");
    assert_one_error(&errors, &["`norm` must be at least 1", "found 0"]);
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, norm: group(2, 4)>");
    assert_one_error(
        &errors,
        &["`group(G)` takes one group count, found 2 values"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, norm: batch(4)>");
    assert_one_error(
        &errors,
        &["`batch` takes no arguments: write `norm: batch`"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, norm: bacth>");
    assert_one_error(
        &errors,
        &["unknown `norm` value `bacth`", "did you mean `batch`?"],
    );
}

#[test]
fn activations_check_their_names_and_the_leaky_slope() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, act: rleu>");
    assert_one_error(
        &errors,
        &["unknown `act` value `rleu`", "did you mean `relu`?"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, act: leaky_relu(1.5)>");
    assert_one_error(
        &errors,
        &["the slope of `leaky_relu` must be in [0, 1), found 1.5"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, act: gelu(1)>");
    assert_one_error(&errors, &["`gelu` takes no arguments"]);
    let text = expect_ok("Net<depth: 2, base: 8, act: leaky_relu>");
    assert!(text.contains("LeakyRelu (0.01f64)"), "{text}");
}

#[test]
fn dropout_takes_a_probability_or_a_bottleneck_and_blocks_map() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dropout: 1.0>");
    assert_one_error(
        &errors,
        &["`dropout` must be a probability in [0, 1), found 1"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dropout: { bottlenek: 0.5 }>");
    assert_one_error(
        &errors,
        &[
            "unknown `dropout` part `bottlenek`",
            "did you mean `bottleneck`?",
        ],
    );
    let (errors, _) =
        expect_errors("Net<depth: 2, base: 8, dropout: { blocks: 0.1, blocks: 0.2 }>");
    assert_one_error(&errors, &["duplicate `dropout` part `blocks`"]);
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dropout: { blocks: 2 }>");
    assert_one_error(
        &errors,
        &["`dropout.blocks` must be a probability in [0, 1), found 2"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dropout: high>");
    assert_one_error(
        &errors,
        &["`dropout` expects a probability or `{ bottleneck: p, blocks: q }`, found a word"],
    );
    expect_ok("Net<depth: 2, base: 8, dropout: { bottleneck: 0.5, blocks: 0.1, }>");
}

#[test]
fn deep_supervision_must_stay_below_depth() {
    let (errors, out) = expect_errors("Net<depth: 3, base: 8, deep_supervision: 3>");
    assert_one_error(
        &errors,
        &[
            "`deep_supervision` must be less than depth 3",
            "decoder levels 1..=2",
            "found 3",
        ],
    );
    assert_declares(&out, "Net");
    let text = expect_ok("Net<depth: 3, base: 8, deep_supervision: 2>");
    assert!(text.contains("pub struct NetOutputs"), "{text}");
    assert!(
        text.contains("NetOutputs }"),
        "the outputs struct is exported: {text}"
    );
}

#[test]
fn pad_input_with_valid_padding_points_at_both_keys() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, padding: valid, pad_input: true>");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_one_error(
        &errors,
        &["`pad_input: true` cannot be combined with `padding: valid`"],
    );
    assert_one_error(&errors, &["`padding: valid` given here"]);
    // With pad_input, a declared input need not be a multiple of 2^depth.
    expect_ok("Net<depth: 3, base: 8, pad_input: true, input: (37, 21)>");
}

#[test]
fn booleans_and_attention_list_their_words() {
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, residual: yes>");
    assert_one_error(
        &errors,
        &["unknown `residual` value `yes`", "`true`, `false`"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, attention: gates>");
    assert_one_error(
        &errors,
        &["unknown `attention` value `gates`", "did you mean `gate`?"],
    );
}

#[test]
fn dims_three_takes_a_volume_input_and_says_why_a_key_has_no_3d_form() {
    let text = expect_ok("Net<depth: 2, base: 8, dims: 3, input: (16, 32, 32)>");
    assert!(text.contains("DownBlock3d"), "{text}");
    assert!(
        text.contains("Option :: Some ([16usize , 32usize , 32usize])"),
        "{text}"
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dims: 3, input: (32, 32)>");
    assert_one_error(
        &errors,
        &["`input` expects `(depth, height, width)` with `dims: 3`, found 2 values"],
    );
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dims: 3, input: (16, 30, 32)>");
    assert_one_error(&errors, &["input height 30 is not divisible by 2^2 = 4"]);
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dims: 3, up: pixelshuffle>");
    assert_one_error(
        &errors,
        &["`up: pixelshuffle` has no 3D form: PyTorch has no 3D pixel shuffle"],
    );
    // What the 3D blocks have: every other up mode, attention, deep supervision, any-size
    // inputs.
    for key in [
        "up: bilinear",
        "up: bilinear_concat",
        "up: nearest_concat",
        "deep_supervision: 1",
        "pad_input: true",
        "attention: gate",
        "attention: scse",
    ] {
        let text = expect_ok(&format!("Net<depth: 2, base: 8, dims: 3, {key}>"));
        assert!(text.contains("UpBlock3d"), "{text}");
    }
    let (errors, _) = expect_errors("Net<depth: 2, base: 8, dims: 4>");
    assert_one_error(&errors, &["`dims` must be between 2 and 3"]);
    expect_ok("Net<depth: 2, base: 8, dims: 2>");
}

#[test]
fn several_independent_mistakes_in_new_keys_are_all_reported() {
    let (errors, _) =
        expect_errors("Net<depth: 2, base: 8, norm: bacth, act: rleu, attention: gates>");
    assert_eq!(errors.len(), 3, "{errors:#?}");
}
