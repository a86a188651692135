package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/imageio"
)

// TestFromRemakesOneImageWithItsModel: --from an image of a three-image
// draw made with another model than the default remakes that image alone,
// byte for byte, with the recorded model; an explicit --model with other
// weights warns; --num-images remakes the whole draw; an empty prompt
// round-trips.
func TestFromRemakesOneImageWithItsModel(t *testing.T) {
	dir := t.TempDir()
	model := golden.Path(t, "tiny-sd2")
	out := filepath.Join(dir, "cm.png")
	if _, errs, code := run(t, "generate", "--model", model, "--prompt", "Cardiomegaly.", "--seed", "7", "--steps", "3", "--num-images", "3", "--out", out); code != 0 {
		t.Fatal(errs)
	}
	again := filepath.Join(dir, "again.png")
	if _, errs, code := run(t, "generate", "--from", filepath.Join(dir, "cm-2.png"), "--out", again); code != 0 {
		t.Fatal(errs)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "cm-2.png"))
	got, _ := os.ReadFile(again)
	if !bytes.Equal(got, want) {
		t.Error("--from cm-2.png did not remake cm-2.png")
	}
	if _, errs, code := run(t, "generate", "--model", golden.Path(t, "tiny-sd1"), "--from", again, "--out", filepath.Join(dir, "x.png")); code != 0 ||
		!strings.Contains(errs, "the image was made by other weights") {
		t.Errorf("other model: exit %d, %q", code, errs)
	}
	if _, errs, code := run(t, "generate", "--from", again, "--num-images", "3", "--out", filepath.Join(dir, "all.png")); code != 0 {
		t.Fatal(errs)
	}
	got, _ = os.ReadFile(filepath.Join(dir, "all-2.png"))
	if !bytes.Equal(got, want) {
		t.Error("--from with --num-images 3 did not remake the draw")
	}
	empty := filepath.Join(dir, "empty.png")
	if _, errs, code := run(t, "generate", "--prompt", "", "--steps", "2", "--out", empty); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := run(t, "generate", "--from", empty, "--out", filepath.Join(dir, "empty2.png")); code != 0 {
		t.Errorf("empty prompt: exit %d: %s", code, errs)
	}
}

// TestOutputMustBeAFile: --out naming a directory, a FIFO or a symlink to
// nothing fails before any work; a symlink to a file is written through.
func TestOutputMustBeAFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(dir, "nowhere.png"), filepath.Join(dir, "dangling.png"))
	os.WriteFile(filepath.Join(dir, "real.png"), []byte("old"), 0o644)
	os.Symlink("real.png", filepath.Join(dir, "link.png"))
	for out, want := range map[string]string{dir: "is a directory", fifo: "is not a regular file (a named pipe)", filepath.Join(dir, "dangling.png"): "is a symlink that does not lead to a file"} {
		if _, errs, code := run(t, "generate", "--prompt", "x", "--steps", "1", "--out", out); code != 2 || !strings.Contains(errs, want) || strings.Contains(errs, "wrote") {
			t.Errorf("--out %s: exit %d, %q; want exit 2 and %q", out, code, errs, want)
		}
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Error("the FIFO was replaced")
	}
	if _, errs, code := run(t, "generate", "--prompt", "x", "--steps", "1", "--out", filepath.Join(dir, "link.png")); code != 0 {
		t.Fatal(errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "real.png")); len(b) < 100 {
		t.Error("the symlink's target was not written")
	}
	if st, _ := os.Lstat(filepath.Join(dir, "link.png")); st.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
}

