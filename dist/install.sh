#!/usr/bin/env bash
# Puts the pinned deploy-kit on PATH. It is the first step of every deploy-kit action and the only
# step of the root action (`uses: org/deploy-kit@v1`). By hand: export PATH="$(dist/install.sh):$PATH"
#
# Where the binary comes from, first match wins (dist/README.md has the details):
#   1. the tool cache: $RUNNER_TOOL_CACHE/deploy-kit/<version>/<arch>/deploy-kit, complete only when
#      <arch>.complete sits beside that directory (the actions/tool-cache layout), and trusted only
#      when the binary's sha256 is the one that marker recorded when the cache was filled and, for
#      a release, the one of the binary in the verified release asset kept beside it (a planted
#      or swapped file on a persistent runner is reinstalled, with a warning);
#   2. the release asset for this OS/arch, checked against the sha256 in dist/checksums.sha256
#      before it is extracted or run, then copied into the tool cache;
#   3. `cargo build --locked --release -p deploy-kit` in the checkout this script belongs to, when
#      dist/checksums.sha256 has no entry for this version and target (a SHA pin, `uses: ./`, act).
# It never asks for "latest" and never installs a download it could not verify.
#
# Environment: RUNNER_TOOL_CACHE, RUNNER_ARCH, RUNNER_TEMP, GITHUB_PATH and GITHUB_ACTIONS as the
# runner sets them; DEPLOY_KIT_DOWNLOAD_URL overrides where releases are fetched from (tests serve
# one from a local HTTP server); CARGO_TARGET_DIR is honoured by the source build.
# Messages go to stderr; stdout carries only the binary's directory, and only outside Actions.
set -euo pipefail

# The release rewrites this line; a test keeps it equal to the workspace version.
DEPLOY_KIT_VERSION=0.1.0

version="$DEPLOY_KIT_VERSION"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root_dir="$(dirname "$script_dir")"
checksums="$script_dir/checksums.sha256"
base_url="${DEPLOY_KIT_DOWNLOAD_URL:-https://github.com/org/deploy-kit/releases/download/v$version}"
tmp_root="${RUNNER_TEMP:-${TMPDIR:-/tmp}}"
work=""

say() {
  printf 'deploy-kit install: %s\n' "$*" >&2
}

# A workflow command in Actions (an annotation on the run page), plain text elsewhere. The data of
# a workflow command is one line, so newlines are escaped the way the runner expects.
annotate() {
  local level="$1" message="$2"
  if [[ "${GITHUB_ACTIONS:-}" == true ]]; then
    message="${message//'%'/%25}"
    message="${message//$'\r'/%0D}"
    message="${message//$'\n'/%0A}"
    printf '::%s title=deploy-kit install::%s\n' "$level" "$message" >&2
  else
    printf 'deploy-kit install: %s: %s\n' "$level" "$message" >&2
  fi
}

fail() {
  annotate error "$1"
  exit 1
}

# The download's scratch directory goes away however the script ends.
trap '[[ -z "$work" ]] || rm -rf "$work"' EXIT

# Sets target (the Rust target triple of the release asset, empty when no release is built for this
# platform) and cache_arch (the tool cache's name for the architecture: x64, arm64, like
# actions/tool-cache). RUNNER_ARCH wins over uname: it is what the runner says the job runs on.
detect_platform() {
  local os cpu
  case "$(uname -s)" in
    Linux) os=unknown-linux-musl ;; # static: runs on any distribution and in job containers
    Darwin) os=apple-darwin ;;
    *) fail "deploy-kit runs on Linux and macOS runners; this runner is $(uname -s)." ;;
  esac
  local arch="${RUNNER_ARCH:-$(uname -m)}"
  case "$arch" in
    X64 | x64 | x86_64 | amd64) cache_arch=x64 cpu=x86_64 ;;
    ARM64 | arm64 | aarch64) cache_arch=arm64 cpu=aarch64 ;;
    *) cache_arch="$(printf '%s' "$arch" | tr '[:upper:]' '[:lower:]')" cpu="" ;;
  esac
  target=""
  if [[ -n "$cpu" ]]; then
    target="$cpu-$os"
  fi
}

