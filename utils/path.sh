# The environment of every recipe (each recipe's path.sh sources this, then adds its own settings):
# the embspace package importable from this source checkout (a no-op when it is pip-installed),
# unbuffered Python output, and the interpreter itself first on PATH.
EMBSPACE_ROOT="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"  # the repo (this file is utils/path.sh)
export EMBSPACE_ROOT
export PYTHONPATH="$EMBSPACE_ROOT${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export PYTHONWARNINGS="ignore::UserWarning:webrtcvad"
# Call the interpreter itself, not a version manager's shim (pyenv's shim costs ~0.1 s per call and a
# no-op rerun of a recipe makes a hundred calls); torchrun and the other console scripts sit beside it.
if __embspace_python=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null); then
  PATH="$(dirname "$__embspace_python"):$PATH"
  export PATH
fi
unset __embspace_python
# EMBSPACE_PORTABLE_NUMERICS=true: every stage (features, training, extraction, scoring) runs MKL,
# oneDNN and ATen at their AVX2 code paths, so that x86 machines compute the same numbers
# (docs/reproducibility.md; the values are embspace.training.numerics.PORTABLE_ENV).
if [ "${EMBSPACE_PORTABLE_NUMERICS:-false}" = true ]; then
  export MKL_CBWR=AVX2 DNNL_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_DYNAMIC=FALSE
fi
