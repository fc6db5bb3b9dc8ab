"""embspace: a Kaldi-style recipe toolkit for research on speaker embeddings."""

__version__ = "0.1.0"
