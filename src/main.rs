use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = beatgen::cli::Cli::parse();
    beatgen::logging::init(cli.verbose, cli.quiet);
    if let Some(n) = cli.threads {
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
        {
            eprintln!("error: cannot set up {n} threads: {e}");
            return ExitCode::FAILURE;
        }
    }
    match beatgen::commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the message and its causes, outermost first.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
