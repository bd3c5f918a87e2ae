#!/usr/bin/env node
// The CDK app: `cdk synth` / `cdk deploy` run this (see cdk.json).
//
// `-c bundle=false` skips building the Rust functions (the CLI will not let `-c` set the
// `aws:cdk:bundling-stacks` context itself, so the app sets it): that is what `npm run synth` and the
// tests use. `cdk deploy` bundles.
import { App } from 'aws-cdk-lib';
import { buildApp, skipBundlingUnlessAsked } from '../lib/app';
import { PolicyValidationError } from '../lib/cli';

const app = new App();
skipBundlingUnlessAsked(app);
try {
  const stack = buildApp(app);
  if (stack.guard.policy.validateOutput.trim() !== '') process.stderr.write(stack.guard.policy.validateOutput);
} catch (e) {
  if (e instanceof PolicyValidationError) {
    // The CLI's diagnostics (`file:line:col: error[BG123]: ...`), unchanged, and nothing else.
    process.stderr.write(e.output);
    process.exit(e.exitCode === 0 ? 1 : e.exitCode);
  }
  throw e;
}
app.synth();
