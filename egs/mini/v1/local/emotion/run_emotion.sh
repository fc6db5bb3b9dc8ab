#!/usr/bin/env bash
# embspace mini recipe — emotion-invariant fine-tuning (stages 40-46)
#
# Emotional speaking styles of the same speakers (a corpus of its own; the base corpus is only read),
# fine-tuning of the stage-3 encoder on neutral + emotional speech with CopyPaste pairs, the ERL cosine
# term and emotion-aware masking (embspace/emotion), and an ablation on neutral / emotional trial lists.
# Stages: 40 emotional corpus, 41 its manifests + fbank, 42 fine-tuning cuts + trial lists, 43 the
# neutral-only encoder + style checks, 44 fine-tuning per row, 45 evaluation, 46 report (method "emotion").
# With --seeds 1,2,3 the rows of --emotion-seed-rows are also fine-tuned under each seed N
# (-> $exp_root/emotion/trainseed<N>/<row>), rows <system>_emo_<row>_seeds against <system>_emo_base_seeds.
#
# What it needs from the corpus:
#   the mini corpus itself: stage 40 renders the same speakers in angry, happy, sad and surprised styles
#   from their voices ($data/corpus/config.json and speakers.jsonl of stage 0). For a corpus with its own
#   emotion labels use egs/dusha/v1 (Dusha, ESD, CREMA-D: custom["emotion"] on each supervision).
#   Also the backbone model (stage 3) and fbank (stage 2).
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/emotion/run_emotion.sh [--stage 40] [--stop-stage 46] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=40                # first stage to run
stop_stage=46           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh     # the backbone options (data, exp_root, train_config, corpus, trials, nj, ...)
emotion_utts=3          # emotion (40-49): utterances per speaker in each of angry, happy, sad, surprised
emotion_ft_config=conf/emotion_ft.yaml  # emotion: fine-tuning config; one per ablation row is derived from it
emotion_rows=base,cp,erl,em,cp_erl,all  # emotion: ablation rows (base = without the components; all = the three; base,cp,cp_erl,all = the cumulative ablation)
emotion_dev_speakers=16 # emotion: training speakers held out of fine-tuning for the dev lists
emotion_enroll=3        # emotion: neutral enrollment (and neutral test) utterances per speaker in the trial lists
emotion_seed_rows=base,cp,cp_erl,all  # emotion: rows also fine-tuned under each of --seeds (base first; rows <system>_emo_<row>_seeds)
help_message="Usage: $0 [--stage N] [--stop-stage M] [--emotion-... VALUE] ... (stages 40-46; see the head of this file)"
. utils/parse_options.sh

backbone_paths

if in_range 40; then
  for f in config.json speakers.jsonl; do
    [ -f "$data/corpus/$f" ] || die "$data/corpus/$f not found: stage 40 renders emotional styles of the mini corpus" \
      "speakers (stage 0); a corpus with emotion labels of its own goes through egs/dusha/v1"
  done
fi
emo=$exp_root/emotion
emo_data=$data/emotion
ecorpus=${corpus}_emotion
if [ "$stage" -le 40 ] && [ "$stop_stage" -ge 40 ]; then
  log "Stage 40: emotional styles of the corpus speakers -> $data/corpus_emotion"
  run_stage --name emotion-corpus --marker "$done_dir/40.emotion_corpus" \
    --inputs "$data/corpus/config.json" "$data/corpus/speakers.jsonl" \
    --outputs "$data/corpus_emotion/metadata.jsonl" --reset "$data/corpus_emotion" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/make_emotion_corpus.log" \
    python -m embspace.bin.make_emotion_corpus --base-dir "$data/corpus" --out-dir "$data/corpus_emotion" \
      --utts-per-emotion "$emotion_utts" --nj "$nj"
fi

