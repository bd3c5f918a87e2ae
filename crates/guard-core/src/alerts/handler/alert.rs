//! An alert in: its job, then the job run.

use super::*;

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    /// Handles one SNS message from the alerts topic: a Budgets alert, a spend alert, or anything
    /// else, at `now`.
    pub async fn handle_message(
        &self,
        inbound: &Inbound<'_>,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<JobOutcome, HandleError> {
        if let Some(ours) = &self.trust.alerts_topic
            && inbound.topic_arn != Some(ours.as_str())
        {
            let reason = format!(
                "the record comes from topic {}, not the alerts topic",
                inbound.topic_arn.unwrap_or("(none)")
            );
            tracing::warn!(message_id = inbound.message_id, %reason, "ignored");
            return Ok(JobOutcome {
                ignored: Some(reason),
                ..JobOutcome::new(format!("alerts/{}", key_part(inbound.message_id)))
            });
        }
        let parsed = parse_message(inbound.message);
        self.handle_parsed(inbound, parsed, now, deadline).await
    }

    /// Handles an alert already read (`budget-guard alert simulate`): as [`Self::handle_message`]
    /// past the topic check.
    pub async fn handle_alert(
        &self,
        message_id: &str,
        alert: &Alert,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<JobOutcome, HandleError> {
        let inbound = Inbound {
            message_id,
            topic_arn: None,
            subject: None,
            message: "",
        };
        self.handle_parsed(&inbound, Ok(alert.clone()), now, deadline)
            .await
    }

    pub(super) async fn handle_parsed(
        &self,
        inbound: &Inbound<'_>,
        parsed: Result<Alert, crate::alerts::parse::AlertParseError>,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<JobOutcome, HandleError> {
        // A message handled before keeps the meaning it had: one that was not for this policy
        // (say, dated in a period that had not begun) is not acted on when SNS redelivers it later.
        let by_id = format!("alerts/{}", key_part(inbound.message_id));
        match self.load(&by_id).await? {
            Some(job) if job.is_complete() => {
                tracing::info!(job = %by_id, "already handled; nothing to do");
                return Ok(JobOutcome::nothing(by_id));
            }
            Some(job) => return self.run(by_id, job, now, deadline).await,
            None => {}
        }
        let (key, fresh) = match parsed {
            Ok(alert) => self.alert_job(inbound, &alert, now),
            Err(error) => {
                tracing::warn!(%error, message_id = inbound.message_id, "a message on the alerts topic is no alert");
                // All of it from outside: each part cut to its bound, with a count of what was cut.
                let notice = Notice::Unrecognised {
                    subject: inbound
                        .subject
                        .map(|s| bounded(s, crate::alerts::notice::MAX_SUBJECT_CHARS)),
                    reason: bounded(&error.to_string(), MAX_REASON_BYTES),
                    excerpt: excerpt(inbound.message),
                };
                let channels = split_channels(&self.policy, &self.policy.settings.unmatched_notify);
                let key = format!("alerts/{}", key_part(inbound.message_id));
                let job = Job::new(inbound.message_id, now, notice, vec![], channels);
                (key, job)
            }
        };
        let job = match self.load(&key).await? {
            Some(job) if job.is_complete() => {
                tracing::info!(job = %key, message_id = inbound.message_id, "already told; logged only");
                return Ok(JobOutcome::nothing(key));
            }
            Some(job) => job,
            None => fresh,
        };
        self.run(key, job, now, deadline).await
    }

    /// The job an alert makes, and its key.
    pub(super) fn alert_job(
        &self,
        inbound: &Inbound<'_>,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> (String, Job) {
        let assessment = assess(&self.policy, &self.trust, alert, now);
        tracing::info!(
            message_id = inbound.message_id,
            budget = alert.budget_name(),
            alert_type = %alert.alert_type(),
            threshold = %alert.threshold(),
            assessment = ?assessment,
            "alert"
        );
        match assessment {
            Assessment::Unmatched { reason } => {
                let mut notice = AlertNotice::new(alert, None);
                notice.unmatched = Some(bounded(&reason, MAX_REASON_BYTES));
                let channels = split_channels(&self.policy, &self.policy.settings.unmatched_notify);
                let key = format!("alerts/{}", key_part(inbound.message_id));
                let job = Job::new(
                    inbound.message_id,
                    now,
                    Notice::Alert(Box::new(notice)),
                    vec![],
                    channels,
                );
                (key, job)
            }
            Assessment::Matched {
                budget,
                threshold,
                period_start,
                late,
            } => {
                let spec = &self.policy.budgets[&budget];
                let t = &spec.thresholds[threshold];
                let title = threshold_title(t);
                let mut notice = AlertNotice::new(alert, Some(t.label()));
                notice.late = late;
                let tasks = match (&t.downgrade, late) {
                    (Some(d), false) => vec![FlagTask::Require {
                        route: d.route.clone(),
                        requirement: Requirement {
                            budget: Some(spec.name.clone()),
                            period: spec.period,
                            period_start,
                            threshold: title.clone(),
                            step: d.to_step,
                            alert_ids: vec![bounded(
                                inbound.message_id,
                                ledger::MAX_ALERT_ID_BYTES,
                            )],
                        },
                    }],
                    _ => vec![],
                };
                let key = notice_key(&spec.key, period_start, &title);
                let channels = split_channels(&self.policy, &t.notify);
                let job = Job::new(
                    inbound.message_id,
                    now,
                    Notice::Alert(Box::new(notice)),
                    tasks,
                    channels,
                );
                (key, job)
            }
        }
    }
}
