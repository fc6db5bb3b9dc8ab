#!/usr/bin/env bash
# embspace — the mini recipe: a synthetic multi-speaker corpus made offline with espeak-ng, a speaker
# encoder trained on it, embeddings, verification scores and a report (stages 0-6); then the four
# methods on the same backbone, each a sub-recipe with its own options, stages and rows:
#   10-17 local/inside/run_inside.sh    20-25 local/seed/run_seed.sh
#   30-33 local/nessa/run_nessa.sh      40-46 local/emotion/run_emotion.sh
#
#   ./run.sh                                 # everything
#   ./run.sh --stage 3 --stop-stage 4        # only training and extraction
#   ./run.sh --stage 5 --force true          # rerun stages 5.. even though nothing changed
#   ./run.sh --train-config conf/resnet_mini.yaml  # another encoder (a new exp dir)
#   ./run.sh --seed-config conf/seed_tiny.yaml     # --inside-*, --kokoro-*, --seed-*, --nessa-*, --emotion-*
#                                            # options go to the sub-recipe (local/<method>/run_<method>.sh --help)
#   ./run.sh --help                          # every backbone option with its current value
#
# Every stage is skipped when it already ran with the same options and the same content of what it
# reads (markers in exp/.done/; see embspace/stage.py: files and folders by content, the arks behind
# an scp by content, audio trees by size+mtime); --nj and --cmd do not count. A killed stage reruns
# (training resumes from its last checkpoint). Heavy steps go through $train_cmd / $cuda_cmd (cmd.sh).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh
. steps/lib.sh
split_method_opts inside kokoro seed nessa emotion -- "$@"
set -- "${rest[@]}"

stage=0                 # first stage to run
stop_stage=49           # last stage: 0-6 backbone; 10-19 INSIDE, 20-29 SEED, 30-39 NESSA, 40-49 emotion
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh     # the backbone options: data, exp_root, train_config, corpus, trials, nj, use_gpu,
                        # nproc, device, num_threads, num_avg, top_n (defaults and meaning there)
num_speakers=120        # corpus: speakers in all (train + test)
num_test_speakers=40    # corpus: test speakers (disjoint from train)
utts_per_speaker=20     # corpus: utterances per speaker
corpus_seed=1           # corpus: the seed every corpus choice is drawn from
second_language_fraction=0.0  # corpus: probability that an utterance is in German
seeds_blocks=inside,seed,nessa,emotion  # with --seeds: the method blocks whose systems are trained per seed too
help_message="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--nj N] [--train-config conf/X.yaml] ...
Method options (--inside-*, --kokoro-*, --seed-*, --nessa-*, --emotion-*): local/<method>/run_<method>.sh --help"
. utils/parse_options.sh

backbone_paths
ge2e=$exp_root/ge2e

if in_range 0; then
  log "Stage 0: synthesise the corpus with espeak-ng -> $data/corpus"
  run_stage --name corpus --marker "$done_dir/0.corpus" --outputs "$data/corpus/metadata.jsonl" --reset "$data/corpus" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/make_corpus.log" \
    python -m embspace.bin.make_mini_corpus --out-dir "$data/corpus" --num-speakers "$num_speakers" \
      --num-test-speakers "$num_test_speakers" --utts-per-speaker "$utts_per_speaker" \
      --seed "$corpus_seed" --second-language-fraction "$second_language_fraction" --nj "$nj"
fi

if in_range 1; then
  log "Stage 1: lhotse manifests -> $data/manifests, Kaldi data dirs -> $data/{train,test}"
  run_stage --name manifests --marker "$done_dir/1.manifests" --inputs "$data/corpus/metadata.jsonl" \
    --stat-inputs "$data/corpus" \
    --outputs "$data/manifests/${corpus}_supervisions_train.jsonl.gz" "$data/test/utt2spk" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_manifests.log" \
    python -m embspace.bin.prepare_manifests --metadata "$data/corpus/metadata.jsonl" --corpus "$corpus" \
      --manifest-dir "$data/manifests" --kaldi-dir "$data"
fi

if in_range 2; then
  for split in train test; do
    log "Stage 2: fbank features ($split) -> $fbank"
    fbank_stage "$done_dir/2.fbank.$split" "$data/manifests" "$corpus" "$split" "$data/$split" "$fbank"
  done
fi

if in_range 3; then
  log "Stage 3: train $system -> $exp"
  train_stage "$done_dir/3.train.$system" "$train_config" "$train_cuts" "$exp" "$num_avg" "$exp/models"
  for n in "${seed_list[@]}"; do
    log "Stage 3: train $system with training seed $n -> $exp_root/${system}_trainseed$n"
    train_stage "$done_dir/3.train.$system.seed$n" "$train_config" "$train_cuts" "$exp_root/${system}_trainseed$n" \
      "$num_avg" "$exp_root/${system}_trainseed$n" --seed "$n"
  done
fi

if in_range 4; then
  for split in train test; do
    log "Stage 4: embeddings of $split with $system and with pretrained GE2E"
    cuts=$fbank/${corpus}_cuts_$split.jsonl.gz
    extract_stage "$done_dir/4.extract.$system.$split" "$exp/models/avg_model.pt" "$cuts" "$data/$split" "$exp/embeddings/$split"
    extract_stage "$done_dir/4.extract.ge2e.$split" ge2e "$cuts" "$data/$split" "$ge2e/embeddings/$split"
    for n in "${seed_list[@]}"; do
      sdir=$exp_root/${system}_trainseed$n
      extract_stage "$done_dir/4.extract.$system.seed$n.$split" "$sdir/models/avg_model.pt" "$cuts" "$data/$split" "$sdir/embeddings/$split"
    done
  done