# Prints the sha256 that dist/checksums.sha256 records for the asset named $1, or nothing when it
# has no entry (no release for this version and target). Lines are sha256sum's output format.
expected_sha256() {
  local sha name
  [[ -f "$checksums" ]] || return 0
  while read -r sha name _ || [[ -n "$sha" ]]; do
    [[ -z "$sha" || "$sha" == \#* ]] && continue
    if [[ "${name#\*}" == "$1" ]]; then
      [[ "$sha" =~ ^[0-9a-f]{64}$ ]] || fail "$checksums: the entry for $1 is not a lowercase sha256: '$sha'."
      printf '%s\n' "$sha"
      return 0
    fi
  done <"$checksums"
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  else
    shasum -a 256 "$1" | cut -d ' ' -f 1
  fi
}

# sha256 of stdin.
sha256_stream() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum | cut -d ' ' -f 1
  else
    shasum -a 256 | cut -d ' ' -f 1
  fi
}

download() {
  local url="$1" dest="$2"
  if command -v curl >/dev/null 2>&1; then
    curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 --output "$dest" "$url"
  else
    wget --quiet --tries=3 --timeout=20 --output-document="$dest" "$url"
  fi
}

# Runs the candidate binary once before anything puts it on PATH: it must start on this machine
# and be the pinned version (clap's `deploy-kit <version>`).
check_binary() {
  local binary="$1" origin="$2" reported
  reported="$("$binary" --version 2>&1)" || fail "$binary ($origin) does not run on this machine: $reported"
  if [[ "$reported" != "deploy-kit $version" ]]; then
    fail "$binary ($origin) reports '$reported', expected 'deploy-kit $version'."
  fi
}

# Puts $1 on PATH for the next steps of the job (GITHUB_PATH), or prints it outside Actions, then
# prints the one line that says where deploy-kit came from.
finish() {
  local dir="$1" how="$2"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    # Every deploy-kit step runs this script; the runner already has the directory on PATH after
    # the first one, so later steps need not add it again.
    case ":$PATH:" in
      *":$dir:"*) ;;
      *) printf '%s\n' "$dir" >>"$GITHUB_PATH" ;;
    esac
  else
    printf '%s\n' "$dir"
  fi
  say "deploy-kit $version $how: $dir"
  exit 0
}

# The verified binary goes into the tool cache the way actions/tool-cache writes it: the directory
# first, the .complete marker last, so an interrupted copy is never taken for a complete one. The
# binary is renamed into place, so a job reading the cache never sees half a file. The verified
# asset is kept beside it and the marker records the binary's sha256: a later step trusts the
# entry only when both still check out (cache_problem). Without a writable tool cache it goes to a
# fresh temporary directory instead.
install_release_binary() {
  local binary="$1" how="$2" asset_file="$3" dir="" sha
  sha="$(sha256_of "$binary")"
  if [[ -n "$tool_dir" ]]; then
    if rm -f "$tool_dir.complete" && mkdir -p "$tool_dir" &&
      cp "$asset_file" "$tool_dir/$asset" &&
      cp "$binary" "$tool_dir/deploy-kit.partial.$$" && chmod 755 "$tool_dir/deploy-kit.partial.$$" &&
      mv -f "$tool_dir/deploy-kit.partial.$$" "$tool_dir/deploy-kit" &&
      printf '%s\n' "$sha" >"$tool_dir.complete"; then
      dir="$tool_dir"
    else
      annotate warning "could not write the tool cache at $tool_dir; deploy-kit goes to a temporary directory instead."
    fi
  fi
  if [[ -z "$dir" ]]; then
    dir="$(mktemp -d "$tmp_root/deploy-kit-$version.XXXXXX")"
    cp "$binary" "$dir/deploy-kit"
    chmod 755 "$dir/deploy-kit"
  fi
  finish "$dir" "$how"
}

from_release() {
  local asset="$1" expected="$2" url="$base_url/$1" actual
  if ! command -v curl >/dev/null 2>&1 && ! command -v wget >/dev/null 2>&1; then
    fail "downloading $asset needs curl or wget, and neither is installed."
  fi
  if ! command -v sha256sum >/dev/null 2>&1 && ! command -v shasum >/dev/null 2>&1; then
    fail "verifying $asset needs sha256sum (coreutils) or shasum (perl), and neither is installed."
  fi
  work="$(mktemp -d "$tmp_root/deploy-kit-install.XXXXXX")"
  download "$url" "$work/$asset" || fail "could not download $url (see the error above). Nothing was installed."

  # The digest is compared before the archive is opened: nothing from an unverified file runs.
  actual="$(sha256_of "$work/$asset")"
  if [[ "$actual" != "$expected" ]]; then
    fail "sha256 mismatch for $asset downloaded from $url:
  expected $expected (dist/checksums.sha256)
  actual   $actual
The file is not the released one; it was deleted and nothing was installed."
  fi
  tar -xzf "$work/$asset" -C "$work" deploy-kit || fail "$asset has no deploy-kit binary at its root."
  check_binary "$work/deploy-kit" "from $asset"
  install_release_binary "$work/deploy-kit" "downloaded ($asset, sha256 verified)" "$work/$asset"
}