// TestFromMendedScheduler: an image made with the model's own scheduler,
// whose config lacked steps_offset (mended to 1 as diffusers does), is
// remade with the same mended scheduler, not as --scheduler PNDMScheduler
// (which takes the class default 0); and a recorded image_index outside
// its draw is refused.
func TestFromMendedScheduler(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "old")
	golden.CopyDir(t, golden.Path(t, "tiny-sd1"), model)
	cfg := filepath.Join(model, "scheduler", "scheduler_config.json")
	b, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, bytes.Replace(b, []byte(`"steps_offset": 1,`), nil, 1), 0o644)
	first := filepath.Join(dir, "a.png")
	if _, errs, code := run(t, "generate", "--model", model, "--prompt", "x", "--seed", "1", "--steps", "3", "--out", first); code != 0 {
		t.Fatal(errs)
	}
	again := filepath.Join(dir, "b.png")
	if _, errs, code := run(t, "generate", "--from", first, "--out", again); code != 0 {
		t.Fatal(errs)
	}
	x, _ := os.ReadFile(first)
	y, _ := os.ReadFile(again)
	if !bytes.Equal(x, y) {
		t.Error("--from did not remake an image of the mended scheduler")
	}
	if _, errs, code := run(t, "generate", "--quiet", "--from", first, "--out", again); code != 0 || strings.Contains(errs, "note:") {
		t.Errorf("--quiet: exit %d, %q", code, errs)
	}
	// The recorded folder now holds other weights: --from must not use them
	// silently (an explicit --model only warns).
	os.RemoveAll(model)
	golden.CopyDir(t, golden.Path(t, "tiny-sd2"), model)
	if _, errs, code := run(t, "generate", "--from", first, "--out", filepath.Join(dir, "d.png")); code != 2 || !strings.Contains(errs, "recorded in the image, has other weights than those that made it") {
		t.Errorf("other weights at the recorded path: exit %d, %q", code, errs)
	}
	tampered := filepath.Join(dir, "t.png")
	os.WriteFile(tampered, bytes.Replace(x, []byte(`"image_index":0`), []byte(`"image_index":5`), 1), 0o644)
	if _, errs, code := run(t, "generate", "--from", tampered, "--out", filepath.Join(dir, "c.png")); code == 0 || !strings.Contains(errs, `"image_index" 5 is outside the draw of num_images 1`) {
		t.Errorf("tampered image_index: exit %d, %q", code, errs)
	}
}

// TestQuietIsOneLine: with --quiet, generate on the demo model prints only
// its summary line (no demo notice, progress, notes or warnings).
func TestQuietIsOneLine(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q.png")
	_, errs, code := run(t, "generate", "--quiet", "--prompt", strings.Repeat("effusion ", 60), "--steps", "2", "--out", out)
	if lines := strings.Split(strings.TrimSpace(errs), "\n"); code != 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "roentgen: wrote ") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}

