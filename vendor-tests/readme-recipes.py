#!/usr/bin/env python3
"""The README's engine recipes are these files, word for word.

    vendor-tests/readme-recipes.py check [README]    exit 1 if a quoted recipe differs or is missing
    vendor-tests/readme-recipes.py update [README]   rewrite each quoted block from its file

In README.md a recipe is quoted as a marker line `<!-- recipe vendor-tests/recipes/NAME -->`
followed by a fenced code block holding the file's text. Every file of vendor-tests/recipes/ must
be quoted once.
"""
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECIPES = os.path.join(REPO, "vendor-tests", "recipes")
MARKER = re.compile(r"^<!-- recipe (vendor-tests/recipes/[^ ]+) -->$")


def blocks(lines):
    """(path, first line of the block's body, end line of the body) for each marker."""
    out = []
    for i, line in enumerate(lines):
        m = MARKER.match(line.rstrip("\n"))
        if not m:
            continue
        if i + 1 >= len(lines) or not lines[i + 1].startswith("```"):
            raise SystemExit(f"readme: line {i + 1}: {m.group(1)}: no fenced block after the marker")
        end = i + 2
        while end < len(lines) and lines[end].rstrip("\n") != "```":
            end += 1
        if end >= len(lines):
            raise SystemExit(f"readme: line {i + 1}: {m.group(1)}: fenced block not closed")
        out.append((m.group(1), i + 2, end))
    return out


def main(argv):
    if not argv or argv[0] not in ("check", "update"):
        raise SystemExit(__doc__)
    readme = argv[1] if len(argv) > 1 else os.path.join(REPO, "README.md")
    with open(readme) as f:
        lines = f.readlines()
    found = blocks(lines)
    want = sorted(f"vendor-tests/recipes/{n}" for n in os.listdir(RECIPES))
    bad = []
    quoted = [p for p, _, _ in found]
    for p in want:
        if quoted.count(p) != 1:
            bad.append(f"{p}: quoted {quoted.count(p)} times in {readme}, want once")
    for p in quoted:
        if p not in want:
            bad.append(f"{p}: quoted in {readme} but no such recipe file")
    # from the last block up, so the line numbers of earlier ones stay valid while updating
    for p, start, end in reversed(found):
        if p not in want:
            continue
        with open(os.path.join(REPO, p)) as f:
            text = f.read().splitlines(keepends=True)
        if lines[start:end] != text:
            if argv[0] == "update":
                lines[start:end] = text
            else:
                bad.append(f"{p}: the README's text (line {start + 1}) differs from the file")
    if argv[0] == "update":
        with open(readme, "w") as f:
            f.writelines(lines)
    for b in bad:
        print("readme:", b, file=sys.stderr)
    if not bad:
        print(f"readme: {len(want)} recipes quoted as in vendor-tests/recipes/")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
