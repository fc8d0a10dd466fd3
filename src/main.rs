use clap::Parser;

/// mimalloc instead of the system's allocator: connections come and go in bursts, and glibc
/// kept what they left behind fragmented (measured with benches/compare.sh, workload c).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
