// ModelRouter against the real emulator: real GetParameter calls through @aws-sdk/client-ssm,
// counted by an SDK middleware; a fake clock for the TTL.

import { DeleteParameterCommand, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { ModelRouter, RouteBlocked, type ModelRouterOptions, type RouterLogger } from '../src/index';
import { Emulator } from './emulator';

const SONNET = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
const HAIKU = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';
const NOVA = 'us.amazon.nova-lite-v1:0';
const OPUS = 'us.anthropic.claude-opus-4-1-20250805-v1:0';
const LADDER = [SONNET, HAIKU, NOVA];

/** A flag as the alert handler writes it, with `fields` merged in. */
function flag(modelId: string, fields: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 2,
    route: 'chat',
    model_id: modelId,
    step: 1,
    ladder_size: 3,
    budget: 'bg-chat',
    period_start: '2026-11-01',
    reason: 'test',
    changed_at: '2026-11-12T06:41:09Z',
    changed_by: 'alert-handler',
    pinned: false,
    ...fields,
  });
}

/** An SSM client whose GetParameter calls are counted (and, with `delayMs`, slowed down). */
function counted(ssm: SSMClient, delayMs = 0): { calls: () => number } {
  let calls = 0;
  ssm.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetParameterCommand') {
        calls += 1;
        if (delayMs > 0) await new Promise((done) => setTimeout(done, delayMs));
      }
      return next(args);
    },
    { step: 'initialize', name: 'countGetParameter' },
  );
  return { calls: () => calls };
}

/** A logger that keeps every line, to check what is (and is not) logged. */
function recordingLogger(): RouterLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message, fields) => lines.push(`INFO ${message} ${JSON.stringify(fields)}`),
    warn: (message, fields) => lines.push(`WARN ${message} ${JSON.stringify(fields)}`),
  };
}

let emulator: Emulator;

beforeAll(async () => {
  emulator = await Emulator.start();
});

afterAll(async () => {
  await emulator?.stop();
});

