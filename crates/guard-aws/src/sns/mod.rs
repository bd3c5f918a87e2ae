//! Amazon SNS: the notify topic's email subscriptions and the emails published to it, and the
//! spend watcher's alerts to the alerts topic.

pub mod notify;
pub mod spend_alerts;
pub mod subscriptions;

pub use notify::SnsNotifier;
pub use spend_alerts::SnsSpendAlerts;
pub use subscriptions::SnsSubscriptions;
