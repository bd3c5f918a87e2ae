//! An operator's command: pin, unpin, set or restore a route.

use super::*;

impl<F: FlagStore, S: StateStore, K: SlackPoster, E: EmailPublisher> Handler<F, S, K, E> {
    /// Carries out an operator's command: changes the ledger, derives, writes the flag.
    pub async fn handle_command(
        &self,
        command: &Command,
        now: DateTime<Utc>,
    ) -> Result<Vec<RouteReport>, HandleError> {
        let route_of = |name: &str| {
            self.policy.routes.get(name).ok_or_else(|| {
                HandleError::Command(format!(
                    "no route {name} in the policy; routes: {}",
                    self.policy
                        .routes
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })
        };
        let routes: Vec<&RouteSpec> = match command {
            Command::Set { route, .. }
            | Command::Pin { route, .. }
            | Command::Unpin { route, .. } => {
                vec![route_of(route)?]
            }
            Command::Restore { route: Some(r), .. } => vec![route_of(r)?],
            Command::Restore { route: None, .. } => self.policy.routes.values().collect(),
        };
        let mut reports = Vec::new();
        for route in routes {
            let flags_error = |source| HandleError::Flags {
                route: route.name.clone(),
                source,
            };
            let mut ledger = self.load_ledger(route).await.map_err(flags_error)?;
            let flag = self
                .flags
                .get_flag(&route.parameter)
                .await
                .map_err(flags_error)?;
            ledger.prune(&self.policy, route, now);
            let check_step = |step: usize| {
                if (1..=route.ladder.len()).contains(&step) {
                    Ok(step)
                } else {
                    Err(HandleError::Command(format!(
                        "route {} has steps 1 to {}; {step} is not one of them",
                        route.name,
                        route.ladder.len()
                    )))
                }
            };
            match command {
                Command::Set { step, by, .. } => {
                    let period = ledger::manual_period(&self.policy, &route.name);
                    ledger.set_manual(Requirement {
                        budget: None,
                        period,
                        period_start: period.start_of(now.date_naive()),
                        threshold: ledger::MANUAL.to_owned(),
                        step: check_step(*step)?,
                        alert_ids: vec![bounded(by, MAX_BY_BYTES)],
                    });
                }
                Command::Pin {
                    step, by, reason, ..
                } => {
                    let here = derive(&self.policy, route, &ledger, now).step;
                    ledger.pin = Some(Pin {
                        step: check_step(step.unwrap_or(here))?,
                        by: bounded(by, MAX_BY_BYTES),
                        reason: bounded(reason, MAX_REASON_BYTES),
                        at: now,
                    });
                }
                Command::Unpin { .. } => ledger.pin = None,
                Command::Restore { by, reason, .. } => {
                    ledger.requirements.clear();
                    if let Some(pin) = &mut ledger.pin {
                        pin.step = 1;
                        pin.by = bounded(by, MAX_BY_BYTES);
                        pin.reason = bounded(reason, MAX_REASON_BYTES);
                        pin.at = now;
                    }
                }
            }
            self.save_ledger(&ledger).await.map_err(flags_error)?;
            let decision = derive(&self.policy, route, &ledger, now);
            let written = !flag_agrees(route, flag.as_ref(), &decision);
            if written {
                let (by, reason) = match command {
                    Command::Set { by, reason, .. }
                    | Command::Pin { by, reason, .. }
                    | Command::Unpin { by, reason, .. }
                    | Command::Restore { by, reason, .. } => (by, reason),
                };
                let author = ledger::Author { by, reason };
                let new = flag_for(route, &ledger, &decision, now, Some(author));
                self.flags
                    .put_flag(&route.parameter, &new)
                    .await
                    .map_err(flags_error)?;
                tracing::info!(route = %route.name, step = decision.step, pinned = decision.pinned, command = ?command, "flag written by an operator's command");
            }
            reports.push(RouteReport {
                route: route.name.clone(),
                step: decision.step,
                model_id: route.model_at(decision.step).to_owned(),
                pinned: decision.pinned,
                because: match (&ledger.pin, &decision.because) {
                    (Some(pin), _) => Some(format!("pinned by {}: {}", pin.by, pin.reason)),
                    (None, Some(r)) => Some(match &r.budget {
                        Some(b) => format!(
                            "{b} crossed {} ({} period from {})",
                            r.threshold, r.period, r.period_start
                        ),
                        None => format!(
                            "set by hand until the {} period from {} ends",
                            r.period, r.period_start
                        ),
                    }),
                    (None, None) => None,
                },
                written,
            });
        }
        Ok(reports)
    }
}
