package cli

import (
	"bytes"
	"encoding/json"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// run executes a command line and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	t.Setenv("ROENTGEN_MODEL", "")
	t.Setenv("ROENTGEN_MICRO_KERNEL", "")
	var out, errb bytes.Buffer
	code := Run(args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestInfoFixtures(t *testing.T) {
	// Parameter counts as diffusers reports them (fixture README table).
	for fixture, want := range map[string][]string{
		"tiny-sd1": {"family:      SD 1.x", "1,617,760", "715,700", "437,847", `pad "<|endoftext|>"`, "PNDMScheduler, prediction epsilon", "64x64"},
		"tiny-sd2": {"family:      SD 2.x", "1,202,304", "820,564", "131,847", `pad "!"`, "PNDMScheduler, prediction epsilon", "64x64"},
	} {
		out, errs, code := run(t, "info", "--model", golden.Path(t, fixture))
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", fixture, code, errs)
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: info lacks %q:\n%s", fixture, w, out)
			}
		}
		if strings.Contains(errs, "demo") {
			t.Errorf("%s: demo notice printed with --model", fixture)
		}
	}
}

func TestInfoDemoAndJSON(t *testing.T) {
	out, errs, code := run(t, "info", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Count(errs, "built-in random-weight demo model") != 1 {
		t.Errorf("demo notice should appear once on stderr: %q", errs)
	}
	var d struct {
		Family     string `json:"family"`
		Components []struct {
			Name   string `json:"name"`
			Params int64  `json:"params"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if d.Family != "SD 1.x" || len(d.Components) != 3 || d.Components[1].Params != 715700 {
		t.Errorf("got %+v", d)
	}
}

func TestVersion(t *testing.T) {
	out, _, code := run(t, "version")
	if code != 0 || !strings.HasPrefix(out, "roentgen ") || !strings.Contains(out, "revision") || !strings.Contains(out, "micro-kernel "+kernels.MicroKernel()) {
		t.Errorf("exit %d, %q", code, out)
	}
}

// TestMicroKernelFlag checks that --micro-kernel picks the micro-kernel
// (and that an unknown one is a usage error naming those available).
func TestMicroKernelFlag(t *testing.T) {
	orig := strings.Fields(kernels.MicroKernel())[0]
	t.Cleanup(func() {
		if err := kernels.UseMicroKernel(orig); err != nil {
			t.Fatal(err)
		}
	})
	out, _, code := run(t, "--micro-kernel", "go", "version")
	if code != 0 || !strings.Contains(out, "micro-kernel go 4x4") || !strings.Contains(out, "available: ") {
		t.Errorf("exit %d, %q", code, out)
	}
	_, errOut, code := run(t, "--micro-kernel", "sse9", "version")
	if code != 2 || !strings.Contains(errOut, `--micro-kernel "sse9" is not available`) || !strings.Contains(errOut, "go") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"info", "--bogus"}, 2, "unknown flag: --bogus"},
		{[]string{"info", "extra"}, 2, "unknown command"},
		{[]string{"info", "--model", "/nonexistent/model"}, 1, "loading model: model folder /nonexistent/model does not exist"},
		{[]string{"generate", "--prompt", "x", "--width", "60"}, 2, "width and height must be positive multiples of 8"},
		{[]string{"generate", "--prompt", "x", "--steps", "0"}, 2, "steps must be at least 1"},
		{[]string{"generate", "--prompt", "x", "--guidance", "-1"}, 2, "guidance must not be negative"},
		{[]string{"generate", "--prompt", "x", "--color", "sepia"}, 2, "--color must be gray or rgb"},
		{[]string{"generate", "--prompt", "x", "--bit-depth", "12"}, 2, "--bit-depth must be 8 or 16"},
		{[]string{"generate", "--prompt", "x", "--scheduler", "nope", "--steps", "1", "--out", "/tmp/x.png"}, 2, `sampler "nope" is not one of ddim`},
		{[]string{"generate", "--prompt", "x", "--steps", "1000"}, 2, "give timestep 1000, outside 0..999"},
		{[]string{"generate", "--prompt", "x", "--out", "/nonexistent/dir/x.png"}, 1, "output folder /nonexistent/dir"},
		{[]string{"generate"}, 2, "--prompt is required"},
		{[]string{"tokenize"}, 2, "requires at least 1 arg"},
		{[]string{"tokenize", "ok", strings.Repeat("x", 40000)}, 2, "text 2 is 40000 bytes, more than the 32768"},
		{[]string{"generate", "--prompt", "x", "--guidance", "NaN"}, 2, "guidance must be a finite number, got NaN"},
		{[]string{"generate", "--prompt", "x", "--eta", "Inf"}, 2, "eta must be a finite number, got +Inf"},
		{[]string{"generate", "--prompt", "x\xff"}, 2, "must be valid UTF-8"},
		{[]string{"generate", "--prompt", "x", "--guidance", "1e308", "--steps", "2", "--out", "/tmp/x.png"}, 1, "gave latents that are not finite (NaN or Inf)"},
		{[]string{"generate", "--prompt", "x", "--format", "dcm", "--out", "x.png"}, 2, "--out x.png does not match --format dcm"},
		{[]string{"batch", "--prompts", "p.txt", "--out", "o", "--threads", "5000000"}, 2, "--threads must be between 1 and 1024 (0: all cores), got 5000000"},
		{[]string{"generate", "--prompt", "x", "--threads", "100000"}, 2, "--threads must be between 1 and 1024 (0: all cores), got 100000"},
		{[]string{"generate", "--prompt", "x", "--num-images", "1000000000"}, 2, "--num-images must be between 1 and 4096, got 1000000000"},
		{[]string{"generate", "--prompt", "x", "--out", "y.jpg"}, 2, "--out y.jpg: roentgen writes .png or .dcm files"},
		{[]string{"bench", "--memprofile", "/nonexistent/x.prof"}, 1, "--memprofile: open /nonexistent/x.prof"},
		{[]string{"bench", "--threads", "-1"}, 2, "--threads must be between 1 and 1024 (0: all cores), got -1"},
		{[]string{"bench", "--batch-size", "5000"}, 2, "--batch-size must be between 1 and 4096, got 5000"},
		{[]string{"generate", "--prompt", strings.Repeat("x", 40000)}, 2, "prompt is 40000 bytes, more than the 32768"},
	}
	tmp := filepath.Join(t.TempDir(), "x.png") // a case that wrongly succeeds writes here, not in /tmp
	for _, c := range cases {
		for i, a := range c.args {
			if a == "/tmp/x.png" {
				c.args[i] = tmp
			}
		}
		_, errs, code := run(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, errs, c.code, c.want)
		}
		if lines := strings.Split(strings.TrimSpace(errs), "\n"); !strings.HasPrefix(lines[len(lines)-1], "roentgen: ") {
			t.Errorf("%v: last stderr line is not a roentgen error: %q", c.args, errs)
		}
	}
}

func TestTokenizeJSON(t *testing.T) {
	out, _, code := run(t, "tokenize", "--json", "--model", golden.Path(t, "tiny-sd2"), "Cardiomegaly!", "")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	var e struct {
		Text      string   `json:"text"`
		IDs       []int    `json:"input_ids"`
		Tokens    []string `json:"tokens"`
		Truncated bool     `json:"truncated"`
	}
	if err := json.Unmarshal([]byte(lines[1]), &e); err != nil {
		t.Fatal(err)
	}
	// The empty prompt is [bos, eos] then SD 2.x's pad "!" (id 0) — fixture README.
	if len(e.IDs) != 77 || e.IDs[0] != 49406 || e.IDs[1] != 49407 || e.IDs[2] != 0 || len(e.Tokens) != 0 || e.Truncated {
		t.Errorf("empty prompt: %+v", e)
	}
}

// TestGenerateFormatsAndRegenerate writes each output format, checks the
// recorded parameters, and regenerates the first image from them.
func TestGenerateFormatsAndRegenerate(t *testing.T) {
	dir := t.TempDir()
	base := []string{"generate", "--prompt", "Large right-sided pleural effusion.", "--steps", "3", "--seed", "7"}
	type want struct {
		color string
		depth int
		model color.Model
	}
	for _, w := range []want{{"gray", 8, color.GrayModel}, {"gray", 16, color.Gray16Model}, {"rgb", 8, color.RGBAModel}, {"rgb", 16, color.RGBA64Model}} {
		out := filepath.Join(dir, w.color+".png")
		args := append(append([]string{}, base...), "--color", w.color, "--bit-depth", itoa(w.depth), "--out", out)
		if _, errs, code := run(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.ColorModel != w.model || cfg.Width != 64 || cfg.Height != 64 {
			t.Errorf("%s %d-bit: wrong color model or size %dx%d", w.color, w.depth, cfg.Width, cfg.Height)
		}
		p, err := imageio.ReadParams(out)
		if err != nil {
			t.Fatal(err)
		}
		if p["prompt"] != "Large right-sided pleural effusion." || p["seed"] != float64(7) || p["steps"] != float64(3) || p["synthetic"] != true {
			t.Errorf("parameters %v", p)
		}
		os.Rename(out, filepath.Join(dir, w.color+itoa(w.depth)+".png"))
	}
	first := filepath.Join(dir, "gray8.png")
	again := filepath.Join(dir, "again.png")
	if _, errs, code := run(t, "generate", "--from", first, "--out", again); code != 0 {
		t.Fatalf("regenerate: %s", errs)
	}
	a, _ := os.ReadFile(first)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("regenerating from the recorded parameters gave a different file")
	}
}

func TestNumImagesNumbering(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cxr.png")
	if _, errs, code := run(t, "generate", "--prompt", "Cardiomegaly.", "--steps", "2", "--num-images", "2", "--out", out); code != 0 {
		t.Fatal(errs)
	}
	for _, name := range []string{"cxr-0.png", "cxr-1.png"} {
		if _, err := os.Stat(filepath.Join(filepath.Dir(out), name)); err != nil {
			t.Error(err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(out))
	if len(entries) != 2 {
		t.Errorf("%d files left in the output folder, want 2 (no temporaries)", len(entries))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestDeterministicAcrossThreads: the same command gives the same bytes on
// repeated runs and for any --threads value (kernels split outputs only).
func TestDeterministicAcrossThreads(t *testing.T) {
	dir := t.TempDir()
	var files [][]byte
	for i, threads := range []string{"1", "2", "3", "2"} {
		out := filepath.Join(dir, itoa(i)+".png")
		if _, errs, code := run(t, "generate", "--prompt", "Cardiomegaly.", "--steps", "3", "--seed", "5", "--scheduler", "euler-a",
			"--color", "rgb", "--bit-depth", "16", "--threads", threads, "--out", out); code != 0 {
			t.Fatal(errs)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[0], files[i]) {
			t.Errorf("run %d differs from run 0", i)
		}
	}
}

func TestGenerateDICOM(t *testing.T) {
	out := filepath.Join(t.TempDir(), "cxr.dcm")
	if _, errs, code := run(t, "generate", "--prompt", "Cardiomegaly.", "--steps", "2", "--seed", "9", "--format", "dcm", "--out", out); code != 0 {
		t.Fatal(errs)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		t.Fatal("not a DICOM Part 10 file")
	}
	for _, mark := range []string{"DERIVED\\SECONDARY", "SYNTHETIC^ROENTGEN", "roentgen", "Cardiomegaly.", "1.2.840.10008.5.1.4.1.1.7"} {
		if !bytes.Contains(b, []byte(mark)) {
			t.Errorf("DICOM file lacks %q", mark)
		}
	}
	if _, errs, code := run(t, "generate", "--prompt", "x", "--format", "dcm", "--color", "rgb"); code != 2 || !strings.Contains(errs, "use --color gray") {
		t.Errorf("rgb DICOM: exit %d %q", code, errs)
	}
}

// TestLongPromptWarns: a prompt over 75 tokens is truncated as diffusers
// does, with a warning naming the dropped words.
func TestLongPromptWarns(t *testing.T) {
	long := strings.Repeat("effusion ", 80) + "pneumothorax tail"
	out := filepath.Join(t.TempDir(), "x.png")
	_, errs, code := run(t, "generate", "--prompt", long, "--steps", "1", "--out", out)
	if code != 0 {
		t.Fatal(errs)
	}
	if !strings.Contains(errs, "warning: the prompt is longer than 75 tokens") || !strings.Contains(errs, "pneumothorax tail") {
		t.Errorf("stderr %q", errs)
	}
}