describe('ModelRouter', () => {
  let ssm: SSMClient;
  let calls: () => number;
  let now: number;
  let route: string;
  const clock = () => now;

  beforeEach((context) => {
    ssm = emulator.client();
    calls = counted(ssm).calls;
    now = 1000;
    // A route per test: one emulator serves the whole file.
    route = context.task.name.replace(/[^A-Za-z0-9]+/g, '-').replace(/-+$/, '');
  });

  async function put(value: string, name = route): Promise<void> {
    await emulator
      .client()
      .send(new PutParameterCommand({ Name: `/budget-guard/routes/${name}`, Value: value, Type: 'String', Overwrite: true }));
  }

  function router(options: Partial<ModelRouterOptions> = {}): ModelRouter {
    return new ModelRouter({
      defaults: { [route]: SONNET },
      fallbackModel: NOVA,
      ssmClient: ssm,
      clock,
      logger: recordingLogger(),
      ...options,
    });
  }

  it('reads a version-1 flag as a plain call', async () => {
    await put(flag(HAIKU, { version: 1 }));
    const r = router();
    expect(await r.modelFor(route)).toBe(HAIKU);
    expect(await r.routeFor(route)).toStrictEqual({ modelId: HAIKU, blocked: false });
  });

  it('reads the tier and the cap of a version-2 flag', async () => {
    await put(flag(HAIKU, { max_output_tokens: 500, service_tier: 'flex', blocked: false }));
    expect(await router().routeFor(route)).toStrictEqual({
      modelId: HAIKU,
      serviceTier: 'flex',
      maxOutputTokens: 500,
      blocked: false,
    });
  });

  it('reads a flag of a newer version by its known fields, as the Python client does', async () => {
    await put(flag(HAIKU, { version: 7, service_tier: 'priority', new_field: { a: [1, 2] } }));
    const resolution = await router().resolve(route);
    expect(resolution.source).toBe('flag');
    expect(resolution.route).toStrictEqual({ modelId: HAIKU, serviceTier: 'priority', blocked: false });
  });

  it('throws RouteBlocked from routeFor on a blocked route, and modelFor still answers the model', async () => {
    await put(flag(HAIKU, { blocked: true }));
    const r = router();
    const thrown = await r.routeFor(route).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(RouteBlocked);
    expect(thrown).toMatchObject({ name: 'RouteBlocked', route, modelId: HAIKU });
    // modelFor is the version-1 reading: the model, not the block.
    expect(await r.modelFor(route)).toBe(HAIKU);
    expect(calls()).toBe(1);
  });

  it('serves the default on a missing parameter, else the fallback', async () => {
    const r = router();
    const resolution = await r.resolve(route);
    expect(resolution).toMatchObject({ modelId: SONNET, source: 'default', error: { kind: 'not_found' } });
    expect(await r.modelFor('no-default-route')).toBe(NOVA);
  });

  it('goes back to the default when the flag is deleted, not to the last value', async () => {
    await put(flag(HAIKU));
    const r = router();
    expect(await r.modelFor(route)).toBe(HAIKU);
    await emulator.client().send(new DeleteParameterCommand({ Name: `/budget-guard/routes/${route}` }));
    now += 31;
    expect(await r.resolve(route)).toMatchObject({ modelId: SONNET, source: 'default', error: { kind: 'not_found' } });
  });

  it('makes one call per TTL: the cached value until the clock passes it', async () => {
    await put(flag(HAIKU));
    const r = router({ ttlSeconds: 30 });
    expect(await r.modelFor(route)).toBe(HAIKU);
    await put(flag(NOVA));
    now += 29.9;
    expect(await r.resolve(route)).toMatchObject({ modelId: HAIKU, source: 'cached' });
    expect(calls()).toBe(1);
    now += 0.2;
    expect(await r.resolve(route)).toMatchObject({ modelId: NOVA, source: 'flag' });
    expect(calls()).toBe(2);
  });

  it('keeps the last good value when the value stops being a flag, and says why without quoting it', async () => {
    await put(flag(HAIKU, { max_output_tokens: 300 }));
    const r = router({ ttlSeconds: 30 });
    expect(await r.modelFor(route)).toBe(HAIKU);
    await put('not json {sk-secret');
    now += 31;
    const resolution = await r.resolve(route);
    expect(resolution).toMatchObject({ modelId: HAIKU, source: 'stale', error: { kind: 'invalid_value' } });
    expect(resolution.route.maxOutputTokens).toBe(300);
    expect(JSON.stringify(resolution)).not.toContain('sk-secret');
    // The failure is cached too: no call again within the TTL.
    await r.modelFor(route);
    expect(calls()).toBe(2);
  });

  it('refuses values a reader cannot honour rather than dropping a cap or a block', async () => {
    const r = router({ ttlSeconds: 0 });
    for (const value of [
      flag(HAIKU, { service_tier: 'economy' }),
      flag(HAIKU, { max_output_tokens: 0 }),
      flag(HAIKU, { max_output_tokens: 2.5 }),
      flag(HAIKU, { max_output_tokens: '500' }),
      flag(HAIKU, { blocked: 'yes' }),
      flag('has space'),
      JSON.stringify({ version: 2 }),
      '[]',
    ]) {
      await put(value);
      expect(await r.resolve(route), value).toMatchObject({ modelId: SONNET, source: 'default', error: { kind: 'invalid_value' } });
    }
  });

  it('keeps the last good value while the emulator is stopped, and retries only after the TTL', async () => {
    const own = await Emulator.start();
    try {
      const ownSsm = own.client();
      const ownCalls = counted(ownSsm).calls;
      await ownSsm.send(
        new PutParameterCommand({ Name: `/budget-guard/routes/${route}`, Value: flag(HAIKU, { service_tier: 'flex' }), Type: 'String' }),
      );
      const logger = recordingLogger();
      const r = router({ ssmClient: ownSsm, ttlSeconds: 30, logger });
      expect(await r.modelFor(route)).toBe(HAIKU);
      await own.stop();
      now += 31;
      const resolution = await r.resolve(route);
      expect(resolution).toMatchObject({ modelId: HAIKU, source: 'stale', error: { kind: 'unreachable' } });
      expect(resolution.route.serviceTier).toBe('flex');
      expect(logger.lines.some((line) => line.startsWith('WARN routing flag refresh failed; serving the last good model'))).toBe(true);
      now += 10;
      expect(await r.resolve(route)).toMatchObject({ source: 'stale' });
      expect(ownCalls()).toBe(2);
    } finally {
      await own.stop();
    }
  });

  it('serves the default when SSM was unreachable before any success', async () => {
    // Stopped before the router ever asks: nothing listens on its port any more.
    const gone = await Emulator.start();
    const endpoint = gone.endpoint;
    await gone.stop();
    const resolution = await router({ ssmClient: emulator.client(endpoint) }).resolve(route);
    expect(resolution).toMatchObject({ modelId: SONNET, source: 'default', error: { kind: 'unreachable' } });
  });

  it('ignores a flag naming a model off the route ladder, and never logs the value', async () => {
    await put(flag(OPUS, { max_output_tokens: 100, reason: 'sk-do-not-log' }));
    const logger = recordingLogger();
    const resolution = await router({ allowedModels: { [route]: LADDER }, logger }).resolve(route);
    expect(resolution).toStrictEqual({
      modelId: SONNET,
      source: 'off_ladder',
      route: { modelId: SONNET, blocked: false },
      rejectedModelId: OPUS,
    });
    expect(logger.lines.filter((line) => line.startsWith('WARN'))).toHaveLength(1);
    expect(logger.lines.join('\n')).toContain(OPUS);
    expect(logger.lines.join('\n')).not.toContain('sk-do-not-log');
  });

  it('shares one GetParameter between concurrent callers', async () => {
    await put(flag(HAIKU));
    const slowSsm = emulator.client();
    const slowCalls = counted(slowSsm, 200).calls;
    const r = router({ ssmClient: slowSsm });
    const answers = await Promise.all(Array.from({ length: 16 }, () => r.resolve(route)));
    expect(answers.map((a) => a.modelId)).toStrictEqual(Array(16).fill(HAIKU));
    expect(answers.filter((a) => a.source === 'flag')).toHaveLength(1);
    expect(slowCalls()).toBe(1);
  });

  it('shares a failed refresh too, and refreshes once more after the TTL', async () => {
    const gone = await Emulator.start();
    const endpoint = gone.endpoint;
    await gone.stop();
    const deadSsm = emulator.client(endpoint);
    const deadCalls = counted(deadSsm, 100).calls;
    const r = router({ ssmClient: deadSsm });
    const answers = await Promise.all(Array.from({ length: 8 }, () => r.modelFor(route)));
    expect(answers).toStrictEqual(Array(8).fill(SONNET));
    expect(deadCalls()).toBe(1);
    now += 31;
    await Promise.all([r.modelFor(route), r.modelFor(route)]);
    expect(deadCalls()).toBe(2);
  });

  it('keeps routes apart: one call each, each its own flag', async () => {
    await put(flag(HAIKU), `${route}-a`);
    await put(flag(NOVA), `${route}-b`);
    const r = router({ defaults: {} });
    const [a, b] = await Promise.all([r.modelFor(`${route}-a`), r.modelFor(`${route}-b`)]);
    expect([a, b]).toStrictEqual([HAIKU, NOVA]);
    expect(calls()).toBe(2);
  });

  it('makes no call for a route name that could reach another parameter', async () => {
    const r = router();
    expect(await r.resolve('../other')).toMatchObject({ modelId: NOVA, source: 'default', error: { kind: 'invalid_route' } });
    expect(r.parameterName('a/b')).toBeUndefined();
    expect(calls()).toBe(0);
  });
});

