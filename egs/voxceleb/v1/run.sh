#!/usr/bin/env bash
# embspace — VoxCeleb speaker verification: train on VoxCeleb2 (and/or VoxCeleb1 dev), test on
# VoxCeleb1 (Vox1-O, and Vox1-E / Vox1-H when their lists are given), MUSAN + RIR augmentation
# (stages 1-7); then the methods, each a sub-recipe with its own options, stages and rows:
#   10-12 local/inside/run_inside.sh   20-25 local/seed/run_seed.sh   31-33 local/nessa/run_nessa.sh
# (emotion-invariant fine-tuning of the encoder trained here: egs/dusha/v1). Nothing is downloaded:
# point the options at corpora already on disk (see README.md).
#
#   ./run.sh --voxceleb1-root /corpora/VoxCeleb1 --voxceleb2-root /corpora/VoxCeleb2 \
#            --musan-root /corpora/musan --rir-root /corpora/RIRS_NOISES --trials-dir /corpora/vox1_lists
#   ./run.sh ... --stage 4 --stop-stage 4 --train-config conf/resnet34.yaml   # another encoder
#   ./run.sh ... --seed-extractor ge2e       # --inside-*, --seed-*, --voxconverse-*, --nessa-* options go to
#                                            # the sub-recipe (local/<method>/run_<method>.sh --help)
#
# Relative paths are taken from this folder (egs/voxceleb/v1). Every stage is skipped when it
# already ran with the same options and the same content of what it reads (markers in $exp/.done/;
# see embspace/stage.py: files by content, the arks behind an scp by content, corpus trees and the
# audio of a wav.scp by size+mtime); --nj and --cmd do not count; --force true reruns the selected
# stages. A killed stage reruns (training resumes from its last checkpoint). Heavy steps go through
# $train_cmd / $cuda_cmd (cmd.sh).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. steps/lib.sh
split_method_opts inside seed voxconverse nessa -- "$@"
set -- "${rest[@]}"
stage=1                 # first stage to run
stop_stage=49           # last stage: 1-7 backbone; 10-12 INSIDE, 20-25 SEED, 31-33 NESSA
force=false             # true: rerun the selected stages even when their inputs did not change
# corpora ('' = skip that corpus; nothing is downloaded)
voxceleb1_root=         # wav/idNNNNN/<youtube id>/NNNNN.wav + vox1_meta.csv
voxceleb2_root=         # [dev/|test/]aac/idNNNNN/<youtube id>/NNNNN.m4a (+ vox2_meta.csv)
vox2_ext=m4a            # m4a (lhotse; needs an ffmpeg-capable audio backend) or wav (a converted copy)
. local/backbone.sh      # the backbone options: data, exp, train_config, nj, use_gpu, nproc, device, ... (defaults there)
help_message="Usage: $0 --voxceleb1-root DIR [--voxceleb2-root DIR] [--musan-root DIR] [--rir-root DIR] --trials-dir DIR
  [--stage N] [--stop-stage M] [--nj N] [--train-config conf/X.yaml] [--use-gpu true|false] [--data DIR] [--exp DIR] ...
Method options (--inside-*, --seed-*, --voxconverse-*, --nessa-*): local/<method>/run_<method>.sh --help"
. utils/parse_options.sh
. local/lib.sh

system=$(basename "$train_config" .yaml)
dir=$exp/$system
done_dir=$exp/.done
fbank=$data/fbank
resolve_vox1_dev_in_train
trial_lists=()
if in_range 2 || in_range 6 7; then vox_trial_lists; fi

