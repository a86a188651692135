package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/roentgen-dev/roentgen/internal/batch"
	godicom "github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// binDir holds the roentgen binary that subprocess tests run.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "roentgen-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildOnce sync.Once

// roentgenBinary builds cmd/roentgen once per test run and returns its path.
func roentgenBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(binDir, "roentgen")
	buildOnce.Do(func() {
		out, err := exec.Command("go", "build", "-o", bin, "github.com/roentgen-dev/roentgen/cmd/roentgen").CombinedOutput()
		if err != nil {
			os.Remove(bin)
			t.Logf("go build: %v\n%s", err, out)
		}
	})
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("building roentgen failed")
	}
	return bin
}

// shardVars are the variables that make batch pick a shard by itself.
var shardVars = []string{"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"}

// runCLI runs a command line in-process on the demo model, outside any
// Slurm or Kubernetes job, and returns stderr and the exit code.
func runCLI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	t.Setenv("ROENTGEN_MODEL", "")
	for _, v := range shardVars {
		t.Setenv(v, "")
	}
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return errb.String(), code
}

// fast are the generation flags of every test: tiny images, two steps.
var fast = []string{"--steps", "2", "--quiet"}

func batchArgs(prompts, out string, extra ...string) []string {
	return append(append([]string{"batch", "--prompts", prompts, "--out", out}, fast...), extra...)
}

// hashes reads a manifest (the last line of each item wins) as file -> sha256.
func hashes(t *testing.T, path string) map[string]string {
	t.Helper()
	entries, _, err := batch.ReadManifest(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range batch.Latest(entries) {
		out[e.File] = e.SHA256
	}
	return out
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBatchPromptFormats(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, content string
		files         []string
		meta          string
	}{
		{"p.csv", "dicom_id,anchor_age,prompt\nab12,63,Small left effusion.\ncd34,41,Cardiomegaly.\n", []string{"ab12-0.png", "ab12-1.png", "cd34-0.png", "cd34-1.png"}, `{"dicom_id":"ab12","anchor_age":"63"}`},
		{"p.jsonl", "{\"prompt\":\"Small left effusion.\",\"age\":63}\n\n{\"prompt\":\"Cardiomegaly.\",\"age\":41}\n", []string{"00000000-0.png", "00000000-1.png", "00000001-0.png", "00000001-1.png"}, `{"age":63}`},
		{"p.txt", "Small left effusion.\n\nCardiomegaly.\n", []string{"00000000-0.png", "00000000-1.png", "00000001-0.png", "00000001-1.png"}, ""},
	} {
		out := filepath.Join(dir, c.name+"-out") // created by batch
		errs, code := runCLI(t, batchArgs(writeFile(t, dir, c.name, c.content), out, "--images-per-prompt", "2", "--batch-size", "3", "--seed", "40")...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, errs)
		}
		if !strings.Contains(errs, "batch done: 4 of 4 images of shard 0/1") {
			t.Errorf("%s: summary missing: %s", c.name, errs)
		}
		entries, _, err := batch.ReadManifest(filepath.Join(out, "manifest.jsonl"))
		if err != nil || len(entries) != 4 {
			t.Fatalf("%s: %d lines, %v", c.name, len(entries), err)
		}
		for i, e := range entries {
			if e.File != c.files[i] || e.Seed != uint64(40+i) || e.Index != i || e.TotalItems != 4 || e.Shard != "0/1" || e.Settings.Steps != 2 {
				t.Errorf("%s line %d: %+v", c.name, i, e.Line)
			}
			if sum, _ := batch.HashFile(filepath.Join(out, e.File)); sum != e.SHA256 {
				t.Errorf("%s: %s hash %s, manifest %s", c.name, e.File, sum, e.SHA256)
			}
		}
		if string(entries[0].Metadata) != c.meta || entries[3].Prompt != "Cardiomegaly." || entries[2].PromptLine != 3 && c.name != "p.csv" {
			t.Errorf("%s: metadata %s, prompt %q, line %d", c.name, entries[0].Metadata, entries[3].Prompt, entries[2].PromptLine)
		}
	}
}

