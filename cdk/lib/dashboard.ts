// The guard's CloudWatch dashboard: Bedrock usage by model, each watched budget's estimated spend,
// each route's ladder step, and the guard's own health.

import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { FUNCTION_NAMES, type FunctionName } from './iam';
import {
  DEFAULT_PERIOD as PERIOD,
  FAST_PATH_DRIFT_TOLERANCE_PCT,
  estimatedSpendMetric,
  fastPathDriftMetric,
  routeStepMetric,
} from './metrics';
import type { ExportedPolicy } from './policy';

export interface GuardDashboardProps {
  readonly dashboardName: string;
  readonly policy: ExportedPolicy;
  readonly functions: Readonly<Record<FunctionName, lambda.IFunction>>;
  readonly deadLetterQueue: sqs.IQueue;
  /**
   * The fast path is deployed (the spend watcher has its table): show how far its counters are
   * from the spend watcher's figures. @default false
   */
  readonly fastPath?: boolean;
}

/**
 * The `RouteStep` value of a route at the top of its ladder: the alert handler publishes 1-based
 * steps (a Rust test of `cloudwatch::guard_metrics` reads this line to keep the two in step).
 */
export const ROUTE_STEP_TOP = 1;

/** A graph of every `AWS/Bedrock` metric of one name, one line per ModelId, whatever models are used. */
function bedrockByModel(metricName: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{AWS/Bedrock,ModelId} MetricName="${metricName}"', 'Sum', ${PERIOD.toSeconds()})`,
    usingMetrics: {},
    label,
    period: PERIOD,
  });
}

/**
 * A Dashboard itself rather than a construct holding one, so its resource keeps the path (and the
 * logical id) the dashboard had before the guard became a construct.
 */
export class GuardDashboard extends cloudwatch.Dashboard {
  constructor(scope: Construct, id: string, props: GuardDashboardProps) {
    super(scope, id, { dashboardName: props.dashboardName, defaultInterval: Duration.days(7) });
    addWidgets(this, props);
  }
}

function addWidgets(dashboard: cloudwatch.Dashboard, props: GuardDashboardProps): void {
  const { policy } = props;
  const currency = policy.settings.currency;

  // Bedrock usage, by model.
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Bedrock input tokens by model',
      left: [bedrockByModel('InputTokenCount', '')],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Bedrock output tokens by model',
      left: [bedrockByModel('OutputTokenCount', '')],
      width: 12,
    }),
  );
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Bedrock invocations by model',
      left: [bedrockByModel('Invocations', '')],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Bedrock throttles by model',
      left: [bedrockByModel('InvocationThrottles', '')],
      width: 12,
    }),
  );

  // Estimated spend against each watched budget, with the budget amount as a line.
  const budgetWidgets = Object.entries(policy.budgets)
    .filter(([, b]) => b.watch)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([key, b]) =>
        new cloudwatch.GraphWidget({
          title: `${key}: estimated spend vs ${b.amount} ${currency} (${b.period})`,
          left: [
            estimatedSpendMetric(b.name, { label: b.name }),
          ],
          leftAnnotations: [{ value: b.amount, label: `budget ${b.amount} ${currency}`, color: cloudwatch.Color.RED }],
          leftYAxis: { min: 0, label: currency, showUnits: false },
          width: 8,
        }),
    );
  for (let i = 0; i < budgetWidgets.length; i += 3) dashboard.addWidgets(...budgetWidgets.slice(i, i + 3));

  // The fast path against the token metrics, with the tolerance either side.
  if (props.fastPath === true) {
    const watched = Object.values(policy.budgets)
      .filter((b) => b.watch)
      .map((b) => b.name)
      .sort();
    if (watched.length > 0) {
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Fast path vs token metrics: drift (% of the metrics figure)',
          left: watched.map((name) => fastPathDriftMetric(name, { label: name })),
          leftAnnotations: [FAST_PATH_DRIFT_TOLERANCE_PCT, -FAST_PATH_DRIFT_TOLERANCE_PCT].map((value) => ({
            value,
            label: `${value > 0 ? '+' : ''}${value}%`,
            color: cloudwatch.Color.ORANGE,
          })),
          leftYAxis: { label: '%', showUnits: false },
          width: 24,
        }),
      );
    }
  }

  // Where each route is on its ladder.
  const routes = Object.keys(policy.routes).sort();
  if (routes.length > 0) {
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: `Route ladder step (${ROUTE_STEP_TOP} = first choice)`,
        left: routes.map((route) => routeStepMetric(route, { label: route })),
        leftYAxis: { min: ROUTE_STEP_TOP, showUnits: false },
        width: 24,
      }),
    );
  }

  // The guard's own health.
  dashboard.addWidgets(
    new cloudwatch.GraphWidget({
      title: 'Budget Guard errors',
      left: FUNCTION_NAMES.map((name) =>
        props.functions[name].metricErrors({ period: PERIOD, statistic: 'Sum', label: `${name} errors` }),
      ),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Budget Guard dead-letter queue depth',
      left: [
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: PERIOD,
          statistic: 'Maximum',
          label: 'messages waiting',
        }),
      ],
      width: 12,
    }),
  );
}
