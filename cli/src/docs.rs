//! `rampart __generate-docs DIR`: the man pages and shell completions, generated from the clap
//! definitions in main.rs so that they describe exactly the binary they ship with.
//!
//! Hidden on purpose: it is what `make install` runs, not a runc command. main() handles it
//! before the command line is parsed, so it appears in no help, man page or completion.
//!
//! DIR receives `man8/rampart.8` and one `man8/rampart-COMMAND.8` per command (section 8, as
//! runc's pages are: administration tools), and `completions/rampart.bash`, `_rampart` (zsh)
//! and `rampart.fish`.

use clap_complete::Shell;
use std::fs;
use std::path::{Path, PathBuf};

/// The name the hidden command goes by on the command line.
pub const COMMAND: &str = "__generate-docs";

/// Writes every page and completion file under `dir`; returns the paths written.
pub fn generate(cmd: clap::Command, dir: &Path) -> Result<Vec<PathBuf>, String> {
    // Built, the subcommands carry the global flags and their names as man knows them
    // ("rampart-create" for the page, "rampart create" for the synopsis). No `help` command
    // page: `rampart help X` is clap's, not runc's.
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let man_dir = dir.join("man8");
    let comp_dir = dir.join("completions");
    for d in [&man_dir, &comp_dir] {
        fs::create_dir_all(d).map_err(|e| format!("making {}: {e}", d.display()))?;
    }
    let mut written = Vec::new();
    let pages = std::iter::once(cmd.clone()).chain(
        cmd.get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect::<Vec<_>>(),
    );
    for page in pages {
        let man = clap_mangen::Man::new(page)
            .section("8")
            // The default source is the --version text, which spans lines: a .TH field must not.
            .source(format!("rampart {}", env!("CARGO_PKG_VERSION")))
            .manual("System Administration");
        let path = man
            .generate_to(&man_dir)
            .map_err(|e| format!("writing a man page under {}: {e}", man_dir.display()))?;
        written.push(path);
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path =
            clap_complete::generate_to(shell, &mut cmd, "rampart", &comp_dir).map_err(|e| {
                format!(
                    "writing the {shell} completion under {}: {e}",
                    comp_dir.display()
                )
            })?;
        written.push(path);
    }
    Ok(written)
}