// TestBatchImageEqualsGenerate checks the seed contract end to end: an
// item's PNG is byte for byte what generate writes for its prompt and
// derived seed, whatever else shared its U-Net batch.
func TestBatchImageEqualsGenerate(t *testing.T) {
	dir := t.TempDir()
	prompts := writeFile(t, dir, "p.txt", "Small left pleural effusion.\nCardiomegaly.\nRight upper lobe consolidation.\n")
	same := []string{"--guidance", "5", "--negative-prompt", "lateral view", "--scheduler", "ddim", "--eta", "0.5"}
	out := filepath.Join(dir, "out")
	if errs, code := runCLI(t, batchArgs(prompts, out, append([]string{"--images-per-prompt", "2", "--batch-size", "4", "--seed", "4294967294"}, same...)...)...); code != 0 {
		t.Fatal(errs)
	}
	// Row 1 image 1 is index 3: seed (4294967294 + 3) mod 2^32 = 1; row 2
	// image 1 (index 5, seed 3) was alone in the last, partial batch.
	for _, c := range []struct{ file, prompt, seed string }{{"00000001-1.png", "Cardiomegaly.", "1"}, {"00000002-1.png", "Right upper lobe consolidation.", "3"}} {
		again := filepath.Join(dir, "again.png")
		args := append(append([]string{"generate", "--prompt", c.prompt, "--seed", c.seed, "--out", again}, fast...), same...)
		if errs, code := runCLI(t, args...); code != 0 {
			t.Fatal(errs)
		}
		a, _ := os.ReadFile(filepath.Join(out, c.file))
		b, _ := os.ReadFile(again)
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s (%d bytes) differs from generate --seed %s (%d bytes)", c.file, len(a), c.seed, len(b))
		}
	}
}

