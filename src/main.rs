//! The `rulec` command line.

mod cli;
mod eval_cmd;

fn main() {
    std::process::exit(cli::run());
}
