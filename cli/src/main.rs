//! The `rampart` binary: runc's command line, flags and exit codes mapped onto the runtime
//! library. Nothing here knows how containers are made.

mod docs;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use rampart::cgroups::Driver;
use rampart::container::{self, CreateOptions};
use rampart::logging;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// clap prints "rampart <VERSION>": the first line reads "rampart version X" like runc's, which is
// what Docker's `info` parses (runtime name, then "version").
const VERSION: &str = concat!(
    "version ",
    env!("CARGO_PKG_VERSION"),
    "\ncommit: ",
    env!("RAMPART_COMMIT"),
    "\nspec: 1.3.0"
);

#[derive(Parser)]
#[command(
    name = "rampart",
    version = VERSION,
    disable_version_flag = true,
    about = "a minimal, secure OCI container runtime"
)]
struct Cli {
    /// Print the version (runc: --version, -v).
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    version: Option<bool>,
    /// Root directory for container state (runc: --root). Default: /run/rampart for root,
    /// $XDG_RUNTIME_DIR/rampart for anyone else (root of a user namespace included, unless
    /// USER=root).
    #[arg(long = "root", global = true)]
    root_flag: Option<PathBuf>,
    /// The state root in use: --root or the default for the caller (filled in after parsing).
    #[arg(skip)]
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
    /// Rootless mode: --rootless=true|false|auto (auto: when not root, or root of a user
    /// namespace). Rootless, a cgroup that cannot be made is skipped with a warning unless the
    /// config sets limits. Bare `spec --rootless` writes a rootless config.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = ["true", "false", "auto"])]
    rootless: Option<String>,
    /// Audit events: one JSON line per lifecycle action and per container exit, appended to
    /// PATH, or sent to syslog (/dev/log, or SOCKET with syslog:SOCKET). See
    /// docs/audit-events.md. A failed write is a warning; the action's result stands.
    #[arg(long = "audit-log", global = true, value_name = "PATH|syslog[:SOCKET]")]
    audit_log: Option<String>,
    /// Policy level create and run enforce: privileged (default: nothing refused), baseline or
    /// restricted; the config's run.rampart.policy annotation may ask for a stricter one. Also
    /// the level `audit` reports violations of.
    #[arg(long, global = true, value_enum)]
    policy: Option<PolicyLevel>,
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
enum PolicyLevel {
    Privileged,
    Baseline,
    Restricted,
}

impl PolicyLevel {
    fn level(self) -> rampart::audit::Level {
        match self {
            PolicyLevel::Privileged => rampart::audit::Level::Privileged,
            PolicyLevel::Baseline => rampart::audit::Level::Baseline,
            PolicyLevel::Restricted => rampart::audit::Level::Restricted,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum AuditFormat {
    Text,
    Json,
    Sarif,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Low,
    Medium,
    High,
    Critical,
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
    /// NOT SUPPORTED (runc 1.2): refused with an error; use --pid-file.
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Container id.
    id: String,
}

/// runc's `exec` flags.
#[derive(Args)]
struct ExecArgs {
    /// Unix socket that receives the pty master (with --tty or process.terminal).
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    /// Working directory inside the container.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// Set an environment variable (KEY=VALUE); repeatable.
    #[arg(long, short = 'e')]
    env: Vec<String>,
    /// Give the process a pseudo-terminal.
    #[arg(long, short = 't')]
    tty: bool,
    /// UID[:GID] to run as.
    #[arg(long, short = 'u')]
    user: Option<String>,
    /// Additional group id; repeatable.
    #[arg(long = "additional-gids", short = 'g')]
    additional_gids: Vec<u32>,
    /// OCI process JSON file; the process flags above are then ignored.
    #[arg(long, short = 'p')]
    process: Option<PathBuf>,
    /// Do not wait for the process; return once it runs.
    #[arg(long, short = 'd')]
    detach: bool,
    /// File to write the process's host pid to.
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    /// SELinux label for the process (not supported: SELinux is not available).
    #[arg(long = "process-label")]
    process_label: Option<String>,
    /// AppArmor profile for the process.
    #[arg(long)]
    apparmor: Option<String>,
    /// Set no_new_privs for the process.
    #[arg(long = "no-new-privs")]
    no_new_privs: bool,
    /// Add a capability to the bounding, effective and permitted sets; repeatable.
    #[arg(long, short = 'c')]
    cap: Vec<String>,
    /// Pass N extra descriptors (3..3+N) to the process.
    #[arg(long = "preserve-fds", default_value_t = 0)]
    preserve_fds: u32,
    /// Run in a sub-cgroup of the container's: PATH, or CONTROLLER[,CONTROLLER]:PATH on cgroup v1;
    /// repeatable.
    #[arg(long)]
    cgroup: Vec<String>,
    /// Allow exec into a paused container.
    #[arg(long = "ignore-paused")]
    ignore_paused: bool,
    /// NOT SUPPORTED (runc 1.2): refused with an error; use --pid-file.
    #[arg(long = "pidfd-socket")]
    pidfd_socket: Option<PathBuf>,
    /// Container id.
    id: String,
    /// The command and its arguments (after `--` when they start with a dash).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<String>,
}

/// The flags runc's `checkpoint` takes (containerd and podman pass some of them).
#[derive(Args)]
#[command(
    about = "NOT SUPPORTED: checkpointing is not supported by rampart",
    long_about = "NOT SUPPORTED: rampart has no checkpoint/restore (CRIU) support. This command \
                  accepts runc's flags and always fails with a clear error."
)]
struct CheckpointArgs {
    #[arg(long = "image-path")]
    image_path: Option<PathBuf>,
    #[arg(long = "work-path")]
    work_path: Option<PathBuf>,
    #[arg(long = "parent-path")]
    parent_path: Option<PathBuf>,
    #[arg(long = "leave-running")]
    leave_running: bool,
    #[arg(long = "tcp-established")]
    tcp_established: bool,
    #[arg(long = "tcp-skip-in-flight")]
    tcp_skip_in_flight: bool,
    #[arg(long = "link-remap")]
    link_remap: bool,
    #[arg(long = "ext-unix-sk")]
    ext_unix_sk: bool,
    #[arg(long = "shell-job")]
    shell_job: bool,
    #[arg(long = "lazy-pages")]
    lazy_pages: bool,
    #[arg(long = "status-fd")]
    status_fd: Option<i32>,
    #[arg(long = "page-server")]
    page_server: Option<String>,
    #[arg(long = "file-locks")]
    file_locks: bool,
    #[arg(long = "pre-dump")]
    pre_dump: bool,
    #[arg(long = "manage-cgroups-mode")]
    manage_cgroups_mode: Option<String>,
    #[arg(long = "empty-ns")]
    empty_ns: Vec<String>,
    #[arg(long = "auto-dedup")]
    auto_dedup: bool,
    id: String,
}

/// The flags runc's `restore` takes.
#[derive(Args)]
#[command(
    about = "NOT SUPPORTED: restoring checkpoints is not supported by rampart",
    long_about = "NOT SUPPORTED: rampart has no checkpoint/restore (CRIU) support. This command \
                  accepts runc's flags and always fails with a clear error."
)]
struct RestoreArgs {
    #[arg(long = "image-path")]
    image_path: Option<PathBuf>,
    #[arg(long = "work-path")]
    work_path: Option<PathBuf>,
    #[arg(long, short = 'b')]
    bundle: Option<PathBuf>,
    #[arg(long, short = 'd')]
    detach: bool,
    #[arg(long = "pid-file")]
    pid_file: Option<PathBuf>,
    #[arg(long = "console-socket")]
    console_socket: Option<PathBuf>,
    #[arg(long = "tcp-established")]
    tcp_established: bool,
    #[arg(long = "tcp-skip-in-flight")]
    tcp_skip_in_flight: bool,
    #[arg(long = "link-remap")]
    link_remap: bool,
    #[arg(long = "ext-unix-sk")]
    ext_unix_sk: bool,
    #[arg(long = "shell-job")]
    shell_job: bool,
    #[arg(long = "file-locks")]
    file_locks: bool,
    #[arg(long = "manage-cgroups-mode")]
    manage_cgroups_mode: Option<String>,
    #[arg(long = "no-subreaper")]
    no_subreaper: bool,
    #[arg(long = "no-pivot")]
    no_pivot: bool,
    #[arg(long = "empty-ns")]
    empty_ns: Vec<String>,
    #[arg(long = "auto-dedup")]
    auto_dedup: bool,
    #[arg(long = "lazy-pages")]
    lazy_pages: bool,
    #[arg(long = "lsm-profile")]
    lsm_profile: Option<String>,
    #[arg(long = "lsm-mount-context")]
    lsm_mount_context: Option<String>,
    id: String,
}

