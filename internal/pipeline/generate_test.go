package pipeline

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/golden"
)

func openPipeline(t *testing.T, dir string) *Pipeline {
	t.Helper()
	return openPipelineWith(t, dir, LoadOptions{})
}

// openPipelineWith opens dir and loads it with o, or fails the test.
func openPipelineWith(t *testing.T, dir string, o LoadOptions) *Pipeline {
	t.Helper()
	f, err := diffusers.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(f, o)
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(m)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type key struct {
	Key string `json:"key"`
}

type pipeCase struct {
	Name           string    `json:"name"`
	Prompt         string    `json:"prompt"`
	NegativePrompt string    `json:"negative_prompt"`
	Steps          int       `json:"num_inference_steps"`
	Guidance       float64   `json:"guidance_scale"`
	Height         int       `json:"height"`
	Width          int       `json:"width"`
	SchedulerClass string    `json:"scheduler_class"`
	Timesteps      []float64 `json:"timesteps_list"`
	Generator      string    `json:"generator"`
	LatentsIn      key       `json:"latents_in"`
	PromptEmbeds   key       `json:"prompt_embeds"`
	FinalLatents   key       `json:"final_latents"`
	DecoderOut     key       `json:"decoder_out"`
	ImageNHWC      key       `json:"image_nhwc"`
	ImageU8        key       `json:"image_u8_nhwc"`
}

// TestPipelineGolden runs StableDiffusionPipeline's five fixture cases
// (testdata/golden/*/pipeline.safetensors, diffusers 0.25.1: PNDM and DDIM at
// guidance 4 and 1 from given latents, and PNDM from
// torch.Generator().manual_seed(1234)). Tolerances are the fixture README's
// guidance: ~1e-4 relative on the 10-step latents, at most 1 level on u8
// pixels.
func TestPipelineGolden(t *testing.T) {
	for _, fixture := range []string{"tiny-sd1", "tiny-sd2"} {
		t.Run(fixture, func(t *testing.T) {
			var idx struct {
				Pipeline struct {
					Cases []pipeCase `json:"cases"`
				} `json:"pipeline"`
			}
			data, err := os.ReadFile(golden.Path(t, "golden", fixture, "index.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &idx); err != nil {
				t.Fatal(err)
			}
			if len(idx.Pipeline.Cases) != 5 {
				t.Fatalf("%d cases, want 5", len(idx.Pipeline.Cases))
			}
			g := golden.Open(t, "golden", fixture, "pipeline.safetensors")
			p := openPipeline(t, golden.Path(t, fixture))
			for _, c := range idx.Pipeline.Cases {
				t.Run(c.Name, func(t *testing.T) {
					o := Options{Prompt: c.Prompt, NegativePrompt: c.NegativePrompt, Steps: c.Steps, Guidance: c.Guidance,
						Width: c.Width, Height: c.Height, NumImages: 1}
					if c.SchedulerClass != "PNDMScheduler" {
						o.Scheduler = c.SchedulerClass // DDIMScheduler.from_config(pipe.scheduler.config)
					}
					if c.Generator != "" {
						if c.Generator != "torch.Generator('cpu').manual_seed(1234)" {
							t.Fatalf("unexpected generator %q", c.Generator)
						}
						o.Seed = 1234
					} else {
						o.Latents = golden.Float32(t, g, c.LatentsIn.Key)
					}
					res, err := p.Generate(o)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Timesteps) != len(c.Timesteps) {
						t.Fatalf("%d timesteps, want %v", len(res.Timesteps), c.Timesteps)
					}
					for i, ts := range c.Timesteps {
						if res.Timesteps[i] != ts {
							t.Fatalf("timesteps %v, want %v", res.Timesteps, c.Timesteps)
						}
					}
					golden.Close(t, "final_latents", res.Latents, golden.Float32(t, g, c.FinalLatents.Key), 1e-4)
					img := res.Images[0]
					golden.Close(t, "image_nhwc", img.Pix, golden.Float32(t, g, c.ImageNHWC.Key), 1e-4)
					want, err := g.Uint8(c.ImageU8.Key)
					if err != nil {
						t.Fatal(err)
					}
					worst := 0
					for i, v := range img.RGB8() {
						worst = max(worst, int(math.Abs(float64(int(v)-int(want[i])))))
					}
					if worst > 1 {
						t.Errorf("u8 image differs by %d levels", worst)
					}
				})
			}
		})
	}
}

func TestValidateOptions(t *testing.T) {
	p := openPipeline(t, golden.Path(t, "tiny-sd1"))
	ok := Options{Prompt: "x", Steps: 2, Guidance: 4, Width: 64, Height: 64, NumImages: 1}
	cases := map[string]func(o *Options){
		"width and height must be positive multiples of 8": func(o *Options) { o.Width = 60 },
		"steps must be at least 1":                         func(o *Options) { o.Steps = 0 },
		"guidance must not be negative":                    func(o *Options) { o.Guidance = -1 },
		"num-images must be at least 1":                    func(o *Options) { o.NumImages = 0 },
		"larger than the 16384-pixel limit":                func(o *Options) { o.Width = 1 << 30 },
		"more than this machine's":                         func(o *Options) { o.Width, o.Height, o.NumImages = 16384, 16384, 4096 }, // ~0.5 PiB
		"prompt is 40000 bytes, more than the 32768":       func(o *Options) { o.Prompt = strings.Repeat("x", 40000) },
		"negative prompt is 32769 bytes":                   func(o *Options) { o.NegativePrompt = strings.Repeat("é", 16384) + "x" },
	}
	for want, edit := range cases {
		o := ok
		edit(&o)
		if err := p.Validate(o); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want %q", err, want)
		}
	}
	if err := p.Validate(ok); err != nil {
		t.Error(err)
	}
}

