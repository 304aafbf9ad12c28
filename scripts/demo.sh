#!/usr/bin/env bash
# `make demo`: a demo hot folder under demo/ (git-ignored), the examples dropped into its
# priority subfolders, one `hotfolder run --once`, then where the videos are.
set -euo pipefail
cd "$(dirname "$0")/.."
HF=.venv/bin/hotfolder
ROOT=demo/karaoke
rm -rf demo
mkdir -p demo
$HF init "$ROOT"
cat > demo/config.yaml <<YAML
hotfolders:
  - root: karaoke
    priorities: {urgent: 0, high: 10, normal: 50, low: 90}
    default_priority: 50
settle_seconds: 1.0
watch: auto
workers: 1
render: {width: 1280, height: 720, fps: 30, encoder: auto, crf: 20, preset: veryfast}
notify: {urls: [], events: [job_failed, batch_done]}
YAML
mkdir -p "$ROOT/inbox/urgent" "$ROOT/inbox/high" "$ROOT/inbox/low" "$ROOT/inbox/5"
# each example under its own name, so the videos are told apart (media keep theirs;
# an LRC file finds its audio by its own name, so both are renamed)
cp examples/ass/* "$ROOT/inbox/urgent/" && mv "$ROOT/inbox/urgent/song.ass" "$ROOT/inbox/urgent/aegisub-ass.ass"
cp examples/kproj/* "$ROOT/inbox/high/" && mv "$ROOT/inbox/high/song.kproj" "$ROOT/inbox/high/native-kproj.kproj"
cp examples/lrc/song.lrc "$ROOT/inbox/enhanced-lrc.lrc" && cp examples/lrc/song.ogg "$ROOT/inbox/enhanced-lrc.ogg"
cp examples/ultrastar/* "$ROOT/inbox/low/" && mv "$ROOT/inbox/low/song.txt" "$ROOT/inbox/low/ultrastar-duet.txt"
cp -r examples/bundle/twinkle "$ROOT/inbox/"     # a folder dropped whole
cp examples/sidecar/* "$ROOT/inbox/5/"           # a job with its own sidecar
echo "Rendering the examples through $ROOT (watch it: .venv/bin/hotfolder status $ROOT, or open $ROOT/status.html)"
$HF run -c demo/config.yaml --once
$HF status "$ROOT" --once
echo
echo "Videos, reports and poster frames:"
ls -1 "$ROOT/done" | sed "s|^|  $ROOT/done/|"
if [ -n "$(ls -A "$ROOT/failed" 2>/dev/null)" ]; then
    echo "Failed (see the .json reports):"
    ls -1 "$ROOT/failed" | sed "s|^|  $ROOT/failed/|"
    exit 1
fi
echo "Status page: $ROOT/status.html"