fn exec_options(cli: &Cli, a: &ExecArgs) -> rampart::exec::ExecOptions {
    rampart::exec::ExecOptions {
        root: cli.root.clone(),
        id: a.id.clone(),
        process: a.process.clone(),
        args: a.command.clone(),
        detach: a.detach,
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        tty: a.tty,
        env: a.env.clone(),
        user: a.user.clone(),
        additional_gids: a.additional_gids.clone(),
        cwd: a.cwd.clone(),
        caps: a.cap.clone(),
        no_new_privs: a.no_new_privs,
        apparmor: a.apparmor.clone(),
        process_label: a.process_label.clone(),
        preserve_fds: a.preserve_fds,
        ignore_paused: a.ignore_paused,
        cgroup_driver: Some(driver(cli)),
        policy: cli.policy.map(PolicyLevel::level),
        sub_cgroups: a.cgroup.clone(),
    }
}

#[derive(Subcommand)]
enum Command {
    /// Create a container from a bundle; its process waits for `start`.
    Create(CreateArgs),
    /// Start a created container.
    Start { id: String },
    /// Run a new process inside a container.
    Exec(ExecArgs),
    /// Print the runtime-spec features document (JSON) of this runtime.
    Features,
    /// Report what this host can enforce (kernel, cgroups, user namespaces, seccomp, Landlock,
    /// AppArmor/SELinux, idmapped mounts, pidfd/clone3/openat2) and what is missing.
    Check {
        /// Output format.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Also probe this bundle's filesystems (idmapped mounts of the bundle and its rootfs).
        #[arg(long, short = 'b')]
        bundle: Option<PathBuf>,
    },
    /// NOT SUPPORTED: rampart cannot checkpoint containers (no CRIU integration); always fails.
    Checkpoint(CheckpointArgs),
    /// NOT SUPPORTED: rampart cannot restore containers (no CRIU integration); always fails.
    Restore(RestoreArgs),
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
    /// Create and start a container, wait for it and delete it (unless --detach or --keep).
    Run {
        /// Return once the workload runs; do not wait for it.
        #[arg(long, short = 'd')]
        detach: bool,
        /// Do not delete the container after it exits: it stays listed as stopped until
        /// `delete`.
        #[arg(long)]
        keep: bool,
        /// Do not make rampart the child subreaper: processes the workload orphans outside a pid
        /// namespace of its own go to the host's reaper instead of rampart.
        #[arg(long = "no-subreaper")]
        no_subreaper: bool,
        #[command(flatten)]
        create: CreateArgs,
    },
    /// Report what a bundle's config lets the container do (findings with id, severity, JSON
    /// path, why and fix). Exit status 3 when a finding meets --fail-on or violates --policy.
    Audit {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
        #[arg(long, short = 'f', value_enum, default_value_t = AuditFormat::Text)]
        format: AuditFormat,
        /// Exit with status 3 when a finding is of this severity or worse.
        #[arg(long = "fail-on", value_enum)]
        fail_on: Option<FailOn>,
    },
    /// Write a new, secure-by-default config.json.
    Spec {
        #[arg(long, short = 'b', default_value = ".")]
        bundle: PathBuf,
    },
    /// Freeze every process of a running container.
    Pause { id: String },
    /// Thaw a paused container.
    Resume { id: String },
    /// List a container's processes: json = array of host pids; table = the host's `ps ARGS`.
    Ps {
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        id: String,
        /// Arguments for ps (default -ef), after `--`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Print cgroup statistics and OOM events of a container (runc's JSON).
    Events {
        /// Print one statistics object and exit.
        #[arg(long)]
        stats: bool,
        /// How often statistics are printed (Go duration: 5s, 500ms, 1m).
        #[arg(long, default_value = "5s")]
        interval: String,
        id: String,
    },
    /// Change the resource limits of a container.
    Update(UpdateArgs),
    /// List containers.
    List {
        #[arg(long, short = 'f', value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        #[arg(long, short = 'q')]
        quiet: bool,
    },
}

/// runc's `update` flags; each overrides the same field of --resources.
#[derive(Args)]
struct UpdateArgs {
    /// LinuxResources JSON file, or - for stdin.
    #[arg(long, short = 'r')]
    resources: Option<PathBuf>,
    /// Memory limit (bytes, or with k/m/g; -1 unlimited).
    #[arg(long, short = 'm', allow_hyphen_values = true)]
    memory: Option<String>,
    /// Memory plus swap limit (bytes, or with k/m/g; -1 unlimited).
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    memory_swap: Option<String>,
    /// Memory soft limit.
    #[arg(long = "memory-reservation", allow_hyphen_values = true)]
    memory_reservation: Option<String>,
    /// Ignored with a warning (kernel memory limits are gone from the kernel).
    #[arg(long = "kernel-memory", hide = true, allow_hyphen_values = true)]
    kernel_memory: Option<String>,
    /// Ignored with a warning.
    #[arg(long = "kernel-memory-tcp", hide = true, allow_hyphen_values = true)]
    kernel_memory_tcp: Option<String>,
    /// CPU shares (relative weight; runc's spelling, --cpu-shares is an alias).
    #[arg(long = "cpu-share", visible_alias = "cpu-shares")]
    cpu_shares: Option<u64>,
    /// CPU CFS quota in microseconds per period (-1 unlimited).
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    cpu_quota: Option<i64>,
    /// CPU CFS period in microseconds.
    #[arg(long = "cpu-period")]
    cpu_period: Option<u64>,
    /// CPU CFS burst in microseconds: run time a period may borrow from earlier ones.
    #[arg(long = "cpu-burst")]
    cpu_burst: Option<u64>,
    /// 1: the cgroup's tasks run as SCHED_IDLE (cpu.idle); 0: the default behaviour.
    #[arg(long = "cpu-idle")]
    cpu_idle: Option<i64>,
    /// CPU realtime period in microseconds.
    #[arg(long = "cpu-rt-period")]
    cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds.
    #[arg(long = "cpu-rt-runtime", allow_hyphen_values = true)]
    cpu_rt_runtime: Option<i64>,
    /// CPUs to use (0-3, 0,1).
    #[arg(long = "cpuset-cpus")]
    cpuset_cpus: Option<String>,
    /// Memory nodes to use (0-3, 0,1).
    #[arg(long = "cpuset-mems")]
    cpuset_mems: Option<String>,
    /// Maximum number of processes (-1 unlimited).
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pids_limit: Option<i64>,
    /// Block IO weight (10..1000).
    #[arg(long = "blkio-weight")]
    blkio_weight: Option<u16>,
    /// Intel RDT/CAT L3 cache schema line (L3:<id>=<mask>;...) for the container's resctrl
    /// group (needs resctrl, and linux.intelRdt at create).
    #[arg(long = "l3-cache-schema")]
    l3_cache_schema: Option<String>,
    /// Intel RDT/MBA memory bandwidth schema line (MB:<id>=<percent>;...), as above.
    #[arg(long = "mem-bw-schema")]
    mem_bw_schema: Option<String>,
    id: String,
}

impl UpdateArgs {
    fn flags(&self) -> rampart::cgroups::commands::UpdateFlags {
        rampart::cgroups::commands::UpdateFlags {
            resources: self.resources.clone(),
            memory: self.memory.clone(),
            memory_swap: self.memory_swap.clone(),
            memory_reservation: self.memory_reservation.clone(),
            kernel_memory: self.kernel_memory.clone(),
            kernel_memory_tcp: self.kernel_memory_tcp.clone(),
            cpu_shares: self.cpu_shares,
            cpu_quota: self.cpu_quota,
            cpu_period: self.cpu_period,
            cpu_burst: self.cpu_burst,
            cpu_idle: self.cpu_idle,
            cpu_rt_period: self.cpu_rt_period,
            cpu_rt_runtime: self.cpu_rt_runtime,
            cpuset_cpus: self.cpuset_cpus.clone(),
            cpuset_mems: self.cpuset_mems.clone(),
            pids_limit: self.pids_limit,
            blkio_weight: self.blkio_weight,
            l3_cache_schema: self.l3_cache_schema.clone(),
            mem_bw_schema: self.mem_bw_schema.clone(),
            policy: None,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CheckFormat {
    Text,
    Json,
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

/// runc's rule for --rootless=auto (and no flag): rootless when the caller is not root, or is
/// root only inside a user namespace (its uid_map is not the whole identity map).
fn rootless(cli: &Cli) -> bool {
    match cli.rootless.as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => rampart::userns::caller_is_unprivileged() || rampart::userns::in_user_namespace(),
    }
}

/// The state root: --root, else /run/rampart for root and $XDG_RUNTIME_DIR/rampart for any other
/// caller (runc: $XDG_RUNTIME_DIR/runc), who cannot write /run. Such a caller without
/// XDG_RUNTIME_DIR gets /run/rampart and, should it fail there, the error says why.
///
/// Root of a user namespace counts as "any other caller" when XDG_RUNTIME_DIR is set and USER is
/// not `root` (runc's `shouldHonorXDGRuntimeDir`): rootless podman runs the runtime as uid 0 of
/// its user namespace, gives it no --root, and sets XDG_RUNTIME_DIR to the user's; /run/rampart
/// belongs to the host's root there, so every create failed with "state root /run/rampart:
/// Permission denied" (seen through vendor-tests' podman-rootless engine). USER=root keeps
/// /run/rampart for a root whose environment merely carries an XDG_RUNTIME_DIR (e.g.
/// /run/user/0), as runc keeps /run/runc.
fn state_root(cli: &Cli) -> (PathBuf, Option<String>) {
    if let Some(r) = &cli.root_flag {
        return (r.clone(), None);
    }
    let default = PathBuf::from("/run/rampart");
    if !rampart::userns::caller_is_unprivileged() {
        let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|x| Path::new(x).is_absolute());
        let user_is_root = std::env::var_os("USER").is_some_and(|u| u == "root");
        return match xdg {
            Some(x) if rampart::userns::in_user_namespace() && !user_is_root => {
                (PathBuf::from(x).join("rampart"), None)
            }
            _ => (default, None),
        };
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|x| Path::new(x).is_absolute()) {
        Some(x) => (PathBuf::from(x).join("rampart"), None),
        None => {
            // SAFETY: geteuid cannot fail.
            let uid = unsafe { libc::geteuid() };
            let hint = format!(
                "uid {uid} is not root and XDG_RUNTIME_DIR is not set (or not an absolute path), so the state root is /run/rampart, which is root's: set XDG_RUNTIME_DIR (state then goes to $XDG_RUNTIME_DIR/rampart) or pass --root"
            );
            (default, Some(hint))
        }
    }
}

fn create_options(cli: &Cli, a: &CreateArgs) -> CreateOptions {
    CreateOptions {
        rootless: rootless(cli),
        root: cli.root.clone(),
        id: a.id.clone(),
        bundle: a.bundle.clone(),
        pid_file: a.pid_file.clone(),
        console_socket: a.console_socket.clone(),
        no_pivot: a.no_pivot,
        no_new_keyring: a.no_new_keyring,
        preserve_fds: a.preserve_fds,
        cgroup_driver: driver(cli),
        policy: cli.policy.map(PolicyLevel::level),
    }
}

/// runc 1.2's --pidfd-socket (a pidfd of the new process sent over a unix socket) is not
/// implemented: refused before anything is made, rather than leaving the caller waiting on a
/// socket nobody writes to.
fn refuse_pidfd_socket(p: &Option<PathBuf>) -> Result<(), String> {
    match p {
        Some(p) => Err(format!(
            "--pidfd-socket {}: not supported by rampart (no pidfd is sent); use --pid-file",
            p.display()
        )),
        None => Ok(()),
    }
}

/// `audit`: the report on stdout; 3 when a finding meets --fail-on or violates --policy.
fn audit(
    cli: &Cli,
    bundle: &Path,
    format: AuditFormat,
    fail_on: Option<FailOn>,
) -> Result<i32, String> {
    use rampart::audit::{self, report, Severity};
    let r = audit::audit_bundle(bundle).map_err(|e| e.to_string())?;
    let policy = cli
        .policy
        .map_or(audit::Level::Privileged, PolicyLevel::level);
    let text = match format {
        AuditFormat::Text => report::text(&r, policy),
        AuditFormat::Json => line(serde_json::to_string_pretty(&report::json(&r, policy))),
        AuditFormat::Sarif => line(serde_json::to_string_pretty(&report::sarif(&r, policy))),
    };
    out(&text)?;
    let threshold = fail_on.map(|f| match f {
        FailOn::Low => Severity::Low,
        FailOn::Medium => Severity::Medium,
        FailOn::High => Severity::High,
        FailOn::Critical => Severity::Critical,
    });
    let failed = r
        .findings
        .iter()
        .any(|f| threshold.is_some_and(|t| f.severity >= t) || f.violates(policy));
    Ok(if failed { 3 } else { 0 })
}

fn run(cli: &Cli) -> Result<i32, String> {
    let e = |e: container::Error| e.to_string();
    match &cli.command {
        Command::Create(a) | Command::Run { create: a, .. } => {
            refuse_pidfd_socket(&a.pidfd_socket)?
        }
        Command::Exec(a) => refuse_pidfd_socket(&a.pidfd_socket)?,
        _ => {}
    }
    match &cli.command {
        Command::Create(a) => container::create(&create_options(cli, a))
            .map(|_| 0)
            .map_err(e),
        Command::Start { id } => container::start(&cli.root, id).map(|_| 0).map_err(e),
        Command::Exec(a) => rampart::exec::exec(&exec_options(cli, a)).map_err(|e| e.to_string()),
        Command::Features => {
            let doc = rampart::features::document();
            out(&line(serde_json::to_string_pretty(&doc)))
        }
        Command::Check { format, bundle } => {
            let r = rampart::host_check::report(&rampart::host_check::CheckOptions {
                state_root: cli.root.clone(),
                bundle: bundle.clone(),
            });
            match format {
                CheckFormat::Json => out(&line(serde_json::to_string_pretty(&r))),
                CheckFormat::Text => out(&rampart::host_check::text(&r)),
            }
        }
        Command::Checkpoint(a) => Err(format!(
            "checkpoint {}: checkpoint/restore is not supported by rampart",
            a.id
        )),
        Command::Restore(a) => Err(format!(
            "restore {}: checkpoint/restore is not supported by rampart",
            a.id
        )),
        Command::State { id } => {
            let v = container::state(&cli.root, id).map_err(e)?;
            out(&line(serde_json::to_string_pretty(&v)))
        }
        Command::Kill { all, id, signal } => {
            let sig = rampart::signals::parse(signal).map_err(|e| e.to_string())?;
            container::kill(&cli.root, id, sig, *all, driver(cli))
                .map(|_| 0)
                .map_err(e)
        }
        Command::Delete { force, id } => container::delete(&cli.root, id, *force)
            .map(|_| 0)
            .map_err(e),
        Command::Run {
            detach,
            keep,
            no_subreaper,
            create,
        } => {
            let r = container::RunOptions {
                detach: *detach,
                keep: *keep,
                subreaper: !*no_subreaper,
            };
            container::run(&create_options(cli, create), r).map_err(e)
        }
        Command::Audit {
            bundle,
            format,
            fail_on,
        } => audit(cli, bundle, *format, *fail_on),
        Command::Spec { bundle } => {
            let rootless = cli.rootless.as_deref() == Some("true");
            let path = bundle.join("config.json");
            if path.exists() {
                return Err(format!("{}: file already exists", path.display()));
            }
            // SAFETY: getuid/getgid cannot fail.
            let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
            let v =
                rampart::default_spec::generate(rootless, uid, gid).map_err(|e| e.to_string())?;
            let text = serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?;
            std::fs::write(&path, text + "\n")
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(0)
        }
        Command::Pause { id } => cgroup_cmd(rampart::cgroups::commands::pause(&cli.root, id)),
        Command::Resume { id } => cgroup_cmd(rampart::cgroups::commands::resume(&cli.root, id)),
        Command::Ps {
            format,
            id,
            ps_args,
        } => {
            use rampart::cgroups::commands as cg;
            if *format == ListFormat::Json {
                if !ps_args.is_empty() {
                    return Err("ps --format json takes no ps arguments".into());
                }
                let pids = cg::pids(&cli.root, id).map_err(|e| e.to_string())?;
                out(&line(serde_json::to_string(&pids)))
            } else {
                out(&cg::ps_table(&cli.root, id, ps_args).map_err(|e| e.to_string())?)
            }
        }
        Command::Events {
            stats,
            interval,
            id,
        } => {
            let interval = rampart::events::parse_interval(interval).map_err(|e| e.to_string())?;
            let mut out = std::io::stdout().lock();
            rampart::events::events(&cli.root, id, *stats, interval, &mut out)
                .map(|_| 0)
                .map_err(|e| e.to_string())
        }
        Command::Update(a) => cgroup_cmd(rampart::cgroups::commands::update(
            &cli.root,
            &a.id,
            &rampart::cgroups::commands::UpdateFlags {
                policy: cli.policy.map(PolicyLevel::level),
                ..a.flags()
            },
        )),
        Command::List { format, quiet } => {
            let all = container::list(&cli.root).map_err(e)?;
            if *quiet {
                let ids: String = all
                    .iter()
                    .map(|v| format!("{}\n", v["id"].as_str().unwrap_or("")))
                    .collect();
                out(&ids)
            } else if *format == ListFormat::Json {
                out(&line(serde_json::to_string(&all)))
            } else {
                out(&list_table(&all))
            }
        }
    }
}

/// `list`'s table as runc prints it through Go's tabwriter (minimum width 12, padding 3): each
/// column is as wide as its widest cell plus three spaces, the last one unpadded.
fn list_table(all: &[serde_json::Value]) -> String {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut rows = vec![["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"].map(String::from)];
    for v in all {
        rows.push(["id", "pid", "status", "bundle", "created", "owner"].map(|k| text(&v[k])));
    }
    let mut widths = [0usize; 6];
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max((cell.chars().count() + 3).max(12));
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == r.len() {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[i]));
            }
        }
        out.push('\n');
    }
    out
}

