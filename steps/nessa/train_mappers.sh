#!/usr/bin/env bash
# NESSA mappers between an old model A and a new model B (guarded steps, each one job of --cmd): the NESSA
# mapper (--mapper-config; not --config, which parse_options.sh sources), the speaker-logit-space
# baseline on centroids, and, when both were trained with a classifier (checkpoint_latest.pt + spk2id.json), the logit space of their classifier rows
# -> <out-dir>/{nessa,logit,logit_classifier}/mapper.pt; with --seeds "1 2 3" also the NESSA mapper once per
# training seed -> <out-dir>/nessa_trainseed<N>/mapper.pt. The mappers train on CPU.
# Usage: steps/nessa/train_mappers.sh --mapper-config conf/nessa.yaml [--cmd "$train_cmd"] [--done-dir exp/.done]
#          [--seeds ""] [--force false] <old-exp-dir> <new-exp-dir> <train-set> <nessa-dir> <out-dir>
# <x-exp-dir>/embeddings/<train-set>/xvector.scp: the embeddings; <nessa-dir>: steps/nessa/make_lists.sh's.
set -euo pipefail
mapper_config=
cmd=${train_cmd:-"$(dirname "$0")/../../utils/run.py"}
done_dir=exp/.done
seeds=
force=false
. "$(dirname "$0")/../../utils/parse_options.sh"
. "$(dirname "$0")/../lib.sh"
[ $# -eq 5 ] && [ -n "$mapper_config" ] || die "Usage: $0 --mapper-config YAML [options] <old-exp-dir> <new-exp-dir> <train-set> <nessa-dir> <out-dir>"
a=$1; b=$2; set_name=$3; lists=$4; dir=$5
old=$(basename "$a"); new=$(basename "$b")
xs=$a/embeddings/$set_name/xvector.scp; ys=$b/embeddings/$set_name/xvector.scp
list_files=("$lists/train/utt2spk" "$lists/dev/trials" "$lists/dev/profiles" "$lists/dev/trials_profiles")
common=(--x-scp "$xs" --y-scp "$ys" --x-name "$old" --y-name "$new" --utt2spk "$lists/train/utt2spk"
        --dev-trials "$lists/dev/trials" --dev-profiles "$lists/dev/profiles" --dev-profile-trials "$lists/dev/trials_profiles")
for n in "" $seeds; do  # the NESSA mapper with the config's seed, then once per --seeds seed
  sub=nessa${n:+_trainseed$n}
  run_stage --name "nessa-train-$old-$new${n:+-seed$n}" --marker "$done_dir/32.nessa.$old-$new${n:+.seed$n}" \
    --inputs "$mapper_config" "$xs" "$ys" "${list_files[@]}" --outputs "$dir/$sub/mapper.pt" --reset "$dir/$sub" -- \
    steps/job.sh --cmd "$cmd" --gpus 0 "$dir/log/$sub.log" \
      python -m embspace.bin.nessa_train --config "$mapper_config" "${common[@]}" ${n:+--seed "$n"} --exp-dir "$dir/$sub"
done
run_stage --name "nessa-logit-$old-$new" --marker "$done_dir/32.logit.$old-$new" \
  --inputs "$xs" "$ys" "${list_files[@]}" --outputs "$dir/logit/mapper.pt" -- \
  steps/job.sh --cmd "$cmd" --gpus 0 "$dir/log/logit.log" \
    python -m embspace.bin.nessa_train --mapper logit --reference centroids "${common[@]}" --exp-dir "$dir/logit"
ckx=$a/models/checkpoint_latest.pt; cky=$b/models/checkpoint_latest.pt
if [ -f "$ckx" ] && [ -f "$cky" ] && [ -f "$a/spk2id.json" ] && [ -f "$b/spk2id.json" ]; then
  run_stage --name "nessa-logit-classifier-$old-$new" --marker "$done_dir/32.logit_classifier.$old-$new" \
    --inputs "$xs" "$ys" "${list_files[@]}" "$ckx" "$cky" "$a/spk2id.json" "$b/spk2id.json" \
    --outputs "$dir/logit_classifier/mapper.pt" -- \
    steps/job.sh --cmd "$cmd" --gpus 0 "$dir/log/logit_classifier.log" \
      python -m embspace.bin.nessa_train --mapper logit --reference classifier --center-in false "${common[@]}" \
        --x-classifier "$ckx" --y-classifier "$cky" --x-spk2id "$a/spk2id.json" --y-spk2id "$b/spk2id.json" \
        --exp-dir "$dir/logit_classifier"
fi
