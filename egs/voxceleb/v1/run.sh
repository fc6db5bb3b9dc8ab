#!/usr/bin/env bash
# embspace — VoxCeleb speaker verification: train on VoxCeleb2 (and/or VoxCeleb1 dev), test on
# VoxCeleb1 (Vox1-O, and Vox1-E / Vox1-H when their lists are given), MUSAN + RIR augmentation.
# Nothing is downloaded: point the options at corpora already on disk (see README.md).
#
#   ./run.sh --voxceleb1-root /corpora/VoxCeleb1 --voxceleb2-root /corpora/VoxCeleb2 \
#            --musan-root /corpora/musan --rir-root /corpora/RIRS_NOISES --trials-dir /corpora/vox1_lists
#   ./run.sh ... --stage 4 --stop-stage 4 --train-config conf/resnet34.yaml   # another encoder
#
# Relative paths are taken from this folder (egs/voxceleb/v1). Every stage is skipped when it
# already ran with the same options and the same content of what it reads (markers in $exp/.done/;
# see embspace/stage.py: files by content, the arks behind an scp by content, corpus trees and the
# audio of a wav.scp by size+mtime); --nj and --cmd do not count; --force true reruns the selected
# stages. A killed stage reruns (training resumes from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=1                 # first stage to run
stop_stage=49           # last stage: 1-7 backbone; 10-19 INSIDE, 20-29 SEED, 30-39 NESSA, 40-49 emotion
force=false             # true: rerun the selected stages even when their inputs did not change
# corpora ('' = skip that corpus; nothing is downloaded)
voxceleb1_root=         # wav/idNNNNN/<youtube id>/NNNNN.wav + vox1_meta.csv
voxceleb2_root=         # [dev/|test/]aac/idNNNNN/<youtube id>/NNNNN.m4a (+ vox2_meta.csv)
vox2_ext=m4a            # m4a (lhotse; needs an ffmpeg-capable audio backend) or wav (a converted copy)
vox1_dev_in_train=auto  # auto: false with VoxCeleb2 (VoxCeleb1 dev then joins the test set: Vox1-E/H), else true
musan_root=             # music/ speech/ noise/
rir_root=               # RIRS_NOISES: simulated_rirs/ real_rirs_isotropic_noises/ pointsource_noises/
trials_dir=             # veri_test2.txt (required from stage 2), list_test_all2.txt, list_test_hard2.txt (optional)
augment=true            # on-the-fly MUSAN/RIR augmentation when those corpora are given
# outputs
data=data               # manifests, Kaldi dirs, trials, features
exp=exp                 # models, embeddings, scores, report
# compute
nj=8                    # parallel jobs for manifests, features and extraction
use_gpu=false           # extraction on GPU (one per job)
nproc=1                 # training processes (torchrun --nproc_per_node)
device=auto             # training device: auto|cpu|cuda
num_threads=0           # torch threads per training process (0: torch's default)
train_config=conf/ecapa_c512.yaml  # encoder config; the system is named after the file (--config is parse_options' own)
num_avg=10              # average the last N epoch models
num_mel_bins=80         # fbank filters (must match the config's feat_dim)
top_n=300               # AS-norm cohort size (train speaker means)
# INSIDE (stages 10-12): identities interpolated between nearest same-gender training speakers,
# synthesised by an external TTS through the command backend (embspace/inside/backends/command.py)
inside_tts_command=local/inside_tts_espeak.py  # run as '$train_cmd JOB=1:N log CMD jobs.JOB.jsonl'; wrap your TTS
inside_spk_scp=         # speaker embeddings in the TTS's own space ('' = the trained system's speaker means)
inside_resample=false   # accept TTS output at other sampling rates and resample it to 16 kHz
inside_mode=nn          # nn | nn_chain | random | random_any
inside_k=4              # nn: neighbours per speaker considered
inside_max_children=0   # cap on identities per parent (0: none)
inside_factor=1.0       # synthetic identities = factor x training speakers
inside_groups=m,f       # gender groups paired in (VoxCeleb meta genders)
inside_gender_ratio=0.5 # share of identities from the first group
inside_interp=slerp     # slerp | lerp
inside_alpha=0.5        # interpolation weight
inside_utts=10          # utterances per identity
inside_text_source=builtin  # builtin | a file of sentences (one per line) | a Kaldi text file (--inside-text-format kaldi)
inside_text_format=lines  # lines: one sentence per line | kaldi: utt-id then text
inside_language=en      # language passed to the TTS with every text
inside_min_self_sim=none  # filters (none = off), embeddings of the trained system
inside_max_real_sim=none  # privacy filter: max cosine of an identity to any real speaker (none = off)
inside_mix_ratio=none   # none: real + all synthetic; else the synthetic share of the training utterances
inside_seed=0           # seed of pairing, alpha draws and texts
# SEED (stages 20-25)
seed_config=conf/seed.yaml   # SEED network, diffusion, training, copies and inference settings
seed_extractor=system        # the frozen extractor: system ($exp/<train config>/models/avg_model.pt), ge2e, or a model file (.pt/.onnx, e.g. from import_model)
voxconverse_sv_root=         # VoxConverse SV segments + trials_wo_overlap.txt: adds the VC-Mix list ('' = Vox1-O only)
seed_eval_seeds=1,2,3        # diffusion-noise seeds of the evaluation (rows give mean and std)
seed_sweep=10,50,100,200     # t* values of the sweep table
# NESSA (stages 31-33): an old model A and a new model B, each an exp dir with
# embeddings/{$nessa_train_set,voxceleb1_test}/xvector.scp and mean.vec (e.g. exp/resnet34 from a run
# with --train-config conf/resnet34.yaml, or any two embedding sets); the block is skipped without --nessa-old
nessa_old=              # NESSA: the old model's exp dir (A)
nessa_new=              # NESSA: the new model's exp dir (B); empty: this run's system ($exp/<train config>)
nessa_config=conf/nessa.yaml  # NESSA: mapper options (embspace.bin.nessa_train --config)
nessa_train_set=voxceleb_train  # NESSA: $data/<set>/utt2spk and embeddings/<set>: the mapper's training utterances
nessa_dev_speakers=100  # NESSA: training speakers held out for the dev trials (selection, early stopping)
nessa_utts_per_profile=3       # NESSA: enrollment utterances averaged into a profile
nessa_profiles_per_speaker=2   # NESSA: profiles per test speaker
nessa_profile_modes="map_then_average average_then_map"  # NESSA: profile averaging modes scored (first: main rows)
help_message="Usage: $0 --voxceleb1-root DIR [--voxceleb2-root DIR] [--musan-root DIR] [--rir-root DIR] --trials-dir DIR
  [--stage N] [--stop-stage M] [--nj N] [--train-config conf/X.yaml] [--use-gpu true|false] [--data DIR] [--exp DIR] ..."
