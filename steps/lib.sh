# shellcheck shell=bash
# Shell helpers of every recipe and sub-recipe (source it after utils/parse_options.sh):
#   run_stage ...          a guarded step (embspace.bin.run_stage; --force true reruns it)
#   log MSG                a time-stamped line on stderr naming the calling script and line
#   die MSG                an error line on stderr, exit 1
#   in_range N [M]         true when stage N (or any stage of N..M) is selected by --stage/--stop-stage
#   gpus_for_device        GPUs to ask of $cuda_cmd for one training process: 0 with --device cpu, else 1
#   split_method_opts P... moves the "--P-* VALUE" options of the command line into the array P_opts
#                          and leaves the others in the array rest (a recipe hands them to its sub-recipes)
#   set_trial_lists        fills trial_lists (files) from $trials ("auto": $data/test/trials and, with
#                          genders, trials_same_gender), named_lists ("name=file") and list_names;
#                          trials_name FILE gives the report name of a list ($corpus_test... for "auto")
#   fbank_stage MARKER MANIFEST_DIR CORPUS SPLIT DATA_DIR FBANK_DIR
#                          a guarded steps/compute_fbank.sh (80 bins; $nj jobs) of a split's manifests and wav.scp
#   train_stage MARKER CONFIG CUTS DIR NUM_AVG RESET [TRAIN_OPT...]
#                          a guarded steps/train.sh through $cuda_cmd (reads CONFIG, CUTS and their stored
#                          features; RESET: the folder emptied first) -> DIR/models/avg_model.pt
#   resolve_extractor SPEC ROOT SYSTEM
#                          sets extractor_name, extractor_model, extractor_file (true for a model file) from
#                          an extractor given as 'system' (ROOT/SYSTEM), 'ge2e', a system trained under ROOT,
#                          or a model file (.pt from training or import_model, .onnx, .ts): named after the file
#   extract_stage MARKER MODEL CUTS DATA_DIR OUT_DIR [INPUT...]
#                          a guarded extraction (steps/extract_embeddings.sh through $train_cmd) reading the
#                          model, the cuts and their stored features (GE2E: the audio) and utt2spk, plus INPUTs
#   seed_row_stage MARKER ROW METHOD BASELINE LIST METRICS [SCORE [KEY=VALUE...]]
#                          with --seeds (seed_list): the row ROW of trial list LIST in $exp_root/results.json from
#                          one run per seed: METRICS and SCORE are paths in which %n stands for the seed
#                          (SCORE '' or left out: METRICS with .metrics.json -> .score); nothing without seeds
#   inside_rows_stage MARKER RESULTS "LIST..." SYSTEM METHOD BASELINE SCORE_DIR DATA_REPORT [KEY=VALUE...]
#                          a guarded steps/inside/report.sh: SYSTEM's rows (one per trial list) from
#                          SCORE_DIR/<list>.{metrics.json,score}, with its INSIDE data report ('' = none)

run_stage() {
  local force_opt=()
  [ "${force:-false}" = false ] || force_opt=(--force)
  python -S -m embspace.bin.run_stage "${force_opt[@]}" "$@"  # -S: stdlib only, starts faster
}

log() { echo "$(date '+%Y-%m-%d %H:%M:%S') (${BASH_SOURCE[1]##*/}:${BASH_LINENO[0]}) $*" >&2; }

die() { echo "$0: error: $*" >&2; exit 1; }

gpus_for_device() { if [ "${device:-auto}" = cpu ]; then echo 0; else echo 1; fi; }

in_range() { [ "$stage" -le "${2:-$1}" ] && [ "$stop_stage" -ge "$1" ]; }

split_method_opts() {
  local prefixes=() p matched
  while [ $# -gt 0 ] && [ "$1" != -- ]; do prefixes+=("$1"); shift; done
  shift
  for p in "${prefixes[@]}"; do declare -ga "${p}_opts=()"; done
  rest=()
  while [ $# -gt 0 ]; do
    matched=
    for p in "${prefixes[@]}"; do
      case "$1" in
        --"$p"[-_]*)
          [ $# -ge 2 ] || die "option $1 needs a value"
          eval "${p}_opts+=(\"\$1\" \"\$2\")"; matched=1; shift 2; break ;;
      esac
    done
    [ -n "$matched" ] || { rest+=("$1"); shift; }
  done
}

set_trial_lists() {
  if [ "$trials" = auto ]; then
    trial_lists=("$data/test/trials")
    [ ! -f "$data/test/spk2gender" ] || trial_lists+=("$data/test/trials_same_gender")
  else
    read -r -a trial_lists <<< "$trials"
  fi
  named_lists=(); list_names=()
  local list
  for list in "${trial_lists[@]}"; do
    list_names+=("$(trials_name "$list")"); named_lists+=("$(trials_name "$list")=$list")
  done
}

trials_name() {
  local b; b=$(basename "$1")
  if [ "$trials" = auto ]; then echo "${corpus}_test${b#trials}"; else echo "${b%.*}"; fi
}

resolve_extractor() {
  local spec=$1 root=$2 system=$3 base
  extractor_file=false
  case "$spec" in
    system) extractor_name=$system; extractor_model=$root/$system/models/avg_model.pt ;;
    ge2e) extractor_name=ge2e; extractor_model=ge2e ;;
    *.pt|*.onnx|*.ts)
      [ -f "$spec" ] || die "extractor model file not found: $spec"
      base=$(basename "$spec"); extractor_name=${base%.*}; extractor_model=$spec; extractor_file=true
      [ "$extractor_name" != ge2e ] && [ ! -d "$root/$extractor_name/models" ] || die "extractor file $spec would be" \
        "named $extractor_name, the name of a system under $root: rename the file (its name names its outputs)" ;;
    *)
      [[ "$spec" =~ ^[A-Za-z0-9_.-]+$ ]] && [ -f "$root/$spec/models/avg_model.pt" ] || die "extractor '$spec' is" \
        "neither system, ge2e, a system trained under $root (no $root/$spec/models/avg_model.pt) nor a model file (.pt/.onnx/.ts)"
      extractor_name=$spec; extractor_model=$root/$spec/models/avg_model.pt ;;
  esac
}

