// The Slack webhook secrets the policy names. The policy holds a secret's name, never the URL, and
// the secrets are created empty (no GenerateSecretString, no SecretString), so no value is ever in
// the template; the URL is put with `aws secretsmanager put-secret-value`.

import { Validations, type RemovalPolicy } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

export interface SlackSecretsProps {
  /** The secrets' names, as `slackSecretNames` gives them. */
  readonly names: readonly string[];
  readonly removalPolicy: RemovalPolicy;
}

export class SlackSecrets extends Construct {
  readonly secrets: readonly secretsmanager.CfnSecret[];

  constructor(scope: Construct, id: string, props: SlackSecretsProps) {
    super(scope, id);
    this.secrets = props.names.map((name) => {
      // The L1 resource on purpose: the L2 `Secret` always asks for a generated value.
      const secret = new secretsmanager.CfnSecret(this, `SlackWebhook-${name.replace(/[^A-Za-z0-9]/g, '_')}`, {
        name,
        description: `Budget Guard: Slack incoming webhook URL (set it with aws secretsmanager put-secret-value --secret-id ${name})`,
      });
      secret.applyRemovalPolicy(props.removalPolicy);
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'A Slack incoming webhook URL is issued by Slack and cannot be rotated by a Lambda; it is replaced by hand when Slack reissues it.',
      });
      return secret;
    });
  }
}
