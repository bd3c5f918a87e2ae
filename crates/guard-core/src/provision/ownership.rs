//! Ownership: a budget is this deployment's when its name has the policy's prefix and its
//! [`OWNER_TAG`] names this deployment. The prefix alone is not enough: two deployments may share
//! a prefix, and people make budgets by hand.
//!
//! Tags are read only for the budgets a plan would change or delete (an unchanged budget costs no
//! read), after the plan is made: [`claim`] takes the plan and leaves out every change to a
//! budget that is not ours.

use crate::ports::PortError;
use crate::provision::account::AccountState;
use crate::provision::account::OWNER_TAG;
use crate::provision::apply::DEFAULT_CONCURRENCY;
use crate::provision::change::Change;
use crate::provision::plan::{NotOurs, Plan};
use crate::provision::ports::BudgetOwners;
use futures::stream::{self, StreamExt, TryStreamExt};
use std::collections::BTreeSet;

/// Whom the guard acts for, and the budgets to take over on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ownership {
    /// The deployment's name: the policy's `settings.owner`, else its stack name.
    pub owner: String,
    /// Budgets with the prefix to tag as ours whatever tag they have now (`apply --adopt`).
    pub adopt: Vec<String>,
}

impl Ownership {
    pub fn new(owner: impl Into<String>) -> Ownership {
        Ownership {
            owner: owner.into(),
            adopt: Vec::new(),
        }
    }
}

/// A budget the policy wants that another deployment owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub budget: String,
    /// The other deployment.
    pub owner: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum ClaimError {
    #[error("reading the owner tags: {0}")]
    Read(#[source] PortError),
    #[error("{}", conflicts_text(.ours, .conflicts))]
    OwnedElsewhere {
        ours: String,
        conflicts: Vec<Conflict>,
    },
    #[error("--adopt {}: no such budget with the prefix {prefix} in the account", .names.join(", "))]
    NothingToAdopt { names: Vec<String>, prefix: String },
}

impl ClaimError {
    /// Whether the same plan may succeed later without anyone changing anything.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ClaimError::Read(e) if e.kind.is_retryable())
    }
}

fn conflicts_text(ours: &str, conflicts: &[Conflict]) -> String {
    let mut out = format!(
        "{} budget{} of the policy belong{} to another deployment (tag {OWNER_TAG}); this deployment is {ours}:",
        conflicts.len(),
        if conflicts.len() == 1 { "" } else { "s" },
        if conflicts.len() == 1 { "s" } else { "" },
    );
    for c in conflicts {
        out.push_str(&format!(
            "\n  budget {} belongs to deployment {}, not {ours}",
            c.budget, c.owner
        ));
    }
    out.push_str(
        "\nNothing was planned. Give one of the two policies another budget_prefix or budget names, \
         set settings.owner to the deployment that should manage them, or take one over on purpose \
         with `budget-guard apply --adopt NAME`.",
    );
    out
}

