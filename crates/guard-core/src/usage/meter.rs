//! From invocation records to period-to-date counters per budget, and from a counter past a
//! threshold to the spend watcher's alert.
//!
//! A record counts against every watched budget whose scope covers it: its model as the spend
//! watcher matches models ([`crate::spend::query::covers`], on the id as invoked and on the id
//! inside a profile ARN), its account when the scope lists accounts, its region when the scope
//! lists regions, and, when the scope names `applications`, the caller of one of them
//! ([`crate::usage::attribution`]). Tags are not in a record; a budget scoped by tag counts by its
//! models, as the spend watcher does, unless it names its applications.
//!
//! A record is priced per request ([`crate::pricing::catalog::ModelPrice::request_cost`]), so a
//! prompt above a long-context tier's size costs that tier's price, which summed metrics cannot
//! tell.
//!
//! Each request counts once: the batch's requests are grouped into chunks ([`crate::usage::chunks`]),
//! and the counters' adapter writes each chunk atomically, one after another: every request's id
//! recorded only if absent, and one addition per counter. A request whose id was recorded before
//! (Logs and Lambda may deliver a batch again) is answered as already counted and its cost left
//! out. Each actual threshold's
//! alert is published once per period: claimed (a conditional marker), published, then
//! confirmed; a claim left unconfirmed by a failed publish is claimed again by the next batch.
//! Forecasted thresholds stay with the spend watcher, which has the rate to forecast from.

use crate::alerts::parse::spend_alert::SpendAlert;
use crate::policy::{BudgetSpec, Policy, ScopeSpec, ThresholdSpec};
use crate::ports::PortError;
use crate::pricing::catalog::Catalog;
use crate::pricing::estimate::cents;
use crate::spend::ports::AlertSink;
use crate::spend::query::{covers, day_start, watched};
use crate::spend::thresholds::threshold_id;
use crate::spend_basis::SpendBasis;
use crate::usage::attribution::counts_caller;
use crate::usage::awslogs::LogEvent;
use crate::usage::chunks::{Chunk, TooManyCounters, chunk};
use crate::usage::record::{InvocationRecord, RecordError, invoked_id, parse_record};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// The `source` of the alerts the usage meter publishes.
pub const ALERT_SOURCE: &str = "usage-meter";
/// How long a request's record is kept (DynamoDB TTL): long after Logs and Lambda stop
/// redelivering a batch (Lambda retries an asynchronous event for up to 6 hours).
pub const REQUEST_RECORD_HOURS: i64 = 48;
/// How long a counter and its alert markers outlive their period, for reconciliation and audit.
pub const COUNTER_RETENTION_DAYS: i64 = 35;

/// One budget's counter for one period.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CounterKey {
    /// The AWS budget name, as in the spend alert.
    pub budget: String,
    pub period_start: NaiveDate,
}

/// A counter a request adds to, and when the counter may expire (epoch seconds, DynamoDB TTL).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub key: CounterKey,
    pub expires_at: i64,
}

/// One request to count: its cost goes to every counter listed, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Charge {
    pub request_id: String,
    pub at: DateTime<Utc>,
    /// USD, unrounded.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    pub counters: Vec<Counter>,
    /// Epoch seconds after which the request's record may go (DynamoDB TTL).
    pub expires_at: i64,
}

/// What the counting of a chunk found: which requests were new and which counted before.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkCounted {
    pub counted: Vec<String>,
    pub already_counted: Vec<String>,
}

