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
		p, err := graph.Compile(graph.NewBuilder(), r.d.build(batch, h, w))
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

// build returns the graph of the decoder for batch latents of h x w.
func (d *Decoder) build(batch, h, w int) func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
	return func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
		z := b.Input("latents", batch, d.Arch.Latent, h, w)
		return []*graph.Tensor{z}, []*graph.Tensor{d.Forward(b, z)}
	}
}

// ArenaBytes is the activation arena a Runner holds to decode batch
// latents of h x w, planned without running (graph.PlanBytes).
func (d *Decoder) ArenaBytes(batch, h, w int) (int64, error) {
	n, err := graph.PlanBytes(graph.NewBuilder(), d.build(batch, h, w))
	if err != nil {
		return 0, fmt.Errorf("vae: planning %dx%d latents: %w", h, w, err)
	}
	return n, nil
}
