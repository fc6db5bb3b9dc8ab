#!/usr/bin/env bash
# Emotion-invariant fine-tuning (guarded steps): one config per ablation row derived from <ft-config>
# (steps/emotion/make_emotion_configs.py: base = no component, cp / erl / em = one, all = the three), then
# each row trained from <init-model> on <finetune-cuts> as one $cuda_cmd job -> <exp-dir>/<row>/models
# (--seed N: with training seed N instead of the config's).
# Usage: steps/emotion/finetune_rows.sh [--cmd "$cuda_cmd"] [--nproc 1] [--device auto] [--num-threads 0] [--seed ""]
#          [--inputs "files the cuts read"] [--stat-inputs "audio trees"] [--marker-prefix exp/.done/5]
#          [--force false] <ft-config> <init-model> <summary.json> <rows> <finetune-cuts> <exp-dir>
set -euo pipefail
cmd=${cuda_cmd:-"$(dirname "$0")/../../utils/run.py"}
nproc=1
device=auto
num_threads=0
seed=
inputs=
stat_inputs=
marker_prefix=exp/.done/emotion
force=false
. "$(dirname "$0")/../../utils/parse_options.sh"
. "$(dirname "$0")/../lib.sh"
[ $# -eq 6 ] || die "Usage: $0 [options] <ft-config> <init-model> <summary.json> <rows> <finetune-cuts> <exp-dir>"
ft_config=$1; init=$2; summary=$3; rows=$4; cuts=$5; dir=$6
IFS=, read -r -a row_list <<< "$rows"
read -r -a extra <<< "$inputs"
stat=(); [ -z "$stat_inputs" ] || { read -r -a trees <<< "$stat_inputs"; stat=(--stat-inputs "${trees[@]}"); }
run_stage --name emotion-configs --marker "$marker_prefix.emotion_configs" \
  --inputs "$ft_config" "$summary" --outputs "$dir/configs/${row_list[0]}.yaml" -- \
  python "$(dirname "$0")/make_emotion_configs.py" --config "$ft_config" --init "$init" --summary "$summary" \
    --rows "$rows" --out-dir "$dir/configs"
for row in "${row_list[@]}"; do
  run_stage --name "emotion-train-$row" --marker "$marker_prefix.emotion_train.$row" \
    --inputs "$dir/configs/$row.yaml" "$init" "$cuts" "${extra[@]}" "${stat[@]}" \
    --outputs "$dir/$row/models/avg_model.pt" --reset "$dir/$row/models" -- \
    steps/train.sh --cmd "$cmd" --nproc "$nproc" --device "$device" --num-avg 1 --num-threads "$num_threads" ${seed:+--seed "$seed"} \
      "$dir/configs/$row.yaml" "$cuts" "$dir/$row"
done
