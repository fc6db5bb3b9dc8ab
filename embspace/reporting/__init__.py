"""What ``embspace.bin.report`` does besides reading its options: results rows from metrics files
(:mod:`.rows`), DET plots (:mod:`.det`), bootstrap intervals (:mod:`.intervals`) and the Markdown
page of a recipe (:mod:`.markdown`). The table itself is :mod:`embspace.report`."""
