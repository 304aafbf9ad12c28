#!/usr/bin/env bash
# Installs the Debian packages hotfolder and its tests need, when missing.
# EGL + Mesa (llvmpipe when there is no GPU), ffmpeg (libass reference renders),
# fonts (DejaVu is the default font; WenQuanYi Zen Hei covers Chinese, Japanese and Korean),
# bindfs/fuse3 (imitating a network share in tests), chromium (status page test).
set -euo pipefail
PACKAGES=(ffmpeg libegl1 libegl-mesa0 libgl1-mesa-dri fontconfig fonts-dejavu-core fonts-wqy-zenhei
          bindfs fuse3 chromium)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "hotfolder needs these Debian packages: ${missing[*]}" >&2
    echo "install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
