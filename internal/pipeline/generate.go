package pipeline

import (
	"context"
	"fmt"
	"io"
	"math"
	"time"
	"unicode/utf8"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/roentgen-dev/roentgen/internal/rng"
	"github.com/roentgen-dev/roentgen/internal/sampler"
)

// Options are one text-to-image request, with diffusers'
// StableDiffusionPipeline.__call__ semantics.
type Options struct {
	Prompt, NegativePrompt string
	Seed                   uint64  // torch.Generator().manual_seed(Seed)
	Steps                  int     // num_inference_steps
	Guidance               float64 // guidance_scale; <= 1 turns classifier-free guidance off
	Scheduler              string  // sampler name or diffusers class; "" = the model's own
	Eta                    float64 // DDIM η
	Width, Height          int
	NumImages              int // num_images_per_prompt
	// Images, when not nil, makes only these images (increasing indices) of
	// the NumImages draw: the same latents and step noise as in the whole
	// draw, so image k comes out as it does among all NumImages.
	Images   []int
	Latents  []float32 // optional initial latents [N, C, h, w] (diffusers' latents=); nil draws them from Seed
	Warn     io.Writer // truncation warnings; nil for none
	Progress func(Event)
	Ctx      context.Context // checked between steps; nil never cancels
}

// Event reports progress: a stage starting or finishing, or a denoising step.
type Event struct {
	Stage       string // "encode", "denoise", "decode"
	Step, Total int    // denoising step (1-based) of Total; 0 for stage events
	Done        bool   // the stage finished
	Elapsed     time.Duration
}

// Result holds the generated images and what produced them.
type Result struct {
	Images    []imageio.Image
	Latents   []float32 // final latents [N, C, h, w]
	Timesteps []float64
	Stages    map[string]time.Duration
}

// Size limits that no machine this runs on can serve; memory is checked
// against the estimate too.
const (
	maxSide   = 16384
	MaxImages = 4096 // images per call: --num-images, or batch's --batch-size
)

// Validate checks the options against the model; errors name the setting.
func (p *Pipeline) Validate(o Options) error {
	sf := p.Models.VAEArch.ScaleFactor()
	switch {
	case o.Width <= 0 || o.Height <= 0 || o.Width%sf != 0 || o.Height%sf != 0:
		return fmt.Errorf("width and height must be positive multiples of %d, got %dx%d", sf, o.Width, o.Height)
	case math.IsNaN(o.Guidance) || math.IsInf(o.Guidance, 0):
		return fmt.Errorf("guidance must be a finite number, got %g", o.Guidance)
	case math.IsNaN(o.Eta) || math.IsInf(o.Eta, 0):
		return fmt.Errorf("eta must be a finite number, got %g", o.Eta)
	case !utf8.ValidString(o.Prompt) || !utf8.ValidString(o.NegativePrompt):
		return fmt.Errorf("the prompt and negative prompt must be valid UTF-8")
	case clip.CheckText(o.Prompt) != nil:
		return fmt.Errorf("prompt is %w", clip.CheckText(o.Prompt))
	case clip.CheckText(o.NegativePrompt) != nil:
		return fmt.Errorf("negative prompt is %w", clip.CheckText(o.NegativePrompt))
	case o.Steps < 1:
		return fmt.Errorf("steps must be at least 1, got %d", o.Steps)
	case o.Guidance < 0:
		return fmt.Errorf("guidance must not be negative, got %g", o.Guidance)
	case o.NumImages < 1:
		return fmt.Errorf("num-images must be at least 1, got %d", o.NumImages)
	case o.Eta < 0:
		return fmt.Errorf("eta must not be negative, got %g", o.Eta)
	case o.Width > maxSide || o.Height > maxSide:
		return fmt.Errorf("%dx%d is larger than the %d-pixel limit per side", o.Width, o.Height, maxSide)
	case o.NumImages > MaxImages:
		return fmt.Errorf("num-images %d is more than %d per call (use roentgen batch)", o.NumImages, MaxImages)
	}
	if _, err := sampler.New(o.Scheduler, p.samplerConfig(o.Scheduler), o.Steps, sampler.Options{Eta: o.Eta}); err != nil {
		if o.Scheduler == "" { // the model's own scheduler: name its config
			return fmt.Errorf("scheduler: %s: %w", p.Models.Folder.Path("scheduler", "scheduler_config.json"), err)
		}
		return fmt.Errorf("scheduler: %w", err)
	}
	for i, k := range o.Images {
		if k < 0 || k >= o.NumImages || (i > 0 && k <= o.Images[i-1]) {
			return fmt.Errorf("images %v must be increasing indices below num-images %d", o.Images, o.NumImages)
		}
	}
	if o.Images != nil && (len(o.Images) == 0 || o.Latents != nil) {
		return fmt.Errorf("images must list at least one index, and cannot be combined with given latents")
	}
	batch := o.count()
	if o.Guidance > 1 {
		batch *= 2
	}
	e, err := p.Models.EstimateMemory(o.Width, o.Height, batch)
	if err != nil {
		return err
	}
	if o.Images != nil { // the whole draw's latents and one step's noise are drawn before picking
		e.Total += 2 * 4 * int64(o.NumImages) * int64(p.Models.UNetArch.In*(o.Height/sf)*(o.Width/sf))
	}
	if have := totalMemory(); have > 0 && e.Total > have {
		return fmt.Errorf("a %dx%d generation of %d image(s) needs about %.1f GiB, more than this machine's %.1f GiB; use a smaller size or fewer images",
			o.Width, o.Height, o.NumImages, float64(e.Total)/(1<<30), float64(have)/(1<<30))
	}
	if o.Latents != nil {
		if want := o.NumImages * p.Models.UNetArch.In * (o.Height / sf) * (o.Width / sf); len(o.Latents) != want {
			return fmt.Errorf("latents have %d values, want %d", len(o.Latents), want)
		}
	}
	return nil
}

