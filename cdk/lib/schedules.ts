// The guard's schedules: EventBridge rules that send the functions events shaped like Scheduled
// Events, each with a `detail-type` naming the job, through the guard's dead-letter queue when
// delivery fails.

import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** `source` of the scheduled events the guard sends itself. */
export const SCHEDULE_SOURCE = 'budget-guard.schedule';

/** Every minute: the spend watcher's estimate is at most a minute behind Bedrock's metrics. */
export const DEFAULT_SPEND_WATCHER_SCHEDULE = events.Schedule.rate(Duration.minutes(1));
/**
 * Drift repair three times a day, quick runs that list budgets and notifications (a few calls
 * whatever the policy's size); at 00:00 UTC a full run also reads every notification's subscribers
 * (a call each), so a subscriber changed by hand is back within a day.
 */
export const DEFAULT_DRIFT_REPAIR_SCHEDULE = events.Schedule.cron({ minute: '0', hour: '6,12,18' });
export const DEFAULT_FULL_DRIFT_REPAIR_SCHEDULE = events.Schedule.cron({ minute: '0', hour: '0' });

/** Parses `1 minute`, `5 minutes`, `2 hours`, `1 day`, `rate(...)` or `cron(...)` (the app's context). */
export function parseSchedule(spec: string): events.Schedule {
  const s = spec.trim();
  if (/^(rate|cron)\(.+\)$/.test(s)) return events.Schedule.expression(s);
  const m = /^(\d+)\s*(minute|minutes|min|m|hour|hours|h|day|days|d)$/i.exec(s);
  if (!m) {
    throw new Error(`spendWatcherRate "${spec}": expected e.g. "1 minute", "5 minutes", "rate(...)" or "cron(...)"`);
  }
  const n = Number(m[1]);
  if (n < 1) throw new Error(`spendWatcherRate "${spec}": must be at least 1 minute`);
  const unit = m[2]!.toLowerCase();
  if (unit.startsWith('m')) return events.Schedule.rate(Duration.minutes(n));
  if (unit.startsWith('h')) return events.Schedule.rate(Duration.hours(n));
  return events.Schedule.rate(Duration.days(n));
}

/**
 * The event a schedule sends: shaped like an EventBridge Scheduled Event (so the functions read it
 * with `aws_lambda_events::cloudwatch_events::CloudWatchEvent`), with the guard's own `source` and a
 * `detail-type` naming the job. `id`, `time`, `account`, `region` and `resources` are the real event's.
 */
export function scheduledEvent(detailType: string): events.RuleTargetInput {
  return events.RuleTargetInput.fromObject({
    version: '0',
    id: events.EventField.eventId,
    'detail-type': detailType,
    source: SCHEDULE_SOURCE,
    account: events.EventField.account,
    time: events.EventField.time,
    region: events.EventField.region,
    resources: events.EventField.fromPath('$.resources'),
    detail: {},
  });
}

export interface GuardSchedulesProps {
  readonly provisioner: lambda.IFunction;
  readonly alertHandler: lambda.IFunction;
  readonly spendWatcher: lambda.IFunction;
  readonly deadLetterQueue: sqs.IQueue;
  readonly spendWatcherSchedule: events.Schedule;
  readonly driftRepairSchedule: events.Schedule;
  readonly fullDriftRepairSchedule: events.Schedule;
}

export class GuardSchedules extends Construct {
  readonly rules: Readonly<Record<'rolloverTick' | 'driftRepair' | 'driftRepairFull' | 'priceCheck' | 'spendWatcherTick', events.Rule>>;

  constructor(scope: Construct, id: string, props: GuardSchedulesProps) {
    super(scope, id);
    const target = (fn: lambda.IFunction, detailType: string, maxEventAge: Duration) =>
      new targets.LambdaFunction(fn, {
        event: scheduledEvent(detailType),
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge,
      });
    // The descriptions name the default times; a schedule given in props is named by its expression.
    const when = (schedule: events.Schedule, fallback: events.Schedule, defaultText: string) =>
      schedule.expressionString === fallback.expressionString ? defaultText : schedule.expressionString;
    this.rules = {
      rolloverTick: new events.Rule(this, 'RolloverTick', {
        description: 'Budget Guard: hourly period roll-over tick for the alert handler (restores flags)',
        schedule: events.Schedule.rate(Duration.hours(1)),
        targets: [target(props.alertHandler, 'rollover-tick', Duration.hours(1))],
      }),
      driftRepair: new events.Rule(this, 'DriftRepair', {
        description: `Budget Guard: provisioner drift repair ${when(props.driftRepairSchedule, DEFAULT_DRIFT_REPAIR_SCHEDULE, 'at 06, 12 and 18 UTC')} (budgets and notifications)`,
        schedule: props.driftRepairSchedule,
        targets: [target(props.provisioner, 'drift-repair', Duration.hours(1))],
      }),
      driftRepairFull: new events.Rule(this, 'DriftRepairFull', {
        description: `Budget Guard: provisioner drift repair ${when(props.fullDriftRepairSchedule, DEFAULT_FULL_DRIFT_REPAIR_SCHEDULE, 'at 00 UTC')}, subscribers included`,
        schedule: props.fullDriftRepairSchedule,
        targets: [target(props.provisioner, 'drift-repair-full', Duration.hours(1))],
      }),
      // The AWS Price List against the catalog in force, for the policy's models (PricesChanged).
      priceCheck: new events.Rule(this, 'PriceCheck', {
        description: 'Budget Guard: weekly provisioner price check against the AWS Price List (Mondays 07 UTC)',
        schedule: events.Schedule.cron({ minute: '0', hour: '7', weekDay: 'MON' }),
        targets: [target(props.provisioner, 'price-check', Duration.hours(1))],
      }),
      spendWatcherTick: new events.Rule(this, 'SpendWatcherTick', {
        description: 'Budget Guard: spend watcher run',
        schedule: props.spendWatcherSchedule,
        targets: [target(props.spendWatcher, 'spend-tick', Duration.minutes(5))],
      }),
    };
  }
}
