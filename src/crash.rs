//! What a user sees if the program panics after all: no input should reach a panic (bad input is rejected or
//! refused with a sentence), so a panic is our bug. Instead of a backtrace it prints a short request for a report
//! with what we need to reproduce it — the command line and the shape of the inputs, not their data. With
//! `RUST_BACKTRACE` set, the usual panic output follows for developers.

pub fn install() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let args: Vec<String> = std::env::args().collect();
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        eprintln!(
            "error: aftersales stopped on an internal error: {what}{place}.\n\
             This is a bug in aftersales, not a problem with your data; nothing was written to the output folder.\n\
             Please report it with: the command line ({}), your config file, and for each input file its name, size,\n\
             number of lines and header line (no data rows are needed). Set RUST_BACKTRACE=1 to see a backtrace.",
            args.join(" ")
        );
        if std::env::var_os("RUST_BACKTRACE").is_some() {
            default(info);
        }
    }));
}
