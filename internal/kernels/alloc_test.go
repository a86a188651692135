package kernels

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// TestSteadyStateAllocations checks that, once the scratch pools are warm,
// a convolution or Linear call allocates only its small bookkeeping (task
// closures, the GEMM descriptor), not scratch per task or per tile: a
// local array handed to a micro-kernel or transform through a func value
// escapes to the heap, and at SD sizes that was 45 MB of garbage a step.
func TestSteadyStateAllocations(t *testing.T) {
	type call struct {
		name string
		f    func()
	}
	var cases []call
	for _, p := range []Conv2DParams{
		{N: 2, Cin: 40, H: 37, W: 35, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1}, // F(4x4), edge tiles
		{N: 2, Cin: 40, H: 13, W: 11, Cout: 33, KH: 3, KW: 3, Stride: 1, Pad: 1}, // F(2x2)
		{N: 1, Cin: 40, H: 13, W: 11, Cout: 33, KH: 3, KW: 3, Stride: 2, Pad: 1}, // direct, edge tiles
	} {
		x, w := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*9)
		oh, ow := p.OutHW()
		out, res := make([]float32, p.N*p.Cout*oh*ow), randSlice(3, p.N*p.Cout*oh*ow)
		cases = append(cases, call{Conv2DAlgorithm(p), func() { Conv2D(out, x, Weights{F32: w}, w[:p.Cout], res, p) }})
	}
	a, b := randSlice(4, 1000*70), randSlice(5, 45*70)
	c := make([]float32, 1000*45)
	cases = append(cases, call{"Linear", func() { Linear(c, a, Weights{F32: b}, b[:45], 1000, 70, 45) }})
	// A collection empties the pools; none may run while measuring.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, cs := range cases {
		for range 3 {
			cs.f() // fill the pools
		}
		// The least of a few rounds: a pool can miss now and then when a
		// task runs on another P than the one that returned the buffer,
		// while an escaping array allocates on every call.
		per := ^uint64(0)
		for range 5 {
			var m0, m1 runtime.MemStats
			const calls = 10
			runtime.ReadMemStats(&m0)
			for range calls {
				cs.f()
			}
			runtime.ReadMemStats(&m1)
			per = min(per, (m1.TotalAlloc-m0.TotalAlloc)/calls)
		}
		t.Logf("%s: %d bytes per call", cs.name, per)
		if per > 16<<10 {
			t.Errorf("%s: %d bytes allocated per call, want at most 16 KiB", cs.name, per)
		}
	}
}
