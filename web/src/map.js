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
    marker.bindTooltip(entry.title);
    points.push([entry.lat, entry.lon]);
  }
  if (points.length > 0) {
    map.fitBounds(points, { padding: [30, 30], maxZoom: 12 });
  } else {
    map.setView([46.6, 2.4], 5); // France
  }
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