/// JSON text as one output line.
fn line(json: serde_json::Result<String>) -> String {
    json.unwrap_or_default() + "\n"
}

/// Writes `text` to stdout. A reader that went away (EPIPE) is an error, where print! would
/// panic and abort.
fn out(text: &str) -> Result<i32, String> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    o.write_all(text.as_bytes())
        .and_then(|()| o.flush())
        .map(|()| 0)
        .map_err(|e| format!("writing to stdout: {}", e.kind()))
}

/// eprintln! without its panic when stderr is gone.
fn to_stderr(text: &str) {
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "rampart: {}",
        logging::errno_in_words(text)
    );
}

fn cgroup_cmd(r: Result<(), rampart::cgroups::commands::CommandError>) -> Result<i32, String> {
    r.map(|_| 0).map_err(|e| e.to_string())
}

/// Whether the first positional argument (the subcommand) is create, run or exec, skipping the
/// global flags and the values of those that take one. Only a shortcut: a command line this
/// misreads is still caught by the check after clap has parsed it.
fn names_a_container_command() -> bool {
    const GLOBAL_WITH_VALUE: &[&str] = &[
        "--root",
        "--log",
        "--log-format",
        "--cgroup-manager",
        "--criu",
        "--audit-log",
        "--policy",
    ];
    let mut args = std::env::args_os().skip(1);
    while let Some(a) = args.next() {
        let Some(a) = a.to_str() else {
            return false;
        };
        if GLOBAL_WITH_VALUE.contains(&a) {
            args.next();
        } else if !a.starts_with('-') {
            return matches!(a, "create" | "run" | "exec");
        }
    }
    false
}

