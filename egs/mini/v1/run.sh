#!/usr/bin/env bash
# embspace — the mini recipe: a synthetic multi-speaker corpus made offline with espeak-ng,
# a speaker encoder trained on it, embeddings, verification scores and a report.
#
#   ./run.sh                                 # everything (stages 0-49)
#   ./run.sh --stage 3 --stop-stage 4        # only training and extraction
#   ./run.sh --train-config conf/resnet_mini.yaml  # another encoder (a new exp dir)
#
# Every stage is skipped when it already ran with the same inputs and options (markers in
# exp/.done/); a killed stage reruns (training resumes from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0
stop_stage=49           # 0-6 backbone; 10-19 INSIDE, 20-29 SEED, 30-39 NESSA, 40-49 emotion
nj=2                    # parallel jobs for corpus synthesis, features and extraction
use_gpu=false           # extraction on GPU (one per job)
nproc=1                 # training processes (torchrun --nproc_per_node)
device=auto             # training device: auto|cpu|cuda
num_threads=2           # torch threads per training process
train_config=conf/ecapa_mini.yaml  # (--config is parse_options.sh's own: a file of options)
num_avg=3               # average the last N epoch models
# corpus
num_speakers=120
num_test_speakers=40
utts_per_speaker=20
corpus_seed=1
second_language_fraction=0.0
# scoring
top_n=100               # AS-norm cohort size (train speaker means)
corpus=mini
data=data               # where corpus, manifests, Kaldi dirs and features go
exp_root=exp            # where models, embeddings, scores and the report go
help_message="Usage: $0 [--stage N] [--stop-stage M] [--nj N] [--train-config conf/X.yaml] [--use-gpu true|false] ..."
. utils/parse_options.sh

