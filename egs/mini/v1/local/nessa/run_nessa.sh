#!/usr/bin/env bash
# embspace mini recipe — NESSA (stages 30-33): align separately trained enrollment and runtime models
#
# An old model A and a new model B (pairs old:new): symmetric A/A and B/B, and A-enrolled/B-runtime
# and B-enrolled/A-runtime with raw cosine (equal dimensions), the speaker-logit-space baseline and
# NESSA mappers; single-utterance and multi-utterance-profile trials; G per configuration.
# Stages: 30 old encoders + their embeddings, 31 dev split + profiles, 32 mappers, 33 evaluation
# (rows: method "nessa"). With --seeds 1,2,3 each NESSA mapper is also trained under each seed N
# (-> $exp_root/nessa/<old>-<new>/nessa_trainseed<N>; the encoders stay one run), rows <enroll>/<runtime>.nessa_seeds.
#
# What it needs from the corpus:
#   speaker labels only ($data/train/utt2spk, $data/test/utt2spk and spk2utt of stage 1), the backbone
#   fbank (stage 2) and embeddings (stage 4); the extra "old" encoders are trained here (stage 30).
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/nessa/run_nessa.sh [--stage 30] [--stop-stage 33] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=30                # first stage to run
stop_stage=33           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh     # the backbone options (data, exp_root, train_config, corpus, trials, nj, ...)
nessa_encoders=conf/xvector_mini.yaml  # NESSA: extra (old) encoders stage 30 trains and extracts (space-separated configs)
nessa_extractors=        # NESSA: model files of existing extractors (.pt from training or import_model, .onnx, .ts):
                         # stage 30 embeds train and test with each (system name: the file name); pairs as below
nessa_num_avg=2         # NESSA: epoch models averaged for those encoders
nessa_pairs=auto        # NESSA: old:new system pairs under $exp_root; auto: GE2E, each of $nessa_encoders and of $nessa_extractors -> $system
nessa_config=conf/nessa.yaml  # NESSA: mapper options (embspace.bin.nessa_train --config)
nessa_dev_speakers=10   # NESSA: training speakers held out for the dev trials (selection, early stopping)
nessa_utts_per_profile=3       # NESSA: enrollment utterances averaged into a profile
nessa_profiles_per_speaker=2   # NESSA: profiles per test speaker
nessa_profile_modes=dev  # NESSA: profile averaging mode(s): dev (the one each mapper chose on dev profiles) or modes (first: main rows)
help_message="Usage: $0 [--stage N] [--stop-stage M] [--nessa-... VALUE] ... (stages 30-33; see the head of this file)"
. utils/parse_options.sh

backbone_paths

extractor_names=(); declare -A extractor_models=()
for spec in $nessa_extractors; do
  resolve_extractor "$spec" "$exp_root" "$system"
  [ "$extractor_file" = true ] || die "--nessa-extractors takes model files (.pt/.onnx/.ts), got '$spec'"
  extractor_names+=("$extractor_name"); extractor_models[$extractor_name]=$extractor_model
done
if [ "$nessa_pairs" = auto ]; then
  nessa_pairs="ge2e:$system"
  for config in $nessa_encoders; do nessa_pairs+=" $(basename "$config" .yaml):$system"; done
  for name in "${extractor_names[@]}"; do nessa_pairs+=" $name:$system"; done
fi
if [ "$stage" -le 30 ] && [ "$stop_stage" -ge 30 ]; then
  for config in $nessa_encoders; do
    sys=$(basename "$config" .yaml)
    log "Stage 30: train $sys (an old model for NESSA) -> $exp_root/$sys, and its embeddings"
    train_stage "$done_dir/30.train.$sys" "$config" "$train_cuts" "$exp_root/$sys" "$nessa_num_avg" "$exp_root/$sys/models"
    for split in train test; do
      extract_stage "$done_dir/30.extract.$sys.$split" "$exp_root/$sys/models/avg_model.pt" \
        "$fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$split" "$exp_root/$sys/embeddings/$split"
    done
  done
  for name in "${extractor_names[@]}"; do
    log "Stage 30: embeddings of train and test with ${extractor_models[$name]} -> $exp_root/$name"
    for split in train test; do
      extract_stage "$done_dir/30.extract.$name.$split" "${extractor_models[$name]}" \
        "$fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$split" "$exp_root/$name/embeddings/$split" \
        "$data/$split/wav.scp"  # its own front-end may compute features from the audio
    done
  done
fi

nessa_steps=(--done-dir "$done_dir" --force "$force")
if in_range 31; then
  log "Stage 31: NESSA lists: dev speakers held out of training (+ dev profiles) -> $data/nessa; test profiles -> $data/test/profiles"
  steps/nessa/make_lists.sh "${nessa_steps[@]}" --dev-speakers "$nessa_dev_speakers" \
    --utts-per-profile "$nessa_utts_per_profile" --profiles-per-speaker "$nessa_profiles_per_speaker" \
    "$data/train" "$data/test" "$data/nessa" "$data/test/profiles" "$data/test/trials_profiles"
fi

if in_range 32; then
  for pair in $nessa_pairs; do
    old=${pair%%:*}; new=${pair#*:}
    log "Stage 32: NESSA mapper $old -> $new ($nessa_config) and the logit-space baseline -> $exp_root/nessa/$old-$new"
    steps/nessa/train_mappers.sh "${nessa_steps[@]}" --seeds "${seed_list[*]}" --cmd "$train_cmd" --mapper-config "$nessa_config" \
      "$exp_root/$old" "$exp_root/$new" train "$data/nessa" "$exp_root/nessa/$old-$new"
  done
fi

if in_range 33; then
  set_trial_lists
  for pair in $nessa_pairs; do
    old=${pair%%:*}; new=${pair#*:}
    log "Stage 33: NESSA evaluation $old/$new on ${list_names[0]} and profiles -> $exp_root/results.json"
    steps/nessa/evaluate.sh "${nessa_steps[@]}" --results "$exp_root/results.json" --profile-modes "$nessa_profile_modes" \
      --seeds "${seed_list[*]}" "$exp_root/$old" "$exp_root/$new" train test "${named_lists[0]}" \
      "${corpus}_test_profiles=$data/test/trials_profiles" "$data/test/profiles" "$exp_root/nessa/$old-$new"
    for dir in "$old:$new" "$new:$old"; do  # with --seeds: both directions' NESSA rows, one run per mapper training seed
      enroll=${dir%%:*}; runtime=${dir#*:}
      stem=$exp_root/nessa/$old-$new/eval_trainseed%n/${list_names[0]}/$enroll-$runtime.nessa
      seed_row_stage "$done_dir/33.nessa.report.$enroll-$runtime.seeds" "$enroll/$runtime.nessa_seeds" nessa "$old" \
        "${list_names[0]}" "$stem.metrics.json" "" enroll="$enroll" runtime="$runtime" scoring=nessa
    done
  done
fi