. utils/parse_options.sh

system=$(basename "$train_config" .yaml)
dir=$exp/$system
done_dir=$exp/.done
corpus=voxceleb
force_opt=()
[ "$force" = false ] || force_opt=(--force)
run_stage() { python -S -m embspace.bin.run_stage "${force_opt[@]}" "$@"; }  # -S: stdlib only, starts faster
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }
die() { echo "$0: error: $*" >&2; exit 1; }

case "$vox1_dev_in_train" in
  auto) if [ -n "$voxceleb2_root" ]; then vox1_dev_in_train=false; else vox1_dev_in_train=true; fi ;;
  true|false) ;;
  *) die "--vox1-dev-in-train must be auto, true or false, got '$vox1_dev_in_train'" ;;
esac
declare -A kaldi_name=([train]=voxceleb_train [test]=voxceleb1_test)

# Trial lists: name=file. Vox1-O always; Vox1-E/H when given and VoxCeleb1 dev is in the test set.
in_range() { [ "$stage" -le "$1" ] && [ "$stop_stage" -ge "$1" ]; }
trial_lists=()
if in_range 2 || in_range 6 || in_range 7 || in_range 11 || in_range 12; then
  [ -n "$trials_dir" ] || die "--trials-dir is needed from stage 2 on (a folder with veri_test2.txt)"
  [ -f "$trials_dir/veri_test2.txt" ] || die "$trials_dir/veri_test2.txt not found (the Vox1-O list)"
  trial_lists+=("vox1_O=$trials_dir/veri_test2.txt")
  for item in vox1_E=list_test_all2.txt vox1_H=list_test_hard2.txt; do
    [ -f "$trials_dir/${item#*=}" ] || continue
    if [ "$vox1_dev_in_train" = true ]; then
      log "skipping ${item%%=*}: its speakers are VoxCeleb1 dev speakers, which are in the training set here (--vox1-dev-in-train true)"
      continue
    fi
    trial_lists+=("${item%%=*}=$trials_dir/${item#*=}")
  done
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
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
    python local/prepare_voxceleb.py --voxceleb1-root "$voxceleb1_root" --voxceleb2-root "$voxceleb2_root" \
      --vox2-ext "$vox2_ext" --vox1-dev-in-train "$vox1_dev_in_train" --manifest-dir "$data/manifests" \
      --kaldi-dir "$data" --nj "$nj"
  if [ -n "$musan_root" ]; then
    run_stage --name manifests-musan --marker "$done_dir/1.manifests.musan" --stat-inputs "$musan_root" \
      --outputs "$data/manifests/musan_recordings_all.jsonl.gz" -- \
      python local/prepare_noise_corpora.py --musan-root "$musan_root" --manifest-dir "$data/manifests" --nj "$nj"
  fi
  if [ -n "$rir_root" ]; then
    run_stage --name manifests-rir --marker "$done_dir/1.manifests.rir" --stat-inputs "$rir_root" \
      --outputs "$data/manifests/sim-rir_recordings_all.jsonl.gz" -- \
      python local/prepare_noise_corpora.py --rir-root "$rir_root" --manifest-dir "$data/manifests" --nj "$nj"
  fi
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
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

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  # Stored fbank for both sets: the test set and the train set (train embeddings give the mean
  # for mean subtraction and the AS-norm cohort; without augmentation training reads them too).
  for split in test train; do
    log "Stage 3: fbank features ($split) -> $data/fbank"
    run_stage --name "fbank-$split" --marker "$done_dir/3.fbank.$split" \
      --inputs "$data/manifests/${corpus}_recordings_$split.jsonl.gz" "$data/manifests/${corpus}_supervisions_$split.jsonl.gz" \
        "$data/${kaldi_name[$split]}/wav.scp" --outputs "$data/fbank/${corpus}_cuts_$split.jsonl.gz" -- \
      steps/compute_fbank.sh --nj "$nj" --num-mel-bins "$num_mel_bins" "$data/manifests" "$corpus" "$split" "$data/fbank"
  done
