// The logical ids Budget Guard's stack had before the guard became a construct. The construct nests
// its resources (Topics/AlertsTopic, Provisioner/Role, ...), which would give every resource a new
// logical id, and CloudFormation replaces a resource whose logical id changes: new keys, a new
// queue, new log groups, a named secret or dashboard that cannot be created while the old one still
// exists, an SNS subscription deleted after its replacement (same topic and endpoint, same
// subscription), and a custom resource whose Delete runs. So the stack maps each path back to
// the one it had, and allocates the id from that.

import { createHash } from 'node:crypto';
import type { IConstruct } from 'constructs';

/** How a construct path below the guard (components after the guard's id) was laid out before. */
export type LegacyLayout = (components: readonly string[]) => string[];

/** CDK's `makeUniqueId` (core/lib/private/uniqueid), which is not exported; a test checks the two agree. */
export function makeUniqueId(components: readonly string[]): string {
  const parts = components.filter((c) => c !== 'Default');
  if (parts.length === 0) throw new Error('a unique id needs at least one path component');
  const alnum = (s: string) => s.replace(/[^A-Za-z0-9]/g, '');
  if (parts.length === 1) {
    const candidate = alnum(parts[0]!);
    if (candidate.length <= 255) return candidate;
  }
  const hash = createHash('md5').update(parts.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const deduped: string[] = [];
  for (const c of parts) if (deduped.length === 0 || !deduped[deduped.length - 1]!.endsWith(c)) deduped.push(c);
  return (
    deduped
      .filter((c) => c !== 'Resource')
      .map(alnum)
      .join('')
      .slice(0, 240) + hash
  );
}

/** Ids of the guard's constructs that did not exist before: their children sat on the stack. */
const GROUPS = new Set(['Topics', 'SlackSecrets', 'Schedules']);
/** The function constructs, whose role, log group and function were `<Id>Role`, `<Id>Logs` and `<Id>`. */
const FUNCTIONS = new Set(['Provisioner', 'AlertHandler', 'SpendWatcher']);

/** The stack's layout before the construct, from a path below the guard. */
export const stackLayout: LegacyLayout = (components) => {
  const [first, second, ...rest] = components;
  if (first === undefined) return [];
  if (GROUPS.has(first)) return second === undefined ? [] : [second, ...rest];
  if (FUNCTIONS.has(first) && second !== undefined) {
    if (second === 'Role' || second === 'Logs') return [`${first}${second}`, ...rest];
    if (second === 'Function') return [first, ...rest];
  }
  return [...components];
};

/**
 * Allocates logical ids as if the guard's resources were laid out the old way. Construct ids that
 * embed another construct's unique id (a Lambda permission `AllowInvoke:<topic's unique id>`, an
 * EventBridge rule's `AllowEventRule<function's unique id>`) are rewritten to the old unique id too.
 */
export class LegacyLogicalIds {
  private readonly uniqueIds = new Map<string, string>();
  /** How many constructs the index was built from: one added since (by an aspect, say) rebuilds it. */
  private indexedCount = -1;

  constructor(
    private readonly guard: IConstruct,
    private readonly layout: LegacyLayout,
  ) {}

  /** The old logical id of a resource below the guard, or undefined for one outside it. */
  logicalId(element: IConstruct): string | undefined {
    const below = this.belowGuard(element);
    if (below === undefined) return undefined;
    this.indexUniqueIds();
    const rewritten = below.map((c) => this.rewriteEmbedded(c));
    return makeUniqueId(this.layout(rewritten));
  }

  private belowGuard(c: IConstruct): string[] | undefined {
    const scopes = c.node.scopes;
    const at = scopes.indexOf(this.guard);
    if (at < 0) return undefined;
    return scopes.slice(at + 1).map((s) => s.node.id);
  }

  /** Every construct's unique id now (as Names.uniqueId makes it) and before. */
  private indexUniqueIds(): void {
    const all = this.guard.node.findAll();
    if (all.length === this.indexedCount) return;
    this.indexedCount = all.length;
    this.uniqueIds.clear();
    const guardPath = this.guard.node.scopes.slice(1).map((s) => s.node.id);
    const guardAt = guardPath.length - 1;
    for (const c of all) {
      const below = this.belowGuard(c);
      if (below === undefined || below.length === 0) continue;
      const old = this.layout(below);
      if (old.length === 0) continue;
      this.uniqueIds.set(makeUniqueId([...guardPath, ...below]), makeUniqueId([...guardPath.slice(0, guardAt), ...old]));
    }
  }

  private rewriteEmbedded(component: string): string {
    let out = component;
    for (const [now, before] of this.uniqueIds) if (now !== before && out.includes(now)) out = out.split(now).join(before);
    return out;
  }
}