// TestTextEncoderFolder: with a RoentGen text_encoder_and_tokenizer/ that
// holds other weights, generate notes it and uses text_encoder/;
// --text-encoder uses it, records it in the image, and --from remakes the
// image with it byte for byte; info lists it; a batch manifest records it.
func TestTextEncoderFolder(t *testing.T) {
	model := golden.WithTextEncoderCopy(t, golden.Path(t, "tiny-sd1"), "text_encoder_and_tokenizer", true, func(n string, v []float32) {
		if n == "text_model.final_layer_norm.bias" {
			v[0] += 1
		}
	})
	dir := t.TempDir()
	gen := func(out string, extra ...string) string {
		t.Helper()
		args := append([]string{"generate", "--model", model, "--prompt", "Cardiomegaly.", "--seed", "3", "--steps", "2", "--out", out}, extra...)
		_, errs, code := run(t, args...)
		if code != 0 {
			t.Fatal(errs)
		}
		return errs
	}
	def, alt := filepath.Join(dir, "def.png"), filepath.Join(dir, "alt.png")
	if errs := gen(def); !strings.Contains(errs, "note: text_encoder_and_tokenizer/ holds another text encoder") {
		t.Errorf("no note: %s", errs)
	}
	if errs := gen(alt, "--text-encoder", "text_encoder_and_tokenizer"); strings.Contains(errs, "note:") {
		t.Errorf("note with --text-encoder: %s", errs)
	}
	a, _ := os.ReadFile(def)
	b, _ := os.ReadFile(alt)
	if bytes.Equal(a, b) {
		t.Fatal("--text-encoder made the same image")
	}
	p, err := imageio.ReadParams(alt)
	if err != nil || p["text_encoder"] != "text_encoder_and_tokenizer" {
		t.Errorf("recorded text_encoder %v (%v)", p["text_encoder"], err)
	}
	if p, _ := imageio.ReadParams(def); p["text_encoder"] != nil {
		t.Errorf("default image records text_encoder %v", p["text_encoder"])
	}
	again := filepath.Join(dir, "again.png")
	if _, errs, code := run(t, "generate", "--from", alt, "--out", again); code != 0 {
		t.Fatal(errs)
	}
	if c, _ := os.ReadFile(again); !bytes.Equal(c, b) {
		t.Error("--from did not remake the --text-encoder image")
	}
	if _, errs, code := run(t, "generate", "--from", alt, "--text-encoder", "text_encoder", "--out", again); code != 0 || !strings.Contains(errs, "made by other weights") {
		t.Errorf("--from with another --text-encoder: exit %d, %s", code, errs)
	}
	if c, _ := os.ReadFile(again); !bytes.Equal(c, a) {
		t.Error("--from with --text-encoder text_encoder did not make the default image")
	}
	if _, errs, code := run(t, "generate", "--from", alt, "--model", golden.Path(t, "tiny-sd1"), "--out", again); code != 2 ||
		!strings.Contains(errs, "the image was made with the text encoder in text_encoder_and_tokenizer/") {
		t.Errorf("--from with a model lacking the folder: exit %d, %s", code, errs)
	}
	out, errs, code := run(t, "info", "--model", model, "--text-encoder", "text_encoder_and_tokenizer")
	if code != 0 || strings.Count(out, "text_encoder_and_tokenizer") != 2 {
		t.Errorf("info: exit %d, %s%s", code, out, errs)
	}
	prompts := filepath.Join(dir, "p.txt")
	if err := os.WriteFile(prompts, []byte("Cardiomegaly.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(dir, "ds")
	if _, errs, code := run(t, "batch", "--model", model, "--text-encoder", "text_encoder_and_tokenizer", "--prompts", prompts, "--out", ds, "--steps", "2"); code != 0 {
		t.Fatal(errs)
	}
	manifest, _ := os.ReadFile(filepath.Join(ds, "manifest.jsonl"))
	if !strings.Contains(string(manifest), `"text_encoder":"text_encoder_and_tokenizer"`) {
		t.Errorf("manifest does not record the text encoder: %s", manifest)
	}
	// The same weights with another tokenizer: only the setting tells the
	// runs apart.
	retok := golden.WithTextEncoderCopy(t, golden.Path(t, "tiny-sd1"), "text_encoder_and_tokenizer", true, func(string, []float32) {})
	cfg := filepath.Join(retok, "text_encoder_and_tokenizer", "tokenizer_config.json")
	data, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, bytes.Replace(data, []byte(`"model_max_length": 77`), []byte(`"model_max_length": 20`), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	ds2 := filepath.Join(dir, "ds2")
	if _, errs, code := run(t, "batch", "--model", retok, "--text-encoder", "text_encoder_and_tokenizer/", "--prompts", prompts, "--out", ds2, "--steps", "2"); code != 0 {
		t.Fatal(errs)
	}
	if _, errs, code := run(t, "batch", "--model", retok, "--prompts", prompts, "--out", ds2, "--steps", "2"); code == 0 ||
		!strings.Contains(errs, `text_encoder "text_encoder" (manifest "text_encoder_and_tokenizer")`) || strings.Contains(errs, "model_fingerprint") {
		t.Errorf("resuming without --text-encoder: exit %d, %s", code, errs)
	}
}
