//! Secrets the command line asks for (the CA passphrase, an administrator's password): from an
//! environment variable, typed at the terminal without echo, or one line from a pipe.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;

/// The secret in `env`, or asked for with `prompt`.
pub(crate) fn ask(prompt: &str, env: &str) -> anyhow::Result<String> {
    if let Ok(s) = std::env::var(env) {
        return Ok(s);
    }
    let stdin = std::io::stdin();
    let mut line = String::new();
    let read = if stdin.is_terminal() {
        eprint!("{prompt}: ");
        let hidden = Hidden::new(&stdin);
        let read = stdin.lock().read_line(&mut line);
        drop(hidden);
        eprintln!();
        read
    } else {
        stdin.lock().read_line(&mut line)
    }
    .with_context(|| format!("cannot read the {prompt}"))?;
    anyhow::ensure!(
        read > 0,
        "no {prompt} given: type it at a terminal, or set {env}"
    );
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The terminal's echo, off until dropped.
struct Hidden<'a> {
    stdin: &'a std::io::Stdin,
    was: Option<rustix::termios::Termios>,
}

impl<'a> Hidden<'a> {
    fn new(stdin: &'a std::io::Stdin) -> Hidden<'a> {
        use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
        let was = tcgetattr(stdin).ok();
        if let Some(t) = &was {
            let mut quiet = t.clone();
            quiet.local_modes.remove(LocalModes::ECHO);
            let _ = tcsetattr(stdin, OptionalActions::Now, &quiet);
        }
        Hidden { stdin, was }
    }
}

impl Drop for Hidden<'_> {
    fn drop(&mut self) {
        if let Some(t) = &self.was {
            let _ =
                rustix::termios::tcsetattr(self.stdin, rustix::termios::OptionalActions::Now, t);
        }
    }
}
