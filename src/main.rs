//! The `rulec` command line.

mod cli;
mod coverage_cmd;
mod diff_cmd;
mod eval_cmd;
mod fmt_cmd;
mod impact_cmd;
mod save_case;

fn main() {
    std::process::exit(cli::run());
}
