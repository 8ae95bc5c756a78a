//! The audit rules: a catalogue with stable ids, and the checks that find them in a config.
//!
//! Each rule says which checklist it comes from: Kubernetes Pod Security Standards (PSS, its
//! baseline and restricted profiles), the CIS Docker Benchmark (section numbers of v1.6) and NIST
//! SP 800-190 (§4.4.3, insecure container runtime configurations, unless said otherwise). Where
//! rampart's level differs from PSS the rule's text says why (docs/audit-rules.md has the table).
//!
//! Ids never change meaning; a retired rule keeps its id unused.

use super::{policy::Level, Finding, Severity};
use crate::default_spec::{DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS};
use crate::namespaces::{self, Kind};
use serde_json::Value;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// One entry of the catalogue.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    /// Short kebab-case name (SARIF `name`).
    pub name: &'static str,
    pub summary: &'static str,
    /// The usual severity; a check may rate one occurrence higher or lower (documented here).
    pub severity: Severity,
    /// The least strict level that refuses it (None: reported only).
    pub level: Option<Level>,
    pub why: &'static str,
    pub fix: &'static str,
    pub sources: &'static str,
}

use Level::{Baseline, Restricted};
use Severity::{Critical, High, Low, Medium};

pub const RULES: &[Rule] = &[
    Rule {
        id: "RA101",
        name: "root-without-user-namespace",
        summary: "the process runs as uid 0 without a user namespace",
        severity: Medium,
        level: Some(Restricted),
        why: "uid 0 in the container is uid 0 on the host: it owns every root-owned host file the container can reach, and any escape lands as the host's root",
        fix: "set process.user.uid to a non-zero uid, or add a user namespace (linux.namespaces user with uidMappings/gidMappings)",
        sources: "PSS restricted (runAsNonRoot); CIS Docker 4.1; NIST SP 800-190 §4.4.3. Rated low and not refused when the process also keeps no capability beyond rampart's default set (AUDIT_WRITE, KILL, NET_BIND_SERVICE) and has no_new_privs: root's power then is its file ownership only",
    },
    Rule {
        id: "RA102",
        name: "no-new-privileges-off",
        summary: "process.noNewPrivileges is not true",
        severity: Medium,
        level: Some(Restricted),
        why: "without no_new_privs a setuid or setgid binary, or file capabilities, raise the process's privileges at execve",
        fix: "set process.noNewPrivileges to true",
        sources: "PSS restricted (allowPrivilegeEscalation: false); CIS Docker 5.25. Rated high when the rootfs holds setuid or setgid files",
    },
    Rule {
        id: "RA110",
        name: "dangerous-capability",
        summary: "a capability that breaks isolation is granted",
        severity: High,
        level: Some(Baseline),
        why: "CAP_SYS_ADMIN, SYS_PTRACE, SYS_MODULE, NET_ADMIN, DAC_READ_SEARCH, BPF and the like each have published container escapes (mounting, ptrace of other processes, kernel modules, open_by_handle_at, eBPF programs)",
        fix: "remove the capability from every set of process.capabilities",
        sources: "PSS baseline (capabilities outside the default list); CIS Docker 5.3, 5.4; NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA111",
        name: "added-capability",
        summary: "a capability beyond the default set is granted",
        severity: Medium,
        level: Some(Restricted),
        why: "each capability beyond the default set widens what the kernel lets the workload do, and with it the kernel attack surface",
        fix: "keep process.capabilities to CAP_AUDIT_WRITE, CAP_KILL and CAP_NET_BIND_SERVICE, or fewer",
        sources: "PSS restricted (drop ALL, add NET_BIND_SERVICE only; rampart also allows AUDIT_WRITE and KILL, its default set, which reach only the audit log and the container's own processes); PSS baseline refuses those outside its list; CIS Docker 5.3",
    },
    Rule {
        id: "RA120",
        name: "no-seccomp",
        summary: "no seccomp filter",
        severity: High,
        level: Some(Restricted),
        why: "without a filter every system call reaches the kernel, including those container escapes use (unshare, mount, bpf, keyctl, userfaultfd...)",
        fix: "set linux.seccomp, e.g. to the profile `rampart spec` writes",
        sources: "PSS restricted (seccompProfile RuntimeDefault or Localhost); CIS Docker 5.21; NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA121",
        name: "seccomp-default-allow",
        summary: "the seccomp filter allows every system call it does not name",
        severity: High,
        level: Some(Baseline),
        why: "a deny list misses every system call added to the kernel after it was written; the filter is as good as unconfined",
        fix: "set linux.seccomp.defaultAction to SCMP_ACT_ERRNO (or another refusing action) and allow the syscalls the workload needs",
        sources: "PSS baseline (seccompProfile must not be Unconfined); CIS Docker 5.21",
    },
    Rule {
        id: "RA122",
        name: "seccomp-dangerous-syscall",
        summary: "the seccomp filter allows a dangerous system call unconditionally",
        severity: Medium,
        level: Some(Restricted),
        why: "these system calls make namespaces, mounts, eBPF programs, kernel keys or traces: the steps of published escapes; the default profile refuses them",
        fix: "remove the system call from the allowing rule of linux.seccomp.syscalls, or allow it only with argument conditions",
        sources: "Docker's and rampart's default seccomp profiles; CIS Docker 5.21; NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA130",
        name: "no-lsm",
        summary: "no AppArmor profile, SELinux label or Landlock policy",
        severity: Low,
        level: None,
        why: "a mandatory access control layer limits what the process may touch even when another layer fails",
        fix: "set process.apparmorProfile, or a Landlock policy (process.landlock, or the annotation run.rampart.landlock: default)",
        sources: "CIS Docker 5.1, 5.2; NIST SP 800-190 §4.4.3. Not refused: PSS baseline and restricted leave an unset profile to the runtime's default. Rated medium when another layer (seccomp, no_new_privs, a read-only root, the default capabilities) is missing too",
    },
    Rule {
        id: "RA131",
        name: "apparmor-unconfined",
        summary: "the AppArmor profile is unconfined",
        severity: Medium,
        level: Some(Baseline),
        why: "an explicit unconfined profile turns AppArmor off for the container",
        fix: "remove process.apparmorProfile or name a confining profile",
        sources: "PSS baseline (AppArmor must not be unconfined); CIS Docker 5.1",
    },
    Rule {
        id: "RA140",
        name: "writable-rootfs",
        summary: "the root filesystem is writable",
        severity: Medium,
        level: Some(Restricted),
        why: "a writable root lets an attacker who got in replace the image's binaries and libraries and persist there",
        fix: "set root.readonly to true and give the workload tmpfs or volume mounts for what it writes",
        sources: "CIS Docker 5.12; NIST SP 800-190 §4.4.3 and §5.4.4. Beyond PSS, which has no read-only root rule: rampart's restricted refuses it",
    },
    Rule {
        id: "RA141",
        name: "sensitive-host-mount",
        summary: "a sensitive host path is bound into the container",
        severity: High,
        level: Some(Baseline),
        why: "the container runtime's socket, the host's /, /etc, /proc, /sys, /dev, /boot or the kubelet's directory give the container control over the host or its secrets",
        fix: "remove the mount, or bind only the file the workload needs, read-only",
        sources: "PSS baseline (hostPath volumes); CIS Docker 5.5, 5.31; NIST SP 800-190 §4.4.3. Critical for an engine socket and for /; medium for a read-only bind of another sensitive path",
    },
    Rule {
        id: "RA142",
        name: "shared-propagation",
        summary: "mount propagation is shared or rshared",
        severity: Medium,
        level: Some(Restricted),
        why: "mounts made in the container then propagate to the host's mount namespace, and the host's into the container",
        fix: "use private, rprivate, slave or rslave propagation",
        sources: "CIS Docker 5.19; beyond PSS: rampart's restricted refuses it",
    },
    Rule {
        id: "RA143",
        name: "masked-paths-missing",
        summary: "linux.maskedPaths misses some of the standard set",
        severity: Medium,
        level: Some(Baseline),
        why: "the unmasked kernel files leak host information (/proc/kcore, /proc/keys, /proc/timer_list...) or firmware interfaces",
        fix: "add the missing paths to linux.maskedPaths (the list `rampart spec` writes)",
        sources: "PSS baseline (procMount Default: the runtime's default masked paths); runc's and rampart's default set; NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA144",
        name: "readonly-paths-missing",
        summary: "linux.readonlyPaths misses some of the standard set",
        severity: Medium,
        level: Some(Baseline),
        why: "the writable kernel files (/proc/sysrq-trigger, /proc/irq, /proc/bus...) change the host, not only the container",
        fix: "add the missing paths to linux.readonlyPaths (the list `rampart spec` writes)",
        sources: "PSS baseline (procMount Default); runc's and rampart's default set",
    },
    Rule {
        id: "RA145",
        name: "writable-proc-sys",
        summary: "/proc/sys is writable",
        severity: High,
        level: Some(Baseline),
        why: "most of /proc/sys is the host's kernel configuration, not the container's: writing it changes the host (kernel.core_pattern runs a program as the host's root)",
        fix: "add /proc/sys to linux.readonlyPaths and set the namespaced sysctls the workload needs through linux.sysctl",
        sources: "PSS baseline (procMount Default); NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA146",
        name: "unsafe-sysctl",
        summary: "linux.sysctl sets a sysctl outside the safe set",
        severity: Medium,
        level: Some(Baseline),
        why: "sysctls outside the safe set are not isolated per container, or give a container resources it should not decide alone",
        fix: "keep linux.sysctl to kernel.shm_rmid_forced, net.ipv4.ip_local_port_range, net.ipv4.ip_unprivileged_port_start, net.ipv4.tcp_syncookies, net.ipv4.ping_group_range, net.ipv4.ip_local_reserved_ports, net.ipv4.tcp_keepalive_time, net.ipv4.tcp_fin_timeout, net.ipv4.tcp_keepalive_intvl, net.ipv4.tcp_keepalive_probes",
        sources: "PSS baseline (sysctls: the safe set)",
    },
    Rule {
        id: "RA150",
        name: "devices-allow-all",
        summary: "the device cgroup allows every device (or every character device)",
        severity: High,
        level: Some(Baseline),
        why: "with `a *:* rwm` (or `c *:* rw`) a process that can mknod opens the host's disks, /dev/mem and /dev/port",
        fix: "remove the allow-all entry from linux.resources.devices and allow only the devices needed",
        sources: "PSS baseline (privileged containers); CIS Docker 5.4, 5.17",
    },
    Rule {
        id: "RA151",
        name: "block-device",
        summary: "a raw block device is given to the container",
        severity: High,
        level: Some(Baseline),
        why: "a raw block device is a host disk: the container reads and writes the host's filesystem below every permission check",
        fix: "remove the block device from linux.devices and linux.resources.devices; give the workload a filesystem mount instead",
        sources: "CIS Docker 5.17; PSS baseline (privileged containers)",
    },
    Rule {
        id: "RA160",
        name: "host-pid-namespace",
        summary: "the host's pid namespace is shared",
        severity: High,
        level: Some(Baseline),
        why: "the container sees every host process and, as the same uid, can signal or ptrace them and read their /proc entries",
        fix: "add {\"type\": \"pid\"} to linux.namespaces",
        sources: "PSS baseline (hostPID); CIS Docker 5.15; NIST SP 800-190 §4.4.3",
    },
    Rule {
        id: "RA161",
        name: "host-network-namespace",
        summary: "the host's network namespace is shared",
        severity: High,
        level: Some(Baseline),
        why: "the container binds host ports, reaches host-only services on loopback and abstract unix sockets (containerd's among them)",
        fix: "add {\"type\": \"network\"} to linux.namespaces",
        sources: "PSS baseline (hostNetwork); CIS Docker 5.9; NIST SP 800-190 §4.4.2",
    },
    Rule {
        id: "RA162",
        name: "host-ipc-namespace",
        summary: "the host's IPC namespace is shared",
        severity: Medium,
        level: Some(Baseline),
        why: "the container reads and writes the host's System V shared memory, semaphores and message queues",
        fix: "add {\"type\": \"ipc\"} to linux.namespaces",
        sources: "PSS baseline (hostIPC); CIS Docker 5.16",
    },
    Rule {
        id: "RA163",
        name: "host-uts-namespace",
        summary: "the host's UTS namespace is shared",
        severity: Low,
        level: Some(Restricted),
        why: "the container sees the host's hostname and, with CAP_SYS_ADMIN, renames the host",
        fix: "add {\"type\": \"uts\"} to linux.namespaces",
        sources: "CIS Docker 5.20; beyond PSS: rampart's restricted refuses it",
    },
    Rule {
        id: "RA164",
        name: "host-user-namespace",
        summary: "no user namespace: ids are the host's",
        severity: Low,
        level: None,
        why: "without a user namespace every id in the container is the same id on the host",
        fix: "add a user namespace with uidMappings and gidMappings (`rampart spec --rootless` writes one)",
        sources: "CIS Docker 5.30 (host user namespace not shared), 2.8 (user namespace support); NIST SP 800-190 §4.4.3. Reported only: uid 0 without one is RA101",
    },
    Rule {
        id: "RA165",
        name: "host-cgroup-namespace",
        summary: "the host's cgroup namespace is shared",
        severity: Medium,
        level: Some(Restricted),
        why: "the container sees the host's cgroup paths in /proc/self/cgroup and, where cgroupfs is reachable, the whole hierarchy",
        fix: "add {\"type\": \"cgroup\"} to linux.namespaces",
        sources: "CIS Docker 5.24 (cgroup usage); beyond PSS: rampart's restricted refuses it",
    },
    Rule {
        id: "RA170",
        name: "no-memory-limit",
        summary: "no memory limit",
        severity: Low,
        level: None,
        why: "the container can take the host's memory until the OOM killer picks processes, possibly the host's",
        fix: "set linux.resources.memory.limit",
        sources: "CIS Docker 5.10; NIST SP 800-190 §4.4.3. Availability, not isolation: low",
    },
    Rule {
        id: "RA171",
        name: "no-pids-limit",
        summary: "no pids limit",
        severity: Medium,
        level: None,
        why: "a fork bomb in the container exhausts the host's pid space: nobody on the host can start a process, the administrator included",
        fix: "set linux.resources.pids.limit",
        sources: "CIS Docker 5.28",
    },
    Rule {
        id: "RA172",
        name: "no-cpu-limit",
        summary: "no cpu limit",
        severity: Low,
        level: None,
        why: "the container competes for all CPUs with the host's own work (the scheduler still shares them fairly)",
        fix: "set linux.resources.cpu (shares, quota and period, or cpus)",
        sources: "CIS Docker 5.11; availability: low",
    },
    Rule {
        id: "RA180",
        name: "no-rlimits",
        summary: "no process.rlimits",
        severity: Low,
        level: None,
        why: "the process inherits the runtime's limits (open files, core size...), which are the host's and may be unlimited",
        fix: "set process.rlimits, at least RLIMIT_NOFILE",
        sources: "CIS Docker 5.18 (default ulimits)",
    },
];