// TestTruncationWarning: a prompt past 75 tokens is encoded from its first
// 75, and the warning quotes at most maxDroppedShown characters of the rest
// (its start and end).
func TestTruncationWarning(t *testing.T) {
	p := openPipeline(t, golden.Path(t, "tiny-sd1"))
	long := strings.Repeat("effusion ", 4000) // 36,000 bytes: over the limit for a prompt, not for Encode
	var warn strings.Builder
	e1, err := p.Encode(long, &warn)
	if err != nil {
		t.Fatal(err)
	}
	msg := warn.String()
	if !strings.Contains(msg, "longer than 75 tokens") || !strings.Contains(msg, "dropped: \"fusion effusion") || !strings.Contains(msg, " … (35464 characters) … ") || len(msg) > 400 {
		t.Errorf("warning (%d bytes): %q", len(msg), msg)
	}
	e2, _ := p.Encode(strings.Repeat("effusion ", 75)+"cardiomegaly", nil)
	if !slices.Equal(e1, e2) {
		t.Error("the states of a truncated prompt differ from those of its first 75 tokens")
	}
}

// TestImagesOfADraw: making only image k of a NumImages draw gives the
// image the whole draw gives at k, for a deterministic sampler and for an
// ancestral one (whose step noise is drawn for all NumImages images).
func TestImagesOfADraw(t *testing.T) {
	p := openPipeline(t, golden.Path(t, "tiny-sd1"))
	for _, sched := range []string{"", "euler-a"} {
		o := Options{Prompt: "Cardiomegaly.", Seed: 11, Steps: 3, Guidance: 4, Width: 64, Height: 64, NumImages: 3, Scheduler: sched}
		all, err := p.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		o.Images = []int{0, 2}
		some, err := p.Generate(o)
		if err != nil {
			t.Fatal(err)
		}
		if len(some.Images) != 2 || !slices.Equal(some.Images[0].Pix, all.Images[0].Pix) || !slices.Equal(some.Images[1].Pix, all.Images[2].Pix) {
			t.Errorf("%q: images 0 and 2 made alone differ from those of the whole draw", sched)
		}
		if slices.Equal(all.Images[1].Pix, all.Images[2].Pix) {
			t.Fatal("images 1 and 2 of the draw are equal: the test would not see a wrong pick")
		}
	}
	if err := p.Validate(Options{Prompt: "x", Steps: 2, Width: 64, Height: 64, NumImages: 2, Images: []int{2}}); err == nil || !strings.Contains(err.Error(), "below num-images 2") {
		t.Errorf("index out of range: %v", err)
	}
}
