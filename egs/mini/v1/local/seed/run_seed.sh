#!/usr/bin/env bash
# embspace mini recipe — SEED (stages 20-25): diffusion-based enhancement of embeddings
#
# (embspace/seed) for both frozen extractors ($system and GE2E), evaluated on the conventional list and
# two mismatched lists rendered in stage 20. Stages: 20 mismatch corpus + fbank + trials, 21 embeddings
# of it, 22 embeddings of augmented training copies, 23 SEED training, 24 enhancement, 25 evaluation
# (rows: method "seed", with mean and std over --seed-eval-seeds). With --seed-paper true (default) stages 23-25
# also train, apply and evaluate SEED in the published configuration (--seed-paper-config) on the same
# training copies -> $exp_root/<sys>_seed_paper, rows <sys>_seed_paper (baseline <sys>). With --seeds 1,2,3 every
# SEED system is also trained under each seed N and evaluated with noise seed N -> $exp_root/<sys>_seed[_paper]_trainseed<N>,
# rows <sys>_seed[_paper]_seeds (the frozen extractor <sys> stays one run).
#
# What it needs from the corpus:
#   the mini corpus itself: stage 20 re-renders test utterances under noise, babble and reverberation and
#   builds two-speaker conversations from its clean speech ($data/corpus/config.json, speakers.jsonl,
#   metadata.jsonl and wav/ of stage 0); for another corpus give clean speech plus noise and RIR sources
#   the way egs/voxceleb/v1 does (--musan-root, --rir-root). Also the backbone embeddings (stage 4).
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/seed/run_seed.sh [--stage 20] [--stop-stage 25] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=20                # first stage to run
stop_stage=25           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh     # the backbone options (data, exp_root, train_config, corpus, trials, nj, ...)
seed_extractors="system ge2e"   # frozen extractors: system (the stage-3 encoder), ge2e, a system trained under
                                 # $exp_root, or a model file (.pt from training or import_model, .onnx, .ts;
                                 # named after the file, its train/test embeddings made in stage 21)
seed_config=conf/seed_mini.yaml  # SEED network, diffusion, training, copies and inference settings
seed_paper=true                  # also a second SEED system per extractor in the published configuration
seed_paper_config=conf/seed_paper.yaml  # its settings (its data budget and copies: --seed-config's)
seed_degraded_per_speaker=6      # mismatch corpus: test utterances per speaker re-rendered degraded
seed_conversations_per_speaker=2 # mismatch corpus: two-speaker sessions per test speaker (VC-Mix-like)
seed_segments_per_speaker=5      # mismatch corpus: utterances per speaker and conversation
seed_eval_seeds=1,2,3            # diffusion-noise seeds of the evaluation (rows give mean and std)
seed_sweep=10,50,100,200         # t* values of the sweep table
seed_enhance_nj=1                # jobs of the enhancement step (a few thousand vectors: start-up dominates)
help_message="Usage: $0 [--stage N] [--stop-stage M] [--seed-... VALUE] ... (stages 20-25; see the head of this file)"
. utils/parse_options.sh

backbone_paths

if in_range 20; then
  for f in config.json speakers.jsonl metadata.jsonl; do
    [ -f "$data/corpus/$f" ] || die "$data/corpus/$f not found: stage 20 renders its mismatched test conditions from" \
      "the mini corpus of stage 0 (its speaker voices and clean speech); another corpus needs its own" \
      "mismatch data (see local/seed/run_seed.sh and egs/voxceleb/v1)"
  done
fi
seed_systems=(); declare -A seed_model=() seed_external=()
for spec in $seed_extractors; do
  resolve_extractor "$spec" "$exp_root" "$system"
  seed_systems+=("$extractor_name"); seed_model[$extractor_name]=$extractor_model; seed_external[$extractor_name]=$extractor_file
