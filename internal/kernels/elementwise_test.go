package kernels

import (
	"math"
	"testing"

	"github.com/x448/float16"
)

// ulps returns the distance in float32 steps between a and b.
func ulps(a, b float32) int64 {
	ia, ib := int64(int32(math.Float32bits(a))), int64(int32(math.Float32bits(b)))
	if ia < 0 {
		ia = math.MinInt32 - ia
	}
	if ib < 0 {
		ib = math.MinInt32 - ib
	}
	if d := ia - ib; d >= 0 {
		return d
	}
	return ib - ia
}

// ulpBound is a constant ulp bound.
func ulpBound(n int64) func(float32) int64 { return func(float32) int64 { return n } }

// geluMaxULPs bounds GELU's error against the float64 formula (see TestActivations).
func geluMaxULPs(x float32) int64 {
	if x < -0.7071 {
		return 7
	}
	return 2
}

// activationInputs spans the range where activations are curved plus large tails.
func activationInputs() []float32 {
	x := randSlice(9, 70001)
	for i := range x {
		x[i] *= 12
	}
	return append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 100, -100, 88, -88)
}

func TestActivations(t *testing.T) {
	x := activationInputs()
	for _, c := range []struct {
		name    string
		f       func(out, x []float32)
		ref     func(x float64) float64
		maxULPs func(x float32) int64
	}{
		{"SiLU", SiLU, func(x float64) float64 { return x / (1 + math.Exp(-x)) }, ulpBound(4)},
		// PyTorch, like QuickGELU, rounds 1.702*x to float32 before the sigmoid.
		{"QuickGELU", QuickGELU, func(x float64) float64 { return x / (1 + math.Exp(-float64(1.702*float32(x)))) }, ulpBound(4)},
		// geluMaxULPs: the AVX2 form is ≤ 2 ulp for x > -1/√2 and ≤ 7 ulp
		// below, where its erfc fit dominates (measured over [-13, 14) in steps
		// of 2⁻¹⁶; TestGELUSweep keeps a 2⁻¹² grid); the float64 form rounds once.
		{"GELU", GELU, func(x float64) float64 { return 0.5 * x * math.Erfc(-x/math.Sqrt2) }, geluMaxULPs},
	} {
		out := make([]float32, len(x))
		c.f(out, x)
		for i, v := range x {
			want := float32(c.ref(float64(float32(v))))
			if math.Abs(float64(want)) < 1e-30 {
				continue // tails underflow differently; absolute error there is < 1e-30
			}
			if d := ulps(out[i], want); d > c.maxULPs(v) {
				t.Errorf("%s(%g) = %g, want %g (%d ulp)", c.name, v, out[i], want, d)
				break
			}
		}
		c.f(x[:0], x[:0]) // empty input is fine
	}
}

// TestGELUSweep checks GELU against the float64 formula on a dense grid
// down to where the result underflows.
func TestGELUSweep(t *testing.T) {
	var xs []float32
	for x := float32(-13); x < 14; x += 1.0 / 4096 {
		xs = append(xs, x)
	}
	out := make([]float32, len(xs))
	GELU(out, xs)
	for i, x := range xs {
		want := float32(0.5 * float64(x) * math.Erfc(-float64(x)/math.Sqrt2))
		if d := ulps(out[i], want); d > geluMaxULPs(x) {
			t.Fatalf("GELU(%g) = %g, want %g (%d ulp)", x, out[i], want, d)
		}
	}
}

func TestGEGLU(t *testing.T) {
	rows, n := 7, 13
	x := randSlice(1, rows*2*n)
	out := make([]float32, rows*n)
	GEGLU(out, x, rows, n)
	want := make([]float64, rows*n)
	for r := range rows {
		for j := range n {
			g := float64(x[r*2*n+n+j])
			want[r*n+j] = float64(x[r*2*n+j]) * 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
		}
	}
	checkClose(t, "geglu", out, want, 1e-7, 1e-6)
}

// TestGeluMulIsGeluThenMul checks that GEGLU's fused form gives the bits of
// gelu32 followed by the product, with tails past the vector lanes.
func TestGeluMulIsGeluThenMul(t *testing.T) {
	for _, n := range []int{1, 8, 13, 1031} {
		src, mul := randSlice(1, n), randSlice(2, n)
		for i := range src {
			src[i] *= 6 // both erf branches and the tails
		}
		got, want := nanSlice(n), nanSlice(n)
		geluMul32(got, src, mul)
		gelu32(want, src)
		for i := range want {
			want[i] *= mul[i]
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: [%d] = %v, want %v", n, i, got[i], want[i])
			}
		}
	}
}

func TestArithmetic(t *testing.T) {
	a, b := randSlice(1, 40000), randSlice(2, 40000)
	out := make([]float32, len(a))
	for _, c := range []struct {
		name string
		f    func()
		ref  func(a, b float32) float32
	}{
		{"Add", func() { Add(out, a, b) }, func(a, b float32) float32 { return a + b }},
		{"Mul", func() { Mul(out, a, b) }, func(a, b float32) float32 { return a * b }},
		{"AddScaled", func() { AddScaled(out, a, 0.5, b) }, func(a, b float32) float32 { return a + 0.5*b }},
		{"Scale", func() { Scale(out, 3, a) }, func(a, _ float32) float32 { return 3 * a }},
	} {
		c.f()
		for i := range a {
			if out[i] != c.ref(a[i], b[i]) {
				t.Fatalf("%s: element %d = %g, want %g", c.name, i, out[i], c.ref(a[i], b[i]))
			}
		}
	}
}