fi

# bind_train_config OUT.yaml: the training config bound to the noise data; sets kind (augment|stored),
# noise and rir. Stored features cannot be augmented: with MUSAN/RIR the training cuts keep audio and
# fbank is computed on the fly from the augmented waveform; otherwise training reads the stored fbank.
bind_train_config() {
  noise=; rir=
  if [ "$augment" = true ]; then
    [ -z "$musan_root" ] || noise=$data/manifests/musan_recordings_all.jsonl.gz
    [ -z "$rir_root" ] || rir=$data/manifests/sim-rir_recordings_all.jsonl.gz
  fi
  mkdir -p "$(dirname "$1")"
  kind=$(python local/make_train_config.py --config "$train_config" --out "$1" --noise-manifest "$noise" \
    --rir-manifest "$rir")
}

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  bind_train_config "$dir/train_config.yaml"
  if [ "$kind" = augment ]; then
    cuts=$data/manifests/${corpus}_cuts_train.jsonl.gz
    reads=("$data/${kaldi_name[train]}/wav.scp")  # the audio behind the cuts
  else
    cuts=$data/fbank/${corpus}_cuts_train.jsonl.gz
    reads=("$data/fbank/${corpus}_feats_train")  # the stored features behind the cuts
  fi
  log "Stage 4: train $system ($kind features${noise:+, noise $noise}${rir:+, RIRs $rir}) -> $dir"
  aug_inputs=()
  for m in "$noise" "$rir"; do [ -z "$m" ] || aug_inputs+=("$m"); done
  run_stage --name "train-$system" --marker "$done_dir/4.train.$system" \
    --inputs "$dir/train_config.yaml" "$cuts" "${reads[@]}" "${aug_inputs[@]}" --outputs "$dir/models/avg_model.pt" \
    --reset "$dir/models" -- \
    steps/train.sh --nproc "$nproc" --device "$device" --num-avg "$num_avg" --num-threads "$num_threads" \
      "$dir/train_config.yaml" "$cuts" "$dir"
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  for split in test train; do
    name=${kaldi_name[$split]}
    log "Stage 5: embeddings of $name with $system"
    run_stage --name "extract-$system-$name" --marker "$done_dir/5.extract.$system.$name" \
      --inputs "$dir/models/avg_model.pt" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" \
        "$data/fbank/${corpus}_feats_$split" "$data/$name/utt2spk" --outputs "$dir/embeddings/$name/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        "$dir/models/avg_model.pt" "$data/fbank/${corpus}_cuts_$split.jsonl.gz" "$data/$name" "$dir/embeddings/$name"
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: cosine scores (train-mean subtraction) and AS-norm (train speaker means as cohort)"
  for item in "${trial_lists[@]}"; do
    name=${item%%=*}
    for norm in none asnorm; do
      out=$dir/scores_$norm/$name
      run_stage --name "score-$system-$norm-$name" --marker "$done_dir/6.score.$system.$norm.$name" \
        --inputs "$data/trials/$name" "$dir/embeddings/voxceleb1_test/xvector.scp" \
          "$dir/embeddings/voxceleb_train/mean.vec" "$dir/embeddings/voxceleb_train/spk_xvector.scp" --outputs "$out.metrics.json" -- \
        steps/score.sh --norm "$norm" --top-n "$top_n" "$data/trials/$name" "$dir/embeddings/voxceleb1_test" \
          "$dir/embeddings/voxceleb_train" "$out"
    done
  done
