//! Progress bars on stderr, hidden when stderr is not a terminal (so logs and CI stay clean).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` items with a message, rate and ETA.
pub fn bar(len: u64, message: &str) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        pb.set_draw_target(ProgressDrawTarget::hidden());
    }
    pb.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({per_sec}, ETA {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    pb.set_message(message.to_string());
    pb
}

/// A progress line on stderr (epochs, the demo's steps), silent under `-q`.
pub fn say(args: std::fmt::Arguments) {
    if log::log_enabled!(target: "beatgen", log::Level::Warn) {
        eprintln!("{args}");
    }
}
