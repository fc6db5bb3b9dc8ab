#!/usr/bin/env bash
# Start a new recipe from an existing one: copy SRC to DST (created with its parents) without the
# outputs of SRC's runs (data/, exp/), keeping symbolic links as links. A link to something outside
# SRC (steps -> ../../../steps, utils, local) is re-made to point at the same target from DST, so
# DST may sit at any depth. DST must not exist yet (or be empty).
#
#   utils/new_recipe.sh egs/mini/v1 egs/mycorpus/v1
set -euo pipefail
if [ $# -ne 2 ] || [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  echo "Usage: $0 <src-recipe-dir> <new-recipe-dir>   e.g. $0 egs/mini/v1 egs/mycorpus/v1" >&2
  exit 1
fi
src=$1; dst=$2
die() { echo "$0: error: $*" >&2; exit 1; }
[ -f "$src/run.sh" ] || die "$src is not a recipe (no run.sh)"
if [ -e "$dst" ] || [ -L "$dst" ]; then
  [ -d "$dst" ] && [ -z "$(ls -A "$dst")" ] || die "$dst exists (and is not an empty folder); choose a new one"
fi
src_abs=$(cd "$src" && pwd -P)
mkdir -p "$dst"
dst_abs=$(cd "$dst" && pwd -P)
case "$dst_abs/" in "$src_abs"/*) rmdir "$dst" 2>/dev/null || true; die "$dst is inside $src" ;; esac
shopt -s dotglob nullglob
for entry in "$src_abs"/*; do
  name=$(basename "$entry")
  case "$name" in data|exp|__pycache__) continue ;; esac  # outputs of SRC's runs
  if [ -L "$entry" ]; then
    target=$(readlink -f "$entry" || true)
    case "$target" in
      "$src_abs"/*|"") cp -P "$entry" "$dst_abs/$name" ;;  # inside SRC (or dangling): the same link
      *) ln -s "$(realpath -m --relative-to="$dst_abs" "$target")" "$dst_abs/$name" ;;
    esac
  else
    cp -a "$entry" "$dst_abs/$name"
  fi
done
echo "$0: created $dst from $src (without data/ and exp/)." >&2
echo "Next: replace stage 0 of $dst/run.sh with your corpus preparation (or write $dst/data/corpus/metadata.jsonl" >&2
echo "and start with --stage 1), and name the corpus (--corpus NAME); see README.md, 'Bring your own corpus'." >&2