/// `rampart __generate-docs DIR` (see docs.rs): man pages and completions for `make install`.
fn generate_docs() -> ExitCode {
    let Some(dir) = std::env::args_os().nth(2) else {
        to_stderr(&format!("usage: rampart {} DIR", docs::COMMAND));
        return ExitCode::from(2);
    };
    match docs::generate(Cli::command(), Path::new(&dir)) {
        Ok(paths) => {
            let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
            match out(&text) {
                Ok(_) => ExitCode::SUCCESS,
                Err(msg) => {
                    to_stderr(&msg);
                    ExitCode::from(1)
                }
            }
        }
        Err(msg) => {
            to_stderr(&msg);
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    // Before anything can enter a container namespace: nobody inside may open this process's
    // /proc/<pid>/exe, mem or fds (CVE-2019-5736). The flag is inherited by the cloned init and
    // reset by the kernel when it execs the workload.
    // SAFETY: PR_SET_DUMPABLE takes an integer argument.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == docs::COMMAND)
    {
        return generate_docs();
    }
    // The re-exec from a sealed binary (below) happens before clap parses anything when the
    // command line plainly names create, run or exec: the re-executed process parses once, so
    // the defense costs one execve, not a second parse. An error here is not reported: the check
    // after parsing tries again and reports it through the log.
    if names_a_container_command() {
        let _ = rampart::sealed_binary::ensure();
    }
    let mut cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // podman decides whether a runtime can checkpoint by the exit status of
            // `<runtime> checkpoint --help`: the help is printed, but the answer is "no".
            let unsupported = e.kind() == clap::error::ErrorKind::DisplayHelp
                && std::env::args().any(|a| a == "checkpoint" || a == "restore");
            let _ = e.print();
            if unsupported {
                return ExitCode::from(1);
            }
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let (root, root_hint) = state_root(&cli);
    cli.root = root;
    // runc's exit status when the runtime itself fails: 255 for exec (a process that ran and
    // failed has its own status, which must not be mistaken for ours), 1 for the rest.
    let failure = ExitCode::from(if matches!(cli.command, Command::Exec(_)) {
        255
    } else {
        1
    });
    // Before anything is opened (the log file too): descriptors 3..3+N go to the container, so
    // none of ours may land there. Only the commands that start a process pass any.
    let preserved = match &cli.command {
        Command::Create(a) | Command::Run { create: a, .. } => Some(a.preserve_fds),
        Command::Exec(a) => Some(a.preserve_fds),
        _ => None,
    };
    let passed = preserved
        .map(|n| n.saturating_add(rampart::exec::listen_fds_from_env()))
        .unwrap_or(0);
    let reserved = rampart::exec::reserve_fds(passed);
    let format = match cli.log_format {
        LogFormat::Text => logging::Format::Text,
        LogFormat::Json => logging::Format::Json,
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        to_stderr(&format!("opening log file: {e}"));
        return ExitCode::from(1);
    }
    // Fail-open, as every audit write (see rampart::audit_log): the command goes on and the
    // engine's log says that its events are not recorded.
    if let Some(target) = &cli.audit_log {
        if let Err(e) = rampart::audit_log::init(target) {
            logging::warn(&format!(
                "{e}; audit events of this command are not recorded"
            ));
        }
    }
    // create, run and exec make processes that enter the container: they must run from a binary
    // the container cannot write (CVE-2019-5736). This re-execs (keeping the pid and every
    // inherited descriptor) unless the binary already is one.
    if matches!(
        cli.command,
        Command::Create(_) | Command::Run { .. } | Command::Exec(_)
    ) {
        if let Err(e) = rampart::sealed_binary::ensure() {
            let msg = e.to_string();
            logging::error(&msg);
            if !logging::logs_to_stderr() {
                to_stderr(&msg);
            }
            return failure;
        }
    }
    // Reported once logging is up, so an engine reading --log sees why.
    let result = reserved.map_err(|e| e.to_string()).and_then(|()| run(&cli));
    let result = match (result, root_hint) {
        (Err(msg), Some(hint)) if msg.contains("/run/rampart") => Err(format!("{msg} ({hint})")),
        (r, _) => r,
    };
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(msg) => {
            logging::error(&msg);
            if !logging::logs_to_stderr() {
                to_stderr(&msg);
            }
            failure
        }
    }
}
