# shellcheck shell=bash
# What the bootstrap scripts share.  Sourced, not run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Sets REPO (the clone), BIN (<repo>/.tools/bin, where the tools are installed) and CACHE_HOME
# (the per-user cache every clone shares, so a tool is built once per user and version).
# Messages are prefixed with the running script's name.

# shellcheck disable=SC2034  # REPO, BIN and CACHE_HOME are for the scripts that source this
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
BIN=$REPO/.tools/bin
CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}/applivery-pulumi
FORCE=0
_common_lib=$REPO/scripts/lib/common.sh
_common_script=$(cd "$(dirname "$0")" && pwd -P)/${0##*/}

# Go never fetches a toolchain of its own: need_go checks the installed one instead.
export GOTOOLCHAIN=local

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

# parse_options SED_RANGE "$@": none, or --force (FORCE=1: reinstall .tools, rebuild nothing
# cached); -h/--help prints the script's header comment, lines SED_RANGE.
parse_options() {
  local help=$1
  shift
  case "${1:-}" in
    "") ;;
    --force) FORCE=1 ;;
    -h | --help)
      sed -n "${help}p" "$0"
      exit 0
      ;;
    *)
      echo "usage: $0 [--force]" >&2
      exit 2
      ;;
  esac
}

# hold_lock FILE: an exclusive lock on FILE until the script exits.
hold_lock() {
  local fd
  exec {fd}>"$1"
  flock "$fd"
}

# skip_if_installed LOCK_FILE: exit when the caller's installed_ok holds (and no --force), also
# once LOCK_FILE is held, since a parallel run (test workers, clones) may have installed meanwhile.
skip_if_installed() {
  if [[ $FORCE == 0 ]] && installed_ok; then exit 0; fi
  mkdir -p "$BIN" "$(dirname "$1")"
  hold_lock "$1"
  if [[ $FORCE == 0 ]] && installed_ok; then exit 0; fi
}

# fingerprint VERSION FILE...: everything an installation depends on (the version, the clone, the
# text of the script, this library and FILE...), as a stamp records it.
fingerprint() {
  local version=$1 h
  shift
  h=$(cat "$_common_script" "$_common_lib" "$@" | sha256sum)
  printf '%s %s %s\n' "$version" "$REPO" "${h%% *}"
}
stamp_current() { # stamp_current STAMP VERSION FILE...
  local stamp=$1
  shift
  [[ -f $stamp && "$(<"$stamp")" == "$(fingerprint "$@")" ]]
}

# need_go WHAT [GO_MOD]: die unless Go is there, at least as new as GO_MOD's `go` line.
need_go() {
  command -v go >/dev/null 2>&1 || die "Go is needed to build $1"
  [[ -n ${2:-} ]] || return 0
  local want have
  want=$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$2")
  have=$(go env GOVERSION)
  have=${have#go}
  if [[ $(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1) != "$want" ]]; then
    die "${2#"$REPO"/} needs Go >= $want, found $have (GOTOOLCHAIN=local: no toolchain download)"
  fi
}

# build_once DIR EXE LABEL BUILD: DIR is <cache>/<version>; unless it holds a complete EXE, run
# BUILD (a function that puts EXE in DIR) and mark DIR complete.  One build at a time per user:
# several clones may bootstrap at once.
build_once() {
  local dir=$1 exe=$2 label=$3 build=$4 fd
  mkdir -p "$dir"
  exec {fd}>"${dir%/*}/.${dir##*/}.lock"
  flock "$fd"
  if [[ -f $dir/.complete && -x $dir/$exe ]]; then
    say "using the cached $label in $dir"
  else
    "$build"
    printf '%s\n' "${dir##*/}" >"$dir/.complete"
  fi
  exec {fd}>&-
}

# Installing an executable at DST goes through DST.tmp and a rename, so that a parallel run never
# sees half a file.
#
# place DST SRC, for SRC in our cache: a hard link when possible (same file system), else a copy.
# Not a symlink: the CLI looks for its bundled plugins and language hosts beside its resolved
# executable, and warns when the ones it finds on PATH differ.
place() {
  local dst=$1 src=$2
  # Already that very file (a hard link from an earlier run): mv would refuse.
  if [[ -e $dst && $dst -ef $src ]]; then return 0; fi
  rm -f "$dst.tmp"
  ln "$src" "$dst.tmp" 2>/dev/null || cp "$src" "$dst.tmp"
  _commit_exe "$dst"
}
# copy_exe DST SRC, for SRC in Go's module cache: always a copy, as that cache is read-only.
copy_exe() {
  rm -f "$1.tmp"
  cp "$2" "$1.tmp"
  _commit_exe "$1"
}
# write_exe DST < content
write_exe() {
  cat >"$1.tmp"
  _commit_exe "$1"
}
_commit_exe() {
  chmod 0755 "$1.tmp"
  mv -f "$1.tmp" "$1"
}
