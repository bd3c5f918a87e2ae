// The policy as the CDK app sees it: the files (for the layer and the hash) and the merged model the
// CLI exports (for topics, secrets, IAM and the dashboard).

import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CliError, exportPolicyJson, iamActionsJson, resolveCli, validatePolicy } from './cli';
import { parseIamActions, type IamActions } from './iam';

export interface PolicySettings {
  readonly budget_prefix: string;
  readonly currency: string;
  readonly flags_path: string;
  readonly state_path: string;
  readonly retain_on_delete: boolean;
  /** The channels that receive the guard's own alarms (`settings.alarms`). */
  readonly alarms: readonly string[];
  /** The deployment's name in the budgets' `budget-guard:owner` tag; the stack name when absent. */
  readonly owner?: string;
}

/** A Slack channel as AWS Chatbot knows it (the path of the guard's alarms to Slack). */
export interface ChatbotChannel {
  readonly workspace_id: string;
  readonly channel_id: string;
}

export type Channel =
  | { readonly slack: { readonly webhook_secret: string; readonly chatbot?: ChatbotChannel } }
  | { readonly email: { readonly addresses: readonly string[] } };

export interface Route {
  readonly ladder: readonly string[];
  readonly parameter: string;
}

export interface Budget {
  readonly name: string;
  readonly amount: number;
  readonly period: string;
  readonly watch: boolean;
  readonly [extra: string]: unknown;
}

/** The output of `budget-guard export <dir>`. */
export interface ExportedPolicy {
  readonly settings: PolicySettings;
  readonly channels: Readonly<Record<string, Channel>>;
  readonly routes: Readonly<Record<string, Route>>;
  readonly budgets: Readonly<Record<string, Budget>>;
  /**
   * The IAM roles some threshold's `deny:` names (sorted, unique): AWS Budgets attaches the
   * guard's deny-Bedrock policy to them when the threshold is crossed. Empty when none does.
   */
  readonly deny_roles: readonly string[];
  /**
   * The application inference profile ARNs the policy names without a `profiles:` entry (sorted,
   * unique): the provisioner resolves them at deploy with `bedrock:GetInferenceProfile`. Empty
   * when the policy maps them all.
   */
  readonly unresolved_profiles: readonly string[];
  /** The SSM parameter where the provisioner records those profiles' models for the other functions. */
  readonly profiles_parameter: string;
}

