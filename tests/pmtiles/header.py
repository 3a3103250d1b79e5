#!/usr/bin/env python3
"""header.py ARCHIVE JS_JSON [FIELD=VALUE ...]: the 127-byte header of a
PMTiles archive read with struct, as the spec (v3, chapter 3) lays it out,
independently of parceldb's reader, then checked: against what the pmtiles
npm package read (JS_JSON, a line of read.mjs), against the spec's layout
rules (sections in order and inside the file, root directory in the first
16 KiB, gzip directories and metadata that inflate), and against the
FIELD=VALUE pairs given (numbers; bounds compared to 1e-7 degrees).
Prints one line per check; exits 1 when any fails."""
import gzip
import json
import os
import struct
import sys

path, js_path = sys.argv[1], sys.argv[2]
want = dict(a.split("=", 1) for a in sys.argv[3:])
with open(path, "rb") as f:
    raw = f.read(127)
size = os.path.getsize(path)
fails = 0


def check(name, ok, detail=""):
    global fails
    print(("ok: " if ok else "FAIL: ") + name + (f" ({detail})" if detail else ""))
    fails += 0 if ok else 1


check("magic 'PMTiles'", raw[:7] == b"PMTiles", repr(raw[:7]))
check("version 3", raw[7] == 3, raw[7])
(root_off, root_len, meta_off, meta_len, leaf_off, leaf_len, data_off, data_len,
 addressed, entries, contents) = struct.unpack("<11Q", raw[8:96])
clustered, ic, tc, tt, minz, maxz = raw[96:102]
min_lon, min_lat, max_lon, max_lat = (v / 1e7 for v in struct.unpack("<4i", raw[102:118]))
center_zoom = raw[118]
center_lon, center_lat = (v / 1e7 for v in struct.unpack("<2i", raw[119:127]))
h = dict(rootDirectoryOffset=root_off, rootDirectoryLength=root_len,
         jsonMetadataOffset=meta_off, jsonMetadataLength=meta_len,
         leafDirectoryOffset=leaf_off, leafDirectoryLength=leaf_len,
         tileDataOffset=data_off, tileDataLength=data_len, numAddressedTiles=addressed,
         numTileEntries=entries, numTileContents=contents, internalCompression=ic,
         tileCompression=tc, tileType=tt, minZoom=minz, maxZoom=maxz, minLon=min_lon,
         minLat=min_lat, maxLon=max_lon, maxLat=max_lat, centerZoom=center_zoom,
         centerLon=center_lon, centerLat=center_lat, clustered=clustered == 1)

# The same numbers as the pmtiles library read.
js = json.loads(open(js_path).read())["header"]
for k, v in h.items():
    jv = js.get(k)
    same = abs(jv - v) < 1e-9 if isinstance(v, float) else jv == v
    check(f"header {k} as the pmtiles library reads it", same, f"{v} vs {jv}")

# The layout the writer promises (spec chapter 2).
check("root directory right after the header", root_off == 127, root_off)
check("root directory within the first 16384 bytes", root_off + root_len <= 16384,
      root_off + root_len)
check("metadata after the root directory", meta_off == root_off + root_len)
check("leaf directories after the metadata", leaf_off == meta_off + meta_len)
check("tile data after the leaf directories", data_off == leaf_off + leaf_len)
check("the file ends with the tile data", size == data_off + data_len, f"{size} bytes")
check("clustered", clustered == 1, clustered)
check("internal compression gzip (2)", ic == 2, ic)
check("entries <= addressed tiles, contents <= entries",
      entries <= addressed and contents <= entries, f"{contents} <= {entries} <= {addressed}")
check("centre inside the bounds", min_lon <= center_lon <= max_lon and
      min_lat <= center_lat <= max_lat)
check("centre zoom within the zooms", minz <= center_zoom <= maxz, center_zoom)
with open(path, "rb") as f:
    f.seek(root_off)
    root = gzip.decompress(f.read(root_len))
    f.seek(meta_off)
    meta = json.loads(gzip.decompress(f.read(meta_len)))
check("the root directory inflates", len(root) > 0, f"{len(root)} bytes")
check("the metadata is a JSON object with name and attribution",
      isinstance(meta, dict) and "name" in meta and "attribution" in meta)

for k, v in want.items():
    got = h[k]
    ok = abs(got - float(v)) <= 1.01e-7 if isinstance(got, float) else str(int(got)) == v
    check(f"header {k} = {v}", ok, got)
sys.exit(1 if fails else 0)