fi

if [ "$stage" -le 7 ] && [ "$stop_stage" -ge 7 ]; then
  log "Stage 7: report -> $exp/results.json, $exp/results.md (DET plots at the end, after the method blocks)"
  for item in "${trial_lists[@]}"; do
    name=${item%%=*}
    for norm in none asnorm; do
      label=$system; [ "$norm" = none ] || label=${system}_$norm
      out=$dir/scores_$norm/$name
      run_stage --name "report-$label-$name" --marker "$done_dir/7.report.$label.$name" \
        --inputs "$out.metrics.json" --outputs "$exp/results.json" -- \
        python -m embspace.bin.report --results "$exp/results.json" --system "$label" --method baseline \
          --trials "$name" --metrics "$out.metrics.json" --score-file "$out.score" --extra "norm=$norm"
    done
  done
fi

# ------------------------------------------------------------------ INSIDE (stages 10-12)
# Identities interpolated between nearest same-gender training speakers (VoxCeleb meta genders) in
# the TTS's speaker space (--inside-spk-scp; default: this system's speaker means), synthesised by
# --inside-tts-command through $train_cmd, filtered, added to the training data; ${system}_inside is
# trained with the same config and scored on the same trial lists as $system.
idir=$exp/${system}_inside
inside_spk=${inside_spk_scp:-$dir/embeddings/voxceleb_train/spk_xvector.scp}
if in_range 10 || in_range 11; then
  bind_train_config "$idir/train_config.yaml"
  real_reads=(); inside_reads=()  # what the real and the combined training cuts point to
  for m in "$noise" "$rir"; do [ -z "$m" ] || inside_reads+=("$m"); done
  if [ "$kind" = augment ]; then  # audio cuts: fbank on the fly from augmented real and synthetic audio
    real_cuts=$data/manifests/${corpus}_cuts_train.jsonl.gz; fbank_opt=
    real_reads=("$data/${kaldi_name[train]}/wav.scp"); inside_reads+=("${real_reads[@]}" "$data/inside_$system/wav.scp")
  else
    real_cuts=$data/fbank/${corpus}_cuts_train.jsonl.gz; fbank_opt=$data/fbank
    real_reads=("$data/fbank/${corpus}_feats_train"); inside_reads+=("${real_reads[@]}" "$data/fbank/inside_${system}_feats_train")
  fi
