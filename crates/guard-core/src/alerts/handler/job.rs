//! A job run: flags first, then Slack, then email, its record saved after every action.

use super::*;

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    pub(super) async fn load_ledger(&self, route: &RouteSpec) -> Result<Ledger, PortError> {
        match self.state.get_state(&ledger_key(&route.name)).await? {
            None => Ok(Ledger::new(&route.name)),
            Some(text) => serde_json::from_str::<Ledger>(&text).map_err(|e| {
                // A ledger this build cannot read: act on nothing rather than on a guess.
                PortError::new(
                    ErrorKind::Invalid,
                    "read ledger",
                    format!("the ledger of route {} is unreadable: {e}", route.name),
                )
            }),
        }
    }

    pub(super) async fn save_ledger(&self, ledger: &Ledger) -> Result<(), PortError> {
        self.state
            .put_state(&ledger_key(&ledger.route), &ledger.to_json())
            .await
    }

    pub(super) async fn load(&self, key: &str) -> Result<Option<Job>, HandleError> {
        let text = self
            .state
            .get_state(key)
            .await
            .map_err(|source| HandleError::State {
                job: key.to_owned(),
                source,
            })?;
        match text.map(|t| serde_json::from_str::<Job>(&t)) {
            None => Ok(None),
            Some(Ok(job)) => Ok(Some(job)),
            Some(Err(e)) => {
                // A record this build cannot read: act on nothing rather than twice.
                tracing::error!(job = key, error = %e, "unreadable handler state; not acting on this job");
                Err(HandleError::State {
                    job: key.to_owned(),
                    source: PortError::new(
                        ErrorKind::Invalid,
                        "read state",
                        format!("not a job record: {e}"),
                    ),
                })
            }
        }
    }

    pub(super) async fn run_flag_task(
        &self,
        task: &FlagTask,
        now: DateTime<Utc>,
    ) -> Result<(RouteAction, bool), (RouteAction, PortError)> {
        let Some(route) = self.policy.routes.get(task.route()) else {
            return Ok((
                RouteAction::UnknownRoute {
                    route: task.route().to_owned(),
                },
                false,
            ));
        };
        let required = match task {
            FlagTask::Require { requirement, .. } => Some(requirement.step),
            FlagTask::Sync { .. } => None,
        };
        let failed = |e: PortError| {
            let target = required.unwrap_or(1).clamp(1, route.last_step());
            let action = RouteAction::Failed {
                route: route.name.clone(),
                target_model: route.model_at(target).to_owned(),
                // An AWS error's text can be long, and may quote what it refused.
                error: bounded(&e.to_string(), MAX_REASON_BYTES),
            };
            (action, e)
        };
        let mut ledger = self.load_ledger(route).await.map_err(failed)?;
        let flag = self
            .flags
            .get_flag(&route.parameter)
            .await
            .map_err(failed)?;
        let before = standing(route, flag.as_ref());
        let mut changed = ledger.prune(&self.policy, route, now);
        if let FlagTask::Require { requirement, .. } = task {
            changed |= ledger.add(requirement.clone());
        }
        if changed {
            self.save_ledger(&ledger).await.map_err(failed)?;
        }
        let decision = derive(&self.policy, route, &ledger, now);
        let write = !flag_agrees(route, flag.as_ref(), &decision);
        if write {
            let new = flag_for(route, &ledger, &decision, now, None);
            self.flags
                .put_flag(&route.parameter, &new)
                .await
                .map_err(failed)?;
            tracing::info!(route = %route.name, parameter = %route.parameter, model_id = %new.model_id, step = new.step, pinned = new.pinned, "flag written");
        }
        let mut action = describe(route, &before, &decision, required);
        if let RouteAction::Downgrade {
            from_step,
            to_step,
            monthly_saving,
            ..
        } = &mut action
        {
            *monthly_saving = crate::pricing::estimate::monthly_saving(
                &self.policy,
                &route.name,
                *from_step,
                *to_step,
            );
        }
        Ok((action, write))
    }

    pub(super) async fn run(
        &self,
        key: String,
        mut job: Job,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Result<JobOutcome, HandleError> {
        job.attempts += 1;
        let mut outcome = JobOutcome::new(key.clone());
        let mut failed: Vec<(String, PortError)> = Vec::new();
        // A tick's job is saved before anything is done, so that the next tick finds it if this
        // invocation dies (an alert's job is made again from its redelivered message).
        if key.starts_with("rollover/") && job.attempts == 1 {
            self.save(&key, &job, &mut failed).await;
        }

        for task in job.flag_tasks.clone() {
            if job.flags_done.contains(task.route()) {
                continue;
            }
            match self.run_flag_task(&task, now).await {
                Ok((action, wrote)) => {
                    job.set_action(action);
                    job.flags_done.insert(task.route().to_owned());
                    outcome.done.push(task.key());
                    if wrote {
                        outcome.flags_written.push(task.route().to_owned());
                    }
                }
                Err((action, error)) => {
                    tracing::warn!(job = %key, route = task.route(), %error, "flag task failed");
                    job.set_action(action);
                    failed.push((task.key(), error));
                }
            }
            self.save(&key, &job, &mut failed).await;
        }

        let payload = slack_payload(&job.notice);
        for channel in job.slack.clone() {
            let delivery = format!("slack:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = match self.policy.channels.get(&channel) {
                Some(ChannelSpec::Slack { webhook_secret, .. }) => {
                    self.slack
                        .post(&channel, webhook_secret, &payload, deadline)
                        .await
                }
                _ => Err(PortError::new(
                    ErrorKind::Invalid,
                    "post to Slack",
                    format!("channel {channel} is not a Slack channel of the policy"),
                )),
            };
            if self.record(&mut job, &mut outcome, &mut failed, delivery, result) {
                self.save(&key, &job, &mut failed).await;
            }
        }

        let (subject, body) = (email_subject(&job.notice), email_body(&job.notice));
        for channel in job.email.clone() {
            let delivery = format!("email:{channel}");
            if job.sent.get(&delivery) == Some(&job.notice_version) {
                continue;
            }
            let result = self.email.publish(&channel, &subject, &body).await;
            if self.record(&mut job, &mut outcome, &mut failed, delivery, result) {
                self.save(&key, &job, &mut failed).await;
            }
        }

        // The record also stands for the message itself: one with nothing to do must still be
        // found, so that a redelivery is known as one.
        if outcome.done.is_empty() {
            self.save(&key, &job, &mut failed).await;
        }
        outcome.failed = failed
            .iter()
            .map(|(k, e)| (k.clone(), e.to_string()))
            .collect();
        if failed.is_empty() {
            tracing::info!(job = %key, done = ?outcome.done, "job handled");
            Ok(outcome)
        } else {
            Err(HandleError::Incomplete {
                job: key,
                failed,
                outcome: Box::new(outcome),
            })
        }
    }

    pub(super) async fn save(&self, key: &str, job: &Job, failed: &mut Vec<(String, PortError)>) {
        let record = serde_json::to_string(job).unwrap_or_default();
        if let Err(error) = self.state.put_state(key, &record).await {
            tracing::error!(job = %key, %error, "cannot save the handler state");
            if !failed.iter().any(|(k, _)| k == "state") {
                failed.push(("state".to_owned(), error));
            }
        }
    }

    /// Records a delivery's result; true when it succeeded.
    pub(super) fn record(
        &self,
        job: &mut Job,
        outcome: &mut JobOutcome,
        failed: &mut Vec<(String, PortError)>,
        delivery: String,
        result: Result<(), PortError>,
    ) -> bool {
        match result {
            Ok(()) => {
                job.sent.insert(delivery.clone(), job.notice_version);
                outcome.done.push(delivery);
                true
            }
            Err(error) => {
                tracing::warn!(job = %job.id, delivery = %delivery, %error, "delivery failed");
                failed.push((delivery, error));
                false
            }
        }
    }
}
