"""Signal generation shared by corpora, training and methods: coloured noise, FIR colouring, levels
(:mod:`embspace.signal.noise`) and the simulated recording of clean speech in sessions with a channel
and noise (:mod:`embspace.signal.recording`). Knows no corpus and no method."""
