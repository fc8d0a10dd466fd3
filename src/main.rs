use clap::Parser;

/// jemalloc instead of the system's allocator: connections come and go in bursts, and glibc
/// kept what they left behind fragmented. Against mimalloc, measured with benches/compare.sh
/// workload c (10 000 connections on 1 000 pages), jemalloc held 83–87 MiB with everyone
/// connected where mimalloc held 92–108, and its background thread gives freed memory back
/// while the server idles (mimalloc's resident memory at rest varied by 25 MiB between runs),
/// for the same CPU on workloads a and b.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

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
