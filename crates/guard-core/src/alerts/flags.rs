//! Routing flags: one JSON document per route, in SSM Parameter Store at the route's parameter
//! (`<flags_path><route>` unless the policy names another). Applications read `model_id` (through
//! `model-router`); the alert-handler is the only writer in production.
//!
//! ```json
//! {"version":2,"route":"support-chatbot","model_id":"us.anthropic.claude-haiku-4-5-20251001-v1:0",
//!  "step":3,"ladder_size":5,"max_output_tokens":500,"blocked":false,"budget":"bg-chatbot",
//!  "period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)",
//!  "changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}
//! ```
//!
//! | field | meaning |
//! |---|---|
//! | `version` | 2 (version 1 had no `service_tier`, `max_output_tokens` or `blocked`; readers of it, which read `model_id`, keep working) |
//! | `route` | the route's name in the policy |
//! | `model_id` | the model applications call (on a `stop` step, the model of the step above) |
//! | `service_tier` | the Bedrock service tier to call it on (`flex`, `priority`), absent for Standard |
//! | `max_output_tokens` | the most output tokens a request may ask for, absent for no cap |
//! | `blocked` | the route is stopped: applications make no call |
//! | `step` | 1-based step of `model_id` on the route's ladder (1 = most capable) |
//! | `ladder_size` | number of steps when the flag was written |
//! | `budget` | the AWS budget name whose period the flag belongs to, or null |
//! | `period_start` | first day (UTC) of that budget's period when the flag was written, or null |
//! | `reason`, `changed_at`, `changed_by` | why, when and who |
//! | `pinned` | an operator pinned the flag: no alert and no roll-over moves it |
//!
//! A route whose parameter does not exist yet is at the top of its ladder.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::RouteSpec;

/// The `version` of the flags this build writes.
pub const FLAG_VERSION: u32 = 2;

/// The versions this build reads: version 1 is version 2 without its rung fields.
pub const READ_VERSIONS: std::ops::RangeInclusive<u32> = 1..=FLAG_VERSION;

/// Who writes flags in production.
pub const ALERT_HANDLER: &str = "alert-handler";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub version: u32,
    pub route: String,
    pub model_id: String,
    pub step: usize,
    pub ladder_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<crate::pricing::catalog::ServiceTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub budget: Option<String>,
    #[serde(default)]
    pub period_start: Option<NaiveDate>,
    #[serde(default)]
    pub reason: String,
    pub changed_at: DateTime<Utc>,
    #[serde(default)]
    pub changed_by: String,
    #[serde(default)]
    pub pinned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagParseError {
    #[error("the flag is not valid JSON of a routing flag: {0}")]
    Invalid(String),
    #[error("the flag has version {0}; this build reads versions 1 and 2")]
    UnsupportedVersion(u32),
}

impl Flag {
    /// Reads a flag's JSON. Unknown fields are ignored.
    pub fn parse(text: &str) -> Result<Flag, FlagParseError> {
        let flag: Flag =
            serde_json::from_str(text).map_err(|e| FlagParseError::Invalid(e.to_string()))?;
        if !READ_VERSIONS.contains(&flag.version) {
            return Err(FlagParseError::UnsupportedVersion(flag.version));
        }
        Ok(flag)
    }

    /// The flag as the JSON stored in the parameter (one line, fields in the documented order).
    pub fn to_json(&self) -> String {
        // Strings, numbers, dates and booleans always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A new flag putting `route` on `step` of its ladder.
    pub fn at_step(route: &RouteSpec, step: usize, change: Change<'_>) -> Flag {
        let step = step.clamp(1, route.last_step());
        let rung = route.step_at(step);
        Flag {
            version: FLAG_VERSION,
            route: route.name.clone(),
            model_id: route.model_at(step).to_owned(),
            step,
            ladder_size: route.ladder.len(),
            service_tier: rung.service_tier,
            max_output_tokens: rung.max_output_tokens,
            blocked: rung.blocked,
            budget: change.budget.map(str::to_owned),
            period_start: change.period_start,
            reason: change.reason.to_owned(),
            changed_at: change.at,
            changed_by: change.by.to_owned(),
            pinned: change.pinned,
        }
    }
}

/// Who, when, why and for which budget period a flag is written.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub budget: Option<&'a str>,
    pub period_start: Option<NaiveDate>,
    pub reason: &'a str,
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub pinned: bool,
}

/// Where a route stands: its flag (if any) read against the policy's ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteState {
    /// 1-based step on the policy's ladder.
    pub step: usize,
    pub model_id: String,
    pub pinned: bool,
    pub flag: Option<Flag>,
}

