//! The loader never panics: arbitrary text, arbitrary bytes, and the example policy with lines
//! dropped, repeated, cut or spliced with noise. Each case must end with a policy or with
//! diagnostics that point inside the file.

use guard_core::policy::{SourceFile, load};
use proptest::prelude::*;

const EXAMPLE: &str = guard_testkit::example_policy();

fn check(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    let lines = bytes.split(|&b| b == b'\n').count().max(1);
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", bytes)]);
    prop_assert!(
        policy.is_some() || !diagnostics.is_empty(),
        "a refused policy says why"
    );
    for d in &diagnostics {
        prop_assert!(
            d.line >= 1 && d.line <= lines + 1 && d.column >= 1,
            "inside the file: {:?}",
            d
        );
        // Rendering must not panic either, whatever the span.
        let _ = d.render(Some(&text));
    }
    if let Some(policy) = policy {
        // A valid policy can be estimated and planned without panicking.
        let _ = guard_core::pricing::estimate::estimate(&policy);
        let desired = guard_core::provision::account::desired(
            &policy,
            "arn:aws:sns:us-east-1:123456789012:alerts",
        );
        let _ = guard_core::provision::plan::plan(&desired, &Default::default());
    }
    Ok(())
}

/// One edit of the example: which line, and what to do there.
#[derive(Debug, Clone)]
enum Edit {
    Drop(usize),
    Repeat(usize),
    Cut(usize, usize),
    Insert(usize, String),
    Replace(usize, String),
    Indent(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let noise = prop_oneof![
        "[ -~]{0,20}",
        Just("- ".to_owned()),
        Just(": ".to_owned()),
        Just("\t".to_owned()),
        Just("&a ".to_owned()),
        Just("*a".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("[".to_owned()),
        Just("{".to_owned()),
        Just("---".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("1e999".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("é🙂".to_owned()),
        "\\PC{0,8}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Edit::Drop),
        any::<usize>().prop_map(Edit::Repeat),
        (any::<usize>(), any::<usize>()).prop_map(|(l, c)| Edit::Cut(l, c)),
        (any::<usize>(), noise.clone()).prop_map(|(l, s)| Edit::Insert(l, s)),
        (any::<usize>(), noise).prop_map(|(l, s)| Edit::Replace(l, s)),
        (any::<usize>(), 0usize..6).prop_map(|(l, n)| Edit::Indent(l, n)),
    ]
}

fn apply(edits: &[Edit]) -> String {
    let mut lines: Vec<String> = EXAMPLE.lines().map(str::to_owned).collect();
    for e in edits {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match e {
            Edit::Drop(l) => {
                lines.remove(l % n);
            }
            Edit::Repeat(l) => {
                let line = lines[l % n].clone();
                lines.insert(l % n, line);
            }
            Edit::Cut(l, c) => {
                let line = &mut lines[l % n];
                let chars: Vec<char> = line.chars().collect();
                *line = chars[..c % (chars.len() + 1)].iter().collect();
            }
            Edit::Insert(l, s) => {
                let line = &mut lines[l % n];
                let chars: Vec<char> = line.chars().collect();
                let at = l % (chars.len() + 1);
                *line = chars[..at]
                    .iter()
                    .chain(s.chars().collect::<Vec<_>>().iter())
                    .chain(chars[at..].iter())
                    .collect();
            }
            Edit::Replace(l, s) => {
                // Keep the key, replace the value: the edits that reach the semantic layer.
                let line = &mut lines[l % n];
                if let Some((k, _)) = line.split_once(": ") {
                    *line = format!("{k}: {s}");
                }
            }
            Edit::Indent(l, by) => {
                let line = &mut lines[l % n];
                *line = format!("{}{line}", " ".repeat(*by));
            }
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(text.into_bytes())?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        check(bytes)?;
    }

    #[test]
    fn yaml_like_text_never_panics(text in "([a-z_]{1,8}: ?|- |  |\\[|\\]|\\{|\\}|,|&a |\\*a|'|\"|#|\n|[0-9.%$]{1,6}){0,80}") {
        check(text.into_bytes())?;
    }

    #[test]
    fn mutated_example_never_panics(edits in proptest::collection::vec(edit(), 1..6)) {
        check(apply(&edits).into_bytes())?;
    }
}

#[test]
fn the_unmutated_example_is_valid() {
    // Guards the generator: with no edits, the example loads, so the mutations start from a policy.
    let (policy, diagnostics) = load(&[SourceFile::new("p.yaml", apply(&[]))]);
    assert!(policy.is_some(), "{diagnostics:#?}");
}
