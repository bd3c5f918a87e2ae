// Maps `budget-guard iam-actions --format json` to IAM statements. Every permission a function's
// role gets for the guard's own work comes from that list, which the Rust code declares next to the
// code that makes the calls, so Rust and CDK cannot drift. This module is pure: plain data in, plain
// data out, so it is unit-tested without synthesizing anything.

export const FUNCTION_NAMES = ['provisioner', 'alert-handler', 'spend-watcher'] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];
/** The fast path's function: always in the CLI's list, deployed only when the fast path is on. */
export const USAGE_METER = 'usage-meter' as const;

export const RESOURCE_KINDS = [
  'owned-budgets',
  'flags',
  'alert-handler-state',
  'spend-watcher-state',
  'alerts-topic',
  'notify-topic',
  'slack-secrets',
  'budget-action-role',
  'profile-mapping',
  'unresolved-profiles',
  'metrics-namespace',
  'usage-table',
  'any',
] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

export interface ActionGrant {
  readonly actions: readonly string[];
  readonly resource: ResourceKind;
  /** For a state kind: its function's subtree of `state_path` (`alert-handler/`), from the CLI. */
  readonly stateDir?: string;
}

/** The kinds that are a function's own subtree of the state path. */
const STATE_KINDS: readonly ResourceKind[] = ['alert-handler-state', 'spend-watcher-state'];
const STATE_DIR = /^[A-Za-z0-9_-]+\/$/;

/** The output of `budget-guard iam-actions --format json`. */
export type IamActions = Readonly<Record<FunctionName, readonly ActionGrant[]>> & {
  readonly [USAGE_METER]?: readonly ActionGrant[];
};

export class IamContractError extends Error {
  override name = 'IamContractError';
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ACTION = /^[a-z0-9-]+:[A-Za-z0-9*]+$/;

function parseGrants(fn: string, grants: readonly unknown[]): ActionGrant[] {
  return grants.map((g: unknown, i: number): ActionGrant => {
    if (!isObject(g)) throw new IamContractError(`iam-actions: ${fn}[${i}] is not an object`);
    const { actions, resource, state_dir: stateDir } = g;
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((a) => typeof a === 'string' && ACTION.test(a))) {
      throw new IamContractError(`iam-actions: ${fn}[${i}].actions is not a non-empty list of IAM actions`);
    }
    if (typeof resource !== 'string' || !(RESOURCE_KINDS as readonly string[]).includes(resource)) {
      throw new IamContractError(
        `iam-actions: ${fn}[${i}].resource "${String(resource)}" is not one of ${RESOURCE_KINDS.join(', ')}`,
      );
    }
    const kind = resource as ResourceKind;
    if (STATE_KINDS.includes(kind)) {
      if (typeof stateDir !== 'string' || !STATE_DIR.test(stateDir)) {
        throw new IamContractError(`iam-actions: ${fn}[${i}].state_dir is not a directory name like "alert-handler/"`);
      }
      return { actions: actions as string[], resource: kind, stateDir };
    }
    if (stateDir !== undefined) {
      throw new IamContractError(`iam-actions: ${fn}[${i}].state_dir is only for state kinds`);
    }
    return { actions: actions as string[], resource: kind };
  });
}

/** Checks the shape of the CLI's answer; an unknown function or resource kind is an error. */
export function parseIamActions(raw: unknown): IamActions {
  if (!isObject(raw)) throw new IamContractError('iam-actions: top level is not an object');
  const out: Partial<Record<FunctionName | typeof USAGE_METER, ActionGrant[]>> = {};
  const known: readonly string[] = [...FUNCTION_NAMES, USAGE_METER];
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new IamContractError(`iam-actions: unknown function "${key}" (known: ${known.join(', ')})`);
    }
  }
  for (const fn of FUNCTION_NAMES) {
    const grants = raw[fn];
    if (!Array.isArray(grants)) throw new IamContractError(`iam-actions: "${fn}" is missing or not a list`);
    out[fn] = parseGrants(fn, grants);
  }
  const meter = raw[USAGE_METER];
  if (meter !== undefined) {
    if (!Array.isArray(meter)) throw new IamContractError(`iam-actions: "${USAGE_METER}" is not a list`);
    out[USAGE_METER] = parseGrants(USAGE_METER, meter);
  }
  return out as IamActions;
}

