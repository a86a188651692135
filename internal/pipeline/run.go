package pipeline

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/sampler"
)

// run is one generation in progress.
type run struct {
	p   *Pipeline
	o   Options
	res *Result
}

func (r *run) emit(e Event) {
	if r.o.Progress != nil {
		r.o.Progress(e)
	}
}

func (r *run) stage(name string, f func() error) error {
	r.emit(Event{Stage: name})
	start := time.Now()
	if err := f(); err != nil {
		return err
	}
	r.res.Stages[name] = time.Since(start)
	r.emit(Event{Stage: name, Done: true, Elapsed: r.res.Stages[name]})
	return nil
}

// canceled returns the context's error once it is done.
func (r *run) canceled() error {
	if r.o.Ctx == nil {
		return nil
	}
	return r.o.Ctx.Err()
}

func (r *run) latentSize() int {
	sf := r.p.Models.VAEArch.ScaleFactor()
	return r.p.Models.UNetArch.In * (r.o.Height / sf) * (r.o.Width / sf)
}

// denoise scales the initial latents of n images by init_noise_sigma, runs
// the sampler loop with classifier-free guidance over the text states ctx
// ([uncond×n; cond×n], or cond×n without guidance), and decodes.
func (r *run) denoise(latents, ctx []float32, n int, noise sampler.Noise) error {
	p, o := r.p, r.o
	s, err := sampler.New(o.Scheduler, p.samplerConfig(o.Scheduler), o.Steps, sampler.Options{Eta: o.Eta})
	if err != nil {
		if o.Scheduler == "" { // the model's own scheduler: name its config
			return fmt.Errorf("%s: %w", p.Models.Folder.Path("scheduler", "scheduler_config.json"), err)
		}
		return err
	}
	r.res.Timesteps = s.Timesteps()
	sf := p.Models.VAEArch.ScaleFactor()
	c, h, w := p.Models.UNetArch.In, o.Height/sf, o.Width/sf
	cfg := o.Guidance > 1
	sigma := float32(s.InitNoiseSigma())
	for i := range latents {
		latents[i] *= sigma
	}
	err = r.stage("denoise", func() error {
		start := time.Now()
		for i, t := range r.res.Timesteps {
			if err := r.canceled(); err != nil {
				return err
			}
			in := s.ScaleInput(latents, i)
			batch := n
			if cfg {
				in = append(append(make([]float32, 0, 2*len(in)), in...), in...) // [uncond; cond]
				batch = 2 * n
			}
			out, err := p.unet.Predict(in, t, ctx, batch, h, w)
			if err != nil {
				return err
			}
			pred := out
			if cfg {
				pred = guide(out, float32(o.Guidance))
			}
			latents = s.Step(pred, i, latents, noise)
			if !allFinite(latents) {
				return fmt.Errorf("denoising step %d of %d (timestep %g) gave latents that are not finite (NaN or Inf): the guidance %g may be too large, or the weights or the scheduler config are broken",
					i+1, len(r.res.Timesteps), t, o.Guidance)
			}
			r.emit(Event{Stage: "denoise", Step: i + 1, Total: len(r.res.Timesteps), Elapsed: time.Since(start)})
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.res.Latents = latents
	// Only one network works at a time: hand the U-Net's activations and
	// mapped weights back before the VAE needs its own, so peak memory is
	// the larger stage, not the sum. The VAE's arena reuses the U-Net's
	// memory (graph.Program.Release), so its first pages are already in.
	p.text.Release()
	p.unet.Release()
	p.Models.release(p.Models.TextEncoderFolder)
	p.Models.release("unet")
	freeScratch()
	return r.stage("decode", func() error {
		per := c * h * w
		for i := range n {
			img, err := p.vae.Decode(latents[i*per:(i+1)*per], 1, h, w)
			if err != nil {
				return err
			}
			r.res.Images = append(r.res.Images, imageio.FromDecoder(img, p.Models.VAEArch.Out, o.Height, o.Width))
		}
		p.vae.Release()
		p.Models.release("vae")
		freeScratch() // the next image starts with the U-Net: none of the VAE's scratch
		return nil
	})
}

// freeScratch returns the kernels' pooled scratch and the Go heap's free
// memory to the operating system, so that the next stage's peak does not
// stack on this one's. Mapped arenas are kept for the next stage, resized
// to its need (graph.Program.Release).
func freeScratch() {
	kernels.DropScratch()
	debug.FreeOSMemory()
}

// allFinite reports whether no value of xs is NaN or ±Inf.
func allFinite(xs []float32) bool {
	for _, x := range xs {
		if x-x != 0 { // NaN and ±Inf give NaN
			return false
		}
	}
	return true
}
