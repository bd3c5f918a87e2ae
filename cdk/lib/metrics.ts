// The guard's own CloudWatch metrics, as the Rust functions publish them: one definition that the
// dashboard and the construct's metric methods share, so a rename cannot leave one of them behind.
// The names are those of guard-core's `spend` module (EstimatedSpend, dimension Budget) and
// guard-aws's `cloudwatch::guard_metrics` (RouteStep, dimension Route).

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The namespace the functions publish to (their BUDGET_GUARD_METRICS_NAMESPACE). */
export const METRICS_NAMESPACE = 'BudgetGuard';

/** Five minutes: the spend watcher publishes at most once a minute, the alert handler hourly or on events. */
export const DEFAULT_PERIOD = Duration.minutes(5);

/**
 * The spend watcher's estimate of a budget's period-to-date spend, in the policy's currency.
 * `budgetName` is the AWS budget name (the policy's prefix and key, e.g. `bg-team-a`). Maximum:
 * within a period the estimate only grows, so the largest point is the latest.
 */
export function estimatedSpendMetric(budgetName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'EstimatedSpend',
    dimensionsMap: { Budget: budgetName },
    statistic: 'Maximum',
    period: DEFAULT_PERIOD,
    ...props,
  });
}

/**
 * The step of a route's ladder the alert handler has it on (1 = first choice). Maximum: the most
 * downgraded the route was in the period.
 */
export function routeStepMetric(route: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'RouteStep',
    dimensionsMap: { Route: route },
    statistic: 'Maximum',
    period: DEFAULT_PERIOD,
    ...props,
  });
}

/**
 * With the fast path on: how far the fast path's counter of a budget is from the spend watcher's
 * figure from token metrics, in percent of the latter (signed; the spend watcher publishes it on
 * each run that priced the budget). Maximum: the widest gap in the period shows.
 */
export function fastPathDriftMetric(budgetName: string, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: 'FastPathDrift',
    dimensionsMap: { Budget: budgetName },
    statistic: 'Maximum',
    period: DEFAULT_PERIOD,
    ...props,
  });
}

/** The drift past which the spend watcher logs a warning, in percent (guard-core's `DRIFT_TOLERANCE_PCT`). */
export const FAST_PATH_DRIFT_TOLERANCE_PCT = 5;
