//! `linux.netDevices`: host network interfaces moved into the container's network namespace,
//! renamed on the way, with their permanent addresses and their up state kept.
//!
//! The kernel flushes a link's addresses and takes it down when it changes namespace, so the
//! runtime reads them first, then moves and renames the link in one RTM_NEWLINK (IFLA_NET_NS_FD
//! with IFLA_IFNAME: the host name never exists inside, so it cannot clash there), then adds the
//! addresses back from a netlink socket made inside the container's namespace. Every device is
//! looked up before the first one moves, so a missing device fails create without touching the
//! others. When the namespace dies the kernel destroys virtual links (veth, dummy) and gives
//! physical ones back to the host's namespace; there is nothing for `delete` to undo.

use crate::namespaces::{self, Kind, NamespacePlan};
use crate::syscalls;
use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

#[derive(Debug, thiserror::Error)]
pub enum NetDeviceError {
    #[error("linux.netDevices needs a network namespace of the container's own: without one the devices would stay in the host's")]
    NoNetworkNamespace,
    #[error("linux.netDevices: the network namespace {path} is the runtime's own (the host's), so moving devices into it means nothing")]
    HostNamespace { path: std::path::PathBuf },
    #[error("linux.netDevices: {what} {name:?} is not an interface name: {why}")]
    BadName {
        what: &'static str,
        name: String,
        why: &'static str,
    },
    #[error("linux.netDevices: {first} and {second} would both be named {name} in the container")]
    SameName {
        name: String,
        first: String,
        second: String,
    },
    #[error("linux.netDevices: no network device {name} in the runtime's network namespace")]
    NotFound { name: String },
    #[error(
        "linux.netDevices: the container's network namespace has a device named {name} already"
    )]
    NameTaken { name: String },
    #[error("linux.netDevices: opening a netlink socket {place}: {err}")]
    Socket { place: &'static str, err: io::Error },
    #[error("linux.netDevices: entering the container's network namespace: {err}")]
    Enter { err: io::Error },
    #[error("linux.netDevices: {step}: {err}")]
    Netlink { step: String, err: io::Error },
    #[error("linux.netDevices: {step}: the kernel's reply is malformed")]
    Malformed { step: String },
}

/// One device to move: its name on the host and the name it gets inside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NetDevicePlan {
    pub host_name: String,
    pub name: String,
}

/// Checks `linux.netDevices` against the namespaces; the devices sorted by host name.
pub fn plan(
    devices: Option<&HashMap<String, oci_spec::runtime::LinuxNetDevice>>,
    ns: &NamespacePlan,
) -> Result<Vec<NetDevicePlan>, NetDeviceError> {
    let Some(devices) = devices.filter(|d| !d.is_empty()) else {
        return Ok(Vec::new());
    };
    if !ns.has(Kind::Net) {
        return Err(NetDeviceError::NoNetworkNamespace);
    }
    if let Some((_, path)) = ns.join.iter().find(|(k, _)| *k == Kind::Net) {
        if namespaces::is_runtimes_own(Kind::Net, path) {
            return Err(NetDeviceError::HostNamespace { path: path.clone() });
        }
    }
    let mut out = Vec::new();
    for (host_name, dev) in devices {
        check_name("device", host_name)?;
        let name = match dev.name().as_deref() {
            None | Some("") => host_name.clone(),
            Some(n) => {
                check_name("name", n)?;
                n.to_string()
            }
        };
        out.push(NetDevicePlan {
            host_name: host_name.clone(),
            name,
        });
    }
    out.sort_by(|a, b| a.host_name.cmp(&b.host_name));
    for (i, a) in out.iter().enumerate() {
        if let Some(b) = out[i + 1..].iter().find(|b| b.name == a.name) {
            return Err(NetDeviceError::SameName {
                name: a.name.clone(),
                first: a.host_name.clone(),
                second: b.host_name.clone(),
            });
        }
    }
    Ok(out)
}

/// The kernel's rule for interface names (dev_valid_name), checked before anything moves.
fn check_name(what: &'static str, name: &str) -> Result<(), NetDeviceError> {
    let why = if name.is_empty() {
        Some("it is empty")
    } else if name.len() >= 16 {
        Some("it is longer than 15 bytes (IFNAMSIZ)")
    } else if name == "." || name == ".." {
        Some("it is a path component")
    } else if name
        .bytes()
        .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0)
    {
        Some("it contains '/', ':', a NUL or whitespace")
    } else {
        None
    };
    match why {
        Some(why) => Err(NetDeviceError::BadName {
            what,
            name: name.to_string(),
            why,
        }),
        None => Ok(()),
    }
}

