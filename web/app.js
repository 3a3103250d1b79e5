/*
 * app.js: the demo map of parceldb serve. Tiles from /tiles, click to
 * identify (/parcels/at), search by number (/parcels/{commune}/{sheet}/
 * {parcel}), a search box for an address or a number, and an owner name
 * (/parcels/search; the owner field is shown only once a token is typed,
 * since the server answers owner searches only with one), and a coordinate
 * box for WGS 84 or VN-2000 (X = northing, Y = easting, with the TM-3
 * zone). Text from the server is put in the page with textContent only.
 *
 * In the field (issue 14): on a screen narrower than 700 px the map takes
 * the whole width and the panel is a bottom sheet that folds away (the
 * toggle button; identifying a parcel opens it; document.body's
 * data-panel says "folded" or "open"). "Tôi ở đâu?" (where am I) asks the
 * browser's geolocation (high accuracy), draws the accuracy circle
 * (class pdb-accuracy), centres the map there and identifies the parcel
 * under the position as a click does; a refusal or no position is said in
 * the status line. "#parcel=COMMUNE/SHEET/PARCEL" opens the page on that
 * parcel (links in messages, QR codes on printed extracts), and is
 * followed when the hash changes; each parcel's "Liên kết" (link) sets it.
 * Printing keeps the map at its size on screen, at most a page wide (its
 * tiles are loaded already), and prints the parcels' tables under it.
 *
 * The vector map (issue 18): the "PNG | Vector" switch over the map
 * replaces the PNG tiles by MapLibre GL JS drawing the vector tiles
 * (vector.js), at the same place and scale, and back; a click there shows
 * the parcel's attributes read from the tile (a "Chi tiết" link asks the
 * server for the full record). "#map=vector" opens the page on it.
 *
 * Time travel (issue 16): the date field ("Thời điểm") shows the PNG map
 * and answers every lookup (click, number, search by number, coordinate)
 * as they were at the end of that day in UTC (?at=YYYY-MM-DD on the tiles
 * and lookups; docs/lookup.md); empty, or "Hiện tại", is now. The server
 * draws a past date's tiles from zoom AT_MIN_ZOOM (overviews are current
 * only): below it the map shows no tiles and the status line says why.
 * "#at=YYYY-MM-DD" opens the page at that date. document.body's data-at
 * holds the date shown ("" for now). The vector map and the address
 * search are always of now.
 *
 * For tests: "#view=LON,LAT,Z" opens the map there, and "#click=LON,LAT"
 * clicks the map at that point (a real DOM click on the map's pixel) once
 * the tiles have loaded; "#search=TEXT" types TEXT in the search box and
 * submits it. The panel then shows the parcels found, and document.body
 * gets data-state="identified" and data-parcel="NUMBER" (the first).
 * data-map says "moving" while the map pans or zooms, "still" after, so
 * that a screenshot can wait for the map to settle.
 * Geolocation has no hook: tests/server/phone.sh drives the real API
 * through the DevTools protocol (a position override and a permission).
 */
