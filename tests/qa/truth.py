#!/usr/bin/env python3
"""truth.py MANIFEST REPORT: every error pdb-synth planted (the manifest's
qa_ground_truth) is in the JSON report of `parceldb qa` under the right
check, on the right parcel (former commune, sheet, number). A gap is
matched by the parcels its detail names around it (the planted parcel is
one of them). Prints one line per planted error; exits 1 on any miss."""
import json
import sys

manifest = json.load(open(sys.argv[1]))
report = json.load(open(sys.argv[2]))
truth = manifest["qa_ground_truth"]
findings = report["findings"]
misses = 0


def same(f, former, sheet, parcel):
    return f.get("former", "") == former and f.get("sheet") == sheet and f.get("parcel") == parcel


for t in truth:
    former, sheet, parcel = t["former"], str(t["sheet"]), str(t["parcel"])
    hits = []
    for f in findings:
        if f["check"] != t["check"]:
            continue
        if same(f, former, sheet, parcel):
            hits.append(f)
        elif "other" in f and same(f["other"], former, sheet, parcel):
            hits.append(f)
        elif t["check"] == "gap" and f"{former}:{sheet}/{parcel}" in (f.get("detail") or "").split():
            hits.append(f)
    where = f"{t['check']} at {former}:{sheet}/{parcel}"
    if hits:
        print(f"ok: planted {where} found ({hits[0]['detail']})")
    else:
        misses += 1
        print(f"FAIL: planted {where} not in the report", file=sys.stderr)
print(f"{len(truth) - misses} of {len(truth)} planted errors found")
sys.exit(1 if misses or not truth else 0)
