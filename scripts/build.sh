#!/usr/bin/env bash
# Install what is missing and build deskpilot (Release, all cores) in build/release.
source "$(dirname "$0")/lib.sh"
ensure_packages "${BASE_PACKAGES[@]}"
mkdir -p "$ROOT/build"
build "$ROOT/build/release" $(cuda_flags)
log "built $ROOT/build/release/deskpilot"