impl RouteState {
    /// The route's state: the top of the ladder when there is no flag. A flag whose step still
    /// calls its model is at that step; else a flag whose model is on the ladder is at that
    /// model's first step (the ladder may have changed since it was written); otherwise at its
    /// step, clamped to the ladder.
    pub fn of(route: &RouteSpec, flag: Option<&Flag>) -> RouteState {
        match flag {
            None => RouteState {
                step: 1,
                model_id: route.model_at(1).to_owned(),
                pinned: false,
                flag: None,
            },
            Some(f) => {
                let same_step = (1..=route.ladder.len()).contains(&f.step)
                    && route.model_at(f.step) == f.model_id;
                let step = if same_step {
                    f.step
                } else {
                    route
                        .step_of(&f.model_id)
                        .unwrap_or_else(|| f.step.clamp(1, route.last_step()))
                };
                RouteState {
                    step,
                    model_id: if route.step_of(&f.model_id).is_some() {
                        f.model_id.clone()
                    } else {
                        route.model_at(step).to_owned()
                    },
                    pinned: f.pinned,
                    flag: Some(f.clone()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::StepSpec;

    fn route() -> RouteSpec {
        RouteSpec {
            name: "support-chatbot".into(),
            ladder: vec!["a".into(), "b".into(), "c".into()],
            steps: vec![StepSpec::default(); 3],
            parameter: "/budget-guard/routes/support-chatbot".into(),
        }
    }

    /// a, b, b capped at 500 output tokens, c on Flex, stop.
    fn rungs() -> RouteSpec {
        let capped = StepSpec {
            max_output_tokens: Some(500),
            ..StepSpec::default()
        };
        let flex = StepSpec {
            service_tier: Some(crate::pricing::catalog::ServiceTier::Flex),
            ..StepSpec::default()
        };
        let stop = StepSpec {
            blocked: true,
            ..StepSpec::default()
        };
        RouteSpec {
            name: "chat".into(),
            ladder: vec!["a".into(), "b".into(), "b".into(), "c".into(), "c".into()],
            steps: vec![StepSpec::default(), StepSpec::default(), capped, flex, stop],
            parameter: "/budget-guard/routes/chat".into(),
        }
    }

    fn change() -> Change<'static> {
        Change {
            budget: None,
            period_start: None,
            reason: "x",
            at: DateTime::parse_from_rfc3339("2026-11-12T06:41:09Z")
                .unwrap()
                .with_timezone(&Utc),
            by: "me",
            pinned: false,
        }
    }

    #[test]
    fn round_trips_the_documented_json() {
        let text = r#"{"version":2,"route":"support-chatbot","model_id":"b","step":3,"ladder_size":5,"max_output_tokens":500,"blocked":false,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}"#;
        let flag = Flag::parse(text).unwrap();
        assert_eq!((flag.step, flag.max_output_tokens), (3, Some(500)));
        assert_eq!(flag.period_start, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(flag.to_json(), text);
    }

    #[test]
    fn reads_version_1_as_a_plain_step() {
        let text = r#"{"version":1,"route":"support-chatbot","model_id":"b","step":2,"ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}"#;
        let flag = Flag::parse(text).unwrap();
        assert_eq!(
            (flag.service_tier, flag.max_output_tokens, flag.blocked),
            (None, None, false)
        );
        assert_eq!(RouteState::of(&route(), Some(&flag)).step, 2);
    }

    #[test]
    fn rejects_other_versions_and_garbage() {
        assert!(matches!(
            Flag::parse(
                r#"{"version":3,"route":"r","model_id":"m","step":1,"ladder_size":1,"changed_at":"2026-11-12T06:41:09Z"}"#
            ),
            Err(FlagParseError::UnsupportedVersion(3))
        ));
        assert!(matches!(
            Flag::parse("claude"),
            Err(FlagParseError::Invalid(_))
        ));
    }

    #[test]
    fn a_flag_carries_its_steps_rung() {
        let r = rungs();
        let capped = Flag::at_step(&r, 3, change());
        assert_eq!(
            (
                capped.model_id.as_str(),
                capped.max_output_tokens,
                capped.blocked
            ),
            ("b", Some(500), false)
        );
        // The same model stands on steps 2 and 3: the flag's step says which.
        assert_eq!(RouteState::of(&r, Some(&capped)).step, 3);
        let flex = Flag::at_step(&r, 4, change());
        assert_eq!(
            flex.service_tier,
            Some(crate::pricing::catalog::ServiceTier::Flex)
        );
        assert!(flex.to_json().contains(r#""service_tier":"flex""#));
        let stopped = Flag::at_step(&r, 9, change());
        assert_eq!(
            (stopped.step, stopped.model_id.as_str(), stopped.blocked),
            (5, "c", true)
        );
        assert_eq!(RouteState::of(&r, Some(&stopped)).step, 5);
        assert_eq!((r.cheapest_step(), r.last_step()), (4, 5));
    }

    #[test]
    fn state_follows_the_model_on_the_ladder() {
        let r = route();
        assert_eq!(RouteState::of(&r, None).step, 1);
        let mut flag = Flag::at_step(&r, 9, change());
        assert_eq!((flag.step, flag.model_id.as_str()), (3, "c"));
        flag.step = 1; // stale step, model wins
        assert_eq!(RouteState::of(&r, Some(&flag)).step, 3);
        flag.model_id = "gone".into();
        assert_eq!(RouteState::of(&r, Some(&flag)).model_id, "a");
    }
}