func TestBatchErrors(t *testing.T) {
	dir := t.TempDir()
	broken := writeFile(t, dir, "prompts.csv", "id,prompt\n1,Effusion.\n2,\n")
	good := writeFile(t, dir, "good.txt", "Effusion.\n")
	eleven := writeFile(t, dir, "eleven.txt", strings.Repeat("Effusion.\n", 11))
	never := filepath.Join(dir, "never") // no refused run may create it
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{batchArgs(broken, dir), 1, `roentgen: reading prompts: ` + broken + `:3: column "prompt": empty prompt`},
		{batchArgs(broken, dir, "--prompt-column", "text"), 1, `no column "text" (use --prompt-column); the columns are id, prompt`},
		{batchArgs(filepath.Join(dir, "nope.csv"), dir), 1, "reading prompts: open " + filepath.Join(dir, "nope.csv")},
		{[]string{"batch", "--out", dir}, 2, "--prompts is required"},
		{batchArgs(good, dir, "--format", "jpg"), 2, "--format must be png or dcm"},
		{batchArgs(good, dir, "--format", "dcm", "--color", "rgb"), 2, "--format dcm writes MONOCHROME2 images"},
		{batchArgs(good, dir, "--shard", "2/2"), 2, "--shard: shard 2/2: want 0 <= I < N"},
		{batchArgs(good, dir, "--shards", "4"), 2, "--shards 4 needs JOB_COMPLETION_INDEX"},
		{batchArgs(good, never, "--shards", "0"), 2, "--shards must be at least 1, got 0"},
		{batchArgs(good, never, "--shards", "-2"), 2, "--shards must be at least 1, got -2"},
		{batchArgs(good, never, "--images-per-prompt", "100000000000"), 2, "--images-per-prompt must be at most 1000000, got 100000000000"},
		{batchArgs(eleven, never, "--images-per-prompt", "1000000"), 2, "--images-per-prompt 1000000: 11 rows of " + eleven + " make 11000000 items, more than the 10000000 a batch may have"},
		{batchArgs(good, dir, "--batch-size", "0"), 2, "--batch-size must be at least 1"},
		{batchArgs(good, dir, "--batch-size", "4097"), 2, "--batch-size must be at most 4096, got 4097"},
		// The memory check counts every image of a batch (one image of this size fits anywhere).
		{batchArgs(good, dir, "--batch-size", "4096", "--width", "2048", "--height", "2048"), 2, "a 2048x2048 generation of 4096 image(s) needs about"},
		{batchArgs(good, dir, "--width", "60"), 2, "width and height must be positive multiples of 8"},
		{batchArgs(good, filepath.Join(dir, "fresh"), "--resume"), 1, "--resume: stat " + filepath.Join(dir, "fresh", "manifest.jsonl")},
	} {
		errs, code := runCLI(t, c.args...)
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != c.code || !strings.Contains(lines[len(lines)-1], c.want) || !strings.HasPrefix(lines[len(lines)-1], "roentgen: ") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
	if _, err := os.Stat(never); err == nil {
		t.Errorf("a refused run created %s", never)
	}
	// Other settings on an existing manifest are refused, naming them.
	out := filepath.Join(dir, "out")
	if errs, code := runCLI(t, batchArgs(good, out)...); code != 0 {
		t.Fatal(errs)
	}
	errs, code := runCLI(t, batchArgs(good, out, "--guidance", "7", "--seed", "9")...)
	if code != 1 || !strings.Contains(errs, "the manifest was made with other settings: guidance 7 (manifest 4), base_seed 9 (manifest 0)") {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// TestBatchShardPrecedence checks which shard a run takes when the flags
// and the Slurm and Kubernetes variables all say something.
func TestBatchShardPrecedence(t *testing.T) {
	dir := t.TempDir()
	prompts := writeFile(t, dir, "p.txt", "Effusion.\nCardiomegaly.\n")
	slurm := map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"}
	both := map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4", "JOB_COMPLETION_INDEX": "2"}
	for _, c := range []struct {
		env  map[string]string
		args []string
		code int
		want string
	}{
		{both, []string{"--shard", "1/2"}, 0, "batch done: 1 of 1 images of shard 1/2"},
		{slurm, []string{"--shards", "4"}, 0, "batch done: 1 of 1 images of shard 1/4"},
		{both, []string{"--shards", "3"}, 2, "roentgen: shard: --shards 3 contradicts the Slurm array task 1's SLURM_ARRAY_TASK_COUNT=4"},
		{both, nil, 2, "roentgen: shard: the Slurm array task 1 is shard 1/4 but JOB_COMPLETION_INDEX=2 is shard 2"},
		{map[string]string{"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "6", "SLURM_ARRAY_TASK_COUNT": "4"}, nil, 2,
			"roentgen: shard: the Slurm array 0-6 has 7 tasks, not SLURM_ARRAY_TASK_COUNT=4"},
	} {
		t.Setenv("ROENTGEN_MODEL", "")
		for _, v := range append(shardVars, "SLURM_ARRAY_TASK_MAX") {
			t.Setenv(v, c.env[v])
		}
		out := filepath.Join(dir, "out")
		var o, e strings.Builder
		code := Run(append(batchArgs(prompts, out), c.args...), &o, &e)
		if code != c.code || !strings.Contains(e.String(), c.want) || c.code != 0 && strings.Count(e.String(), "\n") != 1 {
			t.Errorf("%v %v: exit %d: %s; want exit %d and %q", c.env, c.args, code, e.String(), c.code, c.want)
		}
	}
}

func TestBatchDICOM(t *testing.T) {
	dir := t.TempDir()
	prompts := writeFile(t, dir, "p.jsonl", `{"prompt":"Small left pleural effusion.","id":"s1"}`+"\n")
	out := filepath.Join(dir, "out")
	for _, depth := range []string{"8", "16"} {
		if errs, code := runCLI(t, batchArgs(prompts, out+depth, "--format", "dcm", "--bit-depth", depth, "--seed", "5")...); code != 0 {
			t.Fatal(errs)
		}
		path := filepath.Join(out+depth, "s1-0.dcm")
		ds, err := godicom.ParseFile(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := batch.Read(prompts, "prompt")
		for tg, want := range map[tag.Tag]string{
			tag.ConversionType: "[SYN]", tag.PatientName: "[SYNTHETIC^ROENTGEN]", tag.PatientID: "[" + p.PatientID(batch.Item{}) + "]",
			tag.BitsAllocated: "[" + depth + "]", tag.Rows: "[64]", tag.SOPClassUID: "[1.2.840.10008.5.1.4.1.1.7]",
		} {
			if e, err := ds.FindElementByTag(tg); err != nil || e.Value.String() != want {
				t.Errorf("%s: %s = %v (%v), want %s", path, tag.DebugString(tg), e, err, want)
			}
		}
		if e, err := ds.FindElementByTag(tag.ImageComments); err != nil || !strings.Contains(e.Value.String(), "seed: 5") || !strings.Contains(e.Value.String(), "Small left pleural effusion.") {
			t.Errorf("ImageComments %v %v", e, err)
		}
		for _, tool := range [][]string{{"dcmdump", "-E", path}, {"dciodvfy", path}} {
			if _, err := exec.LookPath(tool[0]); err != nil {
				t.Logf("%s not installed (apt-get install -y dcmtk dicom3tools)", tool[0])
				continue
			}
			res, err := exec.Command(tool[0], tool[1:]...).CombinedOutput()
			if err != nil || bytes.Contains(res, []byte("Error")) || bytes.Contains(res, []byte("E: ")) || bytes.Contains(res, []byte("Warning")) {
				t.Errorf("%s: %v\n%s", tool[0], err, res)
			}
		}
	}
}

// TestBatchKillAndResume kills a run with SIGKILL, resumes it, stops the
// resumed run with SIGTERM, resumes again, and compares the files and
// hashes with an uninterrupted run.
func TestBatchKillAndResume(t *testing.T) {
	bin := roentgenBinary(t)
	dir := t.TempDir()
	var b strings.Builder
	for i := range 24 {
		fmt.Fprintf(&b, "Finding %d: small left pleural effusion.\n", i)
	}
	prompts := writeFile(t, dir, "p.txt", b.String())
	cmd := func(out string) *exec.Cmd {
		c := exec.Command(bin, batchArgs(prompts, out, "--images-per-prompt", "2", "--seed", "100")...)
		c.Env = append(os.Environ(), "ROENTGEN_MODEL=")
		for _, v := range shardVars {
			c.Env = append(c.Env, v+"=")
		}
		return c
	}
	ref := filepath.Join(dir, "ref")
	if out, err := cmd(ref).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := hashes(t, filepath.Join(ref, "manifest.jsonl"))
	if len(want) != 48 {
		t.Fatalf("reference run: %d images", len(want))
	}

	out := filepath.Join(dir, "out")
	manifest := filepath.Join(out, "manifest.jsonl")
	interrupt(t, cmd(out), manifest, 5, syscall.SIGKILL)
	checkNoCorruptFiles(t, out, want)
	c := cmd(out)
	c.Args = append(c.Args, "--resume")
	var stderr bytes.Buffer
	c.Stderr = &stderr
	code := interrupt(t, c, manifest, len(hashes(t, manifest))+5, syscall.SIGTERM)
	if code != 1 || !strings.Contains(stderr.String(), "batch interrupted by SIGTERM: ") || !strings.Contains(stderr.String(), "run the same command again to resume") {
		t.Errorf("SIGTERM: exit %d: %s", code, stderr.String())
	}
	checkNoCorruptFiles(t, out, want)
	if res, err := cmd(out).CombinedOutput(); err != nil || !strings.Contains(string(res), "batch done: 48 of 48 images") {
		t.Fatalf("final resume: %v: %s", err, res)
	}
	got := hashes(t, manifest)
	entries, _ := os.ReadDir(out)
	if len(entries) != 49 || len(got) != len(want) {
		t.Errorf("%d files in the folder, %d items in the manifest; want 49 and %d", len(entries), len(got), len(want))
	}
	for f, h := range want {
		if got[f] != h {
			t.Errorf("%s: sha256 %s after resume, %s uninterrupted", f, got[f], h)
		}
	}
}

// interrupt starts c, sends sig once the manifest has n lines, and returns
// the exit code.
func interrupt(t *testing.T, c *exec.Cmd, manifest string, n int, sig syscall.Signal) int {
	t.Helper()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		data, _ := os.ReadFile(manifest)
		if bytes.Count(data, []byte("\n")) >= n {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Process.Signal(sig)
	err := c.Wait()
	if e, ok := err.(*exec.ExitError); ok && e.ExitCode() >= 0 {
		return e.ExitCode()
	}
	if err == nil {
		t.Fatalf("the run finished before %v", sig)
	}
	return -1
}

// checkNoCorruptFiles asserts that every image in out, listed in the
// manifest or not, is complete: byte-identical to the uninterrupted run's.
func checkNoCorruptFiles(t *testing.T, out string, want map[string]string) {
	t.Helper()
	entries, _ := os.ReadDir(out)
	images := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".png") {
			continue // manifest, temporaries of the images in flight
		}
		images++
		if sum, _ := batch.HashFile(filepath.Join(out, e.Name())); sum != want[e.Name()] {
			t.Errorf("%s: sha256 %s, the uninterrupted run's %s", e.Name(), sum, want[e.Name()])
		}
	}
	if n := len(hashes(t, filepath.Join(out, "manifest.jsonl"))); images < n || n >= len(want) {
		t.Errorf("%d images for %d manifest lines of %d", images, n, len(want))
	}
}

func TestBatchProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := &batchProgress{w: &b, mode: progressTerminal, start: time.Now().Add(-time.Minute), done: 2, total: 10}
	p.add()
	p.add()
	if s := b.String(); !strings.Contains(s, "] 4/10 images  2.0 images/min  ETA 3m0s") {
		t.Errorf("%q", s)
	}
	if got := strconv.Itoa(p.made); got != "2" {
		t.Error(got)
	}
}

// TestBatchProgressLog checks the log lines a batch writes where stderr is
// not a terminal: one per image at most every logEvery, none for the last
// (the summary follows it).
func TestBatchProgressLog(t *testing.T) {
	var b bytes.Buffer
	start := time.Now().Add(-time.Minute)
	p := &batchProgress{w: &b, mode: progressLog, logEvery: 0, start: start, lastLog: start, done: 2, total: 5}
	p.add()
	p.add()
	p.add()
	want := "roentgen: batch 3/5 images, 1.00 images/min, ETA 2m0s\nroentgen: batch 4/5 images, 2.00 images/min, ETA 30s\n"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	b.Reset()
	p = &batchProgress{w: &b, mode: progressLog, logEvery: time.Hour, start: start, lastLog: start, done: 0, total: 5}
	p.add()
	if b.Len() != 0 {
		t.Errorf("logged %q within logEvery", b.String())
	}
}