if [ "$stage" -le 41 ] && [ "$stop_stage" -ge 41 ]; then
  log "Stage 41: manifests, Kaldi dirs ($emo_data/{train,test}) and fbank of the emotional corpus"
  run_stage --name emotion-manifests --marker "$done_dir/41.emotion_manifests" \
    --inputs "$data/corpus_emotion/metadata.jsonl" --stat-inputs "$data/corpus_emotion" \
    --outputs "$data/manifests/${ecorpus}_supervisions_test.jsonl.gz" "$emo_data/test/utt2spk" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_manifests_emotion.log" \
    python -m embspace.bin.prepare_manifests --metadata "$data/corpus_emotion/metadata.jsonl" --corpus "$ecorpus" \
      --manifest-dir "$data/manifests" --kaldi-dir "$emo_data"
  for split in train test; do
    run_stage --name "emotion-fbank-$split" --marker "$done_dir/41.emotion_fbank.$split" \
      --inputs "$data/manifests/${ecorpus}_recordings_$split.jsonl.gz" "$data/manifests/${ecorpus}_supervisions_$split.jsonl.gz" \
        "$emo_data/$split/wav.scp" \
      --outputs "$data/fbank/${ecorpus}_cuts_$split.jsonl.gz" -- \
      steps/compute_fbank.sh --nj "$nj" --num-mel-bins 80 "$data/manifests" "$ecorpus" "$split" "$data/fbank"
  done
fi

# what fine-tuning and evaluation read: cut manifests, the features behind them, and (EM energy) the audio
emo_feats=("$train_feats" "$test_feats"
           "$data/fbank/${ecorpus}_feats_train" "$data/fbank/${ecorpus}_feats_test")
if [ "$stage" -le 42 ] && [ "$stop_stage" -ge 42 ]; then
  log "Stage 42: fine-tuning cuts (minus $emotion_dev_speakers dev speakers) and trial lists -> $emo_data"
  run_stage --name emotion-prepare --marker "$done_dir/42.emotion_prepare" \
    --inputs "$train_cuts" "$data/fbank/${ecorpus}_cuts_train.jsonl.gz" \
      "$test_cuts" "$data/fbank/${ecorpus}_cuts_test.jsonl.gz" \
    --outputs "$emo_data/finetune_cuts.jsonl.gz" "$emo_data/trials/test_merged" -- \
    python -m embspace.bin.emotion_prepare --out-dir "$emo_data" --emotion-field style --neutral-label neutral \
      --train-cuts "$train_cuts" "$data/fbank/${ecorpus}_cuts_train.jsonl.gz" \
      --test-cuts "$test_cuts" "$data/fbank/${ecorpus}_cuts_test.jsonl.gz" \
      --dev-speakers "$emotion_dev_speakers" --enroll-per-spk "$emotion_enroll" --neutral-test-per-spk "$emotion_enroll"
fi

if [ "$stage" -le 43 ] && [ "$stop_stage" -ge 43 ]; then
  log "Stage 43: the neutral-only encoder ($system) on the emotional lists, and the style checks"
  steps/emotion/eval_model.sh --force "$force" --cmd "$train_cmd" --nj "$nj" --inputs "${emo_feats[*]}" \
    emotion-eval-pretrained "$done_dir/43.emotion_eval.pretrained" "$exp/models/avg_model.pt" \
    "$emo_data/eval_cuts.jsonl.gz" "$emo_data/trials" "$emo/pretrained"
  eer_args=()
  for list in nn merged angry happy sad surprised; do
    [ ! -f "$emo_data/trials/test_$list" ] || eer_args+=(--eer "$list=$emo/pretrained/scores/test_$list.metrics.json")
  done
  run_stage --name emotion-style-check --marker "$done_dir/43.emotion_style_check" \
    --inputs "$emo_data/finetune_cuts.jsonl.gz" "$emo_data/eval_cuts.jsonl.gz" "$emo_data/summary.json" \
      "$emo/pretrained/scores" "${emo_feats[@]}" --outputs "$emo/style_check.json" -- \
    python -m embspace.bin.emotion_style_check --train-cuts "$emo_data/finetune_cuts.jsonl.gz" \
      --test-cuts "$emo_data/eval_cuts.jsonl.gz" --exclude-test-speakers "$emo_data/summary.json" \
      --emotion-field style --neutral-label neutral "${eer_args[@]}" --out "$emo/style_check.json"
