// mvt-check.js: the JavaScript decoder path of the vector tile tests
// (tests/server/mvt.sh). A tile is read twice: by a strict reader written
// here on pbf's field reader, which refuses what the MVT 2.1 specification
// forbids (missing or repeated fields, wrong wire types, unknown value
// types, tags out of range, geometry commands that do not add up, zero-
// length segments, rings of zero area or wrong winding), and by
// @mapbox/vector-tile, whose loadGeometry() is what clients draw. The same
// decode() is run on @mapbox/mvt-fixtures (its valid fixtures must pass,
// its invalid ones must be refused) and on parceldb's tiles.
//
//   node mvt-check.js fixtures         every fixture, valid and invalid
//   node mvt-check.js tiles FILE...    each tile: one JSON line of what it
//                                      holds; exit 1 on the first problem
'use strict';
const fs = require('fs');
const Pbf = require('pbf');
const { VectorTile } = require('@mapbox/vector-tile');

const WT = { VARINT: 0, FIXED64: 1, BYTES: 2, FIXED32: 5 };

// Reads a message's fields strictly: each field's wire type must be the one
// the schema gives; onField(tag, pbf) consumes it.
function fields(pbf, end, schema, what, onField) {
    while (pbf.pos < end) {
        const val = pbf.readVarint();
        const tag = val >> 3, type = val & 7;
        if (!(tag in schema)) throw new Error(`${what}: unknown field ${tag}`);
        if (schema[tag] !== type) throw new Error(`${what}: field ${tag} has wire type ${type}, not ${schema[tag]}`);
        onField(tag, type);
    }
    if (pbf.pos !== end) throw new Error(`${what}: runs past its end`);
}

function readValue(pbf) {
    const end = pbf.readVarint() + pbf.pos;
    let n = 0, v;
    fields(pbf, end, { 1: WT.BYTES, 2: WT.FIXED32, 3: WT.FIXED64, 4: WT.VARINT, 5: WT.VARINT, 6: WT.VARINT, 7: WT.VARINT },
        'value', (tag) => {
            n++;
            v = tag === 1 ? pbf.readString() : tag === 2 ? pbf.readFloat() : tag === 3 ? pbf.readDouble()
                : tag === 4 ? pbf.readVarint64() : tag === 5 ? pbf.readVarint() : tag === 6 ? pbf.readSVarint()
                    : pbf.readBoolean();
        });
    if (n !== 1) throw new Error(`a value has ${n} fields, not 1`);
    return v;
}

function readPacked(pbf) {
    const end = pbf.readVarint() + pbf.pos, out = [];
    while (pbf.pos < end) out.push(pbf.readVarint());
    if (pbf.pos !== end) throw new Error('a packed field runs past its end');
    return out;
}

// Surveyor's formula: positive for an exterior ring (y down).
function area2(ring) {
    let s = 0;
    for (let i = 0; i < ring.length; i++) {
        const a = ring[i], b = ring[(i + 1) % ring.length];
        s += a[0] * b[1] - b[0] * a[1];
    }
    return s;
}

// Checks a geometry's commands against its type; returns the rings (open).
function checkGeometry(cmds, type, what) {
    let i = 0, x = 0, y = 0;
    const rings = [];
    const params = (count) => {
        if (count === 0) throw new Error(`${what}: a command of count 0`);
        if (i + 2 * count > cmds.length) throw new Error(`${what}: count ${count} is more than the parameters left`);
        const pts = [];
        for (let k = 0; k < count; k++) {
            const dx = (cmds[i] >>> 1) ^ -(cmds[i] & 1), dy = (cmds[i + 1] >>> 1) ^ -(cmds[i + 1] & 1);
            i += 2;
            x += dx;
            y += dy;
            pts.push([x, y, dx, dy]);
        }
        return pts;
    };
    const cmd = () => {
        if (i >= cmds.length) throw new Error(`${what}: ends inside a shape`);
        const c = cmds[i++];
        return { id: c & 7, count: c >>> 3 };
    };
    if (cmds.length === 0) throw new Error(`${what}: no geometry`);
    while (i < cmds.length) {
        let c = cmd();
        if (c.id !== 1) throw new Error(`${what}: a shape starts with command ${c.id}, not MoveTo`);
        if (type === 1) {
            rings.push(params(c.count).map((p) => [p[0], p[1]]));
            if (i !== cmds.length) throw new Error(`${what}: a point geometry has more than one MoveTo`);
            break;
        }
        if (c.count !== 1) throw new Error(`${what}: MoveTo of count ${c.count} in a line or polygon`);
        const ring = params(1).map((p) => [p[0], p[1]]);
        c = cmd();
        if (c.id !== 2) throw new Error(`${what}: MoveTo not followed by LineTo`);
        for (const p of params(c.count)) {
            if (p[2] === 0 && p[3] === 0) throw new Error(`${what}: a zero-length segment`);
            ring.push([p[0], p[1]]);
        }
        if (type === 3) {
            c = cmd();
            if (c.id !== 7 || c.count !== 1) throw new Error(`${what}: a ring ends with command ${c.id} count ${c.count}, not ClosePath 1`);
            if (ring.length < 3) throw new Error(`${what}: a ring of ${ring.length} points`);
            const a = area2(ring);
            if (a === 0) throw new Error(`${what}: a ring of zero area`);
            if (rings.length === 0 && a < 0) throw new Error(`${what}: the first ring is not an exterior (wrong winding)`);
        } else if (type === 2 && i < cmds.length && (cmds[i] & 7) === 7) {
            throw new Error(`${what}: ClosePath in a line`);
        }
        rings.push(ring);
    }
    return rings;
}

