#!/usr/bin/env bash
# Build the benchmark peers and the C load generators into bench/build/ (gitignored).
#
#   bench/peers.sh            build what is missing or stale (idempotent, quiet when up to date)
#   bench/peers.sh --force    rebuild everything
#
# Peers: libfuse 3 examples hello_ll, null, passthrough_ll (Debian libfuse3-dev), go-fuse's
# loopback example (Debian golang-github-hanwen-go-fuse-dev, built offline in GOPATH mode), plus
# bindfs (used as installed). Load generators: bench/load/*.c. Floor servers: bench/floor/*.c.
# Installs missing Debian packages with apt-get when run as root. Writes bench/build/peers.json
# describing what was built and, for anything that could not be built, why.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$here/build"
force=0
[ "${1:-}" = "--force" ] && force=1
mkdir -p "$out"

log() { echo "peers: $*" >&2; }

# ---- packages -----------------------------------------------------------------------------------
pkgs=(fuse3 libfuse3-dev pkg-config gcc fio golang-go golang-github-hanwen-go-fuse-dev bindfs)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || log "apt-get update failed (offline?); trying the install anyway"
    # One at a time, so one unavailable package does not block the others.
    for p in "${missing[@]}"; do
      apt-get install -y -qq "$p" >/dev/null 2>&1 || log "could not install $p"
    done
  else
    log "missing packages (need root to install): ${missing[*]}"
  fi
fi

# ---- helpers ------------------------------------------------------------------------------------
declare -A status=()
# stale TARGET SOURCES...: true when TARGET must be (re)built
stale() {
  local t="$1"; shift
  [ "$force" -eq 1 ] && return 0
  [ -x "$t" ] || return 0
  local s
  for s in "$@"; do [ "$s" -nt "$t" ] && return 0; done
  return 1
}

examples=/usr/share/doc/libfuse3-dev/examples
cflags=(-O2 -Wall -Wno-unused-result)

fuse_flags=()
if pkg-config --exists fuse3 2>/dev/null; then
  read -r -a fuse_flags <<<"$(pkg-config fuse3 --cflags --libs)"
fi

# ---- libfuse examples ---------------------------------------------------------------------------
for ex in hello_ll null passthrough_ll; do
  src="$examples/$ex.c"
  if [ ! -f "$src" ] && [ -f "$src.gz" ]; then src="$src.gz"; fi
  if [ ! -f "$src" ]; then status[$ex]="missing source $examples/$ex.c (libfuse3-dev examples)"; continue; fi
  if [ "${#fuse_flags[@]}" -eq 0 ]; then status[$ex]="pkg-config fuse3 not available"; continue; fi
  if stale "$out/$ex" "$src" "$0"; then
    log "building $ex"
    tmp="$(mktemp -d)"
    case "$src" in *.gz) gzip -dc "$src" >"$tmp/$ex.c" ;; *) cp "$src" "$tmp/$ex.c" ;; esac
    # passthrough_ll.c includes passthrough_helpers.h from the same directory.
    [ -f "$examples/passthrough_helpers.h" ] && cp "$examples/passthrough_helpers.h" "$tmp/"
    if gcc "${cflags[@]}" -o "$out/$ex.tmp" "$tmp/$ex.c" "${fuse_flags[@]}" -lpthread 2>"$tmp/err"; then
      mv -f "$out/$ex.tmp" "$out/$ex"; status[$ex]=ok
    else
      status[$ex]="gcc failed: $(head -c 300 "$tmp/err" | tr '\n"' ' ' )"; rm -f "$out/$ex.tmp"
    fi
    rm -rf "$tmp"
  else
    status[$ex]=ok
  fi
done

# ---- our own C programs ---------------------------------------------------------------------------
# build_c SRC DEPS LIBS...: compile bench/<dir>/NAME.c into $out/NAME when stale (DEPS: extra
# files it depends on, space-separated); records the status under NAME.
build_c() {
  local src="$1" deps="$2"; shift 2
  local name; name="$(basename "$src" .c)"
  # shellcheck disable=SC2086
  if stale "$out/$name" "$src" $deps "$0"; then
    log "building $name"
    if gcc "${cflags[@]}" -o "$out/$name.tmp" "$src" "$@" 2>"$out/$name.err"; then
      mv -f "$out/$name.tmp" "$out/$name"; rm -f "$out/$name.err"; status[$name]=ok
    else
      status[$name]="gcc failed: $(head -c 300 "$out/$name.err" | tr '\n"' ' ')"; rm -f "$out/$name.tmp"
    fi
  else
    status[$name]=ok
  fi
}

