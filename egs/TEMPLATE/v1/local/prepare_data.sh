#!/usr/bin/env bash
# Fill this in for your corpus: write <out-dir>/metadata.jsonl, one JSON object per utterance:
#   {"utt": "spk01-0001", "speaker": "spk01", "path": "/abs/or/relative/to/out-dir/0001.wav",
#    "split": "train", "gender": "f"}
# utt, speaker and path are required; utterance ids start with the speaker id (Kaldi sorting); split
# (train|test) is optional (without it stage 1 draws a speaker-disjoint split); gender (m|f) gives the
# same-gender trial list and is what INSIDE needs; text, language and any field of your own (e.g.
# emotion, which the emotion sub-recipe needs) are kept on the supervisions. 16 kHz mono audio.
#
# As written it reads the common layout <corpus-dir>/<speaker>/**/<name>.wav (no split, no gender).
# Usage: local/prepare_data.sh <corpus-dir> <out-dir>
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "Usage: $0 <corpus-dir> <out-dir>" >&2
  exit 1
fi
corpus_dir=$1; out=$2
[ -d "$corpus_dir" ] || { echo "$0: error: $corpus_dir is not a folder" >&2; exit 1; }
mkdir -p "$out"
python - "$corpus_dir" "$out/metadata.jsonl" <<'PY'
import json, os, sys
from pathlib import Path

root, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2])
lines = []
for spk_dir in sorted(p for p in root.iterdir() if p.is_dir()):
    for wav in sorted(spk_dir.rglob("*.wav")):
        rel = wav.relative_to(spk_dir).with_suffix("")
        lines.append({"utt": f"{spk_dir.name}-{'-'.join(rel.parts)}", "speaker": spk_dir.name, "path": str(wav)})
if not lines:
    sys.exit(f"prepare_data.sh: error: no <speaker>/*.wav under {root}; adapt local/prepare_data.sh to your layout")
tmp = out.with_name(out.name + ".tmp")
tmp.write_text("".join(json.dumps(x) + "\n" for x in lines))
os.replace(tmp, out)
print(f"prepare_data.sh: {len(lines)} utterances of {len({x['speaker'] for x in lines})} speakers -> {out}",
      file=sys.stderr)
PY