/// Moves every planned device into the network namespace `netns` (a namespace descriptor).
pub fn move_into(devices: &[NetDevicePlan], netns: BorrowedFd<'_>) -> Result<(), NetDeviceError> {
    if devices.is_empty() {
        return Ok(());
    }
    let mut host =
        Rtnl::new(
            syscalls::netlink_route_socket().map_err(|err| NetDeviceError::Socket {
                place: "in the runtime's network namespace",
                err,
            })?,
        );
    let mut found = Vec::new();
    for d in devices {
        let link = host
            .link(&d.host_name)?
            .ok_or_else(|| NetDeviceError::NotFound {
                name: d.host_name.clone(),
            })?;
        let addrs = host.permanent_addresses(&d.host_name, link.index)?;
        found.push((d, link, addrs));
    }
    // The kernel moves a link under its own name when that is free inside and renames it
    // only afterwards, so a clash with the new name would fail after the move, with the device
    // already gone from the host: names taken inside are refused first.
    let mut inside = Rtnl::new(socket_in(netns)?);
    for d in devices {
        if inside.link(&d.name)?.is_some() {
            return Err(NetDeviceError::NameTaken {
                name: d.name.clone(),
            });
        }
    }
    for (d, link, _) in &found {
        host.move_link(d, link.index, netns)?;
    }
    for (d, link, addrs) in &found {
        let moved = inside
            .link(&d.name)?
            .ok_or_else(|| NetDeviceError::NotFound {
                name: d.name.clone(),
            })?;
        for a in addrs {
            inside.add_address(&d.name, moved.index, a)?;
        }
        if link.flags & libc::IFF_UP as u32 != 0 {
            inside.set_up(&d.name, moved.index)?;
        }
    }
    Ok(())
}

/// A netlink socket made inside `netns`, from a short-lived thread: setns of a network
/// namespace affects only the calling thread, and the runtime's own thread must stay put.
fn socket_in(netns: BorrowedFd<'_>) -> Result<OwnedFd, NetDeviceError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            syscalls::setns(netns, libc::CLONE_NEWNET)
                .map_err(|err| NetDeviceError::Enter { err })?;
            syscalls::netlink_route_socket().map_err(|err| NetDeviceError::Socket {
                place: "in the container's network namespace",
                err,
            })
        })
        .join()
        .unwrap_or_else(|_| {
            Err(NetDeviceError::Enter {
                err: io::Error::other("the thread entering it panicked"),
            })
        })
    })
}

struct Link {
    index: i32,
    flags: u32,
}

/// A permanent address as RTM_GETADDR reported it, enough to add it again.
#[derive(Debug)]
struct Address {
    family: u8,
    prefix_len: u8,
    scope: u8,
    flags: u32,
    /// IFA_ADDRESS, IFA_LOCAL and IFA_BROADCAST, as the kernel gave them.
    attrs: Vec<(u16, Vec<u8>)>,
}

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const IFADDRMSG_LEN: usize = 8;
const IFLA_IFNAME: u16 = 3;
const IFLA_NET_NS_FD: u16 = 28;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
const IFA_F_PERMANENT: u32 = 0x80;
/// The address flags a caller may set (the rest are the kernel's own state).
const IFA_F_SETTABLE: u32 = 0x02 | 0x04 | 0x10 | 0x100 | 0x200 | 0x400;

/// Requests on one NETLINK_ROUTE socket, one at a time.
struct Rtnl {
    sock: OwnedFd,
    seq: u32,
}

impl Rtnl {
    fn new(sock: OwnedFd) -> Rtnl {
        Rtnl { sock, seq: 0 }
    }