fi

IFS=, read -r -a emo_rows <<< "$emotion_rows"
if [ "$stop_stage" -ge 44 ] && [ "${emo_rows[0]}" != base ]; then
  echo "$0: --emotion-rows must start with base (the fine-tuning baseline the other rows are compared with)" >&2
  exit 1
fi
IFS=, read -r -a emo_seed_rows <<< "$emotion_seed_rows"
if [ ${#seed_list[@]} -gt 0 ] && [ "$stop_stage" -ge 44 ] && [ "${emo_seed_rows[0]}" != base ]; then
  die "--emotion-seed-rows must start with base (the per-seed baseline of the other per-seed rows)"
fi
# FUNCTION on every set of fine-tuned rows: rows, folder, marker suffix, training seed ('': the config's)
for_each_emo_run() {
  local n
  "$1" "$emotion_rows" "$emo" "" ""
  for n in "${seed_list[@]}"; do "$1" "$emotion_seed_rows" "$emo/trainseed$n" ".seed$n" "$n"; done
}
finetune_run() {
  log "Stage 44: fine-tune $system on neutral + emotional speech${4:+ (training seed $4)}: rows $1 -> $2/<row>"
  steps/emotion/finetune_rows.sh --force "$force" --cmd "$cuda_cmd" --nproc "$nproc" --device "$device" \
    --num-threads "$num_threads" --seed "$4" --inputs "${emo_feats[*]}" --stat-inputs "$data/corpus/wav $data/corpus_emotion/wav" \
    --marker-prefix "$done_dir/44$3" "$emotion_ft_config" "$exp/models/avg_model.pt" "$emo_data/summary.json" \
    "$1" "$emo_data/finetune_cuts.jsonl.gz" "$2"
}
eval_run() {
  local row rows
  IFS=, read -r -a rows <<< "$1"
  for row in "${rows[@]}"; do
    steps/emotion/eval_model.sh --force "$force" --cmd "$train_cmd" --nj "$nj" --inputs "${emo_feats[*]}" \
      "emotion-eval-$row$3" "$done_dir/45.emotion_eval.$row$3" "$2/$row/models/avg_model.pt" \
      "$emo_data/eval_cuts.jsonl.gz" "$emo_data/trials" "$2/$row"
  done
}
if in_range 44; then for_each_emo_run finetune_run; fi
if in_range 45; then
  log "Stage 45: embeddings and scores of every fine-tuned encoder on the emotional lists"
  for_each_emo_run eval_run
fi

if [ "$stage" -le 46 ] && [ "$stop_stage" -ge 46 ]; then
  log "Stage 46: ablation report -> $emo/report.md, rows in $exp_root/results.json"
  sys_args=(--system "$system=$emo/pretrained")
  score_dirs=("$emo/pretrained/scores")
  for row in "${emo_rows[@]}"; do
    sys_args+=(--system "${system}_emo_$row=$emo/$row")
    score_dirs+=("$emo/$row/scores" "$emo/$row/config.yaml")
  done
  run_stage --name emotion-report --marker "$done_dir/46.emotion_report" \
    --inputs "${score_dirs[@]}" "$emo/style_check.md" --outputs "$emo/report.md" "$exp_root/results.json" -- \
    python -m embspace.bin.emotion_report --results "$exp_root/results.json" --corpus "$corpus" "${sys_args[@]}" \
      --style-check "$emo/style_check.md" --out-md "$emo/report.md"  # DET curves: the det step below
  for row in "${emo_seed_rows[@]}"; do  # with --seeds: one row per fine-tuning row and list, one run per seed
    row_base=${system}_emo_base_seeds; [ "$row" != base ] || row_base=$system
    for list in merged nn; do
      seed_row_stage "$done_dir/46.emotion_report.$row.seeds.$list" "${system}_emo_${row}_seeds" emotion "$row_base" \
        "${corpus}_emo_$list" "$emo/trainseed%n/$row/scores/test_$list.metrics.json"
    done
  done
fi
