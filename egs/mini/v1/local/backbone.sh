# shellcheck shell=bash
# The backbone options of run.sh and of every sub-recipe (run.sh passes its values on), sourced before
# utils/parse_options.sh, and backbone_paths, which sets the paths derived from them (call it after).
data=data               # where corpus, manifests, Kaldi dirs and features go
exp_root=exp            # where models, embeddings, scores and the report go
train_config=conf/ecapa_mini.yaml  # encoder config; the system is named after the file (--config is parse_options' own)
corpus=mini             # corpus name in manifest file names and trial-list names
trials=auto             # auto: all test pairs -> $data/test/trials (+ trials_same_gender); else your lists (files, space-separated), kept as they are
nj=2                    # parallel jobs for corpus synthesis, features and extraction
use_gpu=false           # extraction on GPU (one per job, through $cuda_cmd)
nproc=1                 # training processes (torchrun --nproc_per_node; GPUs asked of $cuda_cmd)
device=auto             # training device: auto|cpu|cuda
num_threads=2           # torch threads per training process
num_avg=3               # average the last N epoch models
top_n=100               # AS-norm cohort size (train speaker means)
seeds=                  # training seeds as an axis (e.g. 1,2,3): every compared system is also trained under each:
                        # encoder and INSIDE system (<system>[_inside]_trainseed<N>), SEED networks, NESSA mappers,
                        # emotion fine-tuning rows (frozen extractors stay one run); rows <name>_seeds; empty: none

# system, exp (its folder), done_dir (stage markers), fbank, the backbone's cuts and stored features,
# seed_list (the --seeds as an array)
backbone_paths() {
  system=$(basename "$train_config" .yaml)
  exp=$exp_root/$system
  done_dir=$exp_root/.done
  fbank=$data/fbank
  train_cuts=$fbank/${corpus}_cuts_train.jsonl.gz; train_feats=$fbank/${corpus}_feats_train
  test_cuts=$fbank/${corpus}_cuts_test.jsonl.gz; test_feats=$fbank/${corpus}_feats_test
  seed_list=(); [ -z "$seeds" ] || IFS=, read -r -a seed_list <<< "$seeds"
  local n
  for n in "${seed_list[@]}"; do [[ "$n" =~ ^[0-9]+$ ]] || die "--seeds: '$n' is not a non-negative integer (give e.g. 1,2,3)"; done
}