/// The catalogue entry of `id`.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Capabilities with published escapes: flagged high (RA110).
const DANGEROUS_CAPS: &[&str] = &[
    "CAP_SYS_ADMIN",
    "CAP_SYS_PTRACE",
    "CAP_SYS_MODULE",
    "CAP_NET_ADMIN",
    "CAP_DAC_READ_SEARCH",
    "CAP_BPF",
    "CAP_SYS_RAWIO",
    "CAP_SYS_BOOT",
    "CAP_MAC_ADMIN",
    "CAP_MAC_OVERRIDE",
    "CAP_PERFMON",
];

/// PSS baseline's allowed capabilities (the container engines' default set): beyond rampart's
/// default set they are refused by restricted only.
const PSS_BASELINE_CAPS: &[&str] = &[
    "CAP_AUDIT_WRITE",
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_MKNOD",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// PSS baseline's safe sysctls.
const SAFE_SYSCTLS: &[&str] = &[
    "kernel.shm_rmid_forced",
    "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range",
    "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
];

/// System calls whose unconditional allowance RA122 reports: each is a step of a published
/// escape or kernel exploit, and rampart's default profile refuses all of them.
const DANGEROUS_SYSCALLS: &[&str] = &[
    "unshare",
    "setns",
    "clone3",
    "mount",
    "umount2",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "pivot_root",
    "bpf",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "open_by_handle_at",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "userfaultfd",
    "swapon",
    "swapoff",
    "reboot",
    "iopl",
    "ioperm",
];

/// Actions that let the system call through.
fn permissive(action: &str) -> bool {
    matches!(action, "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG")
}

/// An RFC 6901 JSON pointer from its segments.
fn ptr<I, S>(parts: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    parts
        .into_iter()
        .map(|p| format!("/{}", p.as_ref().replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn finding(id: &'static str, path: String, message: String) -> Finding {
    let r = rule(id);
    Finding {
        id,
        severity: r.map_or(Medium, |r| r.severity),
        path,
        message,
        level: r.and_then(|r| r.level),
    }
}

fn array<'a>(v: &'a Value, p: &str) -> &'a [Value] {
    v.pointer(p)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// A capability name as the kernel's CAP_ form (configs may leave the prefix out).
fn cap_name(v: &Value) -> String {
    let n = v.as_str().unwrap_or("").to_ascii_uppercase();
    if n.starts_with("CAP_") {
        n
    } else {
        format!("CAP_{n}")
    }
}

const CAP_SETS: &[&str] = &[
    "bounding",
    "effective",
    "permitted",
    "inheritable",
    "ambient",
];

/// The facts several rules need.
struct Context {
    user_namespace: bool,
    uid: u64,
    nnp: bool,
    readonly_root: bool,
    seccomp_refusing: bool,
    /// Every capability in any set is one of rampart's default three.
    default_caps_only: bool,
}

fn context(c: &Value) -> Context {
    // A new user namespace, or one joined that is not the runtime's own (another container's).
    let user_namespace = array(c, "/linux/namespaces").iter().any(|n| {
        n["type"] == "user"
            && match n["path"].as_str().filter(|p| !p.is_empty()) {
                None => true,
                Some(p) => !namespaces::is_runtimes_own(Kind::User, Path::new(p)),
            }
    });
    let default_caps_only = CAP_SETS.iter().all(|set| {
        array(c, &format!("/process/capabilities/{set}"))
            .iter()
            .all(|v| DEFAULT_CAPS.contains(&cap_name(v).as_str()))
    });
    Context {
        user_namespace,
        uid: c
            .pointer("/process/user/uid")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        nnp: c.pointer("/process/noNewPrivileges") == Some(&Value::Bool(true)),
        readonly_root: c.pointer("/root/readonly") == Some(&Value::Bool(true)),
        seccomp_refusing: c
            .pointer("/linux/seccomp/defaultAction")
            .and_then(Value::as_str)
            .is_some_and(|a| !permissive(a)),
        default_caps_only,
    }
}

/// Every finding on config `c` (config.json as JSON) of the bundle at `bundle`, whose root
/// directory is `rootfs` (None when it does not exist: the rootfs checks are then skipped).
pub fn check(c: &Value, bundle: &Path, rootfs: Option<&Path>) -> Vec<Finding> {
    let cx = context(c);
    let mut out = Vec::new();
    identity(c, &cx, rootfs, &mut out);
    capabilities(c, &mut out);
    seccomp(c, &mut out);
    lsm(c, &cx, &mut out);
    filesystem(c, &cx, bundle, &mut out);
    devices(c, &mut out);
    host_namespaces(c, &mut out);
    resources(c, &mut out);
    out
}

fn identity(c: &Value, cx: &Context, rootfs: Option<&Path>, out: &mut Vec<Finding>) {
    if cx.uid == 0 && !cx.user_namespace {
        let mut f = finding(
            "RA101",
            ptr(["process", "user", "uid"]),
            "uid 0 with no user namespace of the container's own".into(),
        );
        if cx.default_caps_only && cx.nnp {
            f.severity = Low;
            f.level = None;
            f.message +=
                " (no capability beyond the default set and no_new_privs on: reported only)";
        }
        out.push(f);
    }
    if !cx.nnp {
        let path = if c.pointer("/process/noNewPrivileges").is_some() {
            ptr(["process", "noNewPrivileges"])
        } else {
            ptr(["process"])
        };
        let mut f = finding("RA102", path, "no_new_privs is off".into());
        if let Some(example) = rootfs.and_then(setuid_file) {
            f.severity = High;
            f.message += &format!(", and the rootfs holds setuid/setgid files ({example})");
        }
        out.push(f);
    }
}

/// The first setuid or setgid regular file found under `rootfs`, as a path inside the
/// container. The walk goes through descriptors: each directory is opened relative to its
/// parent with O_NOFOLLOW, so an image (or a volume changing under the walk) cannot swap a
/// directory for a symlink and lead it onto the host's files. It stays on the rootfs's
/// filesystem and is bounded in depth and entries, so a huge or hostile image cannot stall it.
fn setuid_file(rootfs: &Path) -> Option<String> {
    let root = std::fs::File::open(rootfs).ok()?;
    let root = std::os::fd::OwnedFd::from(root);
    let dev = crate::syscalls::fstat(root.as_fd()).ok()?.st_dev;
    let mut budget = 200_000usize;
    find_setuid(root.as_fd(), Path::new("/"), dev, 0, &mut budget)
}

fn find_setuid(
    dir: std::os::fd::BorrowedFd<'_>,
    at: &Path,
    dev: libc::dev_t,
    depth: usize,
    budget: &mut usize,
) -> Option<String> {
    use nix::fcntl::AtFlags;
    use std::ffi::OsStr;
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    const MAX_DEPTH: usize = 64;
    let listing =
        crate::syscalls::openat(dir, Path::new("."), libc::O_RDONLY | libc::O_DIRECTORY, 0).ok()?;
    let mut d = nix::dir::Dir::from(listing).ok()?;
    let names: Vec<std::ffi::OsString> = d
        .iter()
        .flatten()
        .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
        .filter(|n| n != "." && n != "..")
        .collect();
    for name in names {
        *budget = budget.checked_sub(1)?;
        let name = Path::new(&name);
        let Ok(st) =
            nix::sys::stat::fstatat(Some(dir.as_raw_fd()), name, AtFlags::AT_SYMLINK_NOFOLLOW)
        else {
            continue;
        };
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG if st.st_mode & 0o6000 != 0 => {
                return Some(at.join(name).display().to_string());
            }
            // Kernel filesystems and volumes mounted into the image are not the image.
            libc::S_IFDIR if st.st_dev == dev && depth < MAX_DEPTH => {
                let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW;
                let Ok(sub) = crate::syscalls::openat(dir, name, flags, 0) else {
                    continue;
                };
                if let Some(found) =
                    find_setuid(sub.as_fd(), &at.join(name), dev, depth + 1, budget)
                {
                    return Some(found);
                }
                if *budget == 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

fn capabilities(c: &Value, out: &mut Vec<Finding>) {
    // One finding per capability, at its first place (bounding first: it limits the others),
    // naming every set it is in.
    let mut names: Vec<(String, String, Vec<&str>)> = Vec::new();
    for set in CAP_SETS {
        for (i, v) in array(c, &format!("/process/capabilities/{set}"))
            .iter()
            .enumerate()
        {
            let name = cap_name(v);
            if DEFAULT_CAPS.contains(&name.as_str()) {
                continue;
            }
            match names.iter_mut().find(|(n, _, _)| *n == name) {
                Some((_, _, sets)) => sets.push(set),
                None => names.push((
                    name,
                    ptr(["process", "capabilities", set, &i.to_string()]),
                    vec![set],
                )),
            }
        }
    }
    for (name, path, sets) in names {
        let sets = sets.join(", ");
        if DANGEROUS_CAPS.contains(&name.as_str()) {
            out.push(finding("RA110", path, format!("{name} in {sets}")));
        } else {
            let mut f = finding("RA111", path, format!("{name} in {sets}"));
            if !PSS_BASELINE_CAPS.contains(&name.as_str()) {
                f.level = Some(Baseline);
            }
            out.push(f);
        }
    }
}

fn seccomp(c: &Value, out: &mut Vec<Finding>) {
    let Some(sc) = c.pointer("/linux/seccomp").filter(|v| !v.is_null()) else {
        out.push(finding(
            "RA120",
            ptr(["linux", "seccomp"]),
            "linux.seccomp is not set: every system call is allowed".into(),
        ));
        return;
    };
    let default = sc["defaultAction"].as_str().unwrap_or("");
    let rules = array(sc, "/syscalls");
    // Unconditional rules decide a system call whatever its arguments; the first one naming it
    // is taken (libseccomp keeps the first of duplicate rules without arguments).
    let unconditional = |name: &str| {
        rules.iter().enumerate().find_map(|(i, r)| {
            let has_args = r["args"].as_array().is_some_and(|a| !a.is_empty());
            let j = array(r, "/names").iter().position(|n| n == name)?;
            (!has_args).then(|| (r["action"].as_str().unwrap_or(""), i, j))
        })
    };
    if permissive(default) {
        let open: Vec<&str> = DANGEROUS_SYSCALLS
            .iter()
            .copied()
            .filter(|s| unconditional(s).is_none_or(|(a, _, _)| permissive(a)))
            .collect();
        let mut msg = format!("defaultAction {default}");
        if !open.is_empty() {
            msg += &format!("; allowed among the dangerous ones: {}", open.join(", "));
        }
        out.push(finding(
            "RA121",
            ptr(["linux", "seccomp", "defaultAction"]),
            msg,
        ));
        return;
    }
    for s in DANGEROUS_SYSCALLS {
        if let Some((action, i, j)) = unconditional(s).filter(|(a, _, _)| permissive(a)) {
            out.push(finding(
                "RA122",
                ptr([
                    "linux",
                    "seccomp",
                    "syscalls",
                    &i.to_string(),
                    "names",
                    &j.to_string(),
                ]),
                format!("{s} is allowed ({action}) whatever its arguments"),
            ));
        }
    }
}

fn lsm(c: &Value, cx: &Context, out: &mut Vec<Finding>) {
    let apparmor = c
        .pointer("/process/apparmorProfile")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let selinux = c
        .pointer("/process/selinuxLabel")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    let landlock = c.pointer("/process/landlock").is_some_and(|v| !v.is_null())
        || c.pointer(&ptr([
            "annotations",
            crate::landlock::DEFAULT_POLICY_ANNOTATION,
        ]))
        .is_some();
    if apparmor == Some("unconfined") {
        out.push(finding(
            "RA131",
            ptr(["process", "apparmorProfile"]),
            "apparmorProfile is \"unconfined\"".into(),
        ));
    }
    let confined = apparmor.is_some_and(|p| p != "unconfined") || selinux.is_some() || landlock;
    if !confined {
        let mut f = finding(
            "RA130",
            ptr(["process"]),
            "neither process.apparmorProfile, process.selinuxLabel nor a Landlock policy".into(),
        );
        let others = cx.seccomp_refusing && cx.nnp && cx.readonly_root && cx.default_caps_only;
        if !others {
            f.severity = Medium;
            f.message += ", and another layer is missing too";
        }
        out.push(f);
    }
}

/// Host paths a bind mount must not bring in: the path, whether binding something beneath it
/// counts too, and the severity of a writable bind.
const SENSITIVE: &[(&str, bool, Severity)] = &[
    ("/", false, Critical),
    ("/run/docker.sock", false, Critical),
    ("/var/run/docker.sock", false, Critical),
    ("/run/containerd/containerd.sock", false, Critical),
    ("/var/run/containerd/containerd.sock", false, Critical),
    ("/run/crio/crio.sock", false, Critical),
    ("/run/podman/podman.sock", false, Critical),
    ("/etc", true, High),
    ("/proc", true, High),
    ("/sys", true, High),
    ("/dev", true, High),
    ("/boot", true, High),
    // Pods' volumes live beneath it: only the directory itself or what holds it.
    ("/var/lib/kubelet", false, High),
];

/// Engine sockets bound from wherever they are.
const SOCKET_NAMES: &[&str] = &["docker.sock", "containerd.sock", "crio.sock", "podman.sock"];

/// The sensitive path `source` brings in, if any, and how bad that is.
fn sensitive_source(source: &Path) -> Option<(String, Severity)> {
    if source
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| SOCKET_NAMES.contains(&n))
    {
        return Some((source.display().to_string(), Critical));
    }
    let mut worst: Option<(String, Severity)> = None;
    for (p, beneath, sev) in SENSITIVE {
        let p = Path::new(p);
        // The source holds the sensitive path (binding /run brings /run/docker.sock in), or is
        // the path, or (for directories) is beneath it.
        let hit = p.starts_with(source) || (*beneath && source.starts_with(p));
        if hit && worst.as_ref().is_none_or(|(_, w)| sev > w) {
            worst = Some((p.display().to_string(), *sev));
        }
    }
    worst
}

fn filesystem(c: &Value, cx: &Context, bundle: &Path, out: &mut Vec<Finding>) {
    if !cx.readonly_root {
        let path = if c.pointer("/root/readonly").is_some() {
            ptr(["root", "readonly"])
        } else {
            ptr(["root"])
        };
        out.push(finding("RA140", path, "root.readonly is not true".into()));
    }
    for (i, m) in array(c, "/mounts").iter().enumerate() {
        let options: Vec<&str> = array(m, "/options")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let bind = m["type"] == "bind" || options.iter().any(|o| *o == "bind" || *o == "rbind");
        if let Some(o) = options
            .iter()
            .position(|o| *o == "shared" || *o == "rshared")
        {
            out.push(finding(
                "RA142",
                ptr(["mounts", &i.to_string(), "options", &o.to_string()]),
                format!(
                    "mount {} has {} propagation",
                    m["destination"].as_str().unwrap_or("?"),
                    options[o]
                ),
            ));
        }
        if !bind {
            continue;
        }
        let Some(src) = m["source"].as_str() else {
            continue;
        };
        let src = if Path::new(src).is_absolute() {
            PathBuf::from(src)
        } else {
            bundle.join(src)
        };
        // Symlinks on the host count as where they lead (/var/run is /run on most hosts).
        let real = std::fs::canonicalize(&src).ok();
        let hit = [Some(src.clone()), real]
            .into_iter()
            .flatten()
            .filter_map(|s| sensitive_source(&s))
            .max_by_key(|(_, sev)| *sev);
        if let Some((what, mut sev)) = hit {
            let ro = options.iter().any(|o| *o == "ro" || *o == "rro");
            if ro && sev == High {
                sev = Medium;
            }
            let mut f = finding(
                "RA141",
                ptr(["mounts", &i.to_string(), "source"]),
                format!(
                    "{} bound to {}{} (brings in {what})",
                    src.display(),
                    m["destination"].as_str().unwrap_or("?"),
                    if ro { ", read-only" } else { "" }
                ),
            );
            f.severity = sev;
            out.push(f);
        }
    }
    if let Some(p) = c
        .pointer("/linux/rootfsPropagation")
        .and_then(Value::as_str)
        .filter(|p| *p == "shared" || *p == "rshared")
    {
        out.push(finding(
            "RA142",
            ptr(["linux", "rootfsPropagation"]),
            format!("rootfsPropagation is {p}"),
        ));
    }
    let has_proc = array(c, "/mounts").iter().any(|m| m["type"] == "proc");
    let listed = |p: &str| -> Vec<String> {
        array(c, p)
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let masked = listed("/linux/maskedPaths");
    let missing: Vec<&str> = MASKED_PATHS
        .iter()
        .copied()
        .filter(|p| !masked.iter().any(|m| m == p))
        .collect();
    if !missing.is_empty() {
        out.push(finding(
            "RA143",
            ptr(["linux", "maskedPaths"]),
            format!("not masked: {}", missing.join(", ")),
        ));
    }
    let readonly = listed("/linux/readonlyPaths");
    // A masked /proc/sys is hidden altogether, which is read-only enough.
    let covered = |p: &str| readonly.iter().chain(masked.iter()).any(|r| r == p);
    let missing: Vec<&str> = READONLY_PATHS
        .iter()
        .copied()
        .filter(|p| *p != "/proc/sys" && !covered(p))
        .collect();
    if !missing.is_empty() {
        out.push(finding(
            "RA144",
            ptr(["linux", "readonlyPaths"]),
            format!("not read-only: {}", missing.join(", ")),
        ));
    }
    if has_proc && !covered("/proc/sys") {
        out.push(finding(
            "RA145",
            ptr(["linux", "readonlyPaths"]),
            "/proc/sys is not in linux.readonlyPaths: a proc mount leaves it writable".into(),
        ));
    }
    if let Some(sysctls) = c.pointer("/linux/sysctl").and_then(Value::as_object) {
        for k in sysctls.keys() {
            if !SAFE_SYSCTLS.contains(&k.as_str()) {
                out.push(finding(
                    "RA146",
                    ptr(["linux", "sysctl", k]),
                    format!("sysctl {k} is outside the safe set"),
                ));
            }
        }
    }
}

fn devices(c: &Value, out: &mut Vec<Finding>) {
    for (i, d) in array(c, "/linux/resources/devices").iter().enumerate() {
        if d["allow"] != Value::Bool(true) {
            continue;
        }
        let kind = d["type"].as_str().unwrap_or("a");
        let access = d["access"].as_str().unwrap_or("rwm");
        // "m" alone lets the container make nodes it still cannot open (Docker's default list
        // has `c *:* m` and `b *:* m`): only read or write access reaches a device.
        if !access.contains('r') && !access.contains('w') {
            continue;
        }
        let any = |k: &str| {
            d.get(k)
                .is_none_or(|v| v.is_null() || v.as_i64() == Some(-1))
        };
        let path = ptr(["linux", "resources", "devices", &i.to_string()]);
        if (kind == "a" || kind == "c") && any("major") && any("minor") {
            out.push(finding(
                "RA150",
                path,
                format!("allows {kind} *:* {access}"),
            ));
        } else if kind == "b" || kind == "a" {
            out.push(finding(
                "RA151",
                path,
                format!(
                    "the device cgroup allows block devices ({kind} {}:{})",
                    d["major"].as_i64().map_or("*".into(), |m| m.to_string()),
                    d["minor"].as_i64().map_or("*".into(), |m| m.to_string())
                ),
            ));
        }
    }
    for (i, d) in array(c, "/linux/devices").iter().enumerate() {
        if d["type"] == "b" {
            out.push(finding(
                "RA151",
                ptr(["linux", "devices", &i.to_string()]),
                format!(
                    "block device {} ({}:{})",
                    d["path"].as_str().unwrap_or("?"),
                    d["major"],
                    d["minor"]
                ),
            ));
        }
    }
}

fn host_namespaces(c: &Value, out: &mut Vec<Finding>) {
    let list = array(c, "/linux/namespaces");
    for (id, oci, kind) in [
        ("RA160", "pid", Kind::Pid),
        ("RA161", "network", Kind::Net),
        ("RA162", "ipc", Kind::Ipc),
        ("RA163", "uts", Kind::Uts),
        ("RA164", "user", Kind::User),
        ("RA165", "cgroup", Kind::Cgroup),
    ] {
        let entry = list.iter().position(|n| n["type"] == oci);
        match entry {
            None => out.push(finding(
                id,
                ptr(["linux", "namespaces"]),
                format!("no {oci} namespace: the host's is shared"),
            )),
            Some(i) => {
                // Joining the runtime's own namespace by path is sharing the host's too.
                let joined = list[i]["path"].as_str().filter(|p| !p.is_empty());
                if let Some(p) = joined.filter(|p| namespaces::is_runtimes_own(kind, Path::new(p)))
                {
                    out.push(finding(
                        id,
                        ptr(["linux", "namespaces", &i.to_string(), "path"]),
                        format!("{oci} namespace {p} is the host's"),
                    ));
                }
            }
        }
    }
}

fn resources(c: &Value, out: &mut Vec<Finding>) {
    let r = c.pointer("/linux/resources").filter(|v| !v.is_null());
    let path = |k: &str| match r {
        Some(_) => ptr(["linux", "resources", k]),
        None => ptr(["linux", "resources"]),
    };
    let positive = |p: &str| {
        r.and_then(|r| r.pointer(p))
            .and_then(Value::as_i64)
            .is_some_and(|v| v > 0)
    };
    if !positive("/memory/limit") {
        out.push(finding(
            "RA170",
            path("memory"),
            "linux.resources.memory.limit is not set".into(),
        ));
    }
    if !positive("/pids/limit") {
        out.push(finding(
            "RA171",
            path("pids"),
            "linux.resources.pids.limit is not set".into(),
        ));
    }
    let cpu_limited = positive("/cpu/quota")
        || r.and_then(|r| r.pointer("/cpu/cpus"))
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
    if !cpu_limited {
        out.push(finding(
            "RA172",
            path("cpu"),
            "neither linux.resources.cpu.quota nor cpu.cpus is set".into(),
        ));
    }
    if array(c, "/process/rlimits").is_empty() {
        out.push(finding(
            "RA180",
            ptr(["process", "rlimits"]),
            "process.rlimits is empty".into(),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn default_config() -> Value {
        crate::default_spec::generate(false, 0, 0).unwrap()
    }

    fn ids(f: &[Finding]) -> Vec<&'static str> {
        f.iter().map(|f| f.id).collect()
    }

    fn run(c: &Value) -> Vec<Finding> {
        check(c, Path::new("/nonexistent-bundle"), None)
    }

    #[test]
    fn catalogue_ids_are_unique_and_every_finding_has_a_rule() {
        for (i, r) in RULES.iter().enumerate() {
            assert!(RULES[i + 1..].iter().all(|o| o.id != r.id), "{}", r.id);
            assert!(!r.why.is_empty() && !r.fix.is_empty() && !r.sources.is_empty());
        }
        for f in run(&json!({})) {
            assert!(rule(f.id).is_some(), "{}", f.id);
        }
    }

    #[test]
    fn the_docs_table_matches_the_catalogue() {
        let doc = include_str!("../../../docs/audit-rules.md");
        for r in RULES {
            let level = r.level.map_or("reported only", |l| l.name());
            let row = format!(
                "| {} | {} | {} | {level} |",
                r.id,
                r.summary,
                r.severity.name()
            );
            assert!(
                doc.contains(&row),
                "docs/audit-rules.md lacks the row {row}"
            );
        }
    }

    #[test]
    fn default_spec_has_nothing_above_low_and_passes_restricted() {
        let f = run(&default_config());
        for x in &f {
            assert!(x.severity <= Low, "{x:?}");
            assert!(!x.violates(Level::Restricted), "{x:?}");
        }
        // What is still reported, each for its documented reason.
        assert_eq!(ids(&f), ["RA101", "RA130", "RA164", "RA170", "RA172"]);
    }

    #[test]
    fn capabilities_are_rated_and_located() {
        let mut c = default_config();
        c["process"]["capabilities"]["bounding"] = json!([
            "CAP_KILL",
            "CAP_CHOWN",
            "CAP_SYS_ADMIN",
            "NET_ADMIN",
            "CAP_SYSLOG"
        ]);
        c["process"]["capabilities"]["effective"] = json!(["CAP_SYS_ADMIN"]);
        let f = run(&c);
        let admin = f
            .iter()
            .find(|f| f.message.starts_with("CAP_SYS_ADMIN"))
            .unwrap();
        assert_eq!(admin.id, "RA110");
        assert_eq!(admin.severity, High);
        assert_eq!(admin.path, "/process/capabilities/bounding/2");
        assert!(admin.message.contains("bounding, effective"));
        let net = f
            .iter()
            .find(|f| f.message.starts_with("CAP_NET_ADMIN"))
            .unwrap();
        assert_eq!(
            (net.id, net.path.as_str()),
            ("RA110", "/process/capabilities/bounding/3")
        );
        let chown = f
            .iter()
            .find(|f| f.message.starts_with("CAP_CHOWN"))
            .unwrap();
        assert_eq!((chown.id, chown.level), ("RA111", Some(Restricted)));
        let syslog = f
            .iter()
            .find(|f| f.message.starts_with("CAP_SYSLOG"))
            .unwrap();
        assert_eq!((syslog.id, syslog.level), ("RA111", Some(Baseline)));
        // Root is no longer "otherwise confined".
        let root = f.iter().find(|f| f.id == "RA101").unwrap();
        assert_eq!((root.severity, root.level), (Medium, Some(Restricted)));
    }

    #[test]
    fn seccomp_absent_default_allow_and_dangerous_syscalls() {
        let mut c = default_config();
        c["linux"].as_object_mut().unwrap().remove("seccomp");
        assert!(ids(&run(&c)).contains(&"RA120"));
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO"}]});
        let f = run(&c);
        let allow = f.iter().find(|f| f.id == "RA121").unwrap();
        assert_eq!(allow.path, "/linux/seccomp/defaultAction");
        let open: Vec<&str> = allow
            .message
            .rsplit(": ")
            .next()
            .unwrap()
            .split(", ")
            .collect();
        assert!(
            open.contains(&"unshare") && !open.contains(&"mount"),
            "{open:?}"
        );
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["clone3", "bpf"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
            {"names": ["getpid", "unshare"], "action": "SCMP_ACT_ALLOW"}]});
        let f = run(&c);
        let bad: Vec<_> = f.iter().filter(|f| f.id == "RA122").collect();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert_eq!(bad[0].path, "/linux/seccomp/syscalls/2/names/1");
    }

    #[test]
    fn host_namespaces_missing_or_joined() {
        let mut c = default_config();
        c["linux"]["namespaces"] = json!([{"type": "mount"}, {"type": "ipc"},
            {"type": "network", "path": "/proc/self/ns/net"}]);
        let f = run(&c);
        for id in ["RA160", "RA161", "RA163", "RA165"] {
            assert!(ids(&f).contains(&id), "{id} in {f:?}");
        }
        assert!(!ids(&f).contains(&"RA162"));
        let net = f.iter().find(|f| f.id == "RA161").unwrap();
        assert_eq!(net.path, "/linux/namespaces/2/path");
        // Joining the runtime's own user namespace is no user namespace at all.
        let mut c = default_config();
        c["process"]["capabilities"]["bounding"] = json!(["CAP_CHOWN"]);
        c["linux"]["namespaces"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "user", "path": "/proc/self/ns/user"}));
        let f = run(&c);
        let user = f.iter().find(|f| f.id == "RA164").unwrap();
        assert_eq!(user.path, "/linux/namespaces/6/path");
        assert_eq!(f.iter().find(|f| f.id == "RA101").unwrap().severity, Medium);
    }

    #[test]
    fn sensitive_binds() {
        let mut c = default_config();
        let m = c["mounts"].as_array_mut().unwrap();
        let n = m.len();
        m.push(
            json!({"destination": "/var/run/docker.sock", "type": "bind",
                       "source": "/var/run/docker.sock", "options": ["rbind"]}),
        );
        m.push(json!({"destination": "/h", "type": "none", "source": "/etc", "options": ["bind", "ro"]}));
        m.push(json!({"destination": "/r", "type": "none", "source": "/run", "options": ["rbind", "rshared"]}));
        m.push(json!({"destination": "/k", "type": "bind",
                       "source": "/var/lib/kubelet/pods/x/volumes/v", "options": ["rbind"]}));
        m.push(
            json!({"destination": "/d", "type": "bind", "source": "/dev/kvm", "options": ["bind"]}),
        );
        let f = run(&c);
        let binds: Vec<_> = f.iter().filter(|f| f.id == "RA141").collect();
        let at = |i: usize| {
            binds
                .iter()
                .find(|f| f.path == format!("/mounts/{i}/source"))
        };
        assert_eq!(at(n).unwrap().severity, Critical);
        assert_eq!(at(n + 1).unwrap().severity, Medium);
        // /run holds the engines' sockets.
        assert_eq!(at(n + 2).unwrap().severity, Critical);
        assert!(at(n + 3).is_none(), "a pod volume is not the kubelet dir");
        assert_eq!(at(n + 4).unwrap().severity, High);
        let prop = f.iter().find(|f| f.id == "RA142").unwrap();
        assert_eq!(prop.path, format!("/mounts/{}/options/1", n + 2));
    }

    #[test]
    fn paths_sysctls_devices_resources() {
        let mut c = default_config();
        c["linux"]["maskedPaths"] = json!(["/proc/kcore"]);
        c["linux"]["readonlyPaths"] = json!(["/proc/bus"]);
        c["linux"]["sysctl"] =
            json!({"net.ipv4.tcp_syncookies": "1", "kernel.core_pattern": "|/x"});
        c["linux"]["resources"] = json!({"devices": [{"allow": true, "access": "rwm"},
            {"allow": true, "type": "b", "major": 8, "access": "rw"},
            {"allow": true, "type": "c", "access": "m"}, {"allow": true, "type": "b", "access": "m"},
            {"allow": true, "type": "c", "access": "rw"}]});
        c["linux"]["devices"] = json!([{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}]);
        c["process"].as_object_mut().unwrap().remove("rlimits");
        let f = run(&c);
        let get = |id: &str| f.iter().filter(|f| f.id == id).collect::<Vec<_>>();
        assert!(get("RA143")[0].message.contains("/proc/keys"));
        assert!(!get("RA143")[0].message.contains("/proc/kcore"));
        assert!(get("RA144")[0].message.contains("/proc/sysrq-trigger"));
        assert_eq!(get("RA145").len(), 1);
        assert_eq!(get("RA146").len(), 1);
        assert_eq!(get("RA146")[0].path, "/linux/sysctl/kernel.core_pattern");
        // mknod-only entries (Docker's defaults) reach no device.
        assert_eq!(get("RA150").len(), 2);
        assert_eq!(get("RA150")[0].path, "/linux/resources/devices/0");
        assert_eq!(get("RA150")[1].path, "/linux/resources/devices/4");
        assert_eq!(get("RA151").len(), 2);
        for id in ["RA170", "RA171", "RA172", "RA180"] {
            assert_eq!(get(id).len(), 1, "{id}");
        }
    }

    #[test]
    fn nnp_off_is_high_with_a_setuid_file_in_the_rootfs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("rampart-audit-{}", std::process::id()));
        let bin = dir.join("usr/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let mut c = default_config();
        c["process"]["noNewPrivileges"] = json!(false);
        // A setuid file outside the rootfs, reached through a symlink in it, is not the image's.
        let outside =
            std::env::temp_dir().join(format!("rampart-audit-out-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(outside.join("host-su"), b"").unwrap();
        std::fs::set_permissions(
            outside.join("host-su"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        let plain = check(&c, &dir, Some(&dir));
        std::fs::remove_dir_all(&outside).unwrap();
        std::fs::write(bin.join("su"), b"").unwrap();
        std::fs::set_permissions(bin.join("su"), std::fs::Permissions::from_mode(0o4755)).unwrap();
        let suid = check(&c, &dir, Some(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        let nnp = |f: &[Finding]| f.iter().find(|f| f.id == "RA102").cloned().unwrap();
        assert_eq!(nnp(&plain).severity, Medium);
        assert_eq!(nnp(&suid).severity, High);
        assert!(nnp(&suid).message.contains("/usr/bin/su"));
        assert_eq!(nnp(&suid).path, "/process/noNewPrivileges");
    }
}
