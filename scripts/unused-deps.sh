#!/usr/bin/env bash
# Unused dependencies: every name in a crate's [dependencies], [dev-dependencies] and
# [build-dependencies] (plain or under [target.'cfg(..)'.*]), with `-` read as `_`, must be used
# as a path (`name::`, `use name;`, `extern crate name`) in that crate's own Rust files: src/,
# tests/, examples/, benches/, build.rs and, for the fuzz crate, fuzz_targets/. Comment lines do not
# count. Every name in [workspace.dependencies] must be used by some member.
#
# It does what cargo-machete does for this repository without installing it: a fresh install of
# cargo-machete 0.9.2 compiles 67 crates, about 150 s on a 2-core machine, and `make test` is
# already long. Usage: scripts/unused-deps.sh (from anywhere); exit 1 when something is unused.
set -euo pipefail
cd "$(dirname "$0")/.."

# Dependencies used in no path, on purpose: "crate-dir:name  reason", e.g.
#   "crates/foo:openssl  only to turn on its vendored feature for reqwest"
IGNORE=(
)

# The members of the workspace (globs expanded), and the fuzz crate (a workspace of its own).
CRATES=()
while read -r member; do
  for dir in $member; do CRATES+=("$dir"); done
done < <(awk '/^members *= *\[/ { on = 1 } on { print } on && /\]/ { on = 0 }' Cargo.toml |
  grep -o '"[^"]*"' | tr -d '"')
((${#CRATES[@]})) || { echo "unused-deps: no workspace members found in Cargo.toml" >&2; exit 2; }
CRATES+=(fuzz)

# The keys of the dependency tables of a manifest, one "section name" a line.
deps_of() {
  awk '
    /^\[/ {
      sect = ""
      h = $0; gsub(/[][ \t"]/, "", h)
      if (h !~ /^workspace\./ && match(h, /(^|\.)(dependencies|dev-dependencies|build-dependencies)(\.|$)/)) {
        s = substr(h, RSTART, RLENGTH); gsub(/\./, "", s)
        rest = substr(h, RSTART + RLENGTH)
        if (rest == "") sect = s; else print s, rest   # [dependencies.name] is one dependency
      }
      next
    }
    sect != "" && /^[ \t]*[A-Za-z0-9_-]+[ \t]*[.=]/ {
      k = $0; sub(/^[ \t]*/, "", k); sub(/[ \t]*[.=].*/, "", k); print sect, k
    }
  ' "$1"
}

ignored() {
  local entry
  for entry in "${IGNORE[@]}"; do
    [[ "${entry%%  *}" == "$1:$2" ]] && return 0
  done
  return 1
}

unused=0
declare -A USED_BY_MEMBER=()
for crate in "${CRATES[@]}"; do
  manifest="$crate/Cargo.toml"
  [[ -f "$manifest" ]] || { echo "unused-deps: $manifest not found" >&2; exit 2; }
  files=()
  for p in src tests examples benches fuzz_targets build.rs; do
    [[ -e "$crate/$p" ]] && files+=("$crate/$p")
  done
  while read -r section name; do
    USED_BY_MEMBER[$name]=1
    ident=${name//-/_}
    ignored "$crate" "$name" && continue
    uses=0
    if ((${#files[@]})); then
      # Counted, not `grep -q`: an early exit would fail the pipe (pipefail) on a match.
      uses=$(grep -rhE --include='*.rs' \
        "(^|[^A-Za-z0-9_:])${ident}(::|[[:space:]]*;|[[:space:]]+as[[:space:]])|extern crate ${ident}\b" \
        "${files[@]}" | grep -cvE '^[[:space:]]*//' || true)
    fi
    ((uses > 0)) && continue
    echo "unused-deps: $manifest [$section] $name: not used in $crate's sources"
    unused=1
  done < <(deps_of "$manifest")
done

# [workspace.dependencies] entries that no member names.
while read -r name; do
  [[ -n "${USED_BY_MEMBER[$name]:-}" ]] && continue
  echo "unused-deps: Cargo.toml [workspace.dependencies] $name: no member depends on it"
  unused=1
done < <(awk '/^\[/ { on = ($0 ~ /^\[workspace\.dependencies\]/); next }
  on && /^[A-Za-z0-9_-]+[ \t]*[.=]/ { k = $0; sub(/[ \t]*[.=].*/, "", k); print k }' Cargo.toml)

if ((unused)); then
  echo "unused-deps: remove the dependencies above, or add them to IGNORE in $0 with a reason" >&2
  exit 1
fi
echo "unused-deps: every dependency of ${#CRATES[@]} crates is used"