/// The plan with only this deployment's budgets in it. For each budget the plan would change or
/// delete (and each one to adopt), reads its owner tag:
/// - ours: its changes stay;
/// - to adopt: an [`Change::AdoptBudget`] goes first (unless it is ours already), its changes stay;
/// - no tag, or another deployment's tag on a budget the policy does not want: its changes go,
///   and it is listed in [`Plan::not_ours`];
/// - another deployment's tag on a budget the policy wants: an error naming both deployments.
///
/// Budgets the plan creates have no tag to read. `live` is what the plan was made from.
pub async fn claim<R: BudgetOwners>(
    mut plan: Plan,
    desired: &AccountState,
    live: &AccountState,
    owners: &R,
    ownership: &Ownership,
    prefix: &str,
) -> Result<Plan, ClaimError> {
    let missing: Vec<String> = ownership
        .adopt
        .iter()
        .filter(|name| !live.budgets.contains_key(*name))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(ClaimError::NothingToAdopt {
            names: missing,
            prefix: prefix.to_owned(),
        });
    }
    let mut names: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter_map(Change::budget)
        .filter(|name| live.budgets.contains_key(*name))
        .collect();
    names.extend(ownership.adopt.iter().map(String::as_str));
    let tags: Vec<(&str, Option<String>)> = stream::iter(names)
        .map(|name| async move { Ok::<_, PortError>((name, owners.owner_tag(name).await?)) })
        .buffered(DEFAULT_CONCURRENCY)
        .try_collect()
        .await
        .map_err(ClaimError::Read)?;

    let ours = ownership.owner.as_str();
    let mut adoptions = Vec::new();
    let mut conflicts = Vec::new();
    let mut left_alone = BTreeSet::new();
    for (name, tag) in tags {
        if ownership.adopt.iter().any(|a| a == name) {
            if tag.as_deref() != Some(ours) {
                adoptions.push(Change::AdoptBudget {
                    name: name.to_owned(),
                    owner: ours.to_owned(),
                    previous: tag,
                });
            }
            continue;
        }
        let wanted = desired.budgets.contains_key(name);
        match tag {
            Some(owner) if owner == ours => {}
            Some(owner) if wanted => conflicts.push(Conflict {
                budget: name.to_owned(),
                owner,
            }),
            owner => {
                left_alone.insert(name.to_owned());
                plan.not_ours.push(NotOurs {
                    name: name.to_owned(),
                    owner,
                    wanted,
                });
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(ClaimError::OwnedElsewhere {
            ours: ours.to_owned(),
            conflicts,
        });
    }
    plan.changes
        .retain(|c| c.budget().is_none_or(|name| !left_alone.contains(name)));
    adoptions.append(&mut plan.changes);
    plan.changes = adoptions;
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::period::Period;
    use crate::policy::{SourceFile, load};
    use crate::ports::ErrorKind;
    use crate::provision::account::{BudgetState, desired};
    use crate::provision::apply::{ApplyOptions, ApplyReport, apply};
    use crate::provision::live::read_live;
    use crate::provision::plan::plan;
    use crate::provision::ports::{LiveBudget, ReadDepth};
    use crate::testing::account::InMemoryAccount;
    use futures::executor::block_on;
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:alerts";
    const OURS: &str = "BudgetGuard";

    /// The example policy's account, its notifications to `topic`.
    fn desired_with_topic(topic: &str) -> AccountState {
        let text = include_str!("../../../../policies/example.yaml");
        let (policy, diagnostics) =
            load(&[SourceFile::new("example.yaml", text.as_bytes().to_vec())]);
        desired(&policy.unwrap_or_else(|| panic!("{diagnostics:?}")), topic)
    }

    fn want() -> AccountState {
        desired_with_topic(TOPIC)
    }

    fn hand_made(name: &str) -> LiveBudget {
        LiveBudget {
            budget: BudgetState {
                name: name.into(),
                limit: dec!(42),
                time_unit: Period::Monthly,
                filter: None,
            },
            notifications: BTreeMap::new(),
            actions: Vec::new(),
        }
    }

    fn claimed(
        account: &InMemoryAccount,
        want: &AccountState,
        ownership: &Ownership,
    ) -> Result<Plan, ClaimError> {
        block_on(async {
            let live = read_live(account, Some(account), "bg-", want, ReadDepth::Full)
                .await
                .expect("read");
            claim(plan(want, &live), want, &live, account, ownership, "bg-").await
        })
    }

    fn apply_plan(account: &InMemoryAccount, plan: &Plan, owner: &str) -> ApplyReport {
        block_on(apply(
            plan,
            account,
            account,
            &ApplyOptions::new("bg-", owner),
            |_| {},
        ))
    }

    #[test]
    fn a_hand_made_budget_with_the_prefix_is_left_alone_and_shown() {
        let account = InMemoryAccount::new();
        account.seed_budget(hand_made("bg-handmade"));
        let want = want();
        let plan = claimed(&account, &want, &Ownership::new(OURS)).unwrap();
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| c.budget() == Some("bg-handmade")),
            "{}",
            plan.render()
        );
        assert_eq!(
            plan.not_ours,
            [NotOurs {
                name: "bg-handmade".into(),
                owner: None,
                wanted: false
            }]
        );
        assert_eq!(plan.blocked().count(), 0);
        assert!(plan.render().contains(
            "! budget bg-handmade: not ours (no budget-guard:owner tag): left alone; \
             `budget-guard apply --adopt bg-handmade` takes it over\n"
        ));
        assert!(apply_plan(&account, &plan, OURS).is_success());
        assert_eq!(
            account.budget("bg-handmade"),
            Some(hand_made("bg-handmade"))
        );
        assert_eq!(account.owner("bg-handmade"), None);
    }

    #[test]
    fn a_hand_made_budget_the_policy_wants_blocks_until_adopted() {
        let account = InMemoryAccount::new();
        account.seed_budget(hand_made("bg-chatbot"));
        let want = want();
        let plan = claimed(&account, &want, &Ownership::new(OURS)).unwrap();
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| c.budget() == Some("bg-chatbot"))
        );
        assert_eq!(plan.blocked().count(), 1);
        assert!(
            plan.render()
                .contains("the policy wants a budget of that name"),
            "{}",
            plan.render()
        );

        let adopt = Ownership {
            owner: OURS.into(),
            adopt: vec!["bg-chatbot".into()],
        };
        let plan = claimed(&account, &want, &adopt).unwrap();
        assert!(plan.not_ours.is_empty());
        assert_eq!(
            plan.changes[0],
            Change::AdoptBudget {
                name: "bg-chatbot".into(),
                owner: OURS.into(),
                previous: None
            }
        );
        assert!(plan.render().starts_with(
            "~ budget bg-chatbot: adopt (budget-guard:owner (none) -> BudgetGuard)\n"
        ));
        let report = apply_plan(&account, &plan, OURS);
        assert!(report.is_success(), "{report}");
        assert_eq!(account.owner("bg-chatbot").as_deref(), Some(OURS));
        assert_eq!(account.writes()[0], "TagResource", "tagged first");
        assert_eq!(
            account.budget("bg-chatbot").unwrap().budget.limit,
            want.budgets["bg-chatbot"].limit,
            "then reconciled"
        );
        let before = account.tag_reads();
        let again = claimed(&account, &want, &Ownership::new(OURS)).unwrap();
        assert!(again.is_empty() && again.not_ours.is_empty());
        assert_eq!(
            account.tag_reads(),
            before,
            "an unchanged plan reads no tag"
        );
    }

    #[test]
    fn a_failed_adoption_skips_the_budgets_other_changes() {
        let account = InMemoryAccount::new();
        account.seed_budget(hand_made("bg-chatbot"));
        let adopt = Ownership {
            owner: OURS.into(),
            adopt: vec!["bg-chatbot".into()],
        };
        let want = want();
        let plan = claimed(&account, &want, &adopt).unwrap();
        account.fail_write(1, PortError::new(ErrorKind::AccessDenied, "x", "no"));
        let report = apply_plan(&account, &plan, OURS);
        assert_eq!(report.failed.len(), 1);
        assert!(!report.skipped.is_empty());
        assert!(report.skipped.iter().all(|s| {
            s.change.budget() == Some("bg-chatbot")
                && matches!(s.because, Change::AdoptBudget { .. })
        }));
        assert_eq!(account.budget("bg-chatbot"), Some(hand_made("bg-chatbot")));
        assert!(
            account.budget("bg-writing-assistant").is_some(),
            "the rest went on"
        );
    }

    #[test]
    fn another_deployments_budget_is_theirs_and_wanting_it_is_an_error_naming_both() {
        let account = InMemoryAccount::new();
        let want = want();
        // Deployment "Other" made the example's budgets with the same prefix.
        let theirs = block_on(async {
            let live = read_live(&account, Some(&account), "bg-", &want, ReadDepth::Full)
                .await
                .unwrap();
            claim(
                plan(&want, &live),
                &want,
                &live,
                &account,
                &Ownership::new("Other"),
                "bg-",
            )
            .await
            .unwrap()
        });
        assert!(apply_plan(&account, &theirs, "Other").is_success());

        // This deployment, same prefix, another alerts topic: it would repoint their subscribers.
        let moved = desired_with_topic("arn:aws:sns:us-east-1:123456789012:alerts-2");
        let error = claimed(&account, &moved, &Ownership::new(OURS)).unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("budget bg-chatbot belongs to deployment Other, not BudgetGuard"),
            "{text}"
        );
        assert!(text.contains("budget bg-writing-assistant belongs to deployment Other"));

        // A policy without those budgets leaves them alone: no delete planned.
        let mut only_one = moved.clone();
        only_one.budgets.clear();
        only_one.notifications.clear();
        let plan = claimed(&account, &only_one, &Ownership::new(OURS)).unwrap();
        assert!(
            !plan.changes.iter().any(|c| c.budget().is_some()),
            "{}",
            plan.render()
        );
        assert_eq!(plan.not_ours.len(), 2);
        assert!(
            plan.render()
                .contains("! budget bg-chatbot: not ours (deployment Other): left alone")
        );
    }

    #[test]
    fn adopting_a_budget_that_is_not_there_is_an_error() {
        let account = InMemoryAccount::new();
        let adopt = Ownership {
            owner: OURS.into(),
            adopt: vec!["bg-nope".into()],
        };
        let error = claimed(&account, &want(), &adopt).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--adopt bg-nope: no such budget with the prefix bg- in the account"
        );
    }
}
