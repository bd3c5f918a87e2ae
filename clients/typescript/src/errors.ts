// Why a flag could not be used, and the error a stopped route raises.

/** The kinds of {@link FlagError}, the same names as the Rust and Python clients use. */
export type FlagErrorKind =
  | 'not_found'
  | 'throttled'
  | 'access_denied'
  | 'service'
  | 'unreachable'
  | 'invalid_value'
  | 'invalid_route';

/**
 * Why the latest refresh did not give a flag. `detail` is an error code or a reason, never the
 * parameter's value.
 */
export interface FlagError {
  readonly kind: FlagErrorKind;
  readonly detail: string;
}

/** The route's budget has stopped it (the flag's `"blocked": true`): make no call. */
export class RouteBlocked extends Error {
  override readonly name = 'RouteBlocked';

  /**
   * @param route the route asked for
   * @param modelId the model of the step above `stop`, what `modelFor` still returns
   */
  constructor(
    readonly route: string,
    readonly modelId: string,
  ) {
    super(`route ${JSON.stringify(route)} is blocked by its budget`);
  }
}

// Matched on the error's code, never on its message.
const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
]);
const ACCESS_DENIED_CODES: ReadonlySet<string> = new Set(['AccessDeniedException', 'AccessDenied']);

/**
 * Maps what `SSMClient.send` threw to a {@link FlagError}. Errors the service answered with carry
 * `$fault` and a `name` that is the error code (`ParameterNotFound`, `ThrottlingException`, ...);
 * anything else (connection refused, a timeout, a response that could not be read) never reached
 * an answer from SSM.
 */
export function classifyError(error: unknown): FlagError {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    $fault?: unknown;
  };
  const name = typeof fields.name === 'string' ? fields.name : '';
  if (fields.$fault === 'client' || fields.$fault === 'server') {
    if (name === 'ParameterNotFound') return { kind: 'not_found', detail: '' };
    if (THROTTLING_CODES.has(name)) return { kind: 'throttled', detail: name };
    if (ACCESS_DENIED_CODES.has(name)) return { kind: 'access_denied', detail: name };
    return { kind: 'service', detail: name };
  }
  return { kind: 'unreachable', detail: name || 'unknown error' };
}

export function flagErrorText(error: FlagError): string {
  return error.detail ? `${error.kind}: ${error.detail}` : error.kind;
}
