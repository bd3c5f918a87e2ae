// How SDK errors become FlagError kinds, on the SDK's own exception classes.

import { ParameterNotFound, SSMServiceException } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';

import { classifyError } from '../src/errors';

function serviceError(name: string, fault: 'client' | 'server' = 'client'): SSMServiceException {
  return new SSMServiceException({ name, $fault: fault, $metadata: {}, message: 'the message is not read' });
}

describe('classifyError', () => {
  it('reads the error code of an answer from SSM', () => {
    expect(classifyError(new ParameterNotFound({ message: 'x', $metadata: {} }))).toStrictEqual({ kind: 'not_found', detail: '' });
    expect(classifyError(serviceError('ThrottlingException'))).toStrictEqual({ kind: 'throttled', detail: 'ThrottlingException' });
    expect(classifyError(serviceError('AccessDeniedException'))).toStrictEqual({
      kind: 'access_denied',
      detail: 'AccessDeniedException',
    });
    expect(classifyError(serviceError('InternalServerError', 'server'))).toStrictEqual({
      kind: 'service',
      detail: 'InternalServerError',
    });
  });

  it('takes anything that is not an answer from SSM as unreachable', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(classifyError(refused)).toStrictEqual({ kind: 'unreachable', detail: 'Error' });
    expect(classifyError(Object.assign(new Error('t'), { name: 'TimeoutError' }))).toStrictEqual({
      kind: 'unreachable',
      detail: 'TimeoutError',
    });
    expect(classifyError('not even an error')).toStrictEqual({ kind: 'unreachable', detail: 'unknown error' });
  });
});
