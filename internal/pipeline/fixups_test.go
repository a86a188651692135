package pipeline

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/config"
	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/sampler"
)

// TestSchedulerFixups checks StableDiffusionPipeline.__init__'s scheduler
// fixes: applied to the model's own scheduler always, and to schedulers
// built for other classes only where the file set the key (a key the file
// lacked is listed in _use_default_values and dropped by from_config).
func TestSchedulerFixups(t *testing.T) {
	i := func(v int) *int { return &v }
	b := func(v bool) *bool { return &v }
	show := func(c sampler.Config) string {
		s := "offset "
		if c.StepsOffset == nil {
			s += "default"
		} else {
			s += fmt.Sprint(*c.StepsOffset)
		}
		s += ", clip "
		switch {
		case c.ClipSample == nil:
			s += "default"
		case *c.ClipSample:
			s += "true"
		default:
			s += "false"
		}
		return s
	}
	for _, c := range []struct {
		class      string
		offset     *int
		clip       *bool
		own, other string
		notes      int
	}{
		{"PNDMScheduler", i(1), b(false), "offset 1, clip false", "offset 1, clip false", 0},
		{"PNDMScheduler", nil, nil, "offset 1, clip default", "offset default, clip default", 1},
		{"PNDMScheduler", i(0), b(true), "offset 1, clip false", "offset 1, clip false", 2},
		{"DDIMScheduler", i(1), nil, "offset 1, clip false", "offset 1, clip default", 1},
		{"DDIMScheduler", i(1), b(false), "offset 1, clip false", "offset 1, clip false", 0},
		{"EulerDiscreteScheduler", i(2), nil, "offset 1, clip default", "offset 1, clip default", 1},
	} {
		own, other, notes := schedulerFixups(sampler.Config{ClassName: c.class, StepsOffset: c.offset, ClipSample: c.clip})
		if show(own) != c.own || show(other) != c.other || len(notes) != c.notes {
			t.Errorf("%s %s: own %q, other %q, %d notes %q; want %q, %q, %d", c.class, show(sampler.Config{StepsOffset: c.offset, ClipSample: c.clip}),
				show(own), show(other), len(notes), notes, c.own, c.other, c.notes)
		}
	}
}

