//! The `rampart` binary: runc's command line, flags and exit codes mapped onto the runtime
//! library. Nothing here knows how containers are made.

use clap::{Args, Parser, Subcommand, ValueEnum};
use rampart::cgroups::Driver;
use rampart::container::{self, CreateOptions};
use rampart::logging;
use std::path::PathBuf;
use std::process::ExitCode;

const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("RAMPART_COMMIT"),
    "\nspec: 1.2.0"
);

#[derive(Parser)]
#[command(name = "rampart", version = VERSION, about = "a minimal, secure OCI container runtime")]
struct Cli {
    /// Root directory for container state (runc: --root).
    #[arg(long, global = true, default_value = "/run/rampart")]
    root: PathBuf,
    /// Write logs to this file instead of stderr.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Log format: text or json.
    #[arg(long = "log-format", global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Log debug messages too.
    #[arg(long, global = true)]
    debug: bool,
    /// Use the systemd cgroup driver (needs a running systemd).
    #[arg(long = "systemd-cgroup", global = true)]
    systemd_cgroup: bool,
    /// cgroup manager: cgroupfs, systemd or disabled.
    #[arg(long = "cgroup-manager", global = true, value_enum)]
    cgroup_manager: Option<CgroupManager>,
    /// Rootless mode: --rootless=true|false|auto; bare `spec --rootless` writes a rootless config.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    rootless: Option<String>,
    /// Path to criu (accepted for compatibility; checkpointing is not supported).
    #[arg(long, global = true, hide = true)]
    criu: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CgroupManager {
    Cgroupfs,
    Systemd,
    Disabled,
}

#[derive(Args, Clone)]
struct CreateArgs {
    /// Path to the bundle directory.
    #[arg(long, short = 'b', default_value = ".")]
    bundle: PathBuf,
    /// File to write the init's host pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// Unix socket that receives the console's pty master.
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Do not use pivot_root (for a ramdisk root); move the rootfs onto / and chroot.
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    /// Do not give the container its own session keyring.
    #[arg(long = "no-new-keyring")]
    no_new_keyring: bool,
    /// Pass N extra descriptors (3..3+N) to the container.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Container id.
    id: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Print the state of a container as JSON.
    State { id: String },
    /// Send a signal (default TERM) to a container's init, or to all its processes.
    Kill {
        #[arg(long, short = 'a')]
        all: bool,
        id: String,
        #[arg(default_value = "TERM")]
        signal: String,
    },
    /// Delete a container and everything it holds.
    Delete {
        #[arg(long, short = 'f')]
        force: bool,
        id: String,
    },
    /// Create and start a container, wait for it and delete it (unless --detach).
    Run {
        #[arg(long, short = 'd')]
        detach: bool,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Write a new, secure-by-default config.json.
    Spec {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
    },
    /// List containers.
    List {
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ListFormat {
    Table,
    Json,
}

fn driver(cli: &Cli) -> Driver {
    match cli.cgroup_manager {
        Some(CgroupManager::Disabled) => Driver::Disabled,
        Some(CgroupManager::Systemd) => Driver::Systemd,
        Some(CgroupManager::Cgroupfs) => Driver::Cgroupfs,
        None if cli.systemd_cgroup => Driver::Systemd,
        None => Driver::Cgroupfs,
    }
}

fn create_options(cli: &Cli, a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        root: cli.root.clone(),
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        cgroup_driver: driver(cli),
    }
}

fn run(cli: &Cli) -> Result<i32, String> {
    let e = |e: container::Error| e.to_string();
    match &cli.command {
        Command::Create(a) => container::create(&create_options(cli, a)).map(|_| 0).map_err(e),
        Command::Start { id } => container::start(&cli.root, id).map(|_| 0).map_err(e),
        Command::State { id } => {
            let v = container::state(&cli.root, id).map_err(e)?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            Ok(0)
        }
        Command::Kill { all, id, signal } => {
            let sig = rampart::signals::parse(signal).map_err(|e| e.to_string())?;
            container::kill(&cli.root, id, sig, *all, driver(cli)).map(|_| 0).map_err(e)
        }
        Command::Delete { force, id } => container::delete(&cli.root, id, *force).map(|_| 0).map_err(e),
        Command::Run { detach, create } => container::run(&create_options(cli, create), *detach).map_err(e),
        Command::Spec { bundle } => {
            let rootless = cli.rootless.as_deref() == Some("true");
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(format!("{}: file already exists", path.display()));
            }
            // SAFETY: getuid/getgid cannot fail.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            let v = rampart::default_spec::generate(rootless, uid, gid);
            let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
            std::fs::write(&path, text + "\n").map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(0)
        }
        Command::List { format, quiet } => {
            let all = container::list(&cli.root).map_err(e)?;
            if *quiet {
                for v in &all {
                    println!("{}", v["id"].as_str().unwrap_or(""));
                }
            } else if *format == ListFormat::Json {
                println!("{}", serde_json::to_string(&all).unwrap_or_default());
            } else {
                println!("{:<24}{:<10}{:<10}{:<40}{:<32}OWNER", "ID", "PID", "STATUS", "BUNDLE", "CREATED");
                for v in &all {
                    println!(
                        "{:<24}{:<10}{:<10}{:<40}{:<32}{}",
                        v["id"].as_str().unwrap_or(""),
                        v["pid"],
                        v["status"].as_str().unwrap_or(""),
                        v["bundle"].as_str().unwrap_or(""),
                        v["created"].as_str().unwrap_or(""),
                        v["owner"].as_str().unwrap_or(""),
                    );
                }
            }
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    // Before anything can enter a container namespace: nobody inside may open this process's
    // /proc/<pid>/exe, mem or fds (CVE-2019-5736). The flag is inherited by the cloned init and
    // reset by the kernel when it execs the workload.
    // SAFETY: PR_SET_DUMPABLE takes an integer argument.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    let cli = Cli::parse();
    let format = match cli.log_format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!("rampart: opening log file: {e}");
        return ExitCode::from(1);
    }
    match run(&cli) {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            logging::error(&msg);
            if !logging::logs_to_stderr() {
                eprintln!("rampart: {msg}");
            }
            ExitCode::from(1)
        }
    }
}
