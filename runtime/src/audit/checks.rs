//! The checks: each reads config.json as JSON (and the rootfs where it matters) and reports
//! findings of the rules in `rules`, with the JSON pointer of the offending entry.

use super::policy::Level::Baseline;
use super::rules::rule;
use super::Severity::{Critical, High, Low, Medium};
use super::{Finding, Severity};
use crate::default_spec::{DEFAULT_CAPS, MASKED_PATHS, READONLY_PATHS};
use crate::namespaces::{self, Kind};
use serde_json::Value;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

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

/// Actions that let the system call through, or may: NOTIFY hands it to the agent named by
/// listenerPath, whose "continue" answer runs it, and the config names the agent.
fn permissive(action: &str) -> bool {
    matches!(
        action,
        "SCMP_ACT_ALLOW" | "SCMP_ACT_LOG" | "SCMP_ACT_NOTIFY"
    )
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
    hooks(c, &mut out);
    out
}

/// Every hook the config lists, whatever its kind: each runs with the runtime's privileges.
fn hooks(c: &Value, out: &mut Vec<Finding>) {
    let Some(kinds) = c.get("hooks").and_then(Value::as_object) else {
        return;
    };
    for (kind, list) in kinds {
        for (i, h) in list
            .as_array()
            .map_or(&[][..], Vec::as_slice)
            .iter()
            .enumerate()
        {
            out.push(finding(
                "RA190",
                ptr(["hooks", kind, &i.to_string()]),
                format!(
                    "{kind} hook {} runs with the runtime's privileges",
                    h["path"].as_str().unwrap_or("?")
                ),
            ));
        }
    }
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
        let found = match unconditional(s) {
            Some(u) => Some(u).filter(|(a, _, _)| permissive(a)),
            None => allowed_for_every_probe(rules, s),
        };
        if let Some((action, i, j)) = found {
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

/// Whether seccomp condition `c` holds for the arguments `args`, compared as libseccomp does on
/// 64 bits. A condition this build cannot read holds (so the rule counts as allowing more).
fn condition_holds(c: &Value, args: &[u64; 6]) -> bool {
    let Some(x) = c["index"]
        .as_u64()
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| args.get(i).copied())
    else {
        return true;
    };
    let v = c["value"].as_u64().unwrap_or(0);
    match c["op"].as_str().unwrap_or("") {
        "SCMP_CMP_EQ" => x == v,
        "SCMP_CMP_NE" => x != v,
        "SCMP_CMP_LT" => x < v,
        "SCMP_CMP_LE" => x <= v,
        "SCMP_CMP_GT" => x > v,
        "SCMP_CMP_GE" => x >= v,
        "SCMP_CMP_MASKED_EQ" => x & c["valueTwo"].as_u64().unwrap_or(0) == v,
        _ => true,
    }
}

/// The first permissive rule naming `name` when its argument-scoped permissive rules, together,
/// let every probed argument vector through: a condition every value meets (`(x & 0) == 0`,
/// `x >= 0`) or rules that split the values between them (`x < 5`, `x >= 5`) allow the call
/// whatever its arguments, although no rule is unconditional. The probes are the boundary
/// values, the namespace flags, and each condition's own value and neighbours, for one argument
/// at a time and for all six at once.
fn allowed_for_every_probe<'a>(rules: &'a [Value], name: &str) -> Option<(&'a str, usize, usize)> {
    let naming: Vec<(usize, usize, &Value)> = rules
        .iter()
        .enumerate()
        .filter(|(_, r)| permissive(r["action"].as_str().unwrap_or("")))
        .filter_map(|(i, r)| Some((i, array(r, "/names").iter().position(|n| n == name)?, r)))
        .collect();
    let (first_i, first_j, first) = *naming.first()?;
    let mut probes: Vec<u64> = vec![
        0,
        1,
        0x2_0000,
        0x1000_0000,
        0x4000_0000,
        0x7fff_ffff,
        0x8000_0000,
        0xffff_ffff,
        0x1_0000_0000,
        u64::MAX,
    ];
    for (_, _, r) in &naming {
        for c in array(r, "/args") {
            let v = c["value"].as_u64().unwrap_or(0);
            let m = c["valueTwo"].as_u64().unwrap_or(0);
            probes.extend([v, v.wrapping_sub(1), v.wrapping_add(1), v ^ m, !v]);
        }
    }
    let mut vectors: Vec<[u64; 6]> = probes.iter().map(|p| [*p; 6]).collect();
    for i in 0..6 {
        for p in &probes {
            let mut a = [0u64; 6];
            a[i] = *p;
            vectors.push(a);
        }
    }
    let allowed = |a: &[u64; 6]| {
        naming
            .iter()
            .any(|(_, _, r)| array(r, "/args").iter().all(|c| condition_holds(c, a)))
    };
    vectors
        .iter()
        .all(allowed)
        .then(|| (first["action"].as_str().unwrap_or(""), first_i, first_j))
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

/// `path` as the runtime may find it: relative paths against the bundle (as bind sources are)
/// and, with `cwd_too`, against the runtime's cwd (as the kernel reads an overlay's relative
/// layers), each as written and with host symlinks resolved.
fn host_spellings(path: &str, bundle: &Path, cwd_too: bool) -> Vec<PathBuf> {
    let p = Path::new(path);
    let mut as_written = vec![bundle.join(p)];
    if cwd_too && !p.is_absolute() {
        as_written.push(p.to_path_buf());
    }
    let real: Vec<PathBuf> = as_written
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    as_written.into_iter().chain(real).collect()
}

/// The paths an overlay option value names: layers are separated by ':', and a backslash makes the
/// next character literal, as the kernel splits them.
fn overlay_layers(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), out.last_mut()) {
                    last.push(next);
                }
            }
            ':' => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(ch);
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// A mount that is no bind still reaches host files when its source is a host block device (a
/// disk filesystem mounted from the host's disk) or when an option names host directories
/// (overlay's lowerdir, upperdir, workdir, lowerdir+, datadir+; btrfs's device=). A proc mount
/// anywhere but /proc is reached by neither maskedPaths nor readonlyPaths, which name /proc/...
fn other_mount(m: &Value, i: usize, options: &[&str], bundle: &Path, out: &mut Vec<Finding>) {
    use std::os::unix::fs::FileTypeExt;
    let fstype = m["type"].as_str().unwrap_or("");
    let dest = m["destination"].as_str().unwrap_or("?");
    let at = |leaf: &[&str]| {
        let mut parts = vec!["mounts".to_string(), i.to_string()];
        parts.extend(leaf.iter().map(|s| s.to_string()));
        ptr(parts)
    };
    let ro = options.iter().any(|o| *o == "ro" || *o == "rro");
    if fstype == "sysfs" && !ro {
        out.push(finding(
            "RA147",
            at(&["options"]),
            format!("sysfs at {dest} is mounted without \"ro\""),
        ));
    }
    if fstype == "proc" && Path::new(dest) != Path::new("/proc") {
        out.push(finding(
            "RA145",
            at(&["destination"]),
            format!(
                "proc mounted at {dest}: maskedPaths and readonlyPaths only reach /proc, so \
                 {dest}/sys and {dest}/sysrq-trigger are writable"
            ),
        ));
    }
    let mut named: Vec<(String, String)> = Vec::new();
    if let Some(src) = m["source"].as_str().filter(|s| s.starts_with('/')) {
        named.push((at(&["source"]), src.to_string()));
    }
    for (j, o) in options.iter().enumerate() {
        let Some((_, value)) = o.split_once('=') else {
            continue;
        };
        let paths = if fstype == "overlay" {
            overlay_layers(value)
        } else {
            vec![value.to_string()]
        };
        for p in paths {
            named.push((at(&["options", &j.to_string()]), p));
        }
    }
    for (pointer, path) in named {
        let spellings = host_spellings(&path, bundle, fstype == "overlay");
        let block = spellings
            .iter()
            .find(|p| std::fs::metadata(p).is_ok_and(|md| md.file_type().is_block_device()));
        if let Some(dev) = block {
            let mut f = finding(
                "RA151",
                pointer,
                format!(
                    "{fstype} mount at {dest} is made from the host's block device {}",
                    dev.display()
                ),
            );
            f.severity = Critical;
            out.push(f);
            continue;
        }
        let hit = spellings
            .iter()
            .filter_map(|s| sensitive_source(s))
            .max_by_key(|(_, sev)| *sev);
        if let Some((what, mut sev)) = hit {
            if ro && sev == High {
                sev = Medium;
            }
            let mut f = finding(
                "RA141",
                pointer,
                format!("{fstype} mount at {dest} reaches the host's {path} (brings in {what})"),
            );
            f.severity = sev;
            out.push(f);
        }
    }
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
            other_mount(m, i, &options, bundle, out);
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
    use super::super::rules::RULES;
    use super::super::Level::{self, Restricted};
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
        // An agent may let a call through: NOTIFY is no refusal.
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["unshare"], "action": "SCMP_ACT_NOTIFY"}]});
        let f = run(&c);
        assert!(f.iter().any(|f| f.id == "RA122"
            && f.path == "/linux/seccomp/syscalls/0/names/0"
            && f.message.contains("SCMP_ACT_NOTIFY")));
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_NOTIFY"});
        assert!(ids(&run(&c)).contains(&"RA121"));
        // Conditions that every value meets, alone or between rules, are no condition at all.
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
            {"names": ["unshare"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]},
            {"names": ["setns"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_LT"}]},
            {"names": ["setns"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 1, "value": 5, "op": "SCMP_CMP_GE"}]},
            {"names": ["mount"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 3, "value": 0, "op": "SCMP_CMP_GE"}]},
            {"names": ["bpf"], "action": "SCMP_ACT_ALLOW",
             "args": [{"index": 0, "value": 1, "valueTwo": 1, "op": "SCMP_CMP_MASKED_EQ"}]}]});
        let f = run(&c);
        let bad: Vec<&str> = f
            .iter()
            .filter(|f| f.id == "RA122")
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(
            bad,
            [
                "/linux/seccomp/syscalls/0/names/0",
                "/linux/seccomp/syscalls/1/names/0",
                "/linux/seccomp/syscalls/3/names/0"
            ]
        );
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
    fn mounts_that_are_no_bind_but_reach_host_paths() {
        assert_eq!(overlay_layers(r"/a\:b:/\etc::/c"), ["/a:b", "/etc", "/c"]);
        let mut c = default_config();
        let m = c["mounts"].as_array_mut().unwrap();
        let n = m.len();
        // The kernel drops the backslash: this lowerdir is the host's /etc.
        m.push(
            json!({"destination": "/o", "type": "overlay", "source": "overlay",
            "options": [r"lowerdir=/tmp:/\etc", "ro"]}),
        );
        m.push(json!({"destination": "/p2", "type": "proc", "source": "proc"}));
        m.push(
            json!({"destination": "/s2", "type": "sysfs", "source": "sysfs", "options": ["rw"]}),
        );
        m.push(json!({"destination": "/proc/", "type": "proc", "source": "proc"}));
        m.push(
            json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs",
            "options": ["mode=755", "size=65536k"]}),
        );
        c["hooks"] = json!({"createRuntime": [{"path": "/bin/true"}], "poststop": []});
        let f = run(&c);
        let at = |id: &str, p: String| f.iter().any(|f| f.id == id && f.path == p);
        assert!(at("RA141", format!("/mounts/{n}/options/0")), "{f:?}");
        assert!(
            at("RA145", format!("/mounts/{}/destination", n + 1)),
            "{f:?}"
        );
        assert!(at("RA147", format!("/mounts/{}/options", n + 2)), "{f:?}");
        assert_eq!(f.iter().filter(|f| f.id == "RA147").count(), 1, "{f:?}");
        // proc at /proc/ is /proc; tmpfs options are no host paths.
        for k in [n + 3, n + 4] {
            let here = format!("/mounts/{k}/");
            assert!(!f.iter().any(|f| f.path.starts_with(&here)), "{f:?}");
        }
        assert!(at("RA190", "/hooks/createRuntime/0".into()), "{f:?}");
        assert_eq!(f.iter().filter(|f| f.id == "RA190").count(), 1);
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