fi

if in_range 5; then
  log "Stage 5: trials and scores"
  if [ "$trials" = auto ]; then
    if [ -f "$data/test/trials" ] && [ ! -f "$done_dir/5.trials" ]; then
      die "$data/test/trials exists but was not made by this recipe: to score your own lists pass" \
        "--trials \"$data/test/trials ...\" (they are kept as they are); to regenerate it, delete it"
    fi
    gender_input=()  # same-gender trials only when the data has genders
    [ ! -f "$data/test/spk2gender" ] || gender_input=("$data/test/spk2gender")
    run_stage --name trials --marker "$done_dir/5.trials" --inputs "$data/test/utt2spk" "${gender_input[@]}" \
      --outputs "$data/test/trials" -- \
      python -m embspace.bin.make_trials --data-dir "$data/test" --out "$data/test/trials" \
        --same-gender-out "$data/test/trials_same_gender"
  fi
  set_trial_lists
  for sys in "$system" ge2e; do
    steps/score_lists.sh --force "$force" --top-n "$top_n" --marker-prefix "$done_dir/5.score" \
      "$exp_root" "$sys" "${named_lists[@]}"
  done
  for n in "${seed_list[@]}"; do  # per-seed systems: cosine scoring only (the row compares training seeds)
    steps/score_lists.sh --force "$force" --norms none --marker-prefix "$done_dir/5.score" \
      "$exp_root" "${system}_trainseed$n" "${named_lists[@]}"
  done
fi

if in_range 6; then
  log "Stage 6: report -> $exp_root/results.json, results.md (DET plots at the end, after the method blocks)"
  set_trial_lists
  steps/report_rows.sh --force "$force" --marker-prefix "$done_dir/6.report" "$exp_root" \
    "${list_names[*]}" "$system" ge2e
  for name in "${list_names[@]}"; do  # with --seeds: one row of per-seed results
    seed_row_stage "$done_dir/6.report.$system.seeds.$name" "${system}_seeds" baseline "" "$name" \
      "$exp_root/${system}_trainseed%n/scores_none/$name.metrics.json" "" norm=none
  done
fi

# ------------------------------------------------------------------ the methods: one sub-recipe each
set_trial_lists 2>/dev/null || true
common=(--stage "$stage" --stop-stage "$stop_stage" --force "$force" --data "$data" --exp-root "$exp_root"
        --train-config "$train_config" --corpus "$corpus" --nj "$nj" --device "$device")
for block in ${seeds_blocks//,/ }; do
  case $block in inside|seed|nessa|emotion) ;; *) die "--seeds-blocks: unknown block '$block' (inside, seed, nessa, emotion)" ;; esac
done
block_seeds() { case ",$seeds_blocks," in *",$1,"*) echo "$seeds" ;; *) echo "" ;; esac; }  # --seeds of block $1
train_opts=(--nproc "$nproc" --num-threads "$num_threads")
if in_range 10 19; then
  local/inside/run_inside.sh "${common[@]}" "${train_opts[@]}" --seeds "$(block_seeds inside)" --trials "$trials" --num-avg "$num_avg" --top-n "$top_n" \
    "${inside_opts[@]}" "${kokoro_opts[@]}"
fi
if in_range 20 29; then
  local/seed/run_seed.sh "${common[@]}" --seeds "$(block_seeds seed)" --trials "$trials" --use-gpu "$use_gpu" "${seed_opts[@]}"
fi
if in_range 30 39; then
  local/nessa/run_nessa.sh "${common[@]}" "${train_opts[@]}" --seeds "$(block_seeds nessa)" --trials "$trials" --use-gpu "$use_gpu" "${nessa_opts[@]}"
fi
if in_range 40 49; then
  local/emotion/run_emotion.sh "${common[@]}" "${train_opts[@]}" --seeds "$(block_seeds emotion)" "${emotion_opts[@]}"
fi

if [ -f "$exp_root/results.json" ] && [ "$stop_stage" -ge 6 ]; then
  log "DET curves (baselines, and each method with its baseline) -> $exp_root/det_<list>*.png; intervals -> $exp_root/forest.png"
  set_trial_lists
  run_stage --name det --marker "$done_dir/6.det" --inputs "$exp_root/results.json" \
    --outputs "$exp_root/det_$(trials_name "${trial_lists[0]}").png" -- \
    python -m embspace.bin.report --det-dir "$exp_root" --from-results "$exp_root/results.json"
  spk_tables=("$data/test/utt2spk")  # + the SEED and emotion test sets' own utterances and NESSA's profiles
  for f in "$data/test_seed/utt2spk" "$data/emotion/test/utt2spk" "$data/test/profiles"; do [ ! -f "$f" ] || spk_tables+=("$f"); done
  run_stage --name intervals --marker "$done_dir/6.intervals" --inputs "$exp_root/results.json" "${spk_tables[@]}" \
    --outputs "$exp_root/comparisons.json" -- \
    python -m embspace.bin.report --intervals --from-results "$exp_root/results.json" --utt2spk "${spk_tables[@]}" \
      --forest-png "$exp_root/forest.png"  # 95 % intervals of every method row (docs/reproducibility.md)
  cat "$exp_root/results.md"
fi
