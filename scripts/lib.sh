# Shared by the scripts in this folder: installing what is missing and
# building. Source it; do not run it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="$(nproc 2>/dev/null || echo 2)"

log() { printf '[deskpilot] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ensure_packages PKG...: apt-get install the ones not installed; silent when
# all are present. Runs apt-get update once, only when something is missing.
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Debian packages the full build needs (engine/ and kernels/ need none of
# them: nlohmann/json and GoogleTest travel in third_party/).
BASE_PACKAGES=(build-essential cmake libcli11-dev
  libx11-dev libxext-dev libxrandr-dev libxtst-dev libxdo-dev
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev
  pkg-config libtesseract-dev tesseract-ocr-eng libopenblas-dev libboost-dev libssl-dev
  xvfb xauth xterm zenity mousepad chromium)
SANITIZE_PACKAGES=(clang libclang-rt-14-dev libomp-14-dev)

# CUDA: nvcc from PATH, else the toolkit's usual home.
cuda_flags() {
  if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then
    echo "-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc"
  fi
}

# build DIR [cmake args...]: configure (once) and build everything.
build() {
  local dir="$1"
  shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    log "configuring $dir"
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$dir.configure.log" 2>&1 ||
      { cat "$dir.configure.log"; rm -rf "$dir"; return 1; }
  fi
  log "building $dir ($JOBS jobs)"
  cmake --build "$dir" -j "$JOBS" 2>&1 | grep -vE '^\[ *[0-9]+%\]' || true
  cmake --build "$dir" -j "$JOBS" >/dev/null  # the status of the build, not of grep
}
