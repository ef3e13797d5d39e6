use std::process::ExitCode;

use aftersales::cli::{Cli, Command};
use aftersales::commands;
use aftersales::pipeline::CannotStart;
use clap::Parser;

// polars allocates and frees many small buffers, for which the system allocator is the slowest choice
// (BENCHMARKS.md). `allocator` says how it treats freed pages and why huge pages are off.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    aftersales::crash::install();
    aftersales::allocator::keep_freed_memory();
    aftersales::allocator::no_huge_pages();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Run(a) => commands::run::run(a, cli.quiet),
        Command::Validate(a) => commands::validate::validate(a, cli.quiet),
        Command::Generate(a) => commands::generate::generate(a, cli.quiet),
        Command::Convert(a) => commands::convert::convert(a, cli.quiet),
        Command::Finish(a) => commands::finish::finish(a, cli.quiet),
        Command::Query(a) => commands::query::query(a, cli.quiet),
        Command::Page(a) => commands::page::page(a, cli.quiet),
        Command::Init(a) => commands::init::init(a),
    };
    match result {
        Ok(code) => ExitCode::from(code as u8),
        Err(e) => {
            eprintln!("error: {e:#}");
            // Input or config that cannot be used: a usage error, nothing was written.
            if e.downcast_ref::<CannotStart>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}
