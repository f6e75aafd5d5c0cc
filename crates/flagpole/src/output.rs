//! What the commands print: [`say!`], a line on standard output that ends the command
//! quietly when the reader went away (`flagpole … | head`).

/// Prints a line to standard output; a closed pipe (`| head`) ends the command quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
            return Err(e.into());
        }
    }};
}
pub(crate) use say;
