#!/usr/bin/env bash
# Installs what cobro needs on a fresh Debian machine. Idempotent and quick when already done.
# COBRO_WITH_SYSTEM=1 also installs the Debian packages the tests use (chromium, LibreOffice Calc, poppler, zbar, Node).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

need_apt=()
command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-venv)
if [ "${COBRO_WITH_SYSTEM:-0}" = "1" ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
  command -v soffice >/dev/null 2>&1 || need_apt+=(libreoffice-calc-nogui)
  command -v pdftoppm >/dev/null 2>&1 || need_apt+=(poppler-utils)
  command -v zbarimg >/dev/null 2>&1 || need_apt+=(zbar-tools)
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_apt+=(npm)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

stamp=".venv/.cobro-installed"
want="$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing Python packages into .venv"
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[all,test]"
  echo "$want" > "$stamp"
fi

# Node packages the tests use (the page's vendored libraries, the add-in's test tools), from the lockfile.
if [ "${COBRO_WITH_SYSTEM:-0}" = "1" ] && [ -f package-lock.json ]; then
  nstamp="node_modules/.cobro-installed"
  nwant="$(sha256sum package-lock.json | cut -c1-16)"
  if [ ! -f "$nstamp" ] || [ "$(cat "$nstamp")" != "$nwant" ]; then
    echo "==> installing Node packages (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    echo "$nwant" > "$nstamp"
  fi
fi
