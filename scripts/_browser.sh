# Sourced by scripts/test and scripts/screenshots: Debian's Chromium and CJK fonts for the
# pages' browser tests (Playwright drives /usr/bin/chromium; its own browser download fails
# here), and the certificate PDF's fallback fonts for characters beyond the BMP (Hanazono,
# BabelStone Han). Installed with apt-get when missing and this user may; otherwise the
# browser tests and the certificate's rare-character tests skip with a loud line (and fail
# under CI=true).
_DEBIAN_PACKAGES="chromium fonts-noto-cjk fonts-hanazono fonts-babelstone-han"
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] \
  || [ ! -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] \
  || [ ! -f /usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's $_DEBIAN_PACKAGES for the browser tests and certificates"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q $_DEBIAN_PACKAGES >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
        && apt-get install -y -q $_DEBIAN_PACKAGES >/dev/null 2>&1; } \
      || echo "!!!!!!!! could not install $_DEBIAN_PACKAGES !!!!!!!!"
  else
    echo "!!!!!!!! chromium or fonts missing: run 'sudo apt-get install $_DEBIAN_PACKAGES' !!!!!!!!"
  fi
fi
