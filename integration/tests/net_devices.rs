//! linux.netDevices: a host interface moved into the container's network namespace with its
//! new name, its addresses and its up state. Each test runs rampart inside a network namespace
//! of its own (`unshare --net`), which plays the host: the veth pairs made there vanish with it,
//! so nothing is left on the real host whatever happens.

use rampart_integration::*;
use serde_json::json;
use std::process::Command;
use std::time::Duration;

/// Runs `script` with sh in a fresh network namespace (the "host" of these tests), with
/// $RAMPART set to the binary and $ROOT to the state root.
fn in_private_netns(r: &Root, script: &str) -> Out {
    let mut c = Command::new("unshare");
    c.args(["--net", "--", "sh", "-c", script])
        .env("RAMPART", rampart_bin())
        .env("ROOT", r.path());
    run_with_timeout(c, Duration::from_secs(60))
}

/// The veth pair v-host (10.77.0.1/24, up) and v-move (10.77.0.2/24 and fd77::2/64, up).
const VETH: &str = "ip link add v-host type veth peer name v-move && \
    ip addr add 10.77.0.1/24 dev v-host && ip link set v-host up && \
    ip addr add 10.77.0.2/24 dev v-move && ip -6 addr add fd77::2/64 dev v-move nodad && \
    ip link set v-move up";

