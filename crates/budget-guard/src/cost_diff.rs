//! Each budget's estimate before and after a change (`estimate --against REF`): the rows, and
//! their text. Pure: two lists of estimates in, rows out.

use crate::output::table;
use guard_core::pricing::estimate::BudgetEstimate;
use guard_core::pricing::estimate::usd;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One budget's estimate on both sides. A budget only "after" is new, one only "before" removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub name: String,
    /// The budget's amount after the change (before it, for a removed budget).
    #[serde(with = "rust_decimal::serde::float")]
    pub amount: Decimal,
    #[serde(with = "rust_decimal::serde::float_option")]
    pub before: Option<Decimal>,
    #[serde(with = "rust_decimal::serde::float_option")]
    pub after: Option<Decimal>,
    /// After minus before, a missing side counting as zero.
    #[serde(with = "rust_decimal::serde::float")]
    pub change: Decimal,
    /// The change as a percentage of "before", to one decimal; none when there was no "before"
    /// or it was zero.
    #[serde(with = "rust_decimal::serde::float_option")]
    pub change_percent: Option<Decimal>,
    /// The "after" estimate passes (is above) the amount.
    pub over: bool,
}

impl Row {
    pub fn is_new(&self) -> bool {
        self.before.is_none()
    }

    pub fn is_removed(&self) -> bool {
        self.after.is_none()
    }
}

/// The rows of every budget of either side, by name.
pub fn diff(before: &[BudgetEstimate], after: &[BudgetEstimate]) -> Vec<Row> {
    let mut sides: BTreeMap<&str, (Option<&BudgetEstimate>, Option<&BudgetEstimate>)> =
        BTreeMap::new();
    for b in before {
        sides.entry(&b.name).or_default().0 = Some(b);
    }
    for a in after {
        sides.entry(&a.name).or_default().1 = Some(a);
    }
    sides
        .into_iter()
        .map(|(name, (b, a))| {
            let before = b.map(|b| b.estimated);
            let after = a.map(|a| a.estimated);
            let amount = a.or(b).map(|e| e.amount).unwrap_or_default();
            row(name, amount, before, after)
        })
        .collect()
}

fn row(name: &str, amount: Decimal, before: Option<Decimal>, after: Option<Decimal>) -> Row {
    let change = after.unwrap_or_default() - before.unwrap_or_default();
    Row {
        name: name.to_owned(),
        amount,
        before,
        after,
        change,
        change_percent: percent(change, before),
        over: after.is_some_and(|a| a > amount),
    }
}

fn percent(change: Decimal, before: Option<Decimal>) -> Option<Decimal> {
    let before = before.filter(|b| !b.is_zero())?;
    change
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|p| p.checked_div(before))
        .map(|p| p.round_dp(1).normalize())
}

/// The sums of the rows: "before" of the budgets that were, "after" and the amount of those that
/// are.
pub fn total(rows: &[Row]) -> Row {
    let before: Decimal = rows.iter().filter_map(|r| r.before).sum();
    let after: Decimal = rows.iter().filter_map(|r| r.after).sum();
    let amount: Decimal = rows
        .iter()
        .filter(|r| !r.is_removed())
        .map(|r| r.amount)
        .sum();
    let mut total = row("total", amount, Some(before), Some(after));
    total.over = false;
    total
}

