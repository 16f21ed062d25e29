// 民微工作台 maps: the ticket list's map view and the dashboard's hotspot map, drawn with Leaflet
// (served from /static/vendor/leaflet). The data comes from a JSON block on the page; tiles only when
// the console is configured with MINWEI_MAP_TILES, otherwise the points are drawn on a plain background.
"use strict";

(function () {
  const box = document.getElementById("map");
  const source = document.getElementById("map-data");
  if (!box || !source || typeof L === "undefined") return;
  const data = JSON.parse(source.textContent);

  document.querySelectorAll(".legend .swatch[data-colour]").forEach((el) => {
    el.style.background = el.dataset.colour;
  });

  const map = L.map(box, { preferCanvas: false, zoomSnap: 0.5 });
  if (data.tiles) {
    L.tileLayer(data.tiles.url, { attribution: data.tiles.attribution, maxZoom: 19 }).addTo(map);
  } else {
    box.classList.add("offline");
  }
  map.attributionControl.setPrefix(false);

  const bounds = [];
  const esc = (s) =>
    String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  map.createPane("labels").style.zIndex = "350"; // under the points (overlay pane: 400)
  const counted = new Set((data.units || []).map((u) => u.code));
  (data.labels || []).forEach((u) => {
    if (counted.has(u.code)) return; // its count bubble carries the name
    L.marker(u.at, {
      icon: L.divIcon({ className: "unit-label level-" + u.level, html: `<span>${esc(u.name)}</span>`, iconSize: null }),
      interactive: false,
      keyboard: false,
      pane: "labels",
    }).addTo(map);
    bounds.push(u.at);
  });

  (data.pins || []).forEach((p) => {
    L.circleMarker(p.at, {
      className: "pin pin-exact" + (p.urgent ? " pin-urgent" : ""),
      radius: p.urgent ? 8 : 6,
      color: p.urgent ? "#b00020" : "#ffffff",
      weight: p.urgent ? 3 : 1.5,
      fillColor: p.colour,
      fillOpacity: 0.95,
    })
      .bindPopup(
        `<a href="/tickets/${esc(p.code)}">${esc(p.code)}</a><br>${esc(p.category)} · ${esc(p.status)}` +
          (p.urgent ? " · 紧急" : "")
      )
      .addTo(map);
    bounds.push(p.at);
  });

  (data.units || []).forEach((u) => {
    const codes = u.codes.map((c) => `<a href="/tickets/${esc(c)}">${esc(c)}</a>`).join("<br>");
    const more = u.count > u.codes.length ? `<br>…共 ${u.count} 条` : "";
    const kinds = u.categories.map(([name, n]) => `${esc(name)} ${n}`).join("、");
    L.circleMarker(u.at, {
      className: "pin pin-unit",
      radius: 8 + 3 * Math.sqrt(u.count),
      color: "#444",
      weight: 2,
      dashArray: "4 4",
      fillColor: "#888",
      fillOpacity: 0.12,
    })
      .bindTooltip(`${esc(u.name)} · ${u.count}`, { permanent: true, direction: "right", className: "unit-count" })
      .bindPopup(`<b>${esc(u.name)}</b>（按单位位置，无定位）<br>${kinds}<br>${codes}${more}`)
      .addTo(map);
    bounds.push(u.at);
  });

  const largest = Math.max(1, ...(data.hotspots || []).map((h) => h.count));
  (data.hotspots || []).forEach((h) => {
    L.circleMarker(h.at, {
      className: "hotspot" + (h.exact ? " hotspot-exact" : " hotspot-unit"),
      radius: 5 + 25 * Math.sqrt(h.count / largest),
      color: h.colour,
      weight: h.exact ? 1 : 2,
      dashArray: h.exact ? null : "4 4",
      fillColor: h.colour,
      fillOpacity: 0.35,
    })
      .bindTooltip(`${esc(h.category)} · ${esc(h.label)} · ${h.count} 件`)
      .addTo(map);
    bounds.push(h.at);
  });

  if (bounds.length) {
    map.fitBounds(L.latLngBounds(bounds).pad(0.15), { maxZoom: 16 });
  } else {
    map.setView([23.13, 113.26], 12);
  }
  box.dataset.drawn = String((data.pins || []).length + (data.units || []).length + (data.hotspots || []).length);
})();
