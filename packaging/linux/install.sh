#!/bin/sh
# Install Assistant for the current user (no root), from the unpacked tarball.
#
#   ./install.sh               install or upgrade into ~/.local
#   ./install.sh --uninstall   remove what install.sh put there (chats, settings and models stay)
#   PREFIX=/some/dir ./install.sh   install elsewhere
#
# Puts the app in PREFIX/lib/assistant, a link in PREFIX/bin/assistant, the menu entry
# in PREFIX/share/applications and the icons in PREFIX/share/icons/hicolor.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${PREFIX:-$HOME/.local}
APP=$PREFIX/lib/assistant
BIN=$PREFIX/bin/assistant
DESKTOP=$PREFIX/share/applications/assistant.desktop
HICOLOR=$PREFIX/share/icons/hicolor
SIZES="16 24 32 48 64 128 256 512"

refresh() {
    # a newer folder time tells icon loaders to look again; no icon-theme.cache is
    # written, as a stale one in a user folder would hide other apps' icons
    touch "$HICOLOR" 2>/dev/null || true
    if command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$PREFIX/share/applications" 2>/dev/null || true
    fi
}

if [ "${1:-}" = "--uninstall" ]; then
    if [ -L "$BIN" ]; then rm -f "$BIN"; fi
    rm -f "$DESKTOP" "$HICOLOR/scalable/apps/assistant.svg"
    for size in $SIZES; do rm -f "$HICOLOR/${size}x${size}/apps/assistant.png"; done
    if [ -x "$APP/assistant" ]; then rm -rf "$APP"; fi
    refresh
    echo "Assistant removed. Your chats, settings and models are kept."
    exit 0
fi

[ -x "$HERE/assistant/assistant" ] || { echo "run install.sh from the unpacked tarball" >&2; exit 1; }

# copy next to the old version, then swap, so a failed copy leaves the old one working
mkdir -p "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications"
rm -rf "$APP.new"
cp -a "$HERE/assistant" "$APP.new"
if [ -x "$APP/assistant" ]; then rm -rf "$APP"; fi
mv "$APP.new" "$APP"
ln -sfn "$APP/assistant" "$BIN"

# absolute paths, so the menu entry works even when PREFIX/bin is not on PATH
sed -e "s|^Exec=assistant|Exec=\"$BIN\"|" -e "s|^TryExec=assistant|TryExec=$BIN|" \
    "$HERE/share/applications/assistant.desktop" > "$DESKTOP"
for size in $SIZES; do
    mkdir -p "$HICOLOR/${size}x${size}/apps"
    cp "$HERE/share/icons/hicolor/${size}x${size}/apps/assistant.png" "$HICOLOR/${size}x${size}/apps/"
done
mkdir -p "$HICOLOR/scalable/apps"
cp "$HERE/share/icons/hicolor/scalable/apps/assistant.svg" "$HICOLOR/scalable/apps/"
refresh

echo "Assistant installed: $APP"
echo "Start it from the applications menu, or run: $BIN"
case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) echo "($PREFIX/bin is not on your PATH; add it to run 'assistant' by name.)" ;;
esac