/** What the resource kinds stand for in one deployment. Values may be CDK tokens. */
export interface ResourceContext {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly budgetPrefix: string;
  readonly flagsPath: string;
  readonly statePath: string;
  readonly alertsTopicArn: string;
  readonly notifyTopicArn: string;
  readonly slackSecretNames: readonly string[];
  readonly metricsNamespace: string;
  /**
   * The role AWS Budgets assumes to apply the policy's deny actions; absent when no threshold
   * denies, and then no such role exists and nothing is granted on it.
   */
  readonly budgetActionRoleArn?: string;
  /** The fast path's DynamoDB table; absent when the fast path is off. */
  readonly usageTableArn?: string;
  /**
   * The application inference profiles the provisioner resolves at deploy (export's
   * `unresolved_profiles`); when there are none, nothing is granted on them or on their record.
   */
  readonly unresolvedProfiles?: readonly string[];
  /** The SSM parameter that records their models (export's `profiles_parameter`). */
  readonly profilesParameter?: string;
}

export interface StatementSpec {
  readonly sid: string;
  readonly kind: ResourceKind;
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** `/budget-guard/routes/` however it was written: leading and trailing slash, no doubles. */
export function normalizeParameterPath(p: string): string {
  const trimmed = p.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}

/**
 * The parameter ARNs for a path: every parameter below it (`.../parameter/a/b/*`) and the path itself
 * (`.../parameter/a/b`), which is the resource GetParametersByPath is authorized against.
 */
export function parameterArns(ctx: ResourceContext, p: string): string[] {
  const base = `arn:${ctx.partition}:ssm:${ctx.region}:${ctx.account}:parameter`;
  const norm = normalizeParameterPath(p);
  if (norm === '/') return [`${base}/*`];
  return [`${base}${norm.slice(0, -1)}`, `${base}${norm}*`];
}

/** The resources (and conditions) one kind maps to; `undefined` when the kind has nothing to grant. */
export function resourcesFor(
  kind: ResourceKind,
  ctx: ResourceContext,
  stateDir?: string,
): { resources: string[]; conditions?: Record<string, Record<string, string>> } | undefined {
  switch (kind) {
    case 'owned-budgets':
      // Budgets are global: no region in the ARN. Only budgets with the policy's prefix.
      return { resources: [`arn:${ctx.partition}:budgets::${ctx.account}:budget/${ctx.budgetPrefix}*`] };
    case 'flags':
      return { resources: parameterArns(ctx, ctx.flagsPath) };
    case 'alert-handler-state':
    case 'spend-watcher-state':
      // Each function gets only its own subtree, so neither can rewrite the other's records.
      if (stateDir === undefined) throw new IamContractError(`${kind}: no state_dir`);
      return { resources: parameterArns(ctx, `${normalizeParameterPath(ctx.statePath)}${stateDir}`) };
    case 'alerts-topic':
      return { resources: [ctx.alertsTopicArn] };
    case 'notify-topic':
      return { resources: [ctx.notifyTopicArn] };
    case 'slack-secrets':
      if (ctx.slackSecretNames.length === 0) return undefined;
      // Secrets Manager appends `-` and six random characters to a secret's name in its ARN.
      return {
        resources: [...ctx.slackSecretNames]
          .sort()
          .map((n) => `arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.account}:secret:${n}-??????`),
      };
    case 'budget-action-role':
      if (ctx.budgetActionRoleArn === undefined) return undefined;
      // The provisioner hands the role to Budgets when it creates an action, and to nothing else.
      return {
        resources: [ctx.budgetActionRoleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'budgets.amazonaws.com' } },
      };
    case 'profile-mapping':
      if (!ctx.unresolvedProfiles?.length || ctx.profilesParameter === undefined) return undefined;
      // One parameter, named in full: the provisioner writes it, the other functions read it.
      return { resources: [`arn:${ctx.partition}:ssm:${ctx.region}:${ctx.account}:parameter/${ctx.profilesParameter.replace(/^\/+/, '')}`] };
    case 'unresolved-profiles':
      if (!ctx.unresolvedProfiles?.length) return undefined;
      // Each profile by its ARN, which may name another region than the stack's.
      return { resources: [...ctx.unresolvedProfiles].sort() };
    case 'metrics-namespace':
      return {
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': ctx.metricsNamespace } },
      };
    case 'usage-table':
      if (ctx.usageTableArn === undefined) return undefined;
      return { resources: [ctx.usageTableArn] };
    case 'any':
      return { resources: ['*'] };
  }
}

