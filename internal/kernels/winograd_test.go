package kernels

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

// winogradCases are 3×3, stride-1, pad-1 shapes with odd sizes: H and W
// odd or not multiples of the 2×2 tile, channel counts that are not
// multiples of mr, nr or kc, more than one image, and tile counts on both
// sides of a task's block.
var winogradCases = []Conv2DParams{
	{N: 1, Cin: 1, H: 1, W: 1, Cout: 1},
	{N: 2, Cin: 3, H: 5, W: 7, Cout: 5},
	{N: 1, Cin: 4, H: 9, W: 11, Cout: 7},
	{N: 2, Cin: 37, H: 13, W: 19, Cout: 33},
	{N: 2, Cin: 331, H: 7, W: 6, Cout: 13},
	{N: 1, Cin: 5, H: 33, W: 41, Cout: 9},
	{N: 3, Cin: 2, H: 2, W: 30, Cout: 3},
	// More than a.few tiles: blocks of output tiles per task, half-size
	// blocks (fewer than wgMinTasks full ones) and full ones.
	{N: 2, Cin: 37, H: 45, W: 47, Cout: 33},
	{N: 1, Cin: 5, H: 130, W: 129, Cout: 9},
}

// wgAlgos are the Winograd algorithms the tests run.
var wgAlgos = []*wgAlgo{wg2, wg4}

// TestConv3x3Winograd checks each Winograd algorithm against the float64
// naive convolution. The tolerance is the same as TestConv2D's direct
// path: the measured worst error (TestWinogradError) is a few times
// float32's rounding of a Cin*9-term dot product, well inside 1e-5*Cin*9
// absolute.
func TestConv3x3Winograd(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, a := range wgAlgos {
			for _, p := range winogradCases {
				p.KH, p.KW, p.Stride, p.Pad = 3, 3, 1, 1
				n := p.N * p.Cout * p.H * p.W
				x := randSlice(1, p.N*p.Cin*p.H*p.W)
				w := randSlice(2, p.Cout*p.Cin*9)
				bias := randSlice(3, p.Cout)
				res := randSlice(4, n)
				k := float64(p.Cin * 9)
				for _, withRes := range []bool{false, true} {
					r := res
					if !withRes {
						r = nil
					}
					out := nanSlice(n)
					conv3x3Winograd(active, a, out, x, Weights{F32: w}, bias, r, p)
					checkClose(t, name("%s %+v res=%v", a.name, p, withRes), out, naiveConv(x, w, bias, r, p), 1e-5*k, 1e-5)
				}
				w16 := make([]uint16, len(w))
				for i, v := range w {
					w16[i] = float16.Fromfloat32(v).Bits()
					w[i] = float16.Frombits(w16[i]).Float32()
				}
				out := nanSlice(n)
				conv3x3Winograd(active, a, out, x, Weights{F16: w16}, nil, res, p)
				checkClose(t, name("%s %+v f16", a.name, p), out, naiveConv(x, w, nil, res, p), 1e-5*k, 1e-5)
			}
		}
	})
}

// TestWinogradModes checks that the few-tiles path gives the same bits as
// the tile-block path.
func TestWinogradModes(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, a := range wgAlgos {
			// One depth block with float32 weights; several (400 channels)
			// with float16 weights.
			for _, cin := range []int{41, 400} {
				p := Conv2DParams{N: 2, Cin: cin, H: 45, W: 47, Cout: 35, KH: 3, KW: 3, Stride: 1, Pad: 1}
				nt := p.N * wgTilesPerImage(a, p)
				if nt <= a.few {
					t.Fatalf("%s: %d tiles take the few-tiles path", a.name, nt)
				}
				x, w32, res := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*9), randSlice(3, p.N*p.Cout*p.H*p.W)
				w := Weights{F32: w32}
				if cin > active.kc {
					w = Weights{F16: toF16(w32)}
				}
				got, want := make([]float32, len(res)), make([]float32, len(res))
				conv3x3Winograd(active, a, want, x, w, w32[:p.Cout], res, p)
				winogradFew(active, a, got, x, w, w32[:p.Cout], res, p, nt)
				sameBits(t, name("%s %d channels: few vs blocks", a.name, cin), got, want)
			}
		}
	})
}

