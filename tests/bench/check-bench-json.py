#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# Validate the JSON of `cgproc bench`: well-formed, every measurement that ran is a positive
# number, and every component the build produced was actually measured (no silent n/a).
# Speed targets are NOT asserted here: they are reported by the bench, not tested.
# Usage: check-bench-json.py FILE BUILD_ROOT
import json
import os
import sys

errors = []


def err(msg):
    errors.append(msg)


def positive_cell(where, cell):
    if cell.get("status") != "ok":
        err("%s: expected a measurement, got n/a (%s)" % (where, cell.get("reason")))
        return
    for k in ("median_us", "p10_us", "p90_us"):
        v = cell.get(k)
        if not isinstance(v, (int, float)) or v <= 0:
            err("%s: %s = %r, want > 0" % (where, k, v))
    if not (cell["p10_us"] <= cell["median_us"] <= cell["p90_us"]):
        err("%s: p10 <= median <= p90 violated" % where)
    if not cell.get("rounds_us"):
        err("%s: no per-round samples" % where)


with open(sys.argv[1]) as f:
    d = json.load(f)
build = sys.argv[2]

if "shim_reuse_ms" in d and not (isinstance(d["shim_reuse_ms"], int) and 0 <= d["shim_reuse_ms"] <= 1000):
    err("shim_reuse_ms = %r, want 0..1000" % d["shim_reuse_ms"])

comp = d["components"]
if not d["files"]:
    err("no files measured")
for row in d["files"]:
    name = row["name"]
    native = row["native"]
    if native["status"] == "ok":
        positive_cell(name + "/native", native)
    for key in ("shim", "cgprocfs", "lxcfs"):
        cell = row[key]
        if comp[key]["status"] == "ok" and native["status"] == "ok":
            served = not (cell["status"] == "n/a" and "does not serve" in cell.get("reason", ""))
            if served:
                positive_cell("%s/%s" % (name, key), cell)
        if cell["status"] == "n/a" and not cell.get("reason"):
            err("%s/%s: n/a without a reason" % (name, key))
if not any(r["native"]["status"] == "ok" for r in d["files"]):
    err("no native measurement at all")

for row in d["libc"]:
    positive_cell(row["name"] + "/native", row["native"])
    if comp["shim"]["status"] == "ok":
        positive_cell(row["name"] + "/shim", row["shim"])
ex = d["exec"][0]
positive_cell("exec/no_preload", ex["no_preload"])
if comp["empty_library"]["status"] == "ok":
    positive_cell("exec/empty_library", ex["empty_library"])
if comp["shim"]["status"] == "ok":
    positive_cell("exec/shim", ex["shim"])
# The exec target's estimator: per-round medians of back-to-back (empty, shim) pair ratios.
if comp["shim"]["status"] == "ok" and comp["empty_library"]["status"] == "ok":
    p = d.get("exec_paired", {})
    if p.get("status") != "ok":
        err("exec_paired: expected a measurement, got %r" % p)
    else:
        r = p.get("rounds_ratio") or []
        if len(r) != d["rounds"] or not all(isinstance(v, (int, float)) and v > 0 for v in r):
            err("exec_paired: rounds_ratio %r, want %d positive ratios" % (r, d["rounds"]))
        if not (0 < p["p10_ratio"] <= p["median_ratio"] <= p["p90_ratio"]):
            err("exec_paired: p10 <= median <= p90 violated: %r" % p)
        if p.get("pairs_per_round", 0) <= 0:
            err("exec_paired: pairs_per_round %r" % p.get("pairs_per_round"))
    if d["rss_added"]["status"] != "ok":
        err("rss_added: n/a with the shim present (%s)" % d["rss_added"].get("reason"))
if comp["cgprocd"]["status"] == "ok":
    s = d["sampler"]["cgprocd"]
    if s["status"] != "ok" or not s["cpu_ms_per_pass"] or s["threads"] <= 0:
        err("cgprocd sampler cost not measured: %r" % s)

# What the build produced must be found and used (no silent n/a for a built piece).
artefacts = {
    "shim": ["preload/libcgproc.so"],
    "empty_library": ["tools/bench/libempty.so"],
    "cgprocfs": ["tools/cgprocfs/cgprocfs", "tools/cgprocfs"],
    "cgprocd": ["tools/cgprocd/cgprocd", "tools/cgprocd"],
}
for key, paths in artefacts.items():
    built = any(os.path.isfile(os.path.join(build, p)) and os.access(os.path.join(build, p), os.X_OK | os.R_OK)
                for p in paths)
    if built and comp[key]["status"] != "ok":
        err("%s is built but the bench did not use it: %s" % (key, comp[key].get("reason")))
if os.access("/usr/bin/lxcfs", os.X_OK) and comp["lxcfs"]["status"] != "ok":
    err("lxcfs is installed but was not used: %s" % comp["lxcfs"].get("reason"))

if len(d["targets"]) != 6:
    err("want 6 targets, got %d" % len(d["targets"]))
for t in d["targets"]:
    if t["status"] not in ("pass", "fail", "n/a"):
        err("target %s: bad status %r" % (t["name"], t["status"]))

for e in errors:
    print(e)
sys.exit(1 if errors else 0)
