#!/usr/bin/python3
"""Turns a Docker-format seccomp profile (moby profiles/seccomp/default.json, containers/common
seccomp.json) into the OCI `linux.seccomp` an engine writes for an amd64 host, a 6.x kernel and
the given capabilities, as the engines' own converters do: archMap -> x86_64 + its
subArchitectures; an entry is kept if all includes.caps are held, includes.arches is empty or
names amd64, no excludes.caps is held and excludes.arches does not name amd64.

usage: convert.py PROFILE CAP,CAP,... > out.json
"""
import json
import sys

src = json.load(open(sys.argv[1]))
caps = set(sys.argv[2].split(","))
out = {"defaultAction": src["defaultAction"], "architectures": [], "syscalls": []}
if "defaultErrnoRet" in src:
    out["defaultErrnoRet"] = src["defaultErrnoRet"]
for m in src.get("archMap") or []:
    if m["architecture"] == "SCMP_ARCH_X86_64":
        out["architectures"] = [m["architecture"]] + m["subArchitectures"]
for e in src["syscalls"]:
    inc, exc = e.get("includes") or {}, e.get("excludes") or {}
    if not set(inc.get("caps") or []) <= caps:
        continue
    if inc.get("arches") and "amd64" not in inc["arches"]:
        continue
    if set(exc.get("caps") or []) & caps:
        continue
    if "amd64" in (exc.get("arches") or []):
        continue
    s = {"names": e["names"], "action": e["action"]}
    for k in ("args", "errnoRet"):
        if e.get(k) is not None:
            s[k] = e[k]
    out["syscalls"].append(s)
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