// TestWinogradWideRows checks that the wide row blocks wgRowBlock takes
// when the transformed weights miss the last-level cache give the bits of
// the wgRows blocks, and are right.
func TestWinogradWideRows(t *testing.T) {
	defer func(v int) { llcOverride = v }(llcOverride)
	eachKernel(t, func(t *testing.T) {
		for _, a := range wgAlgos {
			p := Conv2DParams{N: 1, Cin: 13, H: 68, W: 65, Cout: 130, KH: 3, KW: 3, Stride: 1, Pad: 1}
			if nt := p.N * wgTilesPerImage(a, p); nt <= a.few {
				t.Fatalf("%s: %d tiles take the few-tiles path", a.name, nt)
			}
			x, w, res := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*9), randSlice(3, p.N*p.Cout*p.H*p.W)
			mpad := ceilDiv(p.Cout, active.mr) * active.mr
			if wgRowBlock(mpad, active.mr, 1<<30, 1) <= ceilDiv(wgRows, active.mr)*active.mr {
				t.Fatalf("%d output channels make no wide blocks", p.Cout)
			}
			got, want := nanSlice(len(res)), nanSlice(len(res))
			llcOverride = 1 << 40
			conv3x3Winograd(active, a, want, x, Weights{F32: w}, w[:p.Cout], res, p)
			llcOverride = 1 // every weight block misses it
			conv3x3Winograd(active, a, got, x, Weights{F32: w}, w[:p.Cout], res, p)
			sameBits(t, name("%s: wide vs %d-row blocks", a.name, wgRows), got, want)
			checkClose(t, name("%s wide rows", a.name), got, naiveConv(x, w, w[:p.Cout], res, p), 1e-5*float64(p.Cin*9), 1e-5)
		}
	})
}

// TestWinogradError measures the worst error of each Winograd algorithm
// and the direct path against float64 on a U-Net-sized layer, relative to
// the largest output. F(2×2, 3×3) must stay within 4x the direct path's
// error plus 1e-6. F(4×4, 3×3)'s larger coefficients cost more, so its
// bound is the model's own precision instead: a tenth of what rounding the
// weights to float16 (as the checkpoints store them) changes the output.
// The goldens allow 1e-4 relative to the largest value.
func TestWinogradError(t *testing.T) {
	p := Conv2DParams{N: 1, Cin: 320, H: 12, W: 13, Cout: 24, KH: 3, KW: 3, Stride: 1, Pad: 1}
	x := randSlice(5, p.N*p.Cin*p.H*p.W)
	w := randSlice(6, p.Cout*p.Cin*9)
	want := naiveConv(x, w, nil, nil, p)
	worst := func(got []float32) float64 {
		var d, m float64
		for i, v := range want {
			d = max(d, math.Abs(float64(got[i])-v))
			m = max(m, math.Abs(v))
		}
		return d / m
	}
	f16 := make([]float32, len(w))
	for i, v := range w {
		f16[i] = float16.Fromfloat32(v).Float32()
	}
	eh := 0.0
	for i, v := range naiveConv(x, f16, nil, nil, p) {
		eh = max(eh, math.Abs(v-want[i]))
	}
	eh /= maxAbs(want)
	direct := make([]float32, len(want))
	direct2D(direct, x, Weights{F32: w}, p)
	ed := worst(direct)
	for _, c := range []struct {
		a     *wgAlgo
		bound float64
	}{{wg2, 4*ed + 1e-6}, {wg4, eh / 10}} {
		wg := make([]float32, len(want))
		conv3x3Winograd(active, c.a, wg, x, Weights{F32: w}, nil, nil, p)
		ew := worst(wg)
		t.Logf("max|err|/max|want|: %s %.3g, direct %.3g, float16 weights %.3g", c.a.name, ew, ed, eh)
		if ew > c.bound {
			t.Errorf("%s error %.3g, over %.3g (direct %.3g, float16 weights %.3g)", c.a.name, ew, c.bound, ed, eh)
		}
	}
}

// maxAbs is the largest |v|.
func maxAbs(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, math.Abs(x))
	}
	return m
}

// direct2D runs the im2col GEMM path whatever winogradAlgo says.
func direct2D(out, x []float32, w Weights, p Conv2DParams) {
	conv2DDirect(active, out, x, w, nil, nil, p)
}

