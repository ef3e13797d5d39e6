//! `aftersales generate`: deterministic synthetic exports.

use anyhow::Result;

use crate::cli::GenerateArgs;
use crate::generate::{self, Options};
use crate::progress::Progress;

pub fn generate(args: &GenerateArgs, quiet: bool) -> Result<i32> {
    let progress = Progress::new(quiet);
    progress.set_message(format!("generating scale {} seed {}", args.scale, args.seed));
    let opts = Options {
        scale: args.scale,
        seed: args.seed,
        zh_copy: args.zh_copy,
    };
    let c = generate::generate(&args.out, &opts, &progress)?;
    progress.finish();
    progress.println(format!(
        "wrote {}: {} merchants, {} orders ({} order lines), {} cases, {} shipments, {} refunds",
        args.out.display(),
        c.merchants,
        c.orders,
        c.order_lines,
        c.cases,
        c.shipments,
        c.refunds
    ));
    Ok(0)
}