function pascal(kind: string): string {
  return kind
    .split(/[^A-Za-z0-9]+/)
    .filter((p) => p !== '')
    .map((p) => p[0]!.toUpperCase() + p.slice(1))
    .join('');
}

/**
 * One statement per resource kind a function uses, with the union of its actions (sorted, unique).
 * Kinds are emitted in the order of RESOURCE_KINDS, so the output is stable.
 */
export function statementsFor(grants: readonly ActionGrant[], ctx: ResourceContext): StatementSpec[] {
  const byKind = new Map<ResourceKind, Set<string>>();
  const stateDirs = new Map<ResourceKind, string>();
  for (const g of grants) {
    const set = byKind.get(g.resource) ?? new Set<string>();
    for (const a of g.actions) set.add(a);
    byKind.set(g.resource, set);
    if (g.stateDir !== undefined) stateDirs.set(g.resource, g.stateDir);
  }
  const out: StatementSpec[] = [];
  for (const kind of RESOURCE_KINDS) {
    const actions = byKind.get(kind);
    if (!actions) continue;
    const mapped = resourcesFor(kind, ctx, stateDirs.get(kind));
    if (!mapped) continue;
    out.push({
      sid: `BudgetGuard${pascal(kind)}`,
      kind,
      actions: [...actions].sort(),
      resources: mapped.resources,
      ...(mapped.conditions ? { conditions: mapped.conditions } : {}),
    });
  }
  return out;
}

/** The functions whose role may `sns:Publish` to one of the guard's topics, per the CLI's list. */
export function topicPublishers(iam: IamActions, topic: 'alerts-topic' | 'notify-topic'): FunctionName[] {
  return FUNCTION_NAMES.filter((fn) =>
    iam[fn].some((g) => g.resource === topic && g.actions.some((a) => a === 'sns:Publish' || a === 'sns:*')),
  );
}

/** Why a wildcard that a kind needs is there: the reason given when acknowledging cdk-nag's IAM5. */
export const WILDCARD_REASONS: Readonly<Record<ResourceKind, string>> = {
  'owned-budgets':
    'Budgets the guard owns are exactly those whose name starts with the policy prefix; the trailing * is that prefix match, never all budgets.',
  flags:
    'One SSM parameter per route under the policy flags_path; routes come and go with the policy, so the path prefix is the narrowest fixed resource.',
  'alert-handler-state':
    "The alert handler keeps its records as SSM parameters under its own subtree of the policy state_path (one per message, notice, roll-over and route); that subtree's prefix is the narrowest fixed resource.",
  'spend-watcher-state':
    "The spend watcher keeps one SSM parameter per watched budget under its own subtree of the policy state_path; that subtree's prefix is the narrowest fixed resource.",
  'alerts-topic': 'The alerts topic ARN has no wildcard.',
  'notify-topic': 'The notify topic ARN has no wildcard.',
  'slack-secrets':
    'Secrets Manager ARNs end in a random 6-character suffix; -?????? matches exactly the named secret and nothing longer.',
  'budget-action-role': 'The budget action role ARN has no wildcard.',
  'profile-mapping': 'The recorded profiles parameter ARN has no wildcard.',
  'unresolved-profiles': 'The application inference profile ARNs have no wildcard.',
  'metrics-namespace':
    'cloudwatch:PutMetricData has no resource-level permissions; the cloudwatch:namespace condition limits it to the BudgetGuard namespace.',
  'usage-table': 'The usage table ARN has no wildcard.',
  any: 'These actions (per budget-guard iam-actions, e.g. cloudwatch:GetMetricData, pricing:GetProducts, budgets:DescribeBudgetActionsForAccount) support no resource-level permissions, so IAM requires Resource *.',
};
