//! "Did you mean" for misspelled keys and values.

/// Optimal-string-alignment edit distance (a transposition counts as one edit).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .iter()
        .map(|c| (distance(&lower, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1) || c.starts_with(&lower) && lower.len() >= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "`a`, `b`, `c`": candidates as the messages list them.
pub fn listed(candidates: &[&str]) -> String {
    candidates
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ": did you mean `x`?" or nothing.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    match closest(word, candidates) {
        Some(c) => format!(": did you mean `{c}`?"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_key() {
        let keys = ["depth", "base", "up", "in_channels", "classes", "padding"];
        assert_eq!(closest("dpeth", &keys), Some("depth"));
        assert_eq!(closest("clases", &keys), Some("classes"));
        assert_eq!(closest("Depth", &keys), Some("depth"));
        assert_eq!(closest("in_chanels", &keys), Some("in_channels"));
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest("zzzzzz", &["depth", "base"]), None);
        assert_eq!(did_you_mean("kernel", &["depth", "base"]), "");
    }
}