# feats_of CUTS: the stored-feature folder beside a cut manifest (<dir>/<corpus>_cuts_<split>.jsonl.gz ->
# <dir>/<corpus>_feats_<split>, as steps/compute_fbank.sh writes them)
feats_of() { local cuts=$1; echo "${cuts%_cuts_*}_feats_$(basename "${cuts##*_cuts_}" .jsonl.gz)"; }

extract_stage() {
  local marker=$1 model=$2 cuts=$3 data_dir=$4 out=$5 inputs
  shift 5
  if [ "$model" = ge2e ]; then
    inputs=("$cuts" "$data_dir/wav.scp" "$data_dir/utt2spk")
  else
    inputs=("$model" "$cuts" "$(feats_of "$cuts")" "$data_dir/utt2spk")
  fi
  run_stage --name "$(basename "$marker")" --marker "$marker" --inputs "${inputs[@]}" "$@" \
    --outputs "$out/xvector.scp" -- \
    steps/extract_embeddings.sh --cmd "$train_cmd" --nj "$nj" --use-gpu "${use_gpu:-false}" "$model" "$cuts" "$data_dir" "$out"
}

seed_row_stage() {
  local marker=$1 row=$2 method=$3 baseline=$4 list=$5 metrics=$6 score=${7:-} runs=() files=() extra=() n m s base=()
  [ ${#seed_list[@]} -gt 0 ] || return 0
  [ -n "$score" ] || score=${metrics%.metrics.json}.score
  for n in "${seed_list[@]}"; do
    m=${metrics//%n/$n}; s=${score//%n/$n}
    runs+=(--seed-run "$n=$m,$s"); files+=("$m" "$s")
  done
  shift $(($# < 7 ? $# : 7))
  for n in "$@"; do extra+=(--extra "$n"); done
  [ -z "$baseline" ] || base=(--baseline "$baseline")
  run_stage --name "report-$row-$list" --marker "$marker" --inputs "${files[@]}" --outputs "$exp_root/results.json" -- \
    python -m embspace.bin.report --results "$exp_root/results.json" --system "$row" --method "$method" "${base[@]}" \
      --trials "$list" "${runs[@]}" "${extra[@]}"
}

inside_rows_stage() {
  local marker=$1 results=$2 lists=$3 sys=$4 method=$5 baseline=$6 sdir=$7 data_report=$8 inputs=() opts=() t
  shift 8
  for t in $lists; do inputs+=("$sdir/$t.metrics.json" "$sdir/$t.score"); done
  [ -z "$data_report" ] || { inputs+=("$data_report"); opts+=(--data-report "$data_report"); }
  [ -z "$baseline" ] || opts+=(--baseline "$baseline")
  run_stage --name "$(basename "$marker")" --marker "$marker" --inputs "${inputs[@]}" --outputs "$results" -- \
    steps/inside/report.sh --results "$results" --trials "$lists" --system "$sys" --method "$method" \
      --score-dir "$sdir" "${opts[@]}" "$@"
}

fbank_stage() {
  local marker=$1 manifests=$2 corpus=$3 split=$4 data_dir=$5 fbank=$6
  run_stage --name "fbank-$split" --marker "$marker" \
    --inputs "$manifests/${corpus}_recordings_$split.jsonl.gz" "$manifests/${corpus}_supervisions_$split.jsonl.gz" \
      "$data_dir/wav.scp" --outputs "$fbank/${corpus}_cuts_$split.jsonl.gz" -- \
    steps/compute_fbank.sh --nj "$nj" --num-mel-bins 80 "$manifests" "$corpus" "$split" "$fbank"
}

train_stage() {
  local marker=$1 config=$2 cuts=$3 dir=$4 num_avg=$5 reset=$6
  shift 6
  run_stage --name "train-$(basename "$dir")" --marker "$marker" \
    --inputs "$config" "$cuts" "$(feats_of "$cuts")" \
    --outputs "$dir/models/avg_model.pt" --reset "$reset" -- \
    steps/train.sh --cmd "$cuda_cmd" --nproc "$nproc" --device "$device" --num-avg "$num_avg" "$@" \
      --num-threads "$num_threads" "$config" "$cuts" "$dir"
}
