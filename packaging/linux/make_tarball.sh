#!/bin/sh
# Package the PyInstaller one-folder app as a tarball with a per-user installer.
#
#   packaging/linux/make_tarball.sh [APP_DIR] [OUT_DIR]
#
# APP_DIR  the one-folder app (default: dist/assistant, made by packaging/build.py)
# OUT_DIR  where the tarball goes (default: dist)
#
# Makes OUT_DIR/assistant-VERSION-linux-ARCH.tar.gz holding assistant-VERSION/ with:
#   assistant/                                   the app folder, executable assistant/assistant
#   share/applications/assistant.desktop
#   share/icons/hicolor/NxN/apps/assistant.png   and scalable/apps/assistant.svg
#   install.sh                                   per-user install into ~/.local (no root)
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
APP_DIR=${1:-$ROOT/dist/assistant}
OUT_DIR=${2:-$ROOT/dist}
ICONS=$ROOT/assistant/resources/icons

VERSION=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$ROOT/assistant/__init__.py")
ARCH=$(uname -m)
[ -n "$VERSION" ] || { echo "no __version__ in assistant/__init__.py" >&2; exit 1; }
[ -x "$APP_DIR/assistant" ] || { echo "no app at $APP_DIR (run packaging/build.py first)" >&2; exit 1; }

NAME=assistant-$VERSION
TARBALL=$OUT_DIR/$NAME-linux-$ARCH.tar.gz
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

TOP=$STAGE/$NAME
mkdir -p "$TOP/share/applications" "$TOP/share/icons/hicolor/scalable/apps"
cp -a "$APP_DIR" "$TOP/assistant"
cp "$HERE/assistant.desktop" "$TOP/share/applications/"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$TOP/share/icons/hicolor/${size}x${size}/apps"
    cp "$ICONS/assistant-$size.png" "$TOP/share/icons/hicolor/${size}x${size}/apps/assistant.png"
done
cp "$ICONS/assistant.svg" "$TOP/share/icons/hicolor/scalable/apps/assistant.svg"
cp "$HERE/install.sh" "$TOP/install.sh"
chmod 755 "$TOP/install.sh"

mkdir -p "$OUT_DIR"
tar -C "$STAGE" --sort=name --owner=0 --group=0 --numeric-owner -czf "$TARBALL" "$NAME"
echo "$TARBALL ($(du -h "$TARBALL" | cut -f1))"
