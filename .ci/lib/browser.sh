# Sourced by the browser tests (.ci/browser.sh, .ci/frontend.sh): Debian's Chromium and the
# pinned playwright-core that drives it (.ci/browser/package-lock.json; it downloads no browser).
# Sets CHROMIUM (default /usr/bin/chromium).

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

prepare_browser() {
    # apt-get update only when Chromium has to be installed.
    if [ ! -x "$CHROMIUM" ]; then
        echo "installing chromium from Debian"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends chromium fonts-liberation >/dev/null
    fi
    "$CHROMIUM" --version
    # playwright-core exactly as locked.
    (
        cd .ci/browser
        want=$(node -p 'require("./package-lock.json").packages["node_modules/playwright-core"].version')
        have=$(node -p 'require("./node_modules/playwright-core/package.json").version' 2>/dev/null || true)
        [ "$want" = "$have" ] || npm ci --no-audit --no-fund --loglevel=error
    )
}
