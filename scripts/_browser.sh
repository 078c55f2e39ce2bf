# Sourced by scripts/test and scripts/screenshots: Debian's Chromium and CJK fonts for the
# pages' browser tests (Playwright drives /usr/bin/chromium; its own browser download fails
# here). Installed with apt-get when missing and this user may; otherwise the browser tests
# skip with a loud line (and fail under CI=true).
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "Installing Debian's chromium and fonts-noto-cjk for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null 2>&1 \
        && apt-get install -y -q chromium fonts-noto-cjk >/dev/null 2>&1; } \
      || echo "!!!!!!!! could not install chromium and fonts-noto-cjk !!!!!!!!"
  else
    echo "!!!!!!!! /usr/bin/chromium missing: run 'sudo apt-get install chromium fonts-noto-cjk' !!!!!!!!"
  fi
fi
