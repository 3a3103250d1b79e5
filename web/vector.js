/*
 * vector.js: the demo page's vector map: MapLibre GL JS (from npm, served
 * by the server itself under maplibre/, loaded on first use so that a
 * phone that never asks for it does not download it) drawing the vector
 * tiles (/tiles/{z}/{x}/{y}.mvt) with the style the server writes from the
 * PNG tiles' own style file (/styles/landuse.json), so both maps show the
 * same colours. Hovering a parcel names it, clicking one shows its
 * attributes, both read from the tile itself (no lookup request).
 *
 * window.pdbVector = { open(lon, lat, z256, onPick), close(),
 * view() }: open shows the map at a Leaflet (256 px tile) zoom; MapLibre's
 * zooms are of 512 px tiles, one less for the same scale. onPick(props,
 * lngLat) is called with a clicked parcel's tile attributes. close() hides
 * it; view() gives [lon, lat, z256].
 *
 * For tests: document.body gets data-vector="loading", then "ready"
 * (style loaded), then "idle" each time every tile in view is drawn;
 * data-hover names the parcel under the pointer (COMMUNE/SHEET/PARCEL);
 * window.pdbVectorMap is the map, and window.pdbErrors (index.html) holds
 * every error the map reported.
 */
(function () {
    'use strict';

    var map = null, loading = null, pick = null;
    var el = document.getElementById('vmap');

    function note(e) {
        var m = (e && e.error && e.error.message) || (e && e.message) || String(e);
        (window.pdbErrors = window.pdbErrors || []).push('map: ' + m);
    }

    /* maplibre-gl.mjs (an ES module, with its worker module beside it:
     * both from this server, which the page's Content-Security-Policy
     * allows, where the classic build's workers from blob: URLs are not)
     * and its CSS, once. */
    function load() {
        if (loading) return loading;
        var css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = 'maplibre/maplibre-gl.css';
        document.head.appendChild(css);
        loading = import('./maplibre/maplibre-gl.mjs').catch(function (e) {
            loading = null;
            throw new Error('maplibre/maplibre-gl.mjs could not be loaded (' + e.message +
                '): the server was built without npm?');
        });
        return loading;
    }

    /* The parcel fill layers of the style: those a click or a hover reads. */
    function parcelLayers() {
        return map.getStyle().layers.filter(function (l) {
            return l['source-layer'] === 'parcels' && l.type === 'fill';
        }).map(function (l) { return l.id; });
    }

    function featureAt(point) {
        var layers = parcelLayers();
        var fs = layers.length ? map.queryRenderedFeatures(point, { layers: layers }) : [];
        for (var i = 0; i < fs.length; i++) {
            if (fs[i].properties && fs[i].properties.parcel !== undefined) return fs[i];
        }
        return null;
    }

    function select(id) {
        if (map.getLayer('pdb-selected')) map.setFilter('pdb-selected', ['==', ['get', 'id'], id === null ? -1 : id]);
    }

    function build(gl, lon, lat, z256) {
        map = new gl.Map({
            container: el,
            style: 'styles/landuse.json',
            center: [lon, lat],
            zoom: Math.max(z256 - 1, 0),
            attributionControl: { compact: true },
            /* The canvas can be read back (tests compare it with the PNG
             * tiles); it costs a copy a frame, nothing a user sees. */
            canvasContextAttributes: { preserveDrawingBuffer: true }
        });
        window.pdbVectorMap = map;
        map.addControl(new gl.NavigationControl({ showCompass: false }), 'top-left');
        map.on('error', note);
        map.on('load', function () {
            var src = Object.keys(map.getStyle().sources)[0];
            map.addLayer({
                id: 'pdb-selected', type: 'line', source: src, 'source-layer': 'parcels',
                filter: ['==', ['get', 'id'], -1],
                paint: { 'line-color': '#d00000', 'line-width': 3 }
            });
            document.body.dataset.vector = 'ready';
        });
        map.on('idle', function () { document.body.dataset.vector = 'idle'; });
        map.on('movestart', function () { document.body.dataset.map = 'moving'; });
        map.on('moveend', function () { document.body.dataset.map = 'still'; });
        var popup = new gl.Popup({ closeButton: false, closeOnClick: false, className: 'pdb-hover' });
        map.on('mousemove', function (e) {
            var f = featureAt(e.point);
            map.getCanvas().style.cursor = f ? 'pointer' : '';
            if (!f) {
                popup.remove();
                delete document.body.dataset.hover;
                return;
            }
            var p = f.properties;
            document.body.dataset.hover = p.commune + '/' + p.sheet + '/' + p.parcel;
            popup.setLngLat(e.lngLat).setText('Thửa ' + p.parcel + ' · Tờ ' + p.sheet + ' · ' + p.landuse).addTo(map);
        });
        map.getCanvas().addEventListener('mouseleave', function () { popup.remove(); });
        map.on('click', function (e) {
            var f = featureAt(e.point);
            select(f ? f.properties.id : null);
            if (pick) pick(f ? f.properties : null, e.lngLat);
        });
    }

    window.pdbVector = {
        open: function (lon, lat, z256, onPick) {
            pick = onPick;
            el.hidden = false;
            document.body.dataset.vector = 'loading';
            return load().then(function (gl) {
                if (!map) build(gl, lon, lat, z256);
                else map.jumpTo({ center: [lon, lat], zoom: Math.max(z256 - 1, 0) });
                map.resize();
                return map;
            });
        },
        close: function () {
            el.hidden = true;
            if (map) select(null);
        },
        view: function () {
            if (!map) return null;
            var c = map.getCenter();
            return [c.lng, c.lat, map.getZoom() + 1];
        },
        /* The test hook: real mouse events on the canvas at a point. */
        clickAt: function (lon, lat) {
            var pt = map.project([lon, lat]), canvas = map.getCanvas();
            var box = canvas.getBoundingClientRect();
            ['mousedown', 'mouseup', 'click'].forEach(function (type) {
                canvas.dispatchEvent(new MouseEvent(type, {
                    bubbles: true, cancelable: true, view: window, button: 0,
                    clientX: box.left + pt.x, clientY: box.top + pt.y
                }));
            });
        }
    };
})();
