#!/usr/bin/env bash
# embspace — emotion-invariant speaker verification on an emotional corpus: Dusha (crowd subset, the
# paper's setting), ESD or CREMA-D. Starts from an encoder trained by egs/voxceleb/v1, fine-tunes it
# on neutral + emotional speech with CopyPaste pairs, the ERL cosine term and emotion-aware masking
# (embspace/emotion), and reports an ablation on neutral / emotional trial lists.
# Nothing is downloaded: point the options at a corpus already on disk (see README.md).
#
#   ./run.sh --corpus-root /corpora/dusha                                   # Dusha crowd
#   ./run.sh --emotion-corpus esd --corpus-root "/corpora/Emotion Speech Dataset" --test-speakers 0009,0010,0018,0020
#   ./run.sh --emotion-corpus crema_d --corpus-root /corpora/CREMA-D --init-model /path/to/avg_model.pt
#
# Every stage is skipped when it already ran with the same options and inputs (markers in $exp/.done/).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=1                 # first stage to run
stop_stage=7            # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
emotion_corpus=dusha    # dusha | esd | crema_d
corpus_root=            # the corpus as unpacked (Dusha: crowd_train/ crowd_test/; ESD: NNNN/; CREMA-D: AudioWAV/)
label=speaker_emo       # Dusha: speaker_emo (the acted emotion) or majority (annotators' majority vote)
unknown_emotion=error   # a label outside the corpus vocabulary: error or skip (counted in the log)
test_fraction=0.1       # share of speakers held out for testing (speaker-disjoint)
test_speakers=          # or: a comma list of test speakers
dev_speakers=0.1        # training speakers held out of fine-tuning for the dev lists (count, or share below 1)
enroll=3                # neutral enrollment (and neutral test) utterances per speaker in the trial lists
init_model=../../voxceleb/v1/exp/ecapa_c512/models/avg_model.pt  # the pre-trained encoder (egs/voxceleb/v1)
ft_config=conf/emotion_ft.yaml  # fine-tuning config; one per ablation row is derived from it
rows=base,cp,erl,em,cp_erl,all # ablation rows (base = without the components; all = the three; base,cp,cp_erl,all = the cumulative ablation)
nj=8                    # parallel jobs for manifests and features
nproc=1                 # training processes (torchrun --nproc_per_node)
device=auto             # training device: auto|cpu|cuda
num_threads=0           # torch threads per process (0: torch's default)
data=data               # where manifests, Kaldi dirs, features and trial lists go
exp=exp                 # where models, scores and the report go
help_message="Usage: $0 --corpus-root DIR [--emotion-corpus dusha|esd|crema_d] [--init-model FILE] [--stage N] [--stop-stage M] ..."
. utils/parse_options.sh

done_dir=$exp/.done
corpus=$emotion_corpus
system=$(basename "$(dirname "$(dirname "$init_model")")")  # exp/<system>/models/avg_model.pt -> <system>
IFS=, read -r -a emo_rows <<< "$rows"
[ "${emo_rows[0]}" = base ] || die "--rows must start with base (the fine-tuning baseline the others are compared with)"
feats=("$data/fbank/${corpus}_feats_train" "$data/fbank/${corpus}_feats_test")

if in_range 1; then
  [ -n "$corpus_root" ] || die "give --corpus-root (the $corpus folder as unpacked)"
  [ -d "$corpus_root" ] || die "--corpus-root $corpus_root is not a folder"
  log "Stage 1: $corpus manifests (speaker and emotion labels) -> $data/manifests, Kaldi dirs -> $data/{train,test}"
  run_stage --name "manifests-$corpus" --marker "$done_dir/1.manifests" --stat-inputs "$corpus_root" \
    --outputs "$data/manifests/${corpus}_supervisions_test.jsonl.gz" "$data/test/utt2spk" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_emotion_corpus.log" \
    python local/prepare_emotion_corpus.py --corpus "$corpus" --root "$corpus_root" --manifest-dir "$data/manifests" \
      --kaldi-dir "$data" --test-fraction "$test_fraction" --test-speakers "$test_speakers" --label "$label" \
      --unknown-emotion "$unknown_emotion"
fi

if in_range 2; then
  for split in train test; do
    log "Stage 2: fbank features ($split) -> $data/fbank"
    fbank_stage "$done_dir/2.fbank.$split" "$data/manifests" "$corpus" "$split" "$data/$split" "$data/fbank"
  done
fi

