# Environment for the recipe: make the embspace package importable from a source checkout
# (no-op when it is pip-installed) and keep per-process threading predictable.
EMBSPACE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export PYTHONPATH="$EMBSPACE_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export PYTHONWARNINGS="ignore::UserWarning:webrtcvad"
# Call the interpreter itself, not a version manager's shim (pyenv's shim costs ~0.1 s per call and a
# no-op rerun of a recipe makes a hundred calls); torchrun and the other console scripts sit beside it.
__embspace_python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) &&
  export PATH="$(dirname "$__embspace_python"):$PATH"
unset __embspace_python
