package batch

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard I of N takes every item whose index ≡ I (mod N).
type Shard struct{ I, N int }

// All is the whole batch as one shard.
var All = Shard{0, 1}

func (s Shard) String() string { return strconv.Itoa(s.I) + "/" + strconv.Itoa(s.N) }

// Has reports whether the item with this index belongs to the shard.
func (s Shard) Has(index int) bool { return index%s.N == s.I }

// ManifestName is the shard's manifest file in the output folder:
// manifest.jsonl for the whole batch, manifest-shard-I-of-N.jsonl for a
// shard, so that every shard can write into the same folder.
func (s Shard) ManifestName() string {
	if s.N == 1 {
		return "manifest.jsonl"
	}
	return fmt.Sprintf("manifest-shard-%d-of-%d.jsonl", s.I, s.N)
}

// ParseShard reads "I/N" with 0 ≤ I < N.
func ParseShard(v string) (Shard, error) {
	is, ns, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q is not I/N", v)
	}
	return newShard(i, n)
}

func newShard(i, n int) (Shard, error) {
	if n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %d/%d: want 0 <= I < N", i, n)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv finds the shard of a Slurm job array task or a Kubernetes
// Indexed Job pod. Slurm: I = SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN
// (arrays often start at 1) and N = SLURM_ARRAY_TASK_COUNT; arrays with a
// step other than 1, or whose SLURM_ARRAY_TASK_MAX − MIN + 1 is not the
// count, are refused. Kubernetes: I = JOB_COMPLETION_INDEX and N = shards
// (the --shards flag, 0 when not given). When both describe a shard they
// must agree, and a given shards must equal the Slurm count. It returns the
// source ("" when neither is set, and then All).
func ShardFromEnv(getenv func(string) string, shards int) (Shard, string, error) {
	slurm, slurmSrc, err := slurmShard(getenv)
	if err != nil {
		return Shard{}, "", err
	}
	k8s, inJob := 0, false
	if v := getenv("JOB_COMPLETION_INDEX"); v != "" {
		inJob = true
		if k8s, err = strconv.Atoi(v); err != nil {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX=%q is not an integer", v)
		}
	}
	switch {
	case slurmSrc != "" && shards > 0 && shards != slurm.N:
		return Shard{}, "", fmt.Errorf("--shards %d contradicts the %s's SLURM_ARRAY_TASK_COUNT=%d: drop --shards, or pass --shard I/N", shards, slurmSrc, slurm.N)
	case slurmSrc != "" && inJob && k8s != slurm.I:
		return Shard{}, "", fmt.Errorf("the %s is shard %s but JOB_COMPLETION_INDEX=%d is shard %d: unset one, or pass --shard I/N", slurmSrc, slurm, k8s, k8s)
	case slurmSrc != "":
		return slurm, slurmSrc, nil
	case inJob:
		if shards < 1 {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX=%d is set: pass --shards N (the Job's completions)", k8s)
		}
		s, err := newShard(k8s, shards)
		if err != nil {
			return Shard{}, "", fmt.Errorf("JOB_COMPLETION_INDEX: %v", err)
		}
		return s, "Kubernetes completion index " + strconv.Itoa(k8s), nil
	case shards > 1:
		return Shard{}, "", fmt.Errorf("--shards %d needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); use --shard I/N elsewhere", shards)
	}
	return All, "", nil
}

// slurmShard is the shard of a Slurm job array task and its source, or a
// zero Shard and "" outside an array job.
func slurmShard(getenv func(string) string) (Shard, string, error) {
	if getenv("SLURM_ARRAY_TASK_ID") == "" {
		return Shard{}, "", nil
	}
	num := func(name string, def int) (int, error) {
		v := getenv(name)
		if v == "" {
			if def >= 0 {
				return def, nil
			}
			return 0, fmt.Errorf("%s is not set", name)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not an integer", name, v)
		}
		return n, nil
	}
	id, err := num("SLURM_ARRAY_TASK_ID", -1)
	if err != nil {
		return Shard{}, "", err
	}
	lo, err := num("SLURM_ARRAY_TASK_MIN", 0)
	if err != nil {
		return Shard{}, "", err
	}
	n, err := num("SLURM_ARRAY_TASK_COUNT", -1)
	if err != nil {
		return Shard{}, "", err
	}
	if step, err := num("SLURM_ARRAY_TASK_STEP", 1); err != nil || step != 1 {
		return Shard{}, "", fmt.Errorf("the Slurm array step is %q: only contiguous arrays (--array=A-B) map to shards; pass --shard I/N", getenv("SLURM_ARRAY_TASK_STEP"))
	}
	if getenv("SLURM_ARRAY_TASK_MAX") != "" {
		hi, err := num("SLURM_ARRAY_TASK_MAX", -1)
		if err != nil {
			return Shard{}, "", err
		}
		if hi-lo+1 != n {
			return Shard{}, "", fmt.Errorf("the Slurm array %d-%d has %d tasks, not SLURM_ARRAY_TASK_COUNT=%d: only contiguous arrays (--array=A-B) map to shards; pass --shard I/N", lo, hi, hi-lo+1, n)
		}
	}
	s, err := newShard(id-lo, n)
	if err != nil {
		return Shard{}, "", fmt.Errorf("the Slurm array task %d of %d starting at %d: %v", id, n, lo, err)
	}
	return s, "Slurm array task " + strconv.Itoa(id), nil
}
