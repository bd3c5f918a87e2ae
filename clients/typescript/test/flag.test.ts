// The flag reader on its own: the same cases as model-router's parse_flag tests, so that the
// TypeScript, Rust and Python clients take the same values as flags.

import { describe, expect, it } from 'vitest';

import { InvalidFlagValue, parseFlag } from '../src/flag';

describe('parseFlag', () => {
  it('reads a version-1 flag as a plain call', () => {
    const value =
      '{"version":1,"route":"support-chatbot","model_id":"anthropic.claude-haiku-4-5-20251001-v1:0","step":2,"ladder_size":3,"budget":"bg-chatbot","period_start":"2026-11-01","reason":"bg-chatbot crossed 90% (ACTUAL)","changed_at":"2026-11-12T06:41:09Z","changed_by":"alert-handler","pinned":false}';
    expect(parseFlag(value)).toStrictEqual({
      modelId: 'anthropic.claude-haiku-4-5-20251001-v1:0',
      serviceTier: undefined,
      maxOutputTokens: undefined,
      blocked: false,
    });
  });

  it('reads the step fields of a version-2 flag, null as absent', () => {
    const value =
      '{"version":2,"route":"chat","model_id":"us.amazon.nova-pro-v1:0","step":3,"ladder_size":5,"service_tier":"flex","max_output_tokens":500,"blocked":false}';
    expect(parseFlag(value)).toMatchObject({ serviceTier: 'flex', maxOutputTokens: 500, blocked: false });
    expect(parseFlag('{"version":2,"model_id":"m","blocked":true}').blocked).toBe(true);
    expect(parseFlag('{"model_id":"m","service_tier":null,"max_output_tokens":null,"blocked":null}')).toStrictEqual({
      modelId: 'm',
      serviceTier: undefined,
      maxOutputTokens: undefined,
      blocked: false,
    });
  });

  it('tolerates unknown and missing optional fields, and model ARNs', () => {
    expect(parseFlag('{"model_id":"us.amazon.nova-lite-v1:0","version":7,"new_field":{"a":[1,2]}}').modelId).toBe(
      'us.amazon.nova-lite-v1:0',
    );
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123';
    expect(parseFlag(JSON.stringify({ model_id: arn })).modelId).toBe(arn);
  });

  it.each([
    '',
    'anthropic.claude-haiku-4-5-20251001-v1:0',
    '[]',
    '"a string"',
    'null',
    '{"version":1}',
    '{"model_id":null}',
    '{"model_id":""}',
    '{"model_id":"has space"}',
    '{"model_id":"tab\\there"}',
    `{"model_id":"${'m'.repeat(2049)}"}`,
    '{"model_id":42}',
    '{"model_id":"x"',
    '{"model_id":"m","service_tier":"economy"}',
    '{"model_id":"m","service_tier":"default"}',
    '{"model_id":"m","max_output_tokens":0}',
    '{"model_id":"m","max_output_tokens":-5}',
    '{"model_id":"m","max_output_tokens":4294967296}',
    '{"model_id":"m","max_output_tokens":"500"}',
    '{"model_id":"m","blocked":"yes"}',
    '{"model_id":"m","blocked":1}',
  ])('refuses %j', (value) => {
    expect(() => parseFlag(value)).toThrow(InvalidFlagValue);
  });

  it('never quotes the value in its reasons', () => {
    const secret = 'sk-do-not-log';
    for (const value of [
      `{"model_id":"${secret} x"}`,
      `{"model_id":["${secret}"]}`,
      `["${secret}"]`,
      `{"model_id":"${secret}`,
      `${secret}`,
    ]) {
      expect(() => parseFlag(value)).toThrow(InvalidFlagValue);
      try {
        parseFlag(value);
      } catch (error) {
        expect(String(error)).not.toContain(secret);
      }
    }
  });
});
