// The TypeScript twin of crates/model-router and clients/python: a route's Bedrock model from its
// Budget Guard routing flag in SSM, through a per-route TTL cache with single-flight refreshes.

import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

import { classifyError, flagErrorText, RouteBlocked, type FlagError } from './errors';
import { InvalidFlagValue, parseFlag, validModelId, type Flag, type ServiceTier } from './flag';

export const DEFAULT_TTL_SECONDS = 30;
export const DEFAULT_FLAGS_PATH = '/budget-guard/routes/';

/** Longest fully qualified SSM parameter name. */
const MAX_PARAMETER_NAME_LEN = 1011;
const ROUTE_RE = /^[A-Za-z0-9_.-]+$/;
const FLAGS_PATH_RE = /^\/[A-Za-z0-9_.\-/]*$/;

/**
 * What to call for a route: the Bedrock `modelId`, the Converse `serviceTier` (absent for
 * Standard) and the output cap (absent: no cap). `blocked` is always `false` in a route returned
 * by `routeFor`: a blocked route throws {@link RouteBlocked} instead, so callers cannot forget it.
 */
export interface Route {
  readonly modelId: string;
  readonly serviceTier?: ServiceTier;
  readonly maxOutputTokens?: number;
  readonly blocked: boolean;
}

/**
 * Where an answer came from: `flag` (just read), `cached` (read within the TTL, by an earlier call
 * or by the concurrent call whose refresh this one shared), `stale` (the last good value; `error`
 * says why the refresh failed), `default` (no flag: the route's default or the fallback) or
 * `off_ladder` (the flag named `rejectedModelId`, which is not among the route's allowed models;
 * the default is served).
 */
export type Source = 'flag' | 'cached' | 'stale' | 'default' | 'off_ladder';

/** The answer for a route and where it came from. */
export interface Resolution {
  readonly modelId: string;
  readonly source: Source;
  readonly route: Route;
  readonly error?: FlagError;
  readonly rejectedModelId?: string;
}

/** Where the router reports what it served; fields never include the parameter's value. */
export interface RouterLogger {
  info(message: string, fields: Record<string, string>): void;
  warn(message: string, fields: Record<string, string>): void;
}

export interface ModelRouterOptions {
  /**
   * Each route's default model (the top of its ladder), served when there is no flag, before the
   * first successful read, and in place of an off-ladder flag.
   */
  readonly defaults?: Readonly<Record<string, string>>;
  /** Served for routes without a default. */
  readonly fallbackModel: string;
  /** How long an answer (or a failure) stands before the next GetParameter; default 30. */
  readonly ttlSeconds?: number;
  /** The parameters' prefix; a route's flag is `flagsPath + route`. Default `/budget-guard/routes/`. */
  readonly flagsPath?: string;
  /**
   * The SSM client; by default one with 2-second timeouts and two attempts, so that a refresh
   * against an unreachable SSM holds the route's callers for seconds, not minutes.
   */
  readonly ssmClient?: SSMClient;
  /** Each route's ladder, from the policy: a flag naming another model is not served. */
  readonly allowedModels?: Readonly<Record<string, readonly string[]>>;
  /** Seconds on a monotonic clock; injectable for tests. */
  readonly clock?: () => number;
  /** Default: warnings to `console.warn`, nothing else. */
  readonly logger?: RouterLogger;
}

/** One route's cache entry. */
interface Slot {
  readonly parameter: string;
  readonly defaultModel: string;
  readonly allowed: ReadonlySet<string> | undefined;
  /** The last flag read, on the ladder or not: whether it is served is decided when answering. */
  lastRead: Flag | undefined;
  error: FlagError | undefined;
  checkedAt: number | undefined;
  /** The refresh in flight, which every caller that finds the entry expired shares. */
  inFlight: Promise<Resolution> | undefined;
}

const consoleWarnings: RouterLogger = {
  info: () => {},
  warn: (message, fields) => console.warn(`budget-guard router: ${message}`, fields),
};

/**
 * Reads routes' flags from SSM through a per-route TTL cache. Build it once per process and share
 * it: the cache, and so the bound on SSM calls, is per router.
 *
 * - at most one GetParameter per route per TTL, however many callers ask at once (GetParameter's
 *   default throughput is 40 requests per second per account);
 * - when SSM fails it keeps serving the last good value and tries again after the TTL;
 * - when there is no flag it serves the route's default model, else the fallback;
 * - a flag naming a model outside the route's allowed models is ignored (the default is served).
 */