#[test]
fn a_device_moves_in_renamed_with_its_addresses_and_up() {
    let r = Root::new();
    let mut b = Bundle::new(&[
        "sh",
        "-c",
        "ip -o addr show dev eth7 | sort; cat /sys/class/net/eth7/operstate; \
         ls /sys/class/net | sort | tr '\\n' ' '; echo; \
         ping -c 1 -W 5 10.77.0.1 >/dev/null && echo reached-host-side",
    ]);
    b.edit(|c| {
        c["linux"]["netDevices"] = json!({"v-move": {"name": "eth7"}});
        // ping needs a raw socket.
        for set in ["bounding", "effective", "permitted"] {
            c["process"]["capabilities"][set]
                .as_array_mut()
                .unwrap()
                .push(json!("CAP_NET_RAW"));
        }
    });
    let id = unique("netdev");
    let script = format!(
        "{VETH} && \"$RAMPART\" --root \"$ROOT\" run --bundle {} {id}; rc=$?; \
         echo \"rc=$rc\"; for i in $(seq 100); do ip link show v-host >/dev/null 2>&1 || break; \
         sleep 0.1; done; echo host:; ip -o link show | cut -d: -f2 | tr -d ' ' | sort | tr '\\n' ' '",
        b.path().display()
    );
    let o = in_private_netns(&r, &script);
    let out = &o.stdout;
    assert!(out.contains("rc=0"), "{o:#?}");
    // Inside: the new name, both addresses back, up, and a working link to the host side.
    assert!(out.contains("eth7    inet 10.77.0.2/24"), "{o:#?}");
    assert!(out.contains("eth7    inet6 fd77::2/64"), "{o:#?}");
    assert!(
        out.contains("\nup\n") || out.contains("\nunknown\n"),
        "{o:#?}"
    );
    assert!(
        out.contains("eth7 lo \n"),
        "only eth7 and lo inside: {o:#?}"
    );
    assert!(out.contains("reached-host-side"), "{o:#?}");
    // Outside: the moved end is gone from the host; the container's namespace died with the
    // container (the kernel frees it asynchronously, hence the wait in the script), and a veth
    // dies with its peer.
    let host = out.split("host:").nth(1).unwrap_or("");
    assert!(!host.contains("v-move"), "{o:#?}");
    assert!(!host.contains("v-host"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn the_host_name_is_kept_without_a_name_and_other_links_stay() {
    let r = Root::new();
    let mut b = Bundle::new(&["sh", "-c", "ls /sys/class/net | sort | tr '\\n' ' '"]);
    b.edit(|c| c["linux"]["netDevices"] = json!({"v-move": {}}));
    let id = unique("netdev-keep");
    let script = format!(
        "{VETH} && ip link add other type veth peer name other2 && \
         \"$RAMPART\" --root \"$ROOT\" run --bundle {} {id}; echo \" rc=$?\"; \
         ip -o link show | cut -d: -f2 | tr -d ' ' | cut -d@ -f1 | sort | tr '\\n' ' '",
        b.path().display()
    );
    let o = in_private_netns(&r, &script);
    assert!(o.stdout.starts_with("lo v-move  rc=0"), "{o:#?}");
    assert!(o.stdout.contains("other other2"), "{o:#?}");
    assert_nothing_left(&r, &b, &id);
}

#[test]
fn a_bad_device_list_is_refused_and_moves_nothing() {
    let r = Root::new();
    for (devices, drop_net, want) in [
        (
            json!({"v-move": {}, "nope0": {}}),
            false,
            "no network device nope0 in the runtime's network namespace",
        ),
        (
            json!({"v-move": {"name": "lo"}}),
            false,
            "the container's network namespace has a device named lo already",
        ),
        (
            json!({"v-move": {"name": "a/b"}}),
            false,
            "is not an interface name",
        ),
        (
            json!({"v-move": {"name": "x"}, "v-host": {"name": "x"}}),
            false,
            "would both be named x",
        ),
        (
            json!({"v-move": {}}),
            true,
            "needs a network namespace of the container's own",
        ),
    ] {
        let mut b = Bundle::new(&["true"]);
        b.edit(|c| c["linux"]["netDevices"] = devices.clone());
        if drop_net {
            b.drop_namespace("network");
        }
        let id = unique("netdev-bad");
        let script = format!(
            "{VETH} && \"$RAMPART\" --root \"$ROOT\" run --bundle {} {id}; echo \" rc=$?\"; \
             ip -o addr show dev v-move | grep -c 'inet 10.77.0.2/24'",
            b.path().display()
        );
        let o = in_private_netns(&r, &script);
        assert!(o.stderr.contains(want), "{devices}: {o:#?}");
        assert!(o.stdout.contains(" rc=1"), "{devices}: {o:#?}");
        // The device is still on the host with its address: nothing moved half-way.
        assert!(o.stdout.ends_with("1\n"), "{devices}: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
}

#[test]
fn features_report_net_devices() {
    let o = Root::new().rampart(&["features"]);
    o.ok();
    let f: serde_json::Value = serde_json::from_str(&o.stdout).unwrap();
    assert_eq!(f["linux"]["netDevices"]["enabled"], json!(true));
}

fn user_namespace(c: &mut serde_json::Value, path: Option<String>) {
    let ns = match path {
        Some(p) => json!({"type": "user", "path": p}),
        None => json!({"type": "user"}),
    };
    c["linux"]["namespaces"].as_array_mut().unwrap().push(ns);
    c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
}

/// With a user namespace the network namespace is made at clone; with a joined one the init
/// unshares it later, and the runtime moves the devices once the init reports ready.
#[test]
fn devices_reach_containers_with_a_new_or_a_joined_user_namespace() {
    let r = Root::new();
    let mut holder = Bundle::new(&["sleep", "300"]);
    holder.edit(|c| user_namespace(c, None));
    let holder_id = unique("netdev-userns-holder");
    r.rampart(&[
        "run",
        "-d",
        "--bundle",
        holder.path().to_str().unwrap(),
        &holder_id,
    ])
    .ok();
    let pid = r.state(&holder_id)["pid"].as_i64().unwrap();
    for joined in [None, Some(format!("/proc/{pid}/ns/user"))] {
        let mut b = Bundle::new(&["sh", "-c", "ip -o addr show dev eth8; id -u"]);
        b.edit(|c| {
            c["linux"]["netDevices"] = json!({"v-move": {"name": "eth8"}});
            if joined.is_some() {
                c["linux"].as_object_mut().unwrap().remove("uidMappings");
                c["linux"].as_object_mut().unwrap().remove("gidMappings");
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "user", "path": joined.clone().unwrap()}));
            } else {
                user_namespace(c, None);
            }
        });
        let id = unique("netdev-userns");
        let script = format!(
            "{VETH} && \"$RAMPART\" --root \"$ROOT\" run --bundle {} {id}; echo \"rc=$?\"",
            b.path().display()
        );
        let o = in_private_netns(&r, &script);
        assert!(
            o.stdout.contains("eth8    inet 10.77.0.2/24"),
            "{joined:?}: {o:#?}"
        );
        assert!(o.stdout.contains("\n0\nrc=0"), "{joined:?}: {o:#?}");
        assert_nothing_left(&r, &b, &id);
    }
    r.rampart(&["delete", "--force", &holder_id]).ok();
    assert_nothing_left(&r, &holder, &holder_id);
}
