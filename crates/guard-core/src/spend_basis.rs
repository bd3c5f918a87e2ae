//! Actual or forecasted spend: what a policy's threshold watches (`on:`), what an alert reports
//! (Budgets' `Alert Type`, the spend alert's `alert_type`), and a Budgets notification's
//! `NotificationType`. One concept, so one type with one mapping to AWS's names.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Which spend a threshold watches: actual (default) or forecasted.
// (This doc line is the JSON Schema's description.) Serde's form is the policy's (`actual`,
// `forecasted`); the alerts' JSON spells it as AWS does (`ACTUAL`, `FORECASTED`), with `api_form`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Deserialize,
    Serialize,
    JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum SpendBasis {
    /// Spend so far in the period.
    #[default]
    Actual,
    /// AWS's forecast of spend by the end of the period.
    Forecasted,
}

impl SpendBasis {
    /// The name AWS uses for it: a notification's `NotificationType`, an alert's `Alert Type`.
    pub fn as_api(self) -> &'static str {
        match self {
            SpendBasis::Actual => "ACTUAL",
            SpendBasis::Forecasted => "FORECASTED",
        }
    }

    /// The policy's word for it (`on: forecasted`), also used in messages.
    pub fn as_word(self) -> &'static str {
        match self {
            SpendBasis::Actual => "actual",
            SpendBasis::Forecasted => "forecasted",
        }
    }

    /// Reads AWS's name, ignoring ASCII case and surrounding whitespace (Budgets' text alerts are
    /// not strict about either).
    pub fn from_api(name: &str) -> Option<Self> {
        let name = name.trim();
        [SpendBasis::Actual, SpendBasis::Forecasted]
            .into_iter()
            .find(|basis| name.eq_ignore_ascii_case(basis.as_api()))
    }
}

impl fmt::Display for SpendBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_api())
    }
}

/// Serde in AWS's spelling, exactly `ACTUAL` or `FORECASTED`, for the alerts' JSON:
/// `#[serde(with = "crate::spend_basis::api_form")]`.
pub mod api_form {
    use super::SpendBasis;
    use serde::{Deserialize, Deserializer, Serializer, de};

    pub fn serialize<S: Serializer>(basis: &SpendBasis, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(basis.as_api())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SpendBasis, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        [SpendBasis::Actual, SpendBasis::Forecasted]
            .into_iter()
            .find(|basis| *name == *basis.as_api())
            .ok_or_else(|| de::Error::unknown_variant(&name, &["ACTUAL", "FORECASTED"]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct InAlert {
        #[serde(with = "api_form")]
        alert_type: SpendBasis,
    }

    #[test]
    fn the_policy_spells_it_in_lowercase_and_alerts_as_aws_does() {
        let policy: SpendBasis = serde_yaml::from_str("forecasted").unwrap();
        assert_eq!(policy, SpendBasis::Forecasted);
        assert_eq!(
            serde_json::to_string(&SpendBasis::Actual).unwrap(),
            r#""actual""#
        );

        let alert = InAlert {
            alert_type: SpendBasis::Forecasted,
        };
        let json = serde_json::to_string(&alert).unwrap();
        assert_eq!(json, r#"{"alert_type":"FORECASTED"}"#);
        assert_eq!(serde_json::from_str::<InAlert>(&json).unwrap(), alert);
        // The alerts' JSON is written by the guard itself: only AWS's exact spelling is read.
        assert!(serde_json::from_str::<InAlert>(r#"{"alert_type":"forecasted"}"#).is_err());
    }

    #[test]
    fn aws_names_are_read_back_whatever_their_case() {
        for basis in [SpendBasis::Actual, SpendBasis::Forecasted] {
            assert_eq!(SpendBasis::from_api(basis.as_api()), Some(basis));
            assert_eq!(
                SpendBasis::from_api(&format!(" {} ", basis.as_word())),
                Some(basis)
            );
            assert_eq!(basis.to_string(), basis.as_api());
        }
        assert_eq!(SpendBasis::from_api("ACTUALLY"), None);
        assert_eq!(SpendBasis::from_api(""), None);
    }
}
