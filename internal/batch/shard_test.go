package batch

import (
	"strings"
	"testing"
)

func TestSeedFormula(t *testing.T) {
	// seed = (BASE + row*images_per_prompt + image) mod 2^32 (docs/batch.md).
	for _, c := range []struct {
		base       uint64
		index      int
		want       uint64
		row, image int
	}{
		{0, 0, 0, 0, 0},
		{42, 7, 49, 3, 1}, // 3 rows of 2 images, then image 1 of row 3
		{1<<32 - 1, 1, 0, 0, 1},
		{1<<40 + 5, 3, 8, 1, 1},
		{1<<64 - 1, 2, 1, 1, 0},
	} {
		if got := Seed(c.base, c.index); got != c.want {
			t.Errorf("Seed(%d, %d) = %d, want %d", c.base, c.index, got, c.want)
		}
		if got := Seed(c.base, c.row*2+c.image); got != c.want {
			t.Errorf("Seed(%d, row %d*2 + image %d) = %d, want %d", c.base, c.row, c.image, got, c.want)
		}
	}
}

func TestShardsPartitionItems(t *testing.T) {
	const rows, per = 7, 3
	seen := map[int]int{}
	for i := range 4 {
		s := Shard{i, 4}
		items := Items(rows, per, s)
		if want := (rows*per + 3 - i) / 4; len(items) != want || cap(items) != want {
			t.Errorf("shard %s: %d items, capacity %d; want %d", s, len(items), cap(items), want)
		}
		for _, it := range items {
			if !s.Has(it.Index) || it.Row != it.Index/per || it.Image != it.Index%per || it.Index%4 != i {
				t.Errorf("shard %s has %+v", s, it)
			}
			seen[it.Index]++
		}
	}
	for i := range rows * per {
		if seen[i] != 1 {
			t.Errorf("item %d in %d shards", i, seen[i])
		}
	}
	if len(seen) != rows*per || len(Items(rows, per, All)) != rows*per {
		t.Errorf("%d items covered", len(seen))
	}
	if items := Items(1, 2, Shard{3, 4}); len(items) != 0 {
		t.Errorf("shard 3/4 of 2 items: %v", items)
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("3/8"); err != nil || s != (Shard{3, 8}) || s.ManifestName() != "manifest-shard-3-of-8.jsonl" || s.String() != "3/8" {
		t.Errorf("3/8: %v %v", s, err)
	}
	if All.ManifestName() != "manifest.jsonl" {
		t.Error(All.ManifestName())
	}
	for _, bad := range []string{"8/8", "-1/2", "1", "a/b", "0/0", "1/2/3"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestShardFromEnv(t *testing.T) {
	for _, c := range []struct {
		env    map[string]string
		shards int
		want   Shard
		err    string
	}{
		{nil, 0, All, ""},
		// sbatch --array=1-4: ids 1..4, min 1, count 4.
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{0, 4}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4", "SLURM_ARRAY_TASK_STEP": "1"}, 0, Shard{3, 4}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{2, 3}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_STEP": "2"}, 0, Shard{}, "only contiguous arrays"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{}, "task 5 of 4 starting at 1"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1"}, 0, Shard{}, "SLURM_ARRAY_TASK_COUNT is not set"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"}, 0, Shard{}, `SLURM_ARRAY_TASK_ID="x" is not an integer`},
		{map[string]string{"JOB_COMPLETION_INDEX": "5"}, 8, Shard{5, 8}, ""},
		{map[string]string{"JOB_COMPLETION_INDEX": "5"}, 0, Shard{}, "pass --shards N"},
		{map[string]string{"JOB_COMPLETION_INDEX": "8"}, 8, Shard{}, "want 0 <= I < N"},
		{nil, 4, Shard{}, "--shards 4 needs JOB_COMPLETION_INDEX"},
		{nil, 1, All, ""},
		{map[string]string{"JOB_COMPLETION_INDEX": "-1"}, 4, Shard{}, "JOB_COMPLETION_INDEX: shard -1/4"},
		// --array=1-4, with its MAX; --array=0-6:2 without its STEP.
		{map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "4", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{3, 4}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "4"}, 0, Shard{}, "the Slurm array 0-6 has 7 tasks, not SLURM_ARRAY_TASK_COUNT=4"},
		// Both sources: they must describe the same shard.
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, 4, Shard{1, 4}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, 3, Shard{}, "--shards 3 contradicts the Slurm array task 1's SLURM_ARRAY_TASK_COUNT=4"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "JOB_COMPLETION_INDEX": "1"}, 0, Shard{1, 4}, ""},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4", "JOB_COMPLETION_INDEX": "2"}, 0, Shard{}, "the Slurm array task 1 is shard 1/4 but JOB_COMPLETION_INDEX=2 is shard 2"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4", "JOB_COMPLETION_INDEX": "2"}, 3, Shard{}, "--shards 3 contradicts"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4", "JOB_COMPLETION_INDEX": "x"}, 0, Shard{}, `JOB_COMPLETION_INDEX="x" is not an integer`},
	} {
		s, src, err := ShardFromEnv(func(k string) string { return c.env[k] }, c.shards)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v: got %v, want error %q", c.env, err, c.err)
			}
			continue
		}
		if err != nil || s != c.want || (c.env == nil) != (src == "") {
			t.Errorf("%v: got %v %q %v, want %v", c.env, s, src, err, c.want)
		}
	}
}
