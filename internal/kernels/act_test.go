package kernels

import (
	"math"
	"testing"
)

var allActs = []Act{ActSiLU, ActGELU, ActQuickGELU}

// TestActSameBitsAnywhere checks that an activation gives an element the
// same bits whether it is applied to a whole slice, to the element alone or
// to a slice starting anywhere: a fused epilogue cuts its slices
// differently from the separate pass. (TestActivations checks the values.)
func TestActSameBitsAnywhere(t *testing.T) {
	x := randSlice(7, 1031)
	for i := range x {
		x[i] *= 6
	}
	for _, a := range allActs {
		whole := make([]float32, len(x))
		Activate(a, whole, x)
		for _, cut := range []int{1, 3, 13} {
			got := append([]float32(nil), x...)
			for lo := 0; lo < len(got); lo += cut {
				part := got[lo:min(lo+cut, len(got))]
				a.apply(part, part)
			}
			sameBits(t, name("%s in slices of %d", a, cut), got, whole)
		}
	}
	copied := nanSlice(len(x))
	Activate(ActNone, copied, x)
	sameBits(t, "ActNone", copied, x)
}

// TestLinearAct checks LinearAct against Linear followed by Activate, bit
// for bit, on shapes that take each way of packing (B inside the tasks,
// A inside the tasks, both shared).
func TestLinearAct(t *testing.T) {
	eachKernel(t, func(t *testing.T) {
		for _, sz := range [][3]int{{2, 320, 1280}, {1000, 40, 33}, {77, 130, 70}, {3, 5, 7}} {
			rows, inF, outF := sz[0], sz[1], sz[2]
			x, w, bias := randSlice(1, rows*inF), randSlice(2, outF*inF), randSlice(3, outF)
			for i := range x {
				x[i] *= 4
			}
			for _, a := range allActs {
				want, got := nanSlice(rows*outF), nanSlice(rows*outF)
				Linear(want, x, Weights{F16: toF16(w)}, bias, rows, inF, outF)
				Activate(a, want, want)
				LinearAct(got, x, Weights{F16: toF16(w)}, bias, a, rows, inF, outF)
				sameBits(t, name("%v %s", sz, a), got, want)
			}
		}
	})
}

// TestConv2DAct checks Conv2D with an activation against Conv2D followed
// by Activate, bit for bit, on every algorithm: the direct GEMM (and its
// batched form for small images), F(2×2, 3×3), and F(4×4, 3×3) over many
// tiles and few, with images that end in partial tiles.
func TestConv2DAct(t *testing.T) {
	cases := []Conv2DParams{
		{N: 2, Cin: 5, H: 8, W: 7, Cout: 9, KH: 3, KW: 3, Stride: 2, Pad: 1},     // direct, batched
		{N: 1, Cin: 3, H: 40, W: 41, Cout: 7, KH: 1, KW: 1, Stride: 1},           // direct 1x1
		{N: 2, Cin: 2, H: 131, W: 127, Cout: 3, KH: 1, KW: 1, Stride: 1},         // bias and residual in an epilogue pass
		{N: 2, Cin: 33, H: 9, W: 11, Cout: 34, KH: 3, KW: 3, Stride: 1, Pad: 1},  // F(2x2)
		{N: 1, Cin: 8, H: 18, W: 21, Cout: 11, KH: 3, KW: 3, Stride: 1, Pad: 1},  // F(4x4), few tiles
		{N: 2, Cin: 8, H: 70, W: 67, Cout: 13, KH: 3, KW: 3, Stride: 1, Pad: 1},  // F(4x4), many tiles
		{N: 1, Cin: 3, H: 130, W: 129, Cout: 5, KH: 3, KW: 3, Stride: 1, Pad: 1}, // F(4x4), runs in place
	}
	eachKernel(t, func(t *testing.T) {
		for _, p := range cases {
			oh, ow := p.OutHW()
			x := randSlice(1, p.N*p.Cin*p.H*p.W)
			w, bias := randSlice(2, p.Cout*p.Cin*p.KH*p.KW), randSlice(3, p.Cout)
			res := randSlice(4, p.N*p.Cout*oh*ow)
			for _, a := range allActs {
				for _, r := range [][]float32{nil, res} {
					want, got := nanSlice(len(res)), nanSlice(len(res))
					Conv2D(want, x, Weights{F32: w}, bias, r, p)
					Activate(a, want, want)
					pa := p
					pa.Act = a
					Conv2D(got, x, Weights{F32: w}, bias, r, pa)
					sameBits(t, name("%s %+v residual %v", Conv2DAlgorithm(p), pa, r != nil), got, want)
				}
			}
		}
	})
}

// TestConvActBatchInvariant checks that an image's activated outputs do
// not depend on the batch it is in: Winograd tasks cut the tile rows of
// later images at other places than an image alone.
func TestConvActBatchInvariant(t *testing.T) {
	p1 := Conv2DParams{N: 1, Cin: 16, H: 33, W: 31, Cout: 19, KH: 3, KW: 3, Stride: 1, Pad: 1, Act: ActGELU}
	p3 := p1
	p3.N = 3
	n1 := p1.Cout * p1.H * p1.W
	w, bias, x := randSlice(1, p1.Cout*p1.Cin*9), randSlice(2, p1.Cout), randSlice(3, 3*p1.Cin*p1.H*p1.W)
	for i := range x {
		x[i] *= 3
	}
	three := make([]float32, 3*n1)
	Conv2D(three, x, Weights{F32: w}, bias, nil, p3)
	for img := range 3 {
		one := make([]float32, n1)
		Conv2D(one, x[img*p1.Cin*p1.H*p1.W:], Weights{F32: w}, bias, nil, p1)
		sameBits(t, name("image %d alone and in a batch of 3", img), one, three[img*n1:(img+1)*n1])
	}
	if math.IsNaN(float64(three[0])) {
		t.Fatal("NaN output")
	}
}
