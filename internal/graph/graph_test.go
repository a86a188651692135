package graph

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/kernels"
)

// chain builds x → (Linear → GELU) x depth → + x, with a residual that
// keeps x alive, and two distinct inputs of the same shape (gorgonia merges
// such nodes unless every op is unique).
func chain(depth, rows int, w []float32) func(b *Builder) ([]*Tensor, []*Tensor) {
	return func(b *Builder) ([]*Tensor, []*Tensor) {
		x := b.Input("x", rows, 4)
		y := b.Input("y", rows, 4)
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
	h := make([]float32, len(x))
	for i := range h {
		h[i] = x[i] + y[i]
	}
	for range depth {
		t := make([]float32, len(x))
		for r := range len(x) / 4 {
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
	p, err := Compile(NewBuilder(), chain(depth, 3, w))
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

// TestLargeArenaOutputsOutliveIt runs a program whose arena is large
// enough to be mapped from the kernel on Linux (mapArena), releases it, and
// checks that outputs returned before the release keep their values and
// that the next run maps a fresh arena.
func TestLargeArenaOutputsOutliveIt(t *testing.T) {
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i%7)*0.1 - 0.3
	}
	const rows = 1 << 16 // 1 MiB per tensor
	p, err := Compile(NewBuilder(), chain(2, rows, w))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mapped := func() bool { return p.mapped != nil && p.mapped.b != nil }
	var kept [][]float32
	for run := range 2 {
		x, y := make([]float32, rows*4), make([]float32, rows*4)
		for i := range x {
			x[i], y[i] = float32(i%13+run)*0.1, float32(i%5)-0.5
		}
		out, err := p.Run(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS == "linux" && !mapped() {
			t.Fatalf("run %d: a %d-byte arena was not mapped", run, p.ArenaBytes())
		}
		want := reference(2, w, x, y)
		if run == 0 {
			kept = out
			p.Release()
			if mapped() {
				t.Fatal("Release left the arena mapped")
			}
		}
		for i := range want {
			if run == 0 && math.Abs(float64(kept[0][i]-want[i])) > 1e-5 {
				t.Fatalf("output %d after Release: %v, want %v", i, kept[0][i], want[i])
			}
			if math.Abs(float64(out[0][i]-want[i])) > 1e-5 {
				t.Fatalf("run %d: out[%d] = %v, want %v", run, i, out[0][i], want[i])
			}
		}
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

// TestLinearResidual checks Linear's optional residual input: added to the
// product, and refused unless it has the output's shape.
func TestLinearResidual(t *testing.T) {
	w := []float32{1, 2, 3, 4, 5, 6} // [Out 2, In 3]
	lin := ops.Linear{W: kernels.Weights{F32: w}, Bias: []float32{0.5, -1}, In: 3, Out: 2}
	p, err := Compile(NewBuilder(), func(b *Builder) ([]*Tensor, []*Tensor) {
		x, r := b.Input("x", 2, 3), b.Input("r", 2, 2)
		return []*Tensor{x, r}, []*Tensor{b.Apply(lin, x, r)}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Run([]float32{1, 0, 2, -1, 1, 1}, []float32{10, 20, 30, 40})
	if err != nil {
		t.Fatal(err)
	}
	// x·Wᵀ = [[7, 16], [4, 7]], + bias, + r.
	if want := []float32{17.5, 35, 34.5, 46}; !slices.Equal(out[0], want) {
		t.Errorf("got %v, want %v", out[0], want)
	}
	_, err = Compile(NewBuilder(), func(b *Builder) ([]*Tensor, []*Tensor) {
		x, r := b.Input("x", 2, 3), b.Input("r", 2, 3)
		return []*Tensor{x, r}, []*Tensor{b.Apply(lin, x, r)}
	})
	if err == nil || !strings.Contains(err.Error(), "residual of the output's shape [2 2]") {
		t.Fatalf("got %v", err)
	}
}

// counted is a kernel that wraps k and counts the runs of its plans.
type counted struct {
	ops.Kernel
	runs *int
}

func (c counted) Plan(in [][]int) (ops.Plan, error) {
	p, err := c.Kernel.Plan(in)
	run := p.Run
	p.Run = func(out []float32, in [][]float32) { *c.runs++; run(out, in) }
	return p, err
}

// TestSlowInputSkipsRepeatedWork builds k = Linear(c) from a slow input c
// after a chain on x whose intermediates are dead by then, and then
// gelu³(x) + k followed by a chain: were k's slot not kept for the whole
// run, both chains would reuse it. Runs whose c repeats bit for bit must
// skip the projection and still give the right output; a first run, a
// changed c (even -0 for +0) or a new arena recomputes it.
func TestSlowInputSkipsRepeatedWork(t *testing.T) {
	w := make([]float32, 16)
	for i := range w {
		w[i] = float32(i%5)*0.1 - 0.2
	}
	const rows = 3
	bias := []float32{0.1, -0.2, 0.3, 0.4}
	var slowRuns, fastRuns int
	p, err := Compile(NewBuilder(), func(b *Builder) ([]*Tensor, []*Tensor) {
		x, c := b.Input("x", rows, 4), b.SlowInput("c", rows, 4)
		h := x
		for range 3 {
			h = b.Apply(ops.Unary{Act: ops.GELU}, h)
		}
		k := b.Apply(counted{ops.Linear{W: kernels.Weights{F32: w}, Bias: bias, In: 4, Out: 4}, &slowRuns}, c)
		h = b.Apply(counted{ops.Add{}, &fastRuns}, h, k)
		for range 4 {
			h = b.Apply(ops.Unary{Act: ops.GELU}, h)
			h = b.Apply(ops.Unary{Act: ops.GELU}, h)
		}
		return []*Tensor{x, c}, []*Tensor{h}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	gelu := func(v float32) float32 { return float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2))) }
	c := []float32{0.5, -1, 2, 0, 1, 1, -0.5, 3, 0, 0, 0, 0}
	for run, tc := range []struct {
		name       string
		change     func()
		release    bool
		slow, fast int
	}{
		{name: "first", slow: 1, fast: 1},
		{name: "repeat", slow: 1, fast: 2},
		{name: "repeat again", slow: 1, fast: 3},
		{name: "-0 for +0", change: func() { c[3] = float32(math.Copysign(0, -1)) }, slow: 2, fast: 4},
		{name: "new value", change: func() { c[0] = 0.25 }, slow: 3, fast: 5},
		{name: "repeat after change", slow: 3, fast: 6},
		{name: "zeros", change: func() { clear(c) }, slow: 4, fast: 7},
		// A new arena holds zeros too, but not the projection's bias.
		{name: "zeros after Release", release: true, slow: 5, fast: 8},
	} {
		if tc.change != nil {
			tc.change()
		}
		if tc.release {
			p.Release()
		}
		x := make([]float32, rows*4)
		for i := range x {
			x[i] = float32(i+run) * 0.05
		}
		out, err := p.Run(x, c)
		if err != nil {
			t.Fatal(err)
		}
		if slowRuns != tc.slow || fastRuns != tc.fast {
			t.Errorf("%s: projection ran %d times, add %d; want %d and %d", tc.name, slowRuns, fastRuns, tc.slow, tc.fast)
		}
		for r := range rows {
			for o := range 4 {
				s := float64(bias[o])
				for i := range 4 {
					s += float64(c[r*4+i]) * float64(w[o*4+i])
				}
				h := x[r*4+o]
				for range 3 {
					h = gelu(h)
				}
				h += float32(s)
				for range 8 {
					h = gelu(h)
				}
				if got := out[0][r*4+o]; math.Abs(float64(got-h)) > 1e-5 {
					t.Fatalf("%s: out[%d][%d] = %v, want %v", tc.name, r, o, got, h)
				}
			}
		}
	}
}

// TestInPlacePlanning checks that an InPlace op (GroupNorm) takes its
// input's slot only when it is that input's last use and the input is an
// intermediate, and that the results are those of separate buffers.
func TestInPlacePlanning(t *testing.T) {
	const n, c, hw = 2, 4, 5
	w := make([]float32, hw*hw)
	for i := range w {
		w[i] = float32(i%7)*0.1 - 0.3
	}
	gamma, beta := []float32{1, 0.5, -1, 2}, []float32{0, 0.1, 0.2, -0.3}
	lin := ops.Linear{W: kernels.Weights{F32: w}, In: hw, Out: hw}
	gn := ops.GroupNorm{Gamma: gamma, Beta: beta, Groups: 2, Eps: 1e-5, SiLU: true}
	x := make([]float32, n*c*hw)
	for i := range x {
		x[i] = float32(i%11)*0.2 - 1
	}
	// The reference, with a buffer per value.
	h := make([]float32, len(x))
	kernels.Linear(h, x, kernels.Weights{F32: w}, nil, n*c, hw, hw)
	g := make([]float32, len(x))
	kernels.GroupNorm(g, h, gamma, beta, n, c, hw, 2, 1e-5, true)
	for _, tc := range []struct {
		name    string
		reuse   bool // h is used again after the norm
		onInput bool // the norm reads the input itself
	}{{"last use", false, false}, {"used again", true, false}, {"input", false, true}} {
		var hn, gnode *Tensor
		p, err := Compile(NewBuilder(), func(b *Builder) ([]*Tensor, []*Tensor) {
			in := b.Input("x", n, c, hw)
			hn = in
			if !tc.onInput {
				hn = b.Apply(lin, in)
			}
			gnode = b.Apply(gn, hn)
			out := b.Apply(ops.Unary{Act: ops.GELU}, gnode)
			if tc.reuse {
				out = b.Apply(ops.Add{}, out, hn)
			}
			return []*Tensor{in}, []*Tensor{out}
		})
		if err != nil {
			t.Fatal(err)
		}
		shared := p.b.nodes[hn.id].off == p.b.nodes[gnode.id].off
		if want := tc.name == "last use"; shared != want {
			t.Errorf("%s: norm output shares its input's slot: %v, want %v", tc.name, shared, want)
		}
		out, err := p.Run(x)
		if err != nil {
			t.Fatal(err)
		}
		src := h
		if tc.onInput {
			src = make([]float32, len(x))
			kernels.GroupNorm(src, x, gamma, beta, n, c, hw, 2, 1e-5, true)
		} else {
			src = g
		}
		for i, v := range src {
			want := float32(0.5 * float64(v) * (1 + math.Erf(float64(v)/math.Sqrt2)))
			if tc.reuse {
				want += h[i]
			}
			if math.Abs(float64(out[0][i]-want)) > 1e-5 {
				t.Fatalf("%s: out[%d] = %v, want %v", tc.name, i, out[0][i], want)
			}
		}
		p.Close()
	}
}
