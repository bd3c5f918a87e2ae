//! The shared policies: every fixture is a policy of the current version, read by its name.

use guard_testkit::{example_policy, policy_fixture, policy_fixture_path};

#[test]
fn every_policy_fixture_is_a_version_1_policy_read_by_its_name() {
    let mut read = 0;
    for entry in std::fs::read_dir(policy_fixture_path("")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path.file_stem().unwrap().to_str().unwrap();
            let text = policy_fixture(name);
            assert_eq!(text, std::fs::read_to_string(&path).unwrap());
            assert!(
                text.lines().any(|l| l.trim() == "version: 1"),
                "{name}.yaml does not say `version: 1`"
            );
            read += 1;
        }
    }
    assert!(read >= 4, "only {read} policy fixtures found");
    assert!(example_policy().lines().any(|l| l.trim() == "version: 1"));
}

#[test]
#[should_panic(expected = "tests/fixtures/policies/no-such-policy.yaml")]
fn a_missing_fixture_is_named() {
    policy_fixture("no-such-policy");
}
