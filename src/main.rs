use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = ruche::cli::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("ruche: cannot start: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ruche::cli::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ruche: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
