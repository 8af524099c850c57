#!/usr/bin/env bash
# Opens a listening page (index.html written by demo, spec-generate or eval --out) in headless
# Chromium (Debian's `chromium` package), fails if any <audio> element reports an error or
# does not load its metadata, and takes a screenshot. Not part of CI.
#   bench/page_check.sh [PAGE] [SCREENSHOT]   default: out/demo/index.html docs/listen_page.png
set -euo pipefail
cd "$(dirname "$0")/.."
page=$(realpath "${1:-out/demo/index.html}")
shot=$(realpath -m "${2:-docs/listen_page.png}")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome) \
  || { echo "needs chromium (apt install chromium)" >&2; exit 2; }
flags=(--headless --no-sandbox --disable-gpu --autoplay-policy=no-user-gesture-required \
  --allow-file-access-from-files --virtual-time-budget=20000)
# A copy of the page beside it (so its relative links resolve) with a script that loads every
# player and writes what happened into the DOM, which --dump-dom prints.
probe=$(dirname "$page")/.page-check-$$.html
trap 'rm -f "$probe"' EXIT
sed 's#</body>#<div id="probe">pending</div><script>\
const a = [...document.querySelectorAll("audio")]; let ok = 0; const bad = [];\
const done = () => { document.getElementById("probe").textContent = "audio " + a.length + " ok " + ok + " errors " + bad.length + (bad.length ? ": " + bad.join(" ") : ""); };\
a.forEach(x => { x.preload = "auto"; x.addEventListener("loadedmetadata", () => { ok++; done(); }); x.addEventListener("error", () => { bad.push(x.getAttribute("src")); done(); }); x.load(); });\
done();</script></body>#' "$page" > "$probe"
result=$("$browser" "${flags[@]}" --dump-dom "file://$probe" 2>/dev/null | grep -o 'audio [0-9]* ok [0-9]* errors [0-9]*[^<]*' || true)
echo "$page: ${result:-no result}"
"$browser" "${flags[@]}" --window-size=1100,1600 --hide-scrollbars --screenshot="$shot" "file://$page" 2>/dev/null
echo "screenshot: $shot"
n=$(echo "$result" | sed -E 's/audio ([0-9]+) ok ([0-9]+) errors ([0-9]+).*/\1 \2 \3/')
read -r total loaded errors <<< "${n:-0 0 1}"
[ "$errors" = 0 ] && [ "$loaded" = "$total" ] && [ "$total" -gt 0 ] || { echo "FAILED: $result" >&2; exit 1; }
