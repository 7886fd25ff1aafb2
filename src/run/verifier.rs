//! The token vectors against credlab's own reference verifier: the built-in self-check that
//! every committed vector means what it says (`cargo test` runs the same judge case by case).

use credlab_runners::verifier_run;
use credlab_suite::Backend;
use credlab_suite::cases::token::TokenFile;
use credlab_suite::report::Report;
use credlab_suite::verify::Policy;

use super::Context;

pub fn run(context: &Context, found: &[TokenFile]) -> Report {
    context.out.note(&format!(
        "credlab: token vectors against {}",
        verifier_run::NAME
    ));
    let policy = Policy::default();
    let cases = verifier_run::cases(context.filter, found);
    let jobs = verifier_run::jobs(&cases, &policy, Backend::default());
    let schedule = super::schedule(context.args, context.out);
    credlab_runners::engine::run_target(verifier_run::target(), jobs, &context.settings(schedule))
}
