package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/batch"
)

// shardPrompts writes 5 prompts (10 items with 2 images each) into dir.
func shardPrompts(t *testing.T, dir string) string {
	return writeFile(t, dir, "p.csv", "id,prompt\nr0,Effusion.\nr1,Cardiomegaly.\nr2,Pneumothorax.\nr3,Atelectasis.\nr4,Normal chest.\n")
}

// TestShardsMergeEqualUnsharded runs shards 0..2 (one through --shard, one
// through Slurm's variables with an array starting at 1, one through a
// Kubernetes completion index), merges them and compares with one run.
func TestShardsMergeEqualUnsharded(t *testing.T) {
	dir := t.TempDir()
	prompts := shardPrompts(t, dir)
	extra := []string{"--images-per-prompt", "2", "--batch-size", "2", "--seed", "7"}
	whole := filepath.Join(dir, "whole")
	if errs, code := runCLI(t, batchArgs(prompts, whole, extra...)...); code != 0 {
		t.Fatal(errs)
	}
	out := filepath.Join(dir, "sharded")
	shards := []struct {
		env  map[string]string
		args []string
	}{
		{nil, []string{"--shard", "0/3"}},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"}, nil},
		{map[string]string{"JOB_COMPLETION_INDEX": "2"}, []string{"--shards", "3"}},
	}
	for i, s := range shards {
		args := append(batchArgs(prompts, out, extra...), s.args...)
		t.Setenv("ROENTGEN_MODEL", "")
		for _, v := range shardVars {
			t.Setenv(v, s.env[v])
		}
		var o, e strings.Builder
		if code := Run(args, &o, &e); code != 0 || !strings.Contains(e.String(), fmt.Sprintf("of shard %d/3", i)) {
			t.Fatalf("shard %d: exit %d: %s", i, code, e.String())
		}
	}
	// Before all shards are merged: an incomplete set fails, writing nothing.
	errs, code := runCLI(t, "manifest", "merge", "--out", filepath.Join(dir, "partial.jsonl"), filepath.Join(out, "manifest-shard-0-of-3.jsonl"), filepath.Join(out, "manifest-shard-2-of-3.jsonl"))
	if code != 1 || !strings.Contains(errs, "roentgen: missing: index 1 (row 0, image 1)") || !strings.Contains(errs, "manifest merge: 7 of 10 items: 3 missing, 0 duplicated") {
		t.Errorf("partial merge: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "partial.jsonl")); err == nil {
		t.Error("an incomplete merge wrote its output")
	}

	// Blank lines in a shard manifest are skipped.
	shard1 := filepath.Join(out, "manifest-shard-1-of-3.jsonl")
	data, _ := os.ReadFile(shard1)
	os.WriteFile(shard1, []byte("\n"+strings.Replace(string(data), "\n", "\n \r\n\n", 1)), 0o644)
	if errs, code := runCLI(t, "manifest", "merge", out); code != 0 || !strings.Contains(errs, "all 10 items -> "+filepath.Join(out, "manifest.jsonl")) {
		t.Fatalf("merge: exit %d: %s", code, errs)
	}
	// Merging the folder elsewhere reads the merged manifest and the
	// shards: the same items with the same files and hashes, merged.
	all := filepath.Join(dir, "all.jsonl")
	if errs, code := runCLI(t, "manifest", "merge", "--out", all, out); code != 0 || !strings.Contains(errs, "merged 4 manifests") ||
		!strings.Contains(errs, "all 10 items (10 lines repeated an item exactly and were merged) -> "+all) {
		t.Errorf("merge of a merged folder: exit %d: %s", code, errs)
	}
	if got, want := hashes(t, all), hashes(t, filepath.Join(whole, "manifest.jsonl")); len(want) != 10 || len(got) != 10 {
		t.Errorf("%d items in %s, %d in the unsharded run", len(got), all, len(want))
	}
	// An unsharded run's own manifest merges into itself: a completeness check.
	if errs, code := runCLI(t, "manifest", "merge", whole); code != 0 || !strings.Contains(errs, "merged 1 manifests") {
		t.Errorf("merging the unsharded run: exit %d: %s", code, errs)
	}
	merged, want := hashes(t, filepath.Join(out, "manifest.jsonl")), hashes(t, filepath.Join(whole, "manifest.jsonl"))
	if len(want) != 10 || !reflect.DeepEqual(merged, want) {
		t.Errorf("merged shards differ from the unsharded run:\n%v\n%v", merged, want)
	}
	// Merging again skips its own output; the merged manifest resumes as a
	// finished unsharded run.
	if errs, code := runCLI(t, "manifest", "merge", "--verify", out); code != 0 {
		t.Errorf("second merge: %s", errs)
	}
	if errs, code := runCLI(t, batchArgs(prompts, out, extra...)...); code != 0 || !strings.Contains(errs, "(0 made now, 10 before, 0 redone)") {
		t.Errorf("resume from the merged manifest: exit %d: %s", code, errs)
	}
	// A copy of a shard manifest in another folder names other files (that
	// do not exist): duplicates, named by their real lines (line 1 is blank).
	copyFile(t, filepath.Join(out, "manifest-shard-1-of-3.jsonl"), filepath.Join(dir, "copy.jsonl"))
	args := []string{"manifest", "merge", "--out", filepath.Join(dir, "m.jsonl"), filepath.Join(dir, "copy.jsonl")}
	for i := range 3 {
		args = append(args, filepath.Join(out, batch.Shard{I: i, N: 3}.ManifestName()))
	}
	if errs, code := runCLI(t, args...); code != 1 || !strings.Contains(errs, "roentgen: duplicate: index 1 (row 0, image 1) in "+filepath.Join(dir, "copy.jsonl")+":2 and ") {
		t.Errorf("duplicate merge: exit %d: %s", code, errs)
	}
}

func TestManifestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "m.jsonl", "")
	missing := filepath.Join(dir, "nonexistent")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"manifest", "bogus"}, 2, `roentgen: unknown command "bogus" for "roentgen manifest"`},
		{[]string{"manifest", "merge"}, 2, "roentgen: requires at least 1 arg(s), only received 0"},
		{[]string{"manifest", "merge", missing}, 1, "roentgen: manifest merge: " + missing + " does not exist"},
		{[]string{"manifest", "merge", "--out", filepath.Join(dir, "o.jsonl"), file, missing}, 1, "roentgen: manifest merge: " + missing + " does not exist"},
		{[]string{"manifest", "merge", file}, 2, "roentgen: --out is required when the first argument is not a folder"},
		{[]string{"manifest", "merge", dir}, 1, "roentgen: manifest merge: " + dir + ": no manifest.jsonl or manifest-shard-*-of-*.jsonl"},
	} {
		errs, code := runCLI(t, c.args...)
		if code != c.code || errs != c.want+"\n" {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	var out, errb strings.Builder
	if code := Run([]string{"manifest"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "merge       Combine shard manifests") || errb.Len() != 0 {
		t.Errorf("manifest: exit %d: %s%s", code, out.String(), errb.String())
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSlurmArrayScript runs scripts/slurm/roentgen-array.sbatch as Slurm
// would for --array=1-3, with the real binary, and merges the shards.
func TestSlurmArrayScript(t *testing.T) {
	script := filepath.Join("..", "..", "scripts", "slurm", "roentgen-array.sbatch")
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	src, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#SBATCH --array=", "#SBATCH --signal=B:TERM@", "\nexec \"$ROENTGEN_BIN\""} {
		if !strings.Contains(string(src), want) {
			t.Errorf("script lacks %q", want)
		}
	}
	bin, dir := roentgenBinary(t), t.TempDir()
	prompts, out := shardPrompts(t, dir), filepath.Join(dir, "out")
	for id := 1; id <= 3; id++ {
		c := exec.Command("bash", script, "--steps", "2", "--images-per-prompt", "2")
		c.Env = append(os.Environ(), "ROENTGEN_BIN="+bin, "ROENTGEN_PROMPTS="+prompts, "ROENTGEN_OUT="+out, "ROENTGEN_MODEL=",
			"SLURM_ARRAY_TASK_ID="+strconv.Itoa(id), "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_STEP=1",
			"SLURM_CPUS_PER_TASK=1", "JOB_COMPLETION_INDEX=")
		res, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(res), fmt.Sprintf("of shard %d/3", id-1)) {
			t.Fatalf("task %d: %v\n%s", id, err, res)
		}
	}
	if errs, code := runCLI(t, "manifest", "merge", out); code != 0 {
		t.Fatalf("merge: %s", errs)
	}
	if got := hashes(t, filepath.Join(out, "manifest.jsonl")); len(got) != 10 {
		t.Errorf("%d items merged, want 10", len(got))
	}
	// Without the array variables the script refuses to start.
	c := exec.Command("bash", script)
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "ROENTGEN_PROMPTS=p", "ROENTGEN_OUT=o"}
	if res, err := c.CombinedOutput(); err == nil || !strings.Contains(string(res), "run this script with sbatch --array") {
		t.Errorf("outside Slurm: %v %s", err, res)
	}
}

// TestKubernetesIndexedJob parses scripts/k8s/roentgen-indexed-job.yaml,
// checks the Indexed Job wiring, and runs its container command for every
// completion index with the test's model, prompts and folder.
func TestKubernetesIndexedJob(t *testing.T) {
	path := filepath.Join("..", "..", "scripts", "k8s", "roentgen-indexed-job.yaml")
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseYAML(string(src))
	if err != nil {
		t.Fatal(err)
	}
	if py, err := exec.Command("python3", "-c", "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))", path).Output(); err == nil {
		var want any
		mine, _ := json.Marshal(doc)
		var got any
		json.Unmarshal(mine, &got)
		if json.Unmarshal(py, &want) != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("PyYAML reads the file differently:\n%s\n%s", py, mine)
		}
	}
	get := func(v any, keys ...any) any {
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				m, _ := v.(map[string]any)
				v = m[k]
			case int:
				l, _ := v.([]any)
				if k >= len(l) {
					return nil
				}
				v = l[k]
			}
		}
		return v
	}
	spec := get(doc, "spec")
	n, _ := get(spec, "completions").(int)
	ctr := get(spec, "template", "spec", "containers", 0)
	if get(doc, "kind") != "Job" || get(doc, "apiVersion") != "batch/v1" || get(spec, "completionMode") != "Indexed" || n < 2 {
		t.Fatalf("not an Indexed Job with completions: %v", doc)
	}
	env := get(ctr, "env", 0)
	if get(env, "name") != "JOB_COMPLETION_INDEX" || get(env, "valueFrom", "fieldRef", "fieldPath") != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("env %v", env)
	}
	if cmd := get(ctr, "command"); !reflect.DeepEqual(cmd, []any{"roentgen"}) {
		t.Errorf("command %v", cmd)
	}
	var args []string
	for _, a := range get(ctr, "args").([]any) {
		args = append(args, a.(string))
	}
	if len(args) < 3 || args[0] != "batch" || !strings.Contains(strings.Join(args, " "), "--shards "+strconv.Itoa(n)+" ") {
		t.Fatalf("args %q do not pass --shards %d", args, n)
	}
	bin, dir := roentgenBinary(t), t.TempDir()
	prompts, out := shardPrompts(t, dir), filepath.Join(dir, "out")
	// Later flags win: point the Job's paths at the test's files.
	args = append(args, "--model", "", "--prompts", prompts, "--out", out, "--steps", "2")
	for i := range n {
		c := exec.Command(bin, args...)
		c.Env = append(os.Environ(), "JOB_COMPLETION_INDEX="+strconv.Itoa(i), "SLURM_ARRAY_TASK_ID=", "ROENTGEN_MODEL=")
		if res, err := c.CombinedOutput(); err != nil {
			t.Fatalf("index %d: %v\n%s", i, err, res)
		}
	}
	if errs, code := runCLI(t, "manifest", "merge", out); code != 0 {
		t.Fatalf("merge: %s", errs)
	}
	if got := hashes(t, filepath.Join(out, "manifest.jsonl")); len(got) != 5 {
		t.Errorf("%d items merged, want 5", len(got))
	}
}

