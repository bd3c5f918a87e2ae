//! IAM role ARNs as a policy names them, and the role behind a caller's ARN in Bedrock's
//! invocation logs: an assumed-role session names its role by name only, without the role's path,
//! so a role is matched by partition, account and name.

use serde::Serialize;

/// An IAM role: `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct RoleArn {
    /// The ARN as the policy writes it.
    pub arn: String,
    pub partition: String,
    pub account: String,
    /// The role's name, its path left out.
    pub name: String,
}

/// IAM: a role name is at most 64 characters.
const ROLE_NAME_MAX_CHARS: usize = 64;

/// What IAM allows in role names and paths: letters, digits and `+=,.@_-`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)
}

fn is_partition(p: &str) -> bool {
    p.starts_with("aws") && p.chars().all(|c| c.is_ascii_lowercase() || c == '-')
}

fn is_account(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

fn is_name(n: &str) -> bool {
    !n.is_empty() && n.chars().count() <= ROLE_NAME_MAX_CHARS && n.chars().all(is_name_char)
}

/// The partition, service, account and resource of an ARN with an empty region (IAM and STS).
fn global_parts(arn: &str) -> Option<(&str, &str, &str, &str)> {
    let mut parts = arn.splitn(6, ':');
    match (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) {
        (Some("arn"), Some(partition), Some(service), Some(""), Some(account), Some(resource))
            if is_partition(partition) && is_account(account) =>
        {
            Some((partition, service, account, resource))
        }
        _ => None,
    }
}

impl RoleArn {
    /// The role an IAM role ARN names, or `None` when `arn` is not one.
    pub fn parse(arn: &str) -> Option<RoleArn> {
        let (partition, service, account, resource) = global_parts(arn)?;
        let path_and_name = resource
            .strip_prefix("role/")
            .filter(|_| service == "iam")?;
        let mut segments: Vec<&str> = path_and_name.split('/').collect();
        let name = segments.pop()?;
        if !is_name(name) || !segments.iter().all(|s| is_name(s)) {
            return None;
        }
        Some(RoleArn {
            arn: arn.to_owned(),
            partition: partition.to_owned(),
            account: account.to_owned(),
            name: name.to_owned(),
        })
    }

    /// Whether a call by `caller` (an invocation log's `identity.arn`) was made as this role: a
    /// session of it (`arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`) or the role's own ARN.
    pub fn made(&self, caller: &str) -> bool {
        let Some((partition, service, account, resource)) = global_parts(caller) else {
            return false;
        };
        if partition != self.partition || account != self.account {
            return false;
        }
        match service {
            "sts" => resource
                .strip_prefix("assumed-role/")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(name, _session)| name == self.name),
            "iam" => RoleArn::parse(caller).is_some_and(|role| role.name == self.name),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_arn_gives_its_partition_account_and_name_without_the_path() {
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/service-role/chatbot").unwrap();
        assert_eq!(
            (
                role.partition.as_str(),
                role.account.as_str(),
                role.name.as_str()
            ),
            ("aws", "123456789012", "chatbot")
        );
        assert!(RoleArn::parse("arn:aws-us-gov:iam::123456789012:role/chatbot").is_some());
    }

    #[test]
    fn what_is_not_a_role_arn_is_refused() {
        for bad in [
            "",
            "chatbot",
            "arn:aws:iam::123456789012:user/alice",
            "arn:aws:iam::12345678901:role/chatbot",
            "arn:aws:iam:us-east-1:123456789012:role/chatbot",
            "arn:aws:sts::123456789012:assumed-role/chatbot/s1",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:iam::123456789012:role/chat bot",
            "arn:aws:iam::123456789012:role//chatbot",
            "arn:AWS:iam::123456789012:role/chatbot",
            &format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65)),
        ] {
            assert_eq!(RoleArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_role_made_the_calls_of_its_sessions_and_no_other_roles() {
        let role = RoleArn::parse("arn:aws:iam::123456789012:role/apps/chatbot").unwrap();
        assert!(role.made("arn:aws:sts::123456789012:assumed-role/chatbot/i-0abc"));
        assert!(role.made("arn:aws:iam::123456789012:role/chatbot"));
        assert!(!role.made("arn:aws:sts::123456789012:assumed-role/chatbot-admin/i-0abc"));
        assert!(!role.made("arn:aws:sts::123456789012:assumed-role/chat/bot"));
        assert!(!role.made("arn:aws:sts::210987654321:assumed-role/chatbot/i-0abc"));
        assert!(!role.made("arn:aws-cn:sts::123456789012:assumed-role/chatbot/i-0abc"));
        assert!(!role.made("arn:aws:iam::123456789012:user/chatbot"));
        assert!(!role.made("arn:aws:sts::123456789012:assumed-role/chatbot"));
        assert!(!role.made("chatbot"));
    }
}
