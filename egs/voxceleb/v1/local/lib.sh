# shellcheck shell=bash
# VoxCeleb helpers of run.sh and its sub-recipes (sourced after steps/lib.sh and the options):
#   kaldi_name[train|test]     the Kaldi data dirs of the splits (voxceleb_train, voxceleb1_test)
#   resolve_vox1_dev_in_train  auto -> false with VoxCeleb2 (VoxCeleb1 dev then joins the test set), else true
#   vox_trial_lists            trial_lists ("name=file"): Vox1-O always; Vox1-E/H when given and usable
#   bind_train_config OUT      the training config bound to the noise data (sets kind: augment|stored, noise, rir)
corpus=voxceleb
declare -A kaldi_name=([train]=voxceleb_train [test]=voxceleb1_test)

resolve_vox1_dev_in_train() {
  case "$vox1_dev_in_train" in
    auto) if [ -n "${voxceleb2_root:-}" ]; then vox1_dev_in_train=false; else vox1_dev_in_train=true; fi ;;
    true|false) ;;
    *) die "--vox1-dev-in-train must be auto, true or false, got '$vox1_dev_in_train'" ;;
  esac
}

vox_trial_lists() {
  trial_lists=()
  [ -n "$trials_dir" ] || die "--trials-dir is needed from stage 2 on (a folder with veri_test2.txt)"
  [ -f "$trials_dir/veri_test2.txt" ] || die "$trials_dir/veri_test2.txt not found (the Vox1-O list)"
  trial_lists+=("vox1_O=$trials_dir/veri_test2.txt")
  local item
  for item in vox1_E=list_test_all2.txt vox1_H=list_test_hard2.txt; do
    [ -f "$trials_dir/${item#*=}" ] || continue
    if [ "$vox1_dev_in_train" = true ]; then
      log "skipping ${item%%=*}: its speakers are VoxCeleb1 dev speakers, which are in the training set here (--vox1-dev-in-train true)"
      continue
    fi
    trial_lists+=("${item%%=*}=$trials_dir/${item#*=}")
  done
}

# Stored features cannot be augmented: with MUSAN/RIR the training cuts keep audio and fbank is computed
# on the fly from the augmented waveform; otherwise training reads the stored fbank.
bind_train_config() {
  noise=; rir=
  if [ "$augment" = true ]; then
    [ -z "$musan_root" ] || noise=$data/manifests/musan_recordings_all.jsonl.gz
    [ -z "$rir_root" ] || rir=$data/manifests/sim-rir_recordings_all.jsonl.gz
  fi
  mkdir -p "$(dirname "$1")"
  kind=$(python steps/make_train_config.py --config "$train_config" --out "$1" --noise-manifest "$noise" \
    --rir-manifest "$rir")
}
