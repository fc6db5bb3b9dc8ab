#!/usr/bin/env bash
# embspace VoxCeleb recipe — SEED (stages 20-25)
#
# Diffusion-based enhancement of embeddings (embspace/seed): trained on noise/music/reverb copies
# of the training utterances through the frozen extractor; scored on Vox1-O and (with
# --voxconverse-sv-root) VC-Mix = Vox1-O targets + same-recording VoxConverse non-targets.
# Stages: 20 GE2E embeddings (--seed-extractor ge2e), 21 VC-Mix, 22 augmented copies, 23 SEED training,
# 24 enhancement, 25 evaluation (rows: method "seed").
#
# What it needs:
#   clean training speech plus noise and RIR sources for the copies (--musan-root, --rir-root; without
#   them the copies config's own synthetic noise is used), the backbone embeddings (stage 5) and trials.
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
. local/backbone.sh      # the backbone options: data, exp, train_config, nj, use_gpu, nproc, device, ... (defaults there)
seed_config=conf/seed.yaml   # SEED network, diffusion, training, copies and inference settings
seed_extractor=system        # the frozen extractor: system ($exp/<train config>/models/avg_model.pt), ge2e, a system trained under $exp, or a model file (.pt/.onnx/.ts, e.g. from import_model)
voxconverse_sv_root=         # VoxConverse SV segments + trials_wo_overlap.txt: adds the VC-Mix list ('' = Vox1-O only)
seed_eval_seeds=1,2,3        # diffusion-noise seeds of the evaluation (rows give mean and std)
seed_sweep=10,50,100,200     # t* values of the sweep table
help_message="Usage: $0 [--stage N] [--stop-stage M] [--seed-... VALUE] ... (stages 20-25; see the head of this file)"
. utils/parse_options.sh
. local/lib.sh

system=$(basename "$train_config" .yaml)
dir=$exp/$system
done_dir=$exp/.done

resolve_extractor "$seed_extractor" "$exp" "$system"  # steps/lib.sh
seed_sys=$extractor_name; seed_model=$extractor_model
seed_embed_here=$extractor_file; [ "$seed_model" != ge2e ] || seed_embed_here=true  # else stage 5 of run.sh made them
seed_emb=$exp/$seed_sys/embeddings
seed_dir=$exp/${seed_sys}_seed
seed_model_inputs=(); [ "$seed_model" = ge2e ] || seed_model_inputs=("$seed_model")
seed_sets=(voxceleb_train voxceleb1_test); [ -z "$voxconverse_sv_root" ] || seed_sets+=(voxconverse_sv)

if [ "$stage" -le 20 ] && [ "$stop_stage" -ge 20 ] && [ "$seed_embed_here" = true ]; then
  for split in test train; do
    name=${kaldi_name[$split]}
    log "Stage 20: $seed_sys embeddings of $name (the SEED extractor)"
    run_stage --name "seed-extract-$seed_sys-$name" --marker "$done_dir/20.seed.extract.$seed_sys.$name" \
      --inputs "${seed_model_inputs[@]}" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$name/wav.scp" \
        "$data/$name/utt2spk" --outputs "$seed_emb/$name/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        "$seed_model" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$name" "$seed_emb/$name"
  done
fi

if [ "$stage" -le 21 ] && [ "$stop_stage" -ge 21 ] && [ -n "$voxconverse_sv_root" ]; then
  log "Stage 21: VC-Mix from $voxconverse_sv_root -> $data/trials/vcmix, $data/voxconverse_sv, $seed_emb/voxconverse_sv"
  run_stage --name seed-vcmix --marker "$done_dir/21.seed.vcmix" \
    --inputs "$voxconverse_sv_root/trials_wo_overlap.txt" "$data/trials/vox1_O" --stat-inputs "$voxconverse_sv_root" \
    --outputs "$data/trials/vcmix" "$data/voxconverse_sv/utt2spk" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$data/log/prepare_vcmix.log" \
    python local/prepare_vcmix.py --voxconverse-root "$voxconverse_sv_root" --vox1-trials "$data/trials/vox1_O" \
      --manifest-dir "$data/manifests" --kaldi-dir "$data" --out "$data/trials/vcmix"
  run_stage --name seed-vcmix-fbank --marker "$done_dir/21.seed.vcmix.fbank" \
    --inputs "$data/manifests/voxconverse_recordings_sv.jsonl.gz" "$data/manifests/voxconverse_supervisions_sv.jsonl.gz" \
      "$data/voxconverse_sv/wav.scp" --outputs "$data/fbank/voxconverse_cuts_sv.jsonl.gz" -- \
    steps/compute_fbank.sh --nj "$nj" --num-mel-bins "$num_mel_bins" "$data/manifests" voxconverse sv "$data/fbank"
  run_stage --name "seed-vcmix-extract-$seed_sys" --marker "$done_dir/21.seed.vcmix.extract.$seed_sys" \
    --inputs "${seed_model_inputs[@]}" "$data/fbank/voxconverse_cuts_sv.jsonl.gz" "$data/fbank/voxconverse_feats_sv" \
      "$data/voxconverse_sv/wav.scp" "$data/voxconverse_sv/utt2spk" --outputs "$seed_emb/voxconverse_sv/xvector.scp" -- \
    steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
      "$seed_model" "$data/fbank/voxconverse_cuts_sv.jsonl.gz" "$data/voxconverse_sv" "$seed_emb/voxconverse_sv"
fi