describe('ModelRouter settings', () => {
  const ssmClient = {} as SSMClient;

  it('refuses settings that cannot work', () => {
    expect(() => new ModelRouter({ fallbackModel: '', ssmClient })).toThrow(/fallbackModel/);
    expect(() => new ModelRouter({ fallbackModel: NOVA, defaults: { chat: 'has space' }, ssmClient })).toThrow(/default model/);
    expect(() => new ModelRouter({ fallbackModel: NOVA, ttlSeconds: -1, ssmClient })).toThrow(/ttlSeconds/);
    expect(() => new ModelRouter({ fallbackModel: NOVA, flagsPath: 'routes/', ssmClient })).toThrow(/flagsPath/);
    expect(() => new ModelRouter({ fallbackModel: NOVA, allowedModels: { chat: [] }, ssmClient })).toThrow(/empty/);
    // The model served in place of an off-ladder flag must be on the ladder itself.
    expect(
      () => new ModelRouter({ fallbackModel: OPUS, defaults: { chat: OPUS }, allowedModels: { chat: LADDER }, ssmClient }),
    ).toThrow(/not among its allowed models/);
    expect(() => new ModelRouter({ fallbackModel: OPUS, allowedModels: { chat: LADDER }, ssmClient })).toThrow(
      /not among its allowed models/,
    );
  });

  it('names a route parameter under the flags path, adding a missing slash', () => {
    expect(new ModelRouter({ fallbackModel: NOVA, ssmClient }).parameterName('chat')).toBe('/budget-guard/routes/chat');
    expect(new ModelRouter({ fallbackModel: NOVA, flagsPath: '/team/flags', ssmClient }).parameterName('chat')).toBe(
      '/team/flags/chat',
    );
  });
});
