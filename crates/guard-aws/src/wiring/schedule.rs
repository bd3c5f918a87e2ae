//! EventBridge scheduled events, as the stack's rules send them to the functions.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The instant a scheduled event stands for: its `time` field, when the event is an EventBridge
/// event. The functions act "as of" that instant rather than as of their own clock, so that a tick
/// that is delivered late or replayed (`budget-guard` tests, the demo, an operator re-sending a
/// missed roll-over) decides exactly as the one on time would have.
pub fn scheduled_time(event: &Value) -> Option<DateTime<Utc>> {
    let is_eventbridge = event.get("detail-type").is_some() && event.get("source").is_some();
    if !is_eventbridge {
        return None;
    }
    let time = event.get("time")?.as_str()?;
    DateTime::parse_from_rfc3339(time)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_the_time_of_a_scheduled_event() {
        let event = json!({"source": "budget-guard.schedule", "detail-type": "rollover-tick", "time": "2026-12-01T00:05:00Z", "detail": {}});
        assert_eq!(
            scheduled_time(&event).unwrap().to_rfc3339(),
            "2026-12-01T00:05:00+00:00"
        );
    }

    #[test]
    fn other_events_have_no_scheduled_time() {
        assert_eq!(
            scheduled_time(&json!({"Records": [], "time": "2026-12-01T00:05:00Z"})),
            None
        );
        assert_eq!(
            scheduled_time(
                &json!({"source": "aws.events", "detail-type": "Scheduled Event", "time": "soon"})
            ),
            None
        );
    }
}