// parseYAML reads the block-style YAML subset Kubernetes manifests use:
// maps, "- " lists (of scalars or maps), plain, quoted and flow-list
// scalars, comments. Integers and booleans are typed as YAML 1.2 does.
func parseYAML(src string) (any, error) {
	var lines []yamlLine
	for i, l := range strings.Split(src, "\n") {
		if j := commentAt(l); j >= 0 {
			l = l[:j]
		}
		if strings.TrimSpace(l) == "" {
			continue
		}
		lines = append(lines, yamlLine{i + 1, len(l) - len(strings.TrimLeft(l, " ")), strings.TrimSpace(l)})
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("empty document")
	}
	v, rest, err := yamlBlock(lines, lines[0].indent)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("line %d: unexpected indentation", rest[0].n)
	}
	return v, err
}

type yamlLine struct {
	n, indent int
	text      string
}

// commentAt returns where a " #" comment starts outside quotes, or -1.
func commentAt(l string) int {
	var quote rune
	for i, r := range l {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '#' && (i == 0 || l[i-1] == ' '):
			return i
		}
	}
	return -1
}

func yamlBlock(ls []yamlLine, indent int) (any, []yamlLine, error) {
	if strings.HasPrefix(ls[0].text, "- ") || ls[0].text == "-" {
		var list []any
		for len(ls) > 0 && ls[0].indent == indent && strings.HasPrefix(ls[0].text+" ", "- ") {
			item := strings.TrimSpace(ls[0].text[1:])
			var v any
			var err error
			switch {
			case item == "" && len(ls) > 1:
				v, ls, err = yamlBlock(ls[1:], ls[1].indent)
			case strings.Contains(item, ": ") || strings.HasSuffix(item, ":"):
				ls[0] = yamlLine{ls[0].n, indent + 2, item}
				v, ls, err = yamlBlock(ls, indent+2)
			default:
				v, ls = yamlScalar(item), ls[1:]
			}
			if err != nil {
				return nil, nil, err
			}
			list = append(list, v)
		}
		return list, ls, nil
	}
	m := map[string]any{}
	for len(ls) > 0 && ls[0].indent == indent {
		key, val, ok := strings.Cut(ls[0].text, ":")
		if !ok || val != "" && val[0] != ' ' {
			return nil, nil, fmt.Errorf("line %d: want key: value, got %q", ls[0].n, ls[0].text)
		}
		line := ls[0]
		ls = ls[1:]
		if val = strings.TrimSpace(val); val != "" {
			m[key] = yamlScalar(val)
			continue
		}
		if len(ls) == 0 || ls[0].indent < line.indent || ls[0].indent == line.indent && !strings.HasPrefix(ls[0].text, "- ") {
			m[key] = nil
			continue
		}
		v, rest, err := yamlBlock(ls, ls[0].indent)
		if err != nil {
			return nil, nil, err
		}
		m[key], ls = v, rest
	}
	return m, ls, nil
}

func yamlScalar(s string) any {
	switch {
	case strings.HasPrefix(s, "["):
		var l []any
		if json.Unmarshal([]byte(s), &l) == nil {
			return l
		}
	case strings.HasPrefix(s, `"`):
		var v string
		if json.Unmarshal([]byte(s), &v) == nil {
			return v
		}
	case strings.HasPrefix(s, "'") && strings.HasSuffix(s, "'") && len(s) > 1:
		return strings.ReplaceAll(s[1:len(s)-1], "''", "'")
	case s == "true" || s == "false":
		return s == "true"
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return s
}
