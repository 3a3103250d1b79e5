#!/usr/bin/env python3
"""resurvey_edges.py MANIFEST NUMBERS: the lineage edges a re-import of a
pdb-synth --resurvey file must record, one "kind old new" a line, sorted:
each entry of the manifest's resurvey_ground_truth (every old number to
every new one), and every number of NUMBERS (the commune before, one
FORMER:SHEET/PARCEL a word) the truth does not touch, unchanged, to
itself. Shared by tests/import/lineage.sh and lineage_national.sh."""
import json
import sys

m = json.load(open(sys.argv[1]))
touched, lines = set(), []
for t in m["resurvey_ground_truth"]:
    for o in t["old"]:
        touched.add(t["former"] + ":" + o)
        for n in t["new"]:
            lines.append("%s %s:%s %s:%s" % (t["kind"], t["former"], o, t["former"], n))
for num in open(sys.argv[2]).read().split():
    if num not in touched:
        lines.append("unchanged %s %s" % (num, num))
print("\n".join(sorted(lines)))