// TestOutdatedConfigsMended runs tiny-sd1 with a scheduler config without
// steps_offset and a U-Net config from diffusers 0.8: the model's own
// scheduler keeps the fixture's timesteps, DDIM built from the config gets
// its default offset 0, and the default size becomes 512 px.
func TestOutdatedConfigsMended(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	editFile(t, filepath.Join(dir, "scheduler", "scheduler_config.json"), `"steps_offset": 1,`, ``)
	editFile(t, filepath.Join(dir, "unet", "config.json"), `"_diffusers_version": "0.25.1"`, `"_diffusers_version": "0.8.1"`)
	old, orig := openPipeline(t, dir), openPipeline(t, golden.Path(t, "tiny-sd1"))
	if len(old.Notes) != 2 || !strings.Contains(old.Notes[0], "sample_size 8; using 64") || !strings.Contains(old.Notes[1], "no steps_offset") {
		t.Errorf("notes %q", old.Notes)
	}
	if w, h := old.Models.DefaultSize(); w != 512 || h != 512 {
		t.Errorf("default size %dx%d, want 512x512", w, h)
	}
	steps := func(p *Pipeline, name string) []float64 {
		s, err := sampler.New(name, p.samplerConfig(name), 10, sampler.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s.Timesteps()
	}
	if got, want := steps(old, ""), steps(orig, ""); !slices.Equal(got, want) {
		t.Errorf("own scheduler: timesteps %v, want the fixture's %v", got, want)
	}
	got, want := steps(old, "ddim"), steps(orig, "ddim")
	for k := range want {
		if got[k] != want[k]-1 {
			t.Fatalf("ddim: timesteps %v, want %v minus 1 (steps_offset 0)", got, want)
		}
	}
}

// TestUnsupportedOwnScheduler: a model whose scheduler class roentgen does
// not implement names the class and its file, and runs with --scheduler.
func TestUnsupportedOwnScheduler(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	editFile(t, filepath.Join(dir, "scheduler", "scheduler_config.json"), `"PNDMScheduler"`, `"UniPCMultistepScheduler"`)
	editFile(t, filepath.Join(dir, "model_index.json"), `"PNDMScheduler"`, `"UniPCMultistepScheduler"`)
	p := openPipeline(t, dir)
	o := Options{Prompt: "x", Steps: 2, Guidance: 4, Width: 64, Height: 64, NumImages: 1}
	_, err := p.Generate(o)
	if err == nil || !strings.Contains(err.Error(), "scheduler_config.json: the model's scheduler UniPCMultistepScheduler is not supported; choose one with --scheduler") {
		t.Errorf("got %v", err)
	}
	o.Scheduler = "ddim"
	if _, err := p.Generate(o); err != nil {
		t.Error(err)
	}
}

// TestSchedulerClassMismatch: with a model_index.json naming another
// scheduler class than scheduler_config.json's _class_name, the model's
// own scheduler is model_index.json's class built from the config and
// mended for that class, as diffusers builds and mends it: the image of a
// folder whose two files say DDIMScheduler, with a note; --scheduler
// DDIMScheduler (built without the own scheduler's mending of the
// clip_sample the file lacks) differs.
func TestSchedulerClassMismatch(t *testing.T) {
	mismatch, agree := copyFixture(t, "tiny-sd1"), copyFixture(t, "tiny-sd1")
	editFile(t, filepath.Join(mismatch, "model_index.json"), `"PNDMScheduler"`, `"DDIMScheduler"`)
	editFile(t, filepath.Join(agree, "model_index.json"), `"PNDMScheduler"`, `"DDIMScheduler"`)
	editFile(t, filepath.Join(agree, "scheduler", "scheduler_config.json"), `"PNDMScheduler"`, `"DDIMScheduler"`)
	for _, dir := range []string{mismatch, agree} { // DDIM's default clip_sample is true: the own scheduler mends it
		editFile(t, filepath.Join(dir, "scheduler", "scheduler_config.json"), `,
 "clip_sample": false`, ``)
	}
	o := Options{Prompt: "x", Seed: 3, Steps: 4, Guidance: 4, Width: 64, Height: 64, NumImages: 1}
	p := openPipeline(t, mismatch)
	got, err := p.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := openPipeline(t, agree).Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Images[0].Pix, want.Images[0].Pix) || p.Scheduler.ClassName != "DDIMScheduler" {
		t.Errorf("mismatched files: same image as agreeing DDIM files %v, class %s", slices.Equal(got.Images[0].Pix, want.Images[0].Pix), p.Scheduler.ClassName)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "model_index.json names the scheduler DDIMScheduler") }) {
		t.Errorf("notes %q", p.Notes)
	}
	o.Scheduler = "DDIMScheduler"
	other, err := p.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.Images[0].Pix, want.Images[0].Pix) {
		t.Error("--scheduler DDIMScheduler made the own scheduler's image: the test cannot see the class's mending")
	}
}

// TestDefaultSizeBound: a U-Net sample_size and a VAE scale factor that are
// each within bounds but make a default side above 16384 pixels are refused,
// naming the U-Net config.
func TestDefaultSizeBound(t *testing.T) {
	m := openPipeline(t, golden.Path(t, "tiny-sd1")).Models
	m.UNetConfig.SampleSize = config.Square(2048) // x 8 = 16384: allowed
	if err := m.checkDefaultSize(); err != nil {
		t.Fatal(err)
	}
	m.VAEArch.Channels = append(m.VAEArch.Channels, 32) // scale factor 16
	if err := m.checkDefaultSize(); err == nil || !strings.Contains(err.Error(), "unet/config.json: sample_size 2048 times the VAE's scale factor 16 is a 32768-pixel default image side") {
		t.Errorf("got %v", err)
	}
}

// TestSampleSizePair: a U-Net sample_size given as [height, width] (diffusers
// 0.32 and later) sets a non-square default image size (a VAE's is
// accepted too); a list of another length is refused, naming the field.
func TestSampleSizePair(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	cfg := filepath.Join(dir, "unet", "config.json")
	editFile(t, cfg, `"sample_size": 8`, `"sample_size": [8, 12]`)
	editFile(t, filepath.Join(dir, "vae", "config.json"), `"sample_size": 64`, `"sample_size": [64, 96]`) // accepted, not read
	p := openPipeline(t, dir)
	if w, h := p.Models.DefaultSize(); w != 96 || h != 64 {
		t.Errorf("default size %dx%d, want 96x64 (width 12 x 8, height 8 x 8)", w, h)
	}
	res, err := p.Generate(Options{Prompt: "Cardiomegaly.", Seed: 1, Steps: 2, Guidance: 4, Width: 96, Height: 64, NumImages: 1})
	if err != nil || res.Images[0].W != 96 || res.Images[0].H != 64 {
		t.Fatalf("generate: %v", err)
	}
	editFile(t, cfg, `"sample_size": [8, 12]`, `"sample_size": [8]`)
	if err := loadDir(dir); err == nil || !strings.Contains(err.Error(), "sample_size") {
		t.Errorf("[8]: %v", err)
	}
}
