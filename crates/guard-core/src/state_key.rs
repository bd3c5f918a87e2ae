//! The part of an SSM parameter name that stands for a name from the policy or from outside (a
//! budget, a route, a message id), shared by the alert handler's and the spend watcher's records.

use sha2::{Digest, Sha256};

/// The most characters of a name kept as they are in a state key part.
const KEY_PART_KEPT_CHARS: usize = 200;

/// A state key part for a name or a message id: only `[A-Za-z0-9_.-]` (what an SSM parameter
/// name allows in a level). A name made only of those, within 200 characters, is the key as it
/// is (so the records of earlier versions keep their keys). Any other name has its other
/// characters replaced by `_`, is cut to 200 characters and ends with `.h` and 16 hex digits of
/// its SHA-256: `café` and `cafè`, or `a b` and `a_b`, are two budgets and must be two keys.
pub fn key_part(text: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    if !text.is_empty() && text.len() <= KEY_PART_KEPT_CHARS && text.chars().all(allowed) {
        return text.to_owned();
    }
    let mut part: String = text
        .chars()
        .take(KEY_PART_KEPT_CHARS)
        .map(|c| if allowed(c) { c } else { '_' })
        .collect();
    let digest = Sha256::digest(text.as_bytes());
    part.push_str(".h");
    for byte in &digest[..8] {
        part.push_str(&format!("{byte:02x}"));
    }
    part
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_key_part_is_the_name_when_it_can_be_and_distinct_always() {
        // Names of SSM-safe characters keep their keys from earlier versions.
        for kept in [
            "chatbot",
            "writing-assistant",
            "a_b",
            "v1.2",
            &"x".repeat(200),
        ] {
            assert_eq!(key_part(kept), kept);
        }
        let names = [
            "café".to_owned(),
            "cafè".to_owned(),
            "a b".to_owned(),
            "a/b".to_owned(),
            String::new(),
            "x".repeat(201),
            format!("{}y", "x".repeat(200)),
        ];
        let keys: Vec<String> = names.iter().map(|n| key_part(n)).collect();
        for (i, key) in keys.iter().enumerate() {
            assert!(
                !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')),
                "{key}"
            );
            assert!(key.len() <= 218, "{key}");
            for other in &keys[i + 1..] {
                assert_ne!(key, other);
            }
            assert!(!["a_b", "cafe"].contains(&key.as_str()), "{key}");
        }
    }
}