if in_range 3; then
  log "Stage 3: fine-tuning cuts (minus dev speakers) and trial lists -> $data/emotion"
  run_stage --name emotion-prepare --marker "$done_dir/3.emotion_prepare" \
    --inputs "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_cuts_test.jsonl.gz" \
    --outputs "$data/emotion/finetune_cuts.jsonl.gz" "$data/emotion/trials/test_merged" -- \
    python -m embspace.bin.emotion_prepare --out-dir "$data/emotion" --emotion-field emotion --neutral-label neutral \
      --train-cuts "$data/fbank/${corpus}_cuts_train.jsonl.gz" --test-cuts "$data/fbank/${corpus}_cuts_test.jsonl.gz" \
      --dev-speakers "$dev_speakers" --enroll-per-spk "$enroll" --neutral-test-per-spk "$enroll"
fi

if in_range 4; then
  [ -f "$init_model" ] || die "$init_model not found: train an encoder with egs/voxceleb/v1 first, or give --init-model"
  log "Stage 4: the pre-trained encoder ($init_model) on the emotional lists, and the style checks"
  steps/emotion/eval_model.sh --force "$force" --cmd "$train_cmd" --nj "$nj" --inputs "${feats[*]}" \
    emotion-eval-pretrained "$done_dir/4.emotion_eval.pretrained" "$init_model" "$data/emotion/eval_cuts.jsonl.gz" \
    "$data/emotion/trials" "$exp/pretrained"
  eer_args=(--eer "nn=$exp/pretrained/scores/test_nn.metrics.json" --eer "merged=$exp/pretrained/scores/test_merged.metrics.json")
  run_stage --name emotion-style-check --marker "$done_dir/4.emotion_style_check" \
    --inputs "$data/emotion/finetune_cuts.jsonl.gz" "$data/emotion/eval_cuts.jsonl.gz" "$data/emotion/summary.json" \
      "$exp/pretrained/scores" "${feats[@]}" --outputs "$exp/style_check.json" -- \
    python -m embspace.bin.emotion_style_check --train-cuts "$data/emotion/finetune_cuts.jsonl.gz" \
      --test-cuts "$data/emotion/eval_cuts.jsonl.gz" --exclude-test-speakers "$data/emotion/summary.json" \
      --emotion-field emotion --neutral-label neutral "${eer_args[@]}" --out "$exp/style_check.json"
fi

if in_range 5; then
  log "Stage 5: fine-tune the pre-trained encoder: rows ${emo_rows[*]} -> $exp/<row>"
  steps/emotion/finetune_rows.sh --force "$force" --cmd "$cuda_cmd" --nproc "$nproc" --device "$device" \
    --num-threads "$num_threads" --inputs "${feats[*]}" --stat-inputs "$corpus_root" --marker-prefix "$done_dir/5" \
    "$ft_config" "$init_model" "$data/emotion/summary.json" "$rows" "$data/emotion/finetune_cuts.jsonl.gz" "$exp"
fi

if in_range 6; then
  log "Stage 6: embeddings and scores of every fine-tuned encoder"
  for row in "${emo_rows[@]}"; do
    steps/emotion/eval_model.sh --force "$force" --cmd "$train_cmd" --nj "$nj" --inputs "${feats[*]}" \
      "emotion-eval-$row" "$done_dir/6.emotion_eval.$row" "$exp/$row/models/avg_model.pt" \
      "$data/emotion/eval_cuts.jsonl.gz" "$data/emotion/trials" "$exp/$row"
  done
fi

if in_range 7; then
  log "Stage 7: ablation report -> $exp/report.md, rows in $exp/results.json"
  sys_args=(--system "$system=$exp/pretrained")
  inputs=("$exp/pretrained/scores" "$exp/style_check.md")
  for row in "${emo_rows[@]}"; do
    sys_args+=(--system "${system}_emo_$row=$exp/$row")
    inputs+=("$exp/$row/scores" "$exp/$row/config.yaml")
  done
  run_stage --name emotion-report --marker "$done_dir/7.emotion_report" --inputs "${inputs[@]}" \
    --outputs "$exp/report.md" "$exp/results.json" -- \
    python -m embspace.bin.emotion_report --results "$exp/results.json" --corpus "$corpus" "${sys_args[@]}" \
      --style-check "$exp/style_check.md" --out-md "$exp/report.md" --det-png "$exp/det_test_merged.png"
  cat "$exp/report.md"
fi