fi

if [ "$stage" -le 10 ] && [ "$stop_stage" -ge 10 ]; then
  log "Stage 10: INSIDE identities ($inside_mode, ${inside_factor}x, $inside_interp $inside_alpha), synthesis with '$inside_tts_command' -> $idir/data"
  [ -f "$inside_spk" ] || die "$inside_spk not found (run stage 5, or give --inside-spk-scp)"
  run_stage --name inside-data --marker "$done_dir/10.inside.data.$system" \
    --inputs "$inside_spk" "$data/voxceleb_train/spk2gender" "$real_cuts" "${real_reads[@]}" "$dir/models/avg_model.pt" \
    --outputs "$idir/data/cuts_train.jsonl.gz" -- \
    steps/inside_expand.sh --cmd "$train_cmd" --nj "$nj" --synth-dir "$idir/synth" --tts-backend command \
      --tts-command "$inside_tts_command" --resample "$inside_resample" \
      --identity-opts "--mode $inside_mode --k $inside_k --max-children $inside_max_children --identities-factor $inside_factor
        --groups $inside_groups --gender-ratio $inside_gender_ratio --interp $inside_interp --alpha $inside_alpha --seed $inside_seed" \
      --synth-opts "--utts-per-identity $inside_utts --text-source $inside_text_source --text-format $inside_text_format
        --language $inside_language" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder $dir/models/avg_model.pt
        --real-spk-scp $dir/embeddings/voxceleb_train/spk_xvector.scp --mix-ratio $inside_mix_ratio --seed $inside_seed" \
      --corpus "inside_$system" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_$system" --fbank-dir "$fbank_opt" \
      "$inside_spk" "$data/voxceleb_train/spk2gender" "$real_cuts" "$idir/data"
fi

if [ "$stage" -le 11 ] && [ "$stop_stage" -ge 11 ]; then
  log "Stage 11: train ${system}_inside on real + INSIDE data ($kind features), embeddings, scores"
  kaldi_trials=()
  for item in "${trial_lists[@]}"; do kaldi_trials+=("${item%%=*}=$data/trials/${item%%=*}"); done
  run_stage --name "inside-train-$system" --marker "$done_dir/11.inside.train.$system" \
    --inputs "$idir/train_config.yaml" "$idir/data/cuts_train.jsonl.gz" "${inside_reads[@]}" \
      "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" \
      "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/fbank/${corpus}_feats_test" "${kaldi_trials[@]#*=}" \
      --outputs "$idir/scores_none/vox1_O.metrics.json" \
    --reset "$idir/models" -- \
    steps/inside_train_eval.sh --cmd "$train_cmd" --nj "$nj" --nproc "$nproc" --device "$device" --num-avg "$num_avg" \
      --num-threads "$num_threads" --norms "none asnorm" --top-n "$top_n" "$idir/train_config.yaml" \
      "$idir/data/cuts_train.jsonl.gz" "$idir" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/voxceleb_train" \
      "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/voxceleb1_test" \
      "${kaldi_trials[@]}"
fi

if [ "$stage" -le 12 ] && [ "$stop_stage" -ge 12 ]; then
  log "Stage 12: INSIDE rows -> $exp/results.json"
  names=(); inputs=("$idir/data/data_report.json")
  for item in "${trial_lists[@]}"; do
    names+=("${item%%=*}")
    inputs+=("$idir/scores_none/${item%%=*}.metrics.json" "$idir/scores_asnorm/${item%%=*}.metrics.json")
  done
  run_stage --name "inside-report-$system" --marker "$done_dir/12.inside.report.$system" --inputs "${inputs[@]}" \
    --outputs "$exp/results.json" -- \
    steps/inside_report.sh --results "$exp/results.json" --trials "${names[*]}" --data-dir "$idir" \
      "${system}_inside|inside|$system|$idir/scores_none|norm=none variant=data tts=$(basename "${inside_tts_command%% *}")" \
      "${system}_inside_asnorm|inside|${system}_asnorm|$idir/scores_asnorm|norm=asnorm variant=data tts=$(basename "${inside_tts_command%% *}")"
