# shellcheck shell=bash
# The backbone options of run.sh and of every sub-recipe (run.sh passes its values on), sourced before
# utils/parse_options.sh. local/lib.sh has the VoxCeleb helpers that use them.
data=data               # manifests, Kaldi dirs, trials, features
exp=exp                 # models, embeddings, scores, report
train_config=conf/ecapa_c512.yaml  # encoder config; the system is named after the file (--config is parse_options' own)
nj=8                    # parallel jobs for manifests, features and extraction
use_gpu=false           # extraction on GPU (one per job, through $cuda_cmd)
nproc=1                 # training processes (torchrun --nproc_per_node)
device=auto             # training device: auto|cpu|cuda
num_threads=0           # torch threads per training process (0: torch's default)
num_avg=10              # average the last N epoch models
top_n=300               # AS-norm cohort size (train speaker means)
num_mel_bins=80         # fbank filters (must match the config's feat_dim)
trials_dir=             # veri_test2.txt (required from stage 2), list_test_all2.txt, list_test_hard2.txt (optional)
vox1_dev_in_train=auto  # auto: false with VoxCeleb2 (VoxCeleb1 dev then joins the test set: Vox1-E/H), else true
musan_root=             # music/ speech/ noise/
rir_root=               # RIRS_NOISES: simulated_rirs/ real_rirs_isotropic_noises/ pointsource_noises/
augment=true            # on-the-fly MUSAN/RIR augmentation when those corpora are given
