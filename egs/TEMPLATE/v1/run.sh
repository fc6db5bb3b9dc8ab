#!/usr/bin/env bash
# embspace — a recipe for your own corpus: the backbone only. Fill in local/prepare_data.sh (or give
# Kaldi data dirs), then: manifests -> fbank -> encoder -> embeddings -> scores -> report.
#
#   ./run.sh --corpus-dir /corpora/mycorpus          # everything (local/prepare_data.sh reads the folder)
#   ./run.sh --train-dir /kaldi/train --test-dir /kaldi/test   # Kaldi data dirs instead (wav.scp, utt2spk)
#   ./run.sh --stage 3 --stop-stage 4                # only training and extraction
#   ./run.sh --help                                  # every option with its current value
#
# Stages: 1 data (metadata or Kaldi dirs -> lhotse manifests, $data/{train,test}), 2 fbank, 3 training
# ($cuda_cmd), 4 embeddings, 5 trials + cosine / AS-norm scores, 6 report ($exp/results.json, results.md,
# DET plots). Methods (INSIDE, SEED, NESSA, emotion) are sub-recipes of egs/mini/v1/local/<method>/;
# each states what it needs from a corpus (genders, clean speech + noise, emotion labels).
# Every stage is skipped when it already ran with the same options and inputs (markers in $exp/.done/).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=1                 # first stage to run
stop_stage=6            # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
corpus=mycorpus         # corpus name in manifest file names and trial-list names
corpus_dir=             # your corpus as unpacked (read by local/prepare_data.sh)
train_dir=              # or: a Kaldi data dir of the training set (wav.scp, utt2spk[, segments, spk2gender])
test_dir=               # and one of the test set
trials=auto             # auto: all test pairs -> data/test/trials (+ trials_same_gender); else your lists (files, space-separated)
nj=4                    # parallel jobs
use_gpu=false           # extraction on GPU (through $cuda_cmd)
nproc=1                 # training processes (torchrun --nproc_per_node; GPUs asked of $cuda_cmd)
device=auto             # training device: auto|cpu|cuda
num_threads=2           # torch threads per training process
train_config=conf/ecapa.yaml  # encoder config; the system is named after the file
num_avg=3               # average the last N epoch models
top_n=100               # AS-norm cohort size (train speaker means)
data=data               # manifests, Kaldi dirs, features, trials
exp=exp                 # models, embeddings, scores, report
help_message="Usage: $0 (--corpus-dir DIR | --train-dir DIR --test-dir DIR) [--stage N] [--stop-stage M] ..."
. utils/parse_options.sh

system=$(basename "$train_config" .yaml)
done_dir=$exp/.done
fbank=$data/fbank

if in_range 1; then
  if [ -n "$train_dir$test_dir" ]; then
    [ -n "$train_dir" ] && [ -n "$test_dir" ] || die "give both --train-dir and --test-dir (Kaldi data dirs)"
    for split in train test; do
      src=${train_dir}; [ "$split" = train ] || src=$test_dir
      log "Stage 1: Kaldi data dir $src -> $data/manifests (${corpus}_*_$split), $data/$split"
      run_stage --name "import-$split" --marker "$done_dir/1.import.$split" --inputs "$src" \
        --outputs "$data/manifests/${corpus}_supervisions_$split.jsonl.gz" "$data/$split/utt2spk" -- \
        steps/import_data_dir.sh --nj "$nj" "$src" "$corpus" "$split" "$data/manifests" "$data/$split"
    done
  else
    [ -n "$corpus_dir" ] || [ -f "$data/corpus/metadata.jsonl" ] || \
      die "give --corpus-dir (read by local/prepare_data.sh), or --train-dir and --test-dir (Kaldi data dirs)"
    log "Stage 1: local/prepare_data.sh $corpus_dir -> $data/corpus/metadata.jsonl; manifests, Kaldi dirs"
    if [ -n "$corpus_dir" ]; then
      run_stage --name prepare-data --marker "$done_dir/1.prepare" --inputs local/prepare_data.sh \
        --stat-inputs "$corpus_dir" --outputs "$data/corpus/metadata.jsonl" -- \
        local/prepare_data.sh "$corpus_dir" "$data/corpus"
    fi
    run_stage --name manifests --marker "$done_dir/1.manifests" --inputs "$data/corpus/metadata.jsonl" \
      --outputs "$data/manifests/${corpus}_supervisions_train.jsonl.gz" "$data/test/utt2spk" -- \
      steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_manifests.log" \
      python -m embspace.bin.prepare_manifests --metadata "$data/corpus/metadata.jsonl" --corpus "$corpus" \
        --manifest-dir "$data/manifests" --kaldi-dir "$data" --nj "$nj"
  fi
fi

if in_range 2; then
  for split in train test; do
    log "Stage 2: fbank features ($split) -> $fbank"
    fbank_stage "$done_dir/2.fbank.$split" "$data/manifests" "$corpus" "$split" "$data/$split" "$fbank"
  done
fi

if in_range 3; then
  log "Stage 3: train $system -> $exp/$system"
  train_stage "$done_dir/3.train.$system" "$train_config" "$fbank/${corpus}_cuts_train.jsonl.gz" "$exp/$system" \
    "$num_avg" "$exp/$system/models"
fi

if in_range 4; then
  for split in train test; do
    log "Stage 4: embeddings of $split with $system"
    extract_stage "$done_dir/4.extract.$system.$split" "$exp/$system/models/avg_model.pt" \
      "$fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$split" "$exp/$system/embeddings/$split"
  done
fi

if in_range 5; then
  log "Stage 5: trials and scores"
  if [ "$trials" = auto ]; then
    gender_input=(); [ ! -f "$data/test/spk2gender" ] || gender_input=("$data/test/spk2gender")
    run_stage --name trials --marker "$done_dir/5.trials" --inputs "$data/test/utt2spk" "${gender_input[@]}" \
      --outputs "$data/test/trials" -- \
      python -m embspace.bin.make_trials --data-dir "$data/test" --out "$data/test/trials" \
        --same-gender-out "$data/test/trials_same_gender"
  fi
  set_trial_lists
  steps/score_lists.sh --force "$force" --top-n "$top_n" --marker-prefix "$done_dir/5.score" "$exp" "$system" \
    "${named_lists[@]}"
fi

if in_range 6; then
  log "Stage 6: report -> $exp/results.json, $exp/results.md, DET plots"
  set_trial_lists
  steps/report_rows.sh --force "$force" --marker-prefix "$done_dir/6.report" "$exp" "${list_names[*]}" "$system"
  run_stage --name det --marker "$done_dir/6.det" --inputs "$exp/results.json" \
    --outputs "$exp/det_${list_names[0]}.png" -- \
    python -m embspace.bin.report --det-dir "$exp" --from-results "$exp/results.json"
  cat "$exp/results.md"
fi