fi

# ------------------------------------------------------------------ SEED (stages 20-29)
# Diffusion-based enhancement of embeddings (embspace/seed): trained on noise/music/reverb copies
# of the training utterances through the frozen extractor; scored on Vox1-O and (with
# --voxconverse-sv-root) VC-Mix = Vox1-O targets + same-recording VoxConverse non-targets.
case "$seed_extractor" in
  system) seed_sys=$system; seed_model=$dir/models/avg_model.pt ;;
  ge2e) seed_sys=ge2e; seed_model=ge2e ;;
  *.pt|*.onnx) [ -f "$seed_extractor" ] || die "--seed-extractor: no model file $seed_extractor"
    seed_model=$seed_extractor; seed_sys=$(basename "${seed_extractor%.*}") ;;  # e.g. an imported WeSpeaker model
  *) die "--seed-extractor must be system, ge2e or a model file (.pt/.onnx), got '$seed_extractor'" ;;
esac
seed_emb=$exp/$seed_sys/embeddings
seed_dir=$exp/${seed_sys}_seed
seed_model_inputs=(); [ "$seed_model" = ge2e ] || seed_model_inputs=("$seed_model")
seed_sets=(voxceleb_train voxceleb1_test); [ -z "$voxconverse_sv_root" ] || seed_sets+=(voxconverse_sv)

if [ "$stage" -le 20 ] && [ "$stop_stage" -ge 20 ] && [ "$seed_extractor" != system ]; then
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
    steps/seed_enhance.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" --extractor "$seed_model" \
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

# ------------------------------------------------------------------ NESSA (stages 30-39)
# Old model A (--nessa-old) and new model B (--nessa-new): symmetric A/A and B/B; A-enrolled/B-runtime and
# B-enrolled/A-runtime with raw cosine (equal dimensions), the speaker-logit-space baseline and a NESSA
# mapper; Vox1-O and multi-utterance profiles of the test speakers; G per configuration. Stage 30 is
# left to the backbone: train the second encoder with another --train-config (stages 4-5).
[ -n "$nessa_new" ] || nessa_new=$dir
if [ -z "$nessa_old" ] && { in_range 31 || in_range 32 || in_range 33; }; then
  log "NESSA stages 31-33 skipped: give --nessa-old DIR (and --nessa-new DIR) to align two embedding sets"
elif in_range 31 || in_range 32 || in_range 33; then
  old=$(basename "$nessa_old"); new=$(basename "$nessa_new"); ndir=$exp/nessa/$old-$new
  [ "$old" != "$new" ] || die "--nessa-old and --nessa-new need different folder names, got $old twice"
  test_set=${kaldi_name[test]}; trials=$data/trials/vox1_O
  for m in "$nessa_old" "$nessa_new"; do
    for f in "$m/embeddings/$nessa_train_set/xvector.scp" "$m/embeddings/$test_set/xvector.scp" \
             "$m/embeddings/$nessa_train_set/mean.vec"; do
      [ -f "$f" ] || die "$f not found (NESSA needs both models' embeddings of $nessa_train_set and $test_set)"
    done
  done
fi
if [ -n "$nessa_old" ] && in_range 31; then
  log "Stage 31: NESSA lists: dev speakers held out of $nessa_train_set -> $data/nessa; profiles of $test_set"
  run_stage --name nessa-split --marker "$done_dir/31.nessa.split" --inputs "$data/$nessa_train_set/utt2spk" \
    --outputs "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" -- \
    python -m embspace.bin.nessa_split --utt2spk "$data/$nessa_train_set/utt2spk" \
      --num-dev-speakers "$nessa_dev_speakers" --out-dir "$data/nessa"
  run_stage --name nessa-profiles --marker "$done_dir/31.nessa.profiles" \
    --inputs "$data/$test_set/utt2spk" "$data/$test_set/wav.scp" \
    --outputs "$data/trials/profiles" "$data/trials/vox1_profiles" -- \
    python -m embspace.bin.make_trials --data-dir "$data/$test_set" --profiles-out "$data/trials/profiles" \
      --profile-trials-out "$data/trials/vox1_profiles" --utts-per-profile "$nessa_utts_per_profile" \
      --profiles-per-speaker "$nessa_profiles_per_speaker"