function fail(what: string): never {
  throw new CliError(`budget-guard export: unexpected JSON: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(obj: Record<string, unknown>, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== 'string') fail(`${where}.${key} is not a string`);
  return v;
}

function stringList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) fail(`${where} is not a list of strings`);
  return v as string[];
}

/** IAM's rule for a role name (no path): 1 to 64 of letters, digits and `+=,.@_-`. */
const IAM_ROLE_NAME = /^[A-Za-z0-9+=,.@_-]{1,64}$/;

/** An application inference profile's ARN, as Bedrock writes it. */
const APPLICATION_PROFILE_ARN = /^arn:aws[a-z-]*:bedrock:[a-z0-9-]+:\d{12}:application-inference-profile\/[A-Za-z0-9]+$/;

/** A full SSM parameter name (`/a/b`). */
const PARAMETER_NAME = /^(\/[A-Za-z0-9_.-]+)+$/;

/** Checks the shape of `budget-guard export` output, so a contract change fails loudly at synth. */
export function parseExportedPolicy(raw: unknown): ExportedPolicy {
  if (!isObject(raw)) fail('top level is not an object');
  const s = raw.settings;
  if (!isObject(s)) fail('settings is not an object');
  const settings: PolicySettings = {
    budget_prefix: str(s, 'budget_prefix', 'settings'),
    currency: str(s, 'currency', 'settings'),
    flags_path: str(s, 'flags_path', 'settings'),
    state_path: str(s, 'state_path', 'settings'),
    retain_on_delete: s.retain_on_delete === true,
    alarms: stringList(s.alarms, 'settings.alarms'),
    ...(s.owner === undefined || s.owner === null ? {} : { owner: str(s, 'owner', 'settings') }),
  };

  const channels: Record<string, Channel> = {};
  const rawChannels = raw.channels ?? {};
  if (!isObject(rawChannels)) fail('channels is not an object');
  for (const [name, c] of Object.entries(rawChannels)) {
    if (!isObject(c)) fail(`channels.${name} is not an object`);
    if (isObject(c.slack)) {
      const where = `channels.${name}.slack`;
      const webhook_secret = str(c.slack, 'webhook_secret', where);
      const chatbot = c.slack.chatbot;
      if (chatbot === undefined) {
        channels[name] = { slack: { webhook_secret } };
      } else {
        if (!isObject(chatbot)) fail(`${where}.chatbot is not an object`);
        channels[name] = {
          slack: {
            webhook_secret,
            chatbot: {
              workspace_id: str(chatbot, 'workspace_id', `${where}.chatbot`),
              channel_id: str(chatbot, 'channel_id', `${where}.chatbot`),
            },
          },
        };
      }
    } else if (isObject(c.email)) {
      const addresses = c.email.addresses;
      if (!Array.isArray(addresses) || !addresses.every((a) => typeof a === 'string')) {
        fail(`channels.${name}.email.addresses is not a list of strings`);
      }
      channels[name] = { email: { addresses: addresses as string[] } };
    } else {
      fail(`channels.${name} is neither slack nor email`);
    }
  }

  const routes: Record<string, Route> = {};
  const rawRoutes = raw.routes ?? {};
  if (!isObject(rawRoutes)) fail('routes is not an object');
  for (const [name, r] of Object.entries(rawRoutes)) {
    if (!isObject(r)) fail(`routes.${name} is not an object`);
    const ladder = r.ladder;
    if (!Array.isArray(ladder) || !ladder.every((m) => typeof m === 'string')) {
      fail(`routes.${name}.ladder is not a list of model ids`);
    }
    routes[name] = { ladder: ladder as string[], parameter: str(r, 'parameter', `routes.${name}`) };
  }

  const budgets: Record<string, Budget> = {};
  const rawBudgets = raw.budgets ?? {};
  if (!isObject(rawBudgets)) fail('budgets is not an object');
  for (const [key, b] of Object.entries(rawBudgets)) {
    if (!isObject(b)) fail(`budgets.${key} is not an object`);
    const amount = typeof b.amount === 'string' ? Number(b.amount) : b.amount;
    if (typeof amount !== 'number' || !Number.isFinite(amount)) fail(`budgets.${key}.amount is not a number`);
    budgets[key] = {
      ...b,
      name: str(b, 'name', `budgets.${key}`),
      amount,
      period: str(b, 'period', `budgets.${key}`),
      watch: b.watch !== false,
    };
  }
  // Checked rather than trusted: these names become IAM resources in the budget action role.
  const denyRoles = stringList(raw.deny_roles, 'deny_roles');
  for (const [i, name] of denyRoles.entries()) {
    if (!IAM_ROLE_NAME.test(name)) fail(`deny_roles[${i}] "${name}" is not an IAM role name`);
    if (i > 0 && !(denyRoles[i - 1]! < name)) fail('deny_roles is not sorted and unique');
  }
  // Checked rather than trusted as well: these ARNs become IAM resources of the provisioner.
  const unresolvedProfiles = stringList(raw.unresolved_profiles, 'unresolved_profiles');
  for (const [i, arn] of unresolvedProfiles.entries()) {
    if (!APPLICATION_PROFILE_ARN.test(arn)) fail(`unresolved_profiles[${i}] "${arn}" is not an application inference profile ARN`);
    if (i > 0 && !(unresolvedProfiles[i - 1]! < arn)) fail('unresolved_profiles is not sorted and unique');
  }
  const profilesParameter = str(raw, 'profiles_parameter', 'export');
  if (!PARAMETER_NAME.test(profilesParameter)) fail(`profiles_parameter "${profilesParameter}" is not an SSM parameter name`);
  return {
    settings,
    channels,
    routes,
    budgets,
    deny_roles: denyRoles,
    unresolved_profiles: unresolvedProfiles,
    profiles_parameter: profilesParameter,
  };
}

/** The names of the Secrets Manager secrets that hold the Slack webhook URLs, sorted, unique. */
export function slackSecretNames(policy: ExportedPolicy): string[] {
  const names = new Set<string>();
  for (const c of Object.values(policy.channels)) {
    if ('slack' in c) names.add(c.slack.webhook_secret);
  }
  return [...names].sort();
}

/** Every model id on any route's ladder, sorted, unique. */
export function ladderModels(policy: ExportedPolicy): string[] {
  const models = new Set<string>();
  for (const r of Object.values(policy.routes)) for (const m of r.ladder) models.add(m);
  return [...models].sort();
}

const POLICY_FILE = /\.ya?ml$/;

/**
 * The policy's YAML files (top level of the directory), sorted by name (byte order). The same rule
 * as the CLI's: sub-directories are skipped, and any other entry named `*.yaml` or `*.yml` that is
 * not a regular file (a symbolic link, a FIFO, a socket, a device) is refused, never read: a link
 * could pull any file of the machine into the layer, and reading a FIFO would block synth. The
 * directory itself may be a link (the operator named it).
 */
export function policyFiles(policyDir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(policyDir);
  } catch (e) {
    throw new CliError(`cannot read the policy directory ${policyDir}: ${(e as Error).message}`);
  }
  const files: string[] = [];
  for (const name of entries) {
    if (!POLICY_FILE.test(name)) continue;
    const entry = lstatSync(path.join(policyDir, name));
    if (entry.isDirectory()) continue;
    if (!entry.isFile()) {
      throw new CliError(
        `${path.join(policyDir, name)} is not a regular file (${entry.isSymbolicLink() ? 'a symbolic link' : 'a FIFO, socket or device'}): only regular files of a policy directory are read`,
      );
    }
    files.push(name);
  }
  return files.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/**
 * SHA-256 over the policy files as committed, in name order. Each file contributes its name, a NUL,
 * its length in bytes as decimal, a NUL, then its bytes, so moving text from one file to another or
 * renaming a file also changes the hash.
 */
export function policySha256(policyDir: string, files: readonly string[] = policyFiles(policyDir)): string {
  const h = createHash('sha256');
  for (const name of files) {
    const bytes = readFileSync(path.join(policyDir, name));
    h.update(name, 'utf8');
    h.update('\0');
    h.update(String(bytes.length));
    h.update('\0');
    h.update(bytes);
  }
  return h.digest('hex');
}

/**
 * Copies the policy files, byte for byte, into `<tmp>/policy/` so the layer zip holds `policy/*.yaml`,
 * which Lambda mounts at `/opt/policy/`.
 */
const staged: string[] = [];

/** Removes the staging directories (once synth has copied them into cdk.out); also run at exit. */
export function cleanUpStaged(): void {
  for (const dir of staged.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function stagePolicyLayer(policyDir: string, files: readonly string[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'budget-guard-policy-layer-'));
  if (staged.length === 0) process.once('exit', cleanUpStaged);
  staged.push(root);
  const dest = path.join(root, 'policy');
  mkdirSync(dest);
  for (const name of files) copyFileSync(path.join(policyDir, name), path.join(dest, name));
  return root;
}

/** Everything the stack needs to know about the policy, all of it from the real CLI and files. */
export interface LoadedPolicy {
  readonly dir: string;
  readonly files: readonly string[];
  readonly sha256: string;
  readonly model: ExportedPolicy;
  readonly iam: IamActions;
  /** Anything `validate` printed on success (warnings), to show the user. */
  readonly validateOutput: string;
}

/** Validates the policy with the CLI, then reads the merged model and the IAM actions from it. */
export function loadPolicy(policyDir: string, bin: string = resolveCli()): LoadedPolicy {
  const dir = path.resolve(policyDir);
  const validateOutput = validatePolicy(bin, dir);
  const files = policyFiles(dir);
  if (files.length === 0) {
    throw new CliError(`no policy files (*.yaml) in ${dir}`);
  }
  const model = parseExportedPolicy(exportPolicyJson(bin, dir));
  const iam = parseIamActions(iamActionsJson(bin));
  return { dir, files, sha256: policySha256(dir, files), model, iam, validateOutput };
}