system=$(basename "$train_config" .yaml)
exp=$exp_root/$system
ge2e=$exp_root/ge2e
done_dir=$exp_root/.done
run_stage() { python -m embspace.bin.run_stage "$@"; }
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  log "Stage 0: synthesise the corpus with espeak-ng -> $data/corpus"
  run_stage --name corpus --marker "$done_dir/0.corpus" --outputs "$data/corpus/metadata.jsonl" --reset "$data/corpus" -- \
    python -m embspace.bin.make_mini_corpus --out-dir "$data/corpus" --num-speakers "$num_speakers" \
      --num-test-speakers "$num_test_speakers" --utts-per-speaker "$utts_per_speaker" \
      --seed "$corpus_seed" --second-language-fraction "$second_language_fraction" --nj "$nj"
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  log "Stage 1: lhotse manifests -> $data/manifests, Kaldi data dirs -> $data/{train,test}"
  run_stage --name manifests --marker "$done_dir/1.manifests" --inputs "$data/corpus/metadata.jsonl" \
    --outputs "$data/manifests/${corpus}_supervisions_train.jsonl.gz" "$data/test/utt2spk" -- \
    python -m embspace.bin.prepare_manifests --metadata "$data/corpus/metadata.jsonl" --corpus "$corpus" \
      --manifest-dir "$data/manifests" --kaldi-dir "$data"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for split in train test; do
    log "Stage 2: fbank features ($split) -> $data/fbank"
    run_stage --name "fbank-$split" --marker "$done_dir/2.fbank.$split" \
      --inputs "$data/manifests/${corpus}_recordings_$split.jsonl.gz" "$data/manifests/${corpus}_supervisions_$split.jsonl.gz" \
      --outputs "$data/fbank/${corpus}_cuts_$split.jsonl.gz" -- \
      steps/compute_fbank.sh --nj "$nj" --num-mel-bins 80 "$data/manifests" "$corpus" "$split" "$data/fbank"
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "Stage 3: train $system -> $exp"
  run_stage --name "train-$system" --marker "$done_dir/3.train.$system" \
    --inputs "$train_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" --outputs "$exp/models/avg_model.pt" \
    --reset "$exp/models" -- \
    steps/train.sh --nproc "$nproc" --device "$device" --num-avg "$num_avg" --num-threads "$num_threads" \
      "$train_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$exp"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for split in train test; do
    log "Stage 4: embeddings of $split with $system and with pretrained GE2E"
    run_stage --name "extract-$system-$split" --marker "$done_dir/4.extract.$system.$split" \
      --inputs "$exp/models/avg_model.pt" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" \
      --outputs "$exp/embeddings/$split/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        "$exp/models/avg_model.pt" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$split" "$exp/embeddings/$split"
    run_stage --name "extract-ge2e-$split" --marker "$done_dir/4.extract.ge2e.$split" \
      --inputs "$data/fbank/${corpus}_cuts_$split.jsonl.gz" --outputs "$ge2e/embeddings/$split/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        ge2e "$data/fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$split" "$ge2e/embeddings/$split"
  done
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: trials and scores"
  run_stage --name trials --marker "$done_dir/5.trials" --inputs "$data/test/utt2spk" "$data/test/spk2gender" \
    --outputs "$data/test/trials" "$data/test/trials_same_gender" -- \
    python -m embspace.bin.make_trials --data-dir "$data/test" --out "$data/test/trials" \
      --same-gender-out "$data/test/trials_same_gender"
  for sys in "$system" ge2e; do
    for norm in none asnorm; do
      for trials in trials trials_same_gender; do
        name=${corpus}_test${trials#trials}
        out=$exp_root/$sys/scores_$norm
        norm_opts=(--norm "$norm")
        [ "$norm" = none ] || norm_opts+=(--top-n "$top_n")  # so that --top-n only reruns AS-norm scoring
        run_stage --name "score-$sys-$norm-$trials" --marker "$done_dir/5.score.$sys.$norm.$trials" \
          --inputs "$data/test/$trials" "$exp_root/$sys/embeddings/test/xvector.scp" "$exp_root/$sys/embeddings/train/spk_xvector.scp" \
          --outputs "$out/$name.metrics.json" -- \
          steps/score.sh "${norm_opts[@]}" "$data/test/$trials" "$exp_root/$sys/embeddings/test" \
            "$exp_root/$sys/embeddings/train" "$out/$name"
      done
    done
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: report -> $exp_root/results.json, results.md, det_*.png"
  for trials in trials trials_same_gender; do
    name=${corpus}_test${trials#trials}
    det_args=()
    for sys in "$system" ge2e; do
      for norm in none asnorm; do
        label=$sys; [ "$norm" = none ] || label=${sys}_$norm
        out=$exp_root/$sys/scores_$norm/$name
        run_stage --name "report-$label-$name" --marker "$done_dir/6.report.$label.$name" \
          --inputs "$out.metrics.json" --outputs "$exp_root/results.json" -- \
          python -m embspace.bin.report --results "$exp_root/results.json" --system "$label" --method baseline \
            --trials "$name" --metrics "$out.metrics.json" --score-file "$out.score" --extra "norm=$norm"
        det_args+=("$label=$out.score")
      done
    done
    run_stage --name "det-$name" --marker "$done_dir/6.det.$name" --inputs "${det_args[@]#*=}" \
      --outputs "$exp_root/det_$name.png" -- \
      python -m embspace.bin.report --det-png "$exp_root/det_$name.png" --scores "${det_args[@]}" --title "$name"
  done
fi

# ------------------------------------------------------------------ INSIDE (stages 10-19)
# (block 10-19: INSIDE)

# ------------------------------------------------------------------ SEED (stages 20-29)
# (block 20-29: SEED)

# ------------------------------------------------------------------ NESSA (stages 30-39)
# (block 30-39: NESSA)

# ------------------------------------------------------------------ emotion-invariant training (stages 40-49)
# (block 40-49: emotion)

if [ -f "$exp_root/results.md" ] && [ "$stop_stage" -ge 6 ]; then
  cat "$exp_root/results.md"
fi
