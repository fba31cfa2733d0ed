#!/usr/bin/env bash
# Draws build/appicon.png (1024x1024): a rounded square with an eye and a pulse line. Needs
# ImageMagick 6 (`convert`). The PNG is committed; run this only to change the icon.
set -euo pipefail
out="${1:-$(dirname "$0")/../appicon.png}"
convert -size 1024x1024 gradient:'#1e3a8a-#0d9488' \
  \( -size 1024x1024 xc:black -fill white -draw "roundrectangle 64,64 959,959 200,200" \) \
  -alpha off -compose CopyOpacity -composite -compose Over \
  -fill none -stroke white -strokewidth 44 \
  -draw "stroke-linejoin round path 'M 192,512 Q 512,176 832,512 Q 512,848 192,512 Z'" \
  -fill white -stroke none -draw "circle 512,512 512,392" \
  -stroke '#0f766e' -strokewidth 30 -fill none \
  -draw "stroke-linejoin round stroke-linecap round path 'M 410,512 L 455,512 L 485,450 L 530,578 L 560,512 L 614,512'" \
  -depth 8 -strip "$out"