# Floor servers: minimal libfuse low-level servers answering from memory (what the FUSE round
# trips alone cost).
for src in "$here"/floor/*.c; do
  [ -f "$src" ] || continue
  if [ "${#fuse_flags[@]}" -eq 0 ]; then status[$(basename "$src" .c)]="pkg-config fuse3 not available"; continue; fi
  build_c "$src" "" "${fuse_flags[@]}"
done

# Load generators.
for src in "$here"/load/*.c; do
  [ -f "$src" ] || continue
  build_c "$src" "$here/load/common.h"
done

# ---- go-fuse loopback ---------------------------------------------------------------------------
# Debian ships go-fuse as GOPATH source under /usr/share/gocode/src/github.com/hanwen/go-fuse, but
# the example imports github.com/hanwen/go-fuse/v2/... and GOPATH mode does not strip /v2 for code
# outside GOPATH. A private GOPATH of symlinks (…/go-fuse/v2 -> the Debian tree, golang.org/x/sys)
# makes GO111MODULE=off builds work with no network access.
gosrc=/usr/share/gocode/src
goex=/usr/share/doc/golang-github-hanwen-go-fuse-dev/examples/loopback/main.go
[ -f "$goex" ] || { [ -f "$goex.gz" ] && goex="$goex.gz"; }
if ! command -v go >/dev/null; then
  status[loopback]="go not installed"
elif [ ! -d "$gosrc/github.com/hanwen/go-fuse/fs" ] || [ ! -f "$goex" ]; then
  status[loopback]="go-fuse source or example missing (golang-github-hanwen-go-fuse-dev)"
elif stale "$out/loopback" "$goex" "$0"; then
  log "building go-fuse loopback"
  gp="$(mktemp -d)" # private GOPATH, removed below (keeps symlinks into /usr/share out of bench/)
  mkdir -p "$gp/src/github.com/hanwen/go-fuse" "$gp/src/golang.org/x" "$gp/src/loopback"
  ln -sfn "$gosrc/github.com/hanwen/go-fuse" "$gp/src/github.com/hanwen/go-fuse/v2"
  [ -d "$gosrc/golang.org/x/sys" ] && ln -sfn "$gosrc/golang.org/x/sys" "$gp/src/golang.org/x/sys"
  case "$goex" in *.gz) gzip -dc "$goex" >"$gp/src/loopback/main.go" ;; *) cp "$goex" "$gp/src/loopback/main.go" ;; esac
  if (cd "$gp/src/loopback" && GOPATH="$gp" GO111MODULE=off GOPROXY=off GOFLAGS= GOCACHE="$out/gocache" \
        go build -o "$out/loopback.tmp" . ) 2>"$out/loopback.err"; then
    mv -f "$out/loopback.tmp" "$out/loopback"; rm -f "$out/loopback.err"; status[loopback]=ok
  else
    status[loopback]="go build failed: $(head -c 300 "$out/loopback.err" | tr '\n"' ' ')"; rm -f "$out/loopback.tmp"
  fi
  rm -rf "$gp"
else
  status[loopback]=ok
fi

# ---- bindfs (used as installed) -----------------------------------------------------------------
if command -v bindfs >/dev/null; then status[bindfs]=ok; else status[bindfs]="bindfs not installed"; fi

# ---- summary ------------------------------------------------------------------------------------
{
  echo "{"
  first=1
  for k in $(printf '%s\n' "${!status[@]}" | sort); do
    [ $first -eq 1 ] || echo ","
    first=0
    printf '  "%s": "%s"' "$k" "${status[$k]}"
  done
  echo
  echo "}"
} >"$out/peers.json.tmp"
mv -f "$out/peers.json.tmp" "$out/peers.json"
for k in "${!status[@]}"; do
  [ "${status[$k]}" = ok ] || log "$k: ${status[$k]}"
done
exit 0
