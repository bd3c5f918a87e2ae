//! The live state of the account read through the ports, as the plan compares it.

use crate::ports::PortError;
use crate::provision::account::{AccountState, EmailSubscription};
use crate::provision::ports::{BudgetReader, LiveSubscription, ReadDepth, SubscriptionStore};

/// The live email subscriptions as the plan sees them. Confirmed ones count when their filter
/// policy names a channel. A pending one cannot be read, so it counts as present for every
/// channel of the desired state that has its address (that is what stops a daily run from
/// re-sending confirmation emails); a pending address no channel wants is left alone.
pub fn live_email_subscriptions(
    listed: &[LiveSubscription],
    desired: &AccountState,
) -> Vec<EmailSubscription> {
    let mut out = Vec::new();
    for s in listed {
        match (&s.arn, &s.channel) {
            (Some(arn), Some(channel)) => out.push(EmailSubscription {
                channel: channel.clone(),
                address: s.address.clone(),
                pending: false,
                arn: Some(arn.clone()),
            }),
            (Some(_), None) => {}
            (None, _) => {
                for want in desired
                    .email_subscriptions
                    .iter()
                    .filter(|w| w.address.eq_ignore_ascii_case(&s.address))
                {
                    let known = out.iter().any(|o: &EmailSubscription| {
                        o.channel == want.channel && o.address.eq_ignore_ascii_case(&want.address)
                    });
                    if !known {
                        out.push(EmailSubscription {
                            channel: want.channel.clone(),
                            address: s.address.clone(),
                            pending: true,
                            arn: None,
                        });
                    }
                }
            }
        }
    }
    // A confirmed subscription wins over a pending one for the same channel and address.
    let confirmed: Vec<(String, String)> = out
        .iter()
        .filter(|s| !s.pending)
        .map(|s| (s.channel.clone(), s.address.to_ascii_lowercase()))
        .collect();
    out.retain(|s| {
        !s.pending || !confirmed.contains(&(s.channel.clone(), s.address.to_ascii_lowercase()))
    });
    out.sort();
    out
}

/// Reads the guard's part of the account: owned budgets (by `prefix`) as deep as `depth` and,
/// when a subscription store is given, the notify topic's email subscriptions, matched against
/// `desired`. After a [`ReadDepth::Quick`] read, a notification that `desired` has is taken to
/// have the desired subscribers (they were not read); one it does not have is planned for
/// deletion whole, so its subscribers do not matter.
pub async fn read_live<R: BudgetReader, S: SubscriptionStore>(
    reader: &R,
    subscriptions: Option<&S>,
    prefix: &str,
    desired: &AccountState,
    depth: ReadDepth,
) -> Result<AccountState, PortError> {
    let mut state = AccountState::default();
    for live in reader.owned_budgets(prefix, depth).await? {
        // The reader promises it; checked again because ownership is the one rule never to break.
        if !live.budget.name.starts_with(prefix) {
            continue;
        }
        let mut notifications = live.notifications;
        if depth == ReadDepth::Quick
            && let Some(wanted) = desired.notifications.get(&live.budget.name)
        {
            for (key, subscribers) in &mut notifications {
                if let Some(want) = wanted.get(key) {
                    subscribers.clone_from(want);
                }
            }
        }
        state
            .notifications
            .insert(live.budget.name.clone(), notifications);
        if !live.actions.is_empty() {
            state.actions.insert(live.budget.name.clone(), live.actions);
        }
        state.budgets.insert(live.budget.name.clone(), live.budget);
    }
    if let Some(store) = subscriptions {
        let listed = store.email_subscriptions().await?;
        state.email_subscriptions = live_email_subscriptions(&listed, desired);
    }
    Ok(state)
}
