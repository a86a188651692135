package unet

import (
	"fmt"
	"math"

	"github.com/roentgen-dev/roentgen/internal/graph"
)

// Runner compiles the U-Net once per input shape and re-runs it each step.
type Runner struct {
	graph.Cache
	m     *Model
	shape [4]int // batch, height, width, context length
	temb  []float32
}

// NewRunner returns a runner for m; graphs are compiled on first use.
func NewRunner(m *Model) *Runner { return &Runner{m: m} }

// Predict runs the U-Net on x [batch, In, h, w] at timestep t for every
// batch element, conditioned on ctx [batch, ctxLen, CrossDim]. The result
// [batch, Out, h, w] is the caller's own copy.
func (r *Runner) Predict(x []float32, t float64, ctx []float32, batch, h, w int) ([]float32, error) {
	a := r.m.Arch
	if batch <= 0 || h <= 0 || w <= 0 || len(x) != batch*a.In*h*w {
		return nil, fmt.Errorf("unet: latent has %d values, want batch %d x %d x %d x %d", len(x), batch, a.In, h, w)
	}
	if len(ctx) == 0 || len(ctx)%(batch*a.CrossDim) != 0 {
		return nil, fmt.Errorf("unet: text states have %d values, not a multiple of batch %d x %d", len(ctx), batch, a.CrossDim)
	}
	shape := [4]int{batch, h, w, len(ctx) / (batch * a.CrossDim)}
	if r.Program() == nil || r.shape != shape {
		if err := r.compile(shape); err != nil {
			return nil, err
		}
	}
	emb := TimestepEmbedding(t, a.C0, a.FlipSinToCos, a.FreqShift)
	for i := range batch {
		copy(r.temb[i*a.C0:], emb)
	}
	in := x
	if a.CenterInput {
		in = make([]float32, len(x))
		for i, v := range x {
			in[i] = 2*v - 1
		}
	}
	out, err := r.Program().Run(in, r.temb, ctx)
	if err != nil {
		return nil, fmt.Errorf("unet: %w", err)
	}
	return out[0], nil
}

func (r *Runner) compile(s [4]int) error {
	r.Close()
	p, err := graph.Compile(graph.NewBuilder(), r.m.build(s))
	if err != nil {
		return fmt.Errorf("unet: building the graph for batch %d, latent %dx%d: %w", s[0], s[1], s[2], err)
	}
	r.Replace(p)
	r.shape, r.temb = s, make([]float32, s[0]*r.m.Arch.C0)
	return nil
}

// build returns the graph of the model for s (batch, latent height and
// width, context length).
func (m *Model) build(s [4]int) func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
	a := m.Arch
	return func(b *graph.Builder) ([]*graph.Tensor, []*graph.Tensor) {
		x := b.Input("sample", s[0], a.In, s[1], s[2])
		t := b.Input("timestep_embedding", s[0], a.C0)
		// The prompt encoding repeats every step: its keys and values are
		// projected once per image (graph.Builder.SlowInput).
		c := b.SlowInput("encoder_hidden_states", s[0], s[3], a.CrossDim)
		return []*graph.Tensor{x, t, c}, []*graph.Tensor{m.Forward(b, x, t, c)}
	}
}

// ArenaBytes is the activation arena a Runner holds for batch latents of
// h x w with ctxLen text tokens, planned without running (graph.PlanBytes).
func (m *Model) ArenaBytes(batch, h, w, ctxLen int) (int64, error) {
	n, err := graph.PlanBytes(graph.NewBuilder(), m.build([4]int{batch, h, w, ctxLen}))
	if err != nil {
		return 0, fmt.Errorf("unet: planning batch %d, latent %dx%d: %w", batch, h, w, err)
	}
	return n, nil
}

// TimestepEmbedding is diffusers' get_timestep_embedding for one timestep:
// exponent_i = -ln(10000)·i / (half - shift), arg_i = t·exp(exponent_i),
// [sin(arg), cos(arg)] (swapped to [cos, sin] with flip), zero-padded to an
// odd dim. Each step rounds to float32 as torch's float32 tensors do.
func TimestepEmbedding(t float64, dim int, flip bool, shift float64) []float32 {
	half := dim / 2
	out := make([]float32, dim)
	tf := float32(t)
	for i := range half {
		e := float32(-math.Log(10000)) * float32(i)
		e /= float32(float64(half) - shift)
		arg := tf * float32(math.Exp(float64(e)))
		s, c := float32(math.Sin(float64(arg))), float32(math.Cos(float64(arg)))
		if flip {
			s, c = c, s
		}
		out[i], out[half+i] = s, c
	}
	return out
}
