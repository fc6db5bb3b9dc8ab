# Environment of this recipe: the shared settings (utils/path.sh, found through the utils link);
# add site-specific ones below (module loads, a virtualenv, CUDA paths).
. "$(dirname "${BASH_SOURCE[0]}")/utils/path.sh"