if in_range 1; then
  [ -n "$voxceleb1_root$voxceleb2_root" ] || die "give --voxceleb1-root and/or --voxceleb2-root"
  log "Stage 1: lhotse manifests -> $data/manifests, Kaldi data dirs -> $data/{voxceleb_train,voxceleb1_test}"
  outputs=("$data/manifests/${corpus}_supervisions_train.jsonl.gz" "$data/voxceleb_train/utt2spk")
  inputs=(); trees=()
  if [ -n "$voxceleb1_root" ]; then
    outputs+=("$data/manifests/${corpus}_supervisions_test.jsonl.gz" "$data/voxceleb1_test/utt2spk")
    inputs+=("$voxceleb1_root/vox1_meta.csv"); trees+=("$voxceleb1_root")
  fi
  [ -z "$voxceleb2_root" ] || trees+=("$voxceleb2_root")
  run_stage --name manifests-voxceleb --marker "$done_dir/1.manifests.voxceleb" --inputs "${inputs[@]}" \
    --stat-inputs "${trees[@]}" --outputs "${outputs[@]}" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_voxceleb.log" \
    python local/prepare_voxceleb.py --voxceleb1-root "$voxceleb1_root" --voxceleb2-root "$voxceleb2_root" \
      --vox2-ext "$vox2_ext" --vox1-dev-in-train "$vox1_dev_in_train" --manifest-dir "$data/manifests" \
      --kaldi-dir "$data" --nj "$nj"
  if [ -n "$musan_root" ]; then
    run_stage --name manifests-musan --marker "$done_dir/1.manifests.musan" --stat-inputs "$musan_root" \
      --outputs "$data/manifests/musan_recordings_all.jsonl.gz" -- \
      steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_musan.log" \
      python local/prepare_noise_corpora.py --musan-root "$musan_root" --manifest-dir "$data/manifests" --nj "$nj"
  fi
  if [ -n "$rir_root" ]; then
    run_stage --name manifests-rir --marker "$done_dir/1.manifests.rir" --stat-inputs "$rir_root" \
      --outputs "$data/manifests/sim-rir_recordings_all.jsonl.gz" -- \
      steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_rir.log" \
      python local/prepare_noise_corpora.py --rir-root "$rir_root" --manifest-dir "$data/manifests" --nj "$nj"
  fi
fi

