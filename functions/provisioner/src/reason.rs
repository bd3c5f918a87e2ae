//! CloudFormation's `Reason`: the whole response body must stay under 4 KB, so the reason is
//! bounded, cut at line ends, and says how much was cut.

use guard_core::diagnostic::Diagnostic;
use guard_core::provision::apply::ApplyReport;
use guard_core::provision::plan::Plan;

/// The longest reason sent, in bytes: the rest of the response (ids, ARNs, data) fits in what is
/// left of CloudFormation's 4,096.
pub const MAX_REASON_BYTES: usize = 2_800;
/// The longest single line kept.
const MAX_LINE_BYTES: usize = 400;

/// The errors of an invalid policy, one `file:line:col: error[BG123]: message` line each, as
/// `budget-guard validate` writes them.
pub fn policy_errors(errors: &[Diagnostic]) -> String {
    let s = if errors.len() == 1 { "" } else { "s" };
    let head = format!(
        "Budget Guard policy is invalid ({} error{s}); nothing was changed:",
        errors.len()
    );
    let lines: Vec<String> = errors
        .iter()
        .map(|d| {
            let mut line = format!(
                "{}:{}:{}: error[{}]: {}",
                d.file, d.line, d.column, d.code, d.message
            );
            if let Some(help) = &d.help {
                line.push_str(&format!(" (help: {help})"));
            }
            line
        })
        .collect();
    lines_within(
        &head,
        &lines,
        "error",
        "run `budget-guard validate` to see them all",
    )
}

/// A failed apply: the summary, each failure with AWS's error, each change skipped and the
/// failure it waited for, and each budget the policy wants that is not this deployment's.
pub fn apply_report(report: &ApplyReport, plan: &Plan) -> String {
    let mut lines: Vec<String> = plan
        .blocked()
        .map(|n| n.render().trim_start_matches("! ").to_owned())
        .collect();
    lines.extend(report.failed.iter().map(|(change, error)| {
        format!(
            "failed: {} ({error})",
            change.render().lines().next().unwrap_or_default()
        )
    }));
    lines.extend(report.skipped.iter().map(|s| s.render()));
    let head = format!(
        "{} Nothing was rolled back; the next apply converges.",
        report.summary()
    );
    lines_within(&head, &lines, "line", "see the function's log for all")
}

/// Any text, cut to the limit.
pub fn bounded(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    match lines.split_first() {
        Some((head, rest)) => lines_within(head, rest, "line", "see the function's log for all"),
        None => String::new(),
    }
}

fn lines_within(head: &str, lines: &[String], noun: &str, hint: &str) -> String {
    let mut out = cut(head, MAX_LINE_BYTES).to_owned();
    for (i, line) in lines.iter().enumerate() {
        let line = cut(line, MAX_LINE_BYTES);
        let left = lines.len() - i;
        // Room for this line and, should more follow, the closing count.
        let closing = format!("\n... and {left} more {noun}s cut; {hint}.");
        if out.len() + 1 + line.len() + closing.len() > MAX_REASON_BYTES {
            let s = if left == 1 { "" } else { "s" };
            out.push_str(&format!("\n... and {left} more {noun}{s} cut; {hint}."));
            return out;
        }
        out.push('\n');
        out.push_str(line);
    }
    out
}

/// At most `max` bytes, on a character boundary, with `...` when cut.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard_core::diagnostic::Span;
    use guard_core::policy::codes;

    #[test]
    fn many_errors_are_cut_and_counted() {
        let errors: Vec<Diagnostic> = (1..=200)
            .map(|i| {
                Diagnostic::error(
                    codes::AMOUNT_NOT_POSITIVE,
                    "budgets.yaml",
                    Span::new(i, 3, 4),
                    format!("amount must be positive, found -{i}"),
                )
            })
            .collect();
        let reason = policy_errors(&errors);
        assert!(reason.len() <= MAX_REASON_BYTES, "{}", reason.len());
        assert!(reason.starts_with("Budget Guard policy is invalid (200 errors); nothing was changed:\nbudgets.yaml:1:3: error[BG506]:"));
        let shown = reason
            .lines()
            .filter(|l| l.starts_with("budgets.yaml:"))
            .count();
        assert!(shown > 20, "{shown}");
        assert!(
            reason.ends_with(&format!(
                "... and {} more errors cut; run `budget-guard validate` to see them all.",
                200 - shown
            )),
            "{reason}"
        );
    }

    #[test]
    fn few_errors_are_all_there() {
        let errors = vec![
            Diagnostic::error(
                codes::UNKNOWN_FIELD,
                "a.yaml",
                Span::new(2, 5, 1),
                "unknown field `amont`",
            )
            .with_help("did you mean `amount`?"),
        ];
        assert_eq!(
            policy_errors(&errors),
            "Budget Guard policy is invalid (1 error); nothing was changed:\na.yaml:2:5: error[BG104]: unknown field `amont` (help: did you mean `amount`?)"
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let text = format!("head\n{}", "é".repeat(1000));
        let reason = bounded(&text);
        assert!(reason.len() <= MAX_REASON_BYTES);
        assert!(reason.lines().nth(1).unwrap().len() <= MAX_LINE_BYTES);
    }
}
