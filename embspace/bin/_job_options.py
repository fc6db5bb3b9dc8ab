"""``--job``/``--nj``: a re-export of :mod:`embspace.cli.args` for scripts that import it from here."""

from embspace.cli.args import add_job_options, check_job_options

__all__ = ["add_job_options", "check_job_options"]
