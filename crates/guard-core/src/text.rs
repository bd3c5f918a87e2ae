//! Text from outside, cut to a bound with a count of what was cut: `… (4,200 more characters)`.

/// `4,200`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// What ends a cut text: `… (4,200 more characters)`.
pub fn more_characters(n: usize) -> String {
    format!(
        "… ({} more character{})",
        thousands(n),
        if n == 1 { "" } else { "s" }
    )
}

/// The bytes `c` takes inside a JSON string, as `serde_json` writes it.
fn json_bytes(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// The bytes `text` takes inside a JSON string.
pub fn json_len(text: &str) -> usize {
    text.chars().map(json_bytes).sum()
}

/// `text` cut so that it takes at most `max` bytes inside a JSON string, the note that says how
/// many characters were cut included. Plain ASCII text keeps `max` characters at most; quotes,
/// control characters and other scripts take more bytes each, so fewer of them are kept.
pub fn clip_json(text: &str, max: usize) -> String {
    if json_len(text) <= max {
        return text.to_owned();
    }
    let total = text.chars().count();
    // The note for cutting everything is the longest one: room for it is room for any.
    let room = max.saturating_sub(json_len(&more_characters(total)));
    let mut used = 0;
    let mut kept = 0;
    let mut out = String::new();
    for c in text.chars() {
        let bytes = json_bytes(c);
        if used + bytes > room {
            break;
        }
        used += bytes;
        kept += 1;
        out.push(c);
    }
    out.push_str(&more_characters(total - kept));
    out
}

/// `text` cut to at most `max` characters, the note included.
pub fn clip_chars(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub(more_characters(total).chars().count());
    let mut out: String = text.chars().take(room).collect();
    out.push_str(&more_characters(total - room));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_group_by_three() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(4200), "4,200");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn clipped_text_fits_its_json_bound_and_counts_the_rest() {
        assert_eq!(clip_json("short", 10), "short");
        for text in [
            "x".repeat(5000),
            "\"".repeat(5000),
            "\u{1}".repeat(5000),
            "😀".repeat(5000),
            format!("{}{}", "a".repeat(150), "\u{1}".repeat(100)),
        ] {
            let cut = clip_json(&text, 200);
            let stored = serde_json::to_string(&cut).unwrap();
            assert!(stored.len() - 2 <= 200, "{} bytes: {stored}", stored.len());
            let note_at = cut.rfind('…').unwrap();
            let kept = cut[..note_at].chars().count();
            let more: usize = cut[note_at..]
                .trim_start_matches("… (")
                .trim_end_matches(" more characters)")
                .replace(',', "")
                .parse()
                .unwrap();
            assert_eq!(kept + more, text.chars().count(), "{cut}");
        }
        assert!(clip_json(&"x".repeat(5000), 200).ends_with("(4,827 more characters)"));
    }

    #[test]
    fn clipped_chars_fit_their_bound() {
        assert_eq!(clip_chars("short", 10), "short");
        let cut = clip_chars(&"x".repeat(900_000), 80);
        assert_eq!(cut.chars().count(), 80, "{cut}");
        assert!(cut.ends_with("(899,947 more characters)"), "{cut}");
    }
}