done
[ ${#seed_systems[@]} -gt 0 ] || die "--seed-extractors is empty"
seed_variants=("seed=$seed_config")  # <exp suffix>=<config>: SEED systems per extractor, all on the copies of stage 22
[ "$seed_paper" != true ] || seed_variants+=("seed_paper=$seed_paper_config")
variant_marker() { if [ "$1" = seed ]; then echo "$2.seed.$3"; else echo "$2.$1.$3"; fi; }  # tuned: the markers of before

if [ "$stage" -le 20 ] && [ "$stop_stage" -ge 20 ]; then
  log "Stage 20: mismatched test conditions -> $data/corpus_seed, $data/test_seed (+ fbank, trials)"
  run_stage --name seed-corpus --marker "$done_dir/20.seed.corpus" \
    --inputs "$data/corpus/config.json" "$data/corpus/speakers.jsonl" "$data/corpus/metadata.jsonl" \
    --stat-inputs "$data/corpus/wav" --outputs "$data/corpus_seed/metadata.jsonl" --reset "$data/corpus_seed" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/seed_make_corpus.log" \
    python -m embspace.bin.seed_make_corpus --corpus-dir "$data/corpus" --out-dir "$data/corpus_seed" --nj "$nj" \
      --degraded-per-speaker "$seed_degraded_per_speaker" --conversations-per-speaker "$seed_conversations_per_speaker" \
      --segments-per-speaker "$seed_segments_per_speaker"
  run_stage --name seed-manifests --marker "$done_dir/20.seed.manifests" --inputs "$data/corpus_seed/metadata.jsonl" \
    --stat-inputs "$data/corpus_seed" --outputs "$data/manifests/${corpus}_supervisions_test_seed.jsonl.gz" "$data/test_seed/utt2spk" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_manifests_seed.log" \
    python -m embspace.bin.prepare_manifests --metadata "$data/corpus_seed/metadata.jsonl" --corpus "$corpus" \
      --manifest-dir "$data/manifests" --kaldi-dir "$data"
  # one job: lhotse's multi-process feature extraction costs more CPU than it saves on 640 cuts
  run_stage --name seed-fbank --marker "$done_dir/20.seed.fbank" \
    --inputs "$data/manifests/${corpus}_recordings_test_seed.jsonl.gz" "$data/manifests/${corpus}_supervisions_test_seed.jsonl.gz" \
      "$data/test_seed/wav.scp" --outputs "$data/fbank/${corpus}_cuts_test_seed.jsonl.gz" -- \
    steps/compute_fbank.sh --nj 1 --num-mel-bins 80 "$data/manifests" "$corpus" test_seed "$data/fbank"
  run_stage --name seed-trials --marker "$done_dir/20.seed.trials" \
    --inputs "$data/corpus/metadata.jsonl" "$data/corpus_seed/metadata.jsonl" \
    --outputs "$data/test_seed/trials_mismatch" "$data/test_seed/trials_vcmix" -- \
    python -m embspace.bin.seed_make_trials --base-metadata "$data/corpus/metadata.jsonl" \
      --metadata "$data/corpus_seed/metadata.jsonl" --mismatch-out "$data/test_seed/trials_mismatch" \
      --vcmix-out "$data/test_seed/trials_vcmix"
fi

if [ "$stage" -le 21 ] && [ "$stop_stage" -ge 21 ]; then
  for sys in "${seed_systems[@]}"; do
    model=${seed_model[$sys]}
    log "Stage 21: embeddings of test_seed with $sys"
    extract_stage "$done_dir/21.seed.extract.$sys" "$model" "$data/fbank/${corpus}_cuts_test_seed.jsonl.gz" \
      "$data/test_seed" "$exp_root/$sys/embeddings/test_seed"
    [ "${seed_external[$sys]}" = true ] || continue
    for split in train test; do  # a model file: its embeddings of the backbone's splits too
      log "Stage 21: embeddings of $split with $sys"
      extract_stage "$done_dir/21.seed.extract.$sys.$split" "$model" "$fbank/${corpus}_cuts_$split.jsonl.gz" \
        "$data/$split" "$exp_root/$sys/embeddings/$split" "$data/$split/wav.scp"  # audio: its own front-end
    done
  done
fi

if [ "$stage" -le 22 ] && [ "$stop_stage" -ge 22 ]; then
  for sys in "${seed_systems[@]}"; do
    model=${seed_model[$sys]}
    log "Stage 22: SEED training data: $sys embeddings of noise/music/reverb copies of training utterances"
    inputs=("$seed_config" "$train_cuts" "$data/train/wav.scp"); [ "$model" = ge2e ] || inputs+=("$model")
    run_stage --name "seed-copies-$sys" --marker "$done_dir/22.seed.copies.$sys" --inputs "${inputs[@]}" \
      --outputs "$exp_root/${sys}_seed/copies/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" --copies-config "$seed_config" \
        "$model" "$train_cuts" - "$exp_root/${sys}_seed/copies"
  done
fi

# one SEED system: NAME VARIANT CONFIG SDIR MARKER_SUFFIX [SEED]: its training (23), enhancement (24) and
# evaluation (25); with SEED (--seeds) the training seed, and the one diffusion-noise seed of its evaluation
seed_train_stage() {
  local sys=$1 v=$2 config=$3 sdir=$4 sfx=$5 model=${seed_model[$1]} inputs seed_opt=()
  [ -z "${6:-}" ] || seed_opt=(--seed "$6")
  log "Stage 23: train SEED ($config${6:+, training seed $6}) for $sys -> $sdir (epoch chosen on held-out training speakers)"
  inputs=("$config" "$exp_root/$sys/embeddings/train/xvector.scp" "$exp_root/${sys}_seed/copies/xvector.scp" "$data/train/utt2spk")
  [ "$model" = ge2e ] || inputs+=("$model")
  run_stage --name "$v-train-$sys$sfx" --marker "$done_dir/$(variant_marker "$v" 23 "train.$sys")$sfx" --inputs "${inputs[@]}" \
    --outputs "$sdir/seed_model.pt" --reset "$sdir/models" -- \
    steps/job.sh --cmd "$cuda_cmd" --gpus "$(gpus_for_device)" "$sdir/log/train.log" \
    python -m embspace.bin.seed_train --config "$config" --clean-scp "$exp_root/$sys/embeddings/train/xvector.scp" \
      --copies-scp "$exp_root/${sys}_seed/copies/xvector.scp" --utt2spk "$data/train/utt2spk" \
      --extractor "$model" --exp-dir "$sdir" --device "$device" --num-threads 1 "${seed_opt[@]}"  # small matrices: one thread is fastest
}
seed_enhance_stage() {
  local sys=$1 v=$2 sdir=$4 sfx=$5
  log "Stage 24: enhance the $sys embeddings of train, test, test_seed -> $sdir/embeddings"
  run_stage --name "$v-enhance-$sys$sfx" --marker "$done_dir/$(variant_marker "$v" 24 "enhance.$sys")$sfx" \
    --inputs "$sdir/seed_model.pt" "$exp_root/$sys/embeddings/"{train,test,test_seed}/xvector.scp \
      "$data/"{train,test,test_seed}/utt2spk --outputs "$sdir/embeddings/test_seed/xvector.scp" -- \
    steps/seed/enhance.sh --cmd "$train_cmd" --nj "$seed_enhance_nj" --use-gpu "$use_gpu" --extractor "${seed_model[$sys]}" \
      --data-root "$data" "$sdir/seed_model.pt" "$exp_root/$sys/embeddings" \
      "$sdir/embeddings" train test test_seed
}
seed_eval_stage() {
  local sys=$1 v=$2 sdir=$4 sfx=$5 main_list base_rows opts
  main_list=$(trials_name "${trial_lists[0]}")
  log "Stage 25: score $sys and $(basename "$sdir") on $main_list, ${corpus}_test_mismatch, ${corpus}_test_vcmix"
  if [ -z "${6:-}" ]; then  # the main system: rows (the backbone lists' baseline rows come from stage 6, a model file's from here)
    base_rows=${corpus}_test_mismatch,${corpus}_test_vcmix
    [ "${seed_external[$sys]}" = false ] || base_rows="$main_list,$base_rows"
    opts=(--eval-seeds "$seed_eval_seeds" --sweep "$seed_sweep" --baseline-out-dir "$exp_root/$sys/scores_none"
          --results "$exp_root/results.json" --system "${sys}_$v" --baseline "$sys" --baseline-rows "$base_rows")
  else  # a per-seed system: score files only (seed_row_stage makes the row)
    opts=(--eval-seeds "$6" --sweep "" --baseline-out-dir "$sdir/scores_baseline")
  fi
  run_stage --name "$v-evaluate-$sys$sfx" --marker "$done_dir/$(variant_marker "$v" 25 "evaluate.$sys")$sfx" \
    --inputs "$sdir/seed_model.pt" "$exp_root/$sys/embeddings/train/xvector.scp" \
      "$exp_root/$sys/embeddings/test/xvector.scp" "$exp_root/$sys/embeddings/test_seed/xvector.scp" \
      "${trial_lists[0]}" "$data/test_seed/trials_mismatch" "$data/test_seed/trials_vcmix" \
    --outputs "$sdir/scores/${corpus}_test_mismatch.metrics.json" -- \
    python -m embspace.bin.seed_evaluate --model "$sdir/seed_model.pt" --extractor "${seed_model[$sys]}" \
      --train-dir "$exp_root/$sys/embeddings/train" --test-scp "$exp_root/$sys/embeddings/test/xvector.scp" \
      --test-scp "$exp_root/$sys/embeddings/test_seed/xvector.scp" --trials "$main_list=${trial_lists[0]}" \
      --trials "${corpus}_test_mismatch=$data/test_seed/trials_mismatch" \
      --trials "${corpus}_test_vcmix=$data/test_seed/trials_vcmix" --out-dir "$sdir/scores" "${opts[@]}"
}
# FUNCTION on every SEED system of stages 23-25: extractor, variant, config, folder, marker suffix, seed
for_each_seed_system() {
  local sys variant v n
  for sys in "${seed_systems[@]}"; do
    for variant in "${seed_variants[@]}"; do
      v=${variant%%=*}
      "$1" "$sys" "$v" "${variant#*=}" "$exp_root/${sys}_$v" "" ""
      for n in "${seed_list[@]}"; do "$1" "$sys" "$v" "${variant#*=}" "$exp_root/${sys}_${v}_trainseed$n" ".seed$n" "$n"; done
    done
  done
}

if in_range 23; then for_each_seed_system seed_train_stage; fi
if in_range 24; then for_each_seed_system seed_enhance_stage; fi
if in_range 25; then
  set_trial_lists
  for_each_seed_system seed_eval_stage
  for sys in "${seed_systems[@]}"; do  # with --seeds: one row per SEED system and list, one run per training seed
    for variant in "${seed_variants[@]}"; do
      v=${variant%%=*}
      for list in "$(trials_name "${trial_lists[0]}")" "${corpus}_test_mismatch" "${corpus}_test_vcmix"; do
        seed_row_stage "$done_dir/25.$v.report.$sys.seeds.$list" "${sys}_${v}_seeds" seed "$sys" "$list" \
          "$exp_root/${sys}_${v}_trainseed%n/scores/$list.metrics.json" "$exp_root/${sys}_${v}_trainseed%n/scores/$list.seed%n.score"
      done
    done
  done
fi