if [ "$stage" -le 22 ] && [ "$stop_stage" -ge 22 ]; then
  copy_opts=(); copy_inputs=()
  if [ -n "$musan_root" ]; then
    copy_opts+=(--noise-manifest "$data/manifests/musan_recordings_noise.jsonl.gz" --music-manifest "$data/manifests/musan_recordings_music.jsonl.gz")
    copy_inputs+=("$data/manifests/musan_recordings_noise.jsonl.gz" "$data/manifests/musan_recordings_music.jsonl.gz")
  fi
  if [ -n "$rir_root" ]; then
    copy_opts+=(--rir-manifest "$data/manifests/sim-rir_recordings_all.jsonl.gz"); copy_inputs+=("$data/manifests/sim-rir_recordings_all.jsonl.gz")
  fi
  log "Stage 22: SEED training data: $seed_sys embeddings of noise/music/reverb copies of training utterances"
  run_stage --name "seed-copies-$seed_sys" --marker "$done_dir/22.seed.copies.$seed_sys" \
    --inputs "$seed_config" "${seed_model_inputs[@]}" "$data/manifests/${corpus}_cuts_train.jsonl.gz" \
      "$data/voxceleb_train/wav.scp" "${copy_inputs[@]}" --outputs "$seed_dir/copies/xvector.scp" -- \
    steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" --copies-config "$seed_config" \
      "${copy_opts[@]}" "$seed_model" "$data/manifests/${corpus}_cuts_train.jsonl.gz" - "$seed_dir/copies"
fi

if [ "$stage" -le 23 ] && [ "$stop_stage" -ge 23 ]; then
  log "Stage 23: train SEED for $seed_sys -> $seed_dir (epoch chosen on held-out training speakers)"
  run_stage --name "seed-train-$seed_sys" --marker "$done_dir/23.seed.train.$seed_sys" \
    --inputs "$seed_config" "${seed_model_inputs[@]}" "$seed_emb/voxceleb_train/xvector.scp" "$seed_dir/copies/xvector.scp" \
      "$data/voxceleb_train/utt2spk" --outputs "$seed_dir/seed_model.pt" --reset "$seed_dir/models" -- \
    steps/job.sh --cmd "$cuda_cmd" --gpus "$(gpus_for_device)" "$seed_dir/log/train.log" \
    python -m embspace.bin.seed_train --config "$seed_config" --clean-scp "$seed_emb/voxceleb_train/xvector.scp" \
      --copies-scp "$seed_dir/copies/xvector.scp" --utt2spk "$data/voxceleb_train/utt2spk" --extractor "$seed_model" \
      --exp-dir "$seed_dir" --device "$device" --num-threads "$num_threads"
fi

if [ "$stage" -le 24 ] && [ "$stop_stage" -ge 24 ]; then
  log "Stage 24: enhance the $seed_sys embeddings of ${seed_sets[*]} -> $seed_dir/embeddings"
  enh_inputs=()
  for name in "${seed_sets[@]}"; do enh_inputs+=("$seed_emb/$name/xvector.scp" "$data/$name/utt2spk"); done
  run_stage --name "seed-enhance-$seed_sys" --marker "$done_dir/24.seed.enhance.$seed_sys" \
    --inputs "$seed_dir/seed_model.pt" "${enh_inputs[@]}" --outputs "$seed_dir/embeddings/voxceleb1_test/xvector.scp" -- \
    steps/seed/enhance.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" --extractor "$seed_model" \
      --data-root "$data" "$seed_dir/seed_model.pt" "$seed_emb" "$seed_dir/embeddings" "${seed_sets[@]}"
fi

if [ "$stage" -le 25 ] && [ "$stop_stage" -ge 25 ]; then
  log "Stage 25: score baseline and SEED ($seed_sys) -> $exp/results.json, $seed_dir/scores/sweep.md"
  eval_opts=(--test-scp "$seed_emb/voxceleb1_test/xvector.scp" --trials "vox1_O=$data/trials/vox1_O")
  eval_inputs=("$seed_emb/voxceleb1_test/xvector.scp" "$data/trials/vox1_O")
  base_rows=; [ "$seed_sys" = "$system" ] || base_rows=vox1_O  # the backbone already reports $system on Vox1-O
  if [ -n "$voxconverse_sv_root" ]; then
    eval_opts+=(--test-scp "$seed_emb/voxconverse_sv/xvector.scp" --trials "vcmix=$data/trials/vcmix")
    eval_inputs+=("$seed_emb/voxconverse_sv/xvector.scp" "$data/trials/vcmix")
    base_rows=${base_rows:+$base_rows,}vcmix
  fi
  run_stage --name "seed-evaluate-$seed_sys" --marker "$done_dir/25.seed.evaluate.$seed_sys" \
    --inputs "$seed_dir/seed_model.pt" "${seed_model_inputs[@]}" "$seed_emb/voxceleb_train/xvector.scp" "${eval_inputs[@]}" \
    --outputs "$seed_dir/scores/sweep.md" -- \
    python -m embspace.bin.seed_evaluate --model "$seed_dir/seed_model.pt" --extractor "$seed_model" \
      --train-dir "$seed_emb/voxceleb_train" "${eval_opts[@]}" --eval-seeds "$seed_eval_seeds" --sweep "$seed_sweep" \
      --out-dir "$seed_dir/scores" --baseline-out-dir "$exp/$seed_sys/scores_none" --results "$exp/results.json" \
      --system "${seed_sys}_seed" --baseline "$seed_sys" --baseline-rows "$base_rows"
fi
