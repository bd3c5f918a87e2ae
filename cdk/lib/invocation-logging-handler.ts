// The source of the custom resource function that sets the account's Bedrock model invocation
// logging (there is no CloudFormation resource for it). Plain CommonJS for the Node.js runtime,
// which ships the AWS SDK for JavaScript v3, so nothing is bundled and synth needs no network.
//
// Create and Update: put a configuration that delivers to the stack's log group with the data
// deliveries the resource's properties give (the stack gives all four off: metadata only), refusing to replace a configuration that
// writes somewhere else (the user then passes that group as `fastPath.existingLogGroupName`).
// Delete: remove the configuration only while it is still the one this stack put.
// The function answers CloudFormation's ResponseURL itself, as the provisioner does.

export const INVOCATION_LOGGING_HANDLER = `
const https = require('node:https');
const {
  BedrockClient,
  GetModelInvocationLoggingConfigurationCommand,
  PutModelInvocationLoggingConfigurationCommand,
  DeleteModelInvocationLoggingConfigurationCommand,
} = require('@aws-sdk/client-bedrock');

const bedrock = new BedrockClient({});

function answer(event, status, reason) {
  const body = JSON.stringify({
    Status: status,
    Reason: reason.slice(0, 500),
    PhysicalResourceId: event.PhysicalResourceId || 'bedrock-invocation-logging',
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  return new Promise((resolve, reject) => {
    const req = https.request(event.ResponseURL, {
      method: 'PUT',
      headers: { 'content-type': '', 'content-length': Buffer.byteLength(body) },
    }, (res) => { res.resume(); res.on('end', resolve); });
    req.on('error', reject);
    req.end(body);
  });
}

function writesTo(config) {
  const cw = config && config.cloudWatchConfig;
  return cw ? cw.logGroupName + ' (role ' + cw.roleArn + ')' : undefined;
}

exports.handler = async (event) => {
  const p = event.ResourceProperties;
  const ours = p.LogGroupName + ' (role ' + p.RoleArn + ')';
  try {
    const current = (await bedrock.send(new GetModelInvocationLoggingConfigurationCommand({}))).loggingConfig;
    if (event.RequestType === 'Delete') {
      if (writesTo(current) === ours) {
        await bedrock.send(new DeleteModelInvocationLoggingConfigurationCommand({}));
        console.log(JSON.stringify({ message: 'invocation logging removed', logGroup: p.LogGroupName }));
      } else {
        console.log(JSON.stringify({ message: 'invocation logging is not ours any more: left alone' }));
      }
      return await answer(event, 'SUCCESS', 'done');
    }
    const previous = event.OldResourceProperties
      ? event.OldResourceProperties.LogGroupName + ' (role ' + event.OldResourceProperties.RoleArn + ')'
      : undefined;
    const elsewhere = writesTo(current);
    if (current && elsewhere !== ours && elsewhere !== previous) {
      const where = elsewhere || 'a destination other than CloudWatch Logs';
      return await answer(event, 'FAILED',
        'Bedrock invocation logging already writes to ' + where + ' in this account and region; ' +
        'pass its log group as fastPath.existingLogGroupName instead of replacing it');
    }
    await bedrock.send(new PutModelInvocationLoggingConfigurationCommand({
      loggingConfig: {
        cloudWatchConfig: { logGroupName: p.LogGroupName, roleArn: p.RoleArn },
        // CloudFormation passes properties as strings; anything but "true" is off.
        textDataDeliveryEnabled: p.TextDataDeliveryEnabled === 'true',
        imageDataDeliveryEnabled: p.ImageDataDeliveryEnabled === 'true',
        embeddingDataDeliveryEnabled: p.EmbeddingDataDeliveryEnabled === 'true',
        videoDataDeliveryEnabled: p.VideoDataDeliveryEnabled === 'true',
      },
    }));
    console.log(JSON.stringify({ message: 'invocation logging set, metadata only', logGroup: p.LogGroupName }));
    return await answer(event, 'SUCCESS', 'done');
  } catch (e) {
    console.log(JSON.stringify({ message: 'invocation logging failed', error: e.name }));
    return await answer(event, 'FAILED', String(e.name) + ': ' + String(e.message));
  }
};
`;
