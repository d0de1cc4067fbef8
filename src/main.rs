//! The `rulec` command line.

mod cli;
mod eval_cmd;
mod fmt_cmd;

fn main() {
    std::process::exit(cli::run());
}
