#!/usr/bin/env bash
# embspace VoxCeleb recipe — INSIDE (stages 10-12)
#
# Identities interpolated between nearest same-gender training speakers (VoxCeleb meta genders) in
# the TTS's speaker space (--inside-spk-scp; default: this system's speaker means), synthesised by
# --inside-tts-command through $train_cmd, filtered, added to the training data; ${system}_inside is
# trained with the same config and scored on the same trial lists as $system (rows: method "inside").
# Stages: 10 identities + synthesis + data, 11 train + embeddings + scores, 12 report rows.
#
# What it needs:
#   $data/voxceleb_train/spk2gender (genders from vox1_meta.csv / vox2_meta.csv), the backbone model and
#   embeddings (stages 4-5), the trial lists (--trials-dir) and a TTS command (steps/inside/tts_espeak.py
#   is a working example; wrap your own TTS the same way).
#
# Usage (run.sh calls it with the backbone options; it runs on its own the same way):
#   local/inside/run_inside.sh [--stage 10] [--stop-stage 12] [options]      (--help: every option)
set -euo pipefail
cd "$(dirname "$0")/../.."  # the recipe folder
. ./path.sh
. ./cmd.sh
. steps/lib.sh

stage=10                # first stage to run
stop_stage=12           # last stage
force=false             # true: rerun the selected stages even when their inputs did not change
. local/backbone.sh      # the backbone options: data, exp, train_config, nj, use_gpu, nproc, device, ... (defaults there)
# synthesised by an external TTS through the command backend (embspace/inside/backends/command.py)
inside_tts_command=steps/inside/tts_espeak.py  # run as '$train_cmd JOB=1:N log CMD jobs.JOB.jsonl'; wrap your TTS
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
help_message="Usage: $0 [--stage N] [--stop-stage M] [--inside-... VALUE] ... (stages 10-12; see the head of this file)"
. utils/parse_options.sh
. local/lib.sh

system=$(basename "$train_config" .yaml)
dir=$exp/$system
done_dir=$exp/.done

if in_range 10; then
  [ -f "$data/voxceleb_train/spk2gender" ] || die "$data/voxceleb_train/spk2gender not found: INSIDE pairs speakers of" \
    "the same gender (stage 1 writes it from the VoxCeleb meta files)"
fi
idir=$exp/${system}_inside
inside_spk=${inside_spk_scp:-$dir/embeddings/voxceleb_train/spk_xvector.scp}
if in_range 10 11; then
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

test_spk=(); test_spk_opt=()  # the privacy filter (when on) also checks the test speakers
if [ "$inside_max_real_sim" != none ]; then
  test_spk=("$dir/embeddings/${kaldi_name[test]}/spk_xvector.scp"); test_spk_opt=(--test-spk-scp "${test_spk[0]}")
fi
if [ "$stage" -le 10 ] && [ "$stop_stage" -ge 10 ]; then
  log "Stage 10: INSIDE identities ($inside_mode, ${inside_factor}x, $inside_interp $inside_alpha), synthesis with '$inside_tts_command' -> $idir/data"
  [ -f "$inside_spk" ] || die "$inside_spk not found (run stage 5, or give --inside-spk-scp)"
  run_stage --name inside-data --marker "$done_dir/10.inside.data.$system" \
    --inputs "$inside_spk" "$data/voxceleb_train/spk2gender" "$real_cuts" "${real_reads[@]}" "$dir/models/avg_model.pt" \
      "${test_spk[@]}" \
    --outputs "$idir/data/cuts_train.jsonl.gz" -- \
    steps/inside/expand.sh --cmd "$train_cmd" --nj "$nj" --synth-dir "$idir/synth" --tts-backend command \
      --tts-command "$inside_tts_command" --resample "$inside_resample" \
      --identity-opts "--mode $inside_mode --k $inside_k --max-children $inside_max_children --identities-factor $inside_factor
        --groups $inside_groups --gender-ratio $inside_gender_ratio --interp $inside_interp --alpha $inside_alpha --seed $inside_seed" \
      --synth-opts "--utts-per-identity $inside_utts --text-source $inside_text_source --text-format $inside_text_format
        --language $inside_language" \
      --data-opts "--min-self-sim $inside_min_self_sim --max-real-sim $inside_max_real_sim --encoder $dir/models/avg_model.pt
        --real-spk-scp $dir/embeddings/voxceleb_train/spk_xvector.scp ${test_spk_opt[*]}
        --mix-ratio $inside_mix_ratio --seed $inside_seed" \
      --corpus "inside_$system" --manifest-dir "$data/manifests" --kaldi-dir "$data/inside_$system" --fbank-dir "$fbank_opt" \
      "$inside_spk" "$data/voxceleb_train/spk2gender" "$real_cuts" "$idir/data"
fi

if [ "$stage" -le 11 ] && [ "$stop_stage" -ge 11 ]; then
  log "Stage 11: train ${system}_inside on real + INSIDE data ($kind features), embeddings, scores"
  vox_trial_lists
  kaldi_trials=()
  for item in "${trial_lists[@]}"; do kaldi_trials+=("${item%%=*}=$data/trials/${item%%=*}"); done
  run_stage --name "inside-train-$system" --marker "$done_dir/11.inside.train.$system" \
    --inputs "$idir/train_config.yaml" "$idir/data/cuts_train.jsonl.gz" "${inside_reads[@]}" \
      "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/fbank/${corpus}_feats_train" \
      "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/fbank/${corpus}_feats_test" "${kaldi_trials[@]#*=}" \
      --outputs "$idir/scores_none/vox1_O.metrics.json" \
    --reset "$idir/models" -- \
    steps/inside/train_eval.sh --cmd "$train_cmd" --nj "$nj" --nproc "$nproc" --device "$device" --num-avg "$num_avg" \
      --num-threads "$num_threads" --norms "none asnorm" --top-n "$top_n" "$idir/train_config.yaml" \
      "$idir/data/cuts_train.jsonl.gz" "$idir" "$data/fbank/${corpus}_cuts_train.jsonl.gz" "$data/voxceleb_train" \
      "$data/fbank/${corpus}_cuts_test.jsonl.gz" "$data/voxceleb1_test" \
      "${kaldi_trials[@]}"
fi

if [ "$stage" -le 12 ] && [ "$stop_stage" -ge 12 ]; then
  log "Stage 12: INSIDE rows -> $exp/results.json"
  vox_trial_lists
  names=(); for item in "${trial_lists[@]}"; do names+=("${item%%=*}"); done
  tts=$(basename "${inside_tts_command%% *}")
  for norm in none asnorm; do
    sfx=; [ "$norm" = none ] || sfx=_$norm
    inside_rows_stage "$done_dir/12.inside.report.${system}_inside$sfx" "$exp/results.json" "${names[*]}" \
      "${system}_inside$sfx" inside "$system$sfx" "$idir/scores_$norm" "$idir/data/data_report.json" \
      norm=$norm variant=data tts=$tts
  done
fi
