"""Model files of other toolkits as embspace model files."""