/// The period-to-date counters (a DynamoDB table in AWS).
pub trait UsageCounters {
    /// Records the chunk's request ids and adds the new ones' costs to their counters: each
    /// request atomically with its additions, never twice. Requests recorded before change
    /// nothing and are answered as already counted.
    fn count(&self, chunk: &Chunk) -> impl Future<Output = Result<ChunkCounted, PortError>> + Send;
    /// A counter's total, USD (zero when it does not exist), read after every write before it.
    fn total(&self, key: &CounterKey) -> impl Future<Output = Result<Decimal, PortError>> + Send;
    /// Claims the publishing of a threshold's alert for the counter's period: true when not
    /// claimed before, or claimed and never confirmed (the publish failed).
    fn claim_alert(
        &self,
        key: &CounterKey,
        threshold: &str,
        expires_at: i64,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Marks a claimed alert as published.
    fn confirm_alert(
        &self,
        key: &CounterKey,
        threshold: &str,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// What a record costs, USD, or `None` when the catalog has no price for its model.
pub fn price_record(catalog: &Catalog, record: &InvocationRecord) -> Option<Decimal> {
    let resolved = catalog
        .resolve(&record.model_id)
        .or_else(|| catalog.resolve(invoked_id(&record.model_id)))?;
    let t = &record.tokens;
    Some(
        resolved
            .price
            .request_cost(t.input, t.output, t.cache_read, t.cache_write),
    )
}

/// Whether a budget of this scope counts the record (see the module docs).
pub fn in_scope(scope: &ScopeSpec, record: &InvocationRecord) -> bool {
    let model = covers(&scope.models, &record.model_id)
        || covers(&scope.models, invoked_id(&record.model_id));
    model
        && (scope.accounts.is_empty() || scope.accounts.contains(&record.account_id))
        && (scope.regions.is_empty() || scope.regions.contains(&record.region))
        && counts_caller(&scope.applications, record)
}

/// The watched budgets a record counts against.
pub fn budgets_for<'p>(policy: &'p Policy, record: &InvocationRecord) -> Vec<&'p BudgetSpec> {
    watched(policy)
        .into_iter()
        .filter(|b| in_scope(&b.scope, record))
        .collect()
}

/// The counter of `budget` for the period that holds `at`.
pub fn counter_key(budget: &BudgetSpec, at: DateTime<Utc>) -> CounterKey {
    CounterKey {
        budget: budget.name.clone(),
        period_start: budget.period.start_of(at.date_naive()),
    }
}

/// When a counter of `budget` (and its alert markers) may expire: epoch seconds.
pub fn counter_expiry(budget: &BudgetSpec, period_start: NaiveDate) -> i64 {
    (day_start(budget.period.next_start(period_start)) + Duration::days(COUNTER_RETENTION_DAYS))
        .timestamp()
}

/// The actual thresholds a period-to-date total is past, as AWS Budgets counts: strictly greater
/// than the threshold in dollars.
pub fn crossed(budget: &BudgetSpec, total: Decimal) -> Vec<&ThresholdSpec> {
    budget
        .thresholds
        .iter()
        .filter(|t| t.basis == SpendBasis::Actual && total > t.dollars(budget.amount))
        .collect()
}

/// The spend alert for a threshold crossed by a counter, as the spend watcher writes it.
pub fn alert_for(
    budget: &BudgetSpec,
    threshold: &ThresholdSpec,
    key: &CounterKey,
    total: Decimal,
    observed_at: DateTime<Utc>,
) -> SpendAlert {
    SpendAlert {
        budget_name: budget.name.clone(),
        alert_type: SpendBasis::Actual,
        threshold: threshold.dollars(budget.amount),
        budgeted: budget.amount,
        amount: cents(total),
        period: budget.period,
        period_start: key.period_start,
        observed_at,
        source: ALERT_SOURCE.to_owned(),
    }
}

/// What became of one log event.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// To be counted against these budgets.
    Charge(Charge),
    /// In no watched budget's scope.
    Unmatched,
    /// In scope, but its model has no price: its cost is missing from the counters.
    Unpriced { model_id: String },
    /// In scope and priced, but it cost nothing (a failed call, no tokens).
    Free,
    /// Not a record the guard can read; the rest of the batch goes on.
    Malformed(RecordError),
}

