// Reading a routing flag's value: the same rules as `parse_flag` in crates/model-router and
// `_parse_flag` in clients/python, so that the three clients agree on which values are flags.

/** A Bedrock service tier other than Standard, as Converse's `serviceTier.type` names it. */
export type ServiceTier = 'flex' | 'priority';

/** What a flag says. */
export interface Flag {
  readonly modelId: string;
  readonly serviceTier: ServiceTier | undefined;
  readonly maxOutputTokens: number | undefined;
  readonly blocked: boolean;
}

/** A value that is not a flag this reader can honour; the message never quotes the value. */
export class InvalidFlagValue extends Error {
  override readonly name = 'InvalidFlagValue';
}

/** Longest model id accepted (Bedrock model ids and ARNs fit well within it). */
const MAX_MODEL_ID_LEN = 2048;
const MAX_OUTPUT_TOKENS = 0xffff_ffff;
const SERVICE_TIERS: ReadonlySet<string> = new Set(['flex', 'priority']);

/** Non-empty, at most 2048 characters, printable ASCII without spaces. */
export function validModelId(modelId: string): boolean {
  return modelId.length > 0 && modelId.length <= MAX_MODEL_ID_LEN && /^[!-~]+$/.test(modelId);
}

/**
 * Reads `model_id` and the version-2 step fields (`service_tier`, `max_output_tokens`, `blocked`).
 * `version` is not looked at: unknown and missing optional fields are fine (a newer writer may
 * add fields, and a version-1 reader of a version-2 flag still finds its `model_id`), while a step
 * field this reader cannot honour is an error, so that a cap or a block is never silently dropped.
 */
export function parseFlag(value: string): Flag {
  let document: unknown;
  try {
    document = JSON.parse(value);
  } catch {
    // V8's message quotes the start of the text, which may be anything someone wrote there.
    throw new InvalidFlagValue('not valid JSON');
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new InvalidFlagValue('not a JSON object');
  }
  const fields = document as Record<string, unknown>;

  const modelId = fields['model_id'];
  if (modelId === undefined || modelId === null) throw new InvalidFlagValue('no `model_id`');
  if (typeof modelId !== 'string') throw new InvalidFlagValue('`model_id` is not a string');
  if (!validModelId(modelId)) {
    throw new InvalidFlagValue('`model_id` is empty, too long, or has whitespace or control characters');
  }

  const tier = fields['service_tier'] ?? undefined;
  if (tier !== undefined && (typeof tier !== 'string' || !SERVICE_TIERS.has(tier))) {
    throw new InvalidFlagValue('`service_tier` is not `flex` or `priority`');
  }

  // JSON.parse gives 500 for both `500` and `500.0`, which the Rust and Python readers tell apart
  // (they refuse `500.0`); no writer emits the latter, so the difference stays theoretical.
  const cap = fields['max_output_tokens'] ?? undefined;
  if (cap !== undefined && (typeof cap !== 'number' || !Number.isInteger(cap) || cap < 1 || cap > MAX_OUTPUT_TOKENS)) {
    throw new InvalidFlagValue('`max_output_tokens` is not a count of 1 or more');
  }

  const blocked = fields['blocked'] ?? false;
  if (typeof blocked !== 'boolean') throw new InvalidFlagValue('`blocked` is not true or false');

  return {
    modelId,
    serviceTier: tier as ServiceTier | undefined,
    maxOutputTokens: cap as number | undefined,
    blocked,
  };
}