if in_range 2; then
  for item in "${trial_lists[@]}"; do
    name=${item%%=*}; list=${item#*=}
    log "Stage 2: trials $list -> $data/trials/$name"
    extra=()
    [ "$name" = vox1_O ] && extra=(--lhotse-cuts-dir "$data/manifests")  # lhotse's pos/neg trial CutSets
    run_stage --name "trials-$name" --marker "$done_dir/2.trials.$name" \
      --inputs "$list" "$data/manifests/${corpus}_supervisions_test.jsonl.gz" --outputs "$data/trials/$name" -- \
      python local/prepare_trials.py --trial-list "$list" --manifest-dir "$data/manifests" --corpus "$corpus" \
        --split test --out "$data/trials/$name" "${extra[@]}"
  done
fi

if in_range 3; then
  # Stored fbank for both sets: the test set and the train set (train embeddings give the mean
  # for mean subtraction and the AS-norm cohort; without augmentation training reads them too).
  for split in test train; do
    log "Stage 3: fbank features ($split) -> $fbank"
    run_stage --name "fbank-$split" --marker "$done_dir/3.fbank.$split" \
      --inputs "$data/manifests/${corpus}_recordings_$split.jsonl.gz" "$data/manifests/${corpus}_supervisions_$split.jsonl.gz" \
        "$data/${kaldi_name[$split]}/wav.scp" --outputs "$fbank/${corpus}_cuts_$split.jsonl.gz" -- \
      steps/compute_fbank.sh --nj "$nj" --num-mel-bins "$num_mel_bins" "$data/manifests" "$corpus" "$split" "$fbank"
  done
fi

if in_range 4; then
  bind_train_config "$dir/train_config.yaml"
  if [ "$kind" = augment ]; then
    cuts=$data/manifests/${corpus}_cuts_train.jsonl.gz
    reads=("$data/${kaldi_name[train]}/wav.scp")  # the audio behind the cuts
  else
    cuts=$fbank/${corpus}_cuts_train.jsonl.gz
    reads=("$fbank/${corpus}_feats_train")  # the stored features behind the cuts
  fi
  log "Stage 4: train $system ($kind features${noise:+, noise $noise}${rir:+, RIRs $rir}) -> $dir"
  aug_inputs=()
  for m in "$noise" "$rir"; do [ -z "$m" ] || aug_inputs+=("$m"); done
  run_stage --name "train-$system" --marker "$done_dir/4.train.$system" \
    --inputs "$dir/train_config.yaml" "$cuts" "${reads[@]}" "${aug_inputs[@]}" --outputs "$dir/models/avg_model.pt" \
    --reset "$dir/models" -- \
    steps/train.sh --cmd "$cuda_cmd" --nproc "$nproc" --device "$device" --num-avg "$num_avg" --num-threads "$num_threads" \
      "$dir/train_config.yaml" "$cuts" "$dir"
fi

if in_range 5; then
  for split in test train; do
    name=${kaldi_name[$split]}
    log "Stage 5: embeddings of $name with $system"
    run_stage --name "extract-$system-$name" --marker "$done_dir/5.extract.$system.$name" \
      --inputs "$dir/models/avg_model.pt" "$fbank/${corpus}_cuts_$split.jsonl.gz" \
        "$fbank/${corpus}_feats_$split" "$data/$name/utt2spk" --outputs "$dir/embeddings/$name/xvector.scp" -- \
      steps/extract_embeddings.sh --nj "$nj" --use-gpu "$use_gpu" \
        "$dir/models/avg_model.pt" "$fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$name" "$dir/embeddings/$name"
  done
fi

if in_range 6; then
  log "Stage 6: cosine scores (train-mean subtraction) and AS-norm (train speaker means as cohort)"
  lists=()
  for item in "${trial_lists[@]}"; do lists+=("${item%%=*}=$data/trials/${item%%=*}"); done
  steps/score_lists.sh --force "$force" --top-n "$top_n" --test-set "${kaldi_name[test]}" \
    --cohort-set "${kaldi_name[train]}" --marker-prefix "$done_dir/6.score" "$exp" "$system" "${lists[@]}"
fi

if in_range 7; then
  log "Stage 7: report -> $exp/results.json, $exp/results.md (DET plots at the end, after the method blocks)"
  steps/report_rows.sh --force "$force" --marker-prefix "$done_dir/7.report" "$exp" "${trial_lists[*]%%=*}" "$system"
fi

# ------------------------------------------------------------------ the methods: one sub-recipe each
common=(--stage "$stage" --stop-stage "$stop_stage" --force "$force" --data "$data" --exp "$exp"
        --train-config "$train_config" --nj "$nj" --use-gpu "$use_gpu" --device "$device" --num-threads "$num_threads")
corpora=(--trials-dir "$trials_dir" --vox1-dev-in-train "$vox1_dev_in_train" --musan-root "$musan_root"
         --rir-root "$rir_root" --augment "$augment")
if in_range 10 12; then
  local/inside/run_inside.sh "${common[@]}" "${corpora[@]}" --nproc "$nproc" --num-avg "$num_avg" --top-n "$top_n" \
    "${inside_opts[@]}"
fi
if in_range 20 25; then
  local/seed/run_seed.sh "${common[@]}" --musan-root "$musan_root" --rir-root "$rir_root" --num-mel-bins "$num_mel_bins" \
    "${seed_opts[@]}" "${voxconverse_opts[@]}"
fi
if in_range 31 33; then
  local/nessa/run_nessa.sh --stage "$stage" --stop-stage "$stop_stage" --force "$force" --data "$data" --exp "$exp" \
    --train-config "$train_config" "${nessa_opts[@]}"
fi
# emotion-invariant fine-tuning (40-49) of the encoder trained here: egs/dusha/v1
#   ../../dusha/v1/run.sh --corpus-root DIR --init-model "$PWD/$dir/models/avg_model.pt"

if [ -f "$exp/results.json" ] && [ "$stop_stage" -ge 7 ]; then
  log "DET curves of every system in the report, one plot per trial list -> $exp/det_<list>.png"
  run_stage --name det --marker "$done_dir/7.det" --inputs "$exp/results.json" --outputs "$exp/det_vox1_O.png" -- \
    python -m embspace.bin.report --det-dir "$exp" --from-results "$exp/results.json"
  cat "$exp/results.md"
fi
