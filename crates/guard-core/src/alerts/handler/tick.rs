//! The tick: unfinished jobs resumed, every route derived again, old records pruned.

use super::*;

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    /// The tick at `now`: resumes jobs a failure left unfinished, derives every route of the
    /// policy again (periods ended, budgets gone, flags off their ladder), tells people of each
    /// route that moved, and prunes expired records.
    pub async fn handle_tick(
        &self,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Vec<Result<JobOutcome, HandleError>> {
        let mut results = Vec::new();
        // Each kind of job by its own path: the IAM grant covers paths under the state path.
        let mut records = Vec::new();
        for prefix in ["alerts/", "notices/", "rollover/"] {
            match self.state.list_state(prefix).await {
                Ok(mut found) => records.append(&mut found),
                Err(error) => {
                    tracing::warn!(%error, prefix, "cannot list the handler state; resuming none of it");
                }
            }
        }
        for (key, value) in &records {
            // A job still unfinished after a day (a channel that is gone) is left for the logs
            // rather than failing every tick.
            if let Ok(job) = serde_json::from_str::<Job>(value)
                && !job.is_complete()
                && now - job.first_seen < chrono::Duration::hours(RESUME_HOURS)
            {
                results.push(self.run(key.clone(), job, now, deadline).await);
            }
        }
        for route in self.policy.routes.values() {
            if let Some(result) = self.tick_route(route, now, deadline).await {
                results.push(result);
            }
        }
        let expired = expired_records(&self.policy, &records, now);
        if !expired.is_empty() {
            match self.state.delete_state(&expired).await {
                Ok(()) => tracing::info!(deleted = expired.len(), "expired handler state deleted"),
                Err(error) => tracing::warn!(%error, "cannot delete expired handler state"),
            }
        }
        results
    }

    /// One route at the tick: nothing when its flag already agrees with its ledger (the ledger is
    /// pruned all the same), else a job that tells why it moves, saved before the move.
    pub(super) async fn tick_route(
        &self,
        route: &RouteSpec,
        now: DateTime<Utc>,
        deadline: Deadline,
    ) -> Option<Result<JobOutcome, HandleError>> {
        let fail = |source| {
            Some(Err(HandleError::Flags {
                route: route.name.clone(),
                source,
            }))
        };
        let mut ledger = match self.load_ledger(route).await {
            Ok(ledger) => ledger,
            Err(source) => return fail(source),
        };
        let flag = match self.flags.get_flag(&route.parameter).await {
            Ok(flag) => flag,
            Err(source) => return fail(source),
        };
        let before = ledger.clone();
        let pruned = ledger.prune(&self.policy, route, now);
        let decision = derive(&self.policy, route, &ledger, now);
        if flag_agrees(route, flag.as_ref(), &decision) {
            if pruned && let Err(source) = self.save_ledger(&ledger).await {
                return fail(source);
            }
            return None;
        }
        // Why it moves: the deepest requirement whose period ended, else a budget gone from the
        // policy or a flag someone else wrote.
        let today = now.date_naive();
        let ended = before
            .requirements
            .iter()
            .filter(|r| r.period.start_of(today) != r.period_start)
            .filter_map(|r| {
                let budget = r
                    .budget
                    .as_deref()
                    .and_then(|b| self.policy.budget_by_name(b))?;
                Some((r.step, budget))
            })
            .max_by_key(|(step, _)| *step)
            .map(|(_, b)| b);
        let (notice, channels) = match ended {
            Some(budget) if !off_ladder(route, flag.as_ref()) => (
                Notice::Rollover(RolloverNotice {
                    budget_name: budget.name.clone(),
                    period: budget.period,
                    period_start: budget.period.start_of(today),
                    actions: vec![],
                    note: None,
                }),
                route_channels(&self.policy, &route.name, Some(budget)),
            ),
            _ => {
                let why = if off_ladder(route, flag.as_ref()) {
                    format!(
                        "the flag of route {} named {}, which is not on its ladder; it is rewritten from the policy",
                        route.name,
                        bounded(
                            flag.as_ref().map_or("", |f| f.model_id.as_str()),
                            MAX_FLAG_MODEL_BYTES
                        )
                    )
                } else {
                    format!(
                        "the flag of route {} did not match what the policy and this period require; it is rewritten",
                        route.name
                    )
                };
                (
                    Notice::Rollover(RolloverNotice {
                        budget_name: String::new(),
                        period: ledger::manual_period(&self.policy, &route.name),
                        period_start: today,
                        actions: vec![],
                        note: Some(why),
                    }),
                    route_channels(&self.policy, &route.name, None),
                )
            }
        };
        let key = format!(
            "rollover/{}/{}",
            key_part(&route.name),
            now.format("%Y%m%dT%H%M%S")
        );
        let job = Job::new(
            &key,
            now,
            notice,
            vec![FlagTask::Sync {
                route: route.name.clone(),
            }],
            channels,
        );
        Some(self.run(key, job, now, deadline).await)
    }
}