export class ModelRouter {
  private readonly defaults: ReadonlyMap<string, string>;
  private readonly fallback: string;
  private readonly ttl: number;
  private readonly flagsPath: string;
  private readonly ssm: SSMClient;
  private readonly allowed: ReadonlyMap<string, ReadonlySet<string>>;
  private readonly clock: () => number;
  private readonly log: RouterLogger;
  private readonly slots = new Map<string, Slot>();

  constructor(options: ModelRouterOptions) {
    const { fallbackModel, ttlSeconds = DEFAULT_TTL_SECONDS, flagsPath = DEFAULT_FLAGS_PATH } = options;
    if (typeof fallbackModel !== 'string' || !validModelId(fallbackModel)) {
      throw new Error('fallbackModel must be a model id');
    }
    const defaults = new Map(Object.entries(options.defaults ?? {}));
    for (const [route, model] of defaults) {
      if (!validModelId(model)) throw new Error(`default model of route ${JSON.stringify(route)} is not a model id`);
    }
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) throw new Error('ttlSeconds must be a number of 0 or more');
    if (!FLAGS_PATH_RE.test(flagsPath)) {
      throw new Error("flagsPath must start with '/' and hold only A-Z a-z 0-9 _ . - /");
    }
    const allowed = new Map<string, ReadonlySet<string>>();
    for (const [route, models] of Object.entries(options.allowedModels ?? {})) {
      if (models.length === 0) {
        throw new Error(`the allowed models of route ${JSON.stringify(route)} are empty: list the models of its ladder`);
      }
      // What replaces an off-ladder flag must itself be on the ladder, or the check would trade
      // one off-ladder model for another.
      const served = defaults.get(route) ?? fallbackModel;
      if (!models.includes(served)) {
        throw new Error(
          `route ${JSON.stringify(route)} serves ${served} when its flag is off the ladder, but that model is not among its allowed models`,
        );
      }
      allowed.set(route, new Set(models));
    }
    this.defaults = defaults;
    this.fallback = fallbackModel;
    this.ttl = ttlSeconds;
    // A missing trailing '/' would glue the route onto the last path segment.
    this.flagsPath = flagsPath.endsWith('/') ? flagsPath : `${flagsPath}/`;
    this.ssm =
      options.ssmClient ??
      new SSMClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 2_000, requestTimeout: 2_000 } });
    this.allowed = allowed;
    this.clock = options.clock ?? (() => performance.now() / 1000);
    this.log = options.logger ?? consoleWarnings;
  }

  /**
   * The SSM parameter holding `route`'s flag, or `undefined` when the name is not usable (only
   * letters, digits, `_`, `.` and `-`: a route must not reach other parameters).
   */
  parameterName(route: string): string | undefined {
    if (!ROUTE_RE.test(route) || this.flagsPath.length + route.length > MAX_PARAMETER_NAME_LEN) return undefined;
    return this.flagsPath + route;
  }

  /**
   * The model id for `route` (version-1 behaviour: ignores the tier, the cap and the block; use
   * {@link routeFor} to honour them). Never throws.
   */
  async modelFor(route: string): Promise<string> {
    return (await this.resolve(route)).modelId;
  }

  /** What to call for `route`; throws {@link RouteBlocked} when its budget stopped it. */
  async routeFor(route: string): Promise<Route> {
    const resolution = await this.resolve(route);
    if (resolution.route.blocked) throw new RouteBlocked(route, resolution.modelId);
    return resolution.route;
  }

  /**
   * The answer for `route` and where it came from. Within the TTL of the latest refresh the
   * cached answer is returned at once; otherwise one GetParameter is made and every caller asking
   * meanwhile waits for that same call.
   */
  async resolve(route: string): Promise<Resolution> {
    const slot = this.slot(route);
    if (slot === undefined) {
      const modelId = this.defaultModel(route);
      return { modelId, source: 'default', route: { modelId, blocked: false }, error: { kind: 'invalid_route', detail: '' } };
    }
    const cached = this.cached(slot);
    if (cached !== undefined) return cached;
    if (slot.inFlight !== undefined) {
      const shared = await slot.inFlight;
      return shared.source === 'flag' ? { ...shared, source: 'cached' } : shared;
    }
    const refresh = this.refresh(route, slot);
    slot.inFlight = refresh;
    try {
      return await refresh;
    } finally {
      slot.inFlight = undefined;
    }
  }

  private defaultModel(route: string): string {
    return this.defaults.get(route) ?? this.fallback;
  }

  private slot(route: string): Slot | undefined {
    let slot = this.slots.get(route);
    if (slot === undefined) {
      const parameter = this.parameterName(route);
      // Unusable names get no slot, so that arbitrary strings cannot grow the cache.
      if (parameter === undefined) return undefined;
      slot = {
        parameter,
        defaultModel: this.defaultModel(route),
        allowed: this.allowed.get(route),
        lastRead: undefined,
        error: undefined,
        checkedAt: undefined,
        inFlight: undefined,
      };
      this.slots.set(route, slot);
    }
    return slot;
  }

  private cached(slot: Slot): Resolution | undefined {
    if (slot.checkedAt !== undefined && this.clock() - slot.checkedAt < this.ttl) return answer(slot, 'cached');
    return undefined;
  }

  /** One GetParameter; never rejects (a failure is an answer too). */
  private async refresh(route: string, slot: Slot): Promise<Resolution> {
    let result: Flag | FlagError;
    try {
      const output = await this.ssm.send(new GetParameterCommand({ Name: slot.parameter }));
      const value = output.Parameter?.Value;
      result = value === undefined ? { kind: 'invalid_value', detail: 'the parameter has no value' } : parseFlag(value);
    } catch (error) {
      result =
        error instanceof InvalidFlagValue ? { kind: 'invalid_value', detail: error.message } : classifyError(error);
    }
    this.record(route, slot, result);
    return answer(slot, 'flag');
  }

  /** Records a refresh's outcome. Logs model ids and error kinds, never the parameter's value. */
  private record(route: string, slot: Slot, result: Flag | FlagError): void {
    const fields = { route, parameter: slot.parameter };
    if ('modelId' in result) {
      if (!allows(slot, result.modelId)) {
        // Warned on every refresh that reads it: an off-ladder flag is a fault someone has to fix,
        // and the TTL bounds the rate.
        this.log.warn("routing flag model is not among the route's allowed models; serving the default model", {
          ...fields,
          flag_model: result.modelId,
          served_model: slot.defaultModel,
        });
      } else if (slot.lastRead?.modelId !== result.modelId) {
        this.log.info('routing flag model', { ...fields, model_id: result.modelId });
      }
      slot.lastRead = result;
      slot.error = undefined;
    } else if (result.kind === 'not_found') {
      // No flag (or no longer one): no routing decision stands, so the route goes back to its
      // default rather than keeping a value that was removed.
      if (slot.lastRead !== undefined || slot.error?.kind !== 'not_found') {
        this.log.info('no routing flag; serving the default model', { ...fields, default_model: slot.defaultModel });
      }
      slot.lastRead = undefined;
      slot.error = result;
    } else {
      const kept = slot.lastRead !== undefined ? 'the last good model' : 'the default model';
      this.log.warn(`routing flag refresh failed; serving ${kept}`, { ...fields, error: flagErrorText(result) });
      slot.error = result;
    }
    slot.checkedAt = this.clock();
  }
}

function allows(slot: Slot, modelId: string): boolean {
  return slot.allowed === undefined || slot.allowed.has(modelId);
}

function answer(slot: Slot, fresh: 'flag' | 'cached'): Resolution {
  const { lastRead: flag, error } = slot;
  const plain = (modelId: string): Route => ({ modelId, blocked: false });
  const withError = error === undefined ? {} : { error };
  if (flag !== undefined && !allows(slot, flag.modelId)) {
    return {
      modelId: slot.defaultModel,
      source: 'off_ladder',
      route: plain(slot.defaultModel),
      rejectedModelId: flag.modelId,
      ...withError,
    };
  }
  if (flag !== undefined) {
    const route: Route = {
      modelId: flag.modelId,
      blocked: flag.blocked,
      ...(flag.serviceTier === undefined ? {} : { serviceTier: flag.serviceTier }),
      ...(flag.maxOutputTokens === undefined ? {} : { maxOutputTokens: flag.maxOutputTokens }),
    };
    return { modelId: flag.modelId, source: error === undefined ? fresh : 'stale', route, ...withError };
  }
  return { modelId: slot.defaultModel, source: 'default', route: plain(slot.defaultModel), ...withError };
}
