// read.mjs SOURCE OUTDIR: reads a PMTiles archive with the `pmtiles` npm
// package (tests/js/pmtiles), from a file or, for an http:// SOURCE,
// through HTTP range requests (the library's FetchSource), as a web page
// would. Lists every tile the archive holds over its header's bounds (one
// tile more on each side, to see that nothing lies outside), writes each
// to OUTDIR/Z/X/Y.png (.mvt for vector tiles, inflated as the library
// gives them), and prints one JSON line: the header, the metadata,
// the tiles found and the tile ids the library computes for the spec's
// example tiles.
import fs from "node:fs";
import path from "node:path";
import { PMTiles, FetchSource, zxyToTileId } from "pmtiles";

const [source, outdir] = process.argv.slice(2);
if (!source || !outdir) {
  console.error("usage: node read.mjs FILE|URL OUTDIR");
  process.exit(2);
}

// A local file, read with positional reads (the library's FileSource is
// for a browser's File).
class NodeFileSource {
  constructor(file) {
    this.file = file;
    this.fd = fs.openSync(file, "r");
  }
  getKey() {
    return this.file;
  }
  async getBytes(offset, length) {
    const b = Buffer.alloc(length);
    const n = fs.readSync(this.fd, b, 0, length, offset);
    return { data: b.buffer.slice(b.byteOffset, b.byteOffset + n) };
  }
}

const src = /^https?:\/\//.test(source) ? new FetchSource(source) : new NodeFileSource(source);
const pm = new PMTiles(src);
const header = await pm.getHeader();
const metadata = await pm.getMetadata();

const tileX = (lon, z) => Math.floor(((lon + 180) / 360) * 2 ** z);
const tileY = (lat, z) => {
  const r = (lat * Math.PI) / 180;
  return Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * 2 ** z);
};

const ext = header.tileType === 1 ? "mvt" : "png";
let tiles = 0;
const perZoom = {};
for (let z = header.minZoom; z <= header.maxZoom; z++) {
  const n = 2 ** z;
  const x0 = Math.max(0, tileX(header.minLon, z) - 1);
  const x1 = Math.min(n - 1, tileX(header.maxLon, z) + 1);
  const y0 = Math.max(0, tileY(header.maxLat, z) - 1);
  const y1 = Math.min(n - 1, tileY(header.minLat, z) + 1);
  perZoom[z] = 0;
  for (let x = x0; x <= x1; x++) {
    for (let y = y0; y <= y1; y++) {
      const t = await pm.getZxy(z, x, y);
      if (t === undefined) continue;
      const dir = path.join(outdir, String(z), String(x));
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, `${y}.${ext}`), Buffer.from(t.data));
      tiles++;
      perZoom[z]++;
    }
  }
}
const ids = {
  "0/0/0": zxyToTileId(0, 0, 0),
  "1/0/0": zxyToTileId(1, 0, 0),
  "1/0/1": zxyToTileId(1, 0, 1),
  "1/1/1": zxyToTileId(1, 1, 1),
  "1/1/0": zxyToTileId(1, 1, 0),
  "12/3423/1763": zxyToTileId(12, 3423, 1763),
};
console.log(JSON.stringify({ header, metadata, tiles, perZoom, ids }));