// The strict reader. Returns {name: {version, extent, keys, features: [{id, type, props, rings}]}}.
function strict(buf) {
    const pbf = new Pbf(buf), layers = {};
    fields(pbf, buf.length, { 3: WT.BYTES }, 'tile', () => {
        const end = pbf.readVarint() + pbf.pos;
        const l = { keys: [], values: [], feats: [], seen: {} };
        fields(pbf, end, { 1: WT.BYTES, 2: WT.BYTES, 3: WT.BYTES, 4: WT.BYTES, 5: WT.VARINT, 15: WT.VARINT }, 'layer', (tag) => {
            if ((tag === 1 || tag === 5 || tag === 15) && l.seen[tag]) throw new Error(`layer: field ${tag} twice`);
            l.seen[tag] = true;
            if (tag === 1) l.name = pbf.readString();
            else if (tag === 3) l.keys.push(pbf.readString());
            else if (tag === 4) l.values.push(readValue(pbf));
            else if (tag === 5) l.extent = pbf.readVarint();
            else if (tag === 15) l.version = pbf.readVarint();
            else {
                const fend = pbf.readVarint() + pbf.pos, f = { seen: {} };
                fields(pbf, fend, { 1: WT.VARINT, 2: WT.BYTES, 3: WT.VARINT, 4: WT.BYTES }, 'feature', (ft) => {
                    if (f.seen[ft]) throw new Error(`feature: field ${ft} twice`);
                    f.seen[ft] = true;
                    if (ft === 1) f.id = pbf.readVarint64();
                    else if (ft === 2) f.tags = readPacked(pbf);
                    else if (ft === 3) f.type = pbf.readVarint();
                    else f.geometry = readPacked(pbf);
                });
                l.feats.push(f);
            }
        });
        if (l.name === undefined) throw new Error('a layer without a name');
        if (l.version !== 1 && l.version !== 2) throw new Error(`layer ${l.name}: version ${l.version}`);
        if (l.name in layers) throw new Error(`two layers named ${l.name}`);
        const extent = l.extent === undefined ? 4096 : l.extent;
        const feats = l.feats.map((f, k) => {
            const what = `layer ${l.name} feature ${k}`;
            if (f.type === undefined || f.type > 3) throw new Error(`${what}: geometry type ${f.type}`);
            if (f.geometry === undefined) throw new Error(`${what}: no geometry`);
            const tags = f.tags || [], props = {};
            if (tags.length % 2) throw new Error(`${what}: an odd number of tags`);
            for (let t = 0; t < tags.length; t += 2) {
                if (tags[t] >= l.keys.length) throw new Error(`${what}: key ${tags[t]} of ${l.keys.length}`);
                if (tags[t + 1] >= l.values.length) throw new Error(`${what}: value ${tags[t + 1]} of ${l.values.length}`);
                props[l.keys[tags[t]]] = l.values[tags[t + 1]];
            }
            // UNKNOWN (0), written out, is valid: a decoder may skip it (fixture 016).
            const rings = f.type === 0 ? [] : checkGeometry(f.geometry, f.type, what);
            return { id: f.id, type: f.type, props, rings };
        });
        layers[l.name] = { version: l.version, extent, keys: l.keys, features: feats };
    });
    return layers;
}