// count is the number of images a call makes.
func (o Options) count() int {
	if o.Images != nil {
		return len(o.Images)
	}
	return o.NumImages
}

// pick gathers the blocks of size floats at idx from xs.
func pick(xs []float32, idx []int, size int) []float32 {
	out := make([]float32, 0, len(idx)*size)
	for _, k := range idx {
		out = append(out, xs[k*size:(k+1)*size]...)
	}
	return out
}

// Generate runs the whole pipeline: encode the prompts, draw the latents,
// denoise with classifier-free guidance, decode.
func (p *Pipeline) Generate(o Options) (*Result, error) {
	if err := p.Validate(o); err != nil {
		return nil, err
	}
	var ctx []float32
	r := &run{p: p, o: o, res: &Result{Stages: map[string]time.Duration{}}}
	err := r.stage("encode", func() (err error) {
		ctx, err = p.conditioning(o, o.Guidance > 1)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Latents: one torch.randn draw of [N, C, h, w] on the seeded generator;
	// later draws (ancestral noise, DDIM η > 0) continue on the same
	// generator, as diffusers passes it to step().
	gen := rng.New(o.Seed)
	latents, noise := o.Latents, sampler.Noise(gen.Randn)
	switch {
	case latents != nil:
		latents = append([]float32(nil), latents...)
	case o.Images != nil:
		size := r.latentSize()
		latents = pick(gen.Randn(o.NumImages*size), o.Images, size)
		noise = func(m int) []float32 {
			per := m / len(o.Images)
			return pick(gen.Randn(o.NumImages*per), o.Images, per)
		}
	default:
		latents = gen.Randn(o.NumImages * r.latentSize())
	}
	if err := r.denoise(latents, ctx, o.count(), noise); err != nil {
		return nil, err
	}
	return r.res, nil
}

// Item is one image of a batch: its own prompts and seed.
type Item struct {
	Prompt, NegativePrompt string
	Seed                   uint64
}

// GenerateItems denoises several items in one batch (one U-Net call of
// 2·len(items) with guidance). Each item draws its latents and its step
// noise from its own generator seeded with item.Seed, so an item's image is
// the one `Generate` gives for that prompt and seed with one image,
// whatever else is in the batch. o's prompts, seed, latents and NumImages
// are ignored.
func (p *Pipeline) GenerateItems(items []Item, o Options) (*Result, error) {
	o.NumImages = len(items)
	o.Latents = nil
	if err := p.Validate(o); err != nil {
		return nil, err
	}
	r := &run{p: p, o: o, res: &Result{Stages: map[string]time.Duration{}}}
	cfg := o.Guidance > 1
	var neg, cond []float32
	err := r.stage("encode", func() error {
		for _, it := range items {
			e, err := p.Encode(it.Prompt, o.Warn)
			if err != nil {
				return err
			}
			cond = append(cond, e...)
			if cfg {
				if e, err = p.Encode(it.NegativePrompt, o.Warn); err != nil {
					return err
				}
				neg = append(neg, e...)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	gens := make([]*rng.Generator, len(items))
	per := r.latentSize()
	latents := make([]float32, 0, len(items)*per)
	for i, it := range items {
		gens[i] = rng.New(it.Seed)
		latents = append(latents, gens[i].Randn(per)...)
	}
	noise := func(n int) []float32 {
		out := make([]float32, 0, n)
		for _, g := range gens {
			out = append(out, g.Randn(n/len(gens))...)
		}
		return out
	}
	if err := r.denoise(latents, append(neg, cond...), len(items), noise); err != nil {
		return nil, err
	}
	return r.res, nil
}

// conditioning builds the U-Net's encoder_hidden_states: the prompt's
// embedding repeated N times, preceded by the negative prompt's N times
// when guidance is on (diffusers' [uncond, cond] batch order).
func (p *Pipeline) conditioning(o Options, cfg bool) ([]float32, error) {
	cond, err := p.Encode(o.Prompt, o.Warn)
	if err != nil {
		return nil, err
	}
	var ctx []float32
	if cfg {
		neg, err := p.Encode(o.NegativePrompt, o.Warn)
		if err != nil {
			return nil, err
		}
		for range o.count() {
			ctx = append(ctx, neg...)
		}
	}
	for range o.count() {
		ctx = append(ctx, cond...)
	}
	return ctx, nil
}

// guide combines the [uncond; cond] halves as u + g·(c − u), each operation
// rounded to float32 as torch computes it.
func guide(out []float32, g float32) []float32 {
	half := len(out) / 2
	res := make([]float32, half)
	for i := range res {
		u, c := out[i], out[half+i]
		d := c - u
		res[i] = u + float32(g*d) // no fused multiply-add: torch rounds the product
	}
	return res
}
