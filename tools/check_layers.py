#!/usr/bin/env python3
"""Fails if a file in src/<layer>/ includes a header of a layer it may not depend on.

The allowed edges are those of DESIGN.md: a layer may include only the layers listed
before it. `synth` (the synthetic population generator) sits beside the data layers: it
may use base and domain only, and only cli may include it.
Usage: check_layers.py SRC_DIR
"""
import os
import re
import sys

# Each layer and the layers it may include (besides itself).
ORDER = ["base", "domain", "crypto", "store", "ingest", "query",
         "surveil", "predict", "quality", "export", "access", "server", "cli"]
PEERS = {"surveil", "predict", "quality", "export"}  # siblings: not each other


def allowed(layer):
    if layer == "synth":
        return {"base", "domain"}
    if layer not in ORDER:
        return None
    below = set(ORDER[:ORDER.index(layer)])
    if layer in PEERS:
        below -= PEERS
    if layer == "cli":
        below.add("synth")
    return below


def main(src):
    include = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/[^"]+"')
    errors = []
    checked = 0
    for layer in sorted(os.listdir(src)):
        path = os.path.join(src, layer)
        if not os.path.isdir(path):
            continue
        ok = allowed(layer)
        if ok is None:
            errors.append(f"src/{layer}: unknown layer (add it to tools/check_layers.py)")
            continue
        for root, _, files in os.walk(path):
            for name in sorted(files):
                if not name.endswith((".h", ".cc")):
                    continue
                file = os.path.join(root, name)
                with open(file, encoding="utf-8") as f:
                    for lineno, line in enumerate(f, 1):
                        m = include.match(line)
                        if not m:
                            continue
                        checked += 1
                        target = m.group(1)
                        if target != layer and target not in ok:
                            rel = os.path.relpath(file, os.path.dirname(src))
                            errors.append(f"{rel}:{lineno}: layer '{layer}' may not include "
                                          f"'{target}'")
    for e in errors:
        print(e)
    print(f"checked {checked} project includes, {len(errors)} upward")
    return 1 if errors or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
