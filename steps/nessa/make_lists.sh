#!/usr/bin/env bash
# NESSA lists (guarded steps): dev speakers held out of the training set (the mapper's selection and early
# stopping) -> <nessa-dir>/{train/utt2spk,dev/trials}, with dev profiles of --utts-per-profile utterances
# (<nessa-dir>/dev/{profiles,trials_profiles}: the profile mode is chosen on them); multi-utterance enrollment profiles of the test
# speakers -> <profiles>, <profile-trials>.
# Usage: steps/nessa/make_lists.sh [--dev-speakers 10] [--utts-per-profile 3] [--profiles-per-speaker 2]
#          [--done-dir exp/.done] [--force false] <train-data-dir> <test-data-dir> <nessa-dir> <profiles> <profile-trials>
set -euo pipefail
dev_speakers=10
utts_per_profile=3
profiles_per_speaker=2
done_dir=exp/.done
force=false
. "$(dirname "$0")/../../utils/parse_options.sh"
. "$(dirname "$0")/../lib.sh"
[ $# -eq 5 ] || die "Usage: $0 [options] <train-data-dir> <test-data-dir> <nessa-dir> <profiles> <profile-trials>"
train=$1; test=$2; nessa=$3; profiles=$4; profile_trials=$5
spk2utt=(); [ ! -f "$test/spk2utt" ] || spk2utt=("$test/spk2utt")
run_stage --name nessa-split --marker "$done_dir/31.nessa.split" --inputs "$train/utt2spk" \
  --outputs "$nessa/train/utt2spk" "$nessa/dev/trials" "$nessa/dev/profiles" "$nessa/dev/trials_profiles" -- \
  python -m embspace.bin.nessa_split --utt2spk "$train/utt2spk" --num-dev-speakers "$dev_speakers" --out-dir "$nessa" \
    --utts-per-profile "$utts_per_profile" --profiles-per-speaker "$profiles_per_speaker"
run_stage --name nessa-profiles --marker "$done_dir/31.nessa.profiles" \
  --inputs "$test/utt2spk" "$test/wav.scp" "${spk2utt[@]}" --outputs "$profiles" "$profile_trials" -- \
  python -m embspace.bin.make_trials --data-dir "$test" --profiles-out "$profiles" --profile-trials-out "$profile_trials" \
    --utts-per-profile "$utts_per_profile" --profiles-per-speaker "$profiles_per_speaker"