// TestConv2DPicksWinograd checks that Conv2D takes the algorithm
// winogradAlgo picks, bit for bit, on each side of its thresholds.
func TestConv2DPicksWinograd(t *testing.T) {
	for _, c := range []struct {
		p    Conv2DParams
		want *wgAlgo
	}{
		{Conv2DParams{N: 2, Cin: 32, H: 33, W: 35, Cout: 40}, wg4},
		{Conv2DParams{N: 2, Cin: 32, H: 23, W: 25, Cout: 40}, wg4},
		{Conv2DParams{N: 2, Cin: 32, H: 15, W: 16, Cout: 40}, wg2},
		{Conv2DParams{N: 1, Cin: 32, H: 8, W: 8, Cout: 40}, wg2},
		{Conv2DParams{N: 1, Cin: 32, H: 4, W: 4, Cout: 40}, nil},
		{Conv2DParams{N: 1, Cin: 4, H: 64, W: 64, Cout: 40}, wg4},
		{Conv2DParams{N: 1, Cin: 4, H: 16, W: 16, Cout: 40}, wg4},
		{Conv2DParams{N: 1, Cin: 4, H: 15, W: 16, Cout: 40}, nil},
		{Conv2DParams{N: 1, Cin: 40, H: 64, W: 64, Cout: 3}, wg4},
		{Conv2DParams{N: 1, Cin: 40, H: 15, W: 16, Cout: 3}, nil},
	} {
		p := c.p
		p.KH, p.KW, p.Stride, p.Pad = 3, 3, 1, 1
		a := winogradAlgo(p)
		if a != c.want {
			t.Errorf("%+v: winogradAlgo = %v, want %v", p, a, c.want)
			continue
		}
		x, w := randSlice(1, p.N*p.Cin*p.H*p.W), randSlice(2, p.Cout*p.Cin*9)
		got, want := make([]float32, p.N*p.Cout*p.H*p.W), make([]float32, p.N*p.Cout*p.H*p.W)
		Conv2D(got, x, Weights{F32: w}, nil, nil, p)
		if a != nil {
			conv3x3Winograd(active, a, want, x, Weights{F32: w}, nil, nil, p)
		} else {
			conv2DDirect(active, want, x, Weights{F32: w}, nil, nil, p)
		}
		sameBits(t, name("%+v", p), got, want)
	}
}

// TestConvBatchInvariant: an image's output does not depend on the other
// images of the batch, on either side of the Winograd cut-offs (the batch
// command's byte-equality with generate rests on this).
func TestConvBatchInvariant(t *testing.T) {
	for _, s := range []struct{ c, h, w, k, stride, pad int }{
		{32, 8, 8, 3, 1, 1}, {32, 7, 7, 3, 1, 1}, {40, 4, 4, 3, 1, 1}, {32, 16, 6, 3, 1, 1}, {8, 16, 16, 3, 1, 1},
		{32, 30, 30, 3, 1, 1}, {32, 32, 32, 3, 1, 1}, {32, 33, 31, 3, 1, 1},
		// The direct path's small images share one GEMM (conv2DDirectBatch).
		{40, 4, 4, 1, 1, 0}, {24, 9, 7, 3, 2, 1}, {40, 32, 32, 3, 2, 1}, {20, 5, 3, 3, 1, 0},
	} {
		p1 := Conv2DParams{N: 1, Cin: s.c, H: s.h, W: s.w, Cout: s.c + 3, KH: s.k, KW: s.k, Stride: s.stride, Pad: s.pad}
		p3 := p1
		p3.N = 3
		oh, ow := p1.OutHW()
		w := randSlice(1, p1.Cout*s.c*s.k*s.k)
		bias := randSlice(2, p1.Cout)
		x := randSlice(3, 3*s.c*s.h*s.w)
		res := randSlice(4, 3*p1.Cout*oh*ow)
		for _, r := range [][]float32{nil, res} {
			for _, b := range [][]float32{nil, bias} {
				one := make([]float32, p1.Cout*oh*ow)
				three := make([]float32, 3*len(one))
				var r1 []float32
				if r != nil {
					r1 = r[:len(one)]
				}
				Conv2D(one, x[:s.c*s.h*s.w], Weights{F32: w}, b, r1, p1)
				Conv2D(three, x, Weights{F32: w}, b, r, p3)
				for i := range one {
					if math.Float32bits(one[i]) != math.Float32bits(three[i]) {
						t.Fatalf("%+v bias %v residual %v: image 0 differs alone and in a batch of 3 at %d: %v vs %v", s, b != nil, r != nil, i, one[i], three[i])
					}
				}
			}
		}
	}
}

