#!/usr/bin/env bash
# Start a new recipe: copy egs/TEMPLATE/v1 (the backbone, with local/prepare_data.sh to fill in), or
# another recipe SRC, to DST (created with its parents) without the outputs of runs (data/, exp/),
# keeping symbolic links as links. A link to something outside SRC (steps -> ../../../steps, utils)
# is re-made to point at the same target from DST, so DST may sit at any depth. DST must not exist
# yet (or be empty).
#
#   utils/new_recipe.sh egs/mycorpus/v1                 # from egs/TEMPLATE/v1
#   utils/new_recipe.sh egs/voxceleb/v1 egs/vox-mine/v1  # from another recipe
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then
  echo "Usage: $0 [<src-recipe-dir>] <new-recipe-dir>   e.g. $0 egs/mycorpus/v1 (from egs/TEMPLATE/v1)" >&2
  exit 1
fi
if [ $# -eq 1 ]; then src="$(cd -P "$(dirname "$0")/.." && pwd)/egs/TEMPLATE/v1"; dst=$1; else src=$1; dst=$2; fi
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
if [ -f "$dst_abs/local/prepare_data.sh" ]; then
  echo "Next: adapt $dst/local/prepare_data.sh to your corpus (or give Kaldi data dirs: --train-dir, --test-dir)," >&2
  echo "name it (--corpus NAME) and run $dst/run.sh --corpus-dir DIR; see README.md, 'Bring your own corpus'." >&2
fi
