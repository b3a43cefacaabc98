use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = idgate::cli::Cli::parse();
    match idgate::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line on stderr, the last one, saying why (API.md §9).
            let causes: Vec<String> = error.chain().map(ToString::to_string).collect();
            eprintln!("error: {}", causes.join(": "));
            ExitCode::FAILURE
        }
    }
}