func TestSoftmax(t *testing.T) {
	rows, cols := 5, 77
	x := randSlice(3, rows*cols)
	out := make([]float32, len(x))
	Softmax(out, x, rows, cols)
	want := make([]float64, len(x))
	for r := range rows {
		var s float64
		for j := range cols {
			want[r*cols+j] = math.Exp(float64(x[r*cols+j]))
			s += want[r*cols+j]
		}
		for j := range cols {
			want[r*cols+j] /= s
		}
	}
	checkClose(t, "softmax", out, want, 1e-8, 1e-6)
}

func TestExp32(t *testing.T) {
	for x := float32(-87.3); x < 88.3; x += 0.0137 {
		want := float32(math.Exp(float64(x)))
		if d := ulps(exp32(x), want); d > 2 {
			t.Fatalf("exp32(%g) = %g, want %g (%d ulp)", x, exp32(x), want, d)
		}
	}
	if exp32(float32(math.Inf(-1))) != 0 || exp32(-100) != 0 || !math.IsInf(float64(exp32(100)), 1) {
		t.Error("exp32 tails")
	}
}

func TestUpsampleNearest(t *testing.T) {
	// Indices worked by hand from ATen's nearest_idx (aten/src/ATen/native/UpSample.h):
	// copy for equal sizes, dst>>1 for doubling, else floor(dst*float(in)/out) clamped to in-1.
	for _, c := range []struct {
		in, out int
		want    []int
	}{
		{3, 5, []int{0, 0, 1, 1, 2}},
		{2, 3, []int{0, 0, 1}},
		{4, 8, []int{0, 0, 1, 1, 2, 2, 3, 3}},
		{5, 3, []int{0, 1, 3}},
		{3, 3, []int{0, 1, 2}},
	} {
		got := nearestIndex(c.in, c.out)
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("nearest %d->%d = %v, want %v", c.in, c.out, got, c.want)
				break
			}
		}
	}
	x := []float32{1, 2, 3, 4, 5, 6} // [1, 2, 3]
	out := make([]float32, 3*5)
	UpsampleNearest(out, x, 1, 2, 3, 3, 5)
	want := []float64{1, 1, 2, 2, 3, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6}
	checkClose(t, "2x3->3x5", out, want, 0, 0)
	// Every path (exact doubling, repeated rows, gathered columns, equal
	// and shrinking sizes) against the index rule, over two channels.
	for _, c := range [][4]int{{2, 3, 4, 6}, {3, 4, 6, 8}, {2, 3, 4, 5}, {3, 5, 7, 10}, {4, 4, 4, 4}, {5, 6, 3, 2}} {
		h, w, oh, ow := c[0], c[1], c[2], c[3]
		x := randSlice(uint64(h*w), 2*h*w)
		got := nanSlice(2 * oh * ow)
		UpsampleNearest(got, x, 2, h, w, oh, ow)
		ys, xs := nearestIndex(h, oh), nearestIndex(w, ow)
		want := make([]float32, len(got))
		for ch := range 2 {
			for y := range oh {
				for j := range ow {
					want[(ch*oh+y)*ow+j] = x[(ch*h+ys[y])*w+xs[j]]
				}
			}
		}
		sameBits(t, name("%dx%d->%dx%d", h, w, oh, ow), got, want)
	}
}

func TestF16ToF32(t *testing.T) {
	src := make([]uint16, 1<<16+3)
	for i := range src {
		src[i] = uint16(i)
	}
	dst := make([]float32, len(src))
	F16ToF32(dst, src)
	for i, h := range src {
		want := float16.Frombits(h).Float32()
		if math.Float32bits(dst[i]) != math.Float32bits(want) && !(want != want && dst[i] != dst[i]) {
			t.Fatalf("F16ToF32(%#04x) = %g, want %g", h, dst[i], want)
		}
	}
	BF16ToF32(dst[:2], []uint16{0x3f80, 0xc000})
	if dst[0] != 1 || dst[1] != -2 {
		t.Errorf("BF16ToF32 = %v, want [1 -2]", dst[:2])
	}
}

// TestExp2For compares exp2For with math.Exp2 over its whole range (within
// 1 ulp, from its degree-6 fit) and checks its tails.
func TestExp2For(t *testing.T) {
	for x := float32(-126); x < 12; x += 0.00731 {
		want := float32(math.Exp2(float64(x)))
		if d := ulps(exp2For(x), want); d > 1 {
			t.Fatalf("exp2For(%g) = %g, want %g (%d ulp)", x, exp2For(x), want, d)
		}
	}
	for _, x := range []float32{0, 1, -1, 0.5, -0.5, 8, -126} {
		if got, want := exp2For(x), float32(math.Exp2(float64(x))); ulps(got, want) > 1 {
			t.Errorf("exp2For(%g) = %g, want %g", x, got, want)
		}
	}
	if exp2For(float32(math.Inf(-1))) != 0 || exp2For(-127) != 0 || !math.IsNaN(float64(exp2For(float32(math.NaN())))) {
		t.Error("exp2For tails")
	}
}
