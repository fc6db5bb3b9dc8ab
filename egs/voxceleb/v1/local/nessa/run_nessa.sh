#!/usr/bin/env bash
# embspace VoxCeleb recipe — NESSA (stages 31-33)
#
# Old model A (--nessa-old) and new model B (--nessa-new): symmetric A/A and B/B; A-enrolled/B-runtime and
# B-enrolled/A-runtime with raw cosine (equal dimensions), the speaker-logit-space baseline and a NESSA
# mapper; Vox1-O and multi-utterance profiles of the test speakers; G per configuration. Stage 30 is
# left to the backbone: train the second encoder with another --train-config (stages 4-5).
#
# What it needs:
#   speaker labels ($data/<set>/utt2spk) and both models' embeddings of the training and test sets
#   (embeddings/{$nessa_train_set,voxceleb1_test}/xvector.scp, mean.vec), and $data/trials/vox1_O.
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/nessa/run_nessa.sh [--stage 31] [--stop-stage 33] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=31                # first stage to run
stop_stage=33           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh      # the backbone options: data, exp, train_config, nj, use_gpu, nproc, device, ... (defaults there)
nessa_old=              # NESSA: the old model's exp dir (A)
nessa_new=              # NESSA: the new model's exp dir (B); empty: this run's system ($exp/<train config>)
nessa_config=conf/nessa.yaml  # NESSA: mapper options (embspace.bin.nessa_train --config)
nessa_train_set=voxceleb_train  # NESSA: $data/<set>/utt2spk and embeddings/<set>: the mapper's training utterances
nessa_dev_speakers=100  # NESSA: training speakers held out for the dev trials (selection, early stopping)
nessa_utts_per_profile=3       # NESSA: enrollment utterances averaged into a profile
nessa_profiles_per_speaker=2   # NESSA: profiles per test speaker
nessa_profile_modes=dev  # NESSA: profile averaging mode(s): dev (the one each mapper chose on dev profiles) or modes (first: main rows)
help_message="Usage: $0 [--stage N] [--stop-stage M] [--nessa-... VALUE] ... (stages 31-33; see the head of this file)"
. utils/parse_options.sh
. local/lib.sh

system=$(basename "$train_config" .yaml)
dir=$exp/$system
done_dir=$exp/.done

[ -n "$nessa_new" ] || nessa_new=$dir
[ -n "$nessa_old" ] || { log "NESSA stages 31-33 skipped: give --nessa-old DIR (and --nessa-new DIR) to align two embedding sets"; exit 0; }
old=$(basename "$nessa_old"); new=$(basename "$nessa_new"); ndir=$exp/nessa/$old-$new
[ "$old" != "$new" ] || die "--nessa-old and --nessa-new need different folder names, got $old twice"
test_set=${kaldi_name[test]}
for m in "$nessa_old" "$nessa_new"; do
  for f in "$m/embeddings/$nessa_train_set/xvector.scp" "$m/embeddings/$test_set/xvector.scp" \
           "$m/embeddings/$nessa_train_set/mean.vec"; do
    [ -f "$f" ] || die "$f not found (NESSA needs both models' embeddings of $nessa_train_set and $test_set)"
  done
done
nessa_steps=(--done-dir "$done_dir" --force "$force")
if in_range 31; then
  log "Stage 31: NESSA lists: dev speakers held out of $nessa_train_set -> $data/nessa; profiles of $test_set"
  steps/nessa/make_lists.sh "${nessa_steps[@]}" --dev-speakers "$nessa_dev_speakers" \
    --utts-per-profile "$nessa_utts_per_profile" --profiles-per-speaker "$nessa_profiles_per_speaker" \
    "$data/$nessa_train_set" "$data/$test_set" "$data/nessa" "$data/trials/profiles" "$data/trials/vox1_profiles"
fi
if in_range 32; then
  log "Stage 32: NESSA mapper $old -> $new ($nessa_config) and the logit-space baseline -> $ndir"
  steps/nessa/train_mappers.sh "${nessa_steps[@]}" --cmd "$train_cmd" --mapper-config "$nessa_config" \
    "$nessa_old" "$nessa_new" "$nessa_train_set" "$data/nessa" "$ndir"
fi
if in_range 33; then
  log "Stage 33: NESSA evaluation $old/$new on vox1_O and profiles -> $exp/results.json"
  steps/nessa/evaluate.sh "${nessa_steps[@]}" --results "$exp/results.json" --profile-modes "$nessa_profile_modes" \
    "$nessa_old" "$nessa_new" "$nessa_train_set" "$test_set" "vox1_O=$data/trials/vox1_O" \
    "vox1_profiles=$data/trials/vox1_profiles" "$data/trials/profiles" "$ndir"
fi
