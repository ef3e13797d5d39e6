#!/usr/bin/env bash
# Opens a report.html in headless Chromium (Debian's `chromium` package), fails on any console message, page error
# or attempted network request, and writes a full-length screenshot to look at.
#
#   cargo run --release -- run && tests/browser/report_screenshot.sh out
#
# `.ci/run` runs it on the sample's Chinese report after the tests (installing chromium when missing); the
# screenshot is for a person to look at. Exit 0: loaded cleanly, screenshot written; 1: errors while loading (a
# font the browser's sanitiser refuses shows up here as a console message); 2: cannot run.
set -euo pipefail
out=${1:-out}
shot=${2:-$out/report_screenshot.png}
height=${HEIGHT:-10000}
# PAGE=merchants/M0002.html IMAGES=0 checks a merchant page instead (they have no charts).
page_file=${PAGE:-report.html}
images=${IMAGES:-8}
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed: apt-get install -y chromium" >&2; exit 2; }
[ -f "$out/$page_file" ] || { echo "no $out/$page_file: run 'aftersales run --out $out' first" >&2; exit 2; }
page="file://$(realpath "$out/$page_file")"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Every host resolves to nothing, so a reference outside the page would show up as a failed request.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --enable-logging=stderr --v=0
       --host-resolver-rules="MAP * ~NOTFOUND" --virtual-time-budget=5000)
"$browser" "${flags[@]}" --window-size=1300,"$height" --screenshot="$shot" "$page" 2>"$log" >/dev/null
dom=$("$browser" "${flags[@]}" --dump-dom "$page" 2>>"$log")
# dbus and GPU chatter of a headless container is not about the page.
problems=$(grep -E "CONSOLE|Uncaught|net::ERR|Failed to load|Not allowed to load" "$log" || true)
if [ -n "$problems" ]; then
    echo "$page_file did not load cleanly:" >&2
    echo "$problems" >&2
    exit 1
fi
imgs=$({ grep -o '<img ' <<<"$dom" || true; } | wc -l)
echo "loaded $page: $(wc -c <<<"$dom") bytes of DOM, $imgs images; screenshot $shot ($(stat -c %s "$shot") bytes)"
[ "$imgs" -ge "$images" ] || { echo "expected $images chart images, found $imgs" >&2; exit 1; }