/// A table of the rows and their total: `BUDGET BEFORE AFTER CHANGE % AMOUNT`, then `new`,
/// `removed` and `OVER` (the estimate passes the amount) at the end of the line.
pub fn render(against: &str, rows: &[Row]) -> String {
    let mut cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut notes = Vec::new();
            if r.is_new() {
                notes.push("new");
            }
            if r.is_removed() {
                notes.push("removed");
            }
            if r.over {
                notes.push("OVER");
            }
            vec![
                r.name.clone(),
                r.before.map(usd).unwrap_or_else(|| "-".into()),
                r.after.map(usd).unwrap_or_else(|| "-".into()),
                signed_usd(r.change),
                r.change_percent.map(signed_percent).unwrap_or_default(),
                usd(r.amount),
                notes.join(", "),
            ]
        })
        .collect();
    let t = total(rows);
    cells.push(vec![
        t.name,
        usd(t.before.unwrap_or_default()),
        usd(t.after.unwrap_or_default()),
        signed_usd(t.change),
        t.change_percent.map(signed_percent).unwrap_or_default(),
        usd(t.amount),
        String::new(),
    ]);
    let mut out =
        format!("Estimated cost per period, before ({against}) and after (working tree):\n");
    for line in table(
        &["BUDGET", "BEFORE", "AFTER", "CHANGE", "%", "AMOUNT", ""],
        &cells,
        &[1, 2, 3, 4, 5],
    )
    .lines()
    {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `+$12.50`, `-$3.00`, `$0.00`.
fn signed_usd(amount: Decimal) -> String {
    if guard_core::pricing::estimate::cents(amount) > Decimal::ZERO {
        format!("+{}", usd(amount))
    } else {
        usd(amount)
    }
}

/// `+33.3%`, `-5%`, `0%`.
fn signed_percent(percent: Decimal) -> String {
    if percent > Decimal::ZERO {
        format!("+{percent}%")
    } else {
        format!("{percent}%")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guard_core::period::Period;

    fn estimate(name: &str, amount: i64, cents: i64) -> BudgetEstimate {
        BudgetEstimate {
            name: name.into(),
            period: Period::Monthly,
            days: 30,
            amount: Decimal::from(amount),
            estimated: Decimal::new(cents, 2),
            share_percent: Decimal::ZERO,
            crosses: Vec::new(),
            use_cases: Vec::new(),
            steps: Vec::new(),
        }
    }

    #[test]
    fn rows_by_name_with_new_removed_and_over() {
        let before = [
            estimate("bg-b", 100, 8000),
            estimate("bg-gone", 10, 500),
            estimate("bg-same", 50, 2000),
        ];
        let after = [
            estimate("bg-b", 100, 12000),
            estimate("bg-a-new", 10, 1000),
            estimate("bg-same", 50, 2000),
        ];
        let rows = diff(&before, &after);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["bg-a-new", "bg-b", "bg-gone", "bg-same"]);

        let new = &rows[0];
        assert!(new.is_new() && !new.over, "10 of 10 does not pass it");
        assert_eq!((new.change, new.change_percent), (Decimal::from(10), None));

        let b = &rows[1];
        assert!(b.over);
        assert_eq!(b.change, Decimal::from(40));
        assert_eq!(b.change_percent, Some(Decimal::from(50)));

        let gone = &rows[2];
        assert!(gone.is_removed() && !gone.over);
        assert_eq!(gone.amount, Decimal::from(10));
        assert_eq!(gone.change_percent, Some(Decimal::from(-100)));

        assert_eq!(rows[3].change_percent, Some(Decimal::ZERO));

        let t = total(&rows);
        assert_eq!(t.before, Some(Decimal::from(105)));
        assert_eq!(t.after, Some(Decimal::from(150)));
        assert_eq!(
            t.amount,
            Decimal::from(160),
            "a removed budget's amount is not counted"
        );
        assert_eq!(t.change_percent, Some(Decimal::new(429, 1)));
    }

    #[test]
    fn a_changed_amount_is_the_one_after() {
        let rows = diff(
            &[estimate("bg-x", 100, 9000)],
            &[estimate("bg-x", 80, 9000)],
        );
        assert_eq!(rows[0].amount, Decimal::from(80));
        assert_eq!(rows[0].change, Decimal::ZERO);
        assert!(rows[0].over);
    }

    #[test]
    fn text_marks_and_signs() {
        let rows = diff(
            &[estimate("bg-b", 100, 8000), estimate("bg-gone", 10, 500)],
            &[estimate("bg-b", 100, 12000), estimate("bg-new", 1000, 1)],
        );
        assert_eq!(
            render("main", &rows),
            "Estimated cost per period, before (main) and after (working tree):\n\
             BUDGET   BEFORE    AFTER   CHANGE       %     AMOUNT\n\
             bg-b     $80.00  $120.00  +$40.00    +50%    $100.00  OVER\n\
             bg-gone   $5.00        -   -$5.00   -100%     $10.00  removed\n\
             bg-new        -    $0.01   +$0.01          $1,000.00  new\n\
             total    $85.00  $120.01  +$35.01  +41.2%  $1,100.00\n"
        );
    }
}
