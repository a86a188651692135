package kernels

import "testing"

// TestThreadsDeterministic runs every parallel kernel with 1, 2 and 3
// workers and requires bit-identical results.
func TestThreadsDeterministic(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		p := Conv2DParams{N: 2, Cin: 37, H: 40, W: 41, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1}
		oh, ow := p.OutHW()
		x, w := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*9)
		res := randSlice(3, p.N*p.Cout*oh*ow)
		a, b := randSlice(4, 300*700), randSlice(5, 700*600)
		q, k, v := randSlice(6, 200*2*40), randSlice(7, 300*2*40), randSlice(8, 300*2*40)
		big := randSlice(9, 3*elemChunk+5)
		// Enough queries that the queries per task depend on the thread count.
		ql, kl := randSlice(10, 1100*8), randSlice(11, 1100*8)
		cases := []struct {
			name string
			n    int
			f    func(out []float32)
		}{
			{"Sgemm", 300 * 600, func(out []float32) { Sgemm(false, false, 300, 600, 700, 1, a, 700, b, 600, 0, out, 600) }},
			{"Linear", 300 * 600, func(out []float32) { Linear(out, a, Weights{F32: b}, b[:600], 300, 700, 600) }},
			{"Conv2D", len(res), func(out []float32) { Conv2D(out, x, Weights{F32: w}, w[:33], res, p) }},
			{"Conv2DDirect", len(res), func(out []float32) { conv2DDirect(active, out, x, Weights{F32: w}, w[:33], res, p) }},
			{"Conv2DWinograd2", len(res), func(out []float32) { conv3x3Winograd(active, wg2, out, x, Weights{F32: w}, w[:33], res, p) }},
			{"Conv2DWinograd4", len(res), func(out []float32) { conv3x3Winograd(active, wg4, out, x, Weights{F32: w}, w[:33], res, p) }},
			// Few tiles: tasks split the output channels as well.
			{"Conv2DWinogradFewTiles", 33 * 5 * 7, func(out []float32) {
				conv3x3Winograd(active, wg2, out, x, Weights{F32: w}, w[:33], nil, Conv2DParams{N: 1, Cin: 37, H: 5, W: 7, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1})
			}},
			{"Attention", len(q), func(out []float32) { Attention(out, q, k, v, 1, 200, 300, 2, 40, 0.15, false) }},
			{"AttentionCausal", len(q), func(out []float32) { Attention(out, q, k[:len(q)], v[:len(q)], 1, 200, 200, 2, 40, 0.15, true) }},
			{"AttentionLong", len(ql), func(out []float32) { Attention(out, ql, kl, big[:len(ql)], 1, 1100, 1100, 1, 8, 0.3, false) }},
			{"AttentionLongCausal", len(ql), func(out []float32) { Attention(out, ql, kl, big[:len(ql)], 1, 1100, 1100, 1, 8, 0.3, true) }},
			{"GroupNorm", len(x), func(out []float32) { GroupNorm(out, x, w, w, 2, 37, 40*41, 37, 1e-5, true) }},
			{"LayerNorm", 300 * 700, func(out []float32) { LayerNorm(out, a, b, b, 300, 700, 1e-5) }},
			{"Softmax", 300 * 700, func(out []float32) { Softmax(out, a, 300, 700) }},
			{"GELU", len(big), func(out []float32) { GELU(out, big) }},
			{"SiLU", len(big), func(out []float32) { SiLU(out, big) }},
		}
		for _, c := range cases {
			var ref []float32
			for _, n := range []int{1, 2, 3} {
				out := make([]float32, c.n)
				withThreads(n, func() { c.f(out) })
				if ref == nil {
					ref = out
					continue
				}
				sameBits(t, name("%s threads=%d", c.name, n), out, ref)
			}
		}
	})
}

// TestMicroKernel checks that MicroKernel names the active kernel and its
// register block.
func TestMicroKernel(t *testing.T) {
	want := map[string]string{"avx512": "avx512 8x32", "avx2": "avx2 6x16", "neon": "neon 12x8", "go": "go 4x4"}[active.name]
	if got := MicroKernel(); got != want {
		t.Errorf("MicroKernel() = %q, want %q", got, want)
	}
}

// TestUseMicroKernel switches to each available micro-kernel and back, and
// rejects a name the CPU does not have.
func TestUseMicroKernel(t *testing.T) {
	orig := active
	defer func() { active = orig }()
	names := MicroKernels()
	if names[0] != orig.name || names[len(names)-1] != "go" {
		t.Fatalf("MicroKernels() = %v, active %s", names, orig.name)
	}
	for _, n := range names {
		if err := UseMicroKernel(n); err != nil || active.name != n {
			t.Fatalf("UseMicroKernel(%q): %v, active %s", n, err, active.name)
		}
	}
	if err := UseMicroKernel("sse9"); err == nil || active.name != "go" {
		t.Errorf("UseMicroKernel(sse9) = %v, active %s", err, active.name)
	}
}
