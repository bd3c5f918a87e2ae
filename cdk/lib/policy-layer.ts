// The policy layer: the YAML files exactly as committed, at /opt/policy/. Its content hash is the
// policy hash, so a policy change is a new layer version and the scheduled runs read the policy of
// the last deploy.

import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { stagePolicyLayer, type LoadedPolicy } from './policy';

/** Where Lambda mounts the layer's `policy/` directory. */
export const POLICY_MOUNT = '/opt/policy';

/** A LayerVersion itself, so its resource keeps the path (and logical id) it had in the stack. */
export class PolicyLayer extends lambda.LayerVersion {
  constructor(scope: Construct, id: string, policy: LoadedPolicy) {
    super(scope, id, {
      code: lambda.Code.fromAsset(stagePolicyLayer(policy.dir, policy.files), { assetHash: policy.sha256 }),
      description: `Budget Guard policy, sha256 ${policy.sha256}`,
      // The same Runtime value RustFunction uses (`new Runtime('provided.al2023')`); CDK compares them.
      compatibleRuntimes: [new lambda.Runtime('provided.al2023')],
      compatibleArchitectures: [lambda.Architecture.ARM_64],
    });
  }
}
