//! Raw bytes into the policy loader, the way `budget-guard validate` reads a file, then every
//! diagnostic rendered against the source as the CLI prints it. Must never panic or hang.
#![no_main]

use guard_core::policy::{SourceFile, load};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let sources = [SourceFile::new("fuzz.yaml", data)];
    let (_policy, diagnostics) = load(&sources);
    let text = sources[0].text();
    for diagnostic in &diagnostics {
        let _ = diagnostic.render(text);
    }
});
