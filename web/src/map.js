// The map of entries with a place: Leaflet, with round markers (no image files to serve) and a
// popup linking to each entry. The same entries are listed beside the map for everyone who does
// not use it; this script only adds the map. Data comes from a JSON block, not inline script.
import L from "leaflet";

function start() {
  const holder = document.getElementById("map");
  const data = document.getElementById("map-data");
  if (!holder || !data) return;
  const { tiles, attribution, entries } = JSON.parse(data.textContent);
  holder.hidden = false;
  const map = L.map(holder, { scrollWheelZoom: false });
  L.tileLayer(tiles, { attribution, maxZoom: 18 }).addTo(map);
  const points = [];
  for (const entry of entries) {
    const marker = L.circleMarker([entry.lat, entry.lon], {
      radius: 9, color: "#7a4a00", weight: 2, fillColor: "#f0a500", fillOpacity: 0.9,
    }).addTo(map);
    const popup = document.createElement("div");
    const link = document.createElement("a");
    link.href = entry.url;
    link.textContent = entry.title;
    const strong = document.createElement("strong");
    strong.append(link);
    popup.append(strong);
    if (entry.detail) {
      const p = document.createElement("p");
      p.textContent = entry.detail;
      popup.append(p);
    }
    marker.bindPopup(popup);
    // Leaflet reads a string as HTML: the title goes in as text.
    const tooltip = document.createElement("span");
    tooltip.textContent = entry.title;
    marker.bindTooltip(tooltip);
    points.push([entry.lat, entry.lon]);
  }
  if (points.length > 0) {
    map.fitBounds(points, { padding: [30, 30], maxZoom: 12 });
  } else {
    map.setView([46.6, 2.4], 5); // France
  }
}

// In an entry's form: a map where a click sets the
// latitude and longitude boxes, which stay the way to type a place by hand.
function pickers() {
  const data = document.getElementById("map-data");
  if (!data) return;
  const { tiles, attribution } = JSON.parse(data.textContent);
  for (const holder of document.querySelectorAll(".point-picker")) {
    const lat = document.querySelector(holder.dataset.lat);
    const lon = document.querySelector(holder.dataset.lon);
    if (!lat || !lon) continue;
    holder.hidden = false;
    const hint = holder.parentElement.querySelector(".point-hint");
    if (hint) hint.hidden = false;
    const map = L.map(holder, { scrollWheelZoom: false });
    L.tileLayer(tiles, { attribution, maxZoom: 18 }).addTo(map);
    let marker = null;
    const place = (latlng) => {
      if (marker) marker.setLatLng(latlng);
      else marker = L.circleMarker(latlng, { radius: 9, color: "#7a4a00", weight: 2, fillColor: "#f0a500", fillOpacity: 0.9 }).addTo(map);
    };
    const current = () => {
      const a = parseFloat(lat.value.replace(",", "."));
      const b = parseFloat(lon.value.replace(",", "."));
      return Number.isFinite(a) && Number.isFinite(b) ? [a, b] : null;
    };
    const here = current();
    if (here) {
      place(here);
      map.setView(here, 12);
    } else {
      map.setView([46.6, 2.4], 5);
    }
    map.on("click", (event) => {
      lat.value = event.latlng.lat.toFixed(5);
      lon.value = event.latlng.lng.toFixed(5);
      place(event.latlng);
    });
    const follow = () => {
      const typed = current();
      if (typed) {
        place(typed);
        map.panTo(typed);
      }
    };
    lat.addEventListener("change", follow);
    lon.addEventListener("change", follow);
  }
}

function ready() {
  start();
  pickers();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", ready);
} else {
  ready();
}