fi
if [ -n "$nessa_old" ] && in_range 32; then
  xs=$nessa_old/embeddings/$nessa_train_set/xvector.scp; ys=$nessa_new/embeddings/$nessa_train_set/xvector.scp
  common=(--x-scp "$xs" --y-scp "$ys" --x-name "$old" --y-name "$new" --utt2spk "$data/nessa/train/utt2spk"
          --dev-trials "$data/nessa/dev/trials")
  log "Stage 32: NESSA mapper $old -> $new ($nessa_config) and the logit-space baseline -> $ndir"
  run_stage --name "nessa-train-$old-$new" --marker "$done_dir/32.nessa.$old-$new" \
    --inputs "$nessa_config" "$xs" "$ys" "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" \
    --outputs "$ndir/nessa/mapper.pt" --reset "$ndir/nessa" -- \
    python -m embspace.bin.nessa_train --config "$nessa_config" "${common[@]}" --exp-dir "$ndir/nessa"
  run_stage --name "nessa-logit-$old-$new" --marker "$done_dir/32.logit.$old-$new" \
    --inputs "$xs" "$ys" "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" --outputs "$ndir/logit/mapper.pt" -- \
    python -m embspace.bin.nessa_train --mapper logit --reference centroids "${common[@]}" --exp-dir "$ndir/logit"
fi
if [ -n "$nessa_old" ] && in_range 33; then
  log "Stage 33: NESSA evaluation $old/$new on vox1_O and profiles -> $exp/results.json"
  run_stage --name "nessa-eval-$old-$new" --marker "$done_dir/33.nessa.eval.$old-$new" \
    --inputs "$trials" "$data/trials/vox1_profiles" "$data/trials/profiles" "$ndir/nessa/mapper.pt" \
      "$ndir/logit/mapper.pt" "$nessa_old/embeddings/$test_set/xvector.scp" "$nessa_new/embeddings/$test_set/xvector.scp" \
      "$nessa_old/embeddings/$nessa_train_set/mean.vec" "$nessa_new/embeddings/$nessa_train_set/mean.vec" \
    --outputs "$ndir/eval/rows.json" -- \
    python -m embspace.bin.nessa_evaluate --old "$old=$nessa_old/embeddings/$test_set/xvector.scp" \
      --new "$new=$nessa_new/embeddings/$test_set/xvector.scp" \
      --old-mean "$nessa_old/embeddings/$nessa_train_set/mean.vec" --new-mean "$nessa_new/embeddings/$nessa_train_set/mean.vec" \
      --mapper "nessa=$ndir/nessa/mapper.pt" --mapper "logit=$ndir/logit/mapper.pt" --trials "vox1_O=$trials" \
      --profile-trials "vox1_profiles=$data/trials/vox1_profiles" --profiles "$data/trials/profiles" \
      --profile-modes $nessa_profile_modes --out-dir "$ndir/eval" --results "$exp/results.json"
fi

# ------------------------------------------------------------------ emotion-invariant fine-tuning (stages 40-49)
# The encoder trained here is fine-tuned on an emotional corpus (Dusha crowd, ESD or CREMA-D) by
# egs/dusha/v1: ../../dusha/v1/run.sh --corpus-root DIR --init-model "$PWD/$dir/models/avg_model.pt"

if [ -f "$exp/results.json" ] && [ "$stop_stage" -ge 7 ]; then
  log "DET curves of every system in the report, one plot per trial list -> $exp/det_<list>.png"
  run_stage --name det --marker "$done_dir/7.det" --inputs "$exp/results.json" --outputs "$exp/det_vox1_O.png" -- \
    python -m embspace.bin.report --det-dir "$exp" --from-results "$exp/results.json"
  cat "$exp/results.md"
fi