(function () {
    'use strict';

    var map, tiles, outline, accuracy;
    var statusEl = document.getElementById('status');
    var resultEl = document.getElementById('result');
    var panelEl = document.getElementById('panel');
    var toggleEl = document.getElementById('toggle');
    var shownKey = null; /* "COMMUNE/SHEET/PARCEL" of the first parcel shown */
    var atDate = ''; /* "YYYY-MM-DD": the map and lookups at the end of that day (UTC); "": now */
    var AT_MIN_ZOOM = 12; /* the first zoom the server draws a past date's tiles at */
    var phone = window.matchMedia('(max-width: 699.98px)');

    /* The bottom sheet of a phone; on a wider screen the panel is always
     * there and the state is only remembered. */
    function setPanel(open) {
        document.body.dataset.panel = open ? 'open' : 'folded';
        toggleEl.setAttribute('aria-expanded', open ? 'true' : 'false');
        toggleEl.textContent = open ? '▼ Thu gọn (hide)' : '▲ Thông tin thửa (show)';
        if (map) map.invalidateSize({ pan: false });
    }

    /* The height in pixels of the map that the open sheet covers (0 on a
     * wide screen or folded). */
    function sheetHeight() {
        return phone.matches && document.body.dataset.panel === 'open' ? panelEl.offsetHeight : 0;
    }

    /* Fits the map to bounds in the part of it that the sheet leaves
     * visible. */
    function fitTo(bounds) {
        map.fitBounds(bounds, { maxZoom: 19, paddingTopLeft: [20, 20], paddingBottomRight: [20, sheetHeight() + 20] });
    }

    function parcelKey(p) {
        return p.commune + '/' + p.sheet + '/' + p.parcel;
    }

    function parcelHash(p) {
        return '#parcel=' + [p.commune, p.sheet, p.parcel].map(function (v) {
            return encodeURIComponent(String(v));
        }).join('/');
    }

    function setStatus(text, isError) {
        statusEl.textContent = text || '';
        statusEl.className = isError ? 'error' : '';
    }

    function headers() {
        var token = document.getElementById('token').value.trim();
        return token ? { Authorization: 'Bearer ' + token } : {};
    }

    function getJSON(url) {
        return fetch(url, { headers: headers() }).then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (body) {
                if (!r.ok) {
                    var e = new Error(body.error || ('HTTP ' + r.status));
                    e.status = r.status;
                    throw e;
                }
                return body;
            });
        });
    }

    function fmtArea(v) {
        return (typeof v === 'number') ? v.toLocaleString('vi-VN', { maximumFractionDigits: 1 }) + ' m²' : '—';
    }

    function row(table, label, value, cls) {
        var tr = document.createElement('tr');
        var th = document.createElement('th');
        var td = document.createElement('td');
        th.textContent = label;
        td.textContent = (value === null || value === undefined || value === '') ? '—' : String(value);
        if (cls) td.className = cls;
        tr.appendChild(th);
        tr.appendChild(td);
        table.appendChild(tr);
    }

    function card(f) {
        var p = f.properties || {};
        var div = document.createElement('div');
        div.className = 'parcel';
        div.dataset.parcel = p.parcel;
        var h = document.createElement('h2');
        h.textContent = 'Thửa ' + p.parcel + ' · Tờ ' + p.sheet;
        div.appendChild(h);
        var t = document.createElement('table');
        row(t, 'Xã/phường', (p.commune_name ? p.commune_name + ' ' : '') + '(' + p.commune + ')');
        if (p.former_commune) row(t, 'Xã cũ', p.former_commune);
        row(t, 'Loại đất', p.landuse + (p.landuse_name ? ' — ' + p.landuse_name : ''));
        row(t, 'Diện tích (đo đạc)', fmtArea(p.area_surveyed_m2));
        row(t, 'Diện tích (tính)', fmtArea(p.area_computed_m2));
        row(t, 'Địa chỉ', p.address);
        if ('owner' in p) row(t, 'Chủ sử dụng', p.owner, 'owner');
        row(t, 'Hiệu lực từ', p.valid_from);
        row(t, 'Hệ toạ độ gốc', p.source_srid);
        div.appendChild(t);
        (p.flags || []).forEach(function (flag) {
            var s = document.createElement('span');
            s.className = 'flag';
            s.textContent = flag;
            div.appendChild(s);
        });
        /* The link to this parcel: following it sets location.hash, so that
         * the address bar holds a link to copy; the clipboard gets it too
         * where the browser allows. */
        var a = document.createElement('a');
        a.className = 'share';
        a.href = parcelHash(p);
        a.textContent = 'Liên kết (link)';
        a.title = 'Liên kết mở trang ở thửa này (a link that opens this parcel)';
        a.addEventListener('click', function () {
            var url = location.href.replace(/#.*$/, '') + a.getAttribute('href');
            if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(url).then(function () {
                    setStatus('Đã chép liên kết (link copied): ' + url);
                }, function () { setStatus('Liên kết (link): ' + url); });
            } else {
                setStatus('Liên kết (link): ' + url);
            }
        });
        div.appendChild(a);
        div.addEventListener('click', function () {
            if (!f.geometry) return; /* read from a vector tile: no shape here */
            var layer = L.geoJSON(f);
            fitTo(layer.getBounds());
        });
        if (f.fromTile) {
            var more = document.createElement('a');
            more.className = 'share';
            more.href = parcelHash(p);
            more.textContent = ' · Chi tiết (full record)';
            more.title = 'Thuộc tính trên là của tile vector; bấm để hỏi máy chủ (attributes above come from the vector tile)';
            div.appendChild(more);
        }
        return div;
    }

    function show(features, fit) {
        outline.clearLayers();
        resultEl.textContent = '';
        features.forEach(function (f) {
            outline.addData(f);
            resultEl.appendChild(card(f));
        });
        if (features.length === 0) {
            setStatus('Không có thửa nào ở đây (no parcel here).');
            document.body.dataset.state = 'empty';
            delete document.body.dataset.parcel;
            shownKey = null;
            return;
        }
        setStatus(features.length === 1 ? '1 thửa' : features.length + ' thửa');
        document.body.dataset.state = 'identified';
        document.body.dataset.parcel = features[0].properties.parcel;
        shownKey = parcelKey(features[0].properties);
        setPanel(true);
        if (fit) fitTo(outline.getBounds());
    }

    /* A point tapped low on a phone's map would end up under the sheet
     * that the answer opens: the map moves it up into view. */
    function keepVisible(latlng) {
        var sheet = sheetHeight();
        if (!sheet) return;
        var y = map.latLngToContainerPoint(latlng).y, h = map.getSize().y - sheet;
        if (y > h - 20) map.panBy([0, y - h / 2]);
    }

    /* The query of a lookup at the date shown: "" for now, else "at=DATE"
     * after sep ("?" or "&"). */
    function atQuery(sep) {
        return atDate ? sep + 'at=' + atDate : '';
    }

    /* The PNG tiles of the date shown: a new layer, so that Leaflet
     * neither mixes cached tiles of two dates nor asks for past tiles
     * below the zoom the server draws them at. */
    function makeTiles(tj) {
        var maxZoom = tj.maxzoom || 20, layer = L.tileLayer('tiles/{z}/{x}/{y}{r}.png' + atQuery('?'), {
            maxZoom: maxZoom, minZoom: atDate ? AT_MIN_ZOOM : (tj.minzoom || 0),
            attribution: (tj.attribution || 'parceldb') + (atDate ? ' · ' + atDate : '')
        });
        if (tiles) map.removeLayer(tiles);
        tiles = layer.addTo(map);
        outline.bringToFront();
        return tiles;
    }

    function atZoomNote() {
        if (atDate && map.getZoom() < AT_MIN_ZOOM)
            setStatus('Bản đồ ngày ' + atDate + ' chỉ hiện từ mức zoom ' + AT_MIN_ZOOM +
                ' (a past date is drawn from zoom ' + AT_MIN_ZOOM + ')');
    }

    /* Shows the map and lookups at a date ("" for now). */
    function setAt(date, tj) {
        if (date && !/^\d{4}-\d{2}-\d{2}$/.test(date)) {
            setStatus('Ngày không hợp lệ: cần YYYY-MM-DD (bad date)', true);
            return;
        }
        atDate = date;
        document.getElementById('at').value = date;
        document.body.dataset.at = date;
        makeTiles(tj);
        outline.clearLayers();
        resultEl.textContent = '';
        shownKey = null;
        setStatus(date ? 'Bản đồ và tra cứu theo ngày ' + date + ' (as at the end of that day, UTC)' : '');
        atZoomNote();
    }

    function identify(latlng) {
        setStatus('Đang tìm…');
        var url = 'parcels/at?lon=' + latlng.lng.toFixed(9) + '&lat=' + latlng.lat.toFixed(9) + atQuery('&');
        return getJSON(url).then(function (fc) {
            show(fc.features || [], false);
            keepVisible(latlng);
        }).catch(function (e) { setStatus(e.message, true); });
    }

    function num(id) {
        var v = document.getElementById(id).value.trim().replace(',', '.');
        return v === '' ? NaN : Number(v);
    }

    function onSearch(ev) {
        ev.preventDefault();
        var c = document.getElementById('commune').value.trim();
        var s = document.getElementById('sheet').value.trim();
        var p = document.getElementById('parcel').value.trim();
        setStatus('Đang tìm…');
        getJSON('parcels/' + encodeURIComponent(c) + '/' + encodeURIComponent(s) + '/' + encodeURIComponent(p) + atQuery('?'))
            .then(function (fc) { show(fc.features || [], true); })
            .catch(function (e) {
                show([], false);
                setStatus(e.status === 404 ? 'Không tìm thấy thửa ' + c + '/' + s + '/' + p : e.message, true);
            });
    }

    /* Shows the owner field only with a token: without one the server
     * refuses owner searches, and an officer should not be led to try. */
    function onToken() {
        var has = document.getElementById('token').value.trim() !== '';
        document.getElementById('owner-field').hidden = !has;
        if (!has) document.getElementById('owner').value = '';
    }

    function onTextSearch(ev) {
        if (ev) ev.preventDefault();
        var q = document.getElementById('q').value.trim();
        var owner = document.getElementById('owner').value.trim();
        var num = /^(\d{5})\/([^\/\s]+)\/([^\/\s]+)$/.exec(q);
        var url;
        if (num && !owner) {
            url = 'parcels/' + num[1] + '/' + encodeURIComponent(num[2]) + '/' + encodeURIComponent(num[3]) + atQuery('?');
        } else if (q || owner) {
            url = 'parcels/search?limit=50' + (q ? '&address=' + encodeURIComponent(q) : '') +
                (owner ? '&owner=' + encodeURIComponent(owner) : '');
        } else {
            setStatus('Nhập địa chỉ, số thửa hoặc tên chủ', true);
            return;
        }
        setStatus('Đang tìm…');
        getJSON(url)
            .then(function (fc) {
                show(fc.features || [], true);
                if (fc.truncated) setStatus((fc.features || []).length + '+ thửa (thu hẹp tìm kiếm)');
            })
            .catch(function (e) {
                show([], false);
                setStatus(e.status === 404 ? 'Không tìm thấy ' + q : e.message, true);
            });
    }

    function onGoto(ev) {
        ev.preventDefault();
        var crs = document.querySelector('input[name=crs]:checked').value;
        if (crs === 'wgs84') {
            var lon = num('lon'), lat = num('lat');
            if (!(lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90)) {
                setStatus('Kinh độ −180…180, vĩ độ −90…90', true);
                return;
            }
            var ll = L.latLng(lat, lon);
            map.flyTo(ll, Math.max(map.getZoom(), 17));
            identify(ll);
            return;
        }
        var x = num('vnx'), y = num('vny'), zone = document.getElementById('zone').value;
        if (!isFinite(x) || !isFinite(y)) {
            setStatus('Nhập X (Bắc) và Y (Đông) bằng mét', true);
            return;
        }
        setStatus('Đang tìm…');
        getJSON('parcels/at?x=' + x + '&y=' + y + '&zone=' + encodeURIComponent(zone) + atQuery('&'))
            .then(function (fc) {
                if (fc.query) map.flyTo([fc.query.lat, fc.query.lon], Math.max(map.getZoom(), 17));
                show(fc.features || [], false);
            })
            .catch(function (e) { setStatus(e.message, true); });
    }

    /* "#parcel=C/S/P": the parcel by its number, as the search by number
     * finds it. */
    function openHashParcel() {
        var m = /[#&]parcel=([^&]*)/.exec(location.hash);
        if (!m) return;
        var parts = m[1].split('/').map(function (v) {
            try { return decodeURIComponent(v).trim(); } catch (e) { return ''; }
        });
        if (parts.length !== 3 || !/^\d{5}$/.test(parts[0]) || parts[1] === '' || parts[2] === '') {
            setStatus('Liên kết không hợp lệ: cần #parcel=MÃXÃ/TỜ/THỬA, ví dụ #parcel=07894/12/7 ' +
                '(bad link: expected #parcel=COMMUNE/SHEET/PARCEL)', true);
            return;
        }
        var key = parts.join('/');
        if (key === shownKey) return; /* the parcel's own link, followed: it is shown */
        setStatus('Đang tìm…');
        getJSON('parcels/' + parts.map(encodeURIComponent).join('/') + atQuery('?'))
            .then(function (fc) { show(fc.features || [], true); })
            .catch(function (e) {
                show([], false);
                setStatus(e.status === 404 ? 'Không tìm thấy thửa ' + key + ' (no such parcel)' : e.message, true);
                setPanel(true);
            });
    }

    /* "Where am I": the browser's position, its accuracy circle, and the
     * parcel under it through the same path as a click on the map. */
    function locate() {
        if (!navigator.geolocation) {
            setStatus('Trình duyệt này không định vị được (geolocation unavailable).', true);
            setPanel(true);
            return;
        }
        setStatus('Đang xác định vị trí… (locating)');
        setPanel(true); /* now, so that the position is centred above it */
        navigator.geolocation.getCurrentPosition(onPosition, onPositionError,
            { enableHighAccuracy: true, timeout: 30000, maximumAge: 0 });
    }

    function onPosition(pos) {
        var ll = L.latLng(pos.coords.latitude, pos.coords.longitude);
        var r = Math.max(pos.coords.accuracy || 0, 1);
        if (accuracy) map.removeLayer(accuracy);
        accuracy = L.layerGroup([
            L.circle(ll, { radius: r, className: 'pdb-accuracy', color: '#1565c0', weight: 2, fillOpacity: 0.12 }),
            L.circleMarker(ll, { radius: 5, className: 'pdb-position', color: '#fff', weight: 2,
                fillColor: '#1565c0', fillOpacity: 1 })
        ]).addTo(map);
        /* Centred on the position in the part of the map above the sheet,
         * the whole circle in view (a 10 m circle at z19, a 1 km one around
         * z14). */
        var sheet = sheetHeight();
        var z = Math.min(map.getBoundsZoom(ll.toBounds(2 * r), false, L.point(40, sheet + 40)), 19);
        map.setView(map.unproject(map.project(ll, z).add([0, sheet / 2]), z), z);
        identify(ll).then(function () {
            if (statusEl.className !== 'error') {
                setStatus(statusEl.textContent + ' · ±' + Math.round(r) + ' m');
            }
        });
    }

    function onPositionError(err) {
        var text;
        if (err.code === 1) {
            text = window.isSecureContext
                ? 'Trang không được phép dùng vị trí: hãy cho phép trong trình duyệt (location permission refused).'
                : 'Định vị chỉ chạy qua HTTPS (geolocation needs HTTPS).';
        } else if (err.code === 3) {
            text = 'Hết thời gian chờ vị trí (no position in time).';
        } else {
            text = 'Không xác định được vị trí (position unavailable).';
        }
        setStatus(text, true);
        setPanel(true);
    }

    function hashParam(name) {
        var m = new RegExp('[#&]' + name + '=([^&]*)').exec(location.hash);
        return m ? decodeURIComponent(m[1]).split(',').map(Number) : null;
    }

    /* The test hook: a real click event on the map's pixel of the point. */
    function clickAt(lon, lat) {
        var pt = map.latLngToContainerPoint([lat, lon]);
        var box = map.getContainer().getBoundingClientRect();
        var target = document.elementFromPoint(box.left + pt.x, box.top + pt.y) || map.getContainer();
        ['mousedown', 'mouseup', 'click'].forEach(function (type) {
            target.dispatchEvent(new MouseEvent(type, {
                bubbles: true, cancelable: true, view: window, button: 0,
                clientX: box.left + pt.x, clientY: box.top + pt.y
            }));
        });
    }

    /* The vector map's click: the parcel's attributes as the tile has
     * them, shown as a card (no request). */
    function onVectorPick(props) {
        if (!props) {
            show([], false);
            return;
        }
        show([{
            type: 'Feature', geometry: null, fromTile: true,
            properties: {
                commune: props.commune, sheet: props.sheet, parcel: props.parcel,
                landuse: props.landuse, area_computed_m2: props.area
            }
        }], false);
        setStatus('1 thửa (thuộc tính từ tile vector · attributes from the vector tile)');
    }

    /* PNG or vector: the other map takes the same centre and scale. */
    function setMapKind(kind) {
        var vec = kind === 'vector';
        var radio = document.querySelector('input[name=mapkind][value=' + (vec ? 'vector' : 'png') + ']');
        if (radio) radio.checked = true;
        if (vec) {
            var c = map.getCenter();
            document.getElementById('map').hidden = true;
            return window.pdbVector.open(c.lng, c.lat, map.getZoom(), onVectorPick).catch(function (e) {
                setStatus(e.message, true);
                setMapKind('png');
            });
        }
        var v = window.pdbVector.view();
        window.pdbVector.close();
        document.getElementById('map').hidden = false;
        map.invalidateSize({ pan: false });
        if (v) map.setView([v[1], v[0]], Math.round(v[2]), { animate: false });
        return Promise.resolve();
    }

    function start(tj) {
        var maxZoom = tj.maxzoom || 20;
        map = L.map('map', { maxZoom: maxZoom, zoomControl: true });
        outline = L.geoJSON(null, { style: { color: '#d00000', weight: 3, fill: false } }).addTo(map);
        var hashAt = /[#&]at=(\d{4}-\d{2}-\d{2})(&|$)/.exec(location.hash);
        atDate = hashAt ? hashAt[1] : '';
        document.getElementById('at').value = atDate;
        document.body.dataset.at = atDate;
        makeTiles(tj);
        document.getElementById('at').addEventListener('change', function (ev) { setAt(ev.target.value, tj); });
        document.getElementById('at-now').addEventListener('click', function () { setAt('', tj); });
        map.on('zoomend', atZoomNote);
        map.on('click', function (e) { identify(e.latlng); });
        map.on('movestart zoomstart', function () { document.body.dataset.map = 'moving'; });
        map.on('moveend zoomend', function () { document.body.dataset.map = 'still'; });
        var Locate = L.Control.extend({
            options: { position: 'topleft' },
            onAdd: function () {
                var div = L.DomUtil.create('div', 'leaflet-bar pdb-locate');
                var b = L.DomUtil.create('button', '', div);
                b.type = 'button';
                b.id = 'locate';
                b.textContent = '◎ Tôi ở đâu?';
                b.title = 'Vị trí của tôi và thửa đất ở đó (where am I)';
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.on(b, 'click', locate);
                return div;
            }
        });
        new Locate().addTo(map);

        var view = hashParam('view'), click = hashParam('click');
        if (view && view.length === 3) map.setView([view[1], view[0]], view[2]);
        else if (click && click.length === 2) map.setView([click[1], click[0]], 18);
        else if (tj.bounds) map.fitBounds([[tj.bounds[1], tj.bounds[0]], [tj.bounds[3], tj.bounds[2]]]);
        else map.setView([21.3, 105.3], 9);
        atZoomNote();

        var search = /[#&]search=([^&]*)/.exec(location.hash);
        if (search) {
            document.getElementById('q').value = decodeURIComponent(search[1]);
            onTextSearch(null);
        }

        openHashParcel();
        window.addEventListener('hashchange', openHashParcel);

        Array.prototype.forEach.call(document.querySelectorAll('input[name=mapkind]'), function (r) {
            r.addEventListener('change', function () { if (r.checked) setMapKind(r.value); });
        });
        var vector = /[#&]map=vector(&|$)/.test(location.hash);
        if (click && click.length === 2 && !vector) {
            var done = false;
            var fire = function () { if (!done) { done = true; clickAt(click[0], click[1]); } };
            tiles.once('load', fire);
            setTimeout(fire, 5000); /* tiles that never load must not stop the test */
        }
        if (vector) {
            setMapKind('vector').then(function (vmap) {
                if (vmap && click && click.length === 2) {
                    vmap.once('idle', function () { window.pdbVector.clickAt(click[0], click[1]); });
                }
                document.body.dataset.ready = '1';
            });
        } else {
            document.body.dataset.ready = '1';
        }
    }

    /* Printing: the map keeps its size on screen, at most a page wide
     * (170 mm, 640 CSS px) and 150 mm high, around the same centre, so
     * that every tile it prints is loaded already. */
    var printing = false;
    function beforePrint() {
        if (!map || printing) return;
        printing = true;
        var size = map.getSize(), c = map.getCenter(), el = map.getContainer();
        el.style.width = Math.min(size.x, 640) + 'px';
        el.style.height = Math.min(size.y, 560) + 'px';
        map.invalidateSize({ pan: false });
        map.setView(c, map.getZoom(), { animate: false });
    }
    function afterPrint() {
        if (!map || !printing) return;
        printing = false;
        var c = map.getCenter(), el = map.getContainer();
        el.style.width = '';
        el.style.height = '';
        map.invalidateSize({ pan: false });
        map.setView(c, map.getZoom(), { animate: false });
    }
    window.addEventListener('beforeprint', beforePrint);
    window.addEventListener('afterprint', afterPrint);

    toggleEl.addEventListener('click', function () { setPanel(document.body.dataset.panel !== 'open'); });
    setPanel(false);
    document.getElementById('search').addEventListener('submit', onSearch);
    document.getElementById('goto').addEventListener('submit', onGoto);
    document.getElementById('textsearch').addEventListener('submit', onTextSearch);
    document.getElementById('token').addEventListener('input', onToken);
    Array.prototype.forEach.call(document.querySelectorAll('input[name=crs]'), function (r) {
        r.addEventListener('change', function () {
            var vn = document.querySelector('input[name=crs]:checked').value === 'vn2000';
            document.getElementById('wgs84-fields').hidden = vn;
            document.getElementById('vn2000-fields').hidden = !vn;
        });
    });
    getJSON('tiles.json').then(start).catch(function (e) {
        setStatus('tiles.json: ' + e.message, true);
        start({});
    });
})();
