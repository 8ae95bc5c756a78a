#!/usr/bin/python3
"""Test-only oracle: builds each OCI seccomp profile with libseccomp (python3-seccomp, Debian's
2.5.4) the way runc does, and prints the BPF libseccomp generates.

stdin: a JSON array of OCI `linux.seccomp` objects. stdout: one JSON object per profile, in order:
{"bpf": "<hex of struct sock_filter[]>", "unknown": [names libseccomp 2.5.4 does not know]} or
{"error": "<why libseccomp refused it>"}.

runc's rules, mirrored here: entries whose action equals the default action are skipped (libseccomp
refuses them with EACCES); names libseccomp cannot resolve are skipped; an entry that checks one
argument twice becomes one rule per condition; errnoRet defaults to EPERM. The bad-arch action is
set to KILL_PROCESS, rampart's deliberate choice (see compile.rs), so the decisions are comparable.
"""
import json
import os
import sys
import tempfile

import seccomp as S

ARCHES = {
    "SCMP_ARCH_X86_64": S.Arch.X86_64,
    "SCMP_ARCH_X86": S.Arch.X86,
    "SCMP_ARCH_X32": S.Arch.X32,
}
OPS = {
    "SCMP_CMP_NE": S.NE,
    "SCMP_CMP_LT": S.LT,
    "SCMP_CMP_LE": S.LE,
    "SCMP_CMP_EQ": S.EQ,
    "SCMP_CMP_GE": S.GE,
    "SCMP_CMP_GT": S.GT,
    "SCMP_CMP_MASKED_EQ": S.MASKED_EQ,
}
EPERM = 1


def action(name, errno_ret):
    if name == "SCMP_ACT_ERRNO":
        return S.ERRNO(EPERM if errno_ret is None else errno_ret)
    if name == "SCMP_ACT_TRACE":
        return S.TRACE(EPERM if errno_ret is None else errno_ret)
    return {
        "SCMP_ACT_ALLOW": S.ALLOW,
        "SCMP_ACT_KILL": S.KILL,
        "SCMP_ACT_KILL_THREAD": S.KILL,
        "SCMP_ACT_KILL_PROCESS": S.KILL_PROCESS,
        "SCMP_ACT_TRAP": S.TRAP,
        "SCMP_ACT_LOG": S.LOG,
        "SCMP_ACT_NOTIFY": S.NOTIFY,
    }[name]


def build(p):
    default = action(p["defaultAction"], p.get("defaultErrnoRet"))
    f = S.SyscallFilter(default)
    f.set_attr(S.Attr.ACT_BADARCH, S.KILL_PROCESS)
    for a in p.get("architectures") or []:
        arch = ARCHES[a]
        if arch != S.Arch.X86_64:
            f.add_arch(arch)
    unknown = set()
    for n, e in enumerate(p.get("syscalls") or []):
        act = action(e["action"], e.get("errnoRet"))
        if act == default:
            continue
        conds = [
            S.Arg(a["index"], OPS[a["op"]], a.get("value", 0), a.get("valueTwo", 0))
            for a in e.get("args") or []
        ]
        idx = [a["index"] for a in e.get("args") or []]
        groups = [[c] for c in conds] if len(set(idx)) < len(idx) else [conds]
        for name in e["names"]:
            try:
                nr = S.resolve_syscall(S.Arch.NATIVE, name)
            except Exception:
                nr = -1
            if nr == -1:  # __NR_SCMP_ERROR: a syscall newer than this libseccomp
                unknown.add(name)
                continue
            for g in groups:
                try:
                    f.add_rule(act, nr, *g)
                except Exception as ex:
                    return {"error": f"syscalls[{n}] {name}: {ex}"}
    with tempfile.TemporaryFile() as t:
        f.export_bpf(t)
        t.seek(0)
        return {"bpf": t.read().hex(), "unknown": sorted(unknown)}


def main():
    for p in json.load(sys.stdin):
        try:
            out = build(p)
        except Exception as ex:
            out = {"error": repr(ex)}
        sys.stdout.write(json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