// decode(buf): the strict reader, then @mapbox/vector-tile over the same
// bytes, with loadGeometry() and the signed area of every ring checked:
// each polygon's first ring an exterior, no ring of zero area.
function decode(buf) {
    const layers = strict(buf);
    const vt = new VectorTile(new Pbf(buf));
    for (const name of Object.keys(layers)) {
        const l = vt.layers[name];
        if (layers[name].features.length === 0) continue; // vector-tile drops empty layers
        if (!l || l.length !== layers[name].features.length) throw new Error(`layer ${name}: vector-tile reads another count`);
        for (let k = 0; k < l.length; k++) {
            const f = l.feature(k);
            if (f.type !== 3) {
                if (f.type !== 0) f.loadGeometry();
                continue;
            }
            f.loadGeometry().forEach((ring, r) => {
                // loadGeometry closes each ring (the first point again).
                const pts = ring.slice(0, -1).map((p) => [p.x, p.y]);
                const a = area2(pts);
                if (a === 0) throw new Error(`layer ${name} feature ${k} ring ${r}: zero area (vector-tile)`);
                if (r === 0 && a < 0) throw new Error(`layer ${name} feature ${k}: first ring wound as a hole (vector-tile)`);
            });
            const polys = f.toGeoJSON(0, 0, 1).geometry; // classifyRings runs here
            if (!polys) throw new Error(`layer ${name} feature ${k}: no GeoJSON`);
        }
    }
    return layers;
}

// Two fixtures flagged valid contradict two flagged invalid, and the
// decoder refuses both of each pair rather than special-casing a fixture:
// 016 (type UNKNOWN) is byte for byte 003 (no type: proto2 leaves the
// default out), and 057's geometry is 051's (a point MoveTo of count
// 2^29-1 followed by one pair). The runner checks they are still alike.
const CONTRADICTED = { '016': '003', '057': '051' };

function fixtures() {
    const mvtf = require('@mapbox/mvt-fixtures');
    let good = 0, bad = 0, problems = 0;
    mvtf.each((f) => {
        let err = null;
        try {
            decode(f.buffer);
        } catch (e) {
            err = e;
        }
        const twin = CONTRADICTED[f.id] && mvtf.get(CONTRADICTED[f.id]);
        if (twin) {
            const g = f.json.layers[0].features[0].geometry, h = twin.json.layers[0].features[0].geometry;
            const alike = Buffer.compare(f.buffer, twin.buffer) === 0 || (g[0] === h[0] && g.length === h.length);
            if (!err || twin.validity.v2 || !alike) {
                problems++;
                console.log(`FAIL: fixture ${f.id} is no longer fixture ${twin.id}'s geometry, or is accepted`);
            } else {
                console.log(`note: fixture ${f.id} (flagged valid) refused like fixture ${twin.id} (flagged invalid), the same geometry: ${err.message}`);
                bad++;
            }
            return;
        }
        if (f.validity.v2 && err) {
            problems++;
            console.log(`FAIL: valid fixture ${f.id} refused: ${err.message}`);
        } else if (!f.validity.v2 && !err) {
            problems++;
            console.log(`FAIL: invalid fixture ${f.id} accepted (${f.description})`);
        } else if (f.validity.v2) {
            good++;
        } else {
            bad++;
        }
    });
    console.log(`fixtures: ${good} valid decoded, ${bad} invalid refused, ${problems} wrong`);
    process.exit(problems || good + bad === 0 ? 1 : 0);
}

// What a parceldb tile may hold: the layers and their fields (tiler.h).
const FIELDS = {
    parcels: ['id', 'commune', 'sheet', 'parcel', 'landuse', 'landuse_main', 'area'],
    communes: ['code', 'name'],
    labels: ['id', 'parcel'],
};

function tiles(files) {
    for (const file of files) {
        let layers;
        try {
            layers = decode(fs.readFileSync(file));
            for (const [name, l] of Object.entries(layers)) {
                if (!(name in FIELDS)) throw new Error(`unexpected layer ${name}`);
                if (l.version !== 2 || l.extent !== 4096) throw new Error(`layer ${name}: version ${l.version}, extent ${l.extent}`);
                for (const k of l.keys)
                    if (!FIELDS[name].includes(k)) throw new Error(`layer ${name}: unexpected field ${k}`);
            }
        } catch (e) {
            console.log(JSON.stringify({ file, error: e.message }));
            process.exit(1);
        }
        const p = layers.parcels ? layers.parcels.features : [];
        const ids = p.filter((f) => f.props.id !== undefined).map((f) => f.props.id);
        console.log(JSON.stringify({
            file,
            parcels: p.length,
            ids,
            rings: p.reduce((n, f) => n + f.rings.length, 0),
            communes: layers.communes ? layers.communes.features.length : 0,
            labels: layers.labels ? layers.labels.features.length : 0,
            values: Object.values(layers).flatMap((l) => l.features.flatMap((f) => Object.values(f.props)))
                .filter((v) => typeof v === 'string').filter((v, i, a) => a.indexOf(v) === i),
        }));
    }
}

if (require.main === module) {
    const [mode, ...rest] = process.argv.slice(2);
    if (mode === 'fixtures') fixtures();
    else if (mode === 'tiles') tiles(rest);
    else {
        console.error('usage: node mvt-check.js fixtures | tiles FILE...');
        process.exit(2);
    }
}
module.exports = { decode };
