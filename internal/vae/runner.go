package vae

import (
	"fmt"

	"github.com/roentgen-dev/roentgen/internal/graph"
)

// Runner compiles the decoder once per latent shape.
type Runner struct {
	graph.Cache
	d     *Decoder
	shape [3]int
	in    []float32
}

// NewRunner returns a runner for d.
func NewRunner(d *Decoder) *Runner { return &Runner{d: d} }

// Decode turns latents [batch, Latent, h, w] as the sampler leaves them
// into images [batch, Out, h·s, w·s]: it divides by scaling_factor, decodes,
// and returns the raw decoder output (the caller's own copy).
func (r *Runner) Decode(latents []float32, batch, h, w int) ([]float32, error) {
	a := r.d.Arch
	if batch <= 0 || h <= 0 || w <= 0 || len(latents) != batch*a.Latent*h*w {
		return nil, fmt.Errorf("vae: latents have %d values, want %d x %d x %d x %d", len(latents), batch, a.Latent, h, w)
	}
	if s := [3]int{batch, h, w}; r.Program() == nil || r.shape != s {
		p, err := graph.Compile(graph.NewBuilder(), func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
			z := b.Input("latents", batch, a.Latent, h, w)
			return []*graph.Tensor{z}, []*graph.Tensor{r.d.Forward(b, z)}
		})
		if err != nil {
			return nil, fmt.Errorf("vae: building the graph for %dx%d latents: %w", h, w, err)
		}
		r.Replace(p)
		r.shape, r.in = s, make([]float32, len(latents))
	}
	for i, v := range latents {
		r.in[i] = v / a.Scaling // latents / scaling_factor, as diffusers divides
	}
	out, err := r.Program().Run(r.in)
	if err != nil {
		return nil, fmt.Errorf("vae: %w", err)
	}
	return out[0], nil
}
