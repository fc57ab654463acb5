//! `vendor-conformance`: the command line (see `conformance::cli`).

use std::io::IsTerminal as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let code = conformance::main_with(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr(),
        std::io::stderr().is_terminal(),
    );
    ExitCode::from(code)
}