    /// Sends a request and collects the payloads of its replies (without their headers),
    /// until the kernel's acknowledgement, its error, or the end of a dump.
    fn request(
        &mut self,
        step: &str,
        typ: u16,
        flags: u16,
        body: &[u8],
    ) -> Result<Vec<(u16, Vec<u8>)>, NetDeviceError> {
        self.seq += 1;
        let seq = self.seq;
        let mut msg = Vec::with_capacity(NLMSG_HDRLEN + body.len());
        msg.extend_from_slice(&((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&typ.to_ne_bytes());
        let flags = flags | libc::NLM_F_REQUEST as u16 | libc::NLM_F_ACK as u16;
        msg.extend_from_slice(&flags.to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        let netlink_err = |err| NetDeviceError::Netlink {
            step: step.to_string(),
            err,
        };
        syscalls::send(self.sock.as_fd(), &msg).map_err(netlink_err)?;
        let malformed = || NetDeviceError::Malformed {
            step: step.to_string(),
        };
        let mut replies = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = syscalls::recv(self.sock.as_fd(), &mut buf).map_err(netlink_err)?;
            let mut at = 0;
            while at + NLMSG_HDRLEN <= n {
                let len = u32::from_ne_bytes(buf[at..at + 4].try_into().unwrap()) as usize;
                let typ = u16::from_ne_bytes(buf[at + 4..at + 6].try_into().unwrap());
                let rseq = u32::from_ne_bytes(buf[at + 8..at + 12].try_into().unwrap());
                if len < NLMSG_HDRLEN || at + len > n {
                    return Err(malformed());
                }
                let payload = &buf[at + NLMSG_HDRLEN..at + len];
                at += align4(len);
                if rseq != seq {
                    continue;
                }
                match typ as i32 {
                    libc::NLMSG_ERROR => {
                        let code = payload
                            .get(..4)
                            .map(|b| i32::from_ne_bytes(b.try_into().unwrap()))
                            .ok_or_else(malformed)?;
                        if code == 0 {
                            return Ok(replies);
                        }
                        return Err(netlink_err(io::Error::from_raw_os_error(-code)));
                    }
                    libc::NLMSG_DONE => return Ok(replies),
                    _ => replies.push((typ, payload.to_vec())),
                }
            }
        }
    }

    /// The link named `name`, or None when there is none.
    fn link(&mut self, name: &str) -> Result<Option<Link>, NetDeviceError> {
        let mut body = ifinfomsg(0, 0, 0);
        put_attr(&mut body, IFLA_IFNAME, &nul_terminated(name));
        let step = format!("looking up {name} (RTM_GETLINK)");
        let replies = match self.request(&step, libc::RTM_GETLINK, 0, &body) {
            Err(NetDeviceError::Netlink { err, .. })
                if err.raw_os_error() == Some(libc::ENODEV) =>
            {
                return Ok(None)
            }
            r => r?,
        };
        let (_, msg) = replies
            .iter()
            .find(|(t, m)| *t == libc::RTM_NEWLINK && m.len() >= IFINFOMSG_LEN)
            .ok_or(NetDeviceError::Malformed { step })?;
        Ok(Some(Link {
            index: i32::from_ne_bytes(msg[4..8].try_into().unwrap()),
            flags: u32::from_ne_bytes(msg[8..12].try_into().unwrap()),
        }))
    }

    /// The permanent addresses (any family) of link `index`: those a user or a tool set, not
    /// the kernel's temporary ones.
    fn permanent_addresses(
        &mut self,
        name: &str,
        index: i32,
    ) -> Result<Vec<Address>, NetDeviceError> {
        let body = [0u8; IFADDRMSG_LEN];
        let step = format!("reading the addresses of {name} (RTM_GETADDR)");
        let replies = self.request(&step, libc::RTM_GETADDR, libc::NLM_F_DUMP as u16, &body)?;
        let mut out = Vec::new();
        for (typ, m) in replies {
            if typ != libc::RTM_NEWADDR || m.len() < IFADDRMSG_LEN {
                continue;
            }
            if u32::from_ne_bytes(m[4..8].try_into().unwrap()) != index as u32 {
                continue;
            }
            let mut a = Address {
                family: m[0],
                prefix_len: m[1],
                scope: m[3],
                flags: m[2] as u32,
                attrs: Vec::new(),
            };
            for (t, v) in attrs(&m[IFADDRMSG_LEN..]) {
                match t {
                    IFA_ADDRESS | IFA_LOCAL | IFA_BROADCAST => a.attrs.push((t, v.to_vec())),
                    IFA_FLAGS if v.len() >= 4 => {
                        a.flags = u32::from_ne_bytes(v[..4].try_into().unwrap())
                    }
                    _ => {}
                }
            }
            if a.flags & IFA_F_PERMANENT != 0 {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// Moves link `index` into `netns` and renames it there, in one request.
    fn move_link(
        &mut self,
        d: &NetDevicePlan,
        index: i32,
        netns: BorrowedFd<'_>,
    ) -> Result<(), NetDeviceError> {
        use std::os::fd::AsRawFd;
        let mut body = ifinfomsg(index, 0, 0);
        put_attr(
            &mut body,
            IFLA_NET_NS_FD,
            &(netns.as_raw_fd() as u32).to_ne_bytes(),
        );
        put_attr(&mut body, IFLA_IFNAME, &nul_terminated(&d.name));
        let step = format!(
            "moving {} into the container's network namespace as {} (RTM_NEWLINK)",
            d.host_name, d.name
        );
        self.request(&step, libc::RTM_NEWLINK, 0, &body).map(|_| ())
    }

    fn add_address(&mut self, name: &str, index: i32, a: &Address) -> Result<(), NetDeviceError> {
        let mut body = vec![a.family, a.prefix_len, (a.flags & 0xff) as u8, a.scope];
        body.extend_from_slice(&(index as u32).to_ne_bytes());
        for (t, v) in &a.attrs {
            put_attr(&mut body, *t, v);
        }
        put_attr(
            &mut body,
            IFA_FLAGS,
            &(a.flags & IFA_F_SETTABLE).to_ne_bytes(),
        );
        let step = format!("adding an address back to {name} (RTM_NEWADDR)");
        let flags = (libc::NLM_F_CREATE | libc::NLM_F_EXCL) as u16;
        match self.request(&step, libc::RTM_NEWADDR, flags, &body) {
            // The kernel makes some (an IPv6 link-local) again by itself.
            Err(NetDeviceError::Netlink { err, .. })
                if err.raw_os_error() == Some(libc::EEXIST) =>
            {
                Ok(())
            }
            r => r.map(|_| ()),
        }
    }

    fn set_up(&mut self, name: &str, index: i32) -> Result<(), NetDeviceError> {
        let up = libc::IFF_UP as u32;
        let body = ifinfomsg(index, up, up);
        let step = format!("setting {name} up again (RTM_NEWLINK)");
        self.request(&step, libc::RTM_NEWLINK, 0, &body).map(|_| ())
    }
}

/// struct ifinfomsg: family AF_UNSPEC, type 0, then index, flags and the change mask.
fn ifinfomsg(index: i32, flags: u32, change: u32) -> Vec<u8> {
    let mut b = vec![0u8; 4];
    b.extend_from_slice(&index.to_ne_bytes());
    b.extend_from_slice(&flags.to_ne_bytes());
    b.extend_from_slice(&change.to_ne_bytes());
    b
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Appends one struct rtattr (length, type, value, padding to 4 bytes).
fn put_attr(buf: &mut Vec<u8>, typ: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&typ.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(align4(buf.len()), 0);
}

/// The attributes in `buf`, as (type, value); stops at the first malformed one.
fn attrs(buf: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = 0;
    while at + 4 <= buf.len() {
        let len = u16::from_ne_bytes([buf[at], buf[at + 1]]) as usize;
        let typ = u16::from_ne_bytes([buf[at + 2], buf[at + 3]]);
        if len < 4 || at + len > buf.len() {
            break;
        }
        out.push((typ & 0x3fff, &buf[at + 4..at + len]));
        at += align4(len);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_kernels_rule() {
        for good in ["eth0", "a", "veth-1.2_x", "fifteen-bytes-x"] {
            assert!(check_name("name", good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "sixteen-bytes-xx"] {
            assert!(check_name("name", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn attributes_round_trip() {
        let mut b = Vec::new();
        put_attr(&mut b, IFLA_IFNAME, &nul_terminated("eth0"));
        put_attr(&mut b, IFA_FLAGS, &7u32.to_ne_bytes());
        assert_eq!(b.len() % 4, 0);
        let a = attrs(&b);
        assert_eq!(a.len(), 2);
        assert_eq!(a[0], (IFLA_IFNAME, &b"eth0\0"[..]));
        assert_eq!(a[1].1, &7u32.to_ne_bytes()[..]);
        // A length running past the buffer ends the walk instead of reading beyond it.
        let mut broken = b.clone();
        broken[0] = 200;
        assert!(attrs(&broken).is_empty());
    }
}