# A source build is not put in the tool cache: the cache is keyed by version only, and builds of
# different commits (or of act's copy of a working tree) share a version. On a self-hosted runner
# or under act, where the tool cache outlives the job, a cached build would later be taken for the
# release or for another commit. Cargo's target directory makes the rebuild in the job's later
# deploy-kit steps a no-op instead.
from_source() {
  local why="$1" target_dir binary
  if [[ ! -f "$root_dir/Cargo.toml" || ! -f "$root_dir/Cargo.lock" ]]; then
    fail "$why, and there is no deploy-kit source to build at $root_dir (no Cargo.toml and Cargo.lock)."
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    fail "$why, so deploy-kit $version must be built from source, and cargo is not installed. Either pin a release tag (uses: org/deploy-kit/<action>@v1), or add a Rust toolchain step before the first deploy-kit step (for example dtolnay/rust-toolchain)."
  fi
  say "$why: building deploy-kit $version from source in $root_dir (cargo build --locked --release -p deploy-kit)"
  local in_actions=false status=0
  [[ "${GITHUB_ACTIONS:-}" == true ]] && in_actions=true
  if $in_actions; then printf '::group::cargo build\n' >&2; fi
  # From the checkout's root, so its rust-toolchain.toml applies and a relative CARGO_TARGET_DIR
  # means the same directory to cargo and to this script.
  (cd "$root_dir" && cargo build --locked --release -p deploy-kit) >&2 || status=$?
  if $in_actions; then printf '::endgroup::\n' >&2; fi
  if ((status != 0)); then
    fail "cargo build --locked --release -p deploy-kit failed in $root_dir (see its output above)."
  fi

  target_dir="${CARGO_TARGET_DIR:-target}"
  [[ "$target_dir" == /* ]] || target_dir="$root_dir/$target_dir"
  binary="$target_dir/release/deploy-kit"
  [[ -x "$binary" ]] || fail "cargo build succeeded but $binary is not there (is CARGO_BUILD_TARGET set?)."
  check_binary "$binary" "built from $root_dir"
  finish "$target_dir/release" "built from source"
}

# Why the complete tool cache entry may not run, or nothing when it may. Its binary's sha256 must
# be the one the marker recorded when the cache was filled; for a release (an entry in
# dist/checksums.sha256) the asset kept beside it must match that entry and hold this very binary,
# so the trust comes from the committed checksums, not from files a job could have written. A
# version with no release (tests and act seed the cache with the binary just built) has only the
# record to go by.
cache_problem() {
  local binary="$tool_dir/deploy-kit" recorded actual kept
  recorded="$(head -n 1 "$tool_dir.complete" 2>/dev/null || true)"
  actual="$(sha256_of "$binary")"
  if [[ "$recorded" != "$actual" ]]; then
    printf 'its sha256 %s is not the one recorded when the cache was filled (%s)' "$actual" "${recorded:-none}"
    return 0
  fi
  [[ -n "$expected" ]] || return 0
  kept="$tool_dir/$asset"
  if [[ ! -f "$kept" ]] || [[ "$(sha256_of "$kept")" != "$expected" ]]; then
    printf 'the release asset kept beside it is missing or does not match dist/checksums.sha256'
  elif [[ "$(tar -xzOf "$kept" deploy-kit 2>/dev/null | sha256_stream)" != "$actual" ]]; then
    printf 'it is not the binary inside the verified release asset %s' "$asset"
  fi
}

main() {
  detect_platform
  tool_dir=""
  if [[ -n "${RUNNER_TOOL_CACHE:-}" ]]; then
    tool_dir="$RUNNER_TOOL_CACHE/deploy-kit/$version/$cache_arch"
  fi
  asset="" expected=""
  if [[ -n "$target" ]]; then
    asset="deploy-kit-$version-$target.tar.gz"
    expected="$(expected_sha256 "$asset")"
  fi

  if [[ -n "$tool_dir" && -x "$tool_dir/deploy-kit" && -f "$tool_dir.complete" ]]; then
    local problem
    problem="$(cache_problem)"
    if [[ -z "$problem" ]]; then
      check_binary "$tool_dir/deploy-kit" "from the tool cache; delete $tool_dir to replace it"
      finish "$tool_dir" "from the tool cache"
    fi
    annotate warning "the tool cache entry $tool_dir/deploy-kit is not trusted: $problem. It was removed and deploy-kit is installed again."
    rm -rf "$tool_dir" "$tool_dir.complete" || fail "could not remove the untrusted tool cache entry $tool_dir."
  fi

  if [[ -z "$target" ]]; then
    from_source "no deploy-kit release is built for $(uname -s) on $cache_arch"
  fi
  if [[ -n "$expected" ]]; then
    from_release "$asset" "$expected"
  fi
  from_source "dist/checksums.sha256 has no entry for $asset (this ref is not a release)"
}

main "$@"
