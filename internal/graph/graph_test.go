package graph

import (
	"math"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// chain builds x → (Linear → GELU) x depth → + x, with a residual that
// keeps x alive, and two distinct inputs of the same shape (gorgonia merges
// such nodes unless every op is unique).
func chain(depth int, w []float32) func(b *Builder) ([]*Tensor, []*Tensor) {
	return func(b *Builder) ([]*Tensor, []*Tensor) {
		x := b.Input("x", 3, 4)
		y := b.Input("y", 3, 4)
		h := b.Apply(ops.Add{}, x, y)
		for range depth {
			h = b.Apply(ops.Linear{W: kernels.Weights{F32: w}, In: 4, Out: 4}, h)
			h = b.Apply(ops.Unary{Act: ops.GELU}, h)
		}
		out := b.Apply(ops.Add{}, h, x)
		diff := b.Apply(ops.Add{}, x, x) // a second output
		return []*Tensor{x, y}, []*Tensor{out, diff}
	}
}

func reference(depth int, w, x, y []float32) []float32 {
	h := make([]float32, 12)
	for i := range h {
		h[i] = x[i] + y[i]
	}
	for range depth {
		t := make([]float32, 12)
		for r := range 3 {
			for o := range 4 {
				var s float64
				for i := range 4 {
					s += float64(h[r*4+i]) * float64(w[o*4+i])
				}
				t[r*4+o] = float32(s)
			}
		}
		for i, v := range t {
			h[i] = float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
		}
	}
	for i := range h {
		h[i] += x[i]
	}
	return h
}

func TestProgramMatchesReferenceAndReusesMemory(t *testing.T) {
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i%5)*0.1 - 0.2
	}
	const depth = 20
	p, err := Compile(NewBuilder(), chain(depth, w))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for run := range 3 { // re-running with new inputs must not rebuild or drift
		if run == 2 {
			p.Release() // the next Run allocates the arena again and rebinds the inputs
		}
		x, y := make([]float32, 12), make([]float32, 12)
		for i := range x {
			x[i], y[i] = float32(i+run)*0.1, float32(run)-0.5
		}
		out, err := p.Run(x, y)
		if err != nil {
			t.Fatal(err)
		}
		want := reference(depth, w, x, y)
		for i := range want {
			if math.Abs(float64(out[0][i]-want[i])) > 1e-5 {
				t.Fatalf("run %d: out[%d] = %v, want %v", run, i, out[0][i], want[i])
			}
			if out[1][i] != 2*x[i] {
				t.Fatalf("run %d: second output[%d] = %v, want %v", run, i, out[1][i], 2*x[i])
			}
		}
	}
	// 2 inputs + 2 outputs + 2 live intermediates, each padded to 16 floats,
	// instead of one slot for each of the 43 nodes.
	if got := p.ArenaBytes(); got > 6*16*4 {
		t.Errorf("arena %d bytes: intermediates are not being reused", got)
	}
}

func TestCompileReportsShapeErrors(t *testing.T) {
	_, err := Compile(NewBuilder(), func(b *Builder) ([]*Tensor, []*Tensor) {
		x := b.Input("x", 2, 3)
		var y *Tensor
		b.Scope("down_blocks.0", func() {
			y = b.Apply(ops.Linear{W: kernels.Weights{F32: make([]float32, 20)}, In: 5, Out: 4}, x)
		})
		return []*Tensor{x}, []*Tensor{y}
	})
	if err == nil || !strings.Contains(err.Error(), "down_blocks.0: Linear: input shapes [[2 3]]") {
		t.Fatalf("got %v", err)
	}
}