/// Reads, scopes and prices one log event.
pub fn assess(policy: &Policy, catalog: &Catalog, message: &str) -> Outcome {
    let record = match parse_record(message) {
        Ok(r) => r,
        Err(e) => return Outcome::Malformed(e),
    };
    let budgets = budgets_for(policy, &record);
    if budgets.is_empty() {
        return Outcome::Unmatched;
    }
    let Some(cost) = price_record(catalog, &record) else {
        return Outcome::Unpriced {
            model_id: record.model_id,
        };
    };
    if cost.is_zero() {
        return Outcome::Free;
    }
    Outcome::Charge(Charge {
        counters: budgets
            .iter()
            .map(|b| {
                let key = counter_key(b, record.timestamp);
                Counter {
                    expires_at: counter_expiry(b, key.period_start),
                    key,
                }
            })
            .collect(),
        expires_at: (record.timestamp + Duration::hours(REQUEST_RECORD_HOURS)).timestamp(),
        at: record.timestamp,
        cost,
        request_id: record.request_id,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum MeterError {
    #[error("counting {requests} requests from {first_request_id} on failed: {source}")]
    Count {
        first_request_id: String,
        requests: usize,
        source: PortError,
    },
    #[error(transparent)]
    TooManyCounters(#[from] TooManyCounters),
    #[error("reading the counter of budget `{budget}` failed: {source}")]
    Total { budget: String, source: PortError },
    #[error("recording the alert of budget `{budget}` at {threshold} failed: {source}")]
    Marker {
        budget: String,
        threshold: String,
        source: PortError,
    },
    #[error("publishing the alert of budget `{budget}` at {threshold} failed: {source}")]
    Publish {
        budget: String,
        threshold: String,
        source: PortError,
    },
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeterReport {
    pub events: usize,
    pub counted: usize,
    pub already_counted: usize,
    pub unmatched: usize,
    pub free: usize,
    /// Model ids in scope with no price.
    pub unpriced: BTreeSet<String>,
    /// Log event ids and why each could not be read.
    pub malformed: Vec<(String, String)>,
    /// Every counter the batch's records fall in, with its total after the batch.
    pub totals: Vec<(CounterKey, Decimal)>,
    pub alerts: Vec<SpendAlert>,
}

/// One batch of log events: each request counted once, then every counter the batch touched
/// (redelivered records included, so a retry finishes what a failed run left) checked against
/// its budget's actual thresholds, each crossing published once per period.
pub async fn meter_batch<C, A>(
    policy: &Policy,
    catalog: &Catalog,
    events: &[LogEvent],
    ports: (&C, &A),
    now: DateTime<Utc>,
) -> Result<MeterReport, MeterError>
where
    C: UsageCounters + Sync,
    A: AlertSink,
{
    let (counters, sink) = ports;
    let mut report = MeterReport {
        events: events.len(),
        ..MeterReport::default()
    };
    let mut charges = Vec::new();
    for event in events {
        match assess(policy, catalog, &event.message) {
            Outcome::Charge(c) => charges.push(c),
            Outcome::Unmatched => report.unmatched += 1,
            Outcome::Free => report.free += 1,
            Outcome::Unpriced { model_id } => {
                report.unpriced.insert(model_id);
            }
            Outcome::Malformed(e) => report.malformed.push((event.id.clone(), e.to_string())),
        }
    }
    // The latest record of each counter: when the total was observed.
    let mut touched: BTreeMap<CounterKey, DateTime<Utc>> = BTreeMap::new();
    for c in &charges {
        for counter in &c.counters {
            let latest = touched.entry(counter.key.clone()).or_insert(c.at);
            *latest = (*latest).max(c.at);
        }
    }
    // One chunk at a time: two writes at once would contend for the same counters.
    let chunks = chunk(charges)?;
    report.already_counted += chunks.repeated.len();
    for c in &chunks.chunks {
        let done = counters
            .count(c)
            .await
            .map_err(|source| MeterError::Count {
                first_request_id: c.charges[0].request_id.clone(),
                requests: c.charges.len(),
                source,
            })?;
        report.counted += done.counted.len();
        report.already_counted += done.already_counted.len();
    }
    for (key, latest) in touched {
        let Some(budget) = policy.budget_by_name(&key.budget) else {
            continue;
        };
        let total = counters
            .total(&key)
            .await
            .map_err(|source| MeterError::Total {
                budget: key.budget.clone(),
                source,
            })?;
        // Never later than now, never before the period: the handler places the alert by it.
        let observed_at = latest.min(now).max(day_start(key.period_start));
        for threshold in crossed(budget, total) {
            let id = threshold_id(threshold);
            let marker_err = |source| MeterError::Marker {
                budget: key.budget.clone(),
                threshold: id.clone(),
                source,
            };
            let expires_at = counter_expiry(budget, key.period_start);
            if !counters
                .claim_alert(&key, &id, expires_at)
                .await
                .map_err(marker_err)?
            {
                continue;
            }
            let alert = alert_for(budget, threshold, &key, total, observed_at);
            sink.publish(&alert)
                .await
                .map_err(|source| MeterError::Publish {
                    budget: key.budget.clone(),
                    threshold: id.clone(),
                    source,
                })?;
            counters
                .confirm_alert(&key, &id)
                .await
                .map_err(marker_err)?;
            report.alerts.push(alert);
        }
        report.totals.push((key, total));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SourceFile;
    use crate::ports::ErrorKind;
    use rust_decimal_macros::dec;
    use std::sync::Mutex;

    const SONNET_US: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

    fn policy() -> Policy {
        crate::testing::policy::checked(&guard_testkit::policy_fixture("metered"))
    }

    fn record(request_id: &str, model_id: &str, region: &str, tokens: [u64; 4]) -> String {
        serde_json::json!({
            "schemaType": "ModelInvocationLog", "schemaVersion": "1.0",
            "timestamp": "2026-11-20T14:00:03Z", "accountId": "123456789012",
            "identity": {"arn": "arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc"},
            "region": region, "requestId": request_id, "operation": "Converse",
            "modelId": model_id,
            "input": {"inputBodyJson": {"messages": []}, "inputTokenCount": tokens[0],
                      "cacheReadInputTokenCount": tokens[2], "cacheWriteInputTokenCount": tokens[3]},
            "output": {"outputBodyJson": {}, "outputTokenCount": tokens[1]}
        })
        .to_string()
    }

    fn event(id: &str, message: String) -> LogEvent {
        LogEvent {
            id: id.to_owned(),
            timestamp: 0,
            message,
        }
    }

    fn keys(c: &Charge) -> Vec<CounterKey> {
        c.counters.iter().map(|c| c.key.clone()).collect()
    }

    fn charge(outcome: Outcome) -> Charge {
        match outcome {
            Outcome::Charge(c) => c,
            other => panic!("expected a charge, got {other:?}"),
        }
    }

    #[test]
    fn a_record_with_cache_tokens_is_priced_per_token_kind_under_its_profile() {
        let p = policy();
        let c = charge(assess(
            &p,
            &p.catalog(),
            &record("r1", SONNET_US, "us-east-1", [1200, 350, 9000, 500]),
        ));
        // us. costs 10% over global: input $3.30, output $16.50, cache read $0.33 and cache
        // write $4.125 per million tokens.
        let expected = dec!(1200) * dec!(3.30) / dec!(1e6)
            + dec!(350) * dec!(16.50) / dec!(1e6)
            + dec!(9000) * dec!(0.33) / dec!(1e6)
            + dec!(500) * dec!(4.125) / dec!(1e6);
        assert_eq!(c.cost, expected);
        assert_eq!(c.cost, dec!(0.0147675));
        assert_eq!(
            keys(&c),
            [CounterKey {
                budget: "bg-chatbot".into(),
                period_start: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
            }]
        );
        assert_eq!(c.request_id, "r1");
        assert_eq!(c.expires_at, c.at.timestamp() + 48 * 3600);
    }

    #[test]
    fn a_profile_arn_is_priced_and_scoped_as_the_profile_it_names() {
        let p = policy();
        let arn = format!("arn:aws:bedrock:us-east-1:123456789012:inference-profile/{SONNET_US}");
        let by_arn = charge(assess(
            &p,
            &p.catalog(),
            &record("r1", &arn, "us-east-1", [1000, 100, 0, 0]),
        ));
        let by_id = charge(assess(
            &p,
            &p.catalog(),
            &record("r1", SONNET_US, "us-east-1", [1000, 100, 0, 0]),
        ));
        assert_eq!(by_arn.cost, by_id.cost);
        assert_eq!(keys(&by_arn), keys(&by_id));
        // The global profile of the same model is cheaper, and counts against the same budget.
        let global = charge(assess(
            &p,
            &p.catalog(),
            &record(
                "r2",
                "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "us-east-1",
                [1000, 100, 0, 0],
            ),
        ));
        assert!(
            global.cost < by_id.cost,
            "{} vs {}",
            global.cost,
            by_id.cost
        );
        assert_eq!(keys(&global), keys(&by_id));
    }

    #[test]
    fn a_long_prompt_is_priced_at_the_long_context_rate_which_summed_metrics_cannot_see() {
        let p = policy();
        let cost = |id: &str, input: u64| {
            charge(assess(
                &p,
                &p.catalog(),
                &record(id, SONNET_US, "us-east-1", [input, 0, 0, 0]),
            ))
            .cost
        };
        // Sonnet 4.5 above 200K prompt tokens: $6 instead of $3 per million input tokens (+10% us.).
        assert_eq!(cost("short", 125_000), dec!(0.4125));
        assert_eq!(cost("long", 250_000), dec!(1.65));
    }

    #[test]
    fn a_record_outside_every_watched_scope_counts_nowhere() {
        let p = policy();
        let catalog = p.catalog();
        // A model no budget lists.
        assert_eq!(
            assess(
                &p,
                &catalog,
                &record("r1", "us.amazon.nova-pro-v1:0", "us-east-1", [10, 10, 0, 0])
            ),
            Outcome::Unmatched
        );
        // The right model in a region the budget does not cover.
        assert_eq!(
            assess(
                &p,
                &catalog,
                &record("r2", "amazon.nova-lite-v1:0", "us-east-1", [10, 10, 0, 0])
            ),
            Outcome::Unmatched
        );
        let daily = charge(assess(
            &p,
            &catalog,
            &record("r3", "amazon.nova-lite-v1:0", "eu-west-1", [10, 10, 0, 0]),
        ));
        assert_eq!(daily.counters[0].key.budget, "bg-nova-eu");
        assert_eq!(
            daily.counters[0].key.period_start,
            NaiveDate::from_ymd_opt(2026, 11, 20).unwrap()
        );
    }

    #[test]
    fn an_application_profile_counts_at_its_own_price_and_never_at_a_guessed_one() {
        let arn = "arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123";
        let yaml = format!(
            "{}pricing:\n  \"{arn}\":\n    input_per_1k: 0.001\n    output_per_1k: 0.002\n",
            guard_testkit::policy_fixture("metered").replace(
                "models: [amazon.nova-lite-v1:0]",
                &format!("models: [\"{arn}\"]")
            )
        );
        let (p, d) = crate::policy::load(&[SourceFile::new("p.yaml", yaml.into_bytes())]);
        let p = p.unwrap_or_else(|| panic!("{d:#?}"));
        let priced = charge(assess(
            &p,
            &p.catalog(),
            &record("r1", arn, "eu-west-1", [1000, 1000, 0, 0]),
        ));
        assert_eq!(priced.cost, dec!(0.003));
        assert_eq!(keys(&priced)[0].budget, "bg-nova-eu");
        // Without a price for the ARN, the record is reported, not counted at some model's price.
        assert_eq!(
            assess(
                &p,
                &Catalog::bundled(),
                &record("r1", arn, "eu-west-1", [1000, 1000, 0, 0])
            ),
            Outcome::Unpriced {
                model_id: arn.into()
            }
        );
    }

    #[derive(Default)]
    struct MemoryCounters {
        seen: Mutex<BTreeSet<String>>,
        totals: Mutex<BTreeMap<CounterKey, Decimal>>,
        /// (counter, threshold) -> confirmed
        markers: Mutex<BTreeMap<(CounterKey, String), bool>>,
    }

    impl UsageCounters for MemoryCounters {
        async fn count(&self, chunk: &Chunk) -> Result<ChunkCounted, PortError> {
            let mut done = ChunkCounted::default();
            let mut seen = self.seen.lock().unwrap();
            let mut totals = self.totals.lock().unwrap();
            for charge in &chunk.charges {
                if !seen.insert(charge.request_id.clone()) {
                    done.already_counted.push(charge.request_id.clone());
                    continue;
                }
                for counter in &charge.counters {
                    *totals.entry(counter.key.clone()).or_default() += charge.cost;
                }
                done.counted.push(charge.request_id.clone());
            }
            Ok(done)
        }
        async fn total(&self, key: &CounterKey) -> Result<Decimal, PortError> {
            Ok(self
                .totals
                .lock()
                .unwrap()
                .get(key)
                .copied()
                .unwrap_or_default())
        }
        async fn claim_alert(&self, key: &CounterKey, t: &str, _: i64) -> Result<bool, PortError> {
            let mut m = self.markers.lock().unwrap();
            match m.get(&(key.clone(), t.to_owned())) {
                Some(true) => Ok(false),
                _ => {
                    m.insert((key.clone(), t.to_owned()), false);
                    Ok(true)
                }
            }
        }
        async fn confirm_alert(&self, key: &CounterKey, t: &str) -> Result<(), PortError> {
            self.markers
                .lock()
                .unwrap()
                .insert((key.clone(), t.to_owned()), true);
            Ok(())
        }
    }

    #[derive(Default)]
    struct Sink {
        published: Mutex<Vec<SpendAlert>>,
        fail_next: Mutex<bool>,
    }

    impl AlertSink for Sink {
        async fn publish(&self, alert: &SpendAlert) -> Result<(), PortError> {
            if std::mem::take(&mut *self.fail_next.lock().unwrap()) {
                return Err(PortError::new(
                    ErrorKind::Throttled,
                    "sns:Publish",
                    "throttled",
                ));
            }
            self.published.lock().unwrap().push(alert.clone());
            Ok(())
        }
    }

    fn run(
        p: &Policy,
        events: &[LogEvent],
        ports: (&MemoryCounters, &Sink),
    ) -> Result<MeterReport, MeterError> {
        futures::executor::block_on(meter_batch(p, &p.catalog(), events, ports, now()))
    }

    fn now() -> DateTime<Utc> {
        "2026-11-20T14:00:30Z".parse().unwrap()
    }

    /// 60,000 output tokens of Sonnet (us.) cost $0.99: past 50% of the $1 budget.
    fn big(id: &str) -> LogEvent {
        event(id, record(id, SONNET_US, "us-east-1", [0, 60_000, 0, 0]))
    }

    #[test]
    fn a_malformed_record_is_reported_and_the_rest_of_the_batch_counts() {
        let p = policy();
        let (counters, sink) = (MemoryCounters::default(), Sink::default());
        let events = [
            event("e1", "not json at all".into()),
            big("r1"),
            event(
                "e3",
                record("r3", "us.amazon.nova-pro-v1:0", "us-east-1", [1, 1, 0, 0]),
            ),
        ];
        let report = run(&p, &events, (&counters, &sink)).unwrap();
        assert_eq!(report.events, 3);
        assert_eq!(report.counted, 1);
        assert_eq!(report.unmatched, 1);
        assert_eq!(report.malformed.len(), 1);
        assert_eq!(report.malformed[0].0, "e1");
        assert_eq!(report.totals.len(), 1);
        assert_eq!(report.totals[0].1, dec!(0.99));
    }

    #[test]
    fn the_same_record_twice_counts_once_and_alerts_once() {
        let p = policy();
        let (counters, sink) = (MemoryCounters::default(), Sink::default());
        let first = run(&p, &[big("r1"), big("r1")], (&counters, &sink)).unwrap();
        assert_eq!((first.counted, first.already_counted), (1, 1));
        assert_eq!(first.totals[0].1, dec!(0.99));
        assert_eq!(first.alerts.len(), 1, "{:?}", first.alerts);
        let alert = &first.alerts[0];
        assert_eq!(alert.budget_name, "bg-chatbot");
        assert_eq!(alert.threshold, dec!(0.5));
        assert_eq!(alert.amount, dec!(0.99));
        assert_eq!(alert.source, ALERT_SOURCE);
        assert_eq!(
            alert.period_start,
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert_eq!(
            alert.observed_at,
            "2026-11-20T14:00:03Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Redelivered: nothing more counted, nothing published again.
        let again = run(&p, &[big("r1")], (&counters, &sink)).unwrap();
        assert_eq!((again.counted, again.already_counted), (0, 1));
        assert!(again.alerts.is_empty());
        assert_eq!(sink.published.lock().unwrap().len(), 1);
        // A new request takes it past 100%; the forecasted 90% stays with the spend watcher.
        let next = run(&p, &[big("r2")], (&counters, &sink)).unwrap();
        let thresholds: Vec<Decimal> = next.alerts.iter().map(|a| a.threshold).collect();
        assert_eq!(thresholds, [dec!(1)]);
    }

    #[test]
    fn a_failed_publish_is_published_by_the_redelivery() {
        let p = policy();
        let (counters, sink) = (MemoryCounters::default(), Sink::default());
        *sink.fail_next.lock().unwrap() = true;
        let failed = run(&p, &[big("r1")], (&counters, &sink));
        assert!(
            matches!(failed, Err(MeterError::Publish { .. })),
            "{failed:?}"
        );
        let retried = run(&p, &[big("r1")], (&counters, &sink)).unwrap();
        assert_eq!(retried.already_counted, 1);
        assert_eq!(retried.alerts.len(), 1);
        assert_eq!(sink.published.lock().unwrap().len(), 1);
    }

    #[test]
    fn counters_outlive_their_period_by_the_retention() {
        let p = policy();
        let b = &p.budgets["chatbot"];
        let key = counter_key(b, now());
        assert_eq!(
            counter_expiry(b, key.period_start),
            "2027-01-05T00:00:00Z"
                .parse::<DateTime<Utc>>()
                .unwrap()
                .timestamp()
        );
    }
}
