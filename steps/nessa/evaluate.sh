#!/usr/bin/env bash
# NESSA evaluation (a guarded step): symmetric A/A and B/B, cross-model trials with raw cosine (equal
# dimensions) and every mapper found in <mapper-dir>/{nessa,logit,logit_classifier}/mapper.pt, on a
# single-utterance list and on profile trials; rows (method "nessa", G per configuration) -> --results.
# With --seeds "1 2 3": each <mapper-dir>/nessa_trainseed<N>/mapper.pt on the single-utterance list too, score
# and metrics files only -> <mapper-dir>/eval_trainseed<N>/<list>/ (the recipe makes the per-seed rows).
# Usage: steps/nessa/evaluate.sh --results exp/results.json [--profile-modes "map_then_average average_then_map"]
#          [--done-dir exp/.done] [--seeds ""] [--force false] <old-exp-dir> <new-exp-dir> <train-set> <test-set>
#          <name=trials> <name=profile-trials> <profiles> <mapper-dir>
set -euo pipefail
results=
profile_modes="map_then_average average_then_map"
done_dir=exp/.done
seeds=
force=false
. "$(dirname "$0")/../../utils/parse_options.sh"
. "$(dirname "$0")/../lib.sh"
[ $# -eq 8 ] && [ -n "$results" ] || die "Usage: $0 --results JSON [options] <old-exp-dir> <new-exp-dir> <train-set> <test-set> <name=trials> <name=profile-trials> <profiles> <mapper-dir>"
a=$1; b=$2; train_set=$3; test_set=$4; trials=$5; profile_trials=$6; profiles=$7; dir=$8
old=$(basename "$a"); new=$(basename "$b")
mappers=(); mapper_files=()
for m in nessa logit logit_classifier; do
  [ ! -f "$dir/$m/mapper.pt" ] || { mappers+=(--mapper "$m=$dir/$m/mapper.pt"); mapper_files+=("$dir/$m/mapper.pt"); }
done
# shellcheck disable=SC2086
run_stage --name "nessa-eval-$old-$new" --marker "$done_dir/33.nessa.eval.$old-$new" \
  --inputs "${trials#*=}" "${profile_trials#*=}" "$profiles" "${mapper_files[@]}" \
    "$a/embeddings/$test_set/xvector.scp" "$b/embeddings/$test_set/xvector.scp" \
    "$a/embeddings/$train_set/mean.vec" "$b/embeddings/$train_set/mean.vec" \
  --outputs "$dir/eval/rows.json" -- \
  python -m embspace.bin.nessa_evaluate --old "$old=$a/embeddings/$test_set/xvector.scp" \
    --new "$new=$b/embeddings/$test_set/xvector.scp" --old-mean "$a/embeddings/$train_set/mean.vec" \
    --new-mean "$b/embeddings/$train_set/mean.vec" "${mappers[@]}" --trials "$trials" \
    --profile-trials "$profile_trials" --profiles "$profiles" --profile-modes $profile_modes --out-dir "$dir/eval" \
    --results "$results"
for n in $seeds; do
  run_stage --name "nessa-eval-$old-$new-seed$n" --marker "$done_dir/33.nessa.eval.$old-$new.seed$n" \
    --inputs "${trials#*=}" "$dir/nessa_trainseed$n/mapper.pt" "$a/embeddings/$test_set/xvector.scp" \
      "$b/embeddings/$test_set/xvector.scp" "$a/embeddings/$train_set/mean.vec" "$b/embeddings/$train_set/mean.vec" \
    --outputs "$dir/eval_trainseed$n/rows.json" -- \
    python -m embspace.bin.nessa_evaluate --old "$old=$a/embeddings/$test_set/xvector.scp" \
      --new "$new=$b/embeddings/$test_set/xvector.scp" --old-mean "$a/embeddings/$train_set/mean.vec" \
      --new-mean "$b/embeddings/$train_set/mean.vec" --mapper "nessa=$dir/nessa_trainseed$n/mapper.pt" \
      --trials "$trials" --out-dir "$dir/eval_trainseed$n"
done
