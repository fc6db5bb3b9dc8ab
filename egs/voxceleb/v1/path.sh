# Environment for the recipe: make the embspace package importable from a source checkout
# (no-op when it is pip-installed) and keep per-process threading predictable.
EMBSPACE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export PYTHONPATH="$EMBSPACE_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export PYTHONWARNINGS="ignore::UserWarning:webrtcvad"