// TestWinogradRunsMatchGo checks that each algorithm's inputRun and
// outputRun (vector forms where the CPU has them) give the bits of the
// pure-Go forms for every run length, so that whether a tile goes through
// the vector path (which depends on its neighbours in the batch) never
// changes it.
func TestWinogradRunsMatchGo(t *testing.T) {
	for _, a := range wgAlgos {
		const vs, ms, w = 40, 37, 90
		side := a.m + 2
		stride := a.m*20 + side + wgStripSlack
		strip := randSlice(1, side*stride)
		src := randSlice(2, a.t*ms)
		res := randSlice(3, a.m*w)
		for run := 1; run <= 20; run++ {
			got, want := nanSlice(a.t*vs), nanSlice(a.t*vs)
			a.inputRun(a, strip, stride, got, vs, run)
			wgInputRunGo(a, strip, stride, want, vs, run)
			sameBits(t, name("%s input run %d", a.name, run), got, want)
			for _, r := range [][]float32{nil, res} {
				got, want := nanSlice(a.m*w), nanSlice(a.m*w)
				var y [16]float32
				a.outputRun(a, src, ms, got, w, 0.25, r, run, &y)
				wgOutputRunGo(a, src, ms, want, w, 0.25, r, run, &y)
				sameBits(t, name("%s output run %d residual %v", a.name, run, r != nil), got, want)
			}
		}
	}
}

// TestWinogradFilterTapsMatchesGo checks that each algorithm's filterTaps
// gives the bits of the pure-Go form, for the panel heights of every
// micro-kernel and one wider than a vector.
func TestWinogradFilterTapsMatchesGo(t *testing.T) {
	for _, a := range wgAlgos {
		for _, mr := range []int{4, 6, 8, 12} {
			const kb = 29
			tw := max(mr, 8)
			taps := randSlice(uint64(mr), kb*9*tw)
			us := kb*mr + 3
			got, want := nanSlice(a.t*us), nanSlice(a.t*us)
			a.filterTaps(a, taps, tw, kb, mr, got, us)
			wgFilterTapsGo(a, taps, tw, kb, mr, want, us)
			sameBits(t, name("%s mr=%d", a.name, mr), got, want)
		}
	}
}

// TestWinogradWeightBlock checks the transformed weights of a block, fp16
// and float32, against a.filter applied to each filter in turn, for
// panels whole, cut by cout and past it, and depth blocks that start
// inside the filters.
func TestWinogradWeightBlock(t *testing.T) {
	const cin, cout, p0, kb = 37, 14, 5, 29
	w32 := randSlice(7, cout*cin*9)
	w16 := toF16(w32)
	for _, a := range wgAlgos {
		for _, mr := range []int{4, 6, 8} {
			for panel := range ceilDiv(cout, mr) + 1 {
				for _, w := range []Weights{{F32: w32}, {F16: w16}} {
					us := kb*mr + 3
					got, want := nanSlice(a.t*us), nanSlice(a.t*us)
					winogradWeightBlock(a, got, w, cin, cout, mr, us, panel, p0, kb)
					var g [9]float32
					for kk := range kb {
						for l := range mr {
							g = [9]float32{}
							if co := panel*mr + l; co < cout {
								w.Row(g[:], co*cin+p0+kk)
							}
							a.filter(&g, want[kk*mr+l:], us)
						}
					}
					// Only the panel's slots are defined: kb×mr per position.
					for xi := range a.t {
						sameBits(t, name("%s mr=%d panel %d f16 %v ξ=%d", a.name, mr, panel, w.F16 != nil, xi),
							got[xi*us:xi*us+kb*mr], want[xi*us:xi*us+kb*mr])
					}
				}
			}
		}
	}
}
