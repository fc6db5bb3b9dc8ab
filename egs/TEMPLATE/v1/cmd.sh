# How parallel jobs are run. Every step takes "--cmd $train_cmd" (CPU jobs) or "$cuda_cmd" (GPU jobs)
# and calls it Kaldi-style:   $cmd JOB=1:N exp/log/x.JOB.log command args with JOB
#
# Local machine (default): utils/run.py runs the tasks as subprocesses, at most --max-jobs-run at once.
export train_cmd="utils/run.py"
export cuda_cmd="utils/run.py --gpu 1"
#
# Slurm: utils/slurm.py submits one sbatch array per call and waits for it. Site options
# (partition, memory, GPU gres) come from conf/slurm.conf of the recipe (start from the repo's
# conf/slurm.conf: cp ../../../conf/slurm.conf conf/); without one, built-in defaults apply:
#   export train_cmd="utils/slurm.py --config conf/slurm.conf --mem 4G --time 4:00:00"
#   export cuda_cmd="utils/slurm.py --config conf/slurm.conf --gpu 1 --mem 16G"
#
# SGE / Grid Engine: utils/queue.py submits "qsub -sync y -t 1:N" with conf/queue.conf (same idea):
#   export train_cmd="utils/queue.py --config conf/queue.conf --mem 4G"
#   export cuda_cmd="utils/queue.py --config conf/queue.conf --gpu 1"
