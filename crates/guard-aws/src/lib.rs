//! Adapters from the ports of `guard-core` to AWS and Slack.
