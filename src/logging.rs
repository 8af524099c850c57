//! Log output to stderr: warnings by default, `-v` for info and `-vv` for debug; `RUST_LOG`
//! overrides. symphonia's own log lines are off: decode problems are reported by beatgen, per
//! file, instead. Lines look like `warning: songs/trap/x.mp3: file ends early ...`.

use std::io::Write;

pub fn init(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        _ => "debug",
    };
    let env = env_logger::Env::default()
        .default_filter_or(format!("warn,beatgen={level},dsp={level},symphonia=off"));
    let _ = env_logger::Builder::from_env(env)
        .format(|buf, record| {
            let level = match record.level() {
                log::Level::Error => "error",
                log::Level::Warn => "warning",
                log::Level::Info => "info",
                log::Level::Debug => "debug",
                log::Level::Trace => "trace",
            };
            writeln!(buf, "{level}: {}", record.args())
        })
        .try_init();
}
